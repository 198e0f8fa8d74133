//! `--format table`, the report a person reads on a terminal, in the order the eye wants it:
//!
//! 1. the findings, grouped by service in the report's order (the repository's own last), one
//!    line each — `path:line  error TG102  message` — with the fix hint under it;
//! 2. a table of every service with its verdict and its findings in words;
//! 3. infrastructure (not judged), where to go next;
//! 4. the summary, then the failing services: last, where the eye lands when the command ends.
//!
//! [`TextOptions`] decide the width (words wrap at it; the table is sized to it), colour, the
//! base put before paths so that `path:line` opens from the current directory, and how much is
//! shown: `Quiet` keeps the failing findings and the summary; `Normal` hides notes; `Verbose`
//! adds notes, documentation links, rules not evaluated, waivers and infrastructure places.

use comfy_table::{presets, ContentArrangement, Table};

use super::{infrastructure_kind_name, language_name, verdict_name, RenderContext};
use crate::check::model::{CheckReport, Finding, ServiceReport, Severity, Verdict};
use crate::report::escape_control;
use crate::report::term::{display_width, paint, palette, plural, Line, TextOptions, Verbosity};

pub(super) fn render(report: &CheckReport, ctx: &RenderContext<'_>) -> String {
    let opts = &ctx.text;
    let mut out = String::new();
    for service in &report.services {
        out.push_str(&service_findings(service, ctx));
    }
    out.push_str(&repository_findings(report, ctx));
    if opts.verbosity != Verbosity::Quiet {
        if !report.services.is_empty() {
            out.push('\n');
            out.push_str(&services_table(report, opts));
        }
        let mut after = infrastructure(report, opts);
        after.push_str(&next_step(report, ctx));
        let notes = report.summary.findings.note;
        if opts.verbosity == Verbosity::Normal && ctx.fail_on > Severity::Note && notes > 0 {
            let line = Line::new().push(
                0,
                &format!(
                    "{} not shown: --verbose shows notes, docs links and rules not evaluated",
                    plural(notes, "note")
                ),
                palette::PLAIN,
            );
            after.push_str(&line.wrap(opts.width, 0, 4, opts.color));
        }
        if !after.is_empty() {
            out.push('\n');
            out.push_str(&after);
        }
    }
    out.push('\n');
    out.push_str(&super::table_summary::render(report, ctx));
    // Each section starts with a blank line to part it from the one before; not the first.
    out.trim_start_matches('\n').to_owned()
}

/// Which findings a verbosity shows: quiet, the failures of failing services; normal, all but
/// notes (unless notes fail); verbose, all.
fn shown(ctx: &RenderContext<'_>, failing: bool) -> impl Fn(&&Finding) -> bool {
    let verbosity = ctx.text.verbosity;
    let fail_on = ctx.fail_on;
    move |f: &&Finding| match verbosity {
        Verbosity::Quiet => failing && f.severity >= fail_on,
        Verbosity::Normal => f.severity >= fail_on.min(Severity::Warning),
        Verbosity::Verbose => true,
    }
}

fn service_findings(s: &ServiceReport, ctx: &RenderContext<'_>) -> String {
    let opts = &ctx.text;
    let findings: Vec<&Finding> = s
        .findings
        .iter()
        .filter(shown(ctx, s.verdict == Verdict::Fail))
        .collect();
    let verbose = opts.verbosity == Verbosity::Verbose;
    let extras = verbose && (!s.not_evaluated.is_empty() || !s.waived.is_empty());
    if findings.is_empty() && !extras {
        return String::new();
    }
    let path = based(opts, &s.path);
    let (word, style) = verdict_style(s.verdict);
    let mut head = Line::new()
        .push_whole(0, &escape_control(&s.name), palette::EMPHASIS)
        .push_whole(1, &format!("({}):", escape_control(&path)), palette::PLAIN)
        .push_whole(1, word, style);
    if let Some(counts) = counts(&s.findings) {
        head = head
            .push(0, ",", palette::PLAIN)
            .push(1, &counts, palette::PLAIN);
    }
    let mut out = format!("\n{}", head.wrap(opts.width, 0, 4, opts.color));
    out.push_str(&finding_lines(&findings, &path, ctx));
    if verbose {
        for (rule, after) in &s.not_evaluated {
            let line = Line::new()
                .push_whole(0, "not evaluated:", palette::LABEL)
                .push(
                    1,
                    &escape_control(&format!("{rule} (after {after} fired)")),
                    palette::PLAIN,
                );
            out.push_str(&line.wrap(opts.width, 2, 6, opts.color));
        }
        for w in &s.waived {
            let line = Line::new().push_whole(0, "waived:", palette::LABEL).push(
                1,
                &format!(
                    "{} until {}: {}",
                    escape_control(&w.rule),
                    escape_control(&w.expires),
                    escape_control(&w.reason)
                ),
                palette::PLAIN,
            );
            out.push_str(&line.wrap(opts.width, 2, 6, opts.color));
        }
    }
    out
}

fn repository_findings(report: &CheckReport, ctx: &RenderContext<'_>) -> String {
    let opts = &ctx.text;
    let findings: Vec<&Finding> = report
        .repository_findings
        .iter()
        .filter(shown(ctx, true))
        .collect();
    if findings.is_empty() {
        return String::new();
    }
    let mut head = Line::new().push_whole(0, "repository", palette::EMPHASIS);
    if let Some(counts) = counts(&report.repository_findings) {
        head = head
            .push(0, ":", palette::PLAIN)
            .push(1, &counts, palette::PLAIN);
    }
    let mut out = format!("\n{}", head.wrap(opts.width, 0, 4, opts.color));
    let root = based(opts, ".");
    out.push_str(&finding_lines(&findings, &root, ctx));
    out
}

/// Each finding; findings in a row with the same rule and hint (three PII keys on one span)
/// share one fix hint, under the last of them.
fn finding_lines(findings: &[&Finding], fallback: &str, ctx: &RenderContext<'_>) -> String {
    let mut out = String::new();
    for (i, f) in findings.iter().enumerate() {
        let same_next = findings
            .get(i + 1)
            .is_some_and(|n| n.rule == f.rule && n.help == f.help);
        out.push_str(&finding(f, fallback, !same_next, ctx));
    }
    out
}

/// `path:line  error TG102  message`, then (with `hint`) the fix hint and, verbose, the docs
/// link under it.
fn finding(f: &Finding, fallback: &str, hint: bool, ctx: &RenderContext<'_>) -> String {
    let opts = &ctx.text;
    let location = match (&f.file, f.line) {
        (Some(file), Some(line)) => format!("{}:{line}", based(opts, file)),
        (Some(file), None) => based(opts, file),
        (None, _) => fallback.to_owned(),
    };
    let line = Line::new()
        .push_whole(0, &escape_control(&location), palette::PLAIN)
        .push_whole(
            2,
            super::severity_name(f.severity),
            severity_style(f.severity),
        )
        .push_whole(1, &escape_control(&f.rule), palette::EMPHASIS)
        .push(2, &escape_control(&f.message), palette::PLAIN);
    let mut out = line.wrap(opts.width, 0, 4, opts.color);
    if !hint {
        return out;
    }
    // The help cites the docs path; the docs line gives the full URL, so drop the repetition.
    let docs = ctx.rule(&f.rule).map(|m| m.docs.as_str()).unwrap_or("");
    let help = f
        .help
        .strip_suffix(&format!(" (see {docs})"))
        .filter(|_| !docs.is_empty())
        .unwrap_or(&f.help);
    if !help.is_empty() {
        let fix = Line::new().push_whole(0, "fix:", palette::LABEL).push(
            1,
            &escape_control(help),
            palette::PLAIN,
        );
        out.push_str(&fix.wrap(opts.width, 4, 9, opts.color));
    }
    if opts.verbosity == Verbosity::Verbose {
        let docs = Line::new()
            .push_whole(0, "docs:", palette::LABEL)
            .push_whole(1, &escape_control(&ctx.docs_url(&f.rule)), palette::PLAIN);
        // A URL cut in two opens nothing: when it does not fit beside the label, it gets a
        // line of its own.
        out.push_str(&docs.wrap(opts.width, 4, 4, opts.color));
    }
    out
}

/// One row per service: name, language, verdict, findings in words, and the path when the
/// table fits the width with it (the findings above name the paths of the services that have
/// any; a path cut in two would open nothing).
fn services_table(report: &CheckReport, opts: &TextOptions<'_>) -> String {
    let Some(width) = opts.width else {
        return services_table_of(report, opts, true);
    };
    let natural = TextOptions {
        width: None,
        color: false,
        ..*opts
    };
    let fits = services_table_of(report, &natural, true)
        .lines()
        .all(|l| display_width(l) <= width);
    services_table_of(report, opts, fits)
}

fn services_table_of(report: &CheckReport, opts: &TextOptions<'_>, path: bool) -> String {
    let mut table = Table::new();
    let mut header = vec!["service", "language", "verdict", "findings"];
    if path {
        header.push("path");
    }
    table
        .load_preset(presets::UTF8_FULL_CONDENSED)
        .force_no_tty()
        .set_header(header);
    match opts.width {
        Some(width) => {
            table
                .set_content_arrangement(ContentArrangement::Dynamic)
                .set_width(u16::try_from(width).unwrap_or(u16::MAX));
        }
        None => {
            table.set_content_arrangement(ContentArrangement::Disabled);
        }
    }
    for s in &report.services {
        // Names and paths come from repository content: a control character in a directory
        // name must not reach the terminal raw.
        let mut row = vec![
            escape_control(&s.name).into_owned(),
            language_name(s.language).to_owned(),
            verdict_name(s.verdict).to_owned(),
            counts(&s.findings).unwrap_or_else(|| "-".to_owned()),
        ];
        if path {
            row.push(escape_control(&based(opts, &s.path)).into_owned());
        }
        table.add_row(row);
    }
    let mut out = String::new();
    for line in table.lines() {
        out.push_str(&colour_verdict_cell(&line, opts.color));
        out.push('\n');
    }
    out
}

/// The verdict (third) cell of a table line in its colour. comfy-table's own cell styling goes
/// through crossterm, which reads `NO_COLOR` itself: `--color always` would not be obeyed, and
/// the output would depend on the environment.
fn colour_verdict_cell(line: &str, color: bool) -> String {
    if !color {
        return line.to_owned();
    }
    let cells: Vec<&str> = line.split('┆').collect();
    let Some(cell) = cells.get(2) else {
        return line.to_owned();
    };
    let style = match cell.trim() {
        "pass" => verdict_style(Verdict::Pass).1,
        "fail" => verdict_style(Verdict::Fail).1,
        "unknown" => verdict_style(Verdict::Unknown).1,
        _ => return line.to_owned(),
    };
    let word = cell.trim();
    let painted = cell.replacen(word, &paint(word, style, true), 1);
    let mut cells = cells;
    cells[2] = &painted;
    cells.join("┆")
}

/// `infrastructure (not judged): kafka (broker), …`; verbose, each with where it is deployed.
fn infrastructure(report: &CheckReport, opts: &TextOptions<'_>) -> String {
    if report.infrastructure.is_empty() {
        return String::new();
    }
    let verbose = opts.verbosity == Verbosity::Verbose;
    let listed: Vec<String> = report
        .infrastructure
        .iter()
        .map(|i| {
            let mut item = format!(
                "{} ({})",
                escape_control(&i.name),
                infrastructure_kind_name(i.kind)
            );
            if verbose && !i.places.is_empty() {
                let places: Vec<String> = i
                    .places
                    .iter()
                    .map(|p| {
                        escape_control(&format!("{}:{}", based(opts, &p.file), p.line)).into_owned()
                    })
                    .collect();
                item = format!("{item} at {}", places.join(" "));
            }
            item
        })
        .collect();
    let line = Line::new()
        .push_whole(0, "infrastructure (not judged):", palette::LABEL)
        .push(1, &listed.join(", "), palette::PLAIN);
    line.wrap(opts.width, 0, 4, opts.color)
}

/// Where a newcomer goes next: the first failing finding's rule.
fn next_step(report: &CheckReport, ctx: &RenderContext<'_>) -> String {
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
    let Some(f) = first else {
        return String::new();
    };
    let line = Line::new()
        .push_whole(0, "next:", palette::LABEL)
        .push_whole(
            1,
            &format!("tracegate rules explain {}", escape_control(&f.rule)),
            palette::EMPHASIS,
        )
        .push(
            1,
            "(what, why, how to fix); accept a finding for a while with a waiver in tracegate.yaml",
            palette::PLAIN,
        );
    line.wrap(ctx.text.width, 0, 4, ctx.text.color)
}

/// `4 errors, 1 warning` (the severities present), `None` without findings.
fn counts(findings: &[Finding]) -> Option<String> {
    let n = |severity| findings.iter().filter(|f| f.severity == severity).count();
    counts_of(n(Severity::Error), n(Severity::Warning), n(Severity::Note))
}

/// `4 errors, 1 note` from counts per severity (zeros left out), `None` when all are zero.
pub(super) fn counts_of(error: usize, warning: usize, note: usize) -> Option<String> {
    let parts: Vec<String> = [(error, "error"), (warning, "warning"), (note, "note")]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, word)| plural(n, word))
        .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

pub(super) fn severity_style(s: Severity) -> anstyle::Style {
    match s {
        Severity::Error => palette::ERROR,
        Severity::Warning => palette::WARNING,
        Severity::Note => palette::NOTE,
    }
}

pub(super) fn verdict_style(v: Verdict) -> (&'static str, anstyle::Style) {
    let style = match v {
        Verdict::Pass => palette::PASS,
        Verdict::Fail => palette::ERROR,
        Verdict::Unknown => palette::WARNING,
    };
    (verdict_name(v), style)
}

/// `rel` (relative to the checked directory) as the current directory sees it. A path that is
/// not relative to the checked directory (`<stdin>`, a `--manifests` file as given, an absolute
/// path) is kept.
pub(super) fn based(opts: &TextOptions<'_>, rel: &str) -> String {
    let given = rel.starts_with('<') || rel.starts_with('/') || opts.given.iter().any(|g| g == rel);
    match opts.base {
        Some(_) if given => rel.to_owned(),
        Some(base) if rel == "." || rel.is_empty() => base.to_owned(),
        Some(base) => format!("{}/{rel}", base.trim_end_matches('/')),
        None if rel.is_empty() => ".".to_owned(),
        None => rel.to_owned(),
    }
}
