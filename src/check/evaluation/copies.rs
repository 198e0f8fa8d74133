//! One workload defined in several places (raw manifests, a kustomize base, a release
//! bundle): the same kind, name and namespace. A workload rule reports it once, at its first
//! place, listing the other places where the rule applies too.

use crate::check::inputs::k8s::Workload;

/// The judged workloads `fires` holds for, one per workload (its first place, in order), each
/// with ` (also in FILE:LINE, …)` naming the other places it holds for (empty when none).
pub(super) fn lacking(
    workloads: &[Workload],
    fires: impl Fn(&Workload) -> bool,
) -> Vec<(&Workload, String)> {
    let mut groups: Vec<(&Workload, Vec<&Workload>)> = Vec::new();
    for w in workloads.iter().filter(|w| w.judged() && fires(w)) {
        match groups.iter_mut().find(|(first, _)| same(first, w)) {
            Some((_, others)) => others.push(w),
            None => groups.push((w, Vec::new())),
        }
    }
    groups
        .into_iter()
        .map(|(first, others)| {
            let built = first
                .built_by
                .as_ref()
                .map(|k| format!(" (as built by {k})"))
                .unwrap_or_default();
            let also = if others.is_empty() {
                String::new()
            } else {
                let places: Vec<String> = others.iter().map(|w| place(w)).collect();
                format!(" (also in {})", places.join(", "))
            };
            (first, format!("{built}{also}"))
        })
        .collect()
}

/// Where a copy is: its file and line, and what built it (a kustomization, Helm values).
fn place(w: &Workload) -> String {
    match &w.built_by {
        Some(k) => format!("{}:{} as built by {k}", w.file, w.line),
        None => format!("{}:{}", w.file, w.line),
    }
}

/// The same workload: kind, name and namespace.
fn same(a: &Workload, b: &Workload) -> bool {
    a.kind == b.kind && a.name == b.name && a.namespace == b.namespace
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(kind: &str, name: &str, file: &str, set: bool) -> Workload {
        Workload {
            kind: kind.into(),
            name: name.into(),
            file: file.into(),
            line: 4,
            aliases: if set { vec!["set".into()] } else { vec![] },
            ..Workload::default()
        }
    }

    #[test]
    fn copies_of_one_workload_give_one_entry_naming_every_place() {
        let ws = [
            w(
                "Deployment",
                "frontend",
                "kubernetes-manifests/frontend.yaml",
                false,
            ),
            w(
                "Deployment",
                "frontend",
                "kustomize/base/frontend.yaml",
                false,
            ),
            w("Deployment", "frontend", "release/bundle.yaml", true),
            w("compose", "frontend", "docker-compose.yml", false),
        ];
        let fires = |w: &Workload| w.aliases.is_empty();
        let got: Vec<(&str, String)> = lacking(&ws, fires)
            .into_iter()
            .map(|(w, also)| (w.file.as_str(), also))
            .collect();
        assert_eq!(
            got,
            [(
                "kubernetes-manifests/frontend.yaml",
                " (also in kustomize/base/frontend.yaml:4)".to_string()
            )]
        );
    }

    #[test]
    fn different_workloads_of_one_service_each_give_their_own() {
        let mut other_ns = w("Deployment", "frontend", "prod/frontend.yaml", false);
        other_ns.namespace = Some("prod".into());
        let ws = [
            w("Deployment", "frontend", "k8s/frontend.yaml", false),
            w("StatefulSet", "frontend", "k8s/frontend-sts.yaml", false),
            w("Deployment", "frontend-canary", "k8s/canary.yaml", false),
            other_ns,
        ];
        let got = lacking(&ws, |_| true);
        assert_eq!(got.len(), 4);
        assert!(got.iter().all(|(_, also)| also.is_empty()));
    }

    #[test]
    fn overlay_builds_name_the_kustomization_that_built_them() {
        let mut staging = w(
            "Deployment",
            "frontend",
            "kustomize/base/frontend.yaml",
            false,
        );
        staging.built_by = Some("kustomize kustomize/overlays/staging/kustomization.yaml".into());
        let mut production = staging.clone();
        production.built_by =
            Some("kustomize kustomize/overlays/production/kustomization.yaml".into());
        let both = [staging.clone(), production.clone()];
        let got = lacking(&both, |_| true);
        assert_eq!(
            got.iter().map(|(_, also)| also.as_str()).collect::<Vec<_>>(),
            [" (as built by kustomize kustomize/overlays/staging/kustomization.yaml) (also in kustomize/base/frontend.yaml:4 as built by kustomize kustomize/overlays/production/kustomization.yaml)"],
            "two builds of one base lacking the same: one entry naming both overlays"
        );
        // Negative twin: only production lacks it; the entry names production, not staging.
        production.aliases.clear();
        staging.aliases = vec!["set".into()];
        let both = [staging, production];
        let got = lacking(&both, |w| w.aliases.is_empty());
        assert_eq!(
            got.iter()
                .map(|(_, also)| also.as_str())
                .collect::<Vec<_>>(),
            [" (as built by kustomize kustomize/overlays/production/kustomization.yaml)"]
        );
    }
}
