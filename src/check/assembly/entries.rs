//! Which directories hold an entry point (a service) and which hold a workspace library,
//! decided once for the whole tree.

use std::collections::{HashMap, HashSet};

use super::ancestors;
use super::go_mains::GoMains;
use super::node_apps::NodeApps;
use super::workloads::INFRA_IMAGES;
use super::workspace::{self, Workspace};
use crate::check::facts::{FactKind, FastSet};
use crate::check::inputs::discover::{Parsed, WalkedFile};
use crate::check::inputs::k8s::SERVERLESS;
use crate::check::inputs::lang::SourceKind;
use crate::check::inputs::manifests::{launch, Entry, Manifest, NotService};
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
    /// Directories with a launch file (Dockerfile, `Dockerfile.*`, `*.Dockerfile`, Procfile),
    /// and the commands those start (`CMD`, `ENTRYPOINT`, process types).
    pub(super) launch: HashMap<String, Vec<String>>,
    /// Python directories that are a load test or a docs site ([`python_tools`]).
    pub(super) python_never: HashMap<String, NotService>,
    /// Go binaries that are services of their own (several per module, or outside any).
    pub(super) go: GoMains,
    /// Node packages whose build tool declares applications below them (Nest, Nx): a service
    /// per application.
    pub(super) node: NodeApps,
    /// The workspace libraries (packages another package of the tree uses) and what each
    /// package uses.
    pub(super) workspace: Workspace,
    /// Directories of services declared in `tracegate.yaml`: their manifests make a service
    /// whatever discovery says (a MAUI app, a package without an entry point).
    pub(super) declared: HashSet<String>,
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
            }
            // A Serverless Framework service deploys the code of its directory: what its
            // runtime runs of each handler is a launch command there.
            if let Parsed::K8s(k) = &f.parsed {
                for w in k.workloads.iter().filter(|w| w.kind == SERVERLESS) {
                    if let Some(dir) = &w.build {
                        let commands = idx.launch.entry(dir.clone()).or_default();
                        commands.extend(w.facts.iter().filter_map(|fact| match &fact.kind {
                            FactKind::Command { text, .. } => Some(text.clone()),
                            _ => None,
                        }));
                    }
                }
            }
            if is_launch_file(name) {
                let commands = idx.launch.entry(f.dir.clone()).or_default();
                if let Parsed::Launch(facts) = &f.parsed {
                    commands.extend(facts.iter().filter_map(|fact| match &fact.kind {
                        FactKind::Command { text, .. } => Some(text.clone()),
                        _ => None,
                    }));
                }
            }
        }
        let workloads = application_workloads(files);
        idx.python_never = python_tools(files, &idx.launch, &workloads);
        let build_args: Vec<(&str, &str)> = files
            .iter()
            .filter_map(|f| match &f.parsed {
                Parsed::K8s(k) => Some(k.workloads.iter()),
                _ => None,
            })
            .flatten()
            .filter_map(|w| Some((w.build.as_deref()?, &w.build_args)))
            .flat_map(|(dir, args)| args.iter().map(move |a| (dir, a.as_str())))
            .collect();
        idx.go = GoMains::find(files, &idx.launch, &workloads, &build_args);
        idx.node = NodeApps::find(files);
        idx.workspace = workspace::resolve(files, declared, &idx);
        idx.declared = declared.iter().cloned().collect();
        idx
    }

    /// Whether manifest `m` makes `dir` a service.
    pub(super) fn is_service(&self, m: &Manifest, dir: &str) -> bool {
        let python = m.kind.is_python();
        // Declared in `tracegate.yaml`: a service whatever discovery says of its manifests.
        self.declared.contains(dir)
            || (!(python && self.python_never.contains_key(dir)) && self.holds(m.entry, dir))
    }

    pub(super) fn holds(&self, entry: Entry, dir: &str) -> bool {
        match entry {
            Entry::Yes | Entry::Unread => true,
            Entry::No => false,
            Entry::RustMain => self.rust_main.contains(dir),
            Entry::GoMain => self.go_main.contains(dir) && !self.go.split.contains_key(dir),
            // An entry file, or a Dockerfile or Procfile beside it that starts it.
            Entry::PythonEntry => self.python.contains(dir) || self.launch.contains_key(dir),
            Entry::JavaSources | Entry::JavaExecutable => self.java.contains(dir),
            Entry::JvmMain => self.jvm_main.contains(dir),
            Entry::NodeMain => !self.workspace.is_library(dir, Language::Javascript),
            Entry::NodeLaunched => self
                .launch
                .get(dir)
                .is_some_and(|commands| commands.iter().any(|c| launch::runs_node(c))),
            Entry::Never(_) => false,
        }
    }
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
        if !m.kind.is_python() || (f.dir != "." && workloads.contains(super::base_of(&f.dir))) {
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

#[cfg(test)]
mod tests {
    use super::*;

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
