//! The OTLP/HTTP receiver and query API, through the axum app (`oneshot`) and a real socket.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::http::{header, Request, StatusCode};
use axum::Router;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;
use tower::ServiceExt;
use tracegate::otlp::store::Store;
use tracegate::otlp::{http::app, sample, Limits, Receiver};

const T1: [u8; 16] = [0xab; 16];
const T1_HEX: &str = "abababababababababababababababab";

fn receiver(limits: Limits) -> Router {
    app(Receiver::new(
        Arc::new(Store::in_memory(limits.max_spans)),
        limits,
    ))
}

fn post(content_type: &str, body: impl Into<Body>) -> Request<Body> {
    Request::post("/v1/traces")
        .header(header::CONTENT_TYPE, content_type)
        .body(body.into())
        .unwrap()
}

async fn send(app: &Router, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let response = app.clone().oneshot(req).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, headers, body.to_vec())
}

async fn get_json(app: &Router, uri: &str) -> (StatusCode, serde_json::Value) {
    let (status, _, body) = send(app, Request::get(uri).body(Body::empty()).unwrap()).await;
    (status, serde_json::from_slice(&body).unwrap())
}

fn two_spans() -> ExportTraceServiceRequest {
    let mut req = sample::request(
        "ingress",
        vec![
            sample::span(T1, 1, 0, "GET /invoice", 0, 10),
            sample::span(T1, 2, 1, "SELECT", 1, 5),
        ],
    );
    req.resource_spans[0].scope_spans[0].spans[1]
        .attributes
        .push(sample::kv("db.system", "postgresql"));
    req
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

#[tokio::test]
async fn protobuf_export_is_stored_and_served_back_as_otlp_json() {
    let app = receiver(Limits::default());
    let (status, headers, body) = send(
        &app,
        post("application/x-protobuf", two_spans().encode_to_vec()),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "application/x-protobuf");
    let response = ExportTraceServiceResponse::decode(body.as_slice()).unwrap();
    assert_eq!(response.partial_success, None);

    let (status, json) = get_json(&app, &format!("/api/traces/{T1_HEX}")).await;
    assert_eq!(status, StatusCode::OK);
    let spans = &json["resourceSpans"][0]["scopeSpans"][0]["spans"];
    assert_eq!(spans[0]["traceId"], T1_HEX);
    assert_eq!(spans[1]["spanId"], "0000000000000002");
    assert_eq!(spans[1]["parentSpanId"], "0000000000000001");
    assert_eq!(spans[1]["attributes"][1]["key"], "db.system");
    let service = &json["resourceSpans"][0]["resource"]["attributes"][0];
    assert_eq!(service["value"]["stringValue"], "ingress");
    // uppercase hex in the URL is accepted too
    let (status, _) = get_json(&app, &format!("/api/traces/{}", T1_HEX.to_uppercase())).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn json_export_with_hex_ids_and_gzip_is_accepted() {
    let app = receiver(Limits::default());
    let json = format!(
        r#"{{"resourceSpans":[{{"resource":{{"attributes":[{{"key":"service.name","value":{{"stringValue":"web"}}}}]}},
        "scopeSpans":[{{"spans":[{{"traceId":"{T1_HEX}","spanId":"00f067aa0ba902b7","name":"GET /",
        "kind":2,"startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000100000000",
        "attributes":[{{"key":"http.response.status_code","value":{{"intValue":"200"}}}}]}}]}}]}}]}}"#
    );
    let mut req = post("application/json; charset=utf-8", gzip(json.as_bytes()));
    req.headers_mut()
        .insert(header::CONTENT_ENCODING, "gzip".parse().unwrap());
    let (status, headers, body) = send(&app, req).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    assert_eq!(body, b"{}");
    let (_, json) = get_json(&app, &format!("/api/traces/{T1_HEX}")).await;
    let span = &json["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
    assert_eq!(span["spanId"], "00f067aa0ba902b7");
    assert_eq!(span["attributes"][0]["value"]["intValue"], "200");
}

#[tokio::test]
async fn spans_with_invalid_ids_get_a_partial_success() {
    let app = receiver(Limits::default());
    let json = format!(
        r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[
        {{"traceId":"{T1_HEX}","spanId":"0000000000000001","name":"ok"}},
        {{"traceId":"{T1_HEX}","spanId":"abcd","name":"short"}},
        {{"traceId":"00000000000000000000000000000000","spanId":"0000000000000003","name":"zero"}}]}}]}}]}}"#
    );
    let (status, _, body) = send(&app, post("application/json", json)).await;
    assert_eq!(status, StatusCode::OK);
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["partialSuccess"]["rejectedSpans"], 2);
    assert!(body["partialSuccess"]["errorMessage"]
        .as_str()
        .unwrap()
        .contains("span \"short\""));
    // protobuf answers partial success in protobuf
    let mut req = two_spans();
    req.resource_spans[0].scope_spans[0].spans[0].trace_id = vec![1, 2, 3];
    let (status, _, body) = send(&app, post("application/x-protobuf", req.encode_to_vec())).await;
    assert_eq!(status, StatusCode::OK);
    let partial = ExportTraceServiceResponse::decode(body.as_slice())
        .unwrap()
        .partial_success
        .unwrap();
    assert_eq!(partial.rejected_spans, 1);
}

#[tokio::test]
async fn bad_input_gets_the_right_status_and_a_reason() {
    let app = receiver(Limits::default());
    let good = two_spans().encode_to_vec();

    // truncated protobuf
    let (status, headers, body) = send(
        &app,
        post("application/x-protobuf", good[..good.len() - 3].to_vec()),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(headers[header::CONTENT_TYPE], "application/x-protobuf");
    let rpc_status = decode_rpc_status(&body);
    assert_eq!(rpc_status.0, 3); // INVALID_ARGUMENT
    assert!(
        rpc_status.1.contains("invalid OTLP protobuf"),
        "{}",
        rpc_status.1
    );

    // wrong content type
    let (status, _, body) = send(&app, post("text/plain", "hello")).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(body["message"].as_str().unwrap().contains("text/plain"));

    // unsupported content encoding
    let mut req = post("application/x-protobuf", good.clone());
    req.headers_mut()
        .insert(header::CONTENT_ENCODING, "br".parse().unwrap());
    assert_eq!(send(&app, req).await.0, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    // gzip header on a body that is not gzip
    let mut req = post("application/x-protobuf", good.clone());
    req.headers_mut()
        .insert(header::CONTENT_ENCODING, "gzip".parse().unwrap());
    assert_eq!(send(&app, req).await.0, StatusCode::BAD_REQUEST);

    // invalid hex IDs in JSON
    let json = r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"xyz","spanId":"0000000000000001"}]}]}]}"#;
    let (status, _, body) = send(&app, post("application/json", json)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["code"], 3);
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("invalid OTLP JSON"));

    // not JSON at all
    assert_eq!(
        send(&app, post("application/json", "{\"resourceSpans\":["))
            .await
            .0,
        StatusCode::BAD_REQUEST
    );

    // unknown JSON fields are ignored (OTLP JSON mapping), the known ones kept
    let json = format!(
        r#"{{"fromTheFuture":1,"resourceSpans":[{{"scopeSpans":[{{"spans":[{{"traceId":"{T1_HEX}",
        "spanId":"0000000000000009","name":"x","newField":{{"a":[1]}}}}]}}]}}]}}"#
    );
    assert_eq!(
        send(&app, post("application/json", json)).await.0,
        StatusCode::OK
    );

    // still serving
    let (status, _, _) = send(&app, post("application/x-protobuf", good)).await;
    assert_eq!(status, StatusCode::OK);
}

fn decode_rpc_status(body: &[u8]) -> (i32, String) {
    #[derive(Clone, PartialEq, prost::Message)]
    struct Status {
        #[prost(int32, tag = "1")]
        code: i32,
        #[prost(string, tag = "2")]
        message: String,
    }
    let s = Status::decode(body).unwrap();
    (s.code, s.message)
}

#[tokio::test]
async fn a_gzip_bomb_is_refused_without_inflating_it() {
    let limits = Limits {
        max_decompressed_bytes: 1024 * 1024,
        ..Limits::default()
    };
    let app = receiver(limits);
    let bomb = gzip(&vec![0u8; 64 * 1024 * 1024]);
    assert!(bomb.len() < 1024 * 1024, "{}", bomb.len());
    let mut req = post("application/x-protobuf", bomb);
    req.headers_mut()
        .insert(header::CONTENT_ENCODING, "gzip".parse().unwrap());
    let (status, _, body) = send(&app, req).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let (code, message) = decode_rpc_status(&body);
    assert_eq!(code, 8); // RESOURCE_EXHAUSTED
    assert!(message.contains("decompressed body exceeds"), "{message}");
}

/// A 100 MB body produced chunk by chunk, counting what the server pulls.
struct HugeBody {
    remaining: usize,
    pulled: Arc<AtomicUsize>,
}

impl http_body::Body for HugeBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        if self.remaining == 0 {
            return Poll::Ready(None);
        }
        let n = self.remaining.min(64 * 1024);
        self.remaining -= n;
        self.pulled.fetch_add(n, Ordering::SeqCst);
        Poll::Ready(Some(Ok(http_body::Frame::data(Bytes::from(vec![0x0a; n])))))
    }
}

#[tokio::test]
async fn a_100_mb_body_is_cut_off_at_the_limit_not_buffered() {
    let app = receiver(Limits::default());
    let pulled = Arc::new(AtomicUsize::new(0));
    let body = Body::new(HugeBody {
        remaining: 100 * 1024 * 1024,
        pulled: Arc::clone(&pulled),
    });
    let (status, _, _) = send(&app, post("application/x-protobuf", body)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let pulled = pulled.load(Ordering::SeqCst);
    assert!(
        pulled <= 8 * 1024 * 1024 + 64 * 1024,
        "pulled {pulled} bytes"
    );
}

#[tokio::test]
async fn a_full_store_evicts_the_oldest_trace_and_keeps_answering_200() {
    let app = receiver(Limits {
        max_spans: 3,
        ..Limits::default()
    });
    let (status, _, _) = send(
        &app,
        post("application/x-protobuf", two_spans().encode_to_vec()),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let mut other = two_spans();
    for span in &mut other.resource_spans[0].scope_spans[0].spans {
        span.trace_id = vec![0xcd; 16];
    }
    let (status, _, _) = send(
        &app,
        post("application/json", serde_json::to_vec(&other).unwrap()),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = get_json(&app, &format!("/api/traces/{T1_HEX}")).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "the oldest trace was evicted"
    );
    let (_, stats) = get_json(&app, "/api/stats").await;
    assert_eq!(
        (stats["spans"].clone(), stats["evicted_traces"].clone()),
        (2.into(), 1.into())
    );
}

#[tokio::test]
async fn query_api_lists_recent_traces_and_answers_404_and_400() {
    let app = receiver(Limits::default());
    send(
        &app,
        post("application/x-protobuf", two_spans().encode_to_vec()),
    )
    .await;
    send(
        &app,
        post(
            "application/x-protobuf",
            sample::batch(7, 3, 3).encode_to_vec(),
        ),
    )
    .await;
    let (status, json) = get_json(&app, "/api/traces?limit=1").await;
    assert_eq!(status, StatusCode::OK);
    let traces = json["traces"].as_array().unwrap();
    assert_eq!(traces.len(), 1);
    assert_eq!(traces[0]["root_service"], "bench");
    let (_, json) = get_json(&app, "/api/traces").await;
    let traces = json["traces"].as_array().unwrap();
    assert_eq!(traces.len(), 2);
    assert_eq!(traces[1]["trace_id"], T1_HEX);
    assert_eq!(traces[1]["root_operation"], "GET /invoice");
    assert_eq!(traces[1]["spans"], 2);
    assert_eq!(traces[1]["duration_ns"], 10_000_000);
    assert_eq!(traces[1]["error"], false);

    let (status, json) = get_json(&app, "/api/traces/0123456789abcdef0123456789abcdef").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(json["error"].as_str().unwrap().contains("not found"));
    let (status, _) = get_json(&app, "/api/traces/nothex").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn over_a_real_socket_an_oversized_declared_body_gets_413_and_the_server_stays_up() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = receiver(Limits::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head =
        "POST /v1/traces HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-protobuf\r\n\
                Content-Length: 104857600\r\n\r\n";
    conn.write_all(head.as_bytes()).await.unwrap();
    conn.write_all(&[0u8; 4096]).await.unwrap();
    let mut buf = vec![0u8; 1024];
    let n = tokio::time::timeout(std::time::Duration::from_secs(10), conn.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    drop(conn);

    let client = tracegate::propagation::export::tls::client_builder()
        .build()
        .unwrap();
    let response = client
        .post(format!("http://{addr}/v1/traces"))
        .header("content-type", "application/x-protobuf")
        .body(two_spans().encode_to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let fetched: serde_json::Value = client
        .get(format!("http://{addr}/api/traces/{T1_HEX}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        fetched["resourceSpans"][0]["scopeSpans"][0]["spans"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn arbitrary_bodies_never_crash_the_receiver_or_get_a_5xx() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    let rt = tokio::runtime::Runtime::new().unwrap();
    let app = receiver(Limits {
        max_decompressed_bytes: 64 * 1024,
        ..Limits::default()
    });
    let good = two_spans().encode_to_vec();
    let json = serde_json::to_vec(&two_spans()).unwrap();
    let mut runner = TestRunner::new(Config::with_cases(300));
    let strategy =
        (
            prop_oneof![
                proptest::collection::vec(any::<u8>(), 0..512),
                // valid requests with a few bytes changed
                proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4)
                    .prop_map({
                        let good = good.clone();
                        move |edits| {
                            let mut b = good.clone();
                            for (i, v) in edits {
                                let at = i.index(b.len());
                                b[at] = v;
                            }
                            b
                        }
                    }),
                proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4)
                    .prop_map({
                        let json = json.clone();
                        move |edits| {
                            let mut b = json.clone();
                            for (i, v) in edits {
                                let at = i.index(b.len());
                                b[at] = v;
                            }
                            b
                        }
                    }),
            ],
            prop_oneof![Just("application/x-protobuf"), Just("application/json")],
            any::<bool>(),
        );
    runner
        .run(&strategy, |(body, content_type, gzipped)| {
            let mut req = post(content_type, if gzipped { gzip(&body) } else { body });
            if gzipped {
                req.headers_mut()
                    .insert(header::CONTENT_ENCODING, "gzip".parse().unwrap());
            }
            let (status, _, _) = rt.block_on(send(&app, req));
            prop_assert!(
                [
                    StatusCode::OK,
                    StatusCode::BAD_REQUEST,
                    StatusCode::PAYLOAD_TOO_LARGE
                ]
                .contains(&status),
                "status {status}"
            );
            Ok(())
        })
        .unwrap();
    // every stored trace reads back
    let (status, listing) = rt.block_on(get_json(&app, "/api/traces?limit=10000"));
    assert_eq!(status, StatusCode::OK);
    for t in listing["traces"].as_array().unwrap() {
        let id = t["trace_id"].as_str().unwrap();
        let (status, _) = rt.block_on(get_json(&app, &format!("/api/traces/{id}")));
        assert_eq!(status, StatusCode::OK);
    }
}
