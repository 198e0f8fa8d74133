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

/// A Deployment of `name` with `env` (name, value-or-ConfigMap-key) and `extra` lines of the
/// container.
fn deployment(name: &str, env: &[(&str, &str)], extra: &str) -> String {
    let mut text = format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n  selector:\n    matchLabels:\n      app: {name}\n  template:\n    metadata:\n      labels:\n        app: {name}\n    spec:\n      containers:\n        - name: {name}\n          image: ghcr.io/shopfloor/{name}:0.4.0\n{extra}          env:\n            - name: OTEL_SERVICE_NAME\n              value: {name}\n            - name: OTEL_EXPORTER_OTLP_ENDPOINT\n              value: http://otel-collector.observability:4317\n"
    );
    for (k, v) in env {
        match v.strip_prefix("configmap:") {
            Some(key) => text.push_str(&format!(
                "            - name: {k}\n              valueFrom:\n                configMapKeyRef:\n                  name: shopfloor-env\n                  key: {key}\n"
            )),
            None => text.push_str(&format!("            - name: {k}\n              value: \"{v}\"\n")),
        }
    }
    text
}

/// Issue 18 leftovers: the settings file of the profile (Spring) or environment (.NET) the
/// workload selects overrides the base file; with none selected, Spring's `default` profile
/// and .NET's `Production` environment apply. Starts from the rule shape
/// `tracing-flag-profiles`.
#[test]
fn the_selected_profile_or_environment_decides_whether_the_flag_is_on() {
    let shape = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/check/rule-shapes/tracing-flag-profiles");
    let dir = tempfile::tempdir().unwrap();
    tree::copy_dir(&shape, dir.path());
    let root = dir.path();
    let before = services(root);
    let tg106 = || ("fail".to_string(), vec!["TG106".to_string()]);
    let pass = || ("pass".to_string(), Vec::<String>::new());
    for (name, want) in [
        ("inventory", pass()),
        ("returns", tg106()),
        ("shipping", tg106()),
        ("stock", pass()),
        ("basket-api", pass()),
        ("ordering-api", pass()),
        ("identity-api", tg106()),
    ] {
        assert_eq!(verdict(&before, name), want, "{name}");
    }

    let k8s = |name: &str, env: &[(&str, &str)], extra: &str| {
        tree::write(
            root,
            &format!("deploy/k8s/{name}.yaml"),
            &deployment(name, env, extra),
        )
    };
    // A profile from a ConfigMap is not known: the base file only.
    k8s(
        "inventory",
        &[("SPRING_PROFILES_ACTIVE", "configmap:profiles")],
        "",
    );
    // The profile on the JVM's command line, in JAVA_TOOL_OPTIONS.
    k8s(
        "returns",
        &[(
            "JAVA_TOOL_OPTIONS",
            "-XX:MaxRAMPercentage=75 -Dspring.profiles.active=prod",
        )],
        "",
    );
    // Later profiles win: `local` turns it off again.
    tree::write(
        root,
        "services/stock/src/main/resources/application-local.yml",
        "tracing:\n  enabled: false\n",
    );
    k8s(
        "stock",
        &[],
        "          args: [\"--spring.profiles.active=kubernetes,local\"]\n",
    );
    // The environment's name must match the file's exactly (a Linux file system).
    k8s(
        "basket-api",
        &[("ASPNETCORE_ENVIRONMENT", "production")],
        "",
    );
    // The Deployment overrides the image's Development.
    k8s(
        "identity-api",
        &[("ASPNETCORE_ENVIRONMENT", "Production")],
        "",
    );
    // ASPNETCORE_ENVIRONMENT wins over DOTNET_ENVIRONMENT: Development keeps it off.
    k8s(
        "ordering-api",
        &[
            ("DOTNET_ENVIRONMENT", "Staging"),
            ("ASPNETCORE_ENVIRONMENT", "Development"),
        ],
        "",
    );
    // The base file's own spring.profiles.active is the default selection.
    tree::write(
        root,
        "services/shipping/src/main/resources/application.yml",
        "spring:\n  application:\n    name: shipping\n  profiles:\n    active: k8s\ntracing:\n  enabled: true\n",
    );
    k8s("shipping", &[], "");
    let after = services(root);
    for (name, want) in [
        ("inventory", tg106()),
        ("returns", pass()),
        ("stock", tg106()),
        ("basket-api", tg106()),
        ("identity-api", pass()),
        ("ordering-api", tg106()),
        ("shipping", pass()),
    ] {
        assert_eq!(verdict(&after, name), want, "{name}");
    }
}
