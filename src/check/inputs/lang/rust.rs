//! Rust sources, analysed with `syn`: calls and method chains with `use` aliases expanded,
//! symbol paths, `tracing` macro fields and `#[instrument]` arguments. Test code
//! (`#[cfg(test)]`, `#[test]`), `if false` branches and comments/strings never yield facts.

use std::collections::HashMap;

use proc_macro2::{Delimiter, TokenStream, TokenTree};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::visit::{self, Visit};

use super::{rust_stack, MAX_NESTING};
use crate::check::facts::{
    ref_hash, ArgCallees, CallArgs, Fact, FactKind, FnDef, RustMods, SourceFacts, TOP_LEVEL,
};

/// Macros whose `key = value` arguments are span or event fields.
const TRACING_MACROS: &[&str] = &[
    "span",
    "trace_span",
    "debug_span",
    "info_span",
    "warn_span",
    "error_span",
    "event",
    "trace",
    "debug",
    "info",
    "warn",
    "error",
];

/// Parse one Rust file. `Err` carries a one-line reason with the line. syn recurses, and
/// nesting the token-based bound misses must still not overflow a small stack: the work runs
/// on the calling thread when it has a large one (the walk's threads,
/// [`rust_stack::spawn_with_large_stack`]), else on a long-lived thread with a large stack
/// ([`rust_stack::on_worker`]).
pub fn analyse(rel: &str, text: &str) -> Result<SourceFacts, String> {
    analyse_for(rel, text, ArgCallees::all())
}

/// [`analyse`], recording the arguments ([`CallArgs`]) of the calls `arg_calls` names only.
pub fn analyse_for(rel: &str, text: &str, arg_calls: ArgCallees) -> Result<SourceFacts, String> {
    let own = rust_stack::own_stack();
    if own > 0 {
        let facts = analyse_here(rel, text, own, &arg_calls);
        // The thread lives for the whole walk: free the source text its spans keep (facts
        // hold no span).
        proc_macro2::extra::invalidate_current_thread_spans();
        return facts;
    }
    let (rel_owned, text_owned) = (rel.to_owned(), text.to_owned());
    let worker_calls = arg_calls.clone();
    let on_worker = move || {
        let facts = analyse_here(
            &rel_owned,
            &text_owned,
            rust_stack::WORKER_STACK,
            &worker_calls,
        );
        // The worker lives for the whole walk: free the source text its spans keep (facts hold
        // no span; a 20,000-file monorepo would otherwise keep all its Rust in memory).
        proc_macro2::extra::invalidate_current_thread_spans();
        facts
    };
    match rust_stack::on_worker(on_worker) {
        Some(result) => result,
        // No worker thread could be started: a thread sized for an ordinary file (a deeper one
        // is sent on to a thread sized for it).
        None => rust_stack::on_deep_stack(0, || {
            analyse_here(rel, text, rust_stack::stack_for(0), &arg_calls)
        })
        .unwrap_or_else(|| Err("line 1: no thread to analyse this file on; not analysed".into())),
    }
}

/// [`analyse`] on the calling thread, whose stack is `stack` bytes.
fn analyse_here(
    rel: &str,
    text: &str,
    stack: usize,
    arg_calls: &ArgCallees,
) -> Result<SourceFacts, String> {
    // syn parses recursively: refuse pathological nesting instead of overflowing the stack.
    if let Some(line) = super::too_deep(text, MAX_NESTING) {
        return Err(format!(
            "line {line}: brackets nested deeper than {MAX_NESTING} levels; not analysed"
        ));
    }
    let syntax_error = |e: syn::Error| {
        let line = e.span().start().line;
        format!("line {line}: Rust syntax error: {e}")
    };
    let (content, shebang) = split_shebang(text);
    let tokens: TokenStream = content
        .parse()
        .map_err(|e: proc_macro2::LexError| syntax_error(e.into()))?;
    let parse = |tokens: TokenStream| {
        let mut file: syn::File = syn::parse2(tokens).map_err(syntax_error)?;
        file.shebang = shebang.clone();
        Ok(visit_file(rel, &file, arg_calls))
    };
    // The bound never exceeds the text's length (each token that adds a level is a byte or
    // more, each group's brackets two): a file whose length fits this stack needs no bound.
    if content.len() <= rust_stack::MAX_DEPTH && rust_stack::stack_for(content.len()) <= stack {
        return parse(tokens);
    }
    let (depth, line) = rust_stack::nesting_bound(&tokens);
    if depth > rust_stack::MAX_DEPTH {
        return Err(format!(
            "line {line}: an expression or type nested deeper than {} levels (operators, generics, `else if`, method calls in one chain); not analysed",
            rust_stack::MAX_DEPTH
        ));
    }
    if rust_stack::stack_for(depth) <= stack {
        return parse(tokens);
    }
    // Spans refer to a thread's own source map: the deep thread lexes the text again.
    drop(tokens);
    rust_stack::on_deep_stack(depth, || {
        let tokens: TokenStream = content
            .parse()
            .map_err(|e: proc_macro2::LexError| syntax_error(e.into()))?;
        parse(tokens)
    })
    .unwrap_or_else(|| Err("line 1: no thread for a deeply nested file; not analysed".into()))
}

/// What `syn::parse_file` does before parsing: drop a byte-order mark and a `#!` line (not
/// an inner attribute `#![…]`), keeping the newline so line numbers stay those of the file.
fn split_shebang(text: &str) -> (&str, Option<String>) {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if let Some(after) = text.strip_prefix("#!") {
        if !after.trim_start().starts_with('[') {
            return match text.find('\n') {
                Some(end) => (&text[end..], Some(text[..end].to_string())),
                None => ("", Some(text.to_string())),
            };
        }
    }
    (text, None)
}

fn visit_file(rel: &str, file: &syn::File, arg_calls: &ArgCallees) -> SourceFacts {
    let mut aliases = HashMap::new();
    for item in &file.items {
        if let syn::Item::Use(u) = item {
            collect_use(&u.tree, &mut Vec::new(), &mut aliases);
        }
    }
    let mut consts = HashMap::new();
    collect_consts(&file.items, &mut consts);
    let mut v = Visitor {
        file: std::sync::Arc::from(rel),
        aliases,
        consts,
        arg_calls: arg_calls.clone(),
        out: SourceFacts::default(),
        func: None,
    };
    v.visit_file(file);
    let mut mods = RustMods::default();
    collect_mods(&file.items, "", &mut mods);
    v.out.rust_mods = Some(mods);
    v.out
}

/// Out-of-line `mod name;` declarations (not test code), with inline modules as path prefixes;
/// a `#[path]` or an `include!` makes the set unknown.
fn collect_mods(items: &[syn::Item], prefix: &str, out: &mut RustMods) {
    use syn::ext::IdentExt;
    for item in items {
        match item {
            syn::Item::Mod(m) if !is_test_or_disabled(&m.attrs) => {
                // `#[path = …]`, also inside `#[cfg_attr(…, path = …)]`.
                let moved = m.attrs.iter().any(|a| {
                    a.path().is_ident("path")
                        || (a.path().is_ident("cfg_attr")
                            && matches!(&a.meta, syn::Meta::List(l)
                                if l.tokens.clone().into_iter().any(|t| matches!(&t, TokenTree::Ident(i) if i == "path"))))
                });
                if moved {
                    out.unknown = true;
                }
                let name = format!("{prefix}{}", m.ident.unraw());
                match &m.content {
                    None => out.decls.push(name),
                    Some((_, inner)) => collect_mods(inner, &format!("{name}/"), out),
                }
            }
            // A macro invocation at item level (`cfg_if!`, `include!`, a local `macro_rules!`
            // macro) may declare modules tracegate does not expand.
            syn::Item::Macro(m) if !m.mac.path.is_ident("macro_rules") => out.unknown = true,
            _ => {}
        }
    }
}

fn collect_use(
    tree: &syn::UseTree,
    prefix: &mut Vec<String>,
    out: &mut HashMap<String, Vec<String>>,
) {
    match tree {
        syn::UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            collect_use(&p.tree, prefix, out);
            prefix.pop();
        }
        syn::UseTree::Name(n) => {
            let name = n.ident.to_string();
            let mut full = prefix.clone();
            if name != "self" {
                full.push(name.clone());
            }
            let key = if name == "self" {
                prefix.last().cloned().unwrap_or_default()
            } else {
                name
            };
            out.insert(key, full);
        }
        syn::UseTree::Rename(r) => {
            let mut full = prefix.clone();
            if r.ident != "self" {
                full.push(r.ident.to_string());
            }
            out.insert(r.rename.to_string(), full);
        }
        syn::UseTree::Group(g) => {
            for t in &g.items {
                collect_use(t, prefix, out);
            }
        }
        syn::UseTree::Glob(_) => {}
    }
}

struct Visitor {
    file: std::sync::Arc<str>,
    aliases: HashMap<String, Vec<String>>,
    /// Module-level `const`/`static` string literals (`const COLLECTOR: &str = "http://…"`): a
    /// call argument naming one is that literal (a literal endpoint kept in a constant is still
    /// a literal endpoint). Not `let` bindings: scopes and shadowing would make guesses.
    consts: HashMap<String, String>,
    /// The calls whose arguments are recorded.
    arg_calls: ArgCallees,
    out: SourceFacts,
    func: Option<String>,
}

fn is_test_or_disabled(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        let path = a.path();
        if path.segments.last().is_some_and(|s| s.ident == "test") {
            return true;
        }
        if path.is_ident("cfg") {
            if let syn::Meta::List(list) = &a.meta {
                let t = list.tokens.to_string().replace(' ', "");
                return t == "test" || t == "any()" || t.starts_with("all(test") || t == "FALSE";
            }
        }
        false
    })
}

/// Line of a node's first token. `Spanned::span` prints the whole node back to tokens to
/// find it (for a call argument holding a closure, the closure's whole body), so the helpers
/// below take the first token directly where the node's shape gives it.
fn line_of<T: Spanned>(node: &T) -> u32 {
    node.span().start().line as u32
}

fn span_line(span: proc_macro2::Span) -> u32 {
    span.start().line as u32
}

fn path_line(path: &syn::Path) -> u32 {
    match (&path.leading_colon, path.segments.first()) {
        (Some(colon), _) => span_line(colon.spans[0]),
        (None, Some(first)) => span_line(first.ident.span()),
        (None, None) => line_of(path),
    }
}

/// Line of a callee expression: a plain path's first segment, else the whole expression.
fn callee_line(expr: &syn::Expr) -> u32 {
    match expr {
        syn::Expr::Path(p) if p.qself.is_none() && p.attrs.is_empty() => path_line(&p.path),
        other => line_of(other),
    }
}

fn lit_str(expr: &syn::Expr) -> Option<String> {
    match expr {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s),
            ..
        }) => Some(s.value()),
        syn::Expr::Group(g) => lit_str(&g.expr),
        syn::Expr::Paren(p) => lit_str(&p.expr),
        _ => None,
    }
}

/// Module-level `const`/`static` string literals, in nested inline modules too.
fn collect_consts(items: &[syn::Item], out: &mut HashMap<String, String>) {
    for item in items {
        match item {
            syn::Item::Const(c) => {
                if let Some(v) = lit_str(&c.expr) {
                    out.insert(c.ident.to_string(), v);
                }
            }
            syn::Item::Static(st) => {
                if let Some(v) = lit_str(&st.expr) {
                    out.insert(st.ident.to_string(), v);
                }
            }
            syn::Item::Mod(m) if !is_test_or_disabled(&m.attrs) => {
                if let Some((_, items)) = &m.content {
                    collect_consts(items, out);
                }
            }
            _ => {}
        }
    }
}

fn expr_text(expr: &syn::Expr) -> String {
    let mut t = expr.span().source_text().unwrap_or_default();
    if t.len() > 160 {
        let mut cut = 160;
        while !t.is_char_boundary(cut) {
            cut -= 1;
        }
        t.truncate(cut);
    }
    t
}

fn compact(s: &str) -> String {
    s.replace(" . ", ".")
        .replace(" :: ", "::")
        .replace(" (", "(")
        .replace("( ", "(")
        .replace(" )", ")")
        .replace(" ,", ",")
}

impl Visitor {
    fn expand(&self, segs: Vec<String>) -> Vec<String> {
        if let Some(first) = segs.first() {
            if let Some(full) = self.aliases.get(first) {
                let mut out = full.clone();
                out.extend(segs.into_iter().skip(1));
                return out;
            }
        }
        segs
    }

    fn path_segs(&self, path: &syn::Path) -> Vec<String> {
        let segs: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        let segs = segs
            .into_iter()
            .skip_while(|s| s == "crate" || s == "self" || s == "super")
            .collect();
        self.expand(segs)
    }

    /// The callee path of an expression used as a receiver or function (method chains
    /// concatenate: `a.b().c()` → `a`, `b`, `c`).
    fn expr_path(&self, expr: &syn::Expr) -> Vec<String> {
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
    fn literal(&self, expr: &syn::Expr) -> Option<String> {
        lit_str(expr).or_else(|| match expr {
            syn::Expr::Path(p) if p.qself.is_none() => {
                let ident = p.path.get_ident()?;
                self.consts.get(&ident.to_string()).cloned()
            }
            syn::Expr::Reference(r) => self.literal(&r.expr),
            _ => None,
        })
    }

    fn push(&mut self, kind: FactKind, line: u32) {
        let mut f = Fact::at(kind, &self.file, line);
        f.func.clone_from(&self.func);
        self.out.facts.push(f);
    }

    fn reference(&mut self, ident: &str) {
        if self.func.as_deref() != Some(ident) {
            let owner = self.func.as_deref().map_or(TOP_LEVEL, ref_hash);
            self.out.refs.push((owner, ref_hash(ident)));
        }
    }

    fn call(
        &mut self,
        path: Vec<String>,
        args: &Punctuated<syn::Expr, syn::Token![,]>,
        line: u32,
        method: bool,
    ) {
        let literal_args = args.iter().filter_map(|a| self.literal(a)).collect();
        // The value's text only for an attribute call (printing it is the costly part).
        if is_attribute_call(&path) {
            let key = args.first().and_then(lit_str);
            if let (Some(key), Some(value)) = (key, args.iter().nth(1)) {
                self.push(
                    FactKind::Attribute {
                        key,
                        value: expr_text(value),
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
    fn call_args(&self, args: &Punctuated<syn::Expr, syn::Token![,]>) -> CallArgs {
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

    fn fn_item(
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
    fn instrument(&mut self, attr: &syn::Attribute, sig: &syn::Signature) {
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
                            self.push(FactKind::Attribute { key, value }, line);
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
                            },
                            line,
                        );
                    }
                }
            }
        }
    }

    fn mac(&mut self, mac: &syn::Macro) {
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

/// Collects [`CallArgs`] from a call's argument expressions ([`Visitor::call_args`]).
struct ArgNames<'v> {
    visitor: &'v Visitor,
    out: CallArgs,
    /// Nodes left to follow; at 0 the arguments are opaque.
    budget: usize,
}

/// Wrappers a value passes through unchanged (`Box::new(p)`, `Some(p)`): their paths name
/// nothing in the arguments.
const TRANSPARENT: &[&str] = &[
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

fn is_attribute_call(path: &[String]) -> bool {
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
fn split_commas(ts: TokenStream) -> Vec<TokenStream> {
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
fn top_level_items(ts: TokenStream) -> Vec<(String, TokenStream)> {
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

fn fields(ts: TokenStream) -> Vec<(String, String)> {
    split_commas(ts).iter().filter_map(field).collect()
}

/// `a.b = %value`, `"a.b" = ?v`, `?req` / `%req` shorthand → (key, value text).
fn field(part: &TokenStream) -> Option<(String, String)> {
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
        visit::visit_expr_method_call(self, m);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn calls(f: &SourceFacts) -> Vec<String> {
        f.call_paths("::")
    }

    /// The [`CallArgs`] of each `set_text_map_propagator` call, in order: the paths named
    /// (joined with `::`) and whether they are opaque.
    fn propagator_args(src: &str) -> Vec<(Vec<String>, bool)> {
        let f = analyse("src/main.rs", src).unwrap();
        f.facts
            .iter()
            .filter_map(|x| match &x.kind {
                FactKind::Call { path, args, .. }
                    if path.last().is_some_and(|l| l == "set_text_map_propagator") =>
                {
                    Some((
                        args.paths.iter().map(|p| p.join("::")).collect(),
                        args.opaque,
                    ))
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn call_arguments_name_what_is_passed_and_locals_are_opaque() {
        let src = r#"
use opentelemetry::global;
use opentelemetry::propagation::TextMapCompositePropagator;
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
fn main() {
    global::set_text_map_propagator(TraceContextPropagator::new());
    global::set_text_map_propagator(opentelemetry_zipkin::Propagator::new());
    global::set_text_map_propagator(TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(BaggagePropagator::new()),
    ]));
    let p = TraceContextPropagator::new();
    global::set_text_map_propagator(p);
    global::set_text_map_propagator(make_propagator());
    global::set_text_map_propagator(Wrapper { inner: TraceContextPropagator::new() });
    global::set_text_map_propagator(/* TraceContextPropagator */ opentelemetry_zipkin::Propagator::new());
}
"#;
        let tc = "opentelemetry_sdk::propagation::TraceContextPropagator::new".to_string();
        let got = propagator_args(src);
        assert_eq!(got.len(), 7, "{got:?}");
        assert_eq!(got[0], (vec![tc.clone()], false));
        assert_eq!(
            got[1],
            (
                vec!["opentelemetry_zipkin::Propagator::new".to_string()],
                false
            )
        );
        assert!(
            !got[2].1 && got[2].0.contains(&tc),
            "vec! arguments: {:?}",
            got[2]
        );
        assert!(got[2]
            .0
            .contains(&"opentelemetry_sdk::propagation::BaggagePropagator::new".into()));
        assert_eq!(got[3], (vec!["p".to_string()], true), "a variable");
        assert_eq!(
            got[4],
            (vec!["make_propagator".to_string()], true),
            "a local function"
        );
        assert!(
            got[5].1 && got[5].0.contains(&tc),
            "a struct of the crate's own: {:?}",
            got[5]
        );
        assert_eq!(
            got[6],
            (
                vec!["opentelemetry_zipkin::Propagator::new".to_string()],
                false
            ),
            "comments name nothing"
        );
    }

    #[test]
    fn calls_expand_use_aliases_and_method_chains() {
        let src = r#"
use opentelemetry::global;
use opentelemetry_sdk::propagation::TraceContextPropagator as W3c;
fn main() {
    // global::set_text_map_propagator(Nope) in a comment does not count
    let s = "global::set_text_map_propagator";
    global::set_text_map_propagator(W3c::new());
    let p = SdkTracerProvider::builder().with_batch_exporter(exporter).build();
}
"#;
        let f = analyse("src/main.rs", src).unwrap();
        let c = calls(&f);
        assert!(
            c.contains(&"opentelemetry::global::set_text_map_propagator".to_string()),
            "{c:?}"
        );
        assert!(
            c.contains(&"opentelemetry_sdk::propagation::TraceContextPropagator::new".to_string())
        );
        assert!(c.contains(&"SdkTracerProvider::builder::with_batch_exporter".to_string()));
        assert_eq!(
            c.iter()
                .filter(|p| p.ends_with("set_text_map_propagator"))
                .count(),
            1
        );
        let call = f.facts.iter().find(|f| matches!(&f.kind, FactKind::Call { path, .. } if path.last().is_some_and(|s| s == "set_text_map_propagator"))).unwrap();
        assert_eq!(call.line, 7);
    }

    #[test]
    fn test_modules_and_if_false_are_skipped() {
        let src = r#"
fn main() { if false { with_simple_exporter(x); } }
#[cfg(test)]
mod tests { fn t() { with_simple_exporter(x); } }
#[test]
fn t2() { with_simple_exporter(y); }
"#;
        let f = analyse("src/main.rs", src).unwrap();
        assert!(
            calls(&f)
                .iter()
                .all(|c| !c.contains("with_simple_exporter")),
            "{:?}",
            calls(&f)
        );
    }

    #[test]
    fn tracing_fields_and_instrument_arguments_are_attributes() {
        let src = r#"
#![allow(dead_code)]
/// A doc comment,
/** and a block one */
#[tracing::instrument(skip(db), fields(user.email = %email))]
fn handle(db: Db, password: String, email: String) {
    let span = tracing::info_span!("login", card_number = ?card, "done");
    info!(token = %t, "message with password in text");
    span.set_attribute(KeyValue::new("ssn", x));
}
"#;
        let f = analyse("src/main.rs", src).unwrap();
        let keys: Vec<&str> = f
            .facts
            .iter()
            .filter_map(|f| match &f.kind {
                FactKind::Attribute { key, .. } => Some(key.as_str()),
                _ => None,
            })
            .collect();
        for k in [
            "user.email",
            "password",
            "email",
            "card_number",
            "token",
            "ssn",
        ] {
            assert!(keys.contains(&k), "{k} not in {keys:?}");
        }
        assert!(!keys.contains(&"db"));
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let err = analyse("src/main.rs", "fn main() {\n let = ;\n}").unwrap_err();
        assert!(err.starts_with("line 2"), "{err}");
    }
}

#[cfg(test)]
mod first_token_lines {
    use super::*;

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
}
