//! Environment variable names and what they are about to tracing: an UPPER_SNAKE name
//! (`COLLECTOR_SERVICE_ADDR`), its words, and whether it names an export endpoint of the
//! service's own (an address word and a tracing word). Shared by the parsers (which keep a call
//! handing such a name to the service's own helper, `mustMapEnv(&addr, "COLLECTOR_SERVICE_ADDR")`)
//! and the rules that judge what the code reads.

/// An environment variable's name: UPPER_SNAKE (`[A-Z_][A-Z0-9_]*`, one letter at least).
pub fn is_variable(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && s.chars().any(|c| c.is_ascii_uppercase())
        && !s.chars().any(|c| c.is_ascii_lowercase())
}

/// The words of a variable name, lower-cased (`COLLECTOR_SERVICE_ADDR` → collector, service,
/// addr).
pub fn words(name: &str) -> Vec<String> {
    name.split('_')
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect()
}

/// Whether a setting's name (`tracing.enabled`, `Tracing:Enabled`, `DISABLE_TRACING`) switches
/// tracing on or off: an enable/disable word and a tracing word.
pub fn is_tracing_switch(name: &str) -> bool {
    let w: Vec<String> = name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    w.iter()
        .any(|w| matches!(w.as_str(), "enable" | "enabled" | "disable" | "disabled"))
        && w.iter().any(|w| TRACING_WORDS.contains(&w.as_str()))
}

/// The variable Spring's relaxed binding reads a property from: `tracing.enabled` →
/// `TRACING_ENABLED`, `otel.sdk-enabled` → `OTEL_SDKENABLED`.
pub fn spring_variable(property: &str) -> String {
    property
        .replace('.', "_")
        .replace('-', "")
        .to_ascii_uppercase()
}

/// The variable that sets a .NET configuration key: `Tracing:Enabled` → `Tracing__Enabled`.
pub fn dotnet_variable(key: &str) -> String {
    key.replace(':', "__")
}

/// What tracing a variable name is about.
pub const TRACING_WORDS: &[&str] = &[
    "collector",
    "otel",
    "otlp",
    "opentelemetry",
    "telemetry",
    "trace",
    "traces",
    "tracing",
    "tracer",
    "jaeger",
    "zipkin",
    "tempo",
];

/// An export endpoint of the service's own name (`COLLECTOR_SERVICE_ADDR`,
/// `OTEL_COLLECTOR_URL`, `TRACING_ENDPOINT`); not the SDK's own variables
/// (`OTEL_EXPORTER_OTLP_*`), which the rule names already.
pub fn is_endpoint_variable(name: &str) -> bool {
    let w = words(name);
    let address = w.iter().any(|w| {
        matches!(
            w.as_str(),
            "addr" | "address" | "endpoint" | "url" | "uri" | "host"
        )
    });
    address
        && w.iter().any(|w| TRACING_WORDS.contains(&w.as_str()))
        && !name.starts_with("OTEL_EXPORTER_")
}
