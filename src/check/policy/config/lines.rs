//! Where each key of a YAML file is, so that a problem can name its line.

use std::collections::HashMap;

/// Lines of block-style YAML keys and sequence items, by path (`waivers[0].expires`,
/// `rules.TG102`), so that validation problems can name their line. Flow-style values fall
/// back to the line of their nearest block-style ancestor.
pub(crate) struct LineIndex {
    lines: HashMap<String, u32>,
}

impl LineIndex {
    pub(crate) fn new(text: &str) -> Self {
        let mut lines = HashMap::new();
        // (column, path segment, is a sequence item)
        let mut stack: Vec<(usize, String, bool)> = Vec::new();
        let mut counters: HashMap<String, usize> = HashMap::new();
        let mut block_scalar: Option<usize> = None;
        for (n, line) in text.lines().enumerate() {
            let number = (n + 1) as u32;
            let indent = line.len() - line.trim_start_matches(' ').len();
            let content = line[indent..].trim_end();
            if content.is_empty() || content.starts_with('#') {
                continue;
            }
            if let Some(col) = block_scalar {
                if indent > col {
                    continue;
                }
                block_scalar = None;
            }
            if content == "---" || content == "..." {
                stack.clear();
                continue;
            }
            let mut col = indent;
            let mut rest = content;
            loop {
                if rest == "-" || rest.starts_with("- ") {
                    while stack
                        .last()
                        .is_some_and(|(c, _, item)| *c > col || (*c == col && *item))
                    {
                        stack.pop();
                    }
                    let parent = join(&stack);
                    let index = counters.entry(format!("{parent}@{col}")).or_insert(0);
                    stack.push((col, format!("[{index}]"), true));
                    *index += 1;
                    lines.entry(join(&stack)).or_insert(number);
                    let after = &rest[1..];
                    let spaces = after.len() - after.trim_start_matches(' ').len();
                    col += 1 + spaces;
                    rest = after.trim_start_matches(' ');
                    if rest.is_empty() {
                        break;
                    }
                    continue;
                }
                if let Some((key, value)) = split_key(rest) {
                    while stack.last().is_some_and(|(c, _, _)| *c >= col) {
                        stack.pop();
                    }
                    stack.push((col, key, false));
                    lines.entry(join(&stack)).or_insert(number);
                    let value = value.trim_start();
                    if value.starts_with('|') || value.starts_with('>') {
                        block_scalar = Some(col);
                    }
                }
                break;
            }
        }
        LineIndex { lines }
    }

    /// The line of `path`, else of its nearest ancestor.
    pub(crate) fn locate(&self, path: &str) -> Option<u32> {
        let mut path = path;
        loop {
            if let Some(line) = self.lines.get(path) {
                return Some(*line);
            }
            let cut = path.rfind(['.', '['])?;
            path = &path[..cut];
        }
    }
}

fn join(stack: &[(usize, String, bool)]) -> String {
    let mut out = String::new();
    for (_, seg, item) in stack {
        if !*item && !out.is_empty() {
            out.push('.');
        }
        out.push_str(seg);
    }
    out
}

/// `key: value` → (key, value) for a plain or quoted key.
fn split_key(text: &str) -> Option<(String, &str)> {
    let (key, rest) = if let Some(quote) = text.chars().next().filter(|c| *c == '"' || *c == '\'') {
        let end = text[1..].find(quote)? + 1;
        (text[1..end].to_owned(), &text[end + 1..])
    } else {
        let colon = text
            .char_indices()
            .find(|(i, c)| *c == ':' && text[i + 1..].chars().next().is_none_or(|n| n == ' '))?
            .0;
        if text[..colon].contains(['{', '[', '#']) {
            return None;
        }
        (text[..colon].trim().to_owned(), &text[colon..])
    };
    let value = rest.trim_start().strip_prefix(':')?;
    if !(value.is_empty() || value.starts_with(' ')) {
        return None;
    }
    Some((key, value))
}
