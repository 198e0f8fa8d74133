//! The first step of reading a template: text and actions (`{{ … }}`), with the trim markers
//! (`{{-`, `-}}`) applied and comments dropped.

/// A piece of the source: text, or an action's inside with its line.
#[derive(Debug)]
pub(super) enum Piece {
    Text(String, u32),
    Action(String, u32),
}

/// Split `src` into text and actions, applying the trim markers.
pub(super) fn lex(src: &str) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut rest = src;
    let mut line = 1u32;
    let mut trim_next = false;
    while !rest.is_empty() {
        let Some(open) = rest.find("{{") else {
            let text = if trim_next { rest.trim_start() } else { rest };
            pieces.push(Piece::Text(
                text.to_owned(),
                line + leading_newlines(rest, text),
            ));
            break;
        };
        let mut text = &rest[..open];
        let after = &rest[open + 2..];
        let trim_left =
            after.starts_with("- ") || after.starts_with("-\n") || after.starts_with("-\t");
        let text_line = line;
        line += newlines(&rest[..open]);
        let shown_from = if trim_next { text.trim_start() } else { text };
        let start_line = text_line + leading_newlines(text, shown_from);
        text = shown_from;
        if trim_left {
            text = text.trim_end();
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text.to_owned(), start_line));
        }
        let inner_start = if trim_left { &after[1..] } else { after };
        let close =
            find_close(inner_start).ok_or_else(|| format!("line {line}: unclosed action"))?;
        let mut inner = &inner_start[..close];
        trim_next = false;
        if inner.ends_with(" -") || inner.ends_with("\n-") || inner.ends_with("\t-") {
            inner = &inner[..inner.len() - 1];
            trim_next = true;
        }
        let action_line = line;
        line += newlines(&inner_start[..close + 2]);
        let inner = inner.trim();
        if !(inner.starts_with("/*") && inner.ends_with("*/")) {
            pieces.push(Piece::Action(inner.to_owned(), action_line));
        }
        rest = &inner_start[close + 2..];
    }
    Ok(pieces)
}

fn newlines(s: &str) -> u32 {
    s.bytes().filter(|b| *b == b'\n').count() as u32
}

/// Newlines cut off the front of `whole` to leave `kept` (a suffix of it).
fn leading_newlines(whole: &str, kept: &str) -> u32 {
    newlines(&whole[..whole.len() - kept.len()])
}

/// The `}}` closing an action, outside string literals; a comment (`/* … */`, where an
/// apostrophe is prose) ends at its `*/`.
fn find_close(s: &str) -> Option<usize> {
    if s.trim_start().starts_with("/*") {
        let end = s.find("*/")?;
        return s[end..].find("}}").map(|i| end + i);
    }
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut quote: Option<u8> = None;
    while i + 1 < bytes.len() + 1 && i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(q) => {
                if b == b'\\' && q == b'"' {
                    i += 1;
                } else if b == q {
                    quote = None;
                }
            }
            None => {
                if b == b'"' || b == b'`' || b == b'\'' {
                    quote = Some(b);
                } else if b == b'}' && bytes.get(i + 1) == Some(&b'}') {
                    return Some(i);
                }
            }
        }
        i += 1;
    }
    None
}
