//! Stage 1 of the check engine: read the repository. [`discover`] walks the tree once in
//! parallel and hands each interesting file to its parser: application [`manifests`] (Cargo,
//! npm, Go, Python, JVM, .NET, Dockerfiles), sources to [`lang`] (what the rules may match,
//! pre-screened by [`prefilter`]), Kubernetes YAML to [`k8s`].

mod chart_parents;
mod charts;
pub mod ci;
pub mod discover;
pub mod exclude;
mod external;
mod helm_binary;
pub mod interest;
pub mod k8s;
pub(crate) mod kustomize;
pub mod lang;
pub mod manifests;
pub mod node_projects;
pub mod otel_config;
pub mod prefilter;

use std::path::Path;

use crate::check::error::CheckError;
use discover::{Parsed, WalkedFile};
use interest::Interest;
use manifests::{cargo_workspace, Manifest, ManifestKind};

/// The tree as read: every interesting file parsed, and its directories.
pub struct Read {
    /// The files, parsed.
    pub files: Vec<WalkedFile>,
    /// Every directory of the tree (relative, `/` separators).
    pub dirs: Vec<String>,
}

/// Kubernetes manifests given outside the tree (`check --manifests FILE|-`): rendered by the
/// pipeline (`helm template`, `kustomize build`), read as if they were a file of the tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtraManifests {
    /// How findings name it: the path as given, or `<stdin>`.
    pub name: String,
    /// The YAML stream.
    pub text: String,
}

/// Walk the tree under `root`, parsing what `interest` asks for, and resolve its Cargo
/// workspaces. The first file that stops the walk is the error.
pub fn read(
    root: &Path,
    interest: &Interest,
    exclude: &exclude::ExcludeSet,
    extra: &[ExtraManifests],
) -> Result<Read, CheckError> {
    let walk = discover::walk(root, interest, exclude)?;
    if let Some((_, err)) = walk.errors.into_iter().next() {
        return Err(err);
    }
    let mut files = walk.files;
    if extra.is_empty() {
        charts::render(root, &mut files, exclude);
    } else {
        // Manifests the pipeline rendered replace what would be rendered here: the tree's
        // charts and kustomize builds (docs/check.md, "Rendered manifests").
        charts::set_aside(&mut files);
    }
    let rendered_elsewhere = !extra.is_empty();
    kustomize::apply(
        root,
        &walk.kustomization_dirs,
        &mut files,
        exclude,
        rendered_elsewhere,
    );
    for extra in extra {
        let parsed = match k8s::parse_rendered(&extra.name, &extra.text) {
            Ok(k8s::K8sFile {
                fatal: Some((line, reason)),
                ..
            }) => {
                return Err(CheckError::Manifest {
                    file: extra.name.clone(),
                    line: Some(line),
                    what: "Kubernetes manifest",
                    reason,
                })
            }
            Ok(k) => Parsed::K8s(Box::new(k)),
            Err(reason) => {
                let (reason, line) = discover::reason_and_line(&reason);
                return Err(CheckError::Manifest {
                    file: extra.name.clone(),
                    line,
                    what: "Kubernetes manifest",
                    reason,
                });
            }
        };
        let at = files.partition_point(|f| f.rel < extra.name);
        files.insert(
            at,
            WalkedFile {
                rel: extra.name.clone(),
                dir: ".".into(),
                parsed,
            },
        );
    }
    resolve_cargo_workspaces(root, &mut files);
    Ok(Read {
        files,
        dirs: walk.dirs,
    })
}

/// Resolve Cargo workspaces (`manifests::cargo_workspace`); why cargo could not read one
/// becomes a TG199 note on its root `Cargo.toml`.
fn resolve_cargo_workspaces(root: &Path, files: &mut Vec<WalkedFile>) {
    let mut cargo: Vec<&mut Manifest> = files
        .iter_mut()
        .filter_map(|f| match &mut f.parsed {
            Parsed::Manifest(m) if m.kind == ManifestKind::Cargo => Some(m),
            _ => None,
        })
        .collect();
    let notes = cargo_workspace::resolve(root, &mut cargo);
    for note in notes {
        let dir = note
            .file
            .rsplit_once('/')
            .map_or(".".to_string(), |(d, _)| d.to_string());
        files.push(WalkedFile {
            rel: note.file,
            dir,
            parsed: Parsed::Skipped {
                reason: note.reason,
                line: None,
            },
        });
    }
}
