//! `--format junit`: one `<testsuite>` with a `<testcase>` per criterion; a failed criterion
//! is a `<failure>` whose text is every evidence line, a skipped one is `<skipped>` with the
//! reason (never a pass), a passed one carries its summary in `<system-out>`.

use std::io;

use quick_xml::events::{BytesDecl, BytesText, Event};
use quick_xml::Writer;

use super::evidence_line;
use crate::report::escape_control;
use crate::verify::model::{CriterionResult, Verdict, VerifyReport};

pub(super) fn render(report: &VerifyReport) -> io::Result<String> {
    let count = |v: Verdict| {
        report
            .criteria
            .iter()
            .filter(|c| c.verdict == v)
            .count()
            .to_string()
    };
    let tests = report.criteria.len().to_string();
    let (failures, skipped) = (count(Verdict::Fail), count(Verdict::Skip));
    let target = escape_control(&report.target);
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    w.create_element("testsuites")
        .with_attributes([
            ("name", "tracegate verify"),
            ("tests", tests.as_str()),
            ("failures", failures.as_str()),
        ])
        .write_inner_content(|w| {
            w.create_element("testsuite")
                .with_attributes([
                    ("name", "tracegate verify"),
                    ("tests", tests.as_str()),
                    ("failures", failures.as_str()),
                    ("errors", "0"),
                    ("skipped", skipped.as_str()),
                    (
                        "time",
                        format!("{:.3}", report.duration_ms as f64 / 1000.0).as_str(),
                    ),
                ])
                .write_inner_content(|w| {
                    w.create_element("properties").write_inner_content(|w| {
                        let properties = [
                            ("target", target.to_string()),
                            ("requests", report.requests.to_string()),
                            ("spans_read", report.spans_read.to_string()),
                            (
                                "services_seen",
                                escape_control(&report.services_seen.join(",")).into_owned(),
                            ),
                        ];
                        for (name, value) in properties {
                            w.create_element("property")
                                .with_attributes([("name", name), ("value", value.as_str())])
                                .write_empty()?;
                        }
                        Ok(())
                    })?;
                    for result in &report.criteria {
                        write_case(w, result)?;
                    }
                    if !report.notes.is_empty() {
                        let notes: Vec<String> = report
                            .notes
                            .iter()
                            .map(|n| escape_control(n).into_owned())
                            .collect();
                        w.create_element("system-out")
                            .write_text_content(BytesText::new(&notes.join("\n")))?;
                    }
                    Ok(())
                })?;
            Ok(())
        })?;
    let mut out = String::from_utf8(w.into_inner()).map_err(io::Error::other)?;
    out.push('\n');
    Ok(out)
}

fn write_case(w: &mut Writer<Vec<u8>>, result: &CriterionResult) -> io::Result<()> {
    let name = format!("{} {}", result.id, result.name);
    let summary = escape_control(&result.summary);
    let case = w
        .create_element("testcase")
        .with_attributes([("classname", "tracegate.verify"), ("name", name.as_str())]);
    case.write_inner_content(|w| {
        match result.verdict {
            Verdict::Fail => {
                let text: Vec<String> = result.evidence.iter().map(evidence_line).collect();
                w.create_element("failure")
                    .with_attributes([("type", "criterion"), ("message", summary.as_ref())])
                    .write_text_content(BytesText::new(&text.join("\n")))?;
            }
            Verdict::Skip => {
                w.create_element("skipped")
                    .with_attribute(("message", summary.as_ref()))
                    .write_empty()?;
            }
            Verdict::Pass => {
                w.create_element("system-out")
                    .write_text_content(BytesText::new(summary.as_ref()))?;
            }
        }
        Ok(())
    })?;
    Ok(())
}
