//! The data `check` produces and every renderer consumes (DESIGN.md, "Contracts").
//!
//! The seam: the *engine* (`discover` + analyzers + rule packs) turns a repository into a
//! [`Scan`] of services with raw findings at their rules' default severities; the *policy*
//! step applies `tracegate.yaml` (severity overrides, waivers) and `--fail-on`, giving a
//! [`CheckReport`]; `report/` renders it. Checkers never print; renderers never decide.

use serde::{Deserialize, Serialize};

pub use crate::coverage::model::{OwnerSource, WaiverNote};

/// How serious a finding is. Ordered: `Note < Warning < Error`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Informational.
    Note,
    /// Should be fixed.
    Warning,
    /// Blocks the deployment at the default `--fail-on error`.
    Error,
}

/// A service's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Its stack is analysed and nothing at or above `--fail-on` applies.
    Pass,
    /// A finding at or above `--fail-on` applies.
    Fail,
    /// Its language or framework is not analysed: listed with a note, never counted as passing.
    Unknown,
}

/// A service's language, as reported in output (`"rust"`, `"go"`, …).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// Rust (Cargo).
    Rust,
    /// Go (go.mod).
    Go,
    /// Python.
    Python,
    /// JavaScript (package.json).
    Javascript,
    /// TypeScript (package.json + tsconfig / .ts sources).
    Typescript,
    /// Java / JVM (Maven, Gradle).
    Java,
    /// .NET (csproj).
    Dotnet,
    /// PHP (`composer.json`, a `php` base image): named, not analysed.
    Php,
    /// Ruby (`Gemfile`, a `ruby` base image): named, not analysed.
    Ruby,
    /// Elixir (`mix.exs`, an `elixir` base image): named, not analysed.
    Elixir,
    /// C++ (`CMakeLists.txt` with an executable, a `gcc` build image): named, not analysed.
    Cpp,
    /// An nginx server built from the repository's own configuration (a Dockerfile `FROM
    /// nginx`): named, not analysed.
    Nginx,
    /// A language that could not be told (a bare Kubernetes workload, a directory of files
    /// tracegate does not read): not analysed.
    Unknown,
}

impl Language {
    /// Whether tracegate analyses services in it (the others' verdict is `unknown`).
    pub fn is_analysed(self) -> bool {
        !matches!(
            self,
            Language::Php
                | Language::Ruby
                | Language::Elixir
                | Language::Cpp
                | Language::Nginx
                | Language::Unknown
        )
    }

    /// The key a rule pack uses for the language (`help_by_language`, signal lists), for
    /// the analysed languages.
    pub fn pack_key(self) -> Option<&'static str> {
        Some(match self {
            Language::Rust => "rust",
            Language::Go => "go",
            Language::Python => "python",
            Language::Javascript => "javascript",
            Language::Typescript => "typescript",
            Language::Java => "java",
            Language::Dotnet => "dotnet",
            _ => return None,
        })
    }

    /// Its name in prose (`PHP`, `C++`).
    pub fn display_name(self) -> &'static str {
        match self {
            Language::Rust => "Rust",
            Language::Go => "Go",
            Language::Python => "Python",
            Language::Javascript => "JavaScript",
            Language::Typescript => "TypeScript",
            Language::Java => "Java",
            Language::Dotnet => ".NET",
            Language::Php => "PHP",
            Language::Ruby => "Ruby",
            Language::Elixir => "Elixir",
            Language::Cpp => "C++",
            Language::Nginx => "nginx",
            Language::Unknown => "its language",
        }
    }
}

/// One finding: a rule that fired at a place.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable rule ID, e.g. `TG102`.
    pub rule: String,
    /// Effective severity (after configuration).
    pub severity: Severity,
    /// What is wrong, specific to this place.
    pub message: String,
    /// Path relative to the scanned root, with `/` separators; `null` in JSON when the
    /// finding is about the repository as a whole (the key is always there).
    #[serde(default)]
    pub file: Option<String>,
    /// 1-based line, where known (`null` in JSON otherwise: the key is always there).
    #[serde(default)]
    pub line: Option<u32>,
    /// How to fix it, with a link to the onboarding checklist section.
    pub help: String,
}

/// A discovered service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    /// Name from the manifest, the workload, or `tracegate.yaml`.
    pub name: String,
    /// Directory relative to the scanned root, `/` separators (`.` for the root itself).
    pub path: String,
    /// Main language.
    pub language: Language,
}

/// A service with its findings at rule-default severities, as the engine found them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScannedService {
    /// The service.
    pub service: Service,
    /// Whether its stack is analysed (false → verdict `unknown`).
    pub analysed: bool,
    /// Raw findings.
    pub findings: Vec<Finding>,
    /// Rules not evaluated because a rule they come `after` fired: (rule, that rule).
    pub not_evaluated: Vec<(String, String)>,
}

/// What a piece of infrastructure is (`"database"`, `"log-shipper"`… in JSON).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InfrastructureKind {
    /// PostgreSQL, MySQL, MongoDB, Cassandra…
    Database,
    /// Redis, Valkey, Memcached.
    Cache,
    /// Kafka, RabbitMQ, NATS, Pulsar…
    Broker,
    /// ZooKeeper, etcd, Consul.
    Coordination,
    /// Fluent Bit, Fluentd, Vector, Logstash, Filebeat, Promtail.
    LogShipper,
    /// The OpenTelemetry Collector, a Jaeger agent.
    Collector,
    /// A tracing backend: Jaeger, Tempo, Zipkin.
    TracingBackend,
    /// Prometheus, Alertmanager, exporters.
    Metrics,
    /// Grafana, Kibana, OpenSearch Dashboards.
    Dashboard,
    /// Elasticsearch, OpenSearch.
    Search,
    /// MinIO.
    ObjectStorage,
    /// An edge or mesh proxy run from its published image (Envoy, ingress-nginx, nginx,
    /// Traefik, HAProxy, Istio's proxy).
    Proxy,
    /// tracegate itself (`verify` / `collect` Jobs).
    Verifier,
    /// Another third-party image of a known publisher (`bitnami/…`).
    Other,
}

/// One place a piece of infrastructure is defined.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct InfrastructurePlace {
    /// File relative to the root, `/` separators.
    pub file: String,
    /// 1-based line of its name.
    pub line: u32,
    /// What defines it there: a Kubernetes kind (`StatefulSet`, `DaemonSet`…) or `compose`.
    pub workload: String,
}

/// Infrastructure the repository deploys beside its services (the JSON contract's
/// `infrastructure[]`): listed, never judged, never a service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Infrastructure {
    /// The workload's or compose service's name.
    pub name: String,
    /// What it is.
    pub kind: InfrastructureKind,
    /// The image of its first place, as written.
    pub image: String,
    /// Every place it is defined (compose and Kubernetes), sorted.
    pub places: Vec<InfrastructurePlace>,
}

/// What the engine found in a repository.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scan {
    /// Services, sorted by path then name.
    pub services: Vec<ScannedService>,
    /// Infrastructure, sorted by name.
    pub infrastructure: Vec<Infrastructure>,
    /// Findings that belong to no service (repository-level configuration, ingress…).
    pub repository_findings: Vec<Finding>,
    /// Backstage descriptors (`catalog-info.yaml`) the walk found, relative to the root,
    /// sorted: read for owners (`check::owners`).
    pub descriptor_files: Vec<String>,
}

/// A service in the final report (the JSON contract's `services[]`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceReport {
    /// Name.
    pub name: String,
    /// Path relative to the root.
    pub path: String,
    /// Owning team, when an owner source names one (`tracegate.yaml`, Backstage,
    /// `CODEOWNERS`; omitted from JSON otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// Which source named the team (not in JSON).
    #[serde(skip)]
    pub owner_source: Option<OwnerSource>,
    /// Language.
    pub language: Language,
    /// Verdict under the chosen `--fail-on`.
    pub verdict: Verdict,
    /// Findings after severity overrides and waivers.
    pub findings: Vec<Finding>,
    /// The live waivers that suppressed at least one of its findings, in the configuration's
    /// order (omitted from JSON when none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waived: Vec<WaiverNote>,
    /// Rules not evaluated because a rule they come `after` fired: (rule, that rule). Not
    /// part of the JSON contract; the JUnit report lists them as skipped, not passed.
    #[serde(skip)]
    pub not_evaluated: Vec<(String, String)>,
}

/// Where a declared service was declared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeclarationSource {
    /// A Backstage `catalog-info.yaml` Component.
    #[serde(rename = "backstage")]
    Backstage,
    /// A `tracegate.yaml` service (always discovered: listed for completeness of the enum).
    #[serde(rename = "tracegate.yaml")]
    TracegateYaml,
}

/// A declared service no discovery found (`declared[]` in JSON).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeclaredNotFound {
    /// Declared name.
    pub name: String,
    /// Owning team the declaration names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// Where it was declared.
    pub source: DeclarationSource,
    /// The declaring file, relative to the root.
    pub file: String,
}

/// Counts per severity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeverityCounts {
    /// Errors.
    pub error: usize,
    /// Warnings.
    pub warning: usize,
    /// Notes.
    pub note: usize,
}

/// The summary block of the JSON contract.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Number of services.
    pub services: usize,
    /// Services with verdict `pass`.
    pub passing: usize,
    /// Services with verdict `fail`.
    pub failing: usize,
    /// Findings per severity (services and repository).
    pub findings: SeverityCounts,
}

/// The whole result of `tracegate check`, as printed by `--format json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckReport {
    /// Always `"tracegate"`.
    pub tool: String,
    /// The tool's version.
    pub version: String,
    /// Services in order.
    pub services: Vec<ServiceReport>,
    /// Findings that belong to no service (configuration, stale waivers…).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub repository_findings: Vec<Finding>,
    /// Infrastructure deployed beside the services (databases, brokers, collectors, log
    /// shippers…), sorted by name: never judged (omitted from JSON when none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub infrastructure: Vec<Infrastructure>,
    /// Services declared (Backstage Components) that no discovery found in the code; they
    /// count as `not_found` in coverage (omitted from JSON when none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub declared: Vec<DeclaredNotFound>,
    /// Totals.
    pub summary: Summary,
}

/// Documentation and defaults of one rule (`tracegate rules explain ID`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleMeta {
    /// Stable ID: `TG1xx` instrumentation, `TG2xx` configuration, `TG3xx` security.
    pub id: String,
    /// One-line title.
    pub title: String,
    /// Default severity (configurable in `tracegate.yaml`).
    pub severity: Severity,
    /// Languages it applies to (empty: all).
    #[serde(default)]
    pub languages: Vec<Language>,
    /// One-line fix hint used as a finding's `help`.
    pub help: String,
    /// The fix hint in a language's own terms, by language key (`go`, `python`,
    /// `javascript`…; TypeScript falls back to `javascript`): a finding of a service in that
    /// language gets it instead of `help`.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub help_by_language: std::collections::BTreeMap<String, String>,
    /// What it does.
    pub what: String,
    /// Why it matters.
    pub why: String,
    /// How to fix it.
    pub fix: String,
    /// An example that triggers it and its fix (for every language without its own).
    pub example: String,
    /// The example in a language's own code, by language key (as `help_by_language`;
    /// TypeScript falls back to `javascript`).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub example_by_language: std::collections::BTreeMap<String, String>,
    /// Anchor in `docs/onboarding.md`.
    pub docs: String,
}

/// `language`'s entry of a by-language map, TypeScript falling back to `javascript`.
fn by_language(
    map: &std::collections::BTreeMap<String, String>,
    language: Option<Language>,
) -> Option<&str> {
    let l = language?;
    map.get(l.pack_key()?)
        .or_else(|| {
            (l == Language::Typescript)
                .then(|| map.get("javascript"))
                .flatten()
        })
        .map(String::as_str)
}

impl RuleMeta {
    /// The fix hint for a service in `language` (its own, else the generic one).
    pub fn help_for(&self, language: Option<Language>) -> &str {
        by_language(&self.help_by_language, language).unwrap_or(&self.help)
    }

    /// The example for `language` (its own, else the generic one).
    pub fn example_for(&self, language: Option<Language>) -> &str {
        by_language(&self.example_by_language, language).unwrap_or(&self.example)
    }
}
