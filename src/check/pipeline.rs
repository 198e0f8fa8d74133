//! `check`'s whole pipeline over one repository, as a library function: the policy file,
//! the scan, the owners, the policy. `tracegate check` and `coverage`'s catalog both run it,
//! so a repository gets the same verdicts, waivers and teams from either.

use std::path::{Path, PathBuf};

use super::{CheckError, RuleSet};
use crate::check::model::{DeclarationSource, DeclaredNotFound, RuleMeta};
use crate::check::policy::config::{self, ConfigError, ValidConfig};
use crate::check::policy::owners::{Owners, OwnersError};
use crate::check::policy::{self, Outcome, PolicyOptions};

/// How one repository is checked.
#[derive(Clone, Debug)]
pub struct PipelineOptions {
    /// Rules (built-in plus `--rules DIR`), before the policy file turns any off.
    pub rules: RuleSet,
    /// `--config FILE`; `None`: `ROOT/tracegate.yaml` when it exists.
    pub config: Option<PathBuf>,
    /// The source pre-filter (`--no-prefilter` turns it off).
    pub prefilter: bool,
    /// `--fail-on`, `--fail-on-unknown`, the date waivers expire against.
    pub policy: PolicyOptions,
    /// `--manifests FILE|-`: rendered Kubernetes manifests read beside the tree's.
    pub manifests: Vec<crate::check::inputs::ExtraManifests>,
}

/// What one run produced.
#[derive(Clone, Debug)]
pub struct CheckRun {
    /// The report (with teams, waivers and declared services) and the exit status.
    pub outcome: Outcome,
    /// The rules in effect, for renderers.
    pub rules: Vec<RuleMeta>,
}

/// Why a repository could not be checked (exit 2): one line naming the file, and the line
/// where known (a policy file may list several problems, one line each).
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The policy file.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The scan (a malformed manifest, an unreadable root…).
    #[error(transparent)]
    Scan(#[from] CheckError),
    /// `CODEOWNERS` or a `catalog-info.yaml`.
    #[error(transparent)]
    Owners(#[from] OwnersError),
    /// Nothing to check: a gate that finds nothing must not pass.
    #[error("{}: no service found{}; nothing to check", .0.display(), why_none(.1))]
    NoService(PathBuf, Vec<String>),
}

/// Why a scan found no service: nothing at all, or only infrastructure (named).
fn why_none(infrastructure: &[String]) -> String {
    if infrastructure.is_empty() {
        " (no application manifest, Kubernetes workload or service declared in tracegate.yaml)"
            .to_owned()
    } else {
        format!(
            ", only infrastructure, which is listed and never judged: {}",
            infrastructure.join(", ")
        )
    }
}

/// Check the repository at `root`.
pub fn run(root: &Path, options: PipelineOptions) -> Result<CheckRun, PipelineError> {
    let config = load_config(root, options.config.as_deref(), &options.rules)?;
    // Rules turned off are not evaluated at all (TG102 runs when TG101 is off) nor reported.
    let scan_options = super::ScanOptions {
        prefilter: options.prefilter,
        manifests: options.manifests,
        ..config.scan_options(options.rules)
    };
    let rules: Vec<RuleMeta> = scan_options.rules.meta().cloned().collect();
    let scan = crate::check::scan(root, &scan_options).map_err(|e| e.under_root(root))?;
    // A mistyped path or a build context without the sources would otherwise pass.
    if scan.services.is_empty() {
        return Err(PipelineError::NoService(
            root.to_path_buf(),
            scan.infrastructure.iter().map(|i| i.name.clone()).collect(),
        ));
    }
    let owners = Owners::load(root, &config, &scan.descriptor_files)?;
    let mut outcome = policy::apply(scan, &config, &rules, &options.policy);
    if !owners.is_empty() {
        let report = &mut outcome.report;
        let assignment = owners.assign(
            report
                .services
                .iter()
                .map(|s| (s.name.as_str(), s.path.as_str())),
        );
        for (service, owner) in report.services.iter_mut().zip(assignment.owners) {
            if let Some(owner) = owner {
                service.team = Some(owner.team);
                service.owner_source = Some(owner.source);
            }
        }
        report.declared = assignment
            .unmatched
            .into_iter()
            .map(|c| DeclaredNotFound {
                name: c.name,
                team: Some(c.team),
                source: DeclarationSource::Backstage,
                file: c.file,
            })
            .collect();
    }
    Ok(CheckRun { outcome, rules })
}

/// `explicit` (`--config FILE`), else `ROOT/tracegate.yaml` when it exists, else the empty
/// policy. Findings name the file relative to the root when it lies inside it; errors name it
/// as the user can open it.
pub fn load_config(
    root: &Path,
    explicit: Option<&Path>,
    rules: &RuleSet,
) -> Result<ValidConfig, ConfigError> {
    let known = |id: &str| rules.get(id).is_some();
    let (path, display) = match explicit {
        Some(path) => {
            let display = path
                .strip_prefix(root)
                .map(|p| p.to_string_lossy().replace('\\', "/"))
                .unwrap_or_else(|_| path.display().to_string());
            (path.to_owned(), display)
        }
        None => {
            let path = root.join(config::FILE_NAME);
            // Only an absent file means "no policy"; a directory or FIFO of that name is an
            // error (config::load says so) rather than silently ignored.
            if std::fs::symlink_metadata(&path).is_err() {
                return Ok(ValidConfig::default());
            }
            (path, config::FILE_NAME.to_owned())
        }
    };
    let shown = path.display().to_string();
    let mut cfg = config::load(&path, &display, &known).map_err(|mut err| {
        err.file.clone_from(&shown);
        err
    })?;
    cfg.check_paths(root, &shown)?;
    cfg.file = Some(display);
    Ok(cfg)
}
