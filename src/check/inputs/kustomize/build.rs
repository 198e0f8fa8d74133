//! Building one kustomization (a leaf overlay and, recursively, its bases and components)
//! into the objects kustomize would output, each remembering the file that declared it and
//! the patches applied to it (for lines).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Deserialize;
use serde_yaml::Value;

use super::merge;
use super::transform;
use crate::check::inputs::exclude::ExcludeSet;

/// Largest file read.
const MAX_FILE: u64 = 1024 * 1024;
/// Deepest chain of bases and components followed.
pub const MAX_DEPTH: usize = 10;
/// Fields of a kustomization the built-in build does not apply, and which can change what
/// a workload runs with (`secretGenerator`, `sortOptions`, `openapi`… cannot, for the rules).
const NOT_APPLIED: &[&str] = &[
    "replacements",
    "vars",
    "helmCharts",
    "helmChartInflationGenerator",
    "generators",
    "transformers",
];
/// Most objects one build holds.
const MAX_OBJECTS: usize = 5000;

/// Where a patch's text is: its file and the line its text starts on.
#[derive(Clone, Debug)]
pub struct PatchSrc {
    /// File, relative to the root.
    pub file: String,
    /// The patch's text.
    pub text: String,
    /// Line of the file the text's first line is on (1-based).
    pub start: u32,
}

/// One object of a build.
#[derive(Clone, Debug, Default)]
pub struct Object {
    /// The object as built.
    pub value: Value,
    /// The file that declared it (a resource file, or the kustomization that generated it).
    pub file: String,
    /// Its kind and `metadata.name` in that file.
    pub kind: String,
    /// Its name in that file.
    pub original_name: String,
    /// Patches applied to it, in order.
    pub patches: Vec<PatchSrc>,
    /// For a generated ConfigMap: each key's file and line.
    pub generated: BTreeMap<String, (String, u32)>,
}

impl Object {
    /// Its current `metadata.name`.
    pub fn name(&self) -> &str {
        self.value
            .get("metadata")
            .and_then(|m| m.get("name"))
            .and_then(Value::as_str)
            .unwrap_or_default()
    }
}

/// What building a tree of kustomizations gives besides the objects.
#[derive(Debug, Default)]
pub struct Ctx<'a> {
    /// Files read by the build (resources, patches, kustomizations).
    pub consumed: BTreeSet<String>,
    /// Notes: (file, line, reason).
    pub notes: Vec<(String, u32, String)>,
    /// What the built-in build does not apply, for the renderer fallback: (file, line, what).
    pub not_applied: Vec<(String, u32, String)>,
    /// The user's `exclude:` paths: a resource under one is not read.
    pub exclude: Option<&'a ExcludeSet>,
    /// Whether a resource was left out for being excluded: an installed renderer, which
    /// would read it, does not build this leaf then.
    pub excluded: bool,
    pub(super) stack: Vec<String>,
}

/// The kustomization file of `dir` (relative), if any.
pub fn kustomization_file(root: &Path, dir: &str) -> Option<String> {
    crate::check::inputs::discover::KUSTOMIZATION_NAMES
        .into_iter()
        .map(|n| join(dir, n))
        .find(|rel| root.join(rel).is_file())
}

pub fn join(dir: &str, name: &str) -> String {
    if dir == "." || dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}

/// `dir/entry` with `.` and `..` resolved; `None` when it leaves the root.
pub fn resolve(dir: &str, entry: &str) -> Option<String> {
    crate::check::facts::paths::resolve(dir, entry.trim_end_matches('/'))
}

pub fn read_small(root: &Path, rel: &str) -> Option<String> {
    let path = root.join(rel);
    let meta = std::fs::symlink_metadata(&path).ok()?;
    if !meta.is_file() || meta.len() > MAX_FILE {
        return None;
    }
    std::fs::read_to_string(path).ok()
}

/// Whether a resource entry is remote (a Git repository or an URL).
pub fn is_remote(entry: &str) -> bool {
    entry.contains("://") || entry.starts_with("github.com/") || entry.starts_with("git@")
}

/// The YAML documents of `text`.
pub fn documents(text: &str) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(text) {
        let v = Value::deserialize(doc).map_err(|e| e.to_string())?;
        if !v.is_null() {
            out.push(v);
        }
    }
    Ok(out)
}

/// The kustomization at `dir` read: its parsed value and text.
pub fn load(root: &Path, dir: &str) -> Option<(String, String, Value)> {
    let rel = kustomization_file(root, dir)?;
    let text = read_small(root, &rel)?;
    let value = serde_yaml::from_str(&text).ok()?;
    Some((rel, text, value))
}

/// The string entries of the list `key` of a kustomization.
pub fn list<'a>(k: &'a Value, key: &str) -> Vec<&'a str> {
    k.get(key)
        .and_then(Value::as_sequence)
        .map(|s| s.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// The line of `text` holding `needle` (first at or after `from`), 1-based.
pub fn line_of(text: &str, needle: &str, from: u32) -> Option<u32> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i as u32 + 1, l))
        .find(|(n, l)| *n >= from && l.contains(needle) && !l.trim_start().starts_with('#'))
        .map(|(n, _)| n)
}

/// Build the kustomization at `dir` on top of `acc` (empty for a kustomization, the
/// including build's objects for a component).
pub fn build(root: &Path, dir: &str, acc: Vec<Object>, ctx: &mut Ctx) -> Vec<Object> {
    let Some((rel, text, k)) = load(root, dir) else {
        return acc;
    };
    if ctx.stack.contains(&rel) {
        let chain = format!("{} -> {rel}", ctx.stack.join(" -> "));
        let first = ctx.stack.first().cloned().unwrap_or_default();
        ctx.notes.push((
            first,
            1,
            format!("kustomize: the bases form a cycle ({chain}); not followed"),
        ));
        return acc;
    }
    if ctx.stack.len() >= MAX_DEPTH {
        ctx.notes.push((
            rel,
            1,
            format!("kustomize: bases nested deeper than {MAX_DEPTH}; not followed"),
        ));
        return acc;
    }
    ctx.consumed.insert(rel.clone());
    ctx.stack.push(rel.clone());
    for key in NOT_APPLIED {
        if k.get(*key).is_some() {
            let line = line_of(&text, &format!("{key}:"), 1).unwrap_or(1);
            ctx.not_applied
                .push((rel.clone(), line, format!("`{key}`")));
        }
    }
    let mut objects = acc;
    let mut resources = list(&k, "resources");
    resources.extend(list(&k, "bases"));
    for entry in resources {
        let line = line_of(&text, entry, 1).unwrap_or(1);
        if is_remote(entry) {
            ctx.notes.push((rel.clone(), line, format!("kustomize: remote resource `{entry}` is not fetched; its objects are not judged")));
            continue;
        }
        let Some(target) = resolve(dir, entry) else {
            ctx.notes.push((
                rel.clone(),
                line,
                format!("kustomize: `{entry}` is outside the repository"),
            ));
            continue;
        };
        if ctx.exclude.and_then(|e| e.excluding(&target)).is_some() {
            ctx.excluded = true;
            continue;
        }
        if kustomization_file(root, &target).is_some() {
            let sub = build(root, &target, Vec::new(), ctx);
            objects.extend(sub);
        } else if let Some(t) = read_small(root, &target) {
            ctx.consumed.insert(target.clone());
            match documents(&t) {
                Ok(docs) => objects.extend(docs.into_iter().map(|v| object(v, &target))),
                Err(e) => ctx
                    .notes
                    .push((target.clone(), 1, format!("kustomize: {e}"))),
            }
        } else {
            ctx.notes.push((
                rel.clone(),
                line,
                format!("kustomize: resource `{entry}` not found"),
            ));
        }
        objects.truncate(MAX_OBJECTS);
    }
    for entry in list(&k, "components") {
        match resolve(dir, entry) {
            Some(target) if !is_remote(entry) => objects = build(root, &target, objects, ctx),
            _ => {
                let line = line_of(&text, entry, 1).unwrap_or(1);
                ctx.notes.push((
                    rel.clone(),
                    line,
                    format!("kustomize: component `{entry}` is not followed"),
                ));
            }
        }
    }
    transform::generate(root, dir, &rel, &text, &k, &mut objects, ctx);
    patches(root, dir, &rel, &text, &k, &mut objects, ctx);
    transform::apply(&k, &mut objects);
    ctx.stack.pop();
    objects
}

fn object(value: Value, file: &str) -> Object {
    let kind = value
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let name = value
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    Object {
        value,
        file: file.to_string(),
        kind,
        original_name: name,
        patches: Vec::new(),
        generated: BTreeMap::new(),
    }
}

/// Whether `o` is what a patch targets: its kind and name (current or as declared).
fn targets(o: &Object, kind: Option<&str>, name: Option<&str>) -> bool {
    kind.is_none_or(|k| k == o.kind) && name.is_none_or(|n| n == o.name() || n == o.original_name)
}

/// A patch body: from `path:` (a file) or `patch:` (inline in the kustomization).
pub(super) fn patch_text(
    root: &Path,
    dir: &str,
    rel: &str,
    text: &str,
    entry: &Value,
    ctx: &mut Ctx,
) -> Option<PatchSrc> {
    if let Some(path) = entry.get("path").and_then(Value::as_str) {
        let file = resolve(dir, path)?;
        let Some(body) = read_small(root, &file) else {
            let line = line_of(text, path, 1).unwrap_or(1);
            ctx.notes.push((
                rel.to_string(),
                line,
                format!("kustomize: patch `{path}` not found"),
            ));
            return None;
        };
        ctx.consumed.insert(file.clone());
        return Some(PatchSrc {
            file,
            text: body,
            start: 1,
        });
    }
    let body = entry.get("patch").and_then(Value::as_str)?;
    let first = body
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default()
        .trim();
    let start = line_of(text, first, 1).unwrap_or(1);
    Some(PatchSrc {
        file: rel.to_string(),
        text: body.to_string(),
        start,
    })
}

#[allow(clippy::too_many_arguments)]
fn patches(
    root: &Path,
    dir: &str,
    rel: &str,
    text: &str,
    k: &Value,
    objects: &mut [Object],
    ctx: &mut Ctx,
) {
    // patchesStrategicMerge: files (or inline documents) naming their target by kind and name.
    let mut all: Vec<(PatchSrc, Option<Value>)> = Vec::new();
    if let Some(Value::Sequence(list)) = k.get("patchesStrategicMerge") {
        for e in list {
            let src = match e.as_str() {
                Some(s) if !s.contains('\n') => {
                    let entry: Value =
                        serde_yaml::from_str(&format!("path: \"{}\"", s.replace('"', "")))
                            .unwrap_or(Value::Null);
                    patch_text(root, dir, rel, text, &entry, ctx)
                }
                Some(s) => {
                    let entry = Value::Mapping(
                        [(Value::from("patch"), Value::from(s))]
                            .into_iter()
                            .collect(),
                    );
                    patch_text(root, dir, rel, text, &entry, ctx)
                }
                None => None,
            };
            all.extend(src.map(|s| (s, None)));
        }
    }
    for key in ["patches", "patchesJson6902"] {
        if let Some(Value::Sequence(list)) = k.get(key) {
            for e in list {
                all.extend(
                    patch_text(root, dir, rel, text, e, ctx).map(|s| (s, e.get("target").cloned())),
                );
            }
        }
    }
    for (src, target) in all {
        let docs = match documents(&src.text) {
            Ok(d) => d,
            Err(e) => {
                ctx.notes.push((
                    src.file.clone(),
                    src.start,
                    format!("kustomize: patch is not YAML: {e}"),
                ));
                continue;
            }
        };
        for doc in docs {
            let t_kind = target
                .as_ref()
                .and_then(|t| t.get("kind"))
                .and_then(Value::as_str);
            let t_name = target
                .as_ref()
                .and_then(|t| t.get("name"))
                .and_then(Value::as_str);
            let json = doc.is_sequence();
            let (kind, name) = if target.is_some() || json {
                (t_kind, t_name)
            } else {
                (
                    doc.get("kind").and_then(Value::as_str),
                    doc.get("metadata")
                        .and_then(|m| m.get("name"))
                        .and_then(Value::as_str),
                )
            };
            if json && target.is_none() {
                ctx.notes.push((
                    src.file.clone(),
                    src.start,
                    "kustomize: a JSON patch without `target:` is not applied".into(),
                ));
                continue;
            }
            let selected = match super::selector::selectors(target.as_ref()) {
                Ok(s) => s,
                Err(what) => {
                    // Never applied to every object: a patch meant for some would pass others.
                    let line = line_of(text, "Selector", 1).unwrap_or(src.start);
                    ctx.not_applied.push((rel.to_string(), line, what));
                    continue;
                }
            };
            for o in objects
                .iter_mut()
                .filter(|o| targets(o, kind, name) && selected.iter().all(|s| s.matches(o)))
            {
                if json {
                    if let Err(e) = merge::json_patch(&mut o.value, &doc) {
                        ctx.notes.push((
                            src.file.clone(),
                            src.start,
                            format!("kustomize: {e} to {} `{}`", o.kind, o.name()),
                        ));
                    }
                } else {
                    let mut body = doc.clone();
                    // The patch's own name and kind select; they do not rename.
                    if let Value::Mapping(m) = &mut body {
                        if let Some(mut meta) = m.remove("metadata") {
                            if let Value::Mapping(mm) = &mut meta {
                                mm.remove("name");
                                mm.remove("namespace");
                            }
                            m.insert(Value::from("metadata"), meta);
                        }
                    }
                    merge::strategic(&mut o.value, &body);
                }
                o.patches.push(src.clone());
            }
        }
    }
}
