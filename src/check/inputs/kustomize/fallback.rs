//! When `kustomize` (else `kubectl`) is installed, every leaf is rendered by it (`kustomize
//! build`, `kubectl kustomize`): its objects replace the built-in ones, keeping where each was
//! declared and patched so that lines still point into the tree. Without either program (or
//! when it fails) the built-in build stands; a field it does not apply (`replacements`,
//! `vars`, `helmCharts`, generator and transformer plugins, set-based patch selectors) is then
//! a note (TG199).

use std::path::Path;

use serde_yaml::Value;

use super::build::{documents, Object};
use crate::check::inputs::external::{self, Failure};

/// The environment variable naming the kustomize program (`kustomize` or `kubectl`); empty
/// never runs one.
pub const KUSTOMIZE_ENV: &str = "TRACEGATE_KUSTOMIZE";

/// Whether kustomize or kubectl is installed (or named by `TRACEGATE_KUSTOMIZE`).
pub fn installed() -> bool {
    external::program(KUSTOMIZE_ENV, &["kustomize", "kubectl"]).is_some()
}

/// The leaf at `dir` rendered by the installed program, or why not (for the note).
pub fn render(root: &Path, dir: &str) -> Result<Vec<Value>, String> {
    let Some(program) = external::program(KUSTOMIZE_ENV, &["kustomize", "kubectl"]) else {
        return Err("neither kustomize nor kubectl is installed".into());
    };
    let name = program
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let verb = if name.starts_with("kubectl") {
        "kustomize"
    } else {
        "build"
    };
    // The renderer runs from the filesystem root: the path must be absolute.
    let root = &std::path::absolute(root).map_err(|e| format!("{}: {e}", root.display()))?;
    let abs = root.join(dir);
    let shown = if verb == "build" {
        "kustomize build"
    } else {
        "kubectl kustomize"
    };
    match external::run(&program, &[verb.as_ref(), abs.as_os_str()], root) {
        Ok(text) => documents(&text).map_err(|e| format!("`{shown}` printed no YAML: {e}")),
        Err(Failure::NotInstalled) => Err("neither kustomize nor kubectl is installed".into()),
        Err(Failure::Failed(e)) => Err(format!("`{shown}` failed: {e}")),
    }
}

/// The rendered `docs` as the leaf's objects: each keeps the built-in object of its kind and
/// name (where it was declared, the patches applied to it), with the rendered value; an object
/// only the renderer made is declared by the leaf's kustomization `leaf`. A generated
/// ConfigMap's name hash (`otel-export-7g5c2h4k9f`) is taken off again, in its name and
/// wherever the rendered objects name it, as the built-in build leaves names unhashed.
pub fn adopt(built: Vec<Object>, docs: Vec<Value>, leaf: &str) -> Vec<Object> {
    let kind_name = |value: &Value| -> (String, String) {
        let kind = value
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let name = value
            .get("metadata")
            .and_then(|m| m.get("name"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        (kind.to_string(), name.to_string())
    };
    // Hashed name → the built-in object's name, for generated objects.
    let mut unhashed: Vec<(String, String)> = Vec::new();
    for doc in &docs {
        let (kind, name) = kind_name(doc);
        if built.iter().any(|o| o.kind == kind && o.name() == name) {
            continue;
        }
        if let Some(o) = built
            .iter()
            .find(|o| o.kind == kind && !o.generated.is_empty() && is_hashed(&name, o.name()))
        {
            unhashed.push((name, o.name().to_string()));
        }
    }
    docs.into_iter()
        .map(|mut value| {
            if !unhashed.is_empty() {
                rename(&mut value, &unhashed);
            }
            let (kind, name) = kind_name(&value);
            match built.iter().find(|o| o.kind == kind && o.name() == name) {
                Some(o) => Object { value, ..o.clone() },
                None => Object {
                    kind,
                    original_name: name,
                    file: leaf.to_string(),
                    value,
                    ..Object::default()
                },
            }
        })
        .collect()
}

/// Whether `name` is `base` with kustomize's name hash (`-` and ten letters and digits).
fn is_hashed(name: &str, base: &str) -> bool {
    name.strip_prefix(base)
        .and_then(|rest| rest.strip_prefix('-'))
        .is_some_and(|h| h.len() == 10 && h.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Every string of `value` that is a hashed name, replaced by the unhashed one.
fn rename(value: &mut Value, names: &[(String, String)]) {
    match value {
        Value::String(s) => {
            if let Some((_, plain)) = names.iter().find(|(hashed, _)| hashed == s) {
                *s = plain.clone();
            }
        }
        Value::Sequence(items) => items.iter_mut().for_each(|v| rename(v, names)),
        Value::Mapping(m) => m.iter_mut().for_each(|(_, v)| rename(v, names)),
        Value::Tagged(t) => rename(&mut t.value, names),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_config_maps_hash_is_taken_off_where_it_is_named() {
        let generated = Object {
            kind: "ConfigMap".into(),
            value: serde_yaml::from_str("kind: ConfigMap\nmetadata:\n  name: otel-export\n")
                .unwrap(),
            generated: [("A".to_string(), ("x.env".to_string(), 1))].into(),
            ..Object::default()
        };
        let docs: Vec<Value> = documents(
            "kind: ConfigMap\nmetadata:\n  name: otel-export-7g5c2h4k9f\n---\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  template:\n    spec:\n      containers:\n        - envFrom:\n            - configMapRef:\n                name: otel-export-7g5c2h4k9f\n",
        )
        .unwrap();
        let objects = adopt(vec![generated], docs, "k/kustomization.yaml");
        assert_eq!(objects[0].name(), "otel-export");
        assert_eq!(objects[0].generated.len(), 1, "keeps the built-in object");
        let text = serde_yaml::to_string(&objects[1].value).unwrap();
        assert!(
            text.contains("name: otel-export\n") && !text.contains("7g5c2h4k9f"),
            "{text}"
        );
        // Not a hash: another object of a similar name stays as it is.
        assert!(!is_hashed("otel-export-extra", "otel-export"));
        assert!(is_hashed("otel-export-7g5c2h4k9f", "otel-export"));
    }
}
