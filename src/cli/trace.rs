//! `tracegate trace show|list`: draw one trace, list recent ones.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use tracegate::exit::ExitStatus;
use tracegate::otlp::client::{self, Backend, FetchError};
use tracegate::otlp::store::{LoadReport, Store};
use tracegate::otlp::{decode, json, wire};
use tracegate::propagation::TraceId;
use tracegate::report::escape_control;
use tracegate::report::trace as render;
use tracegate::trace::{AssemblyOptions, Trace, TraceSummary};

const DEFAULT_FROM: &str = "http://127.0.0.1:4318";

const EXAMPLES: &str = "\
Examples:
  tracegate trace list
      recent traces held by `tracegate collect` on 127.0.0.1:4318
  tracegate trace show 4bf92f3577b34da6a3ce929d0e0e4736
      terminal waterfall of one trace from the local collector
  tracegate trace show $ID --store .tracegate/traces --format html -o trace.html
      a self-contained HTML page from a persisted store ($ID: a trace ID, e.g. from `trace list`)
  tracegate trace show $ID --from http://tempo:3200 --backend tempo --format mermaid
      the service graph of a trace stored in Grafana Tempo
  tracegate trace show --input trace.json
      a trace saved as OTLP JSON (or a Tempo/Jaeger answer); the ID is needed only when the
      file holds several traces";

/// Show or list traces from a collector, a persisted store, Tempo or Jaeger.
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Draw one trace: waterfall, JSON, HTML page, or its service graph (DOT, Mermaid).
    #[command(after_help = EXAMPLES)]
    Show(ShowArgs),
    /// List recent traces with start time, age, root service, operation, spans, duration,
    /// errors and problems.
    #[command(after_help = EXAMPLES)]
    List(ListArgs),
}

#[derive(Debug, clap::Args)]
struct Source {
    /// Read a store persisted by `tracegate collect --store DIR` (read-only).
    #[arg(long, value_name = "DIR", conflicts_with = "from")]
    store: Option<PathBuf>,
    /// Fetch from a backend URL (default: the local collector, http://127.0.0.1:4318).
    #[arg(long, value_name = "URL", value_parser = http_url)]
    from: Option<String>,
    /// The backend behind --from.
    #[arg(long, value_name = "KIND", default_value = "tracegate", value_parser = ["tracegate", "tempo", "jaeger"], conflicts_with = "store")]
    backend: String,
    /// Request timeout for --from, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    timeout_ms: u64,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Format {
    Tree,
    Json,
    Html,
    Dot,
    Mermaid,
}

#[derive(Debug, clap::Args)]
struct ShowArgs {
    /// The trace ID: 32 hex characters. Optional with --input when the file holds one trace.
    #[arg(required_unless_present = "input")]
    trace_id: Option<String>,
    #[command(flatten)]
    source: Source,
    /// Read the trace from a file: OTLP JSON, a Tempo or Jaeger answer, or OTLP protobuf (.pb).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["from", "store", "backend"])]
    input: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "tree")]
    format: Format,
    /// Write to FILE instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    #[command(flatten)]
    color: super::term::ColorArgs,
    /// Children may start before / end after their parent by this much before it is clock skew.
    #[arg(long, value_name = "MS", default_value_t = 1.0, value_parser = milliseconds)]
    skew_tolerance_ms: f64,
}

#[derive(Debug, clap::Args)]
struct ListArgs {
    #[command(flatten)]
    source: Source,
    /// Traces to list, newest first.
    #[arg(long, default_value_t = 20)]
    limit: usize,
    /// Output format.
    #[arg(long, default_value = "table", value_parser = ["table", "json"])]
    format: String,
    #[command(flatten)]
    color: super::term::ColorArgs,
}

pub fn run(args: Args) -> anyhow::Result<ExitStatus> {
    match args.command {
        Command::Show(a) => show(a),
        Command::List(a) => list(a),
    }
}

/// `--from` takes an `http://` or `https://` URL (a bare host would become a relative URL).
fn http_url(s: &str) -> Result<String, String> {
    let rest = s
        .strip_prefix("http://")
        .or_else(|| s.strip_prefix("https://"))
        .ok_or("expected an http:// or https:// URL, e.g. http://127.0.0.1:4318")?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err("the URL has no host".into());
    }
    Ok(s.to_owned())
}

/// A fetch error; when the implicit local collector is unreachable, say what to do. The text
/// carries what the backend answered (an error body): control characters are escaped.
fn fetch_error(err: FetchError, from: Option<&str>) -> anyhow::Error {
    let text = err.to_string();
    let text = escape_control(&text);
    match (&err, from) {
        (FetchError::Transport { .. }, None) => anyhow::anyhow!(
            "{text} (is `tracegate collect` running? Otherwise name the source: --from URL or --store DIR)"
        ),
        _ => anyhow::anyhow!("{text}"),
    }
}

fn parse_id(s: &str) -> anyhow::Result<TraceId> {
    TraceId::from_hex(&s.to_ascii_lowercase()).with_context(|| {
        format!("invalid trace ID {s:?}: expected 32 hex characters, not all zero")
    })
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

fn show(args: ShowArgs) -> anyhow::Result<ExitStatus> {
    let id = args.trace_id.as_deref().map(parse_id).transpose()?;
    let options = AssemblyOptions {
        clock_skew_tolerance_ns: (args.skew_tolerance_ms.max(0.0) * 1e6) as u64,
    };
    let data = if let Some(path) = &args.input {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let protobuf = path.extension().is_some_and(|e| e == "pb");
        if protobuf {
            // the receiver's decode budget: empty or invalid spans are counted, not decoded
            decode::traces_from_protobuf(&bytes)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
        } else {
            // streamed span by span within the receiver's budgets, whatever the backend's shape
            let protobuf = json::trace_file_to_protobuf(&bytes, wire::DEFAULT_MAX_MESSAGES)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            drop(bytes);
            decode::traces_from_protobuf(&protobuf)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
        }
    } else if let Some(dir) = &args.source.store {
        let id = needs_id(id)?;
        let store = load_store(dir)?;
        store
            .get(id)
            .with_context(|| format!("trace {id} not found in {}", dir.display()))?
    } else {
        let id = needs_id(id)?;
        let base = args.source.from.as_deref().unwrap_or(DEFAULT_FROM);
        let backend: Backend = args.source.backend.parse().map_err(anyhow::Error::msg)?;
        let timeout = Duration::from_millis(args.source.timeout_ms);
        match runtime()?.block_on(client::fetch_trace(base, backend, id, timeout)) {
            Ok(data) => data,
            Err(e @ FetchError::NotFound(..)) => bail!("{e}"),
            Err(e) => return Err(fetch_error(e, args.source.from.as_deref())),
        }
    };
    let mut traces = Trace::from_otlp(&data.resource_spans, &options);
    let trace = match id {
        Some(id) => match traces.iter().position(|t| t.trace_id == id) {
            Some(i) => traces.swap_remove(i),
            None => bail!("trace {id} not found (the source holds no span of it)"),
        },
        None => one_trace(traces, args.input.as_deref())?,
    };
    let text = match args.format {
        Format::Tree => {
            // on standard output the waterfall takes the terminal's width and colour per
            // --color (as `check`); a file gets neither unless --color always
            let text = args.color.text_options(args.output.as_deref());
            render::tree_with(&trace, &text)
        }
        Format::Json => render::json(&trace),
        Format::Html => render::html(&trace).context("rendering the HTML page")?,
        Format::Dot => render::dot(&trace),
        Format::Mermaid => render::mermaid(&trace),
    };
    write_out(args.output.as_ref(), &text)?;
    Ok(ExitStatus::Passed)
}

/// The ID, which every source but --input needs (clap requires it without --input).
fn needs_id(id: Option<TraceId>) -> anyhow::Result<TraceId> {
    id.context("a trace ID is needed: tracegate trace show ID")
}

/// The one trace of a file read without an ID; several are a usage error naming them.
fn one_trace(mut traces: Vec<Trace>, file: Option<&std::path::Path>) -> anyhow::Result<Trace> {
    let file = file.map_or_else(String::new, |f| format!("{} ", f.display()));
    match traces.len() {
        0 => bail!("{file}holds no span with a valid trace ID"),
        1 => Ok(traces.remove(0)),
        n => {
            const SHOWN: usize = 10;
            let mut ids: Vec<String> = traces
                .iter()
                .take(SHOWN)
                .map(|t| t.trace_id.to_hex())
                .collect();
            if n > SHOWN {
                ids.push(format!("and {} more", n - SHOWN));
            }
            bail!(
                "{file}holds {n} traces; name one: tracegate trace show ID --input FILE (IDs: {})",
                ids.join(", ")
            )
        }
    }
}

fn list(args: ListArgs) -> anyhow::Result<ExitStatus> {
    let summaries: Vec<TraceSummary> = if let Some(dir) = &args.source.store {
        let store = load_store(dir)?;
        store.recent(args.limit, &AssemblyOptions::default())
    } else {
        let base = args.source.from.as_deref().unwrap_or(DEFAULT_FROM);
        if args.source.backend != "tracegate" {
            bail!("trace list needs a tracegate receiver (--backend tracegate); Tempo and Jaeger are searched with their own UIs");
        }
        let timeout = Duration::from_millis(args.source.timeout_ms);
        runtime()?
            .block_on(client::list_traces(base, args.limit, timeout))
            .map_err(|e| fetch_error(e, args.source.from.as_deref()))?
    };
    let text = if args.format == "json" {
        let mut s = serde_json::to_string_pretty(&serde_json::json!({ "traces": summaries }))?;
        s.push('\n');
        s
    } else {
        // fitted to the terminal and coloured per --color, as `check`'s table
        let text = tracegate::report::term::TextOptions {
            width: super::term::stdout_width(),
            color: args.color.stdout(),
            ..Default::default()
        };
        render::list_table_with(&summaries, render::clock::now_unix_nano(), &text)
    };
    write_out(None, &text)?;
    Ok(ExitStatus::Passed)
}

/// A finite, non-negative number of milliseconds.
fn milliseconds(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(ms) if ms.is_finite() && ms >= 0.0 => Ok(ms),
        _ => Err(format!(
            "`{text}` is not a number of milliseconds (0 or more)"
        )),
    }
}

/// A persisted store, read-only; a skipped tail is reported on stderr (it may be a batch a
/// running `collect` is writing, or corruption: either way those spans are not shown).
fn load_store(dir: &std::path::Path) -> anyhow::Result<Store> {
    let (store, report) =
        Store::load_read_only(dir, usize::MAX).context("cannot read the trace store")?;
    if let Some(warning) = load_warning(dir, &report) {
        eprintln!("tracegate: warning: {warning}");
    }
    Ok(store)
}

/// What a read-only load skipped, in one line; `None` when nothing was.
fn load_warning(dir: &std::path::Path, report: &LoadReport) -> Option<String> {
    let mut parts = Vec::new();
    if report.damaged_records > 0 {
        parts.push(format!(
            "skipped {} damaged record{} ({} bytes; their spans are not shown)",
            report.damaged_records,
            if report.damaged_records == 1 { "" } else { "s" },
            report.damaged_bytes
        ));
    }
    if report.skipped_bytes > 0 {
        parts.push(format!(
            "ignored the last {} bytes of the log (a batch being written, or corruption)",
            report.skipped_bytes
        ));
    }
    (!parts.is_empty()).then(|| {
        format!(
            "{}: {}",
            dir.join(tracegate::otlp::persist::LOG_FILE).display(),
            parts.join("; ")
        )
    })
}

fn write_out(path: Option<&PathBuf>, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    match path {
        Some(p) => std::fs::write(p, text).with_context(|| format!("cannot write {}", p.display())),
        None => {
            let mut out = std::io::stdout().lock();
            match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                other => other.context("writing to standard output"),
            }
        }
    }
}
