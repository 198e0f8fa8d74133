//! Rust files outside the module tree. cargo compiles only the files a crate root reaches
//! through `mod` declarations (`src/main.rs` → `mod setup;` → `src/setup.rs`); any other `.rs`
//! file under `src/` is never built, so what it says about tracing does not count — the
//! module-level counterpart of dead functions.
//!
//! The judgement is conservative: a file counts unless its module path is provably not
//! declared. A parent module the pre-filter left unparsed declares everything below it; a
//! `#[path]`, an `include!` or any item-level macro invocation anywhere in the crate (it may
//! declare modules) turns the judgement off; files outside `src/`, and binaries under
//! `src/bin/`, always count.

use std::collections::HashSet;

use crate::check::facts::RustMods;

/// A file's module path below `src/` (`src/a/b.rs` and `src/a/b/mod.rs` → `a/b`; crate roots
/// → empty), or `None` when it is not a module file of the crate (outside `src/`, `src/bin/`).
fn module_path(svc_path: &str, rel: &str) -> Option<Vec<String>> {
    let below = if svc_path == "." {
        rel.strip_prefix("src/")?
    } else {
        rel.strip_prefix(svc_path)?.strip_prefix("/src/")?
    };
    if below.starts_with("bin/") {
        return None;
    }
    let stem = below.strip_suffix(".rs")?;
    if stem == "main" || stem == "lib" {
        return Some(Vec::new());
    }
    let mut parts: Vec<String> = stem.split('/').map(str::to_owned).collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    Some(parts)
}

/// The parsed Rust files of a service that no module declaration reaches. `files` lists every
/// Rust file of the service: its path and its declarations (`None` when it was not parsed).
pub fn unreachable(svc_path: &str, files: &[(&str, Option<&RustMods>)]) -> HashSet<String> {
    let located: Vec<(&str, Vec<String>, Option<&RustMods>)> = files
        .iter()
        .filter_map(|(rel, mods)| Some((*rel, module_path(svc_path, rel)?, *mods)))
        .collect();
    // No crate root among them (a workspace member elsewhere, a [[bin]] path): judge nothing.
    if !located.iter().any(|(_, path, _)| path.is_empty()) {
        return HashSet::new();
    }
    // A `#[path]`, `include!` or module-declaring macro anywhere can put a module anywhere:
    // then nothing is judged.
    if located
        .iter()
        .any(|(_, _, mods)| mods.is_some_and(|m| m.unknown))
    {
        return HashSet::new();
    }
    let mut reachable: HashSet<Vec<String>> = HashSet::from([Vec::new()]);
    let mut everything_below: Vec<Vec<String>> = Vec::new();
    let mut queue: Vec<Vec<String>> = vec![Vec::new()];
    while let Some(module) = queue.pop() {
        for (_, path, mods) in located.iter().filter(|(_, p, _)| *p == module) {
            match mods {
                Some(m) if !m.unknown => {
                    for decl in &m.decls {
                        let mut child = path.clone();
                        child.extend(decl.split('/').map(str::to_owned));
                        if reachable.insert(child.clone()) {
                            queue.push(child);
                        }
                    }
                }
                _ => everything_below.push(path.clone()),
            }
        }
    }
    located
        .iter()
        .filter(|(_, path, mods)| {
            mods.is_some()
                && !reachable.contains(path)
                && !everything_below.iter().any(|w| path.starts_with(w))
        })
        .map(|(rel, _, _)| (*rel).to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mods(decls: &[&str]) -> RustMods {
        RustMods {
            decls: decls.iter().map(|d| (*d).to_owned()).collect(),
            unknown: false,
        }
    }

    #[test]
    fn files_no_declaration_reaches_are_unreachable() {
        let main = mods(&["setup", "api"]);
        let api = mods(&["v1"]);
        let none = mods(&[]);
        let files = [
            ("svc/src/main.rs", Some(&main)),
            ("svc/src/setup.rs", Some(&none)),
            ("svc/src/api/mod.rs", Some(&api)),
            ("svc/src/api/v1.rs", Some(&none)),
            ("svc/src/old_setup.rs", Some(&none)),
            ("svc/src/api/v0.rs", Some(&none)),
            ("svc/src/bin/tool.rs", Some(&none)),
            ("svc/build.rs", Some(&none)),
        ];
        let mut dead: Vec<String> = unreachable("svc", &files).into_iter().collect();
        dead.sort();
        assert_eq!(dead, ["svc/src/api/v0.rs", "svc/src/old_setup.rs"]);
    }

    #[test]
    fn unknown_or_unparsed_parents_declare_everything_below() {
        let main = mods(&["api"]);
        let none = mods(&[]);
        let inline = mods(&["net/http"]);
        let path_attr = RustMods {
            decls: vec![],
            unknown: true,
        };
        // api.rs was not parsed: anything under api/ may be declared there.
        let files = [
            ("src/main.rs", Some(&main)),
            ("src/api.rs", None),
            ("src/api/v1.rs", Some(&none)),
        ];
        assert!(unreachable(".", &files).is_empty());
        // `mod net { mod http; }` in lib.rs reaches src/net/http.rs.
        let files = [
            ("src/lib.rs", Some(&inline)),
            ("src/net/http.rs", Some(&none)),
        ];
        assert!(unreachable(".", &files).is_empty());
        // `#[path]` somewhere in the root: nothing is judged unreachable.
        let files = [("src/main.rs", Some(&path_attr)), ("src/x.rs", Some(&none))];
        assert!(unreachable(".", &files).is_empty());
        // No crate root among the files: nothing is judged.
        let files = [("src/x.rs", Some(&none))];
        assert!(unreachable(".", &files).is_empty());
    }
}
