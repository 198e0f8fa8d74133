//! kustomize's generators and transformers, for what the rules look at: `configMapGenerator`
//! (literals and env files, the plain name kept: references are rewritten consistently),
//! `namespace`, `namePrefix`/`nameSuffix` (references to ConfigMaps of the build follow),
//! `commonLabels`/`labels`, `commonAnnotations`, `images`, `replicas`.

use std::collections::BTreeMap;
use std::path::Path;

use serde_yaml::{Mapping, Value};

use super::build::{line_of, list, read_small, resolve, Ctx, Object};

/// `configMapGenerator`: one ConfigMap per entry, with its keys' lines (or, with
/// `behavior: merge`/`replace`, the ConfigMap of the same name updated).
pub fn generate(
    root: &Path,
    dir: &str,
    rel: &str,
    text: &str,
    k: &Value,
    objects: &mut Vec<Object>,
    ctx: &mut Ctx,
) {
    let Some(Value::Sequence(gens)) = k.get("configMapGenerator") else {
        return;
    };
    for g in gens {
        let Some(name) = g.get("name").and_then(Value::as_str) else {
            continue;
        };
        let mut data: BTreeMap<String, (String, (String, u32))> = BTreeMap::new();
        for lit in list(g, "literals") {
            if let Some((key, value)) = lit.split_once('=') {
                let line = line_of(text, lit, 1).unwrap_or(1);
                data.insert(
                    key.trim().to_string(),
                    (value.to_string(), (rel.to_string(), line)),
                );
            }
        }
        let mut envs = list(g, "envs");
        envs.extend(g.get("env").and_then(Value::as_str));
        for env in envs {
            let Some(file) = resolve(dir, env) else {
                continue;
            };
            let Some(body) = read_small(root, &file) else {
                let line = line_of(text, env, 1).unwrap_or(1);
                ctx.notes.push((
                    rel.to_string(),
                    line,
                    format!("kustomize: env file `{env}` not found"),
                ));
                continue;
            };
            ctx.consumed.insert(file.clone());
            for (i, l) in body.lines().enumerate() {
                let l = l.trim();
                if l.is_empty() || l.starts_with('#') {
                    continue;
                }
                if let Some((key, value)) = l.split_once('=') {
                    data.insert(
                        key.trim().to_string(),
                        (value.to_string(), (file.clone(), i as u32 + 1)),
                    );
                }
            }
        }
        let behavior = g
            .get("behavior")
            .and_then(Value::as_str)
            .unwrap_or("create");
        let existing = objects
            .iter_mut()
            .find(|o| o.kind == "ConfigMap" && o.name() == name);
        let target = match (behavior, existing) {
            ("merge" | "replace", Some(o)) => o,
            _ => {
                let line = line_of(text, &format!("name: {name}"), 1).unwrap_or(1);
                let mut meta = Mapping::new();
                meta.insert("name".into(), name.into());
                let mut m = Mapping::new();
                m.insert("apiVersion".into(), "v1".into());
                m.insert("kind".into(), "ConfigMap".into());
                m.insert("metadata".into(), Value::Mapping(meta));
                m.insert("data".into(), Value::Mapping(Mapping::new()));
                objects.push(Object {
                    value: Value::Mapping(m),
                    file: rel.to_string(),
                    kind: "ConfigMap".into(),
                    original_name: name.to_string(),
                    patches: Vec::new(),
                    generated: [(String::new(), (rel.to_string(), line))]
                        .into_iter()
                        .collect(),
                });
                let Some(o) = objects.last_mut() else {
                    continue;
                };
                o
            }
        };
        if behavior == "replace" {
            if let Value::Mapping(m) = &mut target.value {
                m.insert("data".into(), Value::Mapping(Mapping::new()));
            }
        }
        if let Some(Value::Mapping(d)) = target.value.get_mut("data") {
            for (key, (value, place)) in data {
                d.insert(key.clone().into(), value.into());
                target.generated.insert(key, place);
            }
        }
    }
}

fn meta_map<'a>(v: &'a mut Value, path: &[&str]) -> Option<&'a mut Mapping> {
    let mut cur = v;
    for p in path {
        let Value::Mapping(m) = cur else { return None };
        if !m.contains_key(*p) {
            m.insert((*p).into(), Value::Mapping(Mapping::new()));
        }
        cur = m.get_mut(*p)?;
    }
    match cur {
        Value::Mapping(m) => Some(m),
        _ => None,
    }
}

/// The pod template of a workload object.
fn pod_template(v: &mut Value) -> Option<&mut Value> {
    let spec = v.get_mut("spec")?;
    if spec.get("jobTemplate").is_some() {
        spec.get_mut("jobTemplate")?
            .get_mut("spec")?
            .get_mut("template")
    } else {
        spec.get_mut("template")
    }
}

fn containers(v: &mut Value) -> Vec<&mut Value> {
    let Some(spec) = pod_template(v).and_then(|t| t.get_mut("spec")) else {
        return Vec::new();
    };
    let Value::Mapping(spec) = spec else {
        return Vec::new();
    };
    spec.iter_mut()
        .filter(|(k, _)| matches!(k.as_str(), Some("containers" | "initContainers")))
        .filter_map(|(_, v)| v.as_sequence_mut())
        .flat_map(|s| s.iter_mut())
        .collect()
}

fn string_map(v: Option<&Value>) -> Vec<(String, String)> {
    v.and_then(Value::as_mapping)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| {
                    let v = match v {
                        Value::String(s) => s.clone(),
                        Value::Number(n) => n.to_string(),
                        Value::Bool(b) => b.to_string(),
                        _ => return None,
                    };
                    Some((k.as_str()?.to_string(), v))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The transformers of one kustomization, in kustomize's order (after its patches).
pub fn apply(k: &Value, objects: &mut [Object]) {
    if let Some(ns) = k.get("namespace").and_then(Value::as_str) {
        for o in objects.iter_mut().filter(|o| o.kind != "Namespace") {
            if let Some(m) = meta_map(&mut o.value, &["metadata"]) {
                m.insert("namespace".into(), ns.into());
            }
        }
    }
    let prefix = k
        .get("namePrefix")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let suffix = k
        .get("nameSuffix")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !prefix.is_empty() || !suffix.is_empty() {
        let mut renamed: BTreeMap<String, String> = BTreeMap::new();
        for o in objects.iter_mut().filter(|o| o.kind != "Namespace") {
            let old = o.name().to_string();
            let new = format!("{prefix}{old}{suffix}");
            if o.kind == "ConfigMap" {
                renamed.insert(old, new.clone());
            }
            if let Some(m) = meta_map(&mut o.value, &["metadata"]) {
                m.insert("name".into(), new.into());
            }
        }
        for o in objects.iter_mut() {
            for c in containers(&mut o.value) {
                rename_refs(c, &renamed);
            }
        }
    }
    let mut labels = string_map(k.get("commonLabels"));
    let mut template_labels = labels.clone();
    if let Some(Value::Sequence(ls)) = k.get("labels") {
        for l in ls {
            let pairs = string_map(l.get("pairs"));
            if l.get("includeTemplates").and_then(Value::as_bool) == Some(true) {
                template_labels.extend(pairs.clone());
            }
            labels.extend(pairs);
        }
    }
    let annotations = string_map(k.get("commonAnnotations"));
    for o in objects.iter_mut() {
        for (key, set) in [("labels", &labels), ("annotations", &annotations)] {
            if set.is_empty() {
                continue;
            }
            if let Some(m) = meta_map(&mut o.value, &["metadata", key]) {
                for (k, v) in set {
                    m.insert(k.as_str().into(), v.as_str().into());
                }
            }
        }
        let pod: &[(&str, &Vec<(String, String)>)] =
            &[("labels", &template_labels), ("annotations", &annotations)];
        for (key, set) in pod {
            if set.is_empty() {
                continue;
            }
            if let Some(m) =
                pod_template(&mut o.value).and_then(|t| meta_map(t, &["metadata", key]))
            {
                for (k, v) in set.iter() {
                    m.insert(k.as_str().into(), v.as_str().into());
                }
            }
        }
    }
    if let Some(Value::Sequence(rs)) = k.get("replicas") {
        for r in rs {
            let (Some(name), Some(count)) = (r.get("name").and_then(Value::as_str), r.get("count"))
            else {
                continue;
            };
            for o in objects
                .iter_mut()
                .filter(|o| o.name() == name || o.original_name == name)
            {
                if let Some(Value::Mapping(spec)) = o.value.get_mut("spec") {
                    spec.insert("replicas".into(), count.clone());
                }
            }
        }
    }
    if let Some(Value::Sequence(images)) = k.get("images") {
        for o in objects.iter_mut() {
            for c in containers(&mut o.value) {
                let Some(image) = c.get("image").and_then(Value::as_str) else {
                    continue;
                };
                if let Some(new) = images.iter().find_map(|i| rewrite_image(image, i)) {
                    if let Value::Mapping(m) = c {
                        m.insert("image".into(), new.into());
                    }
                }
            }
        }
    }
}

/// `image` rewritten by one `images:` entry, when its name matches.
pub fn rewrite_image(image: &str, entry: &Value) -> Option<String> {
    let name = entry.get("name").and_then(Value::as_str)?;
    let (repo, rest) = split_image(image);
    if repo != name {
        return None;
    }
    let new_name = entry.get("newName").and_then(Value::as_str).unwrap_or(repo);
    let tag = match (
        entry.get("digest").and_then(Value::as_str),
        entry.get("newTag"),
    ) {
        (Some(d), _) => format!("@{d}"),
        (None, Some(Value::String(t))) => format!(":{t}"),
        (None, Some(Value::Number(n))) => format!(":{n}"),
        _ => rest.to_string(),
    };
    Some(format!("{new_name}{tag}"))
}

/// An image reference split into its name and its `:tag`/`@digest` (with the separator).
fn split_image(image: &str) -> (&str, &str) {
    if let Some(at) = image.find('@') {
        return image.split_at(at);
    }
    let slash = image.rfind('/').map_or(0, |i| i + 1);
    match image[slash..].find(':') {
        Some(c) => image.split_at(slash + c),
        None => (image, ""),
    }
}

fn rename_refs(c: &mut Value, renamed: &BTreeMap<String, String>) {
    let rename = |v: Option<&mut Value>| {
        if let Some(Value::Mapping(m)) = v {
            let new = m
                .get("name")
                .and_then(Value::as_str)
                .and_then(|n| renamed.get(n))
                .cloned();
            if let Some(new) = new {
                m.insert("name".into(), new.into());
            }
        }
    };
    if let Some(Value::Sequence(from)) = c.get_mut("envFrom") {
        for f in from {
            rename(f.get_mut("configMapRef"));
        }
    }
    if let Some(Value::Sequence(env)) = c.get_mut("env") {
        for e in env {
            rename(
                e.get_mut("valueFrom")
                    .and_then(|v| v.get_mut("configMapKeyRef")),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_rewritten_by_name_only() {
        let cases: &[(&str, &str, &str, Option<&str>)] = &[
            (
                "newName and newTag",
                "checkout",
                "{name: checkout, newName: ghcr.io/x/checkout, newTag: '3.2'}",
                Some("ghcr.io/x/checkout:3.2"),
            ),
            (
                "newTag keeps the name",
                "checkout:1",
                "{name: checkout, newTag: '2'}",
                Some("checkout:2"),
            ),
            (
                "newName keeps the tag",
                "checkout:1",
                "{name: checkout, newName: reg/checkout}",
                Some("reg/checkout:1"),
            ),
            (
                "digest",
                "checkout:1",
                "{name: checkout, digest: 'sha256:ab'}",
                Some("checkout@sha256:ab"),
            ),
            (
                "a registry port is not a tag",
                "reg:5000/checkout",
                "{name: 'reg:5000/checkout', newTag: '9'}",
                Some("reg:5000/checkout:9"),
            ),
            (
                "another image is left alone (negative twin)",
                "cart:1",
                "{name: checkout, newTag: '2'}",
                None,
            ),
            (
                "a name that only starts the same is another image",
                "checkout-worker:1",
                "{name: checkout, newTag: '2'}",
                None,
            ),
        ];
        for (reason, image, entry, want) in cases {
            let entry: Value = serde_yaml::from_str(entry).unwrap();
            assert_eq!(rewrite_image(image, &entry).as_deref(), *want, "{reason}");
        }
    }
}
