//! The catalog: every service counted in the metric's denominator, with its owner and its
//! static verdict.
//!
//! Sources: `check`'s discovery and policy run over each path (a repository, or a monorepo),
//! services declared in `tracegate.yaml` and in Backstage `catalog-info.yaml` files
//! (`kind: Component`; a declared service no discovery finds counts as `not_found`), or the
//! `check --format json` shards of a CI matrix ([`ingest`]). Owners: `tracegate.yaml`, then
//! Backstage `spec.owner`, then `CODEOWNERS` (last matching rule wins, as GitHub does).

pub mod ingest;
pub mod merge;

use std::path::{Path, PathBuf};

use time::Date;

use super::model::Catalog;
use super::CoverageError;
use crate::check::model::Severity;
use crate::check::pipeline::{self, PipelineOptions};
use crate::check::policy::PolicyOptions;
use crate::check::RuleSet;
use merge::RepositoryReport;

/// How the catalog is built from code.
#[derive(Clone, Debug)]
pub struct CatalogOptions {
    /// Rules in effect (built-in plus `--rules DIR`).
    pub rules: RuleSet,
    /// Lowest severity that fails a service (as `check --fail-on`).
    pub fail_on: Severity,
    /// The date waivers expire against.
    pub today: Date,
}

/// Progress of a scan over several paths, for the caller to show (the library never prints).
#[derive(Clone, Debug)]
pub enum CatalogProgress {
    /// Scanning path `index` (0-based) of `total`.
    Scanning {
        index: usize,
        total: usize,
        path: PathBuf,
    },
}

/// Run `check`'s discovery and policy over each of `paths` (each read with its own
/// `tracegate.yaml`) and gather the services, owners and verdicts.
///
/// Each path is checked exactly as `tracegate check PATH --fail-on …` would
/// ([`crate::check::pipeline::run`]); its repository label is the directory's last component
/// (of the canonical path for `.`). A path without any service, or with an input `check`
/// refuses (a malformed manifest, `tracegate.yaml`, `CODEOWNERS` or `catalog-info.yaml`), is
/// an error naming it.
pub fn scan(
    paths: &[PathBuf],
    options: &CatalogOptions,
    progress: &mut dyn FnMut(CatalogProgress),
) -> Result<Catalog, CoverageError> {
    if paths.is_empty() {
        return Err(CoverageError::Catalog(
            "no path to scan: give one or more repository directories".into(),
        ));
    }
    let mut repositories = Vec::with_capacity(paths.len());
    for (index, path) in paths.iter().enumerate() {
        progress(CatalogProgress::Scanning {
            index,
            total: paths.len(),
            path: path.clone(),
        });
        let run = pipeline::run(
            path,
            PipelineOptions {
                rules: options.rules.clone(),
                config: None,
                prefilter: true,
                manifests: Vec::new(),
                policy: PolicyOptions {
                    fail_on: options.fail_on,
                    fail_on_unknown: false,
                    today: options.today,
                },
            },
        )
        .map_err(|e| CoverageError::Catalog(e.to_string()))?;
        repositories.push(RepositoryReport {
            label: label_of_dir(path),
            report: run.outcome.report,
            fail_on: options.fail_on,
        });
    }
    let sources = paths.iter().map(|p| p.display().to_string()).collect();
    Ok(merge::merge(repositories, sources))
}

/// Read the `check --format json` shards of a CI matrix into one catalog: the same catalog as
/// [`scan`] over every shard's path at once.
///
/// Each file's repository label is its name without `.json` (name shards after their
/// repositories: `payments.json`). The `--fail-on` each shard was made with is inferred from
/// its verdicts (it decides which rules count as failing), and a shard does not say where its
/// teams came from: `owner_source` is left empty, the only difference from [`scan`].
pub fn ingest(files: &[PathBuf]) -> Result<Catalog, CoverageError> {
    if files.is_empty() {
        return Err(CoverageError::Catalog(
            "no check report to ingest: give one or more `tracegate check --format json` files"
                .into(),
        ));
    }
    let repositories = files
        .iter()
        .map(|f| ingest::read_shard(f))
        .collect::<Result<Vec<_>, _>>()?;
    let sources = files.iter().map(|p| p.display().to_string()).collect();
    Ok(merge::merge(repositories, sources))
}

/// A scanned directory's repository label: its last component (`.` and `..` resolved).
pub fn label_of_dir(path: &Path) -> String {
    let named = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned());
    named(path)
        .filter(|n| n != "." && n != "..")
        .or_else(|| path.canonicalize().ok().as_deref().and_then(named))
        .unwrap_or_else(|| path.display().to_string())
}

#[cfg(test)]
mod tests;
