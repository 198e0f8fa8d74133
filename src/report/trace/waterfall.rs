//! The HTML waterfall's geometry and span details: rows placed on the trace's time axis (in
//! percent of the width, so the page uses the whole window), an axis with round ticks, the
//! service colour legend, the critical path over the bars, and per span what `<details>` shows
//! (kind, status and message, time on the critical path, attributes, events, problems). Markup is in `trace.html`.

use std::collections::BTreeMap;

use serde::Serialize;

use super::clock;
use crate::report::escape_control;
use crate::trace::{format_ns, PathSection, Span, StatusCode, Trace};

pub(super) const PALETTE: [&str; 8] = [
    "#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#ff9da7", "#9c755f",
];

#[derive(Serialize)]
pub(super) struct Row {
    pub indent: u32,
    pub name: String,
    pub service: String,
    pub color: &'static str,
    /// Bar start and width in percent of the time axis.
    pub left: f64,
    pub width: f64,
    /// Where the duration label goes: `after` the bar, `before` it when the bar ends late,
    /// `inside` it (right-aligned) when the bar spans nearly the whole axis.
    pub label_place: &'static str,
    /// With `after`: the label's `left`; otherwise its `right`, in percent.
    pub label_pos: f64,
    pub duration: String,
    pub start: String,
    pub kind: &'static str,
    pub status: &'static str,
    pub status_message: String,
    pub error: bool,
    pub problems: Vec<String>,
    pub span_id: String,
    pub parent_span_id: String,
    pub attributes: Vec<(String, String)>,
    pub resource: Vec<(String, String)>,
    pub events: Vec<Event>,
    /// The span's sections on the trace's critical path, placed on the time axis.
    pub critical: Vec<Segment>,
    /// Their total time (empty when the span is off the path).
    pub critical_time: String,
}

/// A stretch of the time axis, in percent of its width.
#[derive(Serialize)]
pub(super) struct Segment {
    pub left: f64,
    pub width: f64,
}

#[derive(Serialize)]
pub(super) struct Event {
    pub at: String,
    pub name: String,
    pub attributes: Vec<(String, String)>,
}

#[derive(Serialize)]
pub(super) struct Tick {
    pub pct: f64,
    pub label: String,
}

#[derive(Serialize)]
pub(super) struct LegendEntry {
    pub service: String,
    pub color: &'static str,
    pub spans: usize,
}

/// The colour of `service`, by its place in the sorted list of the trace's services.
pub(super) fn color(services: &[String], service: &str) -> &'static str {
    let i = services.iter().position(|s| s == service).unwrap_or(0);
    PALETTE[i % PALETTE.len()]
}

/// One row per span, in tree order.
pub(super) fn rows(trace: &Trace, services: &[String]) -> Vec<Row> {
    let t0 = trace.start_unix_nano();
    let total = trace.duration_ns().max(1) as f64;
    let mut critical: Vec<Vec<PathSection>> = vec![Vec::new(); trace.spans.len()];
    for section in trace.critical_path() {
        if let Some(sections) = critical.get_mut(section.index) {
            sections.push(section);
        }
    }
    let segment = |s: &PathSection| {
        let left = round(s.start_unix_nano.saturating_sub(t0) as f64 / total * 100.0).min(99.8);
        Segment {
            left,
            width: round(s.duration_ns() as f64 / total * 100.0).clamp(0.2, 100.0 - left),
        }
    };
    trace
        .walk()
        .into_iter()
        .map(|(i, depth)| {
            let s = &trace.spans[i];
            let offset = s.start_unix_nano.saturating_sub(t0);
            let left = round(offset as f64 / total * 100.0).min(99.8);
            let width = round(s.duration_ns() as f64 / total * 100.0).clamp(0.2, 100.0 - left);
            let (label_place, label_pos) = if left + width <= 80.0 {
                ("after", round(left + width))
            } else if left >= 20.0 {
                ("before", round(100.0 - left))
            } else {
                ("inside", round(100.0 - left - width))
            };
            Row {
                indent: 14 * depth.min(24) as u32,
                name: text(&s.name),
                service: text(s.service_label()),
                color: color(services, s.service_label()),
                left,
                width,
                label_place,
                label_pos,
                duration: format_ns(s.duration_ns()),
                start: clock::offset(offset),
                kind: s.kind.as_str(),
                status: s.status.code.as_str(),
                status_message: text(&s.status.message),
                error: s.status.code == StatusCode::Error,
                problems: trace
                    .problems_of(s.span_id)
                    .map(|p| format!("{}: {}", p.kind, escape_control(&p.detail)))
                    .collect(),
                span_id: s.span_id.to_hex(),
                parent_span_id: s.parent_span_id.map(|p| p.to_hex()).unwrap_or_default(),
                attributes: pairs(&s.attributes),
                resource: pairs(&s.resource_attributes),
                events: events(s),
                critical: critical[i].iter().rev().map(segment).collect(),
                critical_time: match critical[i].iter().map(PathSection::duration_ns).sum() {
                    0 => String::new(),
                    ns => format_ns(ns),
                },
            }
        })
        .collect()
}

fn events(s: &Span) -> Vec<Event> {
    s.events
        .iter()
        .map(|e| Event {
            at: clock::offset(e.time_unix_nano.saturating_sub(s.start_unix_nano)),
            name: text(&e.name),
            attributes: pairs(&e.attributes),
        })
        .collect()
}

/// Attribute values for people: strings as they are, other values as JSON.
fn pairs(attributes: &BTreeMap<String, serde_json::Value>) -> Vec<(String, String)> {
    attributes
        .iter()
        .map(|(k, v)| {
            let value = match v {
                serde_json::Value::String(s) => text(s),
                other => text(&other.to_string()),
            };
            (text(k), value)
        })
        .collect()
}

/// Services with their colour and span count, in the order of `services`.
pub(super) fn legend(trace: &Trace, services: &[String]) -> Vec<LegendEntry> {
    services
        .iter()
        .map(|service| LegendEntry {
            service: text(service),
            color: color(services, service),
            spans: trace
                .spans
                .iter()
                .filter(|s| s.service_label() == service)
                .count(),
        })
        .collect()
}

/// Ticks at a round interval (1, 2 or 5 × a power of ten) giving at most `max` intervals over
/// `total_ns`, starting at 0; labelled in the interval's unit.
pub(super) fn ticks(total_ns: u64, max: u64) -> Vec<Tick> {
    let total = total_ns.max(1);
    let mut step = 1u64;
    'search: for magnitude in 0..20 {
        let power = 10u64.saturating_pow(magnitude);
        for m in [1, 2, 5] {
            step = power.saturating_mul(m);
            if total / step <= max.max(1) {
                break 'search;
            }
        }
    }
    // the step is a multiple of its unit: labels are whole numbers
    let (unit, per) = match step {
        s if s >= 1_000_000_000 => ("s", 1_000_000_000),
        s if s >= 1_000_000 => ("ms", 1_000_000),
        s if s >= 1_000 => ("µs", 1_000),
        _ => ("ns", 1),
    };
    (0..=total / step)
        .map(|k| {
            let at = k * step;
            Tick {
                pct: round(at as f64 / total as f64 * 100.0),
                label: format!("{}{unit}", at / per),
            }
        })
        .collect()
}

fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// A received string for the page: control characters escaped (markup is escaped by the
/// template).
pub(super) fn text(received: &str) -> String {
    escape_control(received).into_owned()
}

#[cfg(test)]
mod tests {
    use super::ticks;

    fn labels(total_ns: u64) -> Vec<String> {
        ticks(total_ns, 10).into_iter().map(|t| t.label).collect()
    }

    #[test]
    fn ticks_fall_on_round_intervals() {
        assert_eq!(labels(100_000_000).len(), 11);
        assert_eq!(labels(100_000_000)[10], "100ms");
        assert_eq!(
            labels(46_350_000),
            ["0ms", "5ms", "10ms", "15ms", "20ms", "25ms", "30ms", "35ms", "40ms", "45ms"]
        );
        assert_eq!(
            labels(1_800),
            [
                "0ns", "200ns", "400ns", "600ns", "800ns", "1000ns", "1200ns", "1400ns", "1600ns",
                "1800ns"
            ]
        );
        assert_eq!(
            labels(2_500_000_000),
            ["0ms", "500ms", "1000ms", "1500ms", "2000ms", "2500ms"]
        );
        assert_eq!(labels(0), ["0ns", "1ns"]);
        let last = ticks(46_350_000, 10).pop().unwrap();
        assert!(last.pct < 100.0 && last.pct > 97.0, "{}", last.pct);
    }
}
