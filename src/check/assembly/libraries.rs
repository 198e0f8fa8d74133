//! Workspace libraries: a `package.json` or Go module another manifest of its kind depends on
//! through a local specifier. Its code and runtime dependencies count for every service of its
//! language that uses it, directly or through other libraries.

use std::collections::{HashMap, HashSet};

use super::work::Svc;
use crate::check::facts::{Fact, FactKind, SourceFacts};
use crate::check::inputs::lang::SourceKind;
use crate::check::model::Language;

/// A workspace library, not a service of its own: a `package.json` with `main` and no start
/// script, or a Go module without a `main` package, that another manifest of its kind in the
/// tree depends on.
pub(super) struct Library {
    /// JavaScript (TypeScript too) or Go.
    pub(super) language: Language,
    /// Full package name or module path (`@shop/telemetry`, `example.com/shop/telemetry`).
    pub(super) name: String,
    pub(super) dir: String,
    /// Its manifest's facts (runtime dependencies).
    pub(super) facts: Vec<Fact>,
    /// Its source files of its language.
    pub(super) sources: Vec<(SourceKind, String, SourceFacts)>,
    /// Its source files that could not be analysed (file, reason, line): each service using it
    /// gets the note, and cannot pass.
    pub(super) not_analysed: Vec<(String, String, Option<u32>)>,
}

/// Each JavaScript/TypeScript or Go service gets the code and runtime dependencies of the
/// workspace libraries of its language it depends on, directly or through other libraries: a
/// shared `@shop/telemetry` package or `…/libs/telemetry` module that sets up the SDK
/// instruments every service using it.
pub(super) fn use_libraries(services: &mut [Svc], libraries: &[Library]) {
    if libraries.is_empty() {
        return;
    }
    let by_name: HashMap<(Language, &str), usize> = libraries
        .iter()
        .enumerate()
        .map(|(i, l)| ((l.language, l.name.as_str()), i))
        .collect();
    let direct = |language: Language, facts: &[Fact]| -> Vec<usize> {
        facts
            .iter()
            .filter_map(|f| match &f.kind {
                FactKind::Dependency { name } => by_name.get(&(language, name.as_str())).copied(),
                _ => None,
            })
            .collect()
    };
    // Each library with the libraries it reaches, itself included (computed once).
    let reach: Vec<Vec<usize>> = (0..libraries.len())
        .map(|start| {
            let mut seen = HashSet::from([start]);
            let mut queue = vec![start];
            while let Some(i) = queue.pop() {
                for j in direct(libraries[i].language, &libraries[i].facts) {
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
        let Some(family) = svc.language.map(|l| match l {
            Language::Typescript => Language::Javascript,
            other => other,
        }) else {
            continue;
        };
        let mut used: Vec<usize> = direct(family, &svc.facts)
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
