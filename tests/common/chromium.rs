//! Headless Chromium for the HTML tests (`coverage_html_chromium.rs`, `collect_ui_chromium.rs`):
//! which browser, and one bounded headless run. Included with `#[path]`.
//!
//! The browser is `$TRACEGATE_CHROMIUM` when set, else the first of `chromium` (Debian),
//! `chromium-browser`, `google-chrome-stable`, `google-chrome` (GitHub's Ubuntu runners) that
//! runs. A test skips, with a message, only when none is installed and `CI` is unset
//! ([`browser_or_skip`]); in CI `.ci/setup` installs Debian's `chromium` when none is there,
//! and the test must run.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub const BROWSER_TIMEOUT: Duration = Duration::from_secs(90);

pub fn chromium() -> Option<String> {
    let chosen = std::env::var("TRACEGATE_CHROMIUM").ok();
    let candidates = [
        "chromium",
        "chromium-browser",
        "google-chrome-stable",
        "google-chrome",
    ];
    let names: Vec<String> = match chosen {
        Some(browser) => vec![browser],
        None => candidates.iter().map(|s| s.to_string()).collect(),
    };
    names.into_iter().find(|b| {
        Command::new(b)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// The browser, or `None` after saying why the test is skipped; panics when none is installed
/// and `CI` is set.
pub fn browser_or_skip() -> Option<String> {
    let browser = chromium();
    if browser.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "chromium is not installed, and CI is set: .ci/setup installs it (apt-get install chromium)"
        );
        // on the test output: libtest hides `eprintln!` of a passing test
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: chromium is not installed (CI unset); `bash .ci/setup` installs it"
        );
    }
    browser
}

/// Runs the browser headless on `url` (a `file://` or `http://127.0.0.1` URL) with `args`,
/// killed after [`BROWSER_TIMEOUT`]; returns its stdout. `profile` is a scratch directory.
pub fn run(browser: &str, profile: &Path, url: &str, args: &[String]) -> String {
    let stdout = profile.join("stdout");
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            "--no-proxy-server",
        ])
        .arg(format!(
            "--user-data-dir={}",
            profile.join("profile").display()
        ))
        .args(args)
        .arg(url)
        .stdout(std::fs::File::create(&stdout).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{browser} {args:?} exited with {status}");
            break;
        }
        if started.elapsed() > BROWSER_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{browser} {args:?} did not finish in {BROWSER_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    std::fs::read_to_string(stdout).unwrap()
}
