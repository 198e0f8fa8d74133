//! Services from application manifests — one per directory whose manifests hold an entry
//! point — and from `tracegate.yaml` declarations; the manifests of workspace libraries are
//! set aside as [`Library`]s.

use std::collections::BTreeMap;
use std::path::Path;

use super::entries::EntryIndex;
use super::go_mains::split_module;
use super::libraries::Library;
use super::work::Svc;
use super::{base_name, is_under, normalise, DeclaredService};
use crate::check::error::CheckError;
use crate::check::inputs::discover::{Parsed, WalkedFile};
use crate::check::inputs::lang::SourceKind;
use crate::check::inputs::manifests::{Entry, Manifest, ManifestKind};
use crate::check::model::Language;

/// One service per directory whose manifests hold an entry point ([`EntryIndex`]); the
/// manifests of workspace libraries become [`Library`]s instead. The manifests are taken out
/// of `files`.
pub(super) fn from_manifests(
    root: &Path,
    files: &mut [WalkedFile],
    entries: &EntryIndex,
) -> (Vec<Svc>, Vec<Library>) {
    let mut by_dir: BTreeMap<String, Vec<Manifest>> = BTreeMap::new();
    for f in files.iter_mut() {
        if let Parsed::Manifest(m) = &mut f.parsed {
            // A Gradle settings file's notes stay with the file: its directory is seldom a
            // service of its own (`attach` gives them to the service around it or the
            // repository).
            let settings = m.kind == ManifestKind::Gradle
                && m.file
                    .rsplit('/')
                    .next()
                    .is_some_and(|n| n.starts_with("settings.gradle"));
            let kept = if settings {
                std::mem::take(&mut m.notes)
            } else {
                Vec::new()
            };
            let m = std::mem::replace(
                m,
                Manifest {
                    kind: m.kind,
                    file: m.file.clone(),
                    name: None,
                    entry: Entry::No,
                    facts: Vec::new(),
                    typescript: false,
                    cargo: None,
                    version: None,
                    uses: Vec::new(),
                    notes: kept,
                },
            );
            by_dir.entry(f.dir.clone()).or_default().push(m);
        }
    }
    let mut services: Vec<Svc> = Vec::new();
    let mut libraries: Vec<Library> = Vec::new();
    for (dir, manifests) in by_dir {
        // A workspace library's manifests: its code and dependencies count for the services
        // using it; it is no service of its own.
        let (library_manifests, manifests): (Vec<Manifest>, Vec<Manifest>) = manifests
            .into_iter()
            .partition(|m| entries.workspace.is_library(&dir, m.kind.language()));
        // A Go module with several deployed binaries: a service per binary, its packages a
        // library each, followed by import path.
        let (split, manifests_left): (Vec<Manifest>, Vec<Manifest>) = manifests
            .into_iter()
            .partition(|m| m.kind == ManifestKind::GoMod && entries.go.split.contains_key(&dir));
        let manifests = manifests_left;
        for m in split {
            if let (Some(mains), Some(module)) = (entries.go.split.get(&dir), &m.name) {
                let (binaries, packages) =
                    split_module(&dir, module, &m.file, &m.facts, mains, files);
                services.extend(binaries);
                libraries.extend(packages);
            }
        }
        add_libraries(&dir, library_manifests, &mut libraries);
        // A Node package whose build tool declares applications below it (Nest, Nx): a
        // service per application, with the package's dependencies; its library projects
        // are libraries the applications importing them use.
        let (npm_split, manifests_left): (Vec<Manifest>, Vec<Manifest>) = manifests
            .into_iter()
            .partition(|m| m.kind == ManifestKind::Npm && entries.node.is_split(&dir));
        let mut manifests = manifests_left;
        for m in npm_split {
            services.extend(node_applications(&dir, &m, entries));
            for l in entries.node.libraries.get(&dir).into_iter().flatten() {
                libraries.push(Library {
                    language: Language::Javascript,
                    dir: l.root.clone(),
                    import_path: None,
                    facts: Vec::new(),
                    sources: Vec::new(),
                    not_analysed: Vec::new(),
                });
            }
        }
        manifests.sort_by_key(|m| m.kind);
        let is_service = |m: &Manifest| entries.is_service(m, &dir);
        let Some(primary) = manifests.iter().find(|m| is_service(m)).map(|m| m.kind) else {
            continue;
        };
        let language = primary.language();
        let mut svc = Svc {
            path: dir.clone(),
            ..Svc::default()
        };
        let mut typescript = false;
        for m in manifests {
            if m.kind.language() != language {
                continue;
            }
            if svc.manifest.is_none() || m.kind == primary {
                if svc.name.is_empty() {
                    if let Some(n) = &m.name {
                        svc.name = service_name(m.kind, n).to_owned();
                    }
                }
                if svc.manifest.is_none() {
                    svc.manifest = Some(m.file.clone());
                }
            }
            typescript |= m.typescript;
            svc.rust_custom_targets |= m.cargo.as_ref().is_some_and(|c| c.custom_target_paths);
            svc.facts.extend(m.facts);
            svc.skipped.extend(m.notes);
            if m.entry == Entry::Unread {
                svc.unanalysed.push(m.file);
            }
        }
        if language == Language::Javascript {
            typescript |= entries.typescript.contains(&dir);
        }
        svc.language = Some(if typescript {
            Language::Typescript
        } else {
            language
        });
        if svc.name.is_empty() {
            svc.name = base_name(&dir, root);
        }
        services.push(svc);
    }
    // A Go `main` package outside any module, built by the Dockerfile beside it.
    for dir in &entries.go.orphans {
        if !services.iter().any(|s| &s.path == dir) {
            services.push(Svc {
                name: base_name(dir, root),
                path: dir.clone(),
                language: Some(Language::Go),
                facts: super::go_mains::orphan_requirements(dir, files),
                ..Svc::default()
            });
        }
    }
    (services, libraries)
}

/// The services of the applications the build tool of the npm package `m` in `dir` declares:
/// each in its own directory, with the package's dependencies.
fn node_applications(dir: &str, m: &Manifest, entries: &EntryIndex) -> Vec<Svc> {
    entries
        .node
        .split
        .get(dir)
        .into_iter()
        .flatten()
        .map(|app| Svc {
            name: app.name.clone(),
            path: app.root.clone(),
            language: Some(if m.typescript || entries.typescript.contains(&app.root) {
                Language::Typescript
            } else {
                Language::Javascript
            }),
            manifest: Some(m.file.clone()),
            facts: m.facts.clone(),
            skipped: m.notes.clone(),
            ..Svc::default()
        })
        .collect()
}

/// One [`Library`] per language of `manifests` (a workspace library's, in directory `dir`).
fn add_libraries(dir: &str, mut manifests: Vec<Manifest>, libraries: &mut Vec<Library>) {
    manifests.sort_by_key(|m| m.kind);
    for m in manifests {
        let language = m.kind.language();
        match libraries
            .iter_mut()
            .find(|l| l.dir == dir && l.language == language)
        {
            Some(l) => l.facts.extend(m.facts),
            None => libraries.push(Library {
                language,
                dir: dir.to_owned(),
                import_path: None,
                facts: m.facts,
                sources: Vec::new(),
                not_analysed: Vec::new(),
            }),
        }
    }
}

/// The services `tracegate.yaml` declares: each renames the service found at its path, or
/// adds one there (a directory of files the engine does not read is still a service); a path
/// that does not exist is an error naming the configuration file and line.
pub(super) fn declare(
    root: &Path,
    services: &mut Vec<Svc>,
    files: &[WalkedFile],
    declared: &[DeclaredService],
    config_file: Option<&str>,
) -> Result<(), CheckError> {
    for d in declared {
        let path = normalise(&d.path);
        if let Some(s) = services.iter_mut().find(|s| s.path == path) {
            s.name.clone_from(&d.name);
            s.declared = true;
            if let Some(l) = d.language {
                s.language = Some(l);
            }
            continue;
        }
        // On the filesystem: a directory of files the engine does not read (C++ only, say) is
        // still a service, though the walk keeps none of its files.
        if !root.join(&path).exists() {
            return Err(CheckError::DeclaredService {
                config: config_file.unwrap_or("tracegate.yaml").to_owned(),
                line: d.line,
                name: d.name.clone(),
                path: d.path.clone(),
            });
        }
        let language = d.language.or_else(|| majority_language(&path, files));
        services.push(Svc {
            name: d.name.clone(),
            path,
            language,
            declared: true,
            ..Svc::default()
        });
    }
    Ok(())
}

/// The service name a manifest's full name gives: an npm scope, a Go module's host and path or
/// a Maven groupId are no part of it (`@acme/web` → `web`, `example.com/shop/checkout/v2` →
/// `checkout`, `shop:shop-visits-service` → `shop-visits-service`).
pub(super) fn service_name(kind: ManifestKind, name: &str) -> &str {
    match kind {
        ManifestKind::Npm => name.rsplit('/').next().unwrap_or(name),
        ManifestKind::Maven => name.rsplit(':').next().unwrap_or(name),
        ManifestKind::GoMod => name
            .rsplit('/')
            .find(|seg| {
                !(seg.len() > 1
                    && seg.starts_with('v')
                    && seg[1..].chars().all(|c| c.is_ascii_digit()))
            })
            .unwrap_or(name),
        _ => name,
    }
}

pub(super) fn majority_language(dir: &str, files: &[WalkedFile]) -> Option<Language> {
    let mut counts: BTreeMap<Language, usize> = BTreeMap::new();
    for f in files.iter().filter(|f| is_under(&f.rel, dir)) {
        if let Parsed::Source { kind, .. } = &f.parsed {
            let l = match kind {
                SourceKind::Rust => Language::Rust,
                SourceKind::Go => Language::Go,
                SourceKind::Python => Language::Python,
                SourceKind::Javascript => Language::Javascript,
                SourceKind::Typescript | SourceKind::Tsx => Language::Typescript,
                SourceKind::Java | SourceKind::Kotlin => Language::Java,
                SourceKind::Csharp => Language::Dotnet,
            };
            *counts.entry(l).or_default() += 1;
        }
    }
    counts.into_iter().max_by_key(|(_, n)| *n).map(|(l, _)| l)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_names_drop_scopes_hosts_and_versions() {
        assert_eq!(service_name(ManifestKind::Npm, "@acme/web"), "web");
        assert_eq!(service_name(ManifestKind::Npm, "web"), "web");
        assert_eq!(
            service_name(ManifestKind::GoMod, "example.com/shop/checkout/v2"),
            "checkout"
        );
        assert_eq!(service_name(ManifestKind::GoMod, "checkout"), "checkout");
        assert_eq!(
            service_name(ManifestKind::Maven, "shop:shop-visits-service"),
            "shop-visits-service"
        );
        assert_eq!(service_name(ManifestKind::Maven, "ledger"), "ledger");
        assert_eq!(service_name(ManifestKind::Cargo, "a/b"), "a/b");
    }
}
