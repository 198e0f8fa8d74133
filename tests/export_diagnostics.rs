//! The library never prints: with a custom diagnostics sink every diagnostic (export enabled,
//! queue full, a destination given up, export disabled) reaches the sink and nothing reaches
//! stderr; with the default sink the same diagnostics are one line each on stderr.
//!
//! stderr is only observable from outside the process, so the scenario runs in a child
//! process (this test binary, re-run on the ignored test below) whose stderr is captured.
#![allow(clippy::unwrap_used)]

use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tracegate::propagation::export::{self, Diagnostic, DiagnosticSink, Level};
use tracegate::propagation::{OperationName, SpanKind, TraceContext};

const MODE_ENV: &str = "TRACEGATE_TEST_DIAGNOSTICS_MODE";
const BAD_CONFIG_ENV: &str = "TRACEGATE_TEST_BAD_CONFIG";

/// Run the scenario in a child process; its stderr.
fn run_child(mode: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let routes = dir.path().join("routes.yaml");
    std::fs::write(
        &routes,
        format!(
            "destinations:\n  d: {{endpoint: 'http://{closed}/v1/traces'}}\nqueue_size: 1\n\
             batch_timeout_ms: 20\ntimeout_ms: 500\nmax_attempts: 1\n"
        ),
    )
    .unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "destinations:\n  d: {endpoint: 'ftp://x'}\n").unwrap();
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "scenario_in_a_child_process",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(MODE_ENV, mode)
        .env("TRACEGATE_EXPORT_CONFIG", &routes)
        .env(BAD_CONFIG_ENV, &bad)
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .env_remove("OTEL_SDK_DISABLED")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        output.status.success(),
        "{mode}: the child failed: {}\n{stderr}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("1 passed"),
        "{mode}: the scenario did not run"
    );
    stderr
}

#[test]
fn a_custom_sink_gets_every_diagnostic_and_stderr_gets_nothing() {
    let stderr = run_child("custom");
    assert!(
        !stderr.contains("tracegate export"),
        "the library printed:\n{stderr}"
    );
}

#[test]
fn the_default_sink_writes_one_line_per_diagnostic_on_stderr() {
    let stderr = run_child("default");
    let ours: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("tracegate export: "))
        .collect();
    // Four diagnostics, and a fifth when the down destination's backlog fills before its
    // first batch is given up (how far it gets depends on the machine's timing).
    let backlog = ours
        .iter()
        .filter(|l| l.contains("is not keeping up"))
        .count();
    assert_eq!(ours.len() - backlog, 4, "{stderr}");
    assert!(backlog <= 1, "{stderr}");
    assert!(
        ours[0].contains("enabled for service `svc`, destinations: d"),
        "{stderr}"
    );
    assert!(
        ours.iter().any(|l| l.contains("span queue full")),
        "{stderr}"
    );
    assert!(
        ours.iter().any(|l| l.contains("destination `d` failed")),
        "{stderr}"
    );
    assert!(
        ours.last().is_some_and(|l| l.contains("disabled: ")),
        "{stderr}"
    );
}

/// The scenario (only in the child process started above).
#[tokio::test]
#[ignore = "run in a child process by the two tests above"]
async fn scenario_in_a_child_process() {
    let Ok(mode) = std::env::var(MODE_ENV) else {
        panic!("run by the other tests of this file, with {MODE_ENV} set");
    };
    let seen: Arc<Mutex<Vec<Diagnostic>>> = Arc::default();
    let into = Arc::clone(&seen);
    let custom: DiagnosticSink =
        Arc::new(move |d: &Diagnostic| into.lock().unwrap().push(d.clone()));
    let start = |default_service: &str| match mode.as_str() {
        "custom" => export::from_env_with_diagnostics(default_service, Arc::clone(&custom)),
        _ => export::from_env(default_service),
    };
    let export = start("svc");
    assert_eq!(export.disabled_reason, None);
    // A queue of 1: most of these are dropped (the first drop is reported).
    for _ in 0..50 {
        export
            .telemetry
            .start(
                &TraceContext::new_root(),
                SpanKind::Server,
                OperationName::fixed("GET /"),
            )
            .end();
    }
    // The destination is down and `max_attempts: 1`: the first batch is given up.
    let until = Instant::now() + Duration::from_secs(5);
    while export.stats().failed == 0 && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let stats = export.shutdown(Duration::from_secs(1)).await;
    assert!(stats.dropped > 0 && stats.failed > 0, "{stats:?}");
    // An invalid configuration: export disabled, reported.
    std::env::set_var(
        "TRACEGATE_EXPORT_CONFIG",
        std::env::var(BAD_CONFIG_ENV).unwrap(),
    );
    let disabled = start("svc");
    assert!(disabled.disabled_reason.is_some());

    if mode == "custom" {
        let seen = seen.lock().unwrap();
        let has = |level: Level, text: &str, destination: Option<&str>| {
            seen.iter().any(|d| {
                d.level == level
                    && d.message.contains(text)
                    && d.destination.as_deref() == destination
            })
        };
        assert!(
            has(Level::Info, "enabled for service `svc`", None),
            "{seen:?}"
        );
        assert!(has(Level::Warn, "span queue full", None), "{seen:?}");
        assert!(
            has(
                Level::Warn,
                "destination `d` failed (connection failed",
                Some("d")
            ),
            "{seen:?}"
        );
        assert!(has(Level::Warn, "disabled: ", None), "{seen:?}");
        // The backlog warning as above: only when timing lets the backlog fill first.
        let backlog = seen
            .iter()
            .filter(|d| d.message.contains("is not keeping up"))
            .count();
        assert_eq!(seen.len() - backlog, 4, "{seen:?}");
        assert!(backlog <= 1, "{seen:?}");
    }
}

/// What a service prints at shutdown (examples/axum_service.rs): a sentence, not a debug dump.
#[test]
fn export_stats_read_as_one_line() {
    let stats = export::ExportStats {
        queued: 12,
        exported: 11,
        dropped: 1,
        failed: 0,
        unrouted: 2,
    };
    assert_eq!(
        stats.to_string(),
        "12 spans queued, 11 exported, 1 dropped, 0 failed, 2 unrouted"
    );
}
