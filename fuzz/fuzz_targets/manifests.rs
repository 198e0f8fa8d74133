//! Fuzz the manifest readers `check` runs on repository files it did not write: package.json,
//! Cargo.toml, go.mod, pyproject.toml, setup.cfg, requirements*.txt, pom.xml, build.gradle,
//! *.csproj, Dockerfile, Procfile and Kubernetes YAML. The first byte picks the reader, the
//! rest is the file. Never a panic; an error names the file; every line reported is within the
//! file (line numbers come from one line index per file, so a wrong offset shows here).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tracegate::check::inputs::k8s;
use tracegate::check::inputs::manifests::{self, docker, python, ManifestKind};

const NAMES: &[&str] = &[
    "Cargo.toml",
    "go.mod",
    "package.json",
    "pyproject.toml",
    "setup.cfg",
    "requirements.txt",
    "pom.xml",
    "build.gradle.kts",
    "app.csproj",
    "Gemfile",
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let lines = u32::try_from(text.lines().count().max(1)).unwrap_or(u32::MAX);
    match usize::from(pick) % (NAMES.len() + 4) {
        i if i < NAMES.len() => {
            let name = NAMES[i];
            let kind = ManifestKind::from_file_name(name).expect("a known manifest name");
            match manifests::parse(kind, name, text) {
                Ok(manifest) => {
                    for fact in &manifest.facts {
                        assert!(fact.line <= lines + 1, "line {} past the end ({lines})", fact.line);
                    }
                }
                Err(err) => {
                    assert!(err.to_string().contains(name), "error does not name the file: {err}")
                }
            }
        }
        i if i == NAMES.len() => {
            for fact in docker::parse_dockerfile("Dockerfile", text) {
                assert!(fact.line <= lines + 1, "line {} past the end ({lines})", fact.line);
            }
        }
        i if i == NAMES.len() + 1 => {
            for fact in docker::parse_procfile("Procfile", text) {
                assert!(fact.line <= lines + 1, "line {} past the end ({lines})", fact.line);
            }
        }
        i if i == NAMES.len() + 2 => {
            for (line, _) in python::requirement_includes(text) {
                assert!(line <= lines + 1, "line {line} past the end ({lines})");
            }
        }
        _ => {
            let _ = k8s::parse("deploy.yaml", text);
        }
    }
});
