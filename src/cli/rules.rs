//! `tracegate rules`: list the rules and explain one.

use std::path::PathBuf;

use comfy_table::{presets, ContentArrangement, Table};
use tracegate::check::model::{Language, RuleMeta, Severity};
use tracegate::exit::ExitStatus;
use tracegate::report::check::docs_url;
use tracegate::report::term::{paint_cell, palette, Line, TextOptions};

use super::term::{ColorArgs, ColorChoice};

const EXAMPLES: &str = "\
Examples:
  tracegate rules list
      every rule: ID, default severity, languages, title
  tracegate rules explain TG102
      what it checks, why it matters, how to fix it, examples in every language
  tracegate rules explain TG102 --lang go
      the fix hint and example for one language (rust, go, python, javascript, typescript,
      java, kotlin, dotnet, csharp)
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
    /// Explain one rule: what, why, how to fix, examples.
    #[command(after_help = EXAMPLES)]
    Explain {
        /// Rule ID, e.g. TG102 (case-insensitive).
        id: String,
        /// Only this language's fix hint and example (rust, go, python, javascript/js,
        /// typescript/ts, java/kotlin, dotnet/csharp).
        #[arg(long, value_name = "LANG", value_parser = parse_language)]
        lang: Option<Language>,
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
        Command::Explain { id, lang } => {
            let id = id.to_ascii_uppercase();
            let meta = rules.get(&id).ok_or_else(|| {
                anyhow::anyhow!("unknown rule ID `{id}` (see `tracegate rules list`)")
            })?;
            super::print(&explain(meta, lang, &text))?;
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

/// `--lang`: a rule pack's language key, or a common other name for it.
fn parse_language(value: &str) -> Result<Language, String> {
    Ok(match value.to_ascii_lowercase().as_str() {
        "rust" | "rs" => Language::Rust,
        "go" | "golang" => Language::Go,
        "python" | "py" => Language::Python,
        "javascript" | "js" | "node" | "nodejs" => Language::Javascript,
        "typescript" | "ts" => Language::Typescript,
        "java" | "kotlin" | "jvm" => Language::Java,
        "dotnet" | ".net" | "csharp" | "c#" | "cs" => Language::Dotnet,
        _ => {
            return Err(
                "expected one of rust, go, python, javascript, typescript, java, kotlin, dotnet, csharp"
                    .into(),
            )
        }
    })
}

/// The analysed languages in the order `explain` lists them, with their labels.
const LANGUAGES: [(Language, &str); 7] = [
    (Language::Rust, "Rust"),
    (Language::Go, "Go"),
    (Language::Python, "Python"),
    (Language::Javascript, "JavaScript"),
    (Language::Typescript, "TypeScript"),
    (Language::Java, "Java/Kotlin"),
    (Language::Dotnet, ".NET (C#)"),
];

fn label(language: Language) -> &'static str {
    LANGUAGES
        .iter()
        .find(|(l, _)| *l == language)
        .map_or("", |(_, name)| name)
}

/// The rows of a by-language map in `LANGUAGES` order, labelled; TypeScript shares
/// JavaScript's row (`JavaScript/TypeScript`) unless it has its own.
fn rows(map: &std::collections::BTreeMap<String, String>) -> Vec<(String, &str)> {
    LANGUAGES
        .iter()
        .filter_map(|&(l, name)| {
            let text = map.get(l.pack_key()?)?;
            let name = if l == Language::Javascript && !map.contains_key("typescript") {
                "JavaScript/TypeScript"
            } else {
                name
            };
            Some((name.to_owned(), text.as_str()))
        })
        .collect()
}

/// Whether a language the rule applies to has no example of its own (then the generic
/// example is shown too).
fn generic_example_needed(m: &RuleMeta) -> bool {
    if m.example_by_language.is_empty() {
        return true;
    }
    let applies: Vec<Language> = if m.languages.is_empty() {
        LANGUAGES.iter().map(|(l, _)| *l).collect()
    } else {
        m.languages.clone()
    };
    applies
        .into_iter()
        .filter(|l| l.is_analysed())
        .any(|l| m.example_for(Some(l)) == m.example)
}

/// Code as written, indented.
fn code(example: &str, indent: usize) -> String {
    example
        .trim_end()
        .lines()
        .map(|l| {
            if l.is_empty() {
                "\n".to_owned()
            } else {
                format!("{:indent$}{l}\n", "")
            }
        })
        .collect()
}

/// What, why, how to fix, the fix hint and example of every language (or of `language`
/// alone), and the docs link.
fn explain(m: &RuleMeta, language: Option<Language>, text: &TextOptions<'_>) -> String {
    let heading = |words: &str| {
        format!(
            "\n{}\n",
            tracegate::report::term::paint(words, palette::EMPHASIS, text.color)
        )
    };
    let hint = |name: &str, help: &str| {
        // one line, wrapped under a hanging indent (reflowed: the packs wrap it)
        let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
        Line::new()
            .push_whole(0, &format!("{name}:"), palette::LABEL)
            .push(1, &help, palette::PLAIN)
            .wrap(text.width, 2, 4, text.color)
    };
    let label_line = |name: &str| {
        format!(
            "  {}\n",
            tracegate::report::term::paint(&format!("{name}:"), palette::LABEL, text.color)
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
    match language {
        // One language: its hint (a finding of its services shows the same) and example.
        Some(l) => {
            out.push_str(&heading(&format!("In {}", label(l))));
            out.push_str(&hint("Fix", m.help_for(Some(l))));
            out.push_str(&heading("Example"));
            out.push_str(&code(m.example_for(Some(l)), 2));
        }
        None => {
            // Every language's own fix hint (a finding shows its service's).
            if !m.help_by_language.is_empty() {
                out.push_str(&heading("In each language"));
                for (name, help) in rows(&m.help_by_language) {
                    out.push_str(&hint(&name, help));
                }
            }
            // the examples are code: as written
            let own = rows(&m.example_by_language);
            out.push_str(&heading(if own.is_empty() {
                "Example"
            } else {
                "Examples"
            }));
            for (i, (name, example)) in own.iter().enumerate() {
                if i > 0 {
                    out.push('\n');
                }
                out.push_str(&label_line(name));
                out.push_str(&code(example, 4));
            }
            if generic_example_needed(m) {
                if own.is_empty() {
                    out.push_str(&code(&m.example, 2));
                } else {
                    out.push('\n');
                    out.push_str(&label_line("Other languages"));
                    out.push_str(&code(&m.example, 4));
                }
            }
        }
    }
    out.push_str(&format!("\nDocs: {}\n", docs_url(&m.docs, &m.id)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn explained(id: &str, language: Option<Language>) -> String {
        let rules = super::super::check::load_rules(None).unwrap();
        let text = TextOptions::default();
        explain(rules.get(id).unwrap(), language, &text)
    }

    /// Every language's hint and example, labelled; no generic example when each language
    /// has its own.
    #[test]
    fn explain_every_language() {
        insta::assert_snapshot!("explain_tg105", explained("TG105", None));
        insta::assert_snapshot!("explain_tg302", explained("TG302", None));
    }

    /// `--lang`: that language's hint and example alone (TypeScript's are JavaScript's).
    #[test]
    fn explain_one_language() {
        insta::assert_snapshot!("explain_tg102_go", explained("TG102", Some(Language::Go)));
        insta::assert_snapshot!(
            "explain_tg301_typescript",
            explained("TG301", Some(Language::Typescript))
        );
    }

    /// A rule about configuration keeps its one example, for every language.
    #[test]
    fn explain_a_configuration_rule() {
        let all = explained("TG303", None);
        let go = explained("TG303", Some(Language::Go));
        assert!(
            all.contains("\nExample\n") && go.contains("secretKeyRef"),
            "{all}"
        );
        assert!(!all.contains("Other languages"), "{all}");
    }

    #[test]
    fn lang_names() {
        assert_eq!(parse_language("Kotlin"), Ok(Language::Java));
        assert_eq!(parse_language("c#"), Ok(Language::Dotnet));
        assert_eq!(parse_language("ts"), Ok(Language::Typescript));
        assert!(parse_language("cobol").is_err());
    }
}
