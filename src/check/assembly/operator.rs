//! The OpenTelemetry Operator's injection: a workload whose pod (or namespace) is annotated
//! `instrumentation.opentelemetry.io/inject-<language>` gets the environment of the
//! `Instrumentation` resource the annotation selects — `"true"`: the only one of the pod's
//! namespace; `"name"`: that one in the pod's namespace; `"namespace/name"`; `"false"`: none
//! (the pod's annotation wins over its namespace's, merged before this step). As the Operator
//! does, each variable is added only when the container does not set it itself: the
//! resource's `spec.<language>.env`, then `spec.env`, then `OTEL_SERVICE_NAME` (the workload's
//! name), `OTEL_EXPORTER_OTLP_ENDPOINT` (`spec.exporter.endpoint`), `OTEL_PROPAGATORS`
//! (`spec.propagators`) and `OTEL_TRACES_SAMPLER`. A selected resource the tree does not hold
//! (the platform installs it) leaves a note on the workload: what it sets is not judged.

use super::work::Svc;
use crate::check::facts::{Fact, FactKind};
use crate::check::inputs::k8s::{Instrumentation, Unresolved, Workload};
use crate::check::model::Language;

const INJECT: &str = "instrumentation.opentelemetry.io/inject-";

/// What the Operator injects for: the agents, and `sdk` (the environment alone).
const KINDS: &[&str] = &[
    "java",
    "nodejs",
    "python",
    "dotnet",
    "go",
    "sdk",
    "apache-httpd",
    "nginx",
];

/// Add to `w` the environment the Operator injects (call before `envFrom` ConfigMaps are
/// resolved: the Operator only looks at the container's own `env`).
pub(super) fn inject(w: &mut Workload, instrumentations: &[Instrumentation]) {
    let requests: Vec<(String, String, Fact)> = w
        .facts
        .iter()
        .filter_map(|f| match &f.kind {
            FactKind::Annotation { key, value } => {
                let kind = key.strip_prefix(INJECT)?;
                let value = value.trim();
                (KINDS.contains(&kind) && !value.is_empty() && !value.eq_ignore_ascii_case("false"))
                    .then(|| (kind.to_string(), value.to_string(), f.clone()))
            }
            _ => None,
        })
        .collect();
    if requests.is_empty() {
        return;
    }
    let mut set: Vec<String> = w
        .facts
        .iter()
        .filter_map(|f| match &f.kind {
            FactKind::Env { name, .. } => Some(name.clone()),
            _ => None,
        })
        .collect();
    for (kind, value, at) in requests {
        let inst = match select(&value, w.namespace.as_deref(), instrumentations) {
            Ok(inst) => inst,
            Err(reason) => {
                w.unresolved.push(Unresolved {
                    reason: format!("`{INJECT}{kind}: {value}`: {reason}"),
                    kind,
                    file: at.file.to_string(),
                    line: at.line,
                });
                continue;
            }
        };
        let service_name = Fact::new(
            FactKind::Env {
                name: "OTEL_SERVICE_NAME".into(),
                value: Some(w.name.clone()),
                from_secret: false,
                from_ref: false,
            },
            &at.file,
            at.line,
        );
        let injected: Vec<Fact> = inst
            .injected(&kind)
            .cloned()
            .chain(std::iter::once(service_name))
            .collect();
        for fact in injected {
            if let FactKind::Env { name, .. } = &fact.kind {
                if !set.contains(name) {
                    set.push(name.clone());
                    if name == "OTEL_PROPAGATORS" {
                        w.injected_propagators = Some((kind.clone(), fact));
                    } else {
                        w.facts.push(fact);
                    }
                }
            }
        }
    }
}

/// Give each workload of `services` the `OTEL_PROPAGATORS` injected for it where what was
/// injected reads it for the service's language (a Java agent injected into a Go pod sets a
/// variable the Go SDK ignores).
pub(super) fn settle(services: &mut [Svc]) {
    for svc in services {
        let language = svc.language.unwrap_or(Language::Unknown);
        for w in &mut svc.workloads {
            if let Some((kind, fact)) = w.injected_propagators.take() {
                if reads_propagators(&kind, language) {
                    w.facts.push(fact);
                }
            }
        }
    }
}

/// Whether what an `inject-<kind>` sets for the propagators is read by a service of
/// `language`: the agent of its own language, or (`inject-sdk`, the environment alone) an
/// SDK that reads `OTEL_PROPAGATORS` itself.
pub(crate) fn reads_propagators(kind: &str, language: Language) -> bool {
    match kind {
        "java" => language == Language::Java,
        "nodejs" => matches!(language, Language::Javascript | Language::Typescript),
        "python" => language == Language::Python,
        "dotnet" => language == Language::Dotnet,
        "go" => language == Language::Go,
        "sdk" => matches!(
            language,
            Language::Java | Language::Python | Language::Javascript | Language::Typescript
        ),
        _ => false,
    }
}

/// The resource an annotation value selects for a pod of `namespace` (unknown when the
/// manifest does not say: any resource's namespace may be it), or why none is known.
fn select<'a>(
    value: &str,
    namespace: Option<&str>,
    all: &'a [Instrumentation],
) -> Result<&'a Instrumentation, String> {
    let (wanted_ns, name) = match value.split_once('/') {
        Some((ns, name)) => (Some(ns), Some(name)),
        None if value.eq_ignore_ascii_case("true") => (namespace, None),
        None => (namespace, Some(value)),
    };
    let named = |i: &&Instrumentation| name.is_none_or(|n| i.name == n);
    // Same namespace for sure first, then one whose namespace (or the pod's) is not written.
    let exact: Vec<&Instrumentation> = all
        .iter()
        .filter(named)
        .filter(|i| wanted_ns.is_some() && i.namespace.as_deref() == wanted_ns)
        .collect();
    let candidates = if exact.is_empty() {
        all.iter()
            .filter(named)
            .filter(|i| wanted_ns.is_none() || i.namespace.is_none())
            .collect()
    } else {
        exact
    };
    let place = match wanted_ns {
        Some(ns) => format!(" in namespace `{ns}`"),
        None => String::new(),
    };
    match (candidates.as_slice(), name) {
        ([one], _) => Ok(one),
        ([], Some(n)) => Err(format!(
            "the Instrumentation `{n}`{place} is not in the tree (installed by the platform?)"
        )),
        ([], None) => Err(format!(
            "no Instrumentation{place} is in the tree (installed by the platform?)"
        )),
        (_, _) => Err(format!(
            "several Instrumentations{place} may be the one selected"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inst(name: &str, ns: Option<&str>, propagators: &str) -> Instrumentation {
        Instrumentation {
            name: name.into(),
            namespace: ns.map(str::to_string),
            file: "k8s/inst.yaml".into(),
            line: 4,
            sdk: vec![env("OTEL_PROPAGATORS", propagators, "k8s/inst.yaml", 9)],
            ..Instrumentation::default()
        }
    }

    fn env(name: &str, value: &str, file: &str, line: u32) -> Fact {
        Fact::new(
            FactKind::Env {
                name: name.into(),
                value: Some(value.into()),
                from_secret: false,
                from_ref: false,
            },
            file,
            line,
        )
    }

    fn workload(ns: Option<&str>, annotation: &str, own: &[(&str, &str)]) -> Workload {
        let mut w = Workload {
            name: "cart".into(),
            kind: "Deployment".into(),
            namespace: ns.map(str::to_string),
            ..Workload::default()
        };
        let (key, value) = annotation.split_once('=').unwrap();
        w.facts.push(Fact::new(
            FactKind::Annotation {
                key: key.into(),
                value: value.into(),
            },
            "k8s/cart.yaml",
            17,
        ));
        for (n, v) in own {
            w.facts.push(env(n, v, "k8s/cart.yaml", 25));
        }
        w
    }

    fn env_of(w: &Workload) -> Vec<String> {
        w.injected_propagators
            .iter()
            .map(|(_, f)| f)
            .chain(&w.facts)
            .filter_map(|f| match &f.kind {
                FactKind::Env { name, value, .. } => Some(format!(
                    "{name}={}@{}:{}",
                    value.as_deref().unwrap_or("-"),
                    f.file,
                    f.line
                )),
                _ => None,
            })
            .collect()
    }

    const JAVA: &str = "instrumentation.opentelemetry.io/inject-java";

    #[test]
    fn true_selects_the_only_resource_of_the_namespace_and_own_env_wins() {
        let all = [
            inst("default", Some("shop"), "b3"),
            inst("default", Some("legacy"), "jaeger"),
        ];
        let mut w = workload(Some("shop"), &format!("{JAVA}=true"), &[]);
        inject(&mut w, &all);
        assert_eq!(
            env_of(&w),
            vec![
                "OTEL_PROPAGATORS=b3@k8s/inst.yaml:9",
                "OTEL_SERVICE_NAME=cart@k8s/cart.yaml:17"
            ]
        );
        assert!(w.unresolved.is_empty());
        // The container's own variable is kept; the injected one is not added.
        let mut w = workload(
            Some("shop"),
            &format!("{JAVA}=true"),
            &[("OTEL_PROPAGATORS", "tracecontext")],
        );
        inject(&mut w, &all);
        assert_eq!(
            env_of(&w),
            vec![
                "OTEL_PROPAGATORS=tracecontext@k8s/cart.yaml:25",
                "OTEL_SERVICE_NAME=cart@k8s/cart.yaml:17"
            ]
        );
    }

    #[test]
    fn names_and_namespaced_names_select_and_false_selects_nothing() {
        let all = [
            inst("default", Some("shop"), "b3"),
            inst("agents", Some("shop"), "tracecontext"),
        ];
        let mut w = workload(Some("ml"), &format!("{JAVA}=shop/agents"), &[]);
        inject(&mut w, &all);
        assert!(env_of(&w)[0].starts_with("OTEL_PROPAGATORS=tracecontext"));
        let mut w = workload(Some("shop"), &format!("{JAVA}=default"), &[]);
        inject(&mut w, &all);
        assert!(env_of(&w)[0].starts_with("OTEL_PROPAGATORS=b3"));
        let mut w = workload(Some("shop"), &format!("{JAVA}=false"), &[]);
        inject(&mut w, &all);
        assert!(env_of(&w).is_empty());
        assert!(w.unresolved.is_empty());
        // Two in the namespace: "true" cannot choose.
        let mut w = workload(Some("shop"), &format!("{JAVA}=true"), &[]);
        inject(&mut w, &all);
        assert!(env_of(&w).is_empty());
        assert_eq!(w.unresolved.len(), 1);
    }

    #[test]
    fn a_resource_the_tree_does_not_hold_is_a_note_not_an_environment() {
        let all = [inst("default", Some("shop"), "b3")];
        let mut w = workload(Some("finance"), &format!("{JAVA}=true"), &[]);
        inject(&mut w, &all);
        assert!(env_of(&w).is_empty());
        let u = &w.unresolved[0];
        assert_eq!(
            (u.kind.as_str(), u.file.as_str(), u.line),
            ("java", "k8s/cart.yaml", 17)
        );
        assert!(u.reason.contains("namespace `finance`"), "{}", u.reason);
        // A pod whose namespace is not written: the only resource may be its own.
        let mut w = workload(None, &format!("{JAVA}=true"), &[]);
        inject(&mut w, &all);
        assert!(w.unresolved.is_empty());
        assert_eq!(env_of(&w).len(), 2);
    }

    #[test]
    fn injected_propagators_count_where_the_service_reads_them() {
        let all = [inst("default", Some("shop"), "tracecontext")];
        let mut services: Vec<Svc> = [Language::Go, Language::Java]
            .into_iter()
            .map(|language| {
                let mut w = workload(Some("shop"), &format!("{JAVA}=true"), &[]);
                inject(&mut w, &all);
                Svc {
                    language: Some(language),
                    workloads: vec![w],
                    ..Svc::default()
                }
            })
            .collect();
        settle(&mut services);
        let has = |s: &Svc| {
            s.workloads[0].facts.iter().any(
                |f| matches!(&f.kind, FactKind::Env { name, .. } if name == "OTEL_PROPAGATORS"),
            )
        };
        // The Java agent's variable, in a Go pod: the Go SDK does not read it.
        assert!(!has(&services[0]));
        assert!(has(&services[1]));
    }
}
