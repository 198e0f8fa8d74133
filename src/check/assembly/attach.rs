//! Every walked file goes to the deepest service containing it (a source file: of its
//! language), or to the workspace library deeper than that service; Kubernetes files give the
//! workloads, ConfigMaps, Ingresses and namespaces the next step joins.

use std::collections::BTreeMap;

use super::ancestors;
use super::libraries::Library;
use super::work::{Repo, Svc};
use crate::check::facts::{Fact, FastMap, SourceFacts};
use crate::check::inputs::discover::{Parsed, WalkedFile};
use crate::check::inputs::k8s::{ImageBuild, Workload};
use crate::check::inputs::lang::SourceKind;
use crate::check::inputs::manifests::ManifestKind;

/// What the Kubernetes files held, for the workloads step.
pub(super) struct Attached {
    /// ConfigMaps, Ingresses, mesh tracing, notes outside any service.
    pub repo: Repo,
    /// Workloads, not yet joined to services.
    pub workloads: Vec<Workload>,
    /// Images built from directories of the tree (skaffold, Tilt, build scripts).
    pub builds: Vec<ImageBuild>,
    /// Helm chart names by chart directory.
    pub charts: BTreeMap<String, String>,
    /// Namespace annotations by namespace.
    pub namespaces: BTreeMap<String, Vec<Fact>>,
    /// Python files of no service and no library: shared packages without a manifest,
    /// which services may import ([`shared_python`](super::shared_python)).
    pub python_orphans: Vec<(String, SourceFacts)>,
}

/// Attach `files` to `services` and `libraries`.
pub(super) fn attach(
    files: Vec<WalkedFile>,
    services: &mut [Svc],
    libraries: &mut [Library],
) -> Attached {
    let mut repo = Repo::default();
    let mut workloads: Vec<Workload> = Vec::new();
    let mut builds: Vec<ImageBuild> = Vec::new();
    let mut charts: BTreeMap<String, String> = BTreeMap::new();
    let mut namespaces: BTreeMap<String, Vec<Fact>> = BTreeMap::new();
    let mut python_orphans: Vec<(String, SourceFacts)> = Vec::new();
    let mut by_path: FastMap<String, Vec<usize>> = FastMap::default();
    for (i, svc) in services.iter().enumerate() {
        by_path.entry(svc.path.clone()).or_default().push(i);
    }
    let library_dirs: FastMap<String, usize> = libraries
        .iter()
        .enumerate()
        .map(|(i, l)| (l.dir.clone(), i))
        .collect();
    // The deepest service containing the file (of the file's language, for sources).
    let owner = |rel: &str, services: &[Svc], kind: Option<SourceKind>| -> Option<usize> {
        ancestors(rel).find_map(|dir| {
            by_path.get(dir)?.iter().copied().find(|i| {
                kind.is_none_or(|k| services[*i].language.is_some_and(|l| k.belongs_to(l)))
            })
        })
    };
    // Each file's directory string, freed on another thread once every file is attached.
    let mut dirs: Vec<String> = Vec::with_capacity(files.len());
    for mut f in files {
        dirs.push(std::mem::take(&mut f.dir));
        let dir = dirs.last().map_or("", String::as_str);
        match f.parsed {
            Parsed::Source { kind, facts } => {
                let service = owner(&f.rel, services, Some(kind));
                // A file of a workspace library deeper than its owning service (or with none).
                let deepest_library = || {
                    ancestors(&f.rel).find_map(|dir| {
                        let l = *library_dirs.get(dir)?;
                        kind.belongs_to(libraries[l].language).then_some(l)
                    })
                };
                let library = (!library_dirs.is_empty())
                    .then(deepest_library)
                    .flatten()
                    .filter(|l| {
                        service.is_none_or(|i| libraries[*l].dir.len() > services[i].path.len())
                    });
                if kind == SourceKind::Python && library.is_none() {
                    match service {
                        Some(i) => services[i]
                            .python_imports
                            .extend(facts.imports().iter().cloned()),
                        None => {
                            python_orphans.push((f.rel, facts));
                            continue;
                        }
                    }
                }
                if let Some(l) = library {
                    libraries[l].sources.push((kind, f.rel, facts));
                } else if let Some(i) = service {
                    if facts.unparsed {
                        services[i].unparsed.push((kind, f.rel, facts.names));
                    } else {
                        services[i].add_source(f.rel, facts);
                    }
                }
            }
            Parsed::Launch(facts) => {
                if let Some(i) = owner(&f.rel, services, None) {
                    services[i].facts.extend(facts);
                }
            }
            Parsed::Script(facts, built) => {
                builds.extend(built);
                if let Some(i) = owner(&f.rel, services, None) {
                    services[i].scripts.push((f.rel, facts));
                }
            }
            Parsed::K8s(k) => {
                let k = *k;
                for (line, reason) in k.invalid {
                    let note = (f.rel.clone(), reason, Some(line));
                    match owner(&f.rel, services, None) {
                        Some(i) => services[i].skipped.push(note),
                        None => repo.skipped.push(note),
                    }
                }
                if let Some(name) = k.chart_name {
                    charts.insert(dir.to_owned(), name);
                }
                for mut w in k.workloads {
                    if w.name.is_empty() {
                        w.name = dir.to_owned();
                    }
                    workloads.push(w);
                }
                for c in k.configmaps {
                    repo.configmaps.insert(c.name.clone(), c);
                }
                builds.extend(k.builds);
                repo.ingresses.extend(k.ingresses);
                repo.mesh_tracing.extend(k.mesh_tracing);
                repo.offered_env.extend(k.offered_env);
                // A declarative SDK configuration file and an application settings file count
                // for the service around them.
                if !k.otel_config.is_empty() || !k.app_settings.is_empty() {
                    if let Some(i) = owner(&f.rel, services, None) {
                        services[i].facts.extend(k.otel_config);
                        services[i].facts.extend(k.app_settings);
                    }
                }
                repo.instrumentations.extend(k.instrumentations);
                for (ns, ann) in k.namespaces {
                    namespaces.entry(ns).or_default().extend(ann);
                }
            }
            Parsed::NotAnalysed { kind, reason, line } => {
                let note = (f.rel.clone(), reason, line);
                let library = ancestors(&f.rel)
                    .find_map(|dir| {
                        let l = *library_dirs.get(dir)?;
                        kind.belongs_to(libraries[l].language).then_some(l)
                    })
                    .filter(|l| {
                        owner(&f.rel, services, Some(kind))
                            .is_none_or(|i| libraries[*l].dir.len() > services[i].path.len())
                    });
                if let Some(l) = library {
                    libraries[l].not_analysed.push(note);
                } else if let Some(i) = owner(&f.rel, services, Some(kind)) {
                    services[i].skipped.push(note);
                    services[i].unanalysed.push(f.rel);
                } else {
                    // A file of a language no service around it uses carries nothing for them.
                    match owner(&f.rel, services, None) {
                        Some(i) => services[i].skipped.push(note),
                        None => repo.skipped.push(note),
                    }
                }
            }
            Parsed::Skipped { reason, line } => match owner(&f.rel, services, None) {
                Some(i) => services[i].skipped.push((f.rel, reason, line)),
                None => repo.skipped.push((f.rel, reason, line)),
            },
            // What a Gradle settings file's loops leave unread (left in the file by
            // `services::from_manifests`): a note of the service around it, else of the
            // repository.
            Parsed::Manifest(m) if m.kind == ManifestKind::Gradle && !m.notes.is_empty() => {
                for note in m.notes {
                    match owner(&f.rel, services, None) {
                        Some(i) => services[i].skipped.push(note),
                        None => repo.skipped.push(note),
                    }
                }
            }
            Parsed::Manifest(_) | Parsed::TsConfig | Parsed::NodeProjects(_) => {}
        }
    }
    super::work::drop_in_background(dirs);
    Attached {
        repo,
        workloads,
        builds,
        charts,
        namespaces,
        python_orphans,
    }
}
