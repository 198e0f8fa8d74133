//! Python sources (tree-sitter-python).

use super::treesitter::Aliases;

use tree_sitter::Node;

use super::treesitter::{import_segments, text, Spec};

fn language() -> tree_sitter::Language {
    tree_sitter_python::LANGUAGE.into()
}

fn imports(node: Node<'_>, src: &[u8], out: &mut Aliases) {
    match node.kind() {
        "import_statement" => {
            let mut c = node.walk();
            for n in node.children_by_field_name("name", &mut c) {
                if n.kind() == "aliased_import" {
                    if let (Some(name), Some(alias)) = (
                        n.child_by_field_name("name"),
                        n.child_by_field_name("alias"),
                    ) {
                        out.insert(
                            text(alias, src).to_string(),
                            import_segments(text(name, src)),
                        );
                    }
                }
            }
        }
        "import_from_statement" => {
            let Some(module) = node.child_by_field_name("module_name") else {
                return;
            };
            let module = import_segments(text(module, src).trim_start_matches('.'));
            let mut c = node.walk();
            for n in node.children_by_field_name("name", &mut c) {
                let (name, alias) = if n.kind() == "aliased_import" {
                    match (
                        n.child_by_field_name("name"),
                        n.child_by_field_name("alias"),
                    ) {
                        (Some(a), Some(b)) => (text(a, src), text(b, src)),
                        _ => continue,
                    }
                } else {
                    (text(n, src), text(n, src))
                };
                let mut full = module.clone();
                full.extend(import_segments(name));
                out.insert(alias.to_string(), full);
            }
        }
        _ => {}
    }
}

/// The top-level modules a Python file imports absolutely (`import a.b, c as d` gives `a`,
/// `c`; `from e.f import g` gives `e`; relative imports none), sorted, from its lines: cheap
/// enough for files the pre-filter does not parse. A line inside a string may count: callers
/// only use the names to find packages of the tree, so an extra name finds nothing.
pub fn imported_modules(src: &[u8]) -> Vec<String> {
    // Both forms have `import` on their line: only those lines are decoded and looked at (most
    // of a file is not, and it need not be valid UTF-8 as a whole).
    static IMPORT: std::sync::OnceLock<memchr::memmem::Finder<'static>> =
        std::sync::OnceLock::new();
    let finder = IMPORT.get_or_init(|| memchr::memmem::Finder::new("import"));
    let mut out: Vec<String> = Vec::new();
    let mut done_to = 0;
    for at in finder.find_iter(src) {
        if at < done_to {
            continue;
        }
        let start = memchr::memrchr(b'\n', &src[..at]).map_or(0, |i| i + 1);
        let end = memchr::memchr(b'\n', &src[at..]).map_or(src.len(), |i| at + i);
        done_to = end;
        let raw = &src[start..end];
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        import_line(&String::from_utf8_lossy(raw), &mut out);
    }
    out.sort();
    out.dedup();
    out
}

/// The modules one line imports absolutely (see [`imported_modules`]).
fn import_line(line: &str, out: &mut Vec<String>) {
    let top = |name: &str| -> Option<String> {
        let first = name.trim().split([' ', '.', '\t']).next()?;
        (!first.is_empty() && first.chars().all(|c| c.is_alphanumeric() || c == '_'))
            .then(|| first.to_string())
    };
    let line = line.trim_start();
    if let Some(rest) = line.strip_prefix("import ") {
        let rest = rest.split('#').next().unwrap_or_default();
        out.extend(
            rest.trim_matches(['(', ')', ' '])
                .split(',')
                .filter_map(top),
        );
    } else if let Some(rest) = line.strip_prefix("from ") {
        if let Some((module, _)) = rest.split_once(" import") {
            if !module.trim_start().starts_with('.') {
                out.extend(top(module));
            }
        }
    }
}

fn fn_live(name: &str, _node: Node<'_>, enclosing: &[Node<'_>]) -> bool {
    name == "main"
        || name.starts_with("__")
        || enclosing
            .last()
            .is_some_and(|p| p.kind() == "decorated_definition")
}

fn package(_: Node<'_>, _: &[u8]) -> Option<String> {
    None
}

/// The Python spec.
pub static SPEC: Spec = Spec {
    language,
    comments: &["comment"],
    declarations: &[
        "import_statement",
        "import_from_statement",
        "future_import_statement",
    ],
    strings: &["string", "concatenated_string"],
    dollar_templates: false,
    calls: &[("call", "", "function", "arguments")],
    members: &[("attribute", "object", "attribute")],
    idents: &["identifier"],
    fns: &[("function_definition", "name")],
    classes: &["class_definition"],
    assignments: &[],
    bindings: &[("assignment", "left", "right")],
    binding_parents: &[],
    locals: &[],
    pairs: &[
        ("keyword_argument", "name", "value"),
        ("pair", "key", "value"),
    ],
    wrappers: &["parenthesized_expression", "await"],
    imports,
    fn_live,
    package,
    signal_scopes: &[],
    declared_types: &[],
};

#[cfg(test)]
mod tests {
    #[test]
    fn imported_top_level_modules_absolute_only() {
        let src = "import os, json as j\nimport shop_common.tracing\nfrom shop_common.settings import DB\nfrom . import local\nfrom .models import Order\nfrom common import (\n    a,\n)\n    import lazy  # inside a function\nx = 1  # import nothing\n";
        assert_eq!(
            imported_modules(src.as_bytes()),
            ["common", "json", "lazy", "os", "shop_common"]
        );
        assert!(imported_modules(b"print('hi')\n").is_empty());
        // CRLF lines, an import on the last line without a newline, a line with `import` twice,
        // and bytes that are not UTF-8 elsewhere in the file.
        let crlf = b"import os\r\nfrom billing.api import import_orders\r\nname = b'\xff\xfe'\r\nimport yaml";
        assert_eq!(imported_modules(crlf), ["billing", "os", "yaml"]);
        assert!(imported_modules(b"").is_empty());
        assert_eq!(imported_modules(b"import"), Vec::<String>::new());
    }

    use super::*;
    use crate::check::facts::FactKind;
    use crate::check::inputs::lang::treesitter::analyse;

    #[test]
    fn blocks_after_a_literal_false_are_dead() {
        let src = "if False:\n    dead_if()\nwhile False:\n    dead_while()\nif False:\n    dead_then()\nelse:\n    live_else()\nif ok:\n    live_if()\n";
        let f = analyse(&SPEC, "app.py", src).unwrap();
        let calls = f.call_paths(".");
        assert_eq!(calls, vec!["live_else", "live_if"]);
    }

    #[test]
    fn from_imports_expand_and_keyword_literals_are_seen() {
        let src = r#"
from opentelemetry.sdk.trace.export import SimpleSpanProcessor as SSP
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
# provider.add_span_processor(BatchSpanProcessor(x))
logger.info("using BatchSpanProcessor")
provider.add_span_processor(SSP(OTLPSpanExporter(endpoint="http://collector:4318/v1/traces")))
span.set_attribute("user.email", user.email)
span.set_attributes({"card.number": card})
"#;
        let f = analyse(&SPEC, "app.py", src).unwrap();
        let calls = f.call_paths(".");
        assert!(
            calls.contains(&"opentelemetry.sdk.trace.export.SimpleSpanProcessor".to_string()),
            "{calls:?}"
        );
        assert!(!calls.iter().any(|c| c.contains("BatchSpanProcessor")));
        assert!(f.facts.iter().any(|x| matches!(&x.kind, FactKind::Call { path, literal_args, .. } if path.last().is_some_and(|l| l == "OTLPSpanExporter") && literal_args == &["http://collector:4318/v1/traces".to_string()])));
        let keys: Vec<&str> = f
            .facts
            .iter()
            .filter_map(|x| match &x.kind {
                FactKind::Attribute { key, .. } => Some(key.as_str()),
                _ => None,
            })
            .collect();
        assert!(
            keys.contains(&"user.email") && keys.contains(&"card.number"),
            "{keys:?}"
        );
    }
}
