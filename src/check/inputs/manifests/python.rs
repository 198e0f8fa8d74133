//! Python: `pyproject.toml` (PEP 621 and Poetry), `setup.cfg`, `requirements*.txt`; packages
//! of the tree they install by path are [`Reference::Path`]s ([`python_local`]).
//! Requirements compiled by pip-compile mark transitive packages with `# via pkg`: those are
//! indirect and never count; `requirements-dev.txt`/`-test.txt` are not runtime.

use super::python_local::{self, requirement_line_path};
use super::{first_lines_containing, line_of_offset, Entry, Manifest, ManifestKind, Reference};
use crate::check::error::CheckError;
use crate::check::facts::{Fact, FactKind};

/// The distribution name of a PEP 508 requirement (`opentelemetry-sdk>=1.2; python_version…`).
pub fn requirement_name(spec: &str) -> Option<String> {
    let name: String = spec
        .trim()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect();
    if name.is_empty() {
        None
    } else {
        Some(name.to_ascii_lowercase().replace('_', "-"))
    }
}

/// Parse pyproject.toml.
pub fn parse_pyproject(rel: &str, text: &str) -> Result<Manifest, CheckError> {
    let table: toml::Table = toml::from_str(text).map_err(|e| CheckError::Manifest {
        file: rel.to_string(),
        line: e.span().map(|s| line_of_offset(text, s.start)),
        what: "pyproject.toml",
        reason: e.message().to_string(),
    })?;
    let project = table.get("project").and_then(|p| p.as_table());
    let poetry = table
        .get("tool")
        .and_then(|t| t.get("poetry"))
        .and_then(|p| p.as_table());
    let name = project
        .and_then(|p| p.get("name"))
        .or_else(|| poetry.and_then(|p| p.get("name")))
        .and_then(|n| n.as_str())
        .map(str::to_string);
    let mut names = Vec::new();
    if let Some(deps) = project
        .and_then(|p| p.get("dependencies"))
        .and_then(|d| d.as_array())
    {
        names.extend(
            deps.iter()
                .filter_map(|d| d.as_str())
                .filter_map(requirement_name),
        );
    }
    if let Some(deps) = poetry
        .and_then(|p| p.get("dependencies"))
        .and_then(|d| d.as_table())
    {
        // `x = { version = "…", optional = true }` is installed only with an extra naming it
        // (`poetry install --extras otel`), like a PEP 621 optional dependency: not counted.
        names.extend(
            deps.iter()
                .filter(|(k, v)| {
                    *k != "python" && !v.get("optional").and_then(|o| o.as_bool()).unwrap_or(false)
                })
                .filter_map(|(k, _)| requirement_name(k)),
        );
    }
    let scripts = project
        .and_then(|p| p.get("scripts"))
        .or_else(|| poetry.and_then(|p| p.get("scripts")))
        .and_then(|s| s.as_table())
        .is_some_and(|s| !s.is_empty());
    let uses = python_local::pyproject_paths(&table, &names)
        .into_iter()
        .map(Reference::Path)
        .chain(
            python_local::uv_workspace_names(&table, &names)
                .into_iter()
                .map(|n| Reference::Name(n, "workspace".into())),
        )
        .collect();
    let mut facts = dependency_facts(rel, text, names);
    facts.extend(optional_facts(rel, text, optional_dependencies(&table)));
    Ok(Manifest {
        kind: ManifestKind::Pyproject,
        file: rel.to_string(),
        name,
        entry: if scripts {
            Entry::Yes
        } else {
            Entry::PythonEntry
        },
        facts,
        typescript: false,
        cargo: None,
        version: None,
        uses,
        notes: Vec::new(),
    })
}

/// The dependencies of a pyproject.toml installed only when asked for, as (group, name): PEP
/// 621 extras (`[project.optional-dependencies]`), Poetry's groups
/// (`[tool.poetry.group.<g>.dependencies]`) and extras (`[tool.poetry.extras]`, naming
/// optional dependencies), PEP 735 `[dependency-groups]` (an `{include-group = …}` is not
/// followed).
fn optional_dependencies(table: &toml::Table) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut strings = |group: &str, items: Option<&toml::Value>| {
        let items = items.and_then(|i| i.as_array()).into_iter().flatten();
        for name in items
            .filter_map(|i| i.as_str())
            .filter_map(requirement_name)
        {
            out.push((group.to_string(), name));
        }
    };
    let project = table.get("project");
    for (extra, items) in tables(project.and_then(|p| p.get("optional-dependencies"))) {
        strings(extra, Some(items));
    }
    for (group, items) in tables(table.get("dependency-groups")) {
        strings(group, Some(items));
    }
    let poetry = table.get("tool").and_then(|t| t.get("poetry"));
    for (extra, items) in tables(poetry.and_then(|p| p.get("extras"))) {
        strings(extra, Some(items));
    }
    for (group, spec) in tables(poetry.and_then(|p| p.get("group"))) {
        let deps = tables(spec.get("dependencies"));
        for name in deps
            .filter(|(k, _)| *k != "python")
            .filter_map(|(k, _)| requirement_name(k))
        {
            out.push((group.to_string(), name));
        }
    }
    out
}

/// The entries of a TOML table, if `v` is one.
fn tables(v: Option<&toml::Value>) -> impl Iterator<Item = (&String, &toml::Value)> {
    v.and_then(|t| t.as_table()).into_iter().flatten()
}

/// Facts of dependencies installed only with their group, each at the first line naming it.
pub(super) fn optional_facts(rel: &str, text: &str, optional: Vec<(String, String)>) -> Vec<Fact> {
    let names: Vec<String> = optional.iter().map(|(_, n)| n.clone()).collect();
    let lower = text.to_ascii_lowercase().replace('_', "-");
    let lines = first_lines_containing(&lower, &names);
    optional
        .into_iter()
        .zip(lines)
        .map(|((group, name), line)| {
            Fact::new(FactKind::OptionalDependency { group, name }, rel, line)
        })
        .collect()
}

/// Dependency facts of normalised names, each at the first line naming it (found
/// case-insensitively with either separator, in one pass over the file).
pub(super) fn dependency_facts(rel: &str, text: &str, names: Vec<String>) -> Vec<Fact> {
    let lower = text.to_ascii_lowercase().replace('_', "-");
    let lines = first_lines_containing(&lower, &names);
    names
        .into_iter()
        .zip(lines)
        .map(|(name, line)| Fact::new(FactKind::Dependency { name }, rel, line))
        .collect()
}

/// Parse setup.cfg (INI): `[metadata] name`, `[options] install_requires`,
/// `[options.extras_require]` (each extra's requirements count only when an image installs
/// it), `[options.entry_points] console_scripts`.
pub fn parse_setup_cfg(rel: &str, text: &str) -> Result<Manifest, CheckError> {
    let mut section = String::new();
    let mut key = String::new();
    let mut name = None;
    let mut facts = Vec::new();
    let mut scripts = false;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_end();
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if trimmed.starts_with('[') {
            if !trimmed.ends_with(']') {
                return Err(CheckError::Manifest {
                    file: rel.to_string(),
                    line: Some(i as u32 + 1),
                    what: "setup.cfg",
                    reason: "unterminated section header".into(),
                });
            }
            section = trimmed[1..trimmed.len() - 1].trim().to_string();
            key.clear();
            continue;
        }
        let continuation = line.starts_with([' ', '\t']);
        let value = if continuation {
            trimmed.to_string()
        } else if let Some((k, v)) = trimmed.split_once(['=', ':']) {
            key = k.trim().to_string();
            v.trim().to_string()
        } else {
            continue;
        };
        match (section.as_str(), key.as_str()) {
            ("metadata", "name") if !continuation => name = Some(value),
            ("options", "install_requires") if !value.is_empty() => {
                if let Some(n) = requirement_name(&value) {
                    facts.push(Fact::new(
                        FactKind::Dependency { name: n },
                        rel,
                        i as u32 + 1,
                    ));
                }
            }
            ("options.extras_require", extra) if !value.is_empty() => {
                if let Some(n) = requirement_name(&value) {
                    facts.push(Fact::new(
                        FactKind::OptionalDependency {
                            group: extra.to_string(),
                            name: n,
                        },
                        rel,
                        i as u32 + 1,
                    ));
                }
            }
            ("options.entry_points", "console_scripts") if !value.is_empty() => scripts = true,
            _ => {}
        }
    }
    Ok(Manifest {
        kind: ManifestKind::SetupCfg,
        file: rel.to_string(),
        name,
        entry: if scripts {
            Entry::Yes
        } else {
            Entry::PythonEntry
        },
        facts,
        typescript: false,
        cargo: None,
        version: None,
        uses: Vec::new(),
        notes: Vec::new(),
    })
}

/// Whether a requirements file lists what the service runs with (not `requirements-dev.txt`,
/// `test.txt`, `lint.txt`, `requirements/local.txt`, `constraints.txt`…).
pub fn runtime_requirements(rel: &str) -> bool {
    let file_name = rel.rsplit('/').next().unwrap_or(rel).to_ascii_lowercase();
    !file_name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|w| {
            matches!(
                w,
                "dev"
                    | "devel"
                    | "development"
                    | "test"
                    | "tests"
                    | "testing"
                    | "lint"
                    | "ci"
                    | "doc"
                    | "docs"
                    | "e2e"
                    // cookiecutter-django's `requirements/local.txt`: development.
                    | "local"
                    // pip constraints (`-c constraints.txt`) install nothing.
                    | "constraints"
                    | "constraint"
            )
        })
}

/// Whether every line of a text reads as a requirements line — a comment, an option (`-r`,
/// `-e`, `--hash`…), a continuation, or a requirement: a name (with `[extras]`) followed by
/// nothing, a version specifier, a marker (`;`) or a URL (`@`). Prose ("The service shall
/// …") is not.
pub fn looks_like_requirements(text: &str) -> bool {
    text.lines().all(|raw| {
        let t = without_comment(raw).trim();
        if t.is_empty() || t.starts_with(['#', '-']) || raw.starts_with([' ', '\t']) {
            return true;
        }
        let name_end = t
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
            .unwrap_or(t.len());
        let rest = t[name_end..].trim_start();
        let rest = match rest.strip_prefix('[') {
            Some(r) => r
                .split_once(']')
                .map_or("", |(_, after)| after.trim_start()),
            None => rest,
        };
        name_end > 0
            && (rest.is_empty()
                || rest.starts_with(['=', '<', '>', '!', '~', ';', '@', '(', ',', '\\']))
    })
}

/// A requirements line without its comment (` #…` after any whitespace, as pip reads it).
fn without_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    let cut = (1..bytes.len()).find(|&i| bytes[i] == b'#' && bytes[i - 1].is_ascii_whitespace());
    cut.map_or(line, |i| &line[..i])
}

/// The files a requirements file includes (`-r base.txt`, `--requirement=base.txt`), as
/// written (relative to the including file). Constraints (`-c`) install nothing.
pub fn requirement_includes(text: &str) -> Vec<(u32, String)> {
    text.lines()
        .enumerate()
        .filter_map(|(i, l)| {
            let t = without_comment(l).trim();
            let rest = t
                .strip_prefix("--requirement")
                .map(|r| r.trim_start_matches('='))
                .or_else(|| t.strip_prefix("-r"))?;
            let path = rest.trim();
            (!path.is_empty()).then(|| (i as u32 + 1, path.to_string()))
        })
        .collect()
}

/// Parse requirements*.txt (never fails: unknown lines are ignored).
pub fn parse_requirements(rel: &str, text: &str) -> Manifest {
    let runtime = runtime_requirements(rel);
    let lines: Vec<&str> = text.lines().collect();
    let mut facts = Vec::new();
    let mut uses = Vec::new();
    for (i, raw) in lines.iter().enumerate() {
        let t = raw.trim();
        if !runtime || t.is_empty() || t.starts_with('#') || raw.starts_with([' ', '\t']) {
            continue;
        }
        let spec = without_comment(t).trim();
        // A package of the tree installed by path (`-e ../../lib/x`): no registry name.
        let local = requirement_line_path(spec);
        let bare_path = local.is_some() && python_local::direct_reference(spec).is_none();
        if let Some(path) = local {
            uses.push(Reference::Path(path));
        }
        if t.starts_with('-') || bare_path {
            continue;
        }
        let Some(name) = requirement_name(spec) else {
            continue;
        };
        // pip-compile: the comment block below a requirement says who pulled it in.
        let mut via: Vec<&str> = Vec::new();
        for next in lines.iter().skip(i + 1) {
            let n = next.trim();
            if !n.starts_with('#') || !next.starts_with([' ', '\t']) {
                break;
            }
            via.push(
                n.trim_start_matches('#')
                    .trim()
                    .trim_start_matches("via")
                    .trim(),
            );
        }
        let direct = via.is_empty() || via.iter().any(|v| v.starts_with("-r") || v.contains(".in"));
        if direct {
            facts.push(Fact::new(FactKind::Dependency { name }, rel, i as u32 + 1));
        }
    }
    Manifest {
        kind: ManifestKind::Requirements,
        file: rel.to_string(),
        name: None,
        entry: if runtime {
            Entry::PythonEntry
        } else {
            Entry::No
        },
        facts,
        typescript: false,
        cargo: None,
        version: None,
        uses,
        notes: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(m: &Manifest) -> Vec<String> {
        m.facts
            .iter()
            .filter_map(|f| match &f.kind {
                FactKind::Dependency { name } => Some(name.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn requirements_are_told_from_prose() {
        assert!(looks_like_requirements(
            "# base\n-r common.txt\nflask==3.0.3  # web\nuvicorn[standard]>=0.32\nrequests ; python_version >= \"3.9\"\nshop-auth @ file:../lib/auth\npsycopg2-binary\n    --hash=sha256:abc\n\n"
        ));
        assert!(!looks_like_requirements(
            "The checkout service shall accept card payments.\n"
        ));
        assert!(!looks_like_requirements(
            "flask\nR-12: latency under 200 ms\n"
        ));
    }

    #[test]
    fn pip_compile_via_marks_indirect() {
        let m = parse_requirements(
            "svc/requirements.txt",
            "flask==3.0.0\n    # via -r requirements.in\nopentelemetry-sdk==1.27.0\n    # via opentelemetry-distro\nrequests==2.0 # pinned\n",
        );
        assert_eq!(names(&m), vec!["flask", "requests"]);
    }

    #[test]
    fn requirements_install_local_packages_by_path_only_at_runtime() {
        let text = "fastapi==0.115.5\n-e ../../lib/shop_telemetry\n../../lib/shop_db  # models\nshop-auth @ file:../../lib/auth\n";
        let m = parse_requirements("apps/checkout/requirements.txt", text);
        assert_eq!(
            m.uses,
            [
                Reference::Path("../../lib/shop_telemetry".into()),
                Reference::Path("../../lib/shop_db".into()),
                Reference::Path("../../lib/auth".into()),
            ]
        );
        // A bare path names no registry package; a direct reference keeps its name.
        assert_eq!(names(&m), vec!["fastapi", "shop-auth"]);
        // The twin: a development requirements file installs nothing the service runs with.
        let dev = parse_requirements("apps/checkout/requirements-dev.txt", text);
        assert!(dev.uses.is_empty() && dev.facts.is_empty());
    }

    #[test]
    fn pyproject_pep621_and_poetry() {
        let m = parse_pyproject(
            "p/pyproject.toml",
            "[project]\nname = \"orders\"\ndependencies = [\"opentelemetry_sdk>=1.2\", \"flask\"]\n[project.scripts]\norders = \"orders:main\"\n",
        )
        .unwrap();
        assert_eq!(m.entry, Entry::Yes);
        assert_eq!(names(&m), vec!["opentelemetry-sdk", "flask"]);
        assert_eq!(m.facts[0].line, 3);
        let e = parse_pyproject("p/pyproject.toml", "[project\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("p/pyproject.toml:1: invalid pyproject.toml"),
            "{e}"
        );
    }

    #[test]
    fn extras_and_development_groups_do_not_count() {
        // PEP 621 extras (installed only when named: `pip install .[otel]`), PEP 735
        // dependency groups and Poetry's groups (development, not installed by `pip install .`).
        let m = parse_pyproject(
            "p/pyproject.toml",
            "[project]\nname = \"orders\"\ndependencies = [\"flask\"]\n[project.optional-dependencies]\notel = [\"opentelemetry-sdk\"]\n[dependency-groups]\ndev = [\"opentelemetry-exporter-otlp\"]\n[tool.poetry.group.dev.dependencies]\nopentelemetry-distro = \"*\"\n[tool.poetry.dev-dependencies]\nopentelemetry-api = \"*\"\n",
        )
        .unwrap();
        assert_eq!(names(&m), vec!["flask"]);
        // Poetry's optional dependencies (installed with an extra) neither.
        let m = parse_pyproject(
            "p/pyproject.toml",
            "[tool.poetry]\nname = \"orders\"\n[tool.poetry.dependencies]\npython = \"^3.12\"\nflask = \"^3\"\nopentelemetry-sdk = { version = \"^1.28\", optional = true }\nrequests = { version = \"^2\", optional = false }\n[tool.poetry.extras]\notel = [\"opentelemetry-sdk\"]\n",
        )
        .unwrap();
        assert_eq!(names(&m), vec!["flask", "requests"]);
    }

    #[test]
    fn setup_cfg_entry_points() {
        let m = parse_setup_cfg(
            "s/setup.cfg",
            "[metadata]\nname = billing\n[options]\ninstall_requires =\n    opentelemetry-api\n    flask\n[options.extras_require]\notel =\n    opentelemetry-sdk\n[options.entry_points]\nconsole_scripts =\n    billing = billing:main\n",
        )
        .unwrap();
        assert_eq!(m.name.as_deref(), Some("billing"));
        assert_eq!(m.entry, Entry::Yes);
        assert_eq!(names(&m), vec!["opentelemetry-api", "flask"]);
        assert!(m.facts.iter().any(|f| f.kind
            == FactKind::OptionalDependency {
                group: "otel".into(),
                name: "opentelemetry-sdk".into()
            }
            && f.line == 9));
    }
}
