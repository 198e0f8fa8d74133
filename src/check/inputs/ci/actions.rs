//! GitHub Actions workflows (`.github/workflows/*.yml`): the images their jobs build, with
//! `docker/build-push-action` (`context`, `file`, `tags`; tags from a `docker/metadata-action`
//! step's `images` when given as `${{ steps.ID.outputs.tags }}`) or `run:` steps running
//! `docker build` ([`shell`](super::shell)). A job's `strategy.matrix` is unrolled (lists of
//! words or of objects, `include` and `exclude`); `${{ matrix.… }}` and `${{ env.… }}` are
//! substituted from literal values of the file; any other expression is unresolved.

use std::collections::HashMap;

use serde_yaml::{Mapping, Value};

use super::shell::{self, Start};
use super::{builds_of, scalar, DockerBuild, ImageBuild, UNRESOLVED};

/// A matrix combination: key → value (a word, or an object read by `matrix.key.field`).
type Combo = Vec<(String, Value)>;

/// The images a workflow builds; a file that is not valid YAML builds none.
pub fn workflow_builds(rel: &str, text: &str) -> Vec<ImageBuild> {
    workflow_builds_calling(rel, text, &|_| None)
}

/// [`workflow_builds`], following jobs that call a reusable workflow of the repository
/// (`uses: ./.github/workflows/docker.yml` with `with: {context: …, image: …}`): `workflow`
/// gives the text of such a file by its path. The called workflow's `${{ inputs.… }}` are the
/// caller's `with:` values, per combination of the caller's matrix.
pub fn workflow_builds_calling(
    rel: &str,
    text: &str,
    workflow: &dyn Fn(&str) -> Option<String>,
) -> Vec<ImageBuild> {
    run(rel, text, &HashMap::new(), workflow, 0)
}

/// Inputs of a called workflow, kept among the environment under `inputs.NAME` (no
/// environment variable's name has a `.`).
const INPUTS: &str = "inputs.";

fn run(
    rel: &str,
    text: &str,
    inputs: &HashMap<String, String>,
    workflow: &dyn Fn(&str) -> Option<String>,
    depth: usize,
) -> Vec<ImageBuild> {
    let mut out = Vec::new();
    // A called workflow's own calls are not followed.
    if depth > 1 {
        return out;
    }
    let Ok(doc) = serde_yaml::from_str::<Value>(text) else {
        return out;
    };
    let top_env = env_of(doc.get("env"), inputs, &Vec::new());
    let Some(Value::Mapping(jobs)) = doc.get("jobs") else {
        return out;
    };
    let mut cursor = Cursor { text, pos: 0 };
    for job in jobs.values() {
        if let Some(called) = job
            .get("uses")
            .and_then(Value::as_str)
            .and_then(|u| u.strip_prefix("./"))
        {
            let Some(called_text) = workflow(called) else {
                continue;
            };
            for combo in combos(job.get("strategy").and_then(|s| s.get("matrix"))) {
                let env = env_of(job.get("env"), &top_env, &combo);
                let mut given = HashMap::new();
                if let Some(Value::Mapping(with)) = job.get("with") {
                    for (k, v) in with {
                        if let (Some(k), Some(v)) = (k.as_str(), scalar(v)) {
                            given.insert(format!("{INPUTS}{k}"), substitute(&v, &combo, &env));
                        }
                    }
                }
                out.extend(run(called, &called_text, &given, workflow, depth + 1));
            }
            continue;
        }
        let steps: Vec<&Value> = match job.get("steps") {
            Some(Value::Sequence(s)) => s.iter().collect(),
            _ => continue,
        };
        // Each step's line, found once in document order.
        let lines: Vec<u32> = steps.iter().map(|s| cursor.line_of(s)).collect();
        let job_dir = job
            .get("defaults")
            .and_then(|d| d.get("run"))
            .and_then(|r| r.get("working-directory"))
            .and_then(Value::as_str)
            .unwrap_or(".");
        for combo in combos(job.get("strategy").and_then(|s| s.get("matrix"))) {
            let job_env = env_of(job.get("env"), &top_env, &combo);
            let mut images: HashMap<String, Vec<String>> = HashMap::new();
            for (step, line) in steps.iter().zip(&lines) {
                let env = env_of(step.get("env"), &job_env, &combo);
                let with = |key: &str| {
                    step.get("with")
                        .and_then(|w| w.get(key))
                        .and_then(|v| match v {
                            // A list (`tags: [a, b]`) as the lines it stands for.
                            Value::Sequence(items) => Some(
                                items
                                    .iter()
                                    .filter_map(scalar)
                                    .collect::<Vec<_>>()
                                    .join("\n"),
                            ),
                            _ => scalar(v),
                        })
                        .map(|v| substitute(&v, &combo, &env))
                };
                let uses = step.get("uses").and_then(Value::as_str).unwrap_or_default();
                if uses.starts_with("docker/metadata-action") {
                    if let (Some(id), Some(list)) =
                        (step.get("id").and_then(Value::as_str), with("images"))
                    {
                        images.insert(id.to_string(), metadata_images(&list));
                    }
                } else if uses.starts_with("docker/build-push-action") {
                    let tags = with("tags")
                        .map(|t| tags_of(&t, &images))
                        .unwrap_or_default();
                    // `{{defaultContext}}:sub/dir`: a directory of the checked-out repository.
                    let context = with("context").unwrap_or_else(|| ".".into());
                    let context = match context.strip_prefix("{{defaultContext}}") {
                        Some(sub) => sub.trim_start_matches(':').to_string(),
                        None => context,
                    };
                    let cmd = DockerBuild {
                        tags,
                        file: with("file"),
                        context: Some(if context.is_empty() {
                            ".".into()
                        } else {
                            context
                        }),
                    };
                    out.extend(builds_of(&cmd, Some("."), rel, *line));
                } else if let Some(run) = step.get("run").and_then(Value::as_str) {
                    if !shell::mentions_docker_build(run) {
                        continue;
                    }
                    let cwd = step
                        .get("working-directory")
                        .and_then(Value::as_str)
                        .unwrap_or(job_dir);
                    let cwd = substitute(cwd, &combo, &env);
                    let Some(cwd) = super::path_in(Some("."), &cwd) else {
                        continue;
                    };
                    let script = substitute(run, &combo, &env);
                    out.extend(shell::builds(
                        &script,
                        Start {
                            file: rel,
                            first_line: *line,
                            cwd: &cwd,
                            script_dir: None,
                            env: env.clone(),
                            guessed: false,
                        },
                    ));
                }
            }
        }
    }
    out
}

/// `env:` entries over `inherited`, each substituted.
fn env_of(
    env: Option<&Value>,
    inherited: &HashMap<String, String>,
    combo: &Combo,
) -> HashMap<String, String> {
    let mut out = inherited.clone();
    if let Some(Value::Mapping(m)) = env {
        for (k, v) in m {
            if let (Some(k), Some(v)) = (k.as_str(), scalar(v)) {
                let v = substitute(&v, combo, &out);
                out.insert(k.to_string(), v);
            }
        }
    }
    out
}

/// `${{ … }}` expressions replaced: `matrix.a`, `matrix.a.b`, `env.A` from the file's literal
/// values; anything else [`UNRESOLVED`].
pub(crate) fn substitute(text: &str, combo: &Combo, env: &HashMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("${{") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 3..];
        let Some(end) = after.find("}}") else {
            out.push(UNRESOLVED);
            return out;
        };
        let expr = after[..end].trim();
        out.push_str(&resolve(expr, combo, env).unwrap_or_else(|| UNRESOLVED.to_string()));
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

/// Stands for `${{ steps.ID.outputs.tags }}` around the step's id, until [`tags_of`].
const STEP_TAGS: char = '\u{3}';

fn resolve(expr: &str, combo: &Combo, env: &HashMap<String, String>) -> Option<String> {
    if let Some(id) = expr
        .strip_prefix("steps.")
        .and_then(|r| r.strip_suffix(".outputs.tags"))
    {
        return Some(format!("{STEP_TAGS}{id}{STEP_TAGS}"));
    }
    if let Some(name) = expr.strip_prefix("env.") {
        return env.get(name).cloned();
    }
    if expr.starts_with(INPUTS) {
        return env.get(expr).cloned();
    }
    let mut path = expr.strip_prefix("matrix.")?.split('.');
    let first = path.next()?;
    let mut value = &combo.iter().find(|(k, _)| k == first)?.1;
    for field in path {
        value = value.get(field)?;
    }
    scalar(value)
}

/// The combinations of a job's `strategy.matrix` (one empty combination without a matrix; a
/// matrix given by an expression gives one with every `matrix.…` unresolved).
fn combos(matrix: Option<&Value>) -> Vec<Combo> {
    let Some(Value::Mapping(m)) = matrix else {
        return vec![Vec::new()];
    };
    let mut out: Vec<Combo> = vec![Vec::new()];
    let mut keys = Vec::new();
    for (k, v) in m {
        let Some(k) = k.as_str() else { continue };
        if k == "include" || k == "exclude" {
            continue;
        }
        let Value::Sequence(values) = v else {
            // `service: ${{ fromJson(…) }}`: unknown values.
            return vec![Vec::new()];
        };
        keys.push(k.to_string());
        out = out
            .into_iter()
            .flat_map(|c| {
                values.iter().map(move |v| {
                    let mut c = c.clone();
                    c.push((k.to_string(), v.clone()));
                    c
                })
            })
            .collect();
        if out.len() > 256 {
            return vec![Vec::new()];
        }
    }
    if keys.is_empty() {
        out.clear();
    }
    let entry = |v: &Value| -> Combo {
        match v {
            Value::Mapping(e) => pairs(e),
            _ => Vec::new(),
        }
    };
    if let Some(Value::Sequence(ex)) = m.get("exclude") {
        for e in ex.iter().map(entry) {
            out.retain(|c| {
                !e.iter()
                    .all(|(k, v)| c.iter().any(|(ck, cv)| ck == k && cv == v))
            });
        }
    }
    if let Some(Value::Sequence(inc)) = m.get("include") {
        for e in inc.iter().map(entry) {
            // Extends the combinations whose original values it matches, else adds one.
            let matches = |c: &Combo| {
                e.iter()
                    .filter(|(k, _)| keys.contains(k))
                    .all(|(k, v)| c.iter().any(|(ck, cv)| ck == k && cv == v))
            };
            let mut extended = false;
            for c in out.iter_mut().filter(|c| matches(c)) {
                for (k, v) in &e {
                    if !keys.contains(k) {
                        c.retain(|(ck, _)| ck != k);
                        c.push((k.clone(), v.clone()));
                    }
                }
                extended = true;
            }
            if !extended {
                out.push(e);
            }
        }
    }
    if out.is_empty() {
        out.push(Vec::new());
    }
    out
}

fn pairs(m: &Mapping) -> Combo {
    m.iter()
        .filter_map(|(k, v)| Some((k.as_str()?.to_string(), v.clone())))
        .collect()
}

/// `docker/metadata-action`'s `images`: one per line or comma, `name=…` attributes read.
fn metadata_images(list: &str) -> Vec<String> {
    list.lines()
        .flat_map(|l| l.split(','))
        .map(str::trim)
        .filter(|i| !i.is_empty() && (!i.contains('=') || i.starts_with("name=")))
        .map(|i| i.trim_start_matches("name=").to_string())
        .collect()
}

/// `tags`: one per line or comma; `${{ steps.ID.outputs.tags }}` (unresolved by now) stands
/// for the images of that metadata step.
fn tags_of(tags: &str, images: &HashMap<String, Vec<String>>) -> Vec<String> {
    tags.lines()
        .flat_map(|l| l.split(','))
        .map(str::trim)
        .flat_map(|t| {
            let step = t
                .strip_prefix(STEP_TAGS)
                .and_then(|r| r.strip_suffix(STEP_TAGS));
            match step.and_then(|id| images.get(id)) {
                Some(list) => list.clone(),
                None => vec![t.to_string()],
            }
        })
        .collect()
}

/// Finds each step's line in document order.
struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl Cursor<'_> {
    /// The 1-based line of the step: of its `uses:` value or its `run:` first line.
    fn line_of(&mut self, step: &Value) -> u32 {
        let needle = step
            .get("uses")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| {
                step.get("run")
                    .and_then(Value::as_str)
                    .and_then(|r| r.lines().next())
                    .map(|l| l.trim().to_string())
            });
        if let Some(n) = needle.filter(|n| !n.is_empty()) {
            if let Some(at) = self.text[self.pos..].find(&n) {
                self.pos += at + n.len();
            }
        }
        self.text[..self.pos].matches('\n').count() as u32 + 1
    }
}
