//! Reading one `tracegate check --format json` shard: validated, with one-line errors naming
//! the file (and line where the JSON parser knows it).

use std::path::Path;

use crate::check::model::{CheckReport, Severity, Verdict};
use crate::coverage::CoverageError;

use super::merge::RepositoryReport;

/// Shards larger than this are refused (a check report of 10,000 services is a few MiB).
pub const MAX_SHARD_BYTES: u64 = 256 * 1024 * 1024;

/// Read and validate the shard at `path`.
pub fn read_shard(path: &Path) -> Result<RepositoryReport, CoverageError> {
    let shown = path.display().to_string();
    let fail = |message: String| CoverageError::Catalog(format!("{shown}: {message}"));
    let meta = std::fs::metadata(path).map_err(|e| fail(format!("cannot read: {e}")))?;
    if !meta.is_file() {
        return Err(fail("cannot read: not a regular file".into()));
    }
    if meta.len() > MAX_SHARD_BYTES {
        return Err(fail(format!(
            "larger than {} MiB: not a check report",
            MAX_SHARD_BYTES / (1024 * 1024)
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| fail(format!("cannot read: {e}")))?;
    let report = parse_shard(&bytes).map_err(|m| CoverageError::Catalog(format!("{shown}{m}")))?;
    Ok(RepositoryReport {
        label: label_of(path),
        fail_on: inferred_fail_on(&report),
        report,
    })
}

/// The repository label of a shard: its file name without `.json`.
pub fn label_of(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    name.strip_suffix(".json")
        .map(str::to_owned)
        .unwrap_or(name)
}

/// Parse shard bytes; the error is the part of the message after the file name
/// (`:LINE: …` or `: …`).
fn parse_shard(bytes: &[u8]) -> Result<CheckReport, String> {
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| format!(":{}: not valid JSON: {}", e.line(), strip_position(&e)))?;
    let is_check_report = value.get("tool").and_then(|t| t.as_str()) == Some("tracegate")
        && value
            .get("services")
            .is_some_and(serde_json::Value::is_array)
        && value
            .get("summary")
            .is_some_and(serde_json::Value::is_object);
    if !is_check_report {
        return Err(
            ": not a `tracegate check --format json` report (expected \"tool\": \"tracegate\", \"services\" and \"summary\")"
                .into(),
        );
    }
    // Parsed again from the bytes, for the line of a wrong field.
    let report: CheckReport = serde_json::from_slice(bytes).map_err(|e| {
        format!(
            ":{}: invalid check report: {}",
            e.line(),
            strip_position(&e)
        )
    })?;
    if let Some(s) = report.services.iter().find(|s| s.name.trim().is_empty()) {
        return Err(format!(
            ": invalid check report: a service at `{}` has an empty name",
            s.path
        ));
    }
    Ok(report)
}

fn strip_position(err: &serde_json::Error) -> String {
    let message = err.to_string();
    match message.find(" at line ") {
        Some(cut) => message[..cut].to_owned(),
        None => message,
    }
}

/// The `--fail-on` a shard was made with, as far as its verdicts tell: the highest severity
/// under which every failing service has a finding at or above it and no other service does
/// (`error`, the default, when the verdicts allow it).
pub fn inferred_fail_on(report: &CheckReport) -> Severity {
    let consistent = |bar: Severity| {
        report.services.iter().all(|s| {
            let reaches = s.findings.iter().any(|f| f.severity >= bar);
            (s.verdict == Verdict::Fail) == reaches
        })
    };
    [Severity::Error, Severity::Warning, Severity::Note]
        .into_iter()
        .find(|bar| consistent(*bar))
        .unwrap_or(Severity::Error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shard(text: &str) -> Result<CheckReport, String> {
        parse_shard(text.as_bytes())
    }

    const MINIMAL: &str = r#"{"tool":"tracegate","version":"0.1.0","services":[
 {"name":"a","path":".","language":"go","verdict":"fail","findings":[
  {"rule":"TG104","severity":"warning","message":"m","file":null,"line":null,"help":"h"}]}],
 "summary":{"services":1,"passing":0,"failing":1,"findings":{"error":0,"warning":1,"note":0}}}"#;

    #[test]
    fn a_valid_shard_and_its_fail_on() {
        let report = shard(MINIMAL).expect("valid");
        assert_eq!(report.services[0].name, "a");
        // Failing on a warning: the run used --fail-on warning.
        assert_eq!(inferred_fail_on(&report), Severity::Warning);
    }

    #[test]
    fn what_is_not_a_check_report_says_so() {
        let cases = [
            ("{\"tool\":", ":1: not valid JSON: EOF while parsing"),
            ("[1, 2]", ": not a `tracegate check --format json` report"),
            (
                r#"{"week":"2026-W48","services_total":1}"#,
                ": not a `tracegate check --format json` report",
            ),
            (
                "{\"tool\":\"tracegate\",\"services\":[{\"name\":\"a\"}],\n\"summary\":{}}",
                ":1: invalid check report: missing field `path`",
            ),
            (
                &MINIMAL.replace("\"fail\"", "\"broken\""),
                ":2: invalid check report: unknown variant `broken`",
            ),
            (
                &MINIMAL.replace("\"name\":\"a\"", "\"name\":\" \""),
                ": invalid check report: a service at `.` has an empty name",
            ),
        ];
        for (text, expected) in cases {
            let err = shard(text).expect_err(text);
            assert!(err.starts_with(expected), "{text}: {err}");
            assert!(!err.contains('\n'), "{err}");
        }
    }

    #[test]
    fn labels_are_file_names_without_json() {
        assert_eq!(label_of(Path::new("results/payments.json")), "payments");
        assert_eq!(label_of(Path::new("risk")), "risk");
    }

    #[test]
    fn unreadable_shards_name_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("gone.json");
        let err = read_shard(&missing).expect_err("missing").to_string();
        assert!(
            err.starts_with(&format!("{}: cannot read: ", missing.display())),
            "{err}"
        );
        let err = read_shard(dir.path()).expect_err("a directory").to_string();
        assert!(err.ends_with(": cannot read: not a regular file"), "{err}");
    }
}
