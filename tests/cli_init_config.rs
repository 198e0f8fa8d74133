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
    tracegate()
        .arg("init")
        .arg(dir.path())
        .assert()
        .code(0)
        .stdout("")
        .stderr(format!(
            "wrote tracegate.yaml and .github/workflows/tracegate.yml in {0}; next: tracegate check {0}\n",
            dir.path().display()
        ));
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
fn init_ci_gitlab_writes_the_gitlab_job_and_says_where_to_include_it() {
    let dir = tempfile::tempdir().unwrap();
    tracegate()
        .args(["init", "--ci", "gitlab"])
        .arg(dir.path())
        .assert()
        .code(0)
        .stdout("")
        .stderr(predicate::str::contains(
            "wrote tracegate.yaml and .gitlab/tracegate.yml (include it from .gitlab-ci.yml)",
        ));
    let job = std::fs::read_to_string(dir.path().join(".gitlab/tracegate.yml")).unwrap();
    assert!(job.contains(&format!(
        "TRACEGATE_VERSION: v{}",
        env!("CARGO_PKG_VERSION")
    )));
    assert!(!dir.path().join(".github").exists());
    tracegate()
        .args(["init", "--ci", "jenkins"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("invalid value 'jenkins'"));
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
