//! `collect`'s web UI in a real browser: the binary started on a loopback port with real
//! traces posted, `GET /` and `GET /traces/{id}` loaded by headless Chromium, assertions on
//! the DOM it built (`--dump-dom`: rows, filters, legend, axis, span details, the critical
//! path), and a screenshot of each page kept as a test artefact in
//! `target/tmp/collect-ui/` (`list.png`, `trace.png`).
//!
//! Which browser, and when the test may skip: `tests/common/chromium.rs`.
#![allow(clippy::unwrap_used)]

#[path = "common/chromium.rs"]
mod chromium;
#[path = "common/collector.rs"]
mod collector;

use collector::{Collect, IDS};

#[test]
fn both_pages_render_in_headless_chromium() {
    let Some(browser) = chromium::browser_or_skip() else {
        return;
    };
    let collect = Collect::start(&[]);
    collect.post_fixtures();
    let profile = tempfile::tempdir().unwrap();
    let artefacts = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("collect-ui");
    std::fs::create_dir_all(&artefacts).unwrap();
    let base = format!("http://{}", collect.addr);

    // one run per page: the DOM as Chromium built it, and a screenshot
    let load = |name: &str, url: &str| {
        let shot = artefacts.join(format!("{name}.png"));
        let _ = std::fs::remove_file(&shot);
        // a profile per run: a browser still closing would take over the next run's page
        let dir = profile.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let dom = chromium::run(
            &browser,
            &dir,
            url,
            &[
                "--dump-dom".to_owned(),
                format!("--screenshot={}", shot.display()),
                "--window-size=1400,1000".to_owned(),
            ],
        );
        let png = std::fs::read(&shot).unwrap();
        assert!(png.starts_with(b"\x89PNG"), "{name}.png is not a PNG");
        dom
    };

    let list = load("list", &format!("{base}/"));
    for id in IDS {
        assert!(
            list.contains(&format!("<tr data-trace-id=\"{id}\"")),
            "trace {id} is not listed: {list}"
        );
    }
    assert!(list.contains("<form method=\"get\" action=\"/\" id=\"filters\">"));
    assert!(list.contains("<h1>Recent traces</h1>"));

    let trace = load("trace", &format!("{base}/traces/{}", IDS[1]));
    assert!(
        trace.contains("<ul class=\"legend\" id=\"legend\">"),
        "no legend: {trace}"
    );
    for service in ["catalog", "gateway", "pricing", "stock"] {
        assert!(
            trace.contains(&format!("<li data-service=\"{service}\">")),
            "{service} missing from the legend"
        );
    }
    // a <details> per span, each with a summary (the row) and the span's facts
    assert_eq!(trace.matches("<details class=\"span").count(), 8, "{trace}");
    assert_eq!(trace.matches("<summary ").count(), 8);
    assert_eq!(trace.matches("<dl class=\"facts\">").count(), 8);
    assert!(trace.contains("id=\"axis\""), "no time axis");
    assert!(trace.contains("<span class=\"tick\""), "no ticks");
    assert!(trace.contains("<table id=\"latency-services\">"));
    // the critical path over the bars (as Jaeger draws it), with its key in the legend: this
    // platform calls one service after the other, so every span is on it, the gateway's root
    // and client spans in several sections (around each call); a span beside slower work is
    // off it (src/report/trace/tests.rs)
    assert!(
        trace.contains("id=\"critical-path-key\""),
        "no critical path key"
    );
    assert_eq!(trace.matches("on-critical-path").count(), 8, "{trace}");
    let segments = trace.matches("<span class=\"cp\" style=\"left: ").count();
    assert!(segments > 8, "{segments} critical path segments");
}
