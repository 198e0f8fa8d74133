use std::collections::HashMap;

use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, Status};
use quick_xml::events::Event;

use super::*;
use crate::otlp::sample::{self, span};
use crate::trace::{AssemblyOptions, Trace};

const T: [u8; 16] = [
    0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36,
];

fn resource(
    service: &str,
    spans: Vec<opentelemetry_proto::tonic::trace::v1::Span>,
) -> ResourceSpans {
    sample::request(service, spans).resource_spans.remove(0)
}

/// ingress → billing (with a failing query) and an orphan from mailer.
pub(crate) fn fixture() -> Trace {
    let mut client = span(T, 2, 1, "POST billing", 5, 95);
    client.kind = 3;
    let mut query = span(T, 4, 3, "SELECT invoices", 20, 60);
    query.kind = 3;
    query.status = Some(Status {
        code: 2,
        message: "timeout".to_owned(),
    });
    query.attributes = vec![sample::kv("db.system", "postgresql")];
    let rs = vec![
        resource(
            "ingress",
            vec![span(T, 1, 0, "GET /invoice/<id>", 0, 100), client],
        ),
        resource("billing", vec![span(T, 3, 2, "POST /bill", 10, 90), query]),
        resource("mailer \"eu\"", vec![span(T, 5, 99, "send", 50, 70)]),
    ];
    let mut traces = Trace::from_otlp(&rs, &AssemblyOptions::default());
    traces.remove(0)
}

#[test]
fn tree_snapshot() {
    insta::assert_snapshot!(tree(&fixture()));
}

#[test]
fn json_follows_the_contract() {
    let v = json_value(&fixture());
    assert_eq!(v["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
    let spans = v["spans"].as_array().unwrap();
    assert_eq!(spans.len(), 5);
    assert_eq!(spans[0]["parent_span_id"], serde_json::Value::Null);
    assert_eq!(spans[0]["kind"], "server");
    assert_eq!(spans[3]["status"], "error");
    assert_eq!(spans[3]["attributes"]["db.system"], "postgresql");
    assert_eq!(v["problems"][0]["kind"], "orphan");
    insta::assert_snapshot!(json(&fixture()));
}

#[test]
fn dot_and_mermaid_snapshots() {
    insta::assert_snapshot!("dot", dot(&fixture()));
    insta::assert_snapshot!("mermaid", mermaid(&fixture()));
}

type Element = (String, HashMap<String, String>, Vec<String>);

fn element(e: &quick_xml::events::BytesStart<'_>, stack: &[String]) -> Element {
    let name = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
    let attrs = e
        .attributes()
        .map(|a| {
            let a = a.unwrap();
            (
                String::from_utf8(a.key.as_ref().to_vec()).unwrap(),
                String::from_utf8(a.value.to_vec()).unwrap(),
            )
        })
        .collect();
    let mut path = stack.to_vec();
    path.push(name.clone());
    (name, attrs, path)
}

/// Every element of the page with its attributes and ancestry, parsed as XML: parsing fails
/// unless the page is well-formed.
fn elements(page: &str) -> Vec<Element> {
    let mut reader = quick_xml::Reader::from_str(page);
    reader.config_mut().check_end_names = true;
    let mut out = Vec::new();
    let mut stack: Vec<String> = Vec::new();
    loop {
        match reader.read_event().unwrap() {
            Event::Start(e) => {
                let el = element(&e, &stack);
                stack.push(el.0.clone());
                out.push(el);
            }
            Event::Empty(e) => out.push(element(&e, &stack)),
            Event::End(_) => {
                stack.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert!(stack.is_empty(), "unclosed elements: {stack:?}");
    out
}

fn inside<'a>(els: &'a [Element], svg_id: &str, name: &str) -> Vec<&'a Element> {
    let svg_index = els
        .iter()
        .position(|e| e.0 == "svg" && e.1.get("id").map(String::as_str) == Some(svg_id))
        .unwrap();
    let depth = els[svg_index].2.len();
    els[svg_index + 1..]
        .iter()
        .take_while(|e| e.2.len() > depth)
        .filter(|e| e.0 == name)
        .collect()
}

#[test]
fn html_is_one_self_contained_page_with_waterfall_graph_and_latency_table() {
    let trace = fixture();
    let page = html(&trace).unwrap();
    let els = elements(&page);
    // self-contained: no scripts, no external resources
    assert!(!els
        .iter()
        .any(|e| e.0 == "script" || e.0 == "link" || e.0 == "img"));
    assert!(!els.iter().any(|e| e.1.contains_key("src")));
    assert!(!page.contains("http://") && !page.contains("https://"));
    // waterfall: one bar per span, in tree order, inside the viewport, the error marked
    let bars = inside(&els, "waterfall", "rect");
    assert_eq!(bars.len(), 5);
    let width: f64 = els
        .iter()
        .find(|e| e.1.get("id").map(String::as_str) == Some("waterfall"))
        .unwrap()
        .1["width"]
        .parse()
        .unwrap();
    for bar in &bars {
        let x: f64 = bar.1["x"].parse().unwrap();
        let w: f64 = bar.1["width"].parse().unwrap();
        assert!(x >= 0.0 && w >= 1.0 && x + w <= width, "{:?}", bar.1);
    }
    let root_w: f64 = bars[0].1["width"].parse().unwrap();
    let query_w: f64 = bars[3].1["width"].parse().unwrap();
    assert!(
        (root_w / query_w - 2.5).abs() < 0.01,
        "root {root_w} vs query {query_w}"
    );
    assert_eq!(
        bars.iter()
            .filter(|b| b.1["class"].contains("span-error"))
            .count(),
        1
    );
    let rows = inside(&els, "waterfall", "g");
    let ids: Vec<&str> = rows.iter().map(|g| g.1["data-span-id"].as_str()).collect();
    assert_eq!(
        ids,
        [
            "0000000000000001",
            "0000000000000002",
            "0000000000000003",
            "0000000000000004",
            "0000000000000005"
        ]
    );
    // service graph: a node per service, one edge ingress → billing
    let nodes: Vec<&str> = inside(&els, "graph", "g")
        .into_iter()
        .filter_map(|g| g.1.get("data-service").map(String::as_str))
        .collect();
    assert_eq!(nodes.len(), 3);
    assert!(nodes.contains(&"mailer &quot;eu&quot;"), "{nodes:?}");
    let edges: Vec<(&str, &str)> = inside(&els, "graph", "g")
        .into_iter()
        .filter_map(|g| {
            Some((
                g.1.get("data-caller")?.as_str(),
                g.1.get("data-callee")?.as_str(),
            ))
        })
        .collect();
    assert_eq!(edges, [("ingress", "billing")]);
    assert_eq!(inside(&els, "graph", "line").len(), 1);
    // latency tables: a row per service and per span
    let count_rows = |id: &str| {
        let i = els
            .iter()
            .position(|e| e.1.get("id").map(String::as_str) == Some(id))
            .unwrap();
        let depth = els[i].2.len();
        els[i + 1..]
            .iter()
            .take_while(|e| e.2.len() > depth)
            .filter(|e| e.0 == "tr")
            .count()
    };
    assert_eq!(count_rows("latency-services"), 3 + 1);
    assert_eq!(count_rows("latency-spans"), 5 + 1);
    // names are escaped, problems listed
    assert!(
        page.contains("GET &#x2f;invoice&#x2f;&lt;id&gt;")
            || page.contains("GET /invoice/&lt;id&gt;")
    );
    assert!(els
        .iter()
        .any(|e| e.1.get("id").map(String::as_str) == Some("problems")));
}

/// A span whose name would print a fake trace line, and an OSC title sequence in a service.
fn hostile() -> Trace {
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

fn assert_no_raw_control(what: &str, text: &str) {
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
        !page.contains("<script>") && !page.contains("<b>"),
        "{page}"
    );
    assert!(page.contains("&lt;script&gt;alert(1)&lt;"), "{page}");
    assert!(
        page.contains("svc&lt;&#x2f;b&gt;\\x1b[31m") || page.contains("svc&lt;/b&gt;\\x1b[31m"),
        "{page}"
    );
    assert_no_raw_control("html", &page);
}
