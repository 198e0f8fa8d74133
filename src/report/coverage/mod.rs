//! Renderers of a [`CoverageReport`]: `table`, `json` (the DESIGN.md contract), `markdown`
//! (a chat post or an issue), `html` (one self-contained file with the SVG trend chart and the
//! runtime service graph), `openmetrics` (a Prometheus textfile collector or push gateway).
//! Renderers never decide: every number is in the report.

use crate::coverage::CoverageReport;

/// An output format of `tracegate coverage`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Human-readable tables (default on a terminal).
    Table,
    /// The stable JSON contract (default when piped or with --output).
    Json,
    /// Markdown for a chat post or an issue.
    Markdown,
    /// One self-contained HTML file: trend chart, per team, service graph.
    Html,
    /// OpenMetrics text: `tracegate_propagation_coverage_ratio{team="…"}` and the counts.
    Openmetrics,
}

/// Render `report` as `format`.
pub fn render(format: Format, report: &CoverageReport) -> Result<String, String> {
    match format {
        Format::Json => serde_json::to_string_pretty(report)
            .map(|s| s + "\n")
            .map_err(|e| e.to_string()),
        _ => Err(format!("{format:?}: not built yet")),
    }
}
