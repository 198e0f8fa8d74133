//! `--format openmetrics`: OpenMetrics 1.0 text for a Prometheus textfile collector or a push
//! gateway. Four gauge families, each with `TYPE`, `UNIT` (the ratio only) and `HELP` in that
//! order, then `# EOF`:
//!
//! - `tracegate_propagation_coverage_ratio`: overall without labels (OpenMetrics treats an
//!   empty label value as an absent label, so `{team=""}` selects it in PromQL), and one
//!   sample per team with `team="…"`; ratios from 0 to 1.
//! - `tracegate_services{team}` and `tracegate_services_propagating{team}`: counts per team
//!   only, no overall sample (Prometheus convention: a sum over a metric stays meaningful;
//!   `sum(tracegate_services)` is the total).
//! - `tracegate_service_propagating{service,team}`: 1 or 0 per service (a name listed twice
//!   for one team is written once: a label set is unique in a family).
//!
//! No timestamps (a textfile collector rejects them); the week is the scrape's. Label values
//! escape `\`, `"` and line feeds as the ABNF requires.

use std::collections::HashSet;
use std::fmt::Write;

use crate::coverage::CoverageReport;

/// A label value with `\`, `"` and line feed escaped.
pub(super) fn label_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

fn family(out: &mut String, name: &str, unit: Option<&str>, help: &str) {
    let _ = writeln!(out, "# TYPE {name} gauge");
    if let Some(unit) = unit {
        let _ = writeln!(out, "# UNIT {name} {unit}");
    }
    let _ = writeln!(out, "# HELP {name} {help}");
}

/// A ratio already rounded to 4 decimals, written as a float (`0.375`, `1.0`, `0.0`).
fn float(value: f64) -> String {
    let text = format!("{value}");
    if text.contains(['.', 'e', 'E']) || !value.is_finite() {
        text
    } else {
        format!("{text}.0")
    }
}

pub(super) fn render(report: &CoverageReport) -> String {
    let mut out = String::new();
    let name = "tracegate_propagation_coverage_ratio";
    family(
        &mut out,
        name,
        Some("ratio"),
        "Share of services propagating W3C trace context end to end (passes statically, not broken at runtime); overall without labels, per team with team.",
    );
    let _ = writeln!(out, "{name} {}", float(report.coverage));
    for team in &report.by_team {
        let _ = writeln!(
            out,
            "{name}{{team=\"{}\"}} {}",
            label_value(&team.team),
            float(team.coverage)
        );
    }

    let name = "tracegate_services";
    family(
        &mut out,
        name,
        None,
        "Services in the coverage catalog, per team (sum for the total).",
    );
    for team in &report.by_team {
        let _ = writeln!(
            out,
            "{name}{{team=\"{}\"}} {}",
            label_value(&team.team),
            team.total
        );
    }

    let name = "tracegate_services_propagating";
    family(
        &mut out,
        name,
        None,
        "Services propagating trace context end to end, per team (sum for the total).",
    );
    for team in &report.by_team {
        let _ = writeln!(
            out,
            "{name}{{team=\"{}\"}} {}",
            label_value(&team.team),
            team.propagating
        );
    }

    let name = "tracegate_service_propagating";
    family(
        &mut out,
        name,
        None,
        "1 when the service propagates trace context end to end, else 0.",
    );
    // A LabelSet must be unique within a family: a name listed twice for one team (two
    // repositories) is written once; service identity across the report is the name.
    let mut written = HashSet::new();
    for s in &report.services {
        if !written.insert((s.name.as_str(), s.team.as_str())) {
            continue;
        }
        let _ = writeln!(
            out,
            "{name}{{service=\"{}\",team=\"{}\"}} {}",
            label_value(&s.name),
            label_value(&s.team),
            u8::from(s.propagating)
        );
    }
    out.push_str("# EOF\n");
    out
}
