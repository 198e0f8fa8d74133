//! Java sources (tree-sitter-java).

use std::collections::HashMap;

use tree_sitter::Node;

use super::treesitter::{import_segments, text, Spec};

fn language() -> tree_sitter::Language {
    tree_sitter_java::LANGUAGE.into()
}

fn imports(node: Node<'_>, src: &[u8], out: &mut HashMap<String, Vec<String>>) {
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

fn fn_live(_: &str, _: Node<'_>) -> bool {
    true
}

fn package(_: Node<'_>, _: &[u8]) -> Option<String> {
    None
}

/// The Java spec.
pub static SPEC: Spec = Spec {
    language,
    comments: &["line_comment", "block_comment"],
    strings: &["string_literal", "text_block"],
    calls: &[
        ("method_invocation", "object", "name", "arguments"),
        ("object_creation_expression", "", "type", "arguments"),
    ],
    members: &[
        ("field_access", "object", "field"),
        ("scoped_identifier", "scope", "name"),
    ],
    idents: &["identifier", "type_identifier"],
    fns: &[],
    classes: &[],
    assignments: &[],
    pairs: &[],
    wrappers: &["parenthesized_expression"],
    imports,
    fn_live,
    package,
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::facts::FactKind;
    use crate::check::lang::treesitter::analyse;

    #[test]
    fn method_chains_and_constructors() {
        let src = r#"
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
class App {
  // SimpleSpanProcessor.create(exporter)
  void setup() {
    String s = "SimpleSpanProcessor.create(x)";
    var p = SdkTracerProvider.builder().addSpanProcessor(SimpleSpanProcessor.create(exporter)).build();
    span.setAttribute("user.password", pw);
  }
}
"#;
        let f = analyse(&SPEC, "App.java", src).unwrap();
        let calls: Vec<String> = f
            .facts
            .iter()
            .filter_map(|x| match &x.kind {
                FactKind::Call { path, .. } => Some(path.join(".")),
                _ => None,
            })
            .collect();
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
