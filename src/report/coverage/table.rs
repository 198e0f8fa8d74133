//! `--format table`: the headline, per team, regressions, new services without propagation,
//! failing rules, expiring waivers, what breaks at runtime, every service, and the evidence.
//!
//! The caller's [`TextOptions`] decide the width (prose wraps at word boundaries under a
//! hanging indent, the tables are sized to it) and colour (the change by its sign, verdicts by
//! what they say, section titles bold), as for `check`'s table. Without either (a file, a pipe,
//! `render`), the text is as wide as it is and plain.

use anstyle::Style;
use comfy_table::{presets, CellAlignment, ContentArrangement, Table};

use super::{
    broken_edges, broken_services, change_pp, count_percent, evidence_lines, headline_tail,
    overall_percent, plural, runtime_name, service, static_name, status_text,
};
use crate::coverage::CoverageReport;
use crate::report::escape_control;
use crate::report::term::{paint, paint_cell, palette, Line, TextOptions};

fn table(header: &[&str], opts: &TextOptions<'_>) -> Table {
    let mut table = Table::new();
    table
        .load_preset(presets::UTF8_FULL_CONDENSED)
        .force_no_tty()
        .set_header(header.to_vec());
    match opts.width {
        Some(width) => {
            table
                .set_content_arrangement(ContentArrangement::Dynamic)
                .set_width(u16::try_from(width).unwrap_or(u16::MAX));
        }
        None => {
            table.set_content_arrangement(ContentArrangement::Disabled);
        }
    }
    table
}

fn right_align(table: &mut Table, columns: &[usize]) {
    for &i in columns {
        if let Some(column) = table.column_mut(i) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
}

/// The lines of `table`, each cell of `columns` painted by its style function.
type CellStyle = fn(&str) -> Option<Style>;

fn table_text(table: &Table, opts: &TextOptions<'_>, columns: &[(usize, CellStyle)]) -> String {
    let mut out = String::new();
    for line in table.lines() {
        let mut line = line;
        for &(column, style_of) in columns {
            line = paint_cell(&line, column, opts.color, style_of);
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// Received text for the terminal: control characters visible.
fn text(received: &str) -> String {
    escape_control(received).into_owned()
}

/// A section title on a line of its own, after a blank line.
fn title(out: &mut String, words: &str, opts: &TextOptions<'_>) {
    out.push('\n');
    out.push_str(&paint(words, palette::EMPHASIS, opts.color));
    out.push('\n');
}

/// `+2.3 pp` in green, `-33.9 pp` in red, no change plain.
fn change_style(change: &str) -> Option<Style> {
    if change.starts_with('-') {
        Some(palette::ERROR)
    } else if change.starts_with('+') {
        Some(palette::PASS)
    } else {
        None
    }
}

fn static_style(word: &str) -> Option<Style> {
    match word {
        "pass" => Some(palette::PASS),
        "fail" => Some(palette::ERROR),
        "unknown" | "not found" => Some(palette::WARNING),
        _ => None,
    }
}

fn runtime_style(word: &str) -> Option<Style> {
    match word {
        "pass" => Some(palette::PASS),
        "broken" => Some(palette::ERROR),
        "unseen" => Some(palette::NOTE),
        _ => None,
    }
}

fn propagating_style(word: &str) -> Option<Style> {
    match word {
        "yes" => Some(palette::PASS),
        "no" => Some(palette::ERROR),
        _ => None,
    }
}

/// `  name (team): why`, the name whole and bold, the rest wrapped under a hanging indent.
fn named(report: &CoverageReport, name: &str, opts: &TextOptions<'_>) -> String {
    let line = Line::new().push_whole(0, &text(name), palette::EMPHASIS);
    let line = match service(report, name) {
        Some(s) => line.push(
            1,
            &format!("({}): {}", text(&s.team), text(&status_text(s))),
            palette::PLAIN,
        ),
        None => line,
    };
    line.wrap(opts.width, 2, 4, opts.color)
}

pub(super) fn render(report: &CoverageReport, opts: &TextOptions<'_>) -> String {
    let mut out = Line::new()
        .push_whole(
            0,
            &format!("Propagation coverage {}:", report.week),
            palette::PLAIN,
        )
        .push_whole(1, &overall_percent(report), palette::EMPHASIS)
        .push(1, &headline_tail(report), palette::PLAIN)
        .wrap(opts.width, 0, 4, opts.color);
    let change = match &report.previous {
        Some(previous) => {
            let pp = change_pp(report.coverage, previous.coverage);
            Line::new()
                .push_whole(0, "Change:", palette::PLAIN)
                .push_whole(1, &pp, change_style(&pp).unwrap_or(palette::PLAIN))
                .push(
                    1,
                    &format!(
                        "since {} ({})",
                        previous.week,
                        super::percent(previous.coverage)
                    ),
                    palette::PLAIN,
                )
        }
        None => Line::new().push_whole(0, "Change:", palette::PLAIN).push(
            1,
            "no earlier week recorded: no change to show",
            palette::PLAIN,
        ),
    };
    out.push_str(&change.wrap(opts.width, 0, 4, opts.color));

    if !report.by_team.is_empty() {
        let mut teams = table(
            &["team", "services", "propagating", "coverage", "change"],
            opts,
        );
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
        title(&mut out, "By team", opts);
        out.push_str(&table_text(&teams, opts, &[(4, change_style)]));
    }

    if let Some(previous) = &report.previous {
        // a count in red when there is any
        let counted = |words: &str, n: usize| {
            let style = if n > 0 {
                palette::ERROR
            } else {
                palette::PLAIN
            };
            Line::new()
                .push(0, words, palette::EMPHASIS)
                .push_whole(1, &n.to_string(), style)
                .wrap(opts.width, 0, 4, opts.color)
        };
        out.push('\n');
        out.push_str(&counted(
            &format!(
                "Regressions (propagating in {}, not in {}):",
                previous.week, report.week
            ),
            report.regressions.len(),
        ));
        for name in &report.regressions {
            out.push_str(&named(report, name, opts));
        }
        out.push('\n');
        out.push_str(&counted(
            "New services without propagation:",
            report.new_without_propagation.len(),
        ));
        for name in &report.new_without_propagation {
            out.push_str(&named(report, name, opts));
        }
    }

    if !report.failing_rules.is_empty() {
        title(&mut out, "Most common failing rules", opts);
        for rule in &report.failing_rules {
            out.push_str(
                &Line::new()
                    .push_whole(0, &text(&rule.rule), palette::EMPHASIS)
                    .push_whole(2, &plural(rule.services, "service"), palette::PLAIN)
                    .wrap(opts.width, 2, 4, opts.color),
            );
        }
    }

    if !report.expiring_waivers.is_empty() {
        title(&mut out, "Waivers expiring within two weeks", opts);
        for w in &report.expiring_waivers {
            out.push_str(
                &Line::new()
                    .push_whole(0, &text(&w.waiver.expires), palette::WARNING)
                    .push_whole(2, &text(&w.service), palette::EMPHASIS)
                    .push(1, &format!("({})", text(&w.team)), palette::PLAIN)
                    .push_whole(2, &format!("{}:", text(&w.waiver.rule)), palette::PLAIN)
                    .push(1, &text(&w.waiver.reason), palette::PLAIN)
                    .wrap(opts.width, 2, 4, opts.color),
            );
        }
    }

    let edges = broken_edges(report);
    let broken: Vec<_> = broken_services(report).collect();
    if !edges.is_empty() || !broken.is_empty() {
        title(&mut out, "Where propagation breaks at runtime", opts);
        for (caller, callee, counts) in &edges {
            out.push_str(
                &Line::new()
                    .push_whole(0, &text(caller), palette::EMPHASIS)
                    .push_whole(1, "→", palette::PLAIN)
                    .push_whole(1, &format!("{}:", text(callee)), palette::EMPHASIS)
                    .push(1, counts, palette::PLAIN)
                    .wrap(opts.width, 2, 4, opts.color),
            );
        }
        for s in broken {
            out.push_str(&named(report, &s.name, opts));
        }
    }

    if report.services.is_empty() {
        out.push('\n');
        out.push_str(&paint("Services:", palette::EMPHASIS, opts.color));
        out.push_str(" none\n");
    } else {
        out.push_str(&services_table(report, opts));
    }

    if !report.notes.is_empty() {
        title(&mut out, "Notes", opts);
        for note in &report.notes {
            out.push_str(
                &Line::new()
                    .push(0, &text(note), palette::PLAIN)
                    .wrap(opts.width, 2, 4, opts.color),
            );
        }
    }
    out.push('\n');
    for line in evidence_lines(report) {
        out.push_str(
            &Line::new()
                .push_whole(0, "Evidence:", palette::LABEL)
                .push(1, &text(&line), palette::PLAIN)
                .wrap(opts.width, 0, 4, opts.color),
        );
    }
    out
}

fn services_table(report: &CoverageReport, opts: &TextOptions<'_>) -> String {
    let mut services = table(
        &["service", "team", "static", "runtime", "propagating"],
        opts,
    );
    for s in &report.services {
        services.add_row([
            text(&s.name),
            text(&s.team),
            static_name(s.static_verdict).to_owned(),
            runtime_name(s.runtime).to_owned(),
            if s.propagating { "yes" } else { "no" }.to_owned(),
        ]);
    }
    let mut out = String::new();
    title(&mut out, "Services", opts);
    out.push_str(&table_text(
        &services,
        opts,
        &[
            (2, static_style),
            (3, runtime_style),
            (4, propagating_style),
        ],
    ));
    out
}
