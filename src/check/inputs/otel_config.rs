//! OpenTelemetry **declarative configuration** files (the `opentelemetry-configuration` file
//! format, read by the SDKs from `OTEL_EXPERIMENTAL_CONFIG_FILE`, by Go's
//! `go.opentelemetry.io/contrib/otelconf`, by the Java agent from
//! `otel.experimental.config.file`): a YAML document with `file_format` and an SDK section
//! (`tracer_provider`, `propagator`). What it configures becomes [`FactKind::Config`] facts at
//! the lines that say it, judged like code by the rules' `config:` signals:
//!
//! | key | value | at |
//! |---|---|---|
//! | `file` | the file's path | `file_format` |
//! | `propagator` | the propagator names, comma-separated (`composite` entries, `composite_list`); empty when the file sets none (the SDK then propagates nothing) | `composite:`/`composite_list:` (else `propagator:`, else `file_format`) |
//! | `processor` | `simple` or `batch`, one per `tracer_provider.processors` entry | the entry |
//! | `endpoint` | an exporter `endpoint` of `tracer_provider`, as written (`${VAR:-default}` substitutions kept) | its line |
//! | `service_name` | the `service.name` the `resource` gives: an entry of `resource.attributes` (`- name: service.name` / `value: …`) or a pair of `resource.attributes_list` (`"service.name=checkout,…"`), as written | the entry's `value:` / `attributes_list:` |

use serde_yaml::Value;

use crate::check::facts::{Fact, FactKind};

/// Whether a YAML document is a declarative configuration file.
pub fn is_config(value: &Value) -> bool {
    value.get("file_format").is_some()
        && (value.get("tracer_provider").is_some() || value.get("propagator").is_some())
}

/// The facts of the configuration `value`, whose text (`text`, the document starting at line
/// `start` of file `rel`) gives the lines. `mounted`: held in a ConfigMap the workload mounts
/// (configuration), its endpoints then `mounted_endpoint` (judged by TG201, not TG202).
pub fn facts(rel: &str, text: &str, start: u32, value: &Value, mounted: bool) -> Vec<Fact> {
    let lines: Vec<&str> = text.lines().collect();
    // 1-based line of the first line at or after `from` (index) matching `pred`.
    let find = |from: usize, to: usize, pred: &dyn Fn(&str) -> bool| {
        (from..to.min(lines.len())).find(|i| {
            let l = lines[*i];
            !l.trim_start().starts_with('#') && pred(l)
        })
    };
    let top = |key: &str| find(0, lines.len(), &|l: &str| l.starts_with(&format!("{key}:")));
    // The end of a top-level section: the next line starting a top-level key.
    let end_of = |from: usize| {
        find(from + 1, lines.len(), &|l: &str| {
            l.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        })
        .unwrap_or(lines.len())
    };
    let at = |i: usize| start + i as u32;
    let fact = |key: &str, value: String, line: u32| {
        Fact::new(
            FactKind::Config {
                key: key.into(),
                value,
                mounted,
            },
            rel,
            line,
        )
    };
    let format_line = top("file_format").unwrap_or(0);
    let mut out = vec![fact("file", rel.to_string(), at(format_line))];

    // Propagators.
    let mut names: Vec<String> = Vec::new();
    let propagator = value.get("propagator");
    if let Some(Value::Sequence(list)) = propagator.and_then(|p| p.get("composite")) {
        for e in list {
            match e {
                Value::String(s) => names.push(s.clone()),
                Value::Mapping(m) => {
                    names.extend(m.keys().filter_map(Value::as_str).map(str::to_string))
                }
                _ => {}
            }
        }
    }
    if let Some(list) = propagator
        .and_then(|p| p.get("composite_list"))
        .and_then(Value::as_str)
    {
        names.extend(list.split(',').map(|s| s.trim().to_string()));
    }
    names.retain(|n| !n.is_empty());
    let p_line = match top("propagator") {
        Some(p) => find(p + 1, end_of(p), &|l: &str| {
            let t = l.trim_start();
            t.starts_with("composite:") || t.starts_with("composite_list:")
        })
        .unwrap_or(p),
        None => format_line,
    };
    out.push(fact("propagator", names.join(","), at(p_line)));

    // The service's name in the resource (`attributes` entries have priority over
    // `attributes_list`, as the schema says; either names it).
    if let Some((name, key)) = service_name(value) {
        let r = top("resource");
        let line = r.and_then(|r| {
            let (from, end) = (r + 1, end_of(r));
            match key {
                "attributes_list" => find(from, end, &|l: &str| {
                    l.trim_start().starts_with("attributes_list:")
                }),
                _ => find(from, end, &|l: &str| {
                    let t = l.trim_start().trim_start_matches(['-', '{', ' ']);
                    t.strip_prefix("name:").is_some_and(|n| {
                        let n = n.split([',', '}']).next().unwrap_or_default();
                        n.trim().trim_matches(['"', '\'']) == "service.name"
                    })
                })
                .map(|i| {
                    find(i, end, &|l: &str| {
                        l.contains("{") && l.contains("value:") || {
                            l.trim_start()
                                .trim_start_matches('-')
                                .trim_start()
                                .starts_with("value:")
                        }
                    })
                    .unwrap_or(i)
                }),
            }
        });
        out.push(fact(
            "service_name",
            name,
            at(line.or(r).unwrap_or(format_line)),
        ));
    }

    // Span processors and their exporters' endpoints.
    if let Some(tp) = top("tracer_provider") {
        let end = end_of(tp);
        let mut from = tp + 1;
        let processors = value
            .get("tracer_provider")
            .and_then(|t| t.get("processors"))
            .and_then(Value::as_sequence);
        for p in processors.into_iter().flatten() {
            let Some(kind) = ["simple", "batch"]
                .into_iter()
                .find(|k| p.get(*k).is_some())
            else {
                continue;
            };
            let Some(i) = find(from, end, &|l: &str| {
                let t = l.trim_start().trim_start_matches('-').trim_start();
                t.starts_with(&format!("{kind}:"))
            }) else {
                continue;
            };
            out.push(fact("processor", kind.to_string(), at(i)));
            from = i + 1;
        }
        let mut from = tp + 1;
        while let Some(i) = find(from, end, &|l: &str| {
            l.trim_start().starts_with("endpoint:")
        }) {
            let v = lines[i]
                .trim_start()
                .trim_start_matches("endpoint:")
                .trim()
                .trim_matches(|c| c == '"' || c == '\'')
                .to_string();
            if !v.is_empty() {
                let key = if mounted {
                    "mounted_endpoint"
                } else {
                    "endpoint"
                };
                out.push(fact(key, v, at(i)));
            }
            from = i + 1;
        }
    }
    out
}

/// The `service.name` the file's `resource` gives, as written, and the key that gives it
/// (`attributes` or `attributes_list`).
fn service_name(value: &Value) -> Option<(String, &'static str)> {
    let resource = value.get("resource")?;
    let listed = resource
        .get("attributes")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .find(|a| a.get("name").and_then(Value::as_str) == Some("service.name"))
        .and_then(|a| match a.get("value")? {
            Value::String(s) => Some(s.trim().to_string()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        });
    if let Some(name) = listed.filter(|n| !n.is_empty()) {
        return Some((name, "attributes"));
    }
    let list = resource.get("attributes_list").and_then(Value::as_str)?;
    list.split(',')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| k.trim() == "service.name")
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .map(|v| (v, "attributes_list"))
}

/// What `value` is once its `${VAR}` / `${env:VAR}` / `${VAR:-default}` substitutions are made
/// with `lookup` (a variable it does not know, and without a default, gives nothing).
pub fn resolve(value: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        rest = &rest[i + 2..];
        let end = rest.find('}').unwrap_or(rest.len());
        let inner = &rest[..end];
        let inner = inner.strip_prefix("env:").unwrap_or(inner);
        let (name, default) = match inner.split_once(":-") {
            Some((n, d)) => (n, Some(d)),
            None => (inner, None),
        };
        match lookup(name.trim()).filter(|v| !v.is_empty()) {
            Some(v) => out.push_str(&v),
            None => out.push_str(default.unwrap_or_default()),
        }
        rest = rest.get(end + 1..).unwrap_or_default();
    }
    out.push_str(rest);
    out
}

/// The variables a `${VAR}`, `${env:VAR}` or `${VAR:-default}` substitution in `value` names.
pub fn substituted(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = value;
    while let Some(i) = rest.find("${") {
        rest = &rest[i + 2..];
        let end = rest.find('}').unwrap_or(rest.len());
        let inner = &rest[..end];
        let inner = inner.strip_prefix("env:").unwrap_or(inner);
        let name: String = inner
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            out.push(name);
        }
        rest = &rest[end..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "file_format: \"1.0-rc.1\"\nresource:\n  attributes:\n    - name: service.name\n      value: ${OTEL_SERVICE_NAME:-ledger}\npropagator:\n  composite:\n    - b3:\n    - baggage:\ntracer_provider:\n  processors:\n    # debug\n    - simple:\n        exporter:\n          otlp_http:\n            endpoint: http://otel-collector:4318/v1/traces\n    - batch:\n        exporter:\n          otlp_grpc:\n            endpoint: \"${OTEL_EXPORTER_OTLP_ENDPOINT}\"\nmeter_provider:\n  readers:\n    - periodic:\n        exporter:\n          otlp_http:\n            endpoint: http://metrics:4318\n";

    fn got(text: &str) -> Vec<(String, String, u32)> {
        let v: Value = serde_yaml::from_str(text).unwrap();
        assert!(is_config(&v));
        facts("svc/otel.yaml", text, 1, &v, false)
            .into_iter()
            .map(|f| match f.kind {
                FactKind::Config { key, value, .. } => (key, value, f.line),
                _ => unreachable!(),
            })
            .collect()
    }

    #[test]
    fn propagators_processors_and_trace_endpoints_at_their_lines() {
        let s = |a: &str, b: &str, l: u32| (a.to_string(), b.to_string(), l);
        assert_eq!(
            got(FILE),
            vec![
                s("file", "svc/otel.yaml", 1),
                s("propagator", "b3,baggage", 7),
                s("service_name", "${OTEL_SERVICE_NAME:-ledger}", 5),
                s("processor", "simple", 13),
                s("processor", "batch", 17),
                s("endpoint", "http://otel-collector:4318/v1/traces", 16),
                s("endpoint", "${OTEL_EXPORTER_OTLP_ENDPOINT}", 20),
            ]
        );
    }

    #[test]
    fn composite_list_strings_and_no_propagator() {
        let text = "file_format: \"0.3\"\npropagator:\n  composite: [ tracecontext, baggage ]\n";
        assert_eq!(got(text)[1].1, "tracecontext,baggage");
        let text = "file_format: \"1.0\"\npropagator:\n  composite_list: \"tracecontext, b3\"\n";
        assert_eq!(got(text)[1].1, "tracecontext,b3");
        // None: the SDK propagates nothing; located at `file_format`.
        let text = "file_format: \"1.0\"\ntracer_provider:\n  processors: []\n";
        assert_eq!(got(text)[1], ("propagator".into(), String::new(), 1));
        // Not a configuration file: no `file_format`.
        let v: Value = serde_yaml::from_str("propagator:\n  composite: [b3]\n").unwrap();
        assert!(!is_config(&v));
    }

    #[test]
    fn the_resource_names_the_service() {
        let name = |text: &str| {
            got(text)
                .into_iter()
                .find(|(k, _, _)| k == "service_name")
                .map(|(_, v, l)| (v, l))
        };
        // An `attributes` entry, at its `value:` line; substitutions kept as written.
        assert_eq!(name(FILE), Some(("${OTEL_SERVICE_NAME:-ledger}".into(), 5)));
        let text = "file_format: \"0.3\"\nresource:\n  attributes:\n    - name: service.namespace\n      value: shop\n    - { name: service.name, value: checkout }\npropagator:\n  composite: [tracecontext]\n";
        assert_eq!(name(text), Some(("checkout".into(), 6)));
        // `attributes_list`, in the OTEL_RESOURCE_ATTRIBUTES format.
        let text = "file_format: \"1.0\"\nresource:\n  attributes_list: \"service.namespace=shop, service.name=cart\"\npropagator:\n  composite: [tracecontext]\n";
        assert_eq!(name(text), Some(("cart".into(), 3)));
        // Other attributes only, an empty name, or none: no name.
        let text = "file_format: \"1.0\"\nresource:\n  attributes:\n    - name: service.namespace\n      value: shop\n  attributes_list: \"service.name=\"\npropagator:\n  composite: [tracecontext]\n";
        assert_eq!(name(text), None);
        assert_eq!(
            name("file_format: \"1.0\"\npropagator:\n  composite: [b3]\n"),
            None
        );
    }

    #[test]
    fn substitutions_resolve_with_the_workload_or_their_default() {
        let env = |n: &str| (n == "SVC").then(|| "orders".to_string());
        assert_eq!(resolve("${SVC}", &env), "orders");
        assert_eq!(resolve("${env:SVC}-eu", &env), "orders-eu");
        assert_eq!(resolve("${OTEL_SERVICE_NAME}", &env), "");
        assert_eq!(resolve("${OTEL_SERVICE_NAME:-cart}", &env), "cart");
        assert_eq!(resolve("checkout", &env), "checkout");
        assert_eq!(resolve("${broken", &env), "");
    }

    #[test]
    fn substitutions_name_their_variables() {
        assert_eq!(
            substituted("${COLLECTOR_ENDPOINT:-http://localhost:4318}/v1/traces"),
            vec!["COLLECTOR_ENDPOINT"]
        );
        assert_eq!(
            substituted("${env:OTEL_EXPORTER_OTLP_ENDPOINT}"),
            vec!["OTEL_EXPORTER_OTLP_ENDPOINT"]
        );
        assert!(substituted("http://collector:4318").is_empty());
    }
}
