//! `--format markdown`: a GitHub step summary (or merge-request comment): the overall line,
//! a table of verdicts, the evidence of each failure, the notes, the service graph as Mermaid.

use std::fmt::Write;

use super::{graph_mermaid, shown_evidence, SummaryLine};
use crate::report::escape_control;
use crate::verify::model::{Verdict, VerifyReport};

/// Text safe inside a Markdown table cell: pipes escaped, control characters visible.
fn cell(text: &str) -> String {
    escape_control(text).replace('|', "\\|")
}

/// Text safe in a list item: control characters visible, no inline HTML.
fn inline(text: &str) -> String {
    escape_control(text)
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

pub(super) fn render(report: &VerifyReport) -> String {
    let mut out = String::from("## tracegate verify\n\n");
    let icon = if report.passed() { "✅" } else { "❌" };
    let _ = writeln!(out, "{icon} **{}**\n", SummaryLine(report));
    let _ = writeln!(
        out,
        "Target: `{}`\n",
        cell(&report.target).replace('`', "'")
    );
    out.push_str("| Criterion | Verdict | Summary |\n|---|---|---|\n");
    for result in &report.criteria {
        let verdict = match result.verdict {
            Verdict::Pass => "✅ pass",
            Verdict::Fail => "❌ fail",
            Verdict::Skip => "⏭️ skip",
        };
        let _ = writeln!(
            out,
            "| {} {} | {verdict} | {} |",
            result.id,
            result.name,
            cell(&result.summary)
        );
    }
    for result in report
        .criteria
        .iter()
        .filter(|c| c.verdict == Verdict::Fail && !c.evidence.is_empty())
    {
        let _ = writeln!(out, "\n### {} {}\n", result.id, result.name);
        for line in shown_evidence(result) {
            let _ = writeln!(out, "- {}", inline(&line));
        }
    }
    if !report.notes.is_empty() {
        out.push_str("\n### Notes\n\n");
        for note in &report.notes {
            let _ = writeln!(out, "- {}", inline(note));
        }
    }
    if !report.service_graph.services.is_empty() {
        out.push_str("\n### Service graph\n\n```mermaid\n");
        out.push_str(&graph_mermaid(&report.service_graph));
        out.push_str("```\n");
    }
    out
}
