//! `tracegate check`, `rules` end to end: exit codes 0/1/2, formats, policy, docs links.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

fn tracegate() -> Command {
    Command::cargo_bin("tracegate").unwrap()
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn monorepo() -> PathBuf {
    repo().join("fixtures/monorepo")
}

fn json(args: &[&str], root: &Path) -> (i32, Value) {
    let out = tracegate()
        .arg("check")
        .arg(root)
        .args(["--format", "json"])
        .args(args)
        .output()
        .unwrap();
    let code = out.status.code().unwrap();
    let value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "exit {code}: not JSON ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (code, value)
}

/// A one-service repository with a Go service that has no OpenTelemetry at all.
fn failing_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let svc = dir.path().join("services/orders");
    std::fs::create_dir_all(&svc).unwrap();
    std::fs::write(svc.join("go.mod"), "module example.com/orders\n\ngo 1.23\n").unwrap();
    std::fs::write(
        svc.join("main.go"),
        "package main\n\nimport \"net/http\"\n\nfunc main() {\n\thttp.ListenAndServe(\":8080\", nil)\n}\n",
    )
    .unwrap();
    dir
}

fn findings(report: &Value) -> Vec<(String, String)> {
    report["services"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["findings"].as_array().unwrap().iter())
        .chain(
            report
                .get("repository_findings")
                .and_then(Value::as_array)
                .into_iter()
                .flatten(),
        )
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_owned(),
                f["severity"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn the_fixture_monorepo_fails_with_the_json_contract() {
    let (code, report) = json(&[], &monorepo());
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(report["tool"], "tracegate");
    let services = report["services"].as_array().unwrap();
    assert!(services.len() >= 2, "{report:#}");
    let verdicts: Vec<&str> = services
        .iter()
        .map(|s| s["verdict"].as_str().unwrap())
        .collect();
    assert!(
        verdicts.contains(&"pass") && verdicts.contains(&"fail"),
        "{verdicts:?}"
    );
    let summary = &report["summary"];
    assert_eq!(
        summary["services"].as_u64().unwrap() as usize,
        services.len()
    );
    assert_eq!(
        summary["failing"].as_u64().unwrap() as usize,
        verdicts.iter().filter(|v| **v == "fail").count()
    );
    for s in services {
        for f in s["findings"].as_array().unwrap() {
            assert!(f["rule"].as_str().unwrap().starts_with("TG"), "{f}");
            assert!(!f["help"].as_str().unwrap().is_empty(), "{f}");
        }
    }
}

#[test]
fn a_failing_service_exits_1_and_turning_its_rules_off_exits_0() {
    let dir = failing_repo();
    let (code, report) = json(&[], dir.path());
    assert_eq!(code, 1, "{report:#}");
    let rules: Vec<String> = findings(&report).into_iter().map(|(r, _)| r).collect();
    assert_eq!(rules, ["TG101"], "{report:#}");

    // TG101 off: it is not evaluated, so the rules that come after it run (an uninstrumented
    // server is still a failure) instead of the service passing unchecked.
    std::fs::write(dir.path().join("tracegate.yaml"), "rules:\n  TG101: off\n").unwrap();
    let (code, report) = json(&[], dir.path());
    assert_eq!(code, 1, "{report:#}");
    let rules: Vec<String> = findings(&report).into_iter().map(|(r, _)| r).collect();
    assert_eq!(rules, ["TG103"], "{report:#}");

    // Every rule that fired, off: the service passes, the run exits 0.
    std::fs::write(
        dir.path().join("tracegate.yaml"),
        "rules:\n  TG101: off\n  TG103: off\n",
    )
    .unwrap();
    let (code, report) = json(&[], dir.path());
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["services"][0]["verdict"], "pass");
    // An off rule is no JUnit testcase, not even a passed one.
    let junit = tracegate()
        .args(["check", "--format", "junit"])
        .arg(dir.path())
        .output()
        .unwrap();
    let junit = String::from_utf8(junit.stdout).unwrap();
    assert!(
        junit.contains("TG102") && !junit.contains("TG101") && !junit.contains("TG103"),
        "{junit}"
    );
}

#[test]
fn fail_on_note_is_stricter_than_warning() {
    let dir = failing_repo();
    let (_, report) = json(&[], dir.path());
    let rules: Vec<String> = findings(&report).into_iter().map(|(r, _)| r).collect();
    let mut cfg = String::from("rules:\n");
    for rule in &rules {
        cfg.push_str(&format!("  {rule}: note\n"));
    }
    std::fs::write(dir.path().join("tracegate.yaml"), cfg).unwrap();
    assert_eq!(json(&[], dir.path()).0, 0);
    assert_eq!(json(&["--fail-on", "warning"], dir.path()).0, 0);
    assert_eq!(json(&["--fail-on", "note"], dir.path()).0, 1);
}

#[test]
fn waivers_suppress_until_they_expire_and_stale_ones_are_findings() {
    let dir = failing_repo();
    let (_, report) = json(&[], dir.path());
    let name = report["services"][0]["name"].as_str().unwrap().to_owned();
    let rules: Vec<String> = findings(&report).into_iter().map(|(r, _)| r).collect();
    let mut cfg = String::from("waivers:\n");
    for rule in &rules {
        cfg.push_str(&format!(
            "  - rule: {rule}\n    service: {name}\n    reason: onboarding in Q1\n    expires: 2026-12-31\n"
        ));
    }
    cfg.push_str("  - rule: TG291\n    path: nowhere\n    reason: r\n    expires: 2026-12-31\n");
    std::fs::write(dir.path().join("tracegate.yaml"), cfg).unwrap();

    let (code, report) = json(&["--today", "2026-12-31"], dir.path());
    let rules_now: Vec<String> = findings(&report).into_iter().map(|(r, _)| r).collect();
    assert_eq!(rules_now, ["TG291"], "{report:#}");
    assert_eq!(report["repository_findings"][0]["file"], "tracegate.yaml");
    assert_eq!(code, 0, "TG291 is a warning by default: {report:#}");

    let (code, report) = json(&["--today", "2027-01-01"], dir.path());
    assert_eq!(code, 1);
    let expired = findings(&report)
        .into_iter()
        .filter(|(r, _)| r == "TG290")
        .count();
    assert_eq!(expired, rules.len() + 1, "{report:#}");
}

#[test]
fn config_errors_exit_2_naming_file_and_line() {
    let dir = failing_repo();
    std::fs::write(
        dir.path().join("tracegate.yaml"),
        "rules:\n  TG999: off\nwaivers:\n  - rule: TG102\n    servce: x\n",
    )
    .unwrap();
    tracegate()
        .arg("check")
        .arg(dir.path())
        .assert()
        .code(2)
        .stdout("")
        .stderr(
            predicate::str::contains("tracegate.yaml:5:").and(predicate::str::contains("servce")),
        );

    std::fs::write(dir.path().join("tracegate.yaml"), "rules:\n  TG999: off\n").unwrap();
    tracegate()
        .arg("check")
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "tracegate.yaml:2: rules: unknown rule ID `TG999`",
        ));

    tracegate()
        .arg("check")
        .arg(dir.path())
        .arg("--config")
        .arg(dir.path().join("missing.yaml"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("missing.yaml"));
}

#[test]
fn usage_and_input_errors_exit_2() {
    tracegate()
        .args(["check", "/nonexistent/tracegate-test"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("/nonexistent/tracegate-test"));
    tracegate()
        .args(["check", ".", "--fail-on", "critical"])
        .assert()
        .code(2);
    tracegate()
        .args(["check", ".", "--format", "xml"])
        .assert()
        .code(2);
    let rules = tempfile::tempdir().unwrap();
    std::fs::write(rules.path().join("bad.yaml"), "rules: [\n").unwrap();
    tracegate()
        .args(["check"])
        .arg(failing_repo().path())
        .arg("--rules")
        .arg(rules.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("bad.yaml"));
}

#[test]
fn every_format_renders_a_failing_repository() {
    let dir = failing_repo();
    for format in ["table", "json", "sarif", "junit", "github", "markdown"] {
        let out = tracegate()
            .arg("check")
            .arg(dir.path())
            .args(["--format", format])
            .env_remove("GITHUB_STEP_SUMMARY")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{format}");
        let text = String::from_utf8(out.stdout).unwrap();
        let expect = match format {
            "table" => "verdict",
            "json" => "\"summary\"",
            "sarif" => "\"2.1.0\"",
            "junit" => "<testsuites",
            "github" => "::error file=",
            _ => "## tracegate check",
        };
        assert!(text.contains(expect), "{format}: {text}");
    }
}

#[test]
fn output_file_and_github_step_summary() {
    let repo = failing_repo();
    let dir = tempfile::tempdir().unwrap();
    let sarif = dir.path().join("out.sarif");
    tracegate()
        .arg("check")
        .arg(repo.path())
        .args(["--format", "sarif", "--output"])
        .arg(&sarif)
        .assert()
        .code(1)
        .stdout("")
        .stderr(
            predicate::str::contains("tracegate check: wrote ").and(predicate::str::contains(
                "out.sarif: 1 service: 0 passing, 1 failing",
            )),
        );
    let log: Value = serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap()).unwrap();
    assert_eq!(log["version"], "2.1.0");
    for result in log["runs"][0]["results"].as_array().unwrap() {
        let uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap();
        assert!(!uri.starts_with('/') && !uri.contains(".."), "{uri}");
    }

    let summary = dir.path().join("summary.md");
    std::fs::write(&summary, "earlier step\n").unwrap();
    tracegate()
        .arg("check")
        .arg(repo.path())
        .args(["--format", "github"])
        .env("GITHUB_STEP_SUMMARY", &summary)
        .assert()
        .code(1);
    let text = std::fs::read_to_string(&summary).unwrap();
    assert!(
        text.starts_with("earlier step\n## tracegate check"),
        "{text}"
    );
}

#[test]
fn unknown_services_fail_only_with_fail_on_unknown() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("tracegate.yaml"),
        "services:\n  - name: ledger\n    path: ledger\n    team: finance\n    language: unknown\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("ledger")).unwrap();
    std::fs::write(
        dir.path().join("ledger/main.cpp"),
        "int main() { return 0; }\n",
    )
    .unwrap();
    // The engine only sees files it classifies (a declared directory holding only C++ sources
    // is reported missing); a Dockerfile makes it visible.
    std::fs::write(
        dir.path().join("ledger/Dockerfile"),
        "FROM gcc:14\nCOPY . /src\nRUN g++ -o /ledger /src/main.cpp\nCMD [\"/ledger\"]\n",
    )
    .unwrap();
    let (code, report) = json(&[], dir.path());
    assert_eq!(report["services"][0]["verdict"], "unknown", "{report:#}");
    assert_eq!(report["summary"]["passing"], 0);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(json(&["--fail-on-unknown"], dir.path()).0, 1);
}

#[test]
fn rules_list_and_explain() {
    let out = tracegate().args(["rules", "list"]).assert().code(0);
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    for id in ["TG290", "TG291"] {
        assert!(text.contains(id), "{text}");
    }
    let out = tracegate()
        .args(["rules", "list", "--json"])
        .assert()
        .code(0);
    let rules: Vec<Value> = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let first = rules[0]["id"].as_str().unwrap().to_owned();
    tracegate()
        .args(["rules", "explain", &first.to_lowercase()])
        .assert()
        .code(0)
        .stdout(
            predicate::str::contains("What it checks")
                .and(predicate::str::contains("Why it matters"))
                .and(predicate::str::contains("How to fix"))
                .and(predicate::str::contains("Example"))
                .and(predicate::str::contains("onboarding.md#")),
        );
    tracegate()
        .args(["rules", "explain", "TG999"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown rule ID `TG999`"));
}

/// Every rule's `docs` anchor is a section of docs/onboarding.md.
#[test]
fn every_rule_has_its_onboarding_section() {
    let out = tracegate()
        .args(["rules", "list", "--json"])
        .assert()
        .code(0);
    let rules: Vec<Value> = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let doc = std::fs::read_to_string(repo().join("docs/onboarding.md")).unwrap();
    let anchors: Vec<String> = doc
        .lines()
        .filter_map(|l| l.strip_prefix("### "))
        .map(github_anchor)
        .collect();
    for rule in rules {
        let docs = rule["docs"].as_str().unwrap();
        let anchor = docs.rsplit('#').next().unwrap();
        assert!(
            anchors.iter().any(|a| a == anchor),
            "{}: no section `#{anchor}` in docs/onboarding.md",
            rule["id"]
        );
        let title = format!("**{}**", rule["title"].as_str().unwrap());
        assert!(
            doc.contains(&title),
            "{}: docs/onboarding.md does not carry the title {title} (refresh the Rules section)",
            rule["id"]
        );
    }
}

/// GitHub's heading anchor: lowercase, spaces to `-`, punctuation dropped.
fn github_anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

#[test]
fn help_has_examples() {
    for args in [
        &["check", "--help"][..],
        &["rules", "--help"],
        &["rules", "explain", "--help"],
    ] {
        tracegate()
            .args(args)
            .assert()
            .code(0)
            .stdout(predicate::str::contains("Examples:"));
    }
}

/// The reusable action calls flags that exist.
#[test]
fn the_github_action_uses_real_flags() {
    let text =
        std::fs::read_to_string(repo().join(".github/actions/tracegate/action.yml")).unwrap();
    let action: Value = serde_yaml::from_str(&text).unwrap();
    assert_eq!(action["runs"]["using"], "composite");
    let steps = action["runs"]["steps"].as_array().unwrap();
    assert!(steps.iter().any(|s| s["uses"]
        .as_str()
        .is_some_and(|u| u.starts_with("github/codeql-action/upload-sarif@"))));
    let help = tracegate().args(["check", "--help"]).output().unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    for flag in [
        "--format",
        "--output",
        "--fail-on",
        "--fail-on-unknown",
        "--config",
        "--rules",
    ] {
        assert!(text.contains(flag), "action does not pass {flag}");
        assert!(help.contains(flag), "check has no {flag}");
    }
}

/// The table a developer sees on the fixture monorepo, exactly.
#[test]
fn monorepo_table_snapshot() {
    let out = tracegate()
        .arg("check")
        .arg("fixtures/monorepo")
        .args(["--format", "table"])
        .current_dir(repo())
        // unwrapped and plain whatever the terminal running the tests
        .env_remove("COLUMNS")
        .env_remove("CLICOLOR_FORCE")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    insta::assert_snapshot!("monorepo_table", String::from_utf8(out.stdout).unwrap());
}

#[test]
fn a_declared_service_that_is_not_there_exits_2_with_its_line() {
    let dir = failing_repo();
    std::fs::write(
        dir.path().join("tracegate.yaml"),
        "# ownership\nservices:\n  - name: ghost\n    team: t\n    path: services/ghost\n",
    )
    .unwrap();
    tracegate()
        .arg("check")
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "tracegate.yaml:5: services[0].path: `services/ghost` is not a directory",
        ));
}

/// An input error names the file as the user can open it: under the path given to `check`.
#[test]
fn manifest_errors_name_the_file_under_the_checked_path() {
    let dir = tempfile::tempdir().unwrap();
    let svc = dir.path().join("services/web");
    std::fs::create_dir_all(&svc).unwrap();
    std::fs::write(svc.join("package.json"), "{\"name\": ").unwrap();
    tracegate()
        .current_dir(dir.path())
        .args(["check", "services/web", "--format", "json"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("services/web/package.json:"));
}

/// GitHub reads annotation files and SARIF locations relative to the repository root: when the
/// checked directory is below it, those formats put its path first (other formats do not).
#[test]
fn github_and_sarif_paths_are_relative_to_the_repository_root() {
    let repo = tempfile::tempdir().unwrap();
    let svc = repo.path().join("platform/cart");
    std::fs::create_dir_all(&svc).unwrap();
    std::fs::write(
        svc.join("go.mod"),
        "module example.com/cart\n\nrequire go.opentelemetry.io/otel/sdk v1.28.0\n",
    )
    .unwrap();
    std::fs::write(
        svc.join("main.go"),
        "package main\n\nimport sdktrace \"go.opentelemetry.io/otel/sdk/trace\"\n\nfunc main() {\n\t_ = sdktrace.NewTracerProvider(sdktrace.WithBatcher(nil))\n}\n",
    )
    .unwrap();
    let run = |cwd: &Path, workspace: Option<&Path>, format: &str| {
        let mut cmd = tracegate();
        cmd.current_dir(cwd).env_remove("GITHUB_WORKSPACE");
        if let Some(w) = workspace {
            cmd.env("GITHUB_WORKSPACE", w);
        }
        let out = cmd
            .args(["check", "platform", "--format", format])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let github = run(repo.path(), None, "github");
    assert!(
        github.contains("file=platform/cart/main.go,line=6"),
        "{github}"
    );
    let sarif = run(repo.path(), None, "sarif");
    assert!(
        sarif.contains("\"uri\": \"platform/cart/main.go\""),
        "{sarif}"
    );
    let json = run(repo.path(), None, "json");
    assert!(json.contains("\"file\": \"cart/main.go\""), "{json}");
    // In a job with `working-directory: tools`, the workspace still names the root.
    let tools = repo.path().join("tools");
    std::fs::create_dir_all(&tools).unwrap();
    std::os::unix::fs::symlink(repo.path().join("platform"), tools.join("platform")).unwrap();
    let github = run(&tools, Some(repo.path()), "github");
    assert!(github.contains("file=platform/cart/main.go"), "{github}");
}
