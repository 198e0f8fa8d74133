//! `tracegate coverage`: the weekly propagation-coverage metric, its history, and the
//! leadership report (issue #17; the formula is published in `docs/coverage.md`).
//!
//! Data flows one way:
//!
//! 1. [`catalog`]: the services — found by `check`'s discovery under one or more paths, declared
//!    in `tracegate.yaml` or Backstage `catalog-info.yaml`, or read from `check --format json`
//!    shards — each with its owner and its static verdict (waivers honoured and listed);
//! 2. [`runtime`]: optional runtime verdicts from traces (a backend's search API, a tracegate
//!    `--store` directory, `verify --format json` results), from the service graph;
//! 3. [`snapshot`]: catalog + runtime → one week's [`model::Snapshot`];
//! 4. [`history`]: the SQLite history (one snapshot per ISO week, replaced atomically);
//! 5. [`summary`]: snapshot + history → the [`model::CoverageReport`] every renderer in
//!    `report::coverage` consumes.

pub mod catalog;
pub mod error;
pub mod history;
pub mod model;
pub mod runtime;
pub mod snapshot;
pub mod summary;
pub mod week;

pub use error::CoverageError;
pub use model::{CoverageReport, Snapshot};
pub use week::IsoWeek;
