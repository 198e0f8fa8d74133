//! GitLab CI (`.gitlab-ci.yml`): the images its jobs' `before_script` and `script` build,
//! with `docker build` or kaniko (`/kaniko/executor --context … --dockerfile …
//! --destination …`) ([`shell`](super::shell)). `variables:` (the file's and the job's, and
//! the templates it `extends`) are set; `parallel: matrix:` is unrolled; `$CI_PROJECT_DIR` is
//! the root; other predefined variables (`$CI_REGISTRY_IMAGE`, `$CI_COMMIT_SHA`) are
//! unresolved. Files it `include`s are not read.

use std::collections::HashMap;

use serde_yaml::{Mapping, Value};

use super::shell::{self, Start};
use super::{scalar, ImageBuild, ROOT, UNRESOLVED};

/// Keys of the top level that are no jobs.
const GLOBAL: &[&str] = &[
    "default",
    "include",
    "stages",
    "variables",
    "workflow",
    "image",
    "services",
    "cache",
    "before_script",
    "after_script",
];

/// The images a GitLab CI file builds; one that is not valid YAML builds none.
pub fn gitlab_builds(rel: &str, text: &str) -> Vec<ImageBuild> {
    if !shell::mentions_docker_build(text) && !text.contains("executor") {
        return Vec::new();
    }
    let Ok(Value::Mapping(doc)) = serde_yaml::from_str::<Value>(text) else {
        return Vec::new();
    };
    let mut global = HashMap::from([("CI_PROJECT_DIR".to_string(), ROOT.to_string())]);
    set_variables(&mut global, doc.get("variables"));
    let mut out = Vec::new();
    let mut from = 0usize;
    for (name, job) in &doc {
        let Some(name) = name.as_str() else { continue };
        if GLOBAL.contains(&name) || name.starts_with('.') || !job.is_mapping() {
            continue;
        }
        let job = extended(&doc, job, 0);
        let script = [job.get("before_script"), job.get("script")]
            .into_iter()
            .flatten()
            .flat_map(lines)
            .collect::<Vec<_>>()
            .join("\n");
        if !shell::mentions_docker_build(&script) && !script.contains("executor") {
            continue;
        }
        // The job's line: its key.
        let at = text[from..]
            .find(&format!("\n{name}:"))
            .map_or(from, |i| from + i + 1);
        from = at;
        let line = text[..at].matches('\n').count() as u32 + 1;
        let mut env = global.clone();
        set_variables(&mut env, job.get("variables"));
        for combo in matrix(job.get("parallel").and_then(|p| p.get("matrix"))) {
            let mut env = env.clone();
            env.extend(combo);
            let env = settle(env);
            let found = shell::builds(
                &script,
                Start {
                    file: rel,
                    first_line: line,
                    cwd: ".",
                    script_dir: None,
                    env,
                    guessed: false,
                },
            );
            // Reported at the job's key (its script's lines are items of a list).
            out.extend(found.into_iter().map(|b| ImageBuild { line, ..b }));
        }
    }
    out
}

/// A job with the keys of the templates it `extends` (its own first; up to 8 deep).
fn extended(doc: &Mapping, job: &Value, depth: usize) -> Mapping {
    let mut out = job.as_mapping().cloned().unwrap_or_default();
    if depth > 8 {
        return out;
    }
    let parents: Vec<&str> = match job.get("extends") {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Sequence(s)) => s.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    for p in parents {
        if let Some(parent) = doc.get(p) {
            for (k, v) in extended(doc, parent, depth + 1) {
                if k.as_str() == Some("variables") {
                    // Variables merge key by key.
                    if let (Some(Value::Mapping(own)), Value::Mapping(inherited)) =
                        (out.get_mut("variables"), &v)
                    {
                        for (vk, vv) in inherited {
                            if !own.contains_key(vk) {
                                own.insert(vk.clone(), vv.clone());
                            }
                        }
                        continue;
                    }
                }
                if !out.contains_key(&k) {
                    out.insert(k, v);
                }
            }
        }
    }
    out
}

/// A script: one command per item (a string, or a list of strings).
fn lines(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Sequence(items) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// `variables:` (a value, or `{value: …}`), each with the variables before it substituted.
fn set_variables(env: &mut HashMap<String, String>, vars: Option<&Value>) {
    let Some(Value::Mapping(m)) = vars else {
        return;
    };
    for (k, v) in m {
        let value = match v {
            Value::Mapping(_) => v.get("value").and_then(scalar),
            _ => scalar(v),
        };
        if let (Some(k), Some(value)) = (k.as_str(), value) {
            let value = substitute(&value, env);
            env.insert(k.to_string(), value);
        }
    }
}

/// `$NAME` and `${NAME}` of known variables replaced (others kept for the script).
fn substitute(value: &str, env: &HashMap<String, String>) -> String {
    let mut out = value.to_string();
    for (k, v) in env {
        out = out.replace(&format!("${{{k}}}"), v);
        // `$NAME` not followed by more of a name.
        let plain = format!("${k}");
        let mut rebuilt = String::new();
        let mut rest = out.as_str();
        while let Some(at) = rest.find(&plain) {
            let after = &rest[at + plain.len()..];
            rebuilt.push_str(&rest[..at]);
            if after.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
                rebuilt.push_str(&plain);
            } else {
                rebuilt.push_str(v);
            }
            rest = after;
        }
        rebuilt.push_str(rest);
        out = rebuilt;
    }
    out
}

/// Variables referring to others (`CONTEXT: services/$SERVICE`, the matrix's included)
/// substituted; what is still a reference then (a predefined `$CI_REGISTRY_IMAGE`) is
/// unresolved.
fn settle(env: HashMap<String, String>) -> HashMap<String, String> {
    let mut env = env;
    for _ in 0..2 {
        let snapshot = env.clone();
        for v in env.values_mut() {
            if v.contains('$') {
                *v = substitute(v, &snapshot);
            }
        }
    }
    for v in env.values_mut() {
        if v.contains('$') {
            *v = unresolved_references(v);
        }
    }
    env
}

/// `$NAME` and `${…}` replaced by [`UNRESOLVED`].
fn unresolved_references(v: &str) -> String {
    let mut out = String::new();
    let mut chars = v.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '$' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'{') {
            for n in chars.by_ref() {
                if n == '}' {
                    break;
                }
            }
        } else {
            while chars
                .peek()
                .is_some_and(|n| n.is_ascii_alphanumeric() || *n == '_')
            {
                chars.next();
            }
        }
        out.push(UNRESOLVED);
    }
    out
}

/// `parallel: matrix:`: each entry's lists multiplied out, the entries' combinations together
/// (one empty combination without a matrix; 256 at most).
fn matrix(m: Option<&Value>) -> Vec<Vec<(String, String)>> {
    let Some(Value::Sequence(entries)) = m else {
        return vec![Vec::new()];
    };
    let mut out = Vec::new();
    for e in entries {
        let Value::Mapping(e) = e else { continue };
        let mut combos: Vec<Vec<(String, String)>> = vec![Vec::new()];
        for (k, v) in e {
            let Some(k) = k.as_str() else { continue };
            let values: Vec<String> = match v {
                Value::Sequence(items) => items.iter().filter_map(scalar).collect(),
                other => scalar(other).into_iter().collect(),
            };
            combos = combos
                .into_iter()
                .flat_map(|c| {
                    values.iter().map(move |v| {
                        let mut c = c.clone();
                        c.push((k.to_string(), v.clone()));
                        c
                    })
                })
                .collect();
        }
        out.extend(combos);
        if out.len() > 256 {
            return vec![Vec::new()];
        }
    }
    if out.is_empty() {
        out.push(Vec::new());
    }
    out
}
