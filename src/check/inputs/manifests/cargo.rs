//! `Cargo.toml` read with `toml` alone: package name, binary targets, normal dependencies (not
//! dev/build) at the line of their key, and what a workspace needs to resolve later: a root's
//! `[workspace.dependencies]` and a member's `workspace = true` dependencies
//! (`cargo_workspace` resolves them, with `cargo metadata` when it can).

use std::collections::BTreeMap;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::{line_of_offset, Entry, LineIndex, Manifest, ManifestKind};
use crate::check::error::CheckError;
use crate::check::facts::{Fact, FactKind};

/// What a Cargo manifest says about workspaces, kept for resolution after the walk.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CargoInfo {
    /// For a workspace root (a `[workspace]` table): `[workspace.dependencies]` key → the
    /// package it names (`package = "…"` for a rename, else the key).
    pub workspace: Option<BTreeMap<String, String>>,
    /// `package.workspace`: the path of the workspace root, relative to this manifest's
    /// directory, when given explicitly.
    pub root_path: Option<String>,
    /// Dependencies written `workspace = true`: index into the manifest's facts, and the key.
    pub inherited: Vec<(usize, String)>,
    /// The line of each normal dependency's key (the name, or the rename, as written), by
    /// target (`""` for `[dependencies]`, else the `[target.…]` key as written, `cfg(unix)`).
    pub dep_lines: BTreeMap<(String, String), u32>,
    /// A `[lib]` or `[[bin]]` target with its own `path`: the crate roots are not only
    /// `src/main.rs`/`src/lib.rs`, so which files the module tree reaches is not judged.
    pub custom_target_paths: bool,
}

type Table<'i> = DeTable<'i>;

fn get<'a, 'i>(table: &'a Table<'i>, key: &str) -> Option<&'a DeValue<'i>> {
    table.get(key).map(Spanned::get_ref)
}

fn sub<'a, 'i>(table: &'a Table<'i>, key: &str) -> Option<&'a Table<'i>> {
    get(table, key).and_then(DeValue::as_table)
}

/// Parse a Cargo manifest (offline: `toml`, no `cargo metadata`, no lockfile).
pub fn parse(rel: &str, text: &str) -> Result<Manifest, CheckError> {
    let doc = DeTable::parse(text).map_err(|e| CheckError::Manifest {
        file: rel.to_string(),
        line: e.span().map(|s| line_of_offset(text, s.start)),
        what: "Cargo manifest",
        reason: e.message().to_string(),
    })?;
    let table = doc.get_ref();
    let package = sub(table, "package");
    let name = package
        .and_then(|p| get(p, "name"))
        .and_then(DeValue::as_str)
        .map(str::to_string);
    let has_bins = get(table, "bin")
        .and_then(DeValue::as_array)
        .is_some_and(|b| !b.is_empty());
    let autobins = package
        .and_then(|p| get(p, "autobins"))
        .and_then(DeValue::as_bool)
        .unwrap_or(true);
    // `cargo fuzz init` marks its crate `[package.metadata] cargo-fuzz = true`: fuzz harnesses
    // (binaries under `fuzz_targets/`) are run by developers and CI, never deployed.
    let cargo_fuzz = package
        .and_then(|p| sub(p, "metadata"))
        .and_then(|m| get(m, "cargo-fuzz"))
        .and_then(DeValue::as_bool)
        .unwrap_or(false);
    let entry = match (package.is_some() && !cargo_fuzz, has_bins, autobins) {
        (false, _, _) => Entry::No,
        (true, true, _) => Entry::Yes,
        (true, false, true) => Entry::RustMain,
        (true, false, false) => Entry::No,
    };
    let has_path = |t: &Table| get(t, "path").is_some();
    let custom_target_paths = sub(table, "lib").is_some_and(has_path)
        || get(table, "bin")
            .and_then(DeValue::as_array)
            .is_some_and(|bins| {
                bins.iter()
                    .any(|b| b.get_ref().as_table().is_some_and(&has_path))
            });
    let mut info = CargoInfo {
        custom_target_paths,
        workspace: sub(table, "workspace").map(workspace_dependencies),
        root_path: package
            .and_then(|p| get(p, "workspace"))
            .and_then(DeValue::as_str)
            .map(str::to_string),
        ..CargoInfo::default()
    };
    let mut facts: Vec<Fact> = Vec::new();
    let lines = LineIndex::new(text);
    let mut collect = |target: &str, deps: Option<&Table>| {
        for (key, value) in deps.into_iter().flatten() {
            let line = lines.line(key.span().start);
            let key = key.get_ref().to_string();
            let fields = value.get_ref().as_table();
            let field = |f: &str| fields.and_then(|t| get(t, f));
            let real = field("package").and_then(DeValue::as_str).unwrap_or(&key);
            if field("workspace").and_then(DeValue::as_bool) == Some(true)
                && field("package").is_none()
            {
                info.inherited.push((facts.len(), key.clone()));
            }
            facts.push(Fact::new(
                FactKind::Dependency {
                    name: real.to_string(),
                },
                rel,
                line,
            ));
            info.dep_lines
                .entry((target.to_string(), key))
                .or_insert(line);
        }
    };
    collect("", sub(table, "dependencies"));
    if let Some(targets) = sub(table, "target") {
        for (name, target) in targets {
            collect(
                name.get_ref(),
                target
                    .get_ref()
                    .as_table()
                    .and_then(|t| sub(t, "dependencies")),
            );
        }
    }
    Ok(Manifest {
        kind: ManifestKind::Cargo,
        file: rel.to_string(),
        name,
        entry,
        facts,
        typescript: false,
        cargo: Some(Box::new(info)),
        version: None,
        uses: Vec::new(),
        notes: Vec::new(),
    })
}

/// `[workspace.dependencies]`: key → package name.
fn workspace_dependencies(workspace: &Table) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (key, value) in sub(workspace, "dependencies").into_iter().flatten() {
        let key = key.get_ref().to_string();
        let real = value
            .get_ref()
            .as_table()
            .and_then(|t| get(t, "package"))
            .and_then(DeValue::as_str)
            .map_or_else(|| key.clone(), str::to_string);
        out.insert(key, real);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deps(m: &Manifest) -> Vec<(String, u32)> {
        m.facts
            .iter()
            .map(|f| match &f.kind {
                FactKind::Dependency { name } => (name.clone(), f.line),
                _ => panic!(),
            })
            .collect()
    }

    #[test]
    fn dev_dependencies_do_not_count() {
        let m = parse(
            "svc/Cargo.toml",
            "[package]\nname = \"pricing\"\n\n[dependencies]\nopentelemetry = \"0.31\"\notel_sdk = { package = \"opentelemetry_sdk\", version = \"0.31\" }\n\n[dev-dependencies]\ntracing-opentelemetry = \"0.1\"\n",
        )
        .unwrap();
        assert_eq!(m.name.as_deref(), Some("pricing"));
        assert_eq!(m.entry, Entry::RustMain);
        assert_eq!(
            deps(&m),
            vec![("opentelemetry".into(), 5), ("opentelemetry_sdk".into(), 6)]
        );
    }

    /// A dependency is located at its key, wherever its name first appears in the file.
    #[test]
    fn dependencies_are_located_at_their_key() {
        let m = parse(
            "Cargo.toml",
            "[package]\nname = \"opentelemetry-demo\" # opentelemetry\n\n[dependencies.opentelemetry]\nversion = \"0.31\"\n\n[target.'cfg(unix)'.dependencies]\notel = { package = \"opentelemetry_sdk\", version = \"0.31\" }\n",
        )
        .unwrap();
        assert_eq!(
            deps(&m),
            vec![("opentelemetry".into(), 4), ("opentelemetry_sdk".into(), 8)]
        );
        let info = m.cargo.unwrap();
        assert_eq!(
            info.dep_lines
                .get(&("cfg(unix)".to_string(), "otel".to_string())),
            Some(&8)
        );
        assert!(info.workspace.is_none());
    }

    #[test]
    fn broken_manifest_names_file_and_line() {
        let err = parse("svc/Cargo.toml", "[package]\nname = \"x\"\nversion = \n").unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("svc/Cargo.toml:3: invalid Cargo manifest"),
            "{msg}"
        );
        let err = parse("svc/Cargo.toml", "[package]\nname = \"x\"\nname = \"y\"\n").unwrap_err();
        assert!(err.to_string().starts_with("svc/Cargo.toml:3:"), "{err}");
    }

    #[test]
    fn workspace_roots_are_not_services_and_keep_their_dependencies() {
        let m = parse(
            "Cargo.toml",
            "[workspace]\nmembers = [\"a\"]\n\n[workspace.dependencies]\notel = { package = \"opentelemetry\", version = \"0.31\" }\ntracing = \"0.1\"\n",
        )
        .unwrap();
        assert_eq!(m.entry, Entry::No);
        let ws = m.cargo.unwrap().workspace.unwrap();
        assert_eq!(ws.get("otel").map(String::as_str), Some("opentelemetry"));
        assert_eq!(ws.get("tracing").map(String::as_str), Some("tracing"));
    }

    #[test]
    fn inherited_dependencies_are_recorded_for_resolution() {
        let m = parse(
            "api/Cargo.toml",
            "[package]\nname = \"api\"\nworkspace = \"..\"\n\n[dependencies]\notel = { workspace = true }\ntracing.workspace = true\nserde = \"1\"\n",
        )
        .unwrap();
        let info = m.cargo.as_deref().unwrap();
        assert_eq!(info.root_path.as_deref(), Some(".."));
        let inherited: Vec<(String, u32)> = info
            .inherited
            .iter()
            .map(|(i, k)| (k.clone(), m.facts[*i].line))
            .collect();
        assert_eq!(inherited, vec![("otel".into(), 6), ("tracing".into(), 7)]);
    }

    #[test]
    fn a_cargo_fuzz_crate_is_no_service_and_its_twin_is() {
        let fuzz = "[package]\nname = \"x-fuzz\"\n\n[package.metadata]\ncargo-fuzz = true\n\n[dependencies]\nlibfuzzer-sys = \"0.4\"\n\n[[bin]]\nname = \"parse\"\npath = \"fuzz_targets/parse.rs\"\n";
        assert_eq!(parse("fuzz/Cargo.toml", fuzz).unwrap().entry, Entry::No);
        // the same crate without the marker (or with it false) is a binary crate
        let twin = fuzz.replace("cargo-fuzz = true", "cargo-fuzz = false");
        assert_eq!(parse("fuzz/Cargo.toml", &twin).unwrap().entry, Entry::Yes);
    }

    #[test]
    fn autobins_false_without_bin_targets_is_a_library() {
        let m = parse("Cargo.toml", "[package]\nname = \"x\"\nautobins = false\n").unwrap();
        assert_eq!(m.entry, Entry::No);
        let m = parse(
            "Cargo.toml",
            "[package]\nname = \"x\"\nautobins = false\n\n[[bin]]\nname = \"srv\"\npath = \"src/srv.rs\"\n",
        )
        .unwrap();
        assert_eq!(m.entry, Entry::Yes);
    }
}
