use std::collections::HashMap;

use opentelemetry_proto::tonic::trace::v1::{span::Event as OtlpEvent, ResourceSpans, Status};
use quick_xml::events::Event;

use super::escape_tests::{assert_no_raw_control, hostile};
use super::*;
use crate::otlp::sample::{self, span};
use crate::trace::{AssemblyOptions, Trace};

pub(super) const T: [u8; 16] = [
    0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36,
];

pub(super) fn resource(
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
    query.events = vec![OtlpEvent {
        time_unix_nano: 1_700_000_000_000_000_000 + 59_000_000,
        name: "exception".to_owned(),
        attributes: vec![sample::kv("exception.message", "canceling statement")],
        dropped_attributes_count: 0,
    }];
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

/// The terminal layouts: at 80 columns nothing is wider (the bar shrinks to what the columns
/// leave, the header and problems wrap), at 160 the bar takes the room; with colour, bars in
/// their service's colour, the failed status and the problems red. Without colour the text is
/// the plain tree's but for the bar's length and the wrapping.
#[test]
fn tree_at_80_and_160_columns_with_and_without_colour() {
    use crate::report::term::{visible_width, TextOptions};
    let trace = fixture();
    for width in [80, 160] {
        for color in [false, true] {
            let opts = TextOptions {
                width: Some(width),
                color,
                ..TextOptions::default()
            };
            let out = tree_with(&trace, &opts);
            for line in out.lines() {
                assert!(visible_width(line) <= width, "{width}: {line:?}");
            }
            assert_eq!(out.contains('\u{1b}'), color);
            let name = format!("tree_{width}{}", if color { "_colour" } else { "" });
            insta::assert_snapshot!(name, out);
        }
    }
    let bar = |out: &str| {
        out.lines()
            .find(|l| l.starts_with("GET /invoice"))
            .map(|l| l.matches('█').count())
            .unwrap()
    };
    let narrow = tree_with(
        &trace,
        &TextOptions {
            width: Some(80),
            ..TextOptions::default()
        },
    );
    let wide = tree_with(
        &trace,
        &TextOptions {
            width: Some(160),
            ..TextOptions::default()
        },
    );
    assert!(bar(&narrow) < 24 && bar(&wide) > 24, "{narrow}{wide}");
    assert_eq!(bar(&tree(&trace)), 24);
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

fn by_id(els: &[Element], id: &str) -> usize {
    els.iter()
        .position(|e| e.1.get("id").map(String::as_str) == Some(id))
        .unwrap_or_else(|| panic!("no element #{id}"))
}

/// Elements named `name` inside the element with `id`.
fn within<'a>(els: &'a [Element], id: &str, name: &str) -> Vec<&'a Element> {
    let i = by_id(els, id);
    let depth = els[i].2.len();
    els[i + 1..]
        .iter()
        .take_while(|e| e.2.len() > depth)
        .filter(|e| e.0 == name)
        .collect()
}

/// `left: 12.5%; width: 3%` → the number after `key:`.
fn style_pct(el: &Element, key: &str) -> f64 {
    let style = &el.1["style"];
    let at = style.find(&format!("{key}: ")).unwrap() + key.len() + 2;
    style[at..].split('%').next().unwrap().parse().unwrap()
}

/// The critical path over the bars, as in Jaeger: ingress → billing → the slow query decide
/// the trace's end; the orphan from mailer runs beside them and is off the path.
#[test]
fn html_draws_the_critical_path_over_the_bars() {
    let page = html(&fixture()).unwrap();
    let els = elements(&page);
    let rows = within(&els, "waterfall", "details");
    let on_path: Vec<bool> = rows
        .iter()
        .map(|d| d.1["class"].contains("on-critical-path"))
        .collect();
    assert_eq!(on_path, [true, true, true, true, false]);
    // each row's segments, in the order of the time axis: (left, width) in percent
    let segments: Vec<Vec<(f64, f64)>> = rows
        .iter()
        .map(|d| {
            let id = &d.1["data-span-id"];
            let at = els
                .iter()
                .position(|e| e.0 == "details" && &e.1["data-span-id"] == id)
                .unwrap();
            let depth = els[at].2.len();
            els[at + 1..]
                .iter()
                .take_while(|e| e.2.len() > depth)
                .filter(|e| e.0 == "span" && e.1.get("class").is_some_and(|c| c == "cp"))
                .map(|e| (style_pct(e, "left"), style_pct(e, "width")))
                .collect()
        })
        .collect();
    assert_eq!(
        segments,
        [
            vec![(0.0, 5.0), (95.0, 5.0)], // GET /invoice: before the call, after it
            vec![(5.0, 5.0), (90.0, 5.0)], // POST billing (client)
            vec![(10.0, 10.0), (60.0, 30.0)], // POST /bill around the query
            vec![(20.0, 40.0)],            // SELECT invoices: all of it
            vec![],                        // send (mailer): beside the rest
        ]
    );
    assert!(
        page.contains("<dd class=\"critical\">40.00ms of it</dd>"),
        "{page}"
    );
    assert!(page.contains("<dd class=\"critical\"><span class=\"none\">none</span></dd>"));
    assert!(page.contains("id=\"critical-path-key\""));
}

#[test]
fn html_is_one_self_contained_page_with_waterfall_graph_and_latency_tables() {
    let trace = fixture();
    let page = html(&trace).unwrap();
    let els = elements(&page);
    // self-contained: no scripts, no external resources
    assert!(!els
        .iter()
        .any(|e| e.0 == "script" || e.0 == "link" || e.0 == "img"));
    assert!(!els.iter().any(|e| e.1.contains_key("src")));
    assert!(!page.contains("http://") && !page.contains("https://"));
    // header: root service and operation, start, plurals right
    assert!(page.contains("2023-11-14T22:13:20Z"), "{page}");
    for phrase in [
        "5 spans",
        "3 services",
        "1 error<",
        "<a href=\"#problems\" class=\"error\">1 problem</a>",
        "Depth <b>4</b>",
    ] {
        assert!(page.contains(phrase), "{phrase} missing");
    }
    // legend: a colour per service, the same colour as the service's bars
    let legend = within(&els, "legend", "li");
    let services: Vec<&str> = legend
        .iter()
        .filter_map(|l| l.1.get("data-service").map(String::as_str))
        .collect();
    assert_eq!(services, ["billing", "ingress", "mailer &quot;eu&quot;"]);
    // waterfall: one <details> per span in tree order, each with its bar on the time axis
    let rows = within(&els, "waterfall", "details");
    let ids: Vec<&str> = rows.iter().map(|d| d.1["data-span-id"].as_str()).collect();
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
    assert_eq!(within(&els, "waterfall", "summary").len(), 5);
    let bars: Vec<&Element> = within(&els, "waterfall", "span")
        .into_iter()
        .filter(|e| e.1["class"].starts_with("bar"))
        .filter(|e| e.1["class"] != "bar-col")
        .collect();
    assert_eq!(bars.len(), 5);
    for bar in &bars {
        let (left, width) = (style_pct(bar, "left"), style_pct(bar, "width"));
        assert!(
            left >= 0.0 && width > 0.0 && left + width <= 100.0,
            "{:?}",
            bar.1
        );
    }
    assert_eq!(
        (style_pct(bars[0], "left"), style_pct(bars[0], "width")),
        (0.0, 100.0)
    );
    // the failing query: 20ms..60ms of a 100ms trace
    assert_eq!(
        (style_pct(bars[3], "left"), style_pct(bars[3], "width")),
        (20.0, 40.0)
    );
    assert_eq!(
        bars.iter().filter(|b| b.1["class"] == "bar failed").count(),
        1
    );
    // a duration label never leaves the axis: inside a bar that spans it, after an early one
    assert!(
        page.contains("<span class=\"dur inside\" style=\"right: 0.0%\">100.00ms</span>"),
        "{page}"
    );
    assert!(page.contains("<span class=\"dur after\" style=\"left: 60.0%\">40.00ms"));
    // time axis: ticks at round intervals, 0 to the end
    let ticks: Vec<&Element> = within(&els, "axis", "span");
    assert_eq!(ticks.len(), 11);
    assert!(
        page.contains(">0ms</span>") && page.contains(">100ms</span>"),
        "{page}"
    );
    // details: kind, status with its message, attributes, events
    let query = &page[page.find("data-span-id=\"0000000000000004\"").unwrap()..];
    let query = &query[..query.find("</details>").unwrap()];
    for fact in [
        "<dd class=\"kind\">client</dd>",
        "error: timeout",
        "db.system</td><td>postgresql",
        "+39.00ms</span> <b>exception</b>",
        "canceling statement",
    ] {
        assert!(query.contains(fact), "{fact} missing from {query}");
    }
    insta::assert_snapshot!("html_span_details", query);
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
    // latency: two tables, each under its own title, a row per service and per span
    assert!(page.contains("<h3>Self time by service</h3>\n<table id=\"latency-services\">"));
    assert!(page.contains("<h3>Self time by span</h3>\n<table id=\"latency-spans\">"));
    assert_eq!(within(&els, "latency-services", "tr").len(), 3 + 1);
    assert_eq!(within(&els, "latency-spans", "tr").len(), 5 + 1);
    assert_eq!(within(&els, "latency-services", "caption").len(), 1);
    // names are escaped, problems listed
    assert!(
        page.contains("GET &#x2f;invoice&#x2f;&lt;id&gt;")
            || page.contains("GET /invoice/&lt;id&gt;")
    );
    by_id(&els, "problems");
}

/// The entry span's parent came in a `traceparent` from a caller that exported nothing here.
fn upstream_fixture() -> Trace {
    let rs = vec![
        resource("gateway", vec![span(T, 1, 0xf0, "POST /order", 0, 20)]),
        resource("stock", vec![span(T, 2, 1, "GET /stock", 5, 10)]),
    ];
    Trace::from_otlp(&rs, &AssemblyOptions::default()).remove(0)
}

#[test]
fn an_upstream_parent_is_explained_not_flagged() {
    let trace = upstream_fixture();
    let tree = tree(&trace);
    assert!(
        tree.contains("entry span gateway \"POST /order\": its parent 00000000000000f0 is upstream (an incoming traceparent), not a missing span"),
        "{tree}"
    );
    assert!(
        tree.contains("0 problems") && !tree.contains("orphan"),
        "{tree}"
    );
    let page = html(&trace).unwrap();
    assert!(page.contains("id=\"upstream\""), "{page}");
    assert!(page.contains("0 problems"), "{page}");
    let v = json_value(&trace);
    assert_eq!(v["upstream"]["span_id"], "0000000000000001");
    assert_eq!(v["upstream"]["parent_span_id"], "00000000000000f0");
    assert_eq!(json_value(&fixture())["upstream"], serde_json::Value::Null);
}

#[test]
fn trace_list_shows_start_and_age() {
    let now = 1_700_000_000_000_000_000 + 3 * 60 * 1_000_000_000 + 30_000_000_000;
    let summaries = vec![fixture().summary(), upstream_fixture().summary()];
    insta::assert_snapshot!(list_table(&summaries, now));
    // on a 120-column terminal: nothing wider (service and operation wrap), the IDs whole;
    // with colour, the failed trace's `yes` and its problem count red. (The columns kept whole
    // need about 105: an 80-column terminal gets them past its width.)
    use crate::report::term::{paint, palette, visible_width, TextOptions};
    let opts = TextOptions {
        width: Some(120),
        color: true,
        ..TextOptions::default()
    };
    let out = list_table_with(&summaries, now, &opts);
    for line in out.lines() {
        assert!(visible_width(line) <= 120, "{line:?}");
    }
    for s in &summaries {
        assert!(out.contains(&s.trace_id), "{out}");
    }
    let red = |w: &str| paint(w, palette::ERROR, true);
    assert!(
        out.contains(&red("yes")) && out.contains(&red("1")),
        "{out}"
    );
    assert!(!out.contains(&red("0")), "{out}");
    insta::assert_snapshot!("trace_list_120_colour", out);
    let plain = list_table_with(
        &summaries,
        now,
        &TextOptions {
            width: Some(120),
            ..TextOptions::default()
        },
    );
    assert!(!plain.contains('\u{1b}'));
}

#[test]
fn the_ui_list_page_shows_rows_filters_and_escapes() {
    let hostile = hostile();
    let rows = vec![
        crate::trace::TraceRow::of(&fixture()),
        crate::trace::TraceRow::of(&hostile),
    ];
    let filter = crate::trace::TraceFilter {
        service: Some("ingress".to_owned()),
        problems_only: true,
        id_prefix: None,
    };
    let services = vec![
        "billing".to_owned(),
        "ingress".to_owned(),
        "<i>x".to_owned(),
    ];
    let now = 1_700_000_000_000_000_000 + 125_000_000_000;
    let page = list_page(&ListPage {
        rows: &rows,
        filter: &filter,
        query_text: "\"><script>",
        services: &services,
        held: 7,
        scanned: 7,
        now_unix_nano: now,
        error: Some("\"<b>\" is not a trace ID"),
    })
    .unwrap();
    let els = elements(&page);
    assert!(!els.iter().any(|e| e.0 == "script" || e.0 == "b"), "{page}");
    assert!(!page.contains("http://") && !page.contains("https://"));
    let trs = within(&els, "traces", "tr");
    assert_eq!(trs.len(), 2 + 1);
    assert_eq!(
        trs[1].1["data-trace-id"],
        "4bf92f3577b34da6a3ce929d0e0e4736"
    );
    assert!(
        page.contains("href=\"/traces/4bf92f3577b34da6a3ce929d0e0e4736\""),
        "{page}"
    );
    assert!(
        page.contains("2m ago") && page.contains("2023-11-14T22:13:20Z"),
        "{page}"
    );
    assert!(page.contains("orphan"), "{page}");
    // the form: a plain GET form, the chosen service selected, the checkbox checked
    let form = within(&els, "filters", "select");
    assert_eq!(form.len(), 1);
    let selected: Vec<&str> = within(&els, "filters", "option")
        .into_iter()
        .filter(|o| o.1.contains_key("selected"))
        .map(|o| o.1["value"].as_str())
        .collect();
    assert_eq!(selected, ["ingress"]);
    assert_eq!(els[by_id(&els, "filters")].1["method"], "get");
    assert!(page.contains("checked=\"checked\""));
    assert!(page.contains("&lt;i&gt;x"));
    assert!(
        page.contains("2 traces match among the 7 newest of 7 traces held"),
        "{page}"
    );
    by_id(&els, "request-error");
    assert_no_raw_control("ui list", &page);
    let empty = list_page(&ListPage {
        rows: &[],
        filter: &crate::trace::TraceFilter::default(),
        query_text: "",
        services: &[],
        held: 0,
        scanned: 0,
        now_unix_nano: now,
        error: None,
    })
    .unwrap();
    by_id(&elements(&empty), "no-traces");
    let message = message_page("Trace not found", "trace <x> is not held").unwrap();
    assert!(message.contains("trace &lt;x&gt; is not held"), "{message}");
}
