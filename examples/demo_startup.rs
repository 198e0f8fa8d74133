//! Measures the demo platform's start-up (six services, three receivers, six exporters) and
//! the first checkout through it. Figures in BENCHMARKS.md ("Demo platform start-up").
//!
//! ```sh
//! cargo run --example demo_startup -- 20            # debug build, as measured
//! cargo run --release --example demo_startup -- 20  # optimised
//! ```

use std::time::{Duration, Instant};

use tracegate::demo::{Platform, PlatformOptions};

fn summary(mut samples: Vec<Duration>) -> String {
    samples.sort_unstable();
    let median = samples[samples.len() / 2];
    let max = samples[samples.len() - 1];
    format!("median {:.1} ms, max {:.1} ms", ms(median), ms(max))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runs: usize = std::env::args()
        .nth(1)
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(20)
        .max(1);
    let http = tracegate::propagation::export::tls::client_builder().build()?;
    let (mut starts, mut firsts, mut stops) = (Vec::new(), Vec::new(), Vec::new());
    for order in 0..runs {
        let started = Instant::now();
        let platform = Platform::start(PlatformOptions::default()).await?;
        starts.push(started.elapsed());
        let sent = Instant::now();
        let status = http
            .post(format!("{}/checkout/{order}", platform.ingress_url()))
            .header("x-tenant-id", "acme")
            .send()
            .await?
            .status();
        firsts.push(sent.elapsed());
        if !status.is_success() {
            return Err(format!("checkout answered {status}").into());
        }
        let stopping = Instant::now();
        platform.shutdown().await;
        stops.push(stopping.elapsed());
    }
    println!("runs: {runs}");
    println!("start:          {}", summary(starts));
    println!("first checkout: {}", summary(firsts));
    println!("shutdown:       {}", summary(stops));
    Ok(())
}
