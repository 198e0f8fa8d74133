//! `tracegate coverage` end to end, on the fixture organisation (fixtures/coverage/org: four
//! repositories, four teams) with three earlier weeks of `check --format json` shards
//! (fixtures/coverage/shards/2026-W45…W47). Hand count for 2026-W48, static only:
//!
//! | service | team | static | propagating |
//! |---|---|---|---|
//! | checkout | payments | pass | yes |
//! | pricing | payments | pass | yes (broken at runtime in the trace fixture) |
//! | ledger | payments | fail | no (passed in W45–W47: the regression) |
//! | accounts | identity | pass | yes |
//! | notifications | identity | unknown | no |
//! | gateway | platform | pass | yes |
//! | search | platform | not_found | no |
//! | fraud-check | risk | fail | no (new in W48) |
//!
//! → 4 of 8 = 0.5; with the traces (pricing broken) 3 of 8 = 0.375.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

const WEEK: &str = "2026-W48";
const TODAY: &str = "2026-11-29";
const REPOSITORIES: [&str; 4] = ["payments", "identity", "edge", "risk"];

fn tracegate() -> Command {
    Command::cargo_bin("tracegate").unwrap()
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/coverage")
}

fn org_paths() -> Vec<PathBuf> {
    REPOSITORIES
        .iter()
        .map(|r| fixtures().join("org").join(r))
        .collect()
}

/// Run `tracegate coverage ARGS…` with `--db DB`; (exit code, stdout, stderr).
fn coverage(db: &Path, args: &[&str]) -> (i32, String, String) {
    let out = tracegate()
        .arg("coverage")
        .args(args)
        .arg("--db")
        .arg(db)
        .args(["--today", TODAY])
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn scan_args<'a>(paths: &'a [PathBuf], extra: &[&'a str]) -> Vec<&'a str> {
    let mut args: Vec<&str> = paths.iter().map(|p| p.to_str().unwrap()).collect();
    args.extend_from_slice(extra);
    args
}

fn json_of(code: i32, stdout: &str, stderr: &str) -> Value {
    serde_json::from_str(stdout)
        .unwrap_or_else(|e| panic!("exit {code}: not JSON ({e}): {stdout}{stderr}"))
}

/// Record W45–W47 from the shard fixtures.
fn record_history(db: &Path) {
    for week in ["2026-W45", "2026-W46", "2026-W47"] {
        let dir = fixtures().join("shards").join(week);
        let (code, out, err) = coverage(
            db,
            &[
                "ingest",
                dir.to_str().unwrap(),
                "--week",
                week,
                "--format",
                "json",
            ],
        );
        assert_eq!(code, 0, "ingest {week}: {out}{err}");
    }
}

fn service<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in {report:#}"))
}

fn team<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["by_team"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["team"] == name)
        .unwrap_or_else(|| panic!("team {name} not in {report:#}"))
}

#[test]
fn the_fixture_organisation_matches_the_hand_count() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("coverage.db");
    let paths = org_paths();
    let (code, out, err) = coverage(
        &db,
        &scan_args(&paths, &["--week", WEEK, "--format", "json"]),
    );
    assert_eq!(code, 0, "{out}{err}");
    let report = json_of(code, &out, &err);
    assert_eq!(report["week"], WEEK);
    assert_eq!(report["services_total"], 8);
    assert_eq!(report["services_propagating"], 4);
    assert_eq!(report["coverage"], 0.5);
    assert!(
        report["previous"].is_null(),
        "first week: nothing to compare with"
    );
    assert_eq!(report["regressions"], serde_json::json!([]));
    let expected = [
        ("checkout", "payments", "pass"),
        ("pricing", "payments", "pass"),
        ("ledger", "payments", "fail"),
        ("accounts", "identity", "pass"),
        ("notifications", "identity", "unknown"),
        ("gateway", "platform", "pass"),
        ("search", "platform", "not_found"),
        ("fraud-check", "risk", "fail"),
    ];
    for (name, team_name, verdict) in expected {
        let s = service(&report, name);
        assert_eq!(s["team"], team_name, "{name}");
        assert_eq!(s["static"], verdict, "{name}");
        assert!(s["runtime"].is_null(), "{name}: no traces were given");
    }
    for (name, total, propagating) in [
        ("payments", 3, 2),
        ("identity", 2, 1),
        ("platform", 2, 1),
        ("risk", 1, 0),
    ] {
        let t = team(&report, name);
        assert_eq!(
            (t["total"].as_u64(), t["propagating"].as_u64()),
            (Some(total), Some(propagating)),
            "{name}"
        );
    }
}

#[test]
fn four_weeks_of_history_name_the_regression_and_the_new_service() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("coverage.db");
    record_history(&db);
    let paths = org_paths();
    let (code, out, err) = coverage(
        &db,
        &scan_args(&paths, &["--week", WEEK, "--format", "json"]),
    );
    assert_eq!(code, 0, "{out}{err}");
    let report = json_of(code, &out, &err);
    assert_eq!(report["previous"]["week"], "2026-W47");
    assert_eq!(report["regressions"], serde_json::json!(["ledger"]));
    assert_eq!(
        report["new_without_propagation"],
        serde_json::json!(["fraud-check"])
    );
    let weeks: Vec<&str> = report["trend"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["week"].as_str().unwrap())
        .collect();
    assert_eq!(weeks, ["2026-W45", "2026-W46", "2026-W47", WEEK]);

    // the gate: a regression fails the run, and so does coverage under the bar
    let (code, _, err) = coverage(
        &db,
        &scan_args(
            &paths,
            &["--week", WEEK, "--format", "json", "--fail-on-regression"],
        ),
    );
    assert_eq!(code, 1, "{err}");
    let (code, _, err) = coverage(
        &db,
        &scan_args(&paths, &["--week", WEEK, "--fail-under", "0.51"]),
    );
    assert_eq!(code, 1, "{err}");
    let (code, _, err) = coverage(
        &db,
        &scan_args(&paths, &["--week", WEEK, "--fail-under", "50%"]),
    );
    assert_eq!(code, 0, "{err}");
}

#[test]
fn ingesting_check_shards_gives_the_numbers_of_one_run() {
    let tmp = tempfile::tempdir().unwrap();
    let shards = tmp.path().join("results");
    std::fs::create_dir(&shards).unwrap();
    for (name, path) in REPOSITORIES.iter().zip(org_paths()) {
        let out = tracegate()
            .arg("check")
            .arg(&path)
            .args(["--format", "json", "--today", TODAY, "--output"])
            .arg(shards.join(format!("{name}.json")))
            .output()
            .unwrap();
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let (code, out, err) = coverage(
        &tmp.path().join("a.db"),
        &[
            "ingest",
            shards.to_str().unwrap(),
            "--week",
            WEEK,
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let merged = json_of(code, &out, &err);
    let paths = org_paths();
    let (code, out, err) = coverage(
        &tmp.path().join("b.db"),
        &scan_args(&paths, &["--week", WEEK, "--format", "json"]),
    );
    let scanned = json_of(code, &out, &err);
    for key in [
        "services_total",
        "services_propagating",
        "coverage",
        "by_team",
        "regressions",
        "services",
    ] {
        assert_eq!(
            merged[key], scanned[key],
            "{key} differs between ingest and one run"
        );
    }
}

#[test]
fn rerunning_a_week_replaces_its_snapshot_and_show_renders_it_again() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("coverage.db");
    let payments = fixtures().join("org/payments");
    let (code, _, err) = coverage(
        &db,
        &[
            payments.to_str().unwrap(),
            "--week",
            WEEK,
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let paths = org_paths();
    let (code, _, err) = coverage(
        &db,
        &scan_args(&paths, &["--week", WEEK, "--format", "json"]),
    );
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = coverage(&db, &["show", "--format", "json"]);
    let shown = json_of(code, &out, &err);
    assert_eq!(shown["week"], WEEK);
    assert_eq!(
        shown["services_total"], 8,
        "the second run replaced the first"
    );
    assert!(shown["previous"].is_null(), "one week recorded, not two");

    // --dry-run records nothing
    let (code, _, err) = coverage(
        &db,
        &[
            payments.to_str().unwrap(),
            "--week",
            "2026-W49",
            "--dry-run",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = coverage(&db, &["show", "--week", "2026-W49"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("2026-W49 is not recorded (recorded: 2026-W48)"),
        "{err}"
    );
}

/// The table on a terminal: sized to COLUMNS, coloured with `--color always`, plain with
/// `never` or NO_COLOR; a file gets the unwrapped, plain table whatever COLUMNS says.
#[test]
fn the_table_follows_color_and_columns_and_a_file_gets_it_plain() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("coverage.db");
    record_history(&db);
    let paths = org_paths();
    let (code, _, err) = coverage(
        &db,
        &scan_args(&paths, &["--week", WEEK, "--format", "json"]),
    );
    assert_eq!(code, 0, "{err}");
    let show = |color: &str, env: &[(&str, &str)], extra: &[&str]| {
        let out = tracegate()
            .args(["coverage", "show", "--format", "table", "--color", color])
            .args(extra)
            .arg("--db")
            .arg(&db)
            .env_remove("NO_COLOR")
            .env_remove("CLICOLOR_FORCE")
            .envs(env.iter().copied())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        String::from_utf8(out.stdout).unwrap()
    };
    let coloured = show("always", &[("COLUMNS", "80")], &[]);
    assert!(coloured.contains("\u{1b}[1m\u{1b}[31m-"), "{coloured}");
    let plain = show("never", &[("COLUMNS", "80")], &[]);
    assert!(!plain.contains('\u{1b}'));
    for line in plain.lines() {
        assert!(line.chars().count() <= 80, "{line:?}");
    }
    assert!(plain.contains("Regressions (propagating in 2026-W47, not in 2026-W48): 1"));
    // auto: NO_COLOR wins over CLICOLOR_FORCE's absence, and a pipe is not a terminal anyway
    let auto = show("auto", &[("NO_COLOR", "1"), ("COLUMNS", "80")], &[]);
    assert_eq!(auto, plain);
    // a file: no colour, no wrapping (the evidence line stays one line)
    let file = tmp.path().join("coverage.txt");
    let stdout = show(
        "auto",
        &[("COLUMNS", "80"), ("CLICOLOR_FORCE", "1")],
        &["-o", file.to_str().unwrap()],
    );
    assert!(stdout.is_empty());
    let written = std::fs::read_to_string(&file).unwrap();
    assert!(!written.contains('\u{1b}'));
    assert!(written.lines().any(|l| l.chars().count() > 80), "{written}");
}

#[test]
fn every_format_renders_and_writes_to_a_file() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("coverage.db");
    record_history(&db);
    let paths = org_paths();
    let (code, _, err) = coverage(
        &db,
        &scan_args(&paths, &["--week", WEEK, "--format", "json"]),
    );
    assert_eq!(code, 0, "{err}");
    for (format, must_hold) in [
        ("markdown", "ledger"),
        ("html", "<svg"),
        ("openmetrics", "# EOF"),
        ("table", "fraud-check"),
    ] {
        let file = tmp.path().join(format!("report.{format}"));
        let (code, _, err) = coverage(
            &db,
            &[
                "show",
                "--format",
                format,
                "--output",
                file.to_str().unwrap(),
            ],
        );
        assert_eq!(code, 0, "{format}: {err}");
        assert!(
            err.contains("2026-W48 50.0 % (4 of 8 services propagating)"),
            "{format}: {err}"
        );
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            text.contains(must_hold),
            "{format} lacks {must_hold:?}:\n{text}"
        );
    }
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("coverage.db");
    let payments = fixtures().join("org/payments");
    let p = payments.to_str().unwrap();

    // a week that is not ISO
    let (code, _, err) = coverage(&db, &[p, "--week", "2026-48"]);
    assert_eq!(code, 2);
    assert!(err.contains("2026-48") && err.lines().count() == 1, "{err}");

    // a path without services
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let (code, _, err) = coverage(&db, &[empty.to_str().unwrap(), "--week", WEEK]);
    assert_eq!(code, 2);
    assert!(err.contains("empty") && err.lines().count() == 1, "{err}");

    // a corrupt database
    let corrupt = tmp.path().join("corrupt.db");
    std::fs::write(&corrupt, vec![0x5a_u8; 8192]).unwrap();
    let (code, _, err) = coverage(&corrupt, &[p, "--week", WEEK]);
    assert_eq!(code, 2);
    assert!(
        err.contains("corrupt.db") && err.lines().count() == 1,
        "{err}"
    );

    // a shard that is not a check result
    let shard = tmp.path().join("payments.json");
    std::fs::write(&shard, "{\"week\": 1}").unwrap();
    let (code, _, err) = coverage(&db, &["ingest", shard.to_str().unwrap(), "--week", WEEK]);
    assert_eq!(code, 2);
    assert!(
        err.contains("payments.json") && err.lines().count() == 1,
        "{err}"
    );

    // a trace store that does not exist
    let (code, _, err) = coverage(
        &db,
        &[
            p,
            "--week",
            WEEK,
            "--store",
            tmp.path().join("nope").to_str().unwrap(),
        ],
    );
    assert_eq!(code, 2);
    assert!(err.contains("nope") && err.lines().count() == 1, "{err}");

    // an unwritable --output is refused before any work
    let (code, _, err) = coverage(
        &db,
        &[p, "--week", WEEK, "--output", "/nonexistent/dir/x.html"],
    );
    assert_eq!(code, 2);
    assert!(err.contains("/nonexistent/dir/x.html"), "{err}");
}

/// A `tracegate collect --store` directory holding the fixture trace set.
fn trace_store(dir: &Path) {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    let body = std::fs::read(fixtures().join("traces/traces.json")).unwrap();
    let data = tracegate::otlp::client::parse_trace_body(&body, Some("application/json")).unwrap();
    let (store, _) = tracegate::otlp::store::Store::open(dir, 1_000_000).unwrap();
    store
        .ingest(ExportTraceServiceRequest {
            resource_spans: data.resource_spans,
        })
        .unwrap();
    store.sync().unwrap();
}

#[test]
fn runtime_verdicts_from_a_trace_store_find_the_broken_edge() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("coverage.db");
    let traces = tmp.path().join("traces");
    trace_store(&traces);
    record_history(&db);
    let paths = org_paths();
    let (code, out, err) = coverage(
        &db,
        &scan_args(
            &paths,
            &[
                "--week",
                WEEK,
                "--store",
                traces.to_str().unwrap(),
                "--format",
                "json",
            ],
        ),
    );
    assert_eq!(code, 0, "{out}{err}");
    let report = json_of(code, &out, &err);
    assert_eq!(report["services_total"], 8);
    assert_eq!(
        report["services_propagating"], 3,
        "pricing is broken at runtime"
    );
    assert_eq!(report["coverage"], 0.375);
    let pricing = service(&report, "pricing");
    assert_eq!(
        (pricing["static"].as_str(), pricing["runtime"].as_str()),
        (Some("pass"), Some("fail"))
    );
    let reasons = pricing["runtime_reasons"].to_string();
    assert!(reasons.contains("checkout"), "the edge is named: {reasons}");
    for name in ["gateway", "checkout", "ledger", "accounts"] {
        assert_eq!(service(&report, name)["runtime"], "pass", "{name}");
    }
    for name in ["notifications", "search", "fraud-check"] {
        assert_eq!(service(&report, name)["runtime"], "unseen", "{name}");
    }
    assert_eq!(
        report["regressions"],
        serde_json::json!(["ledger", "pricing"])
    );
    let broken: Vec<(&str, &str)> = report["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["broken"].as_u64().unwrap() > 0)
        .map(|e| (e["caller"].as_str().unwrap(), e["callee"].as_str().unwrap()))
        .collect();
    assert_eq!(broken, [("checkout", "pricing")]);
    // the trace directory is read, never written
    let evidence = report["evidence"]["runtime"].as_str().unwrap_or_default();
    assert!(
        evidence.starts_with(&format!("store {}, ", traces.display())),
        "the source is named: {evidence}"
    );
    // the Markdown post says where the numbers come from, and the counts once
    let (code, out, err) = coverage(
        &db,
        &scan_args(
            &paths,
            &[
                "--week",
                WEEK,
                "--store",
                traces.to_str().unwrap(),
                "--format",
                "markdown",
                "--dry-run",
            ],
        ),
    );
    assert_eq!(code, 0, "{out}{err}");
    let line = out
        .lines()
        .find(|l| l.contains("runtime verdicts: store"))
        .unwrap_or_else(|| panic!("an evidence line: {out}"));
    assert_eq!(line.matches("11 traces").count(), 1, "{line}");
    assert!(line.contains("11 traces, 44 spans"), "{line}");
}
