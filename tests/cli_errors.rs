//! Bad input a first user runs into, through the binary: every case exits 2 with one clear
//! line naming the file (or address), never a panic, a doubled message or a silent default.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Stdio};

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
