//! `tracegate conformance-service`: serve the W3C trace-context test suite's contract.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{bail, Context};
use tracegate::conformance::{destination, Options};
use tracegate::exit::ExitStatus;

const EXAMPLES: &str = "\
Safety: it is not an open relay. It accepts only bodies sent as Content-Type: application/json
(415 otherwise, so a web page in your browser cannot drive it), calls only loopback
destinations (403 otherwise; a host name must resolve to loopback addresses only), follows no
redirect (a 3xx answer is reported as a 502), ends a request that runs past --deadline-ms
with a 504, and refuses a request whose Host header is not loopback or localhost (421).
--allow-remote lifts the loopback rules for destinations, Host and --listen.

Examples:
  tracegate conformance-service --listen 127.0.0.1:5000
  tracegate conformance-service --listen 127.0.0.1:0    # a free port, named on stdout's first line
  tracegate conformance-service -v                      # and one line per request on stderr
  # then, from a checkout of w3c/trace-context:
  #   python test/test.py http://127.0.0.1:5000/test";

/// Serve the W3C trace-context test suite's service-under-test contract.
///
/// Accepts a POST (any path) whose JSON body is an array of {"url", "arguments"}; for each
/// element, in order, POSTs `arguments` to `url` carrying the propagated trace context, then
/// answers 200. Runs until interrupted. Loopback only unless --allow-remote.
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// Address to listen on (loopback by default; another address needs --allow-remote).
    /// Port 0 picks a free port; the first line on stdout is always
    /// "conformance-service listening on http://ADDR".
    #[arg(long, default_value = "127.0.0.1:5000")]
    listen: SocketAddr,
    /// Timeout for each outgoing call, in milliseconds.
    #[arg(long, default_value_t = 5000, value_parser = clap::value_parser!(u64).range(1..))]
    timeout_ms: u64,
    /// Deadline of one incoming request, all its calls together, in milliseconds; past it the
    /// answer is 504.
    #[arg(long, value_name = "MS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    deadline_ms: u64,
    /// Call non-loopback destinations, accept any Host header and allow a non-loopback --listen
    /// address. Anyone who can reach the service can then make it POST to any host.
    #[arg(long)]
    allow_remote: bool,
    /// One line per request on stderr: method, path, status, duration. Quiet by default.
    #[arg(long, short)]
    verbose: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitStatus> {
    if !args.allow_remote && !destination::is_loopback(args.listen.ip()) {
        bail!(
            "--listen {}: not a loopback address; pass --allow-remote to serve beyond this machine",
            args.listen
        );
    }
    let options = Options {
        call_timeout: Duration::from_millis(args.timeout_ms),
        request_deadline: Duration::from_millis(args.deadline_ms),
        allow_remote: args.allow_remote,
    };
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let mut app = tracegate::conformance::app(options).context("building the HTTP client")?;
        if args.verbose {
            app = app.layer(axum::middleware::from_fn(log_request));
        }
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

/// `--verbose`: `POST /test -> 200 in 12 ms` on stderr, once the answer is known.
async fn log_request(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let method = request.method().clone();
    // A request path is the client's text: no control characters reach the terminal.
    let path = tracegate::report::escape_control(request.uri().path()).into_owned();
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    eprintln!(
        "{method} {path} -> {} in {} ms",
        response.status().as_u16(),
        started.elapsed().as_millis()
    );
    response
}
