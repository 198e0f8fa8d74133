//! Files the walk does not enter because they are hidden, read by name: the GitHub Actions
//! workflows (`.github/workflows/*.yml`, [`ci::actions`](crate::check::inputs::ci::actions))
//! and the root's `.gitlab-ci.yml` ([`ci::gitlab`](crate::check::inputs::ci::gitlab)), for
//! the images they build. One that cannot be read, is a symbolic link or is over
//! [`MAX_FILE_BYTES`] builds nothing.

use std::collections::HashMap;
use std::path::Path;

use super::{Parsed, WalkedFile, MAX_FILE_BYTES};
use crate::check::inputs::ci::actions::workflow_builds_calling;
use crate::check::inputs::ci::gitlab::gitlab_builds;
use crate::check::inputs::exclude::ExcludeSet;
use crate::check::inputs::k8s::K8sFile;

/// The workflows under `root/.github/workflows` and the root's `.gitlab-ci.yml` that build
/// images, sorted by path.
pub(super) fn workflows(root: &Path, exclude: &ExcludeSet) -> Vec<WalkedFile> {
    let dir = root.join(".github").join("workflows");
    let mut files: Vec<(String, std::path::PathBuf)> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            (format!(".github/workflows/{name}"), e.path())
        })
        .filter(|(rel, _)| rel.ends_with(".yml") || rel.ends_with(".yaml"))
        .collect();
    files.push((".gitlab-ci.yml".into(), root.join(".gitlab-ci.yml")));
    let mut texts: HashMap<String, String> = HashMap::new();
    for (rel, path) in files {
        if !exclude.is_empty() && exclude.excluding(&rel).is_some() {
            continue;
        }
        // Not followed if a symbolic link (like the walk).
        let small = std::fs::symlink_metadata(&path)
            .is_ok_and(|m| m.is_file() && m.len() <= MAX_FILE_BYTES);
        let Some(text) = small.then(|| std::fs::read_to_string(&path).ok()).flatten() else {
            continue;
        };
        texts.insert(rel, text);
    }
    let called = |rel: &str| texts.get(rel).cloned();
    let mut out = Vec::new();
    for (rel, text) in &texts {
        let builds = if rel == ".gitlab-ci.yml" {
            gitlab_builds(rel, text)
        } else {
            workflow_builds_calling(rel, text, &called)
        };
        if builds.is_empty() {
            continue;
        }
        out.push(WalkedFile {
            rel: rel.clone(),
            dir: crate::check::inputs::k8s::parent_dir(rel).to_string(),
            parsed: Parsed::K8s(Box::new(K8sFile {
                builds,
                ..K8sFile::default()
            })),
        });
    }
    out.sort_unstable_by(|a, b| a.rel.cmp(&b.rel));
    out
}
