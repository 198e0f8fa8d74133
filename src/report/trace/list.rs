//! `trace list`: recent traces as a terminal table.

use super::clock;
use crate::report::escape_control;
use crate::trace::{format_ns, TraceSummary};

use comfy_table::{ColumnConstraint, ContentArrangement, Table};

use crate::report::term::{paint, palette, TextOptions};

/// One row per trace: ID, start (UTC, to the second), age relative to `now_unix_nano` (given,
/// so output is reproducible), root service and operation, spans, duration, error, problems.
/// Received strings have their control characters escaped, so none forges a row. Unwrapped
/// and plain: [`list_table_with`] fits a terminal.
pub fn list_table(summaries: &[TraceSummary], now_unix_nano: u64) -> String {
    list_table_with(summaries, now_unix_nano, &TextOptions::default())
}

/// [`list_table`] for a terminal: with `opts.width`, the table fits it (the operation and the
/// root service wrap; the trace ID and the start stay whole, to be copied); with
/// `opts.color`, `yes` under ERROR and a problem count above 0 in red.
pub fn list_table_with(
    summaries: &[TraceSummary],
    now_unix_nano: u64,
    opts: &TextOptions<'_>,
) -> String {
    let mut table = Table::new();
    table
        .load_preset(comfy_table::presets::NOTHING)
        .force_no_tty();
    table.set_header([
        "TRACE ID",
        "STARTED (UTC)",
        "AGE",
        "ROOT SERVICE",
        "OPERATION",
        "SPANS",
        "DURATION",
        "ERROR",
        "PROBLEMS",
    ]);
    for s in summaries {
        table.add_row([
            s.trace_id.clone(),
            clock::utc_seconds(s.start_unix_nano),
            clock::age(now_unix_nano, s.start_unix_nano),
            escape_control(s.root_service.as_deref().unwrap_or("-")).into_owned(),
            escape_control(s.root_operation.as_deref().unwrap_or("-")).into_owned(),
            s.spans.to_string(),
            format_ns(s.duration_ns),
            if s.error { "yes".into() } else { "-".into() },
            s.problems.to_string(),
        ]);
    }
    if let Some(width) = opts.width {
        table
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_width(u16::try_from(width).unwrap_or(u16::MAX));
        for i in [0, 1, 2, 5, 6, 7, 8] {
            if let Some(column) = table.column_mut(i) {
                column.set_constraint(ColumnConstraint::ContentWidth);
            }
        }
    }
    // the borderless preset pads every cell: no trailing blanks; cells are painted by
    // position (no separator to split on)
    let mut out = String::new();
    for (n, line) in table.lines().enumerate() {
        let line = line.trim_end();
        out.push_str(&if opts.color && n > 0 {
            paint_row(line)
        } else {
            line.to_owned()
        });
        out.push('\n');
    }
    out
}

/// A row's first line with ERROR `yes` and PROBLEMS above 0 in red: the last two cells, found
/// from the end of the line (the borderless table has no separator to split on). Lines that
/// do not start with a trace ID (a wrapped cell's continuation) are left as they are.
fn paint_row(line: &str) -> String {
    let id = line.trim_start().as_bytes();
    let starts_with_id = id.len() >= 32 && id[..32].iter().all(u8::is_ascii_hexdigit);
    let Some(p_start) = line.rfind(' ').map(|i| i + 1) else {
        return line.to_owned();
    };
    let before = line[..p_start].trim_end();
    let Some(e_start) = before.rfind(' ').map(|i| i + 1) else {
        return line.to_owned();
    };
    let (problems, error) = (&line[p_start..], &before[e_start..]);
    if !starts_with_id || problems.parse::<usize>().is_err() {
        return line.to_owned();
    }
    let red = |w: &str, bad: bool| {
        if bad {
            paint(w, palette::ERROR, true)
        } else {
            w.to_owned()
        }
    };
    format!(
        "{}{}{}{}",
        &line[..e_start],
        red(error, error == "yes"),
        &line[e_start + error.len()..p_start],
        red(problems, problems != "0")
    )
}
