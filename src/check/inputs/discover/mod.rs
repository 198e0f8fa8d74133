//! The walk: a parallel listing of the tree (`ignore`, respecting `.gitignore`) that classifies
//! files by name ([`classify`]) and hands them, in batches as it goes, to threads with large
//! stacks that read and parse each interesting file once ([`visit`]). Source files the pre-filter lets through are parsed on the same
//! thread, grouped by language ([`grouped`]; Rust included: syn recurses, see [`rust_stack`]).
//! Files whose name says nothing are never opened.

mod classify;
mod grouped;
mod hidden;
mod queue;
mod read;
mod visit;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ignore::{ParallelVisitor, ParallelVisitorBuilder, WalkBuilder, WalkState};

use crate::check::error::CheckError;
use crate::check::facts::{Fact, SourceFacts};
use crate::check::inputs::exclude::ExcludeSet;
use crate::check::inputs::interest::Interest;
use crate::check::inputs::k8s::K8sFile;
use crate::check::inputs::lang::{rust_stack, SourceKind};
use crate::check::inputs::manifests::Manifest;
use classify::{classify_path, is_bin_script_name, skip_dir, Class, Item};
pub use classify::{is_test_file, KUSTOMIZATION_NAMES};
use grouped::ParseGroups;
use queue::{Batches, CloseOnDrop, BATCH};
use read::ReadBuf;
pub use visit::parse_deferred;
pub(crate) use visit::reason_and_line;
use visit::{unread_file, visit, Visited};

/// Files larger than this are not read into a walk thread's reusable buffer: an application
/// manifest this large stops the scan; a source, Kubernetes or launch file is read in full into
/// its own buffer, up to [`MAX_SOURCE_BYTES`].
pub const MAX_FILE_BYTES: u64 = 2 * 1024 * 1024;

/// Source, Kubernetes and launch files larger than this are not analysed (a note finding says
/// so; a source file's service is then `unknown` unless its other findings fail it).
pub const MAX_SOURCE_BYTES: u64 = 16 * 1024 * 1024;

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
    /// A shell script's facts (they count where a command of its service runs it) and the
    /// images it builds.
    Script(Vec<Fact>, Vec<crate::check::inputs::k8s::ImageBuild>),
    /// Kubernetes objects / Helm values / Chart.yaml.
    K8s(Box<K8sFile>),
    /// `tsconfig.json`.
    TsConfig,
    /// The projects a Node monorepo's `nest-cli.json` or Nx `project.json` declares.
    NodeProjects(Vec<crate::check::inputs::node_projects::NodeProject>),
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
    /// The directories (relative, `.` for the root) holding an entry named like a
    /// kustomization file ([`KUSTOMIZATION_NAMES`]), sorted.
    pub kustomization_dirs: Vec<String>,
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
            // Split by hand: `str::split` searches for each `/` with `memchr`, slower on
            // names this short.
            let plain = |c: &[u8]| !c.is_empty() && c != b"." && c != b"..";
            if !rest.is_empty() && rest.as_bytes().split(|b| *b == b'/').all(plain) {
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
pub fn walk(root: &Path, interest: &Interest, exclude: &ExcludeSet) -> Result<Walk, CheckError> {
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
            list(root, threads, &batches, exclude)
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
            Item::Kustomization(d) => out.kustomization_dirs.push(d),
        }
    }
    unlisted.sort_unstable_by(|a, b| a.rel.cmp(&b.rel));
    let mut runs = vec![unlisted, hidden::workflows(root, exclude)];
    for r in read {
        runs.push(r.files);
        out.errors.extend(r.errors);
    }
    out.files = merge_runs(runs);
    out.dirs.sort_unstable();
    out.kustomization_dirs.sort_unstable();
    out.kustomization_dirs.dedup();
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
fn list(
    root: &Path,
    threads: usize,
    batches: &Batches<Candidate>,
    exclude: &ExcludeSet,
) -> Vec<Item> {
    // Each walker thread keeps its directories and errors in its own list (no lock per
    // entry); the lists are merged when the threads end.
    let lists: Mutex<Vec<Vec<Item>>> = Mutex::new(Vec::new());
    let mut builder = Collector {
        root,
        lists: &lists,
        batches,
    };
    // `filter_entry` keeps its closure for the walk's whole life.
    let (walk_root, exclude) = (root.to_path_buf(), exclude.clone());
    WalkBuilder::new(root)
        .hidden(true)
        .git_ignore(true)
        .git_exclude(true)
        .require_git(false)
        .follow_links(false)
        .threads(threads)
        .filter_entry(move |e| {
            e.depth() == 0
                || !((e.file_type().is_some_and(|t| t.is_dir()) && skip_dir(e.path()))
                    || (!exclude.is_empty()
                        && exclude.excluding(&rel_path(&walk_root, e.path())).is_some()))
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
                if entry.depth() > 0
                    && entry
                        .file_name()
                        .to_str()
                        .is_some_and(|n| KUSTOMIZATION_NAMES.contains(&n))
                {
                    let dir = match entry.path().parent() {
                        Some(parent) if entry.depth() > 1 => rel_path(root, parent),
                        _ => ".".to_owned(),
                    };
                    self.found.push(Item::Kustomization(dir));
                }
                if file_type.is_some_and(|t| t.is_file()) {
                    let Some(name) = entry.file_name().to_str() else {
                        return WalkState::Continue;
                    };
                    let class = classify_path(entry.path(), name);
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
                    let class = entry
                        .file_name()
                        .to_str()
                        .and_then(|name| classify_path(entry.path(), name));
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

#[cfg(test)]
mod tests;
