//! Scenarios: the requests `verify` replays and what it expects of the traces (YAML).
//!
//! Unknown keys are rejected with the file and line; [`schema`] is the published JSON Schema.

use std::collections::BTreeMap;

use schemars::JsonSchema;

mod validate;

use serde::{Deserialize, Serialize};
pub(crate) use validate::check_target;
pub use validate::{MAX_CONCURRENCY, MAX_REPEAT, MAX_SCENARIO_BYTES, MAX_TOTAL_REPEATS};

/// A scenario file.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// The ingress URL (`--target` overrides it).
    #[serde(default)]
    pub target: Option<String>,
    /// The request header that names the tenant (default `x-tenant-id`).
    #[serde(default = "default_tenant_header")]
    pub tenant_header: String,
    /// A response header that carries the trace ID, besides `traceresponse` and
    /// `server-timing` (a bare 32-hex trace ID or a traceparent-shaped value).
    #[serde(default)]
    pub response_header: Option<String>,
    /// The requests to send.
    pub requests: Vec<RequestSpec>,
    /// What the traces must look like.
    pub expect: Expect,
}

fn default_tenant_header() -> String {
    "x-tenant-id".to_owned()
}

/// One request shape.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestSpec {
    /// A name for reports.
    pub name: String,
    /// HTTP method (default GET).
    #[serde(default = "default_method")]
    pub method: String,
    /// Path and query; `{n}` is replaced by the request's number in the run.
    pub path: String,
    /// The tenant, sent in `tenant_header`.
    #[serde(default)]
    pub tenant: Option<String>,
    /// Extra request headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The request body.
    #[serde(default)]
    pub body: Option<String>,
    /// How many times to send it (besides the incoming-context matrix), default 1.
    #[serde(default = "one")]
    #[schemars(range(min = 1, max = MAX_REPEAT))]
    pub repeat: u32,
    /// How many at once (default 1).
    #[serde(default = "one")]
    #[schemars(range(min = 1, max = MAX_CONCURRENCY))]
    pub concurrency: u32,
}

fn default_method() -> String {
    "GET".to_owned()
}

fn one() -> u32 {
    1
}

/// What the traces must look like.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The service whose SERVER span roots every trace.
    pub root: String,
    /// Every service a request's trace must reach.
    pub services: Vec<String>,
    /// AC-007: how much the p99 latency may grow with the telemetry backend failing
    /// (`10%`), default 10%.
    #[serde(default)]
    #[schemars(regex(pattern = r"^\s*[0-9]+(\.[0-9]+)?\s*%\s*$"))]
    pub latency_budget: Option<String>,
    /// AC-007: an absolute allowance added to the budget (`50ms`, default 50 ms), so
    /// millisecond loopback latencies are not judged on jitter.
    #[serde(default)]
    #[schemars(regex(pattern = r"^\s*[0-9]+(\.[0-9]+)?\s*(ms|s)\s*$"))]
    pub latency_slack: Option<String>,
}

/// AC-007(a)'s allowance: the fault phase's p99 may be at most
/// `healthy_p99 × (1 + fraction) + slack`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LatencyBudget {
    /// The relative growth allowed (`0.10` for `10%`).
    pub fraction: f64,
    /// The absolute allowance added on top.
    pub slack: std::time::Duration,
}

impl LatencyBudget {
    /// The highest fault-phase p99 allowed for a healthy-phase p99.
    pub fn limit(&self, healthy_p99: std::time::Duration) -> std::time::Duration {
        healthy_p99.mul_f64(1.0 + self.fraction) + self.slack
    }
}

impl Expect {
    /// The parsed budget; `10%` and `50ms` when not given. An unparsable value is reported
    /// by [`parse`], so this falls back to the defaults only for hand-built scenarios.
    pub fn budget(&self) -> LatencyBudget {
        let fraction = self
            .latency_budget
            .as_deref()
            .and_then(parse_percent)
            .unwrap_or(0.10);
        let slack = self
            .latency_slack
            .as_deref()
            .and_then(parse_millis)
            .unwrap_or(std::time::Duration::from_millis(50));
        LatencyBudget { fraction, slack }
    }
}

/// `10%` → 0.10.
pub fn parse_percent(text: &str) -> Option<f64> {
    let value: f64 = text.trim().strip_suffix('%')?.trim().parse().ok()?;
    (value.is_finite() && value >= 0.0).then_some(value / 100.0)
}

/// `50ms`, `2s` → a duration.
pub fn parse_millis(text: &str) -> Option<std::time::Duration> {
    let text = text.trim();
    let (number, scale) = if let Some(n) = text.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1000.0)
    } else {
        return None;
    };
    let value: f64 = number.trim().parse().ok()?;
    (value.is_finite() && value >= 0.0 && value * scale < 3.6e6)
        .then(|| std::time::Duration::from_secs_f64(value * scale / 1000.0))
}

/// Why a scenario is not usable: one line, `FILE[:LINE]: message`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{file}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct ScenarioError {
    /// The file as the user named it.
    pub file: String,
    /// The 1-based line, when known.
    pub line: Option<u32>,
    /// What is wrong.
    pub message: String,
}

/// Parse and validate a scenario; `file` names it in errors. Unknown keys and wrong types
/// are reported with their line by the YAML parser; the other checks (`docs/scenarios.md`)
/// with the line of the key at fault where it can be found. The first problem is returned.
pub fn parse(text: &str, file: &str) -> Result<Scenario, ScenarioError> {
    let scenario: Scenario = serde_yaml::from_str(text).map_err(|err| {
        let mut message = err.to_string();
        if let Some(at) = message.rfind(" at line ") {
            message.truncate(at);
        }
        ScenarioError {
            file: file.to_owned(),
            line: err.location().map(|l| l.line() as u32),
            message: plain_message(&message),
        }
    })?;
    validate::validate(&scenario, text, file)?;
    Ok(scenario)
}

/// Read, parse and validate a scenario file: at most [`MAX_SCENARIO_BYTES`], a regular file,
/// UTF-8.
pub fn parse_file(path: &std::path::Path) -> Result<Scenario, ScenarioError> {
    let file = path.display().to_string();
    let error = |message: String| ScenarioError {
        file: file.clone(),
        line: None,
        message,
    };
    let meta =
        std::fs::metadata(path).map_err(|e| error(format!("cannot read: {}", io_reason(&e))))?;
    if !meta.is_file() {
        return Err(error("not a regular file".to_owned()));
    }
    if meta.len() > MAX_SCENARIO_BYTES {
        return Err(error(format!(
            "{} bytes, more than the {} allowed for a scenario",
            meta.len(),
            MAX_SCENARIO_BYTES
        )));
    }
    let bytes =
        std::fs::read(path).map_err(|e| error(format!("cannot read: {}", io_reason(&e))))?;
    if bytes.len() as u64 > MAX_SCENARIO_BYTES {
        return Err(error(format!(
            "more than the {MAX_SCENARIO_BYTES} bytes allowed for a scenario"
        )));
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        let before = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = before.iter().filter(|b| **b == b'\n').count() as u32 + 1;
        ScenarioError {
            file: file.clone(),
            line: Some(line),
            message: "not UTF-8 text".to_owned(),
        }
    })?;
    parse(&text, &file)
}

/// An I/O error without Rust's `(os error N)` suffix.
fn io_reason(err: &std::io::Error) -> String {
    let text = err.to_string();
    match text.find(" (os error") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

/// serde's wording in the words of the file: no Rust type names.
fn plain_message(message: &str) -> String {
    message
        .replace(
            "expected struct Scenario",
            "expected a mapping (target, requests, expect, …)",
        )
        .replace(
            "expected struct RequestSpec",
            "expected a mapping (name, method, path, …)",
        )
        .replace(
            "expected struct Expect",
            "expected a mapping (root, services, …)",
        )
        .replace("expected u32", "expected a whole number")
}

/// The JSON Schema of a scenario file (every key with its description).
pub fn schema() -> schemars::Schema {
    schemars::schema_for!(Scenario)
}

#[cfg(test)]
mod tests;
