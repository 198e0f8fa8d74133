//! Go `main` packages that are services of their own, beside what `go.mod` files declare: a
//! module with several deployed binaries (`cmd/api`, `cmd/worker`, each with its Dockerfile or
//! a workload named after it) is one service per binary, and a `main` package outside any
//! module that a Dockerfile or Procfile beside it builds (`RUN go mod init … && go build`) is a
//! service in its own directory.
//!
//! A split module's packages become one workspace library each, named by import path, so that
//! each binary gets the packages it imports, directly or through other packages of the module,
//! and the module's requirements those packages import.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::libraries::Library;
use super::work::Svc;
use super::{ancestors, base_of, is_under};
use crate::check::facts::{Fact, FactKind};
use crate::check::inputs::discover::{Parsed, WalkedFile};
use crate::check::inputs::lang::SourceKind;
use crate::check::inputs::manifests::ManifestKind;
use crate::check::model::Language;

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
    /// Procfile, `workloads` the names of the application workloads. A binary is deployed
    /// too when a compose service built from a directory above it passes its directory's
    /// name as a build argument (one Dockerfile building `./cmd/${SERVICE}`): `build_args`
    /// holds (build directory, argument value).
    pub(super) fn find<S: std::hash::BuildHasher>(
        files: &[WalkedFile],
        launch: &HashMap<String, Vec<String>, S>,
        workloads: &HashSet<&str>,
        build_args: &[(&str, &str)],
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
                    *d != module
                        && (launch.contains_key(*d)
                            || workloads.contains(base_of(d))
                            || build_args.iter().any(|(dir, value)| {
                                *value == base_of(d) && super::is_under(d, dir)
                            }))
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
        for path in source.imports() {
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

/// The module at `dir` (path `module`, `go.mod` at `go_mod` with its requirement `facts`) split
/// into its deployed binaries `mains`: a service per binary and a library per other package
/// directory of the module (nested modules excluded), each with, as dependencies, the module's
/// packages its files import (by import path) and the requirements they import (the `go.mod`
/// facts, where they are declared).
pub(super) fn split_module(
    dir: &str,
    module: &str,
    go_mod: &str,
    requirements: &[Fact],
    mains: &[String],
    files: &[WalkedFile],
) -> (Vec<Svc>, Vec<Library>) {
    let nested: Vec<&str> = files
        .iter()
        .filter(|f| {
            f.dir != dir
                && is_under(&f.dir, dir)
                && matches!(&f.parsed, Parsed::Manifest(m) if m.kind == ManifestKind::GoMod)
        })
        .map(|f| f.dir.as_str())
        .collect();
    // Package directory → the import paths of its files.
    let mut packages: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for f in files {
        let imports: &[String] = match &f.parsed {
            Parsed::Source {
                kind: SourceKind::Go,
                facts,
            } => facts.imports(),
            Parsed::NotAnalysed {
                kind: SourceKind::Go,
                ..
            } => &[],
            _ => continue,
        };
        if !is_under(&f.rel, dir) || nested.iter().any(|n| is_under(&f.rel, n)) {
            continue;
        }
        packages
            .entry(f.dir.as_str())
            .or_default()
            .extend(imports.iter().map(String::as_str));
    }
    let import_path = |package: &str| -> String {
        let rest = if dir == "." {
            Some(package)
        } else {
            package.strip_prefix(dir).and_then(|r| r.strip_prefix('/'))
        };
        match rest {
            Some(rest) if package != dir => format!("{module}/{rest}"),
            _ => module.to_owned(),
        }
    };
    let internal: HashSet<String> = packages.keys().map(|p| import_path(p)).collect();
    let dependencies = |package: &str| -> Vec<Fact> {
        let imports = packages.get(package).map(Vec::as_slice).unwrap_or_default();
        let mut facts: Vec<Fact> = Vec::new();
        let mut named: HashSet<&str> = HashSet::new();
        for path in imports {
            if internal.contains(*path) && named.insert(path) {
                facts.push(Fact::new(
                    FactKind::Dependency {
                        name: (*path).to_owned(),
                    },
                    go_mod,
                    1,
                ));
            }
        }
        for r in requirements {
            let FactKind::Dependency { name } = &r.kind else {
                continue;
            };
            let imported = imports.iter().any(|i| {
                i.strip_prefix(name.as_str())
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
            });
            if imported && named.insert(name) {
                facts.push(r.clone());
            }
        }
        facts
    };
    let services = mains
        .iter()
        .map(|main| Svc {
            name: base_of(main).to_owned(),
            path: main.clone(),
            language: Some(Language::Go),
            manifest: Some(go_mod.to_owned()),
            facts: dependencies(main),
            ..Svc::default()
        })
        .collect();
    let libraries = packages
        .keys()
        .filter(|p| !mains.iter().any(|m| m == *p))
        .map(|p| Library {
            language: Language::Go,
            import_path: Some(import_path(p)),
            dir: (*p).to_owned(),
            facts: dependencies(p),
            sources: Vec::new(),
            not_analysed: Vec::new(),
        })
        .collect();
    (services, libraries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::facts::SourceFacts;
    use crate::check::inputs::manifests::{gomod, Manifest};

    fn go_mod(dir: &str, text: &str) -> WalkedFile {
        let rel = format!("{dir}/go.mod");
        let m: Manifest = gomod::parse(&rel, text).unwrap();
        WalkedFile {
            rel,
            dir: dir.to_owned(),
            parsed: Parsed::Manifest(m),
        }
    }

    fn go(rel: &str, package: &str, imports: &[&str]) -> WalkedFile {
        let mut facts = SourceFacts {
            package: Some(package.to_owned()),
            ..SourceFacts::default()
        };
        facts.set_imports(imports.iter().map(|i| i.to_string()).collect());
        WalkedFile {
            rel: rel.to_owned(),
            dir: rel.rsplit_once('/').map_or(".", |(d, _)| d).to_owned(),
            parsed: Parsed::Source {
                kind: SourceKind::Go,
                facts,
            },
        }
    }

    fn launch(dirs: &[&str]) -> HashMap<String, Vec<String>> {
        dirs.iter()
            .map(|d| (d.to_string(), vec!["/app".to_string()]))
            .collect()
    }

    fn dependency_names(facts: &[Fact]) -> Vec<&str> {
        facts
            .iter()
            .filter_map(|f| match &f.kind {
                FactKind::Dependency { name } => Some(name.as_str()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_module_splits_only_with_two_deployed_binaries() {
        let files = vec![
            go_mod("platform", "module example.com/platform\n"),
            go("platform/cmd/api/main.go", "main", &[]),
            go("platform/cmd/worker/main.go", "main", &[]),
            go("platform/cmd/migrate/main.go", "main", &[]),
            go("platform/internal/db/db.go", "db", &[]),
            go("services/shipping/main.go", "main", &[]),
            go("hack/gen/main.go", "main", &[]),
        ];
        let none = HashSet::new();
        // Dockerfiles beside api and worker (not migrate) and beside the lone shipping main.
        let found = GoMains::find(
            &files,
            &launch(&[
                "platform/cmd/api",
                "platform/cmd/worker",
                "services/shipping",
            ]),
            &none,
            &[],
        );
        assert_eq!(
            found.split.get("platform").map(Vec::as_slice),
            Some(
                &[
                    "platform/cmd/api".to_string(),
                    "platform/cmd/worker".to_string()
                ][..]
            )
        );
        assert_eq!(found.orphans, ["services/shipping"]);
        // One deployed binary, the other named by no workload: no split.
        let found = GoMains::find(&files, &launch(&["platform/cmd/api"]), &none, &[]);
        assert!(found.split.is_empty());
        // Workloads named after the binaries' directories split it as Dockerfiles do.
        let workloads = HashSet::from(["api", "worker"]);
        let found = GoMains::find(&files, &launch(&[]), &workloads, &[]);
        assert_eq!(found.split["platform"].len(), 2);
        // Compose services built from the module with the binary's directory as an argument.
        let found = GoMains::find(
            &files,
            &launch(&[]),
            &none,
            &[
                ("platform", "api"),
                ("platform", "worker"),
                ("other", "migrate"),
            ],
        );
        assert_eq!(found.split["platform"].len(), 2);
        // A main at the module root is the module's own binary, never split off.
        let files = vec![
            go_mod(".", "module example.com/shop\n"),
            go("main.go", "main", &[]),
            go("cmd/tool/main.go", "main", &[]),
        ];
        assert!(
            GoMains::find(&files, &launch(&[".", "cmd/tool"]), &none, &[])
                .split
                .is_empty()
        );
    }

    #[test]
    fn split_binaries_get_the_packages_and_requirements_they_import() {
        let files = vec![
            go_mod(
                "platform",
                "module example.com/platform\n\nrequire (\n\tgo.opentelemetry.io/otel/sdk v1.32.0\n\tgithub.com/nats-io/nats.go v1.37.0\n)\n",
            ),
            go(
                "platform/cmd/api/main.go",
                "main",
                &["net/http", "example.com/platform/internal/telemetry"],
            ),
            go(
                "platform/cmd/worker/main.go",
                "main",
                &["github.com/nats-io/nats.go", "example.com/platform/internal/queue"],
            ),
            go(
                "platform/internal/telemetry/telemetry.go",
                "telemetry",
                &["go.opentelemetry.io/otel/sdk/trace"],
            ),
            go("platform/internal/queue/queue.go", "queue", &["context"]),
        ];
        let Parsed::Manifest(m) = &files[0].parsed else {
            unreachable!()
        };
        let mains = [
            "platform/cmd/api".to_string(),
            "platform/cmd/worker".to_string(),
        ];
        let (services, libraries) = split_module(
            "platform",
            "example.com/platform",
            "platform/go.mod",
            &m.facts,
            &mains,
            &files,
        );
        let by_name = |n: &str| services.iter().find(|s| s.name == n).unwrap();
        assert_eq!(
            dependency_names(&by_name("api").facts),
            ["example.com/platform/internal/telemetry"]
        );
        assert_eq!(
            dependency_names(&by_name("worker").facts),
            [
                "example.com/platform/internal/queue",
                "github.com/nats-io/nats.go"
            ]
        );
        let telemetry = libraries
            .iter()
            .find(|l| l.dir == "platform/internal/telemetry")
            .unwrap();
        assert_eq!(
            telemetry.import_path.as_deref(),
            Some("example.com/platform/internal/telemetry")
        );
        assert_eq!(
            dependency_names(&telemetry.facts),
            ["go.opentelemetry.io/otel/sdk"]
        );
        // The requirement keeps where go.mod declares it.
        assert_eq!(telemetry.facts[0].line, 4);
        assert_eq!(libraries.len(), 2);
    }

    #[test]
    fn a_lone_main_requires_what_it_imports_and_their_prefixes() {
        let files = vec![go(
            "services/shipping/main.go",
            "main",
            &[
                "fmt",
                "go.opentelemetry.io/otel/sdk/trace",
                "shipping/internal/x",
            ],
        )];
        assert_eq!(
            dependency_names(&orphan_requirements("services/shipping", &files)),
            [
                "go.opentelemetry.io/otel",
                "go.opentelemetry.io/otel/sdk",
                "go.opentelemetry.io/otel/sdk/trace"
            ]
        );
    }
}
