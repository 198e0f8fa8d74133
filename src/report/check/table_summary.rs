//! The end of `--format table`: the summary in words, the services not analysed, and the
//! failing services — the last lines, where the eye lands when the command returns.

use super::table::{counts_of, verdict_style};
use super::RenderContext;
use crate::check::model::{CheckReport, Verdict};
use crate::report::escape_control;
use crate::report::term::{palette, plural, Line, Verbosity};

pub(super) fn render(report: &CheckReport, ctx: &RenderContext<'_>) -> String {
    let opts = &ctx.text;
    let s = &report.summary;
    let unknown = super::unknown_count(report);
    let paint_count = |n: usize, word: &str, style| {
        if n > 0 {
            (word.to_owned(), style)
        } else {
            (word.to_owned(), palette::PLAIN)
        }
    };
    let mut line = Line::new()
        .push_whole(0, &plural(s.services, "service"), palette::EMPHASIS)
        .push(0, ":", palette::PLAIN);
    let mut parts = vec![
        paint_count(
            s.passing,
            &format!("{} passing", s.passing),
            verdict_style(Verdict::Pass).1,
        ),
        paint_count(
            s.failing,
            &format!("{} failing", s.failing),
            verdict_style(Verdict::Fail).1,
        ),
    ];
    if unknown > 0 {
        parts.push((
            format!("{unknown} not analysed"),
            verdict_style(Verdict::Unknown).1,
        ));
    }
    for (i, (text, style)) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        line =
            line.push_whole(1, text, *style)
                .push(0, if last { ";" } else { "," }, palette::PLAIN);
    }
    let f = &s.findings;
    match counts_of(f.error, f.warning, f.note) {
        Some(text) => line = line.push(1, &text, palette::PLAIN),
        None => line = line.push(1, "no findings", palette::PLAIN),
    }
    let mut out = line.wrap(opts.width, 0, 4, opts.color);

    if opts.verbosity != Verbosity::Quiet && unknown > 0 {
        let names: Vec<String> = report
            .services
            .iter()
            .filter(|s| s.verdict == Verdict::Unknown)
            .map(|s| escape_control(&s.name).into_owned())
            .collect();
        let line = Line::new()
            .push_whole(0, "not analysed:", verdict_style(Verdict::Unknown).1)
            .push(1, &names.join(", "), palette::PLAIN);
        out.push_str(&line.wrap(opts.width, 0, 4, opts.color));
    }
    let mut failing: Vec<String> = report
        .services
        .iter()
        .filter(|s| s.verdict == Verdict::Fail)
        .map(|s| escape_control(&s.name).into_owned())
        .collect();
    if report
        .repository_findings
        .iter()
        .any(|f| f.severity >= ctx.fail_on)
    {
        failing.push("the repository".to_owned());
    }
    if !failing.is_empty() {
        let line = Line::new()
            .push_whole(0, "failing:", verdict_style(Verdict::Fail).1)
            .push(1, &failing.join(", "), palette::PLAIN);
        out.push_str(&line.wrap(opts.width, 0, 4, opts.color));
    }
    out
}
