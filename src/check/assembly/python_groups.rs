//! Python dependencies installed only when asked for — a PEP 621 extra, a Poetry group or
//! extra, a PEP 735 group ([`FactKind::OptionalDependency`]) — count for a service whose image
//! installs that group ([`FactKind::InstallsGroup`]: `pip install ".[otel]"`,
//! `poetry install --with otel`, `uv sync --extra otel`, `*` for all); otherwise they are
//! dropped. Neither kind reaches the rules.

use super::work::Svc;
use crate::check::facts::{Fact, FactKind};

/// Settle each service's optional dependencies against the groups its images install.
pub(super) fn apply(services: &mut [Svc]) {
    for s in services.iter_mut() {
        if !s.facts.iter().any(|f| {
            matches!(
                f.kind,
                FactKind::OptionalDependency { .. } | FactKind::InstallsGroup { .. }
            )
        }) {
            continue;
        }
        let installed: Vec<String> = s
            .facts
            .iter()
            .filter_map(|f| match &f.kind {
                FactKind::InstallsGroup { group } => Some(group.clone()),
                _ => None,
            })
            .collect();
        let all = installed.iter().any(|g| g == "*");
        let facts = std::mem::take(&mut s.facts);
        s.facts = facts
            .into_iter()
            .filter_map(|f| match f.kind {
                FactKind::InstallsGroup { .. } => None,
                FactKind::OptionalDependency { group, name } => {
                    if all || installed.contains(&group) {
                        Some(Fact {
                            kind: FactKind::Dependency { name },
                            ..f
                        })
                    } else {
                        None
                    }
                }
                _ => Some(f),
            })
            .collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svc(facts: Vec<FactKind>) -> Svc {
        Svc {
            facts: facts
                .into_iter()
                .map(|k| Fact::new(k, "svc/pyproject.toml", 4))
                .collect(),
            ..Svc::default()
        }
    }

    fn optional(group: &str, name: &str) -> FactKind {
        FactKind::OptionalDependency {
            group: group.into(),
            name: name.into(),
        }
    }

    fn deps(s: &Svc) -> Vec<String> {
        s.facts
            .iter()
            .map(|f| match &f.kind {
                FactKind::Dependency { name } => name.clone(),
                other => format!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn installed_groups_count_the_others_are_dropped() {
        let installs = |g: &str| FactKind::InstallsGroup { group: g.into() };
        let base = || {
            vec![
                FactKind::Dependency {
                    name: "fastapi".into(),
                },
                optional("otel", "opentelemetry-sdk"),
                optional("dev", "pytest"),
            ]
        };
        let mut services = vec![
            svc(base()),
            svc([base(), vec![installs("otel")]].concat()),
            svc([base(), vec![installs("*")]].concat()),
        ];
        apply(&mut services);
        assert_eq!(deps(&services[0]), ["fastapi"]);
        assert_eq!(deps(&services[1]), ["fastapi", "opentelemetry-sdk"]);
        assert_eq!(
            deps(&services[2]),
            ["fastapi", "opentelemetry-sdk", "pytest"]
        );
        assert_eq!(services[1].facts[1].line, 4);
    }
}
