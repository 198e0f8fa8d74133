//! Deep Rust expressions and syn's recursion. syn parses (and the syntax tree is visited and
//! dropped) recursively, so nesting that brackets do not show — `!!!…!x`, `Vec<Vec<…>>`, a
//! long method chain, `else if` after `else if` — can overflow a 2 MiB walker thread (about
//! 40 levels of generics in a debug build, 300 in release). Before parsing, the token stream
//! gives an upper bound on that nesting; a file over [`SHALLOW`] is analysed on a thread with
//! a stack sized for it ([`on_deep_stack`]), and one over [`MAX_DEPTH`] is not analysed (a TG199 note).

use proc_macro2::{Delimiter, TokenStream, TokenTree};

/// Up to this bound a file is analysed on the walker thread's own stack.
pub const SHALLOW: usize = 24;
/// Above this bound a file is refused: no hand-written Rust nests this deep.
pub const MAX_DEPTH: usize = 16_000;
/// Stack per unit of the bound: enough for a debug build (syn's type parsing takes about 50 KiB
/// per `Vec<`, two units, there; 6 KiB in release). Only touched pages are ever committed, and
/// a stack the system cannot reserve makes the file a note, not a crash.
const STACK_PER_LEVEL: usize = 64 * 1024;

/// An upper bound on the syntax-tree nesting `tokens` can produce, and the line where the
/// deepest run starts. Within a run of tokens, each operator (`!`, `-`, `&`, `.`, `?`, `<`,
/// `|`, binary operators…) and each `as`/`else` may add a level, plus the deepest group inside
/// it. A run ends at `;`, `,`, an attribute (`#`), and after a `{…}` block unless the
/// expression goes on (`else`, `.`, `?`, `as`). Names, literals, `=`, `=>` and `:` add
/// nothing; a macro's `(…)`/`[…]`/`{…}` counts on its own (syn keeps it as tokens).
pub fn nesting_bound(tokens: &TokenStream) -> (usize, usize) {
    let mut deepest = (0, 1);
    let mut run = 0;
    let mut run_line = 1;
    let mut inner = (0, 1);
    let mut after_brace = false;
    let mut prev_bang_after_ident = false;
    let mut prev_ident = false;
    let mut prev_expr_end = false;
    let mut prev_joint_eq = false;
    // The bound of a finished run: its own levels plus its deepest group.
    let run_bound = |run: usize, run_line: usize, inner: (usize, usize)| {
        if inner.0 > 0 {
            (run + inner.0, inner.1)
        } else {
            (run, run_line)
        }
    };
    for token in tokens.clone() {
        let goes_on = match &token {
            TokenTree::Ident(i) => i == "else" || i == "as",
            TokenTree::Punct(p) => matches!(p.as_char(), '.' | '?'),
            _ => false,
        };
        let separator =
            matches!(&token, TokenTree::Punct(p) if matches!(p.as_char(), ';' | ',' | '#'));
        let ends_run = separator || (after_brace && !goes_on);
        if ends_run {
            keep_deeper(&mut deepest, run_bound(run, run_line, inner));
            run = 0;
            inner = (0, 1);
        }
        after_brace = false;
        let adds = match &token {
            TokenTree::Punct(p) => {
                let c = p.as_char();
                let arrow = c == '>' && prev_joint_eq;
                !(matches!(c, ';' | ',' | '#' | '=' | ':' | '\'') || arrow)
            }
            TokenTree::Ident(i) => i == "else" || i == "as",
            // A call or an index right after an expression: `f(0)(0)`, `x[0][0]`.
            TokenTree::Group(g) => {
                prev_expr_end
                    && matches!(g.delimiter(), Delimiter::Parenthesis | Delimiter::Bracket)
            }
            TokenTree::Literal(_) => false,
        };
        if adds {
            if run == 0 {
                run_line = token.span().start().line;
            }
            run += 1;
        }
        if let TokenTree::Group(g) = &token {
            let nested = nesting_bound(&g.stream());
            if prev_bang_after_ident {
                // A macro's arguments: parsed on their own, if at all.
                keep_deeper(&mut deepest, nested);
            } else if nested.0 > inner.0 {
                inner = nested;
            }
            after_brace = g.delimiter() == Delimiter::Brace;
        }
        prev_bang_after_ident =
            matches!(&token, TokenTree::Punct(p) if p.as_char() == '!') && prev_ident;
        prev_ident = matches!(&token, TokenTree::Ident(_));
        prev_expr_end = match &token {
            TokenTree::Ident(_) | TokenTree::Literal(_) => true,
            TokenTree::Group(g) => {
                matches!(g.delimiter(), Delimiter::Parenthesis | Delimiter::Bracket)
            }
            TokenTree::Punct(_) => false,
        };
        prev_joint_eq = matches!(&token, TokenTree::Punct(p) if p.as_char() == '=' && p.spacing() == proc_macro2::Spacing::Joint);
    }
    keep_deeper(&mut deepest, run_bound(run, run_line, inner));
    deepest
}

fn keep_deeper(deepest: &mut (usize, usize), candidate: (usize, usize)) {
    if candidate.0 > deepest.0 {
        *deepest = candidate;
    }
}

/// Run `analyse` on a thread whose stack fits a nesting bound of `depth`; `None` when no such
/// thread can be started.
pub fn on_deep_stack<T: Send>(depth: usize, analyse: impl FnOnce() -> T + Send) -> Option<T> {
    let size = depth
        .saturating_mul(STACK_PER_LEVEL)
        .saturating_add(4 << 20);
    std::thread::scope(|scope| {
        let thread = std::thread::Builder::new()
            .name("tracegate-rust-deep".into())
            .stack_size(size)
            .spawn_scoped(scope, analyse)
            .ok()?;
        match thread.join() {
            Ok(v) => Some(v),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bound(src: &str) -> usize {
        nesting_bound(&src.parse().unwrap()).0
    }

    #[test]
    fn ordinary_code_is_shallow() {
        let src = "use std::io;\n\n#[derive(Debug)]\npub struct A { x: u8, y: Vec<String> }\n\nfn a(x: u8, y: &str) -> Result<(), String> {\n    let v = vec![1, 2, 3];\n    if x > 1 { return Err(y.to_string()); } else if x == 0 { println!(\"{}\", v.len()); }\n    Ok(())\n}\nfn b() {}\nfn c() {}\nimpl A { fn d(&self) -> u8 { self.x } }\n";
        let b = bound(src);
        assert!(b <= SHALLOW, "{b}");
        // Many items in a row, long matches without commas, macros: nothing adds up.
        let many: String = (0..3000)
            .map(|i| format!("/// Handler {i}.\n#[inline]\npub fn handler_{i}(x: u32) -> u32 {{ x + {i} }}\n"))
            .collect();
        assert!(bound(&many) <= SHALLOW, "{}", bound(&many));
        let arms: String = (0..5000)
            .map(|i| format!("\"k{i}\" => {{ {i} }}\n"))
            .collect();
        let matches = format!("fn m(s: &str) -> u32 {{ match s {{ {arms} _ => 0 }} }}");
        assert!(bound(&matches) <= SHALLOW, "{}", bound(&matches));
        let rows: String = (0..2000)
            .map(|i| format!("<div class=\"row\"> <span> {{ \"cell {i}\" }} </span> </div>\n"))
            .collect();
        let html = format!("fn v() -> Html {{ html! {{ {rows} }} }}");
        assert!(bound(&html) <= SHALLOW, "{}", bound(&html));
    }

    #[test]
    fn deep_shapes_are_bounded_from_above() {
        for (src, depth) in [
            (
                format!("fn m() {{ let a = {}true; }}", "!".repeat(300)),
                300,
            ),
            (
                format!("type T = {}u8{};", "Vec<".repeat(300), ">".repeat(300)),
                300,
            ),
            (format!("fn m() {{ x{}; }}", ".f()".repeat(300)), 300),
            (format!("fn m() {{ x{}; }}", "[0]".repeat(300)), 300),
            (format!("fn m() {{ x{}; }}", "(0)".repeat(300)), 300),
            (
                format!("fn m() {{ if a {{}} {} }}", "else if a {} ".repeat(300)),
                300,
            ),
        ] {
            assert!(bound(&src) >= depth, "{}: {}", &src[..20], bound(&src));
        }
    }
}
