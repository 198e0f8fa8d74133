//! What an OpenTelemetry Operator injection whose `Instrumentation` is not in the tree leaves
//! unseen. The Operator injects only where the resource exists; the annotation is taken as
//! injecting (TG101 counts it), so `OTEL_SERVICE_NAME` is set (TG203 passes), but what the
//! resource decides is not known: the export endpoint, when the workload does not set one
//! itself (TG201), and the propagators, when the workload does not set `OTEL_PROPAGATORS`
//! itself and the injected agent reads them for the service's language (TG102). Either
//! makes the verdict `unknown`, with a TG199 note naming the annotation; otherwise the
//! unseen resource could change nothing, and the service is judged as usual.

use crate::check::assembly::operator::reads_propagators;
use crate::check::inputs::k8s::{Unresolved, Workload};
use crate::check::model::Language;

/// The variables by which a workload sets its own endpoint (TG201's).
const ENDPOINT: &[&str] = &[
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
];

/// The unresolved injections of `w` whose resource could change a judgement of a service of
/// `language`.
pub(crate) fn unseen(w: &Workload, language: Language) -> impl Iterator<Item = &Unresolved> {
    let sets = |names: &[&str]| super::evaluate::workload_env(w).any(|(n, _)| names.contains(&n));
    // A Secret in envFrom may carry the endpoint (as TG201 judges it).
    let endpoint = w.env_from.iter().any(|e| e.secret) || sets(ENDPOINT);
    let propagators = sets(&["OTEL_PROPAGATORS"]);
    w.unresolved
        .iter()
        .filter(move |u| !endpoint || (!propagators && reads_propagators(&u.kind, language)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::facts::{Fact, FactKind};

    fn workload(own: &[&str], kind: &str) -> Workload {
        let mut w = Workload::default();
        for name in own {
            w.facts.push(Fact::new(
                FactKind::Env {
                    name: (*name).into(),
                    value: Some("x".into()),
                    from_secret: false,
                    from_ref: false,
                },
                "k.yaml",
                3,
            ));
        }
        w.unresolved.push(Unresolved {
            kind: kind.into(),
            file: "ns.yaml".into(),
            line: 6,
            reason: "not in the tree".into(),
        });
        w
    }

    #[test]
    fn unseen_only_where_the_resource_could_decide() {
        // No endpoint of its own: the resource's decides.
        assert_eq!(unseen(&workload(&[], "java"), Language::Rust).count(), 1);
        // Its own endpoint; the Java agent reads the propagators of a Java service only.
        let w = workload(&["OTEL_EXPORTER_OTLP_ENDPOINT"], "java");
        assert_eq!(unseen(&w, Language::Java).count(), 1);
        assert_eq!(unseen(&w, Language::Go).count(), 0);
        // Both its own: nothing the resource sets is used.
        let w = workload(&["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_PROPAGATORS"], "java");
        assert_eq!(unseen(&w, Language::Java).count(), 0);
        let w = workload(&["OTEL_EXPORTER_OTLP_ENDPOINT"], "sdk");
        assert_eq!(unseen(&w, Language::Python).count(), 1);
        assert_eq!(unseen(&w, Language::Dotnet).count(), 0);
    }
}
