//! What a kustomize **component no kustomization uses** would set: microservices-demo ships a
//! `google-cloud-operations` component that patches each Deployment with `ENABLE_TRACING: "1"`,
//! and its top-level kustomization lists it commented out. Nothing of it is deployed, but
//! a finding about a flag the deployed workload lacks can name it as the way to turn it on.

use std::collections::BTreeSet;
use std::path::Path;

use serde_yaml::Value;

use super::build::{documents, line_of, patch_text, read_small, Ctx};
use crate::check::inputs::discover::{Parsed, WalkedFile};
use crate::check::inputs::k8s::K8sFile;

/// Record on each unused component's kustomization file (`roots`: directory, file, parsed;
/// `used`: the directories some kustomization uses) what its patches would set.
pub(super) fn unused_components(
    root: &Path,
    roots: &[(String, String, Value)],
    used: &BTreeSet<String>,
    files: &mut Vec<WalkedFile>,
) {
    for (dir, rel, k) in roots.iter().filter(|(dir, _, k)| {
        !used.contains(dir) && k.get("kind").and_then(Value::as_str) == Some("Component")
    }) {
        let text = read_small(root, rel).unwrap_or_default();
        let offered = of_component(root, dir, rel, &text, k);
        if offered.is_empty() {
            continue;
        }
        match files.binary_search_by(|f| f.rel.as_str().cmp(rel.as_str())) {
            Ok(i) => {
                if let Parsed::K8s(k) = &mut files[i].parsed {
                    k.offered_env.extend(offered);
                }
            }
            Err(i) => files.insert(
                i,
                WalkedFile {
                    dir: dir.clone(),
                    rel: rel.clone(),
                    parsed: Parsed::K8s(Box::new(K8sFile {
                        offered_env: offered,
                        ..K8sFile::default()
                    })),
                },
            ),
        }
    }
}

/// An environment variable an unused component's patch gives a workload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OfferedEnv {
    /// The file of the patch (the component's kustomization for an inline patch).
    pub file: String,
    /// Line of the variable's `name:` in it.
    pub line: u32,
    /// The patched workload's kind (`Deployment`).
    pub kind: String,
    /// Its `metadata.name`.
    pub workload: String,
    /// The variable.
    pub name: String,
    /// Its literal value, if any.
    pub value: Option<String>,
}

/// The variables the patches of the component at `dir` (kustomization `rel`, parsed `k`,
/// text `text`) set on workload containers.
pub(super) fn of_component(
    root: &Path,
    dir: &str,
    rel: &str,
    text: &str,
    k: &Value,
) -> Vec<OfferedEnv> {
    let mut ctx = Ctx::default();
    let mut entries: Vec<Value> = Vec::new();
    if let Some(Value::Sequence(list)) = k.get("patchesStrategicMerge") {
        for e in list.iter().filter_map(Value::as_str) {
            let key = if e.contains('\n') { "patch" } else { "path" };
            entries.push(Value::Mapping(
                [(Value::from(key), Value::from(e))].into_iter().collect(),
            ));
        }
    }
    if let Some(Value::Sequence(list)) = k.get("patches") {
        entries.extend(list.iter().cloned());
    }
    let mut out = Vec::new();
    for e in &entries {
        let Some(src) = patch_text(root, dir, rel, text, e, &mut ctx) else {
            continue;
        };
        let target = |key: &str| {
            e.get("target")
                .and_then(|t| t.get(key))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        for doc in documents(&src.text).unwrap_or_default() {
            let kind = target("kind").or_else(|| doc.get("kind")?.as_str().map(str::to_string));
            let name = target("name").or_else(|| {
                doc.get("metadata")?
                    .get("name")?
                    .as_str()
                    .map(str::to_string)
            });
            let (Some(kind), Some(workload)) = (kind, name) else {
                continue;
            };
            let containers = doc
                .get("spec")
                .and_then(|s| s.get("template"))
                .and_then(|t| t.get("spec"))
                .and_then(|s| s.get("containers"))
                .and_then(Value::as_sequence);
            for env in containers
                .into_iter()
                .flatten()
                .filter_map(|c| c.get("env")?.as_sequence())
                .flatten()
            {
                let Some(var) = env.get("name").and_then(Value::as_str) else {
                    continue;
                };
                let value = env.get("value").and_then(|v| match v {
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    Value::Bool(b) => Some(b.to_string()),
                    _ => None,
                });
                let at = line_of(&src.text, &format!("name: {var}"), 1).unwrap_or(1);
                out.push(OfferedEnv {
                    file: src.file.clone(),
                    line: src.start + at - 1,
                    kind: kind.clone(),
                    workload: workload.clone(),
                    name: var.to_string(),
                    value,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_inline_patch_offers_its_env() {
        let text = "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\npatches:\n- patch: |-\n    apiVersion: apps/v1\n    kind: Deployment\n    metadata:\n      name: frontend\n    spec:\n      template:\n        spec:\n          containers:\n          - name: server\n            env:\n            - name: ENABLE_TRACING\n              value: \"1\"\n";
        let k: Value = serde_yaml::from_str(text).unwrap();
        let got = of_component(
            Path::new("/nonexistent"),
            "c",
            "c/kustomization.yaml",
            text,
            &k,
        );
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].workload, "frontend");
        assert_eq!(got[0].name, "ENABLE_TRACING");
        assert_eq!(got[0].value.as_deref(), Some("1"));
        assert_eq!(
            (got[0].file.as_str(), got[0].line),
            ("c/kustomization.yaml", 15)
        );
    }
}
