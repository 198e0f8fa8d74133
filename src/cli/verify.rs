//! `tracegate verify`: replay a scenario through a running platform and judge AC-001…AC-007.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use tracegate::exit::ExitStatus;
use tracegate::otlp::client::Backend;
use tracegate::otlp::server::Collector;
use tracegate::otlp::{Limits, Receiver};
use tracegate::report::escape_control;
use tracegate::report::verify::{self as render, Format};

use super::term::ColorArgs;
use tracegate::verify::collect::{BackendCredentials, DestinationSource, SpanSource};
use tracegate::verify::run::{
    self, CommandFault, Event, FaultControl, VerifyOptions, VerifyOutput,
};
use tracegate::verify::{scenario, Criterion, ManifestFinding};

const EXAMPLES: &str = "\
Examples:
  tracegate verify --target https://staging.example.com --scenario ci/scenario.yaml \\
      --from http://tempo:3200 --backend tempo
      replay the scenario through staging and read the traces back from Grafana Tempo
  tracegate verify --scenario scenario.yaml --receive 0.0.0.0:4318
      receive the platform collector's OTLP/HTTP export directly (a Job in the cluster)
  tracegate verify --scenario scenario.yaml --from http://jaeger:16686 --backend jaeger \\
      --fault-start './block-otlp.sh' --fault-stop './unblock-otlp.sh'
      also run AC-007(a)'s fault phase: requests must succeed with the backend blocked
  tracegate verify --scenario scenario.yaml --from http://127.0.0.1:4318 \\
      --destination acme=http://127.0.0.1:5318 --destination globex=http://127.0.0.1:6318
      AC-005: spans reached every destination, no tenant's spans at another tenant's
  tracegate verify --scenario scenario.yaml --from $URL --format junit --output verify.xml
      JUnit for CI (also json, markdown for $GITHUB_STEP_SUMMARY)
  tracegate config schema --scenario > scenario.schema.json
      the JSON Schema of scenario files

Exit codes: 0 every judged criterion passed, 1 a criterion failed or no span was read,
2 bad input (scenario error with file:line, unreachable target, backend answering garbage).

Backend credentials (sent with every query to --from and --destination, never printed):
--backend-credentials FILE with one `Name: value` header per line; without it,
$TRACEGATE_BACKEND_TOKEN (sent as `authorization: Bearer …`) and $TRACEGATE_BACKEND_HEADERS
(`name=value,name2=value2`).";

/// Replay synthetic requests through a running platform and judge the acceptance criteria.
///
/// Sends the scenario's requests (and the generated incoming-context matrix, and per-run
/// canaries) to the target, reads the resulting traces back by trace ID, and gives AC-001…
/// AC-007 each a verdict with evidence (docs/verify.md).
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// The ingress URL [default: the scenario's `target`].
    #[arg(long, value_name = "URL")]
    target: Option<String>,
    /// The scenario file (YAML; `tracegate config schema --scenario` prints its schema).
    #[arg(long, value_name = "FILE")]
    scenario: PathBuf,
    /// Read spans from this backend URL by trace ID.
    #[arg(long, value_name = "URL", required_unless_present = "receive")]
    from: Option<String>,
    /// The backend behind --from and --destination.
    #[arg(long, value_name = "KIND", default_value = "tracegate", value_parser = ["tracegate", "tempo", "jaeger"])]
    backend: String,
    /// Run an embedded OTLP/HTTP receiver on ADDR and read the spans the platform exports to it.
    #[arg(long, value_name = "ADDR", conflicts_with = "from")]
    receive: Option<SocketAddr>,
    /// Headers for backend queries, one `Name: value` per line (never printed).
    #[arg(long, value_name = "FILE")]
    backend_credentials: Option<PathBuf>,
    /// An export destination to check (AC-005), repeatable; NAME is a tenant of the scenario
    /// for a tenant's destination, anything else for a shared one.
    #[arg(long = "destination", value_name = "NAME=URL")]
    destinations: Vec<String>,
    /// Kubernetes manifests to check with `check`'s TG2xx rules (AC-005).
    #[arg(long, value_name = "DIR")]
    manifests: Option<PathBuf>,
    /// Shell command that breaks the telemetry backend before AC-007(a)'s fault phase.
    #[arg(long, value_name = "CMD", requires = "fault_stop")]
    fault_start: Option<String>,
    /// Shell command that restores it; always run once --fault-start ran.
    #[arg(long, value_name = "CMD", requires = "fault_start")]
    fault_stop: Option<String>,
    /// How long each fault command may run.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = duration)]
    fault_timeout: Duration,
    /// Judge only these criteria (repeatable: --only AC-001 --only AC-004).
    #[arg(long, value_name = "AC-00N", value_parser = criterion)]
    only: Vec<Criterion>,
    /// How long to wait for traces to complete.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = duration)]
    timeout: Duration,
    /// A trace with every expected service is complete after no new span for this long.
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = duration)]
    quiet: Duration,
    /// Timeout of each replayed request (and of each backend query).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = duration)]
    request_timeout: Duration,
    #[command(flatten)]
    output: OutputArgs,
}

/// How the report is written (shared with `tracegate demo`).
#[derive(Debug, clap::Args)]
pub struct OutputArgs {
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub color: ColorArgs,
    /// Write an HTML waterfall per sample trace and the service graph (SVG, DOT, Mermaid) here.
    #[arg(long, value_name = "DIR")]
    pub artifacts: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<ExitStatus> {
    args.output.check_writable()?;
    let display = args.scenario.display().to_string();
    let scenario = scenario::parse_file(&args.scenario)?;
    let target = match args.target.clone().or_else(|| scenario.target.clone()) {
        Some(target) => target,
        None => bail!("{display}: no target: give --target URL or `target:` in the scenario"),
    };
    let backend: Backend = args.backend.parse().map_err(anyhow::Error::msg)?;
    // checked here, not by clap: clap's errors quote the value, which may hold a credential
    if let Some(url) = &args.from {
        backend_url(url).map_err(|e| anyhow::anyhow!("--from: {e}"))?;
    }
    let destination_list = args
        .destinations
        .iter()
        .map(|d| destination(d).map_err(|e| anyhow::anyhow!("--destination: {e}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let headers = BackendCredentials::load(args.backend_credentials.as_deref())?.into_headers();
    let manifest_findings = args
        .manifests
        .as_deref()
        .map(manifest_findings)
        .transpose()?;
    let tenants: Vec<&str> = scenario
        .requests
        .iter()
        .filter_map(|r| r.tenant.as_deref())
        .collect();
    let destinations = destination_list
        .iter()
        .map(|(name, url)| DestinationSource {
            name: name.clone(),
            tenant: tenants.contains(&name.as_str()).then(|| name.clone()),
            source: SpanSource::Backend {
                url: url.clone(),
                backend,
                headers: headers.clone(),
            },
        })
        .collect();
    let command_fault = match (&args.fault_start, &args.fault_stop) {
        (Some(start), Some(stop)) => Some(CommandFault {
            timeout: args.fault_timeout,
            ..CommandFault::new(start, stop)
        }),
        _ => None,
    };
    // the run gets one copy; this one undoes the fault when the run is interrupted
    let fault: Option<Box<dyn FaultControl>> = command_fault
        .clone()
        .map(|f| Box::new(f) as Box<dyn FaultControl>);
    runtime()?.block_on(async {
        let receiver = match args.receive {
            Some(addr) => {
                let limits = Limits::default();
                let receiver = Receiver::new(Arc::new(limits.store()), limits);
                Some(
                    Collector::start(receiver, addr, None)
                        .await
                        .with_context(|| format!("--receive {addr}"))?,
                )
            }
            None => None,
        };
        let source = match (&receiver, &args.from) {
            (Some(collector), _) => SpanSource::Store(Arc::clone(&collector.receiver().store)),
            (None, Some(url)) => SpanSource::Backend {
                url: url.clone(),
                backend,
                headers: headers.clone(),
            },
            (None, None) => bail!("name where spans are read from: --from URL or --receive ADDR"),
        };
        let options = VerifyOptions {
            scenario,
            target,
            source,
            destinations,
            manifest_findings,
            fault,
            only: args.only.clone(),
            timeout: args.timeout,
            quiet: args.quiet,
            request_timeout: args.request_timeout,
        };
        let progress = ProgressDisplay::new();
        let applied = AtomicBool::new(false);
        let events = |event: Event| match event {
            Event::FaultStarting => applied.store(true, Ordering::SeqCst),
            Event::FaultStopped => applied.store(false, Ordering::SeqCst),
            other => progress.event(other),
        };
        let outcome = tokio::select! {
            outcome = run::verify_with_samples(options, &events) => Some(outcome),
            interrupted = interrupted() => {
                interrupted?;
                None
            }
        };
        progress.finish();
        if let Some(collector) = receiver {
            let _ = collector.shutdown().await;
        }
        let Some(outcome) = outcome else {
            // abandoned mid-run: a fault that was started is undone before exiting
            let restored = match (&command_fault, applied.load(Ordering::SeqCst)) {
                (Some(fault), true) => match fault.stop().await {
                    Ok(()) => "; the fault was undone with --fault-stop".to_owned(),
                    Err(error) => format!("; undoing the fault failed: {error}"),
                },
                _ => String::new(),
            };
            bail!("interrupted before the verdicts{restored}");
        };
        emit(&outcome?, &args.output)
    })
}

/// Ctrl-C (SIGINT) or SIGTERM (a CI job cancelled, a container stopped).
pub async fn interrupted() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .context("waiting for SIGTERM")?;
        tokio::select! {
            interrupted = tokio::signal::ctrl_c() => interrupted.context("waiting for Ctrl-C")?,
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    Ok(())
}

/// Print (or write) the report and the artifacts; the exit status follows the report.
impl OutputArgs {
    /// Refuse, before any request is sent, paths the report or artifacts cannot be written to
    /// (a run against staging can take minutes; its report must not be lost at the end).
    pub fn check_writable(&self) -> anyhow::Result<()> {
        if let Some(path) = &self.output {
            if path.is_dir() {
                bail!("--output {}: is a directory", path.display());
            }
            let parent = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            if !parent.is_dir() {
                bail!(
                    "--output {}: the directory {} does not exist",
                    path.display(),
                    parent.display()
                );
            }
        }
        if let Some(dir) = &self.artifacts {
            if dir.exists() && !dir.is_dir() {
                bail!(
                    "--artifacts {}: exists and is not a directory",
                    dir.display()
                );
            }
        }
        Ok(())
    }
}

pub fn emit(output: &VerifyOutput, args: &OutputArgs) -> anyhow::Result<ExitStatus> {
    // On standard output the table takes the terminal's width (120 columns without one) and
    // colour per --color; a file gets neither unless --color always.
    let options = args.color.text_options(args.output.as_deref());
    let text = render::render_with(args.format, &output.report, &options)
        .context("rendering the report")?;
    match &args.output {
        Some(file) => {
            std::fs::write(file, &text)
                .with_context(|| format!("{}: cannot write the report", file.display()))?;
            eprintln!(
                "tracegate verify: wrote {}: {}",
                file.display(),
                render::SummaryLine(&output.report)
            );
        }
        None => super::print(&text)?,
    }
    if let Some(dir) = &args.artifacts {
        write_artifacts(dir, output)?;
    }
    Ok(if output.report.passed() {
        ExitStatus::Passed
    } else {
        ExitStatus::PolicyFailed
    })
}

/// `DIR/trace-ID.html` per sample trace, `DIR/service-graph.{svg,dot,mmd}`, `DIR/report.json`.
fn write_artifacts(dir: &Path, output: &VerifyOutput) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    let write = |name: String, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("{}: cannot write", path.display()))
    };
    for trace in &output.sample_traces {
        let html = tracegate::report::trace::html(trace).context("rendering a trace page")?;
        write(format!("trace-{}.html", trace.trace_id), &html)?;
    }
    let graph = &output.report.service_graph;
    write("service-graph.svg".into(), &render::graph_svg(graph))?;
    write("service-graph.dot".into(), &render::graph_dot(graph))?;
    write("service-graph.mmd".into(), &render::graph_mermaid(graph))?;
    write(
        "report.json".into(),
        &render::render(Format::Json, &output.report).context("rendering the report")?,
    )?;
    Ok(())
}

/// A progress bar on standard error when it is a terminal; nothing otherwise.
pub struct ProgressDisplay {
    bar: Option<indicatif::ProgressBar>,
}

impl ProgressDisplay {
    pub fn new() -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(0);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{spinner} {msg:<28} [{bar:30}] {pos}/{len} ({elapsed})",
            ) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_message("checking the target");
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        ProgressDisplay { bar }
    }

    pub fn event(&self, event: Event) {
        let Some(bar) = &self.bar else { return };
        match event {
            Event::Replaying(phase, done, total) => {
                bar.set_message(format!("replaying ({phase} phase)"));
                bar.set_length(total as u64);
                bar.set_position(done as u64);
            }
            Event::Collecting(complete, total) => {
                bar.set_message("waiting for traces");
                bar.set_length(total as u64);
                bar.set_position(complete as u64);
            }
            Event::Note(note) => bar.println(format!("note: {}", escape_control(&note))),
            Event::FaultStarting | Event::FaultStopped => {}
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// `30s`, `500ms`, `2m`, or a bare number of seconds.
pub fn duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, scale) = if let Some(n) = text.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60.0)
    } else {
        (text, 1.0)
    };
    match number.trim().parse::<f64>() {
        Ok(value) if value.is_finite() && value >= 0.0 && value * scale <= 86_400.0 => {
            Ok(Duration::from_secs_f64(value * scale))
        }
        _ => Err(format!(
            "`{text}` is not a duration: use e.g. 30s, 500ms or 2m (at most a day)"
        )),
    }
}

pub fn criterion(text: &str) -> Result<Criterion, String> {
    text.parse()
}

/// `NAME=URL` with an http(s) URL.
fn destination(text: &str) -> Result<(String, String), String> {
    let (name, url) = text
        .split_once('=')
        .ok_or("expected NAME=URL, e.g. acme=http://127.0.0.1:5318")?;
    let name = name.trim();
    if name.is_empty() {
        return Err("the destination has no name: expected NAME=URL".into());
    }
    Ok((name.to_owned(), backend_url(url)?))
}

/// A backend URL: `http(s)://host…`, with no credentials in it (they would show in every
/// error naming the URL; they go in --backend-credentials or the environment).
pub fn backend_url(text: &str) -> Result<String, String> {
    let url = reqwest::Url::parse(text)
        .map_err(|e| format!("not a URL ({e}): expected e.g. http://tempo:3200"))?;
    // errors below never quote the URL: it may hold a credential
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err("expected an http:// or https:// URL with a host".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            "credentials in the URL are not accepted (they would be printed with it): use --backend-credentials FILE or $TRACEGATE_BACKEND_TOKEN".into(),
        );
    }
    Ok(text.to_owned())
}

/// `check`'s TG2xx findings at severity error on `dir` (what fails `check` by default).
fn manifest_findings(dir: &Path) -> anyhow::Result<Vec<ManifestFinding>> {
    use tracegate::check::model::Severity;
    let scan = tracegate::check::scan(dir, &tracegate::check::ScanOptions::default())
        .map_err(|e| e.under_root(dir))?;
    let mut findings: Vec<ManifestFinding> = scan
        .services
        .iter()
        .flat_map(|s| s.findings.iter())
        .chain(scan.repository_findings.iter())
        .filter(|f| f.rule.starts_with("TG2") && f.severity == Severity::Error)
        .map(|f| ManifestFinding {
            rule: f.rule.clone(),
            file: match &f.file {
                Some(file) => dir.join(file).display().to_string(),
                None => dir.display().to_string(),
            },
            line: f.line,
            message: f.message.clone(),
        })
        .collect();
    findings.sort_by(|a, b| (&a.file, a.line, &a.rule).cmp(&(&b.file, b.line, &b.rule)));
    findings.dedup();
    Ok(findings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_give_the_tg2xx_errors_check_reports_with_file_and_line() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/k8s");
        let findings = manifest_findings(&root.join("misconfigured")).expect("scans");
        let found: Vec<(&str, Option<u32>)> =
            findings.iter().map(|f| (f.rule.as_str(), f.line)).collect();
        // TG203 is a warning: it does not fail `check`, so it does not fail AC-005
        assert_eq!(found, [("TG201", Some(11)), ("TG204", Some(44))]);
        assert!(findings[0]
            .file
            .ends_with("misconfigured/deploy/frontend.yaml"));
        assert!(manifest_findings(&root.join("configured"))
            .expect("scans")
            .is_empty());
    }

    #[test]
    fn durations() {
        assert_eq!(duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(duration("5"), Ok(Duration::from_secs(5)));
        assert!(duration("soon").is_err());
        assert!(duration("-1s").is_err());
        assert!(duration("1e300s").is_err());
    }

    #[test]
    fn destinations_need_a_name_and_an_http_url() {
        assert_eq!(
            destination("acme=http://127.0.0.1:5318"),
            Ok(("acme".into(), "http://127.0.0.1:5318".into()))
        );
        assert!(destination("acme").is_err());
        assert!(destination("=http://x").is_err());
        assert!(destination("acme=127.0.0.1:5318").is_err());
    }

    #[test]
    fn backend_urls_carry_no_credentials() {
        assert_eq!(
            backend_url("http://tempo:3200"),
            Ok("http://tempo:3200".into())
        );
        let error = backend_url("https://user:s3cr3t@tempo.example.com").expect_err("userinfo");
        assert!(!error.contains("s3cr3t"), "{error}");
        assert!(error.contains("--backend-credentials"), "{error}");
        assert!(backend_url("ftp://tempo").is_err());
        assert!(backend_url("tempo:3200").is_err());
    }
}
