//! Which directories hold an entry point (a service) and which hold a workspace library,
//! decided once for the whole tree.

use std::collections::HashSet;

use super::ancestors;
use super::services::service_name;
use super::workloads::INFRA_IMAGES;
use crate::check::facts::FastSet;
use crate::check::inputs::discover::{Parsed, WalkedFile};
use crate::check::inputs::lang::SourceKind;
use crate::check::inputs::manifests::{Entry, Manifest, ManifestKind};

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
    /// Directories of `package.json` files and Go modules another manifest of the same kind
    /// depends on (by full name or module path).
    pub(super) libraries: HashSet<String>,
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
        idx.libraries = workspace_libraries(files, declared, &idx.go_main);
        idx
    }

    pub(super) fn holds(&self, entry: Entry, dir: &str) -> bool {
        match entry {
            Entry::Yes | Entry::Unread => true,
            Entry::No => false,
            Entry::RustMain => self.rust_main.contains(dir),
            Entry::GoMain => self.go_main.contains(dir),
            Entry::PythonEntry => self.python.contains(dir),
            Entry::JavaSources => self.java.contains(dir),
            Entry::JvmMain => self.jvm_main.contains(dir),
            Entry::NodeMain => !self.libraries.contains(dir),
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

/// The directories of workspace libraries: npm packages with `main` and no start script, and Go
/// modules without a `main` package, that a service of the tree — or a library one depends on —
/// depends on through a local specifier. A service here is an npm start script, a Go `main`
/// package, or an npm package that is deployed: declared in `tracegate.yaml`, with a Dockerfile
/// or Procfile beside it, or named by a Kubernetes workload; a deployed npm package is never a
/// library.
fn workspace_libraries(
    files: &[WalkedFile],
    declared: &[String],
    go_main: &HashSet<String>,
) -> HashSet<String> {
    let mut deployed: HashSet<&str> = declared.iter().map(String::as_str).collect();
    let mut workloads: HashSet<&str> = HashSet::new();
    let mut packages: Vec<(&str, &Manifest)> = Vec::new();
    for f in files {
        let name = f.rel.rsplit('/').next().unwrap_or(&f.rel);
        if name == "Dockerfile"
            || name.starts_with("Dockerfile.")
            || name.ends_with(".Dockerfile")
            || name == "Procfile"
        {
            deployed.insert(f.dir.as_str());
        }
        match &f.parsed {
            // Application workloads only: a collector Deployment named `telemetry` says nothing
            // about a `@shop/telemetry` package.
            Parsed::K8s(k) => workloads.extend(
                k.workloads
                    .iter()
                    .filter(|w| {
                        !w.images
                            .iter()
                            .any(|i| INFRA_IMAGES.iter().any(|p| i.contains(p)))
                    })
                    .map(|w| w.name.as_str()),
            ),
            Parsed::Manifest(m) if matches!(m.kind, ManifestKind::Npm | ManifestKind::GoMod) => {
                packages.push((f.dir.as_str(), m));
            }
            _ => {}
        }
    }
    let is_deployed = |dir: &str, m: &Manifest| {
        deployed.contains(dir)
            || m.name
                .as_deref()
                .is_some_and(|n| workloads.contains(service_name(m.kind, n)))
    };
    let service = |dir: &str, m: &Manifest| match m.kind {
        ManifestKind::Npm => m.entry == Entry::Yes || is_deployed(dir, m),
        _ => go_main.contains(dir),
    };
    let candidate = |dir: &str, m: &Manifest| match m.kind {
        ManifestKind::Npm => m.entry == Entry::NodeMain && !is_deployed(dir, m),
        // A Go module without a `main` package is never a service: nothing keeps it one.
        _ => !go_main.contains(dir),
    };
    // Services first, then the libraries they reach, until nothing changes.
    let mut users: Vec<usize> = (0..packages.len())
        .filter(|i| service(packages[*i].0, packages[*i].1))
        .collect();
    let mut libraries: HashSet<String> = HashSet::new();
    while let Some(u) = users.pop() {
        let (user_dir, user) = packages[u];
        for (i, (dir, m)) in packages.iter().enumerate() {
            let Some(name) = m.name.as_deref() else {
                continue;
            };
            if m.kind != user.kind
                || *dir == user_dir
                || libraries.contains(*dir)
                || !candidate(dir, m)
            {
                continue;
            }
            let local = |spec: &str| match m.kind {
                // Go module paths are unique: a requirement of this path is this module.
                ManifestKind::GoMod => true,
                _ => npm_spec_is_local(spec, m.version.as_deref()),
            };
            if user.uses.iter().any(|(n, spec)| n == name && local(spec)) {
                libraries.insert((*dir).to_owned());
                users.push(i);
            }
        }
    }
    libraries
}

/// Whether an npm dependency specifier resolves to the workspace package of that version:
/// `*`, a `workspace:`/`file:`/`link:`/`portal:` specifier, or a range the version satisfies
/// (`^1.0.0`, `1.x`, `>=1 <2`, `~1.2 || ^2`…), as npm and yarn link a workspace package then.
fn npm_spec_is_local(spec: &str, version: Option<&str>) -> bool {
    let spec = spec.trim();
    if spec.is_empty() || spec == "*" {
        return true;
    }
    if ["workspace:", "file:", "link:", "portal:"]
        .iter()
        .any(|p| spec.starts_with(p))
    {
        return true;
    }
    let Some(version) =
        version.and_then(|v| semver::Version::parse(v.trim_start_matches('v')).ok())
    else {
        return false;
    };
    spec.split("||").any(|alternative| {
        // npm's syntax in Cargo's: `A - B` → `>=A, <=B`; spaces between comparators → commas;
        // `x`/`X` wildcards → `*`.
        let alternative = alternative.trim();
        let cargo = match alternative.split_once(" - ") {
            Some((low, high)) => format!(">={}, <={}", low.trim(), high.trim()),
            None => alternative
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(", "),
        };
        let cargo = cargo
            .replace(".x", ".*")
            .replace(".X", ".*")
            .replace(", v", ", ")
            .trim_start_matches('v')
            .to_owned();
        let cargo = if cargo.is_empty() || cargo == "x" || cargo == "X" {
            "*".to_owned()
        } else {
            cargo
        };
        semver::VersionReq::parse(&cargo).is_ok_and(|req| req.matches(&version))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npm_specifiers_that_resolve_to_the_workspace_package() {
        for (spec, version, local) in [
            ("*", Some("1.2.0"), true),
            ("", None, true),
            ("workspace:^", Some("1.2.0"), true),
            ("file:../telemetry", None, true),
            ("link:../telemetry", None, true),
            ("1.2.0", Some("1.2.0"), true),
            ("^1.0.0", Some("1.2.0"), true),
            ("~1.2", Some("1.2.0"), true),
            ("1.x", Some("1.2.0"), true),
            (">=1", Some("1.2.0"), true),
            (">=1 <2", Some("1.2.0"), true),
            ("^2.0.0 || ^1.2.0", Some("1.2.0"), true),
            ("1.0.0 - 1.5.0", Some("1.2.0"), true),
            // A range the package does not satisfy, or no version to compare: the registry's.
            ("^3.1.0", Some("1.2.0"), false),
            ("^1.0.0", None, false),
            ("latest", Some("1.2.0"), false),
            ("npm:other@^1.0.0", Some("1.2.0"), false),
            ("github:acme/telemetry", Some("1.2.0"), false),
        ] {
            assert_eq!(
                npm_spec_is_local(spec, version),
                local,
                "{spec} {version:?}"
            );
        }
    }
}
