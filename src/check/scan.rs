//! `check`'s engine as one pipeline: read the tree ([`inputs`](crate::check::inputs)), assemble
//! services ([`assembly`](crate::check::assembly)), evaluate the rules
//! ([`evaluation`](crate::check::evaluation)). The policy comes after
//! ([`pipeline`](crate::check::pipeline)).

use std::path::Path;

use crate::check::assembly;
use crate::check::error::CheckError;
use crate::check::evaluation::rules::RuleSet;
use crate::check::evaluation::{assess, repository};
use crate::check::inputs::{self, discover::Parsed};
use crate::check::model::Scan;

pub use crate::check::assembly::DeclaredService;

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
    /// `tracegate.yaml`'s `exclude:` entries (normalised paths and globs): nothing under them
    /// is read.
    pub exclude: Vec<String>,
    /// Rendered Kubernetes manifests from outside the tree (`check --manifests FILE|-`).
    pub manifests: Vec<inputs::ExtraManifests>,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            rules: RuleSet::builtin(),
            declared_services: Vec::new(),
            config_file: None,
            prefilter: true,
            exclude: Vec::new(),
            manifests: Vec::new(),
        }
    }
}

/// Scan a repository. Errors (exit code 2) name the file and line.
pub fn scan(root: &Path, options: &ScanOptions) -> Result<Scan, CheckError> {
    let interest = if options.prefilter {
        options.rules.interest()
    } else {
        options.rules.interest().without_prefilter()
    };
    let exclude = inputs::exclude::ExcludeSet::new(&options.exclude).map_err(|reason| {
        CheckError::Exclude {
            config: options
                .config_file
                .clone()
                .unwrap_or_else(|| "tracegate.yaml".into()),
            reason,
        }
    })?;
    let read = inputs::read(root, &interest, &exclude, &options.manifests)?;
    // Backstage descriptors, for owners: read as Kubernetes YAML by the walk (a regular file;
    // a symbolic link is never followed).
    let descriptor_files: Vec<String> = read
        .files
        .iter()
        .filter(|f| {
            matches!(f.parsed, Parsed::K8s(_))
                && crate::check::policy::owners::backstage::is_descriptor(
                    f.rel.rsplit('/').next().unwrap_or_default(),
                )
        })
        .map(|f| f.rel.clone())
        .collect();
    let (mut services, repo) = assembly::assemble(
        root,
        read.files,
        &read.dirs,
        &options.declared_services,
        options.config_file.as_deref(),
    )?;
    // Per service: deferred parses, dead code, rules (on all cores); then the repository.
    let mut scanned = assess::services(root, &mut services, &options.rules, &interest);
    scanned.sort_by(|a, b| {
        (a.service.path.as_str(), a.service.name.as_str())
            .cmp(&(b.service.path.as_str(), b.service.name.as_str()))
    });
    let mut repository_findings = repository::repository(&options.rules, &services, &repo);
    assess::sort_findings(&mut repository_findings);
    assembly::work::drop_in_background(services);
    Ok(Scan {
        services: scanned,
        infrastructure: repo.infrastructure,
        repository_findings,
        descriptor_files,
    })
}
