//! Runtime verdicts from `tracegate verify --format json` files: `services_seen` are seen;
//! AC-002 evidence naming a hop `a → b` whose callee "started a new trace" or "is an orphan"
//! breaks `b` on the edge `a → b` (the unpaired-edge signature, as verify found it); AC-002's
//! orphan and CLIENT-root evidence about one service breaks that service; the
//! `service_graph` edges are the paired calls. Verify keeps at most 20 evidence items per
//! criterion, so broken counts are lower bounds. The JSON is read as `serde_json::Value`
//! (`VerifyReport` is serialise-only).

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use super::super::model::{RuntimeEdge, RuntimeFindings, RuntimeVerdict, ServiceRuntime};
use super::super::CoverageError;

/// Read and merge the verify results in `files`.
pub fn read(files: &[impl AsRef<Path>]) -> Result<RuntimeFindings, CoverageError> {
    let mut merged = Merged::default();
    for file in files {
        let file = file.as_ref();
        let text = std::fs::read(file)
            .map_err(|e| CoverageError::Runtime(format!("{}: cannot read: {e}", file.display())))?;
        let value: Value = serde_json::from_slice(&text).map_err(|e| {
            CoverageError::Runtime(format!("{}:{}: not JSON: {e}", file.display(), e.line()))
        })?;
        merged.add(&value).map_err(|what| {
            CoverageError::Runtime(format!(
                "{}: not a `tracegate verify --format json` result: {what}",
                file.display()
            ))
        })?;
    }
    let names: Vec<String> = files
        .iter()
        .map(|f| f.as_ref().display().to_string())
        .collect();
    Ok(merged.findings(format!("verify results {}", names.join(", "))))
}

#[derive(Default)]
struct Merged {
    seen: BTreeMap<String, Vec<String>>,
    /// (caller, callee) → (paired, broken)
    edges: BTreeMap<(String, String), (u64, u64)>,
    requests: u64,
    spans: u64,
}

impl Merged {
    fn add(&mut self, value: &Value) -> Result<(), String> {
        let seen = value
            .get("services_seen")
            .and_then(Value::as_array)
            .ok_or("no \"services_seen\" list")?;
        for service in seen {
            let name = service
                .as_str()
                .ok_or("\"services_seen\" holds a non-string")?;
            self.seen.entry(name.to_owned()).or_default();
        }
        self.requests += value.get("requests").and_then(Value::as_u64).unwrap_or(0);
        self.spans += value.get("spans_read").and_then(Value::as_u64).unwrap_or(0);
        let edges = value
            .pointer("/service_graph/edges")
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice);
        for edge in edges {
            let (Some(caller), Some(callee)) = (
                edge.get("caller").and_then(Value::as_str),
                edge.get("callee").and_then(Value::as_str),
            ) else {
                return Err("a service_graph edge without caller and callee".to_owned());
            };
            let calls = edge.get("calls").and_then(Value::as_u64).unwrap_or(0);
            self.edges
                .entry((caller.to_owned(), callee.to_owned()))
                .or_default()
                .0 += calls;
        }
        let criteria = value
            .get("criteria")
            .and_then(Value::as_array)
            .ok_or("no \"criteria\" list")?;
        for criterion in criteria {
            if criterion.get("id").and_then(Value::as_str) != Some("AC-002") {
                continue;
            }
            let evidence = criterion
                .get("evidence")
                .and_then(Value::as_array)
                .map_or(&[][..], Vec::as_slice);
            for item in evidence {
                self.add_evidence(item);
            }
        }
        Ok(())
    }

    fn add_evidence(&mut self, item: &Value) {
        let (Some(service), Some(detail)) = (
            item.get("service").and_then(Value::as_str),
            item.get("detail").and_then(Value::as_str),
        ) else {
            return;
        };
        if let Some((caller, callee)) = service.split_once(" → ") {
            let broke = detail.starts_with("propagation breaks between")
                && (detail.contains("started a new trace") || detail.contains("is an orphan"));
            if broke {
                self.edges
                    .entry((caller.to_owned(), callee.to_owned()))
                    .or_default()
                    .1 += 1;
                self.seen.entry(callee.to_owned()).or_default();
            }
        } else if detail.starts_with("orphan:") {
            self.reason(
                service,
                "has orphan spans in verify's traces (parent span not in the trace)",
            );
        } else if detail.starts_with("the trace starts with") {
            self.reason(
                service,
                "starts verify's traces with a CLIENT span: the context was lost upstream",
            );
        }
    }

    fn reason(&mut self, service: &str, what: &str) {
        let reasons = self.seen.entry(service.to_owned()).or_default();
        let line = format!("{service} {what}");
        if !reasons.contains(&line) {
            reasons.push(line);
        }
    }

    fn findings(mut self, source: String) -> RuntimeFindings {
        let mut out = RuntimeFindings {
            traces: self.requests,
            spans: self.spans,
            source,
            ..RuntimeFindings::default()
        };
        for ((caller, callee), &(paired, broken)) in &self.edges {
            if broken > 0 {
                let line = format!(
                    "{caller} → {callee}: {broken} of {} calls start a new trace (verify evidence)",
                    broken + paired
                );
                self.seen.entry(callee.clone()).or_default().insert(0, line);
            }
            out.edges.push(RuntimeEdge {
                caller: caller.clone(),
                callee: callee.clone(),
                paired,
                broken,
            });
        }
        for (name, reasons) in self.seen {
            let verdict = if reasons.is_empty() {
                RuntimeVerdict::Pass
            } else {
                RuntimeVerdict::Fail
            };
            out.services.insert(
                name,
                ServiceRuntime {
                    verdict,
                    reasons,
                    spans: 0,
                },
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn hops_orphans_and_the_graph_become_verdicts_and_edges() {
        let dir = tempfile::tempdir().unwrap();
        let report = serde_json::json!({
            "target": "http://127.0.0.1:8080", "requests": 40, "spans_read": 160,
            "services_seen": ["gateway", "checkout", "pricing", "ledger"],
            "criteria": [
                {"id": "AC-001", "verdict": "pass", "summary": "", "evidence": []},
                {"id": "AC-002", "verdict": "fail", "summary": "", "evidence": [
                    {"trace_id": "ab", "service": "checkout → pricing",
                     "detail": "propagation breaks between checkout and pricing: checkout CLIENT \"POST /quote\" has no SERVER child; pricing started a new trace 01 (span 02)"},
                    {"trace_id": "ac", "service": "checkout → pricing",
                     "detail": "propagation breaks between checkout and pricing: checkout CLIENT \"POST /quote\" has no SERVER child; pricing started a new trace 03 (span 04)"},
                    {"trace_id": "ad", "service": "gateway → checkout",
                     "detail": "2 attempts share one CLIENT span: …"},
                    {"trace_id": "ae", "service": "checkout → legacy",
                     "detail": "propagation breaks between checkout and legacy: … ; legacy has no span in this trace"},
                    {"trace_id": "af", "service": "ledger",
                     "detail": "orphan: ledger SERVER \"POST /entries\"'s parent 0a is not in the trace"}
                ]},
                {"id": "AC-004", "verdict": "fail", "summary": "", "evidence": [
                    {"trace_id": "ab", "service": "pricing", "detail": "missing pricing"}
                ]}
            ],
            "service_graph": {"services": [], "edges": [
                {"caller": "gateway", "callee": "checkout", "calls": 40},
                {"caller": "checkout", "callee": "pricing", "calls": 38},
                {"caller": "checkout", "callee": "ledger", "calls": 40}
            ]}
        });
        let file = write(dir.path(), "verify.json", &report.to_string());
        let findings = read(&[&file]).unwrap();
        assert_eq!(findings.services["pricing"].verdict, RuntimeVerdict::Fail);
        assert_eq!(
            findings.services["pricing"].reasons,
            ["checkout → pricing: 2 of 40 calls start a new trace (verify evidence)"]
        );
        assert_eq!(findings.services["ledger"].verdict, RuntimeVerdict::Fail);
        for ok in ["gateway", "checkout"] {
            assert_eq!(findings.services[ok].verdict, RuntimeVerdict::Pass, "{ok}");
        }
        assert!(
            !findings.services.contains_key("legacy"),
            "an uninstrumented callee"
        );
        let pricing = findings
            .edges
            .iter()
            .find(|e| e.callee == "pricing")
            .unwrap();
        assert_eq!((pricing.paired, pricing.broken), (38, 2));
        assert_eq!((findings.traces, findings.spans), (40, 160));
        assert!(findings.source.contains("verify.json"));
    }

    #[test]
    fn unreadable_and_malformed_files_are_one_line_errors_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("absent.json");
        let garbage = write(dir.path(), "garbage.json", "{\n\"services_seen\": [\n");
        let other = write(
            dir.path(),
            "check.json",
            r#"{"tool":"tracegate","services":[]}"#,
        );
        for (file, says) in [
            (&missing, "cannot read"),
            (&garbage, "not JSON"),
            (&other, "not a `tracegate verify --format json` result"),
        ] {
            let err = read(&[file]).unwrap_err().to_string();
            assert!(err.contains(&file.display().to_string()), "{err}");
            assert!(err.contains(says), "{err}");
            assert!(!err.contains('\n'), "{err}");
        }
    }
}
