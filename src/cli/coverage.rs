//! `tracegate coverage`: the weekly propagation-coverage metric, its history, the report.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use tracegate::check::model::Severity;
use tracegate::coverage::catalog::{self, CatalogOptions, CatalogProgress};
use tracegate::coverage::history::{History, DEFAULT_DB};
use tracegate::coverage::model::{Catalog, CoverageReport, RuntimeFindings};
use tracegate::coverage::runtime::{self, RuntimeOptions, TraceInput};
use tracegate::coverage::{snapshot, summary, IsoWeek, Snapshot};
use tracegate::exit::ExitStatus;
use tracegate::otlp::client::Backend;
use tracegate::report::coverage::{render_with, Format};

use super::term::ColorArgs;
use tracegate::verify::collect::BackendCredentials;

const EXAMPLES: &str = "\
Examples:
  tracegate coverage ~/src/payments ~/src/identity ~/src/edge
      this week's coverage of three repositories (a monorepo counts as one path), recorded
      in .tracegate/coverage.db and compared with the previous recorded week
  tracegate coverage . --from http://tempo:3200 --backend tempo --since 7d
      also judge each service from a sample of last week's traces (runtime verdicts)
  tracegate coverage . --store .tracegate/traces --format markdown
      runtime verdicts from a `tracegate collect --store` directory; Markdown for a chat post
  tracegate coverage ingest results/*.json --week 2026-W48 --format html -o coverage.html
      merge the `check --format json` shards of a CI matrix into one snapshot; HTML report
  tracegate coverage . --fail-under 0.95 --fail-on-regression
      exit 1 below 95 % or when a service stopped propagating since the previous week
  tracegate coverage . --format openmetrics -o /var/lib/node_exporter/tracegate.prom
      for a Prometheus textfile collector (or a push gateway)

A service counts as propagating when `check` passes it and, when traces are given, it is not
broken at runtime (docs/coverage.md has the formula). Re-running a week replaces its snapshot.

Colour: --color auto (a terminal, NO_COLOR unset or empty), always or never; on a terminal the
table is sized to its width, or COLUMNS.

Exit codes: 0 report written and gates held, 1 --fail-under or --fail-on-regression failed,
2 bad input (no service under a path, a malformed shard, a week that is not ISO, a corrupt or
locked database, an unreachable trace backend).";

/// Report the share of services that propagate W3C trace context end to end, week by week.
///
/// Builds the catalog (check's discovery under each PATH, tracegate.yaml and Backstage
/// catalog-info.yaml declarations, owners from tracegate.yaml, Backstage or CODEOWNERS),
/// takes each service's static verdict from `check` and, when traces are given, its runtime
/// verdict; records the week's snapshot in an SQLite history and reports coverage, change
/// since the previous week, per team, regressions and the trend.
#[derive(Debug, clap::Args)]
#[command(
    after_help = EXAMPLES,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
pub struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// Repositories (or a monorepo) to scan [default: .].
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Lowest severity that fails a service statically (as `check --fail-on`).
    #[arg(long, value_enum, default_value = "error")]
    fail_on: super::check::FailOn,
    /// Extra rule packs (*.yaml) added to the built-in ones.
    #[arg(long, value_name = "DIR")]
    rules: Option<PathBuf>,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Merge the `tracegate check --format json` results of a sharded CI run into one snapshot.
    #[command(after_help = INGEST_EXAMPLES)]
    Ingest(IngestArgs),
    /// Render a recorded week from the history again (no scan, no trace read, nothing recorded).
    #[command(after_help = SHOW_EXAMPLES)]
    Show(ShowArgs),
}

const SHOW_EXAMPLES: &str = "\
Examples:
  tracegate coverage show
      the most recent recorded week, compared with the week before it
  tracegate coverage show --week 2026-W47 --format markdown
      an earlier week, for a post
  tracegate coverage show --format openmetrics -o metrics.prom
      the metrics of the week just recorded (e.g. after `coverage ingest … --format html`)";

#[derive(Debug, clap::Args)]
struct ShowArgs {
    /// The recorded week to show [default: the most recent one].
    #[arg(long, value_name = "YYYY-Www")]
    week: Option<String>,
    /// The history database.
    #[arg(long, value_name = "FILE", env = "TRACEGATE_COVERAGE_DB", default_value = DEFAULT_DB)]
    db: PathBuf,
    #[command(flatten)]
    report: ReportArgs,
}

/// How the report is written and judged.
#[derive(Debug, clap::Args)]
struct ReportArgs {
    /// Output format [default: table on a terminal, json otherwise].
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    #[command(flatten)]
    color: ColorArgs,
    /// Exit 1 when coverage is below this ratio (0 to 1, e.g. 0.95, or 95%).
    #[arg(long, value_name = "RATIO", value_parser = ratio)]
    fail_under: Option<f64>,
    /// Exit 1 when a service propagating in the previous recorded week no longer does.
    #[arg(long)]
    fail_on_regression: bool,
    /// Date used for waiver expiry (YYYY-MM-DD) instead of today (for reproducible runs).
    #[arg(long, value_name = "DATE", hide = true)]
    today: Option<String>,
}

const INGEST_EXAMPLES: &str = "\
Examples:
  tracegate coverage ingest results/*.json --week 2026-W48
      one snapshot from every shard (each a `tracegate check REPO --format json` output; the
      file name without .json names the repository)
  tracegate coverage ingest results/*.json --from http://jaeger:16686 --backend jaeger
      with runtime verdicts from Jaeger's last 7 days

The numbers equal those of one `tracegate coverage` run over every repository.";

#[derive(Debug, clap::Args)]
struct IngestArgs {
    /// `tracegate check --format json` result files, or directories of them (*.json).
    #[arg(value_name = "FILE", required = true)]
    files: Vec<PathBuf>,
    #[command(flatten)]
    common: CommonArgs,
}

/// What both forms share: the week, the history, traces, the report and the gates.
#[derive(Debug, clap::Args)]
struct CommonArgs {
    /// The ISO week to record and report, e.g. 2026-W48 [default: the current week, UTC].
    #[arg(long, value_name = "YYYY-Www")]
    week: Option<String>,
    /// The history database (SQLite; created when absent).
    #[arg(long, value_name = "FILE", env = "TRACEGATE_COVERAGE_DB", default_value = DEFAULT_DB)]
    db: PathBuf,
    /// Compare with the history but do not record this run.
    #[arg(long)]
    dry_run: bool,
    /// Keep only the N most recent weeks in the history (older ones are deleted).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    keep_weeks: Option<u32>,
    /// Read traces from this backend's search API for runtime verdicts.
    #[arg(long, value_name = "URL", conflicts_with_all = ["store", "verify_results"])]
    from: Option<String>,
    /// The backend behind --from.
    #[arg(long, value_name = "KIND", default_value = "tracegate", value_parser = ["tracegate", "tempo", "jaeger"])]
    backend: String,
    /// Headers for backend queries, one `Name: value` per line (never printed).
    #[arg(long, value_name = "FILE")]
    backend_credentials: Option<PathBuf>,
    /// Runtime verdicts from a `tracegate collect --store` directory (read only).
    #[arg(long, value_name = "DIR", conflicts_with = "verify_results")]
    store: Option<PathBuf>,
    /// Runtime verdicts from `tracegate verify --format json` result files (repeatable).
    #[arg(long = "verify-results", value_name = "FILE")]
    verify_results: Vec<PathBuf>,
    /// How far back to read traces, from the end of the week (or now): 7d, 24h, 90m, 2w.
    #[arg(long, value_name = "DURATION", default_value = "7d", value_parser = window)]
    since: Duration,
    /// Read at most this many traces (a bounded sample of the backend's).
    #[arg(long, value_name = "N", default_value = "1000", value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    max_traces: u32,
    /// Timeout of each backend request.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = super::verify::duration)]
    request_timeout: Duration,
    #[command(flatten)]
    report: ReportArgs,
}

pub fn run(args: Args) -> anyhow::Result<ExitStatus> {
    match args.command {
        Some(Command::Ingest(ingest)) => {
            let files = shard_files(&ingest.files)?;
            execute(&ingest.common, |_| {
                catalog::ingest(&files).map_err(anyhow::Error::from)
            })
        }
        Some(Command::Show(show)) => show_week(&show),
        None => {
            let paths = if args.paths.is_empty() {
                vec![PathBuf::from(".")]
            } else {
                args.paths.clone()
            };
            let rules = super::check::load_rules(args.rules.as_deref())?;
            let fail_on: Severity = args.fail_on.into();
            execute(&args.common, |today| {
                let options = CatalogOptions {
                    rules,
                    fail_on,
                    today,
                };
                let mut progress = ScanProgress::new(paths.len());
                let catalog = catalog::scan(&paths, &options, &mut |p| progress.event(p));
                progress.finish();
                catalog.map_err(anyhow::Error::from)
            })
        }
    }
}

/// Week, history, catalog (from `build_catalog`), traces, snapshot, report, gates.
fn execute(
    args: &CommonArgs,
    build_catalog: impl FnOnce(time::Date) -> anyhow::Result<Catalog>,
) -> anyhow::Result<ExitStatus> {
    let week = match &args.week {
        Some(text) => text.parse::<IsoWeek>()?,
        None => IsoWeek::current(),
    };
    let today = today(&args.report)?;
    let trace_input = trace_input(args)?;
    check_writable(args.report.output.as_deref())?;
    // The database is opened (and a corrupt or locked one refused) before any long work.
    let mut history = History::open(&args.db)?;

    let catalog = build_catalog(today)?;
    let runtime_findings = match &trace_input {
        Some(input) => Some(read_traces(input, args, week)?),
        None => None,
    };
    let recorded_at = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let snapshot = snapshot::build(week, catalog, runtime_findings, recorded_at);

    if !args.dry_run {
        history.record(&snapshot)?;
        if let Some(keep) = args.keep_weeks {
            history.retain(keep as usize)?;
        }
    }
    emit(&history, &snapshot, today, &args.report)
}

/// `coverage show`: a recorded week again.
fn show_week(args: &ShowArgs) -> anyhow::Result<ExitStatus> {
    let today = today(&args.report)?;
    check_writable(args.report.output.as_deref())?;
    if !args.db.exists() {
        anyhow::bail!(
            "{}: no history yet: record a week with `tracegate coverage PATH…` or `coverage ingest`",
            args.db.display()
        );
    }
    let history = History::open(&args.db)?;
    let week = match &args.week {
        Some(text) => text.parse::<IsoWeek>()?,
        None => match history.weeks()?.last() {
            Some(week) => *week,
            None => anyhow::bail!("{}: no week recorded yet", args.db.display()),
        },
    };
    let Some(snapshot) = history.load(week)? else {
        let recorded: Vec<String> = history.weeks()?.iter().map(ToString::to_string).collect();
        anyhow::bail!(
            "{}: week {week} is not recorded (recorded: {})",
            args.db.display(),
            if recorded.is_empty() {
                "none".to_owned()
            } else {
                recorded.join(", ")
            }
        );
    };
    emit(&history, &snapshot, today, &args.report)
}

/// Compare `snapshot` with the history, render, write, and apply the gates.
fn emit(
    history: &History,
    snapshot: &Snapshot,
    today: time::Date,
    args: &ReportArgs,
) -> anyhow::Result<ExitStatus> {
    let previous = history.previous(snapshot.week)?;
    // The trend shows this snapshot for its week, also when it was not recorded (--dry-run)
    // or replaces an earlier recording of the week.
    let mut trend = history.trend(snapshot.week, 12)?;
    trend.retain(|point| point.week != snapshot.week);
    trend.push(summary::trend_point(snapshot));
    let report = summary::build(snapshot, previous.as_ref(), trend, today);
    let format = args.format.unwrap_or(
        if args.output.is_none() && std::io::stdout().is_terminal() {
            Format::Table
        } else {
            Format::Json
        },
    );
    // On standard output the table takes the terminal's width and colour per --color (as
    // `check`); a file gets neither unless --color always.
    let text = args.color.text_options(args.output.as_deref());
    let rendered = render_with(format, &report, &text).map_err(anyhow::Error::msg)?;
    match &args.output {
        Some(file) => {
            std::fs::write(file, &rendered)
                .with_context(|| format!("{}: cannot write the report", file.display()))?;
            eprintln!(
                "tracegate coverage: wrote {}: {}",
                file.display(),
                headline(&report)
            );
        }
        None => super::print(&rendered)?,
    }
    Ok(gates(&report, args))
}

fn today(args: &ReportArgs) -> anyhow::Result<time::Date> {
    Ok(match &args.today {
        Some(day) => time::Date::parse(
            day,
            time::macros::format_description!("[year]-[month]-[day]"),
        )
        .with_context(|| format!("--today {day}: expected YYYY-MM-DD"))?,
        None => time::OffsetDateTime::now_utc().date(),
    })
}

/// The shard files: each FILE as given, each directory's `*.json` files (sorted).
fn shard_files(args: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for arg in args {
        if arg.is_dir() {
            let mut inside: Vec<PathBuf> = std::fs::read_dir(arg)
                .with_context(|| format!("{}: cannot list the directory", arg.display()))?
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "json") && p.is_file())
                .collect();
            if inside.is_empty() {
                anyhow::bail!(
                    "{}: no *.json check result in this directory",
                    arg.display()
                );
            }
            inside.sort();
            files.extend(inside);
        } else {
            files.push(arg.clone());
        }
    }
    Ok(files)
}

/// `--fail-under` and `--fail-on-regression`.
fn gates(report: &CoverageReport, args: &ReportArgs) -> ExitStatus {
    let under = args.fail_under.is_some_and(|min| report.coverage < min);
    let regressed = args.fail_on_regression && !report.regressions.is_empty();
    if under || regressed {
        ExitStatus::PolicyFailed
    } else {
        ExitStatus::Passed
    }
}

/// One line for standard error when the report went to a file.
fn headline(report: &CoverageReport) -> String {
    format!(
        "{} {:.1} % ({} of {} services propagating)",
        report.week,
        report.coverage * 100.0,
        report.services_propagating,
        report.services_total
    )
}

/// The trace source the flags name, if any.
fn trace_input(args: &CommonArgs) -> anyhow::Result<Option<TraceInput>> {
    if let Some(url) = &args.from {
        super::verify::backend_url(url).map_err(|e| anyhow::anyhow!("--from: {e}"))?;
        let backend: Backend = args.backend.parse().map_err(anyhow::Error::msg)?;
        let headers = BackendCredentials::load(args.backend_credentials.as_deref())?.into_headers();
        return Ok(Some(TraceInput::Backend {
            url: url.clone(),
            backend,
            headers,
        }));
    }
    if let Some(dir) = &args.store {
        return Ok(Some(TraceInput::Store(dir.clone())));
    }
    if !args.verify_results.is_empty() {
        return Ok(Some(TraceInput::VerifyResults(args.verify_results.clone())));
    }
    Ok(None)
}

/// Read `input` over the window: `--since` long, ending at the end of the reported week (or
/// now, when the week has not ended yet), so that `--week 2026-W48` judges W48's traces.
fn read_traces(
    input: &TraceInput,
    args: &CommonArgs,
    week: IsoWeek,
) -> anyhow::Result<RuntimeFindings> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let week_end = week_end(week);
    let until = if week_end < now { week_end } else { now };
    let nanos = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
    let options = RuntimeOptions {
        since_unix_nano: nanos(until.saturating_sub(args.since)),
        until_unix_nano: nanos(until),
        max_traces: args.max_traces as usize,
        request_timeout: args.request_timeout,
    };
    let findings = super::verify::runtime()?.block_on(runtime::read(input, &options))?;
    Ok(findings)
}

/// The end of `week` (the Monday after it, 00:00 UTC) since the Unix epoch.
fn week_end(week: IsoWeek) -> Duration {
    let monday_after = week.sunday().next_day().unwrap_or(week.sunday());
    let seconds = monday_after.midnight().assume_utc().unix_timestamp();
    Duration::from_secs(u64::try_from(seconds).unwrap_or(0))
}

/// Refuse an unwritable --output before the scan and the traces are read.
fn check_writable(output: Option<&Path>) -> anyhow::Result<()> {
    let Some(file) = output else { return Ok(()) };
    let dir = match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        anyhow::bail!(
            "{}: cannot write the report: {} is not a directory",
            file.display(),
            dir.display()
        );
    }
    if file.is_dir() {
        anyhow::bail!(
            "{}: cannot write the report: it is a directory",
            file.display()
        );
    }
    Ok(())
}

/// `7d`, `24h`, `90m`, `2w`, `3600s`: how far back traces are read (at most a year).
fn window(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let bad = || format!("`{text}` is not a duration: use e.g. 7d, 24h, 90m or 2w");
    let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().map_err(|_| bad())?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(bad()),
    };
    let total = number.checked_mul(seconds).ok_or_else(bad)?;
    if total == 0 || total > 366 * 86_400 {
        return Err(format!(
            "`{text}`: the window must be between 1s and a year"
        ));
    }
    Ok(Duration::from_secs(total))
}

/// A ratio between 0 and 1 (`0.95`), or a percentage (`95%`).
fn ratio(text: &str) -> Result<f64, String> {
    let text = text.trim();
    let value = match text.strip_suffix('%') {
        Some(pct) => pct.trim().parse::<f64>().map(|v| v / 100.0),
        None => text.parse::<f64>(),
    }
    .map_err(|_| format!("`{text}` is not a ratio: use e.g. 0.95 or 95%"))?;
    if !(0.0..=1.0).contains(&value) {
        return Err(format!(
            "`{text}`: a ratio is between 0 and 1 (0 % and 100 %)"
        ));
    }
    Ok(value)
}

/// "scanning 3/12 payments" on standard error when it is a terminal and there are several
/// paths; nothing otherwise.
struct ScanProgress {
    bar: Option<indicatif::ProgressBar>,
}

impl ScanProgress {
    fn new(total: usize) -> Self {
        let bar = (total > 1 && std::io::stderr().is_terminal()).then(|| {
            let bar = indicatif::ProgressBar::new(total as u64);
            if let Ok(style) =
                indicatif::ProgressStyle::with_template("scanning {pos}/{len} {wide_msg}")
            {
                bar.set_style(style);
            }
            bar
        });
        ScanProgress { bar }
    }

    fn event(&mut self, event: CatalogProgress) {
        let Some(bar) = &self.bar else { return };
        match event {
            CatalogProgress::Scanning { index, path, .. } => {
                bar.set_position(index as u64);
                bar.set_message(path.display().to_string());
            }
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn windows_take_days_hours_minutes_and_weeks() {
        assert_eq!(window("7d").unwrap(), Duration::from_secs(7 * 86_400));
        assert_eq!(window("24h").unwrap(), Duration::from_secs(86_400));
        assert_eq!(window("90m").unwrap(), Duration::from_secs(5_400));
        assert_eq!(window("2w").unwrap(), Duration::from_secs(14 * 86_400));
        for bad in [
            "",
            "7",
            "d",
            "7 days",
            "0d",
            "400d",
            "-1d",
            "1.5d",
            "99999999999999999999d",
        ] {
            assert!(window(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn the_trace_window_ends_with_the_reported_week() {
        let w48: IsoWeek = "2026-W48".parse().unwrap();
        // Monday 2026-11-30 00:00:00 UTC
        assert_eq!(week_end(w48), Duration::from_secs(1_795_996_800));
    }

    #[test]
    fn ratios_take_fractions_and_percentages() {
        assert!((ratio("0.95").unwrap() - 0.95).abs() < 1e-12);
        assert!((ratio("95%").unwrap() - 0.95).abs() < 1e-12);
        assert!(ratio("1").is_ok() && ratio("0").is_ok());
        for bad in ["1.5", "-0.1", "abc", "95", "NaN", "101%"] {
            assert!(ratio(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
