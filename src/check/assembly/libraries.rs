//! Workspace libraries: a package of the tree another one uses (an npm package or Go module by
//! a local specifier, a Maven module by its coordinates, a .NET project by `ProjectReference`,
//! a Python package by path; see [`workspace`](super::workspace)). Its code and runtime
//! dependencies count for every service of its language that uses it, directly or through
//! other libraries.

use std::collections::{HashMap, HashSet};

use super::work::Svc;
use super::workspace::Workspace;
use crate::check::facts::{Fact, FactKind, SourceFacts};
use crate::check::inputs::lang::SourceKind;
use crate::check::model::Language;

/// A workspace library, not a service of its own (which packages are:
/// [`workspace`](super::workspace)).
pub(super) struct Library {
    /// Its language (JavaScript for TypeScript too).
    pub(super) language: Language,
    pub(super) dir: String,
    /// A package of a Go module split into its binaries ([`go_mains`](super::go_mains)): its
    /// import path, which the binaries and the module's other packages depend on by name.
    pub(super) import_path: Option<String>,
    /// Its manifest's facts (runtime dependencies).
    pub(super) facts: Vec<Fact>,
    /// Its source files of its language.
    pub(super) sources: Vec<(SourceKind, String, SourceFacts)>,
    /// Its source files that could not be analysed (file, reason, line): each service using it
    /// gets the note, and cannot pass.
    pub(super) not_analysed: Vec<(String, String, Option<u32>)>,
}

/// Each service gets the code and runtime dependencies of the workspace libraries of its
/// language it uses, directly or through other libraries: a shared `@shop/telemetry` package,
/// `…/libs/telemetry` Go module, `*-tracing` Maven module, .NET `ServiceDefaults` project or
/// Python `shop_telemetry` package that sets up the SDK instruments every service using it.
pub(super) fn use_libraries(services: &mut [Svc], libraries: &[Library], workspace: &Workspace) {
    if libraries.is_empty() {
        return;
    }
    let by_dir: HashMap<(Language, &str), usize> = libraries
        .iter()
        .enumerate()
        .map(|(i, l)| ((l.language, l.dir.as_str()), i))
        .collect();
    let by_import_path: HashMap<&str, usize> = libraries
        .iter()
        .enumerate()
        .filter_map(|(i, l)| Some((l.import_path.as_deref()?, i)))
        .collect();
    // The libraries a package uses: its workspace links, and (Go) the packages of a split
    // module it imports.
    let direct = |language: Language, dir: &str, facts: &[Fact]| -> Vec<usize> {
        let mut used: Vec<usize> = workspace
            .used_by(dir, language)
            .iter()
            .filter_map(|d| by_dir.get(&(language, d.as_str())).copied())
            .collect();
        if language == Language::Go && !by_import_path.is_empty() {
            used.extend(facts.iter().filter_map(|f| match &f.kind {
                FactKind::Dependency { name } => by_import_path.get(name.as_str()).copied(),
                _ => None,
            }));
        }
        used
    };
    // Each library with the libraries it reaches, itself included (computed once).
    let reach: Vec<Vec<usize>> = (0..libraries.len())
        .map(|start| {
            let mut seen = HashSet::from([start]);
            let mut queue = vec![start];
            while let Some(i) = queue.pop() {
                for j in direct(
                    libraries[i].language,
                    &libraries[i].dir,
                    &libraries[i].facts,
                ) {
                    if seen.insert(j) {
                        queue.push(j);
                    }
                }
            }
            let mut all: Vec<usize> = seen.into_iter().collect();
            all.sort_unstable();
            all
        })
        .collect();
    for svc in services.iter_mut() {
        // A service declared where no manifest is names no library.
        if svc.manifest.is_none() {
            continue;
        }
        let Some(family) = svc.language.map(|l| match l {
            Language::Typescript => Language::Javascript,
            other => other,
        }) else {
            continue;
        };
        let mut used: Vec<usize> = direct(family, &svc.path, &svc.facts)
            .into_iter()
            .flat_map(|i| reach[i].iter().copied())
            .filter(|i| libraries[*i].dir != svc.path)
            .collect();
        used.sort_unstable();
        used.dedup();
        for i in used {
            let library = &libraries[i];
            svc.facts.extend(library.facts.iter().cloned());
            for (kind, rel, facts) in &library.sources {
                if facts.unparsed {
                    svc.unparsed.push((*kind, rel.clone(), facts.names.clone()));
                } else {
                    svc.add_source(rel.clone(), facts.clone());
                }
            }
            for note in &library.not_analysed {
                svc.unanalysed.push(note.0.clone());
                svc.skipped.push(note.clone());
            }
        }
    }
}
