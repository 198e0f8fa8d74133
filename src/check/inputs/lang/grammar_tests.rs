//! Each tree-sitter grammar's analysis of real-world snippets.

use super::*;

fn parsed(kind: SourceKind, rel: &str, src: &str) -> SourceFacts {
    analyse(kind, rel, src).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// JSX in every file kind React projects put it in: a Next.js `_document.tsx` (a class
/// component's `render`), a `.jsx` and a `.js` component.
#[test]
fn jsx_parses_in_tsx_jsx_and_js_files() {
    let document = "import Document, { Html, Head, Main, NextScript, DocumentContext } from 'next/document'\n\nclass ShopDocument extends Document {\n  static async getInitialProps(ctx: DocumentContext) {\n    const initialProps = await Document.getInitialProps(ctx)\n    return { ...initialProps }\n  }\n\n  render(): JSX.Element {\n    return (\n      <Html lang=\"en\">\n        <Head>\n          <meta charSet=\"utf-8\" />\n          {/* fonts */}\n        </Head>\n        <body className=\"shop\">\n          <Main />\n          <NextScript />\n        </body>\n      </Html>\n    )\n  }\n}\n\nexport default ShopDocument\n";
    let component = "import React, { useState } from 'react'\n\nexport default function Basket({ items = [] }) {\n  const [open, setOpen] = useState(false)\n  return (\n    <section className=\"basket\" onClick={() => setOpen(!open)}>\n      {open && <>{items.map((i) => <li key={i.id}>{i.name} &amp; more</li>)}</>}\n    </section>\n  )\n}\n";
    for (kind, rel, src) in [
        (SourceKind::Tsx, "pages/_document.tsx", document),
        (SourceKind::Javascript, "components/Basket.jsx", component),
        (SourceKind::Javascript, "components/Basket.js", component),
        (SourceKind::Javascript, "components/Basket.mjs", component),
    ] {
        assert_eq!(parsed(kind, rel, src).syntax_error, None, "{rel}");
    }
}

/// Where the extension does not settle the grammar, a file that does not parse is parsed
/// again with the other one: a `.js` file with type annotations, a `.ts` file with JSX;
/// a `.ts` file's angle-bracket cast (no TSX) still parses as TypeScript.
#[test]
fn an_ambiguous_extension_is_retried_with_the_other_grammar() {
    let annotated = "import { trace } from '@opentelemetry/api'\n\ntype Props = { title: string }\n\nexport function Title(props: Props): string {\n  trace.getActiveSpan()\n  return <h1>{props.title}</h1>\n}\n";
    let cast = "import { propagation } from '@opentelemetry/api'\nconst carrier = <Record<string, string>>{}\npropagation.inject(ctx, carrier)\n";
    for (kind, rel, src, call) in [
        (
            SourceKind::Javascript,
            "src/Title.js",
            annotated,
            "trace.getActiveSpan",
        ),
        (
            SourceKind::Typescript,
            "src/Title.ts",
            annotated,
            "trace.getActiveSpan",
        ),
        (
            SourceKind::Typescript,
            "src/inject.ts",
            cast,
            "propagation.inject",
        ),
    ] {
        let facts = parsed(kind, rel, src);
        assert_eq!(facts.syntax_error, None, "{rel}");
        let calls = facts.call_paths(".");
        assert!(calls.iter().any(|c| c.ends_with(call)), "{rel}: {calls:?}");
    }
}

/// A syntax error in one function (a note) hides nothing in another: the OpenTelemetry
/// setup and its propagator are still facts, in JavaScript, TypeScript and C#.
#[test]
fn a_syntax_error_in_one_function_hides_nothing_in_another() {
    let js = "const { NodeSDK } = require('@opentelemetry/sdk-node');\nconst { B3Propagator } = require('@opentelemetry/propagator-b3');\n\nfunction formatPrice(cents) {\n  return (cents / 100).toFixed(2 +;\n}\n\nfunction startTracing() {\n  const sdk = new NodeSDK({ textMapPropagator: new B3Propagator() });\n  sdk.start();\n}\n\nstartTracing();\n";
    let cs = "using OpenTelemetry;\n\npublic static class Telemetry\n{\n    static decimal Price(int cents) { return cents / 100m +; }\n\n    public static void Configure(IServiceCollection services)\n    {\n        Sdk.SetDefaultTextMapPropagator(new B3Propagator());\n        services.AddOpenTelemetry().WithTracing(t => t.AddAspNetCoreInstrumentation());\n    }\n}\n";
    for (kind, rel, src, line, calls) in [
        (
            SourceKind::Javascript,
            "index.js",
            js,
            5,
            &[
                "@opentelemetry.sdk-node.NodeSDK",
                "@opentelemetry.propagator-b3.B3Propagator",
            ][..],
        ),
        (
            SourceKind::Typescript,
            "src/index.ts",
            js,
            5,
            &[
                "@opentelemetry.sdk-node.NodeSDK",
                "@opentelemetry.propagator-b3.B3Propagator",
            ][..],
        ),
        (
            SourceKind::Csharp,
            "Telemetry.cs",
            cs,
            5,
            &[
                "Sdk.SetDefaultTextMapPropagator",
                "B3Propagator",
                "t.AddAspNetCoreInstrumentation",
            ][..],
        ),
    ] {
        let facts = parsed(kind, rel, src);
        assert_eq!(facts.syntax_error, Some(line), "{rel}");
        let found = facts.call_paths(".");
        for call in calls {
            assert!(
                found.iter().any(|c| c == call),
                "{rel}: {call} in {found:?}"
            );
        }
    }
}

/// `os.environ["NAME"]` and `process.env["NAME"]` read a variable by a literal key: a call of
/// the mapping with that literal (what the rules' `env_readers` match).
#[test]
fn subscripts_with_a_literal_key_read_the_mapping() {
    use crate::check::facts::FactKind;
    let reads = |kind, rel, src| -> Vec<(String, Vec<String>)> {
        parsed(kind, rel, src)
            .facts
            .into_iter()
            .filter_map(|f| match f.kind {
                FactKind::Call {
                    path, literal_args, ..
                } => Some((path.join("."), literal_args)),
                _ => None,
            })
            .collect()
    };
    let py =
        "import os\nif os.environ[\"ENABLE_TRACING\"] == \"1\":\n    pass\nx = os.environ[key]\n";
    assert_eq!(
        reads(SourceKind::Python, "a.py", py),
        vec![("os.environ".to_string(), vec!["ENABLE_TRACING".to_string()])]
    );
    let js = "if (process.env['ENABLE_TRACING'] === '1') { start(); }\n";
    assert!(reads(SourceKind::Javascript, "a.js", js).contains(&(
        "process.env".to_string(),
        vec!["ENABLE_TRACING".to_string()]
    )));
}

#[test]
fn unquote_strips_prefixes_and_every_kind_of_quote() {
    use super::treesitter::unquote;
    for (raw, want) in [
        ("\"http://collector:4318\"", Some("http://collector:4318")),
        ("'x'", Some("x")),
        ("`plain`", Some("plain")),
        ("r\"raw\"", Some("raw")),
        ("@\"verbatim\"", Some("verbatim")),
        ("\"\"\"doc\"\"\"", Some("doc")),
        ("\"\"\"\"\"\"two\"\"\"\"\"\"", Some("two")),
        ("f\"{host}:4318\"", None),
        ("$\"{host}\"", None),
        ("`${host}:4318`", None),
        ("f\"plain\"", Some("plain")),
    ] {
        assert_eq!(unquote(raw).as_deref(), want, "{raw}");
    }
}

/// A helper handed an export endpoint's variable name (`mustMapEnv(&addr,
/// "COLLECTOR_SERVICE_ADDR")`) is a read of that variable; a file with no upper-case address
/// word in it has none (the walk does not look).
#[test]
fn helpers_handed_an_endpoint_variable_name_read_it() {
    use crate::check::facts::FactKind;
    // As `check` runs: only calls some rule pattern names are kept, and `mustMapEnv` is none.
    let patterns = [vec!["otel".to_string(), "SetTracerProvider".to_string()]];
    let interest = Interest::from_patterns(patterns.iter().map(Vec::as_slice));
    let helper_reads = |src: &str| -> Vec<Vec<String>> {
        analyse_for(SourceKind::Go, "main.go", src, &interest)
            .unwrap()
            .facts
            .into_iter()
            .filter_map(|f| match f.kind {
                FactKind::Call {
                    path, literal_args, ..
                } if path.last().is_some_and(|l| l == "mustMapEnv") => Some(literal_args),
                _ => None,
            })
            .collect()
    };
    let with = |name: &str| {
        format!("package main\n\nfunc main() {{\n\tvar addr string\n\tmustMapEnv(&addr, \"{name}\")\n}}\n")
    };
    assert_eq!(
        helper_reads(&with("COLLECTOR_SERVICE_ADDR")),
        vec![vec!["COLLECTOR_SERVICE_ADDR".to_string()]]
    );
    assert_eq!(
        helper_reads(&with("OTEL_COLLECTOR_ENDPOINT")),
        vec![vec!["OTEL_COLLECTOR_ENDPOINT".to_string()]]
    );
    // Not an address (no ADDR/ENDPOINT/URL/URI/HOST), or not a tracing one.
    assert!(helper_reads(&with("PRODUCT_CATALOG_SERVICE")).is_empty());
    assert!(helper_reads(&with("CART_SERVICE_ADDR")).is_empty());
}
