use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, ArrayValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::{span, Span, Status};
use proptest::prelude::*;
use prost::Message;

use super::*;
use crate::otlp::sample;

/// A request with two resources, nested attribute values, events, links and a status.
fn rich() -> ExportTraceServiceRequest {
    let t = [7u8; 16];
    let mut root = sample::span(t, 1, 0, "root", 0, 10);
    root.attributes.push(KeyValue {
        key: "list".into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::ArrayValue(ArrayValue {
                values: vec![AnyValue {
                    value: Some(any_value::Value::IntValue(-5)),
                }],
            })),
        }),
        ..Default::default()
    });
    root.events.push(span::Event {
        time_unix_nano: 3,
        name: "retry".into(),
        ..Default::default()
    });
    root.links.push(span::Link {
        trace_id: vec![1; 16],
        span_id: vec![2; 8],
        ..Default::default()
    });
    root.status = Some(Status {
        code: 2,
        message: "boom".into(),
    });
    let mut req = sample::request("a", vec![root, sample::span(t, 2, 1, "child", 1, 2)]);
    req.resource_spans[0].schema_url = "https://opentelemetry.io/schemas/1.26.0".into();
    req.resource_spans
        .extend(sample::request("b", vec![sample::span(t, 3, 2, "db", 1, 2)]).resource_spans);
    req
}

fn decode_span(part: &SpanPart) -> Span {
    Span::decode(part.bytes.as_ref()).unwrap()
}

#[test]
fn scan_finds_every_span_as_a_slice_that_decodes_to_it() {
    let req = rich();
    let batch = scan(Bytes::from(req.encode_to_vec())).unwrap();
    assert_eq!(batch.resources.len(), 2);
    assert_eq!(batch.scopes.len(), 2);
    assert_eq!(batch.span_count(), 3);
    assert_eq!(batch.invalid_count(), 0);
    assert_eq!(
        decode_span(&batch.scopes[0].spans[0]),
        req.resource_spans[0].scope_spans[0].spans[0]
    );
    assert_eq!(batch.scopes[1].resource, 1);
    assert_eq!(batch.scopes[0].spans[0].trace_id, Some([7u8; 16]));
    assert_eq!(
        batch.resources[0].schema_url,
        "https://opentelemetry.io/schemas/1.26.0"
    );
    let resource = opentelemetry_proto::tonic::resource::v1::Resource::decode(
        batch.resources[1].resource.as_ref(),
    )
    .unwrap();
    assert_eq!(resource, req.resource_spans[1].resource.clone().unwrap());
}

#[test]
fn invalid_ids_are_flagged_and_left_out_of_the_re_encoding() {
    let mut req = rich();
    req.resource_spans[0].scope_spans[0].spans[1].span_id = vec![9; 3];
    let batch = scan(Bytes::from(req.encode_to_vec())).unwrap();
    assert_eq!(batch.invalid_count(), 1);
    let reason = batch.scopes[0].spans[1].invalid.clone().unwrap();
    assert!(
        reason.contains("\"child\"") && reason.contains("got 3 bytes"),
        "{reason}"
    );
    let valid = ExportTraceServiceRequest::decode(batch.encode_valid().as_slice()).unwrap();
    req.resource_spans[0].scope_spans[0].spans.remove(1);
    assert_eq!(valid, req);
}

#[test]
fn malformed_input_is_rejected_with_a_position() {
    let good = rich().encode_to_vec();
    for bad in [
        &good[..good.len() - 1],
        &[0x0a, 0x05, 0x01][..], // length beyond the message
        &[
            0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
        ][..], // bad varint
        &[0x0b][..],             // group wire type
        &[0x00, 0x00][..],       // tag 0
    ] {
        let err = scan(Bytes::copy_from_slice(bad)).unwrap_err();
        assert!(err.to_string().contains("at byte"), "{err}");
    }
    // a span name that is not UTF-8
    let mut req = rich();
    req.resource_spans[0].scope_spans[0].spans[0].name = "\u{e9}t\u{e9}".into();
    let mut bytes = req.encode_to_vec();
    let pos = bytes.windows(2).position(|w| w == [0xc3, 0xa9]).unwrap();
    bytes[pos] = 0xff;
    assert!(scan(Bytes::from(bytes.clone())).is_err());
    assert!(ExportTraceServiceRequest::decode(bytes.as_slice()).is_err());
    // unknown fields are skipped, as prost does
    let mut with_unknown = vec![0xf8, 0x01, 0x05]; // field 31, varint 5
    with_unknown.extend_from_slice(&good);
    assert_eq!(scan(Bytes::from(with_unknown)).unwrap().span_count(), 3);
    assert_eq!(scan(Bytes::new()).unwrap().span_count(), 0);
}

/// `n` copies of an encoded field.
fn repeated(field: &[u8], n: usize) -> Vec<u8> {
    field
        .iter()
        .copied()
        .cycle()
        .take(field.len() * n)
        .collect()
}

#[test]
fn empty_resource_and_scope_spans_get_no_entry() {
    // a million empty ResourceSpans (0x0a 0x00), then one holding a million empty ScopeSpans
    let mut body = repeated(&[0x0a, 0x00], 1_000_000);
    let scopes = repeated(&[0x12, 0x00], 1_000_000);
    body.push(0x0a);
    prost::encoding::encode_varint(scopes.len() as u64, &mut body);
    body.extend_from_slice(&scopes);
    let batch = scan(Bytes::from(body)).unwrap();
    assert_eq!(batch.span_count(), 0);
    assert_eq!(batch.resources.len(), 0);
    assert_eq!(batch.scopes.len(), 0);
}

#[test]
fn invalid_spans_are_counted_with_one_reason_not_kept_one_by_one() {
    // one ScopeSpans with 100 000 empty spans (0x12 0x00): no IDs, all invalid
    let spans = repeated(&[0x12, 0x00], 100_000);
    let mut scope = Vec::new();
    len_field(&mut scope, 2, &spans);
    let mut body = Vec::new();
    len_field(&mut body, 1, &scope);
    let batch = scan(Bytes::from(body)).unwrap();
    assert_eq!(batch.invalid_count(), 100_000);
    assert_eq!(batch.span_count(), 100_000);
    let kept: usize = batch.scopes.iter().map(|s| s.spans.len()).sum();
    assert!(kept <= 1, "{kept} span entries kept for rejected spans");
    let reason = batch
        .scopes
        .iter()
        .flat_map(|s| &s.spans)
        .find_map(|s| s.invalid.clone())
        .unwrap();
    assert!(reason.contains("100000 spans rejected"), "{reason}");
    assert_eq!(batch.rejection_reason(), Some(reason.as_str()));
}

#[test]
fn a_request_of_too_many_messages_is_refused_as_too_large() {
    let body = rich().encode_to_vec();
    assert!(scan_with_limit(Bytes::from(body.clone()), 1000).is_ok());
    let err = scan_with_limit(Bytes::from(body), 5).unwrap_err();
    assert!(matches!(err, DecodeError::TooLarge(_)), "{err}");
    assert!(
        err.to_string().contains("more than 5 protobuf messages"),
        "{err}"
    );
    // empty messages count too
    let empties = repeated(&[0x0a, 0x00], 100);
    assert!(scan_with_limit(Bytes::from(empties), 99).is_err());
}

#[test]
fn a_request_of_too_many_spans_is_refused_counting_invalid_ones() {
    let limits = |max_spans| ScanLimits {
        max_messages: DEFAULT_MAX_MESSAGES,
        max_spans,
    };
    let mut req = sample::batch(1, 10, 2);
    let body = Bytes::from(req.encode_to_vec());
    assert_eq!(
        scan_with_limits(body.clone(), limits(10))
            .unwrap()
            .span_count(),
        10
    );
    let err = scan_with_limits(body, limits(9)).unwrap_err();
    assert!(matches!(err, DecodeError::TooLarge(_)), "{err}");
    assert!(err.to_string().contains("more than 9 spans"), "{err}");
    // spans with invalid IDs are counted too (they cost a scan all the same)
    req.resource_spans[0].scope_spans[0]
        .spans
        .extend(std::iter::repeat_n(Span::default(), 5));
    assert!(scan_with_limits(Bytes::from(req.encode_to_vec()), limits(14)).is_err());
}

#[test]
fn the_valid_re_encoding_keeps_resources_and_scopes_in_order() {
    let mut req = rich();
    req.resource_spans[1].scope_spans[0].spans[0].trace_id = vec![0; 16];
    req.resource_spans[0].scope_spans[0].spans[0].span_id = vec![];
    let batch = scan(Bytes::from(req.encode_to_vec())).unwrap();
    assert_eq!(batch.invalid_count(), 2);
    let valid = ExportTraceServiceRequest::decode(batch.encode_valid().as_slice()).unwrap();
    assert_eq!(valid.resource_spans.len(), 1);
    assert_eq!(valid.resource_spans[0].scope_spans[0].spans.len(), 1);
    assert_eq!(
        valid.resource_spans[0].scope_spans[0].spans[0].name,
        "child"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// Whatever `scan` accepts, prost decodes, and the spans it found are prost's spans.
    #[test]
    fn scan_accepts_nothing_prost_rejects(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let mut bytes = rich().encode_to_vec();
        for (at, value) in edits {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        if truncate {
            bytes.truncate(cut.index(bytes.len() + 1));
        }
        if let Ok(batch) = scan(Bytes::from(bytes.clone())) {
            let decoded = ExportTraceServiceRequest::decode(bytes.as_slice());
            prop_assert!(decoded.is_ok(), "scan accepted what prost rejects: {:?}", decoded);
            let decoded = decoded.unwrap();
            let prost_spans: Vec<Span> = decoded
                .resource_spans
                .iter()
                .flat_map(|rs| &rs.scope_spans)
                .flat_map(|ss| ss.spans.clone())
                .collect();
            let valid = |s: &Span| {
                s.trace_id.len() == 16 && s.trace_id.iter().any(|b| *b != 0)
                    && s.span_id.len() == 8 && s.span_id.iter().any(|b| *b != 0)
                    && (s.parent_span_id.is_empty() || s.parent_span_id.len() == 8)
            };
            let prost_valid: Vec<Span> = prost_spans.iter().filter(|s| valid(s)).cloned().collect();
            let scanned: Vec<Span> = batch
                .scopes
                .iter()
                .flat_map(|s| &s.spans)
                .filter(|s| s.invalid.is_none())
                .map(decode_span)
                .collect();
            prop_assert_eq!(prost_valid, scanned);
            prop_assert_eq!(batch.span_count(), prost_spans.len());
        }
    }
}
