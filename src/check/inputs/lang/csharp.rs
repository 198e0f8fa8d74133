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
fn fn_live(name: &str, node: Node<'_>) -> bool {
    // `Main`, and interface members (public without a modifier, default implementations).
    let in_interface = node
        .parent()
        .and_then(|body| body.parent())
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
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::facts::{drop_dead_code, FactKind};
    use crate::check::inputs::lang::treesitter::analyse;

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
}
