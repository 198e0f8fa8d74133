//! Turning held spans back into OTLP: decoded for queries, re-encoded for log compaction.

use std::collections::HashMap;
use std::sync::Arc;

use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, TracesData};
use prost::bytes::Bytes;
use prost::Message;

use super::ScopeMeta;

/// The spans of one trace, as held (shared slices of the requests): taken under the store's
/// lock, decoded after it is released.
#[derive(Clone)]
pub struct TraceSnapshot {
    pub(super) spans: Vec<(Arc<ScopeMeta>, Bytes)>,
}

impl TraceSnapshot {
    /// Spans in the snapshot.
    pub fn span_count(&self) -> usize {
        self.spans.len()
    }

    /// Decode the spans, grouped by resource and scope as received. A span that does not
    /// decode (impossible for what the store accepted) is left out.
    pub fn to_otlp(&self) -> TracesData {
        let mut resource_spans: Vec<ResourceSpans> = Vec::new();
        let mut last: Option<&Arc<ScopeMeta>> = None;
        for (meta, bytes) in &self.spans {
            let Ok(span) = Span::decode(bytes.as_ref()) else {
                continue;
            };
            let same_scope = last.is_some_and(|l| Arc::ptr_eq(l, meta));
            let same_resource = last.is_some_and(|l| Arc::ptr_eq(&l.resource, &meta.resource));
            match resource_spans.last_mut() {
                Some(rs) if same_scope => {
                    if let Some(ss) = rs.scope_spans.last_mut() {
                        ss.spans.push(span);
                    }
                }
                Some(rs) if same_resource => rs.scope_spans.push(scope_spans(meta, span)),
                _ => resource_spans.push(ResourceSpans {
                    resource: Some(
                        Resource::decode(meta.resource.resource.as_ref()).unwrap_or_default(),
                    ),
                    scope_spans: vec![scope_spans(meta, span)],
                    schema_url: meta.resource.schema_url.clone(),
                }),
            }
            last = Some(meta);
        }
        TracesData { resource_spans }
    }
}

fn scope_spans(meta: &ScopeMeta, span: Span) -> ScopeSpans {
    ScopeSpans {
        scope: Some(InstrumentationScope::decode(meta.scope.as_ref()).unwrap_or_default()),
        spans: vec![span],
        schema_url: meta.schema_url.clone(),
    }
}

/// The spans of one scope, in order.
type ScopeGroup<'a> = (&'a Arc<ScopeMeta>, Vec<&'a Bytes>);
/// The scopes of one resource (named by its first scope), in order.
type ResourceGroup<'a> = (&'a Arc<ScopeMeta>, Vec<ScopeGroup<'a>>);

/// Encode the spans of several traces as one `ExportTraceServiceRequest`, without decoding
/// them: spans that shared a resource and scope when received share them again.
pub(super) fn encode_request<'a>(
    spans: impl Iterator<Item = &'a (Arc<ScopeMeta>, Bytes)>,
) -> Vec<u8> {
    // resources in first-seen order, each with its scopes in first-seen order
    let mut resources: Vec<ResourceGroup<'_>> = Vec::new();
    let mut resource_index: HashMap<*const super::ResourceMeta, usize> = HashMap::new();
    let mut scope_index: HashMap<*const ScopeMeta, (usize, usize)> = HashMap::new();
    for (meta, bytes) in spans {
        if let Some(&(r, s)) = scope_index.get(&Arc::as_ptr(meta)) {
            resources[r].1[s].1.push(bytes);
            continue;
        }
        let r = *resource_index
            .entry(Arc::as_ptr(&meta.resource))
            .or_insert_with(|| {
                resources.push((meta, Vec::new()));
                resources.len() - 1
            });
        resources[r].1.push((meta, vec![bytes]));
        scope_index.insert(Arc::as_ptr(meta), (r, resources[r].1.len() - 1));
    }
    let mut out = Vec::new();
    for (first, scopes) in resources {
        let mut rs = Vec::new();
        len_field(&mut rs, 1, &first.resource.resource);
        for (scope, spans) in scopes {
            let mut ss = Vec::new();
            len_field(&mut ss, 1, &scope.scope);
            for span in spans {
                len_field(&mut ss, 2, span);
            }
            if !scope.schema_url.is_empty() {
                len_field(&mut ss, 3, scope.schema_url.as_bytes());
            }
            len_field(&mut rs, 2, &ss);
        }
        if !first.resource.schema_url.is_empty() {
            len_field(&mut rs, 3, first.resource.schema_url.as_bytes());
        }
        len_field(&mut out, 1, &rs);
    }
    out
}

fn len_field(out: &mut Vec<u8>, tag: u32, bytes: &[u8]) {
    prost::encoding::encode_key(tag, prost::encoding::WireType::LengthDelimited, out);
    prost::encoding::encode_varint(bytes.len() as u64, out);
    out.extend_from_slice(bytes);
}
