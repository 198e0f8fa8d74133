//! `coverage --format html` in a real browser: the fixture organisation's report
//! (`fixtures/coverage/report/2026-W48.json`) rendered, opened in headless Chromium, its DOM
//! dumped (the trend chart, the broken edge's label and every service are there once the
//! browser has parsed the page), a screenshot taken and the page printed to PDF.
//!
//! The browser is `$TRACEGATE_CHROMIUM` when set, else the first of `chromium` (Debian),
//! `chromium-browser`, `google-chrome-stable`, `google-chrome` (GitHub's Ubuntu runners) that
//! runs. Skipped, with a message, only when none is installed and `CI` is unset; in CI
//! `.ci/setup` installs Debian's `chromium` when none is there, and the test must run.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tracegate::coverage::CoverageReport;
use tracegate::report::coverage::{render, Format};

const BROWSER_TIMEOUT: Duration = Duration::from_secs(90);

fn chromium() -> Option<String> {
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

/// Runs the browser headless on `page` with `args`, killed after [`BROWSER_TIMEOUT`]; returns
/// its stdout.
fn run(browser: &str, profile: &Path, page: &Path, args: &[String]) -> String {
    let stdout = profile.join("stdout");
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
        ])
        .arg(format!(
            "--user-data-dir={}",
            profile.join("profile").display()
        ))
        .args(args)
        .arg(format!("file://{}", page.display()))
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

#[test]
fn the_fixture_report_opens_in_headless_chromium_and_prints() {
    let Some(browser) = chromium() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "chromium is not installed, and CI is set: .ci/setup installs it (apt-get install chromium)"
        );
        eprintln!("skipped: chromium is not installed (CI unset); `bash .ci/setup` installs it");
        return;
    };
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/coverage/report/2026-W48.json");
    let report: CoverageReport =
        serde_json::from_str(&std::fs::read_to_string(&fixture).unwrap()).unwrap();
    let html = render(Format::Html, &report).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("coverage.html");
    std::fs::write(&page, &html).unwrap();

    let dom = run(&browser, dir.path(), &page, &["--dump-dom".to_owned()]);
    assert!(
        dom.contains("<svg id=\"trend-chart\""),
        "no trend chart in the DOM"
    );
    assert!(dom.contains("<polyline"), "no trend line in the DOM");
    assert!(
        dom.contains("<svg id=\"service-graph\""),
        "no service graph in the DOM"
    );
    assert!(
        dom.contains("data-caller=\"checkout\" data-callee=\"pricing\""),
        "no checkout → pricing edge"
    );
    assert!(
        dom.contains(">BROKEN: 40 of 40 calls</text>"),
        "the broken edge's label is missing"
    );
    assert!(!report.services.is_empty());
    for service in &report.services {
        assert!(
            dom.contains(&format!("<tr data-service=\"{}\">", service.name)),
            "service {} missing from the DOM",
            service.name
        );
    }

    let screenshot = dir.path().join("coverage.png");
    run(
        &browser,
        dir.path(),
        &page,
        &[
            format!("--screenshot={}", screenshot.display()),
            "--window-size=1200,2000".to_owned(),
        ],
    );
    let png = std::fs::read(&screenshot).unwrap();
    assert!(png.starts_with(b"\x89PNG"), "the screenshot is not a PNG");

    let pdf = dir.path().join("coverage.pdf");
    run(
        &browser,
        dir.path(),
        &page,
        &[
            format!("--print-to-pdf={}", pdf.display()),
            "--no-pdf-header-footer".to_owned(),
        ],
    );
    let bytes = std::fs::read(&pdf).unwrap();
    assert!(bytes.starts_with(b"%PDF-"), "the PDF was not produced");
    assert!(
        bytes.len() > 10_000,
        "the PDF is suspiciously small: {} bytes",
        bytes.len()
    );
}
