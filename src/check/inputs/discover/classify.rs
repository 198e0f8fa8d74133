//! What a file is, by its name (and, for a script without extension, its first bytes); which
//! directories are never entered.

use std::path::Path;

use crate::check::inputs::lang::SourceKind;
use crate::check::inputs::manifests::ManifestKind;

use super::WalkedFile;

/// Directories never entered: build output, dependencies, virtualenvs, tests and fixtures.
pub(super) const SKIP_DIRS: &[&str] = &[
    "node_modules",
    "target",
    "vendor",
    "dist",
    "build",
    ".venv",
    "venv",
    "__pycache__",
    "tests",
    "test",
    "__tests__",
    "testdata",
    "fixtures",
    "examples",
    "benches",
];

/// What the listing keeps besides candidates: directories, and entries it could not read.
pub(super) enum Item {
    File(WalkedFile),
    Dir(String),
    /// A directory holding an entry named like a kustomization file (of any type: the
    /// kustomize stage checks it), so that stage looks in these and not in every directory.
    Kustomization(String),
}

/// The names kustomize reads a directory's kustomization from.
pub const KUSTOMIZATION_NAMES: [&str; 3] =
    ["kustomization.yaml", "kustomization.yml", "Kustomization"];

#[derive(Clone, Copy)]
pub(super) enum Class {
    Source(SourceKind),
    Manifest(ManifestKind),
    Dockerfile,
    Procfile,
    /// A shell script (`*.sh`): maybe an entrypoint a launch file runs.
    Script,
    /// A `Tiltfile`: the images it builds ([`k8s::tilt`](crate::check::inputs::k8s::tilt)).
    Tiltfile,
    /// A Makefile: the images its recipes build ([`ci::make`](crate::check::inputs::ci::make)).
    Makefile,
    /// A `docker buildx bake` file ([`ci::bake`](crate::check::inputs::ci::bake)).
    Bake,
    Yaml,
    TsConfig,
    /// `nest-cli.json`, Nx `project.json`: the applications and libraries of a Node monorepo
    /// ([`node_projects`](crate::check::inputs::node_projects)).
    NodeProjects,
}

pub(super) fn classify(name: &str) -> Option<Class> {
    if let Some(kind) = ManifestKind::from_file_name(name) {
        return Some(Class::Manifest(kind));
    }
    if name == "Dockerfile" || name.starts_with("Dockerfile.") || name.ends_with(".Dockerfile") {
        return Some(Class::Dockerfile);
    }
    if name == "Procfile" {
        return Some(Class::Procfile);
    }
    if name == "Tiltfile" {
        return Some(Class::Tiltfile);
    }
    if matches!(name, "Makefile" | "makefile" | "GNUmakefile") || name.ends_with(".mk") {
        return Some(Class::Makefile);
    }
    if (name.starts_with("docker-bake") || name.ends_with(".bake.hcl"))
        && (name.ends_with(".hcl") || name.ends_with(".json"))
    {
        return Some(Class::Bake);
    }
    if name.ends_with(".sh") {
        return Some(Class::Script);
    }
    if name == "tsconfig.json" {
        return Some(Class::TsConfig);
    }
    if name == "nest-cli.json" || name == "project.json" {
        return Some(Class::NodeProjects);
    }
    // .NET settings (JSON is YAML) and Spring properties: a tracing switch's default, for
    // every environment or profile (k8s::app_settings).
    if ((name.starts_with("appsettings") && name.ends_with(".json"))
        || ((name.starts_with("application") || name.starts_with("bootstrap"))
            && name.ends_with(".properties")))
        && crate::check::inputs::k8s::is_settings_file(name)
    {
        return Some(Class::Yaml);
    }
    if name.starts_with("helmfile.") && name.ends_with(".gotmpl") {
        return Some(Class::Yaml);
    }
    let ext = name.rsplit_once('.').map(|(_, e)| e)?;
    if ext == "yaml" || ext == "yml" {
        if matches!(
            name,
            "tracegate.yaml" | "pnpm-lock.yaml" | ".pre-commit-config.yaml"
        ) {
            return None;
        }
        return Some(Class::Yaml);
    }
    if is_test_file(name) || name == "build.rs" {
        return None;
    }
    SourceKind::from_extension(ext).map(Class::Source)
}

/// What a file is by its name and, for a requirements file in a `requirements/` folder
/// (`requirements/base.txt`, `requirements/production.txt`: cookiecutter-django's layout,
/// installed with `pip install -r requirements/production.txt`), by its folder.
pub(super) fn classify_path(path: &Path, name: &str) -> Option<Class> {
    classify(name).or_else(|| {
        ((name.ends_with(".txt") || name.ends_with(".in")) && in_requirements_folder(path))
            .then_some(Class::Manifest(ManifestKind::Requirements))
    })
}

fn in_requirements_folder(path: &Path) -> bool {
    path.parent()
        .and_then(Path::file_name)
        .is_some_and(|d| d == "requirements")
}

/// The directory whose manifest a file is: its own, except for a requirements file in a
/// `requirements/` folder, which is the folder's parent's (`requirements/base.txt` lists
/// what the code beside the folder needs).
pub(super) fn manifest_dir(rel: &str, class: Class) -> String {
    let dir = super::parent_dir(rel);
    if !matches!(class, Class::Manifest(ManifestKind::Requirements)) {
        return dir;
    }
    match dir.rsplit_once('/') {
        Some((parent, "requirements")) => parent.to_string(),
        None if dir == "requirements" => ".".to_string(),
        _ => dir,
    }
}

/// An extension-less file in a `bin/` directory: maybe a Node entry point (`bin/www`, which
/// `express-generator` writes and `npm start` runs), read as JavaScript when it starts with a
/// `node` shebang ([`is_node_shebang`]).
pub(super) fn is_bin_script_name(path: &Path, name: &str) -> bool {
    !name.contains('.')
        && path
            .parent()
            .and_then(Path::file_name)
            .is_some_and(|d| d == "bin")
}

/// `#!/usr/bin/env node`, `#!/usr/local/bin/node --flags`, `#!/usr/bin/env -S node …`,
/// `#!/usr/bin/env -u DEBUG node`: the interpreter (the program, or what `env` runs past its
/// options and `NAME=value` settings) is `node` or `nodejs`.
pub(super) fn is_node_shebang(bytes: &[u8]) -> bool {
    let Some(rest) = bytes.strip_prefix(b"#!") else {
        return false;
    };
    let line = rest.split(|b| *b == b'\n').next().unwrap_or_default();
    let mut words = line
        .split(|b| b.is_ascii_whitespace())
        .filter(|w| !w.is_empty());
    let program = |word: &[u8]| -> Vec<u8> {
        word.rsplit(|b| *b == b'/')
            .next()
            .unwrap_or_default()
            .to_vec()
    };
    let mut interpreter = words.next().map(program);
    if interpreter.as_deref() == Some(b"env") {
        interpreter = None;
        while let Some(word) = words.next() {
            match word {
                // Options whose value is the next word.
                b"-u" | b"--unset" | b"-C" | b"--chdir" => {
                    words.next();
                }
                _ if word.starts_with(b"-") || word.contains(&b'=') => {}
                _ => {
                    interpreter = Some(program(word));
                    break;
                }
            }
        }
    }
    matches!(interpreter.as_deref(), Some(b"node" | b"nodejs"))
}

/// Test files by naming convention (test directories are skipped by the walker).
pub fn is_test_file(name: &str) -> bool {
    name.ends_with("_test.go")
        || (name.starts_with("test_") && name.ends_with(".py"))
        || name.ends_with("_test.py")
        || name == "conftest.py"
        || name.bytes().enumerate().any(|(i, b)| {
            // `.test.`, `.spec.`, `.e2e.` anywhere (found from each `.`: no substring search
            // to set up per name).
            let rest = &name.as_bytes()[i + 1..];
            b == b'.'
                && [&b"test."[..], b"spec.", b"e2e."]
                    .iter()
                    .any(|m| rest.starts_with(m))
        })
        || name.ends_with("Test.java")
        || name.ends_with("Tests.java")
        || name.ends_with("IT.java")
        || name.ends_with("Test.kt")
        || name.ends_with("Tests.kt")
        || name.ends_with("IT.kt")
        || name.ends_with("Tests.cs")
        || name.ends_with("Test.cs")
}

pub(super) fn skip_dir(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    if SKIP_DIRS.contains(&name) || name.ends_with(".Tests") {
        return true;
    }
    // .NET build output: `bin`/`obj` beside a project file. Elsewhere they hold code: Rust's
    // `src/bin/`, Node's `bin/www`, scripts.
    (name == "bin" || name == "obj") && path.parent().is_some_and(holds_dotnet_project)
}

/// Whether a directory holds a .NET project file (`*.csproj`, `*.fsproj`, `*.vbproj`).
pub(super) fn holds_dotnet_project(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries.flatten().any(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            [".csproj", ".fsproj", ".vbproj"]
                .iter()
                .any(|ext| name.ends_with(ext))
        })
    })
}
