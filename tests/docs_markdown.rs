//! The Markdown tables of README.md and docs/ render on GitHub: each starts after a blank line
//! with a header and a delimiter row, and every row has the header's number of cells (GitHub
//! splits cells at every unescaped `|`, inside code spans too). A row cut off from its table by
//! a paragraph renders as text: docs/check.md's `markdown` format row once did.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

fn cells(row: &str) -> usize {
    let mut count: usize = 0;
    let mut escaped = false;
    for c in row.trim().chars() {
        match c {
            '\\' if !escaped => {
                escaped = true;
                continue;
            }
            '|' if !escaped => count += 1,
            _ => {}
        }
        escaped = false;
    }
    count.saturating_sub(1)
}

fn is_delimiter(row: &str) -> bool {
    let row = row.trim();
    row.starts_with('|') && row.chars().all(|c| matches!(c, '|' | '-' | ':' | ' '))
}

/// Problems with the tables of one Markdown text, as `line: what`.
fn table_problems(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut problems = Vec::new();
    let mut fenced = false;
    let mut header_cells = None;
    for (i, line) in lines.iter().enumerate() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        }
        if fenced || !line.starts_with('|') {
            header_cells = None;
            continue;
        }
        let n = cells(line);
        match header_cells {
            Some(expected) if n != expected => {
                problems.push(format!("{}: {n} cells, the header has {expected}", i + 1));
            }
            Some(_) => {}
            None => {
                let before = if i > 0 { lines[i - 1].trim() } else { "" };
                if !before.is_empty() {
                    problems.push(format!(
                        "{}: a table row right after text (a row cut off from its table?)",
                        i + 1
                    ));
                }
                if !lines.get(i + 1).is_some_and(|next| is_delimiter(next)) {
                    problems.push(format!("{}: a table without a delimiter row", i + 1));
                }
                header_cells = Some(n);
            }
        }
    }
    problems
}

#[test]
fn a_row_after_a_paragraph_is_found() {
    let broken = "| a | b |\n|---|---|\n| 1 | 2 |\n\nText.\n| 3 | 4 |\n";
    assert_eq!(
        table_problems(broken),
        [
            "6: a table row right after text (a row cut off from its table?)",
            "6: a table without a delimiter row"
        ]
    );
    assert_eq!(
        table_problems("| a | b |\n|---|---|\n| `x|y` | 2 |\n| `x\\|y` | 2 |\n"),
        ["3: 3 cells, the header has 2"]
    );
    assert!(table_problems("```\n| not a table\n```\n").is_empty());
}

#[test]
fn every_table_in_the_docs_renders() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("README.md"), root.join("BENCHMARKS.md")];
    for entry in std::fs::read_dir(root.join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            files.push(path);
        }
    }
    let mut problems = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for problem in table_problems(&text) {
            problems.push(format!("{}:{problem}", file.display()));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
