//! Records which commit the binary was built from, for `tracegate --version`:
//! `TRACEGATE_VERSION` = `0.1.0 (abc1234 2026-12-06)`, `0.1.0 (abc1234-dirty 2026-12-06)` with
//! uncommitted changes, or plain `0.1.0` outside a git checkout of this package (a crates.io
//! tarball, a source archive, no `git` installed). A build where `.git` is not available (a
//! container build) can name the commit with `TRACEGATE_BUILD_COMMIT` (`abc1234 2026-12-06`).
//!
//! Standard library only (the reference library's light build runs it too), and it never fails
//! the build: whatever goes wrong, the version is the package's.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let version = env("CARGO_PKG_VERSION").unwrap_or_default();
    println!("cargo:rerun-if-env-changed=TRACEGATE_BUILD_COMMIT");
    // Source edits change the dirty flag: watch what goes into the binary (a rerun costs a few
    // git calls, and the crate recompiles for these changes anyway).
    for path in ["build.rs", "Cargo.toml", "Cargo.lock", "src", "rules"] {
        println!("cargo:rerun-if-changed={path}");
    }
    let commit = match env("TRACEGATE_BUILD_COMMIT").filter(|c| !c.trim().is_empty()) {
        Some(given) => Some(given.trim().to_owned()),
        None => git_commit(),
    };
    match commit {
        Some(commit) => println!("cargo:rustc-env=TRACEGATE_VERSION={version} ({commit})"),
        None => println!("cargo:rustc-env=TRACEGATE_VERSION={version}"),
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// `abc1234 2026-12-06` (`abc1234-dirty …` with uncommitted changes to tracked files), when
/// this package is the top of a git checkout; `None` otherwise.
fn git_commit() -> Option<String> {
    let manifest_dir = PathBuf::from(env("CARGO_MANIFEST_DIR")?);
    // Only this package's own repository: a crate unpacked inside some other checkout (a
    // vendor directory) must not report that repository's commit.
    let top = git(&manifest_dir, &["rev-parse", "--show-toplevel"])?;
    if !same_dir(Path::new(&top), &manifest_dir) {
        return None;
    }
    // HEAD and the branch it points to (worktrees: `.git` is a file, HEAD lives in the
    // worktree's git dir and the branch in the common one; `--git-path` resolves both).
    for name in ["HEAD", "packed-refs"] {
        watch(&manifest_dir, name);
    }
    if let Some(branch) = git(&manifest_dir, &["symbolic-ref", "-q", "HEAD"]) {
        watch(&manifest_dir, &branch);
    }
    let hash = git(&manifest_dir, &["rev-parse", "--short=7", "HEAD"])?;
    let date = git(&manifest_dir, &["log", "-1", "--format=%cs", "HEAD"])?;
    let dirty = git(
        &manifest_dir,
        // --no-optional-locks: no index refresh written back (a write would look like a change
        // and rerun this script on every build).
        &[
            "--no-optional-locks",
            "status",
            "--porcelain",
            "--untracked-files=no",
        ],
    )
    .is_some_and(|out| !out.is_empty());
    let suffix = if dirty { "-dirty" } else { "" };
    Some(format!("{hash}{suffix} {date}"))
}

fn watch(dir: &Path, git_path: &str) {
    if let Some(path) = git(dir, &["rev-parse", "--git-path", git_path]) {
        let path = dir.join(path);
        if path.exists() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
}

/// A git command's trimmed stdout; `None` when git is missing or the command fails.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    Some(text.trim().to_owned())
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
