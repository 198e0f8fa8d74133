//! `--format markdown` (and the GitHub step summary).

use super::{language_name, location, severity_name, verdict_name, RenderContext, SummaryLine};
use crate::check::model::{CheckReport, Verdict};
use crate::report::escape_control;

pub(super) fn render(report: &CheckReport, ctx: &RenderContext<'_>) -> String {
    let mut out = String::from("## tracegate check\n\n");
    out.push_str(&format!("**{}**\n\n", SummaryLine(report)));
    out.push_str("| Service | Path | Language | Verdict | Findings |\n|---|---|---|---|---|\n");
    for s in &report.services {
        let verdict = match s.verdict {
            Verdict::Pass => "✅ pass",
            Verdict::Fail => "❌ fail",
            Verdict::Unknown => "❔ unknown (not analysed)",
        };
        out.push_str(&format!(
            "| {} | `{}` | {} | {} | {} |\n",
            cell(&s.name),
            cell(&s.path),
            language_name(s.language),
            verdict,
            s.findings.len()
        ));
    }
    for (name, path, findings) in super::groups(report) {
        if findings.is_empty() {
            continue;
        }
        let verdict = report
            .services
            .iter()
            .find(|s| s.name == name && s.path == path)
            .map(|s| format!(" — {}", verdict_name(s.verdict)))
            .unwrap_or_default();
        let heading = if name == super::REPOSITORY {
            "Repository".to_owned()
        } else {
            cell(name)
        };
        out.push_str(&format!("\n### {heading}{verdict}\n\n"));
        out.push_str("| Severity | Rule | Location | Message | Fix |\n|---|---|---|---|---|\n");
        for f in findings {
            out.push_str(&format!(
                "| {} | [{}]({}) | `{}` | {} | {} |\n",
                severity_name(f.severity),
                f.rule,
                ctx.docs_url(&f.rule),
                cell(&location(f, path)),
                cell(&f.message),
                cell(&f.help)
            ));
        }
    }
    out
}

/// Text safe inside a Markdown table cell: pipes escaped, control characters (line breaks
/// included) written as visible escapes.
fn cell(text: &str) -> String {
    escape_control(text).replace('|', "\\|")
}
