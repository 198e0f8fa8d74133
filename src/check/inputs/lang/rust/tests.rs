use super::*;
use crate::check::facts::FactKind;

fn calls(f: &SourceFacts) -> Vec<String> {
    f.call_paths("::")
}

/// The [`CallArgs`] of each `set_text_map_propagator` call, in order: the paths named
/// (joined with `::`) and whether they are opaque.
fn propagator_args(src: &str) -> Vec<(Vec<String>, bool)> {
    let f = analyse("src/main.rs", src).unwrap();
    f.facts
        .iter()
        .filter_map(|x| match &x.kind {
            FactKind::Call { path, args, .. }
                if path.last().is_some_and(|l| l == "set_text_map_propagator") =>
            {
                Some((
                    args.paths.iter().map(|p| p.join("::")).collect(),
                    args.opaque,
                ))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn call_arguments_name_what_is_passed_and_locals_are_opaque() {
    let src = r#"
use opentelemetry::global;
use opentelemetry::propagation::TextMapCompositePropagator;
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
fn main() {
    global::set_text_map_propagator(TraceContextPropagator::new());
    global::set_text_map_propagator(opentelemetry_zipkin::Propagator::new());
    global::set_text_map_propagator(TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(BaggagePropagator::new()),
    ]));
    let p = TraceContextPropagator::new();
    global::set_text_map_propagator(p);
    global::set_text_map_propagator(make_propagator());
    global::set_text_map_propagator(Wrapper { inner: TraceContextPropagator::new() });
    global::set_text_map_propagator(/* TraceContextPropagator */ opentelemetry_zipkin::Propagator::new());
}
"#;
    let tc = "opentelemetry_sdk::propagation::TraceContextPropagator::new".to_string();
    let got = propagator_args(src);
    assert_eq!(got.len(), 7, "{got:?}");
    assert_eq!(got[0], (vec![tc.clone()], false));
    assert_eq!(
        got[1],
        (
            vec!["opentelemetry_zipkin::Propagator::new".to_string()],
            false
        )
    );
    assert!(
        !got[2].1 && got[2].0.contains(&tc),
        "vec! arguments: {:?}",
        got[2]
    );
    assert!(got[2]
        .0
        .contains(&"opentelemetry_sdk::propagation::BaggagePropagator::new".into()));
    assert_eq!(got[3], (vec!["p".to_string()], true), "a variable");
    assert_eq!(
        got[4],
        (vec!["make_propagator".to_string()], true),
        "a local function"
    );
    assert!(
        got[5].1 && got[5].0.contains(&tc),
        "a struct of the crate's own: {:?}",
        got[5]
    );
    assert_eq!(
        got[6],
        (
            vec!["opentelemetry_zipkin::Propagator::new".to_string()],
            false
        ),
        "comments name nothing"
    );
}

#[test]
fn calls_expand_use_aliases_and_method_chains() {
    let src = r#"
use opentelemetry::global;
use opentelemetry_sdk::propagation::TraceContextPropagator as W3c;
fn main() {
    // global::set_text_map_propagator(Nope) in a comment does not count
    let s = "global::set_text_map_propagator";
    global::set_text_map_propagator(W3c::new());
    let p = SdkTracerProvider::builder().with_batch_exporter(exporter).build();
}
"#;
    let f = analyse("src/main.rs", src).unwrap();
    let c = calls(&f);
    assert!(
        c.contains(&"opentelemetry::global::set_text_map_propagator".to_string()),
        "{c:?}"
    );
    assert!(c.contains(&"opentelemetry_sdk::propagation::TraceContextPropagator::new".to_string()));
    assert!(c.contains(&"SdkTracerProvider::builder::with_batch_exporter".to_string()));
    assert_eq!(
        c.iter()
            .filter(|p| p.ends_with("set_text_map_propagator"))
            .count(),
        1
    );
    let call = f.facts.iter().find(|f| matches!(&f.kind, FactKind::Call { path, .. } if path.last().is_some_and(|s| s == "set_text_map_propagator"))).unwrap();
    assert_eq!(call.line, 7);
}

#[test]
fn test_modules_and_if_false_are_skipped() {
    let src = r#"
fn main() { if false { with_simple_exporter(x); } }
#[cfg(test)]
mod tests { fn t() { with_simple_exporter(x); } }
#[test]
fn t2() { with_simple_exporter(y); }
"#;
    let f = analyse("src/main.rs", src).unwrap();
    assert!(
        calls(&f)
            .iter()
            .all(|c| !c.contains("with_simple_exporter")),
        "{:?}",
        calls(&f)
    );
}

#[test]
fn tracing_fields_and_instrument_arguments_are_attributes() {
    let src = r#"
#![allow(dead_code)]
/// A doc comment,
/** and a block one */
#[tracing::instrument(skip(db), fields(user.email = %email))]
fn handle(db: Db, password: String, email: String) {
    let span = tracing::info_span!("login", card_number = ?card, "done");
    info!(token = %t, "message with password in text");
    span.set_attribute(KeyValue::new("ssn", x));
}
"#;
    let f = analyse("src/main.rs", src).unwrap();
    let keys: Vec<&str> = f
        .facts
        .iter()
        .filter_map(|f| match &f.kind {
            FactKind::Attribute { key, .. } => Some(key.as_str()),
            _ => None,
        })
        .collect();
    for k in [
        "user.email",
        "password",
        "email",
        "card_number",
        "token",
        "ssn",
    ] {
        assert!(keys.contains(&k), "{k} not in {keys:?}");
    }
    assert!(!keys.contains(&"db"));
}

#[test]
fn syntax_errors_name_the_line() {
    let err = analyse("src/main.rs", "fn main() {\n let = ;\n}").unwrap_err();
    assert!(err.starts_with("line 2"), "{err}");
}

#[test]
fn keys_computed_in_loops_name_what_the_loop_iterates() {
    let src = r#"
fn record(span: &mut Span, req: &Request) {
    for (name, value) in req.headers() {
        span.set_attribute(KeyValue::new(format!("http.request.header.{name}"), value.to_str().unwrap_or("").to_string()));
    }
    req.headers().iter().for_each(|(k, v)| span.set_attribute(KeyValue::new(k.to_string(), format!("{v:?}"))));
    let key = String::from("app.kind");
    span.set_attribute(KeyValue::new(key, "x"));
}
"#;
    let f = analyse("src/main.rs", src).unwrap();
    let attrs: Vec<(&str, Vec<String>)> = f
        .facts
        .iter()
        .filter_map(|f| match &f.kind {
            FactKind::Attribute { key, context, .. } => Some((
                key.as_str(),
                context.as_ref().map(|c| c.over.clone()).unwrap_or_default(),
            )),
            _ => None,
        })
        .collect();
    assert_eq!(
        attrs,
        vec![
            (
                "format!(\"http.request.header.{name}\")",
                vec!["req.headers()".to_string()]
            ),
            ("k.to_string()", vec!["req.headers().iter()".to_string()]),
        ],
        "a computed key outside a loop is not judged"
    );
}
