//! Tracing behind a feature flag (TG106): the code reads a flag variable that switches tracing
//! on (`if os.Getenv("ENABLE_TRACING") == "1" { initTracing() }`), and a workload deploying the
//! service does not set it on — so its tracing is off where it runs. The finding names the
//! flag, where the code reads it, and the places of the tree that do set it (other copies of
//! the workload, a Dockerfile `ENV` overridden…), so that the fix is to deploy what exists.

use crate::check::assembly::work::Svc;
use crate::check::evaluation::copies;
use crate::check::evaluation::env_reads::{self, is_on, workload_value};
use crate::check::evaluation::evaluate::finding;
use crate::check::evaluation::profiles::{image_value, ImageValue};
use crate::check::evaluation::rules::Rule;
use crate::check::facts::Fact;
use crate::check::inputs::k8s::Workload;
use crate::check::model::{Finding, Language};

/// The SDKs that read `OTEL_SDK_DISABLED` themselves (the Java agent and SDK, Python, Node.js,
/// .NET; not Go's nor Rust's).
const SDK_DISABLED: &str = "OTEL_SDK_DISABLED";

/// TG106 for one service, from its call and symbol facts (the reads are among them).
pub(super) fn tracing_flag(rule: &Rule, svc: &Svc, facts: &[&Fact], out: &mut Vec<Finding>) {
    let reads = env_reads::reads(rule.param("env_readers"), facts);
    // Flags that switch tracing off (`if os.Getenv("DISABLE_TRACING") == ""`), and the SDK's
    // own switch where the SDK reads it.
    let sdk_reads_it = matches!(
        svc.language,
        Some(
            Language::Java
                | Language::Python
                | Language::Javascript
                | Language::Typescript
                | Language::Dotnet
        )
    );
    let mut off: Vec<(&str, String)> = reads
        .iter()
        .filter(|r| env_reads::is_tracing_off_flag(&r.name))
        .map(|r| {
            (
                r.name.as_str(),
                format!("read at {}:{}", r.fact.file, r.fact.line),
            )
        })
        .collect();
    if sdk_reads_it && !off.iter().any(|(n, _)| *n == SDK_DISABLED) {
        off.push((SDK_DISABLED, "read by the OpenTelemetry SDK".to_string()));
    }
    for (name, read) in off {
        switched_off(rule, svc, name, &read, out);
    }
    let Some(flag) = reads.iter().find(|r| env_reads::is_tracing_flag(&r.name)) else {
        return;
    };
    let name = flag.name.as_str();
    let on = |w: &Workload| match workload_value(w, name) {
        Some(v) => flag.turns_on(v),
        None => image_value(svc, w, name).is_some_and(|v| flag.turns_on(v.value)),
    };
    let elsewhere: Vec<String> = svc
        .workloads
        .iter()
        .filter(|w| w.judged() && workload_value(w, name).is_some_and(|v| flag.turns_on(v)))
        .map(|w| match &w.built_by {
            Some(k) => format!("{}:{} as built by kustomize {k}", w.file, w.line),
            None => format!("{}:{}", w.file, w.line),
        })
        .chain(
            svc.offered_env
                .iter()
                .filter(|o| o.name == name && flag.turns_on(o.value.as_deref()))
                .map(|o| {
                    format!(
                        "{}:{} for {} `{}`, a component no kustomization uses",
                        o.file, o.line, o.kind, o.workload
                    )
                }),
        )
        .collect();
    let set_by = if elsewhere.is_empty() {
        "; nothing in the tree sets it".to_string()
    } else {
        format!("; set in {}", elsewhere.join(", "))
    };
    // What the code compares the value with, when it is not any true value.
    let want = flag.on_value();
    let compared = match flag.compared() {
        Some(c) if c.values.iter().all(|v| is_on(Some(v))) => {
            let values: Vec<String> = c.values.iter().map(|v| format!("`{v}`")).collect();
            let case = if c.ignore_case { ", in any case" } else { "" };
            format!(" and compared with {}{case}", values.join(", "))
        }
        _ => String::new(),
    };
    for (w, copies) in copies::lacking(&svc.workloads, |w| !on(w)) {
        let how = match (workload_value(w, name), image_value(svc, w, name)) {
            (Some(Some(v)), _) => format!("sets to `{v}`"),
            (None, Some(i)) if i.profile.is_some() => {
                format!("does not set, and {}", profile_default(&i))
            }
            _ => "does not set".to_string(),
        };
        out.push(finding(
            rule,
            format!(
                "{}: tracing is off unless {name}={want} (read at {}:{}{compared}), which {} `{}` {how}{copies}{set_by}",
                rule.message, flag.fact.file, flag.fact.line, w.kind, w.name
            ),
            Some(&w.file),
            Some(w.line),
        ));
    }
}

/// "the settings for `prod` (SPRING_PROFILES_ACTIVE) give `false` (…/application-prod.yml:5)".
fn profile_default(i: &ImageValue) -> String {
    let (profile, how) = i.profile.unwrap_or_default();
    format!(
        "the settings for `{profile}` ({how}) give `{}` ({}:{})",
        i.value.unwrap_or_default(),
        i.file,
        i.line,
    )
}

/// A flag that switches tracing off (`DISABLE_TRACING`, `OTEL_SDK_DISABLED`): a finding at
/// each workload that sets it to a true literal, or leaves on an image default that does (a
/// reference is not taken as switching it off).
fn switched_off(rule: &Rule, svc: &Svc, name: &str, read: &str, out: &mut Vec<Finding>) {
    let off = |w: &Workload| match workload_value(w, name) {
        Some(Some(v)) => env_reads::is_on(Some(v)),
        Some(None) => false,
        None => image_value(svc, w, name)
            .is_some_and(|i| i.value.is_some() && env_reads::is_on(i.value)),
    };
    for (w, copies) in copies::lacking(&svc.workloads, |w| off(w)) {
        let how = match workload_value(w, name) {
            Some(Some(v)) => format!("{} `{}` sets it to `{v}`", w.kind, w.name),
            _ => match image_value(svc, w, name) {
                Some(i) if i.profile.is_some() => {
                    format!(
                        "{} `{}` does not set it, and {}",
                        w.kind,
                        w.name,
                        profile_default(&i)
                    )
                }
                Some(ImageValue {
                    value: Some(v),
                    file,
                    ..
                }) => {
                    format!("{} `{}` keeps the image's `{v}` ({file})", w.kind, w.name)
                }
                _ => format!("{} `{}` sets it", w.kind, w.name),
            },
        };
        out.push(finding(
            rule,
            format!(
                "{}: tracing is off where {name} is set ({read}), and {how}{copies}",
                rule.message
            ),
            Some(&w.file),
            Some(w.line),
        ));
    }
}

#[cfg(test)]
mod tests {
    use crate::check::assembly::work::{OfferedEnv, Svc};
    use crate::check::evaluation::evaluate;
    use crate::check::evaluation::rules::RuleSet;
    use crate::check::facts::{segments, Fact, FactKind, SourceFacts};
    use crate::check::inputs::k8s::Workload;
    use crate::check::model::{Finding, Language};

    fn env(name: &str, value: &str) -> Fact {
        Fact::new(
            FactKind::Env {
                name: name.into(),
                value: Some(value.into()),
                from_secret: false,
                from_ref: false,
            },
            "deploy/frontend.yaml",
            20,
        )
    }

    /// A Go service reading `ENABLE_TRACING` and `COLLECTOR_SERVICE_ADDR`, deployed by one
    /// Deployment with `env`.
    fn service(env: Vec<Fact>) -> Svc {
        let mut src = SourceFacts::default();
        for (name, line) in [("ENABLE_TRACING", 15), ("COLLECTOR_SERVICE_ADDR", 30)] {
            src.facts.push(Fact::new(
                FactKind::Call {
                    path: segments("os.Getenv"),
                    literal_args: vec![name.into()],
                    method: false,
                    args: Default::default(),
                },
                "main.go",
                line,
            ));
        }
        src.facts.push(Fact::new(
            FactKind::Dependency {
                name: "go.opentelemetry.io/otel/sdk".into(),
            },
            "go.mod",
            0,
        ));
        Svc {
            name: "frontend".into(),
            path: ".".into(),
            language: Some(Language::Go),
            sources: vec![src],
            source_files: vec!["main.go".into()],
            workloads: vec![Workload {
                kind: "Deployment".into(),
                name: "frontend".into(),
                file: "deploy/frontend.yaml".into(),
                line: 4,
                facts: env,
                ..Workload::default()
            }],
            ..Svc::default()
        }
    }

    fn of(rule: &str, svc: &Svc) -> Vec<Finding> {
        let (findings, _) = evaluate::service(&RuleSet::builtin(), svc, Language::Go);
        findings.into_iter().filter(|f| f.rule == rule).collect()
    }

    #[test]
    fn a_flag_the_workload_does_not_set_turns_tracing_off() {
        let mut svc = service(vec![env("COLLECTOR_SERVICE_ADDR", "collector:4317")]);
        svc.offered_env.push(OfferedEnv {
            file: "kustomize/components/ops/kustomization.yaml".into(),
            line: 15,
            kind: "Deployment".into(),
            workload: "frontend".into(),
            name: "ENABLE_TRACING".into(),
            value: Some("1".into()),
        });
        let got = of("TG106", &svc);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].file.as_deref(), Some("deploy/frontend.yaml"));
        let m = &got[0].message;
        assert!(m.contains("ENABLE_TRACING=1 (read at main.go:15)"), "{m}");
        assert!(
            m.contains("set in kustomize/components/ops/kustomization.yaml:15"),
            "{m}"
        );
        // Set to "0": still off, and the finding says so.
        let svc = service(vec![env("ENABLE_TRACING", "0")]);
        assert!(of("TG106", &svc)[0].message.contains("sets to `0`"));
    }

    /// `service`, reading `DISABLE_TRACING` in place of `ENABLE_TRACING`.
    fn disabling(env: Vec<Fact>) -> Svc {
        let mut svc = service(env);
        if let FactKind::Call { literal_args, .. } = &mut svc.sources[0].facts[0].kind {
            literal_args[0] = "DISABLE_TRACING".into();
        }
        svc
    }

    #[test]
    fn a_flag_that_switches_tracing_off_fires_where_it_is_set() {
        let collector = || env("COLLECTOR_SERVICE_ADDR", "collector:4317");
        let got = of(
            "TG106",
            &disabling(vec![collector(), env("DISABLE_TRACING", "1")]),
        );
        assert_eq!(got.len(), 1, "{got:?}");
        let m = &got[0].message;
        assert!(
            m.contains("off where DISABLE_TRACING is set (read at main.go:15), and Deployment `frontend` sets it to `1`"),
            "{m}"
        );
        // Not set, set to a false value, or from a reference: on.
        for extra in [vec![], vec![env("DISABLE_TRACING", "false")]] {
            let mut list = vec![collector()];
            list.extend(extra);
            assert!(of("TG106", &disabling(list)).is_empty());
        }
        // The image's default, which the workload does not override.
        let mut svc = disabling(vec![collector()]);
        svc.facts.push(env("DISABLE_TRACING", "true"));
        assert!(of("TG106", &svc)[0]
            .message
            .contains("keeps the image's `true`"));
    }

    #[test]
    fn otel_sdk_disabled_switches_off_the_sdks_that_read_it() {
        let mut svc = service(vec![
            env("ENABLE_TRACING", "1"),
            env("COLLECTOR_SERVICE_ADDR", "collector:4317"),
            env("OTEL_SDK_DISABLED", "true"),
        ]);
        // Go's SDK does not read it.
        assert!(of("TG106", &svc).is_empty());
        svc.language = Some(Language::Java);
        svc.facts.push(Fact::new(
            FactKind::Dependency {
                name: "io.opentelemetry:opentelemetry-sdk".into(),
            },
            "pom.xml",
            0,
        ));
        let (got, _) = evaluate::service(&RuleSet::builtin(), &svc, Language::Java);
        let got: Vec<&Finding> = got.iter().filter(|f| f.rule == "TG106").collect();
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(got[0]
            .message
            .contains("OTEL_SDK_DISABLED is set (read by the OpenTelemetry SDK)"));
    }

    #[test]
    fn a_flag_set_on_passes() {
        let svc = service(vec![
            env("ENABLE_TRACING", "1"),
            env("COLLECTOR_SERVICE_ADDR", "collector:4317"),
        ]);
        assert!(of("TG106", &svc).is_empty());
        // The image's default counts when the workload says nothing.
        let mut svc = service(vec![]);
        svc.facts.push(env("ENABLE_TRACING", "true"));
        assert!(of("TG106", &svc).is_empty());
    }

    #[test]
    fn an_endpoint_variable_the_code_reads_is_what_tg201_asks_for() {
        let svc = service(vec![
            env("ENABLE_TRACING", "1"),
            env("COLLECTOR_SERVICE_ADDR", "collector:4317"),
        ]);
        assert!(of("TG201", &svc).is_empty());
        // OTEL_EXPORTER_OTLP_ENDPOINT does not reach an exporter given another variable.
        let svc = service(vec![
            env("ENABLE_TRACING", "1"),
            env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
        ]);
        let got = of("TG201", &svc);
        assert_eq!(got.len(), 1);
        assert!(got[0]
            .message
            .contains("sets none of COLLECTOR_SERVICE_ADDR (the code reads the export endpoint from it, at main.go:30)"));
    }
}
