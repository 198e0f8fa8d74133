//! `trace show --format tree`: a terminal waterfall.

use std::fmt::Write;

use anstyle::{AnsiColor, Color, Style};

use super::clock;
use crate::report::escape_control;
use crate::report::term::{paint, palette, Line, TextOptions};
use crate::trace::{format_ns, StatusCode, Trace};

/// The bar's columns without a width to fit (a file, a pipe); with one, what is left of it,
/// between [`MIN_BAR`] and [`MAX_BAR`].
const BAR: usize = 24;
const MIN_BAR: usize = 10;
const MAX_BAR: usize = 100;
const MAX_NAME: usize = 48;
/// Columns kept for a failed span's status message when the width allows (a longer one goes
/// under the row).
const STATUS_ROOM: usize = 32;
/// The operation column's least width when it gives up room on a narrow terminal.
const MIN_NAME: usize = 16;
/// Bar colours, by the service's place among the trace's services (as the HTML legend).
const SERVICE_COLORS: [AnsiColor; 6] = [
    AnsiColor::Blue,
    AnsiColor::Yellow,
    AnsiColor::Green,
    AnsiColor::Magenta,
    AnsiColor::Cyan,
    AnsiColor::BrightBlue,
];

/// A header (counts, start time in UTC, an upstream parent explained), then one line per span
/// in tree order: indented operation, span kind, service, start offset from the trace's
/// start, duration, a bar placed on the trace's time axis, status with the message of a
/// failed span; spans with problems marked `!`, problems listed below. Received strings are
/// shown with their control characters escaped ([`escape_control`]). Unwrapped and plain:
/// [`tree_with`] fits a terminal.
pub fn tree(trace: &Trace) -> String {
    tree_with(trace, &TextOptions::default())
}

/// [`tree`] for a terminal: with `opts.width`, the bar takes the room the columns leave (more
/// on a wide terminal, at least a few columns on a narrow one) and the header, the upstream
/// note and the problems wrap at word boundaries; with `opts.color`, each service's bars in
/// its colour, failed statuses and problems red, `ok` green, the column titles bold.
pub fn tree_with(trace: &Trace, opts: &TextOptions<'_>) -> String {
    let mut out = String::new();
    let graph_services = trace.service_graph().services;
    let services = graph_services.len();
    let errors = trace
        .spans
        .iter()
        .filter(|s| s.status.code == StatusCode::Error)
        .count();
    let errors_text = count(errors, "error");
    let problems_text = count(trace.problems.len(), "problem");
    let bad = |n: usize| {
        if n > 0 {
            palette::ERROR
        } else {
            palette::PLAIN
        }
    };
    out.push_str(
        &Line::new()
            .push_whole(0, &format!("trace {}", trace.trace_id), palette::EMPHASIS)
            .push(
                2,
                &format!(
                    "{}, {}, {},",
                    count(trace.spans.len(), "span"),
                    count(services, "service"),
                    format_ns(trace.duration_ns()),
                ),
                palette::PLAIN,
            )
            .push_whole(1, &format!("{errors_text},"), bad(errors))
            .push_whole(1, &problems_text, bad(trace.problems.len()))
            .wrap(opts.width, 0, 4, opts.color),
    );
    let _ = writeln!(
        out,
        "started {}",
        clock::utc_seconds(trace.start_unix_nano())
    );
    if let Some(line) = upstream_line(trace) {
        out.push_str(
            &Line::new()
                .push(0, &line, palette::PLAIN)
                .wrap(opts.width, 0, 4, opts.color),
        );
    }
    let walk = trace.walk();
    let mut names: Vec<String> = walk
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
    let mut name_w = width(&names, "OPERATION");
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
    let statuses: Vec<String> = walk
        .iter()
        .map(|&(i, _)| {
            let s = &trace.spans[i];
            match s.status.code {
                StatusCode::Error if s.status.message.is_empty() => "ERROR".to_owned(),
                StatusCode::Error => format!("ERROR {}", escape_control(&s.status.message)),
                StatusCode::Ok => "ok".to_owned(),
                StatusCode::Unset => "-".to_owned(),
            }
        })
        .collect();
    // With a width: the status column holds the status word (a failed span's message goes on
    // a line of its own under the row when it does not fit), the operation column gives up
    // what the bar's minimum needs, and the bar takes what is left.
    let bar_w = match opts.width {
        None => BAR,
        Some(w) => {
            let fixed = |name_w: usize, status_w: usize| {
                name_w + kind_w + service_w + offset_w + 9 + status_w + 6 * 2
            };
            let excess = (fixed(name_w, 6) + MIN_BAR).saturating_sub(w);
            if excess > 0 {
                name_w = name_w.saturating_sub(excess).max(MIN_NAME.min(name_w));
                for name in &mut names {
                    *name = truncate(name, name_w);
                }
            }
            // room for the messages too when the bar keeps a useful length
            let wanted = width(&statuses, "STATUS").min(STATUS_ROOM);
            let status_w = if w.saturating_sub(fixed(name_w, wanted)) >= 2 * MIN_BAR {
                wanted
            } else {
                6
            };
            w.saturating_sub(fixed(name_w, status_w))
                .clamp(MIN_BAR, MAX_BAR)
        }
    };
    // where the status column starts: a message too long for the line goes under the row
    let status_at = name_w + kind_w + service_w + offset_w + 9 + bar_w + 6 * 2;
    let head = format!(
        "{:name_w$}  {:kind_w$}  {:service_w$}  {:>offset_w$}  {:>9}  {:bar_w$}  STATUS",
        "OPERATION", "KIND", "SERVICE", "START", "DURATION", ""
    );
    let _ = writeln!(out, "{}", paint(&head, palette::EMPHASIS, opts.color));
    let total = trace.duration_ns().max(1);
    let columns = names.iter().zip(&kinds).zip(&services).zip(&offsets);
    for (((((name, kind), service), start), status), &(i, depth)) in
        columns.zip(&statuses).zip(&walk)
    {
        let s = &trace.spans[i];
        let offset = scale(s.start_unix_nano.saturating_sub(t0), total, bar_w).min(bar_w - 1);
        let len = scale(s.duration_ns(), total, bar_w).clamp(1, bar_w - offset);
        let place = graph_services
            .iter()
            .position(|g| g == s.service_label())
            .unwrap_or(0);
        let bar_style = Style::new().fg_color(Some(Color::Ansi(
            SERVICE_COLORS[place % SERVICE_COLORS.len()],
        )));
        let bar = format!(
            "{}{}{}",
            " ".repeat(offset),
            paint(&"█".repeat(len), bar_style, opts.color),
            " ".repeat(bar_w - offset - len)
        );
        let status_style = match s.status.code {
            StatusCode::Error => palette::ERROR,
            StatusCode::Ok => palette::PASS,
            StatusCode::Unset => palette::PLAIN,
        };
        let name = if opts.color && trace.problems_of(s.span_id).next().is_some() {
            // the problem mark in red, the name padded as before
            let padded = format!("{name:name_w$}");
            padded.replacen("! ", &paint("! ", palette::ERROR, true), 1)
        } else {
            format!("{name:name_w$}")
        };
        let (status, message) = match opts.width {
            Some(w) if status_at + status.chars().count() > w => {
                let (word, message) = status.split_once(' ').unwrap_or((status.as_str(), ""));
                (word.to_owned(), Some(message))
            }
            _ => (status.clone(), None),
        };
        let _ = writeln!(
            out,
            "{name}  {kind:kind_w$}  {service:service_w$}  {start:>offset_w$}  {:>9}  {bar}  {}",
            format_ns(s.duration_ns()),
            paint(&status, status_style, opts.color),
        );
        if let Some(message) = message.filter(|m| !m.is_empty()) {
            let at = 2 * depth.min(MAX_NAME / 4) + 4;
            out.push_str(
                &Line::new()
                    .push_whole(0, &format!("{status}:"), status_style)
                    .push(1, message, palette::PLAIN)
                    .wrap(opts.width, at, at + 2, opts.color),
            );
        }
    }
    if !trace.problems.is_empty() {
        let _ = writeln!(out, "{}", paint("problems:", palette::ERROR, opts.color));
        for p in &trace.problems {
            let span = p.span_id.map(|s| format!(" {s}")).unwrap_or_default();
            out.push_str(
                &Line::new()
                    .push_whole(0, "!", palette::ERROR)
                    .push_whole(1, &format!("{}{span}:", p.kind), palette::PLAIN)
                    .push(1, &escape_control(&p.detail), palette::PLAIN)
                    .wrap(opts.width, 2, 6, opts.color),
            );
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

fn scale(ns: u64, total: u64, bar: usize) -> usize {
    usize::try_from(u128::from(ns) * bar as u128 / u128::from(total)).unwrap_or(bar)
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
