//! Connection and in-flight limits of the receiver on real sockets (issue #15): slowloris
//! connections are dropped, stalled bodies time out, idle connections are closed, the
//! connection cap holds, and an exhausted in-flight budget answers 429 / `UNAVAILABLE` with
//! a retry delay.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use prost::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tracegate::otlp::server::Collector;
use tracegate::otlp::{sample, Limits, Receiver};

async fn start(limits: Limits) -> Collector {
    let receiver = Receiver::new(Arc::new(limits.store()), limits);
    let any = "127.0.0.1:0".parse().unwrap();
    Collector::start(receiver, any, Some(any)).await.unwrap()
}

/// What the server sends before closing, within `wait`: `None` when it neither answers nor
/// closes in time.
async fn answer_within(stream: &mut TcpStream, wait: Duration) -> Option<String> {
    let mut buf = vec![0u8; 4096];
    match tokio::time::timeout(wait, stream.read(&mut buf)).await {
        Ok(Ok(n)) => Some(String::from_utf8_lossy(&buf[..n]).into_owned()),
        Ok(Err(e)) => Some(format!("error: {e}")),
        Err(_) => None,
    }
}

fn request_head(content_length: usize) -> String {
    format!(
        "POST /v1/traces HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/x-protobuf\r\ncontent-length: {content_length}\r\n\r\n"
    )
}

#[tokio::test]
async fn a_connection_that_never_finishes_its_headers_is_dropped() {
    let collector = start(Limits {
        header_read_timeout: Duration::from_millis(300),
        ..Limits::default()
    })
    .await;
    let mut slow = TcpStream::connect(collector.http_addr).await.unwrap();
    slow.write_all(b"POST /v1/traces HTTP/1.1\r\nhost: localhost\r\n")
        .await
        .unwrap();
    let answer = answer_within(&mut slow, Duration::from_secs(5)).await;
    assert!(answer.is_some(), "the slowloris connection is still open");
    collector.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_when_idle() {
    let collector = start(Limits {
        idle_timeout: Duration::from_millis(300),
        ..Limits::default()
    })
    .await;
    let mut silent = TcpStream::connect(collector.http_addr).await.unwrap();
    let answer = answer_within(&mut silent, Duration::from_secs(5)).await;
    assert!(answer.is_some(), "the idle connection is still open");
    collector.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_stalled_body_is_answered_408() {
    let collector = start(Limits {
        body_read_timeout: Duration::from_millis(300),
        ..Limits::default()
    })
    .await;
    let mut stalled = TcpStream::connect(collector.http_addr).await.unwrap();
    stalled
        .write_all(request_head(1000).as_bytes())
        .await
        .unwrap();
    stalled.write_all(&[0x0a; 10]).await.unwrap();
    let answer = answer_within(&mut stalled, Duration::from_secs(5))
        .await
        .expect("no answer to a stalled body");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    collector.shutdown().await.unwrap();
}

#[tokio::test]
async fn connections_over_the_cap_wait_until_one_closes() {
    let collector = start(Limits {
        max_connections: 2,
        ..Limits::default()
    })
    .await;
    let first = TcpStream::connect(collector.http_addr).await.unwrap();
    let _second = TcpStream::connect(collector.http_addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut third = TcpStream::connect(collector.http_addr).await.unwrap();
    third
        .write_all(b"GET /api/traces HTTP/1.1\r\nhost: localhost\r\n\r\n")
        .await
        .unwrap();
    assert_eq!(
        answer_within(&mut third, Duration::from_millis(500)).await,
        None,
        "a third connection was served over the cap of 2"
    );
    drop(first);
    let answer = answer_within(&mut third, Duration::from_secs(5))
        .await
        .expect("the waiting connection was not served after one closed");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    collector.shutdown().await.unwrap();
}

#[tokio::test]
async fn over_the_in_flight_budget_http_answers_429_with_retry_after() {
    let collector = start(Limits {
        max_inflight_bytes: 64 * 1024,
        ..Limits::default()
    })
    .await;
    let body = sample::batch(1, 2000, 4).encode_to_vec();
    assert!(body.len() > 64 * 1024, "{}", body.len());
    let response = tracegate::propagation::export::tls::client_builder()
        .build()
        .unwrap()
        .post(format!("http://{}/v1/traces", collector.http_addr))
        .header("content-type", "application/x-protobuf")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 429);
    assert_eq!(response.headers()["retry-after"], "5");
    let status = response.bytes().await.unwrap();
    assert!(
        String::from_utf8_lossy(&status).contains("in-flight memory budget"),
        "{status:?}"
    );
    // a small request still passes, and the budget is all given back
    let small = sample::batch(1, 2, 1).encode_to_vec();
    let response = tracegate::propagation::export::tls::client_builder()
        .build()
        .unwrap()
        .post(format!("http://{}/v1/traces", collector.http_addr))
        .header("content-type", "application/x-protobuf")
        .body(small)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(collector.receiver().inflight.held(), 0);
    collector.shutdown().await.unwrap();
}

#[tokio::test]
async fn over_the_in_flight_budget_grpc_answers_unavailable_with_retry_info() {
    use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
    let collector = start(Limits {
        max_inflight_bytes: 64 * 1024,
        ..Limits::default()
    })
    .await;
    let addr = collector.grpc_addr.unwrap();
    let mut client = TraceServiceClient::connect(format!("http://{addr}"))
        .await
        .unwrap();
    let status = client.export(sample::batch(1, 2000, 4)).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    assert!(status.message().contains("in-flight"), "{status:?}");
    assert!(!status.details().is_empty(), "no RetryInfo");
    client.export(sample::batch(1, 2, 1)).await.unwrap();
    collector.shutdown().await.unwrap();
}

#[tokio::test]
async fn ingest_is_not_held_up_by_a_stalled_connection_and_shutdown_still_works() {
    let collector = start(Limits::default()).await;
    let mut stalled = TcpStream::connect(collector.http_addr).await.unwrap();
    stalled
        .write_all(request_head(1000).as_bytes())
        .await
        .unwrap();
    let response = tracegate::propagation::export::tls::client_builder()
        .build()
        .unwrap()
        .post(format!("http://{}/v1/traces", collector.http_addr))
        .header("content-type", "application/x-protobuf")
        .body(sample::batch(1, 2, 1).encode_to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    drop(stalled);
    tokio::time::timeout(Duration::from_secs(10), collector.shutdown())
        .await
        .expect("shutdown hung")
        .unwrap();
}

#[tokio::test]
async fn queries_over_the_cap_get_503_and_exports_go_on() {
    let collector = start(Limits {
        max_concurrent_queries: 1,
        ..Limits::default()
    })
    .await;
    let client = tracegate::propagation::export::tls::client_builder()
        .build()
        .unwrap();
    let base = format!("http://{}", collector.http_addr);
    let held = collector.receiver().try_start_query().unwrap();
    let response = client
        .get(format!(
            "{base}/api/traces/5b8efff798038103d269b633813fc60c"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    let list = client
        .get(format!("{base}/api/traces"))
        .send()
        .await
        .unwrap();
    assert_eq!(list.status().as_u16(), 503);
    // exports do not wait for queries
    let export = client
        .post(format!("{base}/v1/traces"))
        .header("content-type", "application/x-protobuf")
        .body(sample::batch(1, 4, 4).encode_to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(export.status().as_u16(), 200);
    drop(held);
    let list = client
        .get(format!("{base}/api/traces"))
        .send()
        .await
        .unwrap();
    assert_eq!(list.status().as_u16(), 200);
    collector.shutdown().await.unwrap();
}

#[tokio::test]
async fn exports_over_the_in_flight_request_cap_get_429() {
    let collector = start(Limits {
        max_inflight_requests: 1,
        ..Limits::default()
    })
    .await;
    let client = tracegate::propagation::export::tls::client_builder()
        .build()
        .unwrap();
    let url = format!("http://{}/v1/traces", collector.http_addr);
    let post = || {
        client
            .post(&url)
            .header("content-type", "application/x-protobuf")
            .body(sample::batch(1, 4, 4).encode_to_vec())
            .send()
    };
    let held = collector.receiver().try_start_request().unwrap();
    let response = post().await.unwrap();
    assert_eq!(response.status().as_u16(), 429);
    assert_eq!(response.headers()["retry-after"], "5");
    drop(held);
    assert_eq!(post().await.unwrap().status().as_u16(), 200);
    collector.shutdown().await.unwrap();
}
