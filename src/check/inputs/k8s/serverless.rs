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
//!
//! AWS SAM templates (`Transform: AWS::Serverless-2016-10-31`) the same way, one workload per
//! `AWS::Serverless::Function` built from its `CodeUri` directory, named by its literal
//! `FunctionName` (else by that directory), with `Globals.Function` and its own
//! `Environment.Variables`, `Runtime` and `Handler`.

use serde_yaml::Value;

use super::build::{join, parent};
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

/// An AWS SAM template (`Transform` naming `AWS::Serverless…`, with `Resources`).
pub(super) fn is_sam(value: &Value) -> bool {
    let transform = match get(value, &["Transform"]) {
        Some(Value::Sequence(items)) => items.iter().filter_map(s).any(|t| is_sam_transform(&t)),
        Some(v) => s(v).is_some_and(|t| is_sam_transform(&t)),
        None => false,
    };
    transform && matches!(get(value, &["Resources"]), Some(Value::Mapping(_)))
}

fn is_sam_transform(t: &str) -> bool {
    t.starts_with("AWS::Serverless")
}

/// The functions of a SAM template whose code is a directory of the tree.
pub(super) fn sam_functions(rel: &str, doc: &Doc<'_>, value: &Value) -> Vec<Workload> {
    let Some(Value::Mapping(resources)) = get(value, &["Resources"]) else {
        return Vec::new();
    };
    let globals = get(value, &["Globals", "Function"]);
    let global_runtime = globals.and_then(|g| get(g, &["Runtime"])).and_then(s);
    let mut out = Vec::new();
    for (id, resource) in resources {
        let Some(id) = s(id) else {
            continue;
        };
        if get(resource, &["Type"]).and_then(s).as_deref() != Some("AWS::Serverless::Function") {
            continue;
        }
        let props = get(resource, &["Properties"]);
        let prop = |key: &str| props.and_then(|p| get(p, &[key])).and_then(s);
        // `CodeUri` as a local directory (not `s3://…`, not a `!Ref`).
        let Some(dir) = prop("CodeUri").and_then(|c| join(parent(rel), &c)) else {
            continue;
        };
        let line = doc.line(&format!("{id}:"), doc.start);
        let name = prop("FunctionName")
            .filter(|n| !n.contains("${"))
            .unwrap_or_else(|| dir.rsplit('/').next().unwrap_or(&dir).to_string());
        let mut facts = environment(
            rel,
            doc,
            globals.and_then(|g| get(g, &["Environment", "Variables"])),
            doc.start,
        );
        facts.extend(environment(
            rel,
            doc,
            props.and_then(|p| get(p, &["Environment", "Variables"])),
            line,
        ));
        let runtime = prop("Runtime").or(global_runtime.clone());
        if let (Some(runtime), Some(handler)) = (runtime, prop("Handler")) {
            if let Some(text) = command(&runtime, &handler) {
                let at = doc.line("Handler:", line);
                let slot = CommandSlot::Run;
                facts.push(Fact::new(FactKind::Command { text, slot }, rel, at));
            }
        }
        out.push(Workload {
            name,
            kind: SERVERLESS.to_string(),
            file: rel.to_string(),
            line,
            build: Some(dir),
            facts,
            ..Workload::default()
        });
    }
    out
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
    fn each_function_of_a_sam_template_is_a_workload_built_from_its_code_uri() {
        let text = "AWSTemplateFormatVersion: '2010-09-09'\nTransform: AWS::Serverless-2016-10-31\nGlobals:\n  Function:\n    Runtime: nodejs20.x\n    Environment:\n      Variables:\n        OTEL_EXPORTER_OTLP_ENDPOINT: http://collector:4318\nResources:\n  OrdersFunction:\n    Type: AWS::Serverless::Function\n    Properties:\n      FunctionName: shop-orders\n      CodeUri: src/orders/\n      Handler: app.lambda_handler\n      Runtime: python3.12\n      Environment:\n        Variables:\n          TABLE: !Ref OrdersTable\n  NotifyFunction:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: src/notify\n      Handler: index.handler\n  Packaged:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: s3://bucket/code.zip\n      Handler: index.handler\n  OrdersTable:\n    Type: AWS::Serverless::SimpleTable\n";
        let k = parse("infra/template.yaml", text).unwrap();
        let summary: Vec<String> = k
            .workloads
            .iter()
            .map(|w| {
                let facts: Vec<String> = w
                    .facts
                    .iter()
                    .map(|f| match &f.kind {
                        FactKind::Env { name, value, .. } => format!("{name}={value:?}"),
                        FactKind::Command { text, .. } => text.clone(),
                        other => format!("{other:?}"),
                    })
                    .collect();
                format!("{} {} {:?} {}", w.name, w.kind, w.build, facts.join(", "))
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                "shop-orders serverless Some(\"infra/src/orders\") OTEL_EXPORTER_OTLP_ENDPOINT=Some(\"http://collector:4318\"), TABLE=None, python app.py",
                "notify serverless Some(\"infra/src/notify\") OTEL_EXPORTER_OTLP_ENDPOINT=Some(\"http://collector:4318\"), node index.js",
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
