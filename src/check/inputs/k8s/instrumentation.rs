//! The OpenTelemetry Operator's `Instrumentation` resource (`apiVersion: opentelemetry.io/…`,
//! `kind: Instrumentation`): the environment the Operator gives the containers of a pod that
//! selects it with an `instrumentation.opentelemetry.io/inject-<language>` annotation, as
//! `Env` facts located where the resource sets them.

use serde_yaml::Value;

use super::{get, s, Doc};
use crate::check::facts::{Fact, FactKind};

/// The languages whose agents have a `spec.<language>` section with its own `env`.
const LANGUAGES: &[&str] = &["java", "nodejs", "python", "dotnet", "go"];

/// An `inject-<kind>` annotation whose `Instrumentation` the tree does not hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Unresolved {
    /// What is injected: `java`, `nodejs`, `python`, `dotnet`, `go`, `sdk`…
    pub kind: String,
    /// The annotation's file.
    pub file: String,
    /// Its line.
    pub line: u32,
    /// Why the resource is not known (one line).
    pub reason: String,
}

/// An `Instrumentation` resource.
#[derive(Clone, Debug, Default)]
pub struct Instrumentation {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`, if set.
    pub namespace: Option<String>,
    /// File.
    pub file: String,
    /// Line of its name.
    pub line: u32,
    /// `spec.<language>.env`, by language (`java`, `nodejs`, `python`, `dotnet`, `go`).
    pub language_env: Vec<(String, Vec<Fact>)>,
    /// `spec.env`.
    pub env: Vec<Fact>,
    /// What the Operator derives from the rest of the spec: `OTEL_EXPORTER_OTLP_ENDPOINT`
    /// (`spec.exporter.endpoint`), `OTEL_PROPAGATORS` (`spec.propagators`, joined with
    /// commas), `OTEL_TRACES_SAMPLER` (`spec.sampler.type`).
    pub sdk: Vec<Fact>,
}

impl Instrumentation {
    /// What it sets for a pod annotated `inject-<language>`, in the Operator's order: the
    /// language's own `env`, then `spec.env`, then the variables derived from the spec. The
    /// Operator adds each only when the container does not set it already (nor an earlier one).
    pub fn injected<'a>(&'a self, language: &'a str) -> impl Iterator<Item = &'a Fact> {
        self.language_env
            .iter()
            .filter(move |(l, _)| l == language)
            .flat_map(|(_, env)| env.iter())
            .chain(&self.env)
            .chain(&self.sdk)
    }
}

/// Whether a document is an Operator `Instrumentation`.
pub(super) fn is_instrumentation(value: &Value, kind: &str) -> bool {
    kind == "Instrumentation"
        && get(value, &["apiVersion"])
            .and_then(s)
            .is_some_and(|v| v.starts_with("opentelemetry.io/"))
}

/// Read an `Instrumentation` document.
pub(super) fn instrumentation(
    rel: &str,
    doc: &Doc<'_>,
    value: &Value,
    name: String,
    namespace: Option<String>,
    line: u32,
) -> Instrumentation {
    let spec = get(value, &["spec"]);
    let env = |v: Option<&Value>, from: u32| -> Vec<Fact> {
        let Some(Value::Sequence(list)) = v else {
            return Vec::new();
        };
        list.iter()
            .filter_map(|e| {
                let name = get(e, &["name"]).and_then(s)?;
                let value = get(e, &["value"]).and_then(s);
                Some(Fact::new(
                    FactKind::Env {
                        name: name.clone(),
                        value,
                        from_secret: get(e, &["valueFrom", "secretKeyRef"]).is_some(),
                        from_ref: e.get("valueFrom").is_some(),
                    },
                    rel,
                    doc.line(&format!("name: {name}"), from),
                ))
            })
            .collect()
    };
    let literal = |name: &str, value: String, at: u32| {
        Fact::new(
            FactKind::Env {
                name: name.to_string(),
                value: Some(value),
                from_secret: false,
                from_ref: false,
            },
            rel,
            at,
        )
    };
    let mut sdk = Vec::new();
    if let Some(endpoint) = spec
        .and_then(|v| get(v, &["exporter", "endpoint"]))
        .and_then(s)
        .filter(|e| !e.is_empty())
    {
        let at = doc.line("endpoint:", line);
        sdk.push(literal("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint, at));
    }
    if let Some(Value::Sequence(list)) = spec.and_then(|v| v.get("propagators")) {
        let names: Vec<String> = list.iter().filter_map(s).collect();
        if !names.is_empty() {
            let at = doc.line("propagators:", line);
            sdk.push(literal("OTEL_PROPAGATORS", names.join(","), at));
        }
    }
    if let Some(sampler) = spec
        .and_then(|v| get(v, &["sampler", "type"]))
        .and_then(s)
        .filter(|t| !t.is_empty())
    {
        let at = doc.line("sampler:", line);
        sdk.push(literal("OTEL_TRACES_SAMPLER", sampler, at));
    }
    let language_env = LANGUAGES
        .iter()
        .filter_map(|l| {
            let section = spec.and_then(|v| v.get(*l))?;
            let from = doc.line(&format!("{l}:"), line);
            Some((l.to_string(), env(section.get("env"), from)))
        })
        .collect();
    let common = env(spec.and_then(|v| v.get("env")), line);
    Instrumentation {
        name,
        namespace,
        file: rel.to_string(),
        line,
        language_env,
        env: common,
        sdk,
    }
}

#[cfg(test)]
mod tests {
    use crate::check::facts::FactKind;
    use crate::check::inputs::k8s::parse;

    fn env_of<'a>(facts: impl Iterator<Item = &'a crate::check::facts::Fact>) -> Vec<String> {
        facts
            .filter_map(|f| match &f.kind {
                FactKind::Env { name, value, .. } => Some(format!(
                    "{name}={}@{}",
                    value.as_deref().unwrap_or("-"),
                    f.line
                )),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn the_resource_gives_the_environment_the_operator_injects() {
        let text = "apiVersion: opentelemetry.io/v1alpha1\nkind: Instrumentation\nmetadata:\n  name: default\n  namespace: shop\nspec:\n  exporter:\n    endpoint: http://collector:4317\n  propagators:\n    - b3\n    - baggage\n  sampler:\n    type: parentbased_always_on\n  env:\n    - name: OTEL_METRICS_EXPORTER\n      value: none\n  python:\n    env:\n      - name: OTEL_EXPORTER_OTLP_ENDPOINT\n        value: http://collector:4318\n";
        let k = parse("k8s/inst.yaml", text).unwrap();
        assert_eq!(k.instrumentations.len(), 1);
        let i = &k.instrumentations[0];
        assert_eq!(
            (i.name.as_str(), i.namespace.as_deref(), i.line),
            ("default", Some("shop"), 4)
        );
        assert_eq!(
            env_of(i.injected("python")),
            vec![
                "OTEL_EXPORTER_OTLP_ENDPOINT=http://collector:4318@19",
                "OTEL_METRICS_EXPORTER=none@15",
                "OTEL_EXPORTER_OTLP_ENDPOINT=http://collector:4317@8",
                "OTEL_PROPAGATORS=b3,baggage@9",
                "OTEL_TRACES_SAMPLER=parentbased_always_on@12",
            ]
        );
        // Java has no section of its own: the common env and the spec's.
        assert_eq!(env_of(i.injected("java")).len(), 4);
        // Not the Operator's (another API group's `Instrumentation`): not read.
        let other = text.replace("opentelemetry.io/v1alpha1", "example.com/v1");
        assert!(parse("k8s/inst.yaml", &other)
            .unwrap()
            .instrumentations
            .is_empty());
    }

    #[test]
    fn a_broken_instrumentation_stops_the_scan() {
        // It decides workloads' environment: skipping it could pass them unjudged.
        let k = parse(
            "k8s/inst.yaml",
            "apiVersion: opentelemetry.io/v1alpha1\nkind: Instrumentation\nspec:\n  propagators: [b3\n",
        )
        .unwrap();
        assert!(k
            .fatal
            .is_some_and(|(_, r)| r.ends_with("(in a Instrumentation document)")));
    }
}
