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

use super::python::requirement_name;
use crate::check::facts::{Fact, FactKind};

/// The dependency a `RUN opentelemetry-bootstrap -a install` stands for.
pub const BOOTSTRAP: &str = "opentelemetry-bootstrap";

/// Dependency facts of one `RUN` instruction's text (after `RUN`).
pub fn installs(rel: &str, run: &str, line: u32) -> Vec<Fact> {
    let mut out = Vec::new();
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
