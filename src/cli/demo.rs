//! `tracegate demo`: start the billing platform on loopback and verify it.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tracegate::demo::{
    Backend, DestinationInfo, Fault, Faults, Platform, PlatformOptions, Service, SHARED_DESTINATION,
};
use tracegate::exit::ExitStatus;
use tracegate::verify::collect::demo_sources;
use tracegate::verify::run::{self, DemoBackendFault, FaultControl, VerifyOptions};
use tracegate::verify::{scenario, Criterion};

use super::verify::{criterion, emit, interrupted, runtime, OutputArgs, ProgressDisplay};

/// The bundled scenario, as `demo` replays it.
const SCENARIO: &str = include_str!("../../fixtures/scenarios/demo.yaml");
const SCENARIO_NAME: &str = "fixtures/scenarios/demo.yaml (built in)";

const EXAMPLES: &str = "\
Examples:
  tracegate demo
      start the platform, verify it (fault phase with the backend down), print the verdicts
  tracegate demo --break pricing=no-propagation
      see AC-002 fail, naming the hop: orchestration → pricing
  tracegate demo --break orchestration=pii-leak --format markdown
      see AC-007 fail on the card number and e-mail in span data
  tracegate demo --break payment-gateway=sync-export --backend slow
      an exporter on the request path: AC-007(a) fails with a slow backend
  tracegate demo --keep-running
      leave the platform up; prints the ingress URL, a curl command, the collect API URLs
  tracegate demo --keep-running --export-to http://127.0.0.1:4318/v1/traces
      also send every span to another receiver (here `tracegate verify --receive 127.0.0.1:4318`)
  tracegate demo --print-scenario > my-scenario.yaml
      the built-in scenario, to edit and replay with --scenario or `tracegate verify`
  tracegate demo --scenario bench/verify-load.yaml --backend healthy
      replay your own scenario through the platform (here: 10,000 requests, 64 at once)

Faults (--break SERVICE=FAULT): no-propagation, no-response-header, pii-leak,
new-trace-on-retry (orchestration), wrong-tenant-route, sync-export.
Services: ingress, auth, orchestration, pricing, payment-gateway, webhook-dispatcher.

Exit codes: 0 every criterion passed, 1 a criterion failed, 2 the platform could not start.";

/// Run the demo billing platform on loopback and verify AC-001…AC-007 against it.
///
/// Six services built on tracegate's reference library export to a shared destination and
/// one per tenant; the bundled scenario is replayed through them, then again with the
/// destinations in the --backend behaviour (AC-007(a)), and the verdicts are printed.
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// Switch a service into a fault (repeatable).
    #[arg(long = "break", value_name = "SERVICE=FAULT", value_parser = service_fault)]
    faults: Vec<(Service, Fault)>,
    /// How the export destinations behave during the fault phase; `healthy` runs none.
    #[arg(long, value_name = "BEHAVIOUR", default_value = "down", value_parser = backend)]
    backend: Backend,
    /// Leave the platform running after the verdicts (Ctrl-C stops it).
    #[arg(long)]
    keep_running: bool,
    /// Judge only these criteria (repeatable).
    #[arg(long, value_name = "AC-00N", value_parser = criterion)]
    only: Vec<Criterion>,
    /// Replay this scenario instead of the built-in one (its `target` is ignored: the
    /// requests go to the demo's ingress, which answers `POST /checkout/N`).
    #[arg(long, value_name = "FILE")]
    scenario: Option<std::path::PathBuf>,
    /// Also export every span to this OTLP/HTTP traces URL (repeatable): an external
    /// collector, or `tracegate verify --receive` run against the demo from outside.
    #[arg(long, value_name = "URL", value_parser = traces_url)]
    export_to: Vec<String>,
    /// Print the built-in scenario (YAML) and exit: a starting point for your own.
    #[arg(long, conflicts_with_all = ["faults", "keep_running", "scenario", "export_to"])]
    print_scenario: bool,
    #[command(flatten)]
    output: OutputArgs,
}

fn service_fault(text: &str) -> Result<(Service, Fault), String> {
    let (service, fault) = text
        .split_once('=')
        .ok_or("expected SERVICE=FAULT, e.g. pricing=no-propagation")?;
    let service: Service = service.trim().parse().map_err(|e| format!("{e}"))?;
    let fault: Fault = fault.trim().parse().map_err(|e| format!("{e}"))?;
    // faults that only one service can show: anywhere else they would change nothing and the
    // run would pass, as if tracegate had missed them
    let only = match fault {
        Fault::NewTraceOnRetry => Some(Service::Orchestration),
        Fault::NoResponseHeader => Some(Service::Ingress),
        _ => None,
    };
    if let Some(only) = only.filter(|only| *only != service) {
        return Err(format!(
            "{fault} only shows on {only} ({}), not on {service}: try {only}={fault}",
            match fault {
                Fault::NewTraceOnRetry => "the only service that retries",
                _ => "the service that answers the client",
            }
        ));
    }
    Ok((service, fault))
}

/// An http(s) URL with a host, e.g. `http://127.0.0.1:4318/v1/traces`.
fn traces_url(text: &str) -> Result<String, String> {
    let url = reqwest::Url::parse(text.trim())
        .map_err(|e| format!("not a URL ({e}): expected e.g. http://127.0.0.1:4318/v1/traces"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err("expected an http:// or https:// URL with a host".into());
    }
    Ok(url.to_string())
}

fn backend(text: &str) -> Result<Backend, String> {
    text.trim().parse().map_err(|e| format!("{e}"))
}

pub fn run(args: Args) -> anyhow::Result<ExitStatus> {
    if args.print_scenario {
        super::print(SCENARIO)?;
        return Ok(ExitStatus::Passed);
    }
    args.output.check_writable()?;
    let scenario = match &args.scenario {
        Some(path) => scenario::parse_file(path)?,
        None => scenario::parse(SCENARIO, SCENARIO_NAME)?,
    };
    let mut faults = Faults::none();
    for (service, fault) in &args.faults {
        faults.insert(*service, *fault);
    }
    runtime()?.block_on(async {
        let platform = Platform::start(PlatformOptions {
            faults,
            backend: Backend::Healthy,
            // a slow backend that is slow enough to see, fast enough for a demo
            slow_backend_delay: Duration::from_secs(1),
            export_to: args.export_to.clone(),
            ..PlatformOptions::default()
        })
        .await?;
        let platform = Arc::new(platform);
        let (source, destinations) = demo_sources(&platform);
        let fault: Option<Box<dyn FaultControl>> = (args.backend != Backend::Healthy).then(|| {
            Box::new(DemoBackendFault {
                platform: Arc::clone(&platform),
                backend: args.backend,
            }) as Box<dyn FaultControl>
        });
        let options = VerifyOptions {
            scenario,
            target: platform.ingress_url(),
            source,
            destinations,
            manifest_findings: None,
            fault,
            only: args.only.clone(),
            // demo spans arrive within a 50 ms export batch: a broken trace is known soon
            timeout: Duration::from_secs(5),
            quiet: Duration::from_millis(300),
            request_timeout: Duration::from_secs(10),
        };
        let progress = ProgressDisplay::new();
        let outcome = run::verify_with_samples(options, &|e| progress.event(e)).await;
        progress.finish();
        let status = emit(&outcome?, &args.output)?;
        if args.keep_running {
            print_urls(&platform)?;
            interrupted().await?;
        }
        // the fault control held the other reference; it is dropped with the options
        if let Ok(platform) = Arc::try_unwrap(platform) {
            platform.shutdown().await;
        }
        Ok(status)
    })
}

/// Where to look while the platform keeps running (standard error: standard output holds
/// the report in its format).
fn print_urls(platform: &Platform) -> anyhow::Result<()> {
    let ingress = platform.ingress_url();
    let mut text = format!(
        "\nThe demo platform keeps running; Ctrl-C (or SIGTERM) stops it.\n  ingress: {ingress}\n  try:     curl -i -X POST -H 'x-tenant-id: acme' -H 'content-type: application/json' -d '{{\"sku\": \"A1\"}}' {ingress}/checkout/1\n"
    );
    let api = |d: &DestinationInfo| d.traces_url.trim_end_matches("/v1/traces").to_owned();
    for destination in platform.destinations() {
        let url = api(destination);
        text.push_str(&format!(
            "  collect API ({}): {url}  (tracegate trace list --from {url})\n",
            destination.name
        ));
    }
    if let Some(shared) = platform
        .destinations()
        .iter()
        .find(|d| d.name == SHARED_DESTINATION)
    {
        let from = api(shared);
        text.push_str(&format!(
            "  trace:   tracegate trace show TRACE_ID --from {from}   (TRACE_ID from the traceresponse header)\n  verify:  tracegate demo --print-scenario > demo.yaml\n           tracegate verify --target {ingress} --scenario demo.yaml --from {from} --backend tracegate\n"
        ));
    }
    let mut err = std::io::stderr().lock();
    err.write_all(text.as_bytes())
        .and_then(|()| err.flush())
        .context("writing to standard error")
}
