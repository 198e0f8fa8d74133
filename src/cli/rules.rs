//! `tracegate rules`: list the rules and explain one.

use std::path::PathBuf;

use comfy_table::{presets, ContentArrangement, Table};
use tracegate::check::model::{RuleMeta, Severity};
use tracegate::exit::ExitStatus;
use tracegate::report::check::docs_url;
use tracegate::report::term::{paint_cell, palette, Line, TextOptions};

use super::term::{ColorArgs, ColorChoice};

const EXAMPLES: &str = "\
Examples:
  tracegate rules list
      every rule: ID, default severity, languages, title
  tracegate rules explain TG102
      what it checks, why it matters, how to fix it, an example
  tracegate rules list --rules ./my-rules
      including your own rule packs

On a terminal the table and the explanations fit its width (or COLUMNS); --color auto|always|never
colours the severities (auto: a terminal, NO_COLOR unset or empty).";

/// List the rules of `tracegate check` and explain them.
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
    /// Extra rule packs (*.yaml) added to the built-in ones.
    #[arg(long, value_name = "DIR", global = true)]
    rules: Option<PathBuf>,
    /// Colour the severities (as `check --color`).
    #[arg(
        long,
        value_enum,
        value_name = "WHEN",
        default_value = "auto",
        global = true
    )]
    color: ColorChoice,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// List every rule.
    #[command(after_help = EXAMPLES)]
    List {
        /// Print JSON (the RuleMeta of every rule) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Explain one rule: what, why, how to fix, example.
    #[command(after_help = EXAMPLES)]
    Explain {
        /// Rule ID, e.g. TG102 (case-insensitive).
        id: String,
    },
}

pub fn run(args: Args) -> anyhow::Result<ExitStatus> {
    let rules = super::check::load_rules(args.rules.as_deref())?;
    let text = TextOptions {
        width: super::term::stdout_width(),
        color: ColorArgs { color: args.color }.stdout(),
        ..TextOptions::default()
    };
    match args.command {
        Command::List { json } => {
            let metas: Vec<&RuleMeta> = rules.meta().collect();
            if json {
                super::print(&format!("{}\n", serde_json::to_string_pretty(&metas)?))?;
            } else {
                super::print(&list(&metas, &text))?;
            }
            Ok(ExitStatus::Passed)
        }
        Command::Explain { id } => {
            let id = id.to_ascii_uppercase();
            let meta = rules.get(&id).ok_or_else(|| {
                anyhow::anyhow!("unknown rule ID `{id}` (see `tracegate rules list`)")
            })?;
            super::print(&explain(meta, &text))?;
            Ok(ExitStatus::Passed)
        }
    }
}

/// One row per rule, sized to the terminal's width (unwrapped without one), the severity in
/// its colour.
fn list(metas: &[&RuleMeta], text: &TextOptions<'_>) -> String {
    let mut table = Table::new();
    table
        .load_preset(presets::UTF8_FULL_CONDENSED)
        .force_no_tty()
        .set_header(["rule", "severity", "languages", "title"]);
    match text.width {
        Some(width) => {
            table
                .set_content_arrangement(ContentArrangement::Dynamic)
                .set_width(u16::try_from(width).unwrap_or(u16::MAX));
        }
        None => {
            table.set_content_arrangement(ContentArrangement::Disabled);
        }
    }
    for m in metas {
        let languages = if m.languages.is_empty() {
            "all".to_owned()
        } else {
            m.languages
                .iter()
                .map(|l| format!("{l:?}").to_ascii_lowercase())
                .collect::<Vec<_>>()
                .join(", ")
        };
        table.add_row([
            m.id.clone(),
            severity_name(m.severity),
            languages,
            m.title.clone(),
        ]);
    }
    let mut out = String::new();
    for line in table.lines() {
        out.push_str(&paint_cell(&line, 1, text.color, |word| match word {
            "error" => Some(palette::ERROR),
            "warning" => Some(palette::WARNING),
            "note" => Some(palette::NOTE),
            _ => None,
        }));
        out.push('\n');
    }
    out
}

fn severity_name(severity: Severity) -> String {
    format!("{severity:?}").to_ascii_lowercase()
}

/// A text under a heading, two blanks before each line. With a width, its lines are reflowed
/// (the rule packs wrap them at about 90 columns) and wrapped at it; a blank line or a line
/// starting a list item (`- `, `* `) begins a new paragraph. Without one, as written.
fn paragraph(body: &str, text: &TextOptions<'_>) -> String {
    let body = body.trim();
    if text.width.is_none() {
        return body.lines().map(|l| format!("  {l}\n")).collect();
    }
    let mut paragraphs: Vec<String> = Vec::new();
    let mut open = false;
    for l in body.lines() {
        let l = l.trim();
        if l.is_empty() {
            paragraphs.push(String::new());
            open = false;
        } else if open && !l.starts_with("- ") && !l.starts_with("* ") {
            if let Some(last) = paragraphs.last_mut() {
                last.push(' ');
                last.push_str(l);
            }
        } else {
            paragraphs.push(l.to_owned());
            open = true;
        }
    }
    paragraphs
        .iter()
        .map(|p| {
            Line::new()
                .push(0, p, palette::PLAIN)
                .wrap(text.width, 2, 2, false)
        })
        .collect()
}

fn explain(m: &RuleMeta, text: &TextOptions<'_>) -> String {
    let heading = |words: &str| {
        format!(
            "\n{}\n",
            tracegate::report::term::paint(words, palette::EMPHASIS, text.color)
        )
    };
    let mut out = format!(
        "{} — {}\ndefault severity: {}\n",
        tracegate::report::term::paint(&m.id, palette::EMPHASIS, text.color),
        m.title,
        severity_name(m.severity)
    );
    out.push_str(&heading("What it checks"));
    out.push_str(&paragraph(&m.what, text));
    out.push_str(&heading("Why it matters"));
    out.push_str(&paragraph(&m.why, text));
    out.push_str(&heading("How to fix"));
    out.push_str(&paragraph(&m.fix, text));
    // Every language's own fix hint (a finding shows its service's).
    if !m.help_by_language.is_empty() {
        out.push_str(&heading("In each language"));
        for (lang, help) in &m.help_by_language {
            // one line, wrapped under a hanging indent (reflowed: the packs wrap it)
            let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
            let line = Line::new()
                .push_whole(0, &format!("{lang}:"), palette::LABEL)
                .push(1, &help, palette::PLAIN);
            out.push_str(&line.wrap(text.width, 2, 4, text.color));
        }
    }
    // the example is code: as written
    out.push_str(&heading("Example"));
    for l in m.example.trim_end().lines() {
        out.push_str(&format!("  {l}\n"));
    }
    out.push_str(&format!("\nDocs: {}\n", docs_url(&m.docs, &m.id)));
    out
}
