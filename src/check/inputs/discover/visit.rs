//! One listed file read and parsed on a walk thread: manifests, launch files (Dockerfile,
//! Procfile, requirements includes), Kubernetes YAML and sources; what cannot be read becomes a
//! note.

use std::borrow::Cow;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::classify::{is_node_shebang, manifest_dir, Class};
use super::grouped::ToParse;
use super::read::{decode, read_limited, read_up_to, source_bytes, text_of, ReadBuf};
use super::{rel_path, Candidate, Parsed, WalkedFile, MAX_FILE_BYTES, MAX_SOURCE_BYTES};
use crate::check::error::CheckError;
use crate::check::facts::names::NameFilter;
use crate::check::facts::{Fact, GoImports, SourceFacts};
use crate::check::inputs::ci;
use crate::check::inputs::interest::Interest;
use crate::check::inputs::k8s::{self, K8sFile};
use crate::check::inputs::lang::{self, SourceKind};
use crate::check::inputs::manifests::{
    self, conda, docker, python, setup_py, shell, Manifest, ManifestKind,
};
use crate::check::inputs::node_projects;

/// A file named like one that matters that cannot be read (`what` it is): a manifest still
/// makes its directory a service (that cannot pass), with a TG199 note; a source file may have
/// carried a signal ([`Parsed::NotAnalysed`]); any other file is a note.
pub(super) fn unread_file(class: Class, rel: String, what: &str) -> WalkedFile {
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
        dir: manifest_dir(&rel, class),
        rel,
        parsed,
    }
}

/// Analyse a source file; a panic in a parser becomes a note, never a crash.
pub(super) fn analyse_guarded(
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
pub(super) fn split_line(reason: &str) -> Parsed {
    let (reason, line) = reason_and_line(reason);
    Parsed::Skipped { reason, line }
}

/// `line 12: reason` → (`reason`, line 12); anything else is the reason alone.
pub(crate) fn reason_and_line(reason: &str) -> (String, Option<u32>) {
    reason
        .strip_prefix("line ")
        .and_then(|r| r.split_once(": "))
        .and_then(|(n, rest)| n.parse::<u32>().ok().map(|n| (rest.to_string(), Some(n))))
        .unwrap_or_else(|| (reason.to_string(), None))
}

/// Parse a source file and keep the facts `interest` can use. A file the parser cannot analyse
/// at all is [`Parsed::NotAnalysed`] when something a rule uses could be written in it, else a
/// plain note: the same judgement with and without the pre-filter.
pub(super) fn parse_source(kind: SourceKind, rel: &str, text: &str, interest: &Interest) -> Parsed {
    match analyse_guarded(kind, rel, text, interest) {
        Ok(mut facts) => {
            facts.finish(interest);
            facts.jvm_main = is_jvm(kind) && lang::jvm::declares_entry_point(text);
            if kind == SourceKind::Go {
                facts.set_imports(lang::go::import_paths(text));
            } else if kind == SourceKind::Python {
                facts.set_imports(lang::python::imported_modules(text.as_bytes()));
            }
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
pub(super) fn source_file(kind: SourceKind, bytes: Cow<'_, [u8]>, interest: &Interest) -> Source {
    if interest.may_matter(kind, &bytes) {
        return Source::Parse(decode(bytes.into_owned()));
    }
    let go_text = (kind == SourceKind::Go).then(|| lossy_text(&bytes));
    let python_imports =
        (kind == SourceKind::Python).then(|| lang::python::imported_modules(&bytes));
    Source::Unparsed(Parsed::Source {
        kind,
        facts: SourceFacts {
            package: go_text.as_deref().and_then(lang::go::package_clause),
            imports: go_text
                .as_deref()
                .map(lang::go::import_paths)
                .or(python_imports)
                .filter(|paths| !paths.is_empty())
                .map(|paths| Box::new(GoImports(paths))),
            jvm_main: is_jvm(kind)
                && lang::jvm::may_declare_entry_point(&bytes)
                && lang::jvm::declares_entry_point(&lossy_text(&bytes)),
            unparsed: true,
            names: (kind == SourceKind::Go).then(|| NameFilter::of_source(&bytes)),
            ..SourceFacts::default()
        },
    })
}

/// The file's text, borrowed when it is valid UTF-8 (the common case, checked fast), else with
/// the invalid bytes replaced.
fn lossy_text(bytes: &[u8]) -> Cow<'_, str> {
    std::str::from_utf8(bytes).map_or_else(|_| String::from_utf8_lossy(bytes), Cow::Borrowed)
}

fn is_jvm(kind: SourceKind) -> bool {
    matches!(kind, SourceKind::Java | SourceKind::Kotlin)
}

/// A source file [`source_file`] keeps unparsed, or its text, to parse.
pub(super) enum Source {
    Unparsed(Parsed),
    Parse(String),
}

/// What reading one candidate gave: a file done with, or a source file's text to parse.
pub(super) enum Visited {
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
pub(super) struct Including<'a> {
    /// The scanned root, canonical.
    pub(super) root: &'a Path,
    /// The including file (canonical below the first level) and its path relative to the root.
    pub(super) file: &'a Path,
    pub(super) rel: &'a str,
}

/// The dependencies of the files a runtime requirements file includes with `-r`, followed
/// recursively (at most 8 deep, each file once, only inside the scanned root): `-r base.txt`
/// in `requirements.txt` installs what `base.txt` lists. An include that cannot be followed
/// (missing, unreadable, binary, too large, outside the root, too deep) adds nothing but a
/// note at its `-r` line; a dev/test include adds nothing.
pub(super) fn included_requirements(
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

pub(super) fn visit(
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
    let dir = manifest_dir(&rel, class);
    // Files taken for manifests on a guess — a `.txt` of a `requirements/` folder (by its
    // folder), a `setup.py` (by its name: any module may be called that) — are a note when
    // they cannot be read (binary, too large), never fatal.
    let fatal = match class {
        Class::Manifest(ManifestKind::SetupPy) => false,
        Class::Manifest(ManifestKind::Requirements) => rel
            .rsplit('/')
            .next()
            .is_some_and(|n| n.starts_with("requirements")),
        Class::Manifest(_) => true,
        _ => false,
    };
    // A file that cannot be read is a note — except an application manifest: the service it
    // declares would silently drop out of the gate, so that stops the scan like a malformed one.
    let skipped = |reason: String, line: Option<u32>| {
        if fatal {
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
    // A `setup.py` that is no setuptools script (`app/tracing/setup.py`) is a module.
    let class = match class {
        Class::Manifest(ManifestKind::SetupPy) if !setup_py::is_setuptools_script(bytes) => {
            Class::Source(SourceKind::Python)
        }
        class => class,
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
                if fatal && !matches!(kind, ManifestKind::Maven | ManifestKind::Csproj) {
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
    // A `.txt` of a `requirements/` folder that is no requirements file (prose: a product's
    // requirements) is nothing.
    if !fatal
        && matches!(class, Class::Manifest(ManifestKind::Requirements))
        && !python::looks_like_requirements(&text)
    {
        return None;
    }
    let parsed = match class {
        Class::Source(kind) => {
            let read = source_file(kind, text.as_bytes().into(), interest);
            return Some(Ok(source_visited(kind, rel, dir, read)));
        }
        Class::Manifest(ManifestKind::Gradle) => {
            Parsed::Manifest(gradle_build(root, path, &rel, &text))
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
        Class::Script => Parsed::Script(shell::parse_script(&rel, &text), {
            let mut builds = ci::shell::script_builds(&rel, &text);
            builds.extend(k8s::script_builds::builds(root, &rel, &text));
            builds
        }),
        Class::Makefile => Parsed::K8s(Box::new(K8sFile {
            builds: ci::make::makefile_builds(&rel, &text),
            ..K8sFile::default()
        })),
        Class::Bake => Parsed::K8s(Box::new(K8sFile {
            builds: ci::bake::bake_builds(&rel, &text),
            ..K8sFile::default()
        })),
        Class::Tiltfile => Parsed::K8s(Box::new(K8sFile {
            builds: k8s::tilt::builds(&rel, &text),
            ..K8sFile::default()
        })),
        // A conda environment file: a Python manifest.
        Class::Yaml if conda::is_environment_file(&rel) && conda::looks_like(&text) => {
            Parsed::Manifest(conda::parse(&rel, &text))
        }
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
        Class::NodeProjects => Parsed::NodeProjects(if rel.ends_with("nest-cli.json") {
            node_projects::nest_cli(&rel, &text)
        } else {
            node_projects::nx_project(&rel, &text).into_iter().collect()
        }),
    };
    Some(Ok(Visited::File(WalkedFile { rel, dir, parsed })))
}

/// A Gradle script, with the build's version catalog when it names `libs.…`: the first
/// `gradle/libs.versions.toml` in its directory or one above it, inside the checked directory
/// (Gradle's is the root project's, beside `settings.gradle(.kts)`). A catalog that cannot be
/// read or parsed is a note; the `libs.…` references it would resolve are noted as not counted.
fn gradle_build(root: &Path, path: &Path, rel: &str, text: &str) -> Manifest {
    let mut note = None;
    let mut catalog = None;
    if text.contains("libs.") {
        let top = root.canonicalize().ok();
        let mut dir = path.parent().and_then(|d| d.canonicalize().ok());
        while let (Some(d), Some(top)) = (dir, top.as_deref()) {
            if !d.starts_with(top) {
                break;
            }
            let file = d.join("gradle").join("libs.versions.toml");
            if file.is_file() {
                let catalog_rel = rel_path(top, &file);
                match read_limited(&file)
                    .map_err(|e| e.to_string())
                    .and_then(|r| {
                        r.map_err(|size| {
                            format!("{size} bytes is over the {MAX_FILE_BYTES}-byte limit")
                        })
                    }) {
                    Ok(bytes) => match manifests::gradle::Catalog::parse(&decode(bytes)) {
                        Ok(c) => catalog = Some(c),
                        Err(e) => note = Some((catalog_rel, e)),
                    },
                    Err(e) => note = Some((catalog_rel, e)),
                }
                break;
            }
            dir = d.parent().map(Path::to_path_buf);
        }
    }
    let mut m = manifests::gradle::parse(rel, text, catalog.as_ref());
    if let Some((file, reason)) = note {
        m.notes
            .push((file, format!("version catalog not read: {reason}"), None));
    }
    m
}

/// A source file [`source_file`] kept unparsed, or its text queued for parsing.
pub(super) fn source_visited(kind: SourceKind, rel: String, dir: String, read: Source) -> Visited {
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
