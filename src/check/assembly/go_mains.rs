//! Go `main` packages that are services of their own, beside what `go.mod` files declare: a
//! module with several deployed binaries (`cmd/api`, `cmd/worker`, each with its Dockerfile or
//! a workload named after it) is one service per binary, and a `main` package outside any
//! module that a Dockerfile or Procfile beside it builds (`RUN go mod init … && go build`) is a
//! service in its own directory.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::{ancestors, base_of, is_under};
use crate::check::facts::{Fact, FactKind};
use crate::check::inputs::discover::{Parsed, WalkedFile};
use crate::check::inputs::lang::SourceKind;
use crate::check::inputs::manifests::ManifestKind;

/// Where the Go binaries are services of their own.
#[derive(Default)]
pub(super) struct GoMains {
    /// Module directory → its deployed `main` package directories, when there are two or more:
    /// the module is then no service itself, its packages a library each binary uses.
    pub(super) split: HashMap<String, Vec<String>>,
    /// `main` package directories outside any module, with a launch file beside them.
    pub(super) orphans: Vec<String>,
}

impl GoMains {
    /// Find them among the walked `files`; `launch` holds the directories with a Dockerfile or
    /// Procfile, `workloads` the names of the application workloads.
    pub(super) fn find<S: std::hash::BuildHasher>(
        files: &[WalkedFile],
        launch: &HashMap<String, Vec<String>, S>,
        workloads: &HashSet<&str>,
    ) -> GoMains {
        let mut modules: HashSet<&str> = HashSet::new();
        let mut mains: Vec<&str> = Vec::new();
        for f in files {
            match &f.parsed {
                Parsed::Manifest(m) if m.kind == ManifestKind::GoMod => {
                    modules.insert(f.dir.as_str());
                }
                Parsed::Source {
                    kind: SourceKind::Go,
                    facts,
                } if facts.package.as_deref() == Some("main") => mains.push(&f.dir),
                _ => {}
            }
        }
        mains.sort_unstable();
        mains.dedup();
        let mut found = GoMains::default();
        let mut by_module: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for dir in mains {
            match std::iter::once(dir)
                .chain(ancestors(dir).filter(|a| *a != dir))
                .find(|a| modules.contains(a))
            {
                Some(module) => by_module.entry(module).or_default().push(dir),
                None if launch.contains_key(dir) => found.orphans.push(dir.to_owned()),
                None => {}
            }
        }
        for (module, mains) in by_module {
            let deployed: Vec<String> = mains
                .into_iter()
                .filter(|d| {
                    *d != module && (launch.contains_key(*d) || workloads.contains(base_of(d)))
                })
                .map(str::to_owned)
                .collect();
            if deployed.len() >= 2 {
                found.split.insert(module.to_owned(), deployed);
            }
        }
        found
    }
}

/// The requirements `go mod tidy` gives a `main` package built outside any module, from the
/// imports of the Go files under `dir`: for each import outside the standard library (its first
/// element has a dot), the path and each of its prefixes of two elements or more — one of them
/// is the module that provides it (`go.opentelemetry.io/otel/sdk/trace` is in
/// `go.opentelemetry.io/otel/sdk`). Each at the first file importing it.
pub(super) fn orphan_requirements(dir: &str, files: &[WalkedFile]) -> Vec<Fact> {
    let mut seen: HashSet<&str> = HashSet::new();
    let mut facts = Vec::new();
    for f in files.iter().filter(|f| is_under(&f.rel, dir)) {
        let Parsed::Source {
            kind: SourceKind::Go,
            facts: source,
        } = &f.parsed
        else {
            continue;
        };
        for path in &source.imports {
            if !path
                .split('/')
                .next()
                .is_some_and(|host| host.contains('.'))
            {
                continue;
            }
            let prefixes = path
                .match_indices('/')
                .map(|(i, _)| &path[..i])
                .skip(1)
                .chain(std::iter::once(path.as_str()));
            for prefix in prefixes {
                if seen.insert(prefix) {
                    facts.push(Fact::new(
                        FactKind::Dependency {
                            name: prefix.to_owned(),
                        },
                        &f.rel,
                        1,
                    ));
                }
            }
        }
    }
    facts
}
