//! The syntax-tree visitor: calls, paths, macros and attributes of live code become facts.

use proc_macro2::TokenTree;
use syn::punctuated::Punctuated;
use syn::visit::{self, Visit};

use super::args::{field, fields, is_attribute_call, split_commas, top_level_items, ArgNames};
use super::{
    callee_line, expr_text, is_test_or_disabled, lit_str, path_line, span_line, Visitor,
    TRACING_MACROS,
};
use crate::check::facts::{ref_hash, AttrContext, CallArgs, Fact, FactKind, FnDef, TOP_LEVEL};

impl Visitor {
    pub(super) fn expand(&self, segs: Vec<String>) -> Vec<String> {
        if let Some(first) = segs.first() {
            if let Some(full) = self.aliases.get(first) {
                let mut out = full.clone();
                out.extend(segs.into_iter().skip(1));
                return out;
            }
        }
        segs
    }

    pub(super) fn path_segs(&self, path: &syn::Path) -> Vec<String> {
        let segs: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        let segs = segs
            .into_iter()
            .skip_while(|s| s == "crate" || s == "self" || s == "super")
            .collect();
        self.expand(segs)
    }

    /// The callee path of an expression used as a receiver or function (method chains
    /// concatenate: `a.b().c()` → `a`, `b`, `c`).
    pub(super) fn expr_path(&self, expr: &syn::Expr) -> Vec<String> {
        match expr {
            syn::Expr::Path(p) => self.path_segs(&p.path),
            syn::Expr::Call(c) => self.expr_path(&c.func),
            syn::Expr::MethodCall(m) => {
                let mut p = self.expr_path(&m.receiver);
                p.push(m.method.to_string());
                p
            }
            syn::Expr::Field(f) => {
                let mut p = self.expr_path(&f.base);
                if let syn::Member::Named(n) = &f.member {
                    p.push(n.to_string());
                }
                p
            }
            syn::Expr::Reference(r) => self.expr_path(&r.expr),
            syn::Expr::Paren(p) => self.expr_path(&p.expr),
            syn::Expr::Try(t) => self.expr_path(&t.expr),
            syn::Expr::Await(a) => self.expr_path(&a.base),
            _ => Vec::new(),
        }
    }

    /// A string literal, or a module-level constant holding one (call arguments only).
    pub(super) fn literal(&self, expr: &syn::Expr) -> Option<String> {
        lit_str(expr).or_else(|| match expr {
            syn::Expr::Path(p) if p.qself.is_none() => {
                let ident = p.path.get_ident()?;
                self.consts.get(&ident.to_string()).cloned()
            }
            syn::Expr::Reference(r) => self.literal(&r.expr),
            _ => None,
        })
    }

    pub(super) fn push(&mut self, kind: FactKind, line: u32) {
        let mut f = Fact::at(kind, &self.file, line);
        f.func.clone_from(&self.func);
        self.out.facts.push(f);
    }

    pub(super) fn reference(&mut self, ident: &str) {
        if self.func.as_deref() != Some(ident) {
            let owner = self.func.as_deref().map_or(TOP_LEVEL, ref_hash);
            self.out.refs.push((owner, ref_hash(ident)));
        }
    }

    pub(super) fn call(
        &mut self,
        path: Vec<String>,
        args: &Punctuated<syn::Expr, syn::Token![,]>,
        line: u32,
        method: bool,
    ) {
        let literal_args = args.iter().filter_map(|a| self.literal(a)).collect();
        // The value's text only for an attribute call (printing it is the costly part).
        if is_attribute_call(&path) {
            let literal = args.first().and_then(lit_str);
            // A key computed in a loop (`KeyValue::new(format!("…{name}"), v)` in
            // `for (name, v) in req.headers()`); `set_attribute`'s argument is a `KeyValue`.
            let computed = || {
                let in_loop =
                    !self.loops.is_empty() && path.last().is_some_and(|l| l != "set_attribute");
                in_loop.then(|| args.first().map(expr_text)).flatten()
            };
            let key = literal.clone().or_else(computed);
            if let (Some(key), Some(value)) = (key, args.iter().nth(1)) {
                let context = literal.is_none().then(|| {
                    Box::new(AttrContext {
                        over: self.loops.iter().rev().cloned().collect(),
                        origin: None,
                        typed: false,
                    })
                });
                self.push(
                    FactKind::Attribute {
                        key,
                        value: expr_text(value),
                        context,
                    },
                    line,
                );
            }
        }
        let args = match path.last() {
            Some(last) if self.arg_calls.wants(last) => self.call_args(args),
            _ => CallArgs::default(),
        };
        self.push(
            FactKind::Call {
                path,
                literal_args,
                method,
                args,
            },
            line,
        );
    }

    /// What a call's arguments name ([`CallArgs`]): the path of every path expression, call and
    /// struct literal in them (`use` aliases expanded; `vec![…]` elements included; wrappers
    /// such as `Box::new` and `Some` name nothing but their type arguments). A one-segment path
    /// — a local variable, a function of the crate's own — or another macro makes them opaque.
    pub(super) fn call_args(&self, args: &Punctuated<syn::Expr, syn::Token![,]>) -> CallArgs {
        let mut names = ArgNames {
            visitor: self,
            out: CallArgs::default(),
            budget: CallArgs::BUDGET,
        };
        for arg in args {
            names.visit_expr(arg);
        }
        names.out
    }

    pub(super) fn fn_item(
        &mut self,
        name: String,
        vis_pub: bool,
        attrs: &[syn::Attribute],
        sig: &syn::Signature,
        body: &syn::Block,
    ) {
        let live = vis_pub
            || name == "main"
            || attrs.iter().any(|a| {
                let p = a.path();
                !(p.is_ident("doc")
                    || p.is_ident("allow")
                    || p.is_ident("inline")
                    || p.is_ident("must_use")
                    || p.segments.last().is_some_and(|s| s.ident == "instrument"))
            });
        let outer = self.func.is_none();
        if outer {
            self.out.fns.push(FnDef {
                name: name.clone(),
                live,
            });
            self.func = Some(name);
        }
        for attr in attrs {
            if attr
                .path()
                .segments
                .last()
                .is_some_and(|s| s.ident == "instrument")
            {
                self.instrument(attr, sig);
            }
        }
        self.visit_block(body);
        if outer {
            self.func = None;
        }
    }

    /// `#[instrument]` records every argument not skipped, plus `fields(...)`.
    pub(super) fn instrument(&mut self, attr: &syn::Attribute, sig: &syn::Signature) {
        let line = span_line(attr.pound_token.span);
        let mut skipped: Vec<String> = Vec::new();
        let mut skip_all = false;
        if let syn::Meta::List(list) = &attr.meta {
            for (head, group) in top_level_items(list.tokens.clone()) {
                match head.as_str() {
                    "skip_all" => skip_all = true,
                    "skip" => skipped.extend(group.into_iter().filter_map(|t| match t {
                        TokenTree::Ident(i) => Some(i.to_string()),
                        _ => None,
                    })),
                    "fields" => {
                        for (key, value) in fields(group) {
                            self.push(
                                FactKind::Attribute {
                                    key,
                                    value,
                                    context: None,
                                },
                                line,
                            );
                        }
                    }
                    _ => {}
                }
            }
        }
        if skip_all {
            return;
        }
        for input in &sig.inputs {
            if let syn::FnArg::Typed(pt) = input {
                if let syn::Pat::Ident(pi) = &*pt.pat {
                    let name = pi.ident.to_string();
                    if !skipped.contains(&name) {
                        self.push(
                            FactKind::Attribute {
                                key: name.clone(),
                                value: name,
                                context: None,
                            },
                            line,
                        );
                    }
                }
            }
        }
    }

    pub(super) fn mac(&mut self, mac: &syn::Macro) {
        let Some(last) = mac.path.segments.last() else {
            return;
        };
        let name = last.ident.to_string();
        let line = path_line(&mac.path);
        for seg in &mac.path.segments {
            self.reference(&seg.ident.to_string());
        }
        if TRACING_MACROS.contains(&name.as_str()) {
            for part in split_commas(mac.tokens.clone()) {
                if let Some((key, value)) = field(&part) {
                    self.push(
                        FactKind::Attribute {
                            key,
                            value: value.clone(),
                            context: None,
                        },
                        line,
                    );
                    if let Ok(e) = syn::parse_str::<syn::Expr>(&value) {
                        self.visit_expr(&e);
                    }
                } else if let Ok(e) = syn::parse2::<syn::Expr>(part) {
                    self.visit_expr(&e);
                }
            }
            return;
        }
        let parser = Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated;
        if let Ok(exprs) = syn::parse::Parser::parse2(parser, mac.tokens.clone()) {
            for e in &exprs {
                self.visit_expr(e);
            }
        }
    }
}

impl<'ast> Visit<'ast> for Visitor {
    fn visit_item_use(&mut self, _: &'ast syn::ItemUse) {}

    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        if !is_test_or_disabled(&m.attrs) {
            visit::visit_item_mod(self, m);
        }
    }

    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        if is_test_or_disabled(&f.attrs) {
            return;
        }
        let public = !matches!(f.vis, syn::Visibility::Inherited);
        self.fn_item(f.sig.ident.to_string(), public, &f.attrs, &f.sig, &f.block);
    }

    fn visit_item_impl(&mut self, i: &'ast syn::ItemImpl) {
        if !is_test_or_disabled(&i.attrs) {
            visit::visit_item_impl(self, i);
        }
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        if is_test_or_disabled(&f.attrs) {
            return;
        }
        // Methods are reached through their type; treat them as live.
        for attr in &f.attrs {
            if attr
                .path()
                .segments
                .last()
                .is_some_and(|s| s.ident == "instrument")
            {
                self.instrument(attr, &f.sig);
            }
        }
        self.visit_block(&f.block);
    }

    fn visit_expr_if(&mut self, e: &'ast syn::ExprIf) {
        let always_false = matches!(&*e.cond, syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Bool(b), .. }) if !b.value);
        if always_false {
            if let Some((_, els)) = &e.else_branch {
                self.visit_expr(els);
            }
            return;
        }
        visit::visit_expr_if(self, e);
    }

    fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
        let path = self.expr_path(&c.func);
        if !path.is_empty() {
            self.call(path, &c.args, callee_line(&c.func), false);
        }
        visit::visit_expr_call(self, c);
    }

    fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
        let mut path = self.expr_path(&m.receiver);
        path.push(m.method.to_string());
        self.reference(&m.method.to_string());
        self.call(path, &m.args, span_line(m.method.span()), true);
        if m.method == "for_each" {
            // `x.for_each(|(k, v)| …)`: the closure runs once per element of `x`.
            self.visit_expr(&m.receiver);
            self.loops.push(expr_text(&m.receiver));
            for arg in &m.args {
                self.visit_expr(arg);
            }
            self.loops.pop();
            return;
        }
        visit::visit_expr_method_call(self, m);
    }

    fn visit_expr_for_loop(&mut self, e: &'ast syn::ExprForLoop) {
        self.visit_pat(&e.pat);
        self.visit_expr(&e.expr);
        self.loops.push(expr_text(&e.expr));
        self.visit_block(&e.body);
        self.loops.pop();
    }

    fn visit_path(&mut self, p: &'ast syn::Path) {
        for seg in &p.segments {
            self.reference(&seg.ident.to_string());
        }
        let segs = self.path_segs(p);
        if !segs.is_empty() {
            self.push(FactKind::Symbol { path: segs }, path_line(p));
        }
        visit::visit_path(self, p);
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        self.mac(m);
    }
}
