//! A service's image built `FROM` an image the repository builds itself — a shared base with
//! the runtime, the agent and its settings (DescartesResearch/TeaStore: every service's
//! Dockerfile is `FROM descartesresearch/teastore-base`, built by `tools/build_docker.sh` from
//! `utilities/…dockerbase/`, which sets up Tomcat) — has what that base's Dockerfile sets: its
//! `ENV` (unless the service's own Dockerfile sets the same name: Docker's order), its
//! `ENTRYPOINT` and `CMD` where the service's sets none, and what its `RUN` installs; its
//! `COPY`s are files of another context and count for nothing here. Followed through bases
//! of bases (a few levels), each Dockerfile once.

use std::path::Path;

use super::images::BuiltImages;
use super::infrastructure::shipped_base;
use super::languages::dockerfile_text_at;
use super::work::Svc;
use crate::check::facts::{CommandSlot, Fact, FactKind};
use crate::check::inputs::manifests::docker::parse_dockerfile;

/// How many bases of bases are followed.
const MAX_DEPTH: usize = 4;

/// Add to every service what the bases built in the tree that its image extends set.
pub(super) fn inherit(root: &Path, services: &mut [Svc], built: &BuiltImages) {
    // No image built in the tree: no base to follow, and no Dockerfile to read again.
    if built.is_empty() {
        return;
    }
    for svc in services.iter_mut() {
        for own in dockerfiles(root, svc, built) {
            let mut seen = vec![own.clone()];
            let mut file = own;
            for _ in 0..MAX_DEPTH {
                let Some(base) = base_dockerfile(root, &file, built) else {
                    break;
                };
                if seen.contains(&base.0) {
                    break;
                }
                add_facts(svc, &seen, parse_dockerfile(&base.0, &base.1));
                seen.push(base.0.clone());
                file = base.0;
            }
        }
    }
}

/// The Dockerfiles the service's images are built with: its workloads' (compose, skaffold,
/// build scripts), else the one in its directory.
fn dockerfiles(root: &Path, svc: &Svc, built: &BuiltImages) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for w in &svc.workloads {
        let file = w
            .dockerfile
            .clone()
            .or_else(|| built.dockerfile_of(&w.images))
            .map(|(file, _)| file);
        if let Some(file) = file {
            if !out.contains(&file) {
                out.push(file);
            }
        }
    }
    if out.is_empty() {
        let file = if svc.path == "." {
            "Dockerfile".to_string()
        } else {
            format!("{}/Dockerfile", svc.path)
        };
        if root.join(&file).is_file() {
            out.push(file);
        }
    }
    out
}

/// The Dockerfile (path and text) of the image built in the tree that `file`'s last stage
/// extends.
fn base_dockerfile(root: &Path, file: &str, built: &BuiltImages) -> Option<(String, String)> {
    let text = dockerfile_text_at(root, file)?;
    let base = shipped_base(&text)?;
    if base.contains('$') || base.eq_ignore_ascii_case("scratch") {
        return None;
    }
    let base = [base.to_string()];
    // Skaffold, Tilt and build scripts name the Dockerfile; a compose `build:` its directory.
    let base_file = match built.dockerfile_of(&base) {
        Some((file, _)) => file,
        None => {
            let dir = built.dir_of(&base)?;
            if dir == "." {
                "Dockerfile".to_string()
            } else {
                format!("{dir}/Dockerfile")
            }
        }
    };
    if base_file == file {
        return None;
    }
    let base_text = dockerfile_text_at(root, &base_file)?;
    Some((base_file, base_text))
}

/// The base's facts that the Dockerfiles built on it (`children`: the service's, then the
/// bases already followed) do not override.
fn add_facts(svc: &mut Svc, children: &[String], facts: Vec<Fact>) {
    let set_by_child = |svc: &Svc, pred: &dyn Fn(&FactKind) -> bool| {
        svc.facts
            .iter()
            .any(|f| children.iter().any(|c| **c == *f.file) && pred(&f.kind))
    };
    let has_entrypoint = set_by_child(svc, &|k| {
        matches!(
            k,
            FactKind::Command {
                slot: CommandSlot::ImageEntrypoint,
                ..
            }
        )
    });
    let has_cmd = set_by_child(svc, &|k| {
        matches!(
            k,
            FactKind::Command {
                slot: CommandSlot::ImageCmd,
                ..
            }
        )
    });
    let mut added = Vec::new();
    for f in facts {
        let keep = match &f.kind {
            FactKind::Env { name, .. } => !set_by_child(
                svc,
                &|k| matches!(k, FactKind::Env { name: n, .. } if n == name),
            ),
            FactKind::Command {
                slot: CommandSlot::ImageEntrypoint,
                ..
            } => !has_entrypoint,
            // Setting an ENTRYPOINT resets the base's CMD.
            FactKind::Command {
                slot: CommandSlot::ImageCmd,
                ..
            } => !has_cmd && !has_entrypoint,
            FactKind::Copy { .. } => false,
            _ => true,
        };
        if keep {
            added.push(f);
        }
    }
    svc.facts.extend(added);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::inputs::k8s::{ImageBuild, Workload};

    fn write(root: &Path, file: &str, text: &str) {
        let path = root.join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn script_build(image: &str, dir: &str) -> ImageBuild {
        ImageBuild {
            image: image.into(),
            dir: dir.into(),
            dockerfile: Some((format!("{dir}/Dockerfile"), dir.into())),
            file: "tools/build.sh".into(),
            line: 1,
            loose: true,
        }
    }

    fn summary(svc: &Svc) -> Vec<String> {
        svc.facts
            .iter()
            .map(|f| match &f.kind {
                FactKind::Env { name, value, .. } => {
                    format!(
                        "{}:{} {name}={}",
                        f.file,
                        f.line,
                        value.clone().unwrap_or_default()
                    )
                }
                FactKind::Command { text, slot } => {
                    format!("{}:{} {slot:?} {text}", f.file, f.line)
                }
                other => format!("{}:{} {other:?}", f.file, f.line),
            })
            .collect()
    }

    #[test]
    fn a_service_image_has_what_the_base_built_in_the_tree_sets_unless_it_overrides_it() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        write(
            root,
            "base/Dockerfile",
            "FROM tomcat:9 AS tomcat\nFROM tomcat\nCOPY server.xml /usr/local/tomcat/conf/\nENV JAVA_TOOL_OPTIONS=-javaagent:/otel/agent.jar\nENV REGISTRY_HOST=localhost\nCMD [\"catalina.sh\", \"run\"]\n",
        );
        write(
            root,
            "top/Dockerfile",
            "FROM acme/base\nENV OTEL_PROPAGATORS=tracecontext\n",
        );
        write(
            root,
            "svc/auth/Dockerfile",
            "FROM descartesresearch/top:latest\nENV REGISTRY_HOST=registry\nCOPY target/*.war /usr/local/tomcat/webapps/\n",
        );
        write(
            root,
            "svc/plain/Dockerfile",
            "FROM tomcat:9\nCMD [\"catalina.sh\", \"run\"]\n",
        );
        write(
            root,
            "compose-base/Dockerfile",
            "FROM python:3.12\nENV PYTHONPATH=/otel/auto_instrumentation\n",
        );
        write(
            root,
            "svc/py/Dockerfile",
            "FROM acme/pybase:1\nCMD [\"python\", \"app.py\"]\n",
        );
        let compose_base = Workload {
            name: "pybase".into(),
            kind: crate::check::inputs::k8s::COMPOSE.into(),
            images: vec!["acme/pybase".into()],
            build: Some("compose-base".into()),
            ..Workload::default()
        };
        let built = BuiltImages::new(
            &[script_build("base", "base"), script_build("top", "top")],
            &[compose_base],
            &["base".to_string(), "top".to_string()],
        );
        let svc = |path: &str, own: Vec<Fact>| Svc {
            path: path.into(),
            facts: own,
            ..Svc::default()
        };
        let own_env = Fact::new(
            FactKind::Env {
                name: "REGISTRY_HOST".into(),
                value: Some("registry".into()),
                from_secret: false,
                from_ref: false,
            },
            "svc/auth/Dockerfile",
            2,
        );
        let mut services = vec![
            svc("svc/auth", vec![own_env]),
            svc("svc/plain", vec![]),
            svc("svc/py", vec![]),
        ];
        inherit(root, &mut services, &built);
        assert_eq!(
            summary(&services[0]),
            vec![
                "svc/auth/Dockerfile:2 REGISTRY_HOST=registry",
                "top/Dockerfile:2 OTEL_PROPAGATORS=tracecontext",
                "base/Dockerfile:4 JAVA_TOOL_OPTIONS=-javaagent:/otel/agent.jar",
                "base/Dockerfile:6 ImageCmd catalina.sh run",
            ]
        );
        // `FROM tomcat:9`, a published image: nothing added.
        assert!(services[1].facts.is_empty());
        // A base a compose `build:` makes, found by its directory.
        assert_eq!(
            summary(&services[2]),
            vec!["compose-base/Dockerfile:2 PYTHONPATH=/otel/auto_instrumentation"]
        );
    }
}
