//! Per-request limits of the receiver (issue #15): spans per export request, spans per trace
//! query, and the body read timeout applied to a gRPC stream that trickles bytes.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use tracegate::otlp::server::Collector;
use tracegate::otlp::{sample, Limits, Receiver};

async fn start(limits: Limits) -> Collector {
    let receiver = Receiver::new(Arc::new(limits.store()), limits);
    let any = "127.0.0.1:0".parse().unwrap();
    Collector::start(receiver, any, Some(any)).await.unwrap()
}

fn client() -> reqwest::Client {
    tracegate::propagation::export::tls::client_builder()
        .build()
        .unwrap()
}

/// POST `body` to `/v1/traces`: the status and the body as text.
async fn post(collector: &Collector, content_type: &str, body: Vec<u8>) -> (u16, String) {
    let response = client()
        .post(format!("http://{}/v1/traces", collector.http_addr))
        .header("content-type", content_type)
        .body(body)
        .timeout(Duration::from_secs(60))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = String::from_utf8_lossy(&response.bytes().await.unwrap()).into_owned();
    (status, text)
}

/// `n` minimal valid spans (trace and span ID only), one trace each, in one scope.
fn minimal_spans(n: usize) -> Vec<u8> {
    let mut spans = Vec::with_capacity(n * 30);
    for i in 1..=n as u128 {
        spans.extend_from_slice(&[0x12, 0x1c, 0x0a, 0x10]);
        spans.extend_from_slice(&i.to_be_bytes());
        spans.extend_from_slice(&[0x12, 0x08]);
        spans.extend_from_slice(&(i as u64).to_be_bytes());
    }
    let mut scope = Vec::new();
    len_field(&mut scope, 2, &spans);
    let mut body = Vec::new();
    len_field(&mut body, 1, &scope);
    body
}

fn len_field(out: &mut Vec<u8>, tag: u8, bytes: &[u8]) {
    out.push(tag << 3 | 2);
    prost::encoding::encode_varint(bytes.len() as u64, out);
    out.extend_from_slice(bytes);
}

#[tokio::test]
async fn a_request_over_the_default_span_limit_is_refused_413() {
    let collector = start(Limits::default()).await;
    let max = Limits::default().max_spans_per_request;
    let (status, text) = post(&collector, "application/x-protobuf", minimal_spans(max + 1)).await;
    assert_eq!(status, 413, "{text}");
    assert!(text.contains(&format!("more than {max} spans")), "{text}");
    assert_eq!(collector.receiver().store.span_count(), 0);
    collector.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_span_limit_applies_to_protobuf_json_and_grpc() {
    use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
    let collector = start(Limits {
        max_spans_per_request: 100,
        ..Limits::default()
    })
    .await;
    let over = sample::batch(1, 101, 1);
    let (status, text) = post(&collector, "application/x-protobuf", over.encode_to_vec()).await;
    assert_eq!(status, 413, "{text}");
    let (status, text) = post(
        &collector,
        "application/json",
        serde_json::to_vec(&over).unwrap(),
    )
    .await;
    assert_eq!(status, 413, "{text}");
    assert!(text.contains("more than 100 spans"), "{text}");
    let addr = collector.grpc_addr.unwrap();
    let mut grpc = TraceServiceClient::connect(format!("http://{addr}"))
        .await
        .unwrap();
    let status = grpc.export(over).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status:?}");
    assert!(
        status.message().contains("more than 100 spans"),
        "{status:?}"
    );
    // at the limit: accepted
    grpc.export(sample::batch(2, 100, 1)).await.unwrap();
    let (status, text) = post(
        &collector,
        "application/x-protobuf",
        sample::batch(3, 100, 1).encode_to_vec(),
    )
    .await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(collector.receiver().store.span_count(), 200);
    collector.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_message_budget_is_a_limit() {
    let collector = start(Limits {
        max_messages_per_request: 1000,
        ..Limits::default()
    })
    .await;
    // 2,000 empty ResourceSpans: under the default budget, over this one
    let body: Vec<u8> = std::iter::repeat_n([0x0a_u8, 0x00], 2000)
        .flatten()
        .collect();
    let (status, text) = post(&collector, "application/x-protobuf", body).await;
    assert_eq!(status, 413, "{text}");
    assert!(text.contains("more than 1000 protobuf messages"), "{text}");
    let json = serde_json::to_vec(&sample::batch(1, 400, 4)).unwrap();
    let (status, text) = post(&collector, "application/json", json).await;
    assert_eq!(status, 413, "{text}");
    collector.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_trace_over_the_query_span_limit_is_answered_413_saying_its_size() {
    // one trace of 4 spans, one of 3
    let (collector, big, small) = a_big_and_a_small_trace_over_a_query_limit_of_3().await;
    let hex = |b: &ExportTraceServiceRequest| -> String {
        let id = &b.resource_spans[0].scope_spans[0].spans[0].trace_id;
        id.iter().map(|x| format!("{x:02x}")).collect()
    };
    let base = format!("http://{}", collector.http_addr);
    let response = client()
        .get(format!("{base}/api/traces/{}", hex(&big)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 413);
    let text = response.text().await.unwrap();
    assert!(text.contains("has 4 spans"), "{text}");
    assert!(text.contains("trace show"), "{text}");
    // `trace show --from` passes the reason on, in one line
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_tracegate"))
        .args(["trace", "show", &hex(&big), "--from", &base])
        .output()
        .await
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("413") && err.contains("has 4 spans") && err.contains("--store DIR"),
        "{err}"
    );
    let response = client()
        .get(format!("{base}/api/traces/{}", hex(&small)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let text = response.text().await.unwrap();
    assert!(text.contains("resourceSpans"), "{text}");
    collector.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_grpc_message_that_trickles_in_is_timed_out() {
    let collector = start(Limits {
        body_read_timeout: Duration::from_millis(500),
        ..Limits::default()
    })
    .await;
    let tcp = tokio::net::TcpStream::connect(collector.grpc_addr.unwrap())
        .await
        .unwrap();
    let (h2, connection) = h2::client::handshake(tcp).await.unwrap();
    tokio::spawn(connection);
    let mut h2 = h2.ready().await.unwrap();
    let request = http::Request::post(format!(
        "http://{}{}",
        collector.grpc_addr.unwrap(),
        tracegate::otlp::grpc::EXPORT_PATH
    ))
    .header("content-type", "application/grpc")
    .header("te", "trailers")
    .body(())
    .unwrap();
    let (response, mut stream) = h2.send_request(request, false).unwrap();
    // a message of 1,000 bytes announced, then one byte every 100 ms: never silent for long
    // (the idle timeout does not fire), never finished within the 5 s this test waits
    stream
        .send_data(
            prost::bytes::Bytes::from_static(&[0, 0, 0, 0x03, 0xe8]),
            false,
        )
        .unwrap();
    let trickle = tokio::spawn(async move {
        for _ in 0..60 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if stream
                .send_data(prost::bytes::Bytes::from_static(&[0x0a]), false)
                .is_err()
            {
                break;
            }
        }
    });
    let response = tokio::time::timeout(Duration::from_secs(5), response)
        .await
        .expect("no answer within 5 s to a message trickling in")
        .unwrap();
    let grpc_status = |headers: &http::HeaderMap| {
        headers
            .get("grpc-status")
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let status = match grpc_status(response.headers()) {
        Some(status) => status,
        None => {
            let mut body = response.into_body();
            let trailers = tokio::time::timeout(Duration::from_secs(5), body.trailers())
                .await
                .expect("no trailers")
                .unwrap()
                .unwrap();
            grpc_status(&trailers).unwrap()
        }
    };
    // DEADLINE_EXCEEDED
    assert_eq!(status, "4");
    trickle.abort();
    assert_eq!(collector.receiver().inflight.held(), 0);
    collector.shutdown().await.unwrap();
}

/// `GET /api/traces` summarises each trace by decoding it; a trace over the query span limit is
/// listed with its span count only, never decoded (the listing is bounded like a single query).
#[tokio::test]
async fn the_trace_list_does_not_decode_a_trace_over_the_query_span_limit() {
    let (collector, _, _) = a_big_and_a_small_trace_over_a_query_limit_of_3().await;
    let base = format!("http://{}", collector.http_addr);
    let list: serde_json::Value = client()
        .get(format!("{base}/api/traces"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let traces = list["traces"].as_array().unwrap();
    assert_eq!(traces.len(), 2, "{list}");
    // newest first: the small trace is summarised, the big one only counted
    assert_eq!(traces[0]["spans"], 3, "{list}");
    assert!(traces[0]["root_service"].is_string(), "{list}");
    assert_eq!(traces[1]["spans"], 4, "{list}");
    assert!(traces[1]["root_service"].is_null(), "{list}");
}

/// A collector answering queries of at most 3 spans, holding a trace of 4 spans (sent first)
/// and one of 3.
async fn a_big_and_a_small_trace_over_a_query_limit_of_3() -> (
    Collector,
    ExportTraceServiceRequest,
    ExportTraceServiceRequest,
) {
    let collector = start(Limits {
        max_query_spans: 3,
        ..Limits::default()
    })
    .await;
    let big = sample::batch(1, 4, 4);
    let small = sample::batch(2, 3, 3);
    for batch in [&big, &small] {
        let (status, text) =
            post(&collector, "application/x-protobuf", batch.encode_to_vec()).await;
        assert_eq!(status, 200, "{text}");
    }
    (collector, big, small)
}
