//! `--format markdown`: a chat post or an issue. The headline, the change since last week,
//! per team, regressions, new services without propagation, the most common failing rules,
//! waivers expiring within two weeks, where propagation breaks at runtime, and the evidence.
//! No table of every service (that is what `--format html` and `json` are for), and lists cut
//! at 50 items (rules at 10) with `… and N more`, so the post stays short at any size.

use std::fmt::Write;

use super::{
    broken_edges, broken_services, change_line, change_pp, count_percent, evidence_lines, headline,
    plural, service, status_text,
};
use crate::coverage::CoverageReport;
use crate::report::check::docs_url;
use crate::report::escape_control;

/// Received text made inert in Markdown (inline and in table cells): control characters
/// visible, the Markdown punctuation that formats inline text or splits a table cell
/// backslash-escaped (brackets escaped, parentheses cannot start a link), `<`, `>` and `&` as
/// entities (no inline HTML). Names never start a line here, so `#`, `-`, `+` are left alone.
pub(super) fn md(received: &str) -> String {
    let visible = escape_control(received);
    let mut out = String::with_capacity(visible.len() + 8);
    for c in visible.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// Items a list shows before `… and N more` (a post stays within chat and issue-comment size
/// limits at any size of organisation; `--format html` and `json` list every one).
const LIST_CAP: usize = 50;
/// Rows of the most common failing rules.
const RULES_CAP: usize = 10;

/// `- … and N more` after a list cut at `cap`.
fn more(out: &mut String, total: usize, cap: usize) {
    if total > cap {
        let _ = writeln!(
            out,
            "- … and {} more (`--format html` or `json` lists every one)",
            total - cap
        );
    }
}

/// A list item for a service named in the report: `**name** (team): why`.
fn item(report: &CoverageReport, name: &str) -> String {
    match service(report, name) {
        Some(s) => format!(
            "- **{}** ({}): {}",
            md(name),
            md(&s.team),
            md(&status_text(s))
        ),
        None => format!("- **{}**", md(name)),
    }
}

pub(super) fn render(report: &CoverageReport) -> String {
    let mut out = format!("## Propagation coverage, {}\n\n", report.week);
    let _ = writeln!(out, "**{}**  ", md(&headline(report)));
    let _ = writeln!(out, "Change: **{}**\n", md(&change_line(report)));

    if !report.by_team.is_empty() {
        out.push_str("| Team | Services | Propagating | Coverage | Change |\n");
        out.push_str("|---|---:|---:|---:|---:|\n");
        for team in &report.by_team {
            let change = match team.previous {
                Some(previous) => change_pp(team.coverage, previous),
                None if report.previous.is_some() => "new".to_owned(),
                None => "–".to_owned(),
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                md(&team.team),
                team.total,
                team.propagating,
                count_percent(team.coverage, team.propagating, team.total),
                md(&change)
            );
        }
        out.push('\n');
    }

    if let Some(previous) = &report.previous {
        let _ = writeln!(
            out,
            "### Regressions ({})\n\nPropagating in {}, not in {}:\n",
            report.regressions.len(),
            previous.week,
            report.week
        );
        if report.regressions.is_empty() {
            out.push_str("- none\n");
        }
        for name in report.regressions.iter().take(LIST_CAP) {
            let _ = writeln!(out, "{}", item(report, name));
        }
        more(&mut out, report.regressions.len(), LIST_CAP);
        let _ = writeln!(
            out,
            "\n### New services without propagation ({})\n",
            report.new_without_propagation.len()
        );
        if report.new_without_propagation.is_empty() {
            out.push_str("- none\n");
        }
        for name in report.new_without_propagation.iter().take(LIST_CAP) {
            let _ = writeln!(out, "{}", item(report, name));
        }
        more(&mut out, report.new_without_propagation.len(), LIST_CAP);
        out.push('\n');
    }

    if !report.failing_rules.is_empty() {
        out.push_str("### Most common failing rules\n\n| Rule | Services |\n|---|---:|\n");
        for rule in report.failing_rules.iter().take(RULES_CAP) {
            let _ = writeln!(
                out,
                "| [{}]({}) | {} |",
                md(&rule.rule),
                docs_url("", &rule.rule),
                rule.services
            );
        }
        if report.failing_rules.len() > RULES_CAP {
            let _ = writeln!(out, "| {} more | |", report.failing_rules.len() - RULES_CAP);
        }
        out.push('\n');
    }

    if !report.expiring_waivers.is_empty() {
        out.push_str("### Waivers expiring within two weeks\n\n");
        out.push_str("| Expires | Service | Team | Rule | Reason |\n|---|---|---|---|---|\n");
        for w in report.expiring_waivers.iter().take(LIST_CAP) {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                md(&w.waiver.expires),
                md(&w.service),
                md(&w.team),
                md(&w.waiver.rule),
                md(&w.waiver.reason)
            );
        }
        if report.expiring_waivers.len() > LIST_CAP {
            let _ = writeln!(
                out,
                "| {} more | | | | |",
                report.expiring_waivers.len() - LIST_CAP
            );
        }
        out.push('\n');
    }

    let edges = broken_edges(report);
    let broken: Vec<_> = broken_services(report).collect();
    if !edges.is_empty() || !broken.is_empty() {
        out.push_str("### Where propagation breaks at runtime\n\n");
        for (caller, callee, counts) in edges.iter().take(LIST_CAP) {
            let _ = writeln!(
                out,
                "- **{}** → **{}**: {}",
                md(caller),
                md(callee),
                md(counts)
            );
        }
        more(&mut out, edges.len(), LIST_CAP);
        for s in broken.iter().take(LIST_CAP) {
            let _ = writeln!(out, "{}", item(report, &s.name));
        }
        more(&mut out, broken.len(), LIST_CAP);
        out.push('\n');
    }

    if !report.notes.is_empty() {
        out.push_str("### Notes\n\n");
        for note in report.notes.iter().take(LIST_CAP) {
            let _ = writeln!(out, "- {}", md(note));
        }
        more(&mut out, report.notes.len(), LIST_CAP);
        out.push('\n');
    }

    let evidence: Vec<String> = evidence_lines(report).iter().map(|l| md(l)).collect();
    let _ = writeln!(
        out,
        "*Evidence: {}. {} counted; a service propagates when it passes statically and is not broken at runtime.*",
        evidence.join(". "),
        plural(report.services_total, "service")
    );
    out
}
