//! Parsers must not fail on valid code (issue 18), end to end through the binary: each
//! mini-repository under `fixtures/check/parsers/` (a shape found in the wild, and its twin
//! without tracing) gets no TG199 note, its verdict and exactly its rules, with and without the
//! pre-filter (without it every source file is parsed, so a parse failure anywhere would show).
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::PathBuf;

use assert_cmd::Command;
use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/check/parsers")
        .join(name)
}

/// `tracegate check DIR --format json` (plus `extra`): exit code and the one service.
fn check(name: &str, extra: &[&str]) -> (i32, Value) {
    let out = Command::cargo_bin("tracegate")
        .unwrap()
        .arg("check")
        .arg(fixture(name))
        .args(["--format", "json"])
        .args(extra)
        .output()
        .unwrap();
    let code = out.status.code().unwrap();
    let value: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{name}: exit {code}, not JSON ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let services = value["services"].as_array().unwrap();
    assert_eq!(services.len(), 1, "{name}: {value:#}");
    (code, services[0].clone())
}

fn rules(service: &Value) -> BTreeSet<String> {
    service["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_string())
        .collect()
}

/// (fixture, verdict, the exact rules).
const CASES: &[(&str, &str, &[&str])] = &[
    // Next.js: `pages/_document.tsx` (JSX in a class component's render), a `.jsx` and a `.js`
    // component with JSX, `instrumentation.ts`.
    ("nextjs-storefront", "pass", &[]),
    ("nextjs-storefront-untraced", "fail", &["TG101"]),
    // `.js` files with type annotations (Flow, stripped by Babel): read with TSX after the
    // JavaScript grammar fails.
    ("node-flow-annotated", "pass", &[]),
    ("node-flow-annotated-b3", "fail", &["TG102"]),
    // protoc's C# output: `#if !GOOGLE_PROTOBUF_REFSTRUCT_COMPATIBILITY_MODE` inside a base
    // list and around members, `#region`, `#pragma`.
    ("dotnet-grpc-protos", "pass", &[]),
    ("dotnet-grpc-protos-untraced", "fail", &["TG101"]),
    // .NET MAUI: `#if` inside a call chain and an `if` condition, `#if DEBUG` statements.
    ("maui-app", "pass", &[]),
    ("maui-app-untraced", "fail", &["TG101"]),
];

#[test]
fn valid_code_in_the_wild_shapes_parses_and_gets_its_verdict() {
    let mut failures = Vec::new();
    for (name, verdict, expected) in CASES {
        for extra in [&[][..], &["--no-prefilter"][..]] {
            let (code, service) = check(name, extra);
            let got = rules(&service);
            let want: BTreeSet<String> = expected.iter().map(|r| r.to_string()).collect();
            let want_code = if *verdict == "pass" { 0 } else { 1 };
            if got != want || service["verdict"] != *verdict || code != want_code {
                failures.push(format!(
                    "{name} {extra:?}: exit {code}, verdict {}, rules {got:?} (want {verdict}, {want:?})\n{service:#}",
                    service["verdict"]
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// A file with a real syntax error in one function: the TG199 note names its line, and the
/// B3 propagator set up in another function of the same file is still found (TG102).
#[test]
fn a_syntax_error_note_hides_no_finding_of_the_rest_of_the_file() {
    let (code, service) = check("node-syntax-error-b3", &[]);
    assert_eq!(code, 1, "{service:#}");
    assert_eq!(service["verdict"], "fail", "{service:#}");
    let findings = service["findings"].as_array().unwrap();
    let at = |rule: &str| {
        findings
            .iter()
            .find(|f| f["rule"] == rule)
            .map(|f| (f["file"].clone(), f["line"].clone()))
    };
    assert_eq!(
        at("TG199"),
        Some((Value::from("index.js"), Value::from(8))),
        "{service:#}"
    );
    assert_eq!(
        at("TG102"),
        Some((Value::from("index.js"), Value::from(13))),
        "{service:#}"
    );
}
