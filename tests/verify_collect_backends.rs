//! `verify`'s collection from backends' query APIs on 127.0.0.1: Jaeger and Tempo shapes,
//! credentials, and misbehaving backends (garbage, 5xx, hanging, busy).
#![allow(clippy::unwrap_used)]

#[path = "verify_collect_support/mod.rs"]
mod support;

use support::*;

#[tokio::test]
async fn a_backend_answering_garbage_is_a_one_line_error() {
    let url = serve(Router::new().route(
        "/api/traces/{id}",
        get(|| async { "<html>\n<body>gateway</body>\n</html>" }),
    ))
    .await;
    let err = run(
        &backend_at(url.clone(), Vec::new()),
        &[id(1)],
        &options(2_000),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains(&url), "{err}");
    assert!(err.contains("invalid JSON"), "{err}");
    assert!(!err.contains('\n'), "{err}");
}

#[tokio::test]
async fn a_backend_failing_with_5xx_repeatedly_is_an_error() {
    let url = serve(Router::new().route(
        "/api/traces/{id}",
        get(|| async { (StatusCode::SERVICE_UNAVAILABLE, "upstream\nunavailable") }),
    ))
    .await;
    let began = Instant::now();
    let err = run(&backend_at(url, Vec::new()), &[id(1)], &options(10_000))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("503"), "{err}");
    assert!(err.contains("times in a row"), "{err}");
    assert!(
        err.contains("upstream\\nunavailable"),
        "escaped, not cut: {err}"
    );
    assert!(!err.contains('\n'), "{err}");
    assert!(
        began.elapsed() < Duration::from_secs(5),
        "{:?}",
        began.elapsed()
    );
}

#[tokio::test]
async fn a_hanging_backend_is_bounded_by_the_timeout() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // accepts, reads nothing, answers nothing
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            open.push(stream);
        }
    });
    let began = Instant::now();
    let err = run(
        &backend_at(format!("http://{addr}"), Vec::new()),
        &[id(1)],
        &options(700),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        began.elapsed() < Duration::from_secs(3),
        "{:?}",
        began.elapsed()
    );
    assert!(err.contains("no answer within 700 ms"), "{err}");
    held.abort();
}

#[tokio::test]
async fn credentials_are_sent_and_never_appear_in_errors_or_debug_output() {
    let received: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen = Arc::clone(&received);
    let url = serve(Router::new().route(
        "/api/traces/{id}",
        get(move |headers: HeaderMap| {
            let seen = Arc::clone(&seen);
            async move {
                let auth = headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                let ok = auth == "Bearer right-s3cr3t";
                seen.lock().unwrap().push(auth);
                if ok {
                    StatusCode::NOT_FOUND
                } else {
                    StatusCode::UNAUTHORIZED
                }
            }
        }),
    ))
    .await;
    let header = |token: &str| vec![("authorization".to_owned(), format!("Bearer {token}"))];
    let right = backend_at(url.clone(), header("right-s3cr3t"));
    let collected = run(&right, &[id(1)], &options(300)).await.unwrap();
    assert!(collected.incomplete.contains_key(&id(1)));
    assert!(received
        .lock()
        .unwrap()
        .iter()
        .all(|a| a == "Bearer right-s3cr3t"));

    let wrong = backend_at(url, header("wrong-s3cr3t"));
    let err = run(&wrong, &[id(1)], &options(300)).await.unwrap_err();
    let message = err.to_string();
    assert!(message.contains("401"), "{message}");
    for shown in [message, format!("{err:?}"), format!("{wrong:?}")] {
        assert!(!shown.contains("s3cr3t"), "{shown}");
    }
}

/// Serve `body` (JSON) at `route` as a `backend` would, collect trace `trace` (expecting
/// `ingress`) from it, and check it came back complete.
async fn read_one_trace(
    backend: Backend,
    route: &str,
    body: String,
    trace: TraceId,
) -> tracegate::verify::Collected {
    let url = serve(Router::new().route(
        route,
        get(move || {
            let body = body.clone();
            async move { ([("content-type", "application/json")], body) }
        }),
    ))
    .await;
    let source = SpanSource::Backend {
        url,
        backend,
        headers: Vec::new(),
    };
    let options = CollectOptions {
        expected_services: vec!["ingress".to_owned()],
        ..options(2_000)
    };
    let collected = run(&source, &[trace], &options).await.unwrap();
    assert!(
        collected.incomplete.is_empty(),
        "{:?}",
        collected.incomplete
    );
    collected
}

#[tokio::test]
async fn a_jaeger_backend_is_read_at_its_own_path_and_shape() {
    let hex = "07".repeat(16);
    let body = serde_json::json!({"result": {"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "ingress"}}]},
        "scopeSpans": [{"spans": [{
            "traceId": hex, "spanId": "0000000000000701", "name": "POST /checkout",
            "kind": "SPAN_KIND_SERVER",
            "startTimeUnixNano": now_ns().to_string(), "endTimeUnixNano": (now_ns() + 1).to_string()
        }]}]
    }]}})
    .to_string();
    let collected = read_one_trace(Backend::Jaeger, "/api/v3/traces/{id}", body, id(7)).await;
    assert_eq!(collected.traces[&id(7)].spans[0].service_label(), "ingress");
    assert!(!collected.can_list, "Jaeger is asked by trace ID only");
}

/// A trace of one `ingress` span, as OTLP JSON.
fn one_span_trace(hex: &str) -> String {
    serde_json::json!({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "ingress"}}]},
        "scopeSpans": [{"spans": [{
            "traceId": hex, "spanId": "0000000000000701", "name": "POST /checkout", "kind": 2,
            "startTimeUnixNano": now_ns().to_string(), "endTimeUnixNano": (now_ns() + 1).to_string()
        }]}]
    }]})
    .to_string()
}

#[tokio::test]
async fn a_busy_backend_answering_503_beyond_two_queries_at_once_is_asked_again_more_slowly() {
    let in_flight = Arc::new(AtomicUsize::new(0));
    let busy_answers = Arc::new(AtomicUsize::new(0));
    let (flight, busy) = (Arc::clone(&in_flight), Arc::clone(&busy_answers));
    let url = serve(Router::new().route(
        "/api/traces/{id}",
        get(
            move |axum::extract::Path(hex): axum::extract::Path<String>| {
                let (flight, busy) = (Arc::clone(&flight), Arc::clone(&busy));
                async move {
                    let now = flight.fetch_add(1, Ordering::SeqCst) + 1;
                    let answer = if now > 2 {
                        busy.fetch_add(1, Ordering::SeqCst);
                        (
                            StatusCode::SERVICE_UNAVAILABLE,
                            "too many trace queries at once".to_owned(),
                        )
                    } else {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        (StatusCode::OK, one_span_trace(&hex))
                    };
                    flight.fetch_sub(1, Ordering::SeqCst);
                    answer
                }
            },
        ),
    ))
    .await;
    let ids: Vec<TraceId> = (1..=40).map(id).collect();
    let options = CollectOptions {
        expected_services: vec!["ingress".to_owned()],
        quiet: Duration::ZERO,
        request_timeout: tracegate::verify::collect::DEFAULT_REQUEST_TIMEOUT,
        ..options(20_000)
    };
    let collected = run(&backend_at(url, Vec::new()), &ids, &options)
        .await
        .unwrap();
    assert!(
        busy_answers.load(Ordering::SeqCst) > 0,
        "the backend was busy at first"
    );
    assert!(
        collected.incomplete.is_empty(),
        "{:?}",
        collected.incomplete
    );
    assert_eq!(collected.traces.len(), 40);
}

#[tokio::test]
async fn a_tempo_backend_answering_batches_with_base64_ids_is_read() {
    // Tempo's jsonpb: base64 IDs, enum names, "batches"
    let body = serde_json::json!({"batches": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "ingress"}}]},
        "scopeSpans": [{"spans": [{
            "traceId": "BgYGBgYGBgYGBgYGBgYGBg==", "spanId": "AAAAAAAABgE=", "name": "POST /checkout",
            "kind": "SPAN_KIND_SERVER",
            "startTimeUnixNano": now_ns().to_string(), "endTimeUnixNano": (now_ns() + 1).to_string()
        }]}]
    }]})
    .to_string();
    let collected = read_one_trace(Backend::Tempo, "/api/traces/{id}", body, id(6)).await;
    assert_eq!(
        collected.traces[&id(6)].spans[0].kind,
        tracegate::trace::SpanKind::Server
    );
    assert!(!collected.can_list, "Tempo is asked by trace ID only");
}
