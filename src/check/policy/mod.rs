//! Apply `tracegate.yaml` and `--fail-on` to what the engine found: severity overrides,
//! waivers (stale ones become findings), verdicts, the summary, and the run's exit status.
//!
//! Order: overrides first (`off` drops a rule's findings), then waivers. A waiver matches a
//! finding of its rule in its service, or in a file under its path. An expired waiver
//! suppresses nothing and is reported as `TG290`; a waiver that matches nothing is `TG291`.
//! Both point at the waiver's line in the config file and are repository findings.

pub mod config;
pub mod owners;

use time::Date;

use crate::check::model::{
    CheckReport, Finding, RuleMeta, Scan, ServiceReport, Severity, SeverityCounts, Summary,
    Verdict, WaiverNote,
};
use crate::check::policy::config::{ValidConfig, Waiver, WaiverScope};
use crate::exit::ExitStatus;

/// Rule ID of "a waiver has expired".
pub const WAIVER_EXPIRED: &str = "TG290";
/// Rule ID of "a waiver matches nothing".
pub const WAIVER_UNUSED: &str = "TG291";
/// Rule ID: two or more services share a name.
pub const DUPLICATE_NAME: &str = "TG292";

/// How the run is judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PolicyOptions {
    /// Lowest severity that fails a service (and the run).
    pub fail_on: Severity,
    /// Whether a service whose stack is not analysed fails the run.
    pub fail_on_unknown: bool,
    /// Today's date, for waiver expiry.
    pub today: Date,
}

/// The report and what it means for the process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The report every renderer consumes.
    pub report: CheckReport,
    /// `Passed` or `PolicyFailed`.
    pub status: ExitStatus,
}

/// Apply `config` and `options` to `scan`. `rules` gives TG290/TG291's default severity and
/// help text (and nothing else is looked up in it).
pub fn apply(
    scan: Scan,
    config: &ValidConfig,
    rules: &[RuleMeta],
    options: &PolicyOptions,
) -> Outcome {
    let mut used = vec![false; config.waivers.len()];
    let live: Vec<bool> = config
        .waivers
        .iter()
        .map(|w| w.expires >= options.today)
        .collect();

    let mut services = Vec::with_capacity(scan.services.len());
    for scanned in scan.services {
        let svc = scanned.service;
        let mut waived = Vec::new();
        let findings = filter(
            scanned.findings,
            config,
            &mut used,
            &mut waived,
            &live,
            |w, f| match &w.scope {
                WaiverScope::Service(name) => *name == svc.name,
                WaiverScope::Path(prefix) => under(f.file.as_deref().unwrap_or(&svc.path), prefix),
            },
        );
        let fails = findings.iter().any(|f| f.severity >= options.fail_on);
        let verdict = if fails {
            Verdict::Fail
        } else if scanned.analysed {
            Verdict::Pass
        } else {
            Verdict::Unknown
        };
        waived.sort_unstable();
        waived.dedup();
        services.push(ServiceReport {
            name: svc.name,
            path: svc.path,
            team: None,
            owner_source: None,
            language: svc.language,
            verdict,
            findings,
            waived: waived
                .into_iter()
                .map(|i| waiver_note(&config.waivers[i]))
                .collect(),
            not_evaluated: scanned.not_evaluated,
        });
    }

    let mut repository_findings = filter(
        scan.repository_findings,
        config,
        &mut used,
        &mut Vec::new(),
        &live,
        |w, f| match &w.scope {
            WaiverScope::Service(_) => false,
            WaiverScope::Path(prefix) => f.file.as_deref().is_some_and(|file| under(file, prefix)),
        },
    );

    for (i, waiver) in config.waivers.iter().enumerate() {
        let (rule, message) = if !live[i] {
            (
                WAIVER_EXPIRED,
                format!(
                    "waiver for {} on {} expired on {} and no longer suppresses findings (reason: {})",
                    waiver.rule,
                    describe(waiver),
                    waiver.expires,
                    waiver.reason
                ),
            )
        } else if !used[i] {
            // A typo in the service name is the likelier cause than a fixed finding: say so.
            let unknown_service = match &waiver.scope {
                WaiverScope::Service(name) => !services.iter().any(|s| s.name == *name),
                WaiverScope::Path(_) => false,
            };
            let advice = if unknown_service {
                "no service has that name; fix the name or remove the waiver"
            } else {
                "remove it"
            };
            (
                WAIVER_UNUSED,
                format!(
                    "waiver for {} on {} matches no finding; {advice}",
                    waiver.rule,
                    describe(waiver)
                ),
            )
        } else {
            continue;
        };
        if let Some(finding) = policy_finding(rule, message, waiver, config, rules) {
            repository_findings.push(finding);
        }
    }

    repository_findings.extend(duplicate_names(&services, config, rules));

    let summary = summarise(&services, &repository_findings);
    let failed = services.iter().any(|s| s.verdict == Verdict::Fail)
        || repository_findings
            .iter()
            .any(|f| f.severity >= options.fail_on)
        || (options.fail_on_unknown && services.iter().any(|s| s.verdict == Verdict::Unknown));
    Outcome {
        report: CheckReport {
            tool: "tracegate".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            services,
            repository_findings,
            infrastructure: scan.infrastructure,
            declared: Vec::new(),
            summary,
        },
        status: if failed {
            ExitStatus::PolicyFailed
        } else {
            ExitStatus::Passed
        },
    }
}

/// A waiver as reports list it.
fn waiver_note(waiver: &Waiver) -> WaiverNote {
    let day = waiver.expires;
    WaiverNote {
        rule: waiver.rule.clone(),
        reason: waiver.reason.clone(),
        expires: format!(
            "{:04}-{:02}-{:02}",
            day.year(),
            u8::from(day.month()),
            day.day()
        ),
    }
}

/// Apply overrides, then drop findings covered by a live waiver (marking it used, and
/// adding its index to `waived`).
fn filter(
    findings: Vec<Finding>,
    config: &ValidConfig,
    used: &mut [bool],
    waived_by: &mut Vec<usize>,
    live: &[bool],
    covers: impl Fn(&Waiver, &Finding) -> bool,
) -> Vec<Finding> {
    let mut kept = Vec::with_capacity(findings.len());
    for mut finding in findings {
        match config.overrides.get(&finding.rule) {
            Some(None) => continue,
            Some(Some(severity)) => finding.severity = *severity,
            None => {}
        }
        let mut waived = false;
        for (i, waiver) in config.waivers.iter().enumerate() {
            if waiver.rule == finding.rule && covers(waiver, &finding) && live[i] {
                used[i] = true;
                waived = true;
                waived_by.push(i);
            }
        }
        if !waived {
            kept.push(finding);
        }
    }
    kept
}

fn policy_finding(
    rule: &str,
    message: String,
    waiver: &Waiver,
    config: &ValidConfig,
    rules: &[RuleMeta],
) -> Option<Finding> {
    let meta = rules.iter().find(|m| m.id == rule);
    let severity = match config.overrides.get(rule) {
        Some(None) => return None,
        Some(Some(severity)) => *severity,
        None => meta.map_or(Severity::Warning, |m| m.severity),
    };
    Some(Finding {
        rule: rule.into(),
        severity,
        message,
        file: config.file.clone(),
        line: waiver.line,
        help: meta.map_or_else(
            || "renew the waiver with a new reason and date, or remove it".into(),
            |m| m.help.clone(),
        ),
    })
}

/// TG292: services sharing a name, one finding per name. A waiver or a coverage line by name
/// cannot tell them apart (a `service:` waiver covers all of them).
fn duplicate_names(
    services: &[ServiceReport],
    config: &ValidConfig,
    rules: &[RuleMeta],
) -> Vec<Finding> {
    let meta = rules.iter().find(|m| m.id == DUPLICATE_NAME);
    let severity = match config.overrides.get(DUPLICATE_NAME) {
        Some(None) => return Vec::new(),
        Some(Some(severity)) => *severity,
        None => meta.map_or(Severity::Warning, |m| m.severity),
    };
    let mut by_name: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for s in services {
        by_name.entry(&s.name).or_default().push(&s.path);
    }
    by_name
        .into_iter()
        .filter(|(_, paths)| paths.len() > 1)
        .map(|(name, paths)| Finding {
            rule: DUPLICATE_NAME.into(),
            severity,
            message: format!(
                "{} services are named `{name}` ({}): waivers and reports by name cannot tell them apart",
                paths.len(),
                paths.join(", ")
            ),
            file: None,
            line: None,
            help: meta.map_or_else(
                || "give each service its own name".into(),
                |m| m.help.clone(),
            ),
        })
        .collect()
}

fn describe(waiver: &Waiver) -> String {
    match &waiver.scope {
        WaiverScope::Service(name) => format!("service `{name}`"),
        WaiverScope::Path(path) => format!("path `{path}`"),
    }
}

/// Whether `path` is `prefix` or inside it (whole components; `.` contains everything).
pub fn under(path: &str, prefix: &str) -> bool {
    prefix == "."
        || path == prefix
        || path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('/'))
}

fn summarise(services: &[ServiceReport], repository: &[Finding]) -> Summary {
    let mut findings = SeverityCounts::default();
    for f in services.iter().flat_map(|s| &s.findings).chain(repository) {
        match f.severity {
            Severity::Error => findings.error += 1,
            Severity::Warning => findings.warning += 1,
            Severity::Note => findings.note += 1,
        }
    }
    Summary {
        services: services.len(),
        passing: services
            .iter()
            .filter(|s| s.verdict == Verdict::Pass)
            .count(),
        failing: services
            .iter()
            .filter(|s| s.verdict == Verdict::Fail)
            .count(),
        findings,
    }
}

#[cfg(test)]
mod tests;
