//! Errors that stop a scan (exit code 2): each names the file and, where known, the line.

use std::path::PathBuf;

/// Why a scan or a rule pack could not be processed.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// The root to scan does not exist or is not a directory.
    #[error("{}: not a readable directory: {reason}", path.display())]
    Root {
        /// The root given.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// An application manifest (Cargo.toml, package.json, go.mod, pom.xml, …) is malformed.
    #[error("{file}{}: invalid {what}: {reason}", line_suffix(*line))]
    Manifest {
        /// Path of the manifest (relative to the scanned root).
        file: String,
        /// 1-based line, where known.
        line: Option<u32>,
        /// The manifest kind ("Cargo manifest", "package.json", …).
        what: &'static str,
        /// The parser's message.
        reason: String,
    },
    /// A rule pack is malformed (unknown key, bad signal, duplicate ID…).
    #[error("{file}{}: invalid rule pack: {reason}", line_suffix(*line))]
    RulePack {
        /// The rule pack's path.
        file: String,
        /// 1-based line, where known.
        line: Option<u32>,
        /// What is wrong.
        reason: String,
    },
    /// A declared service (tracegate.yaml) points at a path that does not exist.
    #[error(
        "{config}{}: service {name}: path {path} does not exist in the scanned tree",
        line_suffix(*line)
    )]
    DeclaredService {
        /// The configuration file declaring it.
        config: String,
        /// 1-based line of the declaration, where known.
        line: Option<u32>,
        /// The declared name.
        name: String,
        /// The declared path.
        path: String,
    },
    /// An `exclude:` entry of the configuration is not a valid glob.
    #[error("{config}: exclude: {reason}")]
    Exclude {
        /// The configuration file.
        config: String,
        /// What is wrong.
        reason: String,
    },
    /// Reading a file or directory failed in a way that prevents the scan.
    #[error("{}: {reason}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
}

impl CheckError {
    /// The same error with a file path relative to the scanned root made relative to where
    /// the user pointed (`services/web/package.json` rather than `package.json` for
    /// `check services/web`), so the message names a file the user can open.
    pub fn under_root(self, root: &std::path::Path) -> CheckError {
        if root == std::path::Path::new(".") || root.as_os_str().is_empty() {
            return self;
        }
        match self {
            CheckError::Manifest {
                file,
                line,
                what,
                reason,
            } => CheckError::Manifest {
                file: root.join(&file).display().to_string(),
                line,
                what,
                reason,
            },
            other => other,
        }
    }
}

fn line_suffix(line: Option<u32>) -> String {
    line.map(|l| format!(":{l}")).unwrap_or_default()
}
