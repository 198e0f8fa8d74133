//! `--format junit`: a `<testsuite>` per service and a `<testcase>` per rule that applies to
//! it; findings at or above `--fail-on` are `<failure>`s, lower ones go to `<system-out>`.
//! Rules not evaluated because a rule they come after fired (TG102 after TG101) are skipped
//! testcases, never passed ones; so is the stack of a service that is not analysed.

use std::collections::BTreeSet;
use std::io;

use quick_xml::events::{BytesDecl, BytesText, Event};
use quick_xml::Writer;

use super::{language_name, location, severity_name, verdict_name, RenderContext};
use crate::check::model::{CheckReport, Finding, Language, ServiceReport, Verdict};
use crate::report::escape_control;

struct Case<'a> {
    rule: &'a str,
    title: &'a str,
    failures: Vec<&'a Finding>,
    others: Vec<&'a Finding>,
    /// Not evaluated: the rule that fired first.
    after: Option<&'a str>,
    /// That rule's findings were all waived (the report shows none).
    waived_first: bool,
}

pub(super) fn render(report: &CheckReport, ctx: &RenderContext<'_>) -> io::Result<String> {
    let mut suites = Vec::new();
    for s in &report.services {
        // A service that is not analysed: its findings' rules, plus one skipped case.
        let cases = if s.verdict == Verdict::Unknown {
            cases(&s.findings, None, &[], ctx)
        } else {
            cases(&s.findings, Some(s.language), &s.not_evaluated, ctx)
        };
        suites.push((s.name.as_str(), s.path.as_str(), Some(s), cases));
    }
    if !report.repository_findings.is_empty() {
        suites.push((
            super::REPOSITORY,
            ".",
            None,
            cases(&report.repository_findings, None, &[], ctx),
        ));
    }
    let skipped_case =
        |service: &Option<&ServiceReport>| service.is_some_and(|s| s.verdict == Verdict::Unknown);
    let skipped_rules = |cases: &[Case<'_>]| cases.iter().filter(|c| is_skipped(c)).count();
    let tests: usize = suites
        .iter()
        .map(|(_, _, s, c)| c.len() + usize::from(skipped_case(s)))
        .sum();
    let failures: usize = suites
        .iter()
        .map(|(_, _, _, c)| c.iter().filter(|c| !c.failures.is_empty()).count())
        .sum();

    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    w.create_element("testsuites")
        .with_attributes([
            ("name", "tracegate check"),
            ("tests", tests.to_string().as_str()),
            ("failures", failures.to_string().as_str()),
        ])
        .write_inner_content(|w| {
            for (name, path, service, cases) in &suites {
                // Repository content: control characters are not allowed in XML 1.0 at all.
                let name = escape_control(name);
                let name = name.as_ref();
                let path = escape_control(path);
                let path = path.as_ref();
                let failed = cases.iter().filter(|c| !c.failures.is_empty()).count();
                let skipped_stack = usize::from(skipped_case(service));
                let skipped = skipped_stack + skipped_rules(cases);
                w.create_element("testsuite")
                    .with_attributes([
                        ("name", name),
                        ("tests", (cases.len() + skipped_stack).to_string().as_str()),
                        ("failures", failed.to_string().as_str()),
                        ("errors", "0"),
                        ("skipped", skipped.to_string().as_str()),
                    ])
                    .write_inner_content(|w| {
                        w.create_element("properties").write_inner_content(|w| {
                            let mut props = vec![("path", path.to_owned())];
                            if let Some(s) = service {
                                props.push(("language", language_name(s.language).to_owned()));
                                props.push(("verdict", verdict_name(s.verdict).to_owned()));
                            }
                            for (k, v) in props {
                                w.create_element("property")
                                    .with_attributes([("name", k), ("value", v.as_str())])
                                    .write_empty()?;
                            }
                            Ok(())
                        })?;
                        if skipped_stack == 1 {
                            w.create_element("testcase")
                                .with_attributes([("classname", name), ("name", "analysed")])
                                .write_inner_content(|w| {
                                    w.create_element("skipped")
                                        .with_attribute((
                                            "message",
                                            "language or framework not analysed by tracegate",
                                        ))
                                        .write_empty()?;
                                    Ok(())
                                })?;
                        }
                        for case in cases {
                            write_case(w, name, path, case)?;
                        }
                        Ok(())
                    })?;
            }
            Ok(())
        })?;
    let mut out = String::from_utf8(w.into_inner()).map_err(io::Error::other)?;
    out.push('\n');
    Ok(out)
}

fn write_case(w: &mut Writer<Vec<u8>>, suite: &str, path: &str, case: &Case<'_>) -> io::Result<()> {
    let name = format!("{} {}", case.rule, case.title);
    let mut el = w
        .create_element("testcase")
        .with_attributes([("classname", suite), ("name", name.as_str())]);
    let file = case
        .failures
        .first()
        .and_then(|f| f.file.as_deref())
        .map(escape_control);
    if let Some(file) = &file {
        el = el.with_attribute(("file", file.as_ref()));
    }
    if is_skipped(case) {
        let message = match case.after {
            Some(first) if case.waived_first => {
                format!("not evaluated: {first} fired first (its finding is waived)")
            }
            first => format!(
                "not evaluated: {} reported first",
                first.unwrap_or_default()
            ),
        };
        el.write_inner_content(|w| {
            w.create_element("skipped")
                .with_attribute(("message", message.as_str()))
                .write_empty()?;
            Ok(())
        })?;
        return Ok(());
    }
    if case.failures.is_empty() && case.others.is_empty() {
        el.write_empty()?;
        return Ok(());
    }
    el.write_inner_content(|w| {
        if let Some(first) = case.failures.first() {
            let text = lines(&case.failures, path);
            w.create_element("failure")
                .with_attributes([
                    ("type", severity_name(first.severity)),
                    ("message", escape_control(&first.message).as_ref()),
                ])
                .write_text_content(BytesText::new(&text))?;
        }
        if !case.others.is_empty() {
            w.create_element("system-out")
                .write_text_content(BytesText::new(&lines(&case.others, path)))?;
        }
        Ok(())
    })?;
    Ok(())
}

/// A rule that was not evaluated and so has no finding of its own.
fn is_skipped(case: &Case<'_>) -> bool {
    case.after.is_some() && case.failures.is_empty() && case.others.is_empty()
}

fn lines(findings: &[&Finding], path: &str) -> String {
    findings
        .iter()
        .map(|f| {
            format!(
                "{} {}: {}: {} (fix: {})",
                severity_name(f.severity),
                f.rule,
                escape_control(&location(f, path)),
                escape_control(&f.message),
                escape_control(&f.help)
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A case per rule applying to `language` (every rule with findings, plus the language's rules
/// and the language-independent ones when `language` is given), in ID order; `not_evaluated`
/// pairs a rule with the rule that fired before it.
fn cases<'a>(
    findings: &'a [Finding],
    language: Option<Language>,
    not_evaluated: &'a [(String, String)],
    ctx: &RenderContext<'a>,
) -> Vec<Case<'a>> {
    let mut ids: BTreeSet<&str> = findings.iter().map(|f| f.rule.as_str()).collect();
    if let Some(language) = language {
        for m in ctx.rules {
            let policy = m.id.starts_with("TG29");
            if !policy && (m.languages.is_empty() || m.languages.contains(&language)) {
                ids.insert(m.id.as_str());
            }
        }
    }
    ids.into_iter()
        .map(|rule| {
            let title = ctx
                .rules
                .iter()
                .find(|m| m.id == rule)
                .map_or("", |m| m.title.as_str());
            let (failures, others) = findings
                .iter()
                .filter(|f| f.rule == rule)
                .partition(|f| f.severity >= ctx.fail_on);
            let after = not_evaluated
                .iter()
                .find(|(r, _)| r == rule)
                .map(|(_, first)| first.as_str());
            let waived_first = after.is_some_and(|a| findings.iter().all(|f| f.rule != a));
            Case {
                rule,
                title,
                failures,
                others,
                after,
                waived_first,
            }
        })
        .collect()
}
