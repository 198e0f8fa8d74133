//! Python: Pipenv's `Pipfile`. Its `[packages]` are what `pipenv install --deploy` (and
//! `pipenv install --system`, `pipenv sync`) installs: the service's dependencies.
//! `[dev-packages]` never counts. Other categories (`[otel]`, any name) are installed only
//! when asked for: they count when an image installs them (`pipenv install --categories
//! otel`, [`FactKind::OptionalDependency`]). A package installed by path
//! (`telemetry = {path = "../lib/telemetry", editable = true}`) is a [`Reference::Path`].
//!
//! `Pipfile.lock` is not read: its `default` section lists every package installed,
//! transitive ones included (the SDK `opentelemetry-distro` pulls in), so it cannot say what
//! the service depends on directly; beside a `Pipfile`, the `Pipfile` says it.

use super::python::{dependency_facts, optional_facts, requirement_name};
use super::python_local::local_path;
use super::{line_of_offset, Entry, Manifest, ManifestKind, Reference};

/// Parse a Pipfile (never fails: a file that is not TOML is a TG199 note of the service it
/// declares, whose dependencies are then not known).
pub fn parse(rel: &str, text: &str) -> Manifest {
    let mut manifest = Manifest {
        kind: ManifestKind::Pipfile,
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
    let table: toml::Table = match toml::from_str(text) {
        Ok(table) => table,
        Err(e) => {
            let line = e.span().map(|s| line_of_offset(text, s.start));
            manifest.notes.push((
                rel.to_string(),
                format!(
                    "invalid Pipfile: {}; the packages it lists are not known",
                    e.message()
                ),
                line,
            ));
            manifest.entry = Entry::Unread;
            return manifest;
        }
    };
    let mut optional = Vec::new();
    for (category, packages) in &table {
        if matches!(
            category.as_str(),
            "packages" | "dev-packages" | "source" | "requires" | "scripts" | "pipenv"
        ) {
            continue;
        }
        let names = packages.as_table().into_iter().flatten().map(|(k, _)| k);
        for name in names.filter_map(|k| requirement_name(k)) {
            optional.push((category.clone(), name));
        }
    }
    let optional = optional_facts(rel, text, optional);
    let Some(packages) = table.get("packages").and_then(|p| p.as_table()) else {
        manifest.facts = optional;
        return manifest;
    };
    let mut names = Vec::new();
    for (key, value) in packages {
        if let Some(path) = value
            .as_table()
            .and_then(|t| t.get("path"))
            .and_then(|p| p.as_str())
            .and_then(local_path)
        {
            manifest.uses.push(Reference::Path(path));
        }
        if let Some(name) = requirement_name(key) {
            names.push(name);
        }
    }
    manifest.facts = dependency_facts(rel, text, names);
    manifest.facts.extend(optional);
    manifest
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::facts::FactKind;

    use crate::check::inputs::manifests::dependencies_with_lines as names;

    #[test]
    fn packages_count_dev_packages_and_other_categories_do_not() {
        let text = "[[source]]\nurl = \"https://pypi.org/simple\"\nname = \"pypi\"\n\n[packages]\nflask = \"*\"\n\"opentelemetry_sdk\" = {version = \"==1.28.2\"}\nshop-telemetry = {path = \"../../lib/telemetry\", editable = true}\n\n[dev-packages]\nopentelemetry-exporter-otlp = \"*\"\n\n[docs]\nmkdocs = \"*\"\n";
        let m = parse("svc/Pipfile", text);
        assert_eq!(m.entry, Entry::PythonEntry);
        assert_eq!(
            names(&m),
            [
                ("flask".to_string(), 6),
                ("opentelemetry-sdk".to_string(), 7),
                ("shop-telemetry".to_string(), 8),
            ]
        );
        assert_eq!(m.uses, [Reference::Path("../../lib/telemetry".into())]);
        // A category of its own: installed only when an image asks for it.
        assert!(m.facts.iter().any(|f| f.kind
            == FactKind::OptionalDependency {
                group: "docs".into(),
                name: "mkdocs".into()
            }
            && f.line == 14));
        assert!(m.notes.is_empty());
        // Only development packages: no dependency at all.
        let dev = parse("svc/Pipfile", "[dev-packages]\nopentelemetry-sdk = \"*\"\n");
        assert!(dev.facts.is_empty());
    }

    #[test]
    fn a_pipfile_that_is_not_toml_is_a_note_and_an_unread_manifest() {
        for text in [
            "[packages\nflask = \"*\"\n",
            "packages = [",
            "\u{0}\u{1}",
            "",
        ] {
            let m = parse("svc/Pipfile", text);
            assert!(m.facts.is_empty(), "{text:?}");
            if text.is_empty() {
                assert!(m.notes.is_empty());
                continue;
            }
            assert_eq!(m.entry, Entry::Unread, "{text:?}");
            assert_eq!(m.notes.len(), 1, "{text:?}");
            assert!(m.notes[0].1.starts_with("invalid Pipfile"), "{:?}", m.notes);
        }
    }
}
