//! Rust sources, analysed with `syn`: calls and method chains with `use` aliases expanded,
//! symbol paths, `tracing` macro fields and `#[instrument]` arguments. Test code
//! (`#[cfg(test)]`, `#[test]`), `if false` branches and comments/strings never yield facts. The
//! visitor is in [`visitor`], what arguments and fields name in [`args`].

use crate::check::facts::FastMap;

use proc_macro2::{TokenStream, TokenTree};
use syn::spanned::Spanned;
use syn::visit::Visit;

use super::{rust_stack, MAX_NESTING};
use crate::check::facts::{ArgCallees, RustMods, SourceFacts};

mod args;
mod visitor;

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
    let mut aliases = FastMap::default();
    for item in &file.items {
        if let syn::Item::Use(u) = item {
            collect_use(&u.tree, &mut Vec::new(), &mut aliases);
        }
    }
    let mut consts = FastMap::default();
    collect_consts(&file.items, &mut consts);
    let mut v = Visitor {
        file: std::sync::Arc::from(rel),
        aliases,
        consts,
        arg_calls: arg_calls.clone(),
        out: SourceFacts::default(),
        func: None,
        loops: Vec::new(),
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
    out: &mut FastMap<String, Vec<String>>,
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
    aliases: FastMap<String, Vec<String>>,
    /// Module-level `const`/`static` string literals (`const COLLECTOR: &str = "http://…"`): a
    /// call argument naming one is that literal (a literal endpoint kept in a constant is still
    /// a literal endpoint). Not `let` bindings: scopes and shadowing would make guesses.
    consts: FastMap<String, String>,
    /// The calls whose arguments are recorded.
    arg_calls: ArgCallees,
    out: SourceFacts,
    func: Option<String>,
    /// What the enclosing `for` loops and `.for_each(…)` calls iterate, outermost first (an
    /// attribute key computed inside them is judged by it).
    loops: Vec<String>,
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
fn collect_consts(items: &[syn::Item], out: &mut FastMap<String, String>) {
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

#[cfg(test)]
mod tests;

#[cfg(test)]
mod first_token_lines;
