//! A workload's pod template: containers, images, commands, environment (values, ConfigMap and
//! Secret references), annotations.

use serde_yaml::Value;

use super::{annotations, get, s, string_map, Doc, EnvFrom, Workload};
use crate::check::facts::{CommandSlot, Fact, FactKind};

#[allow(clippy::too_many_arguments)]
pub(super) fn workload(
    rel: &str,
    doc: &Doc<'_>,
    kind: &str,
    name: &str,
    namespace: Option<String>,
    line: u32,
    object: &Value,
    template: &Value,
) -> Workload {
    let mut w = Workload {
        name: name.to_string(),
        kind: kind.to_string(),
        namespace,
        file: rel.to_string(),
        line,
        ..Workload::default()
    };
    for labels in [
        get(object, &["metadata", "labels"]),
        get(template, &["metadata", "labels"]),
    ] {
        let labels = string_map(labels);
        for key in [
            "app",
            "app.kubernetes.io/name",
            "app.kubernetes.io/instance",
        ] {
            if let Some(v) = labels.get(key) {
                w.aliases.push(v.clone());
            }
        }
    }
    // The OpenTelemetry Operator reads its `instrumentation.opentelemetry.io/` annotations from
    // the pod (and namespace), never from the Deployment's own metadata.
    w.facts.extend(
        annotations(rel, doc, get(object, &["metadata", "annotations"]), line)
            .into_iter()
            .filter(|f| {
                !matches!(&f.kind, FactKind::Annotation { key, .. }
                    if key.starts_with("instrumentation.opentelemetry.io/"))
            }),
    );
    w.facts.extend(annotations(
        rel,
        doc,
        get(template, &["metadata", "annotations"]),
        line,
    ));
    let spec = get(template, &["spec"]);
    for v in spec
        .and_then(|s| s.get("volumes"))
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
    {
        let projected = v
            .get("projected")
            .and_then(|p| p.get("sources"))
            .and_then(Value::as_sequence);
        for cm in std::iter::once(v)
            .chain(projected.into_iter().flatten())
            .filter_map(|x| x.get("configMap"))
        {
            let Some(name) = cm.get("name").and_then(Value::as_str) else {
                continue;
            };
            w.config_volumes.push(name.to_string());
            for item in cm
                .get("items")
                .and_then(Value::as_sequence)
                .into_iter()
                .flatten()
            {
                let key = item.get("key").and_then(Value::as_str);
                let path = item.get("path").and_then(Value::as_str);
                if let (Some(key), Some(path)) = (key, path) {
                    w.config_items
                        .push((name.to_string(), key.to_string(), path.to_string()));
                }
            }
        }
    }
    for list in ["initContainers", "containers"] {
        let Some(Value::Sequence(containers)) = spec.and_then(|s| s.get(list)) else {
            continue;
        };
        for c in containers {
            let cname = get(c, &["name"]).and_then(s).unwrap_or_default();
            let cline = doc.line(&format!("name: {cname}"), line);
            if list == "containers" {
                w.aliases.push(cname.clone());
            }
            if let Some(image) = get(c, &["image"]).and_then(s) {
                if list == "containers" {
                    w.images.push(image);
                    w.ports.push(container_ports(c));
                } else {
                    w.init_images.push(image);
                }
            }
            let mut cmd: Vec<String> = Vec::new();
            // A container's `command` replaces the image's ENTRYPOINT (and CMD); `args` alone
            // its CMD.
            let slot = if c.get("command").is_some() {
                CommandSlot::ReplacesEntrypoint
            } else {
                CommandSlot::ReplacesCmd
            };
            for key in ["command", "args"] {
                if let Some(Value::Sequence(parts)) = c.get(key) {
                    cmd.extend(parts.iter().filter_map(s));
                }
            }
            if !cmd.is_empty() {
                w.facts.push(Fact::new(
                    FactKind::Command {
                        text: cmd.join(" "),
                        slot,
                    },
                    rel,
                    cline,
                ));
            }
            container_env(rel, doc, c, cline, &mut w);
        }
    }
    w
}

/// A container's declared ports: (name, `containerPort`).
fn container_ports(c: &Value) -> Vec<(Option<String>, u64)> {
    let Some(Value::Sequence(ports)) = c.get("ports") else {
        return Vec::new();
    };
    ports
        .iter()
        .filter_map(|p| {
            let port = p.get("containerPort")?.as_u64()?;
            Some((get(p, &["name"]).and_then(s), port))
        })
        .collect()
}

pub(super) fn container_env(rel: &str, doc: &Doc<'_>, c: &Value, from: u32, w: &mut Workload) {
    if let Some(Value::Sequence(env)) = c.get("env") {
        for e in env {
            let Some(name) = get(e, &["name"]).and_then(s) else {
                continue;
            };
            let line = doc.line(&format!("name: {name}"), from);
            let value = get(e, &["value"]).and_then(s);
            let from_secret = get(e, &["valueFrom", "secretKeyRef"]).is_some();
            let from_ref = e.get("valueFrom").is_some();
            let cm = get(e, &["valueFrom", "configMapKeyRef", "name"]).and_then(s);
            let key = get(e, &["valueFrom", "configMapKeyRef", "key"]).and_then(s);
            if let (Some(cm), Some(key)) = (cm, key) {
                w.config_refs.push((w.facts.len(), cm, key));
            }
            w.facts.push(Fact::new(
                FactKind::Env {
                    name,
                    value,
                    from_secret,
                    from_ref,
                },
                rel,
                line,
            ));
        }
    }
    if let Some(Value::Sequence(sources)) = c.get("envFrom") {
        for src in sources {
            if let Some(n) = get(src, &["configMapRef", "name"]).and_then(s) {
                w.env_from.push(EnvFrom {
                    secret: false,
                    name: n,
                });
            }
            if let Some(n) = get(src, &["secretRef", "name"]).and_then(s) {
                w.env_from.push(EnvFrom {
                    secret: true,
                    name: n,
                });
            }
        }
    }
}
