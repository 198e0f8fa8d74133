//! Kubernetes workloads and compose services joined to services: Helm releases take their
//! chart's name; a workload whose image is built from a directory of the tree (compose
//! `build:`, skaffold artifacts) goes to the service there; one running a published image of
//! infrastructure is listed as such ([`infrastructure`](super::infrastructure)), and so is one
//! whose directory holds no service and a Dockerfile extending such an image; otherwise it
//! matches a service by name, alias, image or directory; an unmatched application workload
//! becomes a service of unknown language.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use super::images::BuiltImages;
use super::infrastructure::{built_kind, workload_kind, InfrastructureList};
use super::work::{Repo, Svc};
use super::{base_name, base_of};
use crate::check::facts::{Fact, FactKind};
use crate::check::inputs::k8s::{ImageBuild, Workload, COMPOSE};
use crate::check::model::Infrastructure;

/// Container images of infrastructure, by substring: what tells a workspace library from a
/// deployed package (`entries.rs`). The join itself classifies images with
/// [`infrastructure::kind_of`](super::infrastructure::kind_of).
pub(super) const INFRA_IMAGES: &[&str] = &[
    "ingress-nginx",
    "opentelemetry-collector",
    "otel/opentelemetry",
    "jaegertracing",
    "envoyproxy",
    "istio/",
    "prom/",
    "grafana/",
    "redis",
    "postgres",
    "mysql",
    "mongo",
    "rabbitmq",
    "bitnami/",
    "zookeeper",
    // tracegate itself (`verify --receive` Jobs, `collect`): a verifier, not a traced service
    "tracegate/tracegate",
];

/// The service below the build directory `dir` that one of the build arguments names by its
/// directory (a shared Dockerfile building `./cmd/${SERVICE}`: `SERVICE: payments-worker`).
fn by_build_argument(services: &[Svc], dir: &str, args: &[String]) -> Option<String> {
    if args.is_empty() {
        return None;
    }
    services
        .iter()
        .find(|s| {
            s.path != dir
                && super::is_under(&s.path, dir)
                && args.iter().any(|a| a == base_of(&s.path))
        })
        .map(|s| s.path.clone())
}

/// Join `workloads` to `services` (namespace annotations and ConfigMap values applied first);
/// `builds` are the images built from the tree (skaffold); `dirs` are the tree's directories,
/// for the directory of a service a workload adds. Returns the infrastructure.
#[allow(clippy::too_many_arguments)]
pub(super) fn join(
    root: &Path,
    services: &mut Vec<Svc>,
    workloads: Vec<Workload>,
    builds: &[ImageBuild],
    charts: &BTreeMap<String, String>,
    namespaces: &BTreeMap<String, Vec<Fact>>,
    repo: &Repo,
    dirs: &[String],
) -> Vec<Infrastructure> {
    let built = BuiltImages::new(builds, &workloads, dirs);
    let mut infrastructure = InfrastructureList::default();
    let mut names = FirstIndex::default();
    let mut bases = FirstIndex::default();
    let mut loose = LooseIndex::default();
    for (i, svc) in services.iter().enumerate() {
        names.add(&svc.name, i);
        loose.add(&svc.name, i);
        if svc.path != "." {
            bases.add(base_of(&svc.path), i);
            loose.add(base_of(&svc.path), i);
        }
    }
    for mut w in workloads {
        if w.kind == "HelmValues" {
            let dir = w.name.clone();
            w.name = charts
                .get(&dir)
                .cloned()
                .unwrap_or_else(|| base_name(&dir, root));
        }
        if let Some(ns) = &w.namespace {
            if let Some(ann) = namespaces.get(ns) {
                // The pod's own annotation wins over its namespace's (`inject-nodejs: "false"`
                // on a pod opts it out of a namespace-wide injection).
                let own: Vec<String> = w
                    .facts
                    .iter()
                    .filter_map(|f| match &f.kind {
                        FactKind::Annotation { key, .. } => Some(key.clone()),
                        _ => None,
                    })
                    .collect();
                w.facts.extend(
                    ann.iter()
                        .filter(|f| match &f.kind {
                            FactKind::Annotation { key, .. } => !own.contains(key),
                            _ => true,
                        })
                        .cloned(),
                );
            }
        }
        super::operator::inject(&mut w, &repo.instrumentations);
        resolve_config_maps(&mut w, repo);
        // Built from a directory of the tree: the code there, whatever its name (the root
        // holds everything: only a service there, else the joins below, as without a build).
        let build = w
            .build
            .clone()
            .or_else(|| built.dir_of(&w.images))
            .map(|dir| by_build_argument(services, &dir, &w.build_args).unwrap_or(dir));
        if let Some(dir) = build.filter(|d| d != "." || services.iter().any(|s| s.path == ".")) {
            let i = match built.service_at(services, &dir) {
                Some((i, exact)) => {
                    // Named by its deployment, not by the source subfolder of its manifest.
                    if !exact && !services[i].declared && services[i].workloads.is_empty() {
                        services[i].name.clone_from(&w.name);
                        names.add(&w.name, i);
                    }
                    i
                }
                None => {
                    // A Dockerfile kept apart from the code (`docker/web.Dockerfile`, the
                    // context at the root): the one service whose code it copies in.
                    let dockerfile = w
                        .dockerfile
                        .clone()
                        .or_else(|| built.dockerfile_of(&w.images));
                    if let Some((i, facts)) = dockerfile.as_ref().and_then(|(file, context)| {
                        super::copied_code::service_copied(root, services, file, context)
                    }) {
                        if !services[i].declared && services[i].workloads.is_empty() {
                            services[i].name.clone_from(&w.name);
                            names.add(&w.name, i);
                        }
                        services[i].facts.extend(facts);
                        services[i].workloads.push(w);
                        continue;
                    }
                    // No code there: a published database (collector…) image with the
                    // repository's seed data or configuration added.
                    let text = match &dockerfile {
                        Some((file, _)) => super::languages::dockerfile_text_at(root, file),
                        None => super::languages::dockerfile_text(root, &dir),
                    };
                    if let Some(kind) = text.as_deref().and_then(built_kind) {
                        infrastructure.add(&w, kind);
                        continue;
                    }
                    // Else the service its name finds, as without a build; only then a new
                    // one at the build directory.
                    if let Some((i, _)) = by_name(&w, &names, &bases, &loose) {
                        services[i].workloads.push(w);
                        continue;
                    }
                    services.push(Svc {
                        name: w.name.clone(),
                        path: dir.clone(),
                        ..Svc::default()
                    });
                    names.add(&w.name, services.len() - 1);
                    bases.add(base_of(&dir), services.len() - 1);
                    services.len() - 1
                }
            };
            services[i].workloads.push(w);
            continue;
        }
        if let Some(kind) = workload_kind(&w) {
            infrastructure.add(&w, kind);
            continue;
        }
        if let Some((i, loosely)) = by_name(&w, &names, &bases, &loose) {
            // Spelt loosely, the service is named by its deployment, as when joined by build
            // directory.
            if loosely && !services[i].declared && services[i].workloads.is_empty() {
                services[i].name.clone_from(&w.name);
                names.add(&w.name, i);
            }
            services[i].workloads.push(w);
            continue;
        }
        // An image published elsewhere serving only a database's (broker's…) own ports.
        if let Some(kind) = super::served_ports::served_kind(&w) {
            infrastructure.add(&w, kind);
            continue;
        }
        // A compose service of another published image (a feature-flag server, a load
        // generator's image) is neither a service of the tree nor known infrastructure.
        if w.kind == COMPOSE {
            continue;
        }
        // The service's directory: one named after the workload, else the chart's that
        // renders it, else the manifest's.
        let dir = dirs
            .iter()
            .filter(|d| d.rsplit('/').next() == Some(w.name.as_str()))
            .min_by_key(|d| d.len())
            .cloned()
            .or_else(|| {
                super::ancestors(&w.file)
                    .find(|d| charts.contains_key(*d))
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| {
                w.file
                    .rsplit_once('/')
                    .map_or(".".to_string(), |(d, _)| d.to_string())
            });
        if let Some(kind) = super::languages::dockerfile_text(root, &dir)
            .as_deref()
            .and_then(built_kind)
        {
            infrastructure.add(&w, kind);
            continue;
        }
        let svc = Svc {
            name: w.name.clone(),
            path: dir,
            language: None,
            workloads: vec![w],
            ..Svc::default()
        };
        names.add(&svc.name, services.len());
        if svc.path != "." {
            bases.add(base_of(&svc.path), services.len());
        }
        services.push(svc);
    }
    // A workload of no code named like infrastructure found elsewhere (a Deployment `mongodb`
    // running the image compose builds `FROM mongo` under that name) is that infrastructure.
    services.retain_mut(|svc| {
        let joins = svc.language.is_none()
            && svc.manifest.is_none()
            && !svc.declared
            && infrastructure.contains(&svc.name);
        if joins {
            for w in std::mem::take(&mut svc.workloads) {
                infrastructure.add_to(&svc.name, &w);
            }
        }
        !joins
    });
    super::base_images::inherit(root, services, &built);
    infrastructure.into_list()
}

/// The service a workload names: the first (in order) matching by name, alias, image or
/// directory; else the one whose name or directory is spelt the same but for case and
/// separators (Deployment `basket-api`, image `eshop/basket.api`, project `Basket.API`:
/// `true`).
fn by_name(
    w: &Workload,
    names: &FirstIndex,
    bases: &FirstIndex,
    loose: &LooseIndex,
) -> Option<(usize, bool)> {
    let image_names: Vec<&str> = w
        .images
        .iter()
        .chain(&w.init_images)
        .map(|i| {
            let last = i.rsplit('/').next().unwrap_or(i);
            last.split([':', '@']).next().unwrap_or(last)
        })
        .collect();
    let exact = names
        .first(&w.name)
        .into_iter()
        .chain(w.aliases.iter().filter_map(|a| names.first(a)))
        .chain(image_names.iter().filter_map(|i| names.first(i)))
        .chain(bases.first(&w.name))
        .min();
    if let Some(i) = exact {
        return Some((i, false));
    }
    std::iter::once(w.name.as_str())
        .chain(w.aliases.iter().map(String::as_str))
        .chain(image_names.iter().copied())
        .filter_map(|key| loose.only(key))
        .min()
        .map(|i| (i, true))
}

/// The first service (by position) with a given name or directory base name.
#[derive(Default)]
struct FirstIndex(HashMap<String, usize>);

impl FirstIndex {
    fn add(&mut self, key: &str, index: usize) {
        if !self.0.contains_key(key) {
            self.0.insert(key.to_string(), index);
        }
    }

    fn first(&self, key: &str) -> Option<usize> {
        self.0.get(key).copied()
    }
}

/// Services by their name or directory spelt loosely ([`loose_key`]): a key two services share
/// answers for neither.
#[derive(Default)]
struct LooseIndex(HashMap<String, Option<usize>>);

impl LooseIndex {
    fn add(&mut self, name: &str, index: usize) {
        let key = loose_key(name);
        if key.is_empty() {
            return;
        }
        self.0
            .entry(key)
            .and_modify(|e| {
                if *e != Some(index) {
                    *e = None;
                }
            })
            .or_insert(Some(index));
    }

    fn only(&self, name: &str) -> Option<usize> {
        self.0.get(&loose_key(name)).copied().flatten()
    }
}

/// A name without case or separators: `Basket.API`, `basket-api` and `basket_api` are one.
fn loose_key(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Give `configMapKeyRef` variables their value and add the variables `envFrom` ConfigMaps
/// provide, located at the ConfigMap's key (ConfigMaps found in the tree only).
fn resolve_config_maps(w: &mut Workload, repo: &Repo) {
    for (index, name, key) in std::mem::take(&mut w.config_refs) {
        let value = repo.configmaps.get(&name).and_then(|c| c.data.get(&key));
        if let (Some(v), Some(fact)) = (value, w.facts.get_mut(index)) {
            if let FactKind::Env { value, .. } = &mut fact.kind {
                *value = Some(v.clone());
            }
        }
    }
    for source in w.env_from.iter().filter(|e| !e.secret) {
        let Some(c) = repo.configmaps.get(&source.name) else {
            continue;
        };
        for (key, value) in &c.data {
            w.facts.push(Fact::new(
                FactKind::Env {
                    name: key.clone(),
                    value: Some(value.clone()),
                    from_secret: false,
                    from_ref: true,
                },
                &c.file,
                c.lines.get(key).copied().unwrap_or(0),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loose_keys_drop_case_and_separators() {
        assert_eq!(loose_key("Basket.API"), "basketapi");
        assert_eq!(loose_key("basket-api"), "basketapi");
        assert_eq!(loose_key("basket_api"), "basketapi");
        assert_eq!(loose_key("---"), "");
    }

    #[test]
    fn a_loose_key_two_services_share_answers_for_neither() {
        let mut index = LooseIndex::default();
        index.add("Catalog.API", 0);
        index.add("catalog-api", 0); // the same service by name and directory
        index.add("Ordering.API", 1);
        index.add("ordering_api", 2); // another service spelt the same
        index.add("---", 3); // no key at all
        assert_eq!(index.only("catalog-api"), Some(0));
        assert_eq!(index.only("ordering-api"), None);
        assert_eq!(index.only("-"), None);
        assert_eq!(index.only("basket-api"), None);
    }
}
