//! Renderers of a [`CheckReport`]: `table`, `json`, `sarif`, `junit`, `github`, `markdown`.
//!
//! Each takes the report (verdicts already decided by `check::policy`) and a [`RenderContext`]
//! (rule documentation, the `--fail-on` threshold for formats that classify findings as
//! failures) and returns text. Nothing here does I/O: the `github` format returns the
//! Markdown step summary for the caller to append to `$GITHUB_STEP_SUMMARY`.

use std::fmt;

use crate::check::model::{
    CheckReport, Finding, InfrastructureKind, Language, RuleMeta, ServiceReport, Severity, Verdict,
};
use crate::report::term::TextOptions;

mod github;
mod json;
mod junit;
mod markdown;
mod sarif;
mod table;
mod table_summary;

#[cfg(test)]
mod table_tests;
#[cfg(test)]
mod tests;

/// Where the onboarding checklist is published (in `Cargo.toml`'s `repository`, on `main`);
/// rule anchors are appended to it. `tests/project_urls.rs` checks every address agrees.
pub const DOCS_URL: &str = concat!(
    env!("CARGO_PKG_REPOSITORY"),
    "/blob/main/docs/onboarding.md"
);

/// An output format of `tracegate check`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Findings one line each with the fix, a table of services, the summary last (default on
    /// a terminal).
    Table,
    /// The stable JSON contract (default when piped).
    Json,
    /// SARIF 2.1.0 for GitHub code scanning.
    Sarif,
    /// JUnit XML: a testsuite per service, a testcase per rule.
    Junit,
    /// GitHub Actions workflow commands plus a Markdown step summary.
    Github,
    /// A Markdown report (pull-request comments, wikis).
    Markdown,
}

/// What renderers may look up besides the report.
#[derive(Clone, Copy, Debug)]
pub struct RenderContext<'a> {
    /// Every known rule (built-in and `--rules DIR`).
    pub rules: &'a [RuleMeta],
    /// Findings at or above this severity are failures (JUnit, GitHub annotations).
    pub fail_on: Severity,
    /// Where the checked directory is inside the repository (`platform` for `tracegate check
    /// platform` run at the repository root). GitHub annotations and SARIF locations are read
    /// relative to the repository root, so those formats put it before each file; the others
    /// keep paths relative to the checked directory.
    pub repo_prefix: Option<&'a str>,
    /// Width, colour, verbosity and path base of the `table` format (the others ignore them).
    pub text: TextOptions<'a>,
}

impl RenderContext<'_> {
    /// A path relative to the checked directory, as the repository root sees it.
    pub fn repo_path(&self, rel: &str) -> String {
        match self.repo_prefix {
            Some(prefix) if rel == "." => prefix.to_owned(),
            Some(prefix) => format!("{prefix}/{rel}"),
            None => rel.to_owned(),
        }
    }

    fn rule(&self, id: &str) -> Option<&RuleMeta> {
        self.rules.iter().find(|m| m.id == id)
    }

    /// The documentation URL of a rule.
    pub fn docs_url(&self, id: &str) -> String {
        docs_url(self.rule(id).map(|m| m.docs.as_str()).unwrap_or(""), id)
    }
}

/// A rendered report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    /// The main output (stdout or `--output FILE`).
    pub main: String,
    /// Markdown to append to `$GITHUB_STEP_SUMMARY` (format `github` only).
    pub step_summary: Option<String>,
}

/// A renderer failed (only XML writing can).
#[derive(Debug, thiserror::Error)]
#[error("rendering {format:?}: {message}")]
pub struct RenderError {
    format: Format,
    message: String,
}

/// Render `report` in `format`.
pub fn render(
    format: Format,
    report: &CheckReport,
    ctx: &RenderContext<'_>,
) -> Result<Rendered, RenderError> {
    let main = match format {
        Format::Table => table::render(report, ctx),
        Format::Json => json::render(report),
        Format::Sarif => sarif::render(report, ctx),
        Format::Junit => junit::render(report, ctx).map_err(|err| RenderError {
            format,
            message: err.to_string(),
        })?,
        Format::Github => {
            return Ok(Rendered {
                main: github::render(report, ctx),
                step_summary: Some(markdown::render(report, ctx)),
            })
        }
        Format::Markdown => markdown::render(report, ctx),
    };
    Ok(Rendered {
        main,
        step_summary: None,
    })
}

/// `docs` as written in a rule pack (`docs/onboarding.md#tg102`, `#tg102`, `tg102` or a full
/// URL) → an absolute URL.
pub fn docs_url(docs: &str, id: &str) -> String {
    if docs.starts_with("https://") || docs.starts_with("http://") {
        return docs.to_owned();
    }
    let anchor = match docs.rsplit_once('#') {
        Some((_, anchor)) => anchor,
        None if docs.is_empty() || docs.ends_with(".md") => "",
        None => docs,
    };
    let anchor = if anchor.is_empty() {
        id.to_ascii_lowercase()
    } else {
        anchor.to_owned()
    };
    format!("{DOCS_URL}#{anchor}")
}

pub(crate) fn severity_name(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    }
}

pub(crate) fn verdict_name(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "pass",
        Verdict::Fail => "fail",
        Verdict::Unknown => "unknown",
    }
}

pub(crate) fn language_name(l: Language) -> &'static str {
    match l {
        Language::Rust => "rust",
        Language::Go => "go",
        Language::Python => "python",
        Language::Javascript => "javascript",
        Language::Typescript => "typescript",
        Language::Java => "java",
        Language::Dotnet => "dotnet",
        Language::Php => "php",
        Language::Ruby => "ruby",
        Language::Elixir => "elixir",
        Language::Cpp => "cpp",
        Language::Nginx => "nginx",
        Language::Unknown => "unknown",
    }
}

pub(crate) fn infrastructure_kind_name(k: InfrastructureKind) -> &'static str {
    match k {
        InfrastructureKind::Database => "database",
        InfrastructureKind::Cache => "cache",
        InfrastructureKind::Broker => "broker",
        InfrastructureKind::Coordination => "coordination",
        InfrastructureKind::LogShipper => "log-shipper",
        InfrastructureKind::Collector => "collector",
        InfrastructureKind::TracingBackend => "tracing-backend",
        InfrastructureKind::Metrics => "metrics",
        InfrastructureKind::Dashboard => "dashboard",
        InfrastructureKind::Search => "search",
        InfrastructureKind::ObjectStorage => "object-storage",
        InfrastructureKind::Proxy => "proxy",
        InfrastructureKind::Verifier => "verifier",
        InfrastructureKind::Other => "other",
    }
}

/// `file:line`, `file`, or the fallback.
pub(crate) fn location(finding: &Finding, fallback: &str) -> String {
    match (&finding.file, finding.line) {
        (Some(file), Some(line)) => format!("{file}:{line}"),
        (Some(file), None) => file.clone(),
        (None, _) => fallback.to_owned(),
    }
}

/// The one-line summary shared by the text formats (`3 services: 2 passing, 1 failing, 0
/// unknown; findings: …`).
pub struct SummaryLine<'a>(pub &'a CheckReport);

impl fmt::Display for SummaryLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.0.summary;
        let unknown = unknown_count(self.0);
        let plural = |n: usize, word: &str| {
            if n == 1 {
                format!("{n} {word}")
            } else {
                format!("{n} {word}s")
            }
        };
        write!(
            f,
            "{}: {} passing, {} failing, {} unknown; findings: {}, {}, {}",
            plural(s.services, "service"),
            s.passing,
            s.failing,
            unknown,
            plural(s.findings.error, "error"),
            plural(s.findings.warning, "warning"),
            plural(s.findings.note, "note"),
        )
    }
}

pub(crate) fn unknown_count(report: &CheckReport) -> usize {
    report
        .services
        .iter()
        .filter(|s| s.verdict == Verdict::Unknown)
        .count()
}

/// The group name of findings that belong to no service.
pub(crate) const REPOSITORY: &str = "(repository)";

/// Services and the repository pseudo-service, for formats that group findings.
pub(crate) fn groups(report: &CheckReport) -> impl Iterator<Item = (&str, &str, &[Finding])> {
    report
        .services
        .iter()
        .map(|s: &ServiceReport| (s.name.as_str(), s.path.as_str(), s.findings.as_slice()))
        .chain((!report.repository_findings.is_empty()).then_some((
            REPOSITORY,
            ".",
            report.repository_findings.as_slice(),
        )))
}
