//! The pages of `collect`'s web UI besides the trace view ([`super::html_with_back_link`]):
//! the list of recent traces with its filter form, and a short page for errors (unknown or
//! malformed trace ID). Plain HTML and inline CSS, no scripts, no external resources; every
//! value HTML-escaped by the templates, received strings also control-escaped.

use minijinja::{context, Environment};
use serde::Serialize;

use super::clock;
use super::tree::count;
use super::waterfall::text;
use crate::trace::{format_ns, TraceFilter, TraceRow};

const LIST: &str = include_str!("traces.html");
const MESSAGE: &str = include_str!("message.html");

/// What the list page shows.
#[derive(Debug, Clone, Copy)]
pub struct ListPage<'a> {
    /// The traces kept by the filter, newest first.
    pub rows: &'a [TraceRow],
    pub filter: &'a TraceFilter,
    /// The search text as typed (shown back in the search box).
    pub query_text: &'a str,
    /// Services seen in the traces looked at, sorted (the service filter's choices).
    pub services: &'a [String],
    /// Traces the store holds, and how many of the newest were looked at.
    pub held: usize,
    pub scanned: usize,
    /// When the page is made (ages are relative to it).
    pub now_unix_nano: u64,
    /// What was wrong with the request (a search that is not a trace ID prefix), if anything.
    pub error: Option<&'a str>,
}

#[derive(Serialize)]
struct Line {
    trace_id: String,
    root_service: String,
    root_operation: String,
    started: String,
    age: String,
    duration: String,
    spans: usize,
    errors: usize,
    problems: usize,
    problem_kinds: String,
    services: String,
    upstream: bool,
}

/// `GET /`: recent traces, a filter form (service, errors or problems only, trace ID search).
pub fn list_page(page: &ListPage<'_>) -> Result<String, minijinja::Error> {
    let lines: Vec<Line> = page
        .rows
        .iter()
        .map(|r| {
            let s = &r.summary;
            Line {
                trace_id: s.trace_id.clone(),
                root_service: text(s.root_service.as_deref().unwrap_or("-")),
                root_operation: text(s.root_operation.as_deref().unwrap_or("-")),
                started: clock::utc_seconds(s.start_unix_nano),
                age: clock::age(page.now_unix_nano, s.start_unix_nano),
                duration: if s.start_unix_nano == 0 {
                    "-".to_owned()
                } else {
                    format_ns(s.duration_ns)
                },
                spans: s.spans,
                errors: r.errors,
                problems: s.problems,
                problem_kinds: r.problem_kinds.join(", "),
                services: text(&r.services.join(", ")),
                upstream: r.upstream,
            }
        })
        .collect();
    let services: Vec<(String, bool)> = page
        .services
        .iter()
        .map(|s| (text(s), page.filter.service.as_deref() == Some(s.as_str())))
        .collect();
    let mut env = Environment::new();
    env.add_template("traces.html", LIST)?;
    env.get_template("traces.html")?.render(context! {
        lines,
        shown => count(page.rows.len(), "trace"),
        held => count(page.held, "trace"),
        scanned => page.scanned,
        filtered => page.filter.is_active(),
        services,
        service => page.filter.service.as_deref().map(text),
        problems_only => page.filter.problems_only,
        q => text(page.query_text),
        error => page.error.map(text),
    })
}

/// A short page for an error (404 unknown trace, 400 malformed ID, 503 busy) with a link back.
pub fn message_page(title: &str, message: &str) -> Result<String, minijinja::Error> {
    let mut env = Environment::new();
    env.add_template("message.html", MESSAGE)?;
    env.get_template("message.html")?.render(context! {
        title => text(title),
        message => text(message),
    })
}
