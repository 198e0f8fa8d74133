//! One Python image run by several workloads ([`shared_image`](super::shared_image)): each
//! workload is judged on the code its own command runs. `uvicorn app.main:app` runs
//! `app/main.py` and what it imports, `celery -A app.worker worker` runs `app/worker.py`, the
//! task modules it names (`include=["app.tasks"]`) and what those import — not the FastAPI
//! app beside them, which the worker never serves.
//!
//! A part's entry modules come from its start commands (what is left of the image's
//! `CMD`/`ENTRYPOINT` once its workloads' commands replace them, its workloads' commands,
//! Procfile processes, script lines): `python -m mod`, `python file.py`, the module argument
//! of gunicorn, uvicorn, hypercorn, daphne, granian, dramatiq, arq, huey and `celery -A` (not
//! `rq worker`, whose jobs name their functions at run time), past
//! `opentelemetry-instrument`, `ddtrace-run`, `poetry run`, `uv run`, `pipenv run`, `pdm run`.
//! From them, the files reached: absolute and relative imports, every package `__init__.py`
//! above a reached file, and a dotted module named in a string literal (`include=[…]`,
//! `DJANGO_SETTINGS_MODULE`, `ROOT_URLCONF`; not `WSGI_APPLICATION`/`ASGI_APPLICATION`, which
//! only `runserver` loads). A module matches a file by its trailing path (`app.tasks` is
//! `…/app/tasks.py` or `…/app/tasks/__init__.py`), so the image's working directory need not
//! be known.
//!
//! What frameworks load by other means (Django's `INSTALLED_APPS` by a single name, entry
//! points of installed packages) is not followed, so nothing is taken from a part on the
//! strength of its own reach alone: a file leaves a part only when another part's entry
//! reaches it and this part's does not. A file no entry reaches stays with every part, and a
//! part whose commands name no entry found in the tree keeps the whole code.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::Path;

use super::work::Svc;
use crate::check::facts::FactKind;
use crate::check::inputs::lang::SourceKind;
use crate::check::inputs::manifests::launch::programs;
use crate::check::model::Language;

/// Narrow the Python services of each group (the parts one image was split into) to the
/// files their entry points reach, less what only the other parts' entries reach.
pub(super) fn narrow(root: &Path, services: &mut [Svc], groups: &[Range<usize>]) {
    for group in groups {
        let Some(parts) = services.get_mut(group.clone()) else {
            continue;
        };
        if parts.len() < 2 || parts.iter().any(|s| s.language != Some(Language::Python)) {
            continue;
        }
        narrow_group(root, parts);
    }
}

fn narrow_group(root: &Path, parts: &mut [Svc]) {
    let graph = Graph::new(&parts[0]);
    if graph.files.is_empty() {
        return;
    }
    let mut reader = Reader {
        root,
        edges: BTreeMap::new(),
    };
    let reaches: Vec<Option<BTreeSet<usize>>> = parts
        .iter()
        .map(|part| {
            let entries = graph.entries(&commands(part));
            (!entries.is_empty()).then(|| graph.reach(entries, &mut reader))
        })
        .collect();
    for (i, part) in parts.iter_mut().enumerate() {
        let Some(own) = &reaches[i] else {
            continue;
        };
        let others: BTreeSet<&String> = reaches
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .filter_map(|(_, r)| r.as_ref())
            .flatten()
            .filter(|f| !own.contains(f))
            .map(|f| &graph.files[*f])
            .collect();
        if others.is_empty() {
            continue;
        }
        drop_files(part, &others);
    }
}

/// Remove `files` from a part's sources (parsed or not).
pub(super) fn drop_files(part: &mut Svc, files: &BTreeSet<&String>) {
    let sources = std::mem::take(&mut part.sources);
    let rels = std::mem::take(&mut part.source_files);
    for (rel, facts) in rels.into_iter().zip(sources) {
        if !files.contains(&rel) {
            part.source_files.push(rel);
            part.sources.push(facts);
        }
    }
    part.unparsed.retain(|(_, rel, _)| !files.contains(rel));
}

/// The text of a part's start commands.
fn commands(part: &Svc) -> Vec<&str> {
    part.facts
        .iter()
        .chain(part.workloads.iter().flat_map(|w| w.facts.iter()))
        .filter_map(|f| match &f.kind {
            FactKind::Command { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

/// The Python files of a service and the modules they are.
struct Graph {
    /// Paths relative to the root.
    files: Vec<String>,
    /// Every dotted suffix of a file's module path (`app.tasks`, `tasks` for
    /// `svc/app/tasks.py`; `app` for `svc/app/__init__.py`) → the files.
    modules: BTreeMap<String, Vec<usize>>,
    /// Path → index.
    index: BTreeMap<String, usize>,
}

impl Graph {
    fn new(svc: &Svc) -> Graph {
        let mut files: Vec<String> = svc
            .source_files
            .iter()
            .chain(
                svc.unparsed
                    .iter()
                    .filter(|(kind, _, _)| *kind == SourceKind::Python)
                    .map(|(_, rel, _)| rel),
            )
            .filter(|rel| rel.ends_with(".py"))
            .cloned()
            .collect();
        files.sort();
        files.dedup();
        let mut modules: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        let mut index = BTreeMap::new();
        for (i, rel) in files.iter().enumerate() {
            index.insert(rel.clone(), i);
            let Some(stem) = rel.strip_suffix(".py") else {
                continue;
            };
            let mut parts: Vec<&str> = stem.split('/').collect();
            if parts.last() == Some(&"__init__") {
                parts.pop();
            }
            for start in 0..parts.len() {
                modules.entry(parts[start..].join(".")).or_default().push(i);
            }
        }
        Graph {
            files,
            modules,
            index,
        }
    }

    /// The files a dotted module name is.
    fn module(&self, name: &str) -> &[usize] {
        self.modules.get(name).map_or(&[], Vec::as_slice)
    }

    /// The files of `name` (`app.worker:celery_app`, `app.worker.celery_app`): the longest
    /// dotted prefix, of at least `min` segments, that is a module of the tree.
    fn longest(&self, name: &str, min: usize) -> &[usize] {
        let name = name.split([':', '(']).next().unwrap_or(name);
        let segments: Vec<&str> = name.split('.').collect();
        if segments.iter().any(|s| !is_identifier(s)) {
            return &[];
        }
        (min.max(1)..=segments.len())
            .rev()
            .map(|n| self.module(&segments[..n].join(".")))
            .find(|f| !f.is_empty())
            .unwrap_or(&[])
    }

    /// The files a script path names (`manage.py`, `/code/app/run.py`, `src/main.py`): the
    /// longest trailing part of the path that ends a file of the tree.
    fn script(&self, path: &str) -> Vec<usize> {
        let parts: Vec<&str> = path
            .split('/')
            .filter(|p| !p.is_empty() && *p != ".")
            .collect();
        for start in 0..parts.len() {
            let tail = parts[start..].join("/");
            let found: Vec<usize> = self
                .files
                .iter()
                .enumerate()
                .filter(|(_, f)| *f == &tail || f.ends_with(&format!("/{tail}")))
                .map(|(i, _)| i)
                .collect();
            if !found.is_empty() {
                return found;
            }
        }
        Vec::new()
    }

    /// The files the commands start.
    fn entries(&self, commands: &[&str]) -> Vec<usize> {
        let mut out = Vec::new();
        for text in commands {
            for (program, args) in programs(text) {
                self.program_entries(&program, &args, 0, &mut out);
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    fn program_entries(&self, program: &str, args: &[String], depth: usize, out: &mut Vec<usize>) {
        if depth > 3 {
            return;
        }
        let operands = || args.iter().filter(|a| !a.starts_with('-'));
        let wrapped = |out: &mut Vec<usize>, from: &[String]| {
            // The wrapped program: the first word that is one we know.
            if let Some(at) = from.iter().position(|a| known_program(base(a))) {
                self.program_entries(base(&from[at]), &from[at + 1..], depth + 1, out);
            }
        };
        match program {
            p if p.starts_with("python") || p == "py" => {
                let mut it = args.iter();
                while let Some(a) = it.next() {
                    if a == "-m" {
                        let Some(module) = it.next() else { break };
                        if known_program(module) {
                            // `python -m celery -A app.worker worker`, `python -m uvicorn …`.
                            let rest: Vec<String> = it.cloned().collect();
                            self.program_entries(module, &rest, depth + 1, out);
                        } else {
                            out.extend_from_slice(self.longest(module, 1));
                        }
                        break;
                    }
                    if a == "-c" {
                        break;
                    }
                    if !a.starts_with('-') {
                        out.extend(self.script(a));
                        break;
                    }
                }
            }
            "celery" | "faust" => {
                let mut it = args.iter();
                while let Some(a) = it.next() {
                    let app = if a == "-A" || a == "--app" {
                        it.next().map(String::as_str)
                    } else if let Some(v) = a.strip_prefix("--app=") {
                        Some(v)
                    } else {
                        a.strip_prefix("-A").filter(|v| !v.is_empty())
                    };
                    if let Some(app) = app {
                        out.extend_from_slice(self.longest(app, 1));
                        // `-A proj` also loads `proj.celery`.
                        let module = app.split(':').next().unwrap_or(app);
                        out.extend_from_slice(self.module(&format!("{module}.celery")));
                    }
                }
            }
            "gunicorn" | "uvicorn" | "hypercorn" | "daphne" | "granian" | "dramatiq" | "arq"
            | "huey_consumer" | "huey_consumer.py" | "waitress-serve" => {
                for a in operands() {
                    out.extend_from_slice(self.longest(a, 1));
                }
            }
            "opentelemetry-instrument" | "ddtrace-run" => wrapped(out, args),
            "poetry" | "uv" | "pipenv" | "pdm" | "hatch" | "rye" => {
                if let Some(at) = args.iter().position(|a| a == "run") {
                    wrapped(out, &args[at + 1..]);
                }
            }
            p if p.ends_with(".py") => out.extend(self.script(p)),
            _ => {}
        }
    }

    /// Every file the entries reach.
    fn reach(&self, entries: Vec<usize>, reader: &mut Reader<'_>) -> BTreeSet<usize> {
        let mut seen: BTreeSet<usize> = BTreeSet::new();
        let mut queue = entries;
        while let Some(f) = queue.pop() {
            if !seen.insert(f) {
                continue;
            }
            // The packages above it run first.
            let rel = &self.files[f];
            let mut dir = rel.rsplit_once('/').map(|(d, _)| d);
            while let Some(d) = dir {
                match self.index.get(&format!("{d}/__init__.py")) {
                    Some(i) if *i != f => queue.push(*i),
                    Some(_) => {}
                    None => break,
                }
                dir = d.rsplit_once('/').map(|(p, _)| p);
            }
            queue.extend(reader.edges(self, f));
        }
        seen
    }
}

/// Reads each file at most once, for the imports and module strings it holds.
struct Reader<'a> {
    root: &'a Path,
    edges: BTreeMap<usize, Vec<usize>>,
}

impl Reader<'_> {
    fn edges(&mut self, graph: &Graph, f: usize) -> Vec<usize> {
        if let Some(e) = self.edges.get(&f) {
            return e.clone();
        }
        let rel = &graph.files[f];
        let text = std::fs::read(self.root.join(rel))
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        let dir = rel.rsplit_once('/').map_or("", |(d, _)| d);
        let mut out = Vec::new();
        for import in imports(&text) {
            match import {
                Import::Absolute(name) => {
                    let segments: Vec<&str> = name.split('.').collect();
                    for n in 1..=segments.len() {
                        out.extend_from_slice(graph.module(&segments[..n].join(".")));
                    }
                }
                Import::Relative(level, name) => {
                    let mut base = dir.to_string();
                    for _ in 1..level {
                        base = base.rsplit_once('/').map_or("", |(p, _)| p).to_string();
                    }
                    let mut path = base;
                    for segment in name.split('.').filter(|s| !s.is_empty()) {
                        path = if path.is_empty() {
                            segment.to_string()
                        } else {
                            format!("{path}/{segment}")
                        };
                        for candidate in [format!("{path}.py"), format!("{path}/__init__.py")] {
                            out.extend(graph.index.get(&candidate));
                        }
                    }
                }
                Import::Named(name) => out.extend_from_slice(graph.longest(&name, 2)),
            }
        }
        self.edges.insert(f, out.clone());
        out
    }
}

/// What a line of Python makes Python load.
#[derive(Debug, PartialEq, Eq)]
enum Import {
    /// `import a.b` → `a.b`; `from a.b import c` → `a.b.c` (a module or a name in `a.b`).
    Absolute(String),
    /// `from ..a import b` → (2, `a.b`); `from . import b` → (1, `b`).
    Relative(usize, String),
    /// A dotted module named in a string literal.
    Named(String),
}

/// The imports and module strings of a Python file, read line by line (`from a import (`
/// continued on the lines after it too).
fn imports(text: &str) -> Vec<Import> {
    let mut out = Vec::new();
    let mut open: Option<(usize, String)> = None;
    for line in text.lines() {
        let code = line.split('#').next().unwrap_or_default();
        if let Some((level, module)) = &open {
            let closes = code.contains(')');
            names(code, *level, module, &mut out);
            if closes {
                open = None;
            }
            continue;
        }
        let trimmed = code.trim_start();
        if let Some(rest) = trimmed.strip_prefix("import ") {
            for name in rest.split(',') {
                let name = name.split_whitespace().next().unwrap_or_default();
                if name.split('.').all(is_identifier) {
                    out.push(Import::Absolute(name.to_string()));
                }
            }
        } else if let Some((module, rest)) = trimmed
            .strip_prefix("from ")
            .and_then(|r| r.split_once(" import"))
        {
            let module = module.trim();
            let level = module.chars().take_while(|c| *c == '.').count();
            let module = module.trim_start_matches('.').to_string();
            if level == 0 {
                out.push(Import::Absolute(module.clone()));
            } else if !module.is_empty() {
                out.push(Import::Relative(level, module.clone()));
            }
            names(rest, level, &module, &mut out);
            if rest.contains('(') && !rest.contains(')') {
                open = Some((level, module));
            }
        } else if !trimmed.starts_with("WSGI_APPLICATION")
            && !trimmed.starts_with("ASGI_APPLICATION")
        {
            strings(code, &mut out);
        }
    }
    out
}

/// The names of `from module import a, b as c` (a module or a name of `module`).
fn names(list: &str, level: usize, module: &str, out: &mut Vec<Import>) {
    for name in list.split(',') {
        let name = name
            .trim_matches(|c: char| c == '(' || c == ')' || c.is_whitespace())
            .split_whitespace()
            .next()
            .unwrap_or_default();
        if !is_identifier(name) {
            continue;
        }
        let full = if module.is_empty() {
            name.to_string()
        } else {
            format!("{module}.{name}")
        };
        out.push(if level == 0 {
            Import::Absolute(full)
        } else {
            Import::Relative(level, full)
        });
    }
}

/// The dotted names in a line's string literals (`"app.tasks"`, `'app.worker:celery_app'`).
fn strings(code: &str, out: &mut Vec<Import>) {
    for quote in ['"', '\''] {
        let mut pieces = code.split(quote);
        pieces.next();
        while let Some(inside) = pieces.next() {
            let name = inside.split(':').next().unwrap_or(inside);
            if name.contains('.') && name.split('.').all(is_identifier) {
                out.push(Import::Named(inside.to_string()));
            }
            // Skip the text between this literal and the next.
            pieces.next();
        }
    }
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
}

fn base(word: &str) -> &str {
    word.rsplit('/').next().unwrap_or(word)
}

/// Programs a wrapper (`opentelemetry-instrument`, `poetry run`) may run.
fn known_program(p: &str) -> bool {
    p.starts_with("python")
        || p.ends_with(".py")
        || matches!(
            p,
            "celery"
                | "faust"
                | "gunicorn"
                | "uvicorn"
                | "hypercorn"
                | "daphne"
                | "granian"
                | "dramatiq"
                | "arq"
                | "huey_consumer"
                | "waitress-serve"
                | "opentelemetry-instrument"
                | "ddtrace-run"
        )
}

#[cfg(test)]
mod tests;
