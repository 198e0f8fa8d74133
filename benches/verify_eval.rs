//! `verify`'s evaluation alone: judging AC-001…AC-007 over synthetic six-service checkout
//! traces (the demo platform's shape, every other one with a retry: 12 spans per trace on
//! average, one exchange per trace, every span also searched as raw OTLP by AC-007(b)) of
//! 10k, 100k and 1M spans. Replay and collection are not timed; building the data is not
//! either. Throughput is in spans judged per second; it must reach 1 M spans/s and stay
//! flat across the sizes (evaluation grows linearly with spans).
//!
//! `AC-002_every_trace_broken` times AC-002 alone when every trace breaks (the hop search runs
//! for each), at 100k and 1M spans.
//!
//! Run: `cargo bench --bench verify_eval`

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use tracegate::verify::criteria::synthetic::{self, demo_trace, TraceBuilder, SERVICES};
use tracegate::verify::criteria::{judge, Evaluation};
use tracegate::verify::model::Criterion as Ac;

fn evaluate(c: &mut Criterion) {
    let mut group = c.benchmark_group("verify_eval");
    group.sample_size(10);
    for spans in [10_000usize, 100_000, 1_000_000] {
        let builders: Vec<_> = (0..)
            .map(|i| demo_trace(i, i % 2 == 1))
            .scan(0usize, |total, t| {
                (*total < spans).then(|| {
                    *total += t.spans.len();
                    t
                })
            })
            .collect();
        let (replay, collected) = synthetic::run(&builders);
        drop(builders);
        let scenario = synthetic::scenario(&SERVICES);
        let evaluation = Evaluation {
            scenario: &scenario,
            replay: &replay,
            collected: &collected,
            manifest_findings: None,
            destinations_configured: false,
        };
        // every criterion must judge (not skip) the synthetic run, and pass it
        for result in judge(&evaluation, &[]) {
            let expected = if result.id.id() == "AC-005" {
                "skip"
            } else {
                "pass"
            };
            assert_eq!(result.verdict.as_str(), expected, "{result:?}");
        }
        group.throughput(Throughput::Elements(collected.spans_read as u64));
        group.bench_with_input(
            BenchmarkId::new("all_criteria", collected.spans_read),
            &evaluation,
            |b, evaluation| b.iter(|| judge(evaluation, &[])),
        );
        if spans == 100_000 {
            // where the time goes: each criterion alone
            for criterion in Ac::ALL {
                group.bench_with_input(
                    BenchmarkId::new(format!("{}_alone", criterion.id()), collected.spans_read),
                    &evaluation,
                    |b, evaluation| b.iter(|| judge(evaluation, &[criterion])),
                );
            }
        }
    }
    group.finish();
}

/// AC-002 when every trace breaks: pricing drops the context, so each checkout's pricing span
/// starts a trace of its own that no response names, and the hop search runs for every trace
/// (address book, index of loose starts, one bounded window look-up per broken call).
fn broken_hops(c: &mut Criterion) {
    let mut group = c.benchmark_group("verify_eval");
    group.sample_size(10);
    for spans in [100_000usize, 1_000_000] {
        let mut builders = Vec::new();
        let mut loose = Vec::new();
        let mut total = 0;
        for i in 0.. {
            if total >= spans {
                break;
            }
            let mut trace = demo_trace(i, false);
            let mut pricing = TraceBuilder::new(10_000_000 + i);
            let mut span = trace.spans.remove(6);
            span.parent = None;
            pricing.spans.push(span);
            total += trace.spans.len() + 1;
            builders.push(trace);
            loose.push(pricing);
        }
        let (replay, mut collected) = synthetic::run(&builders);
        for trace in &loose {
            collected.unclaimed.push(trace.build());
            collected.spans_read += 1;
        }
        drop((builders, loose));
        let scenario = synthetic::scenario(&SERVICES);
        let evaluation = Evaluation {
            scenario: &scenario,
            replay: &replay,
            collected: &collected,
            manifest_findings: None,
            destinations_configured: false,
        };
        let result = judge(&evaluation, &[Ac::Ac002]);
        assert!(
            result[0]
                .summary
                .contains("propagation breaks between orchestration and pricing"),
            "{result:?}"
        );
        group.throughput(Throughput::Elements(collected.spans_read as u64));
        group.bench_with_input(
            BenchmarkId::new("AC-002_every_trace_broken", collected.spans_read),
            &evaluation,
            |b, evaluation| b.iter(|| judge(evaluation, &[Ac::Ac002])),
        );
    }
    group.finish();
}

criterion_group!(benches, evaluate, broken_hops);
criterion_main!(benches);
