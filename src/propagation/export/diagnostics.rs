//! What the exporter has to say (export enabled or disabled, spans dropped, a destination given
//! up) goes to a [`DiagnosticSink`] the service chooses, so it can route the lines to its own
//! logging. The library never prints: the only place that writes to stderr is the default
//! sink, [`stderr_sink`] (one line per diagnostic, as before the hook existed).
//!
//! ```
//! use std::sync::Arc;
//! use tracegate::propagation::export::{Diagnostic, DiagnosticSink, Level};
//!
//! let sink: DiagnosticSink = Arc::new(|d: &Diagnostic| {
//!     // e.g. tracing::warn!(destination = ?d.destination, "{}", d.message)
//!     let _ = (d.level == Level::Warn, &d.message);
//! });
//! ```

use std::fmt;
use std::sync::Arc;

/// How much a diagnostic matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// A state worth knowing once (export enabled and where to).
    Info,
    /// Spans are lost or export is off (the service keeps serving).
    Warn,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Info => "info",
            Level::Warn => "warn",
        })
    }
}

/// One diagnostic. The message never contains a header value or other secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// How much it matters.
    pub level: Level,
    /// One line of English, without the `tracegate export:` prefix.
    pub message: String,
    /// The destination it is about, when it is about one.
    pub destination: Option<String>,
}

impl Diagnostic {
    pub(crate) fn info(message: impl Into<String>) -> Self {
        Diagnostic {
            level: Level::Info,
            message: message.into(),
            destination: None,
        }
    }

    pub(crate) fn warn(message: impl Into<String>) -> Self {
        Diagnostic {
            level: Level::Warn,
            message: message.into(),
            destination: None,
        }
    }

    pub(crate) fn about(mut self, destination: &str) -> Self {
        self.destination = Some(destination.to_owned());
        self
    }
}

/// `tracegate export: <message>` (the line the default sink writes).
impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tracegate export: {}", self.message)
    }
}

/// Receives the exporter's diagnostics. Called from the export thread and, for the first
/// queue-full drop, from the thread ending a span: keep it quick and non-blocking.
pub type DiagnosticSink = Arc<dyn Fn(&Diagnostic) + Send + Sync>;

/// The default sink: one line on stderr per diagnostic (`tracegate export: …`).
pub fn stderr_sink() -> DiagnosticSink {
    Arc::new(|diagnostic: &Diagnostic| {
        use std::io::Write;
        // A closed or full stderr must not take the service down: the line is lost.
        let _ = writeln!(std::io::stderr().lock(), "{diagnostic}");
    })
}
