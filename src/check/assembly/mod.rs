//! Stage 2 of the check engine: what was read becomes services, libraries and workloads.
//!
//! [`assemble`] runs the steps in order: services from application manifests and
//! `tracegate.yaml` declarations ([`services`]), every file attached to the deepest service
//! containing it ([`attach`]), workspace libraries ([`workspace`]: packages of the tree other
//! packages use, by name or path) and their code given to the services using them
//! ([`libraries`]), Kubernetes workloads and compose services joined to services
//! ([`workloads`], by the images built from the tree: [`images`]) with infrastructure set
//! apart ([`infrastructure`]), one image run by distinct workloads split into services sharing
//! its code ([`shared_image`]), the languages not analysed named ([`languages`]). The working
//! types are in [`work`].

mod attach;
mod entries;
mod go_mains;
mod images;
mod infrastructure;
mod languages;
mod libraries;
pub(crate) mod operator;
pub(crate) mod rust_modules;
mod scripts;
mod services;
mod shared_image;
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
    let entries = entries::EntryIndex::build(&files, &declared_dirs);
    let (mut services, mut libraries) = services::from_manifests(root, &mut files, &entries);
    services::declare(root, &mut services, &files, declared, config_file)?;
    let attached = attach::attach(files, &mut services, &mut libraries);
    libraries::use_libraries(&mut services, &libraries, &entries.workspace);
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
    infrastructure::absorb_sources(&mut services, &mut repo.infrastructure);
    operator::settle(&mut services);
    scripts::start(&mut services);
    shared_image::split(&mut services);
    languages::name_unanalysed(root, &mut services);
    Ok((services, repo))
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
}
