//! End to end: the real `tracegate conformance-service` binary on 127.0.0.1, driven over raw
//! HTTP/1.1 (so header-name case, duplicated headers and whitespace reach it as written), with
//! a loopback harness server recording the calls it makes. Each test checks one rule of the
//! W3C trace-context test suite's service-under-test contract.
#![cfg(feature = "cli")]
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

const TIMEOUT: Duration = Duration::from_secs(10);
const TRACE: &str = "12345678901234567890123456789012";
const PARENT: &str = "1234567890123456";
const VALID: &str = "00-12345678901234567890123456789012-1234567890123456-01";

/// The running binary; killed (and reaped) when dropped, even if the test panics.
struct Service {
    child: Child,
    addr: SocketAddr,
}

impl Service {
    fn start() -> Self {
        Self::start_with(&["--timeout-ms", "5000"])
    }

    /// Started on a free loopback port with these extra arguments.
    fn start_with(extra: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tracegate"))
            .args(["conformance-service", "--listen", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let mut service = Service {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        let line = rx
            .recv_timeout(TIMEOUT)
            .expect("the service printed no address within the timeout");
        let addr = line
            .trim()
            .strip_prefix("conformance-service listening on http://")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
        service.addr = addr.parse().unwrap();
        assert_ne!(service.addr.port(), 0, "the bound port is printed, not 0");
        service
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One call the service made to the harness.
#[derive(Debug)]
struct Received {
    path: String,
    headers: HeaderMap,
    body: serde_json::Value,
}

impl Received {
    /// The single `traceparent` header, split into its four fields.
    fn traceparent(&self) -> [String; 4] {
        let all: Vec<_> = self.headers.get_all("traceparent").iter().collect();
        assert_eq!(all.len(), 1, "exactly one traceparent per call: {all:?}");
        let value = all[0].to_str().unwrap();
        let fields: Vec<String> = value.split('-').map(str::to_owned).collect();
        assert_eq!(fields.len(), 4, "{value}");
        assert_eq!(value.len(), 55, "{value}");
        assert!(
            value
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f' | b'-')),
            "lowercase hex: {value}"
        );
        assert_eq!(fields[0], "00", "always version 00 downstream");
        assert_ne!(fields[1], "0".repeat(32));
        assert_ne!(fields[2], "0".repeat(16));
        [
            fields[0].clone(),
            fields[1].clone(),
            fields[2].clone(),
            fields[3].clone(),
        ]
    }

    fn tracestate(&self) -> Option<String> {
        let all: Vec<_> = self.headers.get_all("tracestate").iter().collect();
        assert!(all.len() <= 1, "at most one tracestate per call: {all:?}");
        all.first().map(|v| v.to_str().unwrap().to_owned())
    }
}

type Log = Arc<Mutex<Vec<Received>>>;

/// A loopback server recording every request it receives, in order.
async fn harness() -> (SocketAddr, Log) {
    async fn record(
        State(log): State<Log>,
        uri: Uri,
        headers: HeaderMap,
        body: Bytes,
    ) -> StatusCode {
        let body = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
        log.lock().unwrap().push(Received {
            path: uri.path().to_owned(),
            headers,
            body,
        });
        StatusCode::OK
    }
    let log: Log = Arc::default();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().fallback(record).with_state(log.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, log)
}

/// POST `body` to the service over a raw HTTP/1.1 connection, headers written verbatim.
/// Returns the status code and the response head.
async fn post_raw(service: SocketAddr, headers: &[(&str, &str)], body: &str) -> (u16, String) {
    let (status, head, _) = post_full(service, Some("application/json"), headers, body).await;
    (status, head)
}

/// As [`post_raw`] with the given Content-Type (none when `None`); also returns the body. A
/// `Host` among `headers` replaces the default one.
async fn post_full(
    service: SocketAddr,
    content_type: Option<&str>,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, String) {
    let mut request = format!(
        "POST /test HTTP/1.1\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    // The service's own address, unless the test names another host.
    if !headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("host"))
    {
        request.push_str(&format!("Host: {service}\r\n"));
    }
    if let Some(content_type) = content_type {
        request.push_str(&format!("Content-Type: {content_type}\r\n"));
    }
    for (name, value) in headers {
        request.push_str(&format!("{name}:{value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    let mut stream = timeout(TIMEOUT, TcpStream::connect(service))
        .await
        .unwrap()
        .unwrap();
    timeout(TIMEOUT, stream.write_all(request.as_bytes()))
        .await
        .unwrap()
        .unwrap();
    let mut response = Vec::new();
    timeout(TIMEOUT, stream.read_to_end(&mut response))
        .await
        .expect("the service answered within the timeout")
        .unwrap();
    let response = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {response:?}"));
    (status, head.to_owned(), body.to_owned())
}

/// One test-suite request: the service is asked to call the harness `calls` times. Checks
/// the 200, that every call was made, in order, with its arguments, before the answer.
async fn run(service: &Service, headers: &[(&str, &str)], calls: usize) -> Vec<Received> {
    let (harness, log) = harness().await;
    let body = serde_json::Value::Array(
        (0..calls)
            .map(|i| serde_json::json!({"url": format!("http://{harness}/{i}"), "arguments": [i]}))
            .collect(),
    );
    let (status, head) = post_raw(service.addr, headers, &body.to_string()).await;
    assert_eq!(status, 200, "{head}");
    // Taken right after the 200: every call must already have been made.
    let received = std::mem::take(&mut *log.lock().unwrap());
    assert_eq!(received.len(), calls, "all calls made before answering");
    for (i, call) in received.iter().enumerate() {
        assert_eq!(call.path, format!("/{i}"), "calls made in order");
        assert_eq!(
            call.body,
            serde_json::json!([i]),
            "arguments posted as JSON"
        );
    }
    received
}

/// The service continued the incoming trace: same trace ID, new parent IDs.
fn assert_preserved(received: &[Received]) {
    let mut parents = std::collections::HashSet::new();
    for call in received {
        let [_, trace, parent, _] = call.traceparent();
        assert_eq!(trace, TRACE, "trace id preserved");
        assert_ne!(parent, PARENT, "a new parent-id, not the caller's");
        assert!(parents.insert(parent), "a new parent-id for every call");
    }
}

/// The service started a new trace (same new trace ID on all its calls) without tracestate.
fn assert_restarted(received: &[Received], rejected_trace: &str) {
    let mut traces = std::collections::HashSet::new();
    let mut parents = std::collections::HashSet::new();
    for call in received {
        let [_, trace, parent, flags] = call.traceparent();
        assert_ne!(trace, rejected_trace, "a new trace id");
        assert_eq!(flags, "03", "new traces are sampled with the random flag");
        assert_eq!(call.tracestate(), None, "tracestate dropped on restart");
        traces.insert(trace);
        assert!(parents.insert(parent));
    }
    assert_eq!(traces.len(), 1, "one trace for the whole request");
}

#[tokio::test]
async fn valid_traceparent_is_preserved_with_a_new_parent_per_call() {
    let service = Service::start();
    let received = run(&service, &[("traceparent", VALID)], 3).await;
    assert_preserved(&received);
    for call in &received {
        assert_eq!(call.traceparent()[3], "01", "sampled flag carried");
        assert_eq!(call.tracestate(), None, "no tracestate invented");
    }
}

#[tokio::test]
async fn absent_traceparent_starts_a_trace_with_distinct_parents() {
    let service = Service::start();
    let received = run(&service, &[], 3).await;
    assert_restarted(&received, TRACE);
    let none = run(&service, &[("tracestate", "foo=1")], 1).await;
    assert_restarted(&none, TRACE);
}

#[tokio::test]
async fn flags_are_carried_with_unknown_bits_zeroed() {
    let service = Service::start();
    for (incoming, outgoing) in [
        ("00", "00"),
        ("01", "01"),
        ("02", "02"),
        ("09", "01"),
        ("ff", "03"),
    ] {
        let header = format!("00-{TRACE}-{PARENT}-{incoming}");
        let received = run(&service, &[("traceparent", &header)], 1).await;
        assert_preserved(&received);
        assert_eq!(received[0].traceparent()[3], outgoing, "flags {incoming}");
    }
}

#[tokio::test]
async fn higher_versions_are_accepted_and_downgraded_to_00() {
    let service = Service::start();
    for header in [
        format!("cc-{TRACE}-{PARENT}-01"),
        format!("cc-{TRACE}-{PARENT}-01-what-the-future-will-be-like"),
        format!("fe-{TRACE}-{PARENT}-01-"),
    ] {
        let received = run(&service, &[("traceparent", &header)], 2).await;
        assert_preserved(&received);
        assert_eq!(received[0].traceparent()[0], "00", "{header}");
    }
}

#[tokio::test]
async fn invalid_traceparents_start_a_new_trace() {
    let service = Service::start();
    let cases: &[(&str, String)] = &[
        (
            "higher version with '.' after flags",
            format!("cc-{TRACE}-{PARENT}-01.what-the-future-will-be-like"),
        ),
        ("version ff", format!("ff-{TRACE}-{PARENT}-01")),
        (
            "version 00 with a trailing '.'",
            format!("00-{TRACE}-{PARENT}-01."),
        ),
        (
            "version 00 with a fifth field",
            format!("00-{TRACE}-{PARENT}-01-what-the-future-will-be-like"),
        ),
        (
            "uppercase trace id",
            format!("00-{}-{PARENT}-01", "ABCDEF78901234567890123456789012"),
        ),
        (
            "uppercase parent id",
            format!("00-{TRACE}-ABCDEF7890123456-01"),
        ),
        ("uppercase flags", format!("00-{TRACE}-{PARENT}-0A")),
        ("uppercase version", format!("0A-{TRACE}-{PARENT}-01")),
        (
            "all-zero trace id",
            format!("00-{}-{PARENT}-01", "0".repeat(32)),
        ),
        (
            "all-zero parent id",
            format!("00-{TRACE}-{}-01", "0".repeat(16)),
        ),
        ("version too long", format!("000-{TRACE}-{PARENT}-01")),
        ("version too short", format!("0-{TRACE}-{PARENT}-01")),
        ("trace id too long", format!("00-{TRACE}3-{PARENT}-01")),
        (
            "parent id too short",
            format!("00-{TRACE}-{}-01", &PARENT[1..]),
        ),
        ("flags too long", format!("00-{TRACE}-{PARENT}-001")),
        (
            "illegal character in flags",
            format!("00-{TRACE}-{PARENT}-.0"),
        ),
    ];
    for (why, header) in cases {
        let received = run(
            &service,
            &[("traceparent", header), ("tracestate", "foo=1")],
            2,
        )
        .await;
        for call in &received {
            assert_ne!(call.traceparent()[1], TRACE, "{why}: {header}");
        }
        assert_restarted(&received, TRACE);
    }
}

#[tokio::test]
async fn two_traceparent_headers_start_a_new_trace() {
    let service = Service::start();
    let other = format!("00-{}-{PARENT}-01", "12345678901234567890123456789011");
    let received = run(
        &service,
        &[("traceparent", &other), ("traceparent", VALID)],
        2,
    )
    .await;
    assert_restarted(&received, TRACE);
    for call in &received {
        assert_ne!(call.traceparent()[1], "12345678901234567890123456789011");
    }
}

#[tokio::test]
async fn header_names_are_case_insensitive_but_exact() {
    let service = Service::start();
    for name in ["TraceParent", "TrAcEpArEnT", "TRACEPARENT"] {
        let received = run(&service, &[(name, VALID), ("TraceState", "foo=1")], 1).await;
        assert_preserved(&received);
        assert_eq!(received[0].tracestate().as_deref(), Some("foo=1"), "{name}");
    }
    for name in ["trace-parent", "trace.parent", "trace_parent"] {
        let received = run(&service, &[(name, VALID)], 1).await;
        assert_restarted(&received, TRACE);
    }
    for name in ["trace-state", "trace.state"] {
        let received = run(&service, &[("traceparent", VALID), (name, "foo=1")], 1).await;
        assert_preserved(&received);
        assert_eq!(received[0].tracestate(), None, "{name} is not tracestate");
    }
}

#[tokio::test]
async fn surrounding_whitespace_is_trimmed() {
    let service = Service::start();
    for value in [
        format!(" {VALID}"),
        format!("\t{VALID}"),
        format!("{VALID} "),
        format!("{VALID}\t"),
        format!("\t {VALID} \t"),
    ] {
        let received = run(&service, &[("traceparent", &value)], 1).await;
        assert_preserved(&received);
    }
}

#[tokio::test]
async fn valid_tracestate_is_forwarded_joined_in_order() {
    let service = Service::start();
    let cases: &[(&[&str], &str)] = &[
        (&["foo=1,bar=2"], "foo=1,bar=2"),
        (
            &["foo=1,bar=2", "rojo=1,congo=2", "baz=3"],
            "foo=1,bar=2,rojo=1,congo=2,baz=3",
        ),
        (&["foo=1 \t , \t bar=2, \t baz=3"], "foo=1,bar=2,baz=3"),
        (&["foo=1", ""], "foo=1"),
        (&["", "foo=1"], "foo=1"),
        (&["t@v=1,0tenant@sys=2"], "t@v=1,0tenant@sys=2"),
        // Current key grammar: '@' is a keychar anywhere after the first character.
        (&["foo@=1,bar=2"], "foo@=1,bar=2"),
        (&["foo@bar@baz=1,bar=2"], "foo@bar@baz=1,bar=2"),
        // A duplicated key is not a reason to discard: the first entry is kept.
        (&["foo=1,foo=2"], "foo=1"),
        (&["foo=1", "foo=1"], "foo=1"),
    ];
    for (headers, expected) in cases {
        let mut sent = vec![("traceparent", VALID)];
        sent.extend(headers.iter().map(|h| ("tracestate", *h)));
        let received = run(&service, &sent, 2).await;
        assert_preserved(&received);
        for call in &received {
            assert_eq!(call.tracestate().as_deref(), Some(*expected), "{headers:?}");
        }
    }
    let thirty_two: Vec<String> = (1..=32).map(|i| format!("bar{i:02}={i:02}")).collect();
    let received = run(
        &service,
        &[
            ("traceparent", VALID),
            ("tracestate", &thirty_two.join(",")),
        ],
        1,
    )
    .await;
    assert_eq!(
        received[0].tracestate(),
        Some(thirty_two.join(",")),
        "32 members kept"
    );
    let thirty_three: Vec<String> = (1..=33).map(|i| format!("bar{i:02}={i:02}")).collect();
    let first_32 = thirty_three[..32].join(",");
    for headers in [
        vec![thirty_three.join(",")],
        vec![first_32.clone(), "bar33=33".to_owned()],
    ] {
        let mut sent = vec![("traceparent", VALID)];
        sent.extend(headers.iter().map(|h| ("tracestate", h.as_str())));
        let received = run(&service, &sent, 1).await;
        assert_eq!(
            received[0].tracestate().as_deref(),
            Some(first_32.as_str()),
            "33 members: the last entry removed ({headers:?})"
        );
    }
}

#[tokio::test]
async fn invalid_tracestate_is_dropped_but_the_trace_kept() {
    let service = Service::start();
    let cases: &[(&str, &[&str])] = &[
        ("uppercase key", &["FOO=1"]),
        ("space in key", &["foo =1"]),
        ("'.' in key", &["foo.bar=1"]),
        ("'=' in value", &["foo=bar=baz"]),
        ("empty value", &["foo=,bar=3"]),
        ("'@' first in key", &["@foo=1,bar=2"]),
        ("member without '='", &["foo=1,bar"]),
    ];
    for (why, headers) in cases {
        let mut sent = vec![("traceparent", VALID)];
        sent.extend(headers.iter().map(|h| ("tracestate", *h)));
        let received = run(&service, &sent, 1).await;
        assert_preserved(&received);
        assert_eq!(received[0].tracestate(), None, "{why}: {headers:?}");
    }
}

#[tokio::test]
async fn response_carries_the_trace_id() {
    let service = Service::start();
    let (harness, _log) = harness().await;
    let body = format!(r#"[{{"url": "http://{harness}/0", "arguments": []}}]"#);
    let (status, head) = post_raw(service.addr, &[("traceparent", VALID)], &body).await;
    assert_eq!(status, 200);
    let head = head.to_ascii_lowercase();
    assert!(
        head.contains(&format!("traceresponse: 00-{TRACE}-")),
        "{head}"
    );
    assert!(
        head.contains(&format!("server-timing: trace;desc=00-{TRACE}-")),
        "{head}"
    );
}

#[tokio::test]
async fn a_body_that_is_not_the_expected_json_array_is_a_400() {
    let service = Service::start();
    let (harness, log) = harness().await;
    for body in [
        "not json".to_owned(),
        "{}".to_owned(),
        format!(r#"{{"url": "http://{harness}/0", "arguments": []}}"#),
        "[1, 2]".to_owned(),
        r#"[{"arguments": []}]"#.to_owned(),
    ] {
        let (status, head) = post_raw(service.addr, &[("traceparent", VALID)], &body).await;
        assert_eq!(status, 400, "{body}: {head}");
    }
    assert!(
        log.lock().unwrap().is_empty(),
        "no call made for a bad body"
    );
    let (status, _) = post_raw(service.addr, &[], "[]").await;
    assert_eq!(
        status, 200,
        "an empty array is a valid request with no calls"
    );
}

/// SIGTERM (what Kubernetes and CI runners send) stops the service cleanly with exit 0.
#[cfg(unix)]
#[test]
fn sigterm_stops_the_service_with_exit_0() {
    let mut service = Service::start();
    let pid = service.child.id().to_string();
    let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(sent.success(), "kill -TERM {pid} failed");
    let deadline = std::time::Instant::now() + TIMEOUT;
    let status = loop {
        if let Some(status) = service.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the service did not stop within {TIMEOUT:?} of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(
        status.code(),
        Some(0),
        "SIGTERM ends the service with exit 0"
    );
}

/// A loopback server answering every request with `status` and `Location: location`.
async fn redirector(status: StatusCode, location: String) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().fallback(move || {
        let location = location.clone();
        async move { (status, [(axum::http::header::LOCATION, location)]) }
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// A loopback server that counts requests and answers each one only after `delay`.
async fn slow_server(delay: Duration) -> (SocketAddr, Arc<Mutex<usize>>) {
    let count: Arc<Mutex<usize>> = Arc::default();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let counter = count.clone();
    let app = axum::Router::new().fallback(move || {
        let counter = counter.clone();
        async move {
            *counter.lock().unwrap() += 1;
            tokio::time::sleep(delay).await;
            StatusCode::OK
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, count)
}

/// A browser page can POST `text/plain` or a form to 127.0.0.1 without a CORS preflight:
/// only `application/json` is accepted, so such a page cannot make the service send requests.
#[tokio::test]
async fn a_body_that_is_not_declared_json_is_a_415_and_makes_no_call() {
    let service = Service::start();
    let (harness, log) = harness().await;
    let body = format!(r#"[{{"url": "http://{harness}/0", "arguments": []}}]"#);
    for content_type in [
        Some("text/plain"),
        Some("text/plain;charset=UTF-8"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        Some("application/jsonx"),
        None,
    ] {
        let (status, head, answer) = post_full(service.addr, content_type, &[], &body).await;
        assert_eq!(status, 415, "{content_type:?}: {head}");
        assert!(
            answer.contains("application/json"),
            "{content_type:?}: the answer says what is accepted: {answer:?}"
        );
    }
    assert!(
        log.lock().unwrap().is_empty(),
        "no call made for a body not declared as JSON"
    );
    for content_type in ["application/json; charset=utf-8", "Application/JSON"] {
        let (status, head, _) = post_full(service.addr, Some(content_type), &[], &body).await;
        assert_eq!(status, 200, "{content_type}: {head}");
    }
    assert_eq!(log.lock().unwrap().len(), 2);
}

/// A redirect from the destination is that call's answer, reported; it is not followed (it
/// would send the body on to wherever the destination points, a remote host included).
#[tokio::test]
async fn redirects_from_a_destination_are_not_followed() {
    let service = Service::start();
    let (second, second_log) = harness().await;
    for redirect in [
        StatusCode::TEMPORARY_REDIRECT,
        StatusCode::PERMANENT_REDIRECT,
        StatusCode::FOUND,
        StatusCode::SEE_OTHER,
    ] {
        let first = redirector(redirect, format!("http://{second}/stolen")).await;
        let body = format!(r#"[{{"url": "http://{first}/0", "arguments": ["secret"]}}]"#);
        let (status, head, answer) =
            post_full(service.addr, Some("application/json"), &[], &body).await;
        assert_eq!(status, 502, "{redirect}: {head}");
        assert!(
            answer.contains(&redirect.as_u16().to_string()) && answer.contains("not followed"),
            "{redirect}: the answer names the destination's status: {answer:?}"
        );
    }
    assert!(
        second_log.lock().unwrap().is_empty(),
        "the redirect target was never called"
    );
}

/// The calls of one request share one deadline: many slow calls, each within the per-call
/// timeout, do not hold the request (and the suite) for their sum.
#[tokio::test]
async fn all_calls_of_a_request_share_one_deadline() {
    let service = Service::start_with(&["--timeout-ms", "5000", "--deadline-ms", "1000"]);
    let (slow, count) = slow_server(Duration::from_millis(400)).await;
    let calls: Vec<_> = (0..10)
        .map(|i| serde_json::json!({"url": format!("http://{slow}/{i}"), "arguments": [i]}))
        .collect();
    let body = serde_json::Value::Array(calls).to_string();
    let started = std::time::Instant::now();
    let (status, head, answer) =
        post_full(service.addr, Some("application/json"), &[], &body).await;
    assert_eq!(status, 504, "{head}");
    assert!(answer.contains("deadline"), "{answer:?}");
    assert!(
        started.elapsed() < Duration::from_millis(3500),
        "answered at the deadline, not after the ten calls (4 s): {:?}",
        started.elapsed()
    );
    assert!(
        *count.lock().unwrap() < 10,
        "the remaining calls were not made"
    );
}

/// A stalled destination (accepts, never answers) ends at the deadline too.
#[tokio::test]
async fn a_stalled_destination_is_cut_off_at_the_deadline() {
    let service = Service::start_with(&["--timeout-ms", "60000", "--deadline-ms", "500"]);
    let (stalled, count) = slow_server(Duration::from_secs(600)).await;
    let body = format!(r#"[{{"url": "http://{stalled}/0", "arguments": []}}]"#);
    let (status, head, _) = post_full(service.addr, Some("application/json"), &[], &body).await;
    assert_eq!(status, 504, "{head}");
    assert_eq!(*count.lock().unwrap(), 1);
}

/// Only loopback destinations are called unless `--allow-remote`; every URL of the request is
/// checked before the first call, so a refused one means no call at all.
#[tokio::test]
async fn non_loopback_destinations_are_refused_before_any_call() {
    let service = Service::start();
    let (harness, log) = harness().await;
    for remote in [
        "http://192.0.2.1/x",
        "http://10.0.0.1:8080/",
        "http://0.0.0.0:9/",
        "http://[2001:db8::1]/",
        "http://[::ffff:192.0.2.1]/",
        "ftp://127.0.0.1/",
        "not a url",
    ] {
        let body = format!(
            r#"[{{"url": "http://{harness}/0", "arguments": []}}, {{"url": "{remote}", "arguments": []}}]"#
        );
        let (status, head, answer) =
            post_full(service.addr, Some("application/json"), &[], &body).await;
        assert!(
            status == 403 || (status == 400 && !remote.starts_with("http://")),
            "{remote}: {head}"
        );
        assert!(!answer.is_empty(), "{remote}: the answer says why");
        if status == 403 {
            assert!(answer.contains("--allow-remote"), "{remote}: {answer:?}");
        }
    }
    assert!(log.lock().unwrap().is_empty(), "no call made");
}

/// `localhost` (resolved: every address loopback) and IPv6 `[::1]` are loopback destinations.
#[tokio::test]
async fn localhost_and_ipv6_loopback_destinations_are_called() {
    let service = Service::start();
    let (harness, log) = harness().await;
    let body = format!(
        r#"[{{"url": "http://localhost:{}/0", "arguments": [0]}}]"#,
        harness.port()
    );
    let (status, head) = post_raw(service.addr, &[], &body).await;
    assert_eq!(status, 200, "{head}");
    assert_eq!(log.lock().unwrap().len(), 1);
    // IPv6 may be disabled where the tests run; then only the refusal side is checked above.
    if let Ok(listener) = TcpListener::bind("[::1]:0").await {
        let addr = listener.local_addr().unwrap();
        let log6: Log = Arc::default();
        let recorded = log6.clone();
        let app = axum::Router::new().fallback(move || {
            let recorded = recorded.clone();
            async move {
                recorded.lock().unwrap().push(Received {
                    path: String::new(),
                    headers: HeaderMap::new(),
                    body: serde_json::Value::Null,
                });
                StatusCode::OK
            }
        });
        tokio::spawn(async move { axum::serve(listener, app).await });
        let body = format!(r#"[{{"url": "http://{addr}/0", "arguments": []}}]"#);
        let (status, head) = post_raw(service.addr, &[], &body).await;
        assert_eq!(status, 200, "{head}");
        assert_eq!(log6.lock().unwrap().len(), 1);
    }
}

/// `--allow-remote` lifts the destination check: the call is attempted (and here fails or
/// times out: 192.0.2.1 is a documentation address), it is not refused.
#[tokio::test]
async fn allow_remote_lets_non_loopback_destinations_through() {
    let service = Service::start_with(&["--timeout-ms", "300", "--allow-remote"]);
    let body = r#"[{"url": "http://192.0.2.1:9/", "arguments": []}]"#;
    let (status, head, _) = post_full(service.addr, Some("application/json"), &[], body).await;
    assert!(status == 502 || status == 504, "{head}");
}

/// Listening beyond loopback makes the service reachable from the network: refused with
/// exit 2 and one line naming the flag, unless `--allow-remote`.
#[test]
fn a_non_loopback_listen_address_needs_allow_remote() {
    for listen in ["0.0.0.0:0", "[::]:0", "192.0.2.1:5000"] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tracegate"))
            .args(["conformance-service", "--listen", listen])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Bounded: a service that starts serving instead of refusing is killed, and fails.
        let deadline = std::time::Instant::now() + TIMEOUT;
        while child.try_wait().unwrap().is_none() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{listen}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{listen}: {stderr}");
        assert!(
            stderr.contains(listen) && stderr.contains("--allow-remote"),
            "{listen}: {stderr}"
        );
        assert!(out.stdout.is_empty(), "{listen}: nothing served");
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_tracegate"))
        .args([
            "conformance-service",
            "--listen",
            "0.0.0.0:0",
            "--allow-remote",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    let _ = BufReader::new(stdout).read_line(&mut line);
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        line.starts_with("conformance-service listening on http://0.0.0.0:"),
        "{line:?}"
    );
    let help = Command::new(env!("CARGO_BIN_EXE_tracegate"))
        .args(["conformance-service", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.contains("--allow-remote")
            && help.contains("application/json")
            && help.contains("redirect"),
        "{help}"
    );
}

/// DNS rebinding: a page on another site whose name now resolves to 127.0.0.1 is "same
/// origin" for the browser and may send JSON; its Host header gives it away (421).
#[tokio::test]
async fn a_request_for_another_host_name_is_refused() {
    let service = Service::start();
    let (harness, log) = harness().await;
    let body = format!(r#"[{{"url": "http://{harness}/0", "arguments": []}}]"#);
    let port = service.addr.port();
    for host in [format!("evil.example:{port}"), format!("10.1.2.3:{port}")] {
        let (status, head, answer) = post_full(
            service.addr,
            Some("application/json"),
            &[("Host", &host)],
            &body,
        )
        .await;
        assert_eq!(status, 421, "{host}: {head}");
        assert!(answer.contains("Host"), "{answer:?}");
    }
    assert!(log.lock().unwrap().is_empty(), "no call made");
    let localhost = format!("localhost:{port}");
    let (status, head, _) = post_full(
        service.addr,
        Some("application/json"),
        &[("Host", &localhost)],
        &body,
    )
    .await;
    assert_eq!(status, 200, "{head}");
}
