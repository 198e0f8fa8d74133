//! What a call's arguments and a tracing macro's or `#[instrument]`'s fields name.

use proc_macro2::{Delimiter, TokenStream, TokenTree};
use syn::punctuated::Punctuated;
use syn::visit::{self, Visit};

use super::{compact, Visitor};
use crate::check::facts::CallArgs;

/// Collects [`CallArgs`] from a call's argument expressions ([`Visitor::call_args`]).
pub(super) struct ArgNames<'v> {
    pub(super) visitor: &'v Visitor,
    pub(super) out: CallArgs,
    /// Nodes left to follow; at 0 the arguments are opaque.
    pub(super) budget: usize,
}

/// Wrappers a value passes through unchanged (`Box::new(p)`, `Some(p)`): their paths name
/// nothing in the arguments.
pub(super) const TRANSPARENT: &[&str] = &[
    "Box", "Arc", "Rc", "Some", "Ok", "Vec", "String", "std", "core", "alloc",
];

impl ArgNames<'_> {
    fn name(&mut self, path: &syn::Path) {
        if path
            .segments
            .first()
            .is_some_and(|s| TRANSPARENT.iter().any(|t| s.ident == t))
        {
            // `Box::<TraceContextPropagator>::default()`: the type argument still names it.
            for segment in &path.segments {
                if let syn::PathArguments::AngleBracketed(generic) = &segment.arguments {
                    for arg in &generic.args {
                        if let syn::GenericArgument::Type(syn::Type::Path(t)) = arg {
                            self.name(&t.path);
                        }
                    }
                }
            }
            return;
        }
        // One segment is a local value or function, even when a `use` brings a module of that
        // name into scope (`let propagation = propagation::…; …(propagation)`).
        self.out.opaque |= path.leading_colon.is_none() && path.segments.len() == 1;
        let segs = self.visitor.path_segs(path);
        if !segs.is_empty() {
            self.out.paths.push(segs);
        }
    }
}

impl<'ast> Visit<'ast> for ArgNames<'_> {
    fn visit_expr(&mut self, e: &'ast syn::Expr) {
        if self.budget == 0 {
            self.out.opaque = true;
            return;
        }
        self.budget -= 1;
        visit::visit_expr(self, e);
    }

    fn visit_expr_path(&mut self, p: &'ast syn::ExprPath) {
        self.name(&p.path);
    }

    fn visit_expr_struct(&mut self, s: &'ast syn::ExprStruct) {
        self.name(&s.path);
        for field in &s.fields {
            self.visit_expr(&field.expr);
        }
        if let Some(rest) = &s.rest {
            self.visit_expr(rest);
        }
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        // `vec![…]` holds its elements; what another macro expands to is not seen.
        if !m.path.is_ident("vec") {
            self.out.opaque = true;
            return;
        }
        let parser = Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated;
        match syn::parse::Parser::parse2(parser, m.tokens.clone()) {
            Ok(exprs) => exprs.iter().for_each(|e| self.visit_expr(e)),
            Err(_) => self.out.opaque = true,
        }
    }
}

pub(super) fn is_attribute_call(path: &[String]) -> bool {
    let last = path.last().map(String::as_str).unwrap_or_default();
    let prev = path
        .iter()
        .rev()
        .nth(1)
        .map(String::as_str)
        .unwrap_or_default();
    match last {
        "set_attribute" | "record" => true,
        "new" => prev == "KeyValue",
        _ => false,
    }
}

/// Split a token stream on top-level commas.
pub(super) fn split_commas(ts: TokenStream) -> Vec<TokenStream> {
    let mut parts = Vec::new();
    let mut cur = Vec::new();
    for t in ts {
        if let TokenTree::Punct(p) = &t {
            if p.as_char() == ',' {
                parts.push(cur.drain(..).collect());
                continue;
            }
        }
        cur.push(t);
    }
    if !cur.is_empty() {
        parts.push(cur.into_iter().collect());
    }
    parts
}

/// `name(...)` or `name` items of an attribute list.
pub(super) fn top_level_items(ts: TokenStream) -> Vec<(String, TokenStream)> {
    split_commas(ts)
        .into_iter()
        .filter_map(|part| {
            let mut it = part.into_iter();
            let head = match it.next()? {
                TokenTree::Ident(i) => i.to_string(),
                _ => return None,
            };
            let group = match it.next() {
                Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Parenthesis => g.stream(),
                _ => TokenStream::new(),
            };
            Some((head, group))
        })
        .collect()
}

pub(super) fn fields(ts: TokenStream) -> Vec<(String, String)> {
    split_commas(ts).iter().filter_map(field).collect()
}

/// `a.b = %value`, `"a.b" = ?v`, `?req` / `%req` shorthand → (key, value text).
pub(super) fn field(part: &TokenStream) -> Option<(String, String)> {
    let tokens: Vec<TokenTree> = part.clone().into_iter().collect();
    let eq = tokens.iter().position(|t| match t {
        TokenTree::Punct(p) => p.as_char() == '=' && p.spacing() == proc_macro2::Spacing::Alone,
        _ => false,
    });
    let sigil = |t: &TokenTree| matches!(t, TokenTree::Punct(p) if p.as_char() == '%' || p.as_char() == '?');
    match eq {
        Some(i) if i > 0 => {
            let key: String = tokens[..i]
                .iter()
                .map(|t| match t {
                    TokenTree::Literal(l) => l.to_string().trim_matches('"').to_string(),
                    other => other.to_string(),
                })
                .collect();
            let value: TokenStream = tokens[i + 1..]
                .iter()
                .skip_while(|t| sigil(t))
                .cloned()
                .collect();
            Some((key, compact(&value.to_string())))
        }
        None if tokens.first().is_some_and(sigil) => {
            let value: TokenStream = tokens[1..].iter().cloned().collect();
            let text = compact(&value.to_string());
            let key = text.rsplit('.').next().unwrap_or_default().to_string();
            Some((key, text))
        }
        _ => None,
    }
}
