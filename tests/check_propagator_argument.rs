//! TG102 in Rust and Go: the propagator passed to `set_text_map_propagator` /
//! `SetTextMapPropagator` must be or include W3C TraceContext when it is built from
//! OpenTelemetry's packages alone; what the service builds itself is not seen through.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::Path;

use tracegate::check::{scan, ScanOptions};

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

fn tg102(root: &Path) -> bool {
    let scan = scan(root, &ScanOptions::default()).unwrap();
    assert_eq!(scan.services.len(), 1);
    scan.services[0].findings.iter().any(|f| f.rule == "TG102")
}

const CARGO: &str = "[package]\nname = \"inventory\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nopentelemetry = \"0.31\"\nopentelemetry_sdk = \"0.31\"\nopentelemetry-zipkin = \"0.31\"\n";

/// A Rust service whose `main` sets `propagator` (an expression) and that uses
/// `TraceContextPropagator` elsewhere in live code; `extra` is more of `main.rs`.
fn rust_service(propagator: &str, extra: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "Cargo.toml", CARGO);
    write(
        dir.path(),
        "src/main.rs",
        &format!(
            "use opentelemetry::global;\nuse opentelemetry::propagation::TextMapPropagator;\nuse opentelemetry_sdk::propagation::TraceContextPropagator;\nuse opentelemetry_sdk::trace::SdkTracerProvider;\n\nmod telemetry;\n{extra}\n\nfn inject() {{\n    let mut h = std::collections::HashMap::new();\n    TraceContextPropagator::new().inject_context(&opentelemetry::Context::current(), &mut h);\n}}\n\nfn main() {{\n    let _p = SdkTracerProvider::builder().build();\n    global::set_text_map_propagator({propagator});\n    inject();\n}}\n"
        ),
    );
    write(
        dir.path(),
        "src/telemetry.rs",
        "use opentelemetry_sdk::propagation::TraceContextPropagator;\npub fn propagator() -> TraceContextPropagator { TraceContextPropagator::new() }\npub struct Tel;\nimpl Tel { pub fn propagator() -> TraceContextPropagator { TraceContextPropagator::new() } }\n",
    );
    dir
}

#[test]
fn rust_propagators_from_opentelemetry_alone_are_judged() {
    for (propagator, extra, fails) in [
        ("TraceContextPropagator::new()", "", false),
        ("opentelemetry_zipkin::Propagator::new()", "", true),
        ("Box::new(opentelemetry_zipkin::Propagator::new())", "", true),
        (
            "opentelemetry::propagation::TextMapCompositePropagator::new(vec![Box::new(opentelemetry_zipkin::Propagator::new()), Box::new(TraceContextPropagator::new())])",
            "",
            false,
        ),
        (
            "opentelemetry::propagation::TextMapCompositePropagator::new(vec![Box::new(opentelemetry_zipkin::Propagator::new())])",
            "",
            true,
        ),
        // The service's own code, a variable, a macro: not seen through.
        ("telemetry::propagator()", "", false),
        ("crate::telemetry::propagator()", "", false),
        ("self::telemetry::Tel::propagator()", "", false),
        ("propagator()", "use crate::telemetry::propagator;", false),
        ("make()", "fn make() -> TraceContextPropagator { TraceContextPropagator::new() }", false),
        ("propagator!()", "macro_rules! propagator { () => { TraceContextPropagator::new() } }", false),
        // A local named like an imported module; a type argument of a wrapper.
        (
            "propagation",
            "use opentelemetry_sdk::propagation;\nfn p() { let propagation = propagation::TraceContextPropagator::new(); global::set_text_map_propagator(propagation); }",
            false,
        ),
        ("opentelemetry::propagation::TextMapCompositePropagator::new(vec![Box::<TraceContextPropagator>::default()])", "", false),
        // A crate of the workspace named opentelemetry-something is the service's own code.
        ("opentelemetry_setup::propagator()", "", false),
    ] {
        let dir = rust_service(propagator, extra);
        assert_eq!(tg102(dir.path()), fails, "{propagator} {extra}");
    }
}

const GO_MOD: &str = "module example.com/shop/shipping\n\ngo 1.22\n\nrequire (\n\tgo.opentelemetry.io/contrib/propagators/b3 v1.28.0\n\tgo.opentelemetry.io/otel v1.28.0\n\tgo.opentelemetry.io/otel/sdk v1.28.0\n)\n";

fn go_service(propagator: &str) -> tempfile::TempDir {
    go_service_with(propagator, true)
}

/// [`go_service`]; `inject`: whether `propagation.TraceContext` is used elsewhere (by hand).
fn go_service_with(propagator: &str, inject: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "go.mod", GO_MOD);
    let by_hand = if inject {
        "propagation.TraceContext{}.Inject(ctx, propagation.HeaderCarrier(r.Header))"
    } else {
        "_ = propagation.HeaderCarrier(r.Header)"
    };
    write(
        dir.path(),
        "main.go",
        &format!(
            "package main\n\nimport (\n\t\"context\"\n\t\"net/http\"\n\n\t\"example.com/shop/shipping/internal/telemetry\"\n\t\"go.opentelemetry.io/contrib/propagators/b3\"\n\t\"go.opentelemetry.io/contrib/propagators/autoprop\"\n\t\"go.opentelemetry.io/otel\"\n\t\"go.opentelemetry.io/otel/propagation\"\n\tsdktrace \"go.opentelemetry.io/otel/sdk/trace\"\n)\n\nfunc inject(ctx context.Context, r *http.Request) {{\n\t{by_hand}\n}}\n\nfunc main() {{\n\tsdktrace.NewTracerProvider()\n\tenc := b3.B3MultipleHeader\n\t_ = enc\n\totel.SetTextMapPropagator({propagator})\n\tinject(context.Background(), nil)\n\t_ = telemetry.Name\n}}\n"
        ),
    );
    dir
}

#[test]
fn go_propagators_from_opentelemetry_alone_are_judged() {
    for (propagator, fails) in [
        ("propagation.TraceContext{}", false),
        ("&propagation.TraceContext{}", false),
        ("b3.New()", true),
        ("b3.New(b3.WithInjectEncoding(b3.B3MultipleHeader))", true),
        (
            "propagation.NewCompositeTextMapPropagator(b3.New(), propagation.Baggage{})",
            true,
        ),
        (
            "propagation.NewCompositeTextMapPropagator(b3.New(), propagation.TraceContext{})",
            false,
        ),
        // The service's own package, a variable, an unnamed function: not seen through.
        ("telemetry.Propagators()", false),
        ("b3.New(b3.WithInjectEncoding(enc))", false),
        (
            "func() propagation.TextMapPropagator { return telemetry.Propagators() }()",
            false,
        ),
        // A local named like the import (`propagation := propagation.New…(…)`).
        ("propagation", false),
        // autoprop: from OTEL_PROPAGATORS (tracecontext by default), or named propagators.
        ("autoprop.NewTextMapPropagator()", false),
        (
            "must(autoprop.TextMapPropagator(\"tracecontext\", \"baggage\"))",
            false,
        ),
    ] {
        let dir = go_service(propagator);
        assert_eq!(tg102(dir.path()), fails, "{propagator}");
    }
    // Without TraceContext used by hand elsewhere: what the named propagators are decides.
    for (propagator, fails) in [
        (
            "must(autoprop.TextMapPropagator(\"tracecontext\", \"baggage\"))",
            false,
        ),
        ("must(autoprop.TextMapPropagator(\"b3\"))", true),
        ("autoprop.NewTextMapPropagator()", false),
        ("propagation.TraceContext{}", false),
        ("b3.New()", true),
    ] {
        let dir = go_service_with(propagator, false);
        assert_eq!(
            tg102(dir.path()),
            fails,
            "{propagator} (no TraceContext elsewhere)"
        );
    }
}

#[test]
fn the_finding_points_at_the_call_passed_another_propagator() {
    let dir = go_service("b3.New()");
    let scan = scan(dir.path(), &ScanOptions::default()).unwrap();
    let finding = scan.services[0]
        .findings
        .iter()
        .find(|f| f.rule == "TG102")
        .unwrap();
    let text = fs::read_to_string(dir.path().join("main.go")).unwrap();
    let line = text
        .lines()
        .position(|l| l.contains("otel.SetTextMapPropagator"))
        .unwrap() as u32
        + 1;
    assert_eq!(finding.file.as_deref(), Some("main.go"));
    assert_eq!(finding.line, Some(line), "{}", finding.message);
    assert!(
        finding
            .message
            .contains("does not include `propagation.TraceContext`"),
        "{}",
        finding.message
    );
}
