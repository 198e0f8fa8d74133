//! Projects a Gradle settings script includes in a loop, read without running it:
//!
//! - a literal list: `listOf("orders", "payments").forEach { include(it) }`, Groovy
//!   `['orders', 'payments'].each { include it }`, a list kept in a variable first
//!   (`val services = listOf(…)`, `def services = […]`), with `project(":$it").projectDir =
//!   file("services/$it")` in the loop placing each;
//! - a directory listing: `file("services").listFiles()`, `File(rootDir, "services").listFiles()`,
//!   `rootDir.resolve("services").listFiles()`, `rootDir.listFiles()`, `rootDir.walk().maxDepth(1)`
//!   (filters ignored): every direct subdirectory with a build file is included
//!   ([`Reference::ProjectDirsIn`], resolved where the tree's packages are known);
//! - `include(*arrayOf("a", "b"))`: literal includes, where Gradle's default paths hold.
//!
//! A loop that includes projects from anything else (`fileTree(…)`, a function of the script)
//! is a note naming the file and line: `project(":x")` dependencies on its projects are then
//! looked for at Gradle's default paths.

use super::gradle_lex::{Statement, Tok};
use super::Reference;

/// What a settings script's loops include: references, and notes (reason, line).
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Included {
    pub uses: Vec<Reference>,
    pub notes: Vec<(String, u32)>,
}

/// Tokens with dotted words split into segments and dots dropped.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Atom {
    Word(String),
    Str(String),
    Punct(u8),
}

fn atoms(toks: &[Tok]) -> Vec<Atom> {
    let mut out = Vec::new();
    for t in toks {
        match t {
            Tok::Word(w) => out.extend(
                w.split('.')
                    .filter(|s| !s.is_empty())
                    .map(|s| Atom::Word(s.to_string())),
            ),
            Tok::Str(s) => out.push(Atom::Str(s.clone())),
            Tok::Punct(b'.') => {}
            Tok::Punct(p) => out.push(Atom::Punct(*p)),
        }
    }
    out
}

/// Where a loop's items come from.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Items {
    List(Vec<String>),
    /// The direct subdirectories of this directory (relative to the settings file's; `""` for
    /// its own).
    Listing(String),
    Unknown,
}

/// A loop being read.
struct Loop {
    items: Items,
    var: String,
    line: u32,
    header: String,
    include: Option<String>,
    dir: Option<String>,
    unfollowed: bool,
}

/// The placeholder for a loop's item in a template.
const ITEM: &str = "*";

/// Read the loops (and `include(*arrayOf(…))`) of a settings script.
pub(super) fn included(statements: &[Statement]) -> Included {
    let mut out = Included::default();
    let mut lists: Vec<(String, Vec<String>)> = Vec::new();
    let mut header: Vec<Atom> = Vec::new();
    let mut header_line = 0u32;
    let mut current: Option<Loop> = None;
    for s in statements {
        let a = atoms(&s.toks);
        if !s.blocks.is_empty() {
            if let Some(l) = current.as_mut() {
                body(&a, l);
            }
            continue;
        }
        let continues = matches!(a.first(), Some(Atom::Punct(b'?')))
            || matches!(s.toks.first(), Some(Tok::Punct(b'.')));
        if continues {
            header.extend(a);
        } else {
            if let Some(l) = current.take() {
                finish(l, &mut out);
            }
            header = a;
            header_line = s.line;
            // `val services = listOf("a", "b")`, `def services = ['a', 'b']`.
            if let [Atom::Word(kw), Atom::Word(name), Atom::Punct(b'='), rest @ ..] =
                header.as_slice()
            {
                if matches!(kw.as_str(), "val" | "var" | "def") {
                    if let Some(list) = literal_list(rest) {
                        lists.push((name.clone(), list));
                    }
                }
            }
            // `include(*arrayOf("a", "b"))`: literal includes.
            if let [Atom::Word(w), Atom::Punct(b'('), Atom::Punct(b'*'), ..] = header.as_slice() {
                if w == "include" && literal_list(&header[3..]).is_none() {
                    out.notes.push((
                        "projects included from a computed list tracegate cannot follow; \
                         `project(\":x\")` dependencies on them are looked for at Gradle's \
                         default paths"
                            .into(),
                        s.line,
                    ));
                }
            }
        }
        if let Some(Atom::Word(w)) = header.last() {
            if matches!(w.as_str(), "forEach" | "each" | "eachDir") {
                if let Some(l) = current.take() {
                    finish(l, &mut out);
                }
                let each_dir = w == "eachDir";
                let items = items(&header[..header.len() - 1], &lists, each_dir);
                current = Some(Loop {
                    items,
                    var: "it".into(),
                    line: header_line,
                    header: render(&header),
                    include: None,
                    dir: None,
                    unfollowed: false,
                });
            }
        }
    }
    if let Some(l) = current.take() {
        finish(l, &mut out);
    }
    out
}

/// A statement in a loop's block: `name ->`, `include(…)`, `project(…).projectDir = …`.
fn body(a: &[Atom], l: &mut Loop) {
    let mut a = a;
    if let [Atom::Word(v), Atom::Punct(b'-'), Atom::Punct(b'>'), rest @ ..] = a {
        l.var = v.clone();
        a = rest;
    }
    match a {
        [Atom::Word(w), rest @ ..] if w == "include" => {
            let arg = match rest {
                [Atom::Punct(b'('), inner @ .., Atom::Punct(b')')] => inner,
                _ => rest,
            };
            match template(arg, &l.var) {
                Some(t) => l.include = Some(t),
                None => l.unfollowed = true,
            }
        }
        [Atom::Word(p), Atom::Punct(b'('), Atom::Str(_), Atom::Punct(b')'), Atom::Word(d), Atom::Punct(b'='), value @ ..]
            if p == "project" && d == "projectDir" =>
        {
            let t = match value {
                // `= it`, `= file(it)`: the listed directory itself.
                [Atom::Word(v)]
                | [Atom::Word(_), Atom::Punct(b'('), Atom::Word(v), Atom::Punct(b')')]
                    if *v == l.var =>
                {
                    Some(match &l.items {
                        Items::Listing(dir) if !dir.is_empty() => format!("{dir}/{ITEM}"),
                        _ => ITEM.to_string(),
                    })
                }
                _ => value.iter().find_map(|x| match x {
                    Atom::Str(_) => template(std::slice::from_ref(x), &l.var)
                        .map(|t| strip_root(&t).to_string()),
                    _ => None,
                }),
            };
            match t {
                Some(t) => l.dir = Some(t),
                None => l.unfollowed = true,
            }
        }
        _ => {}
    }
}

/// The references (or the note) of a finished loop.
fn finish(l: Loop, out: &mut Included) {
    let Some(include) = l.include else {
        if l.unfollowed {
            out.notes.push((note(&l.header), l.line));
        }
        return;
    };
    let project = if include.starts_with(':') {
        include
    } else {
        format!(":{include}")
    };
    match l.items {
        Items::List(items) => {
            for item in items {
                let p = project.replace(ITEM, &item);
                let dir = match &l.dir {
                    Some(d) => d.replace(ITEM, &item),
                    None => p.trim_start_matches(':').replace(':', "/"),
                };
                out.uses.push(Reference::ProjectDir { project: p, dir });
            }
        }
        Items::Listing(dir) => out.uses.push(Reference::ProjectDirsIn {
            dir,
            project,
            placed: l.dir,
        }),
        Items::Unknown => out.notes.push((note(&l.header), l.line)),
    }
}

fn note(header: &str) -> String {
    format!(
        "projects included by a loop tracegate cannot follow (`{header}`); `project(\":x\")` \
         dependencies on them are looked for at Gradle's default paths"
    )
}

/// A loop header as text, for notes.
fn render(header: &[Atom]) -> String {
    let mut s = String::new();
    for a in header {
        match a {
            Atom::Word(w) => {
                if s.ends_with(|c: char| c.is_alphanumeric() || c == ')') {
                    s.push('.');
                }
                s.push_str(w);
            }
            Atom::Str(x) => s.push_str(&format!("\"{x}\"")),
            Atom::Punct(p) => s.push(*p as char),
        }
    }
    s.chars().take(80).collect()
}

/// `it`, `it.name`, `"$it"`, `":services:${it.name}"` → a template of the item (`*`).
fn template(arg: &[Atom], var: &str) -> Option<String> {
    let t = match arg {
        [Atom::Word(w)] | [Atom::Word(w), Atom::Word(_)] if w == var => {
            if let [_, Atom::Word(n)] = arg {
                if n != "name" {
                    return None;
                }
            }
            ITEM.to_string()
        }
        [Atom::Str(s)] => {
            let t = s
                .replace(&format!("${{{var}.name}}"), ITEM)
                .replace(&format!("${{{var}}}"), ITEM)
                .replace(&format!("${var}.name"), ITEM)
                .replace(&format!("${var}"), ITEM);
            if t.contains('$') && !is_root_prefixed(&t) {
                return None;
            }
            t
        }
        _ => return None,
    };
    Some(t)
}

fn is_root_prefixed(t: &str) -> bool {
    strip_root(t) != t && !strip_root(t).contains('$')
}

/// `$rootDir/x`, `${settingsDir}/x`, `./x` → `x`.
fn strip_root(dir: &str) -> &str {
    [
        "$rootDir/",
        "${rootDir}/",
        "$settingsDir/",
        "${settingsDir}/",
        "./",
    ]
    .iter()
    .find_map(|p| dir.strip_prefix(p))
    .unwrap_or(dir)
}

/// `listOf("a", "b")`, `arrayOf(…)`, `setOf(…)`, Groovy `['a', 'b']`: the strings, when every
/// element is a literal.
fn literal_list(a: &[Atom]) -> Option<Vec<String>> {
    let inner = match a {
        [Atom::Word(f), Atom::Punct(b'('), rest @ ..]
            if matches!(
                f.as_str(),
                "listOf" | "arrayOf" | "setOf" | "mutableListOf" | "sequenceOf"
            ) =>
        {
            rest
        }
        [Atom::Punct(b'['), rest @ ..] => rest,
        _ => return None,
    };
    let mut out = Vec::new();
    for x in inner {
        match x {
            Atom::Str(s) if !s.contains('$') => out.push(s.clone()),
            Atom::Punct(b',') => {}
            Atom::Punct(b')' | b']') => return (!out.is_empty()).then_some(out),
            _ => return None,
        }
    }
    None
}

/// What a loop header (without its `forEach`/`each`) iterates.
fn items(h: &[Atom], lists: &[(String, Vec<String>)], each_dir: bool) -> Items {
    let h = match h {
        [Atom::Word(n), rest @ ..] if n == "new" => rest,
        _ => h,
    };
    if let Some(list) = literal_list(h) {
        return Items::List(list);
    }
    if let [Atom::Word(name)] = h {
        if let Some((_, list)) = lists.iter().find(|(n, _)| n == name) {
            return Items::List(list.clone());
        }
    }
    let word = |w: &str| h.iter().position(|a| matches!(a, Atom::Word(x) if x == w));
    let listed = match (word("listFiles"), word("list"), word("walk")) {
        _ if each_dir => h.len(),
        (Some(i), _, _) | (_, Some(i), _) => i,
        // `walk()` goes down the whole tree unless `maxDepth(1)`.
        (_, _, Some(i)) if maxdepth_one(h) => i,
        _ => return Items::Unknown,
    };
    let base = &h[..listed];
    let root = matches!(base.first(), Some(Atom::Word(w)) if matches!(w.as_str(), "rootDir" | "settingsDir" | "rootProject"));
    let dir = base.iter().find_map(|a| match a {
        Atom::Str(s) => Some(strip_root(s).trim_end_matches('/').to_string()),
        _ => None,
    });
    let from_file = matches!(base.first(), Some(Atom::Word(w)) if w == "file" || w == "File");
    match dir {
        Some(d) if d.contains('$') || d.starts_with('/') => Items::Unknown,
        Some(d) if root || from_file => Items::Listing(if d == "." { String::new() } else { d }),
        None if root => Items::Listing(String::new()),
        _ => Items::Unknown,
    }
}

/// `maxDepth(1)` in a header (the lexer keeps the number as a word).
fn maxdepth_one(h: &[Atom]) -> bool {
    h.windows(3).any(|w| {
        matches!(w, [Atom::Word(m), Atom::Punct(b'('), Atom::Word(n)] if m == "maxDepth" && n == "1")
    })
}

#[cfg(test)]
#[path = "gradle_settings_tests.rs"]
mod tests;
