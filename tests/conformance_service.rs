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
        let mut child = Command::new(env!("CARGO_BIN_EXE_tracegate"))
            .args(["conformance-service", "--listen", "127.0.0.1:0"])
            .args(["--timeout-ms", "5000"])
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
    let mut request = format!(
        "POST /test HTTP/1.1\r\nHost: {service}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
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
    let head = response.split("\r\n\r\n").next().unwrap_or("").to_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {response:?}"));
    (status, head)
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
