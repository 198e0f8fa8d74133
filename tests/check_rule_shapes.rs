//! Issue 19, "rules that see what the code and configuration really do": `tracegate check`
//! over mini-repositories laid out as real public repositories are
//! (`fixtures/check/rule-shapes/<shape>/`), each with the findings a careful human reader
//! expects (`expected.yaml`). See `fixtures/check/rule-shapes/INDEX.md`.
//!
//! Every rule finding (TG1xx, TG2xx, TG3xx; not the notes TG100/TG199 and not the policy
//! rules TG29x) of every reported service is matched against the expected findings of that
//! service: by rule, and by file and line where the expectation gives them. A reported
//! finding no expectation claims is a **false positive** of its rule; an expected finding no
//! report claims is a **false negative**. Findings of no service (an Ingress's TG204, a
//! ConfigMap's TG303) are those of the pseudo-service `(repository)`. A shape **passes** when
//! it has neither, every
//! expected service is reported (with its verdict, where given) and no other service is.
//!
//! Shapes that do not pass today are in [`KNOWN_GAPS`] with what is wrong: the test fails
//! when a shape outside that table stops passing, and when a shape in it starts passing
//! (remove it from the table and update INDEX.md). `cargo test --test check_rule_shapes --
//! --nocapture` prints each shape's misses and the false-positive/false-negative table by
//! rule that docs/check.md quotes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[path = "common/tree.rs"]
mod tree;

use assert_cmd::Command;
use serde::Deserialize;
use serde_json::Value;

/// Shape → what is wrong today (measured with this test). Keep it honest: a shape that starts
/// passing fails the test until it is removed from here.
const KNOWN_GAPS: &[(&str, &str)] = &[];

/// The name `expected.yaml` gives the findings of no service (`repository_findings`).
const REPOSITORY: &str = "(repository)";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expected {
    services: Vec<ExpectedService>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectedService {
    name: String,
    #[serde(default)]
    verdict: Option<String>,
    /// Every rule finding a careful reader expects of this service (none: an empty list).
    #[serde(default)]
    findings: Vec<ExpectedFinding>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectedFinding {
    rule: String,
    /// Relative to the shape's directory, `/` separators.
    #[serde(default)]
    file: Option<String>,
    #[serde(default)]
    line: Option<u64>,
    /// Words the finding's message must contain (lower-cased comparison).
    #[serde(default)]
    message_contains: Option<String>,
}

#[derive(Debug)]
struct ReportedFinding {
    rule: String,
    file: String,
    line: Option<u64>,
    message: String,
}

/// What one shape gave.
#[derive(Debug, Default)]
struct Outcome {
    problems: Vec<String>,
    /// Rule → (expected, right, false positives, false negatives).
    by_rule: BTreeMap<String, [usize; 4]>,
}

/// The rules this measure judges: TG1xx–TG3xx rule findings, not notes about the analysis
/// (TG100, TG199) nor the policy's own (TG29x).
fn judged(rule: &str) -> bool {
    let Some(n) = rule.strip_prefix("TG").and_then(|n| n.parse::<u32>().ok()) else {
        return false;
    };
    (101..400).contains(&n) && n != 199 && !(290..300).contains(&n)
}

fn shapes_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/check/rule-shapes")
}

fn shapes() -> Vec<String> {
    tree::subdirs(&shapes_dir())
}

fn expected_of(shape: &str) -> Expected {
    tree::read_yaml(&shapes_dir().join(shape).join("expected.yaml"))
}

fn str_of(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// Service name → (verdict, findings), as `check --format json` reports them.
type Report = BTreeMap<String, (String, Vec<ReportedFinding>)>;

fn run(shape: &str) -> Result<Report, String> {
    let dir = shapes_dir().join(shape);
    let out = Command::cargo_bin("tracegate")
        .unwrap()
        .args(["check", "--format", "json"])
        .arg(&dir)
        .env("TRACEGATE_CARGO", "")
        .output()
        .unwrap();
    if !matches!(out.status.code(), Some(0 | 1)) {
        return Err(format!(
            "exit {:?}: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let json: Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))?;
    let mut report = Report::new();
    for s in json["services"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let findings = s["findings"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|f| ReportedFinding {
                rule: str_of(f, "rule"),
                file: str_of(f, "file"),
                line: f.get("line").and_then(Value::as_u64),
                message: str_of(f, "message").to_lowercase(),
            })
            .collect();
        report.insert(str_of(s, "name"), (str_of(s, "verdict"), findings));
    }
    // Findings of no service (an Ingress, a ConfigMap): the pseudo-service `(repository)`,
    // reported only when it holds a judged finding.
    let repository: Vec<ReportedFinding> = json["repository_findings"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|f| ReportedFinding {
            rule: str_of(f, "rule"),
            file: str_of(f, "file"),
            line: f.get("line").and_then(Value::as_u64),
            message: str_of(f, "message").to_lowercase(),
        })
        .filter(|f| judged(&f.rule))
        .collect();
    if !repository.is_empty() {
        report.insert(REPOSITORY.to_string(), (String::new(), repository));
    }
    Ok(report)
}

fn claims(e: &ExpectedFinding, r: &ReportedFinding) -> bool {
    e.rule == r.rule
        && e.file.as_ref().is_none_or(|f| *f == r.file)
        && e.line.is_none_or(|l| Some(l) == r.line)
        && e.message_contains
            .as_ref()
            .is_none_or(|m| r.message.contains(&m.to_lowercase()))
}

fn judge(shape: &str) -> Outcome {
    let expected = expected_of(shape);
    let mut outcome = Outcome::default();
    let mut report = match run(shape) {
        Ok(r) => r,
        Err(e) => {
            outcome.problems.push(format!("no report: {e}"));
            return outcome;
        }
    };
    for svc in &expected.services {
        for f in &svc.findings {
            assert!(judged(&f.rule), "{shape}: {} is not a judged rule", f.rule);
            outcome.by_rule.entry(f.rule.clone()).or_default()[0] += 1;
        }
        let Some((verdict, findings)) = report.remove(&svc.name) else {
            outcome
                .problems
                .push(format!("service {} not reported", svc.name));
            for f in &svc.findings {
                outcome.by_rule.entry(f.rule.clone()).or_default()[3] += 1;
            }
            continue;
        };
        if let Some(v) = &svc.verdict {
            if *v != verdict {
                outcome
                    .problems
                    .push(format!("{}: verdict {verdict} (expected {v})", svc.name));
            }
        }
        let mut claimed = vec![false; findings.len()];
        for e in &svc.findings {
            let hit = findings
                .iter()
                .enumerate()
                .position(|(i, r)| !claimed[i] && claims(e, r));
            if let Some(i) = hit {
                claimed[i] = true;
                outcome.by_rule.entry(e.rule.clone()).or_default()[1] += 1;
            } else {
                outcome.by_rule.entry(e.rule.clone()).or_default()[3] += 1;
                outcome.problems.push(format!(
                    "{}: missed {} at {}:{}",
                    svc.name,
                    e.rule,
                    e.file.as_deref().unwrap_or("*"),
                    e.line.map_or("*".into(), |l| l.to_string())
                ));
            }
        }
        for (r, _) in findings
            .iter()
            .zip(&claimed)
            .filter(|(r, c)| !**c && judged(&r.rule))
        {
            outcome.by_rule.entry(r.rule.clone()).or_default()[2] += 1;
            outcome.problems.push(format!(
                "{}: unexpected {} at {}:{} ({})",
                svc.name,
                r.rule,
                r.file,
                r.line.map_or("-".into(), |l| l.to_string()),
                r.message
            ));
        }
    }
    for name in report.keys() {
        outcome
            .problems
            .push(format!("service {name} reported but not expected"));
    }
    outcome
}

#[test]
fn rule_shapes_give_the_findings_a_careful_reader_expects() {
    let mut totals: BTreeMap<String, [usize; 4]> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut passing = 0;
    let all = shapes();
    assert!(!all.is_empty(), "no shapes in {}", shapes_dir().display());
    for shape in &all {
        let outcome = judge(shape);
        for (rule, counts) in &outcome.by_rule {
            let t = totals.entry(rule.clone()).or_default();
            for k in 0..4 {
                t[k] += counts[k];
            }
        }
        let gap = KNOWN_GAPS.iter().find(|(s, _)| s == shape);
        let passes = outcome.problems.is_empty();
        if passes {
            passing += 1;
        }
        println!(
            "{shape}: {}",
            if passes {
                "passes".to_string()
            } else {
                outcome.problems.join("; ")
            }
        );
        match (passes, gap) {
            (true, Some(_)) => failures.push(format!(
                "{shape} passes now: remove it from KNOWN_GAPS and update INDEX.md"
            )),
            (false, None) => failures.push(format!("{shape}: {}", outcome.problems.join("; "))),
            _ => {}
        }
    }
    for (s, _) in KNOWN_GAPS {
        assert!(
            all.contains(&s.to_string()),
            "KNOWN_GAPS names no shape {s}"
        );
    }
    println!("\n| rule | expected | found | false positives | false negatives |");
    println!("|---|---|---|---|---|");
    for (rule, [e, r, fp, fneg]) in &totals {
        println!("| {rule} | {e} | {r} | {fp} | {fneg} |");
    }
    println!("\nrule shapes score: passing {passing}/{}", all.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn judged_rules_are_rule_findings_not_notes_or_policy() {
    assert!(judged("TG101"));
    assert!(judged("TG204"));
    assert!(judged("TG302"));
    assert!(!judged("TG100"));
    assert!(!judged("TG199"));
    assert!(!judged("TG291"));
    assert!(!judged("X123"));
}
