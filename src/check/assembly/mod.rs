//! Stage 2 of the check engine: what was read becomes services, libraries and workloads.
//!
//! [`assemble`] runs the steps in order: services from application manifests and
//! `tracegate.yaml` declarations ([`services`]), every file attached to the deepest service
//! containing it ([`attach`]), workspace libraries ([`workspace`]: packages of the tree other
//! packages use, by name or path) and their code given to the services using them
//! ([`libraries`]), Python packages without a manifest given to the services importing them
//! ([`shared_python`]), Kubernetes workloads and compose services joined to services
//! ([`workloads`], by the images built from the tree: [`images`]) with infrastructure set
//! apart ([`infrastructure`]), one image run by distinct workloads split into services sharing
//! its code ([`shared_image`]) and, in Python, each part narrowed to the code its own command
//! runs ([`python_entries`]), the image's `CMD`/`ENTRYPOINT` its workloads replace dropped
//! ([`overrides`]), the scripts its commands run read ([`scripts`]), services named by their deployment ([`naming`]), the languages not analysed named ([`languages`]). The working
//! types are in [`work`].

mod attach;
mod base_images;
mod copied_code;
mod entries;
mod go_entries;
mod go_mains;
mod images;
mod infrastructure;
mod languages;
mod libraries;
mod maven_parents;
mod msbuild_props;
mod naming;
mod node_apps;
pub(crate) mod operator;
mod overrides;
mod python_entries;
mod python_groups;
pub(crate) mod rust_modules;
mod scripts;
mod served_ports;
mod services;
mod shared_image;
mod shared_python;
pub mod work;
mod workloads;
mod workspace;

use std::path::{Path, PathBuf};

use crate::check::error::CheckError;
use crate::check::inputs::discover::WalkedFile;
use crate::check::model::Language;
use work::{Repo, Svc};

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

/// The services of the tree and its repository-wide Kubernetes context, from the walked
/// `files` (taken) and directories `dirs`; `declared` are `tracegate.yaml`'s services
/// (`config_file` names it in errors).
pub(crate) fn assemble(
    root: &Path,
    mut files: Vec<WalkedFile>,
    dirs: &[String],
    declared: &[DeclaredService],
    config_file: Option<&str>,
) -> Result<(Vec<Svc>, Repo), CheckError> {
    let declared_dirs: Vec<String> = declared.iter().map(|d| normalise(&d.path)).collect();
    msbuild_props::apply(&mut files);
    maven_parents::apply(&mut files);
    let mut entries = entries::EntryIndex::build(&files, &declared_dirs);
    for (user, used) in entries.node.imports(root, &files) {
        for library in used {
            entries
                .workspace
                .add_use(Language::Javascript, &user, &library);
        }
    }
    let (mut services, mut libraries) = services::from_manifests(root, &mut files, &entries);
    services::declare(root, &mut services, &files, declared, config_file)?;
    let mut attached = attach::attach(files, &mut services, &mut libraries);
    libraries::use_libraries(&mut services, &libraries, &entries.workspace);
    shared_python::use_shared_packages(&mut services, std::mem::take(&mut attached.python_orphans));
    let mut repo = attached.repo;
    repo.infrastructure = workloads::join(
        root,
        &mut services,
        attached.workloads,
        &attached.builds,
        &attached.charts,
        &attached.namespaces,
        &repo,
        dirs,
    );
    // After the workloads: a Dockerfile kept apart from the code (compose `build.dockerfile`)
    // brings its facts, the groups it installs among them, with its workload.
    python_groups::apply(&mut services);
    offer_env(&mut services, &repo);
    mount_configs(&mut services, &repo);
    infrastructure::absorb_sources(&mut services, &mut repo.infrastructure);
    operator::settle(&mut services);
    let shared = shared_image::split(&mut services);
    overrides::apply(&mut services);
    scripts::start(&mut services);
    python_entries::narrow(root, &mut services, &shared);
    go_entries::narrow(root, &mut services, &shared);
    naming::name_by_deployment(&mut services);
    languages::name_unanalysed(root, &mut services);
    Ok((services, repo))
}

/// Give each service what unused kustomize components would set on its workloads (by name).
fn offer_env(services: &mut [Svc], repo: &Repo) {
    if repo.offered_env.is_empty() {
        return;
    }
    for s in services.iter_mut() {
        s.offered_env = repo
            .offered_env
            .iter()
            .filter(|o| o.workload == s.name || s.workloads.iter().any(|w| w.name == o.workload))
            .cloned()
            .collect();
    }
}

/// Give each service the OpenTelemetry declarative configuration files its workloads load from
/// a ConfigMap: `OTEL_EXPERIMENTAL_CONFIG_FILE` (or `OTEL_CONFIG_FILE`) names a path whose file
/// name is a key of a ConfigMap of the tree holding such a file (mounted as a volume). Its
/// settings are configuration, judged at the ConfigMap's lines.
fn mount_configs(services: &mut [Svc], repo: &Repo) {
    use crate::check::facts::FactKind;
    use crate::check::inputs::otel_config;
    for s in services.iter_mut() {
        let mut facts = Vec::new();
        let mut seen: Vec<(&str, &str)> = Vec::new();
        for w in &s.workloads {
            let names = w.facts.iter().filter_map(|f| match &f.kind {
                FactKind::Env {
                    name,
                    value: Some(v),
                    ..
                } if name == "OTEL_EXPERIMENTAL_CONFIG_FILE" || name == "OTEL_CONFIG_FILE" => {
                    Some(v.trim())
                }
                _ => None,
            });
            for path in names {
                for cm in w
                    .config_volumes
                    .iter()
                    .filter_map(|c| repo.configmaps.get(c))
                {
                    // The key mounted at that path: one `items` projects under its `path`,
                    // else the key of the file's name.
                    let mut items = w.config_items.iter().filter(|(c, _, _)| *c == cm.name);
                    let key = match items.clone().next() {
                        Some(_) => items
                            .find(|(_, _, p)| {
                                let p = p.trim_start_matches("./");
                                path == p || path.ends_with(&format!("/{p}"))
                            })
                            .map(|(_, k, _)| k.as_str()),
                        None => path.rsplit('/').next(),
                    };
                    let Some(name) = key else {
                        continue;
                    };
                    if seen.contains(&(cm.name.as_str(), name)) {
                        continue;
                    }
                    seen.push((cm.name.as_str(), name));
                    let Some(text) = cm.data.get(name) else {
                        continue;
                    };
                    let Ok(value) = serde_yaml::from_str::<serde_yaml::Value>(text) else {
                        continue;
                    };
                    if otel_config::is_config(&value) {
                        // A block value starts on the line after its key.
                        let start = cm.lines.get(name).map_or(1, |l| l + 1);
                        facts.extend(otel_config::facts(&cm.file, text, start, &value, true));
                    }
                }
            }
        }
        s.facts.extend(facts);
    }
}

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

/// A directory's last component.
fn base_of(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
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

/// Every directory containing `rel`, deepest first, ending with `.`.
pub(crate) fn ancestors(rel: &str) -> impl Iterator<Item = &str> {
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

#[cfg(test)]
mod tests {
    use super::*;

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

    /// A declarative configuration file in a ConfigMap counts for the service whose workload
    /// mounts that ConfigMap and names the file; another ConfigMap with the same key does not.
    #[test]
    fn mounted_configuration_files_count_for_the_workload_that_mounts_them() {
        use crate::check::facts::{Fact, FactKind};
        use crate::check::inputs::k8s::{parse, Workload};
        let text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a-otel\ndata:\n  sdk.yaml: |\n    file_format: \"0.3\"\n    propagator:\n      composite: [ b3 ]\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b-otel\ndata:\n  sdk.yaml: |\n    file_format: \"0.3\"\n    propagator:\n      composite: [ tracecontext ]\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: a\nspec:\n  template:\n    spec:\n      containers:\n        - name: a\n          image: a\n          env:\n            - name: OTEL_EXPERIMENTAL_CONFIG_FILE\n              value: /etc/otel/sdk.yaml\n      volumes:\n        - name: otel\n          configMap:\n            name: a-otel\n";
        let k = parse("deploy.yaml", text).unwrap();
        let mut repo = Repo::default();
        for c in k.configmaps {
            repo.configmaps.insert(c.name.clone(), c);
        }
        let w: Workload = k.workloads[0].clone();
        assert_eq!(w.config_volumes, vec!["a-otel".to_string()]);
        let mut services = vec![Svc {
            name: "a".into(),
            workloads: vec![w],
            ..Svc::default()
        }];
        mount_configs(&mut services, &repo);
        let got: Vec<(String, String, u32)> = services[0]
            .facts
            .iter()
            .filter_map(|f: &Fact| match &f.kind {
                FactKind::Config {
                    key,
                    value,
                    mounted: true,
                } if key == "propagator" => Some((f.file.to_string(), value.clone(), f.line)),
                _ => None,
            })
            .collect();
        assert_eq!(got, vec![("deploy.yaml".to_string(), "b3".to_string(), 9)]);

        // `items` projects the key under another path: followed; a key it does not list is
        // not mounted.
        let propagators = |w: Workload| {
            let mut services = vec![Svc {
                name: "a".into(),
                workloads: vec![w],
                ..Svc::default()
            }];
            mount_configs(&mut services, &repo);
            services[0]
                .facts
                .iter()
                .filter_map(|f| match &f.kind {
                    FactKind::Config { key, value, .. } if key == "propagator" => {
                        Some(value.clone())
                    }
                    _ => None,
                })
                .collect::<Vec<_>>()
        };
        let renamed = text.replace(
            "            name: a-otel\n",
            "            name: a-otel\n            items:\n              - key: sdk.yaml\n                path: otel/config.yaml\n",
        );
        let renamed = renamed.replace("/etc/otel/sdk.yaml", "/etc/app/otel/config.yaml");
        let w = parse("deploy.yaml", &renamed).unwrap().workloads[0].clone();
        assert_eq!(propagators(w.clone()), vec!["b3".to_string()]);
        let mut other = w;
        other.config_items[0].2 = "other.yaml".into();
        assert!(propagators(other).is_empty());
    }
}
