//! `--format table`: a verdict per criterion with its summary, the first evidence lines
//! under each failure, the service graph as text, the notes, one summary line.

use comfy_table::{presets, ContentArrangement, Table};

use super::{graph_text, shown_evidence, SummaryLine};
use crate::report::escape_control;
use crate::verify::model::{Verdict, VerifyReport};

/// Width of the table when standard output is not a terminal.
const TABLE_WIDTH: u16 = 120;

pub(super) fn render(report: &VerifyReport) -> String {
    let mut out = format!("tracegate verify {}\n\n", escape_control(&report.target));
    let mut table = Table::new();
    table
        .load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(["CRITERION", "VERDICT", "SUMMARY"]);
    // the terminal's width when there is one, else a width that reads well in CI logs
    if table.width().is_none() {
        table.set_width(TABLE_WIDTH);
    }
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
    out.push_str(&table.to_string());
    out.push('\n');
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
    out.push_str(&format!("\n{}\n", SummaryLine(report)));
    out
}
