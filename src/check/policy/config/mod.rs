//! `tracegate.yaml`: rule severities, service declarations with their teams, and waivers.
//!
//! Two phases, like cargo-deny: [`RawConfig`] is what the file says (serde, unknown keys
//! rejected with file and line); [`validate`] turns it into a [`ValidConfig`], collecting every
//! problem at once (unknown rule IDs, a waiver without a scope, an unparsable expiry date…),
//! each with the file and the line it is on.
//!
//! ```yaml
//! rules:
//!   TG104: warning      # error | warning | note | off
//! services:
//!   - name: legacy-reports
//!     path: services/legacy-reports
//!     team: data
//!     language: python  # optional; otherwise discovered
//! exclude:              # not services: paths or globs, no expiry (a fact, not a waiver)
//!   - load-tests
//!   - "examples/**"
//! waivers:
//!   - rule: TG102
//!     service: legacy-reports   # or `path: services/legacy-reports/src`
//!     reason: "migrating to the batch exporter, BILL-2231"
//!     expires: 2026-12-31
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use schemars::JsonSchema;
use serde::Deserialize;
use time::Date;

use crate::check::evaluation::rules::RuleSet;
use crate::check::model::{Language, Severity};
use crate::check::{DeclaredService, ScanOptions};

mod lines;
mod validate;
pub(crate) use lines::LineIndex;
pub use validate::{normalise_path, validate};

/// The file name looked up at the repository root.
pub const FILE_NAME: &str = "tracegate.yaml";

/// A rule's configured level: a severity, or `off` to drop its findings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RuleLevel {
    /// Report as an error.
    Error,
    /// Report as a warning.
    Warning,
    /// Report as a note.
    Note,
    /// Do not report this rule at all.
    Off,
}

impl RuleLevel {
    /// The severity, or `None` for `off`.
    pub fn severity(self) -> Option<Severity> {
        match self {
            RuleLevel::Error => Some(Severity::Error),
            RuleLevel::Warning => Some(Severity::Warning),
            RuleLevel::Note => Some(Severity::Note),
            RuleLevel::Off => None,
        }
    }
}

/// A service's main language.
#[derive(JsonSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
enum LanguageName {
    Rust,
    Go,
    Python,
    Javascript,
    Typescript,
    Java,
    Dotnet,
    Php,
    Ruby,
    Elixir,
    Cpp,
    Nginx,
    Unknown,
}

/// `tracegate.yaml` as written (phase one).
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "tracegate.yaml")]
pub struct RawConfig {
    // Each key may be left empty (`rules:` with only commented entries, as `tracegate init`
    // writes it): an empty value is the same as none.
    /// Severity overrides per rule ID: `error`, `warning`, `note` or `off`.
    #[serde(default)]
    #[schemars(with = "Option<BTreeMap<String, RuleLevel>>")]
    pub rules: BTreeMap<String, RuleLevel>,
    /// Services declared by hand (added to the discovered ones), with their owning team.
    #[serde(default)]
    #[schemars(with = "Option<Vec<RawService>>")]
    pub services: Vec<RawService>,
    /// Accepted findings, each with a reason and an expiry date.
    #[serde(default)]
    #[schemars(with = "Option<Vec<RawWaiver>>")]
    pub waivers: Vec<RawWaiver>,
    /// Paths that hold no service (load-test harnesses, examples, vendored code): a path
    /// relative to the root excludes itself and everything under it; a pattern with `*`, `?`,
    /// `[` or `{` is a glob matched against paths relative to the root (`examples/**`,
    /// `**/testdata`). Nothing under them is read: no service, workload or finding comes from
    /// there. No expiry: a fact about the repository, not a waiver.
    #[serde(default)]
    #[schemars(with = "Option<Vec<String>>")]
    pub exclude: Vec<String>,
}

/// A declared service.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawService {
    /// Service name (as reported in findings and coverage).
    pub name: String,
    /// Directory relative to the repository root.
    pub path: String,
    /// Owning team.
    pub team: String,
    /// Main language; discovered from the manifests when omitted.
    #[serde(default)]
    #[schemars(with = "Option<LanguageName>")]
    pub language: Option<Language>,
}

/// A waiver: findings of `rule` in `service` (or under `path`) are accepted until `expires`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawWaiver {
    /// Rule ID, e.g. `TG102`.
    pub rule: String,
    /// Service name (give exactly one of `service` and `path`).
    #[serde(default)]
    pub service: Option<String>,
    /// Path prefix relative to the repository root (give exactly one of `service` and `path`).
    #[serde(default)]
    pub path: Option<String>,
    /// Why the finding is accepted.
    pub reason: String,
    /// Last day the waiver applies, `YYYY-MM-DD`. After it the waiver is itself a finding.
    #[schemars(with = "String", regex(pattern = r"^\d{4}-\d{2}-\d{2}$"))]
    pub expires: String,
}

/// A declared service, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceDecl {
    /// Name.
    pub name: String,
    /// Normalised relative path (`/` separators, no `./`, `.` for the root).
    pub path: String,
    /// Owning team.
    pub team: String,
    /// Language, when declared.
    pub language: Option<Language>,
    /// Line of the `path` key in the config file.
    pub line: Option<u32>,
}

/// What a waiver covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WaiverScope {
    /// Findings of one service.
    Service(String),
    /// Findings in files under a path prefix (whole path components).
    Path(String),
}

/// A validated waiver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Waiver {
    /// Rule ID.
    pub rule: String,
    /// Service or path.
    pub scope: WaiverScope,
    /// Reason given.
    pub reason: String,
    /// Last day it applies.
    pub expires: Date,
    /// Line of the waiver in the config file.
    pub line: Option<u32>,
}

/// A validated configuration (phase two).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ValidConfig {
    /// The config file as findings name it (relative to the root when inside it).
    pub file: Option<String>,
    /// Rule ID → severity (`None`: off).
    pub overrides: BTreeMap<String, Option<Severity>>,
    /// Declared services.
    pub services: Vec<ServiceDecl>,
    /// Waivers in file order.
    pub waivers: Vec<Waiver>,
    /// `exclude:` entries in file order.
    pub exclude: Vec<Exclusion>,
}

/// An `exclude:` entry, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exclusion {
    /// The normalised path, or the glob as written.
    pub pattern: String,
    /// Whether it is a glob (else a path that must exist).
    pub glob: bool,
    /// Line of the entry in the config file.
    pub line: Option<u32>,
}

impl ValidConfig {
    /// What a scan under this configuration runs with: `rules` less the rules it turns `off`
    /// (never evaluated, so the rules that come `after` them still run, and never reported),
    /// and the services it declares. Every command that scans a repository under its
    /// `tracegate.yaml` starts here, so none of them can evaluate an `off` rule.
    pub fn scan_options(&self, mut rules: RuleSet) -> ScanOptions {
        rules.disable(
            self.overrides
                .iter()
                .filter(|(_, level)| level.is_none())
                .map(|(id, _)| id.as_str()),
        );
        ScanOptions {
            rules,
            declared_services: self
                .services
                .iter()
                .map(|s| DeclaredService {
                    name: s.name.clone(),
                    path: s.path.clone(),
                    language: s.language,
                    line: s.line,
                })
                .collect(),
            config_file: self.file.clone(),
            exclude: self.exclude.iter().map(|e| e.pattern.clone()).collect(),
            ..ScanOptions::default()
        }
    }
}

/// One problem in a config file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line, where known.
    pub line: Option<u32>,
    /// What is wrong.
    pub message: String,
}

/// Every problem found in a config file.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// The file as given.
    pub file: String,
    /// Problems, in file order.
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            match problem.line {
                Some(line) => write!(f, "{}:{}: {}", self.file, line, problem.message)?,
                None => write!(f, "{}: {}", self.file, problem.message)?,
            }
        }
        Ok(())
    }
}

impl ConfigError {
    fn one(file: &str, line: Option<u32>, message: impl Into<String>) -> Self {
        ConfigError {
            file: file.to_owned(),
            problems: vec![Problem {
                line,
                message: message.into(),
            }],
        }
    }
}

/// The JSON Schema of `tracegate.yaml` (`tracegate config schema`).
pub fn schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(RawConfig)).unwrap_or(serde_json::Value::Null)
}

/// Read and validate a config file. `display` is how findings and errors name it;
/// `known_rule` says whether a rule ID exists.
pub fn load(
    path: &Path,
    display: &str,
    known_rule: &dyn Fn(&str) -> bool,
) -> Result<ValidConfig, ConfigError> {
    // A directory or a FIFO named tracegate.yaml is an error, not an empty policy or a hang.
    match std::fs::metadata(path) {
        Ok(meta) if !meta.is_file() => {
            return Err(ConfigError::one(display, None, "not a regular file"))
        }
        Err(err) => {
            return Err(ConfigError::one(
                display,
                None,
                format!("cannot read: {err}"),
            ))
        }
        Ok(_) => {}
    }
    let bytes = std::fs::read(path)
        .map_err(|err| ConfigError::one(display, None, format!("cannot read: {err}")))?;
    let text =
        String::from_utf8(bytes).map_err(|_| ConfigError::one(display, None, "not valid UTF-8"))?;
    parse(&text, display, known_rule)
}

/// Parse and validate config text (both phases).
pub fn parse(
    text: &str,
    display: &str,
    known_rule: &dyn Fn(&str) -> bool,
) -> Result<ValidConfig, ConfigError> {
    let raw = deserialize(text, display)?;
    validate(&raw, text, display, known_rule)
}

/// Phase one: YAML → [`RawConfig`]; unknown keys and wrong types are errors with their line.
pub fn deserialize(text: &str, display: &str) -> Result<RawConfig, ConfigError> {
    let only_comments = text
        .lines()
        .map(str::trim)
        .all(|l| l.is_empty() || l.starts_with('#') || l == "---");
    if only_comments {
        return Ok(RawConfig::default());
    }
    serde_yaml::from_str::<RawConfig>(text).map_err(|err| {
        let line = err.location().map(|loc| loc.line() as u32);
        let mut message = err.to_string();
        if let Some(at) = message.rfind(" at line ") {
            message.truncate(at);
        }
        ConfigError::one(display, line, plain_message(&message))
    })
}

/// serde's wording, in the words of the file: no Rust type names, no YAML-tag jargon.
fn plain_message(message: &str) -> String {
    const TAG: &str = "expected a YAML tag starting with '!'";
    let expected_enum = if message.starts_with("rules.") {
        "expected one of `error`, `warning`, `note`, `off`"
    } else if message.contains(".language:") {
        "expected a language name (see `tracegate config schema`)"
    } else {
        "expected a plain value (see `tracegate config schema`)"
    };
    message
        .replace(
            "expected struct RawConfig",
            "expected a mapping with the keys `rules`, `services`, `waivers`, `exclude`",
        )
        .replace(
            "expected struct RawService",
            "expected a mapping (name, path, team, language)",
        )
        .replace(
            "expected struct RawWaiver",
            "expected a mapping (rule, service or path, reason, expires)",
        )
        .replace(TAG, expected_enum)
}

#[cfg(test)]
mod tests;
