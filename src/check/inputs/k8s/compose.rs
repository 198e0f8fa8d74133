//! docker-compose files: each service becomes a [`Workload`] of kind [`COMPOSE`] with its
//! image and the directory its `build:` names. They name and locate services (and list
//! infrastructure: `image: postgres:17`); the workload rules (TG201, TG203) do not judge
//! them, but what they start the service with counts as for a Dockerfile: `command:` and
//! `entrypoint:` as start commands, `environment:` (list or map) as its environment
//! (`NODE_OPTIONS=--require @opentelemetry/auto-instrumentations-node/register`).

use serde_yaml::Value;

use super::build::{code_dir, join, parent};
use super::{get, s, Doc, Workload, COMPOSE};
use crate::check::facts::{CommandSlot, Fact, FactKind};

/// `docker-compose.yml`, `compose.yaml`, `docker-compose.override.yml`, `compose.prod.yaml`…
pub(super) fn is_compose_file(name: &str) -> bool {
    let Some(stem) = name
        .strip_suffix(".yml")
        .or_else(|| name.strip_suffix(".yaml"))
    else {
        return false;
    };
    ["docker-compose", "compose"]
        .iter()
        .any(|base| stem == *base || stem.strip_prefix(base).is_some_and(|r| r.starts_with('.')))
}

/// The services of a compose document.
pub(super) fn services(rel: &str, doc: &Doc<'_>, value: &Value, out: &mut Vec<Workload>) {
    let Some(Value::Mapping(services)) = get(value, &["services"]) else {
        return;
    };
    let dir = parent(rel);
    let top = service_lines(doc);
    for (name, service) in services {
        let Some(name) = s(name) else {
            continue;
        };
        let build_args: Vec<String> = match get(service, &["build", "args"]) {
            Some(Value::Mapping(m)) => m.values().filter_map(s).collect(),
            Some(Value::Sequence(items)) => items
                .iter()
                .filter_map(s)
                .filter_map(|i| Some(i.split_once('=')?.1.to_owned()))
                .collect(),
            _ => Vec::new(),
        };
        let (context, dockerfile) = match get(service, &["build"]) {
            Some(Value::String(context)) => (Some(context.clone()), None),
            Some(b @ Value::Mapping(_)) => (
                Some(
                    get(b, &["context"])
                        .and_then(s)
                        .unwrap_or_else(|| ".".into()),
                ),
                get(b, &["dockerfile"]).and_then(s),
            ),
            _ => (None, None),
        };
        let build = context
            .as_deref()
            .and_then(|c| code_dir(dir, c, dockerfile.as_deref()));
        let dockerfile = context.as_deref().and_then(|c| {
            let context = join(dir, c)?;
            let file = join(&context, dockerfile.as_deref().unwrap_or("Dockerfile"))?;
            Some((file, context))
        });
        let line = top
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(doc.start, |(_, l)| *l);
        let facts = settings(rel, doc, service, line);
        out.push(Workload {
            facts,
            aliases: get(service, &["container_name"])
                .and_then(s)
                .into_iter()
                .collect(),
            images: get(service, &["image"]).and_then(s).into_iter().collect(),
            build,
            dockerfile,
            build_args,
            name,
            kind: COMPOSE.to_string(),
            file: rel.to_string(),
            line,
            ..Workload::default()
        });
    }
}

/// A compose service's `entrypoint:`/`command:` (string or list) and `environment:` (a list
/// of `NAME=value` or a map), located from the service's line on.
fn settings(rel: &str, doc: &Doc<'_>, service: &Value, from: u32) -> Vec<Fact> {
    let mut out = Vec::new();
    for (key, slot) in [
        ("entrypoint", CommandSlot::ReplacesEntrypoint),
        ("command", CommandSlot::ReplacesCmd),
    ] {
        let text = match get(service, &[key]) {
            Some(Value::Sequence(parts)) => {
                parts.iter().filter_map(s).collect::<Vec<_>>().join(" ")
            }
            Some(v) => s(v).unwrap_or_default(),
            None => continue,
        };
        if !text.is_empty() {
            let line = doc.line(&format!("{key}:"), from);
            out.push(Fact::new(FactKind::Command { text, slot }, rel, line));
        }
    }
    let pairs: Vec<(String, Option<String>)> = match get(service, &["environment"]) {
        Some(Value::Sequence(items)) => items
            .iter()
            .filter_map(s)
            .map(|item| match item.split_once('=') {
                Some((n, v)) => (n.to_string(), Some(v.to_string())),
                None => (item, None),
            })
            .collect(),
        Some(Value::Mapping(m)) => m.iter().filter_map(|(k, v)| Some((s(k)?, s(v)))).collect(),
        _ => Vec::new(),
    };
    for (name, value) in pairs {
        let line = doc.line(&name, from);
        out.push(Fact::new(
            FactKind::Env {
                name,
                value,
                from_secret: false,
                from_ref: false,
            },
            rel,
            line,
        ));
    }
    out
}

/// The line of each key directly under the top-level `services:` (`name:` at the first
/// indentation below it).
fn service_lines(doc: &Doc<'_>) -> Vec<(String, u32)> {
    let mut out = Vec::new();
    let mut indent: Option<usize> = None;
    let mut inside = false;
    for (i, line) in doc.text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let depth = line.len() - trimmed.len();
        if depth == 0 {
            inside = trimmed.starts_with("services:");
            continue;
        }
        if !inside || indent.is_some_and(|d| depth != d) {
            continue;
        }
        indent = Some(depth);
        if let Some((key, _)) = trimmed.split_once(':') {
            let key = key.trim().trim_matches(|c| c == '"' || c == '\'');
            out.push((key.to_string(), doc.start + i as u32));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use crate::check::facts::{Fact, FactKind};

    #[test]
    fn compose_commands_and_environment_maps() {
        let text = "services:\n  web:\n    build: ./web\n    command: [\"node\", \"--require\", \"@opentelemetry/auto-instrumentations-node/register\", \"server.js\"]\n    environment:\n      OTEL_SERVICE_NAME: web\n      NODE_OPTIONS: --enable-source-maps\n";
        let f = parse("compose.yaml", text).unwrap();
        let got: Vec<String> = f.workloads[0]
            .facts
            .iter()
            .map(|x| match &x.kind {
                FactKind::Command { text, .. } => format!("{} {text}", x.line),
                FactKind::Env { name, value, .. } => {
                    format!("{} {name}={}", x.line, value.as_deref().unwrap_or(""))
                }
                _ => String::new(),
            })
            .collect();
        assert_eq!(
            got,
            [
                "4 node --require @opentelemetry/auto-instrumentations-node/register server.js",
                "6 OTEL_SERVICE_NAME=web",
                "7 NODE_OPTIONS=--enable-source-maps",
            ]
        );
    }

    #[test]
    fn compose_build_arguments_in_both_forms() {
        let text = "services:\n  orders:\n    build:\n      context: .\n      args:\n        SERVICE: orders-api\n  payments:\n    build:\n      context: .\n      args:\n        - SERVICE=payments-worker\n        - DEBUG\n  web:\n    build: ./web\n";
        let f = parse("docker-compose.yml", text).unwrap();
        let args: Vec<&[String]> = f.workloads.iter().map(|w| &w.build_args[..]).collect();
        assert_eq!(
            args,
            [
                &["orders-api".to_string()][..],
                &["payments-worker".to_string()][..],
                &[][..]
            ]
        );
    }

    #[test]
    fn compose_files_by_name() {
        for name in [
            "docker-compose.yml",
            "docker-compose.yaml",
            "compose.yaml",
            "docker-compose.override.yml",
            "compose.prod.yml",
        ] {
            assert!(super::is_compose_file(name), "{name}");
        }
        for name in [
            "composer.yaml",
            "docker-compose.json",
            "values.yaml",
            "compose-x.yml",
        ] {
            assert!(!super::is_compose_file(name), "{name}");
        }
    }

    #[test]
    fn compose_services_with_images_builds_and_lines() {
        let text = "x-logging: &logging\n  driver: json-file\n\nservices:\n  quote:\n    image: ghcr.io/acme/shop:quote\n    build:\n      context: ./\n      dockerfile: src/quote/Dockerfile\n    environment:\n      - KAFKA_ADDR=kafka:9092\n  frontend:\n    build: ./src/frontend\n  \"kafka\":\n    image: apache/kafka:3.9.0\n    container_name: broker\n";
        let f = parse("docker-compose.yml", text).unwrap();
        let got: Vec<String> = f
            .workloads
            .iter()
            .map(|w| {
                format!(
                    "{} {} {:?} {} {:?}",
                    w.name, w.kind, w.build, w.line, w.images
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                "quote compose Some(\"src/quote\") 5 [\"ghcr.io/acme/shop:quote\"]",
                "frontend compose Some(\"src/frontend\") 12 []",
                "kafka compose None 14 [\"apache/kafka:3.9.0\"]",
            ]
        );
        assert_eq!(f.workloads[2].aliases, ["broker"]);
        assert!(f.workloads.iter().all(|w| !w.judged()));
        // What a service is started with counts: its environment, as in a Dockerfile.
        assert!(
            matches!(&f.workloads[0].facts[..], [Fact { kind: FactKind::Env { name, value: Some(v), .. }, line: 11, .. }] if name == "KAFKA_ADDR" && v == "kafka:9092")
        );
        assert!(f.workloads[1].facts.is_empty());
        // The same text in a file of another name is no compose file.
        assert!(parse("k8s/app.yaml", text).unwrap().workloads.is_empty());
        // A build in a subdirectory's compose file resolves against it.
        let f = parse(
            "deploy/compose.yaml",
            "services:\n  a:\n    build: ../src/a\n",
        )
        .unwrap();
        assert_eq!(f.workloads[0].build.as_deref(), Some("src/a"));
    }
}
