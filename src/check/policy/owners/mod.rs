//! Who owns a service: `tracegate.yaml` `services[].team` for its name, else the Backstage
//! `catalog-info.yaml` Component of its name (or the one in its directory), else the first
//! owner of the last matching `CODEOWNERS` rule. Used by `check` (the `team` of its JSON) and
//! `coverage` (the per-team numbers).
//!
//! Backstage Components that no discovered service matches are "declared, not found": `check`
//! lists them under `declared`, `coverage` counts them as `not_found`.

pub mod backstage;
pub mod codeowners;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::check::policy::config::ValidConfig;
use crate::coverage::model::OwnerSource;
use backstage::Component;
use codeowners::CodeOwners;

/// A service's owning team and where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owner {
    /// Team name.
    pub team: String,
    /// The source that named it.
    pub source: OwnerSource,
}

/// Why the owner sources of a repository could not be read (exit 2): one line naming the file
/// and, where known, the line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OwnersError {
    /// A malformed `CODEOWNERS`.
    #[error(transparent)]
    Codeowners(#[from] codeowners::SyntaxError),
    /// A malformed `catalog-info.yaml`.
    #[error(transparent)]
    Descriptor(#[from] backstage::DescriptorError),
    /// An owner file that cannot be read.
    #[error("{file}: cannot read: {reason}")]
    Unreadable {
        /// The file.
        file: String,
        /// Why.
        reason: String,
    },
}

/// The owner sources of one repository.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Owners {
    /// `tracegate.yaml`: service name → team.
    declared: BTreeMap<String, String>,
    /// Backstage Components, in file order (files sorted by path).
    components: Vec<Component>,
    /// The repository's `CODEOWNERS`, when it has one.
    codeowners: Option<CodeOwners>,
    /// The checked root's path from the directory of that `CODEOWNERS`' repository (empty
    /// when it is the checked root's own).
    codeowners_prefix: String,
}

/// The owners of a list of services, and the Components none of them matched.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Assignment {
    /// One entry per service, in the order given.
    pub owners: Vec<Option<Owner>>,
    /// Backstage Components no service matched (by name, or by directory), in file order.
    pub unmatched: Vec<Component>,
}

impl Owners {
    /// Read the owner sources of the repository at `root`: `config`'s declared services,
    /// the Backstage descriptors `descriptor_files` (relative to `root`, as the walk found
    /// them) and the first `CODEOWNERS` GitHub would use. Errors name the file as
    /// `root`-joined.
    pub fn load(
        root: &Path,
        config: &ValidConfig,
        descriptor_files: &[String],
    ) -> Result<Owners, OwnersError> {
        let shown = |rel: &str| root.join(rel).display().to_string();
        let mut components = Vec::new();
        let mut files: Vec<&String> = descriptor_files.iter().collect();
        files.sort();
        for rel in files {
            let text = read_text(&root.join(rel), &shown(rel))?;
            let found = backstage::parse(&text, rel).map_err(|mut err| {
                err.file = shown(rel);
                err
            })?;
            components.extend(found);
        }
        // The checked root's CODEOWNERS; else, when the root is a directory inside a git
        // repository (`check services/pricing`, a CI shard of a monorepo), the repository's,
        // matched against the services' paths from the repository root.
        let located = codeowners::find(root)
            .map(|(path, rel)| (path, rel.to_owned(), String::new()))
            .or_else(|| {
                let (repository, prefix) = enclosing_repository(root)?;
                let (path, rel) = codeowners::find(&repository)?;
                Some((path, rel.to_owned(), prefix))
            });
        let (codeowners, codeowners_prefix) = match located {
            Some((path, rel, prefix)) => {
                let display = path.display().to_string();
                let text = read_text(&path, &display)?;
                let mut parsed = codeowners::parse(&text, &display)?;
                parsed.file = rel;
                (Some(parsed), prefix)
            }
            None => (None, String::new()),
        };
        Ok(Owners {
            declared: config
                .services
                .iter()
                .map(|s| (s.name.clone(), s.team.clone()))
                .collect(),
            components,
            codeowners,
            codeowners_prefix,
        })
    }

    /// Whether no source names any owner (nothing to add to a report).
    pub fn is_empty(&self) -> bool {
        self.declared.is_empty() && self.components.is_empty() && self.codeowners.is_none()
    }

    /// The owners of `services` (each a name and its directory relative to the root).
    pub fn assign<'a>(&self, services: impl IntoIterator<Item = (&'a str, &'a str)>) -> Assignment {
        let services: Vec<(&str, &str)> = services.into_iter().collect();
        let names: BTreeSet<&str> = services.iter().map(|(name, _)| *name).collect();
        let mut matched = vec![false; self.components.len()];
        let owners = services
            .iter()
            .map(|(name, dir)| {
                let by_name = self.components.iter().position(|c| c.name == *name);
                // A descriptor in the service's own directory describes it, unless its
                // Component is named after another discovered service.
                let by_dir = || {
                    self.components
                        .iter()
                        .position(|c| c.dir == *dir && !names.contains(c.name.as_str()))
                };
                let component = by_name.or_else(by_dir);
                if let Some(i) = component {
                    matched[i] = true;
                }
                if let Some(team) = self.declared.get(*name) {
                    return Some(Owner {
                        team: team.clone(),
                        source: OwnerSource::TracegateYaml,
                    });
                }
                if let Some(i) = component {
                    return Some(Owner {
                        team: self.components[i].team.clone(),
                        source: OwnerSource::Backstage,
                    });
                }
                let from_repository = match (self.codeowners_prefix.as_str(), *dir) {
                    ("", dir) => dir.to_owned(),
                    (prefix, ".") => prefix.to_owned(),
                    (prefix, dir) => format!("{prefix}/{dir}"),
                };
                self.codeowners
                    .as_ref()
                    .and_then(|c| c.team_for(&from_repository))
                    .map(|team| Owner {
                        team,
                        source: OwnerSource::Codeowners,
                    })
            })
            .collect();
        let unmatched = self
            .components
            .iter()
            .zip(&matched)
            .filter(|(_, m)| !**m)
            .map(|(c, _)| c.clone())
            .collect();
        Assignment { owners, unmatched }
    }
}

/// The git repository `root` lies inside (the nearest ancestor holding `.git`, not `root`
/// itself), and `root`'s path from it (`/` separators).
fn enclosing_repository(root: &Path) -> Option<(std::path::PathBuf, String)> {
    let root = root.canonicalize().ok()?;
    if std::fs::symlink_metadata(root.join(".git")).is_ok() {
        return None;
    }
    let repository = root
        .ancestors()
        .skip(1)
        .find(|dir| std::fs::symlink_metadata(dir.join(".git")).is_ok())?;
    let prefix: Vec<String> = root
        .strip_prefix(repository)
        .ok()?
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    Some((repository.to_path_buf(), prefix.join("/")))
}

fn read_text(path: &Path, shown: &str) -> Result<String, OwnersError> {
    let unreadable = |reason: String| OwnersError::Unreadable {
        file: shown.to_owned(),
        reason,
    };
    let meta = std::fs::metadata(path).map_err(|e| unreadable(e.to_string()))?;
    if !meta.is_file() {
        return Err(unreadable("not a regular file".into()));
    }
    if meta.len() > crate::check::inputs::discover::MAX_FILE_BYTES {
        return Err(unreadable("larger than 2 MiB".into()));
    }
    let bytes = std::fs::read(path).map_err(|e| unreadable(e.to_string()))?;
    String::from_utf8(bytes).map_err(|_| unreadable("not valid UTF-8".into()))
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
