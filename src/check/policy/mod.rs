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
mod tests {
    use super::*;
    use crate::check::model::{Language, ScannedService, Service};
    use crate::check::policy::config;
    use time::macros::date;

    fn finding(rule: &str, severity: Severity, file: &str, line: u32) -> Finding {
        Finding {
            rule: rule.into(),
            severity,
            message: format!("{rule} fired"),
            file: Some(file.into()),
            line: Some(line),
            help: "fix it".into(),
        }
    }

    fn scan() -> Scan {
        Scan {
            services: vec![
                ScannedService {
                    service: Service {
                        name: "billing".into(),
                        path: "services/billing".into(),
                        language: Language::Go,
                    },
                    analysed: true,
                    not_evaluated: vec![],
                    findings: vec![
                        finding("TG102", Severity::Error, "services/billing/main.go", 12),
                        finding("TG104", Severity::Warning, "services/billing/main.go", 30),
                    ],
                },
                ScannedService {
                    service: Service {
                        name: "pricing".into(),
                        path: "services/pricing".into(),
                        language: Language::Rust,
                    },
                    analysed: true,
                    not_evaluated: vec![],
                    findings: vec![finding(
                        "TG301",
                        Severity::Note,
                        "services/pricing/src/main.rs",
                        4,
                    )],
                },
                ScannedService {
                    service: Service {
                        name: "legacy".into(),
                        path: "services/legacy".into(),
                        language: Language::Unknown,
                    },
                    analysed: false,
                    not_evaluated: vec![],
                    findings: vec![],
                },
            ],
            repository_findings: vec![finding("TG201", Severity::Error, "deploy/ingress.yaml", 3)],
            descriptor_files: Vec::new(),
        }
    }

    fn meta(id: &str, severity: Severity) -> RuleMeta {
        RuleMeta {
            id: id.into(),
            title: id.into(),
            severity,
            languages: vec![],
            help: format!("help for {id}"),
            what: String::new(),
            why: String::new(),
            fix: String::new(),
            example: String::new(),
            docs: String::new(),
        }
    }

    fn cfg(text: &str) -> ValidConfig {
        config::parse(text, "tracegate.yaml", &|id| id.starts_with("TG")).unwrap()
    }

    fn run(text: &str, fail_on: Severity, fail_on_unknown: bool) -> Outcome {
        let options = PolicyOptions {
            fail_on,
            fail_on_unknown,
            today: date!(2026 - 11 - 25),
        };
        let rules = [
            meta(WAIVER_EXPIRED, Severity::Warning),
            meta(WAIVER_UNUSED, Severity::Warning),
        ];
        apply(scan(), &cfg(text), &rules, &options)
    }

    fn verdicts(o: &Outcome) -> Vec<Verdict> {
        o.report.services.iter().map(|s| s.verdict).collect()
    }

    #[test]
    fn without_config_errors_fail_and_unknown_is_neither_pass_nor_fail() {
        let o = run("", Severity::Error, false);
        assert_eq!(
            verdicts(&o),
            [Verdict::Fail, Verdict::Pass, Verdict::Unknown]
        );
        assert_eq!(o.status, ExitStatus::PolicyFailed);
        let s = o.report.summary;
        assert_eq!((s.services, s.passing, s.failing), (3, 1, 1));
        assert_eq!(
            (s.findings.error, s.findings.warning, s.findings.note),
            (2, 1, 1)
        );
    }

    #[test]
    fn fail_on_lowers_the_bar() {
        let text = "rules: {TG102: warning, TG201: off}\n";
        let o = run(text, Severity::Error, false);
        assert_eq!(o.status, ExitStatus::Passed);
        assert_eq!(verdicts(&o)[0], Verdict::Pass);
        let o = run(text, Severity::Warning, false);
        assert_eq!(o.status, ExitStatus::PolicyFailed);
        assert_eq!(verdicts(&o)[..2], [Verdict::Fail, Verdict::Pass]);
        let o = run(text, Severity::Note, false);
        assert_eq!(verdicts(&o)[..2], [Verdict::Fail, Verdict::Fail]);
    }

    #[test]
    fn unknown_fails_the_run_only_when_asked() {
        let text = "rules: {TG102: off, TG201: off}\n";
        assert_eq!(run(text, Severity::Error, false).status, ExitStatus::Passed);
        assert_eq!(
            run(text, Severity::Error, true).status,
            ExitStatus::PolicyFailed
        );
    }

    #[test]
    fn overrides_change_severity_and_off_drops() {
        let o = run(
            "rules:\n  TG104: error\n  TG301: off\n",
            Severity::Error,
            false,
        );
        let billing = &o.report.services[0].findings;
        assert_eq!(billing[1].severity, Severity::Error);
        assert!(o.report.services[1].findings.is_empty());
    }

    #[test]
    fn live_waivers_suppress_by_service_and_by_path() {
        let text = "\
waivers:
  - rule: TG102
    service: billing
    reason: r
    expires: 2026-12-31
  - rule: TG201
    path: deploy
    reason: r
    expires: 2026-11-25
";
        let o = run(text, Severity::Error, false);
        assert_eq!(o.report.services[0].findings.len(), 1);
        assert!(o.report.repository_findings.is_empty());
        assert_eq!(o.status, ExitStatus::Passed);
    }

    #[test]
    fn the_waivers_that_suppressed_a_finding_are_listed_on_its_service() {
        let text = "\
waivers:
  - rule: TG102
    service: billing
    reason: migrating to the batch exporter
    expires: 2026-12-08
  - rule: TG102
    path: services/billing
    reason: the same finding, by path
    expires: 2026-12-31
  - rule: TG104
    service: billing
    reason: expired, so it suppresses nothing and is listed nowhere
    expires: 2026-11-01
  - rule: TG201
    path: deploy
    reason: a repository finding, which no service lists
    expires: 2026-12-31
";
        let o = run(text, Severity::Error, false);
        let billing = &o.report.services[0];
        assert_eq!(
            billing.waived,
            [
                WaiverNote {
                    rule: "TG102".into(),
                    reason: "migrating to the batch exporter".into(),
                    expires: "2026-12-08".into(),
                },
                WaiverNote {
                    rule: "TG102".into(),
                    reason: "the same finding, by path".into(),
                    expires: "2026-12-31".into(),
                },
            ]
        );
        assert!(o.report.services[1].waived.is_empty());
        let json = serde_json::to_value(&o.report).expect("serialises");
        assert_eq!(json["services"][0]["waived"][0]["expires"], "2026-12-08");
        assert!(json["services"][1].get("waived").is_none());
        assert!(json["services"][0].get("team").is_none());
        assert!(json.get("declared").is_none());
    }

    #[test]
    fn expired_waivers_do_not_suppress_and_are_findings() {
        let text = "\
waivers:
  - rule: TG102
    service: billing
    reason: vendor SDK upgrade
    expires: 2026-11-24
";
        let o = run(text, Severity::Error, false);
        assert_eq!(o.report.services[0].findings.len(), 2);
        let f = &o.report.repository_findings[1];
        assert_eq!(f.rule, WAIVER_EXPIRED);
        assert_eq!(f.file.as_deref(), Some("tracegate.yaml"));
        assert_eq!(f.line, Some(2));
        assert_eq!(f.help, "help for TG290");
        assert!(f.message.contains("expired on 2026-11-24"), "{}", f.message);
    }

    #[test]
    fn waivers_that_match_nothing_are_findings() {
        let text = "\
rules:
  TG291: error
waivers:
  - rule: TG102
    service: pricing
    reason: r
    expires: 2027-01-01
  - rule: TG102
    path: services/bill
    reason: component prefix, not string prefix
    expires: 2027-01-01
";
        let o = run(text, Severity::Error, false);
        let unused: Vec<_> = o
            .report
            .repository_findings
            .iter()
            .filter(|f| f.rule == WAIVER_UNUSED)
            .collect();
        assert_eq!(unused.len(), 2);
        assert_eq!(unused[0].line, Some(4));
        assert_eq!(unused[1].line, Some(8));
        assert_eq!(unused[0].severity, Severity::Error);
    }

    #[test]
    fn a_waiver_naming_no_service_says_so() {
        let text = "\
waivers:
  - rule: TG102
    service: biling
    reason: typo
    expires: 2027-01-01
  - rule: TG102
    service: pricing
    reason: no such finding
    expires: 2027-01-01
";
        let o = run(text, Severity::Error, false);
        let messages: Vec<&str> = o
            .report
            .repository_findings
            .iter()
            .filter(|f| f.rule == WAIVER_UNUSED)
            .map(|f| f.message.as_str())
            .collect();
        assert_eq!(messages.len(), 2);
        assert!(
            messages[0].ends_with("no service has that name; fix the name or remove the waiver"),
            "{}",
            messages[0]
        );
        assert!(
            messages[1].ends_with("matches no finding; remove it"),
            "{}",
            messages[1]
        );
    }

    #[test]
    fn path_prefixes_match_whole_components() {
        assert!(under("services/billing/main.go", "services/billing"));
        assert!(under("services/billing", "services/billing"));
        assert!(!under("services/billing2/main.go", "services/billing"));
        assert!(under("anything", "."));
    }

    #[test]
    fn services_sharing_a_name_are_one_finding_per_name() {
        let options = PolicyOptions {
            fail_on: Severity::Error,
            fail_on_unknown: false,
            today: date!(2026 - 11 - 25),
        };
        let rules = [meta(DUPLICATE_NAME, Severity::Warning)];
        let mut twice = scan();
        twice.services[1].service.name = "billing".into();
        let o = apply(twice, &cfg(""), &rules, &options);
        let dup: Vec<&Finding> = o
            .report
            .repository_findings
            .iter()
            .filter(|f| f.rule == DUPLICATE_NAME)
            .collect();
        assert_eq!(dup.len(), 1, "{dup:?}");
        assert_eq!(dup[0].severity, Severity::Warning);
        assert!(
            dup[0]
                .message
                .contains("2 services are named `billing` (services/billing, services/pricing)"),
            "{}",
            dup[0].message
        );
        // Distinct names: nothing; and the rule can be turned off.
        let o = apply(scan(), &cfg(""), &rules, &options);
        assert!(o
            .report
            .repository_findings
            .iter()
            .all(|f| f.rule != DUPLICATE_NAME));
        let mut twice = scan();
        twice.services[1].service.name = "billing".into();
        let o = apply(twice, &cfg("rules: {TG292: off}\n"), &rules, &options);
        assert!(o
            .report
            .repository_findings
            .iter()
            .all(|f| f.rule != DUPLICATE_NAME));
    }
}
