//! `tracegate collect` and `tracegate trace show|list`, end to end through the binary.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use assert_cmd::cargo::CommandCargoExt;
use serde_json::Value;

const FIXTURE_ID: &str = "0af7651916cd43dd8448eb211c80319c";

fn tracegate() -> Command {
    Command::cargo_bin("tracegate").unwrap()
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/fixtures/backends/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// Run and return (exit code, stdout, stderr).
fn run(args: &[&str]) -> (i32, String, String) {
    let out = tracegate().args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// The spans of `trace show --format json`, reduced to what every backend must agree on.
fn shape(json: &str) -> Vec<(String, Option<String>, String, String, String, String)> {
    let v: Value = serde_json::from_str(json).unwrap();
    let mut spans: Vec<_> = v["spans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["span_id"].as_str().unwrap().to_owned(),
                s["parent_span_id"].as_str().map(str::to_owned),
                s["service"].as_str().unwrap().to_owned(),
                s["name"].as_str().unwrap().to_owned(),
                s["kind"].as_str().unwrap().to_owned(),
                s["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    spans.sort();
    spans
}

#[test]
fn collect_prints_each_trace_persists_it_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let mut child = tracegate()
        .args([
            "collect",
            "--otlp-http",
            "127.0.0.1:0",
            "--otlp-grpc",
            "127.0.0.1:0",
        ])
        .args(["--quiet-ms", "200", "--store"])
        .arg(&store)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let next = || rx.recv_timeout(Duration::from_secs(20)).unwrap();
    let mut http = None;
    let mut grpc = None;
    while http.is_none() || grpc.is_none() {
        let line = next();
        if let Some(rest) = line.strip_prefix("OTLP/HTTP listening on ") {
            http = Some(rest.split_whitespace().next().unwrap().to_owned());
        }
        if let Some(rest) = line.strip_prefix("OTLP/gRPC listening on ") {
            grpc = Some(rest.trim().to_owned());
        }
    }
    let (http, grpc) = (http.unwrap(), grpc.unwrap());

    // the Jaeger fixture's OTLP JSON over HTTP, and a second trace over gRPC
    let jaeger: Value = serde_json::from_slice(&fixture("jaeger-v3-trace.json")).unwrap();
    let body = serde_json::to_vec(&jaeger["result"]).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let status = tracegate::propagation::export::tls::client_builder()
            .build()
            .unwrap()
            .post(format!("{http}/v1/traces"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 200);
        use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
        let mut client = TraceServiceClient::connect(format!("http://{grpc}")).await.unwrap();
        client
            .export(tracegate::otlp::sample::batch(5, 3, 3))
            .await
            .unwrap();
    });
    let mut printed = Vec::new();
    while printed.len() < 2 {
        let line = next();
        if line.starts_with("trace ") {
            printed.push(line);
        }
    }
    let fixture_line = printed.iter().find(|l| l.contains(FIXTURE_ID)).unwrap();
    assert!(
        fixture_line.contains("ingress GET /invoices/{id}  3 spans  42.00ms  ERROR"),
        "{fixture_line}"
    );

    // the query API of the running collector answers `trace list --from`
    let (code, out, err) = run(&["trace", "list", "--from", &http, "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let listed: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(listed["traces"].as_array().unwrap().len(), 2);
    let (code, from_receiver, _) = run(&[
        "trace", "show", FIXTURE_ID, "--from", &http, "--format", "json",
    ]);
    assert_eq!(code, 0);

    let status = Command::new("sh")
        .args(["-c", &format!("kill -TERM {}", child.id())])
        .status()
        .unwrap();
    assert!(status.success());
    let mut exit = None;
    for _ in 0..200 {
        if let Some(s) = child.try_wait().unwrap() {
            exit = Some(s);
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let exit = exit.unwrap_or_else(|| {
        let _ = child.kill();
        panic!("collect did not stop on SIGTERM")
    });
    assert_eq!(exit.code(), Some(0));

    // after collect exited, the persisted store still answers
    let store = store.to_str().unwrap();
    let (code, from_store, err) = run(&[
        "trace", "show", FIXTURE_ID, "--store", store, "--format", "json",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(shape(&from_store), shape(&from_receiver));
    let shape = shape(&from_store);
    assert_eq!(shape.len(), 3);
    assert_eq!(
        shape[0],
        (
            "00f067aa0ba902b7".into(),
            Some("b7ad6b7169203331".into()),
            "ingress".into(),
            "POST".into(),
            "client".into(),
            "unset".into()
        )
    );
    let (code, out, _) = run(&["trace", "list", "--store", store]);
    assert_eq!(code, 0);
    assert!(
        out.contains(FIXTURE_ID) && out.contains("TRACE ID"),
        "{out}"
    );
}

/// Replays the recorded backend answers at the backends' paths.
fn replay_server() -> String {
    use axum::routing::get;
    let tempo = fixture("tempo-trace.json");
    let jaeger = fixture("jaeger-v3-trace.json");
    let app = axum::Router::new()
        .route(
            &format!("/api/traces/{FIXTURE_ID}"),
            get(move || async move { ([("content-type", "application/json")], tempo) }),
        )
        .route(
            &format!("/api/v3/traces/{FIXTURE_ID}"),
            get(move || async move { ([("content-type", "application/json")], jaeger) }),
        );
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    format!(
        "http://{}",
        rx.recv_timeout(Duration::from_secs(10)).unwrap()
    )
}

#[test]
fn tempo_and_jaeger_answers_give_the_same_trace() {
    let base = replay_server();
    let (code, tempo, err) = run(&[
        "trace",
        "show",
        FIXTURE_ID,
        "--from",
        &base,
        "--backend",
        "tempo",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, jaeger, err) = run(&[
        "trace",
        "show",
        FIXTURE_ID,
        "--from",
        &base,
        "--backend",
        "jaeger",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(shape(&tempo), shape(&jaeger));
    let v: Value = serde_json::from_str(&tempo).unwrap();
    assert_eq!(v["problems"].as_array().unwrap().len(), 0);
    assert_eq!(
        v["spans"][2]["attributes"]["http.response.status_code"],
        502
    );
    // unknown trace: exit 2 and a message naming it
    let (code, _, err) = run(&[
        "trace",
        "show",
        "11111111111111111111111111111111",
        "--from",
        &base,
        "--backend",
        "jaeger",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("not found"), "{err}");
}

#[test]
fn show_renders_every_format_from_a_file_and_rejects_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let input = format!(
        "{}/fixtures/backends/tempo-trace.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let (code, tree, _) = run(&["trace", "show", FIXTURE_ID, "--input", &input]);
    assert_eq!(code, 0);
    assert!(
        tree.contains("POST /bill") && tree.contains("ERROR upstream timeout"),
        "{tree}"
    );
    let (_, dot, _) = run(&[
        "trace", "show", FIXTURE_ID, "--input", &input, "--format", "dot",
    ]);
    assert!(dot.contains("\"ingress\" -> \"billing\""), "{dot}");
    let (_, mermaid, _) = run(&[
        "trace", "show", FIXTURE_ID, "--input", &input, "--format", "mermaid",
    ]);
    assert!(mermaid.starts_with("flowchart LR"));
    let page = dir.path().join("trace.html");
    let (code, out, _) = run(&[
        "trace",
        "show",
        FIXTURE_ID,
        "--input",
        &input,
        "--format",
        "html",
        "-o",
        page.to_str().unwrap(),
    ]);
    assert_eq!((code, out.as_str()), (0, ""));
    assert!(std::fs::read_to_string(&page)
        .unwrap()
        .contains("id=\"waterfall\""));

    // the file holds one trace: no ID needed
    let (code, without_id, err) = run(&["trace", "show", "--input", &input]);
    assert_eq!((code, without_id.as_str()), (0, tree.as_str()), "{err}");
    // two traces in one file: name one
    let merged = dir.path().join("two.json");
    let mut two: Value = serde_json::from_slice(&fixture("tempo-trace.json")).unwrap();
    let other: Value = serde_json::from_slice(
        &std::fs::read(format!(
            "{}/tests/peers/pyplatform/captured/all-instrumented.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap(),
    )
    .unwrap();
    let key = if two.get("batches").is_some() {
        "batches"
    } else {
        "resourceSpans"
    };
    for rs in other["resourceSpans"].as_array().unwrap() {
        two[key].as_array_mut().unwrap().push(rs.clone());
    }
    std::fs::write(&merged, serde_json::to_vec(&two).unwrap()).unwrap();
    let merged = merged.to_str().unwrap();
    let (code, out, err) = run(&["trace", "show", "--input", merged]);
    assert_eq!((code, out.as_str()), (2, ""));
    assert!(
        err.contains("holds 2 traces; name one")
            && err.contains(FIXTURE_ID)
            && err.contains("36749bbcbfb100a3a99cd41323b12882"),
        "{err}"
    );
    let (code, _, _) = run(&[
        "trace",
        "show",
        "36749bbcbfb100a3a99cd41323b12882",
        "--input",
        merged,
    ]);
    assert_eq!(code, 0);
    // without --input the ID is required (a usage error)
    let (code, _, err) = run(&["trace", "show"]);
    assert_eq!(code, 2);
    assert!(err.contains("TRACE_ID"), "{err}");

    let (code, _, err) = run(&["trace", "show", "not-an-id", "--input", &input]);
    assert_eq!(code, 2);
    assert!(err.contains("invalid trace ID"), "{err}");
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"resourceSpans\": [").unwrap();
    let (code, _, err) = run(&[
        "trace",
        "show",
        FIXTURE_ID,
        "--input",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("bad.json") && err.contains("invalid JSON"),
        "{err}"
    );
    let (code, _, err) = run(&[
        "trace",
        "show",
        FIXTURE_ID,
        "--store",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("traces.log"), "{err}");
}

#[test]
fn flags_that_would_be_ignored_or_meaningless_are_usage_errors() {
    let input = format!(
        "{}/fixtures/backends/tempo-trace.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let cases: [(&[&str], &str); 5] = [
        (
            &["--skew-tolerance-ms", "NaN"],
            "not a number of milliseconds",
        ),
        (&["--skew-tolerance-ms=-1"], "not a number of milliseconds"),
        (
            &["--skew-tolerance-ms", "inf"],
            "not a number of milliseconds",
        ),
        (&["--backend", "tempo"], "cannot be used with"),
        (&["--store", "/nonexistent"], "cannot be used with"),
    ];
    for (extra, needle) in cases {
        let mut args = vec!["trace", "show", FIXTURE_ID, "--input", &input];
        args.extend_from_slice(extra);
        let (code, _, stderr) = run(&args);
        assert_eq!(code, 2, "{extra:?}: {stderr}");
        assert!(stderr.contains(needle), "{extra:?}: {stderr}");
    }
    let (code, _, stderr) = run(&["trace", "list", "--timeout-ms", "0"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--timeout-ms"), "{stderr}");
    let (code, _, stderr) = run(&["trace", "list", "--store", "/x", "--backend", "jaeger"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("cannot be used with"), "{stderr}");
    let (code, out, stderr) = run(&[
        "trace",
        "show",
        FIXTURE_ID,
        "--input",
        &input,
        "--skew-tolerance-ms",
        "2.5",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        out.contains(&format!("trace {FIXTURE_ID}  3 spans")),
        "{out}"
    );
}

/// The trace ID of [`hostile_request`].
const HOSTILE_ID: &str = "0badc0de0badc0de0badc0de0badc0de";
/// A span name that would print a fake, healthy trace line if written raw.
const FORGED_LINE: &str = "a\nFAKE trace 00000000000000000000000000000001  ok 1 span";

/// One trace whose received strings carry a newline, ESC/OSC/CSI sequences, a C1 control, a
/// bidi override and markup; `café 日本` must come out unchanged.
fn hostile_request() -> opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest
{
    use opentelemetry_proto::tonic::trace::v1::Status;
    use tracegate::otlp::sample::{self, span};
    let mut id = [0u8; 16];
    for (i, byte) in id.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&HOSTILE_ID[2 * i..2 * i + 2], 16).unwrap();
    }
    let mut root = span(id, 1, 0, FORGED_LINE, 0, 10);
    root.status = Some(Status {
        code: 2,
        message: "boom\x1b[2J\ndone".to_owned(),
    });
    let child = span(
        id,
        2,
        1,
        "\x1b]0;pwned\x07café 日本\u{202e}gnp.exe\u{9b}1m",
        1,
        5,
    );
    let script = span(id, 3, 1, "<script>alert(1)</script>\r", 2, 4);
    let mut request = sample::request("evil\x1b[31m\nsvc", vec![root, child, script]);
    // an orphan, so the problem list has an entry too
    let orphan = span(id, 4, 99, "orphan\x1b]8;;http://x\x07", 3, 4);
    request
        .resource_spans
        .extend(sample::request("mailer\u{2066}", vec![orphan]).resource_spans);
    request
}

/// No control character but the line breaks of the output itself, no bidi control, and no
/// line that is the forged one.
fn assert_not_forged(what: &str, out: &str) {
    for (n, line) in out.lines().enumerate() {
        let bad: Vec<char> = line
            .chars()
            .filter(|&c| {
                c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
            })
            .collect();
        assert!(
            bad.is_empty(),
            "{what}, line {}: raw {bad:?} in {line:?}",
            n + 1
        );
        assert!(!line.starts_with("FAKE"), "{what}: a forged line: {out}");
    }
}

#[test]
fn received_strings_are_escaped_in_every_trace_show_format() {
    use prost::Message;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("hostile.pb");
    std::fs::write(&input, hostile_request().encode_to_vec()).unwrap();
    let input = input.to_str().unwrap();
    let show = |format: &str| {
        let (code, out, err) = run(&[
            "trace", "show", HOSTILE_ID, "--input", input, "--format", format,
        ]);
        assert_eq!(code, 0, "{format}: {err}");
        out
    };
    let tree = show("tree");
    assert_not_forged("tree", &tree);
    for escaped in [
        "a\\nFAKE trace",
        "evil\\x1b[31m\\nsvc",
        "\\x1b]0;pwned\\x07café 日本\\u{202e}gnp.exe\\u{9b}1m",
        "boom\\x1b[2J\\ndone",
        "<script>alert(1)</script>\\r",
    ] {
        assert!(tree.contains(escaped), "tree shows {escaped:?}: {tree}");
    }
    for format in ["dot", "mermaid"] {
        assert_not_forged(format, &show(format));
    }
    let html = show("html");
    assert_not_forged("html", &html);
    assert!(
        !html.contains("<script>"),
        "markup from a span name: {html}"
    );
    assert!(html.contains("&lt;script&gt;alert(1)&lt;"), "{html}");
    assert!(html.contains("café 日本"), "ordinary text kept");
    // JSON keeps the strings exact (serde escapes them).
    let json: Value = serde_json::from_str(&show("json")).unwrap();
    let names: Vec<&str> = json["spans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&FORGED_LINE), "{names:?}");
}

#[test]
fn collect_lines_and_trace_list_escape_received_strings() {
    use prost::Message;
    let mut child = tracegate()
        .args([
            "collect",
            "--otlp-http",
            "127.0.0.1:0",
            "--no-grpc",
            "--quiet-ms",
            "100",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let next = || rx.recv_timeout(Duration::from_secs(20)).unwrap();
    let http = loop {
        let line = next();
        if let Some(rest) = line.strip_prefix("OTLP/HTTP listening on ") {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let status = rt.block_on(async {
        tracegate::propagation::export::tls::client_builder()
            .build()
            .unwrap()
            .post(format!("{http}/v1/traces"))
            .header("content-type", "application/x-protobuf")
            .body(hostile_request().encode_to_vec())
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(status, 200);
    // Everything printed up to the next line after the trace's own.
    let mut printed = String::new();
    loop {
        let line = next();
        printed.push_str(&line);
        printed.push('\n');
        if line.contains(HOSTILE_ID) {
            break;
        }
        assert!(!line.starts_with("FAKE"), "a forged line: {printed}");
    }
    let (code, list, err) = run(&["trace", "list", "--from", &http]);
    let _ = child.kill();
    let _ = child.wait();
    while let Ok(line) = rx.try_recv() {
        printed.push_str(&line);
        printed.push('\n');
    }
    assert_not_forged("collect", &printed);
    assert!(
        printed.contains("evil\\x1b[31m\\nsvc a\\nFAKE trace"),
        "{printed}"
    );
    assert_eq!(code, 0, "{err}");
    assert_not_forged("trace list", &list);
    assert!(list.contains("evil\\x1b[31m\\nsvc"), "{list}");
}

/// A backend's error answer is received text too: shown escaped on stderr.
#[test]
fn a_backend_error_body_is_escaped_on_stderr() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        // one request per command below, bounded
        for stream in listener.incoming().take(2) {
            let mut stream = stream.unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let body = "boom\x1b]0;pwned\x07\nFAKE trace 00000000000000000000000000000001 ok";
            let _ = write!(
                stream,
                "HTTP/1.1 500 Internal Server Error\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    let from = format!("http://{addr}");
    for args in [
        vec!["trace", "show", FIXTURE_ID, "--from", &from],
        vec!["trace", "list", "--from", &from],
    ] {
        let (code, _, err) = run(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert_not_forged("stderr", &err);
        assert!(
            err.contains("boom\\x1b]0;pwned\\x07\\nFAKE"),
            "{args:?}: {err}"
        );
    }
}

/// The tree on a terminal: fitted to COLUMNS and coloured with `--color always` (the failed
/// status red); into a file, neither, whatever COLUMNS says.
#[test]
fn show_tree_follows_color_and_columns() {
    let input = format!(
        "{}/tests/peers/pyplatform/captured/flaky-pricing-retried.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let show = |color: &str, extra: &[&str]| {
        let out = tracegate()
            .args(["trace", "show", "--input", &input, "--color", color])
            .args(extra)
            .env("COLUMNS", "80")
            .env_remove("NO_COLOR")
            .env_remove("CLICOLOR_FORCE")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        String::from_utf8(out.stdout).unwrap()
    };
    let plain = show("never", &[]);
    assert!(!plain.contains('\u{1b}'));
    for line in plain.lines() {
        assert!(line.chars().count() <= 80, "{line:?}");
    }
    let coloured = show("always", &[]);
    assert!(
        coloured.contains("\u{1b}[1m\u{1b}[31mERROR\u{1b}[0m"),
        "{coloured}"
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tree.txt");
    assert!(show("auto", &["-o", file.to_str().unwrap()]).is_empty());
    let written = std::fs::read_to_string(&file).unwrap();
    assert!(!written.contains('\u{1b}'));
    // the unwrapped tree's 24-column bar, not the terminal's
    assert!(
        written.lines().any(|l| l.matches('█').count() == 24),
        "{written}"
    );
}
