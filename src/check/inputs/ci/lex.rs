//! A shell script split into simple commands, words kept as written (quotes and `$`
//! references in), for [`shell`](super::shell) to expand.

/// One simple command: its words as written (quotes kept) and its 0-based line.
#[derive(Debug)]
pub(super) struct Command {
    pub words: Vec<String>,
    pub line: u32,
}

/// Split a script into simple commands at newlines (not after `\`), `;`, `&&`, `||`, `|`
/// and `&`, outside quotes; `do`, `then`, `else` and `{`/`(` opening a command are dropped.
pub(super) fn lex(text: &str) -> Vec<Command> {
    let mut out = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let (mut line, mut start) = (0u32, 0u32);
    let mut chars = text.chars().peekable();
    let mut quote: Option<char> = None;
    // Depth of `$(`, `${` and an array's `(` inside the current word.
    let mut depth = 0usize;
    let finish = |words: &mut Vec<String>, out: &mut Vec<Command>, start: u32| {
        while words
            .first()
            .is_some_and(|w| matches!(w.as_str(), "do" | "then" | "else" | "{" | "(" | "!"))
        {
            words.remove(0);
        }
        if !words.is_empty() {
            out.push(Command {
                words: std::mem::take(words),
                line: start,
            });
        }
    };
    while let Some(c) = chars.next() {
        if c == '\n' {
            line += 1;
        }
        if let Some(q) = quote {
            word.push(c);
            if c == q {
                quote = None;
            } else if c == '\\' && q == '"' {
                if let Some(n) = chars.next() {
                    word.push(n);
                }
            }
            continue;
        }
        match c {
            '\\' => match chars.next() {
                Some('\n') => line += 1,
                Some(n) => {
                    word.push('\\');
                    word.push(n);
                    in_word = true;
                }
                None => {}
            },
            '\'' | '"' => {
                quote = Some(c);
                word.push(c);
                in_word = true;
            }
            '$' if matches!(chars.peek(), Some('(' | '{')) => {
                word.push(c);
                if let Some(n) = chars.next() {
                    word.push(n);
                }
                depth += 1;
                in_word = true;
            }
            '(' if depth > 0 || word.ends_with('=') => {
                word.push(c);
                depth += 1;
                in_word = true;
            }
            // A subshell: `(cd web && docker build .)`.
            '(' if !in_word => {}
            ')' | '}' if depth > 0 => {
                word.push(c);
                depth -= 1;
            }
            ' ' | '\t' | '\r' if depth == 0 => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            // Inside `$( … )` or an array, separators are part of the word.
            '\n' | ' ' | '\t' | '\r' if depth > 0 => {
                word.push(' ');
            }
            '#' if !in_word && depth == 0 => {
                for n in chars.by_ref() {
                    if n == '\n' {
                        line += 1;
                        break;
                    }
                }
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
                finish(&mut words, &mut out, start);
                start = line;
            }
            ';' | '&' | '|' | '\n' if depth == 0 => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
                finish(&mut words, &mut out, start);
                start = line;
            }
            // The end of a subshell or group: `(cd web && docker build .)`.
            ')' | '}' => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            _ => {
                if !in_word && words.is_empty() {
                    start = line;
                }
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    finish(&mut words, &mut out, start);
    out
}
