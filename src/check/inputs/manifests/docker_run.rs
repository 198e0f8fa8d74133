//! What a Dockerfile's `RUN` installs that decides what Python's `opentelemetry-instrument`
//! instruments: it instruments only the libraries whose instrumentation package is installed
//! (each registers an `opentelemetry_instrumentor` entry point).
//!
//! - `opentelemetry-bootstrap -a install` (`--action=install`, or its `-a requirements` piped
//!   into pip) installs the instrumentation of every library installed: the dependency
//!   `opentelemetry-bootstrap`;
//! - `pip install opentelemetry-instrumentation-requests …` (`pip3`, `python -m pip`,
//!   `uv pip`): a dependency per OpenTelemetry package named (`opentelemetry-*`: the
//!   instrumentations, the bundle `opentelemetry-contrib-instrumentations`, and the SDK, the
//!   distro, the exporters — an image may install the SDK its code builds this way, the
//!   application's own packages being in its requirements).
//!
//! Other packages a `RUN` installs are not read (the manifests say what the code depends on).
//! The extras and groups it installs are ([`FactKind::InstallsGroup`]): `pip install
//! ".[otel,pg]"` (any path with extras, `-e`, `uv pip`), `pip install --group otel`,
//! `poetry install --with otel` / `--only otel` / `-E otel` / `--extras "otel pg"` /
//! `--all-extras` / `--all-groups`, `uv sync --extra otel` / `--group otel` / `--all-extras` /
//! `--all-groups`, `pipenv install --categories "packages otel"`: the manifest's dependencies
//! of those groups count.

use super::python::requirement_name;
use crate::check::facts::{Fact, FactKind};

/// The dependency a `RUN opentelemetry-bootstrap -a install` stands for.
pub const BOOTSTRAP: &str = "opentelemetry-bootstrap";

/// Dependency facts of one `RUN` instruction's text (after `RUN`).
pub fn installs(rel: &str, run: &str, line: u32) -> Vec<Fact> {
    let mut out: Vec<Fact> = groups(run)
        .into_iter()
        .map(|group| Fact::new(FactKind::InstallsGroup { group }, rel, line))
        .collect();
    if !run.contains("opentelemetry-") {
        return out;
    }
    let dep = |name: String| Fact::new(FactKind::Dependency { name }, rel, line);
    for command in run.split(['&', ';']).map(str::trim) {
        let words: Vec<&str> = command.split_whitespace().collect();
        if let Some(at) = words.iter().position(|w| w.ends_with(BOOTSTRAP)) {
            // `-a install`, `--action=install`, or what it prints piped into pip.
            if words[at + 1..].iter().any(|w| w.ends_with("install")) {
                out.push(dep(BOOTSTRAP.to_string()));
            }
            continue;
        }
        let Some(install) = words
            .windows(2)
            .position(|w| w[1] == "install" && is_pip(w[0]))
        else {
            continue;
        };
        for word in &words[install + 2..] {
            if word.starts_with('-') || word.starts_with('|') {
                continue;
            }
            let word = word.trim_matches(['"', '\'']);
            if let Some(name) = requirement_name(word) {
                if name.starts_with("opentelemetry-") {
                    out.push(dep(name));
                }
            }
        }
    }
    out
}

/// The extras and groups one `RUN` installs (`*`: all of them).
fn groups(run: &str) -> Vec<String> {
    let mut out = Vec::new();
    if !run.contains("install") && !run.contains("sync") {
        return out;
    }
    for command in run.split(['&', ';', '|']).map(str::trim) {
        let words = shell_words(command);
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        let tool = words.windows(2).position(|w| {
            (w[1] == "install" && (is_pip(w[0]) || w[0] == "poetry" || w[0] == "pipenv"))
                || (w[1] == "sync" && (w[0] == "uv" || w[0] == "pipenv"))
        });
        let Some(at) = tool else {
            continue;
        };
        let pip = is_pip(words[at]);
        let mut split = |list: &str| {
            out.extend(
                list.split([',', ' '])
                    .map(str::trim)
                    .filter(|g| !g.is_empty())
                    .map(str::to_string),
            )
        };
        let mut rest = words[at + 2..].iter();
        while let Some(word) = rest.next() {
            // `--with=a,b` or `--with a,b`.
            let (flag, inline) = match word.split_once('=') {
                Some((f, v)) if f.starts_with("--") => (f, Some(v)),
                _ => (*word, None),
            };
            match flag {
                "--all-extras" | "--all-groups" => split("*"),
                "--with" | "--only" | "-E" | "--extras" | "--extra" | "--group"
                | "--categories" => {
                    if let Some(list) = inline.or_else(|| rest.next().copied()) {
                        split(list);
                    }
                }
                // `.[otel,pg]`, `/app[otel]`, `-e .[otel]`: a local path with extras.
                _ if pip && !word.starts_with('-') => {
                    if let Some((path, extras)) =
                        word.strip_suffix(']').and_then(|w| w.split_once('['))
                    {
                        if path.starts_with(['.', '/']) || path.is_empty() {
                            split(extras);
                        }
                    }
                }
                _ => {}
            }
        }
    }
    out
}

/// A command's words, quotes removed (`--extras "pg redis"` is two words).
fn shell_words(command: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote = None;
    for c in command.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (None, '"' | '\'') => quote = Some(c),
            (None, c) if c.is_whitespace() => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            (_, c) => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// `pip`, `pip3`, `pip3.12`, a path to one, or `-m pip` / `uv pip`'s `pip`.
fn is_pip(word: &str) -> bool {
    let name = word.rsplit('/').next().unwrap_or(word);
    name == "pip"
        || name
            .strip_prefix("pip")
            .is_some_and(|v| v.chars().all(|c| c.is_ascii_digit() || c == '.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(run: &str) -> Vec<String> {
        installs("Dockerfile", run, 3)
            .into_iter()
            .filter_map(|f| match f.kind {
                FactKind::Dependency { name } => Some(name),
                _ => None,
            })
            .collect()
    }

    fn groups_of(run: &str) -> Vec<String> {
        installs("Dockerfile", run, 3)
            .into_iter()
            .filter_map(|f| match f.kind {
                FactKind::InstallsGroup { group } => Some(group),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn extras_and_groups_installed() {
        for (run, expected) in [
            (
                "pip install --no-cache-dir \".[otel,postgres]\"",
                &["otel", "postgres"][..],
            ),
            (
                "pip install -e '/app[otel]' && pip install gunicorn",
                &["otel"][..],
            ),
            ("uv pip install --system .[otel]", &["otel"][..]),
            (
                "python -m pip install --group observability .",
                &["observability"][..],
            ),
            (
                "poetry install --no-root --without dev --with observability,tracing",
                &["observability", "tracing"][..],
            ),
            (
                "poetry install --only=main -E otel --extras \"pg redis\"",
                &["main", "otel", "pg", "redis"][..],
            ),
            ("poetry install --all-extras", &["*"][..]),
            (
                "uv sync --frozen --no-dev --extra otel --group prod",
                &["otel", "prod"][..],
            ),
            ("uv sync --all-groups", &["*"][..]),
            (
                "pipenv install --system --deploy --categories=\"packages otel\"",
                &["packages", "otel"][..],
            ),
            // A package of the registry with extras installs nothing of the tree's groups;
            // `--without` leaves groups out.
            (
                "pip install 'uvicorn[standard]' opentelemetry-distro[otlp]",
                &[][..],
            ),
            ("poetry install --without observability", &[][..]),
            ("apt-get install -y --with-recommends libpq5", &[][..]),
        ] {
            assert_eq!(groups_of(run), expected, "{run}");
        }
    }

    #[test]
    fn bootstrap_and_named_instrumentations_are_installed() {
        for (run, expected) in [
            ("pip install --no-cache-dir -r requirements.txt && opentelemetry-bootstrap -a install", &["opentelemetry-bootstrap"][..]),
            ("opentelemetry-bootstrap --action=install", &["opentelemetry-bootstrap"][..]),
            ("opentelemetry-bootstrap -a requirements | pip install -r /dev/stdin", &["opentelemetry-bootstrap"][..]),
            // Printed only: nothing installed.
            ("opentelemetry-bootstrap -a requirements > otel.txt", &[][..]),
            ("pip install --no-cache-dir opentelemetry-distro 'opentelemetry-instrumentation-fastapi==0.48b0' opentelemetry-instrumentation-httpx", &["opentelemetry-distro", "opentelemetry-instrumentation-fastapi", "opentelemetry-instrumentation-httpx"][..]),
            ("python -m pip install opentelemetry-instrumentation-requests>=0.48b0", &["opentelemetry-instrumentation-requests"][..]),
            ("uv pip install --system opentelemetry-contrib-instrumentations", &["opentelemetry-contrib-instrumentations"][..]),
            // The SDK, the distro (with an extra) and the exporters count too.
            ("pip install opentelemetry-sdk 'opentelemetry-distro[otlp]' opentelemetry-exporter-otlp", &["opentelemetry-sdk", "opentelemetry-distro", "opentelemetry-exporter-otlp"][..]),
            // Other packages are the manifests' business; a requirements file is read as
            // itself; pipx is not pip.
            ("pip install flask gunicorn -r requirements/prod.txt", &[][..]),
            ("pipx install opentelemetry-instrumentation-requests", &[][..]),
        ] {
            assert_eq!(names(run), expected, "{run}");
        }
    }
}
