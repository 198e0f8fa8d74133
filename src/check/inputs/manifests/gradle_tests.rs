use super::*;

fn deps(m: &Manifest) -> Vec<(String, u32)> {
    m.facts
        .iter()
        .filter_map(|f| match &f.kind {
            FactKind::Dependency { name } => Some((name.clone(), f.line)),
            _ => None,
        })
        .collect()
}

const CATALOG: &str = r#"
[versions]
otel = "1.44.1"
boot = "3.3.5"

[libraries]
opentelemetry-api = { module = "io.opentelemetry:opentelemetry-api", version.ref = "otel" }
opentelemetry_sdk = { group = "io.opentelemetry", name = "opentelemetry-sdk", version.ref = "otel" }
otel-exporter-otlp = "io.opentelemetry:opentelemetry-exporter-otlp:1.44.1"
otel-bom = { module = "io.opentelemetry:opentelemetry-bom", version.ref = "otel" }
kafkaClients = { module = "org.apache.kafka:kafka-clients", version = "3.8.1" }

[bundles]
otel = ["opentelemetry-api", "opentelemetry_sdk"]

[plugins]
spring-boot = { id = "org.springframework.boot", version.ref = "boot" }
kotlin-jvm = "org.jetbrains.kotlin.jvm:2.0.21"
"#;

#[test]
fn dependency_notations_as_written_in_the_wild() {
    let catalog = Catalog::parse(CATALOG).unwrap();
    // (script, dependencies expected, why)
    let cases: &[(&str, &[&str], &str)] = &[
        (
            "dependencies {\n    implementation(\"io.opentelemetry:opentelemetry-api:1.44.1\")\n}\n",
            &["io.opentelemetry:opentelemetry-api"],
            "Kotlin DSL call",
        ),
        (
            "dependencies {\n    implementation 'io.opentelemetry:opentelemetry-sdk:1.44.1'\n}\n",
            &["io.opentelemetry:opentelemetry-sdk"],
            "Groovy DSL, single quotes",
        ),
        (
            "def otel = '1.44.1'\ndependencies {\n    implementation \"io.opentelemetry:opentelemetry-sdk:${otel}\"\n    runtimeOnly \"org.postgresql:postgresql:$pg\"\n}\n",
            &["io.opentelemetry:opentelemetry-sdk", "org.postgresql:postgresql"],
            "Groovy DSL, interpolated versions",
        ),
        (
            "dependencies {\n    implementation group: 'io.opentelemetry', name: 'opentelemetry-sdk', version: '1.44.1'\n}\n",
            &["io.opentelemetry:opentelemetry-sdk"],
            "Groovy map notation",
        ),
        (
            "dependencies {\n    implementation(group = \"io.opentelemetry\", name = \"opentelemetry-sdk\", version = \"1.44.1\")\n}\n",
            &["io.opentelemetry:opentelemetry-sdk"],
            "Kotlin named arguments",
        ),
        (
            "dependencies {\n    implementation(platform(\"io.opentelemetry:opentelemetry-bom:1.44.1\"))\n    implementation(\"io.opentelemetry:opentelemetry-api\")\n}\n",
            &["io.opentelemetry:opentelemetry-api"],
            "a platform (BOM) adds no library",
        ),
        (
            "dependencies {\n    implementation(platform(libs.otel.bom))\n    implementation(libs.opentelemetry.api)\n    api(libs.opentelemetry.sdk)\n    runtimeOnly(libs.otel.exporter.otlp)\n    implementation(libs.kafkaClients)\n}\n",
            &[
                "io.opentelemetry:opentelemetry-api",
                "io.opentelemetry:opentelemetry-sdk",
                "io.opentelemetry:opentelemetry-exporter-otlp",
                "org.apache.kafka:kafka-clients",
            ],
            "version catalog accessors (`-`, `_` and `.` alike)",
        ),
        (
            "dependencies {\n    implementation(libs.bundles.otel)\n}\n",
            &[
                "io.opentelemetry:opentelemetry-api",
                "io.opentelemetry:opentelemetry-sdk",
            ],
            "a catalog bundle is each of its libraries",
        ),
        (
            "dependencies {\n    implementation 'a:b:1', 'c:d:2'\n}\n",
            &["a:b", "c:d"],
            "several notations in one Groovy statement",
        ),
        (
            "dependencies {\n    implementation(project(\":tracing\"))\n    implementation project(path: ':libs:common')\n}\n",
            &[":tracing", ":libs:common"],
            "project dependencies, by Gradle project path",
        ),
        (
            "dependencies {\n    implementation(projects.telemetry)\n    implementation(projects.shared.otelConfig)\n    testImplementation(projects.testing)\n}\n",
            &[":telemetry", ":shared:otel-config"],
            "type-safe project accessors (kebab-case names in camelCase), runtime only",
        ),
        (
            "dependencies {\n    implementation(kotlin(\"reflect\"))\n}\n",
            &["org.jetbrains.kotlin:kotlin-reflect"],
            "kotlin(\"x\")",
        ),
        (
            "dependencies {\n    implementation(\"g:a:1\") {\n        exclude(group = \"x\", module = \"y\")\n    }\n}\n",
            &["g:a"],
            "a configuration closure adds nothing",
        ),
        (
            "dependencies {\n    \"implementation\"(\"g:a:1\")\n}\n",
            &["g:a"],
            "Kotlin DSL string-named configuration",
        ),
        // Never: test, compile-only, annotation processors, build scripts, other projects' blocks.
        (
            "dependencies {\n    testImplementation(\"io.opentelemetry:opentelemetry-sdk-testing:1.44.1\")\n    testRuntimeOnly 'org.junit.platform:junit-platform-launcher'\n    compileOnly(\"io.opentelemetry:opentelemetry-sdk:1.44.1\")\n    testCompileOnly 'io.opentelemetry:opentelemetry-sdk:1.44.1'\n    annotationProcessor 'org.projectlombok:lombok:1.18.34'\n    kapt(\"com.google.dagger:dagger-compiler:2.52\")\n    developmentOnly(\"org.springframework.boot:spring-boot-devtools\")\n    implementation(files(\"libs/a.jar\"))\n}\n",
            &[],
            "test, compile-only, processors, development-only and file dependencies",
        ),
        (
            "buildscript {\n    dependencies {\n        classpath(\"io.opentelemetry:opentelemetry-sdk:1.44.1\")\n        implementation(\"io.opentelemetry:opentelemetry-sdk:1.44.1\")\n    }\n}\nsubprojects {\n    dependencies {\n        implementation(\"io.opentelemetry:opentelemetry-sdk:1.44.1\")\n    }\n}\n",
            &[],
            "build-script and subprojects' dependencies are not this project's",
        ),
        (
            "testing {\n    suites {\n        val integrationTest by registering(JvmTestSuite::class) {\n            dependencies {\n                implementation(\"io.opentelemetry:opentelemetry-sdk:1.44.1\")\n            }\n        }\n    }\n}\ndependencies {\n    constraints {\n        implementation(\"io.opentelemetry:opentelemetry-sdk:1.44.1\")\n    }\n}\n",
            &[],
            "test suites and constraints declare no runtime dependency",
        ),
        (
            "dependencies {\n    // implementation(\"io.opentelemetry:opentelemetry-sdk:1.44.1\")\n    /* implementation 'io.opentelemetry:opentelemetry-sdk:1.44.1' */\n}\n",
            &[],
            "comments",
        ),
    ];
    for (script, expected, why) in cases {
        let m = parse("svc/build.gradle.kts", script, Some(&catalog));
        let got: Vec<String> = deps(&m).into_iter().map(|(n, _)| n).collect();
        assert_eq!(got, *expected, "{why}");
        assert!(m.notes.is_empty(), "{why}: {:?}", m.notes);
    }
}

#[test]
fn dependencies_are_located_and_unknown_catalog_aliases_noted() {
    let script = "plugins {\n    java\n}\n\ndependencies {\n    implementation(libs.opentelemetry.api)\n    implementation(libs.not.there)\n}\n";
    let with = parse(
        "svc/build.gradle.kts",
        script,
        Some(&Catalog::parse(CATALOG).unwrap()),
    );
    assert_eq!(
        deps(&with),
        [("io.opentelemetry:opentelemetry-api".to_string(), 6)]
    );
    assert_eq!(with.notes.len(), 1);
    assert_eq!(with.notes[0].2, Some(7));
    assert!(
        with.notes[0].1.contains("libs.not.there"),
        "{:?}",
        with.notes
    );
    // Without a catalog, every `libs.` reference is noted, never guessed.
    let without = parse("svc/build.gradle.kts", script, None);
    assert!(deps(&without).is_empty());
    assert_eq!(without.notes.len(), 2);
}

#[test]
fn entry_points_from_plugins() {
    let catalog = Catalog::parse(CATALOG).unwrap();
    // (script, a service by its build alone?, why)
    let cases: &[(&str, bool, &str)] = &[
        ("plugins {\n    kotlin(\"jvm\") version \"2.0.21\"\n    application\n}\n", true, "Kotlin DSL `application`"),
        ("plugins {\n    id 'java'\n    id 'application'\n}\n", true, "Groovy DSL id 'application'"),
        ("plugins {\n    id(\"org.springframework.boot\") version \"3.3.5\"\n}\n", true, "Spring Boot"),
        ("plugins {\n    id 'org.springframework.boot' version '3.3.5'\n}\n", true, "Spring Boot, Groovy"),
        ("plugins {\n    alias(libs.plugins.spring.boot)\n}\n", true, "Spring Boot from the catalog"),
        ("plugins {\n    id(\"io.micronaut.application\") version \"4.4.4\"\n}\n", true, "Micronaut application"),
        ("apply plugin: 'application'\n", true, "Groovy apply plugin"),
        ("apply(plugin = \"org.springframework.boot\")\n", true, "Kotlin apply(plugin = …)"),
        ("plugins {\n    id(\"buildlogic.kotlin-application-conventions\")\n}\n\napplication {\n    mainClass = \"org.example.app.AppKt\"\n}\n", true, "a convention plugin, seen by its application block"),
        // Not by the build alone (a `main` in its sources still makes it one).
        ("plugins {\n    `java-library`\n    kotlin(\"jvm\") version \"2.0.21\"\n}\n", false, "a library"),
        ("plugins {\n    id(\"org.springframework.boot\") version \"3.3.5\" apply false\n    alias(libs.plugins.kotlin.jvm) apply false\n}\n", false, "a root build that only declares plugin versions"),
        ("plugins {\n    alias(libs.plugins.kotlin.jvm)\n}\n", false, "a catalog plugin that is no application"),
        ("subprojects {\n    apply(plugin = \"application\")\n    application {\n        mainClass.set(\"x\")\n    }\n}\n", false, "applied to the subprojects, not to this one"),
        ("// plugins { application }\n/* apply plugin: 'application' */\nplugins {\n    java\n}\n", false, "comments"),
        ("tasks.register(\"application\") {\n}\n", false, "a task named application"),
    ];
    for (script, yes, why) in cases {
        let m = parse("svc/build.gradle.kts", script, Some(&catalog));
        let expected = if *yes { Entry::Yes } else { Entry::JvmMain };
        assert_eq!(m.entry, expected, "{why}");
    }
}

#[test]
fn settings_name_the_project_and_declare_no_entry() {
    for (rel, script, name) in [
        ("a/settings.gradle.kts", "rootProject.name = \"fraud-detection\"\ninclude(\":tracing\", \":orders\")\n", Some("fraud-detection")),
        ("a/settings.gradle", "rootProject.name = 'ad'\ninclude 'tracing', 'orders'\n", Some("ad")),
        ("a/settings.gradle.kts", "rootProject.name = \"shop-$suffix\"\n", None),
        ("a/settings.gradle.kts", "pluginManagement {\n    plugins {\n        id(\"org.springframework.boot\") version \"3.3.5\"\n    }\n}\n", None),
    ] {
        let m = parse(rel, script, None);
        assert_eq!(m.name.as_deref(), name, "{script}");
        assert_eq!(m.entry, Entry::No, "{script}");
        assert!(m.facts.is_empty());
    }
}

#[test]
fn catalog_errors_are_one_line_reasons() {
    let err = Catalog::parse("[libraries\nx = 1").unwrap_err();
    assert!(!err.contains('\n'), "{err}");
}

#[test]
fn settings_place_projects_with_project_dir() {
    let dir = |project: &str, dir: &str| super::super::Reference::ProjectDir {
        project: project.into(),
        dir: dir.into(),
    };
    let cases = [
        ("project(':tracing').projectDir = file('libs/otel-tracing')\n", vec![dir(":tracing", "libs/otel-tracing")], "Groovy file()"),
        ("project(\":a:b\").projectDir = file(\"modules/b/\")\n", vec![dir(":a:b", "modules/b")], "Kotlin, nested path, trailing slash"),
        ("project(':accounts').projectDir = new File(settingsDir, 'services/accounts-service')\n", vec![dir(":accounts", "services/accounts-service")], "new File(settingsDir, …)"),
        ("project(\":x\").projectDir = File(rootDir, \"x-service\")\n", vec![dir(":x", "x-service")], "Kotlin File(rootDir, …)"),
        ("project(':t').projectDir = file(\"$rootDir/services/t\")\n", vec![dir(":t", "services/t")], "$rootDir/ prefix"),
        ("project('web').projectDir = file('apps/web')\n", vec![dir(":web", "apps/web")], "a path without its colon"),
        ("project(':t').projectDir = file(\"$base/t\")\n", vec![], "an unknown variable"),
        ("project(':t').buildFileName = 't.gradle'\n", vec![], "another property"),
        ("project(\":$name\").projectDir = file(\"libs/$name\")\n", vec![], "a loop's variable"),
    ];
    for (text, want, why) in cases {
        let m = parse("settings.gradle", text, None);
        assert_eq!(m.uses, want, "{why}: {text}");
    }
}
