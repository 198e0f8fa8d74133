//! Python: a setuptools `setup.py`, read as text (never run). What it says of the service:
//!
//! - `install_requires`: its dependencies, when written out — a literal list
//!   (`install_requires=["flask", …]`), or a name bound to one in the file
//!   (`install_requires=REQUIRES` with `REQUIRES = [...]`; Poetry's generated
//!   `'install_requires': install_requires` with `install_requires = \ […]`). Anything else
//!   (`read_requirements()`, `open(…).read().splitlines()`, a comprehension) is computed: when
//!   it reads a `requirements*.txt`, that file is read as itself (a manifest of the same
//!   directory); otherwise a TG199 note says the dependencies are not known.
//! - `extras_require` (a dict literal, or a name bound to one): each extra's requirements count
//!   only when an image installs it (`pip install ".[otel]"`,
//!   [`FactKind::OptionalDependency`]); `tests_require` never counts.
//! - `entry_points` with `console_scripts`: the package declares its entry point (like
//!   `setup.cfg`'s and `pyproject.toml`'s scripts).
//! - `name="…"`: the package's name.

use std::collections::HashSet;

use super::python::requirement_name;
use super::{Entry, LineIndex, Manifest, ManifestKind};
use crate::check::facts::{Fact, FactKind};

/// Whether a file named `setup.py` is a setuptools (or distutils) script — imports one and
/// calls `setup(` — rather than a module of the application that happens to bear the name.
pub fn is_setuptools_script(bytes: &[u8]) -> bool {
    let has = |needle: &[u8]| memchr::memmem::find(bytes, needle).is_some();
    (has(b"setuptools") || has(b"distutils")) && has(b"setup(")
}

/// How many `install_requires` of one file are read.
const MAX_INSTALL_REQUIRES: usize = 8;

/// Parse a setup.py (never fails).
pub fn parse(rel: &str, text: &str) -> Manifest {
    let lines = LineIndex::new(text);
    let mut facts: Vec<Fact> = Vec::new();
    let mut seen = HashSet::new();
    let mut notes = Vec::new();
    // A setup script names `install_requires` once or twice (a keyword and the variable it
    // passes); each is looked up through the whole file, so only the first few are read.
    for at in keyword_values(text, "install_requires")
        .into_iter()
        .take(MAX_INSTALL_REQUIRES)
    {
        match list_at(text, at).or_else(|| bound_list(text, at)) {
            Some(items) => {
                for (spec, offset) in items {
                    let Some(name) = requirement_name(&spec) else {
                        continue;
                    };
                    if seen.insert(name.clone()) {
                        facts.push(Fact::new(
                            FactKind::Dependency { name },
                            rel,
                            lines.line(offset),
                        ));
                    }
                }
            }
            None if reads_requirements_file(text) => {}
            None => notes.push((
                rel.to_string(),
                "`install_requires` is computed, not written out: the dependencies it installs are not known (list them, or read them from a requirements*.txt beside setup.py)".to_string(),
                Some(lines.line(at)),
            )),
        }
    }
    for at in keyword_values(text, "extras_require")
        .into_iter()
        .take(MAX_INSTALL_REQUIRES)
    {
        let extras = dict_at(text, at).or_else(|| bound(text, at, dict_at));
        for (extra, items) in extras.into_iter().flatten() {
            for (spec, offset) in items {
                if let Some(name) = requirement_name(&spec) {
                    facts.push(Fact::new(
                        FactKind::OptionalDependency {
                            group: extra.clone(),
                            name,
                        },
                        rel,
                        lines.line(offset),
                    ));
                }
            }
        }
    }
    let name = keyword_values(text, "name")
        .into_iter()
        .find_map(|at| string_at(text, at))
        .map(|(s, _)| s);
    let entry = if text.contains("console_scripts") {
        Entry::Yes
    } else {
        Entry::PythonEntry
    };
    Manifest {
        kind: ManifestKind::SetupPy,
        file: rel.to_string(),
        name,
        entry,
        facts,
        typescript: false,
        cargo: None,
        version: None,
        uses: Vec::new(),
        notes,
    }
}

/// Whether the file names a requirements file (`open("requirements.txt")`,
/// `Path(__file__).parent / "requirements" / "base.txt"`): what it reads is read as itself.
fn reads_requirements_file(text: &str) -> bool {
    text.contains("requirements") && text.contains(".txt")
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Byte offsets where the value of `key` starts: after `key=` (a keyword argument or an
/// assignment) or `"key":` (a dict entry), past spaces and line continuations. `key ==` is
/// a comparison, not a value.
fn keyword_values(text: &str, key: &str) -> Vec<usize> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(found) = text[from..].find(key) {
        let start = from + found;
        let mut i = start + key.len();
        from = i;
        if start > 0 && is_ident(bytes[start - 1]) || bytes.get(i).is_some_and(|b| is_ident(*b)) {
            continue;
        }
        let quoted = start > 0 && matches!(bytes[start - 1], b'"' | b'\'');
        if quoted && bytes.get(i) == Some(&bytes[start - 1]) {
            i += 1;
        }
        i = skip_space(bytes, i);
        let sep = if quoted { b':' } else { b'=' };
        if bytes.get(i) != Some(&sep) || bytes.get(i + 1) == Some(&b'=') {
            continue;
        }
        out.push(skip_space(bytes, i + 1));
    }
    out
}

/// Past spaces, tabs and backslash-newline continuations (and newlines: inside `setup(…)`
/// a value may start on the next line).
fn skip_space(bytes: &[u8], mut i: usize) -> usize {
    while let Some(b) = bytes.get(i) {
        match b {
            b' ' | b'\t' | b'\r' | b'\n' | b'\\' => i += 1,
            _ => break,
        }
    }
    i
}

/// The string literal at `at` (`'…'`, `"…"`, with a `r`/`u` prefix), and the offset after it.
fn string_at(text: &str, at: usize) -> Option<(String, usize)> {
    let bytes = text.as_bytes();
    let mut i = at;
    if bytes
        .get(i)
        .is_some_and(|b| matches!(b, b'r' | b'u' | b'R' | b'U'))
    {
        i += 1;
    }
    let quote = *bytes.get(i).filter(|b| matches!(b, b'"' | b'\''))?;
    let start = i + 1;
    let mut j = start;
    while let Some(&b) = bytes.get(j) {
        match b {
            b'\\' => j += 2,
            b'\n' => return None,
            _ if b == quote => return Some((text.get(start..j)?.to_string(), j + 1)),
            _ => j += 1,
        }
    }
    None
}

/// The strings of the list literal opening at `at` (`[` or `(`), each with its offset;
/// `None` when there is no list there, it does not close, or an item is not a string (a
/// comprehension, a call, a name: not written out).
fn list_at(text: &str, at: usize) -> Option<Vec<(String, usize)>> {
    list_span(text, at).map(|(items, _)| items)
}

/// [`list_at`], with the offset after the list's closing bracket.
fn list_span(text: &str, at: usize) -> Option<(Vec<(String, usize)>, usize)> {
    let bytes = text.as_bytes();
    let close = match bytes.get(at)? {
        b'[' => b']',
        b'(' => b')',
        _ => return None,
    };
    let mut items = Vec::new();
    let mut i = at + 1;
    loop {
        i = skip_space(bytes, i);
        match bytes.get(i)? {
            b'#' => {
                i += text[i..].find('\n')?;
            }
            b',' => i += 1,
            &b if b == close => return Some((items, i + 1)),
            _ => {
                let (s, end) = string_at(text, i)?;
                items.push((s, i));
                i = end;
            }
        }
    }
}

/// `install_requires=NAME`: the list literal `NAME` is bound to (`NAME = [...]`, at the start
/// of a line), if any.
fn bound_list(text: &str, at: usize) -> Option<Vec<(String, usize)>> {
    bound(text, at, list_at)
}

/// The extras of the dict literal opening at `at` (`{"otel": ["opentelemetry-sdk"], …}`),
/// each with its requirements; `None` when there is no dict there or an entry is not a string
/// key with a list literal.
fn dict_at(text: &str, at: usize) -> Option<Extras> {
    let bytes = text.as_bytes();
    if bytes.get(at) != Some(&b'{') {
        return None;
    }
    let mut extras = Vec::new();
    let mut i = at + 1;
    loop {
        i = skip_space(bytes, i);
        match bytes.get(i)? {
            b'#' => i += text[i..].find('\n')?,
            b',' => i += 1,
            b'}' => return Some(extras),
            _ => {
                let (key, end) = string_at(text, i)?;
                i = skip_space(bytes, end);
                if bytes.get(i) != Some(&b':') {
                    return None;
                }
                i = skip_space(bytes, i + 1);
                let (items, end) = list_span(text, i)?;
                i = end;
                extras.push((key, items));
            }
        }
    }
}

/// The extras of `extras_require=…`: a dict literal, or a name bound to one.
type Extras = Vec<(String, Vec<(String, usize)>)>;

/// What `NAME` at `at` is bound to (`NAME = …` at the start of a line), read by `literal`.
fn bound<T>(text: &str, at: usize, literal: fn(&str, usize) -> Option<T>) -> Option<T> {
    let bytes = text.as_bytes();
    let end = (at..bytes.len())
        .find(|&i| !is_ident(bytes[i]))
        .unwrap_or(bytes.len());
    let name = text.get(at..end)?;
    // A call, attribute or subscript (`read_requirements()`, `reqs.split()`) is computed.
    if name.is_empty()
        || name.as_bytes()[0].is_ascii_digit()
        || matches!(bytes.get(end), Some(b'(' | b'.' | b'['))
    {
        return None;
    }
    keyword_values(text, name).into_iter().find_map(|value| {
        let line_start = text[..value].rfind('\n').map_or(0, |i| i + 1);
        let assigned = text[line_start..value].trim_start().starts_with(name);
        if assigned {
            literal(text, value)
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::check::inputs::manifests::dependencies_with_lines as names;

    #[test]
    fn a_literal_list_and_console_scripts() {
        let text = "from setuptools import setup\n\nsetup(\n    name=\"inventory\",\n    install_requires=[\n        \"fastapi>=0.110\",  # web\n        'opentelemetry_sdk>=1.27',\n    ],\n    extras_require={\"otel\": [\"opentelemetry-exporter-otlp\"]},\n    tests_require=[\"pytest\"],\n    entry_points={\"console_scripts\": [\"inventory = inventory.main:run\"]},\n)\n";
        let m = parse("inventory/setup.py", text);
        assert_eq!(m.name.as_deref(), Some("inventory"));
        assert_eq!(m.entry, Entry::Yes);
        assert_eq!(
            names(&m),
            [
                ("fastapi".to_string(), 6),
                ("opentelemetry-sdk".to_string(), 7)
            ]
        );
        assert!(m.notes.is_empty());
    }

    #[test]
    fn a_list_bound_to_a_name_and_poetrys_generated_setup() {
        let text = "REQUIRES = [\"flask\", \"opentelemetry-sdk\"]\nsetup(name='pricing', install_requires=REQUIRES)\n";
        let m = parse("pricing/setup.py", text);
        assert_eq!(m.entry, Entry::PythonEntry);
        let got: Vec<String> = names(&m).into_iter().map(|(n, _)| n).collect();
        assert_eq!(got, ["flask", "opentelemetry-sdk"]);
        let poetry = "install_requires = \\\n['opentelemetry-api>=0.13b0,<0.14',\n 'opentelemetry-sdk>=0.13b0,<0.14']\n\nsetup_kwargs = {\n    'name': 'splunk-opentelemetry',\n    'install_requires': install_requires,\n}\nsetup(**setup_kwargs)\n";
        let m = parse("setup.py", poetry);
        assert_eq!(m.name.as_deref(), Some("splunk-opentelemetry"));
        assert_eq!(
            names(&m),
            [
                ("opentelemetry-api".to_string(), 2),
                ("opentelemetry-sdk".to_string(), 3)
            ]
        );
    }

    #[test]
    fn computed_requirements_are_a_note_unless_a_requirements_file_is_read() {
        let reads = "def reqs():\n    with open('requirements.txt') as f:\n        return f.read().splitlines()\nsetup(install_requires=reqs())\n";
        let m = parse("s/setup.py", reads);
        assert!(m.facts.is_empty() && m.notes.is_empty());
        let computed = "import json\nsetup(\n    install_requires=[d for d in json.load(open('deps.json'))],\n)\n";
        let m = parse("s/setup.py", computed);
        assert!(m.facts.is_empty());
        assert_eq!(m.notes.len(), 1);
        assert_eq!(m.notes[0].2, Some(3));
        // A name bound to something else than a list is computed too.
        let m = parse(
            "s/setup.py",
            "DEPS = load()\nsetup(install_requires=DEPS)\n",
        );
        assert!(m.facts.is_empty() && m.notes.len() == 1);
    }

    #[test]
    fn only_setuptools_scripts_are_manifests() {
        assert!(is_setuptools_script(
            b"from setuptools import find_packages, setup\nsetup(name='x')\n"
        ));
        assert!(is_setuptools_script(
            b"from distutils.core import setup\nsetup(\n    name='x')\n"
        ));
        // A tracing module of the application called setup.py.
        assert!(!is_setuptools_script(
            b"from opentelemetry.sdk.trace import TracerProvider\n\ndef setup(app):\n    TracerProvider()\n"
        ));
    }

    #[test]
    fn extras_are_optional_dependencies() {
        let optional = |m: &Manifest| -> Vec<(String, String, u32)> {
            m.facts
                .iter()
                .filter_map(|f| match &f.kind {
                    FactKind::OptionalDependency { group, name } => {
                        Some((group.clone(), name.clone(), f.line))
                    }
                    _ => None,
                })
                .collect()
        };
        let text = "setup(\n    install_requires=['fastapi'],\n    extras_require={\n        # tracing\n        'otel': ['opentelemetry-sdk', 'uvicorn[standard]'],\n        \"pg\": (\"psycopg[binary]\",),\n    },\n)\n";
        let m = parse("s/setup.py", text);
        assert_eq!(names(&m), [("fastapi".to_string(), 2)]);
        assert_eq!(
            optional(&m),
            [
                ("otel".to_string(), "opentelemetry-sdk".to_string(), 5),
                ("otel".to_string(), "uvicorn".to_string(), 5),
                ("pg".to_string(), "psycopg".to_string(), 6),
            ]
        );
        let bound = "EXTRAS = {\"otel\": [\"opentelemetry-sdk\"]}\nsetup(extras_require=EXTRAS)\n";
        assert_eq!(optional(&parse("s/setup.py", bound)).len(), 1);
        for text in [
            "setup(extras_require={'otel': deps})",
            "setup(extras_require={'otel': ['a'",
            "setup(extras_require={otel: ['a']})",
            "setup(extras_require=dict(otel=['a']))",
        ] {
            assert!(optional(&parse("s/setup.py", text)).is_empty(), "{text}");
        }
    }

    #[test]
    fn huge_setup_py_files_stay_linear() {
        // 200,000 requirements in one list, and 50,000 `install_requires=X` with no X bound.
        let list: String = (0..200_000).map(|i| format!("\"pkg{i}\",\n")).collect();
        let m = parse(
            "s/setup.py",
            &format!("setup(install_requires=[\n{list}])\n"),
        );
        assert_eq!(m.facts.len(), 200_000);
        let many = "setup(install_requires=X)\n".repeat(50_000);
        let m = parse("s/setup.py", &many);
        assert!(m.facts.is_empty() && m.notes.len() == MAX_INSTALL_REQUIRES);
    }

    #[test]
    fn malformed_setup_py_never_panics() {
        for text in [
            "setup(install_requires=[\"flask\"",
            "setup(install_requires=[\"fla",
            "install_requires=",
            "install_requires",
            "name=",
            "setup(install_requires=X)\nX = [",
            "install_requires=install_requires",
            "x = 'install_requires'",
            "setup(install_requires=['a' 'b', 3])",
            "\u{e9}install_requires=[\"\u{e9}\"]",
            "install_requires == [\"flask\"]",
        ] {
            let m = parse("s/setup.py", text);
            assert!(m.facts.len() <= 1, "{text:?}");
        }
    }
}
