//! Index an OTLP protobuf `ExportTraceServiceRequest` without decoding it.
//!
//! [`scan`] walks the wire format once, validating every field the way prost would decode it
//! (known fields must have their declared wire type, strings must be UTF-8, lengths must fit,
//! nesting is bounded; unknown fields are skipped), and returns each span as a zero-copy slice
//! of the request body with its trace ID and ID checks. The store keeps those slices (about the
//! span's wire size in memory) and decodes a span only when a trace is read. A batch that
//! [`scan`] accepts decodes with prost (tested by a property test against prost).

use prost::bytes::Bytes;

use super::decode::DecodeError;

/// Deepest message nesting accepted (prost allows 100; attribute values nest).
const MAX_DEPTH: u32 = 64;

mod batch;
mod budget;

use budget::MessageBudget;
pub use budget::{ScanLimits, DEFAULT_MAX_MESSAGES, DEFAULT_MAX_SPANS};

pub(crate) use batch::len_field;
pub use batch::{Batch, ResourcePart, ScopePart, SpanPart};

/// The messages inside a span batch whose fields are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Msg {
    Resource,
    Scope,
    Span,
    KeyValue,
    AnyValue,
    ArrayValue,
    KeyValueList,
    Event,
    Link,
    Status,
    EntityRef,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    Varint,
    Fixed64,
    Fixed32,
    Bytes,
    Str,
    Msg(Msg),
}

/// The declared type of a known field; `None` for unknown fields (skipped).
fn field_type(msg: Msg, tag: u32) -> Option<Ty> {
    use Msg::*;
    use Ty::{Bytes as B, Fixed32 as F32, Fixed64 as F64, Msg as M, Str as S, Varint as V};
    Some(match (msg, tag) {
        (Resource, 1) => M(KeyValue),
        (Resource, 2) => V,
        (Resource, 3) => M(EntityRef),
        (Scope, 1 | 2) => S,
        (Scope, 3) => M(KeyValue),
        (Scope, 4) => V,
        (Span, 1 | 2 | 4) => B,
        (Span, 3 | 5) => S,
        (Span, 6 | 10 | 12 | 14) => V,
        (Span, 7 | 8) => F64,
        (Span, 9) => M(KeyValue),
        (Span, 11) => M(Event),
        (Span, 13) => M(Link),
        (Span, 15) => M(Status),
        (Span, 16) => F32,
        (KeyValue, 1) => S,
        (KeyValue, 2) => M(AnyValue),
        (KeyValue, 3) => V,
        (AnyValue, 1) => S,
        (AnyValue, 2 | 3 | 8) => V,
        (AnyValue, 4) => F64,
        (AnyValue, 5) => M(ArrayValue),
        (AnyValue, 6) => M(KeyValueList),
        (AnyValue, 7) => B,
        (ArrayValue, 1) => M(AnyValue),
        (KeyValueList, 1) => M(KeyValue),
        (Event, 1) => F64,
        (Event, 2) => S,
        (Event, 3) => M(KeyValue),
        (Event, 4) => V,
        (Link, 1 | 2) => B,
        (Link, 3) => S,
        (Link, 4) => M(KeyValue),
        (Link, 5) => V,
        (Link, 6) => F32,
        (Status, 2) => S,
        (Status, 3) => V,
        (EntityRef, 1..=4) => S,
        _ => return None,
    })
}

/// A field's value: a varint, a fixed-width value, or a length-delimited byte range.
enum Value {
    Varint,
    Fixed,
    Len(usize, usize),
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    end: usize,
}

fn malformed(what: &str, at: usize) -> DecodeError {
    DecodeError::Malformed(format!("invalid OTLP protobuf: {what} at byte {at}"))
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8], start: usize, end: usize) -> Self {
        Reader {
            buf,
            pos: start,
            end,
        }
    }

    fn varint(&mut self) -> Result<u64, DecodeError> {
        let start = self.pos;
        let mut value = 0u64;
        for i in 0..10 {
            let Some(&b) = self.buf[..self.end].get(self.pos) else {
                return Err(malformed("truncated varint", start));
            };
            self.pos += 1;
            if i == 9 && b > 1 {
                return Err(malformed("invalid varint", start));
            }
            value |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                return Ok(value);
            }
        }
        Err(malformed("invalid varint", start))
    }

    /// The next field: (tag, wire type, value), `None` at the end.
    fn field(&mut self) -> Result<Option<(u32, u8, Value)>, DecodeError> {
        if self.pos >= self.end {
            return Ok(None);
        }
        let at = self.pos;
        let key = self.varint()?;
        let tag = u32::try_from(key >> 3).map_err(|_| malformed("invalid field key", at))?;
        if tag == 0 || key > u64::from(u32::MAX) {
            return Err(malformed("invalid field tag", at));
        }
        let wire_type = (key & 7) as u8;
        let value = match wire_type {
            0 => {
                self.varint()?;
                Value::Varint
            }
            1 | 5 => {
                let n = if wire_type == 1 { 8 } else { 4 };
                if self.end - self.pos < n {
                    return Err(malformed("truncated fixed-width field", at));
                }
                self.pos += n;
                Value::Fixed
            }
            2 => {
                let len = self.varint()?;
                let len = usize::try_from(len).map_err(|_| malformed("length overflow", at))?;
                if self.end - self.pos < len {
                    return Err(malformed("length beyond the message", at));
                }
                let start = self.pos;
                self.pos += len;
                Value::Len(start, self.pos)
            }
            _ => return Err(malformed("unsupported wire type", at)),
        };
        Ok(Some((tag, wire_type, value)))
    }
}

fn check_type(ty: Ty, wire_type: u8, at: usize) -> Result<(), DecodeError> {
    let expected = match ty {
        Ty::Varint => 0,
        Ty::Fixed64 => 1,
        Ty::Fixed32 => 5,
        Ty::Bytes | Ty::Str | Ty::Msg(_) => 2,
    };
    if wire_type == expected {
        Ok(())
    } else {
        Err(malformed("wrong wire type for a known field", at))
    }
}

/// Validate `buf[start..end]` as message `msg`; for a span, return the last occurrences of
/// the trace ID, span ID, parent span ID and name fields.
fn validate(
    buf: &[u8],
    start: usize,
    end: usize,
    msg: Msg,
    depth: u32,
    budget: &mut MessageBudget,
) -> Result<[Option<(usize, usize)>; 4], DecodeError> {
    if depth > MAX_DEPTH {
        return Err(malformed("messages nested too deep", start));
    }
    budget.take()?;
    let mut span_fields = [None; 4];
    let mut r = Reader::new(buf, start, end);
    loop {
        let at = r.pos;
        let Some((tag, wire_type, value)) = r.field()? else {
            break;
        };
        let Some(ty) = field_type(msg, tag) else {
            continue;
        };
        check_type(ty, wire_type, at)?;
        if let Value::Len(s, e) = value {
            match ty {
                Ty::Str => {
                    std::str::from_utf8(&buf[s..e])
                        .map_err(|_| malformed("string field is not UTF-8", s))?;
                }
                Ty::Msg(inner) => {
                    validate(buf, s, e, inner, depth + 1, budget)?;
                }
                _ => {}
            }
            if msg == Msg::Span {
                match tag {
                    1 => span_fields[0] = Some((s, e)),
                    2 => span_fields[1] = Some((s, e)),
                    4 => span_fields[2] = Some((s, e)),
                    5 => span_fields[3] = Some((s, e)),
                    _ => {}
                }
            }
        }
    }
    Ok(span_fields)
}

fn string_at(buf: &[u8], s: usize, e: usize) -> Result<String, DecodeError> {
    std::str::from_utf8(&buf[s..e])
        .map(str::to_owned)
        .map_err(|_| malformed("string field is not UTF-8", s))
}

/// Concatenated occurrences of a singular message field (protobuf merges them).
fn merged(body: &Bytes, parts: &[(usize, usize)]) -> Bytes {
    match parts {
        [] => Bytes::new(),
        [(s, e)] => body.slice(*s..*e),
        many => {
            let mut v = Vec::new();
            for (s, e) in many {
                v.extend_from_slice(&body[*s..*e]);
            }
            Bytes::from(v)
        }
    }
}

/// Scan and validate an encoded `ExportTraceServiceRequest` (or `TracesData`: same layout)
/// within [`DEFAULT_MAX_MESSAGES`] and no span limit (files and log records; the receiver
/// also bounds spans per request with [`scan_with_limits`]).
pub fn scan(body: Bytes) -> Result<Batch, DecodeError> {
    scan_with_limit(body, DEFAULT_MAX_MESSAGES)
}

/// [`scan`] refusing ([`DecodeError::TooLarge`]) a request of more than `max_messages`
/// protobuf messages (and no span limit).
pub fn scan_with_limit(body: Bytes, max_messages: usize) -> Result<Batch, DecodeError> {
    scan_with_limits(
        body,
        ScanLimits {
            max_messages,
            max_spans: usize::MAX,
        },
    )
}

/// [`scan`] refusing ([`DecodeError::TooLarge`]) a request of more than
/// [`ScanLimits::max_messages`] protobuf messages or [`ScanLimits::max_spans`] spans, counted
/// as they are met, before anything is allocated for them.
pub fn scan_with_limits(body: Bytes, limits: ScanLimits) -> Result<Batch, DecodeError> {
    let mut budget = MessageBudget::new(limits);
    let mut rejections = Rejections::default();
    let buf: &[u8] = &body;
    let mut resources = Vec::new();
    let mut scopes = Vec::new();
    let mut req = Reader::new(buf, 0, buf.len());
    loop {
        let at = req.pos;
        let Some((tag, _, value)) = req.field()? else {
            break;
        };
        if tag != 1 {
            continue;
        }
        let Value::Len(rs_start, rs_end) = value else {
            return Err(malformed("wrong wire type for resource_spans", at));
        };
        budget.take()?;
        let resource_index = resources.len();
        let scopes_before = scopes.len();
        let mut resource_parts = Vec::new();
        let mut resource_schema = String::new();
        let mut rs = Reader::new(buf, rs_start, rs_end);
        loop {
            let at = rs.pos;
            let Some((tag, wire_type, value)) = rs.field()? else {
                break;
            };
            let ty = match tag {
                1 => Ty::Msg(Msg::Resource),
                2 => Ty::Bytes, // ScopeSpans, walked below
                3 => Ty::Str,
                _ => continue,
            };
            check_type(ty, wire_type, at)?;
            let Value::Len(s, e) = value else { continue };
            match tag {
                1 => {
                    validate(buf, s, e, Msg::Resource, 2, &mut budget)?;
                    resource_parts.push((s, e));
                }
                3 => resource_schema = string_at(buf, s, e)?,
                _ => {
                    let part = ScopeRange {
                        start: s,
                        end: e,
                        resource: resource_index,
                    };
                    if let Some(scope) =
                        scan_scope_spans(&body, part, &mut budget, &mut rejections)?
                    {
                        scopes.push(scope);
                    }
                }
            }
        }
        // a resource without spans is validated but not kept
        if scopes.len() > scopes_before {
            resources.push(ResourcePart {
                resource: merged(&body, &resource_parts),
                schema_url: resource_schema,
            });
        }
    }
    if rejections.count > 1 {
        if let Some(reason) = scopes
            .iter_mut()
            .flat_map(|s| &mut s.spans)
            .find_map(|s| s.invalid.as_mut())
        {
            *reason = format!(
                "{} spans rejected for invalid IDs; the first: {reason}",
                rejections.count
            );
        }
    }
    Ok(Batch {
        body,
        resources,
        scopes,
        rejected: rejections.count,
    })
}

/// Spans rejected so far in a request.
#[derive(Default)]
struct Rejections {
    count: usize,
}

/// Where one `ScopeSpans` lies in the body, and the index of its resource.
struct ScopeRange {
    start: usize,
    end: usize,
    resource: usize,
}

/// One `ScopeSpans`; `None` when it holds nothing to keep (no valid span, and not the first
/// rejected one).
fn scan_scope_spans(
    body: &Bytes,
    range: ScopeRange,
    budget: &mut MessageBudget,
    rejections: &mut Rejections,
) -> Result<Option<ScopePart>, DecodeError> {
    budget.take()?;
    let buf: &[u8] = body;
    let mut scope_parts = Vec::new();
    let mut schema_url = String::new();
    let mut spans = Vec::new();
    let mut r = Reader::new(buf, range.start, range.end);
    loop {
        let at = r.pos;
        let Some((tag, wire_type, value)) = r.field()? else {
            break;
        };
        let ty = match tag {
            1 => Ty::Msg(Msg::Scope),
            2 => Ty::Msg(Msg::Span),
            3 => Ty::Str,
            _ => continue,
        };
        check_type(ty, wire_type, at)?;
        let Value::Len(s, e) = value else { continue };
        match tag {
            1 => {
                validate(buf, s, e, Msg::Scope, 3, budget)?;
                scope_parts.push((s, e));
            }
            2 => {
                budget.take_span()?;
                let [trace, span, parent, name] = validate(buf, s, e, Msg::Span, 3, budget)?;
                let slice = |f: Option<(usize, usize)>| f.map_or(&buf[0..0], |(a, b)| &buf[a..b]);
                let (trace, span_id, parent) = (slice(trace), slice(span), slice(parent));
                let trace_id = <[u8; 16]>::try_from(trace)
                    .ok()
                    .filter(|t| t.iter().any(|b| *b != 0));
                let invalid = if ids_valid(trace, span_id, parent) {
                    None
                } else {
                    rejections.count += 1;
                    if rejections.count > 1 {
                        // counted, not kept: one reason per request, not one per span
                        continue;
                    }
                    invalid_reason(trace, span_id, parent, || {
                        String::from_utf8_lossy(slice(name)).into_owned()
                    })
                };
                spans.push(SpanPart {
                    bytes: body.slice(s..e),
                    trace_id,
                    invalid,
                });
            }
            _ => schema_url = string_at(buf, s, e)?,
        }
    }
    if spans.is_empty() {
        return Ok(None);
    }
    Ok(Some(ScopePart {
        resource: range.resource,
        scope: merged(body, &scope_parts),
        schema_url,
        spans,
    }))
}

/// Whether a span's IDs let it be stored (what [`invalid_reason`] says `None` to).
fn ids_valid(trace: &[u8], span: &[u8], parent: &[u8]) -> bool {
    trace.len() == 16
        && trace.iter().any(|b| *b != 0)
        && span.len() == 8
        && span.iter().any(|b| *b != 0)
        && (parent.is_empty() || parent.len() == 8)
}

/// Why a span cannot be stored, `None` when it can.
fn invalid_reason(
    trace: &[u8],
    span: &[u8],
    parent: &[u8],
    name: impl Fn() -> String,
) -> Option<String> {
    if trace.len() != 16 || trace.iter().all(|b| *b == 0) {
        return Some(format!(
            "span {:?}: trace ID must be 16 bytes, not all zero (got {} bytes)",
            name(),
            trace.len()
        ));
    }
    if span.len() != 8 || span.iter().all(|b| *b == 0) {
        return Some(format!(
            "span {:?}: span ID must be 8 bytes, not all zero (got {} bytes)",
            name(),
            span.len()
        ));
    }
    if !(parent.is_empty() || parent.len() == 8) {
        return Some(format!(
            "span {:?}: parent span ID must be empty or 8 bytes (got {} bytes)",
            name(),
            parent.len()
        ));
    }
    None
}

#[cfg(test)]
mod tests;
