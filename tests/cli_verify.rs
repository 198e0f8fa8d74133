//! `tracegate verify` and `tracegate demo` end to end: exit codes, formats, the demo's verdicts,
//! and `verify` black-box against `demo --keep-running` in another process.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

fn tracegate() -> Command {
    Command::cargo_bin("tracegate").unwrap()
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn demo_scenario() -> PathBuf {
    repo().join("fixtures/scenarios/demo.yaml")
}

/// Run and parse standard output as JSON, with the exit code.
fn json(cmd: &mut Command) -> (i32, Value) {
    let out = cmd.timeout(Duration::from_secs(120)).output().unwrap();
    let code = out.status.code().unwrap_or(-1);
    let value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "exit {code}: not JSON ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (code, value)
}

fn criterion<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["criteria"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("{id} missing from {report}"))
}

fn verdicts(report: &Value) -> Vec<(String, String)> {
    report["criteria"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_owned(),
                c["verdict"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// A port nothing listens on (bound, then released).
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

// ---- bad input: exit 2, one line ----

#[test]
fn a_scenario_with_an_unknown_key_exits_2_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("scenario.yaml");
    std::fs::write(
        &file,
        "target: http://127.0.0.1:1\nrequests:\n  - name: a\n    path: /\n    repaet: 3\nexpect: {root: ingress, services: [ingress]}\n",
    )
    .unwrap();
    let out = tracegate()
        .args(["verify", "--from", "http://127.0.0.1:1", "--scenario"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("{}:5", file.display())),
        "file:line expected: {stderr}"
    );
    assert!(stderr.contains("repaet"), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn a_missing_scenario_file_exits_2() {
    tracegate()
        .args(["verify", "--from", "http://127.0.0.1:1"])
        .args(["--scenario", "/nonexistent/scenario.yaml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("/nonexistent/scenario.yaml"));
}

#[test]
fn an_unreachable_target_exits_2_before_any_verdict() {
    let target = format!("http://127.0.0.1:{}", closed_port());
    let out = tracegate()
        .args([
            "verify",
            "--target",
            &target,
            "--from",
            "http://127.0.0.1:1",
        ])
        .arg("--scenario")
        .arg(demo_scenario())
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&target), "{stderr}");
    assert!(stderr.contains("not reachable"), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    assert!(
        out.stdout.is_empty(),
        "no report for a run that could not run"
    );
}

#[test]
fn a_target_that_does_not_speak_http_exits_2() {
    // accepts connections and answers garbage
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let target = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        use std::io::Write;
        for mut stream in listener.incoming().take(8).flatten() {
            let _ = stream.write_all(b"SSH-2.0-OpenSSH_9.6\r\n\0\0\0garbage");
        }
    });
    let out = tracegate()
        .args([
            "verify",
            "--target",
            &target,
            "--from",
            "http://127.0.0.1:1",
        ])
        .args(["--request-timeout", "3s", "--scenario"])
        .arg(demo_scenario())
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains(&target));
}

/// An HTTP server that answers every request `200` with a body that is no trace.
fn garbage_server() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for mut stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                let mut request = [0u8; 4096];
                let _ = stream.read(&mut request);
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 9\r\nconnection: close\r\n\r\n{garbage]",
                );
            });
        }
    });
    url
}

#[test]
fn request_timeout_bounds_each_backend_query() {
    // before: a backend that never answers was waited on for 10 s per query whatever
    // --request-timeout said (the help promises it bounds each backend query)
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let from = format!("http://{}", silent.local_addr().unwrap());
    let held = std::thread::spawn(move || {
        // accept and hold connections open without answering
        let mut open = Vec::new();
        for stream in silent.incoming().flatten().take(8) {
            open.push(stream);
        }
    });
    let target = garbage_server();
    let out = tracegate()
        .args(["verify", "--target", &target, "--from", &from])
        .args(["--request-timeout", "1s", "--scenario"])
        .arg(demo_scenario())
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    drop(held);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no answer within 1000 ms"), "{stderr}");
}

#[test]
fn a_backend_answering_garbage_exits_2_naming_it() {
    // the target answers (without trace headers); the backend answers 200 with no trace
    let target = garbage_server();
    let backend = garbage_server();
    let out = tracegate()
        .args(["verify", "--target", &target, "--from", &backend])
        .args(["--timeout", "5s", "--quiet", "200ms", "--scenario"])
        .arg(demo_scenario())
        .timeout(Duration::from_secs(90))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&backend), "the backend is named: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
}

#[test]
fn an_unreachable_span_source_exits_2_before_the_scenario_is_replayed() {
    // before: every request of the scenario was replayed (minutes against staging), then the
    // run ended on "cannot reach" anyway
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let target = format!("http://{}", listener.local_addr().unwrap());
    let requests = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = std::sync::Arc::clone(&requests);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut buffer = [0u8; 4096];
            let _ = std::io::Read::read(&mut stream, &mut buffer);
            let _ = std::io::Write::write_all(
                &mut stream,
                b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            );
        }
    });
    let from = format!("http://127.0.0.1:{}", closed_port());
    let out = tracegate()
        .args(["verify", "--target", &target, "--from", &from])
        .arg("--scenario")
        .arg(demo_scenario())
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&from), "{stderr}");
    // the preflight request only: the demo scenario has 60 requests
    let sent = requests.load(std::sync::atomic::Ordering::SeqCst);
    assert!(sent <= 1, "{sent} connections reached the target");
}

#[test]
fn credentials_in_a_backend_url_are_refused_without_being_printed() {
    for args in [
        ["--from", "https://reader:s3cr3t@tempo.example.com"],
        [
            "--destination",
            "acme=https://reader:s3cr3t@tempo.example.com",
        ],
    ] {
        let out = tracegate()
            .args(["verify", "--target", "http://127.0.0.1:1"])
            .args(if args[0] == "--from" {
                vec![]
            } else {
                vec!["--from", "http://127.0.0.1:1"]
            })
            .args(args)
            .arg("--scenario")
            .arg(demo_scenario())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("--backend-credentials"), "{stderr}");
        assert!(
            !stderr.contains("s3cr3t"),
            "the secret was printed: {stderr}"
        );
    }
}

#[test]
fn flags_are_validated_with_exit_2() {
    for args in [
        vec!["--only", "AC-009"],
        vec!["--timeout", "soon"],
        vec!["--destination", "acme"],
        vec!["--fault-start", "true"],
        vec!["--backend", "zipkin"],
    ] {
        tracegate()
            .args(["verify", "--from", "http://127.0.0.1:1", "--scenario"])
            .arg(demo_scenario())
            .args(&args)
            .assert()
            .code(2);
    }
    // where spans come from is required
    tracegate()
        .arg("verify")
        .arg("--scenario")
        .arg(demo_scenario())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--from"));
    tracegate()
        .args(["demo", "--break", "pricing=on-fire"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("on-fire"));
}

// ---- help ----

#[test]
fn help_shows_examples_for_verify_demo_and_the_scenario_schema() {
    tracegate()
        .args(["verify", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Examples:"))
        .stdout(predicate::str::contains("--receive 0.0.0.0:4318"))
        .stdout(predicate::str::contains("--fault-start"))
        .stdout(predicate::str::contains("Exit codes"));
    tracegate()
        .args(["demo", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("--break pricing=no-propagation"))
        .stdout(predicate::str::contains("--keep-running"));
    tracegate()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("tracegate demo"))
        .stdout(predicate::str::contains("tracegate verify --scenario"));
    // every example command is copyable: on one line, or continued with `\` on lines
    // indented under it, never wrapped by clap (100 columns)
    for sub in [&["--help"][..], &["verify", "--help"], &["demo", "--help"]] {
        let out = tracegate().args(sub).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let lines: Vec<&str> = text.lines().collect();
        for pair in lines.windows(2) {
            if pair[0].starts_with("  tracegate ") {
                let continued = pair[0].ends_with('\\');
                assert!(
                    pair[1].starts_with("      ")
                        || (!continued && pair[1].is_empty())
                        || (!continued && pair[1].starts_with("  tracegate ")),
                    "{sub:?}: example wrapped:\n{}\n{}",
                    pair[0],
                    pair[1]
                );
            }
        }
    }
    let out = tracegate()
        .args(["config", "schema", "--scenario"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let schema: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(schema["properties"]["requests"].is_object(), "{schema}");
    assert!(schema["properties"]["expect"].is_object(), "{schema}");
}

// ---- the demo (needs replay, collect and the criteria: passes once they are merged) ----

#[test]
fn demo_passes_all_seven_criteria_and_prints_the_table() {
    let out = tracegate()
        .arg("demo")
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for id in [
        "AC-001", "AC-002", "AC-003", "AC-004", "AC-005", "AC-006", "AC-007",
    ] {
        let row = stdout
            .lines()
            .find(|l| l.contains(id))
            .unwrap_or_else(|| panic!("{id} missing: {stdout}"));
        assert!(row.contains("PASS"), "{id} did not pass: {row}");
    }
    assert!(
        stdout.contains("PASSED: 7 passed, 0 failed, 0 skipped"),
        "{stdout}"
    );
    assert!(stdout.contains("Service graph"), "{stdout}");
    assert!(stdout.contains("orchestration ─▶ pricing"), "{stdout}");
}

#[test]
fn demo_with_pricing_not_propagating_fails_ac002_naming_the_hop() {
    let (code, report) = json(tracegate().args([
        "demo",
        "--break",
        "pricing=no-propagation",
        "--backend",
        "healthy",
        "--format",
        "json",
    ]));
    assert_eq!(code, 1, "{report}");
    let ac002 = criterion(&report, "AC-002");
    assert_eq!(ac002["verdict"], "fail", "{ac002}");
    let text = ac002.to_string();
    assert!(
        text.contains("orchestration") && text.contains("pricing"),
        "AC-002 must name the hop: {ac002}"
    );
}

#[test]
fn demo_json_follows_the_contract() {
    let (code, report) = json(tracegate().args(["demo", "--format", "json"]));
    assert_eq!(code, 0, "{report}");
    assert!(report["target"]
        .as_str()
        .unwrap()
        .starts_with("http://127.0.0.1:"));
    assert!(report["requests"].as_u64().unwrap() > 0);
    let ids: Vec<String> = verdicts(&report).into_iter().map(|(id, _)| id).collect();
    assert_eq!(
        ids,
        ["AC-001", "AC-002", "AC-003", "AC-004", "AC-005", "AC-006", "AC-007"]
    );
    for c in report["criteria"].as_array().unwrap() {
        assert!(["pass", "fail", "skip"].contains(&c["verdict"].as_str().unwrap()));
        assert!(c["summary"].is_string());
        for e in c["evidence"].as_array().unwrap() {
            assert!(
                e.get("trace_id").is_some() && e["detail"].is_string(),
                "{e}"
            );
        }
    }
    let services: Vec<&str> = report["services_seen"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    for service in [
        "ingress",
        "auth",
        "orchestration",
        "pricing",
        "payment-gateway",
        "webhook-dispatcher",
    ] {
        assert!(
            services.contains(&service),
            "{service} not seen: {services:?}"
        );
    }
}

#[test]
fn demo_only_judges_the_criteria_asked_for_and_writes_artifacts() {
    let dir = tempfile::tempdir().unwrap();
    let (code, report) = json(
        tracegate()
            .args(["demo", "--backend", "healthy", "--format", "json"])
            .args(["--only", "AC-002", "--only", "ac-006", "--artifacts"])
            .arg(dir.path()),
    );
    assert_eq!(code, 0, "{report}");
    assert_eq!(
        verdicts(&report),
        [
            ("AC-002".to_owned(), "pass".to_owned()),
            ("AC-006".to_owned(), "pass".to_owned())
        ]
    );
    for file in [
        "service-graph.svg",
        "service-graph.dot",
        "service-graph.mmd",
        "report.json",
    ] {
        assert!(dir.path().join(file).is_file(), "{file} not written");
    }
    let pages = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("trace-"))
        .count();
    assert!(pages >= 1, "no HTML waterfall written");
}

// ---- black box: verify against `demo --keep-running` in another process ----

/// A child process killed when the test ends, whatever happens.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What `demo --keep-running` printed about where things are.
struct DemoUrls {
    ingress: String,
    /// (destination name, collect API URL)
    collect: Vec<(String, String)>,
}

/// Start `demo --keep-running` and read its standard error until the URLs are printed.
fn keep_running_demo() -> (Running, DemoUrls) {
    keep_running_demo_with(&[])
}

/// The same, with more flags.
fn keep_running_demo_with(extra: &[&str]) -> (Running, DemoUrls) {
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("tracegate"))
        .args([
            "demo",
            "--keep-running",
            "--backend",
            "healthy",
            "--format",
            "json",
        ])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut running = Running(child);
    let stderr = running.0.stderr.take().unwrap();
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut urls = DemoUrls {
        ingress: String::new(),
        collect: Vec::new(),
    };
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        let line = match received.recv_timeout(Duration::from_millis(200)) {
            Ok(line) => line,
            Err(mpsc::RecvTimeoutError::Timeout) => continue,
            // standard error closed: the demo exited
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        };
        seen.push(line.clone());
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("ingress:") {
            urls.ingress = rest.trim().to_owned();
        } else if let Some(rest) = line.strip_prefix("collect API (") {
            let (name, rest) = rest.split_once("):").unwrap();
            let url = rest.split_whitespace().next().unwrap();
            urls.collect.push((name.to_owned(), url.to_owned()));
        } else if line.starts_with("verify:") {
            assert!(!urls.ingress.is_empty(), "{seen:?}");
            return (running, urls);
        }
    }
    panic!("demo --keep-running exited or printed no URLs within 90 s: {seen:?}");
}

#[test]
fn verify_reads_spans_from_the_collect_api_of_a_demo_running_in_another_process() {
    let (_demo, urls) = keep_running_demo();
    let shared = urls
        .collect
        .iter()
        .find(|(name, _)| name == "shared")
        .map(|(_, url)| url.clone())
        .unwrap();
    let mut cmd = tracegate();
    cmd.args(["verify", "--target", &urls.ingress, "--from", &shared])
        .args([
            "--backend",
            "tracegate",
            "--format",
            "json",
            "--timeout",
            "15s",
        ])
        .args(["--quiet", "500ms", "--scenario"])
        .arg(demo_scenario());
    for (name, url) in urls.collect.iter().filter(|(name, _)| name != "shared") {
        cmd.args(["--destination", &format!("{name}={url}")]);
    }
    let (code, report) = json(&mut cmd);
    assert_eq!(code, 0, "{report}");
    assert!(report["spans_read"].as_u64().unwrap() > 0);
    for id in ["AC-001", "AC-002", "AC-003", "AC-004", "AC-006"] {
        assert_eq!(criterion(&report, id)["verdict"], "pass", "{report}");
    }
    assert_ne!(criterion(&report, "AC-005")["verdict"], "fail", "{report}");
    // no fault phase without --fault-start: AC-007(a) cannot pass by default
    assert!(
        report["notes"].to_string().contains("no fault phase"),
        "{report}"
    );
}

#[test]
fn verify_receives_the_spans_of_a_demo_running_in_another_process() {
    // verify's embedded receiver listens on a port the demo was told to export to: the demo
    // starts first (its exporter retries while nothing listens), then verify, as a Job in a
    // cluster would start after the platform.
    let port = closed_port();
    let receive = format!("127.0.0.1:{port}");
    let export_to = format!("http://{receive}/v1/traces");
    let (_demo, urls) = keep_running_demo_with(&["--export-to", &export_to]);
    // The demo's own run exported to that port while nothing listened: each exporter's backlog
    // for it is full of batches being retried (up to 3 s, demo/export_setup.rs), and a batch
    // arriving at a full backlog is dropped. Let them give up first, as a Job started after a
    // rollout would.
    std::thread::sleep(Duration::from_millis(3500));
    let (code, report) = json(
        tracegate()
            .args(["verify", "--target", &urls.ingress, "--receive", &receive])
            .args(["--format", "json", "--timeout", "15s", "--quiet", "500ms"])
            .arg("--scenario")
            .arg(demo_scenario()),
    );
    assert_eq!(code, 0, "{report}");
    assert!(report["spans_read"].as_u64().unwrap() > 0, "{report}");
    for id in ["AC-001", "AC-002", "AC-003", "AC-004", "AC-006"] {
        assert_eq!(criterion(&report, id)["verdict"], "pass", "{report}");
    }
    let seen = report["services_seen"].to_string();
    for service in ["ingress", "pricing", "webhook-dispatcher"] {
        assert!(seen.contains(service), "{seen}");
    }
}

#[test]
fn verify_reads_spans_from_a_separate_collect_process_the_demo_exports_to() {
    // the pipeline shape: the platform exports to a `tracegate collect` (as it would to a
    // collector or Tempo), and verify, elsewhere, queries that collector by trace ID
    let (_collect, collect_url) = empty_collector();
    let export_to = format!("{collect_url}/v1/traces");
    let (_demo, urls) = keep_running_demo_with(&["--export-to", &export_to]);
    let (code, report) = json(
        tracegate()
            .args(["verify", "--target", &urls.ingress, "--from", &collect_url])
            .args(["--backend", "tracegate", "--format", "json"])
            .args(["--timeout", "15s", "--quiet", "500ms", "--scenario"])
            .arg(demo_scenario()),
    );
    assert_eq!(code, 0, "{report}");
    assert!(report["spans_read"].as_u64().unwrap() > 0, "{report}");
    for id in ["AC-001", "AC-002", "AC-003", "AC-004", "AC-006"] {
        assert_eq!(criterion(&report, id)["verdict"], "pass", "{report}");
    }
}

#[test]
fn unwritable_outputs_are_refused_before_any_request() {
    // before: the whole run was replayed, then the report was lost with exit 2
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    for args in [
        vec![
            "--output".to_owned(),
            "/nonexistent/dir/report.json".to_owned(),
        ],
        vec!["--artifacts".to_owned(), file.display().to_string()],
    ] {
        let out = tracegate().arg("demo").args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(&args[0]), "{err}");
        assert!(out.stdout.is_empty(), "no run happened: {args:?}");
    }
}

#[test]
fn a_fault_the_service_cannot_show_is_refused() {
    // before: accepted, nothing broke, the run passed as if tracegate had missed the fault
    for (given, hint) in [
        (
            "pricing=new-trace-on-retry",
            "orchestration=new-trace-on-retry",
        ),
        ("auth=no-response-header", "ingress=no-response-header"),
    ] {
        let out = tracegate()
            .args(["demo", "--break", given])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{given}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(hint), "{err}");
    }
}

#[test]
fn a_destination_that_cannot_be_read_exits_2() {
    // before: exit 1, and AC-005 said routing held at a destination it never read
    let (_demo, urls) = keep_running_demo();
    let shared = &urls.collect.iter().find(|(n, _)| n == "shared").unwrap().1;
    let port = closed_port();
    let out = tracegate()
        .args(["verify", "--target", &urls.ingress, "--from", shared])
        .args(["--destination", &format!("acme=http://127.0.0.1:{port}")])
        .args(["--format", "json", "--quiet", "300ms", "--scenario"])
        .arg(demo_scenario())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("destination acme"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

#[test]
fn demo_export_to_must_be_an_http_url() {
    let out = tracegate()
        .args(["demo", "--export-to", "ftp://127.0.0.1/v1/traces"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--export-to"), "{err}");
}

#[test]
fn verify_with_a_fault_command_that_fails_reports_it_and_still_judges() {
    let (_demo, urls) = keep_running_demo();
    let shared = &urls.collect.iter().find(|(n, _)| n == "shared").unwrap().1;
    let (code, report) = json(
        tracegate()
            .args(["verify", "--target", &urls.ingress, "--from", shared])
            .args(["--format", "json", "--quiet", "500ms"])
            .args([
                "--fault-start",
                "echo cannot reach the firewall >&2; exit 4",
            ])
            .args(["--fault-stop", "true", "--scenario"])
            .arg(demo_scenario()),
    );
    assert_ne!(code, 2, "{report}");
    let notes = report["notes"].to_string();
    assert!(notes.contains("fault phase skipped"), "{notes}");
    assert!(notes.contains("--fault-start"), "{notes}");
    assert!(notes.contains("cannot reach the firewall"), "{notes}");
    // AC-007(a) was not judged: AC-007 does not claim it (a skip, or a summary that says so)
    let ac007 = criterion(&report, "AC-007");
    assert!(
        ac007["verdict"] != "pass" || ac007["summary"].as_str().unwrap().contains("not judged"),
        "{ac007}"
    );
}

/// `tracegate collect` on a free port, holding nothing; its base URL.
fn empty_collector() -> (Running, String) {
    let port = closed_port();
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("tracegate"))
        .args([
            "collect",
            "--no-grpc",
            "--otlp-http",
            &format!("127.0.0.1:{port}"),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let running = Running(child);
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "collect did not listen on {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (running, format!("http://127.0.0.1:{port}"))
}

#[test]
fn an_interrupted_run_undoes_a_started_fault_before_exiting() {
    let (_demo, urls) = keep_running_demo();
    let shared = &urls.collect.iter().find(|(n, _)| n == "shared").unwrap().1;
    let dir = tempfile::tempdir().unwrap();
    let started = dir.path().join("started");
    let stopped = dir.path().join("stopped");
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("tracegate"))
        .args(["verify", "--target", &urls.ingress, "--from", shared])
        .args(["--format", "json", "--quiet", "300ms"])
        .arg("--fault-start")
        .arg(format!("touch '{}'; sleep 30", started.display()))
        .arg("--fault-stop")
        .arg(format!("touch '{}'", stopped.display()))
        .arg("--scenario")
        .arg(demo_scenario())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut running = Running(child);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !started.exists() {
        assert!(Instant::now() < deadline, "the fault never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!stopped.exists());
    let kill = std::process::Command::new("kill")
        .args(["-INT", &running.0.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = running.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "verify did not stop on SIGINT");
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut running.0.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stopped.exists(), "--fault-stop did not run: {stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(stderr.contains("undone with --fault-stop"), "{stderr}");
}

#[test]
fn verify_with_no_span_at_the_source_fails_and_never_passes() {
    // the demo's ingress answers, but --from names a receiver nothing exports to
    let (_demo, urls) = keep_running_demo();
    let (_collect, empty) = empty_collector();
    let (code, report) = json(
        tracegate()
            .args(["verify", "--target", &urls.ingress, "--from", &empty])
            .args(["--format", "json", "--timeout", "3s", "--quiet", "300ms"])
            .arg("--scenario")
            .arg(demo_scenario()),
    );
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["spans_read"], 0, "{report}");
    assert_eq!(report["passed"], false, "{report}");
    // only AC-001 judges the responses alone; nothing that needs spans passes on none
    for (id, verdict) in verdicts(&report) {
        assert!(verdict != "pass" || id == "AC-001", "{id} passed: {report}");
    }
    assert!(
        report["notes"].to_string().contains("no span was read"),
        "{report}"
    );
}

// ---- black box with --receive: a platform verify did not start exports to verify ----

/// A two-service platform (`front` → `back`) built on the reference library, exporting every
/// span to `endpoint` (where `verify --receive` listens).
mod mini_platform {
    use std::time::Duration;

    use axum::extract::{MatchedPath, Path, State};
    use axum::http::StatusCode;
    use axum::routing::post;
    use axum::{Extension, Router};
    use tracegate::propagation::client::TracedRequest;
    use tracegate::propagation::export::{Export, ExportConfig};
    use tracegate::propagation::server::TraceLayer;
    use tracegate::propagation::Current;

    pub struct Running {
        pub url: String,
        exports: Vec<Export>,
    }

    impl Running {
        pub async fn shutdown(self) {
            for export in &self.exports {
                export.shutdown(Duration::from_secs(2)).await;
            }
        }
    }

    fn export(service: &str, endpoint: &str) -> Export {
        let yaml = format!(
            "destinations:\n  verify: {{endpoint: '{endpoint}'}}\ndefault: [verify]\nbatch_timeout_ms: 50\n"
        );
        let config = ExportConfig::from_yaml("mini.yaml", &yaml, |_| None).unwrap();
        Export::start_with_diagnostics(service, &config, std::sync::Arc::new(|_| {})).unwrap()
    }

    async fn serve(router: Router) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        url
    }

    async fn front(
        State((client, back)): State<(reqwest::Client, String)>,
        Extension(current): Extension<Current>,
        Path(n): Path<String>,
    ) -> Result<String, StatusCode> {
        let response = client
            .post(format!("{back}/work/{n}"))
            .send_traced(&current, "/work/{n}")
            .await
            .map_err(|_| StatusCode::BAD_GATEWAY)?;
        response.text().await.map_err(|_| StatusCode::BAD_GATEWAY)
    }

    pub async fn start(endpoint: &str) -> Running {
        let back_export = export("back", endpoint);
        let back = Router::new()
            .route("/work/{n}", post(|| async { "done" }))
            .layer(
                TraceLayer::new(back_export.telemetry.clone())
                    .route_from(|ext| ext.get::<MatchedPath>().map(MatchedPath::as_str)),
            );
        let back_url = serve(back).await;
        let front_export = export("front", endpoint);
        let client = tracegate::propagation::export::tls::client_builder()
            .build()
            .unwrap();
        let front = Router::new()
            .route("/order/{n}", post(front))
            .with_state((client, back_url))
            .layer(
                TraceLayer::new(front_export.telemetry.clone())
                    .route_from(|ext| ext.get::<MatchedPath>().map(MatchedPath::as_str)),
            );
        let url = serve(front).await;
        Running {
            url,
            exports: vec![front_export, back_export],
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_receives_the_spans_a_platform_exports_to_it() {
    let port = closed_port();
    let receive = format!("127.0.0.1:{port}");
    let platform = mini_platform::start(&format!("http://{receive}/v1/traces")).await;
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("mini.yaml");
    std::fs::write(
        &scenario,
        "requests:\n  - name: order\n    method: POST\n    path: /order/{n}\n    repeat: 5\n    concurrency: 2\nexpect:\n  root: front\n  services: [front, back]\n",
    )
    .unwrap();
    let target = platform.url.clone();
    let (code, report) = tokio::task::spawn_blocking(move || {
        json(
            tracegate()
                .args(["verify", "--target", &target, "--receive", &receive])
                .args(["--format", "json", "--timeout", "15s", "--quiet", "500ms"])
                .args(["--only", "AC-001", "--only", "AC-002", "--only", "AC-004"])
                .arg("--scenario")
                .arg(&scenario),
        )
    })
    .await
    .unwrap();
    platform.shutdown().await;
    assert_eq!(code, 0, "{report}");
    assert!(report["spans_read"].as_u64().unwrap() > 0, "{report}");
    assert_eq!(
        report["services_seen"],
        serde_json::json!(["back", "front"])
    );
    for (id, verdict) in verdicts(&report) {
        assert_eq!(verdict, "pass", "{id}: {report}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manifests_that_fail_checks_tg2xx_rules_fail_ac005_naming_rule_and_file() {
    let port = closed_port();
    let receive = format!("127.0.0.1:{port}");
    let platform = mini_platform::start(&format!("http://{receive}/v1/traces")).await;
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("mini.yaml");
    std::fs::write(
        &scenario,
        "requests:\n  - name: order\n    method: POST\n    path: /order/{n}\n    repeat: 2\nexpect:\n  root: front\n  services: [front, back]\n",
    )
    .unwrap();
    let target = platform.url.clone();
    let manifests = repo().join("fixtures/k8s/misconfigured");
    let (code, report) = tokio::task::spawn_blocking(move || {
        json(
            tracegate()
                .args(["verify", "--target", &target, "--receive", &receive])
                .args(["--format", "json", "--timeout", "10s", "--quiet", "300ms"])
                .args(["--only", "AC-005", "--manifests"])
                .arg(&manifests)
                .arg("--scenario")
                .arg(&scenario),
        )
    })
    .await
    .unwrap();
    platform.shutdown().await;
    assert_eq!(code, 1, "{report}");
    let ac005 = criterion(&report, "AC-005");
    assert_eq!(ac005["verdict"], "fail", "{ac005}");
    let text = ac005.to_string();
    assert!(
        text.contains("TG201") && text.contains("frontend.yaml"),
        "{ac005}"
    );
}

#[test]
fn the_shipped_verify_job_is_infrastructure_not_a_failing_service() {
    // before: `check`'s engine judged the repository's own Job a service and failed it
    // (TG201: no OTLP endpoint), so `verify --manifests deploy` failed AC-005 on the manifest
    // docs/verify.md tells users to apply
    let deploy = repo().join("deploy");
    let scan = tracegate::check::scan(&deploy, &tracegate::check::ScanOptions::default())
        .expect("deploy/ scans");
    let judged: Vec<&str> = scan
        .services
        .iter()
        .map(|s| s.service.name.as_str())
        .collect();
    assert!(!judged.contains(&"tracegate-verify"), "{judged:?}");
    let findings: Vec<&str> = scan
        .services
        .iter()
        .flat_map(|s| s.findings.iter())
        .chain(scan.repository_findings.iter())
        .map(|f| f.rule.as_str())
        .collect();
    assert!(!findings.contains(&"TG201"), "{findings:?}");
}

#[test]
fn demo_prints_its_scenario_for_use_outside_the_repository() {
    // before: `demo --keep-running` suggested `--scenario fixtures/scenarios/demo.yaml`,
    // which exists only in a checkout of this repository
    let out = tracegate()
        .args(["demo", "--print-scenario"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let printed = String::from_utf8(out.stdout).unwrap();
    let bundled = std::fs::read_to_string(demo_scenario()).unwrap();
    assert_eq!(printed, bundled);
    tracegate::verify::scenario::parse(&printed, "printed").expect("a valid scenario");
}
