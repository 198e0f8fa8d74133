//! What [`scan`](super::scan) returns: the request body and the parts of it to keep.

use prost::bytes::Bytes;

/// The resource of one `ResourceSpans`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourcePart {
    /// Encoded `Resource` (empty when absent).
    pub resource: Bytes,
    pub schema_url: String,
}

/// One `ScopeSpans`: its scope and spans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopePart {
    /// Index into [`Batch::resources`].
    pub resource: usize,
    /// Encoded `InstrumentationScope` (empty when absent).
    pub scope: Bytes,
    pub schema_url: String,
    pub spans: Vec<SpanPart>,
}

/// One span, still encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpanPart {
    /// The encoded `Span`, a slice of the request body.
    pub bytes: Bytes,
    /// The trace ID, when it is 16 bytes and not all zero.
    pub trace_id: Option<[u8; 16]>,
    /// Why the span cannot be stored (invalid IDs), `None` when it can.
    pub invalid: Option<String>,
}

/// A scanned request.
///
/// Only what can be stored costs memory: a `ResourceSpans` or `ScopeSpans` without spans gets
/// no entry, and spans with invalid IDs are only counted ([`Batch::rejected`]) — the first of
/// them is kept, flagged, with a reason that tells how many there were.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// The whole request body the parts point into.
    pub body: Bytes,
    pub resources: Vec<ResourcePart>,
    pub scopes: Vec<ScopePart>,
    /// Spans with an invalid ID (the first is in `scopes`, flagged with the reason).
    pub rejected: usize,
}

impl Batch {
    /// Spans in the batch, valid or not.
    pub fn span_count(&self) -> usize {
        self.valid_count() + self.rejected
    }

    /// Spans with an invalid ID.
    pub fn invalid_count(&self) -> usize {
        self.rejected
    }

    /// Spans that can be stored.
    pub fn valid_count(&self) -> usize {
        self.scopes
            .iter()
            .flat_map(|s| &s.spans)
            .filter(|s| s.invalid.is_none())
            .count()
    }

    /// Why spans were rejected (the first reason, with the count when there were several).
    pub fn rejection_reason(&self) -> Option<&str> {
        self.scopes
            .iter()
            .flat_map(|s| &s.spans)
            .find_map(|s| s.invalid.as_deref())
    }

    /// The request re-encoded with only the valid spans (for the on-disk log when some were
    /// rejected).
    pub fn encode_valid(&self) -> Vec<u8> {
        let mut out = Vec::new();
        // scopes are in request order, so each resource's scopes are contiguous
        let mut rest = self.scopes.as_slice();
        for (r, resource) in self.resources.iter().enumerate() {
            let count = rest.iter().take_while(|s| s.resource == r).count();
            let (own, after) = rest.split_at(count);
            rest = after;
            let mut rs = Vec::new();
            len_field(&mut rs, 1, &resource.resource);
            for scope in own {
                let mut ss = Vec::new();
                len_field(&mut ss, 1, &scope.scope);
                for span in scope.spans.iter().filter(|s| s.invalid.is_none()) {
                    len_field(&mut ss, 2, &span.bytes);
                }
                if !scope.schema_url.is_empty() {
                    len_field(&mut ss, 3, scope.schema_url.as_bytes());
                }
                len_field(&mut rs, 2, &ss);
            }
            if !resource.schema_url.is_empty() {
                len_field(&mut rs, 3, resource.schema_url.as_bytes());
            }
            len_field(&mut out, 1, &rs);
        }
        out
    }
}

/// Append a length-delimited field.
pub(crate) fn len_field(out: &mut Vec<u8>, tag: u32, bytes: &[u8]) {
    prost::encoding::encode_key(tag, prost::encoding::WireType::LengthDelimited, out);
    prost::encoding::encode_varint(bytes.len() as u64, out);
    out.extend_from_slice(bytes);
}
