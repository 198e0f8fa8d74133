//! Pipelines inside actions: tokens (fields, variables, literals, `|`, parentheses) and the
//! [`Pipeline`] they make.

use super::parse::{Arg, Pipeline, MAX_NESTING};

pub(super) fn literal_len(s: &str) -> usize {
    let q = s.as_bytes().first().copied().unwrap_or(b'"');
    let mut i = 1;
    let b = s.as_bytes();
    while i < b.len() {
        if b[i] == b'\\' && q == b'"' {
            i += 2;
            continue;
        }
        if b[i] == q {
            return i + 1;
        }
        i += 1;
    }
    s.len()
}

#[derive(Clone, Debug, PartialEq)]
pub(super) enum Token {
    Dot(Vec<String>),
    Var(String, Vec<String>),
    Ident(String),
    Str(String),
    Num(f64),
    Pipe,
    Open,
    Close(Vec<String>),
    Declare,
    Assign,
    Comma,
}

fn fields(s: &str) -> Vec<String> {
    s.split('.')
        .filter(|f| !f.is_empty())
        .map(str::to_owned)
        .collect()
}

pub(super) fn tokenize(s: &str) -> Result<Vec<Token>, String> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    let word_end = |mut j: usize| {
        while j < b.len()
            && (b[j].is_ascii_alphanumeric() || b[j] == b'_' || b[j] == b'.' || b[j] == b'$')
        {
            j += 1;
        }
        j
    };
    while i < b.len() {
        let c = b[i];
        match c {
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            b'|' => {
                out.push(Token::Pipe);
                i += 1;
            }
            b'(' => {
                out.push(Token::Open);
                i += 1;
            }
            b')' => {
                let j = word_end(i + 1);
                out.push(Token::Close(fields(&s[i + 1..j])));
                i = j;
            }
            b',' => {
                out.push(Token::Comma);
                i += 1;
            }
            b':' if b.get(i + 1) == Some(&b'=') => {
                out.push(Token::Declare);
                i += 2;
            }
            b'=' => {
                out.push(Token::Assign);
                i += 1;
            }
            b'"' | b'`' => {
                let len = literal_len(&s[i..]);
                let raw = &s[i..i + len];
                let text = if c == b'`' {
                    raw.trim_matches('`').to_owned()
                } else {
                    unquote(raw)?
                };
                out.push(Token::Str(text));
                i += len;
            }
            b'\'' => {
                // a rune literal: its code as a number
                let len = literal_len(&s[i..]);
                let ch = s[i + 1..i + len - 1].chars().next().unwrap_or('\0');
                out.push(Token::Num(f64::from(u32::from(ch))));
                i += len;
            }
            b'.' => {
                let j = word_end(i + 1);
                out.push(Token::Dot(fields(&s[i..j])));
                i = j;
            }
            b'$' => {
                let j = word_end(i + 1);
                let word = &s[i + 1..j];
                let (name, rest) = word.split_once('.').unwrap_or((word, ""));
                out.push(Token::Var(name.to_owned(), fields(rest)));
                i = j;
            }
            b'-' | b'+' | b'0'..=b'9' => {
                let mut j = i + 1;
                while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'.' || b[j] == b'_')
                {
                    j += 1;
                }
                let text = s[i..j].replace('_', "");
                let n = if let Some(hex) = text.strip_prefix("0x") {
                    i64::from_str_radix(hex, 16).map(|n| n as f64).ok()
                } else {
                    text.parse::<f64>().ok()
                };
                out.push(Token::Num(
                    n.ok_or_else(|| format!("bad number `{}`", &s[i..j]))?,
                ));
                i = j;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let j = word_end(i);
                out.push(Token::Ident(s[i..j].to_owned()));
                i = j;
            }
            _ => {
                return Err(format!(
                    "unexpected `{}`",
                    s[i..].chars().next().unwrap_or(' ')
                ))
            }
        }
    }
    Ok(out)
}

fn unquote(raw: &str) -> Result<String, String> {
    let inner = &raw[1..raw.len().saturating_sub(1).max(1)];
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('"') => out.push('"'),
            Some('\\') => out.push('\\'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => return Err("unterminated string".into()),
        }
    }
    Ok(out)
}

/// Parse a pipeline.
pub(crate) fn pipeline(s: &str) -> Result<Pipeline, String> {
    let tokens = tokenize(s)?;
    let mut pos = 0;
    let p = pipeline_tokens(&tokens, &mut pos, 0)?;
    if pos != tokens.len() {
        return Err(format!("unexpected tokens in `{s}`"));
    }
    Ok(p)
}

fn pipeline_tokens(tokens: &[Token], pos: &mut usize, depth: usize) -> Result<Pipeline, String> {
    if depth > MAX_NESTING {
        return Err(format!("parentheses nest deeper than {MAX_NESTING}"));
    }
    let mut p = Pipeline::default();
    // `$a := …`, `$i, $v := …`, `$a = …`
    let mut look = *pos;
    let mut vars = Vec::new();
    while let Some(Token::Var(name, f)) = tokens.get(look) {
        if !f.is_empty() {
            break;
        }
        vars.push(name.clone());
        look += 1;
        match tokens.get(look) {
            Some(Token::Comma) => look += 1,
            Some(Token::Declare) | Some(Token::Assign) => {
                p.assign = tokens.get(look) == Some(&Token::Assign);
                p.vars = std::mem::take(&mut vars);
                *pos = look + 1;
                break;
            }
            _ => break,
        }
    }
    let mut command = Vec::new();
    while let Some(t) = tokens.get(*pos) {
        match t {
            Token::Pipe => {
                if command.is_empty() {
                    return Err("empty command before `|`".into());
                }
                p.commands.push(std::mem::take(&mut command));
                *pos += 1;
            }
            Token::Close(_) => break,
            Token::Open => {
                *pos += 1;
                let inner = pipeline_tokens(tokens, pos, depth + 1)?;
                match tokens.get(*pos) {
                    Some(Token::Close(f)) => {
                        command.push(Arg::Sub(Box::new(inner), f.clone()));
                        *pos += 1;
                    }
                    _ => return Err("unclosed `(`".into()),
                }
            }
            Token::Dot(f) => {
                command.push(Arg::Dot(f.clone()));
                *pos += 1;
            }
            Token::Var(n, f) => {
                command.push(Arg::Var(n.clone(), f.clone()));
                *pos += 1;
            }
            Token::Str(s) => {
                command.push(Arg::Str(s.clone()));
                *pos += 1;
            }
            Token::Num(n) => {
                command.push(Arg::Num(*n));
                *pos += 1;
            }
            Token::Ident(w) => {
                command.push(match w.as_str() {
                    "true" => Arg::Bool(true),
                    "false" => Arg::Bool(false),
                    "nil" => Arg::Nil,
                    _ => Arg::Func(w.clone()),
                });
                *pos += 1;
            }
            Token::Declare | Token::Assign | Token::Comma => {
                return Err("unexpected `:=`, `=` or `,`".into())
            }
        }
    }
    if !command.is_empty() {
        p.commands.push(command);
    }
    if p.commands.is_empty() {
        return Err("empty pipeline".into());
    }
    Ok(p)
}
