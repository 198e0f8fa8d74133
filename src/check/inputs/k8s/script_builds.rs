//! Images a build script makes: `docker build -t IMAGE [-f FILE] CONTEXT` (also
//! `docker buildx build`, `docker image build`, `podman build`) in a shell script
//! (`tools/build_docker.sh`, `hack/build-image.sh`): the join of a workload's image to its
//! code where no compose file, skaffold or Tiltfile builds it (DescartesResearch/TeaStore).
//!
//! The context is read relative to the script's directory (scripts are run from there:
//! `../services/auth/`), else to the root, whichever is a directory of the tree. An image whose
//! registry is a variable (`"${registry}teastore-auth"`, `$REPO/auth:$TAG`) is built for any
//! registry: it matches a workload's image by its last path component
//! ([`ImageBuild::loose`]). A context, Dockerfile or image name that is still a variable
//! (a loop over directories) builds nothing known and is left out.

use std::path::Path;

use super::build::{join, parent};
use super::ImageBuild;
use crate::check::inputs::ci::{docker_build, DockerBuild};
use crate::check::inputs::manifests::launch::programs;
use crate::check::inputs::manifests::shell::logical_lines;

/// Every image build of the script `rel` whose image and context are known; `root` tells which
/// directories exist.
pub fn builds(root: &Path, rel: &str, text: &str) -> Vec<ImageBuild> {
    let mut out = Vec::new();
    for (start, line) in logical_lines(text) {
        line_builds(root, rel, &line, start, &mut out);
    }
    out
}

fn line_builds(root: &Path, rel: &str, line: &str, no: u32, out: &mut Vec<ImageBuild>) {
    if !line.contains("build") {
        return;
    }
    for (program, args) in programs(line) {
        // `docker build`, `docker buildx build`, `docker image build`, `podman build`, read
        // as the CI readers read them.
        let mut words = Vec::with_capacity(args.len() + 1);
        words.push(program);
        words.extend(args);
        let Some(build) = docker_build(&words) else {
            continue;
        };
        if let Some(b) = resolve(root, rel, no, build) {
            out.push(b);
        }
    }
}

/// The build with its image and directories resolved, or `None` when something is unknown.
fn resolve(root: &Path, rel: &str, no: u32, w: DockerBuild) -> Option<ImageBuild> {
    let (image, loose) = w.tags.iter().find_map(|t| image_of(t))?;
    let context = w.context?;
    if context == "-" {
        return None;
    }
    // Relative to the script's directory, else to the root: the one that exists.
    let here = parent(rel);
    let context = [here, "."]
        .iter()
        .filter_map(|base| join(base, &context))
        .find(|dir| root.join(dir).is_dir())?;
    // `-f` is read relative to the working directory, like the context.
    let dockerfile = match &w.file {
        Some(f) => [here, "."]
            .iter()
            .filter_map(|base| join(base, f))
            .find(|file| root.join(file).is_file())?,
        None => join(&context, "Dockerfile")?,
    };
    let dir = match &w.file {
        Some(_) => parent(&dockerfile).to_string(),
        None => context.clone(),
    };
    Some(ImageBuild {
        image,
        dir,
        dockerfile: Some((dockerfile, context)),
        file: rel.to_string(),
        line: no,
        loose,
    })
}

/// The image a tag names, and whether its registry is a variable: `${registry}auth` and
/// `$REPO/auth:$TAG` are `auth` for any registry; a name that is itself a variable is unknown.
fn image_of(tag: &str) -> Option<(String, bool)> {
    if !tag.contains('$') {
        return (!tag.is_empty()).then(|| (tag.to_string(), false));
    }
    let (prefix, last) = tag.rsplit_once('/').unwrap_or(("", tag));
    let name = last.split(':').next().unwrap_or(last);
    let name = strip_variables(name);
    if name.is_empty() || name.contains('$') {
        return None;
    }
    let loose = prefix.contains('$') || name.len() < last.split(':').next()?.len();
    if !loose {
        // Only the tag is a variable: the image as written, without it.
        let image = if prefix.is_empty() {
            name.to_string()
        } else {
            format!("{prefix}/{name}")
        };
        return Some((image, false));
    }
    Some((name.to_string(), true))
}

/// `${registry}auth` → `auth`: leading `$NAME` / `${NAME}` references dropped.
fn strip_variables(mut name: &str) -> &str {
    while let Some(rest) = name.strip_prefix('$') {
        name = match rest.strip_prefix('{') {
            Some(braced) => match braced.find('}') {
                Some(close) => &braced[close + 1..],
                None => return rest,
            },
            None => rest.trim_start_matches(|c: char| c.is_ascii_alphanumeric() || c == '_'),
        };
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(dirs: &[&str], files: &[&str]) -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        for d in dirs {
            std::fs::create_dir_all(t.path().join(d)).unwrap();
        }
        for f in files {
            std::fs::write(t.path().join(f), "FROM scratch\n").unwrap();
        }
        t
    }

    fn short(b: &[ImageBuild]) -> Vec<String> {
        b.iter()
            .map(|b| {
                let (file, context) = b.dockerfile.clone().unwrap_or_default();
                format!(
                    "{}{} {} {file} {context} :{}",
                    b.image,
                    if b.loose { " (any registry)" } else { "" },
                    b.dir,
                    b.line
                )
            })
            .collect()
    }

    #[test]
    fn docker_builds_of_a_script_resolve_against_its_directory_then_the_root() {
        let t = tree(
            &["services/auth", "services/webui", "docker", "web", "tools"],
            &["docker/web.Dockerfile", "services/auth/Dockerfile"],
        );
        let text = "#!/bin/bash\nregistry=''\n# docker build -t old ../services/old/\ndocker build --no-cache=true -t \"${registry}teastore-auth\" ../services/auth/\ndocker build \\\n  --build-arg VERSION=1 \\\n  --tag ghcr.io/acme/webui:${TAG} ../services/webui\ncd .. && docker buildx build --platform linux/amd64 -f docker/web.Dockerfile -t acme/web:1 web --push\nfor d in services/*; do docker build -t \"acme/$(basename $d)\" \"$d\"; done\ndocker build -t acme/gone ../services/gone\npodman build -tacme/auth2 -f ../services/auth/Dockerfile .\n";
        let b = builds(t.path(), "tools/build_docker.sh", text);
        assert_eq!(
            short(&b),
            vec![
                "teastore-auth (any registry) services/auth services/auth/Dockerfile services/auth :4",
                "ghcr.io/acme/webui services/webui services/webui/Dockerfile services/webui :5",
                // `-f` and the context are read from the root when not under `tools/`.
                "acme/web:1 docker docker/web.Dockerfile web :8",
                // `-f` names the code's directory; the context `.` is the script's.
                "acme/auth2 services/auth services/auth/Dockerfile tools :11",
            ]
        );
    }

    #[test]
    fn an_image_whose_name_is_a_variable_is_unknown() {
        assert_eq!(image_of("$IMAGE"), None);
        assert_eq!(image_of("${REPO}/${NAME}:1"), None);
        assert_eq!(image_of("$REPO/auth:$TAG"), Some(("auth".into(), true)));
        assert_eq!(image_of("${REPO}ts-auth"), Some(("ts-auth".into(), true)));
        assert_eq!(
            image_of("acme/auth:$TAG"),
            Some(("acme/auth".into(), false))
        );
        assert_eq!(image_of("acme/auth:1"), Some(("acme/auth:1".into(), false)));
        assert_eq!(image_of("auth:${TAG}"), Some(("auth".into(), false)));
    }
}
