use super::*;
use syn::visit::{self, Visit};

/// Every first-token line helper gives the line `Spanned::span` (the node printed back to
/// tokens) gives, on callees and paths spread over lines in the shapes that differ.
struct Compare(Vec<String>, usize);

impl<'ast> Visit<'ast> for Compare {
    fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
        self.1 += 1;
        if callee_line(&c.func) != line_of(&c.func) {
            self.0.push(format!("call at {}", line_of(&c.func)));
        }
        visit::visit_expr_call(self, c);
    }
    fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
        self.1 += 1;
        if span_line(m.method.span()) != line_of(&m.method) {
            self.0.push(format!("method at {}", line_of(&m.method)));
        }
        visit::visit_expr_method_call(self, m);
    }
    fn visit_path(&mut self, p: &'ast syn::Path) {
        self.1 += 1;
        if path_line(p) != line_of(p) {
            self.0.push(format!("path at {}", line_of(p)));
        }
        visit::visit_path(self, p);
    }
    fn visit_attribute(&mut self, a: &'ast syn::Attribute) {
        self.1 += 1;
        if span_line(a.pound_token.span) != line_of(a) {
            self.0.push(format!("attribute at {}", line_of(a)));
        }
        visit::visit_attribute(self, a);
    }
}

#[test]
fn equal_the_printed_span_lines() {
    let src = r#"
#[tracing::instrument(
    fields(a = 1))]
fn main() {
    (
        f
    )();
    (|x: u32|
        x)(1);
    <T
        as Tr>::f();
    <T>
    ::g();
    ::std
        ::process::exit(1);
    ::tracing
        ::info!("x");
    (#[allow(unused)]
        h)();
    #[allow(unused)]
    k::l(1);
    a
        .b()
        .c(|y| y + 1);
    m::<
        u8>(2);
    Vec::<u8>
        ::new();
    let v = [f][0]
        ();
}
"#;
    let file = syn::parse_file(src).unwrap();
    let mut cmp = Compare(Vec::new(), 0);
    cmp.visit_file(&file);
    assert!(cmp.0.is_empty(), "{:?}", cmp.0);
    assert!(cmp.1 > 30, "{} nodes compared", cmp.1);
}
