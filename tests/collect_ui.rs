//! `collect`'s web UI end to end: the binary started on a free loopback port, real traces
//! posted over OTLP/HTTP, the pages fetched over HTTP (`GET /` with its filters,
//! `GET /traces/{id}`, the error pages), and `--ui false`.
#![allow(clippy::unwrap_used)]

#[path = "common/collector.rs"]
mod collector;

use collector::{Collect, IDS};

/// The trace IDs listed on a page, in order.
fn listed(page: &str) -> Vec<&str> {
    page.split("<tr data-trace-id=\"")
        .skip(1)
        .map(|rest| &rest[..32])
        .collect()
}

#[test]
fn the_ui_lists_filters_and_shows_what_arrived() {
    let collect = Collect::start(&[]);
    let ui_line = collect.startup.last().unwrap();
    assert_eq!(
        ui_line,
        &format!(
            "web UI: http://{}/  (recent traces; reload to refresh; --ui false turns it off)",
            collect.addr
        )
    );
    let empty = collect.get("/");
    assert_eq!(empty.status, 200);
    assert!(empty.body.contains("id=\"no-traces\""), "{}", empty.body);

    collect.post_fixtures();
    let all = collect.get("/");
    assert_eq!(all.status, 200);
    assert_eq!(all.header("content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(all.header("cache-control"), Some("no-store"));
    assert!(all
        .header("content-security-policy")
        .unwrap()
        .starts_with("default-src 'none'"));
    // newest first: the order they were posted, reversed
    let mut newest_first = IDS.to_vec();
    newest_first.reverse();
    assert_eq!(listed(&all.body), newest_first);
    assert!(all.body.contains("<option value=\"stock\">stock</option>"));
    assert!(all.body.contains("from upstream"), "{}", all.body);

    // stock is in every trace but the one where catalog did not propagate to stock's caller
    let stock = collect.get("/?service=stock");
    assert_eq!(stock.status, 200);
    assert_eq!(listed(&stock.body), [IDS[4], IDS[2], IDS[1], IDS[0]]);
    assert!(stock
        .body
        .contains("<option value=\"stock\" selected=\"selected\">"));
    // the retried pricing call failed once: the only trace with an error
    let failing = collect.get("/?problems=1");
    assert_eq!(listed(&failing.body), [IDS[1]]);
    let both = collect.get("/?service=catalog&problems=1&q=");
    assert_eq!(listed(&both.body), [IDS[1]]);
    // search by the beginning of an ID, any case, or the whole of it
    assert_eq!(listed(&collect.get("/?q=4BF9").body), [IDS[2]]);
    assert_eq!(
        listed(&collect.get(&format!("/?q={}", IDS[3])).body),
        [IDS[3]]
    );
    assert_eq!(listed(&collect.get("/?q=0000").body), Vec::<&str>::new());
    let bad = collect.get("/?q=not-hex");
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("id=\"request-error\""), "{}", bad.body);

    // one trace: the same view as `trace show --format html`, with a way back
    let page = collect.get(&format!("/traces/{}", IDS[1]));
    assert_eq!(page.status, 200);
    assert_eq!(page.body.matches("<details class=\"span").count(), 8);
    assert!(page.body.contains("id=\"legend\""));
    assert!(
        page.body.contains("<a href=\"&#x2f;\">← all traces</a>"),
        "{}",
        page.body
    );
    assert!(page.body.contains("1 error<") && page.body.contains("4 services"));
    let upper = collect.get(&format!("/traces/{}", IDS[1].to_ascii_uppercase()));
    assert_eq!(upper.status, 200);
    let upstream = collect.get(&format!("/traces/{}", IDS[2]));
    assert!(upstream
        .body
        .contains("is upstream (an incoming traceparent)"));

    let malformed = collect.get("/traces/zzz");
    assert_eq!(malformed.status, 400);
    assert!(
        malformed.body.contains("is not a trace ID"),
        "{}",
        malformed.body
    );
    let unknown = collect.get("/traces/0123456789abcdef0123456789abcdef");
    assert_eq!(unknown.status, 404);
    assert!(unknown.body.contains("Trace not found"), "{}", unknown.body);
    assert_eq!(
        unknown.header("content-type"),
        Some("text/html; charset=utf-8")
    );

    // only GET; the query API and OTLP are unchanged beside the UI
    assert_eq!(
        collect
            .request("POST", "/", Some(("text/plain", b"x")))
            .status,
        405
    );
    let api = collect.get("/api/traces?limit=2");
    assert_eq!(api.status, 200);
    assert!(api.body.starts_with("{\"traces\":["), "{}", api.body);
}

#[test]
fn ui_false_serves_otlp_only() {
    let collect = Collect::start(&["--ui", "false"]);
    assert!(
        !collect.startup.iter().any(|l| l.contains("web UI")),
        "{:?}",
        collect.startup
    );
    collect.post_fixtures();
    assert_eq!(collect.get("/").status, 404);
    assert_eq!(collect.get(&format!("/traces/{}", IDS[0])).status, 404);
    assert_eq!(collect.get(&format!("/api/traces/{}", IDS[0])).status, 200);
}

/// The pages obey the receiver's query limits: no slot, 503; a trace over
/// `max_query_spans`, 413 (and listed undecoded). In process, through the router.
#[tokio::test]
async fn ui_pages_stay_within_the_query_limits() {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;
    use tracegate::otlp::{http::app_with_ui, sample, Limits, Receiver};

    let limits = Limits {
        max_concurrent_queries: 1,
        max_query_spans: 2,
        ..Limits::default()
    };
    let rx = Receiver::new(std::sync::Arc::new(limits.store()), limits);
    // a trace of 3 spans: over the 2 a page may decode
    rx.store.ingest(sample::batch(1, 3, 3)).unwrap();
    let id = rx.store.recent_ids(1)[0].to_hex();
    let app = app_with_ui(std::sync::Arc::clone(&rx));
    let get = |path: String| {
        let app = app.clone();
        async move {
            let response = app
                .oneshot(Request::get(path).body(Body::empty()).unwrap())
                .await
                .unwrap();
            let status = response.status();
            let body = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .unwrap();
            (status, String::from_utf8(body.to_vec()).unwrap())
        }
    };
    let (status, body) = get(format!("/traces/{id}")).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(body.contains("has 3 spans"), "{body}");
    let (status, body) = get("/".to_owned()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains(&format!("<tr data-trace-id=\"{id}\"")),
        "{body}"
    );

    let held = rx.try_start_query().unwrap();
    for path in ["/".to_owned(), format!("/traces/{id}")] {
        let (status, body) = get(path).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(body.contains("Too many trace queries at once"), "{body}");
    }
    drop(held);
    assert_eq!(get("/".to_owned()).await.0, StatusCode::OK);
}

/// A trace page holds every span's details: past `PAGE_MAX_SPANS` it is refused (413) even
/// when `--max-query-spans` would allow the query API to answer.
#[tokio::test]
async fn a_trace_too_large_for_one_page_gets_413() {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;
    use tracegate::otlp::ui::PAGE_MAX_SPANS;
    use tracegate::otlp::{http::app_with_ui, sample, Limits, Receiver};

    let limits = Limits::default();
    assert!(limits.max_query_spans > PAGE_MAX_SPANS);
    let rx = Receiver::new(std::sync::Arc::new(limits.store()), limits);
    let n = PAGE_MAX_SPANS + 1;
    rx.store.ingest(sample::batch(2, n, n)).unwrap();
    let id = rx.store.recent_ids(1)[0].to_hex();
    let app = app_with_ui(rx);
    let status = |path: String| {
        let app = app.clone();
        async move {
            app.oneshot(Request::get(path).body(Body::empty()).unwrap())
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(
        status(format!("/traces/{id}")).await,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    assert_eq!(status(format!("/api/traces/{id}")).await, StatusCode::OK);
}

/// A page on another site that rebinds its own name to 127.0.0.1 gets nothing: every route
/// (pages, query API, OTLP) answers 403 to a Host that is not a loopback name, unless the
/// operator allowed that name; loopback names keep working.
#[test]
fn a_rebound_host_name_is_refused_on_loopback() {
    let collect = Collect::start(&["--allowed-host", "Traces.Test"]);
    collect.post_fixtures();
    let port = collect.addr.rsplit(':').next().unwrap().to_owned();
    let rebound = format!("attacker.example:{port}");
    for path in [
        "/",
        &format!("/traces/{}", IDS[1]),
        "/api/traces",
        "/api/stats",
    ] {
        let answer = collect.request_to(&rebound, "GET", path, None);
        assert_eq!(answer.status, 403, "{path}: {}", answer.body);
        assert!(
            answer.body.contains("\"attacker.example:") && answer.body.contains("--allowed-host"),
            "{}",
            answer.body
        );
        assert!(!answer.body.contains(IDS[1]), "{path} leaked a trace ID");
    }
    let post = collect.request_to(
        &rebound,
        "POST",
        "/v1/traces",
        Some(("application/json", b"{}")),
    );
    assert_eq!(post.status, 403, "{}", post.body);
    for host in [
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
        format!("traces.test:{port}"),
    ] {
        let answer = collect.request_to(&host, "GET", "/api/stats", None);
        assert_eq!(answer.status, 200, "{host}: {}", answer.body);
    }
    let page = collect.request_to(&format!("localhost:{port}"), "GET", "/", None);
    assert_eq!(page.status, 200);
    assert!(page.body.contains(IDS[1]));
}
