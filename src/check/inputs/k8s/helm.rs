//! Helm `values.yaml`: the workload shapes a chart's values describe (image, env, annotations).

use serde_yaml::Value;

use super::workload::container_env;
use super::{annotations, get, s, string_map, ConfigMap, Doc, EnvFrom, Ingress, K8sFile, Workload};
use crate::check::facts::{Fact, FactKind};

/// Helm values: `env`/`extraEnv` (list or map), `podAnnotations`, `ingress`, and the
/// ingress-nginx chart's `controller.config`.
pub(super) fn helm_values(rel: &str, doc: &Doc<'_>, value: &Value, out: &mut K8sFile) {
    let mut w = Workload {
        kind: "HelmValues".into(),
        file: rel.to_string(),
        line: doc.start,
        ..Workload::default()
    };
    for key in ["env", "extraEnv", "extraEnvVars", "envVars"] {
        match value.get(key) {
            Some(Value::Sequence(_)) => {
                let c = {
                    let mut m = serde_yaml::Mapping::new();
                    if let Some(v) = value.get(key) {
                        m.insert(Value::String("env".into()), v.clone());
                    }
                    Value::Mapping(m)
                };
                container_env(rel, doc, &c, doc.start, &mut w);
            }
            Some(Value::Mapping(_)) => {
                for (name, v) in string_map(value.get(key)) {
                    let line = doc.line(&format!("{name}:"), doc.start);
                    w.facts.push(Fact::new(
                        FactKind::Env {
                            name,
                            value: Some(v),
                            from_secret: false,
                            from_ref: false,
                        },
                        rel,
                        line,
                    ));
                }
            }
            _ => {}
        }
    }
    w.facts.extend(annotations(
        rel,
        doc,
        value.get("podAnnotations"),
        doc.start,
    ));
    if let Some(Value::Sequence(sources)) = value.get("envFrom") {
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
    if let Some(config) = get(value, &["controller", "config"]) {
        let data = string_map(Some(config));
        let lines = data
            .keys()
            .map(|k| (k.clone(), doc.line(&format!("{k}:"), doc.start)))
            .collect();
        out.configmaps.push(ConfigMap {
            name: "ingress-nginx-controller".into(),
            data,
            file: rel.to_string(),
            lines,
        });
    }
    if let Some(ing) = value.get("ingress") {
        let enabled = ing.get("enabled").and_then(Value::as_bool).unwrap_or(false);
        if enabled {
            let annotations = string_map(ing.get("annotations"));
            out.ingresses.push(Ingress {
                name: String::new(),
                file: rel.to_string(),
                line: doc.line("ingress:", doc.start),
                class: ing
                    .get("className")
                    .and_then(s)
                    .or_else(|| annotations.get("kubernetes.io/ingress.class").cloned()),
                annotations,
                backends: Vec::new(),
            });
        }
    }
    if !w.facts.is_empty() || !w.env_from.is_empty() || value.get("image").is_some() {
        if let Some(repo) = get(value, &["image", "repository"]).and_then(s) {
            w.images.push(repo);
        }
        out.workloads.push(w);
    }
}
