//! Go `text/template` as Helm charts write it: actions between `{{ }}` (with the `{{-`/`-}}`
//! trim markers and `{{/* */}}` comments) parsed into a tree of [`Node`]s.

use std::collections::BTreeMap;

/// How deep blocks (`if`, `range`, `with`, `define`) and parentheses may nest: charts use a
/// handful; a hostile file must not exhaust the stack.
const MAX_NESTING: usize = 64;

/// A template's tree.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Node {
    /// Literal text and the template line it starts on.
    Text(String, u32),
    /// `{{ pipeline }}`: its value is written (a declaration writes nothing).
    Action(Pipeline, u32),
    /// `{{ if }}…{{ else if }}…{{ else }}…{{ end }}`.
    If(Vec<(Pipeline, Vec<Node>)>, Vec<Node>),
    /// `{{ range [$i, $v :=] pipeline }}…{{ else }}…{{ end }}`.
    Range(Pipeline, Vec<Node>, Vec<Node>),
    /// `{{ with pipeline }}…{{ else }}…{{ end }}`.
    With(Pipeline, Vec<Node>, Vec<Node>),
    /// `{{ template "name" pipeline }}`.
    Template(String, Option<Pipeline>, u32),
}

/// Commands joined by `|`, maybe declaring (`:=`) or assigning (`=`) variables.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct Pipeline {
    /// Variables declared or assigned, without `$`.
    pub(super) vars: Vec<String>,
    /// `=` rather than `:=`.
    pub(super) assign: bool,
    pub(super) commands: Vec<Vec<Arg>>,
}

/// An operand.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Arg {
    /// `.` followed by fields (`.Values.image.tag`; none for `.`).
    Dot(Vec<String>),
    /// `$name.field…` (`$` alone is the root data).
    Var(String, Vec<String>),
    /// A function name.
    Func(String),
    Str(String),
    Num(f64),
    Bool(bool),
    Nil,
    /// `( pipeline )` with fields after it.
    Sub(Box<Pipeline>, Vec<String>),
}

/// The templates a file defines (`{{ define "name" }}`) and its own body.
#[derive(Debug, Default)]
pub(super) struct Parsed {
    pub(super) body: Vec<Node>,
    pub(super) defines: BTreeMap<String, Vec<Node>>,
}

/// A piece of the source: text, or an action's inside with its line.
#[derive(Debug)]
enum Piece {
    Text(String, u32),
    Action(String, u32),
}

/// Split `src` into text and actions, applying the trim markers.
fn lex(src: &str) -> Result<Vec<Piece>, String> {
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

/// Parse a template file.
pub(super) fn parse(src: &str) -> Result<Parsed, String> {
    let pieces = lex(src)?;
    let mut out = Parsed::default();
    let mut iter = pieces.into_iter().peekable();
    let (body, end) = nodes(&mut iter, &mut out.defines, 0)?;
    if let Some((word, line)) = end {
        return Err(format!("line {line}: unexpected {{{{ {word} }}}}"));
    }
    out.body = body;
    Ok(out)
}

type Pieces = std::iter::Peekable<std::vec::IntoIter<Piece>>;

/// Nodes, and the `end`/`else …` that ended them (with its line), if any.
type Block = (Vec<Node>, Option<(String, u32)>);

/// Nodes up to an `end`/`else` (returned with its line and the rest of the action).
fn nodes(
    iter: &mut Pieces,
    defines: &mut BTreeMap<String, Vec<Node>>,
    depth: usize,
) -> Result<Block, String> {
    if depth > MAX_NESTING {
        return Err(format!("blocks nest deeper than {MAX_NESTING}"));
    }
    let mut out = Vec::new();
    while let Some(piece) = iter.next() {
        let (action, line) = match piece {
            Piece::Text(t, l) => {
                out.push(Node::Text(t, l));
                continue;
            }
            Piece::Action(a, l) => (a, l),
        };
        let (word, rest) = split_word(&action);
        let at = |e: String| format!("line {line}: {e}");
        match word {
            "end" => return Ok((out, Some(("end".into(), line)))),
            "else" => return Ok((out, Some((format!("else {rest}").trim().to_owned(), line)))),
            "if" => {
                let mut branches = vec![(pipeline(rest).map_err(at)?, Vec::new())];
                let mut otherwise = Vec::new();
                loop {
                    let (body, end) = nodes(iter, defines, depth + 1)?;
                    let Some((end, end_line)) = end else {
                        return Err(format!("line {line}: `if` without `end`"));
                    };
                    if let Some(last) = branches.last_mut() {
                        last.1 = body;
                    }
                    if end == "end" {
                        break;
                    }
                    if let Some(cond) = end.strip_prefix("else if ") {
                        branches.push((
                            pipeline(cond).map_err(|e| format!("line {end_line}: {e}"))?,
                            Vec::new(),
                        ));
                        continue;
                    }
                    // plain else: up to end
                    let (body, end) = nodes(iter, defines, depth + 1)?;
                    if end.as_ref().map(|e| e.0.as_str()) != Some("end") {
                        return Err(format!("line {end_line}: `else` without `end`"));
                    }
                    otherwise = body;
                    break;
                }
                out.push(Node::If(branches, otherwise));
            }
            "range" | "with" => {
                let p = pipeline(rest).map_err(at)?;
                let (body, end) = nodes(iter, defines, depth + 1)?;
                let otherwise = match end {
                    Some((e, _)) if e == "end" => Vec::new(),
                    Some((e, l)) if e == "else" => {
                        let (b, end) = nodes(iter, defines, depth + 1)?;
                        if end.as_ref().map(|e| e.0.as_str()) != Some("end") {
                            return Err(format!("line {l}: `else` without `end`"));
                        }
                        b
                    }
                    Some((e, l)) => return Err(format!("line {l}: unexpected {{{{ {e} }}}}")),
                    None => return Err(format!("line {line}: `{word}` without `end`")),
                };
                out.push(if word == "range" {
                    Node::Range(p, body, otherwise)
                } else {
                    Node::With(p, body, otherwise)
                });
            }
            "define" | "block" => {
                let (name, arg) = string_literal(rest).map_err(at)?;
                let (body, end) = nodes(iter, defines, depth + 1)?;
                if end.as_ref().map(|e| e.0.as_str()) != Some("end") {
                    return Err(format!("line {line}: `{word}` without `end`"));
                }
                if word == "block" {
                    let p = if arg.trim().is_empty() {
                        None
                    } else {
                        Some(pipeline(arg).map_err(at)?)
                    };
                    out.push(Node::Template(name.clone(), p, line));
                }
                defines.insert(name, body);
            }
            "template" => {
                let (name, arg) = string_literal(rest).map_err(at)?;
                let p = if arg.trim().is_empty() {
                    None
                } else {
                    Some(pipeline(arg).map_err(at)?)
                };
                out.push(Node::Template(name, p, line));
            }
            "break" | "continue" => return Err(at(format!("`{word}` is not followed"))),
            _ => out.push(Node::Action(pipeline(&action).map_err(at)?, line)),
        }
    }
    Ok((out, None))
}

fn split_word(action: &str) -> (&str, &str) {
    let action = action.trim();
    match action.find(|c: char| c.is_whitespace()) {
        Some(i) => (&action[..i], action[i..].trim()),
        None => (action, ""),
    }
}

/// A leading string literal and what follows it.
fn string_literal(s: &str) -> Result<(String, &str), String> {
    let tokens = tokenize(s)?;
    match tokens.first() {
        Some(Token::Str(name)) => {
            let consumed = literal_len(s.trim_start());
            Ok((name.clone(), &s.trim_start()[consumed..]))
        }
        _ => Err(format!("expected a template name in `{s}`")),
    }
}

fn literal_len(s: &str) -> usize {
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
enum Token {
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

fn tokenize(s: &str) -> Result<Vec<Token>, String> {
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
pub(super) fn pipeline(s: &str) -> Result<Pipeline, String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trim_markers_and_comments() {
        let p = parse("a:\n  {{- /* note */ -}}\n  b: {{ .Values.x }}\n").unwrap();
        assert_eq!(
            p.body,
            vec![
                Node::Text("a:".into(), 1),
                Node::Text("b: ".into(), 3),
                Node::Action(
                    Pipeline {
                        commands: vec![vec![Arg::Dot(vec!["Values".into(), "x".into()])]],
                        ..Pipeline::default()
                    },
                    3
                ),
                Node::Text("\n".into(), 3),
            ]
        );
    }

    #[test]
    fn control_structures_and_defines() {
        let src = "{{- define \"x.name\" -}}{{ .Chart.Name }}{{- end }}\n\
                   {{- range $k, $v := .Values.c }}{{ if $v.on }}{{ $k }}{{ else if eq $k \"a\" }}A{{ else }}-{{ end }}{{ end }}";
        let p = parse(src).unwrap();
        assert!(p.defines.contains_key("x.name"));
        let Node::Range(pipe, body, _) = &p.body[0] else {
            panic!("{:?}", p.body)
        };
        assert_eq!(pipe.vars, ["k", "v"]);
        let Node::If(branches, otherwise) = &body[0] else {
            panic!("{body:?}")
        };
        assert_eq!(branches.len(), 2);
        assert_eq!(otherwise.len(), 1);
    }

    #[test]
    fn pipelines_with_sub_expressions_and_literals() {
        let p = pipeline("(include \"a\" .).x | default \"b\" | quote").unwrap();
        assert_eq!(p.commands.len(), 3);
        assert!(matches!(&p.commands[0][0], Arg::Sub(_, f) if f == &vec!["x".to_string()]));
        assert_eq!(pipeline("$x := 12").unwrap().vars, ["x"]);
        assert!(pipeline("$x = 1").unwrap().assign);
    }

    #[test]
    fn malformed_templates_say_where() {
        assert_eq!(
            parse("a\n{{ if .x }}b").unwrap_err(),
            "line 2: `if` without `end`"
        );
        assert_eq!(
            parse("a\n\n{{ end }}").unwrap_err(),
            "line 3: unexpected {{ end }}"
        );
        assert_eq!(parse("{{ .x ").unwrap_err(), "line 1: unclosed action");
        let deep = "{{ if 1 }}".repeat(100_000);
        assert!(parse(&deep).unwrap_err().contains("nest deeper than 64"));
        let parens = format!("{{{{ {}1{} }}}}", "(".repeat(100_000), ")".repeat(100_000));
        assert!(parse(&parens).unwrap_err().contains("nest deeper than 64"));
    }
}
