//! A parse with a work budget, so that no source file can stall `check`.
//!
//! tree-sitter's parse time is linear for ordinary code, but some grammars go quadratic on
//! pathological input (tree-sitter-python over a long run of comment lines after an indented
//! block: a 3 MiB file did not finish in five minutes). The parser calls a progress callback
//! every 100 parse operations, and asks for its input chunk by chunk; the parse is cancelled
//! once either count (operations, or bytes handed to the lexer, which a scanner that looks far
//! ahead again and again re-reads) passes a budget proportional to the file's length. The budget counts work, not time, so the verdict is
//! the same on a fast and a slow machine: a cancelled file is a file that cannot be analysed
//! (TG199, and its service `unknown` when a signal could be written in it).

use std::ops::ControlFlow;

use tree_sitter::{ParseOptions, ParseState, Parser, Tree};

/// Progress callbacks (each about 100 parse operations) allowed per byte of source, times 1024.
/// Ordinary code of every analysed language stays under a tenth of it (measured on the fixtures
/// and the benchmark tree: see the test below).
const CALLS_PER_KIB: usize = 512;
/// Callbacks allowed whatever the length (a short file with dense syntax).
const MIN_CALLS: usize = 10_000;

/// The progress callbacks a parse of `len` bytes may take.
pub fn budget(len: usize) -> usize {
    MIN_CALLS.saturating_add(len.saturating_mul(CALLS_PER_KIB) / 1024)
}

/// Parse `source` with `parser`, giving up (with a one-line reason) past [`budget`].
pub fn parse(parser: &mut Parser, source: &str) -> Result<Tree, String> {
    let limit = budget(source.len());
    let mut calls = 0usize;
    let tree = parse_counting(parser, source, limit, &mut calls);
    match tree {
        Some(tree) if calls <= limit => Ok(tree),
        _ => {
            // a cancelled parse resumes where it stopped unless the parser is reset
            parser.reset();
            if calls > limit {
                Err(format!(
                    "the parser gave up after {} operations on {} bytes (over its work budget: \
                     a grammar's worst case; the file is not analysed rather than stalling the check)",
                    calls.saturating_mul(100),
                    source.len()
                ))
            } else {
                Err("parser gave up".to_string())
            }
        }
    }
}

/// Parse, counting progress callbacks in `calls`; cancelled once they pass `limit`.
fn parse_counting(
    parser: &mut Parser,
    source: &str,
    limit: usize,
    calls: &mut usize,
) -> Option<Tree> {
    let bytes = source.as_bytes();
    // The lexer is fed in chunks and every byte handed out is counted: a grammar's external
    // scanner that looks far ahead again and again (the quadratic case) re-reads chunks without
    // taking parse operations, so its work shows here. Past the budget the input ends (the
    // scanner's loop stops at the end of input) and the next progress check cancels the parse.
    let byte_limit = len_budget(bytes.len());
    let fed = std::cell::Cell::new(0usize);
    let mut input = |offset: usize, _| {
        let chunk = bytes.get(offset..).unwrap_or_default();
        let chunk = &chunk[..chunk.len().min(CHUNK)];
        fed.set(fed.get().saturating_add(chunk.len()));
        if fed.get() > byte_limit {
            return &[][..];
        }
        chunk
    };
    let mut progress = |_: &ParseState| {
        *calls += 1;
        if *calls > limit || fed.get() > byte_limit {
            *calls = (*calls).max(limit + 1);
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    };
    let options = ParseOptions::new().progress_callback(&mut progress);
    let tree = parser.parse_with_options(&mut input, None, Some(options));
    if fed.get() > byte_limit {
        // the input was cut short: whatever tree came back is not the file's
        *calls = (*calls).max(limit.saturating_add(1));
        return None;
    }
    tree
}

/// Bytes the lexer is handed at a time.
const CHUNK: usize = 16 * 1024;

/// Bytes the lexer may be handed in all for a source of `len` bytes (it re-reads a chunk when
/// it backtracks across a chunk boundary; ordinary code reads each byte about once).
fn len_budget(len: usize) -> usize {
    len.saturating_mul(64).saturating_add(4 * 1024 * 1024)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn parser(language: tree_sitter::Language) -> Parser {
        let mut parser = Parser::new();
        parser.set_language(&language).unwrap();
        parser
    }

    /// The progress callbacks a full parse takes.
    fn calls(parser: &mut Parser, source: &str) -> usize {
        let mut calls = 0;
        assert!(parse_counting(parser, source, usize::MAX, &mut calls).is_some());
        calls
    }

    #[test]
    fn python_comment_runs_after_a_block_are_cut_off_not_parsed_for_minutes() {
        let mut source = String::from("def handler():\n    return 1\n");
        for i in 0..40_000 {
            source.push_str(&format!("    # padding comment line {i}\n"));
        }
        let mut python = parser(tree_sitter_python::LANGUAGE.into());
        let err = parse(&mut python, &source).unwrap_err();
        assert!(err.contains("gave up after"), "{err}");
        // the parser was reset: the next file parses from its own start
        let tree = parse(&mut python, "import os\n").unwrap();
        assert!(!tree.root_node().has_error());
    }

    #[test]
    fn ordinary_code_of_every_language_stays_far_under_the_budget() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let languages: [(&str, tree_sitter::Language); 6] = [
            ("py", tree_sitter_python::LANGUAGE.into()),
            ("go", tree_sitter_go::LANGUAGE.into()),
            ("js", tree_sitter_javascript::LANGUAGE.into()),
            ("ts", tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into()),
            ("java", tree_sitter_java::LANGUAGE.into()),
            ("cs", tree_sitter_c_sharp::LANGUAGE.into()),
        ];
        let mut checked = 0;
        for entry in ignore::WalkBuilder::new(&root).hidden(false).build() {
            let entry = entry.unwrap();
            let path = entry.path();
            let Some(ext) = path.extension().and_then(|e| e.to_str()) else {
                continue;
            };
            let Some((_, language)) = languages.iter().find(|(e, _)| *e == ext) else {
                continue;
            };
            let Ok(source) = std::fs::read_to_string(path) else {
                continue;
            };
            // a repeated file measures the per-byte rate, not the fixed allowance
            let big = source.repeat(200);
            let used = calls(&mut parser(language.clone()), &big);
            assert!(
                used * 10 <= budget(big.len()),
                "{}: {used} callbacks for {} bytes, budget {}",
                path.display(),
                big.len(),
                budget(big.len())
            );
            checked += 1;
        }
        assert!(checked >= 20, "only {checked} fixture sources found");
    }
}
