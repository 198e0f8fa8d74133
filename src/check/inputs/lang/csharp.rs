//! C# sources (tree-sitter-c-sharp).

use super::treesitter::Aliases;

use tree_sitter::Node;

use super::treesitter::Spec;

fn language() -> tree_sitter::Language {
    tree_sitter_c_sharp::LANGUAGE.into()
}

/// `using` imports namespaces, not names: nothing to expand.
fn imports(_: Node<'_>, _: &[u8], _: &mut Aliases) {}

/// A method is a dead-code candidate only when it is private (C#'s default accessibility for
/// class members) and has no attribute (frameworks call attributed methods reflectively) and
/// does not implement an interface member explicitly; anything else may be called from
/// outside the files analysed, so it counts as live.
fn fn_live(name: &str, node: Node<'_>, enclosing: &[Node<'_>]) -> bool {
    // `Main`, and interface members (public without a modifier, default implementations):
    // the method's body's owner.
    let in_interface = enclosing
        .iter()
        .rev()
        .nth(1)
        .is_some_and(|owner| owner.kind() == "interface_declaration");
    if name == "Main" || in_interface {
        return true;
    }
    let mut c = node.walk();
    for child in node.children(&mut c) {
        match child.kind() {
            "attribute_list" | "explicit_interface_specifier" => return true,
            "modifier" => {
                let mut m = child.walk();
                let access = child
                    .children(&mut m)
                    .any(|k| matches!(k.kind(), "public" | "protected" | "internal"));
                if access {
                    return true;
                }
            }
            _ => {}
        }
    }
    false
}

fn package(_: Node<'_>, _: &[u8]) -> Option<String> {
    None
}

/// Which sections of each `#if` group [`without_directives`] keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sections {
    /// Every section (`#if`, `#elif`, `#else`): all the code, as tree-sitter-c-sharp reads
    /// a `#if` between statements or members.
    Every,
    /// Only each group's `#if` section: for alternatives that only parse apart (two
    /// signatures of one method, two versions of a base list).
    First,
}

/// The lexical state at the start of a line: a directive is only a directive in code.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Lex {
    Code,
    /// Inside `/* … */`.
    Block,
    /// Inside `@"…"` (`""` is a quote).
    Verbatim,
    /// Inside a raw string opened by this many quotes.
    Raw(usize),
}

/// `text` with every preprocessor directive line (`#if`, `#else`, `#endif`, `#region`,
/// `#pragma`, `#nullable`, …) blanked, and with [`Sections::First`] also each group's
/// `#elif`/`#else` sections: the same bytes elsewhere, so lines, columns and string literals
/// stay where they were. `None` when the text has no directive.
///
/// tree-sitter-c-sharp reads `#if` groups as nodes between statements and members, but not
/// where C# allows them too: inside a base list (`protoc` output's `#if
/// !GOOGLE_PROTOBUF_REFSTRUCT_COMPATIBILITY_MODE , pb::IBufferMessage #endif`), a call chain,
/// an `if` condition or an attribute list. A file that does not parse as written is parsed
/// again without them.
pub fn without_directives(text: &str, keep: Sections) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = bytes.to_vec();
    let mut state = Lex::Code;
    // Per open `#if` group: whether its current section is past the first.
    let mut groups: Vec<bool> = Vec::new();
    let mut found = false;
    let mut start = 0;
    while start < bytes.len() {
        let end = bytes[start..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(bytes.len(), |i| start + i);
        let line = &bytes[start..end];
        let blank = match directive(line).filter(|_| state == Lex::Code) {
            Some(word) => {
                found = true;
                match word {
                    b"if" => groups.push(false),
                    b"elif" | b"else" => {
                        if let Some(past_first) = groups.last_mut() {
                            *past_first = true;
                        }
                    }
                    b"endif" => {
                        groups.pop();
                    }
                    _ => {}
                }
                true
            }
            None if keep == Sections::First && groups.iter().any(|past| *past) => true,
            None => {
                state = scan(line, state);
                false
            }
        };
        if blank {
            for b in out[start..end].iter_mut().filter(|b| **b != b'\r') {
                *b = b' ';
            }
        }
        start = end + 1;
    }
    if !found {
        return None;
    }
    // Whole lines became ASCII spaces: still UTF-8.
    String::from_utf8(out).ok()
}

/// The directive's keyword (`if`, `region`) when the line is a preprocessor directive.
fn directive(line: &[u8]) -> Option<&[u8]> {
    let rest = line
        .trim_ascii_start()
        .strip_prefix(b"#")?
        .trim_ascii_start();
    let len = rest
        .iter()
        .position(|b| !b.is_ascii_alphabetic())
        .unwrap_or(rest.len());
    (len > 0).then(|| &rest[..len])
}

/// The lexical state after `line`, from `state` at its start (strings that end on their line
/// and `//` comments need no state).
fn scan(line: &[u8], mut state: Lex) -> Lex {
    let at = |i: usize| line.get(i).copied().unwrap_or(0);
    let quotes = |i: usize| {
        line[i.min(line.len())..]
            .iter()
            .take_while(|&&b| b == b'"')
            .count()
    };
    let mut i = 0;
    while i < line.len() {
        match state {
            Lex::Block => {
                if at(i) == b'*' && at(i + 1) == b'/' {
                    state = Lex::Code;
                    i += 2;
                    continue;
                }
            }
            Lex::Verbatim => {
                if at(i) == b'"' {
                    if at(i + 1) == b'"' {
                        i += 2;
                        continue;
                    }
                    state = Lex::Code;
                }
            }
            Lex::Raw(n) => {
                let q = quotes(i);
                if q >= n {
                    state = Lex::Code;
                }
                i += q.max(1);
                continue;
            }
            Lex::Code => match at(i) {
                b'/' if at(i + 1) == b'/' => return Lex::Code,
                b'/' if at(i + 1) == b'*' => {
                    state = Lex::Block;
                    i += 2;
                    continue;
                }
                b'"' => {
                    let verbatim = i > 0
                        && (at(i - 1) == b'@' || (i > 1 && at(i - 1) == b'$' && at(i - 2) == b'@'));
                    let q = quotes(i);
                    if verbatim {
                        state = Lex::Verbatim;
                    } else if q >= 3 {
                        state = Lex::Raw(q);
                        i += q;
                        continue;
                    } else if q == 2 {
                        i += 2;
                        continue;
                    } else {
                        i = skip_quoted(line, i, b'"');
                        continue;
                    }
                }
                b'\'' => {
                    i = skip_quoted(line, i, b'\'');
                    continue;
                }
                _ => {}
            },
        }
        i += 1;
    }
    state
}

/// The index after the literal opened by `quote` at `open` (or the line's end).
fn skip_quoted(line: &[u8], open: usize, quote: u8) -> usize {
    let mut j = open + 1;
    while j < line.len() {
        match line[j] {
            b'\\' => j += 2,
            b if b == quote => return j + 1,
            _ => j += 1,
        }
    }
    line.len()
}

/// The C# spec.
pub static SPEC: Spec = Spec {
    language,
    comments: &["comment"],
    declarations: &["using_directive"],
    strings: &[
        "string_literal",
        "verbatim_string_literal",
        "raw_string_literal",
        "interpolated_string_expression",
    ],
    dollar_templates: false,
    calls: &[
        ("invocation_expression", "", "function", "arguments"),
        ("object_creation_expression", "", "type", "arguments"),
    ],
    members: &[
        ("member_access_expression", "expression", "name"),
        ("qualified_name", "qualifier", "name"),
    ],
    idents: &["identifier"],
    // Methods: `classes` stays empty so that methods (all inside classes) are tracked;
    // top-level statements and local functions belong to no tracked method.
    fns: &[("method_declaration", "name")],
    classes: &[],
    pairs: &[],
    assignments: &[("assignment_expression", "left", "right")],
    // No constants: a field or property of the same name, declared anywhere in the class (also
    // after its use), may hide one, and one pass cannot know (review finding).
    bindings: &[],
    binding_parents: &[],
    locals: &[],
    wrappers: &["argument", "parenthesized_expression", "await_expression"],
    imports,
    fn_live,
    package,
    // OpenTelemetry .NET's builders: the instrumentation packages add the same extension
    // methods to the meter provider builder as to the tracer provider builder.
    signal_scopes: &[
        ("WithTracing", true),
        ("AddOpenTelemetryTracing", true),
        ("ConfigureOpenTelemetryTracerProvider", true),
        ("CreateTracerProviderBuilder", true),
        ("WithMetrics", false),
        ("WithLogging", false),
        ("AddOpenTelemetryMetrics", false),
        ("ConfigureOpenTelemetryMeterProvider", false),
        ("CreateMeterProviderBuilder", false),
    ],
    declared_types: &[],
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::facts::{drop_dead_code, FactKind};
    use crate::check::inputs::lang::treesitter::analyse;

    #[test]
    fn instrumentation_on_a_meter_provider_is_no_fact() {
        let src = r#"
var builder = WebApplication.CreateBuilder(args);
builder.Services.AddOpenTelemetry()
    .WithMetrics(m => m.AddAspNetCoreInstrumentation().AddRuntimeInstrumentation())
    .WithTracing(t => { t.AddHttpClientInstrumentation(); });
builder.Services.AddOpenTelemetryMetrics(b => b.AddGrpcClientInstrumentation());
using var meters = Sdk.CreateMeterProviderBuilder().AddSqlClientInstrumentation().Build();
using var tracer = Sdk.CreateTracerProviderBuilder().AddAspNetCoreInstrumentation().Build();
"#;
        let f = analyse(&SPEC, "Program.cs", src).unwrap();
        let calls: Vec<(String, u32)> = f
            .facts
            .iter()
            .filter_map(|x| match &x.kind {
                FactKind::Call { path, .. } if path.last()?.ends_with("Instrumentation") => {
                    Some((path.last()?.clone(), x.line))
                }
                _ => None,
            })
            .collect();
        assert_eq!(
            calls,
            vec![
                ("AddHttpClientInstrumentation".to_string(), 5),
                ("AddAspNetCoreInstrumentation".to_string(), 8)
            ]
        );
    }

    #[test]
    fn signals_in_unused_private_methods_do_not_count() {
        let src = r#"
public class Startup {
  public void Configure(IServiceCollection s) { Register(s); }
  static void Register(IServiceCollection s) { s.AddOpenTelemetry(); }
  private static void NeverCalled(TracerProviderBuilder b) { b.AddConsoleExporter(); }
  void AlsoNeverCalled(TracerProviderBuilder b) { b.AddSource("x"); }
  [Obsolete] private void Attributed(TracerProviderBuilder b) { b.AddHttpClientInstrumentation(); }
  internal void Internal(TracerProviderBuilder b) { b.AddAspNetCoreInstrumentation(); }
}
public interface ITelemetry {
  void Defaults(TracerProviderBuilder b) { b.AddGrpcClientInstrumentation(); }
}
"#;
        let mut f = analyse(&SPEC, "Startup.cs", src).unwrap();
        drop_dead_code(&mut [&mut f]);
        let calls: Vec<String> = f
            .facts
            .iter()
            .filter_map(|x| match &x.kind {
                FactKind::Call { path, .. } => path.last().cloned(),
                _ => None,
            })
            .collect();
        for live in [
            "AddOpenTelemetry",
            "AddHttpClientInstrumentation",
            "AddAspNetCoreInstrumentation",
            "AddGrpcClientInstrumentation",
        ] {
            assert!(calls.iter().any(|c| c == live), "{live}: {calls:?}");
        }
        for dead in ["AddConsoleExporter", "AddSource"] {
            assert!(!calls.iter().any(|c| c == dead), "{dead}: {calls:?}");
        }
    }

    #[test]
    fn property_assignments_with_a_literal_are_calls() {
        let src = r#"
var a = new OtlpExporterOptions { Endpoint = new Uri("http://c:4318") };
b.AddOtlpExporter(o => o.Endpoint = new Uri("http://c:4317"));
o.Protocol = OtlpExportProtocol.Grpc;
o.Endpoint = new Uri(config["Otlp:Endpoint"]);
o.Headers = "x-tenant=a";
"#;
        let f = analyse(&SPEC, "Program.cs", src).unwrap();
        let assigned: Vec<(String, Vec<String>)> = f
            .facts
            .iter()
            .filter_map(|x| match &x.kind {
                FactKind::Call {
                    path, literal_args, ..
                } if path
                    .last()
                    .is_some_and(|l| l == "Endpoint" || l == "Headers") =>
                {
                    Some((path.join("."), literal_args.clone()))
                }
                _ => None,
            })
            .collect();
        assert_eq!(
            assigned,
            vec![
                ("Endpoint".to_string(), vec!["http://c:4318".to_string()]),
                ("o.Endpoint".to_string(), vec!["http://c:4317".to_string()]),
                ("o.Headers".to_string(), vec!["x-tenant=a".to_string()]),
            ]
        );
    }

    #[test]
    fn builder_chains_are_calls() {
        let src = r#"
var builder = WebApplication.CreateBuilder(args);
// .AddAspNetCoreInstrumentation()
builder.Services.AddOpenTelemetry().WithTracing(t => t.AddAspNetCoreInstrumentation().AddOtlpExporter());
activity?.SetTag("user.email", email);
"#;
        let f = analyse(&SPEC, "Program.cs", src).unwrap();
        let calls = f.call_paths(".");
        assert!(
            calls.iter().any(|c| c == "t.AddAspNetCoreInstrumentation"),
            "{calls:?}"
        );
        assert!(
            calls.iter().any(|c| c == "WebApplication.CreateBuilder"),
            "{calls:?}"
        );
        assert_eq!(
            calls
                .iter()
                .filter(|c| c.ends_with("AddAspNetCoreInstrumentation"))
                .count(),
            1
        );
    }

    /// The calls of a C# source through the public entry point (with its retries).
    fn calls_of(src: &str) -> (Option<u32>, Vec<String>) {
        let f = crate::check::inputs::lang::analyse(
            crate::check::inputs::lang::SourceKind::Csharp,
            "X.cs",
            src,
        )
        .unwrap();
        (f.syntax_error, f.call_paths("."))
    }

    /// Directives where C# allows them but tree-sitter-c-sharp does not read them (a base
    /// list, a call chain, an `if` condition, an attribute list): the file parses, and the code
    /// of every section counts.
    #[test]
    fn directives_inside_declarations_and_expressions_parse() {
        let cases = [
            // protoc output: a base list split by `#if`.
            (
                "public sealed partial class Order : pb::IMessage<Order>\n#if !GOOGLE_PROTOBUF_REFSTRUCT_COMPATIBILITY_MODE\n    , pb::IBufferMessage\n#endif\n{\n  public void WriteTo(pb::CodedOutputStream output) {\n  #if !GOOGLE_PROTOBUF_REFSTRUCT_COMPATIBILITY_MODE\n    output.WriteRawMessage(this);\n  #else\n    output.WriteString(Id);\n  #endif\n  }\n}\n",
                vec!["output.WriteRawMessage", "output.WriteString"],
            ),
            // A call chain with one link per platform.
            (
                "builder.Services.AddOpenTelemetry()\n#if ANDROID\n    .WithTracing(t => t.AddHttpClientInstrumentation())\n#else\n    .WithTracing(t => t.AddAspNetCoreInstrumentation())\n#endif\n    ;\n",
                vec!["t.AddHttpClientInstrumentation", "t.AddAspNetCoreInstrumentation"],
            ),
            // An `if` condition.
            (
                "class A {\n  static bool Check(int x) {\n    if (x > 0\n#if DEBUG\n        && Trace(x)\n#endif\n       ) { return true; }\n    return false;\n  }\n}\n",
                vec!["Trace"],
            ),
            // An attribute list, and #region/#pragma/#nullable between members.
            (
                "#nullable enable\nclass A {\n  #region setup\n  [Conditional(\"TRACE\"),\n#if NET8_0_OR_GREATER\n   Experimental(\"X1\"),\n#endif\n   Obsolete]\n  public void Setup(IServiceCollection s) {\n#pragma warning disable CS0618\n    s.AddOpenTelemetry();\n#pragma warning restore CS0618\n  }\n  #endregion\n}\n#nullable restore\n",
                vec!["s.AddOpenTelemetry"],
            ),
        ];
        for (src, expected) in cases {
            let (error, calls) = calls_of(src);
            assert_eq!(error, None, "{src}");
            for call in expected {
                assert!(calls.iter().any(|c| c == call), "{call}: {calls:?}\n{src}");
            }
        }
    }

    /// Alternatives that only parse apart (two signatures of one method): the `#if` section is
    /// read, and what follows the group still counts.
    #[test]
    fn alternatives_that_only_parse_apart_keep_the_first_section() {
        let src = "class Telemetry {\n#if NET8_0_OR_GREATER\n  public void Setup(IServiceCollection s, string name) {\n#else\n  public void Setup(IServiceCollection s) {\n#endif\n    s.AddOpenTelemetry().WithTracing(t => t.AddAspNetCoreInstrumentation());\n  }\n}\n";
        let (error, calls) = calls_of(src);
        assert_eq!(error, None);
        assert!(
            calls.iter().any(|c| c == "t.AddAspNetCoreInstrumentation"),
            "{calls:?}"
        );
    }

    /// Blanking keeps every byte's place; a `#` line inside a verbatim or raw string, or a
    /// block comment, is no directive; a file without directives is not copied.
    #[test]
    fn blanking_directives_keeps_lines_and_strings() {
        let src = "var s = @\"a\n#if NOT_A_DIRECTIVE\nb\";\nvar r = \"\"\"\n#region text\n\"\"\";\n/*\n#endif\n*/\n#if DEBUG\r\nvar d = 1; // é\r\n#else\nvar e = '\"';\n#endif\n";
        let every = without_directives(src, Sections::Every).unwrap();
        assert_eq!(every.len(), src.len());
        assert_eq!(every.lines().count(), src.lines().count());
        for kept in [
            "#if NOT_A_DIRECTIVE",
            "#region text",
            "#endif\n*/",
            "var d = 1; // é\r\n",
            "var e",
        ] {
            assert!(every.contains(kept), "{kept}: {every}");
        }
        assert!(
            !every.contains("#if DEBUG") && !every.contains("#else"),
            "{every}"
        );
        let first = without_directives(src, Sections::First).unwrap();
        assert_eq!(first.len(), src.len());
        assert!(
            first.contains("var d") && !first.contains("var e"),
            "{first}"
        );
        assert_eq!(without_directives("class A {}\n", Sections::Every), None);
    }

    /// A file that parses as written is read as written (tree-sitter-c-sharp's own reading of
    /// `#if` between statements: every section counts), with no second parse.
    #[test]
    fn directives_tree_sitter_reads_are_left_to_it() {
        let src = "var builder = MauiApp.CreateBuilder();\n#if DEBUG\nbuilder.Logging.AddDebug();\n#endif\nreturn builder.Build();\n";
        let (error, calls) = calls_of(src);
        assert_eq!(error, None);
        assert!(
            calls.iter().any(|c| c == "builder.Logging.AddDebug"),
            "{calls:?}"
        );
    }
}
