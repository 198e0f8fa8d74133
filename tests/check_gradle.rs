//! Gradle builds (Kotlin and Groovy DSL) and Kotlin sources, through the binary:
//! `fixtures/services/kotlin-gradle-multiproject` is a multi-project build (`settings.gradle.kts`
//! including `:tracing` and `:orders`, a version catalog, a root build that only declares
//! plugin versions) whose one service sets up the SDK in Kotlin. Each positive case has its
//! twin: the same build without the SDK in the catalog bundle, without the propagator in the
//! Kotlin source, without the `main` that makes a plugin-less project a service.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/services/kotlin-gradle-multiproject")
}

/// `check DIR --format json`: exit code and report.
fn check(dir: &Path) -> (i32, Value) {
    let out = Command::cargo_bin("tracegate")
        .unwrap()
        .env("TRACEGATE_CARGO", "")
        .args(["check", dir.to_str().unwrap(), "--format", "json"])
        .output()
        .unwrap();
    let code = out.status.code().unwrap();
    let report = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (code, report)
}

/// (name, path, language, verdict, rules) of every service reported.
fn services(report: &Value) -> Vec<(String, String, String, String, Vec<String>)> {
    report["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let rules = s["findings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["rule"].as_str().unwrap().to_string())
                .collect();
            let field = |k: &str| s[k].as_str().unwrap().to_string();
            (
                field("name"),
                field("path"),
                field("language"),
                field("verdict"),
                rules,
            )
        })
        .collect()
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The fixture in a temporary directory, with `edit` applied to the file `rel`.
fn twin(rel: &str, edit: impl Fn(&str) -> String) -> tempfile::TempDir {
    twin_of(&fixture(), rel, edit)
}

/// `fixture` in a temporary directory, with `edit` applied to the file `rel`.
fn twin_of(fixture: &Path, rel: &str, edit: impl Fn(&str) -> String) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(fixture, dir.path());
    let file = dir.path().join(rel);
    let text = fs::read_to_string(&file).unwrap();
    let edited = edit(&text);
    assert_ne!(text, edited, "{rel}: the edit changed nothing");
    fs::write(file, edited).unwrap();
    dir
}

fn one(
    name: &str,
    verdict: &str,
    rules: &[&str],
) -> Vec<(String, String, String, String, Vec<String>)> {
    vec![(
        name.to_string(),
        name.to_string(),
        "java".to_string(),
        verdict.to_string(),
        rules.iter().map(|r| r.to_string()).collect(),
    )]
}

#[test]
fn a_kotlin_multi_project_build_is_its_application_subproject() {
    // `orders` (Ktor plugin, `application { mainClass }`) passes: the SDK, exporter and
    // propagator are set up in Kotlin, its dependencies come from the catalog's bundle. The
    // `tracing` library subproject and the root build (plugins `apply false`) are no service.
    let (code, report) = check(&fixture());
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(services(&report), one("orders", "pass", &[]), "{report:#}");
}

#[test]
fn without_the_sdk_in_the_catalog_bundle_the_kts_service_fails_tg101() {
    let dir = twin("gradle/libs.versions.toml", |t| {
        t.replace(
            "opentelemetry = [\"opentelemetry-api\", \"opentelemetry-sdk\", \"opentelemetry-exporter-otlp\"]",
            "opentelemetry = [\"opentelemetry-api\", \"opentelemetry-exporter-otlp\"]",
        )
    });
    let (code, report) = check(dir.path());
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(
        services(&report),
        one("orders", "fail", &["TG101"]),
        "{report:#}"
    );
}

#[test]
fn without_the_propagator_in_the_kotlin_source_the_service_fails_tg102() {
    let dir = twin("orders/src/main/kotlin/shop/orders/Main.kt", |t| {
        t.lines()
            .filter(|l| !l.contains("setPropagators"))
            .map(|l| format!("{l}\n"))
            .collect()
    });
    let (code, report) = check(dir.path());
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(
        services(&report),
        one("orders", "fail", &["TG102"]),
        "{report:#}"
    );
}

#[test]
fn a_plugin_less_project_is_a_service_only_with_a_main_of_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let write = |rel: &str, text: &str| {
        let path = root.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    };
    write("settings.gradle.kts", "rootProject.name = \"billing\"\n");
    write(
        "build.gradle.kts",
        "plugins {\n    kotlin(\"jvm\") version \"2.0.21\"\n    id(\"com.gradleup.shadow\") version \"8.3.5\"\n}\n\ndependencies {\n    implementation(\"io.opentelemetry:opentelemetry-api:1.44.1\")\n}\n",
    );
    write(
        "src/main/kotlin/billing/Invoices.kt",
        "package billing\n\nclass Invoices {\n    fun total(cents: List<Long>) = cents.sum()\n}\n",
    );
    // No plugin, no main: a library, nothing to check.
    let (code, _) = check(root);
    assert_eq!(code, 2);
    // A `main` of its own (run from the shadow jar's manifest): a service, named by the
    // settings, that fails TG101 (the API alone records nothing).
    write(
        "src/main/kotlin/billing/Main.kt",
        "package billing\n\nfun main() {\n    println(Invoices().total(listOf(1, 2)))\n}\n",
    );
    let (code, report) = check(root);
    assert_eq!(code, 1, "{report:#}");
    let got = services(&report);
    assert_eq!(got.len(), 1, "{report:#}");
    assert_eq!(
        (got[0].0.as_str(), got[0].1.as_str(), got[0].2.as_str()),
        ("billing", ".", "java")
    );
    assert_eq!(got[0].4, ["TG101"]);
}

#[test]
fn a_subproject_named_by_project_counts_for_the_services_using_it() {
    // The shape as it is: the `telemetry` subproject's SDK set-up counts for both services.
    let shape = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/check/shapes/gradle-shared-tracing-subproject");
    let (code, report) = check(&shape);
    assert_eq!(code, 0, "{report}");
    let verdicts: Vec<(String, String)> = services(&report)
        .into_iter()
        .map(|(name, _, _, verdict, _)| (name, verdict))
        .collect();
    assert_eq!(
        verdicts,
        [
            ("orders".to_string(), "pass".to_string()),
            ("payments".to_string(), "pass".to_string())
        ]
    );
    // The twin: `orders` without `implementation(project(":telemetry"))` has no SDK.
    let dir = twin_of(&shape, "orders/build.gradle.kts", |t| {
        t.replace("    implementation(project(\":telemetry\"))\n", "")
    });
    let (code, report) = check(dir.path());
    assert_eq!(code, 1, "{report}");
    let orders = services(&report)
        .into_iter()
        .find(|s| s.0 == "orders")
        .unwrap();
    assert_eq!(orders.3, "fail");
    assert_eq!(orders.4, ["TG101"]);
}

/// Issue 18 leftovers: projects a settings script includes in loops
/// (`fixtures/check/shapes/gradle-settings-loops`: every `services/*` with a build script from
/// a directory listing, the libraries of `libs/` from a literal list, each placed with
/// `projectDir`). A loop that cannot be followed is a TG199 note naming the file and line.
#[test]
fn projects_included_in_settings_loops_are_placed_where_the_loop_puts_them() {
    let shape =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/check/shapes/gradle-settings-loops");
    let verdicts = |report: &Value| -> Vec<(String, String, Vec<String>)> {
        let mut v: Vec<_> = services(report)
            .into_iter()
            .map(|(name, _, _, verdict, rules)| (name, verdict, rules))
            .collect();
        v.sort();
        v
    };
    let (code, report) = check(&shape);
    assert_eq!(code, 1);
    let want = |tracing: &str| {
        vec![
            (
                "billing".to_string(),
                "fail".to_string(),
                vec!["TG101".to_string()],
            ),
            ("dispatch".to_string(), tracing.to_string(), vec![]),
            ("telematics".to_string(), tracing.to_string(), vec![]),
        ]
    };
    assert_eq!(verdicts(&report), want("pass"));
    assert!(report.get("repository_findings").is_none(), "{report}");

    // The libraries from a Groovy-style list kept in a variable: the same.
    let dir = twin_of(&shape, "settings.gradle.kts", |t| {
        t.replace(
            "listOf(\"otel-tracing\", \"web-common\").forEach { lib ->",
            "val libs = listOf(\"otel-tracing\", \"web-common\")\nlibs.forEach { lib ->",
        )
    });
    assert_eq!(verdicts(&check(dir.path()).1), want("pass"));

    // A list computed by a function of the script: not followed, and said so.
    let dir = twin_of(&shape, "settings.gradle.kts", |t| {
        t.replace(
            "listOf(\"otel-tracing\", \"web-common\").forEach { lib ->",
            "sharedLibraries().forEach { lib ->",
        )
    });
    let (_, report) = check(dir.path());
    let got: Vec<(String, String, Vec<String>)> = verdicts(&report)
        .into_iter()
        .map(|(n, v, mut r)| {
            r.retain(|r| r != "TG101");
            (n, v, r)
        })
        .collect();
    assert_eq!(got[1].1, "fail", "{report}");
    let notes = report["repository_findings"].as_array().unwrap();
    assert_eq!(notes.len(), 1, "{report}");
    assert_eq!(notes[0]["rule"], "TG199");
    assert_eq!(notes[0]["file"], "settings.gradle.kts");
    assert_eq!(notes[0]["line"], 19);
    assert!(notes[0]["message"]
        .as_str()
        .unwrap()
        .contains("sharedLibraries().forEach"));
}
