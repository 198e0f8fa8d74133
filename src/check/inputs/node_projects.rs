//! The applications and libraries a Node monorepo's build tool declares under one
//! `package.json`: Nest CLI's `nest-cli.json` in monorepo mode (`projects`, each with `type`
//! `application` or `library` and its `root`) and Nx's `project.json` (`projectType`, the
//! project being the file's directory). Each application is a service of its own that shares
//! the package's dependencies; each library is code the applications importing it use
//! ([`node_apps`](crate::check::assembly)).
//!
//! A file that is not JSON, or not shaped like these, declares nothing (a note is not worth
//! it: the package stays one service, as before).

/// One project a build tool declares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeProject {
    /// Its name (the Nest `projects` key, Nx `name` or its directory's name).
    pub name: String,
    /// Its directory, relative to the checked root (`/` separators).
    pub root: String,
    /// An application (a service), else a library.
    pub application: bool,
}

/// The projects of a `nest-cli.json` at `rel` in monorepo mode (roots relative to its
/// directory); none in standard mode.
pub fn nest_cli(rel: &str, text: &str) -> Vec<NodeProject> {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else {
        return Vec::new();
    };
    if value.get("monorepo").and_then(serde_json::Value::as_bool) != Some(true) {
        return Vec::new();
    }
    let Some(projects) = value.get("projects").and_then(|p| p.as_object()) else {
        return Vec::new();
    };
    let dir = parent(rel);
    projects
        .iter()
        .filter_map(|(name, p)| {
            let root = p.get("root")?.as_str()?;
            let application = match p.get("type").and_then(|t| t.as_str()) {
                Some("application") => true,
                Some("library") => false,
                _ => return None,
            };
            Some(NodeProject {
                name: name.clone(),
                root: join(dir, root)?,
                application,
            })
        })
        .collect()
}

/// The project of an Nx `project.json` at `rel`: its directory, named by `name` (else the
/// directory's name). End-to-end test projects (`*-e2e`, Nx's convention) are none.
pub fn nx_project(rel: &str, text: &str) -> Option<NodeProject> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    let application = match value.get("projectType")?.as_str()? {
        "application" => true,
        "library" => false,
        _ => return None,
    };
    let root = parent(rel).to_owned();
    let name = value
        .get("name")
        .and_then(|n| n.as_str())
        .map(str::to_owned)
        .unwrap_or_else(|| root.rsplit('/').next().unwrap_or(&root).to_owned());
    if name.ends_with("-e2e") {
        return None;
    }
    Some(NodeProject {
        name,
        root,
        application,
    })
}

/// The directory of `rel` (`.` at the root).
fn parent(rel: &str) -> &str {
    rel.rsplit_once('/').map_or(".", |(d, _)| d)
}

/// `path` (relative, `./` and `..` allowed) under `dir`; `None` when it leaves the tree or is
/// absolute.
fn join(dir: &str, path: &str) -> Option<String> {
    if path.starts_with('/') {
        return None;
    }
    crate::check::facts::paths::resolve(dir, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nest_monorepo_projects_are_applications_and_libraries_under_its_directory() {
        let text = r#"{"monorepo": true, "root": "apps/api", "projects": {
            "api": {"type": "application", "root": "apps/api", "sourceRoot": "apps/api/src"},
            "worker": {"type": "application", "root": "./apps/worker"},
            "common": {"type": "library", "root": "libs/common"},
            "odd": {"root": "x"}}}"#;
        let got = nest_cli("backend/nest-cli.json", text);
        let roots: Vec<(&str, &str, bool)> = got
            .iter()
            .map(|p| (p.name.as_str(), p.root.as_str(), p.application))
            .collect();
        assert_eq!(
            roots,
            [
                ("api", "backend/apps/api", true),
                ("common", "backend/libs/common", false),
                ("worker", "backend/apps/worker", true),
            ]
        );
        // Standard mode, or not JSON: nothing.
        assert!(nest_cli(
            "nest-cli.json",
            r#"{"projects": {"a": {"type": "application", "root": "a"}}}"#
        )
        .is_empty());
        assert!(nest_cli("nest-cli.json", "{ // comment\n}").is_empty());
        assert!(nest_cli(
            "nest-cli.json",
            r#"{"monorepo": true, "projects": {"a": {"type": "application", "root": "../../x"}}}"#
        )
        .is_empty());
    }

    #[test]
    fn nx_projects_are_their_directory() {
        let p = nx_project(
            "apps/orders-api/project.json",
            r#"{"name": "orders-api", "projectType": "application", "sourceRoot": "apps/orders-api/src"}"#,
        )
        .unwrap();
        assert_eq!((p.root.as_str(), p.application), ("apps/orders-api", true));
        let p = nx_project(
            "libs/shared/telemetry/project.json",
            r#"{"projectType": "library"}"#,
        )
        .unwrap();
        assert_eq!((p.name.as_str(), p.application), ("telemetry", false));
        assert!(nx_project(
            "apps/orders-api-e2e/project.json",
            r#"{"projectType": "application"}"#
        )
        .is_none());
        assert!(nx_project("x/project.json", r#"{"name": "x"}"#).is_none());
    }
}
