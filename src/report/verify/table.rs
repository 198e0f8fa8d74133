//! `--format table`: a verdict per criterion with its summary, the first evidence lines
//! under each failure, the service graph as text, the notes, one summary line.

use comfy_table::{presets, ContentArrangement, Table};

use super::{graph_text, shown_evidence, SummaryLine};
use crate::report::escape_control;
use crate::report::term::{paint, palette, TextOptions};
use crate::verify::model::{Verdict, VerifyReport};

/// Width of the table when the caller gives none (not a terminal): reads well in CI logs.
const TABLE_WIDTH: u16 = 120;

pub(super) fn render(report: &VerifyReport, opts: &TextOptions<'_>) -> String {
    let mut out = format!("tracegate verify {}\n\n", escape_control(&report.target));
    let mut table = Table::new();
    table
        .load_preset(presets::UTF8_FULL_CONDENSED)
        .force_no_tty()
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(["CRITERION", "VERDICT", "SUMMARY"])
        .set_width(
            opts.width
                .map_or(TABLE_WIDTH, |w| u16::try_from(w).unwrap_or(u16::MAX)),
        );
    for result in &report.criteria {
        let mut summary = escape_control(&result.summary).into_owned();
        if result.verdict == Verdict::Fail {
            for line in shown_evidence(result) {
                summary.push_str("\n• ");
                summary.push_str(&line);
            }
        }
        table.add_row([
            format!("{} {}", result.id, result.name),
            result.verdict.as_str().to_uppercase(),
            summary,
        ]);
    }
    for line in table.lines() {
        out.push_str(&colour_verdict_cell(&line, opts.color));
        out.push('\n');
    }
    let graph = graph_text(&report.service_graph);
    if !graph.is_empty() {
        out.push_str("\nService graph (healthy phase):\n");
        out.push_str(&graph);
    }
    if !report.notes.is_empty() {
        out.push_str("\nNotes:\n");
        for note in &report.notes {
            out.push_str(&format!("  - {}\n", escape_control(note)));
        }
    }
    let summary = SummaryLine(report).to_string();
    let summary = match summary.split_once(':') {
        Some((word, rest)) if opts.color => {
            let style = if report.passed() {
                palette::PASS
            } else {
                palette::ERROR
            };
            format!("{}:{rest}", paint(word, style, true))
        }
        _ => summary,
    };
    out.push_str(&format!("\n{summary}\n"));
    out
}

/// The VERDICT (second) cell of a table line in its colour (comfy-table's own styling goes
/// through crossterm, which reads `NO_COLOR` itself and would not obey `--color always`).
fn colour_verdict_cell(line: &str, color: bool) -> String {
    let mut cells: Vec<String> = line.split('┆').map(str::to_owned).collect();
    if !color || cells.len() < 3 {
        return line.to_owned();
    }
    let word = cells[1].trim().to_owned();
    let style = match word.as_str() {
        "PASS" => palette::PASS,
        "FAIL" => palette::ERROR,
        "SKIP" => palette::WARNING,
        _ => return line.to_owned(),
    };
    cells[1] = cells[1].replacen(&word, &paint(&word, style, true), 1);
    cells.join("┆")
}
