//! `--format json`: exactly the DESIGN.md contract.

use crate::check::model::CheckReport;

pub(super) fn render(report: &CheckReport) -> String {
    let mut out = serde_json::to_string_pretty(report).unwrap_or_default();
    out.push('\n');
    out
}
