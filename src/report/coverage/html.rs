//! `--format html`: one self-contained page (inline CSS and SVG, no script, no external URL)
//! with the markdown report's content, the trend chart of the last 12 weeks, the runtime
//! service graph when traces were given, and every service. Reads well printed (`@media
//! print`, light backgrounds only). Geometry comes from [`super::chart`] and [`super::graph`];
//! the markup lives in the minijinja template `coverage.html`, which HTML-escapes every value
//! (auto-escaping by the `.html` name); received strings also have their control characters
//! escaped ([`escape_control`]).

use minijinja::{context, Environment};
use serde::Serialize;

use super::{
    broken_edges, broken_services, change_line, change_pp, chart, count_percent, evidence_lines,
    graph, headline_tail, overall_percent, plural, runtime_name, static_name, status_text,
};
use crate::coverage::CoverageReport;
use crate::report::escape_control;

const TEMPLATE: &str = include_str!("coverage.html");

/// Received text for the page (markup is escaped by the template).
fn text(received: &str) -> String {
    escape_control(received).into_owned()
}

#[derive(Serialize)]
struct TeamRow {
    team: String,
    total: usize,
    propagating: usize,
    coverage: String,
    change: String,
}

#[derive(Serialize)]
struct Listed {
    name: String,
    team: String,
    why: String,
}

#[derive(Serialize)]
struct ServiceRow {
    name: String,
    team: String,
    repository: String,
    static_verdict: &'static str,
    runtime: &'static str,
    propagating: bool,
    why: String,
}

fn listed(report: &CoverageReport, name: &str) -> Listed {
    match super::service(report, name) {
        Some(s) => Listed {
            name: text(name),
            team: text(&s.team),
            why: text(&status_text(s)),
        },
        None => Listed {
            name: text(name),
            team: String::new(),
            why: String::new(),
        },
    }
}

pub(super) fn render(report: &CoverageReport) -> Result<String, minijinja::Error> {
    let teams: Vec<TeamRow> = report
        .by_team
        .iter()
        .map(|t| TeamRow {
            team: text(&t.team),
            total: t.total,
            propagating: t.propagating,
            coverage: count_percent(t.coverage, t.propagating, t.total),
            change: match t.previous {
                Some(previous) => change_pp(t.coverage, previous),
                None if report.previous.is_some() => "new".to_owned(),
                None => "–".to_owned(),
            },
        })
        .collect();
    let regressions: Vec<Listed> = report
        .regressions
        .iter()
        .map(|n| listed(report, n))
        .collect();
    let new_services: Vec<Listed> = report
        .new_without_propagation
        .iter()
        .map(|n| listed(report, n))
        .collect();
    let rules: Vec<(String, String)> = report
        .failing_rules
        .iter()
        .map(|r| (text(&r.rule), plural(r.services, "service")))
        .collect();
    let waivers: Vec<[String; 5]> = report
        .expiring_waivers
        .iter()
        .map(|w| {
            [
                text(&w.waiver.expires),
                text(&w.service),
                text(&w.team),
                text(&w.waiver.rule),
                text(&w.waiver.reason),
            ]
        })
        .collect();
    let edges_broken: Vec<(String, String, String)> = broken_edges(report)
        .into_iter()
        .map(|(a, b, counts)| (text(&a), text(&b), counts))
        .collect();
    let services_broken: Vec<Listed> = broken_services(report)
        .map(|s| listed(report, &s.name))
        .collect();
    let services: Vec<ServiceRow> = report
        .services
        .iter()
        .map(|s| ServiceRow {
            name: text(&s.name),
            team: text(&s.team),
            repository: text(&s.repository),
            static_verdict: static_name(s.static_verdict),
            runtime: runtime_name(s.runtime),
            propagating: s.propagating,
            why: if s.propagating {
                String::new()
            } else {
                text(&status_text(s))
            },
        })
        .collect();
    let (trend_weeks, trend_rows) = chart::table(report, text);

    let mut env = Environment::new();
    env.add_template("coverage.html", TEMPLATE)?;
    env.get_template("coverage.html")?.render(context! {
        week => report.week.to_string(),
        headline_tail => headline_tail(report),
        change => change_line(report),
        coverage => overall_percent(report),
        has_previous => report.previous.is_some(),
        previous_week => report.previous.as_ref().map(|p| p.week.to_string()),
        teams,
        regressions,
        new_services,
        rules,
        waivers,
        edges_broken,
        services_broken,
        chart => chart::chart(report, text),
        chart_weeks => chart::WEEKS,
        trend_weeks,
        trend_rows,
        graph => graph::graph(report, text),
        services,
        notes => report.notes.iter().map(|n| text(n)).collect::<Vec<_>>(),
        evidence => evidence_lines(report).iter().map(|l| text(l)).collect::<Vec<_>>(),
    })
}
