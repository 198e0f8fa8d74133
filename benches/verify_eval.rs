//! `verify`'s evaluation alone: judging AC-001…AC-007 over synthetic six-service checkout
//! traces (the demo platform's shape, every other one with a retry: 12 spans per trace on
//! average, one exchange per trace, every span also searched as raw OTLP by AC-007(b)) of
//! 10k, 100k and 1M spans. Replay and collection are not timed; building the data is not
//! either. Throughput is in spans judged per second; it must reach 1 M spans/s and stay
//! flat across the sizes (evaluation grows linearly with spans).
//!
//! Run: `cargo bench --bench verify_eval`

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use tracegate::verify::criteria::synthetic::{self, demo_trace, SERVICES};
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

criterion_group!(benches, evaluate);
criterion_main!(benches);
