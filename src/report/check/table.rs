//! `--format table`: one row per service, then the findings with file:line and the fix hint.

use comfy_table::{presets, ContentArrangement, Table};

use super::{
    infrastructure_kind_name, language_name, location, severity_name, verdict_name, RenderContext,
    SummaryLine,
};
use crate::check::model::{CheckReport, Verdict};
use crate::report::escape_control;

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
        // Names and paths come from repository content: a control character in a directory
        // name must not reach the terminal raw.
        table.add_row([
            escape_control(&s.name).into_owned(),
            escape_control(&s.path).into_owned(),
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
            out.push_str(&format!(
                "\n{} ({})\n",
                escape_control(name),
                escape_control(path)
            ));
        }
        for f in findings {
            out.push_str(&format!(
                "  {:<7} {}  {}  {}\n",
                severity_name(f.severity),
                f.rule,
                escape_control(&location(f, path)),
                escape_control(&f.message)
            ));
            // The help cites the docs path; the next line gives the full URL, so drop the
            // repetition here.
            let docs = ctx.rule(&f.rule).map(|m| m.docs.as_str()).unwrap_or("");
            let help = f
                .help
                .strip_suffix(&format!(" (see {docs})"))
                .filter(|_| !docs.is_empty())
                .unwrap_or(&f.help);
            out.push_str(&format!("          fix: {}\n", escape_control(help)));
            out.push_str(&format!("          docs: {}\n", ctx.docs_url(&f.rule)));
        }
    }
    out.push_str(&format!("\n{}\n", SummaryLine(report)));
    if !report.infrastructure.is_empty() {
        let listed: Vec<String> = report
            .infrastructure
            .iter()
            .map(|i| {
                format!(
                    "{} ({})",
                    escape_control(&i.name),
                    infrastructure_kind_name(i.kind)
                )
            })
            .collect();
        out.push_str(&format!(
            "infrastructure (not judged): {}\n",
            listed.join(", ")
        ));
    }
    // Where a newcomer goes next: the first failing finding's rule.
    let first = report
        .services
        .iter()
        .filter(|s| s.verdict == Verdict::Fail)
        .flat_map(|s| &s.findings)
        .find(|f| f.severity >= ctx.fail_on)
        .or_else(|| {
            report
                .repository_findings
                .iter()
                .find(|f| f.severity >= ctx.fail_on)
        });
    if let Some(f) = first {
        out.push_str(&format!(
            "next: `tracegate rules explain {}` (what, why, how to fix); accept a finding for a while with a waiver in tracegate.yaml\n",
            f.rule
        ));
    }
    out
}
