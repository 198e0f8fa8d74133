//! What a user installing tracegate sees: `--version` naming the commit, shell completions, the
//! man page, and the release profile that makes the shipped binary small. Builds nothing new.
#![allow(clippy::unwrap_used)]

use assert_cmd::Command;
use predicates::prelude::*;

fn tracegate() -> Command {
    Command::cargo_bin("tracegate").unwrap()
}

fn manifest_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The commit this checkout is at, the way `--version` writes it; `None` outside git.
fn git_head() -> Option<String> {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(manifest_dir())
        .args(["log", "-1", "--format=%h %cs", "--abbrev=7"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

#[test]
fn version_names_the_package_version_and_the_commit() {
    let out = tracegate().arg("--version").assert().code(0);
    let line = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    let expected = format!("tracegate {} ", env!("CARGO_PKG_VERSION"));
    assert!(line.starts_with(&expected), "{line}");
    assert_eq!(line.lines().count(), 1, "{line}");
    if std::env::var_os("TRACEGATE_BUILD_COMMIT").is_none() {
        if let Some(head) = git_head() {
            // `0.1.0 (abc1234 2026-12-06)` or `(abc1234-dirty 2026-12-06)`: this very commit.
            let (hash, date) = head.split_once(' ').unwrap();
            let clean = format!("({hash} {date})\n");
            let dirty = format!("({hash}-dirty {date})\n");
            assert!(
                line.ends_with(&clean) || line.ends_with(&dirty),
                "{line} names {head}"
            );
        }
    }
}

#[test]
fn bash_completions_know_the_subcommands_and_their_flags() {
    let out = tracegate().args(["completions", "bash"]).assert().code(0);
    let script = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(script.contains("complete -F _tracegate"), "{script}");
    for word in [
        "check",
        "verify",
        "coverage",
        "completions",
        "--format",
        "--fail-on",
    ] {
        assert!(script.contains(word), "{word} missing");
    }
}

#[test]
fn every_shell_gets_a_script_and_an_unknown_shell_is_a_usage_error() {
    for (shell, marker) in [
        ("zsh", "#compdef tracegate"),
        ("fish", "complete -c tracegate"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        tracegate()
            .args(["completions", shell])
            .assert()
            .code(0)
            .stdout(predicate::str::contains(marker));
    }
    tracegate()
        .args(["completions", "tcsh"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("invalid value 'tcsh'"));
}

#[test]
fn man_prints_a_roff_page_of_the_commands() {
    let out = tracegate().arg("man").assert().code(0);
    let page = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(
        page.starts_with(".ie \\n(.g .ds Aq") || page.starts_with(".TH"),
        "{page}"
    );
    assert!(page.contains(".TH tracegate 1"), "{page}");
    assert!(page.contains("tracegate\\-check"), "{page}");
    assert!(page.contains(env!("CARGO_PKG_VERSION")), "{page}");
}

/// The shipped binary is small: no debug info in `release` (and so in `release-lto`, which
/// inherits it). BENCHMARKS.md "Release binary size" has the numbers.
#[test]
fn the_release_profile_strips_debug_info() {
    let text = std::fs::read_to_string(manifest_dir().join("Cargo.toml")).unwrap();
    let manifest: toml::Table = text.parse().unwrap();
    let release = &manifest["profile"]["release"];
    assert_eq!(release["debug"].as_bool(), Some(false), "{release}");
    assert!(
        matches!(release["strip"].as_str(), Some("debuginfo" | "symbols")),
        "{release}"
    );
    let lto = &manifest["profile"]["release-lto"];
    assert_eq!(lto["inherits"].as_str(), Some("release"), "{lto}");
    assert_eq!(lto["strip"].as_str(), Some("symbols"), "{lto}");
    assert_eq!(
        manifest["package"]["repository"].as_str(),
        Some("https://github.com/tracegate/tracegate")
    );
}

/// When a release binary sits next to the test's own build (`cargo build --release` in the
/// same target directory, after the last change to Cargo.toml), it is the small one: about
/// 42 MB without debug info, 158 MB with line tables (BENCHMARKS.md, "Release binary size").
#[test]
fn a_release_binary_next_to_this_build_is_small() {
    let debug_bin = std::path::PathBuf::from(env!("CARGO_BIN_EXE_tracegate"));
    let Some(target) = debug_bin.parent().and_then(|d| d.parent()) else {
        return;
    };
    let release = target.join("release").join("tracegate");
    let manifest = manifest_dir().join("Cargo.toml");
    let modified = |p: &std::path::Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    match (modified(&release), modified(&manifest)) {
        (Some(built), Some(edited)) if built >= edited => {
            let size = std::fs::metadata(&release).unwrap().len();
            assert!(
                size < 64_000_000,
                "{}: {size} bytes; the release profile should strip debug info",
                release.display()
            );
        }
        // said on the test output (libtest hides `eprintln!` of a passing test)
        _ => {
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "a_release_binary_next_to_this_build_is_small: SKIPPED: no release binary newer \
                 than Cargo.toml at {}: its size is not checked (BENCHMARKS.md has the last \
                 measurement)",
                release.display()
            );
        }
    }
}
