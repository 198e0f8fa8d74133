//! Assembly: turn the walked files into services (manifests, Kubernetes workloads, declared
//! services), attach each fact to its service, drop dead code, and evaluate the rules.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::check::assembly::work::{Repo, Svc};
use crate::check::error::CheckError;
use crate::check::evaluation::assess;
use crate::check::evaluation::evaluate;
use crate::check::evaluation::rules::RuleSet;
use crate::check::facts::{Fact, FactKind, FastMap, FastSet, SourceFacts};
use crate::check::inputs::discover::{self, Parsed, WalkedFile};
use crate::check::inputs::k8s::Workload;
use crate::check::inputs::lang::SourceKind;
use crate::check::inputs::manifests::{cargo_workspace, Entry, Manifest, ManifestKind};
use crate::check::model::{Language, Scan};

/// A service declared in `tracegate.yaml`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeclaredService {
    /// Name.
    pub name: String,
    /// Directory relative to the root (`/` separators).
    pub path: String,
    /// Language, when the configuration says it.
    pub language: Option<Language>,
    /// Line of the declaration in the configuration file, where known.
    pub line: Option<u32>,
}

/// What to scan with.
#[derive(Clone, Debug)]
pub struct ScanOptions {
    /// Rules in effect.
    pub rules: RuleSet,
    /// Services declared in `tracegate.yaml`.
    pub declared_services: Vec<DeclaredService>,
    /// The configuration file that declared them, as errors should name it (default
    /// `tracegate.yaml`).
    pub config_file: Option<String>,
    /// Skip parsing source files in which no rule pattern or flagged span data can be written
    /// ([`crate::check::inputs::prefilter`]; default on). The findings are the same either way; but
    /// a file it skips is never parsed, so a syntax error in it gets no TG199 note.
    pub prefilter: bool,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            rules: RuleSet::builtin(),
            declared_services: Vec::new(),
            config_file: None,
            prefilter: true,
        }
    }
}

/// Container images of infrastructure that is not a service of the repository.
const INFRA_IMAGES: &[&str] = &[
    "ingress-nginx",
    "opentelemetry-collector",
    "otel/opentelemetry",
    "jaegertracing",
    "envoyproxy",
    "istio/",
    "prom/",
    "grafana/",
    "redis",
    "postgres",
    "mysql",
    "mongo",
    "rabbitmq",
    "bitnami/",
    "zookeeper",
    // tracegate itself (`verify --receive` Jobs, `collect`): a verifier, not a traced service
    "tracegate/tracegate",
];

fn is_under(path: &str, dir: &str) -> bool {
    dir == "." || path == dir || path.strip_prefix(dir).is_some_and(|r| r.starts_with('/'))
}

fn base_name(dir: &str, root: &Path) -> String {
    if dir == "." {
        std::fs::canonicalize(root)
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "root".into())
    } else {
        dir.rsplit('/').next().unwrap_or(dir).to_string()
    }
}

/// Scan a repository. Errors (exit code 2) name the file and line.
pub fn scan(root: &Path, options: &ScanOptions) -> Result<Scan, CheckError> {
    let interest = if options.prefilter {
        options.rules.interest()
    } else {
        options.rules.interest().without_prefilter()
    };
    let walk = discover::walk(root, &interest)?;
    if let Some((_, err)) = walk.errors.into_iter().next() {
        return Err(err);
    }
    let mut files = walk.files;
    let dirs = walk.dirs;
    resolve_cargo_workspaces(root, &mut files);
    // Backstage descriptors, for owners: read as Kubernetes YAML by the walk (a regular file;
    // a symbolic link is never followed).
    let descriptor_files: Vec<String> = files
        .iter()
        .filter(|f| {
            matches!(f.parsed, Parsed::K8s(_))
                && crate::check::policy::owners::backstage::is_descriptor(
                    f.rel.rsplit('/').next().unwrap_or_default(),
                )
        })
        .map(|f| f.rel.clone())
        .collect();

    // 1. Services from application manifests, one per directory.
    let declared: Vec<String> = options
        .declared_services
        .iter()
        .map(|d| normalise(&d.path))
        .collect();
    let entries = EntryIndex::build(&files, &declared);
    let mut by_dir: BTreeMap<String, Vec<Manifest>> = BTreeMap::new();
    for f in &mut files {
        if let Parsed::Manifest(m) = &mut f.parsed {
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
                    notes: Vec::new(),
                },
            );
            by_dir.entry(f.dir.clone()).or_default().push(m);
        }
    }
    let mut services: Vec<Svc> = Vec::new();
    let mut libraries: Vec<Library> = Vec::new();
    for (dir, mut manifests) in by_dir {
        manifests.sort_by_key(|m| m.kind);
        let is_service = |m: &Manifest| entries.holds(m.entry, &dir);
        let Some(primary) = manifests.iter().find(|m| is_service(m)).map(|m| m.kind) else {
            // A workspace library: its code and dependencies count for the services using it.
            if let Some(m) = manifests.into_iter().find(|m| {
                matches!(m.kind, ManifestKind::Npm | ManifestKind::GoMod)
                    && entries.libraries.contains(&dir)
            }) {
                libraries.push(Library {
                    language: m.kind.language(),
                    name: m.name.unwrap_or_default(),
                    dir: dir.clone(),
                    facts: m.facts,
                    sources: Vec::new(),
                    not_analysed: Vec::new(),
                });
            }
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

    // 2. Declared services (tracegate.yaml): rename or add.
    for d in &options.declared_services {
        let path = normalise(&d.path);
        if let Some(s) = services.iter_mut().find(|s| s.path == path) {
            s.name.clone_from(&d.name);
            if let Some(l) = d.language {
                s.language = Some(l);
            }
            continue;
        }
        // On the filesystem: a directory of files the engine does not read (C++ only, say) is
        // still a service, though the walk keeps none of its files.
        if !root.join(&path).exists() {
            return Err(CheckError::DeclaredService {
                config: options
                    .config_file
                    .clone()
                    .unwrap_or_else(|| "tracegate.yaml".into()),
                line: d.line,
                name: d.name.clone(),
                path: d.path.clone(),
            });
        }
        let language = d.language.or_else(|| majority_language(&path, &files));
        services.push(Svc {
            name: d.name.clone(),
            path,
            language,
            ..Svc::default()
        });
    }

    // 3. Attach files to the deepest service containing them.
    let mut repo = Repo::default();
    let mut workloads: Vec<Workload> = Vec::new();
    let mut charts: BTreeMap<String, String> = BTreeMap::new();
    let mut namespaces: BTreeMap<String, Vec<Fact>> = BTreeMap::new();
    let mut by_path: FastMap<String, Vec<usize>> = FastMap::default();
    for (i, svc) in services.iter().enumerate() {
        by_path.entry(svc.path.clone()).or_default().push(i);
    }
    let library_dirs: FastMap<String, usize> = libraries
        .iter()
        .enumerate()
        .map(|(i, l)| (l.dir.clone(), i))
        .collect();
    // The deepest service containing the file (of the file's language, for sources).
    let owner = |rel: &str, services: &[Svc], kind: Option<SourceKind>| -> Option<usize> {
        ancestors(rel).find_map(|dir| {
            by_path.get(dir)?.iter().copied().find(|i| {
                kind.is_none_or(|k| services[*i].language.is_some_and(|l| k.belongs_to(l)))
            })
        })
    };
    for f in files {
        match f.parsed {
            Parsed::Source { kind, facts } => {
                let service = owner(&f.rel, &services, Some(kind));
                // A file of a workspace library deeper than its owning service (or with none).
                let deepest_library = || {
                    ancestors(&f.rel).find_map(|dir| {
                        let l = *library_dirs.get(dir)?;
                        kind.belongs_to(libraries[l].language).then_some(l)
                    })
                };
                let library = (!library_dirs.is_empty())
                    .then(deepest_library)
                    .flatten()
                    .filter(|l| {
                        service.is_none_or(|i| libraries[*l].dir.len() > services[i].path.len())
                    });
                if let Some(l) = library {
                    libraries[l].sources.push((kind, f.rel, facts));
                } else if let Some(i) = service {
                    if facts.unparsed {
                        services[i].unparsed.push((kind, f.rel, facts.names));
                    } else {
                        services[i].add_source(f.rel, facts);
                    }
                }
            }
            Parsed::Launch(facts) => {
                if let Some(i) = owner(&f.rel, &services, None) {
                    services[i].facts.extend(facts);
                }
            }
            Parsed::K8s(k) => {
                let k = *k;
                for (line, reason) in k.invalid {
                    let note = (f.rel.clone(), reason, Some(line));
                    match owner(&f.rel, &services, None) {
                        Some(i) => services[i].skipped.push(note),
                        None => repo.skipped.push(note),
                    }
                }
                if let Some(name) = k.chart_name {
                    charts.insert(f.dir.clone(), name);
                }
                for mut w in k.workloads {
                    if w.name.is_empty() {
                        w.name = f.dir.clone();
                    }
                    workloads.push(w);
                }
                for c in k.configmaps {
                    repo.configmaps.insert(c.name.clone(), c);
                }
                repo.ingresses.extend(k.ingresses);
                repo.mesh_tracing.extend(k.mesh_tracing);
                for (ns, ann) in k.namespaces {
                    namespaces.entry(ns).or_default().extend(ann);
                }
            }
            Parsed::NotAnalysed { kind, reason, line } => {
                let note = (f.rel.clone(), reason, line);
                let library = ancestors(&f.rel)
                    .find_map(|dir| {
                        let l = *library_dirs.get(dir)?;
                        kind.belongs_to(libraries[l].language).then_some(l)
                    })
                    .filter(|l| {
                        owner(&f.rel, &services, Some(kind))
                            .is_none_or(|i| libraries[*l].dir.len() > services[i].path.len())
                    });
                if let Some(l) = library {
                    libraries[l].not_analysed.push(note);
                } else if let Some(i) = owner(&f.rel, &services, Some(kind)) {
                    services[i].skipped.push(note);
                    services[i].unanalysed.push(f.rel);
                } else {
                    // A file of a language no service around it uses carries nothing for them.
                    match owner(&f.rel, &services, None) {
                        Some(i) => services[i].skipped.push(note),
                        None => repo.skipped.push(note),
                    }
                }
            }
            Parsed::Skipped { reason, line } => match owner(&f.rel, &services, None) {
                Some(i) => services[i].skipped.push((f.rel, reason, line)),
                None => repo.skipped.push((f.rel, reason, line)),
            },
            Parsed::Manifest(_) | Parsed::TsConfig => {}
        }
    }

    use_libraries(&mut services, &libraries);

    // 4. Workloads: Helm releases take their chart's name; match by name, label, container or
    //    image; unmatched application workloads become services of unknown language.
    let mut names = FirstIndex::default();
    let mut bases = FirstIndex::default();
    for (i, svc) in services.iter().enumerate() {
        names.add(&svc.name, i);
        if svc.path != "." {
            bases.add(base_of(&svc.path), i);
        }
    }
    for mut w in workloads {
        if w.kind == "HelmValues" {
            let dir = w.name.clone();
            w.name = charts
                .get(&dir)
                .cloned()
                .unwrap_or_else(|| base_name(&dir, root));
        }
        if let Some(ns) = &w.namespace {
            if let Some(ann) = namespaces.get(ns) {
                // The pod's own annotation wins over its namespace's (`inject-nodejs: "false"`
                // on a pod opts it out of a namespace-wide injection).
                let own: Vec<String> = w
                    .facts
                    .iter()
                    .filter_map(|f| match &f.kind {
                        FactKind::Annotation { key, .. } => Some(key.clone()),
                        _ => None,
                    })
                    .collect();
                w.facts.extend(
                    ann.iter()
                        .filter(|f| match &f.kind {
                            FactKind::Annotation { key, .. } => !own.contains(key),
                            _ => true,
                        })
                        .cloned(),
                );
            }
        }
        resolve_config_maps(&mut w, &repo);
        let image_names: Vec<String> = w
            .images
            .iter()
            .map(|i| {
                let last = i.rsplit('/').next().unwrap_or(i);
                last.split([':', '@']).next().unwrap_or(last).to_string()
            })
            .collect();
        let mut candidates = names
            .first(&w.name)
            .into_iter()
            .chain(w.aliases.iter().filter_map(|a| names.first(a)))
            .chain(image_names.iter().filter_map(|i| names.first(i)))
            .chain(bases.first(&w.name));
        // The first service (in order) matching by name, alias, image or directory.
        if let Some(i) = candidates.by_ref().min() {
            services[i].workloads.push(w);
            continue;
        }
        if w.images
            .iter()
            .any(|i| INFRA_IMAGES.iter().any(|p| i.contains(p)))
        {
            continue;
        }
        // The service's directory: one named after the workload, else the manifest's.
        let dir = dirs
            .iter()
            .filter(|d| d.rsplit('/').next() == Some(w.name.as_str()))
            .min_by_key(|d| d.len())
            .cloned()
            .unwrap_or_else(|| {
                w.file
                    .rsplit_once('/')
                    .map_or(".".to_string(), |(d, _)| d.to_string())
            });
        let svc = Svc {
            name: w.name.clone(),
            path: dir,
            language: None,
            workloads: vec![w],
            ..Svc::default()
        };
        names.add(&svc.name, services.len());
        if svc.path != "." {
            bases.add(base_of(&svc.path), services.len());
        }
        services.push(svc);
    }

    // 5. Per service: deferred parses, dead code, rules (on all cores).
    let mut scanned = assess::services(root, &mut services, &options.rules, &interest);
    scanned.sort_by(|a, b| {
        (a.service.path.as_str(), a.service.name.as_str())
            .cmp(&(b.service.path.as_str(), b.service.name.as_str()))
    });
    let mut repository_findings = evaluate::repository(&options.rules, &services, &repo);
    assess::sort_findings(&mut repository_findings);
    Ok(Scan {
        services: scanned,
        repository_findings,
        descriptor_files,
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

/// The service name a manifest's full name gives: an npm scope or a Go module's host and path
/// are no part of it (`@acme/web` → `web`, `example.com/shop/checkout/v2` → `checkout`).
fn service_name(kind: ManifestKind, name: &str) -> &str {
    match kind {
        ManifestKind::Npm => name.rsplit('/').next().unwrap_or(name),
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

/// A workspace library, not a service of its own: a `package.json` with `main` and no start
/// script, or a Go module without a `main` package, that another manifest of its kind in the
/// tree depends on.
struct Library {
    /// JavaScript (TypeScript too) or Go.
    language: Language,
    /// Full package name or module path (`@shop/telemetry`, `example.com/shop/telemetry`).
    name: String,
    dir: String,
    /// Its manifest's facts (runtime dependencies).
    facts: Vec<Fact>,
    /// Its source files of its language.
    sources: Vec<(SourceKind, String, SourceFacts)>,
    /// Its source files that could not be analysed (file, reason, line): each service using it
    /// gets the note, and cannot pass.
    not_analysed: Vec<(String, String, Option<u32>)>,
}

/// Each JavaScript/TypeScript or Go service gets the code and runtime dependencies of the
/// workspace libraries of its language it depends on, directly or through other libraries: a
/// shared `@shop/telemetry` package or `…/libs/telemetry` module that sets up the SDK
/// instruments every service using it.
fn use_libraries(services: &mut [Svc], libraries: &[Library]) {
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

/// The first service (by position) with a given name or directory base name.
#[derive(Default)]
struct FirstIndex(HashMap<String, usize>);

impl FirstIndex {
    fn add(&mut self, key: &str, index: usize) {
        if !self.0.contains_key(key) {
            self.0.insert(key.to_string(), index);
        }
    }

    fn first(&self, key: &str) -> Option<usize> {
        self.0.get(key).copied()
    }
}

/// A directory's last component.
fn base_of(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Resolve Cargo workspaces (`manifests::cargo_workspace`); why cargo could not read one
/// becomes a TG199 note on its root `Cargo.toml`.
fn resolve_cargo_workspaces(root: &Path, files: &mut Vec<WalkedFile>) {
    let mut cargo: Vec<&mut Manifest> = files
        .iter_mut()
        .filter_map(|f| match &mut f.parsed {
            Parsed::Manifest(m) if m.kind == ManifestKind::Cargo => Some(m),
            _ => None,
        })
        .collect();
    let notes = cargo_workspace::resolve(root, &mut cargo);
    for note in notes {
        let dir = note
            .file
            .rsplit_once('/')
            .map_or(".".to_string(), |(d, _)| d.to_string());
        files.push(WalkedFile {
            rel: note.file,
            dir,
            parsed: Parsed::Skipped {
                reason: note.reason,
                line: None,
            },
        });
    }
}

/// Give `configMapKeyRef` variables their value and add the variables `envFrom` ConfigMaps
/// provide, located at the ConfigMap's key (ConfigMaps found in the tree only).
fn resolve_config_maps(w: &mut Workload, repo: &Repo) {
    for (index, name, key) in std::mem::take(&mut w.config_refs) {
        let value = repo.configmaps.get(&name).and_then(|c| c.data.get(&key));
        if let (Some(v), Some(fact)) = (value, w.facts.get_mut(index)) {
            if let FactKind::Env { value, .. } = &mut fact.kind {
                *value = Some(v.clone());
            }
        }
    }
    for source in w.env_from.iter().filter(|e| !e.secret) {
        let Some(c) = repo.configmaps.get(&source.name) else {
            continue;
        };
        for (key, value) in &c.data {
            w.facts.push(Fact::new(
                FactKind::Env {
                    name: key.clone(),
                    value: Some(value.clone()),
                    from_secret: false,
                    from_ref: true,
                },
                &c.file,
                c.lines.get(key).copied().unwrap_or(0),
            ));
        }
    }
}

fn normalise(path: &str) -> String {
    let p = path.trim_start_matches("./").trim_end_matches('/');
    if p.is_empty() {
        ".".into()
    } else {
        PathBuf::from(p)
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/")
    }
}

fn majority_language(dir: &str, files: &[WalkedFile]) -> Option<Language> {
    let mut counts: BTreeMap<Language, usize> = BTreeMap::new();
    for f in files.iter().filter(|f| is_under(&f.rel, dir)) {
        if let Parsed::Source { kind, .. } = &f.parsed {
            let l = match kind {
                SourceKind::Rust => Language::Rust,
                SourceKind::Go => Language::Go,
                SourceKind::Python => Language::Python,
                SourceKind::Javascript => Language::Javascript,
                SourceKind::Typescript | SourceKind::Tsx => Language::Typescript,
                SourceKind::Java => Language::Java,
                SourceKind::Csharp => Language::Dotnet,
            };
            *counts.entry(l).or_default() += 1;
        }
    }
    counts.into_iter().max_by_key(|(_, n)| *n).map(|(l, _)| l)
}

/// Every directory containing `rel`, deepest first, ending with `.`.
fn ancestors(rel: &str) -> impl Iterator<Item = &str> {
    let mut cur = Some(rel);
    std::iter::from_fn(move || {
        let c = cur?;
        match c.rsplit_once('/') {
            Some((parent, _)) => {
                cur = Some(parent);
                Some(parent)
            }
            None => {
                cur = None;
                Some(".")
            }
        }
    })
}

/// Directories where each entry condition holds, computed once for the whole tree.
#[derive(Default)]
struct EntryIndex {
    rust_main: HashSet<String>,
    go_main: HashSet<String>,
    python: HashSet<String>,
    java: FastSet<String>,
    typescript: FastSet<String>,
    /// Directories of `package.json` files and Go modules another manifest of the same kind
    /// depends on (by full name or module path).
    libraries: HashSet<String>,
}

impl EntryIndex {
    fn build(files: &[WalkedFile], declared: &[String]) -> EntryIndex {
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
            } else if name == "Dockerfile" || name == "Procfile" {
                if let Some(a) = ancestors(rel).next() {
                    idx.python.insert(a.to_string());
                }
            }
        }
        idx.libraries = workspace_libraries(files, declared, &idx.go_main);
        idx
    }

    fn holds(&self, entry: Entry, dir: &str) -> bool {
        match entry {
            Entry::Yes | Entry::Unread => true,
            Entry::No => false,
            Entry::RustMain => self.rust_main.contains(dir),
            Entry::GoMain => self.go_main.contains(dir),
            Entry::PythonEntry => self.python.contains(dir),
            Entry::JavaSources => self.java.contains(dir),
            Entry::NodeMain => !self.libraries.contains(dir),
        }
    }
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
    fn service_names_drop_scopes_hosts_and_versions() {
        assert_eq!(service_name(ManifestKind::Npm, "@acme/web"), "web");
        assert_eq!(service_name(ManifestKind::Npm, "web"), "web");
        assert_eq!(
            service_name(ManifestKind::GoMod, "example.com/shop/checkout/v2"),
            "checkout"
        );
        assert_eq!(service_name(ManifestKind::GoMod, "checkout"), "checkout");
        assert_eq!(service_name(ManifestKind::Cargo, "a/b"), "a/b");
    }

    #[test]
    fn ancestors_run_from_the_deepest_to_the_root() {
        assert_eq!(
            ancestors("a/b/c.rs").collect::<Vec<_>>(),
            vec!["a/b", "a", "."]
        );
        assert_eq!(ancestors("c.rs").collect::<Vec<_>>(), vec!["."]);
    }

    #[test]
    fn paths_under_directories() {
        assert!(is_under("svc/a.go", "svc"));
        assert!(is_under("svc/a.go", "."));
        assert!(!is_under("svc2/a.go", "svc"));
        assert_eq!(normalise("./services/x/"), "services/x");
        assert_eq!(normalise(""), ".");
    }
}
