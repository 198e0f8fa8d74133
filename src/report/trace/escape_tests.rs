//! Received strings (span names, services, status messages) never reach a terminal or a page
//! as raw control characters or markup.

use opentelemetry_proto::tonic::trace::v1::Status;

use super::tests::{resource, T};
use super::*;
use crate::otlp::sample::span;
use crate::trace::{AssemblyOptions, Trace};

/// A span whose name would print a fake trace line, and an OSC title sequence in a service.
pub(super) fn hostile() -> Trace {
    let mut root = span(
        T,
        1,
        0,
        "a\nFAKE trace 00000000000000000000000000000001 ok",
        0,
        10,
    );
    root.status = Some(Status {
        code: 2,
        message: "boom\r\x1b[2K".to_owned(),
    });
    let rs = vec![
        resource("evil\x1b]0;pwned\x07", vec![root]),
        resource("café 日本\u{202e}", vec![span(T, 2, 1, "\u{9b}31m", 1, 5)]),
    ];
    Trace::from_otlp(&rs, &AssemblyOptions::default()).remove(0)
}

pub(super) fn assert_no_raw_control(what: &str, text: &str) {
    for line in text.lines() {
        assert!(!line.starts_with("FAKE"), "{what}: forged line in {text}");
        assert!(
            !line.chars().any(|c| c.is_control() || c == '\u{202e}'),
            "{what}: raw control character in {line:?}"
        );
    }
}

#[test]
fn tree_and_collect_line_escape_received_strings() {
    let trace = hostile();
    let tree = tree(&trace);
    assert_no_raw_control("tree", &tree);
    assert!(tree.contains("a\\nFAKE trace"), "{tree}");
    assert!(tree.contains("evil\\x1b]0;pwned\\x07"), "{tree}");
    assert!(tree.contains("ERROR boom\\r\\x1b[2K"), "{tree}");
    assert!(tree.contains("café 日本\\u{202e}"), "{tree}");
    let line = finished_line(&trace);
    assert_no_raw_control("collect line", &line);
    assert_eq!(line.lines().count(), 1, "{line}");
    assert!(
        line.contains("evil\\x1b]0;pwned\\x07 a\\nFAKE trace"),
        "{line}"
    );
    for (what, text) in [("dot", dot(&trace)), ("mermaid", mermaid(&trace))] {
        assert_no_raw_control(what, &text);
    }
}

#[test]
fn html_escapes_markup_and_control_characters() {
    let rs = vec![resource(
        "<b>svc</b>\x1b[31m",
        vec![span(T, 1, 0, "<script>alert(1)</script>\n", 0, 10)],
    )];
    let trace = Trace::from_otlp(&rs, &AssemblyOptions::default()).remove(0);
    let page = html(&trace).unwrap();
    assert!(
        !page.contains("<script>") && !page.contains("<b>svc"),
        "{page}"
    );
    assert!(page.contains("&lt;script&gt;alert(1)&lt;"), "{page}");
    assert!(
        page.contains("svc&lt;&#x2f;b&gt;\\x1b[31m") || page.contains("svc&lt;/b&gt;\\x1b[31m"),
        "{page}"
    );
    assert_no_raw_control("html", &page);
}
