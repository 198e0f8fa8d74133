//! Java sources (tree-sitter-java).

use super::treesitter::Aliases;

use tree_sitter::Node;

use super::treesitter::{import_segments, text, Spec};

fn language() -> tree_sitter::Language {
    tree_sitter_java::LANGUAGE.into()
}

fn imports(node: Node<'_>, src: &[u8], out: &mut Aliases) {
    if node.kind() != "import_declaration" {
        return;
    }
    let mut c = node.walk();
    let found = node
        .named_children(&mut c)
        .find(|n| n.kind() == "scoped_identifier" || n.kind() == "identifier");
    if let Some(path) = found {
        let segs = import_segments(text(path, src));
        if let Some(last) = segs.last() {
            out.insert(last.clone(), segs.clone());
        }
    }
}

/// A method is a dead-code candidate only when it is `private` and carries no annotation
/// (frameworks call annotated methods reflectively: `@Bean`, `@PostConstruct`, `@GetMapping`);
/// anything else may be called from outside the files analysed, so it counts as live.
fn fn_live(name: &str, node: Node<'_>, _enclosing: &[Node<'_>]) -> bool {
    // `main`, and the serialization hooks the JVM calls on private methods by name.
    if matches!(
        name,
        "main" | "readObject" | "writeObject" | "readObjectNoData" | "readResolve" | "writeReplace"
    ) {
        return true;
    }
    let mut c = node.walk();
    let Some(modifiers) = node.children(&mut c).find(|n| n.kind() == "modifiers") else {
        return true; // package-private: callable from the package
    };
    let mut c = modifiers.walk();
    let mut private = false;
    for m in modifiers.children(&mut c) {
        match m.kind() {
            "marker_annotation" | "annotation" => return true,
            "private" => private = true,
            _ => {}
        }
    }
    !private
}

fn package(_: Node<'_>, _: &[u8]) -> Option<String> {
    None
}

/// The Java spec.
pub static SPEC: Spec = Spec {
    language,
    comments: &["line_comment", "block_comment"],
    declarations: &["import_declaration", "package_declaration"],
    // Text blocks (`"""…"""`) are `string_literal`s in this grammar.
    strings: &["string_literal"],
    dollar_templates: false,
    calls: &[
        ("method_invocation", "object", "name", "arguments"),
        ("object_creation_expression", "", "type", "arguments"),
    ],
    members: &[
        ("field_access", "object", "field"),
        ("scoped_identifier", "scope", "name"),
        // A nested type (`new OkHttpClient.Builder()`): its segments, outermost first.
        ("scoped_type_identifier", "@first", "@last"),
    ],
    idents: &["identifier", "type_identifier"],
    // Methods: `classes` stays empty so that methods (all inside classes) are tracked.
    fns: &[("method_declaration", "name")],
    classes: &[],
    assignments: &[],
    bindings: &[("variable_declarator", "name", "value")],
    binding_parents: &[],
    locals: &[],
    pairs: &[],
    wrappers: &["parenthesized_expression"],
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

    #[test]
    fn a_nested_type_built_with_new_is_a_call_of_its_whole_path() {
        let src = "import okhttp3.OkHttpClient;\n\nclass Fx {\n  private final OkHttpClient client = new OkHttpClient.Builder()\n      .build();\n}\n";
        let f = analyse(&SPEC, "Fx.java", src).unwrap();
        assert!(
            f.call_paths(".")
                .iter()
                .any(|p| p == "okhttp3.OkHttpClient.Builder"),
            "{:?}",
            f.call_paths(".")
        );
    }

    #[test]
    fn signals_in_unused_private_methods_do_not_count() {
        let src = r#"
class App {
  public static void main(String[] args) { configure(); }
  private static void configure() { GlobalOpenTelemetry.set(sdk("a")); }
  private static void neverCalled() { W3CTraceContextPropagator.getInstance(); }
  @PostConstruct private void hook() { OpenTelemetrySdk.builder(); }
  void packagePrivate() { SimpleSpanProcessor.create(exporter); }
  private static Object sdk(String s) { return null; }
}
"#;
        let mut f = analyse(&SPEC, "App.java", src).unwrap();
        drop_dead_code(&mut [&mut f]);
        let calls = f.call_paths(".");
        assert!(
            calls.contains(&"GlobalOpenTelemetry.set".to_string()),
            "{calls:?}"
        );
        assert!(
            calls.contains(&"OpenTelemetrySdk.builder".to_string()),
            "annotated: {calls:?}"
        );
        assert!(
            calls.contains(&"SimpleSpanProcessor.create".to_string()),
            "package-private: {calls:?}"
        );
        assert!(
            !calls
                .iter()
                .any(|c| c.contains("W3CTraceContextPropagator")),
            "unused private method: {calls:?}"
        );
    }

    #[test]
    fn method_chains_and_constructors() {
        let src = r#"
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
class App {
  // SimpleSpanProcessor.create(exporter)
  void setup() {
    String s = "SimpleSpanProcessor.create(x)";
    String t = """
        SimpleSpanProcessor.create(y)
        """;
    var p = SdkTracerProvider.builder().addSpanProcessor(SimpleSpanProcessor.create(exporter)).build();
    span.setAttribute("user.password", pw);
  }
}
"#;
        let f = analyse(&SPEC, "App.java", src).unwrap();
        let calls = f.call_paths(".");
        assert!(
            calls.contains(
                &"io.opentelemetry.sdk.trace.export.SimpleSpanProcessor.create".to_string()
            ),
            "{calls:?}"
        );
        assert_eq!(
            calls
                .iter()
                .filter(|c| c.ends_with("SimpleSpanProcessor.create"))
                .count(),
            1
        );
        assert!(
            calls.contains(&"SdkTracerProvider.builder.addSpanProcessor".to_string()),
            "{calls:?}"
        );
        assert!(f
            .facts
            .iter()
            .any(|x| matches!(&x.kind, FactKind::Attribute { key, .. } if key == "user.password")));
    }
}
