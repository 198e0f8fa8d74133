//! A closed-loop OTLP/HTTP load generator, for measuring a running receiver from outside
//! (`bench/ingest-compare.sh` runs it against two `tracegate collect` builds side by side).
//!
//! ```sh
//! cargo run --release --example otlp_load -- http://127.0.0.1:4318 --seconds 3 --connections 4
//! ```
//!
//! Sends protobuf `ExportTraceServiceRequest`s of `--batch` spans (8 spans per trace, distinct
//! trace IDs per batch, as `tracegate::otlp::sample::batch` makes them) from `--connections`
//! keep-alive connections for `--seconds`, then prints one JSON object: requests, spans accepted
//! (answered 200), other answers by status, elapsed seconds and spans per second.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use prost::Message;
use tracegate::otlp::sample;

const USAGE: &str = "usage: otlp_load URL [--seconds S] [--connections K] [--batch N] [--gzip]";

struct Options {
    url: String,
    seconds: f64,
    connections: usize,
    batch: usize,
    gzip: bool,
}

fn options() -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    let mut options = Options {
        url: String::new(),
        seconds: 3.0,
        connections: 4,
        batch: 512,
        gzip: false,
    };
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--seconds" => {
                options.seconds = value("--seconds")?
                    .parse()
                    .map_err(|e| format!("--seconds: {e}"))?
            }
            "--connections" => {
                options.connections = value("--connections")?
                    .parse()
                    .map_err(|e| format!("--connections: {e}"))?
            }
            "--batch" => {
                options.batch = value("--batch")?
                    .parse()
                    .map_err(|e| format!("--batch: {e}"))?
            }
            "--gzip" => options.gzip = true,
            url if !url.starts_with('-') && options.url.is_empty() => options.url = url.to_owned(),
            other => return Err(format!("unexpected argument {other:?}\n{USAGE}")),
        }
    }
    if options.url.is_empty() {
        return Err(USAGE.to_owned());
    }
    Ok(options)
}

#[derive(Default)]
struct Tally {
    requests: u64,
    spans: u64,
    statuses: BTreeMap<String, u64>,
}

#[tokio::main]
async fn main() {
    let options = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    // distinct batches, so the receiver sees new traces rather than one trace growing
    let bodies: Arc<Vec<Vec<u8>>> = Arc::new(
        (0..256u64)
            .map(|i| {
                let body = sample::batch(i, options.batch, 8).encode_to_vec();
                if options.gzip {
                    let mut enc =
                        flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                    enc.write_all(&body).unwrap();
                    enc.finish().unwrap()
                } else {
                    body
                }
            })
            .collect(),
    );
    let url = format!("{}/v1/traces", options.url.trim_end_matches('/'));
    // the CLI build turns on reqwest's `rustls-no-provider`: the library's builder brings one
    let client = tracegate::propagation::export::tls::client_builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..options.connections {
        let (client, url, bodies, stop) =
            (client.clone(), url.clone(), bodies.clone(), stop.clone());
        let (gzip, batch) = (options.gzip, options.batch as u64);
        tasks.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            let mut i = c;
            while !stop.load(Ordering::Relaxed) {
                let mut request = client
                    .post(&url)
                    .header("content-type", "application/x-protobuf")
                    .body(bodies[i % bodies.len()].clone());
                if gzip {
                    request = request.header("content-encoding", "gzip");
                }
                // a stride coprime to the batch count, so connections interleave
                i += 7;
                tally.requests += 1;
                let status = match request.send().await {
                    Ok(response) => {
                        let status = response.status();
                        let _ = response.bytes().await;
                        status.as_u16().to_string()
                    }
                    Err(e) => format!("error: {e}"),
                };
                if status == "200" {
                    tally.spans += batch;
                } else {
                    *tally.statuses.entry(status).or_default() += 1;
                }
            }
            tally
        }));
    }
    tokio::time::sleep(Duration::from_secs_f64(options.seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut total = Tally::default();
    for task in tasks {
        let tally = task.await.unwrap();
        total.requests += tally.requests;
        total.spans += tally.spans;
        for (status, n) in tally.statuses {
            *total.statuses.entry(status).or_default() += n;
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_json::json!({
            "requests": total.requests,
            "spans_accepted": total.spans,
            "other_answers": total.statuses,
            "seconds": elapsed,
            "spans_per_sec": total.spans as f64 / elapsed,
        })
    );
}
