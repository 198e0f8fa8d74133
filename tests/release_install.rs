//! The GitHub Action's install step (`.github/actions/tracegate/install.sh`) against a release
//! served from 127.0.0.1: it downloads the archive and its `.sha256`, installs the binary only
//! when the checksum matches, and fails with a one-line message otherwise.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const TARGET: &str = "x86_64-unknown-linux-musl";
const TAG: &str = "v9.8.7";

/// A static file server for `root` on 127.0.0.1 (an ephemeral port), running until the test
/// process ends. Returns its base URL.
fn serve(root: PathBuf) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let app = axum::Router::new().route(
                "/{*path}",
                axum::routing::get(
                    move |axum::extract::Path(path): axum::extract::Path<String>| {
                        let file = root.join(&path);
                        async move {
                            match std::fs::read(&file) {
                                Ok(bytes) if !path.contains("..") => Ok(bytes),
                                _ => Err(axum::http::StatusCode::NOT_FOUND),
                            }
                        }
                    },
                ),
            );
            axum::serve(listener, app).await.unwrap();
        });
    });
    base
}

/// A release directory `TAG/` holding `tracegate-TARGET.tar.gz` (a stand-in `tracegate` that
/// prints a version line) and, when `checksum` is given, its `.sha256` with that digest (`None`:
/// the right one).
fn release(root: &Path, checksum: Option<&str>) {
    let stage = root.join("stage");
    std::fs::create_dir_all(&stage).unwrap();
    let bin = stage.join("tracegate");
    std::fs::write(&bin, "#!/bin/sh\necho \"tracegate 9.8.7 (stand-in)\"\n").unwrap();
    std::fs::write(stage.join("README.md"), "not installed\n").unwrap();
    let dir = root.join(TAG);
    std::fs::create_dir_all(&dir).unwrap();
    let asset = format!("tracegate-{TARGET}.tar.gz");
    let status = Command::new("tar")
        .arg("-czf")
        .arg(dir.join(&asset))
        .arg("-C")
        .arg(&stage)
        .args(["tracegate", "README.md"])
        .status()
        .unwrap();
    assert!(status.success());
    let out = Command::new("sha256sum")
        .arg(&asset)
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(out.status.success());
    let mut line = String::from_utf8(out.stdout).unwrap();
    if let Some(digest) = checksum {
        line = format!("{digest}  {asset}\n");
    }
    std::fs::write(dir.join(format!("{asset}.sha256")), line).unwrap();
}

fn install(base: &str, version: &str, dest: &Path) -> Output {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join(".github/actions/tracegate/install.sh");
    let mut child = Command::new("bash");
    child
        .arg(script)
        .arg(version)
        .arg(dest)
        .env("TRACEGATE_DOWNLOAD_URL", base)
        .env("TRACEGATE_TARGET", TARGET)
        .env_remove("TRACEGATE_REPOSITORY");
    child.output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_matching_checksum_installs_a_binary_that_runs() {
    let served = tempfile::tempdir().unwrap();
    release(served.path(), None);
    let base = serve(served.path().to_owned());
    let dest = tempfile::tempdir().unwrap();
    let bin_dir = dest.path().join("bin");

    let out = install(&base, TAG, &bin_dir);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains(&format!("installed tracegate {TAG} ({TARGET}")));
    let ran = Command::new(bin_dir.join("tracegate"))
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(text(&ran.stdout), "tracegate 9.8.7 (stand-in)\n");
    // Only the binary is installed.
    assert!(!bin_dir.join("README.md").exists());
}

#[test]
fn a_checksum_mismatch_installs_nothing_and_says_so() {
    let served = tempfile::tempdir().unwrap();
    release(served.path(), Some(&"0".repeat(64)));
    let base = serve(served.path().to_owned());
    let dest = tempfile::tempdir().unwrap();
    let bin_dir = dest.path().join("bin");

    let out = install(&base, TAG, &bin_dir);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with(&format!(
            "tracegate install: checksum mismatch for tracegate-{TARGET}.tar.gz: expected {}",
            "0".repeat(64)
        )),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(!bin_dir.join("tracegate").exists());
}

#[test]
fn a_missing_release_or_a_bad_version_fails_with_the_url_or_the_reason() {
    let served = tempfile::tempdir().unwrap();
    release(served.path(), None);
    let base = serve(served.path().to_owned());
    let dest = tempfile::tempdir().unwrap();

    let out = install(&base, "v0.0.1", dest.path());
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "cannot download {base}/v0.0.1/tracegate-{TARGET}.tar.gz"
        )),
        "{stderr}"
    );

    let out = install(&base, "main", dest.path());
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "tracegate install: version 'main' is not a release tag (vX.Y.Z)\n"
    );

    // A `.sha256` that holds no checksum is refused, not compared.
    std::fs::write(
        served
            .path()
            .join(TAG)
            .join(format!("tracegate-{TARGET}.tar.gz.sha256")),
        "<html>not found</html>\n",
    )
    .unwrap();
    let out = install(&base, TAG, dest.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains(".sha256 holds no SHA-256 checksum"),
        "{}",
        text(&out.stderr)
    );
    assert!(!dest.path().join("tracegate").exists());
}
