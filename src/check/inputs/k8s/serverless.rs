//! Serverless Framework configurations (`serverless.yml`): the functions of one `service:`
//! deployed to a FaaS platform from the directory of the file — the code beside it is a
//! service even without a start script or a Dockerfile (a `handler.js` beside a
//! `package.json` that only lists the framework, a `handler.py` beside `requirements.txt`).
//! Each file becomes a [`Workload`] of kind [`SERVERLESS`], named by its `service:`, built from
//! its directory, with the environment `provider.environment` and the functions' own
//! `environment` set, and, as start commands, what the runtime (`provider.runtime`, or a
//! function's own) runs of each `handler:` (`handler.send` under `nodejs20.x` is `node
//! handler.js`, `src/orders.create` under `python3.12` is `python src/orders.py`). The
//! workload rules (TG201, TG203) do not judge it: no Kubernetes workload sets its settings.

use serde_yaml::Value;

use super::build::parent;
use super::{get, s, Doc, Workload};
use crate::check::facts::{CommandSlot, Fact, FactKind};

/// The kind of a Serverless Framework service's [`Workload`].
pub const SERVERLESS: &str = "serverless";

/// `serverless.yml` / `serverless.yaml` whose document has `service`, `provider` and
/// `functions`.
pub(super) fn is_serverless(file_name: &str, value: &Value) -> bool {
    matches!(file_name, "serverless.yml" | "serverless.yaml")
        && get(value, &["service"]).is_some()
        && get(value, &["provider"]).is_some()
        && matches!(get(value, &["functions"]), Some(Value::Mapping(_)))
}

/// The service a Serverless Framework document deploys.
pub(super) fn workload(rel: &str, doc: &Doc<'_>, value: &Value) -> Option<Workload> {
    let name = get(value, &["service"])
        .and_then(s)
        .or_else(|| get(value, &["service", "name"]).and_then(s))
        .filter(|n| !n.is_empty() && !n.contains("${"))?;
    let line = doc.line("service", doc.start);
    let runtime = get(value, &["provider", "runtime"]).and_then(s);
    let mut facts = environment(rel, doc, get(value, &["provider", "environment"]), line);
    if let Some(Value::Mapping(functions)) = get(value, &["functions"]) {
        for (fname, function) in functions {
            let from = s(fname).map_or(line, |n| doc.line(&format!("{n}:"), line));
            facts.extend(environment(rel, doc, get(function, &["environment"]), from));
            let runtime = get(function, &["runtime"]).and_then(s).or(runtime.clone());
            let handler = get(function, &["handler"]).and_then(s);
            if let (Some(runtime), Some(handler)) = (runtime, handler) {
                if let Some(text) = command(&runtime, &handler) {
                    let at = doc.line("handler:", from);
                    let slot = CommandSlot::Run;
                    facts.push(Fact::new(FactKind::Command { text, slot }, rel, at));
                }
            }
        }
    }
    Some(Workload {
        name,
        kind: SERVERLESS.to_string(),
        file: rel.to_string(),
        line,
        build: Some(parent(rel).to_string()),
        facts,
        ..Workload::default()
    })
}

/// What `runtime` runs of `handler` (`file.function`, the file relative to the service).
fn command(runtime: &str, handler: &str) -> Option<String> {
    let (file, _function) = handler.rsplit_once('.')?;
    if file.is_empty() || file.contains("${") {
        return None;
    }
    if runtime.starts_with("nodejs") {
        Some(format!("node {file}.js"))
    } else if runtime.starts_with("python") {
        Some(format!("python {file}.py"))
    } else {
        None
    }
}

/// An `environment:` map's variables, located from line `from` on.
fn environment(rel: &str, doc: &Doc<'_>, env: Option<&Value>, from: u32) -> Vec<Fact> {
    let Some(Value::Mapping(env)) = env else {
        return Vec::new();
    };
    env.iter()
        .filter_map(|(k, v)| {
            let name = s(k)?;
            let value = s(v).filter(|v| !v.contains("${"));
            let line = doc.line(&name, from);
            Some(Fact::new(
                FactKind::Env {
                    name,
                    value,
                    from_secret: false,
                    from_ref: false,
                },
                rel,
                line,
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use super::*;

    #[test]
    fn a_serverless_service_is_a_workload_built_from_its_directory() {
        let text = "service: shop-orders\nprovider:\n  name: aws\n  runtime: python3.12\n  environment:\n    OTEL_SERVICE_NAME: shop-orders\n    TABLE: ${self:custom.table}\nfunctions:\n  create:\n    handler: src/handler.create\n    environment:\n      NOTIFY_URL: http://notify/send\n  report:\n    runtime: nodejs20.x\n    handler: report.run\n";
        let k = parse("services/orders/serverless.yml", text).unwrap();
        assert_eq!(k.workloads.len(), 1);
        let w = &k.workloads[0];
        assert_eq!(
            (w.name.as_str(), w.kind.as_str()),
            ("shop-orders", SERVERLESS)
        );
        assert_eq!(w.build.as_deref(), Some("services/orders"));
        assert!(!w.judged());
        let facts: Vec<String> = w
            .facts
            .iter()
            .map(|f| match &f.kind {
                FactKind::Env { name, value, .. } => format!("{}: {name}={value:?}", f.line),
                FactKind::Command { text, .. } => format!("{}: {text}", f.line),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(
            facts,
            vec![
                "6: OTEL_SERVICE_NAME=Some(\"shop-orders\")",
                "7: TABLE=None",
                "12: NOTIFY_URL=Some(\"http://notify/send\")",
                "10: python src/handler.py",
                "15: node report.js",
            ]
        );
    }

    #[test]
    fn other_yaml_files_and_incomplete_configurations_are_not_serverless() {
        let text = "service: x\nprovider:\n  name: aws\nfunctions:\n  a:\n    handler: h.a\n";
        assert!(parse("serverless-notes.yml", text)
            .unwrap()
            .workloads
            .is_empty());
        let no_functions = "service: x\nprovider:\n  name: aws\n";
        assert!(parse("serverless.yml", no_functions)
            .unwrap()
            .workloads
            .is_empty());
    }
}
