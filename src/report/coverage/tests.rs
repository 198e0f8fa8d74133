//! Snapshots of every format for the fixture organisation's report and the edge cases (no
//! services, no previous week, no traces, hostile names), plus structural checks: the JSON
//! contract's keys and types, OpenMetrics parsed back by a strict parser, Markdown and HTML
//! escaping, the self-contained page.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::fixture;
use super::*;
use crate::coverage::model::{Evidence, RuntimeVerdict, TrendPoint};

mod openmetrics;
mod openmetrics_parser;

const FORMATS: [Format; 5] = [
    Format::Table,
    Format::Json,
    Format::Markdown,
    Format::Html,
    Format::Openmetrics,
];

fn name(format: Format) -> &'static str {
    match format {
        Format::Table => "table",
        Format::Json => "json",
        Format::Markdown => "markdown",
        Format::Html => "html",
        Format::Openmetrics => "openmetrics",
    }
}

fn snapshot_all(case: &str, report: &CoverageReport) {
    for format in FORMATS {
        let out = render(format, report).unwrap();
        insta::assert_snapshot!(format!("{case}_{}", name(format)), out);
    }
}

/// No services at all (an empty catalog), but an earlier week on record.
fn empty() -> CoverageReport {
    let mut report = fixture::report();
    report.services_total = 0;
    report.services_propagating = 0;
    report.coverage = 0.0;
    report.by_team.clear();
    report.regressions.clear();
    report.services.clear();
    report.new_without_propagation.clear();
    report.failing_rules.clear();
    report.expiring_waivers.clear();
    report.edges.clear();
    report.notes.clear();
    report.trend = vec![TrendPoint {
        week: report.week,
        total: 0,
        propagating: 0,
        coverage: 0.0,
        by_team: Default::default(),
    }];
    report.evidence = Evidence {
        catalog: vec!["empty-org".into()],
        ..Evidence::default()
    };
    report
}

/// The first week ever recorded: no previous week, so no regressions and no "new" services.
fn first_week() -> CoverageReport {
    let mut report = fixture::report();
    report.previous = None;
    report.regressions.clear();
    report.new_without_propagation.clear();
    for team in &mut report.by_team {
        team.previous = None;
    }
    report.trend.drain(..report.trend.len() - 1);
    report
}

/// Static verdicts only: `runtime` is null, no edges, ledger and fraud-check fail statically.
fn static_only() -> CoverageReport {
    let mut report = fixture::report();
    for s in &mut report.services {
        s.runtime = None;
        s.runtime_reasons.clear();
        s.propagating = s.static_verdict == crate::coverage::model::StaticVerdict::Pass;
    }
    report.services_propagating = 4;
    report.coverage = 0.5;
    report.regressions = vec!["ledger".into()];
    report.edges.clear();
    report.evidence.runtime = None;
    report.evidence.traces = 0;
    report.evidence.spans = 0;
    report.by_team[1].propagating = 2;
    report.by_team[1].coverage = 0.6667;
    let now = report.trend.last_mut().unwrap();
    now.propagating = 4;
    now.coverage = 0.5;
    now.by_team.insert("payments".into(), 0.6667);
    report
}

const HOSTILE: &str = "<b>x</b>|y\"z\nline2 & `tick` *star* _u_ [l](u) \\";
const HOSTILE_TEAM: &str = "team \"a\"|<i>\n";

/// Names with markup, pipes, quotes, a newline and Markdown punctuation.
fn hostile() -> CoverageReport {
    let mut report = fixture::report();
    let rename = |name: &mut String| {
        if name == "pricing" {
            *name = HOSTILE.to_owned();
        }
    };
    let retag = |team: &mut String| {
        if team == "payments" {
            *team = HOSTILE_TEAM.to_owned();
        }
    };
    for s in &mut report.services {
        rename(&mut s.name);
        retag(&mut s.team);
    }
    report.services.sort_by(|a, b| a.name.cmp(&b.name));
    for e in &mut report.edges {
        rename(&mut e.caller);
        rename(&mut e.callee);
    }
    for r in &mut report.regressions {
        rename(r);
    }
    report.regressions.sort();
    for t in &mut report.by_team {
        retag(&mut t.team);
    }
    report.by_team.sort_by(|a, b| a.team.cmp(&b.team));
    for w in &mut report.expiring_waivers {
        retag(&mut w.team);
        w.waiver.reason = "<script>alert(1)</script>|\"".into();
    }
    for p in &mut report.trend {
        if let Some(v) = p.by_team.remove("payments") {
            p.by_team.insert(HOSTILE_TEAM.to_owned(), v);
        }
    }
    report.notes.push("note with <tag> and | pipe".into());
    report
}

#[test]
fn fixture_snapshots() {
    snapshot_all("fixture", &fixture::report());
}

#[test]
fn empty_catalog_snapshots() {
    snapshot_all("empty", &empty());
}

#[test]
fn first_week_snapshots() {
    snapshot_all("first_week", &first_week());
}

#[test]
fn static_only_snapshots() {
    snapshot_all("static_only", &static_only());
}

#[test]
fn hostile_names_snapshots() {
    snapshot_all("hostile", &hostile());
}

/// The fixture report stored for the Chromium test and the benchmark is the one built here.
#[test]
fn stored_fixture_report_matches_the_builder() {
    let stored: CoverageReport = serde_json::from_str(include_str!(
        "../../../fixtures/coverage/report/2026-W48.json"
    ))
    .unwrap();
    assert_eq!(stored, fixture::report());
}

#[test]
fn json_holds_the_contract_keys_in_order_with_their_types() {
    let out = render(Format::Json, &fixture::report()).unwrap();
    let value: serde_json::Value = serde_json::from_str(&out).unwrap();
    let contract = [
        "week",
        "services_total",
        "services_propagating",
        "coverage",
        "previous",
        "by_team",
        "regressions",
        "services",
    ];
    // Key order as written (serde_json's map may sort): positions in the text.
    let positions: Vec<usize> = contract
        .iter()
        .map(|k| out.find(&format!("\n  \"{k}\":")).expect(k))
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
    let max_contract = *positions.last().unwrap();
    for extra in ["trend", "edges", "evidence", "notes", "failing_rules"] {
        assert!(out.find(&format!("\n  \"{extra}\":")).unwrap() > max_contract);
    }
    assert_eq!(value["week"], "2026-W48");
    assert_eq!(value["services_total"], 8);
    assert_eq!(value["services_propagating"], 3);
    assert_eq!(value["coverage"], 0.375);
    assert_eq!(value["previous"]["week"], "2026-W47");
    assert!(value["previous"]["coverage"].is_f64());
    let team = &value["by_team"][0];
    assert!(team["team"].is_string() && team["total"].is_u64() && team["propagating"].is_u64());
    assert_eq!(
        value["regressions"],
        serde_json::json!(["ledger", "pricing"])
    );
    let pricing = value["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "pricing")
        .unwrap();
    assert_eq!(pricing["team"], "payments");
    assert_eq!(pricing["static"], "pass");
    assert_eq!(pricing["runtime"], "fail");
    // The contract's keys come first, exactly in the contract's order, at every level.
    let keys_at = |indent: &str, from: &str| -> Vec<String> {
        let start = out.find(from).unwrap();
        // After an array's `[`, the first object's `{` line comes first.
        let skip = if from.ends_with('[') { 2 } else { 1 };
        out[start..]
            .lines()
            .skip(skip)
            .map_while(|l| l.strip_prefix(indent))
            .filter_map(|l| l.strip_prefix('"'))
            .filter_map(|l| l.split_once("\":").map(|(k, _)| k.to_owned()))
            .collect()
    };
    assert_eq!(keys_at("  ", "{")[..8], contract);
    assert_eq!(
        keys_at("      ", "\"by_team\": [")[..3],
        ["team", "total", "propagating"]
    );
    assert_eq!(
        keys_at("      ", "\"services\": [")[..4],
        ["name", "team", "static", "runtime"]
    );
    assert_eq!(keys_at("    ", "\"previous\": {"), ["week", "coverage"]);
    // The JSON reads back as the report.
    let back: CoverageReport = serde_json::from_str(&out).unwrap();
    assert_eq!(back, fixture::report());
}

#[test]
fn json_runtime_is_null_without_traces_and_previous_null_the_first_week() {
    let value: serde_json::Value =
        serde_json::from_str(&render(Format::Json, &static_only()).unwrap()).unwrap();
    assert!(value["services"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["runtime"].is_null()));
    let value: serde_json::Value =
        serde_json::from_str(&render(Format::Json, &first_week()).unwrap()).unwrap();
    assert!(value["previous"].is_null());
}

#[test]
fn markdown_tables_keep_their_columns_and_names_stay_inert() {
    let out = render(Format::Markdown, &hostile()).unwrap();
    for line in out.lines().filter(|l| l.starts_with('|')) {
        // An unescaped pipe is a column separator: every row of the team table has 6.
        let separators = line
            .char_indices()
            .filter(|&(i, c)| c == '|' && (i == 0 || &line[i - 1..i] != "\\"))
            .count();
        assert!(separators == 6 || separators == 3, "{line}");
    }
    assert!(!out.contains("<b>") && !out.contains("<script>") && !out.contains("<i>"));
    assert!(out.contains("&lt;b&gt;x&lt;/b&gt;\\|y\"z\\\\nline2"));
}

fn html() -> String {
    render(Format::Html, &fixture::report()).unwrap()
}

#[test]
fn html_is_self_contained_and_has_no_script() {
    let out = html();
    assert!(!out.contains("<script"), "a script");
    assert!(
        !out.contains("http://") && !out.contains("https://"),
        "a URL"
    );
    assert!(
        !out.contains(" src=") && !out.contains("<link"),
        "an external resource"
    );
    assert!(out.contains("@media print"));
}

#[test]
fn html_holds_the_chart_the_graph_and_every_service() {
    let out = html();
    assert!(out.contains("id=\"trend-chart\""));
    for week in ["W45", "W46", "W47", "W48"] {
        assert!(out.contains(&format!(">{week}</text>")), "{week}");
    }
    // Overall values written on the chart, the legend with each team.
    for value in ["57.1%", "71.4%", "37.5%"] {
        assert!(out.contains(&format!("\">{value}</text>")), "{value}");
    }
    for legend in ["overall: 37.5%", "payments: 33.3%", "risk: 0.0%"] {
        assert!(out.contains(&format!(">{legend}</text>")), "{legend}");
    }
    assert!(out.contains("id=\"service-graph\""));
    assert!(
        out.contains("<g class=\"edge broken\" data-caller=\"checkout\" data-callee=\"pricing\">")
    );
    assert!(out.contains(">BROKEN: 40 of 40 calls</text>"));
    assert!(out.contains("<g class=\"node broken\" data-service=\"pricing\">"));
    assert!(out.contains("<g class=\"node propagating\" data-service=\"gateway\">"));
    assert!(out.contains("<g class=\"node static\" data-service=\"ledger\">"));
    for s in &fixture::report().services {
        assert!(
            out.contains(&format!("<tr data-service=\"{}\">", s.name)),
            "{}",
            s.name
        );
    }
}

#[test]
fn html_graph_is_layered_left_to_right() {
    let out = html();
    let x_of = |service: &str| -> u32 {
        let at = out
            .find(&format!("data-service=\"{service}\">"))
            .unwrap_or_else(|| panic!("{service}"));
        let rect = &out[at..];
        let x = &rect[rect.find("<rect x=\"").unwrap() + 9..];
        x[..x.find('"').unwrap()].parse().unwrap()
    };
    assert!(x_of("gateway") < x_of("checkout"));
    assert!(x_of("checkout") < x_of("pricing"));
    assert_eq!(x_of("pricing"), x_of("ledger"));
    assert_eq!(x_of("accounts"), x_of("checkout"));
}

#[test]
fn html_without_traces_has_no_graph_and_escapes_hostile_names() {
    let out = render(Format::Html, &static_only()).unwrap();
    assert!(!out.contains("id=\"service-graph\""));
    assert!(out.contains("id=\"trend-chart\""));
    let out = render(Format::Html, &hostile()).unwrap();
    assert!(!out.contains("<b>x</b>") && !out.contains("<script>") && !out.contains("<i>"));
    assert!(out.contains("&lt;b&gt;x&lt;&#x2f;b&gt;|y&quot;z\\nline2"));
}

#[test]
fn graph_layers_survive_cycles() {
    let mut report = fixture::report();
    report.edges.push(crate::coverage::model::RuntimeEdge {
        caller: "pricing".into(),
        callee: "gateway".into(),
        paired: 1,
        broken: 0,
    });
    report.edges.push(crate::coverage::model::RuntimeEdge {
        caller: "ledger".into(),
        callee: "ledger".into(),
        paired: 1,
        broken: 0,
    });
    let out = render(Format::Html, &report).unwrap();
    assert!(out.contains("data-caller=\"pricing\" data-callee=\"gateway\""));
}

#[test]
fn table_names_the_headline_change_and_evidence() {
    let out = render(Format::Table, &fixture::report()).unwrap();
    assert!(out.starts_with(
        "Propagation coverage 2026-W48: 37.5% of services propagate trace context end to end (3 of 8 services)\nChange: -33.9 pp since 2026-W47 (71.4%)\n"
    ));
    assert!(out.contains("Evidence: runtime verdicts: tracegate store fixtures/coverage/traces: 70 traces, 420 spans"));
    let out = render(Format::Table, &hostile()).unwrap();
    assert!(!out.contains('\u{1b}'), "colour codes");
    assert!(!out.contains("x</b>|y\"z\nline2"), "a raw newline");
}

/// The terminal layouts: 80 and 160 columns, with and without colour. Nothing is wider than
/// the width (prose wraps under a hanging indent, tables shrink), and without colour the text
/// is the plain table's, only wrapped.
#[test]
fn table_at_80_and_160_columns_with_and_without_colour() {
    use crate::report::term::{visible_width, TextOptions};
    let report = fixture::report();
    for width in [80, 160] {
        for color in [false, true] {
            let opts = TextOptions {
                width: Some(width),
                color,
                ..TextOptions::default()
            };
            let out = render_with(Format::Table, &report, &opts).unwrap();
            for line in out.lines() {
                assert!(visible_width(line) <= width, "{width}: {line:?}");
            }
            assert_eq!(out.contains('\u{1b}'), color);
            let name = format!("table_{width}{}", if color { "_colour" } else { "" });
            insta::assert_snapshot!(name, out);
        }
    }
    // At 160 columns nothing needs wrapping here but the evidence line: the rest is the
    // unwrapped table's, word for word.
    let wide = TextOptions {
        width: Some(160),
        ..TextOptions::default()
    };
    let plain = render(Format::Table, &report).unwrap();
    let fitted = render_with(Format::Table, &report, &wide).unwrap();
    let words = |s: &str| s.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
    assert_eq!(words(&plain), words(&fitted));
}

/// Colour follows what the words say: the change by its sign, verdicts by their meaning.
#[test]
fn table_colours_the_change_and_the_verdicts() {
    use crate::report::term::{paint, palette, TextOptions};
    let opts = TextOptions {
        color: true,
        ..TextOptions::default()
    };
    let out = render_with(Format::Table, &fixture::report(), &opts).unwrap();
    let red = |w: &str| paint(w, palette::ERROR, true);
    let green = |w: &str| paint(w, palette::PASS, true);
    assert!(
        out.contains(&format!("Change: {} since", red("-33.9 pp"))),
        "{out}"
    );
    assert!(out.contains(&red("-66.7 pp")), "{out}");
    assert!(out.contains(&format!("│ accounts      ┆ identity ┆ {}", green("pass"))));
    assert!(out.contains(&red("broken")) && out.contains(&red("no")));
    assert!(out.contains(&paint("not found", palette::WARNING, true)));
    // ±0.0 pp and `new` stay plain
    assert!(!out.contains(&red("±0.0 pp")) && !out.contains(&green("±0.0 pp")));
}

#[test]
fn runtime_names_cover_every_verdict() {
    assert_eq!(runtime_name(Some(RuntimeVerdict::Pass)), "pass");
    assert_eq!(runtime_name(Some(RuntimeVerdict::Fail)), "broken");
    assert_eq!(runtime_name(Some(RuntimeVerdict::Unseen)), "unseen");
    assert_eq!(runtime_name(None), "–");
    assert_eq!(change_pp(0.375, 0.7143), "-33.9 pp");
    assert_eq!(change_pp(0.5, 0.5), "±0.0 pp");
    assert_eq!(change_pp(0.8083, 0.79), "+1.8 pp");
}

#[test]
fn percentages_never_round_to_100_or_0_when_neither() {
    assert_eq!(percent(0.375), "37.5%");
    assert_eq!(percent(1.0), "100.0%");
    assert_eq!(percent(0.0), "0.0%");
    assert_eq!(percent(0.9999), "99.99%");
    assert_eq!(percent(0.9996), "99.96%");
    assert_eq!(percent(0.9994), "99.9%");
    assert_eq!(percent(0.0001), "0.01%");
    // 20,001 services, one not propagating: the 4-decimal ratio is 1.0, the counts are not.
    assert_eq!(count_percent(1.0, 20_000, 20_001), "99.99%");
    assert_eq!(count_percent(0.0, 1, 20_001), "0.01%");
    assert_eq!(count_percent(1.0, 5, 5), "100.0%");
    let mut report = fixture::report();
    report.services_total = 20_001;
    report.services_propagating = 20_000;
    report.coverage = 1.0;
    let out = render(Format::Markdown, &report).unwrap();
    assert!(out.contains("**99.99% of services"), "{out}");
}

#[test]
fn markdown_lists_are_cut_with_the_count_of_the_rest() {
    let mut report = fixture::report();
    report.regressions = (0..120).map(|i| format!("svc-{i:03}")).collect();
    report.failing_rules = (0..30)
        .map(|i| crate::coverage::model::RuleCount {
            rule: format!("TG{:03}", 100 + i),
            services: 30 - i,
        })
        .collect();
    let out = render(Format::Markdown, &report).unwrap();
    assert!(out.contains("### Regressions (120)"));
    assert!(out.contains("**svc-049**") && !out.contains("**svc-050**"));
    assert!(out.contains("- … and 70 more (`--format html` or `json` lists every one)"));
    assert!(out.contains("[TG109]") && !out.contains("[TG110]"));
    assert!(out.contains("| 20 more | |"));
}

#[test]
fn a_large_graph_is_cut_to_where_propagation_breaks() {
    let mut report = fixture::report();
    // A chain of 400 services, one edge broken in the middle.
    report.edges = (0..400)
        .map(|i| crate::coverage::model::RuntimeEdge {
            caller: format!("s{i:03}"),
            callee: format!("s{:03}", i + 1),
            paired: if i == 200 { 0 } else { 5 },
            broken: if i == 200 { 5 } else { 0 },
        })
        .collect();
    let out = render(Format::Html, &report).unwrap();
    assert!(out.contains("The whole graph has 402 services and 400 edges; drawn here: where propagation breaks (5 services, 3 edges)."), "{}", &out[out.find("id=\"graph-cut\"").unwrap_or(0)..][..300]);
    assert!(out.contains("data-caller=\"s200\" data-callee=\"s201\""));
    assert!(out.contains("data-caller=\"s199\" data-callee=\"s200\""));
    assert!(!out.contains("data-caller=\"s100\""));
    // pricing is broken at runtime without an edge here: drawn too.
    assert!(out.contains("<g class=\"node broken\" data-service=\"pricing\">"));
    // Small graphs are drawn whole.
    assert!(!html().contains("id=\"graph-cut\""));
}

#[test]
fn trend_weeks_sit_at_their_calendar_position() {
    let mut report = fixture::report();
    // W46 not recorded: W45, W47, W48 at 0, 2/3 and 3/3 of the axis.
    report.trend.remove(1);
    let out = render(Format::Html, &report).unwrap();
    let x_of = |label: &str| -> f64 {
        let end = out.find(&format!("\">{label}</text>")).unwrap();
        let tag = &out[..end];
        let tag = &tag[tag.rfind("<text x=\"").unwrap() + 9..];
        tag[..tag.find('"').unwrap()].parse().unwrap()
    };
    let (w45, w47, w48) = (x_of("W45"), x_of("W47"), x_of("W48"));
    assert!(
        ((w47 - w45) / (w48 - w45) - 2.0 / 3.0).abs() < 0.01,
        "{w45} {w47} {w48}"
    );
}
