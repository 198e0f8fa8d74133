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
/// only the renderer made is declared by the leaf's kustomization `leaf`.
pub fn adopt(built: Vec<Object>, docs: Vec<Value>, leaf: &str) -> Vec<Object> {
    docs.into_iter()
        .map(|value| {
            let kind = value
                .get("kind")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let name = value
                .get("metadata")
                .and_then(|m| m.get("name"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            match built.iter().find(|o| o.kind == kind && o.name() == name) {
                Some(o) => Object {
                    value: value.clone(),
                    ..o.clone()
                },
                None => Object {
                    kind: kind.to_string(),
                    original_name: name.to_string(),
                    file: leaf.to_string(),
                    value: value.clone(),
                    ..Object::default()
                },
            }
        })
        .collect()
}
