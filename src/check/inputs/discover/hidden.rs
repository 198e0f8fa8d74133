//! Files the walk does not enter because they are hidden, read by name: the GitHub Actions
//! workflows (`.github/workflows/*.yml`), for the images they build
//! ([`ci::actions`](crate::check::inputs::ci::actions)). One that cannot be read, or is over
//! [`MAX_FILE_BYTES`], builds nothing.

use std::path::Path;

use super::{Parsed, WalkedFile, MAX_FILE_BYTES};
use crate::check::inputs::ci::actions::workflow_builds;
use crate::check::inputs::exclude::ExcludeSet;
use crate::check::inputs::k8s::K8sFile;

/// The workflows under `root/.github/workflows` that build images, sorted by path.
pub(super) fn workflows(root: &Path, exclude: &ExcludeSet) -> Vec<WalkedFile> {
    let dir = root.join(".github").join("workflows");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !(name.ends_with(".yml") || name.ends_with(".yaml")) {
            continue;
        }
        let rel = format!(".github/workflows/{name}");
        if !exclude.is_empty() && exclude.excluding(&rel).is_some() {
            continue;
        }
        let small = e
            .metadata()
            .is_ok_and(|m| m.is_file() && m.len() <= MAX_FILE_BYTES);
        let Some(text) = small
            .then(|| std::fs::read_to_string(e.path()).ok())
            .flatten()
        else {
            continue;
        };
        let builds = workflow_builds(&rel, &text);
        if builds.is_empty() {
            continue;
        }
        out.push(WalkedFile {
            rel,
            dir: ".github/workflows".into(),
            parsed: Parsed::K8s(Box::new(K8sFile {
                builds,
                ..K8sFile::default()
            })),
        });
    }
    out.sort_unstable_by(|a, b| a.rel.cmp(&b.rel));
    out
}
