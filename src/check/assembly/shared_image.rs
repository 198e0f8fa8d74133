//! One image run by several workloads that differ in what they run (`orders-api` runs
//! gunicorn, `orders-worker` the queue consumer: Django/Celery, Rails/Sidekiq): several
//! services that share the code, each named after its workload and judged on its own
//! workload. Copies of one workload (the same name in raw manifests and a kustomize base) and
//! workloads that run the same thing (`frontend`, `frontend-canary`) stay one service.

use std::ops::Range;

use super::work::Svc;
use crate::check::facts::FactKind;
use crate::check::inputs::k8s::{Workload, COMPOSE};

/// Kinds of long-running Kubernetes workloads: a Job or CronJob of the same image (a
/// migration, a nightly report) is a task of the service, not a service of its own.
pub(super) const SERVING: &[&str] = &[
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "Rollout",
];

/// Split every service (not declared in `tracegate.yaml`) whose code several distinct
/// workloads run; the positions of each service's parts in `services` after the split.
pub(super) fn split(services: &mut Vec<Svc>) -> Vec<Range<usize>> {
    let mut out = Vec::with_capacity(services.len());
    let mut groups = Vec::new();
    for mut svc in services.drain(..) {
        let names = if svc.declared {
            Vec::new()
        } else {
            distinct(&svc.workloads)
        };
        if names.len() < 2 {
            out.push(svc);
            continue;
        }
        let workloads = std::mem::take(&mut svc.workloads);
        let mut parts: Vec<Svc> = names
            .iter()
            .map(|name| Svc {
                name: name.clone(),
                ..svc.clone()
            })
            .collect();
        for w in workloads {
            // Its own part, else (a Job, a compose service beside Kubernetes ones) the first.
            let i = names.iter().position(|n| *n == w.name).unwrap_or(0);
            parts[i].workloads.push(w);
        }
        groups.push(out.len()..out.len() + parts.len());
        out.extend(parts);
    }
    *services = out;
    groups
}

/// The names of the distinct workloads running the code, in order: the long-running
/// Kubernetes workloads' (else the compose services'), when at least two of them differ in
/// their commands or environment; empty otherwise.
fn distinct(workloads: &[Workload]) -> Vec<String> {
    let serving: Vec<&Workload> = {
        let k8s: Vec<&Workload> = workloads
            .iter()
            .filter(|w| SERVING.contains(&w.kind.as_str()))
            .collect();
        if k8s.is_empty() {
            workloads.iter().filter(|w| w.kind == COMPOSE).collect()
        } else {
            k8s
        }
    };
    let mut names: Vec<String> = Vec::new();
    let mut runs: Vec<Vec<String>> = Vec::new();
    for w in serving {
        if names.contains(&w.name) {
            continue;
        }
        names.push(w.name.clone());
        runs.push(what_it_runs(w));
    }
    if runs.iter().all(|r| *r == runs[0]) && names.len() > 1 && !runs[0].is_empty() {
        return Vec::new();
    }
    names
}

/// A workload's commands and environment, sorted: what tells two workloads of one image
/// apart. A compose service's settings are not read: its name tells it apart.
fn what_it_runs(w: &Workload) -> Vec<String> {
    if w.kind == COMPOSE {
        return vec![format!("compose {}", w.name)];
    }
    let mut out: Vec<String> = w
        .facts
        .iter()
        .filter_map(|f| match &f.kind {
            FactKind::Command { text, .. } => Some(format!("command {text}")),
            FactKind::Env { name, value, .. } => {
                Some(format!("env {name}={}", value.as_deref().unwrap_or("")))
            }
            _ => None,
        })
        .collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::facts::Fact;

    fn w(kind: &str, name: &str, command: Option<&str>, service_name: &str) -> Workload {
        let mut facts = vec![Fact::new(
            FactKind::Env {
                name: "OTEL_SERVICE_NAME".into(),
                value: Some(service_name.into()),
                from_secret: false,
                from_ref: false,
            },
            "k8s/a.yaml",
            9,
        )];
        if let Some(text) = command {
            facts.push(Fact::new(FactKind::command(text), "k8s/a.yaml", 8));
        }
        Workload {
            kind: kind.into(),
            name: name.into(),
            file: "k8s/a.yaml".into(),
            facts,
            ..Workload::default()
        }
    }

    fn service(workloads: Vec<Workload>) -> Vec<Svc> {
        vec![Svc {
            name: "orders".into(),
            path: "src/orders".into(),
            workloads,
            ..Svc::default()
        }]
    }

    fn names(services: &[Svc]) -> Vec<(String, Vec<String>)> {
        services
            .iter()
            .map(|s| {
                (
                    s.name.clone(),
                    s.workloads
                        .iter()
                        .map(|w| format!("{} {}", w.kind, w.name))
                        .collect(),
                )
            })
            .collect()
    }

    #[test]
    fn workloads_running_different_things_are_services_sharing_the_code() {
        let mut services = service(vec![
            w("Deployment", "orders-api", None, "orders-api"),
            w(
                "Deployment",
                "orders-worker",
                Some("celery -A orders.tasks worker"),
                "orders-worker",
            ),
            w(
                "CronJob",
                "orders-report",
                Some("python -m orders.report"),
                "orders",
            ),
            w("Deployment", "orders-api", None, "orders-api"),
        ]);
        split(&mut services);
        assert_eq!(
            names(&services),
            [
                (
                    "orders-api".to_string(),
                    vec![
                        "Deployment orders-api".to_string(),
                        "CronJob orders-report".to_string(),
                        "Deployment orders-api".to_string()
                    ]
                ),
                (
                    "orders-worker".to_string(),
                    vec!["Deployment orders-worker".to_string()]
                ),
            ]
        );
        assert!(services.iter().all(|s| s.path == "src/orders"));
    }

    #[test]
    fn copies_identical_workloads_jobs_and_declared_services_stay_one() {
        // The negative twin: the same workload twice (raw manifests and a kustomize base).
        let mut one = service(vec![
            w("Deployment", "frontend", None, "frontend"),
            w("Deployment", "frontend", None, "frontend"),
        ]);
        split(&mut one);
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].workloads.len(), 2);
        // A canary running exactly what the main workload runs.
        let mut canary = service(vec![
            w("Deployment", "frontend", Some("node server.js"), "frontend"),
            w(
                "Deployment",
                "frontend-canary",
                Some("node server.js"),
                "frontend",
            ),
        ]);
        split(&mut canary);
        assert_eq!(canary.len(), 1);
        // A migration Job beside the one Deployment.
        let mut job = service(vec![
            w("Deployment", "orders", None, "orders"),
            w(
                "Job",
                "orders-migrate",
                Some("alembic upgrade head"),
                "orders",
            ),
        ]);
        split(&mut job);
        assert_eq!(job.len(), 1);
        // Declared in tracegate.yaml: its name is the user's.
        let mut declared = service(vec![
            w("Deployment", "orders-api", None, "orders-api"),
            w(
                "Deployment",
                "orders-worker",
                Some("celery worker"),
                "orders-worker",
            ),
        ]);
        declared[0].declared = true;
        split(&mut declared);
        assert_eq!(declared.len(), 1);
    }

    #[test]
    fn compose_services_of_one_build_split_unless_kubernetes_says_otherwise() {
        let mut compose = service(vec![
            w(COMPOSE, "orders", None, ""),
            w(COMPOSE, "orders-worker", None, ""),
        ]);
        split(&mut compose);
        assert_eq!(compose.len(), 2);
        // Kubernetes runs it once: the compose services go with it.
        let mut both = service(vec![
            w("Deployment", "orders", None, "orders"),
            w(COMPOSE, "orders", None, ""),
            w(COMPOSE, "orders-worker", None, ""),
        ]);
        split(&mut both);
        assert_eq!(both.len(), 1);
        assert_eq!(both[0].workloads.len(), 3);
    }
}
