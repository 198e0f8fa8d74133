//! Go `text/template` as Helm charts write it: actions between `{{ }}` (with the `{{-`/`-}}`
//! trim markers and `{{/* */}}` comments) parsed into a tree of [`Node`]s.

use std::collections::BTreeMap;

use super::lex::{lex, Piece};
use super::pipeline::{literal_len, pipeline, tokenize, Token};

/// How deep blocks (`if`, `range`, `with`, `define`) and parentheses may nest: charts use a
/// handful; a hostile file must not exhaust the stack.
pub(super) const MAX_NESTING: usize = 64;

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
