//! `package.json`: name (in full, `@acme/web`: the scan names the service `web`), start script or
//! main, `dependencies` (not devDependencies).

use super::{first_lines_containing, Entry, Manifest, ManifestKind, Reference};
use crate::check::error::CheckError;
use crate::check::facts::{Fact, FactKind};

/// Parse a package.json.
pub fn parse(rel: &str, text: &str) -> Result<Manifest, CheckError> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| CheckError::Manifest {
            file: rel.to_string(),
            line: Some(e.line() as u32),
            what: "package.json",
            reason: e
                .to_string()
                .split(" at line")
                .next()
                .unwrap_or_default()
                .to_string(),
        })?;
    let Some(obj) = value.as_object() else {
        return Err(CheckError::Manifest {
            file: rel.to_string(),
            line: Some(1),
            what: "package.json",
            reason: "top level is not an object".into(),
        });
    };
    let name = obj.get("name").and_then(|n| n.as_str()).map(str::to_owned);
    let start = obj
        .get("scripts")
        .and_then(|s| s.get("start"))
        .and_then(|s| s.as_str());
    let main = obj.get("main").and_then(|m| m.as_str());
    let entry = match (start, main) {
        (Some(_), _) => Entry::Yes,
        (None, Some(_)) => Entry::NodeMain,
        (None, None) => Entry::No,
    };
    let mut facts: Vec<Fact> = Vec::new();
    let mut uses = Vec::new();
    if let Some(deps) = obj.get("dependencies").and_then(|d| d.as_object()) {
        // Each at the first line naming it in quotes, all found in one pass over the file.
        let quoted: Vec<String> = deps.keys().map(|key| format!("\"{key}\"")).collect();
        let lines = first_lines_containing(text, &quoted);
        for ((key, spec), line) in deps.iter().zip(lines) {
            uses.push(Reference::Name(
                key.clone(),
                spec.as_str().unwrap_or_default().to_owned(),
            ));
            facts.push(Fact::new(
                FactKind::Dependency { name: key.clone() },
                rel,
                line,
            ));
        }
    }
    if let Some(start) = start {
        facts.push(Fact::new(
            FactKind::Command {
                text: start.to_string(),
            },
            rel,
            super::line_containing(text, "\"start\""),
        ));
    }
    let typescript = ["dependencies", "devDependencies"].iter().any(|k| {
        obj.get(*k)
            .and_then(|d| d.as_object())
            .is_some_and(|d| d.contains_key("typescript"))
    });
    Ok(Manifest {
        kind: ManifestKind::Npm,
        file: rel.to_string(),
        name,
        entry,
        facts,
        typescript,
        cargo: None,
        version: obj
            .get("version")
            .and_then(|v| v.as_str())
            .map(str::to_owned),
        uses,
        notes: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_script_dependencies_and_errors() {
        let m = parse(
            "web/package.json",
            "{\n  \"name\": \"@acme/web\",\n  \"scripts\": {\"start\": \"node --require @opentelemetry/auto-instrumentations-node/register index.js\"},\n  \"dependencies\": {\"express\": \"4\"},\n  \"devDependencies\": {\"@opentelemetry/sdk-node\": \"1\"}\n}\n",
        )
        .unwrap();
        assert_eq!(m.name.as_deref(), Some("@acme/web"));
        assert_eq!(m.entry, Entry::Yes);
        assert_eq!(m.facts.len(), 2);
        assert!(matches!(&m.facts[0].kind, FactKind::Dependency { name } if name == "express"));
        assert_eq!(m.facts[0].line, 4);
        let e = parse("web/package.json", "{\n \"name\": \"x\",\n}")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("web/package.json:3: invalid package.json"),
            "{e}"
        );
    }
}
