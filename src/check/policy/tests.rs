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
        infrastructure: Vec::new(),
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
        help_by_language: Default::default(),
        example_by_language: Default::default(),
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
