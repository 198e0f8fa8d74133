//! What Spring services configure in Spring settings rather than `OTEL_*` variables: the
//! service's name (TG203) and Spring Boot's own OTLP span exporter endpoint (TG201).
//!
//! Settings files are read as the variables that override them
//! (`inputs::k8s::app_settings`): `spring.application.name` as `SPRING_APPLICATION_NAME`,
//! `otel.service.name` as `OTEL_SERVICE_NAME`, `management.otlp.tracing.endpoint` as
//! `MANAGEMENT_OTLP_TRACING_ENDPOINT`… Which of them count depends on what reads them, which
//! the rule's `params` name by dependency.

use crate::check::assembly::work::Svc;
use crate::check::evaluation::env_reads::workload_value;
use crate::check::evaluation::matching::{matches, FactIndex};
use crate::check::evaluation::profiles;
use crate::check::evaluation::rules::{
    Rule, Signal, OTEL_SETTINGS_READERS, SPRING_EXPORTERS, SPRING_EXPORTER_VARIABLES,
    SPRING_NAME_READERS, ZIPKIN_REPORTERS, ZIPKIN_REPORTER_VARIABLES,
};
use crate::check::facts::FactKind;
use crate::check::inputs::k8s::{is_bootstrap, Workload};

const APPLICATION_NAME: &str = "SPRING_APPLICATION_NAME";

/// A value that names something: a reference (`None`) or a literal that is not blank.
fn given(v: Option<&str>) -> bool {
    v.is_none_or(|v| !v.trim().is_empty())
}

fn depends_on_any(names: &[String], facts: &FactIndex) -> bool {
    names
        .iter()
        .any(|d| !matches(&Signal::Dependency(d.clone()), facts).is_empty())
}

/// The Java agent runs (a start command's `-javaagent`, or `JAVA_TOOL_OPTIONS` /
/// `JDK_JAVA_OPTIONS` carrying it: TG101's signals).
fn java_agent(facts: &FactIndex) -> bool {
    let env = |name: &str| Signal::Env {
        name: name.into(),
        contains: Some("-javaagent".into()),
        not_contains: None,
    };
    [
        Signal::Command("-javaagent".into()),
        env("JAVA_TOOL_OPTIONS"),
        env("JDK_JAVA_OPTIONS"),
    ]
    .iter()
    .any(|s| !matches(s, facts).is_empty())
}

/// Whether the service's spans carry a name Spring settings give it where `w` runs:
///
/// - what takes `spring.application.name` through the Spring environment (TG203's
///   `spring_name_readers`: the OpenTelemetry starter, Boot's own OpenTelemetry support): the
///   workload's `SPRING_APPLICATION_NAME`, else the image's (a Dockerfile `ENV`, the settings
///   file of the profile it selects, the base `application.*`; not `bootstrap.*`, which Spring
///   reads only with a bootstrap context);
/// - the OpenTelemetry Spring Boot starter (`otel_settings_readers`), which reads its own
///   `otel.service.name` and `otel.resource.attributes.service.name` from the Spring
///   environment (a settings file, a profile's, the workload's `OTEL_SERVICE_NAME` or
///   `OTEL_RESOURCE_ATTRIBUTES_SERVICE_NAME`);
/// - the Java agent's `SpringBootServiceNameDetector` (on by default; used when nothing else
///   names the service): `--spring.application.name=` on the command line,
///   `SPRING_APPLICATION_NAME` (the workload's or the image's), `application.properties`/
///   `.yml`/`.yaml` or `bootstrap.*` — the base files only: it reads no profile's file.
pub(super) fn names_service(rule: &Rule, svc: &Svc, facts: &FactIndex, w: &Workload) -> bool {
    let image = |name: &str, bootstrap_too: bool| {
        profiles::image_value(svc, w, name)
            .is_some_and(|v| given(v.value) && (bootstrap_too || !is_bootstrap(v.file)))
    };
    let set = |name: &str, bootstrap_too: bool| match workload_value(w, name) {
        Some(v) => given(v),
        None => image(name, bootstrap_too),
    };
    if depends_on_any(rule.param(SPRING_NAME_READERS), facts) && set(APPLICATION_NAME, false) {
        return true;
    }
    if depends_on_any(rule.param(OTEL_SETTINGS_READERS), facts)
        && (set("OTEL_SERVICE_NAME", false) || set("OTEL_RESOURCE_ATTRIBUTES_SERVICE_NAME", false))
    {
        return true;
    }
    java_agent(facts) && agent_detects_name(svc, facts, w)
}

/// What the agent's Spring Boot detector finds: the workload's `SPRING_APPLICATION_NAME`, the
/// image's (a Dockerfile `ENV`, a base or bootstrap settings file: never a profile's), or
/// `--spring.application.name=` in a start command.
fn agent_detects_name(svc: &Svc, facts: &FactIndex, w: &Workload) -> bool {
    if let Some(v) = workload_value(w, APPLICATION_NAME) {
        return given(v);
    }
    let in_image = svc.facts.iter().any(|f| {
        matches!(&f.kind, FactKind::Env { name, value, from_ref, .. }
            if name == APPLICATION_NAME && given(if *from_ref { None } else { value.as_deref() }))
    });
    in_image || !matches(&Signal::Command("--spring.application.name=".into()), facts).is_empty()
}

/// The exporter endpoint a Spring service takes from Spring settings instead of
/// `OTEL_EXPORTER_OTLP_ENDPOINT`: the variables that set it, and why (for the finding).
pub(super) struct SpringEndpoint<'r> {
    pub vars: Vec<&'r str>,
    pub why: &'static str,
}

/// Where a Spring service's spans go when Spring builds the exporter (TG201):
///
/// - Spring Boot's own OTLP span exporter (`spring_exporters`: Micrometer Tracing's
///   OpenTelemetry bridge, Boot 4's `spring-boot-starter-opentelemetry`) reads
///   `management.otlp.tracing.endpoint` (Boot 3) or
///   `management.opentelemetry.tracing.export.otlp.endpoint` (Boot 4);
/// - a Zipkin reporter (`zipkin_reporters`: Micrometer Tracing's `zipkin-reporter-brave` or
///   OpenTelemetry Zipkin exporter, Sleuth's `spring-cloud-sleuth-zipkin`) reads
///   `management.zipkin.tracing.endpoint` (Boot 3) or `spring.zipkin.base-url` (Sleuth).
///
/// None of them reads `OTEL_EXPORTER_OTLP_ENDPOINT`. With both kinds, either endpoint counts.
/// `None` when neither is the service's, or when the Java agent or the OpenTelemetry starter
/// (which read the `OTEL_*` variables) runs too.
pub(super) fn exporter_variables<'r>(
    rule: &'r Rule,
    facts: &FactIndex,
) -> Option<SpringEndpoint<'r>> {
    if java_agent(facts) || depends_on_any(rule.param(OTEL_SETTINGS_READERS), facts) {
        return None;
    }
    let names =
        |key: &str| -> Vec<&'r str> { rule.param(key).iter().map(String::as_str).collect() };
    let otlp = depends_on_any(rule.param(SPRING_EXPORTERS), facts);
    let zipkin = depends_on_any(rule.param(ZIPKIN_REPORTERS), facts);
    let (vars, why) = match (otlp, zipkin) {
        (false, false) => return None,
        (true, false) => (
            names(SPRING_EXPORTER_VARIABLES),
            " (Spring Boot's OTLP exporter reads no OTEL_EXPORTER_OTLP_ENDPOINT)",
        ),
        (false, true) => (
            names(ZIPKIN_REPORTER_VARIABLES),
            " (its Zipkin reporter reads no OTEL_EXPORTER_OTLP_ENDPOINT)",
        ),
        (true, true) => {
            let mut both = names(SPRING_EXPORTER_VARIABLES);
            both.extend(names(ZIPKIN_REPORTER_VARIABLES));
            (
                both,
                " (Spring Boot's OTLP exporter and its Zipkin reporter read no OTEL_EXPORTER_OTLP_ENDPOINT)",
            )
        }
    };
    (!vars.is_empty()).then_some(SpringEndpoint { vars, why })
}

/// What the image's settings make of Spring's endpoint `vars` where `w` runs: the variables
/// its `${NAME}` / `${NAME:default}` placeholders read (the workload may set those instead),
/// and the file and line where one is written out as a literal (baked into the image).
pub(super) fn exporter_settings(
    svc: &Svc,
    w: &Workload,
    vars: &[&str],
) -> (Vec<String>, Option<String>) {
    let mut read = Vec::new();
    let mut literal = None;
    for var in vars {
        let Some(v) = profiles::image_value(svc, w, var) else {
            continue;
        };
        let Some(value) = v.value else { continue };
        let names = placeholders(value);
        if names.is_empty() && !value.trim().is_empty() {
            literal.get_or_insert_with(|| format!("{}:{}", v.file, v.line));
        }
        read.extend(names);
    }
    (read, literal)
}

/// The variables `${NAME}` / `${NAME:default}` placeholders of a Spring value read.
fn placeholders(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = value;
    while let Some(i) = rest.find("${") {
        rest = &rest[i + 2..];
        let end = rest.find(['}', ':']).unwrap_or(rest.len());
        let name = rest[..end].trim();
        if !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-')
        {
            // Spring's relaxed binding: `${otel.collector.url}` is `OTEL_COLLECTOR_URL` too.
            out.push(crate::check::facts::env_names::spring_variable(name));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::placeholders;

    #[test]
    fn placeholders_name_the_variables_they_read() {
        assert_eq!(
            placeholders("${OTEL_COLLECTOR_URL:http://localhost:4318}/v1/traces"),
            ["OTEL_COLLECTOR_URL"]
        );
        assert_eq!(placeholders("${tracing.url}"), ["TRACING_URL"]);
        assert!(placeholders("http://otel-collector:4318/v1/traces").is_empty());
    }
}
