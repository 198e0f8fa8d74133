//! Scenarios: the requests `verify` replays and what it expects of the traces (YAML).
//!
//! Unknown keys are rejected with the file and line; [`schema`] is the published JSON Schema.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

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
    pub repeat: u32,
    /// How many at once (default 1).
    #[serde(default = "one")]
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
    pub latency_budget: Option<String>,
}

/// Why a scenario is not usable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{file}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct ScenarioError {
    pub file: String,
    pub line: Option<u32>,
    pub message: String,
}

/// Parse a scenario; `file` names it in errors.
pub fn parse(text: &str, file: &str) -> Result<Scenario, ScenarioError> {
    serde_yaml::from_str(text).map_err(|err| ScenarioError {
        file: file.to_owned(),
        line: err.location().map(|l| l.line() as u32),
        message: err.to_string(),
    })
}

/// The JSON Schema of a scenario file.
pub fn schema() -> schemars::Schema {
    schemars::schema_for!(Scenario)
}
