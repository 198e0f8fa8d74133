//! `--format sarif`: SARIF 2.1.0 as GitHub code scanning accepts it — `tool.driver.rules` with
//! descriptions and `helpUri`, results with URIs relative to `%SRCROOT%`, regions, and
//! `partialFingerprints` so that alerts keep their identity when lines move.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{RenderContext, DOCS_URL};
use crate::check::model::{CheckReport, Finding, RuleMeta, Severity};

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

pub(super) fn render(report: &CheckReport, ctx: &RenderContext<'_>) -> String {
    let all: Vec<(&str, &str, &Finding)> = super::groups(report)
        .flat_map(|(name, path, findings)| findings.iter().map(move |f| (name, path, f)))
        .collect();

    // Rules referenced by results, in ID order.
    let mut index: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, _, f) in &all {
        index.entry(f.rule.as_str()).or_insert(0);
    }
    let mut rules = Vec::with_capacity(index.len());
    for (i, (id, slot)) in index.iter_mut().enumerate() {
        *slot = i;
        rules.push(descriptor(id, ctx.rules.iter().find(|m| m.id == *id), ctx));
    }

    let results: Vec<Value> = all
        .iter()
        .map(|(name, path, f)| {
            let uri = ctx.repo_path(f.file.as_deref().unwrap_or(path));
            let mut physical = json!({
                "artifactLocation": {"uri": uri, "uriBaseId": "%SRCROOT%"}
            });
            if let Some(line) = f.line.filter(|l| *l > 0) {
                physical["region"] = json!({"startLine": line});
            }
            json!({
                "ruleId": f.rule,
                "ruleIndex": index.get(f.rule.as_str()).copied().unwrap_or(0),
                "level": level(f.severity),
                "message": {"text": format!("{} ({}). Fix: {}", f.message, name, f.help)},
                "locations": [{"physicalLocation": physical}],
                "partialFingerprints": {
                    "tracegateFindingHash/v1": fingerprint(&[&f.rule, name, &uri, &f.message]),
                },
                "properties": {"service": name},
            })
        })
        .collect();

    let sarif = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "tracegate",
                "version": report.version,
                "semanticVersion": report.version,
                "informationUri": DOCS_URL,
                "rules": rules,
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    });
    let mut out = serde_json::to_string_pretty(&sarif).unwrap_or_default();
    out.push('\n');
    out
}

fn descriptor(id: &str, meta: Option<&RuleMeta>, ctx: &RenderContext<'_>) -> Value {
    let help_uri = ctx.docs_url(id);
    match meta {
        Some(m) => json!({
            "id": id,
            "name": pascal(&m.title),
            "shortDescription": {"text": m.title},
            "fullDescription": {"text": if m.what.is_empty() { &m.title } else { &m.what }},
            "help": {
                "text": format!("{}\n\nWhy: {}\n\nFix: {}{}", m.help, m.why, m.fix, by_language(m, "")),
                "markdown": format!("{}\n\n**Why:** {}\n\n**Fix:** {}{}\n\n[Onboarding checklist]({help_uri})", m.help, m.why, m.fix, by_language(m, "**")),
            },
            "helpUri": help_uri,
            "defaultConfiguration": {"level": level(m.severity)},
            "properties": {"tags": tags(id)},
        }),
        None => json!({
            "id": id,
            "shortDescription": {"text": id},
            "fullDescription": {"text": id},
            "helpUri": help_uri,
            "properties": {"tags": tags(id)},
        }),
    }
}

/// The fix hint of every language (a result carries its service's), after a blank line;
/// `strong` around the heading (`**` in Markdown).
fn by_language(m: &RuleMeta, strong: &str) -> String {
    if m.help_by_language.is_empty() {
        return String::new();
    }
    let mut out = format!("\n\n{strong}In each language:{strong}");
    for (language, help) in &m.help_by_language {
        out.push_str(&format!("\n- {language}: {help}"));
    }
    out
}

fn tags(id: &str) -> Vec<&'static str> {
    match id.get(..3) {
        Some("TG1") => vec!["tracing", "instrumentation"],
        Some("TG2") => vec!["tracing", "configuration"],
        Some("TG3") => vec!["tracing", "security"],
        _ => vec!["tracing"],
    }
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    }
}

/// `"W3C propagator is not set"` → `"W3cPropagatorIsNotSet"`.
fn pascal(title: &str) -> String {
    title
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            let first = chars.next().map(|c| c.to_ascii_uppercase());
            first
                .into_iter()
                .chain(chars.map(|c| c.to_ascii_lowercase()))
                .collect::<String>()
        })
        .collect()
}

/// FNV-1a (64 bit) over the parts, hex: stable across runs, platforms and line moves.
fn fingerprint(parts: &[&str]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain([0xff]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn fingerprints_depend_on_every_part() {
        let a = super::fingerprint(&["TG102", "billing", "main.go", "m"]);
        assert_eq!(a, super::fingerprint(&["TG102", "billing", "main.go", "m"]));
        assert_ne!(a, super::fingerprint(&["TG102", "billin", "gmain.go", "m"]));
        assert_eq!(a.len(), 16);
    }

    #[test]
    fn titles_become_rule_names() {
        assert_eq!(
            super::pascal("W3C propagator not set"),
            "W3cPropagatorNotSet"
        );
    }
}
