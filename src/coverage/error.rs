//! Errors of the coverage pipeline: each a one-line message naming the file (and line where
//! known). Every one of them is an input or configuration error: exit code 2.

/// Why a coverage run could not produce a report.
#[derive(Debug, thiserror::Error)]
pub enum CoverageError {
    /// A week string that is not an ISO week (`2026-W48`).
    #[error("{0}")]
    Week(String),
    /// The history database: corrupt, locked, unwritable, from a newer tracegate.
    #[error("{0}")]
    History(String),
    /// A catalog input: a path without services, an unreadable or malformed file
    /// (`tracegate.yaml`, `catalog-info.yaml`, `CODEOWNERS`, a `check --format json` shard).
    #[error("{0}")]
    Catalog(String),
    /// A trace input: an unreachable or garbage-answering backend, an unreadable store
    /// directory, a malformed `verify --format json` file.
    #[error("{0}")]
    Runtime(String),
}
