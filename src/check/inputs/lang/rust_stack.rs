//! Deep Rust expressions and syn's recursion. syn parses (and the syntax tree is visited and
//! dropped) recursively, so nesting that brackets do not show — `!!!…!x`, `Vec<Vec<…>>`, a
//! long method chain, `else if` after `else if`, `return return …`, `x = x = …` — can
//! overflow a 2 MiB thread. Every Rust file is analysed on a thread with a large stack: the
//! walk's own threads ([`spawn_with_large_stack`]; no hand-off, which cost as much as the
//! parse), or elsewhere a long-lived worker thread ([`on_worker`], one per calling thread).
//! Before parsing, the token stream gives an upper bound on that nesting; a file whose bound
//! does not fit that stack is analysed on a thread sized for it ([`on_deep_stack`]), and one
//! over [`MAX_DEPTH`] is not analysed (a TG199 note).

use proc_macro2::{Delimiter, Spacing, TokenStream, TokenTree};

/// The stack of the long-lived thread Rust files are analysed on ([`on_worker`]): only the
/// pages a file touches are committed. A bound whose [`stack_for`] fits runs there; the
/// shapes in the tests overflow 2 MiB from a bound of about 355 in a release build (about ten
/// times sooner in a debug build), so this leaves a wide margin, also for nesting the bound
/// does not see.
pub const WORKER_STACK: usize = 256 << 20;

/// Above this bound a file is refused: no hand-written Rust nests this deep.
pub const MAX_DEPTH: usize = 16_000;
/// Stack per unit of the bound: enough for a debug build (syn's type parsing takes about 50 KiB
/// per `Vec<`, two units, there; 5 KiB in release) on top of 4 MiB for the brackets. Only
/// touched pages are ever committed, and a stack the system cannot reserve makes the file a
/// note, not a crash.
const STACK_PER_LEVEL: usize = 64 * 1024;

/// Keywords that start or continue an expression syn parses by recursion (`return return x`,
/// `let _ = let _ = …` in a condition, `for a in for b in …`): each adds a level.
const RECURSIVE_KEYWORDS: &[&str] = &[
    "as", "async", "become", "box", "break", "do", "else", "for", "if", "in", "let", "loop",
    "match", "move", "return", "static", "unsafe", "while", "yield",
];

/// An upper bound on the syntax-tree nesting `tokens` can produce, and the line where the
/// deepest run starts. Within a run of tokens, each operator (`!`, `-`, `&`, `.`, `?`, `<`,
/// `|`, `=`, binary operators…) and each of the `RECURSIVE_KEYWORDS` may add a level, plus
/// the deepest group inside it. A run ends at `;`, `,`, an attribute (`#`), and after a `{…}`
/// block unless the expression goes on (`else`, `.`, `?`, `as`). Names, literals, `=>`, `:`
/// and the first `=` of `==` add nothing; a macro's `(…)`/`[…]`/`{…}` counts on its own (syn
/// keeps it as tokens).
pub fn nesting_bound(tokens: &TokenStream) -> (usize, usize) {
    bound_below(tokens, 0)
}

/// [`nesting_bound`] of a group `levels` brackets deep: past [`MAX_DEPTH`] brackets the answer
/// is known (too deep), so the recursion stops there.
fn bound_below(tokens: &TokenStream, levels: usize) -> (usize, usize) {
    if levels > MAX_DEPTH {
        return (MAX_DEPTH + 1, 1);
    }
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
                // `=` counts once (`x = x = …` nests); the `=` of `=>` or of `==` does not.
                let joint_eq = c == '=' && p.spacing() == Spacing::Joint;
                !(matches!(c, ';' | ',' | '#' | ':' | '\'') || arrow || joint_eq)
            }
            TokenTree::Ident(i) => RECURSIVE_KEYWORDS.iter().any(|k| i == k),
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
            // Each bracket is a level too (the text's bracket count can be fooled: a `)` in a
            // comment cancels a `{` there, not here).
            let (inner_depth, inner_line) = bound_below(&g.stream(), levels + 1);
            let nested = (inner_depth + 1, inner_line.max(g.span().start().line));
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
        prev_joint_eq = matches!(&token, TokenTree::Punct(p) if p.as_char() == '=' && p.spacing() == Spacing::Joint);
    }
    keep_deeper(&mut deepest, run_bound(run, run_line, inner));
    deepest
}

fn keep_deeper(deepest: &mut (usize, usize), candidate: (usize, usize)) {
    if candidate.0 > deepest.0 {
        *deepest = candidate;
    }
}

/// The stack a file with this nesting bound needs.
pub fn stack_for(depth: usize) -> usize {
    depth
        .saturating_mul(STACK_PER_LEVEL)
        .saturating_add(4 << 20)
}

type Job = Box<dyn FnOnce() + Send>;

thread_local! {
    /// The stack of the calling thread when it was started by [`spawn_with_large_stack`]
    /// (0 otherwise): Rust files are then analysed on it directly, with no hand-off.
    static OWN_STACK: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    /// The calling thread's Rust worker: a long-lived thread with [`WORKER_STACK`], started on
    /// first use and ended when the caller's thread ends (the sender is dropped then).
    static WORKER: std::cell::RefCell<Option<std::sync::mpsc::Sender<Job>>> =
        const { std::cell::RefCell::new(None) };
}

/// The stack Rust analysis may use on the calling thread: [`WORKER_STACK`] (less a margin for
/// the frames below) on a thread from [`spawn_with_large_stack`], else 0 (use [`on_worker`]).
pub fn own_stack() -> usize {
    OWN_STACK.with(|s| s.get().saturating_sub(1 << 20))
}

/// Start a scoped thread for analysing files with [`WORKER_STACK`] (only touched pages are
/// committed), on which Rust files are analysed directly ([`own_stack`]). When the system
/// cannot reserve that much, the thread gets the default stack and Rust files go to a worker.
pub fn spawn_with_large_stack<'scope, T, F>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    name: &str,
    f: F,
) -> std::io::Result<std::thread::ScopedJoinHandle<'scope, T>>
where
    T: Send + 'scope,
    F: FnOnce() -> T + Send + Copy + 'scope,
{
    let large = std::thread::Builder::new()
        .name(name.into())
        .stack_size(WORKER_STACK)
        .spawn_scoped(scope, move || {
            OWN_STACK.with(|s| s.set(WORKER_STACK));
            f()
        });
    match large {
        Ok(handle) => Ok(handle),
        Err(_) => std::thread::Builder::new()
            .name(name.into())
            .spawn_scoped(scope, f),
    }
}

/// Run `job` on this thread's Rust worker and wait for it; `None` when no worker can be
/// started. A panic in `job` is raised again here, on the caller's thread.
pub fn on_worker<T: Send + 'static>(job: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let (reply, answer) = std::sync::mpsc::sync_channel(1);
    let wrapped: Job = Box::new(move || {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
        let _ = reply.send(result);
    });
    let sent = WORKER.with(|cell| {
        let mut worker = cell.borrow_mut();
        if worker.is_none() {
            let (tx, rx) = std::sync::mpsc::channel::<Job>();
            std::thread::Builder::new()
                .name("tracegate-rust".into())
                .stack_size(WORKER_STACK)
                .spawn(move || {
                    while let Ok(job) = rx.recv() {
                        job();
                    }
                })
                .ok()?;
            *worker = Some(tx);
        }
        worker.as_ref()?.send(wrapped).ok()
    });
    sent?;
    match answer.recv().ok()? {
        Ok(value) => Some(value),
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// Run `analyse` on a thread whose stack fits a nesting bound of `depth`; `None` when no such
/// thread can be started.
pub fn on_deep_stack<T: Send>(depth: usize, analyse: impl FnOnce() -> T + Send) -> Option<T> {
    let size = stack_for(depth);
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

    /// Whether a file with this nesting bound is analysed on the worker's own stack.
    fn fits_worker_stack(depth: usize) -> bool {
        stack_for(depth) <= WORKER_STACK
    }

    /// Ordinary files stay far below the worker's limit.
    const ORDINARY: usize = 128;

    #[test]
    fn ordinary_code_is_shallow() {
        let src = "use std::io;\n\n#[derive(Debug)]\npub struct A { x: u8, y: Vec<String> }\n\nfn a(x: u8, y: &str) -> Result<(), String> {\n    let v = vec![1, 2, 3];\n    if x > 1 { return Err(y.to_string()); } else if x == 0 { println!(\"{}\", v.len()); }\n    Ok(())\n}\nfn b() {}\nfn c() {}\nimpl A { fn d(&self) -> u8 { self.x } }\n";
        let b = bound(src);
        assert!(b <= ORDINARY, "{b}");
        // Many items in a row, long matches without commas, macros: nothing adds up.
        let many: String = (0..3000)
            .map(|i| format!("/// Handler {i}.\n#[inline]\npub fn handler_{i}(x: u32) -> u32 {{ x + {i} }}\n"))
            .collect();
        assert!(bound(&many) <= ORDINARY, "{}", bound(&many));
        let arms: String = (0..5000)
            .map(|i| format!("\"k{i}\" => {{ {i} }}\n"))
            .collect();
        let matches = format!("fn m(s: &str) -> u32 {{ match s {{ {arms} _ => 0 }} }}");
        assert!(bound(&matches) <= ORDINARY, "{}", bound(&matches));
        let rows: String = (0..2000)
            .map(|i| format!("<div class=\"row\"> <span> {{ \"cell {i}\" }} </span> </div>\n"))
            .collect();
        let html = format!("fn v() -> Html {{ html! {{ {rows} }} }}");
        assert!(bound(&html) <= ORDINARY, "{}", bound(&html));
    }

    /// Shapes syn parses by recursion without brackets, by name (`n` levels each).
    fn deep_shapes(n: usize) -> Vec<(&'static str, String)> {
        vec![
            ("not", format!("let a = {}true;", "!".repeat(n))),
            (
                "generic",
                format!("type T = {}u8{};", "Vec<".repeat(n), ">".repeat(n)),
            ),
            (
                "path",
                format!("let a = None::<{}u8{}>;", "a::b<".repeat(n), ">".repeat(n)),
            ),
            (
                "dyn",
                format!(
                    "let a = None::<{}u8{}>;",
                    "Box<dyn A<".repeat(n),
                    ">>".repeat(n)
                ),
            ),
            (
                "fn pointer",
                format!("let a = None::<{}u8>;", "fn() -> ".repeat(n)),
            ),
            ("method", format!("x{};", ".f()".repeat(n))),
            ("index", format!("x{};", "[0]".repeat(n))),
            ("call", format!("x{};", "(0)".repeat(n))),
            (
                "else if",
                format!("if a {{}} {}", "else if a {} ".repeat(n)),
            ),
            ("closure", format!("let a = {}x;", "move |x| ".repeat(n))),
            ("return", format!("{}x;", "return ".repeat(n))),
            ("break", format!("loop {{ {}x }}", "break ".repeat(n))),
            ("let chain", format!("if {}true {{}}", "let _ = ".repeat(n))),
            ("assignment", format!("x{};", " = x".repeat(n))),
            ("compound", format!("x{};", " += x".repeat(n))),
            (
                "binding",
                format!("match x {{ {}_ => 0 }}", "a @ ".repeat(n)),
            ),
        ]
    }

    #[test]
    fn deep_shapes_are_bounded_from_above() {
        for (name, body) in deep_shapes(300) {
            let src = format!("fn m() {{ {body} }}");
            assert!(bound(&src) >= 300, "{name}: {}", bound(&src));
        }
    }

    /// What lets `rust::analyse` skip the bound for a file whose length fits the stack: no
    /// bound exceeds the text's length, even for the densest shapes (one byte a level).
    #[test]
    fn no_bound_exceeds_the_text_length() {
        let dense = [
            "!".repeat(500) + "x",
            "-".repeat(500) + "x",
            "&".repeat(500) + "x",
            "*".repeat(500) + "x",
            "x".to_string() + &"?".repeat(500),
            "(".repeat(200) + &")".repeat(200),
            "[".repeat(200) + &"]".repeat(200),
            "{".repeat(200) + &"}".repeat(200),
            "x=".repeat(300) + "x",
            "//!\n".repeat(100),
            "//!".to_string(),
            "///x\n".repeat(100) + "fn f(){}",
            "#![a]".repeat(100),
            "f(0)".repeat(100),
            "x".to_string() + &"(0)".repeat(200),
            "x".to_string() + &"[0]".repeat(200),
            "m!(".repeat(100) + &")".repeat(100),
            "|x|".repeat(200) + "x",
            "a as b ".repeat(100),
        ];
        for src in dense.iter().cloned().chain(
            deep_shapes(200)
                .into_iter()
                .map(|(_, b)| format!("fn m() {{ {b} }}")),
        ) {
            let Ok(tokens) = src.parse::<TokenStream>() else {
                continue;
            };
            let b = nesting_bound(&tokens).0;
            assert!(b <= src.len(), "{b} > {} for {src:.60}", src.len());
        }
    }

    /// Each shape at the largest bound a file may have and still be analysed on the worker's
    /// own stack, inside 126 nested blocks (the bracket limit), called from a thread with a
    /// walker's 2 MiB stack.
    #[test]
    fn the_largest_nesting_kept_on_the_worker_fits_its_stack() {
        let mut limit = 1;
        while fits_worker_stack(limit + 1) {
            limit += 1;
        }
        for (name, _) in deep_shapes(1) {
            let sized = |n: usize| {
                let (_, body) = deep_shapes(n)
                    .into_iter()
                    .find(|(s, _)| *s == name)
                    .unwrap();
                format!(
                    "fn m() {{ let _ = {}{body}{}; }}\n",
                    "{".repeat(126),
                    "}".repeat(126)
                )
            };
            // The bound grows by one to three per level: step by 64 levels, then by one.
            let mut n = 1;
            while bound(&sized(n + 64)) <= limit {
                n += 64;
            }
            while bound(&sized(n + 1)) <= limit {
                n += 1;
            }
            let src = sized(n);
            assert!(fits_worker_stack(bound(&src)) && n >= 500, "{name}: {n}");
            assert_eq!(on_2_mib(src), Ok(()), "{name} x{n}");
        }
    }

    /// Analyse `src` from a thread with a walker's 2 MiB stack.
    fn on_2_mib(src: String) -> Result<(), String> {
        std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || super::super::rust::analyse("src/main.rs", &src).map(|_| ()))
            .unwrap()
            .join()
            .unwrap()
    }

    /// The walk's threads analyse Rust in place, deep nesting included; other threads hand it
    /// to a worker.
    #[test]
    fn walk_threads_analyse_in_place() {
        assert_eq!(own_stack(), 0);
        let sources: Vec<String> = deep_shapes(2000)
            .into_iter()
            .map(|(_, body)| format!("fn m() {{ {body} }}\n"))
            .collect();
        let sources = &sources;
        let results = std::thread::scope(|scope| {
            let work = move || {
                let own = own_stack();
                let done: Vec<bool> = sources
                    .iter()
                    .map(|src| super::super::rust::analyse("src/main.rs", src).is_ok())
                    .collect();
                (own, done)
            };
            spawn_with_large_stack(scope, "test-walk", work)
                .unwrap()
                .join()
                .unwrap()
        });
        assert!(results.0 > 200 << 20, "{}", results.0);
        assert!(results.1.iter().all(|ok| *ok), "{:?}", results.1);
    }

    /// Nesting the bound does not see (review findings: commas inside generic arguments and
    /// closure parameters end its runs, so do blocks before an operator) overflowed 2 MiB from a
    /// few hundred levels in a release build; on the worker's stack two thousand are analysed.
    #[test]
    fn nesting_the_bound_misses_runs_on_the_worker_stack() {
        let n = 2000;
        for (name, src) in [
            (
                "generic arguments",
                format!(
                    "type T = {}V{};\nfn main() {{}}\n",
                    "HashMap<K, ".repeat(n),
                    ">, V".repeat(n - 1) + ">"
                ),
            ),
            (
                "closure parameters",
                format!("fn main() {{ let _ = {}0; }}\n", "|a, b| ".repeat(n)),
            ),
            (
                "assignments of blocks",
                format!("fn main() {{ x{}; }}\n", " = {x}".repeat(n)),
            ),
        ] {
            assert!(bound(&src) < 16, "{name}: {}", bound(&src));
            assert_eq!(on_2_mib(src), Ok(()), "{name}");
        }
        // Brackets count from the tokens: a `)` in a comment does not cancel a `{` there.
        let blocks = format!(
            "fn main() {{ let _ = {}0{}; }}\n",
            "{/*)*/ ".repeat(n),
            " }".repeat(n)
        );
        assert!(bound(&blocks) >= n, "{}", bound(&blocks));
        assert_eq!(on_2_mib(blocks), Ok(()));
    }
}
