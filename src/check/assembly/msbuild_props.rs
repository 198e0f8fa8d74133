//! MSBuild files .NET projects import: `Directory.Build.props`, `Directory.Build.targets` and
//! `Directory.Packages.props` (the nearest of each name at or above a project's directory,
//! as MSBuild imports them into every project), what those import in turn
//! (`GetPathOfFileAbove('Directory.Build.props', '$(MSBuildThisFileDirectory)../')` chains to
//! the one above), and `.props`/`.targets` files a project imports by path. Their
//! `PackageReference`/`GlobalPackageReference` items are dependencies of every project
//! importing them (a `src/Services/Directory.Build.props` adding the OpenTelemetry packages to
//! each service is a common layout), their `ProjectReference`s project references.
//!
//! Conditions on items are not evaluated: an item under any condition counts.

use std::collections::{HashMap, HashSet};

use crate::check::facts::{paths, Fact, FactKind};
use crate::check::inputs::discover::{Parsed, WalkedFile};
use crate::check::inputs::manifests::dotnet::AUTO_IMPORTED;
use crate::check::inputs::manifests::{ManifestKind, Reference};

/// The most props files one project is given (imports form a chain of a few at most; the
/// bound keeps a hostile tree of imports from growing a project's facts without end).
const MAX_IMPORTS: usize = 64;

/// What one props file holds.
struct Props {
    dir: String,
    dependencies: Vec<Fact>,
    uses: Vec<Reference>,
}

/// Give every .NET project the dependencies and project references of the MSBuild files it
/// imports. The props manifests stay in `files` (they are never services).
pub(super) fn apply(files: &mut [WalkedFile]) {
    let mut props: HashMap<String, Props> = HashMap::new();
    for f in files.iter() {
        if let Parsed::Manifest(m) = &f.parsed {
            if m.kind == ManifestKind::MsbuildProps {
                let dependencies = m
                    .facts
                    .iter()
                    .filter(|x| matches!(x.kind, FactKind::Dependency { .. }))
                    .cloned()
                    .collect();
                props.insert(
                    f.rel.clone(),
                    Props {
                        dir: f.dir.clone(),
                        dependencies,
                        uses: m.uses.clone(),
                    },
                );
            }
        }
    }
    for f in files.iter_mut() {
        let Parsed::Manifest(m) = &mut f.parsed else {
            continue;
        };
        if m.kind != ManifestKind::Csproj {
            continue;
        }
        // The project's own imports, then the files MSBuild imports into it.
        let mut queue: Vec<String> = AUTO_IMPORTED
            .iter()
            .rev()
            .filter_map(|name| nearest(&props, &f.dir, name))
            .collect();
        queue.extend(imports(&props, &f.dir, &m.uses).into_iter().rev());
        m.uses.retain(|u| !matches!(u, Reference::Import { .. }));
        let mut seen: HashSet<String> = HashSet::new();
        while let Some(path) = queue.pop() {
            if seen.len() >= MAX_IMPORTS || !seen.insert(path.clone()) {
                continue;
            }
            let Some(p) = props.get(&path) else {
                continue;
            };
            m.facts.extend(p.dependencies.iter().cloned());
            for u in &p.uses {
                if let Reference::Path(reference) = u {
                    m.uses
                        .push(Reference::Path(rebase(reference, &p.dir, &f.dir)));
                }
            }
            queue.extend(imports(&props, &p.dir, &p.uses).into_iter().rev());
        }
    }
}

/// The props files `uses`' imports name, from directory `dir`.
fn imports(props: &HashMap<String, Props>, dir: &str, uses: &[Reference]) -> Vec<String> {
    uses.iter()
        .filter_map(|u| match u {
            Reference::Import { path, above } => {
                let target = paths::resolve(dir, path)?;
                if *above {
                    let (from, name) = target.rsplit_once('/').unwrap_or((".", &target));
                    nearest(props, from, name)
                } else {
                    props.contains_key(&target).then_some(target)
                }
            }
            _ => None,
        })
        .collect()
}

/// The props file called `name` nearest at or above directory `dir`.
fn nearest(props: &HashMap<String, Props>, dir: &str, name: &str) -> Option<String> {
    // The path of `name` in `dir`: its ancestors are `dir` and every directory above it.
    let here = if dir == "." || dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    };
    let found = super::ancestors(&here)
        .map(|d| {
            if d == "." {
                name.to_string()
            } else {
                format!("{d}/{name}")
            }
        })
        .find(|path| props.contains_key(path));
    found
}

/// A `ProjectReference` written in a props file in `props_dir`, as the project in
/// `project_dir` resolves it: relative to the project itself, except where it starts from
/// the props file's own directory (`$(MSBuildThisFileDirectory)`).
fn rebase(reference: &str, props_dir: &str, project_dir: &str) -> String {
    const THIS_DIR: &str = "$(MSBuildThisFileDirectory)";
    let Some(rest) = reference.trim().strip_prefix(THIS_DIR) else {
        return reference.to_string();
    };
    let split = |d: &str| -> Vec<String> {
        d.split('/')
            .filter(|c| !c.is_empty() && *c != ".")
            .map(str::to_owned)
            .collect()
    };
    let (from, to) = (split(project_dir), split(props_dir));
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut out: Vec<String> = vec!["..".to_string(); from.len() - common];
    out.extend(to[common..].iter().cloned());
    out.push(rest.replace('\\', "/").trim_start_matches('/').to_string());
    out.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reference_from_the_props_directory_is_rebased_to_the_project() {
        assert_eq!(
            rebase(
                "$(MSBuildThisFileDirectory)Shared\\Shared.csproj",
                "src",
                "src/Services/Api"
            ),
            "../../Shared/Shared.csproj"
        );
        assert_eq!(
            rebase("$(MSBuildThisFileDirectory)lib/L.csproj", ".", "a"),
            "../lib/L.csproj"
        );
        // Relative to the project, as MSBuild evaluates items of imported files.
        assert_eq!(
            rebase("..\\Shared\\Shared.csproj", "src", "src/Api"),
            "..\\Shared\\Shared.csproj"
        );
    }
}
