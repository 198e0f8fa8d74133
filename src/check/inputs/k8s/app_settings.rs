//! Application settings files that give a tracing switch its default: Spring Boot's
//! `application.yml`/`application.yaml` (`tracing.enabled: false`) and .NET's
//! `appsettings.json` (`"Tracing": { "Enabled": false }`). Each switch (a key with an
//! enable/disable word and a tracing word) becomes an `Env` fact of the variable that
//! overrides it — `TRACING_ENABLED` (Spring's relaxed binding), `Tracing__Enabled` (.NET) —
//! with the file's value: what the image runs with unless the workload sets it. Profiles and
//! environments (`application-prod.yml`, `appsettings.Production.json`) are not read.

use serde_yaml::Value;

use crate::check::facts::env_names::{dotnet_variable, is_tracing_switch, spring_variable};
use crate::check::facts::{Fact, FactKind};

/// How a file's keys become variables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// Spring: `a.b-c` → `A_BC`.
    Spring,
    /// .NET: `A:B` → `A__B`.
    Dotnet,
}

/// The settings style of a file, by name.
pub fn style(file_name: &str) -> Option<Style> {
    match file_name {
        "application.yml" | "application.yaml" => Some(Style::Spring),
        "appsettings.json" => Some(Style::Dotnet),
        _ => None,
    }
}

/// The tracing switches `value` (the file's document starting at line `start`) sets.
pub fn switches(rel: &str, text: &str, start: u32, value: &Value, style: Style) -> Vec<Fact> {
    let mut out = Vec::new();
    let mut path = Vec::new();
    walk(value, &mut path, &mut |keys: &[String], v: &Value| {
        let scalar = match v {
            Value::Bool(b) => b.to_string(),
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => return,
        };
        let joined = keys.join(".");
        if !is_tracing_switch(&joined) {
            return;
        }
        let name = match style {
            Style::Spring => spring_variable(&joined),
            Style::Dotnet => dotnet_variable(&keys.join(":")),
        };
        let last = keys.last().map(String::as_str).unwrap_or_default();
        let line = text
            .lines()
            .position(|l| l.contains(last))
            .map_or(start, |i| start + i as u32);
        out.push(Fact::new(
            FactKind::Env {
                name,
                value: Some(scalar),
                from_secret: false,
                from_ref: false,
            },
            rel,
            line,
        ));
    });
    out
}

/// Every scalar under `value`, with its keys (a Spring key may itself be dotted:
/// `tracing.enabled: false` at the top level).
fn walk(value: &Value, path: &mut Vec<String>, f: &mut impl FnMut(&[String], &Value)) {
    if path.len() > 16 {
        return;
    }
    match value {
        Value::Mapping(m) => {
            for (k, v) in m {
                let Some(k) = k.as_str() else { continue };
                path.push(k.to_string());
                walk(v, path, f);
                path.pop();
            }
        }
        Value::Sequence(_) | Value::Null | Value::Tagged(_) => {}
        scalar => f(path, scalar),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envs(file: &str, text: &str) -> Vec<(String, String, u32)> {
        let style = style(file.rsplit('/').next().unwrap()).unwrap();
        let value: Value = serde_yaml::from_str(text).unwrap();
        switches(file, text, 1, &value, style)
            .into_iter()
            .filter_map(|f| match f.kind {
                FactKind::Env { name, value, .. } => {
                    Some((name, value.unwrap_or_default(), f.line))
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn spring_and_dotnet_settings_give_switches_their_variable() {
        assert_eq!(
            envs(
                "src/main/resources/application.yml",
                "spring:\n  application:\n    name: pricing\ntracing:\n  enabled: false\n  endpoint: http://otel-collector:4317\n"
            ),
            [("TRACING_ENABLED".to_string(), "false".to_string(), 5)]
        );
        assert_eq!(
            envs(
                "application.yaml",
                "otel.sdk-enabled: true\nfeature.enabled: true\n"
            ),
            [("OTEL_SDKENABLED".to_string(), "true".to_string(), 1)]
        );
        assert_eq!(
            envs(
                "appsettings.json",
                "{\n  \"Logging\": { \"LogLevel\": { \"Default\": \"Information\" } },\n  \"Tracing\": {\n    \"Enabled\": false,\n    \"OtlpEndpoint\": \"http://otel-collector:4317\"\n  }\n}\n"
            ),
            [("Tracing__Enabled".to_string(), "false".to_string(), 4)]
        );
        assert!(style("application-prod.yml").is_none());
    }

    #[test]
    fn a_settings_file_yaml_cannot_read_is_no_note() {
        // .NET allows comments in appsettings.json.
        let k = crate::check::inputs::k8s::parse(
            "svc/appsettings.json",
            "{\n  // tracing is on in every environment\n  \"Tracing\": { \"Enabled\": true }\n}\n",
        )
        .unwrap();
        assert!(k.invalid.is_empty() && k.fatal.is_none(), "{:?}", k.invalid);
        assert!(k.app_settings.is_empty());
    }
}
