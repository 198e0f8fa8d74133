//! The OTLP/gRPC receiver over a real socket, with tonic's generated client.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::Arc;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use tonic::codec::CompressionEncoding;
use tonic::transport::Channel;
use tracegate::otlp::store::Store;
use tracegate::otlp::{grpc, sample, Limits, Receiver};
use tracegate::propagation::TraceId;

async fn start(limits: Limits) -> (SocketAddr, Arc<Store>) {
    let store = Arc::new(Store::in_memory(limits.max_spans));
    let receiver = Receiver::new(Arc::clone(&store), limits);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(grpc::serve(receiver, listener, std::future::pending()));
    (addr, store)
}

async fn client(addr: SocketAddr) -> TraceServiceClient<Channel> {
    TraceServiceClient::connect(format!("http://{addr}"))
        .await
        .unwrap()
}

#[tokio::test]
async fn export_over_grpc_with_gzip_is_stored() {
    let (addr, store) = start(Limits::default()).await;
    let mut client = client(addr)
        .await
        .send_compressed(CompressionEncoding::Gzip);
    let t = [9u8; 16];
    let req = sample::request(
        "api",
        vec![
            sample::span(t, 1, 0, "root", 0, 10),
            sample::span(t, 2, 1, "child", 1, 2),
        ],
    );
    let response = client.export(req).await.unwrap().into_inner();
    assert_eq!(response.partial_success, None);
    let data = store.get(TraceId::from_bytes(t).unwrap()).unwrap();
    assert_eq!(data.resource_spans[0].scope_spans[0].spans.len(), 2);
}

#[tokio::test]
async fn invalid_ids_over_grpc_get_a_partial_success() {
    let (addr, _) = start(Limits::default()).await;
    let mut req = sample::batch(1, 3, 3);
    req.resource_spans[0].scope_spans[0].spans[2].span_id = vec![];
    let response = client(addr).await.export(req).await.unwrap().into_inner();
    let partial = response.partial_success.unwrap();
    assert_eq!(partial.rejected_spans, 1);
    assert!(partial.error_message.contains("span ID"));
}

#[tokio::test]
async fn over_the_limits_grpc_answers_resource_exhausted_and_a_full_store_evicts() {
    let (addr, store) = start(Limits {
        max_decompressed_bytes: 64 * 1024,
        max_spans: 600,
        ..Limits::default()
    })
    .await;
    let mut plain = client(addr).await;
    // too large: uncompressed, and compressed (a bomb of repetitive spans)
    let big = sample::batch(1, 2000, 4);
    let err = plain.export(big.clone()).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::ResourceExhausted, "{err}");
    let mut gz = client(addr)
        .await
        .send_compressed(CompressionEncoding::Gzip);
    let err = gz.export(big).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::ResourceExhausted, "{err}");
    // store full: the oldest traces are evicted and exports keep succeeding
    plain.export(sample::batch(2, 500, 4)).await.unwrap();
    plain.export(sample::batch(3, 200, 4)).await.unwrap();
    assert_eq!(store.span_count(), 600);
    assert_eq!(store.stats().evicted_spans, 100);
    plain.export(sample::batch(4, 10, 4)).await.unwrap();
    assert!(store.span_count() <= 600);
}

/// One gRPC call with a raw (possibly malformed) message body, over HTTP/2 without TLS.
async fn raw_call(addr: SocketAddr, message: &[u8]) -> (String, String) {
    let mut body = vec![0u8];
    body.extend_from_slice(&u32::try_from(message.len()).unwrap().to_be_bytes());
    body.extend_from_slice(message);
    let client = tracegate::propagation::export::tls::client_builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let response = client
        .post(format!(
            "http://{addr}/opentelemetry.proto.collector.trace.v1.TraceService/Export"
        ))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(body)
        .send()
        .await
        .unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    (header("grpc-status"), header("grpc-message"))
}

#[tokio::test]
async fn truncated_protobuf_over_grpc_is_invalid_argument_and_the_server_stays_up() {
    use prost::Message;
    let (addr, store) = start(Limits::default()).await;
    let good = sample::batch(1, 4, 4).encode_to_vec();
    let (status, message) = raw_call(addr, &good[..good.len() - 5]).await;
    assert_eq!(status, "3", "{message}");
    // the raw-bytes codec leaves validation to wire::scan, which names the position
    assert!(
        message.contains("protobuf") && message.contains("at%20byte"),
        "{message}"
    );
    let (status, _) = raw_call(addr, &good).await;
    assert!(status.is_empty() || status == "0", "{status}");
    client(addr)
        .await
        .export(sample::batch(2, 4, 4))
        .await
        .unwrap();
    assert_eq!(store.span_count(), 8);
}

#[tokio::test]
async fn a_collector_serves_both_protocols_and_shuts_down_cleanly() {
    use prost::Message;
    use tracegate::otlp::server::Collector;
    use tracegate::trace::AssemblyOptions;
    let store = Arc::new(Store::in_memory(1000));
    let receiver = Receiver::new(Arc::clone(&store), Limits::default());
    let any = "127.0.0.1:0".parse().unwrap();
    let collector = Collector::start(receiver, any, Some(any)).await.unwrap();
    let grpc_addr = collector.grpc_addr.unwrap();
    client(grpc_addr)
        .await
        .export(sample::batch(1, 2, 2))
        .await
        .unwrap();
    let status = tracegate::propagation::export::tls::client_builder()
        .build()
        .unwrap()
        .post(format!("http://{}/v1/traces", collector.http_addr))
        .header("content-type", "application/x-protobuf")
        .body(sample::batch(2, 3, 3).encode_to_vec())
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);
    assert_eq!(collector.receiver().store.trace_count(), 2);
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&3u64.to_be_bytes());
    id[8..].copy_from_slice(&1u64.to_be_bytes());
    let trace = store
        .trace(
            TraceId::from_bytes(id).unwrap(),
            &AssemblyOptions::default(),
        )
        .unwrap();
    assert_eq!(trace.spans.len(), 3);
    tokio::time::timeout(std::time::Duration::from_secs(10), collector.shutdown())
        .await
        .unwrap()
        .unwrap();
    assert!(tokio::net::TcpStream::connect(grpc_addr).await.is_err());
}
