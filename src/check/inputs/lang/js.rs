//! JavaScript and TypeScript sources (tree-sitter-javascript / tree-sitter-typescript).

use super::treesitter::Aliases;

use tree_sitter::Node;

use super::treesitter::{import_segments, text, unquote, Spec};

fn javascript() -> tree_sitter::Language {
    tree_sitter_javascript::LANGUAGE.into()
}

fn typescript() -> tree_sitter::Language {
    tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into()
}

fn tsx() -> tree_sitter::Language {
    tree_sitter_typescript::LANGUAGE_TSX.into()
}

fn imports(node: Node<'_>, src: &[u8], out: &mut Aliases) {
    match node.kind() {
        "import_statement" => {
            let Some(source) = node
                .child_by_field_name("source")
                .and_then(|s| unquote(text(s, src)))
            else {
                return;
            };
            let base = import_segments(&source);
            let mut c = node.walk();
            for clause in node
                .named_children(&mut c)
                .filter(|n| n.kind() == "import_clause")
            {
                let mut c2 = clause.walk();
                for item in clause.named_children(&mut c2) {
                    match item.kind() {
                        "identifier" => {
                            out.insert(text(item, src).to_string(), base.clone());
                        }
                        "namespace_import" => {
                            let mut c3 = item.walk();
                            let id = item
                                .named_children(&mut c3)
                                .find(|n| n.kind() == "identifier");
                            if let Some(id) = id {
                                out.insert(text(id, src).to_string(), base.clone());
                            }
                        }
                        "named_imports" => {
                            let mut c3 = item.walk();
                            for spec in item
                                .named_children(&mut c3)
                                .filter(|n| n.kind() == "import_specifier")
                            {
                                let Some(name) = spec.child_by_field_name("name") else {
                                    continue;
                                };
                                let alias = spec.child_by_field_name("alias").unwrap_or(name);
                                let mut full = base.clone();
                                full.push(text(name, src).to_string());
                                out.insert(text(alias, src).to_string(), full);
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
        "lexical_declaration" | "variable_declaration" => {
            let mut c = node.walk();
            for decl in node
                .named_children(&mut c)
                .filter(|n| n.kind() == "variable_declarator")
            {
                let (Some(name), Some(value)) = (
                    decl.child_by_field_name("name"),
                    decl.child_by_field_name("value"),
                ) else {
                    continue;
                };
                let Some(source) = require_source(value, src) else {
                    continue;
                };
                let base = import_segments(&source);
                match name.kind() {
                    "identifier" => {
                        out.insert(text(name, src).to_string(), base);
                    }
                    "object_pattern" => {
                        let mut c2 = name.walk();
                        for p in name.named_children(&mut c2) {
                            match p.kind() {
                                "shorthand_property_identifier_pattern" => {
                                    let mut full = base.clone();
                                    full.push(text(p, src).to_string());
                                    out.insert(text(p, src).to_string(), full);
                                }
                                "pair_pattern" => {
                                    if let (Some(k), Some(v)) = (
                                        p.child_by_field_name("key"),
                                        p.child_by_field_name("value"),
                                    ) {
                                        let mut full = base.clone();
                                        full.push(text(k, src).to_string());
                                        out.insert(text(v, src).to_string(), full);
                                    }
                                }
                                _ => {}
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        _ => {}
    }
}

/// `require('x')` or `require('x').y` → `x`.
fn require_source(value: Node<'_>, src: &[u8]) -> Option<String> {
    let call = if value.kind() == "member_expression" {
        value.child_by_field_name("object")?
    } else {
        value
    };
    if call.kind() != "call_expression" {
        return None;
    }
    let f = call.child_by_field_name("function")?;
    if text(f, src) != "require" {
        return None;
    }
    let args = call.child_by_field_name("arguments")?;
    let first = args.named_child(0)?;
    if first.kind() != "string" {
        return None;
    }
    unquote(text(first, src))
}

fn fn_live(name: &str, _node: Node<'_>, enclosing: &[Node<'_>]) -> bool {
    name == "main"
        || enclosing
            .last()
            .is_some_and(|p| p.kind() == "export_statement")
}

fn package(_: Node<'_>, _: &[u8]) -> Option<String> {
    None
}

macro_rules! js_spec {
    ($name:ident, $lang:ident, $doc:literal, [$($ident:literal),*]) => {
        #[doc = $doc]
        pub static $name: Spec = Spec {
            language: $lang,
            comments: &["comment"],
            declarations: &["import_statement"],
            strings: &["string", "template_string"],
    dollar_templates: false,
            calls: &[
                ("call_expression", "", "function", "arguments"),
                ("new_expression", "", "constructor", "arguments"),
            ],
            members: &[("member_expression", "object", "property")],
            idents: &[$($ident),*],
            fns: &[("function_declaration", "name")],
            classes: &["class_declaration", "class"],
            assignments: &[],
            bindings: &[("variable_declarator", "name", "value")],
            // `const url = 'http://…'` at module level (not in a function, class or block; any
            // name for `const`, UPPER_CASE for `let`/`var`, which may be reassigned).
            binding_parents: &["lexical_declaration", "variable_declaration", "export_statement"],
            // Parameters (`function f(url)`, `(url) => …`, `url => …`, `catch (url)`), loop
            // variables (`for (const url of …)`), reassignments (`URL = process.env.X`,
            // followed from there on) and, inside a function, `const`/`let`/`var`: a module
            // constant of that name is not followed.
            locals: &[
                ("formal_parameters", ""),
                ("arrow_function", "parameter"),
                ("catch_clause", "parameter"),
                ("for_in_statement", "left"),
                ("assignment_expression", "left"),
                ("variable_declarator", "name"),
            ],
            pairs: &[("pair", "key", "value")],
            wrappers: &[
                "parenthesized_expression",
                "await_expression",
                "spread_element",
            ],
            imports,
            fn_live,
            package,
            signal_scopes: &[],
            declared_types: &[],
        };
    };
}

js_spec!(
    JAVASCRIPT,
    javascript,
    "The JavaScript spec.",
    [
        "identifier",
        "property_identifier",
        "shorthand_property_identifier"
    ]
);
js_spec!(
    TYPESCRIPT,
    typescript,
    "The TypeScript spec.",
    [
        "identifier",
        "property_identifier",
        "shorthand_property_identifier",
        "type_identifier"
    ]
);
js_spec!(
    TSX,
    tsx,
    "The TSX spec.",
    [
        "identifier",
        "property_identifier",
        "shorthand_property_identifier",
        "type_identifier"
    ]
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::inputs::lang::treesitter::analyse;

    #[test]
    fn require_and_import_bind_names() {
        let src = r#"
const { NodeSDK } = require('@opentelemetry/sdk-node');
import { SimpleSpanProcessor as SSP } from '@opentelemetry/sdk-trace-base';
// new SSP(exporter)
console.log("new NodeSDK()");
const sdk = new NodeSDK({ spanProcessors: [new SSP(exporter)] });
sdk.start();
"#;
        let f = analyse(&TYPESCRIPT, "src/index.ts", src).unwrap();
        let calls = f.call_paths(".");
        assert_eq!(
            calls.iter().filter(|c| c.ends_with("NodeSDK")).count(),
            1,
            "{calls:?}"
        );
        assert!(
            calls.contains(&"@opentelemetry.sdk-trace-base.SimpleSpanProcessor".to_string()),
            "{calls:?}"
        );
        assert!(calls.contains(&"sdk.start".to_string()));
    }
}
