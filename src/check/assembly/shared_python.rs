//! Python packages of the tree without a manifest of their own (`src/shop_common/`,
//! `common/`), which services import by name: Dockerfiles built from the repository root copy
//! them beside the service, or `PYTHONPATH` names them. A service importing such a package
//! (`from shop_common.tracing import init_tracing`) gets its files, and those of the packages
//! they import in turn, as it gets a workspace library's. A package is a directory, or a
//! module file, of that name holding Python files of no service and no library, with no
//! service under it; a name the service's own files provide (its `tracing.py`) is its own;
//! two packages of the same name at the same depth are ambiguous and neither is taken.

use std::collections::{BTreeMap, BTreeSet};

use super::work::Svc;
use super::{ancestors, base_of, is_under};
use crate::check::facts::SourceFacts;
use crate::check::model::Language;

/// Give each Python service the files of the shared packages it imports.
pub(super) fn use_shared_packages(services: &mut [Svc], orphans: Vec<(String, SourceFacts)>) {
    if orphans.is_empty() {
        return;
    }
    // Candidate packages by name: directories and module files holding orphan files.
    let mut candidates: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (rel, _) in &orphans {
        if let Some(stem) = base_of(rel).strip_suffix(".py") {
            candidates
                .entry(stem.to_string())
                .or_default()
                .insert(rel.clone());
        }
        for dir in ancestors(rel).filter(|d| *d != ".") {
            candidates
                .entry(base_of(dir).to_string())
                .or_default()
                .insert(dir.to_string());
        }
    }
    let service_dirs: Vec<String> = services.iter().map(|s| s.path.clone()).collect();
    // The package a name resolves to: the shallowest candidate with no service under it,
    // if it is the only one that shallow.
    let package = |name: &str| -> Option<&String> {
        let places: Vec<&String> = candidates
            .get(name)?
            .iter()
            .filter(|p| !service_dirs.iter().any(|s| is_under(s, p)))
            .collect();
        let depth = |p: &str| p.matches('/').count();
        let shallowest = places.iter().map(|p| depth(p)).min()?;
        let mut at: Vec<&String> = places
            .into_iter()
            .filter(|p| depth(p) == shallowest)
            .collect();
        (at.len() == 1).then(|| at.remove(0))
    };
    for svc in services.iter_mut() {
        if svc.language != Some(Language::Python) || svc.python_imports.is_empty() {
            continue;
        }
        let own: BTreeSet<String> = svc
            .source_files
            .iter()
            .chain(svc.unparsed.iter().map(|(_, rel, _)| rel))
            .filter_map(|rel| {
                let inside = if svc.path == "." {
                    rel.as_str()
                } else {
                    rel.strip_prefix(&format!("{}/", svc.path))?
                };
                let first = inside.split('/').next()?;
                Some(first.strip_suffix(".py").unwrap_or(first).to_string())
            })
            .collect();
        let mut queue: Vec<String> = std::mem::take(&mut svc.python_imports)
            .into_iter()
            .filter(|n| !own.contains(n))
            .collect();
        let mut taken: BTreeSet<&String> = BTreeSet::new();
        while let Some(name) = queue.pop() {
            let Some(place) = package(&name) else {
                continue;
            };
            if !taken.insert(place) {
                continue;
            }
            for (rel, facts) in orphans.iter().filter(|(rel, _)| is_under(rel, place)) {
                queue.extend(facts.imports().iter().cloned());
                if facts.unparsed {
                    svc.unparsed.push((
                        crate::check::inputs::lang::SourceKind::Python,
                        rel.clone(),
                        facts.names.clone(),
                    ));
                } else {
                    svc.add_source(rel.clone(), facts.clone());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(imports: &[&str]) -> SourceFacts {
        let mut f = SourceFacts::default();
        f.set_imports(imports.iter().map(|i| i.to_string()).collect());
        f
    }

    fn service(path: &str, files: &[&str], imports: &[&str]) -> Svc {
        Svc {
            name: base_of(path).to_string(),
            path: path.to_string(),
            language: Some(Language::Python),
            source_files: files.iter().map(|f| f.to_string()).collect(),
            python_imports: imports.iter().map(|i| i.to_string()).collect(),
            ..Svc::default()
        }
    }

    #[test]
    fn imported_packages_without_a_manifest_are_the_services_code() {
        let orphans = vec![
            ("src/shop_common/__init__.py".to_string(), facts(&[])),
            (
                "src/shop_common/tracing.py".to_string(),
                facts(&["opentelemetry", "helpers"]),
            ),
            ("src/helpers.py".to_string(), facts(&["os"])),
            // Two `utils` at the same depth: ambiguous.
            ("a/utils/x.py".to_string(), facts(&[])),
            ("b/utils/y.py".to_string(), facts(&[])),
            // A `tracing` package elsewhere: the service's own `tracing.py` shadows it.
            ("libs/tracing/__init__.py".to_string(), facts(&[])),
        ];
        let mut services = vec![
            service(
                "services/orders",
                &["services/orders/main.py", "services/orders/tracing.py"],
                &["shop_common", "utils", "tracing", "fastapi"],
            ),
            // Not importing it: nothing.
            service(
                "services/reports",
                &["services/reports/main.py"],
                &["fastapi"],
            ),
        ];
        use_shared_packages(&mut services, orphans);
        assert_eq!(
            services[0].source_files,
            [
                "services/orders/main.py",
                "services/orders/tracing.py",
                "src/shop_common/__init__.py",
                "src/shop_common/tracing.py",
                "src/helpers.py",
            ]
        );
        assert_eq!(services[1].source_files, ["services/reports/main.py"]);
    }

    #[test]
    fn a_directory_holding_a_service_is_no_shared_package() {
        // `services/` holds orphan scripts and a service: importing `services` takes nothing.
        let orphans = vec![("services/tools/x.py".to_string(), facts(&[]))];
        let mut services = vec![service(
            "services/orders",
            &["services/orders/main.py"],
            &["services"],
        )];
        use_shared_packages(&mut services, orphans);
        assert_eq!(services[0].source_files, ["services/orders/main.py"]);
    }
}
