//! A compose service whose Dockerfile is kept apart from its code (`docker/web.Dockerfile`
//! built with the context at the repository root, as many monorepos do) runs the code that
//! Dockerfile's `COPY`/`ADD` instructions take into the image: `COPY apps/web/ ./` is the
//! service at `apps/web`.

use std::path::Path;

use super::is_under;
use super::work::Svc;
use crate::check::facts::{paths, Fact, FactKind};
use crate::check::inputs::manifests::docker;

/// The one service whose code the Dockerfile `file` copies in (its sources read against the
/// build `context`), with the Dockerfile's own facts (start command, `ENV`) for it when no
/// service holds the Dockerfile. `None` when its sources reach no service's directory or
/// several services' (a shared Dockerfile copying the whole tree), or it cannot be read.
pub(super) fn service_copied(
    root: &Path,
    services: &[Svc],
    file: &str,
    context: &str,
) -> Option<(usize, Vec<Fact>)> {
    let text = super::languages::dockerfile_text_at(root, file)?;
    let facts = docker::parse_dockerfile(file, &text);
    let mut found: Option<usize> = None;
    for f in &facts {
        let FactKind::Copy { sources, .. } = &f.kind else {
            continue;
        };
        for source in sources {
            let Some(path) = paths::resolve(context, source) else {
                continue;
            };
            // The deepest service the source lies in (never the root: copying from a
            // directory of the root's own code tells nothing).
            let owner = services
                .iter()
                .enumerate()
                .filter(|(_, s)| s.path != "." && is_under(&path, &s.path))
                .max_by_key(|(_, s)| s.path.len())
                .map(|(i, _)| i);
            match (owner, found) {
                (Some(i), None) => found = Some(i),
                (Some(i), Some(j)) if i != j => return None,
                _ => {}
            }
        }
    }
    let i = found?;
    let held = services.iter().any(|s| is_under(file, &s.path));
    let facts = if held {
        Vec::new()
    } else {
        facts
            .into_iter()
            .filter(|f| !matches!(f.kind, FactKind::Copy { .. }))
            .collect()
    };
    Some((i, facts))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svc(path: &str) -> Svc {
        Svc {
            name: path.rsplit('/').next().unwrap_or(path).to_string(),
            path: path.to_string(),
            ..Svc::default()
        }
    }

    fn write(dir: &Path, rel: &str, text: &str) {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }

    #[test]
    fn the_service_a_dockerfile_copies_in() {
        let dir = tempfile::tempdir().expect("tempdir");
        let services = [svc("apps/web"), svc("apps/api"), svc("libs/ui")];
        write(
            dir.path(),
            "docker/api.Dockerfile",
            "FROM node:22\nCOPY apps/api/package.json ./\nCOPY --from=deps /x /y\nCOPY apps/api/src ./src\nENV PORT=4000\nCMD [\"node\", \"src/server.js\"]\n",
        );
        let (i, facts) =
            service_copied(dir.path(), &services, "docker/api.Dockerfile", ".").expect("joined");
        assert_eq!(services[i].path, "apps/api");
        assert!(facts.iter().any(
            |f| matches!(&f.kind, FactKind::Command { text, .. } if text.contains("server.js"))
        ));
        assert!(!facts
            .iter()
            .any(|f| matches!(f.kind, FactKind::Copy { .. })));
    }

    #[test]
    fn a_dockerfile_copying_several_services_or_none_names_none() {
        let dir = tempfile::tempdir().expect("tempdir");
        let services = [svc("apps/web"), svc("apps/api")];
        write(
            dir.path(),
            "docker/all.Dockerfile",
            "FROM node:22\nCOPY apps/web ./web\nCOPY apps/api ./api\n",
        );
        write(
            dir.path(),
            "docker/tree.Dockerfile",
            "FROM node:22\nCOPY . .\n",
        );
        write(
            dir.path(),
            "docker/proxy.Dockerfile",
            "FROM nginx:1.27\nCOPY nginx.conf /etc/nginx/conf.d/\n",
        );
        for (file, context) in [
            ("docker/all.Dockerfile", "."),
            ("docker/tree.Dockerfile", "."),
            ("docker/proxy.Dockerfile", "docker"),
            ("docker/missing.Dockerfile", "."),
        ] {
            assert_eq!(
                service_copied(dir.path(), &services, file, context).map(|(i, _)| i),
                None,
                "{file}"
            );
        }
    }

    #[test]
    fn sources_resolve_against_the_context() {
        let dir = tempfile::tempdir().expect("tempdir");
        let services = [svc("services/orders"), svc("services/billing")];
        write(
            dir.path(),
            "build/orders/Dockerfile",
            "FROM python:3.12\nCOPY orders/requirements.txt .\nCOPY orders/app ./app\n",
        );
        let (i, _) = service_copied(dir.path(), &services, "build/orders/Dockerfile", "services")
            .expect("joined");
        assert_eq!(services[i].path, "services/orders");
    }
}
