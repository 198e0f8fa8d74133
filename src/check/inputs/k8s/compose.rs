//! docker-compose files: each service becomes a [`Workload`] of kind [`COMPOSE`] with its
//! image and the directory its `build:` names. They name and locate services (and list
//! infrastructure: `image: postgres:17`); their settings are not judged.

use serde_yaml::Value;

use super::build::{code_dir, parent};
use super::{get, s, Doc, Workload, COMPOSE};

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
        let build = match get(service, &["build"]) {
            Some(Value::String(context)) => code_dir(dir, context, None),
            Some(b @ Value::Mapping(_)) => {
                let context = get(b, &["context"])
                    .and_then(s)
                    .unwrap_or_else(|| ".".into());
                let dockerfile = get(b, &["dockerfile"]).and_then(s);
                code_dir(dir, &context, dockerfile.as_deref())
            }
            _ => None,
        };
        let line = top
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(doc.start, |(_, l)| *l);
        out.push(Workload {
            aliases: get(service, &["container_name"])
                .and_then(s)
                .into_iter()
                .collect(),
            images: get(service, &["image"]).and_then(s).into_iter().collect(),
            build,
            name,
            kind: COMPOSE.to_string(),
            file: rel.to_string(),
            line,
            ..Workload::default()
        });
    }
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
        assert!(f
            .workloads
            .iter()
            .all(|w| !w.judged() && w.facts.is_empty()));
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
