//! `trace show --format tree`: a terminal waterfall.

use std::fmt::Write;

use crate::report::escape_control;
use crate::trace::{format_ns, StatusCode, Trace};

const BAR: usize = 32;
const MAX_NAME: usize = 48;

/// One line per span in tree order: indented operation, service, duration, a bar placed on
/// the trace's time axis, status; spans with problems marked `!`, problems listed below.
/// Received strings are shown with their control characters escaped ([`escape_control`]).
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
        "trace {}  {} span{}, {} service{}, {}, {} error{}, {} problem{}",
        trace.trace_id,
        trace.spans.len(),
        plural(trace.spans.len()),
        services,
        plural(services),
        format_ns(trace.duration_ns()),
        errors,
        plural(errors),
        trace.problems.len(),
        plural(trace.problems.len())
    );
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
    let name_w = names
        .iter()
        .map(|n| n.chars().count())
        .max()
        .unwrap_or(0)
        .max(9);
    let services: Vec<_> = walk
        .iter()
        .map(|&(i, _)| escape_control(trace.spans[i].service_label()))
        .collect();
    let service_w = services
        .iter()
        .map(|s| s.chars().count())
        .max()
        .unwrap_or(0)
        .max(7);
    let _ = writeln!(
        out,
        "{:name_w$}  {:service_w$}  {:>9}  {:BAR$}  STATUS",
        "OPERATION", "SERVICE", "DURATION", ""
    );
    let t0 = trace.start_unix_nano();
    let total = trace.duration_ns().max(1);
    for ((&(i, _), name), service) in walk.iter().zip(&names).zip(&services) {
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
            "{name:name_w$}  {service:service_w$}  {:>9}  {bar}  {status}",
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

fn scale(ns: u64, total: u64) -> usize {
    usize::try_from(u128::from(ns) * BAR as u128 / u128::from(total)).unwrap_or(BAR)
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
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
