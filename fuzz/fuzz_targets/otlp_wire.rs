//! Fuzz the OTLP protobuf scanner the receiver runs on every request body
//! (`tracegate::otlp::wire::scan_with_limit`): never a panic, never more memory than the message
//! budget allows; whatever it accepts decodes with prost (the request and each kept span), its
//! counts add up, and the valid-span re-encoding scans again to the same valid spans.
#![no_main]

use libfuzzer_sys::fuzz_target;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::bytes::Bytes;
use prost::Message;
use tracegate::otlp::wire;

const MAX_MESSAGES: usize = 100_000;

fuzz_target!(|data: &[u8]| {
    let Ok(batch) = wire::scan_with_limit(Bytes::copy_from_slice(data), MAX_MESSAGES) else {
        return;
    };
    assert!(
        ExportTraceServiceRequest::decode(data).is_ok(),
        "scan accepted what prost refuses"
    );
    assert!(batch.span_count() <= MAX_MESSAGES);
    assert_eq!(batch.valid_count() + batch.invalid_count(), batch.span_count());
    for scope in &batch.scopes {
        assert!(scope.resource < batch.resources.len());
        for span in &scope.spans {
            let decoded = Span::decode(span.bytes.as_ref()).expect("a kept span decodes");
            if let Some(id) = span.trace_id {
                assert_eq!(decoded.trace_id, id.to_vec());
            }
        }
    }
    let again = wire::scan_with_limit(Bytes::from(batch.encode_valid()), MAX_MESSAGES)
        .expect("the valid re-encoding scans");
    assert_eq!(again.valid_count(), batch.valid_count());
    assert_eq!(again.invalid_count(), 0);
});
