//! Cargo workspaces end to end: the binary on `fixtures/services/rust-workspace` reads the same
//! services and findings with `cargo metadata` and with the built-in TOML resolution (cargo
//! forced away with `TRACEGATE_CARGO`), a workspace cargo cannot read gets one TG199 note, and
//! nothing is ever written into the scanned tree.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/services/rust-workspace")
}

/// The cargo that builds these tests (so the "with cargo" runs really have one).
fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// `check --format json` on `root` with `TRACEGATE_CARGO` set to `cargo`.
fn check(root: &Path, cargo: &str) -> (i32, Value) {
    let out = Command::cargo_bin("tracegate")
        .unwrap()
        .env("TRACEGATE_CARGO", cargo)
        .arg("check")
        .arg(root)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let value: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap(), value)
}

/// `name verdict RULE@file:line …` per service, then repository findings.
fn outline(report: &Value) -> Vec<String> {
    let finding = |f: &Value| {
        format!(
            "{}@{}:{}",
            f["rule"].as_str().unwrap(),
            f["file"].as_str().unwrap_or("-"),
            f["line"].as_u64().unwrap_or(0)
        )
    };
    let mut out: Vec<String> = report["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let mut line = format!(
                "{} {} {}",
                s["name"].as_str().unwrap(),
                s["path"].as_str().unwrap(),
                s["verdict"].as_str().unwrap()
            );
            for f in s["findings"].as_array().unwrap() {
                line.push(' ');
                line.push_str(&finding(f));
            }
            line
        })
        .collect();
    for f in report["repository_findings"]
        .as_array()
        .into_iter()
        .flatten()
    {
        out.push(format!("repository {}", finding(f)));
    }
    out
}

/// Every file under `dir`, relative, sorted.
fn files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            if e.file_type().unwrap().is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn the_fixture_workspace_reads_the_same_with_cargo_and_without() {
    let before = files(&fixture());
    let (code, with_cargo) = check(&fixture(), &cargo());
    let (fallback_code, fallback) = check(&fixture(), "/nonexistent/cargo");
    // The renamed, inherited SDK counts (no TG101); the binary at a custom path is a service;
    // the library member is not; the member without a propagator fails.
    let expected = vec![
        "billing crates/billing fail TG102@crates/billing/src/main.rs:9".to_string(),
        "gateway crates/gateway pass".to_string(),
    ];
    assert_eq!(outline(&with_cargo), expected, "{with_cargo:#}");
    assert_eq!(code, 1);
    assert_eq!(with_cargo, fallback);
    assert_eq!(fallback_code, code);
    // cargo metadata --no-deps --frozen wrote nothing: no Cargo.lock, no target/.
    assert_eq!(files(&fixture()), before);
    assert!(
        !before.iter().any(|f| f.ends_with("Cargo.lock")),
        "{before:?}"
    );
}

/// A member's inherited, renamed dependency is the package the root names, located where the
/// member writes it: here the SDK (so no TG101), anchoring TG102 (no propagator set).
#[test]
fn inherited_dependencies_point_at_the_members_line() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(
        root.join("Cargo.toml"),
        "[workspace]\nmembers = [\"api\"]\n\n[workspace.dependencies]\nsdk = { package = \"opentelemetry_sdk\", version = \"0.31\" }\n",
    )
    .unwrap();
    std::fs::create_dir_all(root.join("api/src")).unwrap();
    std::fs::write(
        root.join("api/Cargo.toml"),
        "[package]\nname = \"api\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nsdk = { workspace = true }\n",
    )
    .unwrap();
    std::fs::write(root.join("api/src/main.rs"), "fn main() {}\n").unwrap();
    for cargo in [cargo(), "/nonexistent/cargo".into()] {
        let (_, report) = check(root, &cargo);
        assert_eq!(
            outline(&report),
            vec!["api api fail TG102@api/Cargo.toml:7".to_string()],
            "{report:#}"
        );
        let message = report["services"][0]["findings"][0]["message"]
            .as_str()
            .unwrap();
        assert!(
            message.ends_with("(at dependency `opentelemetry_sdk`)"),
            "{message}"
        );
    }
    assert!(!root.join("Cargo.lock").exists());
}

/// cargo fails on a workspace (a member directory is missing): the built-in resolution stands
/// and one TG199 note on the root says why; without cargo there is no note.
#[test]
fn a_workspace_cargo_cannot_read_gets_one_note() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for f in files(&fixture()) {
        let to = root.join(&f);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(fixture().join(&f), to).unwrap();
    }
    let manifest = root.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        text.replace("[\"crates/*\"]", "[\"crates/*\", \"crates/missing\"]"),
    )
    .unwrap();
    let (_, with_cargo) = check(root, &cargo());
    let (_, fallback) = check(root, "/nonexistent/cargo");
    let notes = outline(&with_cargo);
    assert_eq!(
        notes,
        vec![
            "billing crates/billing fail TG102@crates/billing/src/main.rs:9".to_string(),
            "gateway crates/gateway pass".to_string(),
            "repository TG199@Cargo.toml:0".to_string(),
        ],
        "{with_cargo:#}"
    );
    let message = with_cargo["repository_findings"][0]["message"]
        .as_str()
        .unwrap();
    assert!(
        message.contains("`cargo metadata` failed")
            && message.contains("`crates/missing`")
            && !message.contains(&root.display().to_string()),
        "{message}"
    );
    assert!(
        fallback.get("repository_findings").is_none(),
        "{fallback:#}"
    );
    assert_eq!(with_cargo["services"], fallback["services"]);
    assert!(!root.join("Cargo.lock").exists());
}

/// A member checked alone (`tracegate check crates/billing`): its workspace root is above the
/// scanned directory and still resolves its inherited, renamed SDK.
#[test]
fn a_member_checked_alone_reads_its_workspace_root() {
    let member = fixture().join("crates/billing");
    let (_, with_cargo) = check(&member, &cargo());
    let (_, fallback) = check(&member, "/nonexistent/cargo");
    assert_eq!(
        outline(&with_cargo),
        vec!["billing . fail TG102@src/main.rs:9".to_string()],
        "{with_cargo:#}"
    );
    assert_eq!(with_cargo, fallback);
}

/// The same with a workspace cargo cannot read: the note goes to the member's manifest and
/// names the root.
#[test]
fn a_member_checked_alone_in_a_broken_workspace_gets_one_note() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for f in files(&fixture()) {
        let to = root.join(&f);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(fixture().join(&f), to).unwrap();
    }
    let manifest = root.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, text.replace("crates/*", "crates/*\", \"gone")).unwrap();
    let (_, report) = check(&root.join("crates/billing"), &cargo());
    let notes: Vec<&Value> = report["services"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "TG199")
        .collect();
    assert_eq!(notes.len(), 1, "{report:#}");
    assert_eq!(notes[0]["file"], "Cargo.toml");
    let message = notes[0]["message"].as_str().unwrap();
    assert!(
        message.contains("on the workspace root ../../Cargo.toml") && message.contains("`gone`"),
        "{message}"
    );
}

/// A stand-in for cargo that logs how it is run, then runs the real one (or prints `output`).
#[cfg(unix)]
fn fake_cargo(dir: &Path, output: Option<&str>) -> (PathBuf, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let log = dir.join("cargo.log");
    let script = dir.join("fake-cargo");
    let tail = match output {
        Some(text) => format!("echo '{text}'"),
        None => format!("exec '{}' \"$@\"", cargo()),
    };
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"pwd=$(pwd -P) auto_install=$RUSTUP_AUTO_INSTALL args=$*\" >> '{}'\n{tail}\n",
            log.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    (script, log)
}

/// How cargo is run: `metadata --no-deps --frozen` on the root's absolute manifest, from a
/// directory outside the scanned tree, never installing a toolchain; once per workspace; and
/// never for standalone crates.
#[cfg(unix)]
#[test]
fn cargo_runs_once_per_workspace_offline_and_never_for_standalone_crates() {
    let dir = tempfile::tempdir().unwrap();
    let (script, log) = fake_cargo(dir.path(), None);
    let script = script.to_str().unwrap();
    let (_, report) = check(&fixture(), script);
    let (_, plain) = check(&fixture(), "/nonexistent/cargo");
    assert_eq!(report, plain);
    let lines = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = lines.lines().collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    let manifest = fixture().canonicalize().unwrap().join("Cargo.toml");
    let line = lines[0];
    assert!(line.contains("auto_install=0"), "{line}");
    assert!(
        line.contains(&format!(
            "args=metadata --format-version 1 --no-deps --manifest-path {} --frozen",
            manifest.display()
        )),
        "{line}"
    );
    let pwd = line
        .split_whitespace()
        .next()
        .unwrap()
        .trim_start_matches("pwd=");
    // The filesystem root: outside the repository and not a shared, writable temp directory.
    assert_eq!(Path::new(pwd).parent(), None, "{line}");
    std::fs::remove_file(&log).unwrap();
    let standalone = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/services/rust-pass");
    let (code, _) = check(&standalone, script);
    assert_eq!(code, 0);
    assert!(!log.exists(), "cargo ran for a standalone crate");
}

/// `$CARGO` names cargo when `TRACEGATE_CARGO` is unset; `TRACEGATE_CARGO=` (empty) never runs
/// it.
#[cfg(unix)]
#[test]
fn cargo_from_the_environment_and_the_empty_switch() {
    let dir = tempfile::tempdir().unwrap();
    let (script, log) = fake_cargo(dir.path(), None);
    let run = |tracegate_cargo: Option<&str>| {
        let mut cmd = Command::cargo_bin("tracegate").unwrap();
        cmd.env("CARGO", &script).env_remove("TRACEGATE_CARGO");
        if let Some(v) = tracegate_cargo {
            cmd.env("TRACEGATE_CARGO", v);
        }
        let out = cmd
            .arg("check")
            .arg(fixture())
            .args(["--format", "json"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
    };
    run(Some(""));
    assert!(!log.exists(), "cargo ran with TRACEGATE_CARGO empty");
    run(None);
    assert_eq!(std::fs::read_to_string(&log).unwrap().lines().count(), 1);
}

/// A cargo that answers something other than metadata: a note, and the TOML reading stands.
#[cfg(unix)]
#[test]
fn unreadable_cargo_output_is_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let (script, _) = fake_cargo(dir.path(), Some("not json"));
    let (_, report) = check(&fixture(), script.to_str().unwrap());
    let (_, plain) = check(&fixture(), "/nonexistent/cargo");
    assert_eq!(report["services"], plain["services"]);
    let message = report["repository_findings"][0]["message"]
        .as_str()
        .unwrap();
    assert!(message.contains("unreadable output"), "{message}");
}

/// No test run leaves a Cargo.lock in the fixtures (cargo is only ever run with --frozen).
#[test]
fn fixtures_hold_no_cargo_lock() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let locks: Vec<String> = files(&fixtures)
        .into_iter()
        .filter(|f| f.ends_with("Cargo.lock"))
        .collect();
    assert!(locks.is_empty(), "{locks:?}");
}

/// A service crate with a `cargo fuzz` crate beside it (as `cargo fuzz init` lays it out: its
/// own workspace root under `fuzz/`, `[package.metadata] cargo-fuzz = true`, harnesses under
/// `fuzz_targets/`): the harnesses are no service, with cargo and without; the service is.
#[test]
fn a_cargo_fuzz_crate_is_no_service() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let write = |rel: &str, text: &str| {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write(
        "Cargo.toml",
        "[package]\nname = \"gateway\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n",
    );
    write("src/main.rs", "fn main() {}\n");
    write(
        "fuzz/Cargo.toml",
        "[package]\nname = \"gateway-fuzz\"\nversion = \"0.0.0\"\npublish = false\nedition = \"2021\"\n\n\
         [package.metadata]\ncargo-fuzz = true\n\n[dependencies]\ngateway = { path = \"..\" }\n\n\
         [workspace]\nmembers = [\".\"]\n\n[[bin]]\nname = \"parse\"\npath = \"fuzz_targets/parse.rs\"\ntest = false\ndoc = false\n",
    );
    write(
        "fuzz/fuzz_targets/parse.rs",
        "#![no_main]\nfn parse(_: &[u8]) {}\n",
    );
    for cargo in [cargo(), String::new()] {
        let (_, report) = check(root, &cargo);
        let names: Vec<&str> = report["services"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["gateway"], "TRACEGATE_CARGO={cargo:?}: {report}");
    }
}
