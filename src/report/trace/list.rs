//! `trace list`: recent traces as a terminal table.

use super::clock;
use crate::report::escape_control;
use crate::trace::{format_ns, TraceSummary};

/// One row per trace: ID, start (UTC, to the second), age relative to `now_unix_nano` (given,
/// so output is reproducible), root service and operation, spans, duration, error, problems.
/// Received strings have their control characters escaped, so none forges a row.
pub fn list_table(summaries: &[TraceSummary], now_unix_nano: u64) -> String {
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::NOTHING);
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
    // the borderless preset pads every cell: no trailing blanks
    let mut out = String::new();
    for line in table.to_string().lines() {
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
