//! Phase two of reading a scenario: the checks serde cannot make, each reported with the line
//! of the key at fault (block-style YAML; flow-style values fall back to their parent's line).

use std::collections::BTreeSet;

use http::{HeaderName, HeaderValue, Method};

use super::{parse_millis, parse_percent, Scenario, ScenarioError};
use crate::check::policy::config::LineIndex;

/// The largest scenario file read (1 MiB).
pub const MAX_SCENARIO_BYTES: u64 = 1024 * 1024;
/// The largest `repeat` of one request.
pub const MAX_REPEAT: u32 = 100_000;
/// The largest `concurrency` of one request.
pub const MAX_CONCURRENCY: u32 = 1024;
/// The most repeats over all requests of a scenario (per phase).
pub const MAX_TOTAL_REPEATS: u64 = 100_000;

/// The first problem of `scenario` (in the order of the file), if any.
pub(super) fn validate(scenario: &Scenario, text: &str, file: &str) -> Result<(), ScenarioError> {
    let lines = LineIndex::new(text);
    let mut problems: Vec<(Option<u32>, String)> = Vec::new();
    let mut problem = |path: &str, message: String| problems.push((lines.locate(path), message));

    if let Some(target) = &scenario.target {
        if let Err(why) = check_target(target) {
            problem("target", format!("target {target:?}: {why}"));
        }
    }
    if let Err(why) = check_header_name(&scenario.tenant_header) {
        problem("tenant_header", format!("tenant_header: {why}"));
    }
    if let Some(name) = &scenario.response_header {
        if let Err(why) = check_header_name(name) {
            problem("response_header", format!("response_header: {why}"));
        }
    }
    if scenario.requests.is_empty() {
        problem(
            "requests",
            "requests: at least one request is needed".to_owned(),
        );
    }
    let mut names = BTreeSet::new();
    let mut total_repeats = 0u64;
    for (i, request) in scenario.requests.iter().enumerate() {
        let at = |key: &str| format!("requests[{i}].{key}");
        let label = format!("requests[{i}]");
        if request.name.trim().is_empty() {
            problem(&at("name"), format!("{label}.name is empty"));
        } else if !names.insert(request.name.as_str()) {
            problem(
                &at("name"),
                format!("{label}.name {:?} is used by another request", request.name),
            );
        }
        if Method::from_bytes(request.method.as_bytes()).is_err() {
            problem(
                &at("method"),
                format!("{label}.method {:?} is not an HTTP method", request.method),
            );
        }
        if let Err(why) = check_path(&request.path) {
            problem(
                &at("path"),
                format!("{label}.path {:?}: {why}", request.path),
            );
        }
        if let Some(tenant) = &request.tenant {
            if tenant.is_empty() || HeaderValue::from_str(tenant).is_err() {
                problem(
                    &at("tenant"),
                    format!("{label}.tenant {tenant:?} is not a valid header value"),
                );
            }
        }
        for (name, value) in &request.headers {
            let path = format!("{}.{name}", at("headers"));
            if let Err(why) = check_header_name(name) {
                problem(&path, format!("{label}.headers: {why}"));
            } else if is_trace_context(name) {
                problem(
                    &path,
                    format!(
                        "{label}.headers: {name} is set by the incoming-context matrix, \
                         not by the scenario"
                    ),
                );
            }
            if HeaderValue::from_str(value).is_err() {
                problem(
                    &path,
                    format!("{label}.headers.{name}: {value:?} is not a valid header value"),
                );
            }
        }
        if !(1..=MAX_REPEAT).contains(&request.repeat) {
            problem(
                &at("repeat"),
                format!(
                    "{label}.repeat must be 1 to {MAX_REPEAT}, got {}",
                    request.repeat
                ),
            );
        }
        if !(1..=MAX_CONCURRENCY).contains(&request.concurrency) {
            problem(
                &at("concurrency"),
                format!(
                    "{label}.concurrency must be 1 to {MAX_CONCURRENCY}, got {}",
                    request.concurrency
                ),
            );
        }
        if request.repeat <= MAX_REPEAT {
            total_repeats += u64::from(request.repeat);
        }
    }
    if total_repeats > MAX_TOTAL_REPEATS {
        problem(
            "requests",
            format!("requests: {total_repeats} repeats in all, more than the {MAX_TOTAL_REPEATS} allowed"),
        );
    }

    let expect = &scenario.expect;
    if expect.services.is_empty() {
        problem(
            "expect.services",
            "expect.services: at least one service is needed".to_owned(),
        );
    }
    if expect.services.iter().any(|s| s.trim().is_empty()) {
        problem(
            "expect.services",
            "expect.services: a service name is empty".to_owned(),
        );
    }
    if !expect.services.is_empty() && !expect.services.contains(&expect.root) {
        problem(
            "expect.root",
            format!(
                "expect.root {:?} is not one of expect.services",
                expect.root
            ),
        );
    }
    if let Some(budget) = &expect.latency_budget {
        if parse_percent(budget).is_none() {
            problem(
                "expect.latency_budget",
                format!("expect.latency_budget {budget:?}: expected a percentage such as `10%`"),
            );
        }
    }
    if let Some(slack) = &expect.latency_slack {
        if parse_millis(slack).is_none() {
            problem(
                "expect.latency_slack",
                format!(
                    "expect.latency_slack {slack:?}: expected a duration such as `50ms` or `1s` \
                     (under an hour)"
                ),
            );
        }
    }

    let first = problems
        .into_iter()
        .min_by_key(|(line, _)| line.unwrap_or(u32::MAX));
    match first {
        None => Ok(()),
        Some((line, message)) => Err(ScenarioError {
            file: file.to_owned(),
            line,
            message,
        }),
    }
}

/// `traceparent` and `tracestate` are the matrix's to set.
fn is_trace_context(name: &str) -> bool {
    name.eq_ignore_ascii_case("traceparent") || name.eq_ignore_ascii_case("tracestate")
}

fn check_header_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("a header name is empty".to_owned());
    }
    HeaderName::from_bytes(name.as_bytes())
        .map(|_| ())
        .map_err(|_| format!("{name:?} is not a valid header name"))
}

/// An `http://` or `https://` URL with a host and no query or fragment.
pub(crate) fn check_target(target: &str) -> Result<(), String> {
    let url = reqwest::Url::parse(target).map_err(|e| format!("not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "the scheme must be http or https, not {:?}",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("no host".to_owned());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("a target has no query string or fragment".to_owned());
    }
    Ok(())
}

/// Starts with `/`, and is a valid path and query once `{n}` is replaced.
fn check_path(path: &str) -> Result<(), String> {
    if !path.starts_with('/') {
        return Err("must start with `/`".to_owned());
    }
    if path.contains('#') {
        return Err("a fragment (`#`) is never sent".to_owned());
    }
    let sample = path.replace("{n}", "1");
    sample
        .parse::<http::uri::PathAndQuery>()
        .map(|_| ())
        .map_err(|_| {
            "not a valid URL path (spaces and control characters must be %-encoded)".to_owned()
        })
}
