//! Bad input a first user runs into, through the binary: every case exits 2 with one clear
//! line naming the file (or address), never a panic, a doubled message or a silent default.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;

fn tracegate() -> Command {
    Command::cargo_bin("tracegate").unwrap()
}

/// Run in `dir`; (exit code, stdout, stderr).
fn run_in(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = tracegate()
        .current_dir(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The error is exactly one line, starts with `tracegate: error:`, and holds every `needle`.
fn assert_one_line_error(code: i32, stderr: &str, needles: &[&str]) {
    assert_eq!(code, 2, "exit code; stderr: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.starts_with("tracegate: error: "), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    for needle in needles {
        assert!(stderr.contains(needle), "{needle:?} not in {stderr}");
    }
}

/// A repository with one passing Rust service.
fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/services/rust-pass");
    for entry in walk(&src) {
        let rel = entry.strip_prefix(&src).unwrap();
        let to = dir.path().join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(&entry, to).unwrap();
    }
    dir
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[test]
fn a_directory_named_tracegate_yaml_is_an_error_not_an_empty_policy() {
    let repo = repo();
    let (code, _, err) = run_in(repo.path(), &["check", "."]);
    assert_eq!(code, 0, "the fixture passes: {err}");
    std::fs::create_dir(repo.path().join("tracegate.yaml")).unwrap();
    let (code, _, err) = run_in(repo.path(), &["check", "."]);
    assert_one_line_error(code, &err, &["tracegate.yaml", "not a regular file"]);
}

#[cfg(unix)]
#[test]
fn a_fifo_named_tracegate_yaml_is_an_error_not_a_hang() {
    let repo = repo();
    let fifo = repo.path().join("tracegate.yaml");
    let status = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(status.success());
    let (code, _, err) = run_in(repo.path(), &["check", "."]);
    assert_one_line_error(code, &err, &["tracegate.yaml", "not a regular file"]);
}

#[test]
fn a_fifo_in_a_rules_dir_is_an_error_not_a_hang() {
    let repo = repo();
    let rules = repo.path().join("rp");
    std::fs::create_dir(&rules).unwrap();
    let status = Command::new("mkfifo")
        .arg(rules.join("c.yaml"))
        .status()
        .unwrap();
    assert!(status.success());
    for args in [
        &["rules", "list", "--rules", "rp"][..],
        &["check", ".", "--rules", "rp"][..],
    ] {
        let (code, _, err) = run_in(repo.path(), args);
        assert_one_line_error(code, &err, &["rp/c.yaml", "not a regular file"]);
    }
}

#[test]
fn config_type_errors_speak_yaml_not_rust() {
    let repo = repo();
    let cases: &[(&str, &str, &str)] = &[
        (
            "[1, 2]\n",
            "tracegate.yaml:1:",
            "expected a mapping with the keys `rules`",
        ),
        (
            "rules:\n  TG101: {level: warning}\n",
            "tracegate.yaml:2:",
            "expected one of `error`, `warning`, `note`, `off`",
        ),
        (
            "waivers:\n  - 3\n",
            "tracegate.yaml:2:",
            "expected a mapping (rule, service or path, reason, expires)",
        ),
    ];
    for (text, at, expected) in cases {
        std::fs::write(repo.path().join("tracegate.yaml"), text).unwrap();
        let (code, _, err) = run_in(repo.path(), &["check", "."]);
        assert_one_line_error(code, &err, &[at, expected]);
        for jargon in ["RawConfig", "RawWaiver", "YAML tag"] {
            assert!(!err.contains(jargon), "{jargon} in {err}");
        }
    }
}

#[test]
fn init_refuses_a_missing_directory_or_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = run_in(dir.path(), &["init", "no/such/repo"]);
    assert_one_line_error(code, &err, &["no/such/repo", "not a readable directory"]);
    assert!(
        !dir.path().join("no").exists(),
        "init created a directory tree"
    );

    std::fs::write(dir.path().join("afile"), "x").unwrap();
    let (code, _, err) = run_in(dir.path(), &["init", "afile"]);
    assert_one_line_error(code, &err, &["afile: not a directory"]);
}

#[test]
fn collect_on_a_busy_port_names_the_protocol_and_address_once() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    for (args, protocol) in [
        (
            vec!["collect", "--otlp-http", &addr, "--no-grpc"],
            "OTLP/HTTP",
        ),
        (
            vec![
                "collect",
                "--otlp-http",
                "127.0.0.1:0",
                "--otlp-grpc",
                &addr,
            ],
            "OTLP/gRPC",
        ),
    ] {
        let (code, _, err) = run_in(dir.path(), &args);
        assert_one_line_error(code, &err, &[protocol, &addr]);
        assert_eq!(
            err.matches("os error").count(),
            1,
            "cause printed twice: {err}"
        );
    }
}

#[test]
fn a_store_that_is_a_file_is_named_as_such() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("afile"), "x").unwrap();
    let (code, _, err) = run_in(
        dir.path(),
        &[
            "collect",
            "--otlp-http",
            "127.0.0.1:0",
            "--no-grpc",
            "--store",
            "afile",
        ],
    );
    assert_one_line_error(code, &err, &["afile: not a directory"]);
    let id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let (code, _, err) = run_in(dir.path(), &["trace", "show", id, "--store", "afile"]);
    assert_one_line_error(code, &err, &["afile: not a directory"]);
    let (code, _, err) = run_in(dir.path(), &["trace", "list", "--store", "missing"]);
    assert_one_line_error(code, &err, &["missing: no such directory"]);
}

#[test]
fn a_store_with_a_corrupt_tail_is_read_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    std::fs::create_dir(&store).unwrap();
    let mut log = b"TGTRACE1".to_vec();
    log.extend_from_slice(&[0xAB; 50]);
    std::fs::write(store.join("traces.log"), log).unwrap();
    let (code, _, err) = run_in(dir.path(), &["trace", "list", "--store", "store"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.starts_with("tracegate: warning: ")
            && err.contains("traces.log: ignored the last 50 bytes"),
        "{err}"
    );
}

#[test]
fn a_store_with_a_damaged_record_is_read_with_a_warning_that_counts_it() {
    use tracegate::otlp::{sample, store::Store};
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("store");
    {
        let (store, _) = Store::open(&store_dir, 10_000).unwrap();
        for seed in 1..=3 {
            store.ingest(sample::batch(seed, 40, 4)).unwrap();
        }
    }
    // flip a byte in the middle record: the loader skips it and resynchronises
    let path = store_dir.join("traces.log");
    let mut log = std::fs::read(&path).unwrap();
    let middle = log.len() / 2;
    log[middle] ^= 0xFF;
    std::fs::write(&path, log).unwrap();
    let (code, out, err) = run_in(dir.path(), &["trace", "list", "--store", "store"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("tracegate: warning: ")
            && err.contains("traces.log: skipped 1 damaged record (")
            && !err.contains("ignored the last"),
        "{err}"
    );
    // the two other batches are listed
    assert!(out.lines().count() >= 20, "{out}");
}

#[test]
fn an_unreachable_collector_says_what_to_do_in_one_line() {
    // A port nobody listens on.
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", free.local_addr().unwrap());
    drop(free);
    let dir = tempfile::tempdir().unwrap();
    let id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let (code, _, err) = run_in(dir.path(), &["trace", "show", id, "--from", &url]);
    assert_one_line_error(code, &err, &[&url, "cannot reach"]);
    assert_eq!(err.matches(&url).count(), 1, "URL repeated: {err}");
    assert!(!err.contains("error sending request"), "{err}");

    // A server that accepts and never answers: the timeout is named.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", silent.local_addr().unwrap());
    let (code, _, err) = run_in(
        dir.path(),
        &["trace", "list", "--from", &url, "--timeout-ms", "300"],
    );
    assert_one_line_error(code, &err, &["no answer within 300 ms"]);
    drop(silent);

    let (code, _, err) = run_in(dir.path(), &["trace", "list", "--from", "localhost:4318"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("expected an http:// or https:// URL"), "{err}");
}

#[test]
fn collect_stops_quietly_when_its_reader_goes_away() {
    let mut child = tracegate()
        .args(["collect", "--otlp-http", "127.0.0.1:0", "--no-grpc"])
        .args(["--quiet-ms", "50"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap(); // the reader is dropped here, like `collect | head -1`
    let http = first
        .strip_prefix("OTLP/HTTP listening on ")
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let body = serde_json::to_vec(
        &serde_json::from_slice::<serde_json::Value>(
            &std::fs::read(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/fixtures/backends/jaeger-v3-trace.json"
            ))
            .unwrap(),
        )
        .unwrap()["result"],
    )
    .unwrap();
    // A finished trace makes it print; the closed pipe must end it cleanly (bounded wait).
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _ = rt.block_on(async {
        tracegate::propagation::export::tls::client_builder()
            .build()
            .unwrap()
            .post(format!("{http}/v1/traces"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("collect kept running after its stdout closed");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(
        !err.contains("panicked") && !err.contains("Broken pipe"),
        "{err}"
    );
}

#[test]
fn help_examples_are_not_wrapped_mid_command() {
    // clap wraps help at 100 columns: an example longer than that is cut in two lines that
    // cannot be copied. Every example command must be on one line.
    let dir = tempfile::tempdir().unwrap();
    for sub in [
        &["trace", "show", "--help"][..],
        &["trace", "list", "--help"],
        &["check", "--help"],
        &["collect", "--help"],
        &["--help"],
    ] {
        let (code, out, _) = run_in(dir.path(), sub);
        assert_eq!(code, 0);
        let lines: Vec<&str> = out.lines().collect();
        for pair in lines.windows(2) {
            if pair[0].starts_with("  tracegate ") {
                assert!(
                    pair[1].starts_with("      ")
                        || pair[1].starts_with("  tracegate ")
                        || pair[1].is_empty(),
                    "{sub:?}: example wrapped:\n{}\n{}",
                    pair[0],
                    pair[1]
                );
            }
        }
    }
}

#[test]
fn a_directory_without_services_is_an_error_not_a_pass() {
    // A mistyped path (or a CI step run in the wrong directory) must not let a deployment through.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("docs")).unwrap();
    std::fs::write(dir.path().join("docs/README.md"), "# notes\n").unwrap();
    let (code, out, err) = run_in(dir.path(), &["check", "docs"]);
    assert_one_line_error(code, &err, &["docs: no service found", "nothing to check"]);
    assert!(out.is_empty(), "{out}");
}
