//! Go sources (tree-sitter-go).

use super::treesitter::Aliases;

use tree_sitter::Node;

use super::treesitter::{import_segments, text, unquote, Spec};

fn language() -> tree_sitter::Language {
    tree_sitter_go::LANGUAGE.into()
}

fn imports(node: Node<'_>, src: &[u8], out: &mut Aliases) {
    match node.kind() {
        "import_declaration" | "import_spec_list" => {
            let mut c = node.walk();
            for child in node.named_children(&mut c) {
                imports(child, src, out);
            }
        }
        "import_spec" => {
            let Some(path) = node
                .child_by_field_name("path")
                .and_then(|p| unquote(text(p, src)))
            else {
                return;
            };
            // A version element is no package name: a module's major-version suffix
            // (`github.com/labstack/echo/v4` is package `echo`, and `echo.New` reads as
            // `…labstack.echo.New`) or a directory per version (the semantic conventions'
            // `go.opentelemetry.io/otel/semconv/v1.26.0` is package `semconv`).
            let package_path = match path.rsplit_once('/') {
                Some((parent, last)) if is_version_element(last) => parent,
                _ => path.as_str(),
            };
            let alias = match node.child_by_field_name("name") {
                Some(n) if n.kind() == "package_identifier" => text(n, src).to_string(),
                Some(_) => return, // `_` or `.` imports bind no name
                None => package_path
                    .rsplit('/')
                    .next()
                    .unwrap_or_default()
                    .to_string(),
            };
            out.insert(alias, import_segments(package_path));
        }
        _ => {}
    }
}

/// `v2`, `v5`: the last element of a Go module path at major version 2 or later; `v1.26.0`: a
/// directory per version of one package (the semantic conventions').
fn is_version_element(element: &str) -> bool {
    element.strip_prefix('v').is_some_and(|rest| {
        !rest.is_empty()
            && rest
                .split('.')
                .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    })
}

fn fn_live(name: &str, _node: Node<'_>, _enclosing: &[Node<'_>]) -> bool {
    name == "main" || name == "init" || name.starts_with(|c: char| c.is_ascii_uppercase())
}

fn package(root: Node<'_>, src: &[u8]) -> Option<String> {
    let mut c = root.walk();
    let clause = root
        .named_children(&mut c)
        .find(|n| n.kind() == "package_clause")?;
    let mut c2 = clause.walk();
    let id = clause
        .named_children(&mut c2)
        .find(|n| n.kind() == "package_identifier")?;
    Some(text(id, src).to_string())
}

/// The package name from a Go file's package clause, read without parsing: the clause is the
/// first token after comments and white space (for files the pre-filter does not parse; the
/// `main` package makes a directory a Go service).
pub fn package_clause(src: &str) -> Option<String> {
    let rest = skip_trivia(src.trim_start_matches('\u{feff}'))?;
    let r = rest.strip_prefix("package")?;
    if !r.starts_with(|c: char| c.is_whitespace() || c == '/') {
        return None;
    }
    let name: String = skip_trivia(r)?
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

/// The import paths of a Go file, read without parsing: the `import` declarations that follow
/// the package clause (`import "fmt"`, `import alias "path"`, `import ( … )` blocks). For a
/// `main` package built outside any module (`go mod init && go mod tidy` in its Dockerfile)
/// they are what its requirements become.
pub fn import_paths(src: &str) -> Vec<String> {
    let mut paths = Vec::new();
    let Some(rest) = skip_trivia(src.trim_start_matches('\u{feff}')) else {
        return paths;
    };
    let Some(after_package) = rest.strip_prefix("package") else {
        return paths;
    };
    // The package name, to the end of its line.
    let mut rest = after_package
        .split_once('\n')
        .map_or("", |(_, after)| after);
    loop {
        let Some(r) = skip_trivia(rest) else {
            return paths;
        };
        let Some(r) = r.strip_prefix("import") else {
            return paths;
        };
        let r = r.trim_start();
        let (specs, after) = match r.strip_prefix('(') {
            Some(block) => block.split_once(')').unwrap_or((block, "")),
            None => r.split_once('\n').unwrap_or((r, "")),
        };
        for line in specs.lines() {
            // Before a `//` comment (found by hand: `split("//")` sets up a substring search
            // per line).
            let comment = line.as_bytes().windows(2).position(|w| w == b"//");
            let line = comment.map_or(line, |at| &line[..at]);
            let quoted = line
                .split_once('"')
                .and_then(|(_, q)| q.split_once('"'))
                .or_else(|| line.split_once('`').and_then(|(_, q)| q.split_once('`')));
            if let Some((path, _)) = quoted {
                paths.push(path.to_owned());
            }
        }
        rest = after;
    }
}

/// The text after leading white space and comments (`None` in an unclosed block comment).
fn skip_trivia(mut rest: &str) -> Option<&str> {
    loop {
        rest = rest.trim_start();
        if let Some(r) = rest.strip_prefix("//") {
            rest = r.split_once('\n').map_or("", |(_, after)| after);
        } else if let Some(r) = rest.strip_prefix("/*") {
            rest = r.split_once("*/")?.1;
        } else {
            return Some(rest);
        }
    }
}

/// The Go spec.
pub static SPEC: Spec = Spec {
    language,
    comments: &["comment"],
    declarations: &["import_declaration", "package_clause"],
    strings: &["interpreted_string_literal", "raw_string_literal"],
    dollar_templates: false,
    calls: &[("call_expression", "", "function", "arguments")],
    members: &[
        ("selector_expression", "operand", "field"),
        ("qualified_type", "package", "name"),
    ],
    idents: &[
        "identifier",
        "package_identifier",
        "type_identifier",
        "field_identifier",
    ],
    fns: &[("function_declaration", "name")],
    classes: &[],
    // `http.DefaultTransport = otelhttp.NewTransport(…)`: see `Extractor::assignment`.
    assignments: &[("assignment_statement", "left", "right")],
    // Package-level `const` (any name): a literal endpoint kept in one is still a literal. Not
    // `var`: a package variable is often a default that flags or `init` overwrite.
    bindings: &[("const_spec", "name", "value")],
    binding_parents: &["const_declaration"],
    locals: &[
        ("parameter_declaration", "name"),
        ("variadic_parameter_declaration", "name"),
        ("short_var_declaration", "left"),
        ("var_spec", "name"),
        ("const_spec", "name"),
        ("range_clause", "left"),
        ("type_switch_statement", "alias"),
        ("receive_statement", "left"),
    ],
    pairs: &[("keyed_element", "key", "value")],
    wrappers: &["parenthesized_expression", "unary_expression"],
    imports,
    fn_live,
    package,
    signal_scopes: &[],
    declared_types: &[
        "field_declaration",
        "parameter_declaration",
        "variadic_parameter_declaration",
        "function_declaration",
        "method_declaration",
        "func_literal",
        "method_elem",
    ],
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_package_variable_replaced_is_a_call_of_it() {
        let src = "package main\n\nimport (\n\t\"net/http\"\n\n\t\"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp\"\n)\n\nfunc main() {\n\thttp.DefaultTransport = otelhttp.NewTransport(http.DefaultTransport)\n\tclient := &http.Client{}\n\tclient.Timeout = timeout\n}\n";
        let f = crate::check::inputs::lang::treesitter::analyse(&SPEC, "main.go", src).unwrap();
        let calls = f.call_paths(".");
        assert!(
            calls.iter().any(|c| c.ends_with("http.DefaultTransport")),
            "{calls:?}"
        );
        // A local's field set from a variable is not a fact.
        assert!(!calls.iter().any(|c| c.contains("Timeout")), "{calls:?}");
    }

    #[test]
    fn a_major_version_suffix_is_not_part_of_the_package_path() {
        let src = "package main\n\nimport (\n\t\"github.com/labstack/echo/v4\"\n\tfiber \"github.com/gofiber/fiber/v2\"\n\t\"github.com/gofiber/contrib/otelfiber/v2\"\n)\n\nfunc main() {\n\techo.New()\n\tfiber.New()\n\totelfiber.Middleware()\n}\n";
        let f = crate::check::inputs::lang::treesitter::analyse(&SPEC, "main.go", src).unwrap();
        let calls = f.call_paths(".");
        assert_eq!(
            calls,
            vec![
                "github.com.labstack.echo.New",
                "github.com.gofiber.fiber.New",
                "github.com.gofiber.contrib.otelfiber.Middleware"
            ]
        );
    }

    /// The semantic conventions live in one directory per version
    /// (`go.opentelemetry.io/otel/semconv/v1.26.0`), whose package is `semconv`: imported
    /// with or without that alias, `semconv.ServiceName` reads as `…otel.semconv.ServiceName`.
    #[test]
    fn a_versioned_semconv_directory_is_not_part_of_the_package_path() {
        for import in [
            "\"go.opentelemetry.io/otel/semconv/v1.26.0\"",
            "semconv \"go.opentelemetry.io/otel/semconv/v1.26.0\"",
        ] {
            let src = format!("package main\n\nimport (\n\t{import}\n)\n\nfunc main() {{\n\tsemconv.ServiceName(\"orders\")\n\tsemconv.ServiceNameKey.String(\"orders\")\n}}\n");
            let f =
                crate::check::inputs::lang::treesitter::analyse(&SPEC, "main.go", &src).unwrap();
            assert_eq!(
                f.call_paths("."),
                vec![
                    "go.opentelemetry.io.otel.semconv.ServiceName",
                    "go.opentelemetry.io.otel.semconv.ServiceNameKey.String"
                ],
                "{import}"
            );
        }
    }

    /// The symbol facts of a file: (path, line).
    fn symbols(f: &crate::check::facts::SourceFacts) -> Vec<(String, u32)> {
        f.facts
            .iter()
            .filter_map(|x| match &x.kind {
                FactKind::Symbol { path } => Some((path.join("."), x.line)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_type_named_by_a_declaration_is_no_symbol() {
        let src = "package main\n\nimport \"net/http\"\n\ntype api struct {\n\tc *http.Client\n\tpool []*http.Client\n}\n\nfunc use(c *http.Client, s ...http.Server) *http.Client { return c }\n\nfunc main() {\n\tc := &http.Client{}\n\tvar zero http.Client\n\t_ = func() http.Server { return http.Server{} }\n}\n";
        let f = crate::check::inputs::lang::treesitter::analyse(&SPEC, "main.go", src).unwrap();
        let symbols = symbols(&f);
        assert_eq!(
            symbols,
            vec![
                ("net.http.Client".to_string(), 13),
                ("net.http.Client".to_string(), 14),
                ("net.http.Server".to_string(), 15)
            ]
        );
    }

    #[test]
    fn the_fields_a_composite_literal_sets_are_symbols_of_the_literal_type() {
        let src = "package main\n\nimport \"net/http\"\n\nfunc clients(rt http.RoundTripper) {\n\t_ = &http.Client{Timeout: 5}\n\t_ = &http.Client{\n\t\tTransport: rt,\n\t}\n}\n";
        let interest = crate::check::inputs::interest::Interest::from_patterns([
            &["http".to_string(), "Client".to_string()][..],
            &[
                "http".to_string(),
                "Client{}".to_string(),
                "Transport".to_string(),
            ][..],
        ]);
        let f =
            crate::check::inputs::lang::treesitter::analyse_for(&SPEC, "main.go", src, &interest)
                .unwrap();
        let symbols = symbols(&f);
        // The field's symbol is no `http.Client` (a site of its own), and `Timeout`, which no
        // signal names, is none.
        assert_eq!(
            symbols,
            vec![
                ("net.http.Client".to_string(), 6),
                ("net.http.Client{}.Transport".to_string(), 8),
                ("net.http.Client".to_string(), 7),
            ]
        );
    }

    #[test]
    fn blocks_after_a_literal_false_are_dead() {
        let src = "package main\n\nfunc main() {\n\tif false {\n\t\tdeadIf()\n\t}\n\tfor false {\n\t\tdeadFor()\n\t}\n\tif false {\n\t\tdeadThen()\n\t} else {\n\t\tliveElse()\n\t}\n\tif ok {\n\t\tliveIf()\n\t}\n}\n";
        let f = crate::check::inputs::lang::treesitter::analyse(&SPEC, "main.go", src).unwrap();
        let calls = f.call_paths(".");
        assert_eq!(calls, vec!["liveElse", "liveIf"]);
    }

    #[test]
    fn import_paths_without_parsing() {
        let src = "// Command shipping.\npackage main // the binary\n\nimport \"context\"\nimport (\n\t\"log\" // logging\n\n\tsdktrace \"go.opentelemetry.io/otel/sdk/trace\"\n\t_ \"embed\"\n\t/* a comment */ \"github.com/nats-io/nats.go\"\n)\nimport x `example.com/raw`\n\nfunc main() {\n\t_ = \"not/an/import\"\n}\n";
        assert_eq!(
            import_paths(src),
            [
                "context",
                "log",
                "go.opentelemetry.io/otel/sdk/trace",
                "embed",
                "github.com/nats-io/nats.go",
                "example.com/raw"
            ]
        );
        assert!(import_paths("package main\n\nfunc main() {}\n").is_empty());
        assert!(import_paths("/* unclosed").is_empty());
    }

    #[test]
    fn package_clause_without_parsing() {
        assert_eq!(
            package_clause("// Copyright\n/* block\n */\n\npackage main\n\nfunc main() {}\n")
                .as_deref(),
            Some("main")
        );
        assert_eq!(
            package_clause("package handlers // x\n").as_deref(),
            Some("handlers")
        );
        assert_eq!(package_clause("packagemain\n"), None);
        assert_eq!(
            package_clause("package /* x */ main\n").as_deref(),
            Some("main")
        );
        assert_eq!(package_clause("package\n\tmain\n").as_deref(), Some("main"));
        assert_eq!(package_clause("func main() {}\n"), None);
    }
    use crate::check::facts::FactKind;
    use crate::check::inputs::lang::treesitter::analyse;

    #[test]
    fn call_arguments_name_what_is_passed_and_locals_are_opaque() {
        let src = r#"package main

import (
	"go.opentelemetry.io/contrib/propagators/b3"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
)

func main() {
	otel.SetTextMapPropagator(propagation.TraceContext{})
	otel.SetTextMapPropagator(b3.New(b3.WithInjectEncoding(b3.B3MultipleHeader)))
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	otel.SetTextMapPropagator(p)
	otel.SetTextMapPropagator(propagators())
	otel.SetTextMapPropagator(b3.New( /* propagation.TraceContext{} */ ))
}
"#;
        let f = analyse(&SPEC, "main.go", src).unwrap();
        let got: Vec<(Vec<String>, bool)> = f
            .facts
            .iter()
            .filter_map(|x| match &x.kind {
                FactKind::Call { path, args, .. }
                    if path.last().is_some_and(|l| l == "SetTextMapPropagator") =>
                {
                    Some((
                        args.paths.iter().map(|p| p.join(".")).collect(),
                        args.opaque,
                    ))
                }
                _ => None,
            })
            .collect();
        let tc = "go.opentelemetry.io.otel.propagation.TraceContext".to_string();
        let b3 = "go.opentelemetry.io.contrib.propagators.b3";
        assert_eq!(got.len(), 6, "{got:?}");
        assert_eq!(got[0], (vec![tc.clone()], false));
        assert!(
            !got[1].1 && got[1].0.iter().all(|p| p.starts_with(b3)),
            "{:?}",
            got[1]
        );
        assert!(!got[2].1 && got[2].0.contains(&tc), "{:?}", got[2]);
        assert_eq!(got[3], (vec!["p".to_string()], true), "a variable");
        assert_eq!(
            got[4],
            (vec!["propagators".to_string()], true),
            "a local function"
        );
        assert_eq!(
            got[5],
            (vec![format!("{b3}.New")], false),
            "comments name nothing"
        );
    }

    #[test]
    fn calls_expand_imports_and_skip_comments_and_strings() {
        let src = r#"package main

import (
	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/propagation"
)

// otel.SetTextMapPropagator(propagation.TraceContext{}) in a comment
func main() {
	log.Println("otel.SetTextMapPropagator(propagation.TraceContext{})")
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	otel.SetTextMapPropagator(propagation.TraceContext{})
}

func unused() { otel.SetTracerProvider(tp) }
"#;
        let f = analyse(&SPEC, "main.go", src).unwrap();
        assert_eq!(f.package.as_deref(), Some("main"));
        let calls: Vec<(String, u32)> = f
            .facts
            .iter()
            .filter_map(|x| match &x.kind {
                FactKind::Call { path, .. } => Some((path.join("."), x.line)),
                _ => None,
            })
            .collect();
        let set: Vec<_> = calls
            .iter()
            .filter(|(p, _)| p.ends_with("SetTextMapPropagator"))
            .collect();
        assert_eq!(set.len(), 1, "{calls:?}");
        assert_eq!(set[0].0, "go.opentelemetry.io.otel.SetTextMapPropagator");
        assert_eq!(set[0].1, 13);
        assert!(calls
            .iter()
            .any(|(p, _)| p == "go.opentelemetry.io.otel.sdk.trace.WithSyncer"));
        assert!(f.facts.iter().any(|x| matches!(&x.kind, FactKind::Symbol { path } if path.join(".") == "go.opentelemetry.io.otel.propagation.TraceContext")));
        assert!(f.fns.iter().any(|d| d.name == "unused" && !d.live));
    }
}
