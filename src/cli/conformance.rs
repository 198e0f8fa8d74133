//! `tracegate conformance-service`: serve the W3C trace-context test suite's contract.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use tracegate::exit::ExitStatus;

const EXAMPLES: &str = "\
Examples:
  tracegate conformance-service --listen 127.0.0.1:5000
  tracegate conformance-service --listen 127.0.0.1:0    # a free port, named on stdout's first line
  # then, from a checkout of w3c/trace-context:
  #   python test/test.py http://127.0.0.1:5000/test";

/// Serve the W3C trace-context test suite's service-under-test contract.
///
/// Accepts a POST (any path) whose JSON body is an array of {"url", "arguments"}; for each
/// element, in order, POSTs `arguments` to `url` carrying the propagated trace context, then
/// answers 200. Runs until interrupted.
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// Address to listen on (loopback by default). Port 0 picks a free port; the first line on
    /// stdout is always "conformance-service listening on http://ADDR".
    #[arg(long, default_value = "127.0.0.1:5000")]
    listen: SocketAddr,
    /// Timeout for each outgoing call, in milliseconds.
    #[arg(long, default_value_t = 5000)]
    timeout_ms: u64,
}

pub fn run(args: Args) -> anyhow::Result<ExitStatus> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let app = tracegate::conformance::app(Duration::from_millis(args.timeout_ms))
            .context("building the HTTP client")?;
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let local = listener.local_addr().context("reading the bound address")?;
        // Before the ready line: a SIGTERM right after it must stop the service cleanly.
        let terminate = super::collect::terminated()?;
        {
            // A closed stdout (`| head -0`) is no reason to panic: keep serving.
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "conformance-service listening on http://{local}")
                .and_then(|()| out.flush());
        }
        axum::serve(listener, app)
            .with_graceful_shutdown(terminate)
            .await
            .context("serving")?;
        Ok(ExitStatus::Passed)
    })
}
