//! Node monorepos with one `package.json` and several applications its build tool declares
//! (Nest CLI monorepo mode: `apps/*` and `libs/*` under one `nest-cli.json`; Nx: a
//! `project.json` per project): each application is a service of its own, in its own directory
//! (where its Dockerfile and its compose service or Deployment point), with the package's
//! dependencies; the package itself is no service. Each library project is a workspace
//! library, used by the applications and libraries whose files import it — through an alias of
//! the package's `tsconfig.base.json`/`tsconfig.json` `compilerOptions.paths` (`@app/common`,
//! `@shop/telemetry/*`) or a relative path into it.
//!
//! Only the files of such a monorepo's projects are read again (for their imports), and only
//! when a tree declares one: other trees pay nothing.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use super::{ancestors, is_under};
use crate::check::facts::paths::resolve;
use crate::check::inputs::discover::{Parsed, WalkedFile};
use crate::check::inputs::lang::SourceKind;
use crate::check::inputs::manifests::ManifestKind;
use crate::check::inputs::node_projects::NodeProject;

/// The Node packages split into their applications.
#[derive(Default)]
pub(super) struct NodeApps {
    /// Package directory → its applications (sorted by root).
    pub(super) split: BTreeMap<String, Vec<NodeProject>>,
    /// Package directory → its library projects.
    pub(super) libraries: BTreeMap<String, Vec<NodeProject>>,
}

impl NodeApps {
    /// The packages of `files` whose build tool declares applications below them that have no
    /// `package.json` of their own (those are packages already).
    pub(super) fn find(files: &[WalkedFile]) -> NodeApps {
        let mut found = NodeApps::default();
        let declared: Vec<&NodeProject> = files
            .iter()
            .filter_map(|f| match &f.parsed {
                Parsed::NodeProjects(p) => Some(p.iter()),
                _ => None,
            })
            .flatten()
            .collect();
        if declared.is_empty() {
            return found;
        }
        let packages: HashSet<&str> = files
            .iter()
            .filter(|f| matches!(&f.parsed, Parsed::Manifest(m) if m.kind == ManifestKind::Npm))
            .map(|f| f.dir.as_str())
            .collect();
        let mut seen: HashSet<&str> = HashSet::new();
        for p in declared {
            if packages.contains(p.root.as_str()) || !seen.insert(p.root.as_str()) {
                continue;
            }
            // The package holding it: the nearest directory above it with a package.json.
            let Some(package) = ancestors(&p.root).find(|d| packages.contains(d)) else {
                continue;
            };
            let into = if p.application {
                &mut found.split
            } else {
                &mut found.libraries
            };
            into.entry(package.to_owned()).or_default().push(p.clone());
        }
        found
            .libraries
            .retain(|package, _| found.split.contains_key(package));
        for apps in found.split.values_mut() {
            apps.sort_by(|a, b| a.root.cmp(&b.root));
        }
        found
    }

    /// Whether the npm package in `dir` is split into its applications.
    pub(super) fn is_split(&self, dir: &str) -> bool {
        self.split.contains_key(dir)
    }

    /// For every application and library of the split packages, the library roots its
    /// JavaScript/TypeScript files import (read again from under `root`).
    pub(super) fn imports(
        &self,
        root: &Path,
        files: &[WalkedFile],
    ) -> HashMap<String, Vec<String>> {
        let mut uses: HashMap<String, Vec<String>> = HashMap::new();
        for (package, apps) in &self.split {
            let libraries = self.libraries.get(package).map_or(&[][..], Vec::as_slice);
            if libraries.is_empty() {
                continue;
            }
            let aliases = path_aliases(root, package);
            let projects: Vec<&NodeProject> = apps.iter().chain(libraries).collect();
            let library_of = |path: &str| -> Option<&str> {
                libraries
                    .iter()
                    .filter(|l| is_under(path, &l.root) || path == l.root)
                    .max_by_key(|l| l.root.len())
                    .map(|l| l.root.as_str())
            };
            for f in files {
                let Parsed::Source { kind, .. } = &f.parsed else {
                    continue;
                };
                if !matches!(
                    kind,
                    SourceKind::Javascript | SourceKind::Typescript | SourceKind::Tsx
                ) {
                    continue;
                }
                let Some(owner) = projects
                    .iter()
                    .filter(|p| is_under(&f.rel, &p.root))
                    .max_by_key(|p| p.root.len())
                else {
                    continue;
                };
                let Ok(text) = std::fs::read_to_string(root.join(&f.rel)) else {
                    continue;
                };
                for spec in specifiers(&text) {
                    let target = if spec.starts_with("./") || spec.starts_with("../") {
                        resolve(&f.dir, spec)
                    } else {
                        aliases.iter().find_map(|(alias, target)| {
                            let rest = match alias.strip_suffix("/*") {
                                Some(prefix) => spec.strip_prefix(prefix)?.strip_prefix('/')?,
                                None if alias == spec => "",
                                None => return None,
                            };
                            Some(if rest.is_empty() {
                                target.clone()
                            } else {
                                format!("{target}/{rest}")
                            })
                        })
                    };
                    let Some(library) = target.as_deref().and_then(library_of) else {
                        continue;
                    };
                    let used = uses.entry(owner.root.clone()).or_default();
                    if library != owner.root && !used.iter().any(|u| u == library) {
                        used.push(library.to_owned());
                    }
                }
            }
        }
        uses
    }
}

/// The module specifiers a JavaScript/TypeScript file imports: `from '…'`, `import '…'`,
/// `require('…')`, `import('…')`, line by line (a match inside a string or comment only names
/// a library that may not be used: harmless).
fn specifiers(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for line in text.lines() {
        for marker in ["from ", "import ", "require(", "import("] {
            let mut rest = line;
            while let Some(at) = rest.find(marker) {
                rest = &rest[at + marker.len()..];
                let s = rest.trim_start();
                let Some(quote) = s.chars().next().filter(|c| matches!(c, '\'' | '"' | '`')) else {
                    continue;
                };
                if let Some(end) = s[1..].find(quote) {
                    out.push(&s[1..=end]);
                }
            }
        }
    }
    out
}

/// `compilerOptions.paths` of the package's `tsconfig.base.json`, else its `tsconfig.json`:
/// alias → the directory of its first target (relative to the checked root; `baseUrl` taken
/// into account; a target file such as `libs/common/src/index.ts` gives its path, which the
/// library containing it answers for).
fn path_aliases(root: &Path, package: &str) -> Vec<(String, String)> {
    for name in ["tsconfig.base.json", "tsconfig.json"] {
        let rel = if package == "." {
            name.to_owned()
        } else {
            format!("{package}/{name}")
        };
        let Ok(text) = std::fs::read_to_string(root.join(&rel)) else {
            continue;
        };
        let Ok(value) = serde_json::from_str::<serde_json::Value>(&strip_jsonc(&text)) else {
            continue;
        };
        let options = value.get("compilerOptions");
        let base = options
            .and_then(|o| o.get("baseUrl"))
            .and_then(|b| b.as_str())
            .unwrap_or(".");
        let Some(paths) = options
            .and_then(|o| o.get("paths"))
            .and_then(|p| p.as_object())
        else {
            continue;
        };
        let Some(base) = resolve(package, base) else {
            continue;
        };
        return paths
            .iter()
            .filter_map(|(alias, targets)| {
                let target = targets.as_array()?.first()?.as_str()?;
                let target = target.strip_suffix("/*").unwrap_or(target);
                Some((alias.clone(), resolve(&base, target)?))
            })
            .collect();
    }
    Vec::new()
}

/// JSON with comments (`//`, `/* */`) and trailing commas, as tsconfig files are written,
/// made plain JSON.
fn strip_jsonc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            if c == '\\' {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        match (c, chars.peek()) {
            ('"', _) => {
                in_string = true;
                out.push(c);
            }
            ('/', Some('/')) => {
                for n in chars.by_ref() {
                    if n == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            ('/', Some('*')) => {
                chars.next();
                let mut last = ' ';
                for n in chars.by_ref() {
                    if last == '*' && n == '/' {
                        break;
                    }
                    last = n;
                }
            }
            (',', _) => {
                // A comma followed (past blanks and comments are gone) by a closing bracket.
                let rest: String = chars.clone().collect();
                let next = rest.trim_start().chars().next();
                if !matches!(next, Some('}' | ']')) {
                    out.push(c);
                }
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specifiers_of_imports_requires_and_side_effect_imports() {
        let text = "import { startTracing } from '@app/common';\nimport './tracing';\nconst x = require(\"../../libs/util/src\");\nconst y = await import(`@shop/lazy`);\nexport * from './rmq.module';\n";
        assert_eq!(
            specifiers(text),
            [
                "@app/common",
                "./tracing",
                "../../libs/util/src",
                "@shop/lazy",
                "./rmq.module"
            ]
        );
    }

    #[test]
    fn jsonc_comments_and_trailing_commas_are_dropped() {
        let text = "{\n  // paths\n  \"compilerOptions\": { /* x */ \"paths\": { \"@a/*\": [\"libs/a/src/*\",], }, \"u\": \"http://x\" },\n}";
        let v: serde_json::Value = serde_json::from_str(&strip_jsonc(text)).unwrap();
        assert_eq!(v["compilerOptions"]["paths"]["@a/*"][0], "libs/a/src/*");
        assert_eq!(v["compilerOptions"]["u"], "http://x");
    }

    #[test]
    fn paths_join_under_a_directory() {
        assert_eq!(
            resolve("apps/api/src", "../../../libs/common/src").as_deref(),
            Some("libs/common/src")
        );
        assert_eq!(resolve(".", "./libs/x").as_deref(), Some("libs/x"));
        assert_eq!(resolve("a", "../../x"), None);
    }
}
