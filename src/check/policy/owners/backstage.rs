//! Backstage descriptor files (`catalog-info.yaml`): the `kind: Component` entities and their
//! owners (Backstage "Descriptor Format of Catalog Entities").
//!
//! A file holds one or more YAML documents (`---`). A document that is not a Backstage entity
//! at all (no `apiVersion: backstage.io/…` and `kind`) is skipped; an entity of another kind
//! (`Location`, `System`, `API`, `Group`…) is ignored; a `Component` needs a string
//! `metadata.name` and `spec.owner`, otherwise the file is malformed (file and line). The
//! owner is an entity reference `[kind:][namespace/]name`: `group:default/payments`,
//! `group:payments` and `payments` all name the team `payments`.

use serde_yaml::Value;

/// One `kind: Component` entity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Component {
    /// `metadata.name`.
    pub name: String,
    /// The team `spec.owner` names (the reference's name part).
    pub team: String,
    /// The descriptor file, relative to the repository root (`/` separators).
    pub file: String,
    /// Its directory (`.` for the root).
    pub dir: String,
    /// 1-based line where the entity's document starts.
    pub line: u32,
}

/// A malformed descriptor: the message names the file and line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct DescriptorError {
    /// The file as given.
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// What is wrong.
    pub message: String,
}

/// Whether a file name is a Backstage descriptor tracegate reads.
pub fn is_descriptor(name: &str) -> bool {
    matches!(name, "catalog-info.yaml" | "catalog-info.yml")
}

/// `[kind:][namespace/]name` → `name`.
pub fn team_of(owner: &str) -> String {
    let without_kind = owner.split_once(':').map_or(owner, |(_, rest)| rest);
    without_kind
        .rsplit_once('/')
        .map_or(without_kind, |(_, name)| name)
        .trim()
        .to_owned()
}

/// The Components of descriptor `text`, named `file` (relative to the root) in errors.
pub fn parse(text: &str, file: &str) -> Result<Vec<Component>, DescriptorError> {
    let dir = file
        .rsplit_once('/')
        .map_or_else(|| ".".to_owned(), |(d, _)| d.to_owned());
    let mut components = Vec::new();
    for (start, body) in documents(text) {
        let fail = |line: u32, message: String| DescriptorError {
            file: file.to_owned(),
            line,
            message,
        };
        if body
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
        {
            continue;
        }
        let value: Value = serde_yaml::from_str(body).map_err(|err| {
            let at = err.location().map_or(start, |loc| {
                start + u32::try_from(loc.line()).unwrap_or(1) - 1
            });
            let mut message = err.to_string();
            if let Some(cut) = message.find(" at line ") {
                message.truncate(cut);
            }
            fail(at, format!("invalid YAML: {message}"))
        })?;
        let Some(entity) = value.as_mapping() else {
            continue;
        };
        let text_of = |key: &str| entity.get(key).and_then(Value::as_str);
        let is_backstage = text_of("apiVersion").is_some_and(|v| v.starts_with("backstage.io/"))
            && text_of("kind").is_some();
        if !is_backstage || text_of("kind") != Some("Component") {
            continue;
        }
        let line = first_content_line(body).map_or(start, |offset| start + offset);
        let name = entity
            .get("metadata")
            .and_then(|m| m.get("name"))
            .and_then(Value::as_str)
            .filter(|n| !n.trim().is_empty())
            .ok_or_else(|| {
                fail(
                    line,
                    "Component without a `metadata.name` (a non-empty string)".into(),
                )
            })?;
        let owner = entity
            .get("spec")
            .and_then(|s| s.get("owner"))
            .and_then(Value::as_str)
            .map(team_of)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                fail(
                    line,
                    format!(
                        "Component `{name}` without a `spec.owner` (e.g. group:default/payments)"
                    ),
                )
            })?;
        components.push(Component {
            name: name.trim().to_owned(),
            team: owner,
            file: file.to_owned(),
            dir: dir.clone(),
            line,
        });
    }
    Ok(components)
}

/// The documents of a multi-document YAML text, each with the 1-based line it starts on. A
/// line `---` (or `--- …`) at column 0 starts a document, `...` ends one; inside a block
/// scalar such a line would be indented, so this split is exact for descriptor files.
fn documents(text: &str) -> Vec<(u32, &str)> {
    let mut out = Vec::new();
    let mut start_byte = 0;
    let mut start_line = 1u32;
    let mut offset = 0;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let number = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let bare = line.trim_end_matches(['\n', '\r']);
        let marker = bare == "---" || bare.starts_with("--- ") || bare == "...";
        if marker {
            out.push((start_line, &text[start_byte..offset]));
            start_byte = offset + line.len();
            start_line = number + 1;
        }
        offset += line.len();
    }
    out.push((start_line, &text[start_byte..]));
    out
}

/// Lines (0-based) to the first line of a document that is not blank or a comment.
fn first_content_line(body: &str) -> Option<u32> {
    body.lines()
        .position(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .and_then(|p| u32::try_from(p).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    const EDGE: &str = "\
# The edge repository's entities.
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: gateway
  description: The public API gateway
spec:
  type: service
  lifecycle: production
  owner: group:default/platform
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: search
spec:
  type: service
  lifecycle: experimental
  owner: group:platform
---
apiVersion: backstage.io/v1alpha1
kind: Location
metadata:
  name: edge-locations
spec:
  targets: [./docs/catalog-info.yaml]
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: not-a-backstage-entity
";

    #[test]
    fn components_of_a_multi_document_file_with_their_owners() {
        let found = parse(EDGE, "catalog-info.yaml").expect("valid");
        let summary: Vec<(&str, &str, u32, &str)> = found
            .iter()
            .map(|c| (c.name.as_str(), c.team.as_str(), c.line, c.dir.as_str()))
            .collect();
        // Location and the Kubernetes ConfigMap are not Components.
        assert_eq!(
            summary,
            [
                ("gateway", "platform", 2, "."),
                ("search", "platform", 12, ".")
            ]
        );
    }

    #[test]
    fn owner_references() {
        let cases = [
            (
                "group:default/payments",
                "payments",
                "kind, namespace and name",
            ),
            ("group:payments", "payments", "kind and name"),
            ("payments", "payments", "name alone"),
            ("default/payments", "payments", "namespace and name"),
            ("user:default/jdoe", "jdoe", "a user owns it"),
        ];
        for (reference, team, reason) in cases {
            assert_eq!(team_of(reference), team, "{reason}");
        }
    }

    #[test]
    fn malformed_components_name_the_file_and_line() {
        let cases = [
            (
                "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  title: x\nspec:\n  owner: a\n",
                1,
                "Component without a `metadata.name`",
            ),
            (
                "---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: x\nspec:\n  type: service\n",
                2,
                "Component `x` without a `spec.owner`",
            ),
            (
                "apiVersion: backstage.io/v1alpha1\nkind: Location\n---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: [unclosed\n",
                8,
                "invalid YAML: did not find expected ',' or ']'\n",
            ),
        ];
        for (text, line, message) in cases {
            let err = parse(text, "svc/catalog-info.yaml").expect_err(message);
            assert_eq!(err.line, line, "{message}: {err}");
            let shown = format!("{err}\n");
            assert!(shown.contains(message), "{shown}");
            assert!(err
                .to_string()
                .starts_with(&format!("svc/catalog-info.yaml:{line}: ")));
        }
    }

    #[test]
    fn documents_that_are_not_entities_are_skipped() {
        let text = "just a string\n---\n- a\n- list\n---\n# only a comment\n---\nkind: Component\nmetadata: {name: no-api-version}\n";
        assert_eq!(parse(text, "catalog-info.yaml").expect("skipped"), []);
    }

    #[test]
    fn the_directory_of_a_nested_descriptor() {
        let text = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: web}\nspec: {owner: web-team}\n";
        let found = parse(text, "apps/web/catalog-info.yml").expect("valid");
        assert_eq!(found[0].dir, "apps/web");
        assert!(is_descriptor("catalog-info.yml"));
        assert!(!is_descriptor("catalog.yaml"));
    }
}
