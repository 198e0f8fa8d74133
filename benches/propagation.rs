//! Extract + inject of `traceparent`/`tracestate`: tracegate's propagation core against the
//! OpenTelemetry SDK's `TraceContextPropagator`, on the same `http::HeaderMap`s in the same run.
//!
//! Each iteration takes an incoming request's headers, extracts the context, and injects a
//! context into a fresh outgoing header map. tracegate does strictly more work per iteration:
//! it generates the server span's ID at extract and a new client span ID for the outgoing call
//! (`child()`), while the SDK propagator re-injects the extracted remote context as is.
//!
//! Run: `cargo bench --bench propagation`. Under `cargo test --all-targets` criterion runs each
//! benchmark once, as a smoke test.
#![allow(clippy::unwrap_used)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use http::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry_sdk::propagation::TraceContextPropagator;

/// The header sets both implementations process.
fn cases() -> Vec<(&'static str, HeaderMap)> {
    let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let build = |pairs: &[(&str, &str)]| {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        // Typical unrelated request headers, as a real ingress would see.
        map.insert("host", HeaderValue::from_static("billing.internal:8080"));
        map.insert("accept", HeaderValue::from_static("application/json"));
        map.insert("user-agent", HeaderValue::from_static("curl/8.5.0"));
        map
    };
    let eight: String = (0..8)
        .map(|i| format!("vendor{i}=opaque-value-{i:04}"))
        .collect::<Vec<_>>()
        .join(",");
    let thirty_two: String = (0..32)
        .map(|i| format!("v{i}@tenant=x{i:08}"))
        .collect::<Vec<_>>()
        .join(",");
    vec![
        ("traceparent_only", build(&[("traceparent", parent)])),
        (
            "tracestate_2",
            build(&[
                ("traceparent", parent),
                ("tracestate", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"),
            ]),
        ),
        (
            "tracestate_8",
            build(&[("traceparent", parent), ("tracestate", &eight)]),
        ),
        (
            "tracestate_32",
            build(&[("traceparent", parent), ("tracestate", &thirty_two)]),
        ),
    ]
}

/// Read-only view of an `http::HeaderMap` for the OpenTelemetry propagator (what
/// `opentelemetry-http`'s `HeaderExtractor` does).
struct HeaderExtractor<'a>(&'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }
}

/// Writable view of an `http::HeaderMap` (what `opentelemetry-http`'s `HeaderInjector` does).
struct HeaderInjector<'a>(&'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(key.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}

fn tracegate_round_trip(incoming: &HeaderMap) -> HeaderMap {
    let extracted = tracegate::propagation::extract(incoming);
    let mut outgoing = HeaderMap::new();
    extracted.context.child().inject(&mut outgoing);
    outgoing
}

fn otel_round_trip(propagator: &TraceContextPropagator, incoming: &HeaderMap) -> HeaderMap {
    let context = propagator.extract(&HeaderExtractor(incoming));
    let mut outgoing = HeaderMap::new();
    propagator.inject_context(&context, &mut HeaderInjector(&mut outgoing));
    outgoing
}

fn bench(c: &mut Criterion) {
    let propagator = TraceContextPropagator::new();
    let mut group = c.benchmark_group("extract_inject");
    group.throughput(Throughput::Elements(1));
    for (name, headers) in cases() {
        // Both implementations must agree on what they propagate before being timed.
        let ours = tracegate_round_trip(&headers);
        let theirs = otel_round_trip(&propagator, &headers);
        assert_eq!(
            ours["traceparent"].as_bytes()[..36],
            theirs["traceparent"].as_bytes()[..36],
            "{name}: same version and trace id"
        );
        assert_eq!(
            ours.get("tracestate").map(HeaderValue::as_bytes),
            theirs
                .get("tracestate")
                .map(HeaderValue::as_bytes)
                .filter(|v| !v.is_empty()),
            "{name}: same tracestate"
        );
        group.bench_with_input(BenchmarkId::new("tracegate", name), &headers, |b, h| {
            b.iter(|| tracegate_round_trip(black_box(h)))
        });
        group.bench_with_input(
            BenchmarkId::new("opentelemetry_sdk", name),
            &headers,
            |b, h| b.iter(|| otel_round_trip(&propagator, black_box(h))),
        );
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
