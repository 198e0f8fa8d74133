//! The data of the coverage pipeline: catalog entries, runtime verdicts, one week's
//! [`Snapshot`] (what the history stores), and the [`CoverageReport`] every renderer consumes
//! (its JSON form is the contract in DESIGN.md: `week`, `services_total`,
//! `services_propagating`, `coverage`, `previous`, `by_team`, `regressions`, `services`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::IsoWeek;

/// The team of a service no owner source names.
pub const UNOWNED: &str = "(unowned)";

/// A service's static verdict in the coverage catalog: `check`'s, or `not_found` for a
/// declared service that no discovery found in code (it still counts in the denominator).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StaticVerdict {
    /// `check` passes it.
    Pass,
    /// `check` fails it (the failing rules are listed).
    Fail,
    /// Its language or framework is not analysed: never counted as propagating.
    Unknown,
    /// Declared (tracegate.yaml, Backstage) but not found in the code scanned.
    NotFound,
}

/// A service's runtime verdict from the traces read (`runtime` in JSON). `pass` means
/// propagating, `fail` broken; absent (`null`) when no traces were given.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuntimeVerdict {
    /// Propagating: its SERVER spans have parents in its callers' CLIENT spans, and its
    /// CLIENT spans have SERVER children in the services it calls (as far as they are seen).
    Pass,
    /// Broken: it starts new traces while an instrumented caller's CLIENT span points at it,
    /// or its spans are orphans, or it has CLIENT roots. The edges are named.
    Fail,
    /// No span of it in the window.
    Unseen,
}

/// Where one owner came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OwnerSource {
    /// `services[].team` in `tracegate.yaml`.
    TracegateYaml,
    /// `spec.owner` of a Backstage `catalog-info.yaml` Component.
    Backstage,
    /// The last matching rule of a `CODEOWNERS` file.
    Codeowners,
}

/// A waiver that suppressed at least one of a service's findings (listed in the report;
/// those expiring within two weeks are called out).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaiverNote {
    /// Rule ID.
    pub rule: String,
    /// The reason given.
    pub reason: String,
    /// Last day it applies, `YYYY-MM-DD`.
    pub expires: String,
}

/// One service of the catalog, with its static verdict.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogService {
    /// Name (as `check` reports it; the name runtime verdicts are matched by).
    pub name: String,
    /// Owning team, when an owner source names one.
    pub team: Option<String>,
    /// Where the team came from.
    pub owner_source: Option<OwnerSource>,
    /// The repository (scanned path or shard) it was found in, as given.
    pub repository: String,
    /// Its directory relative to that repository, when found in code.
    pub path: Option<String>,
    /// Static verdict.
    pub verdict: StaticVerdict,
    /// Rule IDs of the findings that fail it (sorted, unique).
    pub failing_rules: Vec<String>,
    /// Waivers that suppressed its findings.
    pub waivers: Vec<WaiverNote>,
}

/// The catalog: every service counted in the denominator.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalog {
    /// Services sorted by name (then repository).
    pub services: Vec<CatalogService>,
    /// What it was read from (paths scanned, shard files), for the report's evidence line.
    pub sources: Vec<String>,
    /// What the reader noticed and the report should say (a name declared twice…).
    pub notes: Vec<String>,
}

/// A caller → callee edge of the runtime service graph.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuntimeEdge {
    /// Calling service.
    pub caller: String,
    /// Called service.
    pub callee: String,
    /// Calls seen paired (a CLIENT span of the caller parenting a SERVER span of the callee).
    pub paired: u64,
    /// Calls seen broken (the caller's CLIENT span without a child, while the callee started
    /// a new trace inside it).
    pub broken: u64,
}

/// The runtime view of one service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceRuntime {
    /// Verdict.
    pub verdict: RuntimeVerdict,
    /// Why it is broken, one line each ("starts new traces while orchestration calls it: 12
    /// of 40 calls"); empty when propagating or unseen.
    pub reasons: Vec<String>,
    /// Spans of it read.
    pub spans: u64,
}

/// What the traces say: a verdict per service seen, and the service graph.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuntimeFindings {
    /// Service name (`service.name`) → its runtime view. Services of the catalog that are
    /// not in here are `unseen`.
    pub services: BTreeMap<String, ServiceRuntime>,
    /// Edges sorted by caller then callee.
    pub edges: Vec<RuntimeEdge>,
    /// Traces read.
    pub traces: u64,
    /// Spans read.
    pub spans: u64,
    /// Where and when the traces were read, as the report names it ("tempo
    /// http://tempo:3200, 2026-11-23T10:00Z…2026-11-30T10:00Z (a sample: the window held
    /// more)"); the counts are `traces` and `spans`.
    pub source: String,
    /// Whether the source held more traces than were read (a bounded sample).
    pub sampled: bool,
}

/// One service in a snapshot: the catalog entry, the runtime view, and the verdict.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceCoverage {
    /// Name.
    pub name: String,
    /// Team ([`UNOWNED`] when no owner source names one).
    pub team: String,
    /// Repository it was found in.
    pub repository: String,
    /// Static verdict (`static` in JSON).
    #[serde(rename = "static")]
    pub static_verdict: StaticVerdict,
    /// Runtime verdict (`runtime` in JSON; `null` when no traces were given).
    pub runtime: Option<RuntimeVerdict>,
    /// Passes statically and is not broken at runtime.
    pub propagating: bool,
    /// Rule IDs that fail it statically.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failing_rules: Vec<String>,
    /// Why it is broken at runtime.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runtime_reasons: Vec<String>,
    /// Waivers honoured.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waivers: Vec<WaiverNote>,
}

/// One week's measurement: what the history stores.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The ISO week.
    pub week: IsoWeek,
    /// When it was recorded (RFC 3339, UTC).
    pub recorded_at: String,
    /// Services sorted by name.
    pub services: Vec<ServiceCoverage>,
    /// The runtime service graph, when traces were given.
    pub edges: Vec<RuntimeEdge>,
    /// The evidence each number rests on: catalog sources, the trace source.
    pub evidence: Evidence,
    /// What the run noticed (services seen in traces but not in the catalog…).
    pub notes: Vec<String>,
}

/// What a snapshot's numbers rest on.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// Paths scanned or shard files ingested.
    pub catalog: Vec<String>,
    /// The trace source, when traces were given.
    pub runtime: Option<String>,
    /// Traces and spans read.
    pub traces: u64,
    /// Spans read.
    pub spans: u64,
}

/// The week a report compares with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PreviousWeek {
    /// The most recent recorded week before the report's.
    pub week: IsoWeek,
    /// Its coverage.
    pub coverage: f64,
}

/// One team's numbers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TeamCoverage {
    /// Team name ([`UNOWNED`] for services without an owner).
    pub team: String,
    /// Services.
    pub total: usize,
    /// Propagating services.
    pub propagating: usize,
    /// `propagating / total` (rounded to 4 decimals).
    pub coverage: f64,
    /// The team's coverage in the previous week, when it had services then.
    pub previous: Option<f64>,
}

/// How many services a rule fails.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleCount {
    /// Rule ID.
    pub rule: String,
    /// Services it fails.
    pub services: usize,
}

/// A waiver expiring within two weeks of the report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpiringWaiver {
    /// Service it applies to.
    pub service: String,
    /// Team of that service.
    pub team: String,
    /// The waiver.
    #[serde(flatten)]
    pub waiver: WaiverNote,
}

/// One week of the trend.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrendPoint {
    /// The week.
    pub week: IsoWeek,
    /// Services that week.
    pub total: usize,
    /// Propagating that week.
    pub propagating: usize,
    /// Overall coverage that week.
    pub coverage: f64,
    /// Team → coverage that week.
    pub by_team: BTreeMap<String, f64>,
}

/// The report: a snapshot compared with the history. `--format json` prints it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CoverageReport {
    /// The week reported.
    pub week: IsoWeek,
    /// Services in the catalog.
    pub services_total: usize,
    /// Services propagating.
    pub services_propagating: usize,
    /// `services_propagating / services_total`, rounded to 4 decimals (0 without services).
    pub coverage: f64,
    /// The most recent earlier week recorded, when there is one.
    pub previous: Option<PreviousWeek>,
    /// Per team, sorted by team name.
    pub by_team: Vec<TeamCoverage>,
    /// Services propagating in the previous week and not in this one, sorted.
    pub regressions: Vec<String>,
    /// Every service, sorted by name.
    pub services: Vec<ServiceCoverage>,
    /// Services absent from the previous week that do not propagate, sorted.
    pub new_without_propagation: Vec<String>,
    /// The rules failing the most services, most first (ties by rule ID).
    pub failing_rules: Vec<RuleCount>,
    /// Waivers expiring within two weeks of `today`, soonest first.
    pub expiring_waivers: Vec<ExpiringWaiver>,
    /// Up to 12 weeks ending with this one, oldest first (weeks without a snapshot left out).
    pub trend: Vec<TrendPoint>,
    /// The runtime service graph, when traces were given.
    pub edges: Vec<RuntimeEdge>,
    /// What the numbers rest on.
    pub evidence: Evidence,
    /// Notes carried from the snapshot.
    pub notes: Vec<String>,
}

/// `part / whole` rounded to 4 decimals; 0 when `whole` is 0. Never rounds to 1 while a
/// part is missing (19,999 of 20,000 is 0.9999, not 1), nor to 0 while some part is there.
pub fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        return 0.0;
    }
    // Counts stay far below 2^52: exact as f64.
    #[allow(clippy::cast_precision_loss)]
    let raw = part as f64 / whole as f64;
    let rounded = (raw * 10_000.0).round() / 10_000.0;
    if part < whole && rounded >= 1.0 {
        0.9999
    } else if part > 0 && rounded <= 0.0 {
        0.0001
    } else {
        rounded
    }
}

#[cfg(test)]
mod tests {
    use super::ratio;

    #[test]
    fn ratio_rounds_to_four_decimals_and_handles_zero() {
        assert!((ratio(97, 120) - 0.8083).abs() < 1e-12);
        assert!((ratio(2, 3) - 0.6667).abs() < 1e-12);
        assert!(ratio(0, 0).abs() < 1e-12);
        assert!((ratio(5, 5) - 1.0).abs() < 1e-12);
        // a missing service never reads as 100 %, a present one never as 0 %
        assert!((ratio(19_999, 20_000) - 0.9999).abs() < 1e-12);
        assert!((ratio(1, 20_001) - 0.0001).abs() < 1e-12);
    }
}
