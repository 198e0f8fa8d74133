//! Renderers of a [`VerifyReport`]: `table`, `json`, `junit`, `markdown`; and the run's
//! service graph as text, Graphviz DOT, Mermaid and SVG (for `--artifacts`).
//!
//! Verdicts are decided by `verify::criteria` (and `verify::run`); nothing here changes one.
//! Human-readable formats escape control characters in everything that came from the
//! platform (service names, span details, headers) with [`escape_control`]; JSON is escaped
//! by serde, XML by quick-xml after the same escaping (XML 1.0 allows no control characters).

use std::fmt;

use crate::report::escape_control;
use crate::report::term::TextOptions;
use crate::verify::model::{CriterionResult, Evidence, Verdict, VerifyReport};

mod graph;
mod json;
mod junit;
mod markdown;
mod table;

pub use graph::{graph_dot, graph_mermaid, graph_svg, graph_text};

#[cfg(test)]
mod tests;

/// An output format of `tracegate verify` and `tracegate demo`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Verdict table, evidence of failures and the service graph (default on a terminal).
    Table,
    /// The stable JSON contract (DESIGN.md).
    Json,
    /// JUnit XML: a testcase per criterion.
    Junit,
    /// Markdown, fit for a GitHub step summary.
    Markdown,
}

/// Render `report` in `format` (the table uncoloured, 120 columns wide).
pub fn render(format: Format, report: &VerifyReport) -> std::io::Result<String> {
    render_with(format, report, &TextOptions::default())
}

/// Render `report` in `format`; the table at `text`'s width (120 columns without one) and in
/// colour when `text` says so (the other formats ignore `text`).
pub fn render_with(
    format: Format,
    report: &VerifyReport,
    text: &TextOptions<'_>,
) -> std::io::Result<String> {
    Ok(match format {
        Format::Table => table::render(report, text),
        Format::Json => json::render(report).map_err(std::io::Error::other)?,
        Format::Junit => junit::render(report)?,
        Format::Markdown => markdown::render(report),
    })
}

/// Evidence lines shown per failed criterion in the table and Markdown (JSON and JUnit have
/// them all).
pub const EVIDENCE_SHOWN: usize = 3;

/// One line overall: `PASSED: 7 passed, 0 failed, 0 skipped; 200 requests, 1234 spans read in
/// 4.3 s (replay 1.2 s, collect 2.1 s, fault phase 1.0 s, judge 21 ms)`.
pub struct SummaryLine<'a>(pub &'a VerifyReport);

impl fmt::Display for SummaryLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let report = self.0;
        let count = |v: Verdict| report.criteria.iter().filter(|c| c.verdict == v).count();
        write!(
            f,
            "{}: {} passed, {} failed, {} skipped; {} request{}, {} span{} read in {} (replay {}, collect {}, fault phase {}, judge {})",
            if report.passed() { "PASSED" } else { "FAILED" },
            count(Verdict::Pass),
            count(Verdict::Fail),
            count(Verdict::Skip),
            report.requests,
            plural(report.requests),
            report.spans_read,
            plural(report.spans_read),
            millis(report.duration_ms),
            millis(report.timings.replay_ms),
            millis(report.timings.collect_ms),
            millis(report.timings.fault_phase_ms),
            millis(report.timings.judge_ms),
        )
    }
}

/// `21 ms`, `4.3 s`.
fn millis(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        format!("{:.1} s", ms as f64 / 1000.0)
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// One evidence item on one line, control characters escaped:
/// `trace 4bf9… span 00f0…, pricing: detail`.
pub fn evidence_line(evidence: &Evidence) -> String {
    let mut place = Vec::new();
    if let Some(trace) = &evidence.trace_id {
        place.push(format!("trace {}", escape_control(trace)));
    }
    if let Some(span) = &evidence.span_id {
        place.push(format!("span {}", escape_control(span)));
    }
    if let Some(service) = &evidence.service {
        place.push(escape_control(service).into_owned());
    }
    let detail = escape_control(&evidence.detail);
    if place.is_empty() {
        detail.into_owned()
    } else {
        format!("{}: {detail}", place.join(" "))
    }
}

/// The evidence lines shown for `result` in short formats: the first [`EVIDENCE_SHOWN`], then
/// how many more there are.
fn shown_evidence(result: &CriterionResult) -> Vec<String> {
    let mut lines: Vec<String> = result
        .evidence
        .iter()
        .take(EVIDENCE_SHOWN)
        .map(evidence_line)
        .collect();
    if result.evidence.len() > EVIDENCE_SHOWN {
        lines.push(format!(
            "… {} more of the {} kept (--format json lists them)",
            result.evidence.len() - EVIDENCE_SHOWN,
            result.evidence.len()
        ));
    }
    lines
}
