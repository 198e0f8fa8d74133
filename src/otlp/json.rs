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
    let containers = count_containers(json);
    if containers > max_containers {
        return Err(DecodeError::TooLarge(format!(
            "request holds {containers} JSON objects and arrays, more than the limit of {max_containers}"
        )));
    }
    let mut out = Vec::with_capacity(json.len() / 2);
    let mut de = serde_json::Deserializer::from_slice(json);
    let result = de
        .deserialize_map(RequestVisitor { out: &mut out })
        .and_then(|()| de.end());
    match result {
        Ok(()) => Ok(out),
        Err(e) => match e.classify() {
            serde_json::error::Category::Data if e.to_string().starts_with(TOO_LARGE) => Err(
                DecodeError::TooLarge(e.to_string().replacen(TOO_LARGE, "", 1)),
            ),
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
    serde_json::from_str(text)
        .map(Some)
        .map_err(|e| E::custom(format!("in a {what}: {e}")))
}

struct RequestVisitor<'o> {
    out: &'o mut Vec<u8>,
}

impl<'de> Visitor<'de> for RequestVisitor<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an ExportTraceServiceRequest object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key == "resourceSpans" {
                map.next_value_seed(Repeated {
                    out: &mut *self.out,
                    tag: 1,
                    item: Level::ResourceSpans,
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
                        if let Some(span) = element::<Span, A::Error>(raw, "span")? {
                            prost::Message::encode_raw(&span, &mut message);
                        }
                        true
                    }
                },
                level => seq
                    .next_element_seed(Container {
                        out: &mut message,
                        level,
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
        let mut children = Vec::new();
        let mut has_children = false;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key == head {
                let raw = map.next_value::<&'de RawValue>()?;
                let encoded = match self.level {
                    Level::ResourceSpans => element::<Resource, A::Error>(raw, "resource")?
                        .map(|r| prost::Message::encode_to_vec(&r)),
                    _ => element::<InstrumentationScope, A::Error>(raw, "scope")?
                        .map(|s| prost::Message::encode_to_vec(&s)),
                };
                if let Some(encoded) = encoded {
                    len_field(self.out, 1, &encoded);
                }
            } else if key == repeated {
                let before = children.len();
                map.next_value_seed(Repeated {
                    out: &mut children,
                    tag: 2,
                    item: inner,
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
