//! `tracegate rules`: list the rules and explain one.

use std::path::PathBuf;

use comfy_table::{presets, ContentArrangement, Table};
use tracegate::check::model::RuleMeta;
use tracegate::exit::ExitStatus;
use tracegate::report::check::docs_url;

const EXAMPLES: &str = "\
Examples:
  tracegate rules list
      every rule: ID, default severity, languages, title
  tracegate rules explain TG102
      what it checks, why it matters, how to fix it, an example
  tracegate rules list --rules ./my-rules
      including your own rule packs";

/// List the rules of `tracegate check` and explain them.
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
    /// Extra rule packs (*.yaml) added to the built-in ones.
    #[arg(long, value_name = "DIR", global = true)]
    rules: Option<PathBuf>,
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
    match args.command {
        Command::List { json } => {
            let metas: Vec<&RuleMeta> = rules.meta().collect();
            if json {
                super::print(&format!("{}\n", serde_json::to_string_pretty(&metas)?))?;
            } else {
                super::print(&list(&metas))?;
            }
            Ok(ExitStatus::Passed)
        }
        Command::Explain { id } => {
            let id = id.to_ascii_uppercase();
            let meta = rules.get(&id).ok_or_else(|| {
                anyhow::anyhow!("unknown rule ID `{id}` (see `tracegate rules list`)")
            })?;
            super::print(&explain(meta))?;
            Ok(ExitStatus::Passed)
        }
    }
}

fn list(metas: &[&RuleMeta]) -> String {
    let mut table = Table::new();
    table
        .load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(["rule", "severity", "languages", "title"]);
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
            format!("{:?}", m.severity).to_ascii_lowercase(),
            languages,
            m.title.clone(),
        ]);
    }
    format!("{table}\n")
}

fn explain(m: &RuleMeta) -> String {
    // Every language's own fix hint (a finding shows its service's).
    let by_language: String = if m.help_by_language.is_empty() {
        String::new()
    } else {
        let lines: Vec<String> = m
            .help_by_language
            .iter()
            .map(|(lang, help)| format!("  {lang}: {}", indent(help)))
            .collect();
        format!("\n\nIn each language\n{}", lines.join("\n"))
    };
    format!(
        "{id} — {title}\ndefault severity: {severity}\n\nWhat it checks\n  {what}\n\nWhy it matters\n  {why}\n\nHow to fix\n  {fix}{by_language}\n\nExample\n{example}\n\nDocs: {docs}\n",
        id = m.id,
        title = m.title,
        severity = format!("{:?}", m.severity).to_ascii_lowercase(),
        what = indent(&m.what),
        why = indent(&m.why),
        fix = indent(&m.fix),
        example = m
            .example
            .trim_end()
            .lines()
            .map(|l| format!("  {l}"))
            .collect::<Vec<_>>()
            .join("\n"),
        docs = docs_url(&m.docs, &m.id),
    )
}

fn indent(text: &str) -> String {
    text.trim().replace('\n', "\n  ")
}
