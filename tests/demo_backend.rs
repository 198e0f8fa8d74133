//! The demo platform's destinations switched at run time (`Platform::set_backend`: healthy,
//! down, slow, refusing on the same ports while the services keep running), and the services
//! speaking HTTP/2 with prior knowledge (h2c) as well as HTTP/1.1.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use tracegate::demo::{Backend, Platform, PlatformOptions, SHARED_DESTINATION};
use tracegate::propagation::TraceId;

/// Longest wait for spans to reach a receiver.
const SPAN_WAIT: Duration = Duration::from_secs(10);

fn client() -> reqwest::Client {
    tracegate::propagation::export::tls::client_builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// POST a checkout; its status and the trace ID of `traceresponse`.
async fn checkout(http: &reqwest::Client, platform: &Platform, order: u64) -> (u16, TraceId) {
    let response = http
        .post(format!("{}/checkout/{order}", platform.ingress_url()))
        .header("x-tenant-id", "acme")
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    let trace_id = response
        .headers()
        .get("traceresponse")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split('-').nth(1))
        .and_then(TraceId::from_hex)
        .unwrap();
    (response.status().as_u16(), trace_id)
}

/// Wait until the shared destination holds a span of `ingress` in trace `id`.
async fn arrives(platform: &Platform, id: TraceId) -> bool {
    let store = platform.destination_store(SHARED_DESTINATION).unwrap();
    let deadline = Instant::now() + SPAN_WAIT;
    while Instant::now() < deadline {
        if store.get(id).is_some() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

fn destination_addr(platform: &Platform) -> String {
    let url = &platform.destinations()[0].traces_url;
    url.trim_start_matches("http://")
        .trim_end_matches("/v1/traces")
        .to_owned()
}

#[tokio::test]
async fn down_refuses_connections_and_restoring_healthy_makes_later_spans_arrive_again() {
    let platform = Platform::start(PlatformOptions::default()).await.unwrap();
    let http = client();
    let addr = destination_addr(&platform);
    let (status, before) = checkout(&http, &platform, 1).await;
    assert_eq!(status, 200);
    assert!(arrives(&platform, before).await);

    platform.set_backend(Backend::Down).await.unwrap();
    assert_eq!(platform.backend(), Backend::Down);
    assert!(platform.collectors().is_empty());
    let refused = tokio::net::TcpStream::connect(&addr).await.unwrap_err();
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
    let began = Instant::now();
    let (status, during) = checkout(&http, &platform, 3).await;
    assert_eq!(status, 200);
    assert!(
        began.elapsed() < Duration::from_secs(2),
        "{:?}",
        began.elapsed()
    );

    platform.set_backend(Backend::Healthy).await.unwrap();
    assert_eq!(platform.collectors().len(), 3);
    tokio::net::TcpStream::connect(&addr).await.unwrap();
    let (status, after) = checkout(&http, &platform, 5).await;
    assert_eq!(status, 200);
    assert!(
        arrives(&platform, after).await,
        "spans arrive again after the restore"
    );
    // what arrived before the outage is still there; the export config never changed
    let store = platform.destination_store(SHARED_DESTINATION).unwrap();
    assert!(store.get(before).is_some());
    assert!(platform
        .export_config(tracegate::demo::Service::Ingress)
        .unwrap()
        .contains(&addr));
    let _ = during;
    platform.shutdown().await;
}

#[tokio::test]
async fn slow_and_refusing_answer_on_the_same_port_and_a_platform_started_down_can_be_restored() {
    let platform = Platform::start(PlatformOptions {
        backend: Backend::Down,
        slow_backend_delay: Duration::from_millis(400),
        ..PlatformOptions::default()
    })
    .await
    .unwrap();
    let http = client();
    let traces_url = platform.destinations()[0].traces_url.clone();
    assert!(
        http.post(&traces_url).send().await.is_err(),
        "down: refused"
    );

    platform.set_backend(Backend::Refusing).await.unwrap();
    let first = http.post(&traces_url).send().await.unwrap();
    let second = http.post(&traces_url).send().await.unwrap();
    let mut statuses = [first.status().as_u16(), second.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [429, 503]);
    assert_eq!(first.headers()["retry-after"], "1");

    platform.set_backend(Backend::Slow).await.unwrap();
    let began = Instant::now();
    let answer = http.post(&traces_url).send().await.unwrap();
    assert_eq!(answer.status().as_u16(), 200);
    assert!(
        began.elapsed() >= Duration::from_millis(400),
        "{:?}",
        began.elapsed()
    );

    platform.set_backend(Backend::Healthy).await.unwrap();
    let (status, id) = checkout(&http, &platform, 7).await;
    assert_eq!(status, 200);
    assert!(arrives(&platform, id).await);
    platform.shutdown().await;
}

#[tokio::test]
async fn the_services_speak_http2_with_prior_knowledge_and_http1() {
    let platform = Platform::start(PlatformOptions::default()).await.unwrap();
    let h2c = tracegate::propagation::export::tls::client_builder()
        .http2_prior_knowledge()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let response = h2c
        .post(format!("{}/checkout/9", platform.ingress_url()))
        .header("x-tenant-id", "globex")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.version(), reqwest::Version::HTTP_2);
    assert_eq!(response.status().as_u16(), 200);
    let traceresponse = response.headers()["traceresponse"].to_str().unwrap();
    let id = TraceId::from_hex(traceresponse.split('-').nth(1).unwrap()).unwrap();
    assert!(arrives(&platform, id).await);

    let (status, _) = checkout(&client(), &platform, 10).await;
    assert_eq!(status, 200, "HTTP/1.1 still works");
    platform.shutdown().await;
}
