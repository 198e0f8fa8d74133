use super::*;

fn env(name: &str, value: &str, file: &str, line: u32) -> Fact {
    Fact::new(
        FactKind::Env {
            name: name.into(),
            value: Some(value.into()),
            from_secret: false,
            from_ref: false,
        },
        file,
        line,
    )
}

fn rules_of<'a>(findings: &'a [Finding], rule: &str) -> Vec<&'a Finding> {
    findings.iter().filter(|f| f.rule == rule).collect()
}

#[test]
fn a_java_agent_given_b3_propagators_fails_tg102_once_at_the_setting() {
    let rules = RuleSet::builtin();
    let mut svc = Svc {
        name: "inventory".into(),
        path: "inventory".into(),
        language: Some(Language::Java),
        ..Svc::default()
    };
    svc.facts.push(Fact::new(
        FactKind::command("java -javaagent:/otel/agent.jar -jar app.jar"),
        "inventory/Dockerfile",
        9,
    ));
    svc.facts
        .push(env("OTEL_PROPAGATORS", "b3multi", "k8s/inst.yaml", 10));
    let (findings, _) = service(&rules, &svc, Language::Java);
    let tg102 = rules_of(&findings, "TG102");
    assert_eq!(tg102.len(), 1, "{findings:?}");
    assert_eq!(
        (tg102[0].file.as_deref(), tg102[0].line),
        (Some("k8s/inst.yaml"), Some(10))
    );
    // The negative twin: the agent's default (no OTEL_PROPAGATORS), or one with tracecontext.
    svc.facts.pop();
    let (findings, _) = service(&rules, &svc, Language::Java);
    assert!(rules_of(&findings, "TG102").is_empty(), "{findings:?}");
    svc.facts.push(env(
        "OTEL_PROPAGATORS",
        "tracecontext,b3",
        "k8s/inst.yaml",
        10,
    ));
    let (findings, _) = service(&rules, &svc, Language::Java);
    assert!(rules_of(&findings, "TG102").is_empty(), "{findings:?}");
}

/// The OpenTelemetry Spring Boot starter names the service from `spring.application.name`:
/// a base file's value counts, a profile's only where the workload selects the profile,
/// and neither without something that reads it.
#[test]
fn spring_application_name_names_the_service_where_the_starter_reads_it() {
    let rules = RuleSet::builtin();
    let w = Workload {
        name: "invoices".into(),
        kind: "Deployment".into(),
        file: "k8s/invoices.yaml".into(),
        line: 4,
        ..Workload::default()
    };
    let mut svc = Svc {
        name: "invoices".into(),
        path: "invoices".into(),
        language: Some(Language::Java),
        workloads: vec![w.clone()],
        ..Svc::default()
    };
    let tg203 = |svc: &Svc| rules_of(&service(&rules, svc, Language::Java).0, "TG203").len();
    let profile_name = Fact::new(
        FactKind::ProfileEnv {
            selector: crate::check::facts::ProfileSelector::Spring,
            profile: "prod".into(),
            name: "SPRING_APPLICATION_NAME".into(),
            value: "invoices".into(),
        },
        "invoices/src/main/resources/application-prod.properties",
        1,
    );
    svc.facts.push(profile_name);
    // Nothing reads it yet.
    assert_eq!(tg203(&svc), 1);
    svc.facts.push(Fact::new(
        FactKind::Dependency {
            name: "io.opentelemetry.instrumentation:opentelemetry-spring-boot-starter".into(),
        },
        "invoices/pom.xml",
        1,
    ));
    // The profile is not selected.
    assert_eq!(tg203(&svc), 1);
    let mut selecting = w;
    selecting.facts.push(env(
        "SPRING_PROFILES_ACTIVE",
        "prod",
        "k8s/invoices.yaml",
        20,
    ));
    svc.workloads = vec![selecting];
    assert_eq!(tg203(&svc), 0);
    // A base file names it for every workload; an empty name names nothing.
    svc.workloads[0].facts.clear();
    svc.facts.push(env(
        "SPRING_APPLICATION_NAME",
        "invoices",
        "invoices/src/main/resources/application.yml",
        3,
    ));
    assert_eq!(tg203(&svc), 0);
    svc.workloads[0]
        .facts
        .push(env("SPRING_APPLICATION_NAME", "", "k8s/invoices.yaml", 20));
    assert_eq!(tg203(&svc), 1);
}

#[test]
fn an_unresolved_operator_injection_is_not_judged_by_the_workload_rules() {
    let rules = RuleSet::builtin();
    let mut w = Workload {
        name: "ledger".into(),
        kind: "Deployment".into(),
        file: "deploy/ledger.yaml".into(),
        line: 4,
        ..Workload::default()
    };
    let mut svc = Svc {
        name: "ledger".into(),
        path: "ledger".into(),
        language: Some(Language::Java),
        workloads: vec![w.clone()],
        ..Svc::default()
    };
    let (findings, _) = service(&rules, &svc, Language::Java);
    assert_eq!(rules_of(&findings, "TG201").len(), 1);
    assert_eq!(rules_of(&findings, "TG203").len(), 1);
    w.unresolved.push(crate::check::inputs::k8s::Unresolved {
        kind: "java".into(),
        file: "deploy/namespace.yaml".into(),
        line: 8,
        reason: "no Instrumentation in namespace `finance` is in the tree".into(),
    });
    svc.workloads = vec![w];
    let (findings, _) = service(&rules, &svc, Language::Java);
    assert!(rules_of(&findings, "TG201").is_empty(), "{findings:?}");
    assert!(rules_of(&findings, "TG203").is_empty(), "{findings:?}");
    let notes = rules_of(&findings, "TG199");
    assert_eq!(notes.len(), 1, "{findings:?}");
    assert_eq!(notes[0].file.as_deref(), Some("deploy/namespace.yaml"));
}

#[test]
fn jdk_java_options_and_the_dotnet_startup_hook_inject_the_sdk() {
    let rules = RuleSet::builtin();
    for (language, name, value) in [
        (
            Language::Java,
            "JDK_JAVA_OPTIONS",
            "-javaagent:/otel/agent.jar",
        ),
        (
            Language::Dotnet,
            "DOTNET_STARTUP_HOOKS",
            "/otel-dotnet-auto/net/OpenTelemetry.AutoInstrumentation.StartupHook.dll",
        ),
    ] {
        let mut svc = Svc {
            name: "svc".into(),
            path: "svc".into(),
            language: Some(language),
            ..Svc::default()
        };
        let (findings, _) = service(&rules, &svc, language);
        assert_eq!(rules_of(&findings, "TG101").len(), 1, "{name}");
        svc.facts.push(env(name, value, "svc/Dockerfile", 4));
        let (findings, _) = service(&rules, &svc, language);
        assert!(
            rules_of(&findings, "TG101").is_empty(),
            "{name}: {findings:?}"
        );
        // Another hook, or another option, is no OpenTelemetry SDK.
        svc.facts.pop();
        svc.facts
            .push(env(name, "/app/Other.dll -Xmx1g", "svc/Dockerfile", 4));
        let (findings, _) = service(&rules, &svc, language);
        assert_eq!(rules_of(&findings, "TG101").len(), 1, "{name}");
    }
}

/// The SDK reads an empty variable as unset (OpenTelemetry's environment specification):
/// a chart's `value: {{ .Values.otel.endpoint | quote }}` over an empty default sets
/// nothing. A value from a Secret or a ConfigMap reference is not seen: it counts as set.
#[test]
fn an_empty_endpoint_or_service_name_is_not_set() {
    let rules = RuleSet::builtin();
    let workload = |endpoint: &str, name: &str| {
        let mut w = Workload {
            name: "orders".into(),
            kind: "Deployment".into(),
            file: "k8s/orders.yaml".into(),
            line: 4,
            ..Workload::default()
        };
        w.facts.push(env(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            endpoint,
            "k8s/orders.yaml",
            13,
        ));
        w.facts
            .push(env("OTEL_SERVICE_NAME", name, "k8s/orders.yaml", 15));
        w
    };
    let mut svc = Svc {
        name: "orders".into(),
        path: "orders".into(),
        language: Some(Language::Java),
        workloads: vec![workload("", " ")],
        ..Svc::default()
    };
    let (findings, _) = service(&rules, &svc, Language::Java);
    let tg201 = rules_of(&findings, "TG201");
    assert_eq!(tg201.len(), 1, "{findings:?}");
    assert!(tg201[0].message.contains("empty"), "{}", tg201[0].message);
    assert_eq!(rules_of(&findings, "TG203").len(), 1, "{findings:?}");
    // The twin: both set to a value.
    svc.workloads = vec![workload("http://otel-collector:4317", "orders")];
    let (findings, _) = service(&rules, &svc, Language::Java);
    assert!(rules_of(&findings, "TG201").is_empty(), "{findings:?}");
    assert!(rules_of(&findings, "TG203").is_empty(), "{findings:?}");
}

/// A package that looks like the SDK but is not (`opentelemetry-distro` nothing starts, the API
/// alone) is where TG101 points, and its message says why it does not count; without one the
/// finding stays at the manifest.
#[test]
fn tg101_names_the_package_that_falls_short() {
    let rules = RuleSet::builtin();
    let dep = |name: &str, file: &str, line: u32| {
        Fact::new(FactKind::Dependency { name: name.into() }, file, line)
    };
    for (language, name, file) in [
        (
            Language::Python,
            "opentelemetry-distro",
            "svc/requirements.txt",
        ),
        (
            Language::Javascript,
            "@opentelemetry/api",
            "svc/package.json",
        ),
        (Language::Go, "go.opentelemetry.io/otel", "svc/go.mod"),
    ] {
        let mut svc = Svc {
            name: "svc".into(),
            path: "svc".into(),
            language: Some(language),
            manifest: Some(file.into()),
            ..Svc::default()
        };
        svc.facts.push(dep("flask", file, 2));
        let (findings, _) = service(&rules, &svc, language);
        let tg101 = rules_of(&findings, "TG101");
        assert_eq!(tg101.len(), 1, "{name}");
        assert_eq!(tg101[0].line, None, "{name}: {tg101:?}");
        assert!(!tg101[0].message.contains("is there"), "{name}: {tg101:?}");

        svc.facts.push(dep(name, file, 3));
        let (findings, _) = service(&rules, &svc, language);
        let tg101 = rules_of(&findings, "TG101");
        assert_eq!(tg101.len(), 1, "{name}");
        assert_eq!(tg101[0].line, Some(3), "{name}: {tg101:?}");
        assert!(
            tg101[0].message.contains(&format!(
                "dependency `{name}` is there, but it records no span"
            )),
            "{name}: {tg101:?}"
        );
    }
}
