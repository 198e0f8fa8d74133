//! Python: a conda environment file (`environment.yml`/`environment.yaml`), what
//! `conda env create -f environment.yml` installs: its `dependencies` — conda packages
//! (`numpy=1.26`, `conda-forge::flask`; conda-forge packages the SDK as `opentelemetry-sdk`
//! too) and the requirements of its `pip:` section (`-e ../lib/x` is a workspace reference;
//! `-r requirements.txt` names a file read as itself when it is a requirements file). Other
//! file names (`environment-dev.yml`, `environment.gpu.yml`) are development or variant
//! environments: not read. A file of that name that is no conda environment (no top-level
//! `dependencies`, or a Kubernetes `apiVersion`/`kind`) is read as YAML like any other.

use super::python::requirement_name;
use super::python_local::requirement_line_path;
use super::{Entry, LineIndex, Manifest, ManifestKind, Reference};
use crate::check::facts::{Fact, FactKind};

/// Whether a file of this name may be a conda environment.
pub fn is_environment_file(rel: &str) -> bool {
    matches!(
        rel.rsplit('/').next(),
        Some("environment.yml" | "environment.yaml")
    )
}

/// Whether the text is a conda environment: a top-level `dependencies:` and no top-level
/// `apiVersion:`/`kind:` (a Kubernetes resource).
pub fn looks_like(text: &str) -> bool {
    let top = |key: &str| {
        text.lines()
            .any(|l| l.strip_prefix(key).is_some_and(|r| r.starts_with(':')))
    };
    top("dependencies") && !top("apiVersion") && !top("kind")
}

/// Parse a conda environment file (never fails: YAML it cannot read is a TG199 note of the
/// service it declares, whose dependencies are then not known).
pub fn parse(rel: &str, text: &str) -> Manifest {
    let mut manifest = Manifest {
        kind: ManifestKind::CondaEnv,
        file: rel.to_string(),
        name: None,
        entry: Entry::PythonEntry,
        facts: Vec::new(),
        typescript: false,
        cargo: None,
        version: None,
        uses: Vec::new(),
        notes: Vec::new(),
    };
    let value: serde_yaml::Value = match serde_yaml::from_str(text) {
        Ok(value) => value,
        Err(e) => {
            manifest.notes.push((
                rel.to_string(),
                format!("invalid conda environment file: {e}; the packages it lists are not known"),
                e.location().map(|l| l.line() as u32),
            ));
            manifest.entry = Entry::Unread;
            return manifest;
        }
    };
    let Some(dependencies) = value.get("dependencies").and_then(|d| d.as_sequence()) else {
        return manifest;
    };
    let lines = LineIndex::new(text);
    // The items are in the file's order: each is looked for after the one before (one pass).
    let mut from = 0;
    let mut line_of = |spec: &str| match text.get(from..).and_then(|rest| rest.find(spec)) {
        Some(at) => {
            from += at + spec.len();
            lines.line(from - spec.len())
        }
        None => 1,
    };
    let mut add = |name: String, spec: &str| {
        let line = line_of(spec);
        if !matches!(name.as_str(), "python" | "pip") {
            manifest
                .facts
                .push(Fact::new(FactKind::Dependency { name }, rel, line));
        }
    };
    for dependency in dependencies {
        if let Some(spec) = dependency.as_str() {
            // `conda-forge::flask=3.0`: the channel is no part of the name.
            let bare = spec.rsplit("::").next().unwrap_or(spec);
            if let Some(name) = requirement_name(bare) {
                add(name, spec);
            }
            continue;
        }
        let pip = dependency
            .get("pip")
            .and_then(|p| p.as_sequence())
            .into_iter()
            .flatten()
            .filter_map(|p| p.as_str());
        for spec in pip {
            let spec = spec.trim();
            if let Some(path) = requirement_line_path(spec) {
                manifest.uses.push(Reference::Path(path));
            }
            if spec.starts_with('-') || spec.starts_with('.') || spec.starts_with('/') {
                continue;
            }
            if let Some(name) = requirement_name(spec) {
                add(name, spec);
            }
        }
    }
    manifest
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::check::inputs::manifests::dependencies_with_lines as names;

    #[test]
    fn conda_packages_and_the_pip_section() {
        let text = "name: forecast\nchannels:\n  - conda-forge\ndependencies:\n  - python=3.11\n  - conda-forge::numpy>=1.26\n  - pip\n  - pip:\n      - opentelemetry_sdk==1.28.2\n      - -r requirements.txt\n      - -e ../../lib/telemetry\n";
        assert!(looks_like(text));
        let m = parse("forecast/environment.yml", text);
        assert_eq!(
            names(&m),
            [
                ("numpy".to_string(), 6),
                ("opentelemetry-sdk".to_string(), 9)
            ]
        );
        assert_eq!(m.uses, [Reference::Path("../../lib/telemetry".into())]);
        assert_eq!(m.entry, Entry::PythonEntry);
    }

    #[test]
    fn other_yaml_of_that_name_and_malformed_files() {
        assert!(is_environment_file("svc/environment.yaml"));
        assert!(!is_environment_file("svc/environment-dev.yml"));
        // A Kubernetes resource or a settings file named environment.yml is no environment.
        assert!(!looks_like(
            "apiVersion: v1\nkind: ConfigMap\ndata:\n  dependencies: x\n"
        ));
        assert!(!looks_like("production:\n  dependencies: [a]\n"));
        for text in [
            "dependencies: [",
            "dependencies:\n  - a\n - b: [\n",
            "dependencies: 3\n",
        ] {
            let m = parse("svc/environment.yml", text);
            assert!(m.facts.is_empty(), "{text:?}");
        }
        let m = parse("svc/environment.yml", "dependencies: [\n");
        assert_eq!(m.entry, Entry::Unread);
        assert!(m.notes[0].1.starts_with("invalid conda environment file"));
    }
}
