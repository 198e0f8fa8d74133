//! `tracegate check`: gate a repository on W3C trace-context propagation.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::Context;
use tracegate::check::evaluation::rules::RuleSet;
use tracegate::check::inputs::ExtraManifests;
use tracegate::check::model::Severity;
use tracegate::check::pipeline::{self, CheckRun, PipelineOptions};
use tracegate::check::policy::PolicyOptions;
use tracegate::exit::ExitStatus;
use tracegate::report::check::{render, Format, RenderContext, SummaryLine};
use tracegate::report::term::{TextOptions, Verbosity};

use super::term::ColorArgs;

const EXAMPLES: &str = "\
Examples:
  tracegate check
      check the current repository (tracegate.yaml at its root is read if present)
  tracegate check fixtures/monorepo --format json
      the JSON contract, e.g. for jq
  tracegate check . --quiet
      only the failing services' failures and the summary (--verbose: also notes, docs links)
  tracegate check . --format sarif --output tracegate.sarif
      SARIF 2.1.0 for GitHub code scanning (github/codeql-action/upload-sarif)
  tracegate check . -o tracegate.sarif
      the same: without --format, the format follows the extension (.json, .xml, .md, .txt)
  tracegate check . --format junit --output tracegate.xml
      JUnit XML for GitLab CI (artifacts:reports:junit)
  tracegate check . --format github
      annotations on the pull request, summary in $GITHUB_STEP_SUMMARY
  tracegate check services/pricing --fail-on warning --fail-on-unknown
      stricter gate while onboarding a service
  helm template shop charts/shop | tracegate check . --manifests -
      judge the workloads a pipeline renders (Helm, kustomize) beside the repository's code
  tracegate check . --no-prefilter
      parse every source file, also those without any rule signal (same findings; a syntax
      error in such a file then gets its TG199 note)

Colour: --color auto (a terminal, NO_COLOR unset or empty), always or never; the width is
the terminal's, or COLUMNS.

Exit codes: 0 passed, 1 a finding at or above --fail-on (or an unknown service with
--fail-on-unknown), 2 usage, configuration or input error (the message names file and line).

Environment: Cargo workspaces are read with `cargo metadata --no-deps --frozen` (offline,
writes nothing) using $TRACEGATE_CARGO, else $CARGO, else `cargo`; TRACEGATE_CARGO= (empty)
reads them from their Cargo.toml files alone (docs/check.md). A kustomize tree using what the
built-in build does not apply (replacements, vars, helmCharts, plugins) is rendered by
$TRACEGATE_KUSTOMIZE, else `kustomize build`, else `kubectl kustomize`; TRACEGATE_KUSTOMIZE=
(empty) never runs one (a TG199 note names each field not applied). A Helm template the
built-in interpreter cannot follow is rendered by $TRACEGATE_HELM, else `helm template`;
TRACEGATE_HELM= (empty) never runs it.";

/// The lowest severity that fails the check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    Error,
    Warning,
    Note,
}

impl From<FailOn> for Severity {
    fn from(f: FailOn) -> Self {
        match f {
            FailOn::Error => Severity::Error,
            FailOn::Warning => Severity::Warning,
            FailOn::Note => Severity::Note,
        }
    }
}

/// Check that every service in a repository propagates W3C trace context end to end.
///
/// Discovers the services (manifests, Kubernetes workloads, tracegate.yaml), runs the rule
/// packs (TG1xx instrumentation, TG2xx configuration, TG3xx security), applies tracegate.yaml
/// (severity overrides, waivers) and reports a verdict per service with the file and line to fix.
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// Repository (or service) to check.
    #[arg(default_value = ".")]
    path: PathBuf,
    /// Output format [default: table on a terminal, json when piped; with --output, from
    /// FILE's extension: .sarif sarif, .json json, .xml junit, .md markdown, .txt table].
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Write the report to FILE instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    #[command(flatten)]
    color: ColorArgs,
    /// Table format: show only the failing services' failures and the summary.
    #[arg(long, short, conflicts_with = "verbose")]
    quiet: bool,
    /// Table format: also show notes, documentation links, rules not evaluated, waivers and
    /// where infrastructure is deployed.
    #[arg(long, short)]
    verbose: bool,
    /// Lowest severity that fails a service and the run.
    #[arg(long, value_enum, default_value = "error")]
    fail_on: FailOn,
    /// Fail the run when a service's language or framework is not analysed.
    #[arg(long)]
    fail_on_unknown: bool,
    /// Policy file [default: PATH/tracegate.yaml when it exists].
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Extra rule packs (*.yaml) added to the built-in ones.
    #[arg(long, value_name = "DIR")]
    rules: Option<PathBuf>,
    /// Parse every source file, even those in which no rule pattern or flagged span data can
    /// be written (slower; the findings are the same, but a syntax error in such a file then
    /// gets its TG199 note).
    #[arg(long)]
    no_prefilter: bool,
    /// Rendered Kubernetes manifests (`-` for stdin; may be given several times): the output
    /// of `helm template` or `kustomize build`. They replace what tracegate would render: the
    /// tree's Helm charts and kustomize trees are then not read. Findings name the file as
    /// given, or `<stdin>`, with the line in the stream.
    #[arg(long, value_name = "FILE|-")]
    manifests: Vec<PathBuf>,
    /// Date used for waiver expiry (YYYY-MM-DD) instead of today (for reproducible runs).
    #[arg(long, value_name = "DATE", hide = true)]
    today: Option<String>,
}

/// The largest rendered stream `--manifests` reads (a whole platform's `helm template` output
/// is a few MiB).
const MAX_MANIFESTS: u64 = 64 * 1024 * 1024;

/// Read each `--manifests` source (`-` is stdin, read once) as UTF-8 text, at most
/// [`MAX_MANIFESTS`] bytes each.
fn read_manifests(sources: &[PathBuf]) -> anyhow::Result<Vec<ExtraManifests>> {
    use std::io::Read;
    let mut out = Vec::new();
    let mut stdin_read = false;
    for source in sources {
        let stdin = source.as_os_str() == "-";
        let name = if stdin {
            if stdin_read {
                anyhow::bail!("--manifests -: standard input can be given once");
            }
            stdin_read = true;
            "<stdin>".to_owned()
        } else {
            source.display().to_string()
        };
        let mut bytes = Vec::new();
        let reader: Box<dyn Read> = if stdin {
            Box::new(std::io::stdin().lock())
        } else {
            Box::new(
                std::fs::File::open(source)
                    .with_context(|| format!("--manifests {name}: cannot open"))?,
            )
        };
        reader
            .take(MAX_MANIFESTS + 1)
            .read_to_end(&mut bytes)
            .with_context(|| format!("--manifests {name}: cannot read"))?;
        if bytes.len() as u64 > MAX_MANIFESTS {
            anyhow::bail!(
                "--manifests {name}: larger than {} MiB; render fewer releases per run",
                MAX_MANIFESTS / 1024 / 1024
            );
        }
        let text = String::from_utf8(bytes).map_err(|e| {
            anyhow::anyhow!(
                "--manifests {name}: not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            )
        })?;
        out.push(ExtraManifests { name, text });
    }
    Ok(out)
}

pub fn run(args: Args) -> anyhow::Result<ExitStatus> {
    // mimalloc asks the kernel for transparent huge pages; for this workload (many short-lived
    // syntax trees) zeroing whole 2 MiB pages cost about 8 % of a large repository's CPU time
    // (BENCHMARKS.md). A one-shot command: turning them off process-wide is harmless.
    #[cfg(target_os = "linux")]
    let _ = rustix::thread::disable_transparent_huge_pages(true);
    let format = match (args.format, &args.output) {
        (Some(format), _) => format,
        (None, Some(file)) => format_of(file)?,
        (None, None) if std::io::stdout().is_terminal() => Format::Table,
        (None, None) => Format::Json,
    };
    let rules = load_rules(args.rules.as_deref())?;
    let today = match &args.today {
        Some(day) => time::Date::parse(
            day,
            time::macros::format_description!("[year]-[month]-[day]"),
        )
        .with_context(|| format!("--today {day}: expected YYYY-MM-DD"))?,
        None => time::OffsetDateTime::now_utc().date(),
    };
    let policy = PolicyOptions {
        fail_on: args.fail_on.into(),
        fail_on_unknown: args.fail_on_unknown,
        today,
    };
    let CheckRun {
        outcome,
        rules: metas,
    } = pipeline::run(
        &args.path,
        PipelineOptions {
            rules,
            config: args.config.clone(),
            prefilter: !args.no_prefilter,
            policy,
            manifests: read_manifests(&args.manifests)?,
        },
    )?;

    let prefix = repo_prefix(&args.path);
    let base = display_base(&args.path);
    // `--manifests` files are named as given (relative to the current directory already).
    let given: Vec<String> = args
        .manifests
        .iter()
        .map(|m| m.display().to_string())
        .collect();
    let text = TextOptions {
        width: if args.output.is_some() {
            None
        } else {
            super::term::stdout_width()
        },
        color: if args.output.is_some() {
            args.color.file()
        } else {
            args.color.stdout()
        },
        verbosity: if args.quiet {
            Verbosity::Quiet
        } else if args.verbose {
            Verbosity::Verbose
        } else {
            Verbosity::Normal
        },
        base: base.as_deref(),
        given: &given,
    };
    let ctx = RenderContext {
        rules: &metas,
        fail_on: policy.fail_on,
        repo_prefix: prefix.as_deref(),
        text,
    };
    let rendered = render(format, &outcome.report, &ctx)?;
    match &args.output {
        Some(file) => {
            std::fs::write(file, &rendered.main)
                .with_context(|| format!("{}: cannot write the report", file.display()))?;
            // The report went to the file; say so, and what it holds, on standard error.
            eprintln!(
                "tracegate check: wrote {}: {}",
                file.display(),
                SummaryLine(&outcome.report)
            );
        }
        None => super::print(&rendered.main)?,
    }
    if let (Some(summary), Some(file)) = (
        &rendered.step_summary,
        std::env::var_os("GITHUB_STEP_SUMMARY").filter(|v| !v.is_empty()),
    ) {
        append(Path::new(&file), summary).with_context(|| {
            format!("{}: cannot append the step summary", file.to_string_lossy())
        })?;
    }
    Ok(outcome.status)
}

/// Built-in rule packs, plus `--rules DIR`.
pub fn load_rules(dir: Option<&Path>) -> anyhow::Result<RuleSet> {
    let mut rules = RuleSet::builtin();
    if let Some(dir) = dir {
        rules.load_dir(dir)?;
    }
    Ok(rules)
}

fn append(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    file.write_all(text.as_bytes())
}

/// Where the checked directory is inside the repository, for the formats GitHub reads relative
/// to the repository root (annotations, SARIF): relative to `$GITHUB_WORKSPACE` in GitHub
/// Actions, else to the current directory. `None` for the root itself or a directory outside.
fn repo_prefix(path: &std::path::Path) -> Option<String> {
    let base = match std::env::var_os("GITHUB_WORKSPACE") {
        Some(w) if !w.is_empty() => std::path::PathBuf::from(w),
        _ => std::env::current_dir().ok()?,
    };
    let base = base.canonicalize().ok()?;
    let target = path.canonicalize().ok()?;
    let rel = target.strip_prefix(&base).ok()?;
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// The format `--output FILE` asks for by its extension; an extension tracegate does not know
/// is a usage error rather than a guess.
fn format_of(file: &Path) -> anyhow::Result<Format> {
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let format = if name.ends_with(".sarif") || name.ends_with(".sarif.json") {
        Format::Sarif
    } else if name.ends_with(".json") {
        Format::Json
    } else if name.ends_with(".xml") {
        Format::Junit
    } else if name.ends_with(".md") || name.ends_with(".markdown") {
        Format::Markdown
    } else if name.ends_with(".txt") {
        Format::Table
    } else {
        let shown = match name.rsplit_once('.') {
            Some((_, ext)) => format!("extension .{ext}"),
            None => "no extension".to_owned(),
        };
        anyhow::bail!(
            "--output {}: {shown} names no format; use .sarif, .json, .xml (junit), .md or .txt (table), or give --format",
            file.display()
        );
    };
    Ok(format)
}

/// What to put before the report's paths so that they open from the current directory: the
/// checked directory relative to it when it is below it (`fixtures/monorepo`), else the path
/// as given (`../other`, `/srv/repo`); `None` for the current directory itself.
fn display_base(path: &Path) -> Option<String> {
    let below = (|| {
        let cwd = std::env::current_dir().ok()?.canonicalize().ok()?;
        let target = path.canonicalize().ok()?;
        let rel = target.strip_prefix(&cwd).ok()?;
        Some(
            rel.components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/"),
        )
    })();
    let base = match below {
        Some(rel) => rel,
        None => {
            let given = path.to_string_lossy();
            let trimmed = given.trim_end_matches('/');
            if trimmed.is_empty() {
                given.into_owned()
            } else {
                trimmed.to_owned()
            }
        }
    };
    (!base.is_empty() && base != ".").then_some(base)
}
