//! `trace show --format tree`: a terminal waterfall.

use std::fmt::Write;

use super::clock;
use crate::report::escape_control;
use crate::trace::{format_ns, StatusCode, Trace};

const BAR: usize = 24;
const MAX_NAME: usize = 48;

/// A header (counts, start time in UTC, an upstream parent explained), then one line per span
/// in tree order: indented operation, span kind, service, start offset from the trace's
/// start, duration, a bar placed on the trace's time axis, status with the message of a
/// failed span; spans with problems marked `!`, problems listed below. Received strings are
/// shown with their control characters escaped ([`escape_control`]).
pub fn tree(trace: &Trace) -> String {
    let mut out = String::new();
    let services = trace.service_graph().services.len();
    let errors = trace
        .spans
        .iter()
        .filter(|s| s.status.code == StatusCode::Error)
        .count();
    let _ = writeln!(
        out,
        "trace {}  {}, {}, {}, {}, {}",
        trace.trace_id,
        count(trace.spans.len(), "span"),
        count(services, "service"),
        format_ns(trace.duration_ns()),
        count(errors, "error"),
        count(trace.problems.len(), "problem"),
    );
    let _ = writeln!(
        out,
        "started {}",
        clock::utc_seconds(trace.start_unix_nano())
    );
    if let Some(line) = upstream_line(trace) {
        let _ = writeln!(out, "{line}");
    }
    let walk = trace.walk();
    let names: Vec<String> = walk
        .iter()
        .map(|&(i, depth)| {
            let s = &trace.spans[i];
            let mark = if trace.problems_of(s.span_id).next().is_some() {
                "! "
            } else {
                ""
            };
            truncate(
                &format!("{}{mark}{}", "  ".repeat(depth), escape_control(&s.name)),
                MAX_NAME,
            )
        })
        .collect();
    let name_w = width(&names, "OPERATION");
    let services: Vec<_> = walk
        .iter()
        .map(|&(i, _)| escape_control(trace.spans[i].service_label()))
        .collect();
    let service_w = width(&services, "SERVICE");
    let t0 = trace.start_unix_nano();
    let offsets: Vec<String> = walk
        .iter()
        .map(|&(i, _)| clock::offset(trace.spans[i].start_unix_nano.saturating_sub(t0)))
        .collect();
    let offset_w = width(&offsets, "START");
    let kinds: Vec<String> = walk
        .iter()
        .map(|&(i, _)| format!("[{}]", trace.spans[i].kind.as_str()))
        .collect();
    let kind_w = width(&kinds, "KIND");
    let _ = writeln!(
        out,
        "{:name_w$}  {:kind_w$}  {:service_w$}  {:>offset_w$}  {:>9}  {:BAR$}  STATUS",
        "OPERATION", "KIND", "SERVICE", "START", "DURATION", ""
    );
    let total = trace.duration_ns().max(1);
    let columns = names.iter().zip(&kinds).zip(&services).zip(&offsets);
    for ((((name, kind), service), start), &(i, _)) in columns.zip(&walk) {
        let s = &trace.spans[i];
        let offset = scale(s.start_unix_nano.saturating_sub(t0), total).min(BAR - 1);
        let len = scale(s.duration_ns(), total).clamp(1, BAR - offset);
        let bar = format!(
            "{}{}{}",
            " ".repeat(offset),
            "█".repeat(len),
            " ".repeat(BAR - offset - len)
        );
        let status = match s.status.code {
            StatusCode::Error if s.status.message.is_empty() => "ERROR".to_owned(),
            StatusCode::Error => format!("ERROR {}", escape_control(&s.status.message)),
            StatusCode::Ok => "ok".to_owned(),
            StatusCode::Unset => "-".to_owned(),
        };
        let _ = writeln!(
            out,
            "{name:name_w$}  {kind:kind_w$}  {service:service_w$}  {start:>offset_w$}  {:>9}  {bar}  {status}",
            format_ns(s.duration_ns()),
        );
    }
    if !trace.problems.is_empty() {
        let _ = writeln!(out, "problems:");
        for p in &trace.problems {
            let span = p.span_id.map(|s| format!(" {s}")).unwrap_or_default();
            let _ = writeln!(out, "  ! {}{span}: {}", p.kind, escape_control(&p.detail));
        }
    }
    out
}

/// The wording of [`Trace::upstream`] (the analysis decides; this only says it).
pub(super) fn upstream_line(trace: &Trace) -> Option<String> {
    let u = trace.upstream?;
    let root = trace.spans.get(u.root)?;
    Some(format!(
        "entry span {} \"{}\": its parent {} is upstream (an incoming traceparent), not a missing span",
        escape_control(root.service_label()),
        escape_control(&root.name),
        u.parent_span_id
    ))
}

/// `1 span`, `3 spans`, `0 errors`.
pub(super) fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

fn width<S: AsRef<str>>(cells: &[S], header: &str) -> usize {
    cells
        .iter()
        .map(|c| c.as_ref().chars().count())
        .max()
        .unwrap_or(0)
        .max(header.len())
}

fn scale(ns: u64, total: u64) -> usize {
    usize::try_from(u128::from(ns) * BAR as u128 / u128::from(total)).unwrap_or(BAR)
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}
