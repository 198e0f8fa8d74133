//! Source analyzers: Rust with `syn`, the other languages with tree-sitter grammars.

pub mod csharp;
pub mod go;
pub mod java;
pub mod js;
pub mod jvm;
pub mod kotlin;
pub mod parse_budget;
pub mod python;
pub mod rust;
pub mod rust_stack;
pub mod treesitter;

use crate::check::facts::SourceFacts;
use crate::check::inputs::interest::Interest;
use crate::check::model::Language;

/// Deepest bracket nesting parsed by recursive parsers (syn, toml, YAML); real files stay far
/// below, and refusing deeper input keeps a hostile file from exhausting the stack or time.
pub const MAX_NESTING: usize = 128;

/// The 1-based line where bracket nesting first exceeds `max`, if it does.
pub fn too_deep(text: &str, max: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut line = 1;
    for b in text.bytes() {
        match b {
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return Some(line);
                }
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b'\n' => line += 1,
            _ => {}
        }
    }
    None
}

/// Which analyzer a source file goes to, by extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SourceKind {
    /// `.rs`
    Rust,
    /// `.go`
    Go,
    /// `.py`
    Python,
    /// `.js`, `.mjs`, `.cjs`, `.jsx`
    Javascript,
    /// `.ts`, `.mts`, `.cts`
    Typescript,
    /// `.tsx`
    Tsx,
    /// `.java`
    Java,
    /// `.kt` (a JVM language: its files belong to `java` services)
    Kotlin,
    /// `.cs`
    Csharp,
}

impl SourceKind {
    /// From a file extension.
    pub fn from_extension(ext: &str) -> Option<SourceKind> {
        Some(match ext {
            "rs" => SourceKind::Rust,
            "go" => SourceKind::Go,
            "py" => SourceKind::Python,
            "js" | "mjs" | "cjs" | "jsx" => SourceKind::Javascript,
            "ts" | "mts" | "cts" => SourceKind::Typescript,
            "tsx" => SourceKind::Tsx,
            "java" => SourceKind::Java,
            "kt" => SourceKind::Kotlin,
            "cs" => SourceKind::Csharp,
            _ => return None,
        })
    }

    /// Whether a file of this kind belongs to a service of `language`.
    pub fn belongs_to(self, language: Language) -> bool {
        matches!(
            (self, language),
            (SourceKind::Rust, Language::Rust)
                | (SourceKind::Go, Language::Go)
                | (SourceKind::Python, Language::Python)
                | (
                    SourceKind::Javascript | SourceKind::Typescript | SourceKind::Tsx,
                    Language::Javascript | Language::Typescript
                )
                | (SourceKind::Java | SourceKind::Kotlin, Language::Java)
                | (SourceKind::Csharp, Language::Dotnet)
        )
    }
}

/// Analyse one source file: every fact.
pub fn analyse(kind: SourceKind, rel: &str, text: &str) -> Result<SourceFacts, String> {
    analyse_for(kind, rel, text, &Interest::everything())
}

/// Analyse one source file. Call and symbol facts `interest` would drop may be left out
/// (the caller still applies [`SourceFacts::finish`]).
pub fn analyse_for(
    kind: SourceKind,
    rel: &str,
    text: &str,
    interest: &Interest,
) -> Result<SourceFacts, String> {
    let spec = match kind {
        SourceKind::Rust => return rust::analyse_for(rel, text, interest.arg_callees()),
        SourceKind::Go => &go::SPEC,
        SourceKind::Python => &python::SPEC,
        SourceKind::Javascript => &js::JAVASCRIPT,
        SourceKind::Typescript => &js::TYPESCRIPT,
        SourceKind::Tsx => &js::TSX,
        SourceKind::Java => &java::SPEC,
        SourceKind::Kotlin => &kotlin::SPEC,
        SourceKind::Csharp => &csharp::SPEC,
    };
    let first = treesitter::analyse_for(spec, rel, text, interest)?;
    if first.syntax_error.is_none() {
        return Ok(first);
    }
    // A file with a syntax error is parsed again where another reading may be the right one;
    // the first reading without an error wins, else the first one stands (its error line is
    // the note's). A retry over its work budget is no answer.
    for retry in retries(kind) {
        let again = match *retry {
            Retry::Grammar(other) => treesitter::analyse_for(other, rel, text, interest),
            Retry::Directives(sections) => match csharp::without_directives(text, sections) {
                Some(plain) => treesitter::analyse_for(spec, rel, &plain, interest),
                None => continue,
            },
        };
        match again {
            Ok(facts) if facts.syntax_error.is_none() => return Ok(facts),
            _ => {}
        }
    }
    Ok(first)
}

/// Another reading of a file that did not parse as written.
#[derive(Clone, Copy)]
enum Retry {
    /// Another grammar, where the extension does not settle it: a `.js` file may hold
    /// TypeScript-style annotations (Flow), a `.ts` file JSX, a `.tsx` file angle-bracket casts.
    /// tree-sitter-javascript reads JSX itself, so `.js`/`.jsx` with JSX parse the first time.
    Grammar(&'static treesitter::Spec),
    /// The same C# grammar without preprocessor directives ([`csharp::without_directives`]).
    Directives(csharp::Sections),
}

/// The readings tried, in order, after the first one failed.
fn retries(kind: SourceKind) -> &'static [Retry] {
    static AS_TSX: [Retry; 1] = [Retry::Grammar(&js::TSX)];
    static AS_TYPESCRIPT: [Retry; 1] = [Retry::Grammar(&js::TYPESCRIPT)];
    static WITHOUT_DIRECTIVES: [Retry; 2] = [
        Retry::Directives(csharp::Sections::Every),
        Retry::Directives(csharp::Sections::First),
    ];
    match kind {
        SourceKind::Javascript | SourceKind::Typescript => &AS_TSX,
        SourceKind::Tsx => &AS_TYPESCRIPT,
        SourceKind::Csharp => &WITHOUT_DIRECTIVES,
        SourceKind::Rust
        | SourceKind::Go
        | SourceKind::Python
        | SourceKind::Java
        | SourceKind::Kotlin => &[],
    }
}

#[cfg(test)]
mod spec_tests {
    use super::treesitter::Spec;

    /// Every node kind a spec names exists in its grammar (a misspelt kind would silently
    /// match nothing: a comment read as code, or an import counted as a use).
    #[test]
    fn every_node_kind_a_spec_names_exists_in_its_grammar() {
        let specs: [(&str, &Spec); 8] = [
            ("go", &super::go::SPEC),
            ("python", &super::python::SPEC),
            ("java", &super::java::SPEC),
            ("kotlin", &super::kotlin::SPEC),
            ("csharp", &super::csharp::SPEC),
            ("javascript", &super::js::JAVASCRIPT),
            ("typescript", &super::js::TYPESCRIPT),
            ("tsx", &super::js::TSX),
        ];
        let mut missing = Vec::new();
        for (name, spec) in specs {
            let language = (spec.language)();
            let kinds = spec
                .comments
                .iter()
                .chain(spec.declarations)
                .chain(spec.strings)
                .chain(spec.idents)
                .chain(spec.classes)
                .chain(spec.wrappers)
                .chain(spec.calls.iter().map(|c| &c.0))
                .chain(spec.members.iter().map(|c| &c.0))
                .chain(spec.fns.iter().map(|c| &c.0))
                .chain(spec.pairs.iter().map(|c| &c.0))
                .chain(spec.assignments.iter().map(|c| &c.0))
                .chain(spec.bindings.iter().map(|c| &c.0))
                .chain(spec.locals.iter().map(|c| &c.0))
                .chain(spec.binding_parents.iter());
            for kind in kinds {
                if language.id_for_node_kind(kind, true) == 0 {
                    missing.push(format!("{name}: {kind}"));
                }
            }
            // Positional parts (`@kind:value_arguments`) name node kinds too.
            let parts = spec
                .calls
                .iter()
                .flat_map(|c| [c.1, c.2, c.3])
                .chain(spec.members.iter().flat_map(|m| [m.1, m.2]));
            for part in parts {
                if let Some(kind) = part.strip_prefix("@kind:") {
                    if language.id_for_node_kind(kind, true) == 0 {
                        missing.push(format!("{name}: {part}"));
                    }
                }
            }
        }
        assert!(missing.is_empty(), "unknown node kinds: {missing:?}");
    }
}

#[cfg(test)]
mod attribute_tests {
    use super::*;
    use crate::check::facts::FactKind;

    /// A comment before a keyed attribute's key must not hide the attribute (the key is the
    /// first argument that is not a comment), in every tree-sitter language.
    #[test]
    fn a_comment_before_the_key_does_not_hide_the_attribute() {
        let cases = [
            (
                SourceKind::Javascript,
                "index.js",
                "span.setAttribute(/* why */ 'user.id', /* v */ user.email);\n",
            ),
            (
                SourceKind::Typescript,
                "index.ts",
                "span.setAttribute(/* why */ 'user.id', user.email);\n",
            ),
            (
                SourceKind::Python,
                "app.py",
                "span.set_attribute(  # why\n    \"user.id\", user.email)\n",
            ),
            (
                SourceKind::Go,
                "main.go",
                "package main\n\nfunc f() {\n\tspan.SetAttributes(attribute.String(/* why */ \"user.id\", user.Email))\n}\n",
            ),
            (
                SourceKind::Java,
                "App.java",
                "class App { void f() { span.setAttribute(/* why */ \"user.id\", user.getEmail()); } }\n",
            ),
            (
                SourceKind::Csharp,
                "Program.cs",
                "activity?.SetTag(/* why */ \"user.id\", user.Email);\n",
            ),
        ];
        for (kind, rel, src) in cases {
            let facts = analyse(kind, rel, src).unwrap();
            let attrs: Vec<(&str, &str)> = facts
                .facts
                .iter()
                .filter_map(|f| match &f.kind {
                    FactKind::Attribute { key, value, .. } => Some((key.as_str(), value.as_str())),
                    _ => None,
                })
                .collect();
            assert!(
                attrs
                    .iter()
                    .any(|(k, v)| *k == "user.id" && v.contains("mail")),
                "{rel}: {attrs:?}"
            );
        }
    }
}

#[cfg(test)]
mod constant_tests {
    use super::*;
    use crate::check::facts::FactKind;

    /// A literal endpoint kept in a module-level constant is still a literal argument (AC-005:
    /// TG202 must see it), in Rust, JavaScript/TypeScript, Python and Java.
    #[test]
    fn a_name_bound_to_a_literal_is_a_literal_argument() {
        let url = "http://collector:4318";
        let cases = [
            (
                SourceKind::Rust,
                "src/main.rs",
                "const COLLECTOR: &str = \"http://collector:4318\";\nfn main() {\n    let e = SpanExporter::builder().with_http().with_endpoint(COLLECTOR).build();\n}\n",
                "with_endpoint",
            ),
            (
                SourceKind::Typescript,
                "src/main.ts",
                "const ENDPOINT = 'http://collector:4318';\nconst exporter = new OTLPTraceExporter({ url: ENDPOINT });\n",
                "OTLPTraceExporter",
            ),
            (
                SourceKind::Python,
                "app.py",
                "ENDPOINT = \"http://collector:4318\"\nexporter = OTLPSpanExporter(endpoint=ENDPOINT)\n",
                "OTLPSpanExporter",
            ),
            // JavaScript/TypeScript: a module-level `const`/`let`/`var` of any name, also as a
            // shorthand property (`{ url }`) and exported.
            (
                SourceKind::Javascript,
                "index.js",
                "const url = 'http://collector:4318';\nconst sdk = new NodeSDK({ traceExporter: new OTLPTraceExporter({ url }) });\n",
                "OTLPTraceExporter",
            ),
            (
                SourceKind::Typescript,
                "src/main.ts",
                "export const collectorUrl: string = 'http://collector:4318';\nfunction make() {\n  return new OTLPTraceExporter({ url: collectorUrl });\n}\n",
                "OTLPTraceExporter",
            ),
            (
                SourceKind::Java,
                "App.java",
                "class App { static final String URL = \"http://collector:4318\"; void f() { OtlpHttpSpanExporter.builder().setEndpoint(URL).build(); } }\n",
                "setEndpoint",
            ),
            // Go: a package-level const, any name, alone or in a group.
            (
                SourceKind::Go,
                "main.go",
                "package main\n\nconst collectorURL = \"http://collector:4318\"\n\nfunc main() {\n\totlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(collectorURL))\n}\n",
                "WithEndpointURL",
            ),
            (
                SourceKind::Go,
                "main.go",
                "package main\n\nconst (\n\tname = \"checkout\"\n\tendpoint = \"http://collector:4318\"\n)\n\nfunc (s *Server) setup() {\n\totlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(endpoint))\n}\n",
                "WithEndpointURL",
            ),
        ];
        for (kind, rel, src, callee) in cases {
            let facts = analyse(kind, rel, src).unwrap();
            let literals: Vec<&Vec<String>> = facts
                .facts
                .iter()
                .filter_map(|f| match &f.kind {
                    FactKind::Call {
                        path, literal_args, ..
                    } if path.last().is_some_and(|l| l == callee) => Some(literal_args),
                    _ => None,
                })
                .collect();
            assert!(
                literals.iter().any(|l| l.iter().any(|a| a == url)),
                "{rel} ({kind:?}): {literals:?}"
            );
        }
        // Not literals: a name bound to something else, a local or lower-case binding (a
        // parameter may shadow it), a constant rebound to a non-literal, a Rust `let`.
        for (kind, rel, src) in [
            (SourceKind::Typescript, "src/main.ts", "const ENDPOINT = process.env.OTLP;\nconst exporter = new OTLPTraceExporter({ url: ENDPOINT });\n"),
            (SourceKind::Javascript, "index.js", "const url = 'http://localhost:4318';\nfunction make(url) { return new OTLPTraceExporter({ url: url }); }\n"),
            (SourceKind::Javascript, "index.js", "function dev() { const URL = 'http://localhost:4318'; return URL; }\nfunction make(URL) { return new OTLPTraceExporter({ url: URL }); }\n"),
            // A parameter (plain, arrow, destructured, defaulted) or a local shadows the module
            // constant; a constant inside a block, class or function is no module constant.
            (SourceKind::Javascript, "index.js", "const url = 'http://localhost:4318';\nfunction make(url) { return new OTLPTraceExporter({ url }); }\n"),
            (SourceKind::Javascript, "index.js", "const url = 'http://localhost:4318';\nconst make = url => new OTLPTraceExporter({ url });\n"),
            (SourceKind::Typescript, "src/main.ts", "const url = 'http://localhost:4318';\nconst make = (url: string) => new OTLPTraceExporter({ url });\n"),
            (SourceKind::Javascript, "index.js", "const url = 'http://localhost:4318';\nconst make = ({ url }) => new OTLPTraceExporter({ url });\n"),
            (SourceKind::Javascript, "index.js", "const url = 'http://localhost:4318';\nfunction make(retries = 3, url = process.env.OTLP) { return new OTLPTraceExporter({ url }); }\n"),
            (SourceKind::Javascript, "index.js", "const url = 'http://localhost:4318';\nfunction make() { const url = process.env.OTLP; return new OTLPTraceExporter({ url }); }\n"),
            (SourceKind::Javascript, "index.js", "const url = process.env.OTLP;\nclass Dev { m() { const url = 'http://localhost:4318'; return url; } }\nnew OTLPTraceExporter({ url });\n"),
            (SourceKind::Javascript, "index.js", "if (dev) { var url = 'http://localhost:4318'; }\nnew OTLPTraceExporter({ url });\n"),
            // `let`/`var` may be reassigned; loop variables, `catch` parameters and deeply
            // destructured parameters shadow the constant.
            // Only address-like keys: `compression: 'gzip'` is no endpoint.
            (SourceKind::Javascript, "index.js", "const compression = 'gzip';\nnew OTLPTraceExporter({ compression, timeoutMillis: 1000, concurrencyLimit: 'x' });\n"),
            (SourceKind::Python, "app.py", "exporter = OTLPSpanExporter(headers=\"tenant=acme\", compression=\"gzip\")\n"),
            (SourceKind::Javascript, "index.js", "let url = 'http://localhost:4318';\nif (process.env.OTLP) url = process.env.OTLP;\nnew OTLPTraceExporter({ url });\n"),
            (SourceKind::Javascript, "index.js", "var url = 'http://localhost:4318';\nfunction init() { url = process.env.OTLP; }\nnew OTLPTraceExporter({ url });\n"),
            (SourceKind::Javascript, "index.js", "let OTLP_URL = 'http://localhost:4318';\nif (process.env.OTLP_URL) OTLP_URL = process.env.OTLP_URL;\nnew OTLPTraceExporter({ url: OTLP_URL });\n"),
            (SourceKind::Javascript, "index.js", "const url = 'http://localhost:4318';\nfor (const url of urls) { new OTLPTraceExporter({ url }); }\n"),
            (SourceKind::Javascript, "index.js", "const url = 'http://localhost:4318';\ntry { x(); } catch (url) { new OTLPTraceExporter({ url }); }\n"),
            (SourceKind::Javascript, "index.js", "const url = 'http://localhost:4318';\nfunction make({ a: { b: { url } } }) { return new OTLPTraceExporter({ url }); }\n"),
            (SourceKind::Python, "app.py", "ENDPOINT = \"http://localhost:4318\"\nENDPOINT = os.environ[\"OTLP\"]\nexporter = OTLPSpanExporter(endpoint=ENDPOINT)\n"),
            (SourceKind::Rust, "src/main.rs", "fn main() {\n    let url = \"http://collector:4318\";\n    let url = std::env::var(\"C\").unwrap_or(url.into());\n    let e = SpanExporter::builder().with_endpoint(url).build();\n}\n"),
            // Go: a parameter, `:=`, a local var or a range variable shadows the package constant;
            // a local const is no package constant; `const a, b = …` pairs by position; a
            // package `var` may be overwritten (flags, init).
            (SourceKind::Go, "main.go", "package main\n\nconst endpoint = \"http://localhost:4318\"\n\nfunc newExporter(endpoint string) {\n\totlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(endpoint))\n}\n"),
            (SourceKind::Go, "main.go", "package main\n\nconst endpoint = \"http://localhost:4318\"\n\nfunc setup() {\n\tendpoint := os.Getenv(\"OTLP\")\n\totlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(endpoint))\n}\n"),
            (SourceKind::Go, "main.go", "package main\n\nconst endpoint = \"http://localhost:4318\"\n\nfunc setup() {\n\tvar endpoint = os.Getenv(\"OTLP\")\n\totlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(endpoint))\n}\n"),
            (SourceKind::Go, "main.go", "package main\n\nconst endpoint = \"http://localhost:4318\"\n\nfunc setup(urls []string) {\n\tfor _, endpoint := range urls {\n\t\totlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(endpoint))\n\t}\n}\n"),
            (SourceKind::Go, "main.go", "package main\n\nfunc dev() {\n\tconst endpoint = \"http://localhost:4318\"\n\t_ = endpoint\n}\n\nfunc (s *Server) setup(endpoint string) {\n\totlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(endpoint))\n}\n"),
            (SourceKind::Go, "main.go", "package main\n\nconst endpoint = \"http://localhost:4318\"\n\nfunc setup(cfg any) {\n\tswitch endpoint := cfg.(type) {\n\tcase string:\n\t\totlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(endpoint))\n\t}\n}\n"),
            (SourceKind::Go, "main.go", "package main\n\nconst endpoint = \"http://localhost:4318\"\n\nfunc setup(urls chan string) {\n\tselect {\n\tcase endpoint := <-urls:\n\t\totlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(endpoint))\n\t}\n}\n"),
            // C#: constants are not followed (a field or property declared after the use may
            // hide one); only the first argument of `new Uri(…)` is the endpoint.
            (SourceKind::Csharp, "Program.cs", "class Telemetry {\n  const string Collector = \"http://localhost:4318\";\n  void Setup(TracerProviderBuilder b) { b.AddOtlpExporter(o => o.Endpoint = new Uri(Collector)); }\n}\n"),
            (SourceKind::Csharp, "Program.cs", "class Telemetry {\n  private string Collector = \"http://localhost:4318\";\n  void Setup(TracerProviderBuilder b) { b.AddOtlpExporter(o => o.Endpoint = new Uri(Collector)); }\n}\n"),
            (SourceKind::Csharp, "Program.cs", "var collector = \"http://localhost:4318\";\ncollector = Environment.GetEnvironmentVariable(\"OTLP\");\nbuilder.Services.AddOpenTelemetry().WithTracing(t => t.AddOtlpExporter(o => o.Endpoint = new Uri(collector)));\n"),
            (SourceKind::Csharp, "Program.cs", "class Telemetry {\n  const string Collector = \"http://localhost:4318\";\n  void Setup(TracerProviderBuilder b, string Collector) { b.AddOtlpExporter(o => o.Endpoint = new Uri(Collector)); }\n}\n"),
            (SourceKind::Csharp, "Program.cs", "class Telemetry {\n  void Dev() { const string Collector = \"http://localhost:4318\"; }\n  void Setup(TracerProviderBuilder b) { b.AddOtlpExporter(o => o.Endpoint = new Uri(Collector)); }\n}\n"),
            (SourceKind::Go, "main.go", "package main\n\nconst local, remote = \"http://localhost:4318\", \"http://collector:4318\"\n\nfunc setup() {\n\totlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(remote))\n}\n"),
            (SourceKind::Go, "main.go", "package main\n\nvar endpoint = \"http://localhost:4318\"\n\nfunc init() {\n\tendpoint = os.Getenv(\"OTLP\")\n}\n\nfunc setup() {\n\totlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(endpoint))\n}\n"),
        ] {
            let facts = analyse(kind, rel, src).unwrap();
            assert!(
                facts.facts.iter().all(|f| match &f.kind {
                    FactKind::Call { literal_args, .. } => {
                        literal_args.iter().all(|a| !a.starts_with("http"))
                    }
                    _ => true,
                }),
                "{src}"
            );
        }
        // `o.Endpoint = new Uri(baseUri, "v1/traces")`: the endpoint is not a literal.
        let facts = analyse(
            SourceKind::Csharp,
            "Program.cs",
            "b.AddOtlpExporter(o => o.Endpoint = new Uri(baseUri, \"v1/traces\"));\n",
        )
        .unwrap();
        let endpoint: Vec<&Vec<String>> = facts
            .facts
            .iter()
            .filter_map(|f| match &f.kind {
                FactKind::Call {
                    path, literal_args, ..
                } if path.last().is_some_and(|l| l == "Endpoint") => Some(literal_args),
                _ => None,
            })
            .collect();
        assert!(endpoint.iter().all(|l| l.is_empty()), "{endpoint:?}");
        // A constant never becomes an attribute key: keys are judged as written.
        let facts = analyse(
            SourceKind::Python,
            "app.py",
            "KEY = \"user.email\"\ndef record(value):\n    span.set_attribute(KEY, value)\n",
        )
        .unwrap();
        assert!(facts
            .facts
            .iter()
            .all(|f| !matches!(&f.kind, FactKind::Attribute { .. })));
    }
}

#[cfg(test)]
mod budget_tests {
    /// tree-sitter-python goes quadratic over comment lines after an indented block: such a
    /// file is not analysed (a one-line reason) instead of stalling the check for minutes.
    #[test]
    fn a_python_file_the_grammar_cannot_parse_in_linear_time_is_refused_quickly() {
        let mut source =
            String::from("from opentelemetry import trace\n\ndef handler():\n    return 1\n");
        for i in 0..40_000 {
            source.push_str(&format!("    # padding comment line {i}\n"));
        }
        let started = std::time::Instant::now();
        let result = super::treesitter::analyse(&super::python::SPEC, "app.py", &source);
        let err = match result {
            Ok(_) => panic!(
                "parsed in {:?}: not the pathological case",
                started.elapsed()
            ),
            Err(err) => err,
        };
        assert!(err.contains("gave up after"), "{err}");
    }
}

#[cfg(test)]
mod grammar_tests;
