//! `tracegate init` and `tracegate config schema`, end to end.
#![allow(clippy::unwrap_used)]

use assert_cmd::Command;
use predicates::prelude::*;

fn tracegate() -> Command {
    Command::cargo_bin("tracegate").unwrap()
}

#[test]
fn init_writes_both_files_then_refuses_without_force() {
    let dir = tempfile::tempdir().unwrap();
    tracegate().arg("init").arg(dir.path()).assert().code(0);
    let config = dir.path().join("tracegate.yaml");
    let workflow = dir.path().join(".github/workflows/tracegate.yml");
    assert!(config.is_file() && workflow.is_file());

    std::fs::write(&config, "rules: {}\n").unwrap();
    tracegate()
        .arg("init")
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "tracegate.yaml: already exists (use --force",
        ));
    assert_eq!(std::fs::read_to_string(&config).unwrap(), "rules: {}\n");

    tracegate()
        .args(["init", "--force"])
        .arg(dir.path())
        .assert()
        .code(0);
    assert!(std::fs::read_to_string(&config)
        .unwrap()
        .contains("waivers:"));
}

#[test]
fn config_schema_is_json_schema_of_the_four_sections() {
    let out = tracegate().args(["config", "schema"]).assert().code(0);
    let schema: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert!(schema["$schema"]
        .as_str()
        .unwrap()
        .contains("json-schema.org"));
    let props = schema["properties"].as_object().unwrap();
    let keys: Vec<_> = props.keys().map(String::as_str).collect();
    assert_eq!(keys, ["exclude", "rules", "services", "waivers"]);
}

#[test]
fn every_subcommand_help_has_examples() {
    for args in [
        &["init", "--help"][..],
        &["config", "--help"],
        &["config", "schema", "--help"],
    ] {
        tracegate()
            .args(args)
            .assert()
            .code(0)
            .stdout(predicate::str::contains("Examples:"));
    }
}
