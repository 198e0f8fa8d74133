//! Tracing switched on by a setting (issue 19, TG106): a Spring property
//! (`@ConditionalOnProperty(name = "tracing.enabled")`) is read from `TRACING_ENABLED`, a .NET
//! key (`Configuration.GetValue<bool>("Tracing:Enabled")`) from `Tracing__Enabled`, and the
//! default their `application.yml`/`appsettings.json` give counts as the image's: `false` or
//! nothing and a Deployment that does not set the variable is TG106; `true` is on. Starts from
//! the rule shape `tracing-flag-settings`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

#[path = "common/tree.rs"]
mod tree;

/// (name, verdict, rules of its findings) of every service.
fn services(root: &Path) -> Vec<(String, String, Vec<String>)> {
    let json = tree::check_json(root, &[]);
    json["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_string(),
                s["verdict"].as_str().unwrap().to_string(),
                s["findings"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|f| f["rule"].as_str().unwrap().to_string())
                    .collect(),
            )
        })
        .collect()
}

fn verdict(all: &[(String, String, Vec<String>)], name: &str) -> (String, Vec<String>) {
    let (_, v, rules) = all.iter().find(|(n, ..)| n == name).unwrap();
    (v.clone(), rules.clone())
}

#[test]
fn settings_defaults_decide_whether_the_flag_is_on() {
    let shape = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/check/rule-shapes/tracing-flag-settings");
    let dir = tempfile::tempdir().unwrap();
    tree::copy_dir(&shape, dir.path());
    let root = dir.path();
    let before = services(root);
    assert_eq!(
        verdict(&before, "pricing"),
        ("fail".into(), vec!["TG106".into()])
    );
    assert_eq!(
        verdict(&before, "cart-api"),
        ("fail".into(), vec!["TG106".into()])
    );
    // On by default in the settings file: nothing to set on the workload.
    tree::write(
        root,
        "services/pricing/src/main/resources/application.yml",
        "spring:\n  application:\n    name: pricing\ntracing:\n  enabled: true\n  endpoint: http://otel-collector:4317\n",
    );
    tree::write(
        root,
        "services/cart-api/appsettings.json",
        "{\n  \"Tracing\": {\n    \"Enabled\": true,\n    \"OtlpEndpoint\": \"http://otel-collector:4317\"\n  }\n}\n",
    );
    let after = services(root);
    assert_eq!(verdict(&after, "pricing"), ("pass".into(), vec![]));
    assert_eq!(verdict(&after, "cart-api"), ("pass".into(), vec![]));
    // The others are unchanged.
    assert_eq!(
        verdict(&after, "orders"),
        ("fail".into(), vec!["TG106".into()])
    );
    assert_eq!(verdict(&after, "quotes"), ("pass".into(), vec![]));
}
