//! Which directories hold an entry point (a service) and which hold a workspace library,
//! decided once for the whole tree.

use std::collections::{HashMap, HashSet};

use super::ancestors;
use super::go_mains::GoMains;
use super::services::service_name;
use super::workloads::INFRA_IMAGES;
use crate::check::facts::FactKind;
use crate::check::facts::FastSet;
use crate::check::inputs::discover::{Parsed, WalkedFile};
use crate::check::inputs::lang::SourceKind;
use crate::check::inputs::manifests::{launch, Entry, Manifest, ManifestKind, NotService};

/// Directories where each entry condition holds, computed once for the whole tree.
#[derive(Default)]
pub(super) struct EntryIndex {
    pub(super) rust_main: HashSet<String>,
    pub(super) go_main: HashSet<String>,
    pub(super) python: HashSet<String>,
    pub(super) java: FastSet<String>,
    pub(super) typescript: FastSet<String>,
    /// Directories with a launch file (Dockerfile, `Dockerfile.*`, `*.Dockerfile`, Procfile),
    /// and the commands those start (`CMD`, `ENTRYPOINT`, process types).
    pub(super) launch: HashMap<String, Vec<String>>,
    /// Python directories that are a load test or a docs site ([`python_tools`]).
    pub(super) python_never: HashMap<String, NotService>,
    /// Go binaries that are services of their own (several per module, or outside any).
    pub(super) go: GoMains,
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
            }
            if is_launch_file(name) {
                let commands = idx.launch.entry(f.dir.clone()).or_default();
                if let Parsed::Launch(facts) = &f.parsed {
                    commands.extend(facts.iter().filter_map(|fact| match &fact.kind {
                        FactKind::Command { text } => Some(text.clone()),
                        _ => None,
                    }));
                }
            }
        }
        let workloads = application_workloads(files);
        idx.python_never = python_tools(files, &idx.launch, &workloads);
        idx.libraries = workspace_libraries(files, declared, &idx.go_main, &workloads);
        idx.go = GoMains::find(files, &idx.launch, &workloads);
        // A module split into its binaries: its packages are a library they use.
        idx.libraries.extend(idx.go.split.keys().cloned());
        idx
    }

    /// Whether manifest `m` makes `dir` a service.
    pub(super) fn is_service(&self, m: &Manifest, dir: &str) -> bool {
        let python = matches!(
            m.kind,
            ManifestKind::Pyproject | ManifestKind::SetupCfg | ManifestKind::Requirements
        );
        !(python && self.python_never.contains_key(dir)) && self.holds(m.entry, dir)
    }

    pub(super) fn holds(&self, entry: Entry, dir: &str) -> bool {
        match entry {
            Entry::Yes | Entry::Unread => true,
            Entry::No => false,
            Entry::RustMain => self.rust_main.contains(dir),
            Entry::GoMain => self.go_main.contains(dir) && !self.go.split.contains_key(dir),
            // An entry file, or a Dockerfile or Procfile beside it that starts it.
            Entry::PythonEntry => self.python.contains(dir) || self.launch.contains_key(dir),
            Entry::JavaSources => self.java.contains(dir),
            Entry::NodeMain => !self.libraries.contains(dir),
            Entry::NodeLaunched => self
                .launch
                .get(dir)
                .is_some_and(|commands| commands.iter().any(|c| launch::runs_node(c))),
            Entry::Never(_) => false,
        }
    }
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
    workloads: &HashSet<&str>,
) -> HashSet<String> {
    let mut deployed: HashSet<&str> = declared.iter().map(String::as_str).collect();
    let mut packages: Vec<(&str, &Manifest)> = Vec::new();
    for f in files {
        if is_launch_file(f.rel.rsplit('/').next().unwrap_or(&f.rel)) {
            deployed.insert(f.dir.as_str());
        }
        match &f.parsed {
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

/// A Dockerfile (`Dockerfile`, `Dockerfile.prod`, `api.Dockerfile`) or a Procfile.
fn is_launch_file(name: &str) -> bool {
    name == "Dockerfile"
        || name.starts_with("Dockerfile.")
        || name.ends_with(".Dockerfile")
        || name == "Procfile"
}

/// The names of the tree's application workloads (a collector Deployment named `telemetry` says
/// nothing about a `@shop/telemetry` package).
fn application_workloads(files: &[WalkedFile]) -> HashSet<&str> {
    let mut workloads = HashSet::new();
    for f in files {
        if let Parsed::K8s(k) = &f.parsed {
            workloads.extend(
                k.workloads
                    .iter()
                    .filter(|w| {
                        !w.images
                            .iter()
                            .any(|i| INFRA_IMAGES.iter().any(|p| i.contains(p)))
                    })
                    .map(|w| w.name.as_str()),
            );
        }
    }
    workloads
}

/// Python directories that are a tool's, not a service: a Locust load test (`locust` among
/// the runtime requirements) or an MkDocs site (`mkdocs`), when every command a launch file
/// beside them starts runs that tool (a service that merely lists `locust` and starts
/// gunicorn stays one) and no workload is named after the directory (microservices-demo
/// deploys its `loadgenerator`: it runs in the cluster, it is a service).
fn python_tools(
    files: &[WalkedFile],
    launch: &HashMap<String, Vec<String>>,
    workloads: &HashSet<&str>,
) -> HashMap<String, NotService> {
    const TOOLS: &[(&str, NotService)] = &[
        ("locust", NotService::LoadTest),
        ("mkdocs", NotService::DocsSite),
    ];
    let mut found = HashMap::new();
    for f in files {
        let Parsed::Manifest(m) = &f.parsed else {
            continue;
        };
        if !matches!(
            m.kind,
            ManifestKind::Pyproject | ManifestKind::SetupCfg | ManifestKind::Requirements
        ) || (f.dir != "." && workloads.contains(super::base_of(&f.dir)))
        {
            continue;
        }
        let tool = TOOLS.iter().find(|(tool, _)| {
            m.facts
                .iter()
                .any(|d| matches!(&d.kind, FactKind::Dependency { name } if name == tool))
                && launch
                    .get(&f.dir)
                    .is_none_or(|commands| commands.iter().all(|c| launch::runs(c, tool)))
        });
        if let Some((_, what)) = tool {
            found.insert(f.dir.clone(), *what);
        }
    }
    found
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

    #[test]
    fn locust_and_mkdocs_directories_are_tools_unless_something_else_runs_or_deploys_them() {
        use crate::check::inputs::manifests::python;
        let requirements = |dir: &str, text: &str| {
            let rel = format!("{dir}/requirements.txt");
            WalkedFile {
                parsed: Parsed::Manifest(python::parse_requirements(&rel, text)),
                rel,
                dir: dir.to_owned(),
            }
        };
        let files = vec![
            requirements("loadgen", "locust==2.32.2\n"),
            requirements("handbook", "mkdocs==1.6.1\n"),
            requirements("recommendation", "flask==3.1\nlocust==2.32.2\n"),
            requirements("deployed-loadgen", "locust==2.32.2\n"),
            requirements("api", "flask==3.1\n"),
        ];
        let launch: HashMap<String, Vec<String>> = [
            ("loadgen", "locust --headless -H http://frontend"),
            ("handbook", "mkdocs serve -a 0.0.0.0:8000"),
            ("recommendation", "gunicorn app:app"),
            ("deployed-loadgen", "locust --headless"),
        ]
        .into_iter()
        .map(|(d, c)| (d.to_owned(), vec![c.to_owned()]))
        .collect();
        let workloads = HashSet::from(["deployed-loadgen"]);
        let tools = python_tools(&files, &launch, &workloads);
        let mut found: Vec<(&str, NotService)> =
            tools.iter().map(|(d, w)| (d.as_str(), *w)).collect();
        found.sort_by_key(|(d, _)| *d);
        assert_eq!(
            found,
            [
                ("handbook", NotService::DocsSite),
                ("loadgen", NotService::LoadTest)
            ]
        );
    }
}
