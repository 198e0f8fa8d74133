//! `tracegate.yaml`: parsing, validation and the scan options it gives.

use super::*;

fn known(id: &str) -> bool {
    matches!(
        id,
        "TG102" | "TG104" | "TG201" | "TG290" | "TG291" | "TG301"
    )
}

const GOOD: &str = "\
# tracegate policy
rules:
  TG104: warning
  TG301: off
services:
  - name: legacy-reports
    path: ./services/legacy-reports/
    team: data
    language: python
waivers:
  - rule: TG102
    service: legacy-reports
    reason: migrating, BILL-2231
    expires: 2026-12-31
  -   rule: TG201
      path: deploy/legacy
      reason: \"ingress owned by the platform team\"
      expires: '2027-01-15'
";

#[test]
fn a_good_config_validates() {
    let cfg = parse(GOOD, "tracegate.yaml", &known).unwrap();
    assert_eq!(cfg.overrides["TG104"], Some(Severity::Warning));
    assert_eq!(cfg.overrides["TG301"], None);
    assert_eq!(cfg.services[0].path, "services/legacy-reports");
    assert_eq!(cfg.services[0].language, Some(Language::Python));
    assert_eq!(cfg.waivers.len(), 2);
    assert_eq!(cfg.waivers[0].line, Some(11));
    assert_eq!(cfg.waivers[1].line, Some(15));
    assert_eq!(
        cfg.waivers[1].scope,
        WaiverScope::Path("deploy/legacy".into())
    );
    assert_eq!(cfg.waivers[1].expires.to_string(), "2027-01-15");
}

#[test]
fn scan_options_leave_out_the_rules_turned_off_and_declare_the_services() {
    let cfg = parse(GOOD, "tracegate.yaml", &known).unwrap();
    let options = cfg.scan_options(RuleSet::builtin());
    assert!(options.rules.rule("TG301").is_none(), "TG301 is off");
    assert!(
        options.rules.rule("TG104").is_some(),
        "TG104 is only a warning"
    );
    assert!(options.rules.rule("TG101").is_some());
    assert_eq!(options.declared_services.len(), 1);
    assert_eq!(options.declared_services[0].name, "legacy-reports");
    assert_eq!(options.declared_services[0].path, "services/legacy-reports");
    assert_eq!(options.config_file.as_deref(), Some("tracegate.yaml"));
    assert!(options.prefilter);
}

#[test]
fn an_empty_file_is_the_default() {
    let cfg = parse("# nothing yet\n", "tracegate.yaml", &known).unwrap();
    assert!(cfg.overrides.is_empty() && cfg.waivers.is_empty());
}

#[test]
fn unknown_keys_are_errors_with_their_line() {
    let text = "rules:\n  TG102: note\nwaivers:\n  - rule: TG102\n    service: a\n    reasn: x\n    expires: 2026-01-01\n";
    let err = parse(text, "tracegate.yaml", &known).unwrap_err();
    let shown = err.to_string();
    assert!(shown.starts_with("tracegate.yaml:6:"), "{shown}");
    assert!(shown.contains("unknown field `reasn`"), "{shown}");
    let err = parse("rulez: {}\n", "cfg.yaml", &known).unwrap_err();
    assert!(err.to_string().starts_with("cfg.yaml:1:"), "{err}");
}

#[test]
fn a_bad_severity_is_an_error_with_its_line() {
    let err = parse("rules:\n  TG102: fatal\n", "t.yaml", &known).unwrap_err();
    assert!(err.to_string().starts_with("t.yaml:2:"), "{err}");
}

#[test]
fn every_validation_problem_is_collected_with_its_line() {
    let text = "\
rules:
  TG102: error
  TG999: off
waivers:
  - rule: TG777
    service: a
    reason: x
    expires: 2026-01-01
  - rule: TG102
    reason: \"  \"
    expires: next week
  - rule: TG102
    service: a
    path: b
    reason: x
    expires: 2026-01-01
services:
  - name: a
    path: ../elsewhere
    team: t
  - name: a
    path: a
    team: ''
";
    let err = parse(text, "tracegate.yaml", &known).unwrap_err();
    let lines: Vec<_> = err.problems.iter().map(|p| p.line).collect();
    let shown = err.to_string();
    assert_eq!(err.problems.len(), 9, "{shown}");
    assert!(
        shown.contains("tracegate.yaml:3: rules: unknown rule ID `TG999`"),
        "{shown}"
    );
    assert!(
        shown.contains("tracegate.yaml:5: waivers[0].rule: unknown rule ID `TG777`"),
        "{shown}"
    );
    assert!(
        shown.contains("tracegate.yaml:9: waivers[1]: missing `service` or `path`"),
        "{shown}"
    );
    assert!(
        shown.contains("tracegate.yaml:10: waivers[1].reason: must not be empty"),
        "{shown}"
    );
    assert!(
        shown.contains("tracegate.yaml:11: waivers[1].expires: `next week` is not a date"),
        "{shown}"
    );
    assert!(
        shown.contains("tracegate.yaml:12: waivers[2]: give either"),
        "{shown}"
    );
    assert!(
        shown.contains("tracegate.yaml:19: services[0].path: `../elsewhere` must not leave"),
        "{shown}"
    );
    assert!(
        shown.contains("tracegate.yaml:21: services[1].name: service `a` is declared twice"),
        "{shown}"
    );
    assert!(
        shown.contains("tracegate.yaml:23: services[1].team: must not be empty"),
        "{shown}"
    );
    let mut sorted = lines.clone();
    sorted.sort();
    assert_eq!(lines, sorted);
}

#[test]
fn flow_style_falls_back_to_the_section_line() {
    let err = parse("\nrules: {TG102: off, TG999: note}\n", "t.yaml", &known).unwrap_err();
    assert_eq!(err.problems[0].line, Some(2));
}

#[test]
fn missing_required_waiver_fields_are_errors() {
    let err = parse(
        "waivers:\n  - rule: TG102\n    service: a\n    reason: x\n",
        "t.yaml",
        &known,
    )
    .unwrap_err();
    assert!(err.to_string().contains("missing field `expires`"), "{err}");
    assert_eq!(err.problems[0].line, Some(2));
}

#[test]
fn malformed_yaml_is_an_error_not_a_panic() {
    for text in ["rules: [\n", "\t- : :\n", "services: 12\n", "- a\n- b\n"] {
        assert!(parse(text, "t.yaml", &known).is_err(), "{text:?}");
    }
}

#[test]
fn declared_paths_must_be_directories() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("present")).unwrap();
    let text = "services:\n  - name: a\n    path: present\n    team: t\n  - name: b\n    team: t\n    path: absent\n";
    let cfg = parse(text, "tracegate.yaml", &known).unwrap();
    let err = cfg.check_paths(dir.path(), "tracegate.yaml").unwrap_err();
    assert_eq!(err.problems.len(), 1);
    assert!(
        err.to_string()
            .starts_with("tracegate.yaml:7: services[1].path: `absent` is not a directory"),
        "{err}"
    );
}

#[test]
fn paths_are_normalised() {
    assert_eq!(normalise_path("./a//b/").unwrap(), "a/b");
    assert_eq!(normalise_path(".").unwrap(), ".");
    assert!(normalise_path("/etc").is_err());
    assert!(normalise_path("a/../../b").is_err());
    assert!(normalise_path("").is_err());
}

#[test]
fn the_schema_describes_every_key_and_rejects_unknown_ones() {
    let schema = schema();
    let props = &schema["properties"];
    for key in ["rules", "services", "waivers"] {
        assert!(props.get(key).is_some(), "{key} missing from {schema}");
    }
    assert_eq!(schema["additionalProperties"], serde_json::json!(false));
    let text = schema.to_string();
    for word in ["expires", "reason", "team", "\"off\"", "typescript"] {
        assert!(text.contains(word), "{word} missing from {text}");
    }
}
