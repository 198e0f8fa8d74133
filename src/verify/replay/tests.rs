//! Replay against real servers on 127.0.0.1: a strict server of ours (HTTP/1.1-only and
//! HTTP/1.1+h2c), the demo platform, and peers that are not HTTP servers.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::{extract::State, http::HeaderMap, response::IntoResponse, routing::any, Router};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

use super::*;
use crate::propagation::extract;
use crate::verify::model::ReturnedId;

/// What the test server saw of one request.
#[derive(Clone, Debug)]
struct Seen {
    path: String,
    version: http::Version,
    traceparent: Vec<String>,
    authorization: Option<String>,
    cookie: Option<String>,
    tenant: Option<String>,
    body: String,
}

type Log = Arc<Mutex<Vec<Seen>>>;

static CHUNK: [u8; 64 * 1024] = [b'x'; 64 * 1024];

/// A body that never ends.
struct Endless;

impl http_body::Body for Endless {
    type Data = Bytes;
    type Error = std::io::Error;
    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        Poll::Ready(Some(Ok(http_body::Frame::data(Bytes::from_static(&CHUNK)))))
    }
}

/// A strict service: generate-or-preserve with our parser, `traceresponse` and `server-timing`
/// on the answer; `/fail/{n}` answers 500 for odd n; `/endless` streams a body forever.
fn app(log: Log) -> Router {
    async fn handle(
        State(log): State<Log>,
        uri: http::Uri,
        version: http::Version,
        headers: HeaderMap,
        body: String,
    ) -> axum::response::Response {
        let text = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        log.lock().expect("log").push(Seen {
            path: uri
                .path_and_query()
                .map(|p| p.to_string())
                .unwrap_or_default(),
            version,
            traceparent: headers
                .get_all("traceparent")
                .iter()
                .filter_map(|v| v.to_str().ok().map(str::to_owned))
                .collect(),
            authorization: text("authorization"),
            cookie: text("cookie"),
            tenant: text("x-tenant-id"),
            body,
        });
        let context = extract(&headers).context;
        let mut out = HeaderMap::new();
        context.set_response_headers(&mut out);
        if uri.path() == "/endless" {
            return (out, axum::body::Body::new(Endless)).into_response();
        }
        let failed = uri
            .path()
            .strip_prefix("/fail/")
            .and_then(|n| n.parse::<u64>().ok())
            .is_some_and(|n| n % 2 == 1);
        let status = if failed {
            http::StatusCode::INTERNAL_SERVER_ERROR
        } else {
            http::StatusCode::OK
        };
        (status, out, "ok").into_response()
    }
    Router::new().fallback(any(handle)).with_state(log)
}

/// Serve [`app`] on 127.0.0.1: HTTP/1.1 only, or HTTP/1.1 and h2c.
async fn server(http2: bool) -> (String, Log) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let log: Log = Arc::default();
    let service = TowerToHyperService::new(app(Arc::clone(&log)));
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let io = TokioIo::new(stream);
            let service = service.clone();
            tokio::spawn(async move {
                if http2 {
                    let builder =
                        hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                    let _ = builder.serve_connection(io, service).await;
                } else {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(io, service)
                        .await;
                }
            });
        }
    });
    (url, log)
}

fn scenario(path: &str, repeat: u32, concurrency: u32) -> Scenario {
    let text = format!(
        "requests:\n  - name: r\n    method: POST\n    path: {path}\n    tenant: acme\n    \
         headers: {{content-type: application/json}}\n    body: '{{\"sku\": \"A1\"}}'\n    \
         repeat: {repeat}\n    concurrency: {concurrency}\nexpect:\n  root: ingress\n  services: [ingress]\n"
    );
    crate::verify::scenario::parse(&text, "test.yaml").expect("scenario")
}

fn options(target: &str, matrix: bool, phase: Phase) -> ReplayOptions {
    ReplayOptions {
        target: target.to_owned(),
        matrix,
        first_number: 1,
        phase,
        request_timeout: Duration::from_secs(5),
    }
}

fn no_progress(_: usize, _: usize) {}

/// The matrix's rules, as AC-001 judges them, hold for every exchange.
fn assert_generate_or_preserve(exchanges: &[Exchange]) {
    for e in exchanges {
        let returned: &ReturnedId = e
            .returned
            .as_ref()
            .unwrap_or_else(|| panic!("no ID: {e:?}"));
        match e.sent_trace_id {
            Some(sent) => assert_eq!(returned.trace_id, sent, "{:?} not preserved", e.incoming),
            None => {
                let embedded = matrix::embedded_trace_ids(&e.sent_traceparent);
                assert!(
                    !embedded.contains(&returned.trace_id.to_hex()),
                    "{:?}: the invalid context was kept",
                    e.incoming
                );
            }
        }
    }
}

#[tokio::test]
async fn the_matrix_goes_over_both_versions_and_two_headers_arrive_as_two() {
    let (url, log) = server(true).await;
    let http2 = probe_http2(&url).await;
    assert_eq!(http2, Http2Support::Yes);
    assert!(
        log.lock().expect("log").is_empty(),
        "the h2c probe reached the application"
    );

    let scenario = scenario("/checkout/{n}", 3, 2);
    let calls = Mutex::new(Vec::new());
    let progress = |done: usize, total: usize| calls.lock().expect("calls").push((done, total));
    let opts = options(&url, true, Phase::Healthy);
    let c = canaries();
    let exchanges = replay(&scenario, &opts, &http2, &c, &progress)
        .await
        .expect("replay");

    let total = planned_requests(&scenario, &opts, &http2);
    assert_eq!(total, 9 * 2 + 3);
    assert_eq!(exchanges.len(), total);
    let numbers: Vec<u64> = exchanges.iter().map(|e| e.number).collect();
    assert_eq!(numbers, (1..=total as u64).collect::<Vec<_>>());
    let calls = calls.into_inner().expect("calls");
    assert_eq!(calls.len(), total);
    assert_eq!(calls.last(), Some(&(total, total)));

    assert!(exchanges
        .iter()
        .all(|e| e.status == Some(200) && e.error.is_none()));
    assert_generate_or_preserve(&exchanges);
    for version in [HttpVersion::Http1, HttpVersion::Http2] {
        for case in IncomingCase::ALL {
            let n = exchanges
                .iter()
                .filter(|e| e.http_version == version && e.incoming == case)
                .count();
            let expected = if case == IncomingCase::Absent && version == HttpVersion::Http1 {
                1 + 3
            } else {
                1
            };
            assert_eq!(n, expected, "{version:?} {case:?}");
        }
    }

    let seen = log.lock().expect("log").clone();
    assert_eq!(seen.len(), total);
    let two: Vec<&Seen> = seen.iter().filter(|s| s.traceparent.len() == 2).collect();
    assert_eq!(two.len(), 2, "two-headers once per version: {seen:?}");
    let versions: Vec<http::Version> = two.iter().map(|s| s.version).collect();
    assert!(
        versions.contains(&http::Version::HTTP_11) && versions.contains(&http::Version::HTTP_2)
    );
    assert!(seen.iter().all(|s| s.tenant.as_deref() == Some("acme")));
}

#[tokio::test]
async fn the_repeats_of_the_healthy_phase_carry_the_canaries_and_the_fault_phase_none() {
    let (url, log) = server(false).await;
    let scenario = scenario("/checkout/{n}", 4, 4);
    let c = canaries();
    let healthy = replay(
        &scenario,
        &options(&url, false, Phase::Healthy),
        &Http2Support::NotTried,
        &c,
        &no_progress,
    )
    .await
    .expect("healthy");
    assert!(healthy
        .iter()
        .all(|e| e.canaries && e.phase == Phase::Healthy));
    let mut fault_options = options(&url, false, Phase::Fault);
    fault_options.first_number = 5;
    let fault = replay(
        &scenario,
        &fault_options,
        &Http2Support::NotTried,
        &c,
        &no_progress,
    )
    .await
    .expect("fault");
    assert!(fault.iter().all(|e| !e.canaries && e.phase == Phase::Fault));
    assert_eq!(
        fault.iter().map(|e| e.number).collect::<Vec<_>>(),
        [5, 6, 7, 8]
    );

    let seen = log.lock().expect("log").clone();
    let (with, without): (Vec<&Seen>, Vec<&Seen>) =
        seen.iter().partition(|s| s.authorization.is_some());
    assert_eq!(with.len(), 4);
    assert_eq!(without.len(), 4);
    for s in with {
        assert_eq!(
            s.authorization.as_deref(),
            Some(format!("Bearer {}", c.bearer_token).as_str())
        );
        assert_eq!(
            s.cookie.as_deref(),
            Some(format!("session={}", c.cookie).as_str())
        );
        assert!(
            s.path.contains(&c.email) && s.path.contains(&c.query_value),
            "{}",
            s.path
        );
        for value in [&c.card_number, &c.email, &c.password] {
            assert!(s.body.contains(value.as_str()), "{} lacks {value}", s.body);
        }
    }
    for s in without {
        assert!(s.cookie.is_none() && !s.body.contains(&c.card_number) && !s.path.contains('?'));
    }
}

#[tokio::test]
async fn an_http1_only_target_is_probed_no_and_replayed_over_http1() {
    let (url, log) = server(false).await;
    let Http2Support::No(reason) = probe_http2(&url).await else {
        panic!("an HTTP/1.1-only server does not speak HTTP/2")
    };
    assert!(reason.contains("h2c not spoken"), "{reason}");
    let http2 = Http2Support::No(reason);
    let scenario = scenario("/checkout/{n}", 1, 1);
    let exchanges = replay(
        &scenario,
        &options(&url, true, Phase::Healthy),
        &http2,
        &canaries(),
        &no_progress,
    )
    .await
    .expect("replay");
    assert_eq!(exchanges.len(), 10);
    assert!(exchanges
        .iter()
        .all(|e| e.http_version == HttpVersion::Http1 && e.succeeded()));
    assert_generate_or_preserve(&exchanges);
    assert!(log
        .lock()
        .expect("log")
        .iter()
        .all(|s| s.version == http::Version::HTTP_11));
}

#[tokio::test]
async fn a_target_that_fails_some_requests_has_them_recorded() {
    let (url, _log) = server(false).await;
    // request 1 (even numbers succeed) is the preflight; 2..=6 follow
    let mut opts = options(&url, false, Phase::Healthy);
    opts.first_number = 2;
    let exchanges = replay(
        &scenario("/fail/{n}", 6, 3),
        &opts,
        &Http2Support::NotTried,
        &canaries(),
        &no_progress,
    )
    .await
    .expect("answers, even 500, are exchanges");
    let statuses: Vec<Option<u16>> = exchanges.iter().map(|e| e.status).collect();
    assert_eq!(
        statuses,
        [
            Some(200),
            Some(500),
            Some(200),
            Some(500),
            Some(200),
            Some(500)
        ]
    );
    assert_eq!(exchanges.iter().filter(|e| e.succeeded()).count(), 3);
}

#[tokio::test]
async fn an_endless_body_is_cut_at_the_cap_not_waited_for() {
    let (url, _log) = server(false).await;
    let mut opts = options(&url, false, Phase::Fault);
    opts.request_timeout = Duration::from_secs(20);
    let started = Instant::now();
    let exchanges = replay(
        &scenario("/endless", 1, 1),
        &opts,
        &Http2Support::NotTried,
        &canaries(),
        &no_progress,
    )
    .await
    .expect("replay");
    assert_eq!(exchanges[0].status, Some(200));
    assert_eq!(
        exchanges[0].error, None,
        "the body was read to the cap, then dropped"
    );
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[tokio::test]
async fn an_unreachable_target_is_one_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    drop(listener);
    let err = replay(
        &scenario("/", 5, 1),
        &options(&url, true, Phase::Healthy),
        &Http2Support::NotTried,
        &canaries(),
        &no_progress,
    )
    .await
    .expect_err("nothing listens");
    assert_eq!(
        err.to_string(),
        format!("cannot reach {url}: Connection refused")
    );
    assert!(matches!(probe_http2(&url).await, Http2Support::No(_)));
}

#[tokio::test]
async fn a_non_http_peer_is_an_error_not_a_hang() {
    // (what the peer does after accepting, words of the error)
    for (greeting, silent) in [(Some(&b"SSH-2.0-OpenSSH_9.6\r\n"[..]), false), (None, true)] {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                if let Some(bytes) = greeting {
                    let _ = stream.write_all(bytes).await;
                }
                // keep the connection open, saying nothing more
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    drop(stream);
                });
            }
        });
        let mut opts = options(&url, true, Phase::Healthy);
        opts.request_timeout = Duration::from_secs(1);
        let started = Instant::now();
        let err = replay(
            &scenario("/", 50, 1),
            &opts,
            &Http2Support::NotTried,
            &canaries(),
            &no_progress,
        )
        .await
        .expect_err("not an HTTP server");
        let text = err.to_string();
        assert!(text.starts_with(&format!("cannot reach {url}: ")), "{text}");
        assert!(!text.contains('\n'), "{text}");
        if silent {
            assert!(text.contains("timed out"), "{text}");
        } else {
            assert!(text.contains("no valid HTTP answer"), "{text}");
        }
        assert!(started.elapsed() < Duration::from_secs(5), "{text}");
        assert!(matches!(probe_http2(&url).await, Http2Support::No(_)));
    }
}

#[tokio::test]
async fn a_bad_target_is_an_error() {
    let err = replay(
        &scenario("/", 1, 1),
        &options("ftp://x", false, Phase::Healthy),
        &Http2Support::NotTried,
        &canaries(),
        &no_progress,
    )
    .await
    .expect_err("ftp");
    assert!(err.to_string().contains("scheme"), "{err}");
}

#[tokio::test]
async fn the_demo_platform_answers_the_matrix_as_a_strict_ingress_must() {
    use crate::demo::{Platform, PlatformOptions};
    let platform = Platform::start(PlatformOptions::default())
        .await
        .expect("demo");
    let url = platform.ingress_url();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/scenarios");
    let mut scenario =
        crate::verify::scenario::parse_file(&dir.join("demo.yaml")).expect("demo.yaml");
    for spec in &mut scenario.requests {
        spec.repeat = 2;
    }
    let http2 = probe_http2(&url).await;
    let exchanges = replay(
        &scenario,
        &options(&url, true, Phase::Healthy),
        &http2,
        &canaries(),
        &no_progress,
    )
    .await
    .expect("replay");
    assert_eq!(
        exchanges.len(),
        planned_requests(&scenario, &options(&url, true, Phase::Healthy), &http2)
    );
    assert!(exchanges.iter().all(|e| e.succeeded()), "{exchanges:?}");
    assert_generate_or_preserve(&exchanges);
    let ids: std::collections::BTreeSet<_> = exchanges
        .iter()
        .filter_map(|e| e.returned.as_ref().map(|r| r.trace_id))
        .collect();
    assert_eq!(ids.len(), exchanges.len(), "every request its own trace");
    platform.shutdown().await;
}
