//! `--format table`: the headline, per team, regressions, new services without propagation,
//! failing rules, expiring waivers, what breaks at runtime, every service, and the evidence.
//! Plain text (no colour: like `check`'s table, it reads the same in a terminal and a log).

use std::fmt::Write;

use comfy_table::{presets, CellAlignment, ContentArrangement, Table};

use super::{
    broken_edges, broken_services, change_line, change_pp, count_percent, evidence_lines, headline,
    plural, runtime_name, service, static_name, status_text,
};
use crate::coverage::CoverageReport;
use crate::report::escape_control;

fn table(header: &[&str]) -> Table {
    let mut table = Table::new();
    table
        .load_preset(presets::UTF8_FULL_CONDENSED)
        .force_no_tty()
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(header.to_vec());
    table
}

fn right_align(table: &mut Table, columns: &[usize]) {
    for &i in columns {
        if let Some(column) = table.column_mut(i) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
}

/// Received text for the terminal: control characters visible.
fn text(received: &str) -> String {
    escape_control(received).into_owned()
}

/// `name (team)` for the lists.
fn named(report: &CoverageReport, name: &str) -> String {
    match service(report, name) {
        Some(s) => format!(
            "{} ({}): {}",
            text(name),
            text(&s.team),
            text(&status_text(s))
        ),
        None => text(name),
    }
}

pub(super) fn render(report: &CoverageReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Propagation coverage {}: {}",
        report.week,
        headline(report)
    );
    let _ = writeln!(out, "Change: {}", change_line(report));

    if !report.by_team.is_empty() {
        let mut teams = table(&["team", "services", "propagating", "coverage", "change"]);
        for team in &report.by_team {
            let change = match team.previous {
                Some(previous) => change_pp(team.coverage, previous),
                None if report.previous.is_some() => "new".to_owned(),
                None => "–".to_owned(),
            };
            teams.add_row([
                text(&team.team),
                team.total.to_string(),
                team.propagating.to_string(),
                count_percent(team.coverage, team.propagating, team.total),
                change,
            ]);
        }
        right_align(&mut teams, &[1, 2, 3, 4]);
        let _ = write!(out, "\nBy team\n{teams}\n");
    }

    if let Some(previous) = &report.previous {
        let _ = writeln!(
            out,
            "\nRegressions (propagating in {}, not in {}): {}",
            previous.week,
            report.week,
            report.regressions.len()
        );
        for name in &report.regressions {
            let _ = writeln!(out, "  {}", named(report, name));
        }
        let _ = writeln!(
            out,
            "\nNew services without propagation: {}",
            report.new_without_propagation.len()
        );
        for name in &report.new_without_propagation {
            let _ = writeln!(out, "  {}", named(report, name));
        }
    }

    if !report.failing_rules.is_empty() {
        out.push_str("\nMost common failing rules\n");
        for rule in &report.failing_rules {
            let _ = writeln!(
                out,
                "  {}  {}",
                text(&rule.rule),
                plural(rule.services, "service")
            );
        }
    }

    if !report.expiring_waivers.is_empty() {
        out.push_str("\nWaivers expiring within two weeks\n");
        for w in &report.expiring_waivers {
            let _ = writeln!(
                out,
                "  {}  {} ({})  {}: {}",
                text(&w.waiver.expires),
                text(&w.service),
                text(&w.team),
                text(&w.waiver.rule),
                text(&w.waiver.reason)
            );
        }
    }

    let edges = broken_edges(report);
    let broken: Vec<_> = broken_services(report).collect();
    if !edges.is_empty() || !broken.is_empty() {
        out.push_str("\nWhere propagation breaks at runtime\n");
        for (caller, callee, counts) in &edges {
            let _ = writeln!(out, "  {} → {}: {counts}", text(caller), text(callee));
        }
        for s in broken {
            let _ = writeln!(out, "  {}", named(report, &s.name));
        }
    }

    if report.services.is_empty() {
        out.push_str("\nServices: none\n");
    } else {
        out.push_str(&services_table(report));
    }

    if !report.notes.is_empty() {
        out.push_str("\nNotes\n");
        for note in &report.notes {
            let _ = writeln!(out, "  {}", text(note));
        }
    }
    out.push('\n');
    for line in evidence_lines(report) {
        let _ = writeln!(out, "Evidence: {}", text(&line));
    }
    out
}

fn services_table(report: &CoverageReport) -> String {
    let mut services = table(&["service", "team", "static", "runtime", "propagating"]);
    for s in &report.services {
        services.add_row([
            text(&s.name),
            text(&s.team),
            static_name(s.static_verdict).to_owned(),
            runtime_name(s.runtime).to_owned(),
            if s.propagating { "yes" } else { "no" }.to_owned(),
        ]);
    }
    format!("\nServices\n{services}\n")
}
