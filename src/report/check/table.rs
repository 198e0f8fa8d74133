//! `--format table`: one row per service, then the findings with file:line and the fix hint.

use comfy_table::{presets, ContentArrangement, Table};

use super::{language_name, location, severity_name, verdict_name, RenderContext, SummaryLine};
use crate::check::model::{CheckReport, Verdict};

pub(super) fn render(report: &CheckReport, ctx: &RenderContext<'_>) -> String {
    let mut table = Table::new();
    table
        .load_preset(presets::UTF8_FULL_CONDENSED)
        .force_no_tty()
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(["service", "path", "language", "verdict", "findings"]);
    for s in &report.services {
        let counts = [
            s.findings
                .iter()
                .filter(|f| f.severity == crate::check::model::Severity::Error)
                .count(),
            s.findings
                .iter()
                .filter(|f| f.severity == crate::check::model::Severity::Warning)
                .count(),
            s.findings
                .iter()
                .filter(|f| f.severity == crate::check::model::Severity::Note)
                .count(),
        ];
        let findings = if s.findings.is_empty() {
            "-".to_owned()
        } else {
            format!("{} E / {} W / {} N", counts[0], counts[1], counts[2])
        };
        let verdict = match s.verdict {
            Verdict::Unknown => "unknown (not analysed)".to_owned(),
            v => verdict_name(v).to_owned(),
        };
        table.add_row([
            s.name.clone(),
            s.path.clone(),
            language_name(s.language).to_owned(),
            verdict,
            findings,
        ]);
    }
    let mut out = table.to_string();
    out.push('\n');
    for (name, path, findings) in super::groups(report) {
        if findings.is_empty() {
            continue;
        }
        if name == super::REPOSITORY {
            out.push_str("\nrepository\n");
        } else {
            out.push_str(&format!("\n{name} ({path})\n"));
        }
        for f in findings {
            out.push_str(&format!(
                "  {:<7} {}  {}  {}\n",
                severity_name(f.severity),
                f.rule,
                location(f, path),
                f.message
            ));
            out.push_str(&format!("          fix: {}\n", f.help));
            out.push_str(&format!("          docs: {}\n", ctx.docs_url(&f.rule)));
        }
    }
    out.push_str(&format!("\n{}\n", SummaryLine(report)));
    out
}
