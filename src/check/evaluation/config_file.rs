//! Which OpenTelemetry declarative configuration files a service loads: a file of its tree
//! ([`crate::check::inputs::otel_config`]) counts when something names it — the variable
//! `OTEL_EXPERIMENTAL_CONFIG_FILE` (or `OTEL_CONFIG_FILE`) of a workload or a Dockerfile `ENV`,
//! or the Java system property `otel.experimental.config.file` in a start command or a
//! variable (`JAVA_TOOL_OPTIONS`) — by a path ending with the file's name. A file nothing names
//! is inert: its settings are no fact of the service.

use crate::check::assembly::ancestors;
use crate::check::assembly::work::Svc;
use crate::check::evaluation::env_reads::workload_value;
use crate::check::evaluation::profiles::image_value;
use crate::check::facts::{Fact, FactKind};
use crate::check::inputs::k8s::Workload;
use crate::check::inputs::otel_config;

/// The variables that name the file.
const VARIABLES: &[&str] = &["OTEL_EXPERIMENTAL_CONFIG_FILE", "OTEL_CONFIG_FILE"];

/// The Java system property that names it.
const PROPERTY: &str = "otel.experimental.config.file=";

/// `facts` without the configuration-file facts of files nothing names.
pub(super) fn loaded(facts: Vec<&Fact>) -> Vec<&Fact> {
    if !facts
        .iter()
        .any(|f| matches!(f.kind, FactKind::Config { .. }))
    {
        return facts;
    }
    let mut named: Vec<&str> = Vec::new();
    for f in &facts {
        match &f.kind {
            FactKind::Env {
                name,
                value: Some(v),
                ..
            } => {
                if VARIABLES.contains(&name.as_str()) {
                    named.push(v.trim());
                }
                named.extend(property(v));
            }
            FactKind::Command { text, .. } => named.extend(property(text)),
            _ => {}
        }
    }
    let copies: Vec<&Fact> = facts
        .iter()
        .copied()
        .filter(|f| matches!(f.kind, FactKind::Copy { .. }))
        .collect();
    let names = |file: &str| {
        let base = file.rsplit('/').next().unwrap_or(file);
        named.iter().any(|n| {
            n.rsplit('/').next().is_some_and(|b| b == base)
                || copies.iter().any(|c| copied_as(c, file, n))
        })
    };
    facts
        .into_iter()
        .filter(|f| match f.kind {
            // Attached by the workload that mounts it, under the name it is loaded by.
            FactKind::Config { mounted, .. } => mounted || names(&f.file),
            _ => true,
        })
        .collect()
}

/// Whether the Dockerfile `COPY` (or `ADD`) `copy` puts the tree's `file` at the path `named`
/// in the image. Its sources are relative to the build context: the Dockerfile's directory or
/// one above it (a build from the repository's root).
fn copied_as(copy: &Fact, file: &str, named: &str) -> bool {
    let FactKind::Copy { sources, dest } = &copy.kind else {
        return false;
    };
    let named = clean(named);
    let dest = clean(dest);
    // A directory: written with a trailing `/`, `.`, or the target of several sources.
    let into_dir = dest.is_empty() || dest.ends_with('/') || sources.len() > 1;
    let at = |target: &str| {
        if dest.starts_with('/') {
            named == target
        } else {
            // Relative to the WORKDIR, which is not followed: the end of the path.
            named == target || named.ends_with(&format!("/{target}"))
        }
    };
    let join = |a: &str, b: &str| match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_string(),
        (_, true) => a.to_string(),
        _ => format!("{a}/{b}"),
    };
    let dir = dest.trim_end_matches('/');
    let base = file.rsplit('/').next().unwrap_or(file);
    // The directories containing the Dockerfile, deepest first, the root as `""`.
    let mut contexts = ancestors(&copy.file).map(|d| if d == "." { "" } else { d });
    contexts.any(|context| {
        sources.iter().any(|src| {
            let src = join(context, clean(src).trim_end_matches('/'));
            if src == file || (src.contains('*') && glob(&src, file)) {
                // A file: the destination itself, or a directory it goes into.
                (!into_dir && at(dest)) || at(&join(dir, base))
            } else if src.is_empty() {
                at(&join(dir, file))
            } else {
                // A directory: its contents go into the destination.
                file.strip_prefix(&src)
                    .and_then(|r| r.strip_prefix('/'))
                    .is_some_and(|r| at(&join(dir, r)))
            }
        })
    })
}

/// A path without `./` prefixes, quotes or doubled `/`.
fn clean(path: &str) -> &str {
    let mut p = path.trim().trim_matches(['"', '\'']);
    while let Some(r) = p.strip_prefix("./") {
        p = r;
    }
    if p == "." {
        ""
    } else {
        p
    }
}

/// `pattern`'s last component holds `*` wildcards (`config/*.yaml`): whether `path` matches.
fn glob(pattern: &str, path: &str) -> bool {
    let (pdir, pbase) = pattern.rsplit_once('/').unwrap_or(("", pattern));
    let (dir, base) = path.rsplit_once('/').unwrap_or(("", path));
    if pdir != dir {
        return false;
    }
    let parts: Vec<&str> = pbase.split('*').collect();
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !base.starts_with(first) || base.len() < first.len() + last.len() || !base.ends_with(last) {
        return false;
    }
    let mut rest = &base[first.len()..base.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    true
}

/// Whether a loaded configuration file names the service where `w` runs: the `service.name`
/// of its `resource`, its `${VAR}` substitutions made with what the workload sets (else the
/// image: a Dockerfile `ENV`), is not empty. A value from a reference counts as set.
pub(super) fn names_service(facts: &[&Fact], svc: &Svc, w: &Workload) -> bool {
    facts.iter().any(|f| match &f.kind {
        FactKind::Config { key, value, .. } if key == "service_name" => {
            let lookup = |name: &str| {
                let set = match workload_value(w, name) {
                    Some(v) => Some(v),
                    None => image_value(svc, w, name).map(|v| v.value),
                };
                set.map(|v| v.unwrap_or("(reference)").to_string())
            };
            !otel_config::resolve(value, &lookup).trim().is_empty()
        }
        _ => false,
    })
}

/// The paths `-Dotel.experimental.config.file=PATH` gives in `text`.
fn property(text: &str) -> Vec<&str> {
    text.match_indices(PROPERTY)
        .filter_map(|(i, _)| text[i + PROPERTY.len()..].split_whitespace().next())
        .map(|p| p.trim_matches(|c| c == '"' || c == '\''))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(file: &str) -> Fact {
        Fact::new(
            FactKind::Config {
                key: "processor".into(),
                value: "simple".into(),
                mounted: false,
            },
            file,
            3,
        )
    }

    fn env(name: &str, value: &str) -> Fact {
        Fact::new(
            FactKind::Env {
                name: name.into(),
                value: Some(value.into()),
                from_secret: false,
                from_ref: false,
            },
            "deploy/x.yaml",
            9,
        )
    }

    #[test]
    fn a_file_counts_only_when_named() {
        let a = config("svc/otel-config.yaml");
        let b = config("svc/examples/other.yaml");
        let e = env(
            "OTEL_EXPERIMENTAL_CONFIG_FILE",
            "/etc/otel/otel-config.yaml",
        );
        let got = loaded(vec![&a, &b, &e]);
        assert_eq!(got.len(), 2);
        assert_eq!(&*got[0].file, "svc/otel-config.yaml");
        // Nothing names it: inert.
        assert_eq!(loaded(vec![&a]).len(), 0);
        // The Java agent's property, in JAVA_TOOL_OPTIONS or a command.
        let j = env(
            "JAVA_TOOL_OPTIONS",
            "-javaagent:/otel.jar -Dotel.experimental.config.file=/app/other.yaml",
        );
        assert_eq!(loaded(vec![&b, &j]).len(), 2);
        let c = Fact::new(
            FactKind::command("java -Dotel.experimental.config.file=other.yaml -jar app.jar"),
            "Dockerfile",
            5,
        );
        assert_eq!(loaded(vec![&b, &c]).len(), 2);
    }

    fn copy(dockerfile: &str, sources: &[&str], dest: &str) -> Fact {
        Fact::new(
            FactKind::Copy {
                sources: sources.iter().map(|s| s.to_string()).collect(),
                dest: dest.into(),
            },
            dockerfile,
            7,
        )
    }

    /// A file the Dockerfile copies into the image under another name counts when the variable
    /// names the copy; sources are relative to the build context (the Dockerfile's directory,
    /// or one above it).
    #[test]
    fn a_file_copied_under_another_name_counts() {
        let f = "svc/otel-config.yaml";
        let at = |c: &Fact, n: &str| copied_as(c, f, n);
        let df = "svc/Dockerfile";
        assert!(at(
            &copy(df, &["otel-config.yaml"], "/otel/config.yaml"),
            "/otel/config.yaml"
        ));
        assert!(!at(
            &copy(df, &["otel-config.yaml"], "/otel/config.yaml"),
            "/etc/config.yaml"
        ));
        assert!(at(
            &copy(df, &["./otel-config.yaml"], "/otel/"),
            "/otel/otel-config.yaml"
        ));
        // The context is the repository's root.
        assert!(at(
            &copy(df, &["svc/otel-config.yaml"], "/otel/sdk.yaml"),
            "/otel/sdk.yaml"
        ));
        // A directory, `.`, a wildcard, several sources, a destination relative to WORKDIR.
        let g = "svc/config/otel.yaml";
        assert!(copied_as(
            &copy(df, &["config/"], "/etc/app/"),
            g,
            "/etc/app/otel.yaml"
        ));
        assert!(copied_as(
            &copy(df, &["."], "/app"),
            g,
            "/app/config/otel.yaml"
        ));
        assert!(copied_as(
            &copy(df, &["config/*.yaml"], "/etc/otel/"),
            g,
            "/etc/otel/otel.yaml"
        ));
        assert!(!copied_as(
            &copy(df, &["config/*.json"], "/etc/otel/"),
            g,
            "/etc/otel/otel.yaml"
        ));
        assert!(copied_as(
            &copy(df, &["a.yaml", "config/otel.yaml"], "/c"),
            g,
            "/c/otel.yaml"
        ));
        assert!(copied_as(
            &copy(df, &["config/otel.yaml"], "sdk.yaml"),
            g,
            "/app/sdk.yaml"
        ));
        // Another file of the same directory is not the one copied.
        assert!(!copied_as(
            &copy(df, &["config/other.yaml"], "/c.yaml"),
            g,
            "/c.yaml"
        ));
        // Through `loaded`: the variable names the destination, not the file's name.
        let c = config(f);
        let k = copy(df, &["otel-config.yaml"], "/otel/config.yaml");
        let e = env("OTEL_CONFIG_FILE", "/otel/config.yaml");
        assert_eq!(loaded(vec![&c, &k, &e]).len(), 3);
        assert_eq!(loaded(vec![&c, &e]).len(), 1);
    }

    /// The resource's `service.name` names the service once its substitutions are made with
    /// what the workload (else the image) sets.
    #[test]
    fn the_file_names_the_service_with_the_workloads_variables() {
        use crate::check::assembly::work::Svc;
        use crate::check::inputs::k8s::Workload;
        let name = |v: &str| {
            Fact::new(
                FactKind::Config {
                    key: "service_name".into(),
                    value: v.into(),
                    mounted: true,
                },
                "deploy/otel.yaml",
                9,
            )
        };
        let w = |vars: Vec<Fact>| Workload {
            facts: vars,
            ..Workload::default()
        };
        let svc = Svc::default();
        let named = |v: &str, wl: &Workload, svc: &Svc| names_service(&[&name(v)], svc, wl);
        assert!(named("orders", &w(vec![]), &svc));
        assert!(named("${SVC:-orders}", &w(vec![]), &svc));
        assert!(!named("${SVC}", &w(vec![]), &svc));
        assert!(named("${SVC}", &w(vec![env("SVC", "orders")]), &svc));
        assert!(!named("${SVC}", &w(vec![env("SVC", " ")]), &svc));
        // The image's variable (a Dockerfile `ENV`).
        let image = Svc {
            facts: vec![env("SVC", "orders")],
            ..Svc::default()
        };
        assert!(named("${env:SVC}", &w(vec![]), &image));
        assert!(!names_service(&[], &svc, &w(vec![])));
    }

    /// A Go otelconf service whose file is named by its Deployment: the file is its SDK
    /// (no TG101 though the SDK is indirect), and each mistake in it is one finding at its line.
    #[test]
    fn a_named_file_is_the_sdk_and_is_judged_at_its_lines() {
        use crate::check::assembly::work::Svc;
        use crate::check::evaluation::evaluate;
        use crate::check::evaluation::rules::RuleSet;
        use crate::check::inputs::k8s::Workload;
        use crate::check::model::Language;
        let text = "file_format: \"1.0\"\npropagator:\n  composite: [b3]\ntracer_provider:\n  processors:\n    - simple:\n        exporter:\n          otlp_http:\n            endpoint: http://collector:4318\n";
        let value: serde_yaml::Value = serde_yaml::from_str(text).unwrap();
        let mut facts =
            crate::check::inputs::otel_config::facts("otel.yaml", text, 1, &value, false);
        facts.push(Fact::new(
            FactKind::Dependency {
                name: "go.opentelemetry.io/contrib/otelconf".into(),
            },
            "go.mod",
            0,
        ));
        let svc = |named: bool| Svc {
            name: "ledger".into(),
            path: ".".into(),
            language: Some(Language::Go),
            facts: facts.clone(),
            workloads: vec![Workload {
                kind: "Deployment".into(),
                name: "ledger".into(),
                file: "deploy.yaml".into(),
                line: 4,
                facts: vec![
                    env("OTEL_SERVICE_NAME", "ledger"),
                    env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
                ]
                .into_iter()
                .chain(named.then(|| env("OTEL_EXPERIMENTAL_CONFIG_FILE", "/etc/otel.yaml")))
                .collect(),
                ..Workload::default()
            }],
            ..Svc::default()
        };
        let run = |named: bool| {
            let (findings, _) = evaluate::service(&RuleSet::builtin(), &svc(named), Language::Go);
            findings
                .into_iter()
                .map(|f| (f.rule, f.file.unwrap_or_default(), f.line.unwrap_or(0)))
                .collect::<Vec<_>>()
        };
        let s = |r: &str, f: &str, l: u32| (r.to_string(), f.to_string(), l);
        let mut got = run(true);
        got.sort();
        assert_eq!(
            got,
            vec![
                s("TG102", "otel.yaml", 3),
                s("TG105", "otel.yaml", 6),
                s("TG202", "otel.yaml", 9),
            ]
        );
        // Not named: the file is inert; otelconf alone is the SDK, and nothing else is judged.
        assert!(run(false).is_empty(), "{:?}", run(false));
    }

    /// A written-out endpoint in a file mounted from a ConfigMap is configuration: no TG202,
    /// and TG201 holds; the same file in the tree is TG202, and TG201 asks the workload.
    #[test]
    fn a_mounted_file_is_configuration() {
        use crate::check::assembly::work::Svc;
        use crate::check::evaluation::evaluate;
        use crate::check::evaluation::rules::RuleSet;
        use crate::check::inputs::k8s::Workload;
        use crate::check::model::Language;
        let text = "file_format: \"0.3\"\npropagator:\n  composite: [tracecontext]\ntracer_provider:\n  processors:\n    - batch:\n        exporter:\n          otlp:\n            endpoint: http://collector:4318\n";
        let value: serde_yaml::Value = serde_yaml::from_str(text).unwrap();
        let rules = |mounted: bool| {
            let svc = Svc {
                name: "catalog".into(),
                path: ".".into(),
                language: Some(Language::Java),
                facts: crate::check::inputs::otel_config::facts(
                    "otel.yaml",
                    text,
                    1,
                    &value,
                    mounted,
                ),
                workloads: vec![Workload {
                    kind: "Deployment".into(),
                    name: "catalog".into(),
                    file: "deploy.yaml".into(),
                    line: 4,
                    facts: vec![
                        env("OTEL_SERVICE_NAME", "catalog"),
                        env("JAVA_TOOL_OPTIONS", "-javaagent:/otel.jar"),
                        env("OTEL_EXPERIMENTAL_CONFIG_FILE", "/etc/otel.yaml"),
                    ],
                    ..Workload::default()
                }],
                ..Svc::default()
            };
            let (findings, _) = evaluate::service(&RuleSet::builtin(), &svc, Language::Java);
            let mut ids: Vec<String> = findings.into_iter().map(|f| f.rule).collect();
            ids.sort();
            ids
        };
        assert!(rules(true).is_empty(), "{:?}", rules(true));
        assert_eq!(rules(false), vec!["TG201", "TG202"]);
    }
}
