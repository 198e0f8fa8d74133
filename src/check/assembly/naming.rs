//! A service is named by its deployment: the workload that runs it (a Kubernetes workload
//! first, then a Helm release, then a compose service), not the manifest of its source
//! (`go.mod`'s module, `package.json`'s name; a Serverless Framework `service:` ranks with
//! compose). A service declared in `tracegate.yaml` keeps its
//! declared name; one whose name is already a name or alias (`app` label, container name) of
//! one of its workloads keeps it; a name another service already has is never taken.

use std::collections::HashSet;

use super::work::Svc;
use crate::check::inputs::k8s::{Workload, COMPOSE, SERVERLESS};

/// Rename the services deployed under another name after their deployment.
pub(super) fn name_by_deployment(services: &mut [Svc]) {
    let mut taken: HashSet<String> = services.iter().map(|s| s.name.clone()).collect();
    for svc in services.iter_mut() {
        if svc.declared
            || svc
                .workloads
                .iter()
                .any(|w| w.name == svc.name || w.aliases.contains(&svc.name))
        {
            continue;
        }
        // The first workload of the most deployment-like kind.
        let Some(w) = svc.workloads.iter().min_by_key(|w| rank(w)) else {
            continue;
        };
        if w.name.is_empty() || taken.contains(&w.name) {
            continue;
        }
        taken.insert(w.name.clone());
        svc.name.clone_from(&w.name);
    }
}

fn rank(w: &Workload) -> u8 {
    match w.kind.as_str() {
        COMPOSE | SERVERLESS => 2,
        "HelmValues" => 1,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workload(kind: &str, name: &str, aliases: &[&str]) -> Workload {
        Workload {
            kind: kind.into(),
            name: name.into(),
            aliases: aliases.iter().map(|a| a.to_string()).collect(),
            ..Workload::default()
        }
    }

    fn svc(name: &str, workloads: Vec<Workload>) -> Svc {
        Svc {
            name: name.into(),
            path: format!("src/{name}"),
            workloads,
            ..Svc::default()
        }
    }

    fn names(services: &[Svc]) -> Vec<&str> {
        services.iter().map(|s| s.name.as_str()).collect()
    }

    #[test]
    fn a_service_takes_its_deployments_name_kubernetes_first() {
        let mut services = vec![
            svc(
                "cartservice",
                vec![
                    workload(COMPOSE, "cart-svc", &[]),
                    workload("Deployment", "cart", &[]),
                ],
            ),
            svc("shop-frontend", vec![workload(COMPOSE, "frontend", &[])]),
        ];
        name_by_deployment(&mut services);
        assert_eq!(names(&services), ["cart", "frontend"]);
    }

    #[test]
    fn declared_aliased_undeployed_and_taken_names_stay() {
        let mut declared = svc("payments", vec![workload("Deployment", "pay", &[])]);
        declared.declared = true;
        let mut services = vec![
            declared,
            // The `app` label (or a container) already names it.
            svc("cart", vec![workload("Deployment", "shop-cart", &["cart"])]),
            // Not deployed: nothing to be named after.
            svc("tools", vec![]),
            // `checkout` is another service's name.
            svc(
                "checkoutservice",
                vec![workload("Deployment", "checkout", &[])],
            ),
            svc("checkout", vec![]),
        ];
        name_by_deployment(&mut services);
        assert_eq!(
            names(&services),
            ["payments", "cart", "tools", "checkoutservice", "checkout"]
        );
    }
}
