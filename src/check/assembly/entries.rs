//! Which directories hold an entry point (a service) and which hold a workspace library
//! ([`workspace`]), decided once for the whole tree.

use std::collections::HashSet;

use super::ancestors;
use super::workspace::{self, Workspace};
use crate::check::facts::FastSet;
use crate::check::inputs::discover::{Parsed, WalkedFile};
use crate::check::inputs::lang::SourceKind;
use crate::check::inputs::manifests::Entry;
use crate::check::model::Language;

/// Directories where each entry condition holds, computed once for the whole tree.
#[derive(Default)]
pub(super) struct EntryIndex {
    pub(super) rust_main: HashSet<String>,
    pub(super) go_main: HashSet<String>,
    pub(super) python: HashSet<String>,
    pub(super) java: FastSet<String>,
    /// Gradle project directories whose own sources (`src/main/java`, `src/main/kotlin`)
    /// declare an entry point, or hold a JVM file that could not be analysed.
    pub(super) jvm_main: FastSet<String>,
    pub(super) typescript: FastSet<String>,
    /// The workspace libraries (packages another package of the tree uses) and what each
    /// package uses.
    pub(super) workspace: Workspace,
}

impl EntryIndex {
    pub(super) fn build(files: &[WalkedFile], declared: &[String]) -> EntryIndex {
        const ENTRY: &[&str] = &[
            "main.py",
            "app.py",
            "manage.py",
            "wsgi.py",
            "asgi.py",
            "server.py",
        ];
        let mut idx = EntryIndex::default();
        // Every ancestor of `rel`, up to the first one already in the set (whose ancestors
        // are then in it too).
        fn all<S: std::hash::BuildHasher>(set: &mut HashSet<String, S>, rel: &str) {
            for a in ancestors(rel) {
                if set.contains(a) {
                    break;
                }
                set.insert(a.to_string());
            }
        }
        for f in files {
            let rel = f.rel.as_str();
            let name = rel.rsplit('/').next().unwrap_or(rel);
            // Rust and Java entry points by path: a file that failed to parse still counts.
            match &f.parsed {
                _ if rel.ends_with(".rs") => {
                    let crate_dir = rel
                        .strip_suffix("/src/main.rs")
                        .or_else(|| (rel == "src/main.rs").then_some("."))
                        .or_else(|| {
                            let (dir, _) = rel
                                .rsplit_once("/src/bin/")
                                .or_else(|| rel.strip_prefix("src/bin/").map(|r| (".", r)))?;
                            Some(dir)
                        });
                    if let Some(d) = crate_dir {
                        idx.rust_main.insert(d.to_string());
                    }
                }
                Parsed::Source {
                    kind: SourceKind::Go,
                    facts,
                } if facts.package.as_deref() == Some("main") => all(&mut idx.go_main, rel),
                // A Go file that could not be analysed may be the `main` package: its module
                // stays a service (that cannot pass) rather than dropping out of the gate.
                Parsed::NotAnalysed {
                    kind: SourceKind::Go,
                    ..
                } => all(&mut idx.go_main, rel),
                Parsed::Source {
                    kind: SourceKind::Java | SourceKind::Kotlin,
                    facts,
                } if facts.jvm_main => {
                    idx.jvm_main.extend(gradle_project(rel).map(str::to_owned));
                    if rel.ends_with(".java") {
                        all(&mut idx.java, rel);
                    }
                }
                Parsed::NotAnalysed {
                    kind: SourceKind::Java | SourceKind::Kotlin,
                    ..
                } => {
                    idx.jvm_main.extend(gradle_project(rel).map(str::to_owned));
                    if rel.ends_with(".java") {
                        all(&mut idx.java, rel);
                    }
                }
                _ if rel.ends_with(".java") => all(&mut idx.java, rel),
                Parsed::Source {
                    kind: SourceKind::Typescript | SourceKind::Tsx,
                    ..
                }
                | Parsed::TsConfig => all(&mut idx.typescript, rel),
                _ => {}
            }
            if name == "__main__.py" {
                all(&mut idx.python, rel);
            } else if ENTRY.contains(&name) {
                for a in ancestors(rel).take(3) {
                    idx.python.insert(a.to_string());
                }
            } else if name == "Dockerfile" || name == "Procfile" {
                if let Some(a) = ancestors(rel).next() {
                    idx.python.insert(a.to_string());
                }
            }
        }
        idx.workspace = workspace::resolve(files, declared, &idx);
        idx
    }

    pub(super) fn holds(&self, entry: Entry, dir: &str) -> bool {
        match entry {
            Entry::Yes | Entry::Unread => true,
            Entry::No => false,
            Entry::RustMain => self.rust_main.contains(dir),
            Entry::GoMain => self.go_main.contains(dir),
            Entry::PythonEntry => self.python.contains(dir),
            Entry::JavaSources | Entry::JavaExecutable => self.java.contains(dir),
            Entry::JvmMain => self.jvm_main.contains(dir),
            Entry::NodeMain => !self.workspace.is_library(dir, Language::Javascript),
        }
    }
}

/// The Gradle project a JVM source belongs to by the standard layout: the directory above its
/// `src/main/java/` or `src/main/kotlin/` (`.` at the top).
fn gradle_project(rel: &str) -> Option<&str> {
    ["src/main/java/", "src/main/kotlin/"]
        .iter()
        .find_map(|layout| {
            if rel.starts_with(layout) {
                return Some(".");
            }
            let at = rel.find(&format!("/{layout}"))?;
            Some(&rel[..at])
        })
}
