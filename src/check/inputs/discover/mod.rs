//! The walk: a parallel listing of the tree (`ignore`, respecting `.gitignore`) that classifies
//! files by name and hands them, in batches as it goes, to threads with large stacks that read
//! each interesting file once. Source files the pre-filter lets through are parsed on the same
//! thread, grouped by language ([`grouped`]; Rust included: syn recurses, see [`rust_stack`]).
//! Files whose name says nothing are never opened.

mod grouped;
mod queue;
mod read;

use std::borrow::Cow;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ignore::{ParallelVisitor, ParallelVisitorBuilder, WalkBuilder, WalkState};

use crate::check::error::CheckError;
use crate::check::facts::names::NameFilter;
use crate::check::facts::{Fact, SourceFacts};
use crate::check::inputs::interest::Interest;
use crate::check::inputs::k8s::{self, K8sFile};
use crate::check::inputs::lang::{self, rust_stack, SourceKind};
use crate::check::inputs::manifests::{self, docker, python, Manifest, ManifestKind};
use grouped::{ParseGroups, ToParse};
use queue::{Batches, CloseOnDrop, BATCH};
use read::{decode, read_limited, read_up_to, source_bytes, text_of, ReadBuf};

/// Files larger than this are not read into a walk thread's reusable buffer: an application
/// manifest this large stops the scan; a source, Kubernetes or launch file is read in full into
/// its own buffer, up to [`MAX_SOURCE_BYTES`].
pub const MAX_FILE_BYTES: u64 = 2 * 1024 * 1024;

/// Source, Kubernetes and launch files larger than this are not analysed (a note finding says
/// so; a source file's service is then `unknown` unless its other findings fail it).
pub const MAX_SOURCE_BYTES: u64 = 16 * 1024 * 1024;

/// Directories never entered: build output, dependencies, virtualenvs, tests and fixtures.
const SKIP_DIRS: &[&str] = &[
    "node_modules",
    "target",
    "vendor",
    "dist",
    "build",
    ".venv",
    "venv",
    "__pycache__",
    "tests",
    "test",
    "__tests__",
    "testdata",
    "fixtures",
    "examples",
    "benches",
];

/// What a file turned out to be.
#[derive(Debug)]
pub enum Parsed {
    /// A source file and its facts.
    Source {
        /// Analyzer.
        kind: SourceKind,
        /// Facts.
        facts: SourceFacts,
    },
    /// An application manifest.
    Manifest(Manifest),
    /// Dockerfile or Procfile facts.
    Launch(Vec<Fact>),
    /// Kubernetes objects / Helm values / Chart.yaml.
    K8s(Box<K8sFile>),
    /// `tsconfig.json`.
    TsConfig,
    /// A source file that may carry something a rule uses but could not be analysed as a
    /// whole (unreadable, over [`MAX_SOURCE_BYTES`], a symbolic link or FIFO, a syntax error
    /// the parser cannot recover from, nesting too deep): a note finding, and its service
    /// cannot pass (`unknown` unless its other findings fail it).
    NotAnalysed {
        /// Its analyzer.
        kind: SourceKind,
        /// Reason (one line).
        reason: String,
        /// Line, where known.
        line: Option<u32>,
    },
    /// Not analysed, and why (becomes a note finding).
    Skipped {
        /// Reason (one line).
        reason: String,
        /// Line, where known.
        line: Option<u32>,
    },
}

/// One walked file.
#[derive(Debug)]
pub struct WalkedFile {
    /// Path relative to the root, `/` separators.
    pub rel: String,
    /// Its directory (`.` for the root).
    pub dir: String,
    /// Result.
    pub parsed: Parsed,
}

/// The whole walk.
#[derive(Debug, Default)]
pub struct Walk {
    /// Files, sorted by path.
    pub files: Vec<WalkedFile>,
    /// Manifest errors (the first, by path, stops the scan).
    pub errors: Vec<(String, CheckError)>,
    /// Every directory walked (relative), sorted.
    pub dirs: Vec<String>,
}

/// What the listing keeps besides candidates: directories, and entries it could not read.
enum Item {
    File(WalkedFile),
    Dir(String),
}

#[derive(Clone, Copy)]
enum Class {
    Source(SourceKind),
    Manifest(ManifestKind),
    Dockerfile,
    Procfile,
    Yaml,
    TsConfig,
}

fn classify(name: &str) -> Option<Class> {
    if let Some(kind) = ManifestKind::from_file_name(name) {
        return Some(Class::Manifest(kind));
    }
    if name == "Dockerfile" || name.starts_with("Dockerfile.") || name.ends_with(".Dockerfile") {
        return Some(Class::Dockerfile);
    }
    if name == "Procfile" {
        return Some(Class::Procfile);
    }
    if name == "tsconfig.json" {
        return Some(Class::TsConfig);
    }
    let ext = name.rsplit_once('.').map(|(_, e)| e)?;
    if ext == "yaml" || ext == "yml" {
        if matches!(
            name,
            "tracegate.yaml" | "pnpm-lock.yaml" | ".pre-commit-config.yaml"
        ) {
            return None;
        }
        return Some(Class::Yaml);
    }
    if is_test_file(name) || name == "build.rs" {
        return None;
    }
    SourceKind::from_extension(ext).map(Class::Source)
}

/// An extension-less file in a `bin/` directory: maybe a Node entry point (`bin/www`, which
/// `express-generator` writes and `npm start` runs), read as JavaScript when it starts with a
/// `node` shebang ([`is_node_shebang`]).
fn is_bin_script_name(path: &Path, name: &str) -> bool {
    !name.contains('.')
        && path
            .parent()
            .and_then(Path::file_name)
            .is_some_and(|d| d == "bin")
}

/// `#!/usr/bin/env node`, `#!/usr/local/bin/node --flags`, `#!/usr/bin/env -S node …`,
/// `#!/usr/bin/env -u DEBUG node`: the interpreter (the program, or what `env` runs past its
/// options and `NAME=value` settings) is `node` or `nodejs`.
fn is_node_shebang(bytes: &[u8]) -> bool {
    let Some(rest) = bytes.strip_prefix(b"#!") else {
        return false;
    };
    let line = rest.split(|b| *b == b'\n').next().unwrap_or_default();
    let mut words = line
        .split(|b| b.is_ascii_whitespace())
        .filter(|w| !w.is_empty());
    let program = |word: &[u8]| -> Vec<u8> {
        word.rsplit(|b| *b == b'/')
            .next()
            .unwrap_or_default()
            .to_vec()
    };
    let mut interpreter = words.next().map(program);
    if interpreter.as_deref() == Some(b"env") {
        interpreter = None;
        while let Some(word) = words.next() {
            match word {
                // Options whose value is the next word.
                b"-u" | b"--unset" | b"-C" | b"--chdir" => {
                    words.next();
                }
                _ if word.starts_with(b"-") || word.contains(&b'=') => {}
                _ => {
                    interpreter = Some(program(word));
                    break;
                }
            }
        }
    }
    matches!(interpreter.as_deref(), Some(b"node" | b"nodejs"))
}

/// Test files by naming convention (test directories are skipped by the walker).
pub fn is_test_file(name: &str) -> bool {
    name.ends_with("_test.go")
        || (name.starts_with("test_") && name.ends_with(".py"))
        || name.ends_with("_test.py")
        || name == "conftest.py"
        || [".test.", ".spec.", ".e2e."]
            .iter()
            .any(|m| name.contains(m))
        || name.ends_with("Test.java")
        || name.ends_with("Tests.java")
        || name.ends_with("IT.java")
        || name.ends_with("Tests.cs")
        || name.ends_with("Test.cs")
}

fn skip_dir(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    if SKIP_DIRS.contains(&name) || name.ends_with(".Tests") {
        return true;
    }
    // .NET build output: `bin`/`obj` beside a project file. Elsewhere they hold code: Rust's
    // `src/bin/`, Node's `bin/www`, scripts.
    (name == "bin" || name == "obj") && path.parent().is_some_and(holds_dotnet_project)
}

/// Whether a directory holds a .NET project file (`*.csproj`, `*.fsproj`, `*.vbproj`).
fn holds_dotnet_project(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries.flatten().any(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            [".csproj", ".fsproj", ".vbproj"]
                .iter()
                .any(|ext| name.ends_with(ext))
        })
    })
}

fn rel_path(root: &Path, path: &Path) -> String {
    // The walk's paths are the root joined with plain names: cut the root's bytes off and
    // keep the rest as it is when it is plain UTF-8 already (no `.`, `..` or doubled `/`).
    let bytes = path.as_os_str().as_encoded_bytes();
    if let Some(rest) = bytes
        .strip_prefix(root.as_os_str().as_encoded_bytes())
        .and_then(|r| r.strip_prefix(b"/"))
    {
        if let Ok(rest) = std::str::from_utf8(rest) {
            if !rest.is_empty()
                && !rest.ends_with('/')
                && rest
                    .split('/')
                    .all(|c| !c.is_empty() && c != "." && c != "..")
            {
                return rest.to_string();
            }
        }
    }
    rel_path_by_components(root, path)
}

/// [`rel_path`] for any path: its components below `root`, lossily decoded, joined by `/`.
fn rel_path_by_components(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    }
}

/// Walk `root` in parallel and parse every interesting file once.
pub fn walk(root: &Path, interest: &Interest) -> Result<Walk, CheckError> {
    let meta = std::fs::metadata(root).map_err(|e| CheckError::Root {
        path: root.to_path_buf(),
        reason: e.to_string(),
    })?;
    if !meta.is_dir() {
        return Err(CheckError::Root {
            path: root.to_path_buf(),
            reason: "not a directory".into(),
        });
    }
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get().min(8));
    let batches = Batches::new();
    let (listed, read) = std::thread::scope(|scope| {
        let readers: Vec<_> = (0..threads)
            .filter_map(|_| {
                rust_stack::spawn_with_large_stack(scope, "tracegate-walk", || {
                    read_and_parse(root, &batches, interest)
                })
                .ok()
            })
            .collect();
        let listed = {
            let _close = CloseOnDrop(&batches);
            list(root, threads, &batches)
        };
        // No reading thread could be started: this one reads it all.
        let mut read = if readers.is_empty() {
            vec![read_and_parse(root, &batches, interest)]
        } else {
            Vec::new()
        };
        for r in readers {
            match r.join() {
                Ok(done) => read.push(done),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        (listed, read)
    });
    let mut out = Walk::default();
    // Walk errors (unreadable directories) are few: sorted here and merged like a reader's.
    let mut unlisted = Vec::new();
    for item in listed {
        match item {
            Item::File(f) => unlisted.push(f),
            Item::Dir(d) => out.dirs.push(d),
        }
    }
    unlisted.sort_unstable_by(|a, b| a.rel.cmp(&b.rel));
    let mut runs = vec![unlisted];
    for r in read {
        runs.push(r.files);
        out.errors.extend(r.errors);
    }
    out.files = merge_runs(runs);
    out.dirs.sort_unstable();
    out.errors.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// Files sorted by path from runs each sorted by path (paths are unique), each file moved
/// once per level of a pairwise merge.
fn merge_runs(mut runs: Vec<Vec<WalkedFile>>) -> Vec<WalkedFile> {
    runs.retain(|r| !r.is_empty());
    while runs.len() > 1 {
        let mut merged = Vec::with_capacity(runs.len().div_ceil(2));
        let mut pairs = runs.into_iter();
        while let Some(a) = pairs.next() {
            let Some(b) = pairs.next() else {
                merged.push(a);
                break;
            };
            let mut out = Vec::with_capacity(a.len() + b.len());
            let (mut a, mut b) = (a.into_iter().peekable(), b.into_iter().peekable());
            loop {
                let next = match (a.peek(), b.peek()) {
                    (Some(x), Some(y)) if x.rel <= y.rel => a.next(),
                    (Some(_), Some(_)) => b.next(),
                    (Some(_), None) => a.next(),
                    (None, _) => b.next(),
                };
                match next {
                    Some(f) => out.push(f),
                    None => break,
                }
            }
            merged.push(out);
        }
        runs = merged;
    }
    runs.pop().unwrap_or_default()
}

/// A file worth opening: its class when its name tells it, `None` for an extension-less file
/// in `bin/` whose first line decides ([`is_bin_script_name`]).
struct Candidate {
    path: PathBuf,
    class: Option<Class>,
}

/// List the tree in parallel, handing the files worth opening to `batches` as they are found;
/// returns the directories and walk errors (unreadable directories, loops: notes, never a
/// stop).
fn list(root: &Path, threads: usize, batches: &Batches<Candidate>) -> Vec<Item> {
    // Each walker thread keeps its directories and errors in its own list (no lock per
    // entry); the lists are merged when the threads end.
    let lists: Mutex<Vec<Vec<Item>>> = Mutex::new(Vec::new());
    let mut builder = Collector {
        root,
        lists: &lists,
        batches,
    };
    WalkBuilder::new(root)
        .hidden(true)
        .git_ignore(true)
        .git_exclude(true)
        .require_git(false)
        .follow_links(false)
        .threads(threads)
        .filter_entry(|e| {
            !(e.depth() > 0 && e.file_type().is_some_and(|t| t.is_dir()) && skip_dir(e.path()))
        })
        .build_parallel()
        .visit(&mut builder);
    lists
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .into_iter()
        .flatten()
        .collect()
}

/// What one reading thread made of the files it read: sorted by path.
struct ReadFiles {
    files: Vec<WalkedFile>,
    errors: Vec<(String, CheckError)>,
}

/// Read and parse batches of candidates until the listing is done.
fn read_and_parse(root: &Path, batches: &Batches<Candidate>, interest: &Interest) -> ReadFiles {
    let mut out = ReadFiles {
        files: Vec::new(),
        errors: Vec::new(),
    };
    let mut buf = ReadBuf::default();
    let mut to_parse = ParseGroups::default();
    while let Some(batch) = batches.pop() {
        for c in &batch {
            match visit(root, c, interest, &mut buf) {
                Some(Ok(Visited::File(f))) => out.files.push(f),
                Some(Ok(Visited::ToParse(f))) => to_parse.push(f, interest, &mut out.files),
                Some(Err((rel, e))) => out.errors.push((rel, e)),
                None => {}
            }
        }
    }
    to_parse.finish(interest, &mut out.files);
    // Sorted here, on this thread: the walk only merges.
    out.files.sort_unstable_by(|a, b| a.rel.cmp(&b.rel));
    out
}

/// Builds one [`Lister`] per walker thread.
struct Collector<'a> {
    root: &'a Path,
    lists: &'a Mutex<Vec<Vec<Item>>>,
    batches: &'a Batches<Candidate>,
}

impl<'s> ParallelVisitorBuilder<'s> for Collector<'s> {
    fn build(&mut self) -> Box<dyn ParallelVisitor + 's> {
        Box::new(Lister {
            root: self.root,
            lists: self.lists,
            batches: self.batches,
            batch: Vec::with_capacity(BATCH),
            found: Vec::new(),
        })
    }
}

/// One walker thread's findings: candidates handed over a batch at a time, directories and
/// errors when the thread's visitor is dropped.
struct Lister<'a> {
    root: &'a Path,
    lists: &'a Mutex<Vec<Vec<Item>>>,
    batches: &'a Batches<Candidate>,
    batch: Vec<Candidate>,
    found: Vec<Item>,
}

impl Drop for Lister<'_> {
    fn drop(&mut self) {
        self.batches.push(std::mem::take(&mut self.batch));
        let found = std::mem::take(&mut self.found);
        match self.lists.lock() {
            Ok(mut lists) => lists.push(found),
            Err(poisoned) => poisoned.into_inner().push(found),
        }
    }
}

impl ParallelVisitor for Lister<'_> {
    fn visit(&mut self, entry: Result<ignore::DirEntry, ignore::Error>) -> WalkState {
        let root = self.root;
        match entry {
            Ok(entry) => {
                let file_type = entry.file_type();
                if file_type.is_some_and(|t| t.is_file()) {
                    let Some(name) = entry.file_name().to_str() else {
                        return WalkState::Continue;
                    };
                    let class = classify(name);
                    if class.is_some() || is_bin_script_name(entry.path(), name) {
                        self.batch.push(Candidate {
                            path: entry.into_path(),
                            class,
                        });
                        if self.batch.len() == BATCH {
                            let full =
                                std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
                            self.batches.push(full);
                        }
                    }
                } else if entry.depth() > 0 && file_type.is_some_and(|t| t.is_dir()) {
                    self.found.push(Item::Dir(rel_path(root, entry.path())));
                } else if let Some(file_type) = file_type {
                    // A symbolic link (never followed) or a FIFO, socket or device (never
                    // opened: reading a FIFO would block): named like a file that matters, it is
                    // noted, never silently left out. Its type comes with the directory entry.
                    let class = entry.file_name().to_str().and_then(classify);
                    if let Some(class) = class {
                        let rel = rel_path(root, entry.path());
                        let what = if file_type.is_symlink() {
                            "a symbolic link, not followed"
                        } else {
                            "not a regular file (a FIFO, socket or device), not read"
                        };
                        self.found.push(Item::File(unread_file(class, rel, what)));
                    }
                }
            }
            Err(err) => {
                let path = walk_error_path(&err).unwrap_or_else(|| root.to_path_buf());
                let rel = rel_path(root, &path);
                self.found.push(Item::File(WalkedFile {
                    dir: parent_dir(&rel),
                    rel,
                    parsed: Parsed::Skipped {
                        reason: first_line(&err.to_string()),
                        line: None,
                    },
                }));
            }
        }
        WalkState::Continue
    }
}

/// A file named like one that matters that cannot be read (`what` it is): a manifest still
/// makes its directory a service (that cannot pass), with a TG199 note; a source file may have
/// carried a signal ([`Parsed::NotAnalysed`]); any other file is a note.
fn unread_file(class: Class, rel: String, what: &str) -> WalkedFile {
    let reason = format!("{what}; check the file itself, or declare what it points to");
    let parsed = match class {
        Class::Manifest(kind) => Parsed::Manifest(Manifest {
            kind,
            file: rel.clone(),
            name: None,
            entry: manifests::Entry::Unread,
            facts: Vec::new(),
            typescript: false,
            cargo: None,
            version: None,
            uses: Vec::new(),
            notes: vec![(
                rel.clone(),
                format!("{what}: the service it declares is not analysed"),
                None,
            )],
        }),
        Class::Source(kind) => Parsed::NotAnalysed {
            kind,
            reason,
            line: None,
        },
        _ => Parsed::Skipped { reason, line: None },
    };
    WalkedFile {
        dir: parent_dir(&rel),
        rel,
        parsed,
    }
}

fn walk_error_path(err: &ignore::Error) -> Option<PathBuf> {
    match err {
        ignore::Error::WithPath { path, .. } => Some(path.clone()),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            walk_error_path(err)
        }
        ignore::Error::Loop { child, .. } => Some(child.clone()),
        _ => None,
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().to_string()
}

fn parent_dir(rel: &str) -> String {
    match rel.rsplit_once('/') {
        Some((d, _)) => d.to_string(),
        None => ".".into(),
    }
}

/// Analyse a source file; a panic in a parser becomes a note, never a crash.
fn analyse_guarded(
    kind: SourceKind,
    rel: &str,
    text: &str,
    interest: &Interest,
) -> Result<SourceFacts, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        lang::analyse_for(kind, rel, text, interest)
    }))
    .unwrap_or_else(|_| Err("internal error while parsing; not analysed".into()))
}

/// `line 12: reason` → a note with line 12 and the reason alone.
fn split_line(reason: &str) -> Parsed {
    let (reason, line) = reason_and_line(reason);
    Parsed::Skipped { reason, line }
}

/// `line 12: reason` → (`reason`, line 12); anything else is the reason alone.
fn reason_and_line(reason: &str) -> (String, Option<u32>) {
    reason
        .strip_prefix("line ")
        .and_then(|r| r.split_once(": "))
        .and_then(|(n, rest)| n.parse::<u32>().ok().map(|n| (rest.to_string(), Some(n))))
        .unwrap_or_else(|| (reason.to_string(), None))
}

/// Parse a source file and keep the facts `interest` can use. A file the parser cannot analyse
/// at all is [`Parsed::NotAnalysed`] when something a rule uses could be written in it, else a
/// plain note: the same judgement with and without the pre-filter.
fn parse_source(kind: SourceKind, rel: &str, text: &str, interest: &Interest) -> Parsed {
    match analyse_guarded(kind, rel, text, interest) {
        Ok(mut facts) => {
            facts.finish(interest);
            Parsed::Source { kind, facts }
        }
        Err(reason) if interest.may_carry_signal(kind, text.as_bytes()) => {
            let (reason, line) = reason_and_line(&reason);
            Parsed::NotAnalysed { kind, reason, line }
        }
        Err(reason) => split_line(&reason),
    }
}

/// A source file from its bytes ([`read::source_bytes`]): its text to parse if the pre-filter
/// lets it through, else what is kept of it unparsed (a Go file's package name and words).
fn source_file(kind: SourceKind, bytes: Cow<'_, [u8]>, interest: &Interest) -> Source {
    if interest.may_matter(kind, &bytes) {
        return Source::Parse(decode(bytes.into_owned()));
    }
    Source::Unparsed(Parsed::Source {
        kind,
        facts: SourceFacts {
            package: (kind == SourceKind::Go)
                .then(|| match std::str::from_utf8(&bytes) {
                    Ok(text) => lang::go::package_clause(text),
                    Err(_) => lang::go::package_clause(&String::from_utf8_lossy(&bytes)),
                })
                .flatten(),
            unparsed: true,
            names: (kind == SourceKind::Go).then(|| NameFilter::of_source(&bytes)),
            ..SourceFacts::default()
        },
    })
}

/// A source file [`source_file`] keeps unparsed, or its text, to parse.
enum Source {
    Unparsed(Parsed),
    Parse(String),
}

/// What reading one candidate gave: a file done with, or a source file's text to parse.
enum Visited {
    File(WalkedFile),
    ToParse(ToParse),
}

/// Parse a source file the pre-filter left unparsed (its references are needed after all),
/// from the bytes the caller read (taken as the walk takes them: [`read::source_bytes`]).
pub fn parse_deferred(rel: &str, kind: SourceKind, bytes: &[u8], interest: &Interest) -> Parsed {
    let text = decode(source_bytes(bytes).into_owned());
    parse_source(kind, rel, &text, interest)
}

/// A requirements file and where its includes are followed from (see
/// [`included_requirements`]).
struct Including<'a> {
    /// The scanned root, canonical.
    root: &'a Path,
    /// The including file (canonical below the first level) and its path relative to the root.
    file: &'a Path,
    rel: &'a str,
}

/// The dependencies of the files a runtime requirements file includes with `-r`, followed
/// recursively (at most 8 deep, each file once, only inside the scanned root): `-r base.txt`
/// in `requirements.txt` installs what `base.txt` lists. An include that cannot be followed
/// (missing, unreadable, binary, too large, outside the root, too deep) adds nothing but a
/// note at its `-r` line; a dev/test include adds nothing.
fn included_requirements(
    from: &Including<'_>,
    text: &str,
    seen: &mut Vec<PathBuf>,
    depth: usize,
    notes: &mut Vec<(String, String, Option<u32>)>,
) -> Vec<Fact> {
    let mut facts = Vec::new();
    let Some(dir) = from.file.parent() else {
        return facts;
    };
    for (line, include) in python::requirement_includes(text) {
        // A dev/test include adds nothing, followed or not; pip fetches a URL, tracegate
        // does not.
        if !python::runtime_requirements(&include) || include.contains("://") {
            continue;
        }
        let mut note = |reason: String| {
            notes.push((
                from.rel.to_string(),
                format!("`-r {include}`: {reason}; the requirements it lists are not counted"),
                Some(line),
            ));
        };
        let target = match dir.join(&include).canonicalize() {
            Ok(target) => target,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                note("no such file".into());
                continue;
            }
            Err(e) => {
                note(format!("cannot be read: {e}"));
                continue;
            }
        };
        if seen.contains(&target) {
            continue;
        }
        if !target.starts_with(from.root) {
            note("outside the checked directory".into());
            continue;
        }
        if depth > 8 {
            note("includes nested deeper than 8 files".into());
            continue;
        }
        seen.push(target.clone());
        let rel = rel_path(from.root, &target);
        if !python::runtime_requirements(&rel) {
            continue;
        }
        let text = match read_limited(&target) {
            Ok(Ok(bytes)) => match text_of(bytes) {
                Ok(text) => text,
                Err(reason) => {
                    note(reason.into());
                    continue;
                }
            },
            Ok(Err(size)) => {
                note(format!(
                    "{size} bytes is over the {MAX_FILE_BYTES}-byte limit"
                ));
                continue;
            }
            Err(e) => {
                note(format!("cannot be read: {e}"));
                continue;
            }
        };
        facts.extend(python::parse_requirements(&rel, &text).facts);
        let nested = Including {
            root: from.root,
            file: &target,
            rel: &rel,
        };
        facts.extend(included_requirements(
            &nested,
            &text,
            seen,
            depth + 1,
            notes,
        ));
    }
    facts
}

fn visit(
    root: &Path,
    candidate: &Candidate,
    interest: &Interest,
    buf: &mut ReadBuf,
) -> Option<Result<Visited, (String, CheckError)>> {
    let path = candidate.path.as_path();
    // Only the first line of an extension-less file in `bin/` is read to tell a Node script
    // from a compiled program or another interpreter's script (neither is ever noted).
    let class = match candidate.class {
        Some(class) => class,
        None => {
            let mut head = [0u8; 128];
            let n = std::fs::File::open(path)
                .and_then(|mut f| f.read(&mut head))
                .ok()?;
            if !is_node_shebang(&head[..n]) {
                return None;
            }
            Class::Source(SourceKind::Javascript)
        }
    };
    let rel = rel_path(root, path);
    let dir = parent_dir(&rel);
    // A file that cannot be read is a note — except an application manifest: the service it
    // declares would silently drop out of the gate, so that stops the scan like a malformed one.
    let skipped = |reason: String, line: Option<u32>| {
        if let Class::Manifest(_) = class {
            return Some(Err((
                rel.clone(),
                CheckError::Manifest {
                    file: rel.clone(),
                    line,
                    what: "manifest",
                    reason: format!("{reason}; a service's manifest must be readable to judge it"),
                },
            )));
        }
        Some(Ok(Visited::File(WalkedFile {
            rel: rel.clone(),
            dir: dir.clone(),
            parsed: Parsed::Skipped { reason, line },
        })))
    };
    // A source file that cannot be read may have held anything: its service cannot pass.
    let not_analysed = |reason: String| match class {
        Class::Source(kind) => Some(Ok(Visited::File(WalkedFile {
            rel: rel.clone(),
            dir: dir.clone(),
            parsed: Parsed::NotAnalysed {
                kind,
                reason,
                line: None,
            },
        }))),
        _ => skipped(reason, None),
    };
    // A file over the reusable buffer's limit, read in full into its own buffer (freed with it).
    let large;
    let bytes: &[u8] = match buf.read(path) {
        Ok(None) => buf.bytes(),
        Ok(Some(size)) if matches!(class, Class::Manifest(_)) => {
            return skipped(
                format!("{size} bytes is over the {MAX_FILE_BYTES}-byte limit"),
                None,
            )
        }
        Ok(Some(_)) => match read_up_to(path, MAX_SOURCE_BYTES) {
            Ok(Ok(all)) => {
                large = all;
                &large
            }
            Ok(Err(size)) => {
                return not_analysed(format!(
                    "{size} bytes is over the {MAX_SOURCE_BYTES}-byte limit"
                ))
            }
            Err(e) => return not_analysed(format!("unreadable: {e}")),
        },
        Err(e) => return not_analysed(format!("unreadable: {e}")),
    };
    if let Class::Source(kind) = class {
        // Searched as bytes; decoded only when parsed.
        let read = source_file(kind, source_bytes(bytes), interest);
        return Some(Ok(source_visited(kind, rel, dir, read)));
    }
    // A NUL byte stops only an application manifest (exit 2); Kubernetes and launch files are
    // read as text like source files, so a NUL cannot hide a workload.
    let text = if let Class::Manifest(_) = class {
        match text_of(bytes.to_vec()) {
            Ok(text) => text,
            Err(reason) => return skipped(reason.into(), None),
        }
    } else {
        decode(source_bytes(bytes).into_owned())
    };
    if matches!(class, Class::Manifest(_) | Class::Yaml) {
        if let Some(line) = lang::too_deep(&text, lang::MAX_NESTING) {
            let reason = format!("brackets nested deeper than {} levels", lang::MAX_NESTING);
            if let Class::Manifest(kind) = class {
                if !matches!(kind, ManifestKind::Maven | ManifestKind::Csproj) {
                    return Some(Err((
                        rel.clone(),
                        CheckError::Manifest {
                            file: rel,
                            line: Some(line as u32),
                            what: "manifest",
                            reason,
                        },
                    )));
                }
            } else {
                return skipped(reason, Some(line as u32));
            }
        }
    }
    let parsed = match class {
        Class::Source(kind) => {
            let read = source_file(kind, text.as_bytes().into(), interest);
            return Some(Ok(source_visited(kind, rel, dir, read)));
        }
        Class::Manifest(kind) => match manifests::parse(kind, &rel, &text) {
            Ok(mut m) => {
                if kind == ManifestKind::Requirements && python::runtime_requirements(&rel) {
                    if let Ok(root) = root.canonicalize() {
                        let mut seen = path.canonicalize().into_iter().collect();
                        let from = Including {
                            root: &root,
                            file: path,
                            rel: &rel,
                        };
                        let found = included_requirements(&from, &text, &mut seen, 1, &mut m.notes);
                        m.facts.extend(found);
                    }
                }
                Parsed::Manifest(m)
            }
            Err(e) => return Some(Err((rel, e))),
        },
        Class::Dockerfile => Parsed::Launch(docker::parse_dockerfile(&rel, &text)),
        Class::Procfile => Parsed::Launch(docker::parse_procfile(&rel, &text)),
        Class::Yaml => match k8s::parse(&rel, &text) {
            Ok(K8sFile {
                fatal: Some((line, reason)),
                ..
            }) => {
                return Some(Err((
                    rel.clone(),
                    CheckError::Manifest {
                        file: rel,
                        line: Some(line),
                        what: "Kubernetes manifest",
                        reason,
                    },
                )))
            }
            Ok(k) => Parsed::K8s(Box::new(k)),
            Err(reason) => split_line(&reason),
        },
        Class::TsConfig => Parsed::TsConfig,
    };
    Some(Ok(Visited::File(WalkedFile { rel, dir, parsed })))
}

/// A source file [`source_file`] kept unparsed, or its text queued for parsing.
fn source_visited(kind: SourceKind, rel: String, dir: String, read: Source) -> Visited {
    match read {
        Source::Unparsed(parsed) => Visited::File(WalkedFile { rel, dir, parsed }),
        Source::Parse(text) => Visited::ToParse(ToParse {
            kind,
            rel,
            dir,
            text,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_runs_merge_into_one_sorted_list() {
        let file = |rel: &str| WalkedFile {
            rel: rel.into(),
            dir: parent_dir(rel),
            parsed: Parsed::TsConfig,
        };
        let runs = |lists: &[&[&str]]| -> Vec<Vec<WalkedFile>> {
            lists
                .iter()
                .map(|l| l.iter().map(|r| file(r)).collect())
                .collect()
        };
        let rels = |files: Vec<WalkedFile>| files.into_iter().map(|f| f.rel).collect::<Vec<_>>();
        assert_eq!(
            rels(merge_runs(runs(&[
                &["a/x", "c"],
                &[],
                &["a", "b/y", "d"],
                &["a/y"]
            ]))),
            ["a", "a/x", "a/y", "b/y", "c", "d"]
        );
        assert_eq!(rels(merge_runs(runs(&[&["b"]]))), ["b"]);
        assert!(merge_runs(Vec::new()).is_empty());
    }

    #[test]
    fn relative_paths_are_the_same_by_bytes_and_by_components() {
        let cases = [
            ("/repo", "/repo/services/a/main.go"),
            ("/repo", "/repo/main.go"),
            ("/repo", "/repo"),
            ("/repo/", "/repo/services/a"),
            (".", "./services/a/main.go"),
            ("fixtures", "fixtures/x/./y.go"),
            ("fixtures", "fixtures//x.go"),
            ("fixtures", "fixtures/x/../y.go"),
            ("/", "/etc/x.yaml"),
            ("/repo", "/elsewhere/x.go"),
            ("/repo", "/repository/x.go"),
        ];
        for (root, path) in cases {
            let (root, path) = (Path::new(root), Path::new(path));
            assert_eq!(
                rel_path(root, path),
                rel_path_by_components(root, path),
                "{path:?}"
            );
        }
    }

    #[test]
    fn classification_by_name() {
        assert!(matches!(
            classify("main.rs"),
            Some(Class::Source(SourceKind::Rust))
        ));
        assert!(classify("handler_test.go").is_none());
        assert!(classify("test_app.py").is_none());
        assert!(classify("app.spec.ts").is_none());
        assert!(classify("logo.png").is_none());
        assert!(matches!(
            classify("requirements-prod.txt"),
            Some(Class::Manifest(ManifestKind::Requirements))
        ));
        assert!(matches!(
            classify("Api.csproj"),
            Some(Class::Manifest(ManifestKind::Csproj))
        ));
        assert!(matches!(classify("deploy.yaml"), Some(Class::Yaml)));
        assert!(classify("tracegate.yaml").is_none());
    }

    #[test]
    fn node_shebangs() {
        for yes in [
            "#!/usr/bin/env node\n",
            "#!/usr/local/bin/node --max-old-space-size=4096\nx",
            "#!/usr/bin/env -S node --experimental-vm-modules\n",
            "#!/usr/bin/env -u DEBUG node\n",
            "#!/usr/bin/env -i PATH=/usr/bin --chdir /srv node app.js\n",
            "#!/usr/bin/env --unset=DEBUG -uNODE_ENV node\n",
            "#! /usr/bin/nodejs",
        ] {
            assert!(is_node_shebang(yes.as_bytes()), "{yes}");
        }
        for no in [
            "#!/bin/sh\nnode server.js\n",
            "#!/usr/bin/env nodemon\n",
            "#!/usr/bin/env python3\n",
            "#!/home/node/venv/bin/python3\n",
            "#!/usr/bin/env NODE_ENV=production python3\n",
            "#!/usr/bin/env -u node python3\n",
            "// #!/usr/bin/env node\n",
            "\u{7f}ELF",
            "",
        ] {
            assert!(!is_node_shebang(no.as_bytes()), "{no}");
        }
    }

    #[test]
    fn utf16_with_a_byte_order_mark_is_text() {
        let mut le = vec![0xFF, 0xFE];
        le.extend("pytest==8.0\r\n".encode_utf16().flat_map(u16::to_le_bytes));
        assert_eq!(text_of(le).unwrap(), "pytest==8.0\r\n");
        let mut be = vec![0xFE, 0xFF];
        be.extend("flask".encode_utf16().flat_map(u16::to_be_bytes));
        assert_eq!(text_of(be).unwrap(), "flask");
        assert_eq!(text_of(b"ab\0c".to_vec()), Err("binary content"));
        assert_eq!(text_of(b"caf\xe9".to_vec()).unwrap(), "caf\u{fffd}");
    }

    #[test]
    fn skip_dirs_keep_rust_bin() {
        assert!(skip_dir(Path::new("svc/node_modules")));
        assert!(!skip_dir(Path::new("svc/src/bin")));
        assert!(!skip_dir(Path::new("svc/src")));
    }

    #[test]
    fn bin_and_obj_are_skipped_only_beside_a_dotnet_project() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for d in ["Api/bin", "Api/obj", "web/bin", "tool/obj"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        std::fs::write(root.join("Api/Api.csproj"), "<Project/>").unwrap();
        std::fs::write(root.join("web/package.json"), "{}").unwrap();
        assert!(skip_dir(&root.join("Api/bin")));
        assert!(skip_dir(&root.join("Api/obj")));
        assert!(!skip_dir(&root.join("web/bin")));
        assert!(!skip_dir(&root.join("tool/obj")));
    }
}
