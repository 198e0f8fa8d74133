//! OTLP/JSON to protobuf, one span at a time, within a cost budget.
//!
//! Decoding a whole JSON request into prost structs materialises every element: three bytes of
//! `{},` become a 200-byte `Span`, so 32 MiB of them take gigabytes. Here a first pass counts
//! the JSON objects and arrays (refused past the budget), then the request is walked with
//! serde: `resourceSpans`, `scopeSpans` and `spans` are streamed, and each span, resource and
//! scope is decoded alone (its own object count bounded) and encoded to protobuf at once. An
//! element with nothing in it gets no output. The result goes to
//! [`wire::scan`](super::wire::scan) like any protobuf request.

use std::fmt;

use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::Span;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::decode::DecodeError;
use super::wire::len_field;

/// Most JSON objects and arrays in one span, resource or scope (each becomes a Rust value
/// of up to a few hundred bytes when decoded).
pub const MAX_CONTAINERS_PER_ELEMENT: usize = 65_536;

/// JSON objects and arrays in `json` (outside strings).
pub fn count_containers(json: &[u8]) -> usize {
    let mut count = 0;
    let mut in_string = false;
    let mut escaped = false;
    for &b in json {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
        } else {
            match b {
                b'"' => in_string = true,
                b'{' | b'[' => count += 1,
                _ => {}
            }
        }
    }
    count
}

/// Convert an OTLP/JSON `ExportTraceServiceRequest` to its protobuf encoding, refusing
/// ([`DecodeError::TooLarge`]) more than `max_containers` objects and arrays.
pub fn to_protobuf(json: &[u8], max_containers: usize) -> Result<Vec<u8>, DecodeError> {
    convert(json, max_containers, Dialect::Otlp)
}

/// [`to_protobuf`] for a trace read from a file or a backend, in any of the JSON shapes
/// [`client`](super::client) reads: OTLP JSON (`{"resourceSpans":[…]}`), Grafana Tempo's
/// (`{"batches":[…]}`, base64 IDs, enum names, `instrumentationLibrarySpans`) and the
/// `{"result":…}` (Jaeger v2) or `{"trace":…}` (Tempo v2) wrappers around either. The
/// result is an encoded `TracesData`, for
/// [`traces_from_protobuf`](super::decode::traces_from_protobuf).
pub fn trace_file_to_protobuf(json: &[u8], max_containers: usize) -> Result<Vec<u8>, DecodeError> {
    convert(json, max_containers, Dialect::AnyBackend)
}

/// Which JSON a conversion accepts.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Dialect {
    /// The OTLP JSON mapping (what OTLP/HTTP receives).
    Otlp,
    /// Also Tempo's jsonpb and the Jaeger / Tempo v2 wrappers.
    AnyBackend,
}

fn convert(json: &[u8], max_containers: usize, dialect: Dialect) -> Result<Vec<u8>, DecodeError> {
    let containers = count_containers(json);
    if containers > max_containers {
        let what = match dialect {
            Dialect::Otlp => "request",
            Dialect::AnyBackend => "trace",
        };
        return Err(DecodeError::TooLarge(format!(
            "{what} holds {containers} JSON objects and arrays, more than the limit of {max_containers}"
        )));
    }
    let mut out = Vec::with_capacity(json.len() / 2);
    let mut found = false;
    let mut de = serde_json::Deserializer::from_slice(json);
    let result = de
        .deserialize_map(RequestVisitor {
            out: &mut out,
            dialect,
            found: &mut found,
        })
        .and_then(|()| de.end());
    match result {
        Ok(()) if dialect == Dialect::AnyBackend && !found => Err(DecodeError::Malformed(
            "expected resourceSpans (OTLP JSON), batches (Tempo) or result (Jaeger)".to_owned(),
        )),
        Ok(()) => Ok(out),
        Err(e) => match e.classify() {
            serde_json::error::Category::Data if e.to_string().starts_with(TOO_LARGE) => Err(
                DecodeError::TooLarge(e.to_string().replacen(TOO_LARGE, "", 1)),
            ),
            _ if dialect == Dialect::AnyBackend => {
                Err(DecodeError::Malformed(format!("invalid JSON trace: {e}")))
            }
            _ => Err(DecodeError::Malformed(format!("invalid OTLP JSON: {e}"))),
        },
    }
}

/// Marks a budget refusal among serde errors.
const TOO_LARGE: &str = "too large: ";

/// Decode one element (span, resource, scope) from its raw JSON within the per-element budget.
fn element<T: serde::de::DeserializeOwned, E: serde::de::Error>(
    raw: &RawValue,
    what: &str,
    dialect: Dialect,
) -> Result<Option<T>, E> {
    let text = raw.get();
    if text == "null" {
        return Ok(None);
    }
    let containers = count_containers(text.as_bytes());
    if containers > MAX_CONTAINERS_PER_ELEMENT {
        return Err(E::custom(format!(
            "{TOO_LARGE}a {what} holds {containers} JSON objects and arrays, more than the limit of {MAX_CONTAINERS_PER_ELEMENT}"
        )));
    }
    let decoded = match dialect {
        Dialect::Otlp => serde_json::from_str(text),
        Dialect::AnyBackend => serde_json::from_str(text).and_then(|mut value| {
            super::client::normalize(&mut value);
            serde_json::from_value(value)
        }),
    };
    decoded
        .map(Some)
        .map_err(|e| E::custom(format!("in a {what}: {e}")))
}

struct RequestVisitor<'o> {
    out: &'o mut Vec<u8>,
    dialect: Dialect,
    /// Set once `resourceSpans` (or, from a backend, `batches`) was met.
    found: &'o mut bool,
}

impl<'de> DeserializeSeed<'de> for RequestVisitor<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RequestVisitor<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an ExportTraceServiceRequest object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let backend = self.dialect == Dialect::AnyBackend;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key == "resourceSpans" || (backend && key == "batches") {
                *self.found = true;
                map.next_value_seed(Repeated {
                    out: &mut *self.out,
                    tag: 1,
                    item: Level::ResourceSpans,
                    dialect: self.dialect,
                })?;
            } else if backend && (key == "result" || key == "trace") {
                map.next_value_seed(RequestVisitor {
                    out: &mut *self.out,
                    dialect: self.dialect,
                    found: &mut *self.found,
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

/// Which repeated message is being streamed.
#[derive(Clone, Copy)]
enum Level {
    ResourceSpans,
    ScopeSpans,
    Span,
}

/// A JSON array (or `null`) of messages, each encoded as field `tag` of `out`.
struct Repeated<'o> {
    out: &'o mut Vec<u8>,
    tag: u32,
    item: Level,
    dialect: Dialect,
}

impl<'de> DeserializeSeed<'de> for Repeated<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Repeated<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array")
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut message = Vec::new();
        loop {
            message.clear();
            let more = match self.item {
                Level::Span => match seq.next_element::<&'de RawValue>()? {
                    None => false,
                    Some(raw) => {
                        if let Some(span) = element::<Span, A::Error>(raw, "span", self.dialect)? {
                            prost::Message::encode_raw(&span, &mut message);
                        }
                        true
                    }
                },
                level => seq
                    .next_element_seed(Container {
                        out: &mut message,
                        level,
                        dialect: self.dialect,
                    })?
                    .is_some(),
            };
            if !more {
                return Ok(());
            }
            // an empty ResourceSpans or ScopeSpans holds nothing: it is left out (an empty
            // span is kept, to be rejected for its missing IDs)
            if !message.is_empty() || matches!(self.item, Level::Span) {
                len_field(self.out, self.tag, &message);
            }
        }
    }
}

/// A `ResourceSpans` or `ScopeSpans` object, its fields encoded into `out`.
struct Container<'o> {
    out: &'o mut Vec<u8>,
    level: Level,
    dialect: Dialect,
}

impl<'de> DeserializeSeed<'de> for Container<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Container<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let (head, repeated, inner) = match self.level {
            Level::ResourceSpans => ("resource", "scopeSpans", Level::ScopeSpans),
            _ => ("scope", "spans", Level::Span),
        };
        // Tempo's jsonpb may still use the pre-1.0 names
        let (old_head, old_repeated) = match (self.dialect, self.level) {
            (Dialect::Otlp, _) => ("", ""),
            (Dialect::AnyBackend, Level::ResourceSpans) => ("", "instrumentationLibrarySpans"),
            (Dialect::AnyBackend, _) => ("instrumentationLibrary", ""),
        };
        let mut children = Vec::new();
        let mut has_children = false;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key == head || (!old_head.is_empty() && key == old_head) {
                let raw = map.next_value::<&'de RawValue>()?;
                let encoded = match self.level {
                    Level::ResourceSpans => {
                        element::<Resource, A::Error>(raw, "resource", self.dialect)?
                            .map(|r| prost::Message::encode_to_vec(&r))
                    }
                    _ => element::<InstrumentationScope, A::Error>(raw, "scope", self.dialect)?
                        .map(|s| prost::Message::encode_to_vec(&s)),
                };
                if let Some(encoded) = encoded {
                    len_field(self.out, 1, &encoded);
                }
            } else if key == repeated || (!old_repeated.is_empty() && key == old_repeated) {
                let before = children.len();
                map.next_value_seed(Repeated {
                    out: &mut children,
                    tag: 2,
                    item: inner,
                    dialect: self.dialect,
                })?;
                has_children |= children.len() > before;
            } else if key == "schemaUrl" {
                if let Some(url) = map.next_value::<Option<String>>()? {
                    if !url.is_empty() {
                        len_field(self.out, 3, url.as_bytes());
                    }
                }
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        if has_children {
            self.out.extend_from_slice(&children);
        } else {
            // nothing to keep: the resource / scope alone is dropped
            self.out.clear();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use prost::Message;

    use super::*;
    use crate::otlp::sample;

    #[test]
    fn the_protobuf_decodes_to_what_serde_decodes() {
        let mut req = sample::request(
            "svc",
            vec![
                sample::span([3; 16], 1, 0, "root", 0, 10),
                sample::span([3; 16], 2, 1, "child", 1, 2),
            ],
        );
        req.resource_spans[0].schema_url = "https://example.com/schema".into();
        let json = serde_json::to_vec(&req).unwrap();
        let encoded = to_protobuf(&json, 10_000).unwrap();
        assert_eq!(
            ExportTraceServiceRequest::decode(encoded.as_slice()).unwrap(),
            req
        );
    }

    /// Every JSON shape `trace show --input` reads converts to the spans the whole-document
    /// parser ([`client::parse_trace_body`](super::super::client::parse_trace_body)) finds.
    #[test]
    fn backend_shapes_convert_like_the_whole_document_parser() {
        use crate::otlp::client::parse_trace_body;
        use crate::otlp::decode::traces_from_protobuf;
        let fixture = |name: &str| {
            std::fs::read(format!(
                "{}/fixtures/backends/{name}",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap()
        };
        let otlp = serde_json::to_vec(&sample::batch(1, 6, 3)).unwrap();
        let wrapped = [b"{\"trace\":".as_slice(), &otlp, b"}"].concat();
        let tempo_v1 = br#"{"batches":[{"resource":{},"instrumentationLibrarySpans":[{
            "instrumentationLibrary":{"name":"lib"},"spans":[{"traceId":"W47/95gDgQPSabYzgT/GDA==",
            "spanId":"7uGbfsPBsXQ=","name":"x","kind":"SPAN_KIND_SERVER",
            "status":{"code":"STATUS_CODE_ERROR"}}]}]}]}"#;
        for json in [
            fixture("tempo-trace.json"),
            fixture("jaeger-v3-trace.json"),
            otlp,
            wrapped,
            tempo_v1.to_vec(),
        ] {
            let whole = parse_trace_body(&json, None).unwrap();
            let streamed =
                traces_from_protobuf(&trace_file_to_protobuf(&json, 100_000).unwrap()).unwrap();
            let spans = |d: &opentelemetry_proto::tonic::trace::v1::TracesData| {
                d.resource_spans
                    .iter()
                    .flat_map(|r| &r.scope_spans)
                    .flat_map(|s| s.spans.clone())
                    .collect::<Vec<_>>()
            };
            assert!(!spans(&streamed).is_empty());
            assert_eq!(spans(&streamed), spans(&whole));
            assert_eq!(
                streamed.resource_spans[0].resource,
                whole.resource_spans[0].resource
            );
        }
        // the receiver's dialect does not take the backends' shapes
        assert!(to_protobuf(&fixture("tempo-trace.json"), 100_000)
            .unwrap()
            .is_empty());
        let err = trace_file_to_protobuf(b"{\"spans\":[]}", 100).unwrap_err();
        assert!(err.to_string().contains("expected resourceSpans"), "{err}");
    }

    #[test]
    fn empty_elements_are_left_out_and_budgets_refuse_early() {
        let mut json = b"{\"resourceSpans\":[".to_vec();
        for _ in 0..100_000 {
            json.extend_from_slice(b"{},");
        }
        json.extend_from_slice(b"{\"scopeSpans\":[{},{\"spans\":[]}]}]}");
        assert_eq!(to_protobuf(&json, 1_000_000).unwrap(), Vec::<u8>::new());
        let err = to_protobuf(&json, 1_000).unwrap_err();
        assert!(matches!(err, DecodeError::TooLarge(_)), "{err}");
        // one span of too many attributes
        let mut span =
            b"{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"attributes\":[".to_vec();
        for _ in 0..MAX_CONTAINERS_PER_ELEMENT {
            span.extend_from_slice(b"{},");
        }
        span.extend_from_slice(b"{}]}]}]}]}");
        let err = to_protobuf(&span, 10_000_000).unwrap_err();
        assert!(matches!(err, DecodeError::TooLarge(_)), "{err}");
        assert!(!err.to_string().contains(TOO_LARGE), "{err}");
        assert!(matches!(
            to_protobuf(
                b"{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":\"zz\"}]}]}]}",
                100
            ),
            Err(DecodeError::Malformed(_))
        ));
        assert!(count_containers(br#"{"a":"{[\"{"}"#) == 1);
    }
}
