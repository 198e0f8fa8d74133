//! Cargo workspaces, resolved after the walk.
//!
//! Every `Cargo.toml` is first read with `toml` (`cargo.rs`). When the tree holds workspace roots
//! (a `Cargo.toml` with a `[workspace]` table), two steps follow:
//! 1. the built-in resolution: a member's `workspace = true` dependencies take the package name
//!    the root's `[workspace.dependencies]` gives them (`package = "…"` renames included). The
//!    member's root is `package.workspace` when set, else the nearest enclosing workspace root —
//!    as cargo finds it.
//! 2. `cargo metadata --no-deps --frozen` on each root, which knows what cargo knows: members
//!    (globs, excludes), binary targets (`[[bin]]` paths, `src/bin/`, `autobins`), and normal
//!    dependencies with renames and inheritance resolved. It replaces what step 1 found for the
//!    members it lists. `--no-deps` resolves nothing, so it needs neither the network nor the
//!    dependencies' sources, and writes no `Cargo.lock`; `--frozen` makes sure of it.
//!
//! cargo is the program named by `TRACEGATE_CARGO`, else `$CARGO`, else `cargo` on the `PATH`;
//! `TRACEGATE_CARGO` set to an empty value never runs it. When it is not installed, step 1
//! stands, silently. When it fails (a broken member, a missing member directory, a timeout),
//! step 1 stands too, and a note on the workspace root says why (`cargo_run.rs` runs it).
//! Standalone crates never run cargo: without a workspace root, and without a member whose
//! root lies above the scanned directory (found as cargo finds it, when a member is checked
//! alone), this module does nothing.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use cargo_metadata::{DependencyKind, Package};

pub use super::cargo_run::CARGO_ENV;
use super::cargo_run::{cargo_program, run_all, Failure};
use super::{Entry, Manifest};
use crate::check::facts::{Fact, FactKind};

/// Why the workspace root at `file` was read without cargo (becomes a TG199 note).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// The root's `Cargo.toml`, relative to the scanned root.
    pub file: String,
    /// One line.
    pub reason: String,
}

/// Resolve the workspaces among `manifests` (the walk's Cargo manifests) in place.
pub fn resolve(root: &Path, manifests: &mut [&mut Manifest]) -> Vec<Note> {
    resolve_with(root, manifests, cargo_program)
}

/// `[workspace.dependencies]` of a root: key → package name.
type WsDeps = BTreeMap<String, String>;

/// The nearest workspace root above the scanned directory (when a member is checked alone).
struct Outer {
    /// Its `Cargo.toml`, absolute.
    manifest: PathBuf,
    /// The same, relative to the scanned root (`../../Cargo.toml`), for messages.
    shown: String,
    /// Its `[workspace.dependencies]`.
    deps: WsDeps,
}

/// [`resolve`] with the cargo program chosen by `cargo` (called only for workspaces).
fn resolve_with(
    root: &Path,
    manifests: &mut [&mut Manifest],
    cargo: impl FnOnce() -> Option<PathBuf>,
) -> Vec<Note> {
    let roots: BTreeMap<String, WsDeps> = manifests
        .iter()
        .filter_map(|m| {
            let ws = m.cargo.as_ref()?.workspace.as_ref()?;
            Some((dir_of(&m.file).to_string(), ws.clone()))
        })
        .collect();
    let orphans = manifests.iter().any(|m| {
        m.cargo
            .as_deref()
            .is_some_and(|c| !c.inherited.is_empty() || c.root_path.is_some())
            && in_tree_root(m, &roots).is_none()
    });
    if roots.is_empty() && !orphans {
        return Vec::new();
    }
    let canonical = std::fs::canonicalize(root).ok();
    let outer = canonical
        .as_deref()
        .filter(|_| orphans)
        .and_then(find_outer);
    let outer_members = resolve_inherited(&roots, outer.as_ref().map(|o| &o.deps), manifests);
    let (Some(cargo), Some(canonical)) = (cargo(), canonical) else {
        return Vec::new();
    };
    // (manifest to run on, the file a note goes to, the root as messages name it, the prefix
    // removed from cargo's messages)
    let mut runs: Vec<(PathBuf, String, String, PathBuf)> = roots
        .keys()
        .map(|d| {
            let file = join(d, "Cargo.toml");
            (canonical.join(&file), file.clone(), file, canonical.clone())
        })
        .collect();
    if let (Some(o), Some(&first)) = (&outer, outer_members.first()) {
        let dir = o.manifest.parent().unwrap_or(&canonical).to_path_buf();
        runs.push((
            o.manifest.clone(),
            manifests[first].file.clone(),
            o.shown.clone(),
            dir,
        ));
    }
    let jobs: Vec<(PathBuf, PathBuf)> = runs
        .iter()
        .map(|(m, _, _, prefix)| (m.clone(), prefix.clone()))
        .collect();
    let results = run_all(&cargo, &jobs);
    let index: HashMap<String, usize> = manifests
        .iter()
        .enumerate()
        .map(|(i, m)| (m.file.clone(), i))
        .collect();
    let mut notes = Vec::new();
    for ((_, file, shown, _), result) in runs.into_iter().zip(results) {
        match result {
            Ok(metadata) => {
                for package in &metadata.packages {
                    let Some(rel) = relative(&canonical, package.manifest_path.as_std_path())
                    else {
                        continue;
                    };
                    if let Some(&i) = index.get(&rel) {
                        apply(manifests[i], package);
                    }
                }
            }
            Err(Failure::NotInstalled) => {}
            Err(Failure::Failed(reason)) => {
                let on = if shown == file {
                    String::new()
                } else {
                    format!(" on the workspace root {shown}")
                };
                notes.push(Note {
                    file,
                    reason: format!(
                        "`cargo metadata` failed{on} ({reason}); the workspace was read from its Cargo.toml files alone"
                    ),
                });
            }
        }
    }
    notes
}

/// The workspace root of a manifest within the scanned tree: `package.workspace` when set,
/// else the nearest enclosing root (its own directory included).
fn in_tree_root<'a>(m: &Manifest, roots: &'a BTreeMap<String, WsDeps>) -> Option<&'a WsDeps> {
    let dir = dir_of(&m.file);
    match m.cargo.as_deref().and_then(|c| c.root_path.as_deref()) {
        Some(p) => normalise(&join(dir, p)).and_then(|d| roots.get(&d)),
        None => ancestors(dir).find_map(|d| roots.get(d)),
    }
}

/// The nearest `Cargo.toml` with a `[workspace]` table above `canonical` (as cargo looks for
/// it); unreadable or invalid manifests on the way are passed over.
fn find_outer(canonical: &Path) -> Option<Outer> {
    for (up, dir) in canonical.ancestors().enumerate().skip(1) {
        let manifest = dir.join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&manifest) else {
            continue;
        };
        let Ok(parsed) = super::cargo::parse("Cargo.toml", &text) else {
            continue;
        };
        if let Some(deps) = parsed.cargo.and_then(|c| c.workspace) {
            return Some(Outer {
                manifest,
                shown: format!("{}Cargo.toml", "../".repeat(up)),
                deps,
            });
        }
    }
    None
}

/// Step 1: `workspace = true` dependencies take their package name from the root (`outer`
/// for members whose root is above the scanned directory). Returns the manifests `outer`
/// resolved.
fn resolve_inherited(
    roots: &BTreeMap<String, WsDeps>,
    outer: Option<&WsDeps>,
    manifests: &mut [&mut Manifest],
) -> Vec<usize> {
    let mut by_outer = Vec::new();
    for (index, m) in manifests.iter_mut().enumerate() {
        let Some(info) = m.cargo.as_deref() else {
            continue;
        };
        if info.inherited.is_empty() && info.root_path.is_none() {
            continue;
        }
        let ws = match in_tree_root(m, roots) {
            Some(ws) => ws,
            None => match outer {
                Some(ws) => {
                    by_outer.push(index);
                    ws
                }
                None => continue,
            },
        };
        let renames: Vec<(usize, String)> = info
            .inherited
            .iter()
            .filter_map(|(i, key)| Some((*i, ws.get(key)?.clone())))
            .collect();
        for (i, real) in renames {
            if let Some(Fact {
                kind: FactKind::Dependency { name },
                ..
            }) = m.facts.get_mut(i)
            {
                *name = real;
            }
        }
    }
    by_outer
}

/// Step 2 for one member: cargo's name, binary targets and normal dependencies.
fn apply(m: &mut Manifest, package: &Package) {
    m.name = Some(package.name.to_string());
    // a `cargo fuzz` crate's binaries are fuzz harnesses, never deployed (as in `cargo::parse`)
    let cargo_fuzz = package.metadata.get("cargo-fuzz") == Some(&serde_json::Value::Bool(true));
    m.entry = if !cargo_fuzz && package.targets.iter().any(|t| t.is_bin()) {
        Entry::Yes
    } else {
        Entry::No
    };
    let lines = m.cargo.as_deref().map(|c| &c.dep_lines);
    let mut facts: Vec<Fact> = package
        .dependencies
        .iter()
        .filter(|d| d.kind == DependencyKind::Normal)
        .map(|d| {
            let key = d.rename.as_deref().unwrap_or(&d.name);
            let target = d
                .target
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default();
            let line = lines
                .and_then(|l| {
                    // The target as cargo prints it, else as written anywhere.
                    l.get(&(target, key.to_string()))
                        .or_else(|| l.iter().find(|((_, k), _)| k == key).map(|(_, line)| line))
                })
                .copied()
                .unwrap_or(1);
            Fact::new(
                FactKind::Dependency {
                    name: d.name.clone(),
                },
                &m.file,
                line,
            )
        })
        .collect();
    facts.sort_by(|a, b| (a.line, dep_name(a)).cmp(&(b.line, dep_name(b))));
    m.facts = facts;
}

fn dep_name(f: &Fact) -> &str {
    match &f.kind {
        FactKind::Dependency { name } => name,
        _ => "",
    }
}

/// `a/b` relative to `canonical`, `/` separators; `None` outside it.
fn relative(canonical: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(canonical).ok()?;
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    Some(parts.join("/"))
}

/// The directory of a relative file path (`.` at the root).
fn dir_of(file: &str) -> &str {
    file.rsplit_once('/').map_or(".", |(d, _)| d)
}

fn join(dir: &str, rel: &str) -> String {
    if dir == "." {
        rel.to_string()
    } else {
        format!("{dir}/{rel}")
    }
}

/// Resolve `.` and `..` in a relative path; `None` when it leaves the scanned root.
fn normalise(path: &str) -> Option<String> {
    crate::check::facts::paths::resolve(".", path)
}

/// `dir` and every directory above it, ending with `.`.
fn ancestors(dir: &str) -> impl Iterator<Item = &str> {
    let mut cur = Some(dir);
    std::iter::from_fn(move || {
        let c = cur?;
        cur = match c.rsplit_once('/') {
            Some((parent, _)) => Some(parent),
            None if c != "." => Some("."),
            None => None,
        };
        Some(c)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::inputs::manifests::cargo;

    /// Dependencies by line.
    fn names(m: &Manifest) -> Vec<(String, u32)> {
        let mut v: Vec<(String, u32)> = m
            .facts
            .iter()
            .map(|f| (dep_name(f).to_string(), f.line))
            .collect();
        v.sort_by_key(|(_, line)| *line);
        v
    }

    const ROOT: &str = "[workspace]\nmembers = [\"crates/*\"]\n\n[workspace.dependencies]\notel = { package = \"opentelemetry\", version = \"0.31\" }\nopentelemetry_sdk = \"0.31\"\n";
    const MEMBER: &str = "[package]\nname = \"api\"\nversion = \"0.1.0\"\n\n[dependencies]\notel = { workspace = true }\nopentelemetry_sdk.workspace = true\nlocal = { package = \"serde\", version = \"1\" }\n";

    #[test]
    fn inherited_dependencies_take_the_roots_package_names() {
        let mut root = cargo::parse("Cargo.toml", ROOT).unwrap();
        let mut member = cargo::parse("crates/api/Cargo.toml", MEMBER).unwrap();
        assert_eq!(
            names(&member),
            vec![
                ("otel".into(), 6),
                ("opentelemetry_sdk".into(), 7),
                ("serde".into(), 8)
            ]
        );
        let notes = resolve_with(
            Path::new("/nonexistent"),
            &mut [&mut root, &mut member],
            || None,
        );
        assert!(notes.is_empty());
        assert_eq!(
            names(&member),
            vec![
                ("opentelemetry".into(), 6),
                ("opentelemetry_sdk".into(), 7),
                ("serde".into(), 8)
            ]
        );
    }

    #[test]
    fn the_nearest_root_or_the_declared_one_resolves() {
        let inner_root = "[workspace]\n\n[workspace.dependencies]\notel = { package = \"opentelemetry-inner\", version = \"1\" }\n";
        let outer = cargo::parse("Cargo.toml", ROOT).unwrap();
        let inner = cargo::parse("tools/Cargo.toml", inner_root).unwrap();
        let nested = cargo::parse("tools/x/Cargo.toml", MEMBER).unwrap();
        let declared = cargo::parse(
            "tools/y/Cargo.toml",
            &MEMBER.replace("version = \"0.1.0\"", "workspace = \"../..\""),
        )
        .unwrap();
        let mut all = [outer, inner, nested, declared];
        let roots: BTreeMap<String, WsDeps> = all
            .iter()
            .filter_map(|m| {
                let ws = m.cargo.as_ref()?.workspace.clone()?;
                Some((dir_of(&m.file).to_string(), ws))
            })
            .collect();
        let mut refs: Vec<&mut Manifest> = all.iter_mut().collect();
        assert_eq!(
            resolve_inherited(&roots, None, &mut refs),
            Vec::<usize>::new()
        );
        let otel = |m: &Manifest| names(m)[0].0.clone();
        assert_eq!(otel(&all[2]), "opentelemetry-inner");
        assert_eq!(otel(&all[3]), "opentelemetry");
    }

    /// A member checked alone: its root is found above the scanned directory.
    #[test]
    fn a_member_checked_alone_resolves_through_the_root_above() {
        let dir = tempfile::tempdir().unwrap();
        let member = dir.path().join("crates/api");
        std::fs::create_dir_all(&member).unwrap();
        std::fs::write(dir.path().join("Cargo.toml"), ROOT).unwrap();
        // Not a workspace root: passed over.
        std::fs::write(
            dir.path().join("crates/Cargo.toml"),
            "[package]\nname = \"x\"\n",
        )
        .unwrap();
        let canonical = std::fs::canonicalize(&member).unwrap();
        let outer = find_outer(&canonical).unwrap();
        assert_eq!(outer.shown, "../../Cargo.toml");
        assert_eq!(
            outer.manifest,
            canonical.join("../../Cargo.toml").canonicalize().unwrap()
        );
        let mut m = cargo::parse("Cargo.toml", MEMBER).unwrap();
        let notes = resolve_with(&member, &mut [&mut m], || None);
        assert!(notes.is_empty());
        assert_eq!(names(&m)[0].0, "opentelemetry");
        // Without inherited dependencies nothing is looked up (or changed).
        let mut plain = cargo::parse(
            "Cargo.toml",
            "[package]\nname = \"p\"\n\n[dependencies]\notel = \"1\"\n",
        )
        .unwrap();
        resolve_with(&member, &mut [&mut plain], || {
            panic!("cargo is never asked for")
        });
        assert_eq!(names(&plain)[0].0, "otel");
    }

    #[test]
    fn a_key_the_root_does_not_declare_stays_as_written() {
        let mut root = cargo::parse("Cargo.toml", "[workspace]\nmembers = [\"a\"]\n").unwrap();
        let mut member = cargo::parse("a/Cargo.toml", MEMBER).unwrap();
        let roots: BTreeMap<String, WsDeps> = [(
            ".".to_string(),
            root.cargo.as_ref().unwrap().workspace.clone().unwrap(),
        )]
        .into();
        resolve_inherited(&roots, None, &mut [&mut root, &mut member]);
        assert_eq!(names(&member)[0].0, "otel");
    }

    /// cargo and the built-in resolution agree on every dependency and its line: renames,
    /// inheritance, dotted tables, optional and target-specific dependencies (dev and build
    /// dependencies left out), for a root that is a package too.
    #[test]
    fn cargo_and_the_builtin_resolution_agree() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let files = [
            (
                "Cargo.toml",
                "[package]\nname = \"root\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\notel = { workspace = true }\n\n[workspace]\nmembers = [\"crates/*\"]\n\n[workspace.dependencies]\notel = { package = \"opentelemetry\", version = \"0.31\" }\n[workspace.dependencies.sdk]\npackage = \"opentelemetry_sdk\"\nversion = \"0.31\"\n",
            ),
            ("src/main.rs", "fn main() {}\n"),
            (
                "crates/api/Cargo.toml",
                "[package]\nname = \"api\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nsdk = { workspace = true, optional = true }\nserde = \"1\"\n[dependencies.tel]\npackage = \"tracing\"\nversion = \"0.1\"\n\n[target.'cfg(unix)'.dependencies]\notel.workspace = true\nsdk = { workspace = true }\n\n[dev-dependencies]\ntokio = \"1\"\n\n[build-dependencies]\ncc = \"1\"\n",
            ),
            ("crates/api/src/lib.rs", "\n"),
        ];
        for (rel, text) in files {
            std::fs::create_dir_all(root.join(rel).parent().unwrap()).unwrap();
            std::fs::write(root.join(rel), text).unwrap();
        }
        let read = || {
            ["Cargo.toml", "crates/api/Cargo.toml"].map(|rel| {
                cargo::parse(rel, &std::fs::read_to_string(root.join(rel)).unwrap()).unwrap()
            })
        };
        let sorted = |m: &Manifest| {
            let mut v = names(m);
            v.sort();
            v
        };
        let [mut a, mut b] = read();
        let notes = resolve_with(root, &mut [&mut a, &mut b], || None);
        assert!(notes.is_empty());
        let builtin = (sorted(&a), sorted(&b));
        let [mut a, mut b] = read();
        let cargo = std::env::var_os("CARGO").map_or_else(|| PathBuf::from("cargo"), PathBuf::from);
        let notes = resolve_with(root, &mut [&mut a, &mut b], || Some(cargo));
        assert!(notes.is_empty(), "{notes:?}");
        // Cargo's answer was applied: the library member has no binary.
        assert_eq!((a.entry, b.entry), (Entry::Yes, Entry::No));
        assert_eq!((sorted(&a), sorted(&b)), builtin);
        assert_eq!(
            builtin.1,
            vec![
                ("opentelemetry".into(), 14),
                ("opentelemetry_sdk".into(), 7),
                ("opentelemetry_sdk".into(), 15),
                ("serde".into(), 8),
                ("tracing".into(), 9),
            ]
        );
        assert!(!root.join("Cargo.lock").exists() && !root.join("target").exists());
    }

    #[test]
    fn relative_paths() {
        assert_eq!(normalise("tools/y/../.."), Some(".".into()));
        assert_eq!(normalise("a/./b/../c"), Some("a/c".into()));
        assert_eq!(normalise("../x"), None);
        assert_eq!(ancestors("a/b").collect::<Vec<_>>(), vec!["a/b", "a", "."]);
        assert_eq!(ancestors(".").collect::<Vec<_>>(), vec!["."]);
    }
}
