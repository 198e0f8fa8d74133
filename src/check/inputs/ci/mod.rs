//! Images built by continuous integration and build scripts: GitHub Actions workflows
//! ([`actions`]), Makefiles ([`make`]), shell scripts ([`shell`]) and `docker buildx bake`
//! files ([`bake`]). Each gives the same [`ImageBuild`]s as skaffold and Tilt do, marked
//! `loose`: CI names an image with a registry and owner of the run
//! (`${{ env.REGISTRY }}/${{ github.repository_owner }}/ledger:${{ github.sha }}`), so a
//! workload joins it by the image's last path segment (`ledger`), tag and registry aside.
//!
//! Nothing is evaluated: a variable, matrix value or environment entry is substituted when it
//! is written as a literal in the same file; anything else (a step's output, a command's
//! result, a variable given on the command line) is unresolved, and a build whose context,
//! Dockerfile or image name needs it is left out rather than guessed.

pub mod actions;
pub mod bake;
pub mod gitlab;
mod lex;
pub mod make;
pub mod shell;

use super::k8s::ImageBuild;
use crate::check::facts::paths::resolve;

/// Stands for what could not be resolved inside a substituted text.
pub(crate) const UNRESOLVED: char = '\u{1}';

/// Marks a path as relative to the checked directory's root (`$(git rev-parse
/// --show-toplevel)`, `$(dirname "$0")` of a script), not to the current directory.
pub(crate) const ROOT: char = '\u{2}';

/// A `docker build` (`docker buildx build`, `docker image build`, `podman build`) as written.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct DockerBuild {
    pub tags: Vec<String>,
    pub file: Option<String>,
    pub context: Option<String>,
}

/// Options of `docker build` that take a value (the next word unless written `--opt=value`).
const VALUED: &[&str] = &[
    "--add-host",
    "--allow",
    "--annotation",
    "--attest",
    "--build-arg",
    "--build-context",
    "--builder",
    "--cache-from",
    "--cache-to",
    "--call",
    "--cgroup-parent",
    "--cpu-period",
    "--cpu-quota",
    "--cpu-shares",
    "--cpuset-cpus",
    "--cpuset-mems",
    "--iidfile",
    "--isolation",
    "--label",
    "--memory",
    "--memory-swap",
    "--metadata-file",
    "--network",
    "--output",
    "--platform",
    "--progress",
    "--secret",
    "--security-opt",
    "--shm-size",
    "--ssh",
    "--target",
    "--ulimit",
    "-m",
    "-o",
];

/// The `docker build` a command's words run, if they do.
pub(crate) fn docker_build(words: &[String]) -> Option<DockerBuild> {
    let program = words.first()?;
    let program = program.rsplit('/').next().unwrap_or(program);
    if !matches!(program, "docker" | "podman") {
        return None;
    }
    let mut rest = words[1..].iter().map(String::as_str).peekable();
    // `docker build`, `docker buildx build`, `docker image build` (global options before the
    // subcommand are rare in scripts: not read).
    match rest.next()? {
        "build" => {}
        "buildx" | "image" if rest.next() == Some("build") => {}
        _ => return None,
    }
    let mut out = DockerBuild::default();
    while let Some(word) = rest.next() {
        // A short option with its value attached: `-tacme/auth`, `-fweb.Dockerfile`.
        if !word.starts_with("--") && word.len() > 2 && word.as_bytes().get(2) != Some(&b'=') {
            if let Some(v) = word.strip_prefix("-t") {
                out.tags.push(v.to_string());
                continue;
            }
            if let Some(v) = word.strip_prefix("-f") {
                out.file = Some(v.to_string());
                continue;
            }
        }
        let (opt, inline) = match word.split_once('=') {
            Some((o, v)) if o.starts_with('-') => (o, Some(v.to_string())),
            _ => (word, None),
        };
        let mut value = || inline.clone().or_else(|| rest.next().map(str::to_string));
        match opt {
            "-t" | "--tag" => out.tags.extend(value()),
            "-f" | "--file" => out.file = value(),
            o if VALUED.contains(&o) => {
                value();
            }
            o if o.starts_with('-') && o.len() > 1 => {}
            _ if out.context.is_none() => out.context = Some(word.to_string()),
            _ => {}
        }
    }
    Some(out)
}

/// A YAML scalar as text (`push: true` reads `true`); `None` for a list or mapping.
pub(crate) fn scalar(v: &serde_yaml::Value) -> Option<String> {
    match v {
        serde_yaml::Value::String(s) => Some(s.clone()),
        serde_yaml::Value::Bool(b) => Some(b.to_string()),
        serde_yaml::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A kaniko build (`/kaniko/executor --context DIR --dockerfile FILE --destination IMAGE`),
/// as the `docker build` it stands for: its Dockerfile, unless rooted, is read against the
/// context (`dir://` contexts are directories; a remote one is none).
pub(crate) fn kaniko(words: &[String]) -> Option<DockerBuild> {
    let program = words.first()?;
    if !program.ends_with("/kaniko/executor") && program != "executor" {
        return None;
    }
    let mut out = DockerBuild::default();
    let mut file = None;
    let mut rest = words[1..].iter();
    while let Some(word) = rest.next() {
        let (opt, inline) = match word.split_once('=') {
            Some((o, v)) if o.starts_with('-') => (o, Some(v.to_string())),
            _ => (word.as_str(), None),
        };
        let mut value = || inline.clone().or_else(|| rest.next().cloned());
        match opt {
            "-c" | "--context" => out.context = value(),
            "-f" | "--dockerfile" => file = value(),
            "-d" | "--destination" => out.tags.extend(value()),
            _ => {}
        }
    }
    let context = out.context.take().unwrap_or_else(|| ".".into());
    let context = match context.strip_prefix("dir://") {
        Some(dir) => dir.to_string(),
        None if context.contains("://") => return None,
        None => context,
    };
    out.file = Some(match file {
        Some(f) if f.starts_with(ROOT) => f,
        Some(f) => format!("{context}/{f}"),
        None => format!("{context}/Dockerfile"),
    });
    out.context = Some(context);
    Some(out)
}

/// The image a tag names: the repository written in full when nothing in it is unresolved
/// (`ghcr.io/acme/ledger`), else its last path segment when that is literal (`ledger` of
/// `${{ env.REGISTRY }}/${{ github.repository_owner }}/ledger`); the tag and digest dropped.
pub(crate) fn image_name(tag: &str) -> Option<String> {
    let tag = tag.trim().trim_matches(|c| c == '"' || c == '\'');
    let tag = tag.split('@').next().unwrap_or(tag);
    let (path, last) = match tag.rsplit_once('/') {
        Some((p, l)) => (Some(p), l),
        None => (None, tag),
    };
    let last = last.split(':').next().unwrap_or(last);
    if last.is_empty()
        || last.contains(UNRESOLVED)
        || !last
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return None;
    }
    match path {
        Some(p) if !p.contains(UNRESOLVED) && !p.is_empty() => Some(format!("{p}/{last}")),
        _ => Some(last.to_string()),
    }
}

/// A path written in a command run in `cwd` (relative to the root; `None` when unknown),
/// relative to the root; `None` when any of it is unresolved, absolute or leaves the root.
pub(crate) fn path_in(cwd: Option<&str>, path: &str) -> Option<String> {
    if path.contains(UNRESOLVED) || path.contains("://") || path == "-" {
        return None;
    }
    match path.strip_prefix(ROOT) {
        Some(rest) => resolve(".", rest.trim_start_matches('/')),
        None if path.starts_with('/') => None,
        None => resolve(cwd?, path),
    }
}

/// The builds a `docker build` run in `cwd` makes: one per tag naming an image. `-f` is read
/// against the current directory, like the context; the code is the Dockerfile's directory
/// when one is named, else the context.
pub(crate) fn builds_of(
    cmd: &DockerBuild,
    cwd: Option<&str>,
    file: &str,
    line: u32,
) -> Vec<ImageBuild> {
    let Some(context) = cmd.context.as_deref().and_then(|c| path_in(cwd, c)) else {
        return Vec::new();
    };
    let dockerfile = match cmd.file.as_deref() {
        Some(f) => match path_in(cwd, f) {
            Some(f) => f,
            None => return Vec::new(),
        },
        None => match resolve(&context, "Dockerfile") {
            Some(f) => f,
            None => return Vec::new(),
        },
    };
    let dir = match cmd.file {
        Some(_) => super::k8s::parent_dir(&dockerfile).to_string(),
        None => context.clone(),
    };
    built(&cmd.tags, &dir, Some((dockerfile, context)), file, line)
}

/// One build per distinct image among `tags` (a tag that names none is skipped).
pub(crate) fn built(
    tags: &[String],
    dir: &str,
    dockerfile: Option<(String, String)>,
    file: &str,
    line: u32,
) -> Vec<ImageBuild> {
    let mut out: Vec<ImageBuild> = Vec::new();
    for image in tags.iter().filter_map(|t| image_name(t)) {
        if out.iter().any(|b| b.image == image) {
            continue;
        }
        out.push(ImageBuild {
            image,
            dir: dir.to_string(),
            dockerfile: dockerfile.clone(),
            file: file.to_string(),
            line,
            loose: true,
        });
    }
    out
}

#[cfg(test)]
mod tests;
