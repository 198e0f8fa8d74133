//! Renderers of a [`CoverageReport`]: `table`, `json` (the DESIGN.md contract), `markdown`
//! (a chat post or an issue), `html` (one self-contained file with the SVG trend chart and the
//! runtime service graph), `openmetrics` (a Prometheus textfile collector or push gateway).
//! Renderers never decide: every number is in the report; what is shared here is wording
//! (percentages, the change since the previous week, verdict names, the evidence line).

use std::fmt::Write;

use crate::coverage::model::{RuntimeVerdict, ServiceCoverage, StaticVerdict};
use crate::coverage::CoverageReport;
use crate::report::term::TextOptions;

mod chart;
mod graph;
mod html;
mod json;
mod markdown;
mod openmetrics;
mod table;

#[cfg(test)]
mod fixture;
#[cfg(test)]
mod tests;

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

/// Render `report` as `format`, the table unwrapped and without colour (a file, a pipe). Only
/// the template engine (html) and serialisation (json) can fail; the error is one line.
pub fn render(format: Format, report: &CoverageReport) -> Result<String, String> {
    render_with(format, report, &TextOptions::default())
}

/// [`render`], the table fitted to `text`'s width and coloured when it says so (the other
/// formats ignore `text`).
pub fn render_with(
    format: Format,
    report: &CoverageReport,
    text: &TextOptions<'_>,
) -> Result<String, String> {
    match format {
        Format::Table => Ok(table::render(report, text)),
        Format::Json => json::render(report).map_err(|e| format!("rendering json: {e}")),
        Format::Markdown => Ok(markdown::render(report)),
        Format::Html => html::render(report).map_err(|e| format!("rendering html: {e}")),
        Format::Openmetrics => Ok(openmetrics::render(report)),
    }
}

/// A ratio as a percentage with one decimal (`0.375` → `37.5%`), never rounded up to 100%
/// nor down to 0% when it is neither: two decimals then (`0.9999` → `99.99%`, `0.0001` →
/// `0.01%`; ratios carry 4 decimals, so two are exact). The metric is reported until it
/// reaches 100%: the page must not say so early.
pub(crate) fn percent(ratio: f64) -> String {
    let one = format!("{:.1}%", ratio * 100.0);
    if (ratio < 1.0 && one == "100.0%") || (ratio > 0.0 && one == "0.0%") {
        format!("{:.2}%", ratio * 100.0)
    } else {
        one
    }
}

/// [`percent`] of `part / whole` given as `ratio`, from the counts when the 4-decimal ratio
/// hides a difference (9,999 of 20,000+ services rounds to 1.0): `99.99%` while any service
/// does not propagate, `0.01%` while any does.
pub(crate) fn count_percent(ratio: f64, part: usize, whole: usize) -> String {
    if part < whole && ratio >= 1.0 {
        "99.99%".to_owned()
    } else if part > 0 && ratio <= 0.0 {
        "0.01%".to_owned()
    } else {
        percent(ratio)
    }
}

/// The change from `previous` to `current` in percentage points (`+2.3 pp`, `-33.9 pp`,
/// `±0.0 pp`).
pub(crate) fn change_pp(current: f64, previous: f64) -> String {
    let delta = (current - previous) * 100.0;
    if delta.abs() < 0.05 {
        "±0.0 pp".to_owned()
    } else {
        format!("{delta:+.1} pp")
    }
}

/// `1 service` / `3 services`.
pub(crate) fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// The headline: `37.5% of services propagate trace context end to end (3 of 8)`.
pub(crate) fn headline(report: &CoverageReport) -> String {
    format!("{} {}", overall_percent(report), headline_tail(report))
}

/// The overall coverage as a percentage ([`count_percent`]).
pub(crate) fn overall_percent(report: &CoverageReport) -> String {
    count_percent(
        report.coverage,
        report.services_propagating,
        report.services_total,
    )
}

/// The headline without its percentage: `of services propagate … (3 of 8 services)`.
/// With no services: that the catalog is empty (the ratio of nothing is 0 by definition).
pub(crate) fn headline_tail(report: &CoverageReport) -> String {
    if report.services_total == 0 {
        return "(no services in the catalog: nothing is counted)".to_owned();
    }
    format!(
        "of services propagate trace context end to end ({} of {})",
        report.services_propagating,
        plural(report.services_total, "service")
    )
}

/// `-33.9 pp since 2026-W47 (71.4%)`, or that there is no earlier week.
pub(crate) fn change_line(report: &CoverageReport) -> String {
    match &report.previous {
        Some(previous) => format!(
            "{} since {} ({})",
            change_pp(report.coverage, previous.coverage),
            previous.week,
            percent(previous.coverage)
        ),
        None => "no earlier week recorded: no change to show".to_owned(),
    }
}

/// A static verdict as the report words it.
pub(crate) fn static_name(verdict: StaticVerdict) -> &'static str {
    match verdict {
        StaticVerdict::Pass => "pass",
        StaticVerdict::Fail => "fail",
        StaticVerdict::Unknown => "unknown",
        StaticVerdict::NotFound => "not found",
    }
}

/// A runtime verdict as the report words it (`–` without traces).
pub(crate) fn runtime_name(verdict: Option<RuntimeVerdict>) -> &'static str {
    match verdict {
        Some(RuntimeVerdict::Pass) => "pass",
        Some(RuntimeVerdict::Fail) => "broken",
        Some(RuntimeVerdict::Unseen) => "unseen",
        None => "–",
    }
}

/// Why a service does not propagate, in a few words (`static fail: TG101, TG102`, `broken at
/// runtime: …`); `propagating` when it does.
pub(crate) fn status_text(service: &ServiceCoverage) -> String {
    if service.propagating {
        return "propagating".to_owned();
    }
    let mut why = Vec::new();
    match service.static_verdict {
        StaticVerdict::Pass => {}
        StaticVerdict::Fail if service.failing_rules.is_empty() => why.push("static fail".into()),
        StaticVerdict::Fail => {
            why.push(format!("static fail: {}", service.failing_rules.join(", ")))
        }
        StaticVerdict::Unknown => why.push("language not analysed".to_owned()),
        StaticVerdict::NotFound => why.push("declared, not found in code".to_owned()),
    }
    if service.runtime == Some(RuntimeVerdict::Fail) {
        if service.runtime_reasons.is_empty() {
            why.push("broken at runtime".to_owned());
        } else {
            why.push(format!(
                "broken at runtime: {}",
                service.runtime_reasons.join("; ")
            ));
        }
    }
    if why.is_empty() {
        why.push("not propagating".to_owned());
    }
    why.join("; ")
}

/// How many catalog sources the evidence line names before `and N more`.
const SOURCES_SHOWN: usize = 5;

/// What the numbers rest on, one line per view: the static catalog and the runtime source.
pub(crate) fn evidence_lines(report: &CoverageReport) -> Vec<String> {
    let evidence = &report.evidence;
    let mut catalog = format!(
        "static verdicts: tracegate check of {}",
        plural(evidence.catalog.len(), "source")
    );
    if !evidence.catalog.is_empty() {
        let shown: Vec<&str> = evidence
            .catalog
            .iter()
            .take(SOURCES_SHOWN)
            .map(String::as_str)
            .collect();
        let _ = write!(catalog, " ({}", shown.join(", "));
        if evidence.catalog.len() > SOURCES_SHOWN {
            let _ = write!(
                catalog,
                " and {} more",
                evidence.catalog.len() - SOURCES_SHOWN
            );
        }
        catalog.push(')');
    }
    let runtime = match &evidence.runtime {
        Some(source) => format!(
            "runtime verdicts: {source}: {}, {}",
            plural(usize_of(evidence.traces), "trace"),
            plural(usize_of(evidence.spans), "span")
        ),
        None => "runtime verdicts: none (no traces given): coverage rests on static verdicts only"
            .to_owned(),
    };
    vec![catalog, runtime]
}

fn usize_of(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// Broken edges, one line each: `checkout → pricing: 40 of 40 calls broken`.
pub(crate) fn broken_edges(report: &CoverageReport) -> Vec<(String, String, String)> {
    report
        .edges
        .iter()
        .filter(|e| e.broken > 0)
        .map(|e| {
            (
                e.caller.clone(),
                e.callee.clone(),
                format!(
                    "{} of {} broken (the callee started a new trace)",
                    e.broken,
                    plural(usize_of(e.broken.saturating_add(e.paired)), "call")
                ),
            )
        })
        .collect()
}

/// The services broken at runtime, with their reasons.
pub(crate) fn broken_services(report: &CoverageReport) -> impl Iterator<Item = &ServiceCoverage> {
    report
        .services
        .iter()
        .filter(|s| s.runtime == Some(RuntimeVerdict::Fail))
}

/// The service named `name`, when the report lists it.
pub(crate) fn service<'a>(report: &'a CoverageReport, name: &str) -> Option<&'a ServiceCoverage> {
    report
        .services
        .binary_search_by(|s| s.name.as_str().cmp(name))
        .ok()
        .map(|i| &report.services[i])
        .or_else(|| report.services.iter().find(|s| s.name == name))
}
