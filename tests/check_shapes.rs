//! Issue 18, "What is a service": `tracegate check` over mini-repositories laid out as real
//! public microservice repositories are (`fixtures/check/shapes/<shape>/`), each with the list
//! of services a careful human reader expects (`expected.yaml`). See
//! `fixtures/check/shapes/INDEX.md`.
//!
//! For every shape the reported services are compared with the expected ones. A shape passes
//! when every expected service is reported with its language (and verdict, where the fixture
//! gives one), nothing else is reported as a service, and the expected infrastructure is listed
//! as such. Shapes that do not pass today are in [`KNOWN_GAPS`] with what is wrong: the test
//! fails when a shape outside that table stops passing, and when a shape in it starts passing
//! (remove it from the table, and update INDEX.md).
//!
//! `cargo test --test check_shapes -- --nocapture` prints the table per shape and the overall
//! score line (`shapes score: services right R/E, phantoms P, ...`), the figure issue 18's next
//! steps improve.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

#[path = "common/tree.rs"]
mod tree;

use assert_cmd::Command;
use serde::Deserialize;
use serde_json::Value;

/// Shape → what is wrong today (measured with this test). Keep it honest: a shape that starts
/// passing fails the test until it is removed from here.
const KNOWN_GAPS: &[(&str, &str)] = &[];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expected {
    services: Vec<ExpectedService>,
    #[serde(default)]
    not_services: Vec<String>,
    #[serde(default)]
    infrastructure: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectedService {
    name: String,
    path: String,
    language: String,
    /// For an `unknown` service: the language the report must name (its `language`, or a
    /// finding's message or help), e.g. `php`.
    #[serde(default)]
    language_named: Option<String>,
    #[serde(default)]
    verdict: Option<String>,
}

/// One service as `check --format json` reports it.
#[derive(Debug)]
struct Reported {
    name: String,
    path: String,
    language: String,
    verdict: String,
    /// Every finding's message and help, lower-cased, for `language_named`.
    text: String,
}

/// What one shape gave, against what it should give.
#[derive(Debug, Default)]
struct Outcome {
    expected: usize,
    right: usize,
    /// Expected services reported, right or not.
    found: usize,
    phantoms: Vec<String>,
    problems: Vec<String>,
    infra_expected: usize,
    infra_listed: usize,
}

impl Outcome {
    fn passes(&self) -> bool {
        self.problems.is_empty()
    }
}

fn shapes_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/check/shapes")
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

/// Runs the built binary on the shape. `Err` carries the exit code and stderr when the run
/// gave no report (exit 2).
fn run(shape: &str) -> Result<(Vec<Reported>, BTreeSet<String>), String> {
    let out = Command::cargo_bin("tracegate")
        .unwrap()
        .args(["check", "--format", "json"])
        .arg(shapes_dir().join(shape))
        // Never run cargo on the fixtures: the same services on every machine.
        .env("TRACEGATE_CARGO", "")
        .env_remove("NO_COLOR")
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
    let services = json["services"]
        .as_array()
        .map(|a| a.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|s| Reported {
            name: str_of(s, "name"),
            path: str_of(s, "path"),
            language: str_of(s, "language"),
            verdict: str_of(s, "verdict"),
            text: s["findings"]
                .as_array()
                .map(|a| a.as_slice())
                .unwrap_or_default()
                .iter()
                .map(|f| format!("{} {}", str_of(f, "message"), str_of(f, "help")))
                .collect::<Vec<_>>()
                .join("\n")
                .to_lowercase(),
        })
        .collect();
    let infrastructure = json["infrastructure"]
        .as_array()
        .map(|a| a.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|i| match i {
            Value::String(s) => s.clone(),
            other => str_of(other, "name"),
        })
        .collect();
    Ok((services, infrastructure))
}

/// Compares a shape's report with its expected lists.
fn judge(shape: &str) -> Outcome {
    let expected = expected_of(shape);
    let mut outcome = Outcome {
        expected: expected.services.len(),
        infra_expected: expected.infrastructure.len(),
        ..Outcome::default()
    };
    let (reported, infrastructure) = match run(shape) {
        Ok(r) => r,
        Err(e) => {
            outcome.problems.push(format!("no report: {e}"));
            return outcome;
        }
    };
    // A reported service answers for an expected one by name; by path only where a single
    // expected service lives at that path (two workloads of one image share it).
    let mut claimed = vec![false; reported.len()];
    let mut matches: Vec<Option<usize>> = Vec::new();
    for e in &expected.services {
        let found = reported
            .iter()
            .enumerate()
            .find(|(i, r)| !claimed[*i] && r.name == e.name)
            .map(|(i, _)| i);
        matches.push(found);
        if let Some(i) = found {
            claimed[i] = true;
        }
    }
    for (k, e) in expected.services.iter().enumerate() {
        let path_unique = expected
            .services
            .iter()
            .filter(|o| o.path == e.path)
            .count()
            == 1;
        if matches[k].is_none() && path_unique {
            let found = reported
                .iter()
                .enumerate()
                .find(|(i, r)| !claimed[*i] && r.path == e.path)
                .map(|(i, _)| i);
            if let Some(i) = found {
                claimed[i] = true;
            }
            matches[k] = found;
        }
    }
    for (e, m) in expected.services.iter().zip(&matches) {
        let Some(i) = *m else {
            outcome
                .problems
                .push(format!("missing {} ({})", e.name, e.path));
            continue;
        };
        outcome.found += 1;
        let r = &reported[i];
        let mut wrong = Vec::new();
        // Found by its path: the name a careful reader uses is the deployment's.
        if r.name != e.name {
            wrong.push(format!("named {} (expected {})", r.name, e.name));
        }
        if r.language != e.language {
            wrong.push(format!("language {} (expected {})", r.language, e.language));
        }
        if let Some(v) = &e.verdict {
            if &r.verdict != v {
                wrong.push(format!("verdict {} (expected {v})", r.verdict));
            }
        }
        if let Some(lang) = &e.language_named {
            let lang = lang.to_lowercase();
            if r.language.to_lowercase() != lang && !r.text.contains(&lang) {
                wrong.push(format!("language {lang} not named"));
            }
        }
        if wrong.is_empty() {
            outcome.right += 1;
        } else {
            outcome.problems.push(format!(
                "{} reported as {} at {}: {}",
                e.name,
                r.name,
                r.path,
                wrong.join(", ")
            ));
        }
    }
    for (r, _) in reported.iter().zip(&claimed).filter(|(_, c)| !**c) {
        let listed = expected
            .not_services
            .iter()
            .any(|n| *n == r.name || *n == r.path);
        let label = format!(
            "{} ({}, {}, {}){}",
            r.name,
            r.path,
            r.language,
            r.verdict,
            if listed { " [not_services]" } else { "" }
        );
        outcome.problems.push(format!("phantom {label}"));
        outcome.phantoms.push(label);
    }
    for infra in &expected.infrastructure {
        if infrastructure.contains(infra) {
            outcome.infra_listed += 1;
        } else {
            outcome
                .problems
                .push(format!("infrastructure {infra} not listed"));
        }
    }
    outcome
}

#[test]
fn every_shape_has_expectations_and_every_known_gap_a_shape() {
    let shapes = shapes();
    assert!(shapes.len() >= 10, "{shapes:?}");
    for shape in &shapes {
        let expected = expected_of(shape);
        assert!(
            !expected.services.is_empty(),
            "{shape}: no expected service"
        );
        assert!(
            shapes_dir().join(shape).join("README.md").is_file(),
            "{shape}: README.md missing"
        );
        for s in &expected.services {
            assert!(
                shapes_dir().join(shape).join(&s.path).is_dir(),
                "{shape}: {} has no directory {}",
                s.name,
                s.path
            );
        }
    }
    for (gap, reason) in KNOWN_GAPS {
        assert!(
            shapes.iter().any(|s| s == gap),
            "KNOWN_GAPS: no shape {gap}"
        );
        assert!(
            !reason.trim().is_empty(),
            "KNOWN_GAPS: {gap} needs a reason"
        );
    }
}

#[test]
fn shapes_against_expected_services() {
    let shapes = shapes();
    let outcomes: Vec<(String, Outcome)> = std::thread::scope(|scope| {
        let handles: Vec<_> = shapes
            .iter()
            .map(|shape| scope.spawn(move || (shape.clone(), judge(shape))))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });

    let (mut expected, mut right, mut found, mut phantoms) = (0, 0, 0, 0);
    let (mut infra_expected, mut infra_listed) = (0, 0);
    let mut failures = Vec::new();
    let mut table = String::new();
    for (shape, o) in &outcomes {
        expected += o.expected;
        right += o.right;
        found += o.found;
        phantoms += o.phantoms.len();
        infra_expected += o.infra_expected;
        infra_listed += o.infra_listed;
        let gap = KNOWN_GAPS.iter().find(|(g, _)| g == shape);
        table.push_str(&format!(
            "{shape:<34} {:<5} right {}/{} phantoms {}{}\n",
            if o.passes() { "pass" } else { "FAIL" },
            o.right,
            o.expected,
            o.phantoms.len(),
            if gap.is_some() { "  (known gap)" } else { "" }
        ));
        for p in &o.problems {
            table.push_str(&format!("    {p}\n"));
        }
        match (o.passes(), gap) {
            (false, None) => failures.push(format!(
                "{shape}: does not pass and is not a known gap:\n    {}",
                o.problems.join("\n    ")
            )),
            (true, Some((_, reason))) => failures.push(format!(
                "{shape}: passes now, remove it from KNOWN_GAPS (was: {reason}) and update INDEX.md"
            )),
            _ => {}
        }
    }
    let passing = outcomes.iter().filter(|(_, o)| o.passes()).count();
    println!("{table}");
    println!(
        "shapes score: services right {right}/{expected}, found {found}/{expected}, \
         phantoms {phantoms}, infrastructure listed {infra_listed}/{infra_expected}, \
         shapes passing {passing}/{}",
        outcomes.len()
    );
    assert!(failures.is_empty(), "{}\n\n{table}", failures.join("\n"));
}
