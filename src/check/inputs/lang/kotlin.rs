//! Kotlin sources (tree-sitter-kotlin-ng), read like Java: a Kotlin file belongs to a JVM
//! service (language `java`) and the Java signals apply to it (`GlobalOpenTelemetry.set`,
//! `OpenTelemetrySdk.builder()`, `span.setAttribute(…)`: Kotlin calls them as Java does).
//!
//! The grammar's calls and member accesses have no fields: the spec names their parts by
//! position (`@first`: the callee, `@kind:value_arguments`: the argument list, `@last`: the
//! member's name).

use tree_sitter::Node;

use super::treesitter::{import_segments, text, Aliases, Spec};

fn language() -> tree_sitter::Language {
    tree_sitter_kotlin_ng::LANGUAGE.into()
}

/// `import io.opentelemetry.api.GlobalOpenTelemetry` and `import a.b.C as D`; a star import
/// (`import a.b.*`) names no alias.
fn imports(node: Node<'_>, src: &[u8], out: &mut Aliases) {
    if node.kind() != "import" {
        return;
    }
    let mut c = node.walk();
    let mut path = None;
    let mut alias = None;
    let mut star = false;
    for child in node.children(&mut c) {
        match child.kind() {
            "qualified_identifier" => path = Some(child),
            "identifier" if path.is_none() => path = Some(child),
            "identifier" => alias = Some(text(child, src)),
            "*" | ".*" => star = true,
            _ => {}
        }
    }
    let Some(path) = path else {
        return;
    };
    if star {
        return;
    }
    let segs = import_segments(text(path, src));
    let local = alias.map(str::to_string).or_else(|| segs.last().cloned());
    if let Some(local) = local {
        out.insert(local, segs);
    }
}

/// A function is a dead-code candidate only when it is `private` and carries no annotation
/// (frameworks call annotated functions reflectively: `@Bean`, `@GetMapping`, `@KafkaListener`)
/// and does not `override` (called by dispatch); Kotlin's default visibility is public.
fn fn_live(name: &str, node: Node<'_>, _enclosing: &[Node<'_>]) -> bool {
    if name == "main" {
        return true;
    }
    let mut c = node.walk();
    let Some(modifiers) = node.children(&mut c).find(|n| n.kind() == "modifiers") else {
        return true;
    };
    let mut c = modifiers.walk();
    let mut private = false;
    for m in modifiers.children(&mut c) {
        match m.kind() {
            "annotation" => return true,
            "visibility_modifier" => {
                let mut v = m.walk();
                private |= m.children(&mut v).any(|k| k.kind() == "private");
            }
            "member_modifier" => {
                let mut v = m.walk();
                if m.children(&mut v).any(|k| k.kind() == "override") {
                    return true;
                }
            }
            _ => {}
        }
    }
    !private
}

fn package(_: Node<'_>, _: &[u8]) -> Option<String> {
    None
}

/// The Kotlin spec.
pub static SPEC: Spec = Spec {
    language,
    comments: &["line_comment", "block_comment"],
    declarations: &["import", "package_header"],
    strings: &["string_literal", "multiline_string_literal"],
    // A string with `$name`/`${…}` in it is no literal.
    dollar_templates: true,
    // `f(x)`, `a.b(x)`, `Type<T>(x)`, `a.b { … }`: the callee is the first named child.
    calls: &[("call_expression", "", "@first", "@kind:value_arguments")],
    members: &[("navigation_expression", "@first", "@last")],
    idents: &["identifier"],
    // Functions and methods: `classes` stays empty so that methods are tracked too.
    fns: &[("function_declaration", "name")],
    classes: &[],
    assignments: &[],
    bindings: &[],
    binding_parents: &[],
    locals: &[],
    pairs: &[],
    // An argument (`value_argument`, also `name = value`): its value is its last named child.
    wrappers: &["parenthesized_expression", "value_argument"],
    imports,
    fn_live,
    package,
    signal_scopes: &[],
    declared_types: &[],
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::facts::{drop_dead_code, FactKind};
    use crate::check::inputs::lang::treesitter::analyse;

    const SETUP: &str = r#"package shop.telemetry

import io.opentelemetry.api.GlobalOpenTelemetry
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator
import io.opentelemetry.context.propagation.ContextPropagators
import io.opentelemetry.sdk.OpenTelemetrySdk
import io.opentelemetry.sdk.trace.SdkTracerProvider
import io.opentelemetry.sdk.trace.export.BatchSpanProcessor as Batch
import io.opentelemetry.exporter.otlp.trace.OtlpGrpcSpanExporter
import java.net.http.HttpClient

// OpenTelemetrySdk.builder() in a comment
const val NOTE = "GlobalOpenTelemetry.set(x)"

fun main(args: Array<String>) {
    val exporter = OtlpGrpcSpanExporter.builder().build()
    val sdk = OpenTelemetrySdk.builder()
        .setTracerProvider(SdkTracerProvider.builder().addSpanProcessor(Batch.builder(exporter).build()).build())
        .setPropagators(ContextPropagators.create(W3CTraceContextPropagator.getInstance()))
        .build()
    GlobalOpenTelemetry.set(sdk)
    val client = HttpClient.newHttpClient()
    serve(client)
}

private fun serve(client: HttpClient) {
    val span = GlobalOpenTelemetry.getTracer("orders").spanBuilder("serve").startSpan()
    span.setAttribute("user.email", currentUser().email)
    span.end()
}

private fun unused() {
    GlobalOpenTelemetry.resetForTest()
}

class Handler {
    @Scheduled(fixedRate = 1000)
    private fun tick() { OpenTelemetrySdk.builder() }
    override fun toString(): String = "handler"
}
"#;

    #[test]
    fn kotlin_gives_the_facts_java_gives() {
        let mut f = analyse(&SPEC, "src/main/kotlin/App.kt", SETUP).unwrap();
        assert_eq!(f.syntax_error, None);
        drop_dead_code(&mut [&mut f]);
        let calls = f.call_paths(".");
        for expected in [
            "io.opentelemetry.sdk.OpenTelemetrySdk.builder.setTracerProvider.setPropagators.build",
            "io.opentelemetry.api.GlobalOpenTelemetry.set",
            "io.opentelemetry.context.propagation.ContextPropagators.create",
            "io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator.getInstance",
            "io.opentelemetry.sdk.trace.export.BatchSpanProcessor.builder",
            "java.net.http.HttpClient.newHttpClient",
            "io.opentelemetry.api.GlobalOpenTelemetry.getTracer.spanBuilder.startSpan",
        ] {
            assert!(
                calls.iter().any(|c| c == expected),
                "{expected} in {calls:?}"
            );
        }
        // The annotated private method is live (a framework calls it).
        assert!(
            calls
                .iter()
                .filter(|c| *c == "io.opentelemetry.sdk.OpenTelemetrySdk.builder")
                .count()
                == 2,
            "{calls:?}"
        );
        // Comments and strings are not code; an unused private function is dead code.
        assert!(
            !calls.iter().any(|c| c.ends_with("resetForTest")),
            "{calls:?}"
        );
        assert!(
            !calls.iter().any(|c| c.contains("GlobalOpenTelemetry.set(")),
            "{calls:?}"
        );
        let attrs: Vec<(&str, &str)> = f
            .facts
            .iter()
            .filter_map(|x| match &x.kind {
                FactKind::Attribute { key, value, .. } => Some((key.as_str(), value.as_str())),
                _ => None,
            })
            .collect();
        assert_eq!(attrs, [("user.email", "currentUser().email")]);
        // The propagator is an argument of setPropagators, seen through the nested call.
        let propagators = f
            .facts
            .iter()
            .find_map(|x| match &x.kind {
                FactKind::Call { path, args, .. }
                    if path.last().is_some_and(|l| l == "setPropagators") =>
                {
                    Some(args.clone())
                }
                _ => None,
            })
            .unwrap();
        assert!(
            propagators
                .paths
                .iter()
                .any(|p| p.last().is_some_and(|l| l == "getInstance")),
            "{propagators:?}"
        );
    }

    #[test]
    fn an_interpolated_string_is_no_literal_argument() {
        let src = "fun setup(host: String) {\n    OtlpHttpSpanExporter.builder().setEndpoint(\"http://$host:4318\").build()\n    OtlpHttpSpanExporter.builder().setEndpoint(\"http://collector:4318\").build()\n}\n";
        let f = analyse(&SPEC, "Setup.kt", src).unwrap();
        let literals: Vec<Vec<String>> = f
            .facts
            .iter()
            .filter_map(|x| match &x.kind {
                FactKind::Call {
                    path, literal_args, ..
                } if path.last().is_some_and(|l| l == "setEndpoint") => Some(literal_args.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(
            literals,
            [vec![], vec!["http://collector:4318".to_string()]],
            "{literals:?}"
        );
    }
}
