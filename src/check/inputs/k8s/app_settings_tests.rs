use super::*;

fn envs(file: &str, text: &str) -> Vec<(String, String, u32)> {
    let style = style(file.rsplit('/').next().unwrap()).unwrap();
    let value: Value = serde_yaml::from_str(text).unwrap();
    switches(file, text, 1, &value, style)
        .into_iter()
        .filter_map(|f| match f.kind {
            FactKind::Env { name, value, .. } => Some((name, value.unwrap_or_default(), f.line)),
            _ => None,
        })
        .collect()
}

/// Every fact of a settings file read as `check` reads it, as
/// "[profile:]NAME=value@line".
fn read(rel: &str, text: &str) -> Vec<String> {
    let k = crate::check::inputs::k8s::parse(rel, text).unwrap();
    k.app_settings
        .into_iter()
        .map(|f| match f.kind {
            FactKind::Env { name, value, .. } => {
                format!("{name}={}@{}", value.unwrap_or_default(), f.line)
            }
            FactKind::ProfileEnv {
                profile,
                name,
                value,
                ..
            } => format!("{profile}:{name}={value}@{}", f.line),
            other => panic!("{other:?}"),
        })
        .collect()
}

#[test]
fn tracing_settings_are_read_as_their_variables() {
    // Nested, dotted and mixed keys; a sequence as a comma-separated list; a profile's
    // document gives profile values.
    let text = "spring:\n  application:\n    name: ledger\n  sleuth:\n    propagation:\n      type: [w3c, b3]\notel:\n  resource:\n    attributes:\n      service.name: ledger\nmanagement.otlp.tracing.endpoint: ${OTEL_COLLECTOR_URL}/v1/traces\n---\nspring.config.activate.on-profile: prod\nmanagement:\n  opentelemetry:\n    tracing:\n      export:\n        otlp:\n          endpoint: http://collector:4318/v1/traces\n";
    assert_eq!(
        read("svc/src/main/resources/application.yml", text),
        [
            "SPRING_APPLICATION_NAME=ledger@3",
            "SPRING_SLEUTH_PROPAGATION_TYPE=w3c,b3@6",
            "OTEL_RESOURCE_ATTRIBUTES_SERVICE_NAME=ledger@10",
            "MANAGEMENT_OTLP_TRACING_ENDPOINT=${OTEL_COLLECTOR_URL}/v1/traces@11",
            "prod:MANAGEMENT_OPENTELEMETRY_TRACING_EXPORT_OTLP_ENDPOINT=http://collector:4318/v1/traces@19",
        ]
    );
    assert_eq!(
        read(
            "svc/src/main/resources/application.properties",
            "server.port=8080\notel.service.name=notifications\nmanagement.tracing.propagation.produce=b3_multi\n"
        ),
        [
            "MANAGEMENT_TRACING_PROPAGATION_PRODUCE=b3_multi@3",
            "OTEL_SERVICE_NAME=notifications@2"
        ]
    );
    // Spring Cloud's bootstrap file: its application name only.
    assert_eq!(
        read(
            "svc/src/main/resources/bootstrap.yml",
            "spring:\n  application:\n    name: ledger\n  sleuth:\n    propagation:\n      type: w3c\n"
        ),
        ["SPRING_APPLICATION_NAME=ledger@3"]
    );
}

#[test]
fn settings_files_by_name() {
    let cases = [
        ("application.yml", Some((Style::Spring, None, false))),
        ("application.properties", Some((Style::Spring, None, false))),
        (
            "application-prod.yaml",
            Some((Style::Spring, Some("prod"), false)),
        ),
        (
            "application-k8s_eu.properties",
            Some((Style::Spring, Some("k8s_eu"), true)),
        ),
        ("appsettings.json", Some((Style::Dotnet, None, false))),
        (
            "appsettings.Production.json",
            Some((Style::Dotnet, Some("Production"), false)),
        ),
        ("application-.yml", None),
        ("applications.yml", None),
        ("application.json", None),
        ("bootstrap.yml", Some((Style::Spring, None, false))),
        ("bootstrap.properties", Some((Style::Spring, None, true))),
        ("bootstrap-prod.yml", None),
        ("appsettings.schema.v2.json", None),
        ("appsettings-prod.json", None),
    ];
    for (name, want) in cases {
        let got = settings_file(name).map(|f| (f.style, f.profile, f.properties));
        let want = want.map(|(s, p, props)| (s, p, props || name.ends_with(".properties")));
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn profile_files_and_documents_give_profile_values() {
    assert_eq!(
        read(
            "svc/src/main/resources/application-prod.yml",
            "tracing:\n  enabled: true\n"
        ),
        ["prod:TRACING_ENABLED=true@2"]
    );
    assert_eq!(
        read(
            "svc/appsettings.Production.json",
            "{\n  \"Tracing\": {\n    \"Enabled\": true\n  }\n}\n"
        ),
        ["Production:Tracing__Enabled=true@3"]
    );
    // One application.yml: the base document, one for two profiles, one for an
    // expression (not followed), the older `spring.profiles` form.
    let text = "spring:\n  profiles:\n    active: local\ntracing:\n  enabled: false\n---\nspring:\n  config:\n    activate:\n      on-profile: prod, k8s\ntracing:\n  enabled: true\n---\nspring.config.activate.on-profile: \"prod & !eu\"\ntracing.enabled: false\n---\nspring:\n  profiles: qa\ntracing.enabled: true\n";
    assert_eq!(
        read("svc/src/main/resources/application.yml", text),
        [
            "TRACING_ENABLED=false@5",
            "SPRING_PROFILES_ACTIVE=local@3",
            "prod:TRACING_ENABLED=true@12",
            "k8s:TRACING_ENABLED=true@12",
            "qa:TRACING_ENABLED=true@19",
        ]
    );
}

#[test]
fn properties_files_and_their_documents() {
    let text = "# tracing\nspring.application.name=stock\ntracing.enabled = false\n! a comment\nspring.profiles.active: local\n#---\nspring.config.activate.on-profile=prod\ntracing.enabled=true\n";
    assert_eq!(
        read("svc/src/main/resources/application.properties", text),
        [
            "TRACING_ENABLED=false@3",
            "SPRING_APPLICATION_NAME=stock@2",
            "SPRING_PROFILES_ACTIVE=local@5",
            "prod:TRACING_ENABLED=true@8",
        ]
    );
    assert_eq!(
        read(
            "svc/src/main/resources/application-prod.properties",
            "otel.sdk.disabled true\n"
        ),
        ["prod:OTEL_SDK_DISABLED=true@1"]
    );
}

/// `spring.application.name` is the service's name where the OpenTelemetry Spring Boot
/// starter (or Spring Boot's own OpenTelemetry support) builds the SDK: read as
/// `SPRING_APPLICATION_NAME`, the variable that overrides it, for the base file and for a
/// profile's file or document; .NET has no such key.
#[test]
fn the_spring_application_name_is_read_as_its_variable() {
    assert_eq!(
        read(
            "accounts/src/main/resources/application.yml",
            "server:\n  port: 8080\nspring:\n  datasource:\n    name: main\n  application:\n    name: accounts\n"
        ),
        ["SPRING_APPLICATION_NAME=accounts@7"]
    );
    assert_eq!(
        read(
            "invoices/src/main/resources/application-prod.properties",
            "spring.application.name=invoices\n"
        ),
        ["prod:SPRING_APPLICATION_NAME=invoices@1"]
    );
    assert_eq!(
        read(
            "svc/src/main/resources/application.yml",
            "spring:\n  application:\n    name: base\n---\nspring:\n  config:\n    activate:\n      on-profile: eu\n  application:\n    name: base-eu\n"
        ),
        ["SPRING_APPLICATION_NAME=base@3", "eu:SPRING_APPLICATION_NAME=base-eu@10"]
    );
    assert!(read(
        "svc/appsettings.json",
        "{ \"spring\": { \"application\": { \"name\": \"x\" } } }"
    )
    .is_empty());
}

#[test]
fn spring_and_dotnet_settings_give_switches_their_variable() {
    assert_eq!(
        envs(
            "src/main/resources/application.yml",
            "spring:\n  application:\n    name: pricing\ntracing:\n  enabled: false\n  endpoint: http://otel-collector:4317\n"
        ),
        [("TRACING_ENABLED".to_string(), "false".to_string(), 5)]
    );
    assert_eq!(
        envs(
            "application.yaml",
            "otel.sdk-enabled: true\nfeature.enabled: true\n"
        ),
        [("OTEL_SDKENABLED".to_string(), "true".to_string(), 1)]
    );
    assert_eq!(
        envs(
            "appsettings.json",
            "{\n  \"Logging\": { \"LogLevel\": { \"Default\": \"Information\" } },\n  \"Tracing\": {\n    \"Enabled\": false,\n    \"OtlpEndpoint\": \"http://otel-collector:4317\"\n  }\n}\n"
        ),
        [("Tracing__Enabled".to_string(), "false".to_string(), 4)]
    );
}

#[test]
fn a_settings_file_yaml_cannot_read_is_no_note() {
    // .NET allows comments in appsettings.json.
    let k = crate::check::inputs::k8s::parse(
        "svc/appsettings.json",
        "{\n  // tracing is on in every environment\n  \"Tracing\": { \"Enabled\": true }\n}\n",
    )
    .unwrap();
    assert!(k.invalid.is_empty() && k.fatal.is_none(), "{:?}", k.invalid);
    assert!(k.app_settings.is_empty());
}
