//! `coverage --format html` in a real browser: the fixture organisation's report
//! (`fixtures/coverage/report/2026-W48.json`) rendered, opened in headless Chromium, its DOM
//! dumped (the trend chart, the broken edge's label and every service are there once the
//! browser has parsed the page), a screenshot taken and the page printed to PDF.
//!
//! Which browser, and when the test may skip: `tests/common/chromium.rs`.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use tracegate::coverage::CoverageReport;
use tracegate::report::coverage::{render, Format};

#[path = "common/chromium.rs"]
mod chromium;

/// [`chromium::run`] on a file.
fn run(browser: &str, profile: &Path, page: &Path, args: &[String]) -> String {
    chromium::run(
        browser,
        profile,
        &format!("file://{}", page.display()),
        args,
    )
}

#[test]
fn the_fixture_report_opens_in_headless_chromium_and_prints() {
    let Some(browser) = chromium::browser_or_skip() else {
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
