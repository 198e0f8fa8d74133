//! `Cargo.toml`: package name, binary targets, `[dependencies]` (not dev/build).

use super::{dependency, line_of_offset, Entry, Manifest, ManifestKind};
use crate::check::error::CheckError;

/// Parse a Cargo manifest (offline: `toml`, no `cargo metadata`, no lockfile).
pub fn parse(rel: &str, text: &str) -> Result<Manifest, CheckError> {
    let table: toml::Table = toml::from_str(text).map_err(|e| CheckError::Manifest {
        file: rel.to_string(),
        line: e.span().map(|s| line_of_offset(text, s.start)),
        what: "Cargo manifest",
        reason: e.message().to_string(),
    })?;
    let package = table.get("package").and_then(|p| p.as_table());
    let name = package
        .and_then(|p| p.get("name"))
        .and_then(|n| n.as_str())
        .map(str::to_string);
    let entry = if package.is_none() {
        Entry::No
    } else if table
        .get("bin")
        .and_then(|b| b.as_array())
        .is_some_and(|b| !b.is_empty())
    {
        Entry::Yes
    } else {
        Entry::RustMain
    };
    let mut names: Vec<String> = Vec::new();
    let mut collect = |deps: Option<&toml::Value>| {
        if let Some(t) = deps.and_then(|d| d.as_table()) {
            for (key, value) in t {
                let real = value
                    .as_table()
                    .and_then(|v| v.get("package"))
                    .and_then(|p| p.as_str())
                    .unwrap_or(key);
                names.push(real.to_string());
            }
        }
    };
    collect(table.get("dependencies"));
    if let Some(targets) = table.get("target").and_then(|t| t.as_table()) {
        for target in targets.values() {
            collect(target.get("dependencies"));
        }
    }
    let facts = names.iter().map(|n| dependency(rel, text, n)).collect();
    Ok(Manifest {
        kind: ManifestKind::Cargo,
        file: rel.to_string(),
        name,
        entry,
        facts,
        typescript: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::facts::FactKind;

    #[test]
    fn dev_dependencies_do_not_count() {
        let m = parse(
            "svc/Cargo.toml",
            "[package]\nname = \"pricing\"\n\n[dependencies]\nopentelemetry = \"0.31\"\notel_sdk = { package = \"opentelemetry_sdk\", version = \"0.31\" }\n\n[dev-dependencies]\ntracing-opentelemetry = \"0.1\"\n",
        )
        .unwrap();
        assert_eq!(m.name.as_deref(), Some("pricing"));
        assert_eq!(m.entry, Entry::RustMain);
        let deps: Vec<(String, u32)> = m
            .facts
            .iter()
            .map(|f| match &f.kind {
                FactKind::Dependency { name } => (name.clone(), f.line),
                _ => panic!(),
            })
            .collect();
        assert_eq!(
            deps,
            vec![("opentelemetry".into(), 5), ("opentelemetry_sdk".into(), 6)]
        );
    }

    #[test]
    fn broken_manifest_names_file_and_line() {
        let err = parse("svc/Cargo.toml", "[package]\nname = \"x\"\nversion = \n").unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("svc/Cargo.toml:3: invalid Cargo manifest"),
            "{msg}"
        );
    }

    #[test]
    fn workspace_roots_are_not_services() {
        let m = parse("Cargo.toml", "[workspace]\nmembers = [\"a\"]\n").unwrap();
        assert_eq!(m.entry, Entry::No);
    }
}
