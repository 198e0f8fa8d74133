//! `--format github`: workflow commands (`::error file=…,line=…::`) that GitHub Actions turns
//! into annotations on the pull request.

use super::{RenderContext, SummaryLine};
use crate::check::model::{CheckReport, Severity};
use crate::report::escape_control;

pub(super) fn render(report: &CheckReport, ctx: &RenderContext<'_>) -> String {
    let mut out = String::new();
    for (name, path, findings) in super::groups(report) {
        for f in findings {
            let command = match f.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Note => "notice",
            };
            let mut props = Vec::new();
            let file = f.file.as_deref().or((path != ".").then_some(path));
            if let Some(file) = file {
                props.push(format!(
                    "file={}",
                    property(&escape_control(&ctx.repo_path(file)))
                ));
            }
            if let Some(line) = f.line {
                props.push(format!("line={line}"));
            }
            let title = if name == super::REPOSITORY {
                f.rule.clone()
            } else {
                format!("{} ({})", f.rule, escape_control(name))
            };
            props.push(format!("title={}", property(&title)));
            let message = format!(
                "{}\nfix: {}\ndocs: {}",
                escape_control(&f.message),
                escape_control(&f.help),
                ctx.docs_url(&f.rule)
            );
            out.push_str(&format!(
                "::{command} {}::{}\n",
                props.join(","),
                data(&message)
            ));
        }
    }
    out.push_str(&format!("tracegate check: {}\n", SummaryLine(report)));
    out
}

/// Escape a workflow-command message.
fn data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escape a workflow-command property value.
fn property(text: &str) -> String {
    data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    #[test]
    fn workflow_commands_are_escaped() {
        assert_eq!(super::data("50% done\nnext"), "50%25 done%0Anext");
        assert_eq!(super::property("a,b:c"), "a%2Cb%3Ac");
    }
}
