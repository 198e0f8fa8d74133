//! Workspace packages: the application manifests of the tree grouped by directory and language,
//! the references between them — by name (npm, Go, Maven) or by path (.NET `ProjectReference`,
//! Python `-e ../lib/x`, uv and Poetry path sources) — which of them are libraries (used by
//! other packages of the tree, never services of their own), and which libraries each package
//! uses directly. One mechanism for every ecosystem; only what makes a package a service or a
//! possible library differs by manifest kind ([`Roles`]).

use std::collections::{BTreeMap, HashMap, HashSet};

use super::entries::EntryIndex;
use super::services::service_name;
use super::workloads::INFRA_IMAGES;
use crate::check::facts::paths;
use crate::check::inputs::discover::{Parsed, WalkedFile};
use crate::check::inputs::manifests::{Entry, Manifest, ManifestKind, Reference};
use crate::check::model::Language;

/// The libraries of the tree and what every package uses.
#[derive(Default)]
pub(super) struct Workspace {
    /// Library directories, by language.
    libraries: HashMap<Language, HashSet<String>>,
    /// The library directories each package (directory, by language) uses directly.
    uses: HashMap<Language, HashMap<String, Vec<String>>>,
}

impl Workspace {
    /// Whether the package of `language` in `dir` is a library.
    pub(super) fn is_library(&self, dir: &str, language: Language) -> bool {
        self.libraries
            .get(&language)
            .is_some_and(|dirs| dirs.contains(dir))
    }

    /// Add the library `used` (in `dir`) to those the package of `language` in `used_by`
    /// uses directly, making it a library.
    pub(super) fn add_use(&mut self, language: Language, used_by: &str, used: &str) {
        self.libraries
            .entry(language)
            .or_default()
            .insert(used.to_owned());
        let list = self
            .uses
            .entry(language)
            .or_default()
            .entry(used_by.to_owned())
            .or_default();
        if !list.iter().any(|u| u == used) {
            list.push(used.to_owned());
        }
    }

    /// The directories of the libraries the package of `language` in `dir` uses directly.
    pub(super) fn used_by(&self, dir: &str, language: Language) -> &[String] {
        self.uses
            .get(&language)
            .and_then(|by_dir| by_dir.get(dir))
            .map_or(&[], Vec::as_slice)
    }
}

/// The manifests of one language in one directory.
struct Package<'a> {
    dir: &'a str,
    language: Language,
    manifests: Vec<&'a Manifest>,
}

/// Manifest kinds whose packages can use, or be, workspace libraries.
fn grouped(kind: ManifestKind) -> bool {
    matches!(
        kind,
        ManifestKind::Npm
            | ManifestKind::GoMod
            | ManifestKind::Maven
            | ManifestKind::Gradle
            | ManifestKind::Csproj
            | ManifestKind::Pyproject
            | ManifestKind::SetupCfg
            | ManifestKind::SetupPy
            | ManifestKind::Pipfile
            | ManifestKind::CondaEnv
            | ManifestKind::Requirements
    )
}

/// What makes a manifest's package a service on its own, or a possible library.
struct Roles<'a> {
    entries: &'a EntryIndex,
    /// Directories with a Dockerfile or Procfile, and declared in `tracegate.yaml`.
    deployed: HashSet<&'a str>,
    /// Names of application workloads.
    workloads: HashSet<&'a str>,
}

impl Roles<'_> {
    /// Declared, with a Dockerfile or Procfile beside it, or named by a Kubernetes workload.
    fn deployed(&self, dir: &str, m: &Manifest) -> bool {
        self.deployed.contains(dir)
            || m.name
                .as_deref()
                .is_some_and(|n| self.workloads.contains(service_name(m.kind, n)))
    }

    /// A service by itself: what the libraries are searched from.
    fn service(&self, dir: &str, m: &Manifest) -> bool {
        match m.kind {
            ManifestKind::Npm => m.entry == Entry::Yes || self.deployed(dir, m),
            ManifestKind::GoMod => self.entries.go_main.contains(dir),
            ManifestKind::Maven => {
                matches!(m.entry, Entry::JavaSources | Entry::JavaExecutable)
                    && self.entries.java.contains(dir)
            }
            ManifestKind::Csproj => m.entry == Entry::Yes,
            ManifestKind::Gradle => {
                m.entry == Entry::Yes
                    || (m.entry == Entry::JvmMain && self.entries.jvm_main.contains(dir))
            }
            k if k.is_python() => {
                m.entry == Entry::Yes
                    || (m.entry == Entry::PythonEntry
                        && (self.entries.python.contains(dir)
                            || self.entries.launch.contains_key(dir)))
            }
            _ => false,
        }
    }

    /// A library when another package uses it: an npm package with `main` and no start
    /// script, a Go module without a `main` package, a Maven module that is no aggregator and
    /// no executable jar, a
    /// .NET project that is no executable, a Python package without console scripts; a
    /// deployed one (npm, Maven, Python) never is.
    fn candidate(&self, dir: &str, m: &Manifest) -> bool {
        match m.kind {
            ManifestKind::Npm => m.entry == Entry::NodeMain && !self.deployed(dir, m),
            // A Go module without a `main` package is never a service: nothing keeps it one.
            ManifestKind::GoMod => !self.entries.go_main.contains(dir),
            ManifestKind::Maven => m.entry == Entry::JavaSources && !self.deployed(dir, m),
            ManifestKind::Csproj => m.entry == Entry::No,
            // A subproject without an application plugin or a `main` of its own.
            ManifestKind::Gradle => {
                m.entry == Entry::JvmMain
                    && !self.entries.jvm_main.contains(dir)
                    && !self.deployed(dir, m)
            }
            k if k.is_python() => {
                matches!(m.entry, Entry::PythonEntry | Entry::No) && !self.deployed(dir, m)
            }
            _ => false,
        }
    }
}

/// The libraries of the tree: packages that a service — or a library one uses — references
/// (by name with a specifier that resolves to the tree's package, or by path) and that are no
/// service themselves ([`Roles::candidate`]); then what each package uses directly.
pub(super) fn resolve(
    files: &[WalkedFile],
    declared: &[String],
    entries: &EntryIndex,
) -> Workspace {
    let mut roles = Roles {
        entries,
        deployed: declared.iter().map(String::as_str).collect(),
        workloads: HashSet::new(),
    };
    let mut grouped_manifests: BTreeMap<(&str, Language), Vec<&Manifest>> = BTreeMap::new();
    // Directories with a Dockerfile or Procfile: found by the entry index already (a second
    // look at every path costs milliseconds on a large tree).
    roles
        .deployed
        .extend(entries.launch.keys().map(String::as_str));
    for f in files {
        match &f.parsed {
            // Application workloads only: a collector Deployment named `telemetry` says nothing
            // about a `@shop/telemetry` package.
            Parsed::K8s(k) => roles.workloads.extend(
                k.workloads
                    .iter()
                    .filter(|w| {
                        !w.images
                            .iter()
                            .any(|i| INFRA_IMAGES.iter().any(|p| i.contains(p)))
                    })
                    .map(|w| w.name.as_str()),
            ),
            Parsed::Manifest(m) if grouped(m.kind) => grouped_manifests
                .entry((f.dir.as_str(), m.kind.language()))
                .or_default()
                .push(m),
            _ => {}
        }
    }
    let packages: Vec<Package> = grouped_manifests
        .into_iter()
        .map(|((dir, language), manifests)| Package {
            dir,
            language,
            manifests,
        })
        .collect();
    let index = Index::new(&packages);
    let is_service = |p: &Package| p.manifests.iter().any(|m| roles.service(p.dir, m));
    let is_candidate = |p: &Package| p.manifests.iter().all(|m| roles.candidate(p.dir, m));
    // Services first, then the libraries they reach, until nothing changes.
    let mut users: Vec<usize> = (0..packages.len())
        .filter(|i| is_service(&packages[*i]))
        .collect();
    let mut libraries: HashSet<usize> = HashSet::new();
    while let Some(u) = users.pop() {
        for t in index.references(&packages, u, true) {
            if t != u && !libraries.contains(&t) && is_candidate(&packages[t]) {
                libraries.insert(t);
                users.push(t);
            }
        }
    }
    let mut workspace = Workspace::default();
    for &l in &libraries {
        let p = &packages[l];
        workspace
            .libraries
            .entry(p.language)
            .or_default()
            .insert(p.dir.to_owned());
    }
    // What each package uses: a library it names by name (whatever the specifier, once the
    // tree's package is a library) or by path.
    for (u, p) in packages.iter().enumerate() {
        let mut used: Vec<String> = index
            .references(&packages, u, false)
            .into_iter()
            .filter(|t| *t != u && libraries.contains(t))
            .map(|t| packages[t].dir.to_owned())
            .collect();
        if used.is_empty() {
            continue;
        }
        used.sort_unstable();
        used.dedup();
        workspace
            .uses
            .entry(p.language)
            .or_default()
            .insert(p.dir.to_owned(), used);
    }
    workspace
}

/// A settings file's loop over the subdirectories of `dir` (`root`'s settings file): each
/// direct subdirectory holding a Gradle build file is a project of `project` (`*` its name),
/// placed in `placed` or at Gradle's default path.
fn listed<'a>(
    packages: &[Package<'a>],
    root: &'a str,
    dir: &str,
    project: &str,
    placed: &Option<String>,
    out: &mut HashMap<(&'a str, String), String>,
) {
    let Some(parent) = paths::resolve(root, if dir.is_empty() { "." } else { dir }) else {
        return;
    };
    for p in packages {
        let build = p.manifests.iter().any(|m| {
            m.kind == ManifestKind::Gradle
                && m.file
                    .rsplit('/')
                    .next()
                    .is_some_and(|n| n.starts_with("build.gradle"))
        });
        let (up, name) = p.dir.rsplit_once('/').unwrap_or((".", p.dir));
        if !build || up != parent || p.dir == "." {
            continue;
        }
        let path = project.replace('*', name);
        let at = match placed {
            Some(t) => paths::resolve(root, &t.replace('*', name)),
            None => paths::resolve(root, &path.trim_start_matches(':').replace(':', "/")),
        };
        if let Some(at) = at {
            out.insert((root, path), at);
        }
    }
}

/// Packages by the names and paths other manifests reference them by.
struct Index<'a> {
    /// (kind, full name) → the packages and manifests of that name.
    by_name: HashMap<(ManifestKind, &'a str), Vec<(usize, &'a Manifest)>>,
    /// (directory or manifest file, language) → package.
    by_path: HashMap<(&'a str, Language), usize>,
    /// Directories of Gradle settings files (`settings.gradle(.kts)`): the roots that
    /// `project(":a:b")` paths start from.
    gradle_roots: HashSet<&'a str>,
    /// (settings root, project path) → its directory, where the settings file moves it
    /// (`project(':a').projectDir = file('libs/a')`).
    gradle_dirs: HashMap<(&'a str, String), String>,
}

impl<'a> Index<'a> {
    fn new(packages: &[Package<'a>]) -> Self {
        let mut by_name: HashMap<(ManifestKind, &str), Vec<(usize, &Manifest)>> = HashMap::new();
        let mut by_path = HashMap::new();
        let mut gradle_roots = HashSet::new();
        let mut gradle_dirs = HashMap::new();
        for (i, p) in packages.iter().enumerate() {
            by_path.insert((p.dir, p.language), i);
            for m in &p.manifests {
                if m.kind == ManifestKind::Gradle
                    && m.file
                        .rsplit('/')
                        .next()
                        .is_some_and(|n| n.starts_with("settings.gradle"))
                {
                    gradle_roots.insert(p.dir);
                    for u in &m.uses {
                        match u {
                            Reference::ProjectDir { project, dir } => {
                                if let Some(d) = paths::resolve(p.dir, dir) {
                                    gradle_dirs.insert((p.dir, project.clone()), d);
                                }
                            }
                            Reference::ProjectDirsIn {
                                dir,
                                project,
                                placed,
                            } => listed(packages, p.dir, dir, project, placed, &mut gradle_dirs),
                            _ => {}
                        }
                    }
                }
                by_path.insert((m.file.as_str(), p.language), i);
                if let Some(name) = m.name.as_deref() {
                    by_name.entry((m.kind, name)).or_default().push((i, m));
                }
            }
        }
        Index {
            by_name,
            by_path,
            gradle_roots,
            gradle_dirs,
        }
    }

    /// The packages package `u` references. `strict`: by name only where the specifier
    /// resolves to the tree's package (npm: a local specifier or a range its version
    /// satisfies; Go module paths and Maven coordinates are unique), as a library is found;
    /// otherwise by name alone.
    fn references(&self, packages: &[Package], u: usize, strict: bool) -> Vec<usize> {
        let user = &packages[u];
        let mut out = Vec::new();
        for m in &user.manifests {
            for r in &m.uses {
                match r {
                    // Gradle `project(":a:b")`: directory `a/b` under the build's settings
                    // root (the nearest directory above with a settings file).
                    Reference::Name(name, _) if m.kind == ManifestKind::Gradle => {
                        let Some(path) = name.strip_prefix(':') else {
                            continue;
                        };
                        let inside = format!("{}/build.gradle", user.dir);
                        let root = super::ancestors(&inside)
                            .find(|d| self.gradle_roots.contains(d))
                            .map(str::to_owned);
                        let target = root.and_then(|r| {
                            self.gradle_dirs
                                .get(&(r.as_str(), name.clone()))
                                .cloned()
                                .or_else(|| paths::resolve(&r, &path.replace(':', "/")))
                        });
                        if let Some(t) = target {
                            if let Some(i) = self.by_path.get(&(t.as_str(), user.language)) {
                                out.push(*i);
                            }
                        }
                    }
                    Reference::Name(name, spec) => {
                        let Some(named) = self.by_name.get(&(m.kind, name.as_str())) else {
                            continue;
                        };
                        out.extend(
                            named
                                .iter()
                                .filter(|(_, t)| {
                                    !strict
                                        || m.kind != ManifestKind::Npm
                                        || npm_spec_is_local(spec, t.version.as_deref())
                                })
                                .map(|(i, _)| *i),
                        );
                    }
                    // Props files were merged into the projects importing them (msbuild_props);
                    // project directories are read from settings files above.
                    Reference::Import { .. }
                    | Reference::MavenParent { .. }
                    | Reference::ProjectDir { .. }
                    | Reference::ProjectDirsIn { .. } => {}
                    Reference::Path(path) => {
                        let Some(target) = join(user.dir, path) else {
                            continue;
                        };
                        if let Some(i) = self.by_path.get(&(target.as_str(), user.language)) {
                            out.push(*i);
                        }
                    }
                }
            }
        }
        out
    }
}

/// `rel` (`/` or `\` separators) from directory `dir` (`.` for the root), normalised; `None`
/// when it leaves the tree or is absolute. MSBuild's `$(MSBuildThisFileDirectory)` and
/// `$(MSBuildProjectDirectory)` are the manifest's directory.
pub(super) fn join(dir: &str, rel: &str) -> Option<String> {
    let rel = rel.trim().replace('\\', "/");
    let rel = ["$(MSBuildThisFileDirectory)", "$(MSBuildProjectDirectory)"]
        .iter()
        .find_map(|p| rel.strip_prefix(p))
        .unwrap_or(&rel);
    if rel.is_empty() || rel.starts_with('/') || rel.contains("$(") {
        return None;
    }
    paths::resolve(dir, rel)
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
    fn paths_join_from_the_manifest_directory() {
        for (dir, rel, joined) in [
            (
                "apps/checkout",
                "../../lib/shop_telemetry",
                Some("lib/shop_telemetry"),
            ),
            (
                "src/Catalog.API",
                "..\\Shop.ServiceDefaults\\Shop.ServiceDefaults.csproj",
                Some("src/Shop.ServiceDefaults/Shop.ServiceDefaults.csproj"),
            ),
            (
                "src/Api",
                "$(MSBuildThisFileDirectory)..\\Lib\\Lib.csproj",
                Some("src/Lib/Lib.csproj"),
            ),
            (".", "./lib/x/", Some("lib/x")),
            ("a", "..", Some(".")),
            // Out of the tree, absolute, or through an MSBuild property we do not know.
            ("a", "../../x", None),
            (".", "/opt/lib/x", None),
            ("a", "$(RepoRoot)src/Lib/Lib.csproj", None),
            ("a", "", None),
        ] {
            assert_eq!(join(dir, rel).as_deref(), joined, "{dir} + {rel}");
        }
    }
}
