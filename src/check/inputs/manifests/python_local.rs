//! Python packages of the same tree that a manifest installs by path: `-e ../../lib/x` or
//! `../lib/x` in requirements files, `name @ file:../lib/x` (PEP 508, with PDM's
//! `${PROJECT_ROOT}` and Hatch's `{root:uri}`), uv's `[tool.uv.sources] x = { path = … }` and
//! Poetry's `x = { path = … }`. Each path is relative to the manifest's directory; the assembly
//! resolves it to the package there ([`Reference::Path`](super::Reference::Path)).

use super::python::requirement_name;

/// The directory a requirement's URL or path names, relative to the manifest: `../lib/x`,
/// `./lib/x[extra]`, `file:../lib/x#egg=x`, `file:///${PROJECT_ROOT}/../lib/x`,
/// `{root:uri}/../lib/x`. `None` for a URL of another scheme (`git+https://…`) or an absolute
/// path (outside what the tree can say).
pub(super) fn local_path(spec: &str) -> Option<String> {
    let s = spec.trim().trim_matches(|c| c == '"' || c == '\'');
    // `#egg=x` / `#subdirectory=…` fragments and `; marker`s are no part of the path.
    let s = s.split(['#', ';']).next().unwrap_or_default().trim();
    let s = match s.strip_prefix("file:") {
        Some(rest) => rest,
        None if s.contains("://") => return None,
        None => s,
    };
    let s = ["${PROJECT_ROOT}", "{root:uri}"]
        .iter()
        .find_map(|root| {
            s.find(root)
                .map(|i| s[i + root.len()..].trim_start_matches('/'))
        })
        .map(|rel| if rel.is_empty() { "." } else { rel })
        .unwrap_or(s);
    if s.starts_with('/') || s.starts_with('$') || s.starts_with('{') {
        return None;
    }
    // Extras: `./lib/x[otlp]`.
    let s = match s
        .strip_suffix(']')
        .and_then(|r| r.rfind('[').map(|i| &r[..i]))
    {
        Some(bare) => bare,
        None => s,
    };
    (!s.is_empty()).then(|| s.to_owned())
}

/// The local directory a requirements line (comment removed) installs: `-e PATH`,
/// `--editable[=]PATH`, a bare path (`./x`, `../x`, `lib/x`, `file:…`), or `name @ PATH`.
pub(super) fn requirement_line_path(line: &str) -> Option<String> {
    let t = line.trim();
    if let Some(rest) = t
        .strip_prefix("--editable")
        .map(|r| r.trim_start_matches('='))
        .or_else(|| t.strip_prefix("-e"))
    {
        return local_path(rest);
    }
    if t.starts_with('-') {
        return None;
    }
    if let Some(url) = direct_reference(t) {
        return local_path(url);
    }
    let looks_like_path =
        t.starts_with('.') || t.starts_with("file:") || (t.contains('/') && !t.contains("://"));
    looks_like_path.then(|| local_path(t)).flatten()
}

/// The URL of a PEP 508 direct reference `name[extras] @ url`, when the line is one.
pub(super) fn direct_reference(spec: &str) -> Option<&str> {
    let (name, url) = spec.split_once('@')?;
    let name = name.trim();
    let bare = name.split('[').next().unwrap_or_default().trim();
    let is_name = requirement_name(bare).is_some_and(|n| n.len() == bare.len());
    is_name.then_some(url.trim())
}

/// The paths of a pyproject.toml's runtime dependencies on local packages: uv sources with a
/// `path` for a name in `[project] dependencies` (`runtime`, normalised), Poetry dependencies
/// with a `path`, and PEP 508 direct references to a local path in `[project] dependencies`.
pub(super) fn pyproject_paths(table: &toml::Table, runtime: &[String]) -> Vec<String> {
    let mut paths = Vec::new();
    let tool = table.get("tool").and_then(|t| t.as_table());
    // A source is a table, or a list of tables (one per marker).
    let path_of = |v: &toml::Value| -> Vec<String> {
        let one = |t: &toml::Value| t.get("path").and_then(|p| p.as_str()).map(str::to_owned);
        match v {
            toml::Value::Array(a) => a.iter().filter_map(one).collect(),
            other => one(other).into_iter().collect(),
        }
    };
    if let Some(sources) = tool
        .and_then(|t| t.get("uv"))
        .and_then(|u| u.get("sources"))
        .and_then(|s| s.as_table())
    {
        for (name, source) in sources {
            // A source for a development dependency installs nothing the service runs with.
            if requirement_name(name).is_some_and(|n| runtime.contains(&n)) {
                paths.extend(path_of(source));
            }
        }
    }
    if let Some(deps) = tool
        .and_then(|t| t.get("poetry"))
        .and_then(|p| p.get("dependencies"))
        .and_then(|d| d.as_table())
    {
        for source in deps.values() {
            paths.extend(path_of(source));
        }
    }
    if let Some(deps) = table
        .get("project")
        .and_then(|p| p.get("dependencies"))
        .and_then(|d| d.as_array())
    {
        paths.extend(
            deps.iter()
                .filter_map(|d| d.as_str())
                .filter_map(direct_reference)
                .filter_map(local_path),
        );
    }
    paths
}

/// The runtime dependencies a pyproject.toml takes from its uv workspace
/// (`[tool.uv.sources] shop-telemetry = { workspace = true }`): by name, the name of a member
/// package of the tree.
pub(super) fn uv_workspace_names(table: &toml::Table, runtime: &[String]) -> Vec<String> {
    let Some(sources) = table
        .get("tool")
        .and_then(|t| t.get("uv"))
        .and_then(|u| u.get("sources"))
        .and_then(|s| s.as_table())
    else {
        return Vec::new();
    };
    sources
        .iter()
        .filter(|(_, source)| source.get("workspace").and_then(toml::Value::as_bool) == Some(true))
        .filter(|(name, _)| requirement_name(name).is_some_and(|n| runtime.contains(&n)))
        .map(|(name, _)| name.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uv_workspace_sources_of_runtime_dependencies_by_name() {
        let table: toml::Table = toml::from_str(
            "[project]\nname = \"orders\"\ndependencies = [\"fastapi\", \"shop-telemetry\"]\n\n[dependency-groups]\ndev = [\"shop-testing\"]\n\n[tool.uv.sources]\nshop-telemetry = { workspace = true }\nshop-testing = { workspace = true }\nother = { path = \"../x\" }\n",
        )
        .unwrap();
        let runtime = vec!["fastapi".to_string(), "shop-telemetry".to_string()];
        assert_eq!(uv_workspace_names(&table, &runtime), ["shop-telemetry"]);
    }

    #[test]
    fn requirements_lines_that_install_local_packages() {
        for (line, path) in [
            (
                "-e ../../lib/shop_telemetry",
                Some("../../lib/shop_telemetry"),
            ),
            ("--editable=../lib/x", Some("../lib/x")),
            ("--editable ../lib/x", Some("../lib/x")),
            ("-e file:../lib/x#egg=x", Some("../lib/x")),
            ("../lib/x", Some("../lib/x")),
            ("./libs/common[otlp]", Some("./libs/common")),
            ("libs/common", Some("libs/common")),
            (
                "shop-telemetry @ file:///${PROJECT_ROOT}/../lib/x",
                Some("../lib/x"),
            ),
            ("shop-telemetry @ file:../lib/x", Some("../lib/x")),
            // The twins: registry packages, VCS and remote URLs, absolute paths, options.
            ("opentelemetry-sdk==1.28.0", None),
            ("flask>=3; python_version >= '3.9'", None),
            (
                "-e git+https://github.com/acme/telemetry.git#egg=telemetry",
                None,
            ),
            ("telemetry @ https://example.com/telemetry-1.0.tar.gz", None),
            ("telemetry @ git+https://github.com/acme/telemetry@v1", None),
            ("-e /opt/lib/x", None),
            ("file:///opt/lib/x", None),
            ("-r base.txt", None),
            ("--index-url https://pypi.example.com/simple", None),
        ] {
            assert_eq!(requirement_line_path(line).as_deref(), path, "{line}");
        }
    }

    #[test]
    fn pyproject_path_sources_of_runtime_dependencies() {
        let table: toml::Table = toml::from_str(
            "[project]\nname = \"inventory\"\ndependencies = [\"fastapi\", \"shop-telemetry\", \"shop_db @ {root:uri}/../../lib/db\"]\n\n[dependency-groups]\ndev = [\"shop-testing\"]\n\n[tool.uv.sources]\nshop-telemetry = { path = \"../../lib/shop_telemetry\", editable = true }\nshop-testing = { path = \"../../lib/testing\" }\n",
        )
        .unwrap();
        let runtime = vec![
            "fastapi".to_owned(),
            "shop-telemetry".to_owned(),
            "shop-db".to_owned(),
        ];
        assert_eq!(
            pyproject_paths(&table, &runtime),
            ["../../lib/shop_telemetry", "../../lib/db"],
            "the development dependency's source does not count"
        );
        let poetry: toml::Table = toml::from_str(
            "[tool.poetry]\nname = \"checkout\"\n\n[tool.poetry.dependencies]\npython = \"^3.12\"\nshop-telemetry = { path = \"../lib/shop_telemetry\", develop = true }\nflask = \"^3.0\"\n\n[tool.poetry.group.dev.dependencies]\nshop-testing = { path = \"../lib/testing\" }\n",
        )
        .unwrap();
        assert_eq!(
            pyproject_paths(&poetry, &["shop-telemetry".to_owned()]),
            ["../lib/shop_telemetry"]
        );
    }
}
