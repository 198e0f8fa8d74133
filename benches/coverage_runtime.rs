//! `coverage`'s runtime verdicts over 1 M spans: 100k synthetic traces of 10 spans (an
//! ingress SERVER span with an INTERNAL child, then four CLIENT → SERVER hops) across 20
//! services, one trace starting every millisecond (about 50 in flight at any moment, so a
//! broken call's window holds many unrelated roots), 5 % of the hops broken (the callee's
//! SERVER span starts a new trace inside the caller's CLIENT span, which names the callee by
//! `server.address`/`url.full`).
//!
//! Prints the time and spans/s of `analyse` alone, of assembly (OTLP `ResourceSpans` →
//! `Trace::from_otlp`) + `analyse`, and of both batch by batch through an `Analyser` (what the
//! readers do: no trace kept), best of three (`RUNS=1` for one), the process's memory
//! after each step, and checks that every injected broken call is found and no other, edge
//! by edge.
//!
//! Run: `cargo bench --bench coverage_runtime` (`SPANS=100000` for another size;
//! `RUNS=1 cargo bench --bench coverage_runtime` for the memory figures).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use tracegate::coverage::runtime::{analyse, Analyser};
use tracegate::trace::{AssemblyOptions, Trace};

const SERVICES: usize = 20;
const BROKEN_PERCENT: u64 = 5;
const MS: u64 = 1_000_000;
const BASE: u64 = 1_795_687_200_000_000_000;
/// Traces per OTLP batch (one `ResourceSpans` per service in each).
const CHUNK: usize = 1_000;

fn service(i: usize) -> String {
    format!("svc-{i:02}")
}

fn string(key: &str, value: String) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value)),
        }),
        ..Default::default()
    }
}

/// A small deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Broken calls per (caller, callee).
type BrokenCalls = BTreeMap<(String, String), u64>;

/// The workload as OTLP batches, and the broken calls it holds.
fn workload(traces: usize) -> (Vec<Vec<ResourceSpans>>, BrokenCalls) {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut batches = Vec::new();
    let mut broken = BTreeMap::new();
    let mut trace_counter = 0u128;
    let mut span_counter = 0u64;
    let mut span_id = move || {
        span_counter += 1;
        span_counter.to_be_bytes().to_vec()
    };
    for chunk in 0..traces.div_ceil(CHUNK) {
        let mut by_service: Vec<Vec<Span>> = vec![Vec::new(); SERVICES];
        for t in chunk * CHUNK..((chunk + 1) * CHUNK).min(traces) {
            let t0 = BASE + t as u64 * MS;
            trace_counter += 1;
            let mut trace_id = (trace_counter << 64 | 1).to_be_bytes().to_vec();
            let mut push = |svc: usize, span: Span| by_service[svc].push(span);
            let mut caller = (rng.next() % 2) as usize;
            let root = span_id();
            push(
                caller,
                Span {
                    trace_id: trace_id.clone(),
                    span_id: root.clone(),
                    name: "GET /".into(),
                    kind: 2,
                    start_time_unix_nano: t0,
                    end_time_unix_nano: t0 + 50 * MS,
                    ..Default::default()
                },
            );
            push(
                caller,
                Span {
                    trace_id: trace_id.clone(),
                    span_id: span_id(),
                    parent_span_id: root.clone(),
                    name: "validate".into(),
                    kind: 1,
                    start_time_unix_nano: t0 + MS,
                    end_time_unix_nano: t0 + 2 * MS,
                    ..Default::default()
                },
            );
            let mut parent = root;
            for hop in 1..=4u64 {
                let callee = loop {
                    let c = 2 + (rng.next() % (SERVICES as u64 - 2)) as usize;
                    if c != caller {
                        break c;
                    }
                };
                let (start, end) = (t0 + hop * 5 * MS, t0 + 50 * MS - hop * 5 * MS);
                let client = span_id();
                push(
                    caller,
                    Span {
                        trace_id: trace_id.clone(),
                        span_id: client.clone(),
                        parent_span_id: parent.clone(),
                        name: "POST".into(),
                        kind: 3,
                        start_time_unix_nano: start,
                        end_time_unix_nano: end,
                        attributes: vec![
                            string(
                                "server.address",
                                format!("{}.ns.svc.cluster.local", service(callee)),
                            ),
                            string(
                                "url.full",
                                format!("http://{}.ns.svc.cluster.local:8080/op", service(callee)),
                            ),
                        ],
                        ..Default::default()
                    },
                );
                let is_broken = rng.next() % 100 < BROKEN_PERCENT;
                let server_parent = if is_broken {
                    *broken
                        .entry((service(caller), service(callee)))
                        .or_insert(0) += 1;
                    trace_counter += 1;
                    trace_id = (trace_counter << 64 | 1).to_be_bytes().to_vec();
                    Vec::new()
                } else {
                    client
                };
                let server = span_id();
                push(
                    callee,
                    Span {
                        trace_id: trace_id.clone(),
                        span_id: server.clone(),
                        parent_span_id: server_parent,
                        name: "POST /op".into(),
                        kind: 2,
                        start_time_unix_nano: start + MS / 2,
                        end_time_unix_nano: end - MS / 2,
                        ..Default::default()
                    },
                );
                parent = server;
                caller = callee;
            }
        }
        batches.push(
            by_service
                .into_iter()
                .enumerate()
                .map(|(s, spans)| ResourceSpans {
                    resource: Some(Resource {
                        attributes: vec![string("service.name", service(s))],
                        ..Default::default()
                    }),
                    scope_spans: vec![ScopeSpans {
                        spans,
                        ..Default::default()
                    }],
                    ..Default::default()
                })
                .collect(),
        );
    }
    (batches, broken)
}

fn assemble(batches: &[Vec<ResourceSpans>]) -> Vec<Trace> {
    let options = AssemblyOptions::default();
    batches
        .iter()
        .flat_map(|b| Trace::from_otlp(b, &options))
        .collect()
}

fn best_of<T>(runs: usize, mut run: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut out = None;
    for _ in 0..runs.max(1) {
        drop(out.take()); // one result held at a time
        let began = Instant::now();
        let value = run();
        best = best.min(began.elapsed());
        out = Some(value);
    }
    (best, out.expect("ran at least once"))
}

/// `VmRSS` and `VmHWM` (peak) of this process in MB (Linux), for the memory figures.
fn memory() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u64>().ok())
            .map_or_else(|| "?".to_owned(), |kb| format!("{} MB", kb / 1024))
    };
    format!("RSS {}, peak {}", field("VmRSS:"), field("VmHWM:"))
}

fn main() {
    let spans: usize = std::env::var("SPANS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let (batches, expected) = workload(spans / 10);
    let injected: u64 = expected.values().sum();
    let runs: usize = std::env::var("RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    println!("workload built: {}", memory());
    // what the readers do: assemble a batch, add its traces, drop them
    let (streamed, streamed_findings) = best_of(runs, || {
        let options = AssemblyOptions::default();
        let mut analyser = Analyser::default();
        for batch in &batches {
            for trace in Trace::from_otlp(batch, &options) {
                analyser.add(&trace);
            }
        }
        analyser.finish()
    });
    println!("assembled and analysed batch by batch: {}", memory());
    let (assembly, traces) = best_of(runs, || assemble(&batches));
    drop(batches);
    println!("assembled (OTLP batches dropped): {}", memory());
    let span_count: usize = traces.iter().map(|t| t.spans.len()).sum();
    let (analysis, findings) = best_of(runs, || analyse(&traces));
    println!("analysed: {}", memory());
    let found: u64 = findings.edges.iter().map(|e| e.broken).sum();
    assert_eq!(findings.spans as usize, span_count);
    let rate = |d: Duration| span_count as f64 / d.as_secs_f64();
    println!(
        "coverage_runtime: {span_count} spans, {} traces, {SERVICES} services, {injected} broken calls injected, {found} found",
        traces.len()
    );
    println!(
        "analyse:            {:>8.1} ms  {:>12.0} spans/s",
        analysis.as_secs_f64() * 1e3,
        rate(analysis)
    );
    println!(
        "assembly + analyse: {:>8.1} ms  {:>12.0} spans/s",
        (assembly + analysis).as_secs_f64() * 1e3,
        rate(assembly + analysis)
    );
    println!(
        "batch by batch:     {:>8.1} ms  {:>12.0} spans/s",
        streamed.as_secs_f64() * 1e3,
        rate(streamed)
    );
    assert_eq!(streamed_findings, findings, "the same findings either way");
    let by_edge: BTreeMap<(String, String), u64> = findings
        .edges
        .iter()
        .filter(|e| e.broken > 0)
        .map(|e| ((e.caller.clone(), e.callee.clone()), e.broken))
        .collect();
    for (edge, &n) in &expected {
        if by_edge.get(edge) != Some(&n) {
            println!(
                "{edge:?}: {n} broken injected, {:?} found",
                by_edge.get(edge)
            );
        }
    }
    assert_eq!(
        by_edge, expected,
        "every injected broken call, and no other"
    );
}
