//! `docker buildx bake` files (`docker-bake.hcl`, `docker-bake.json`, `*.bake.hcl`): each
//! `target`'s `context` (relative to the file), `dockerfile` (relative to the context) and
//! `tags`, with `inherits` followed and `${NAME}` taken from `variable` blocks' `default`s and
//! top-level attributes. A function call or an unknown variable is unresolved; a file that
//! cannot be read as bake builds nothing.

use std::collections::HashMap;

use super::{built, ImageBuild, UNRESOLVED};

/// A value of the file: a string (interpolations still in), a list, or anything else.
#[derive(Clone, Debug, PartialEq)]
enum Val {
    Str(String),
    List(Vec<Val>),
    Other,
}

#[derive(Clone, Default, Debug)]
struct Target {
    attrs: HashMap<String, Val>,
    line: u32,
}

/// The images a bake file builds.
pub fn bake_builds(rel: &str, text: &str) -> Vec<ImageBuild> {
    let (vars, targets) = if rel.ends_with(".json") {
        match json(text) {
            Some(read) => read,
            None => return Vec::new(),
        }
    } else {
        hcl(text)
    };
    let dir = crate::check::inputs::k8s::parent_dir(rel);
    let mut out = Vec::new();
    let mut names: Vec<&String> = targets.keys().collect();
    names.sort();
    for name in names {
        let t = inherited(&targets, name);
        let text = |key: &str| match t.attrs.get(key) {
            Some(Val::Str(s)) => Some(interpolate(s, &vars)),
            Some(_) => Some(UNRESOLVED.to_string()),
            None => None,
        };
        let tags: Vec<String> = match t.attrs.get("tags") {
            Some(Val::List(items)) => items
                .iter()
                .map(|v| match v {
                    Val::Str(s) => interpolate(s, &vars),
                    _ => UNRESOLVED.to_string(),
                })
                .collect(),
            _ => continue,
        };
        let context = text("context").unwrap_or_else(|| ".".into());
        let dockerfile = text("dockerfile").unwrap_or_else(|| "Dockerfile".into());
        let Some(context) = super::path_in(Some(dir), &context) else {
            continue;
        };
        let Some(file) = super::path_in(Some(&context), &dockerfile) else {
            continue;
        };
        let code = crate::check::inputs::k8s::parent_dir(&file).to_string();
        let line = t.line;
        out.extend(built(&tags, &code, Some((file, context)), rel, line));
    }
    out
}

/// A target with what it inherits (its own attributes first, then each parent's, breadth
/// first; each target once).
fn inherited(targets: &HashMap<String, Target>, name: &str) -> Target {
    let Some(t) = targets.get(name) else {
        return Target::default();
    };
    let mut out = t.clone();
    let mut queue = std::collections::VecDeque::from([name.to_string()]);
    let mut seen = std::collections::HashSet::from([name.to_string()]);
    while let Some(n) = queue.pop_front() {
        let Some(Val::List(parents)) = targets.get(&n).and_then(|t| t.attrs.get("inherits")) else {
            continue;
        };
        for p in parents {
            let Val::Str(p) = p else { continue };
            if !seen.insert(p.clone()) {
                continue;
            }
            if let Some(parent) = targets.get(p) {
                for (k, v) in &parent.attrs {
                    if k != "inherits" {
                        out.attrs.entry(k.clone()).or_insert_with(|| v.clone());
                    }
                }
                queue.push_back(p.clone());
            }
        }
    }
    out
}

/// `${NAME}` replaced by a variable's default; anything else unresolved.
fn interpolate(s: &str, vars: &HashMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(at) = rest.find("${") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        let Some(end) = after.find('}') else {
            out.push(UNRESOLVED);
            return out;
        };
        let name = after[..end].trim();
        match vars.get(name) {
            Some(v) if !v.contains("${") => out.push_str(v),
            _ => out.push(UNRESOLVED),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

type Read = (HashMap<String, String>, HashMap<String, Target>);

fn json(text: &str) -> Option<Read> {
    let doc: serde_json::Value = serde_json::from_str(text).ok()?;
    let mut vars = HashMap::new();
    if let Some(serde_json::Value::Object(v)) = doc.get("variable") {
        for (k, v) in v {
            if let Some(d) = v.get("default").and_then(|d| d.as_str()) {
                vars.insert(k.clone(), d.to_string());
            }
        }
    }
    let mut targets = HashMap::new();
    if let Some(serde_json::Value::Object(t)) = doc.get("target") {
        for (name, body) in t {
            let Some(body) = body.as_object() else {
                continue;
            };
            let attrs = body.iter().map(|(k, v)| (k.clone(), json_val(v))).collect();
            let line = line_of(text, &format!("\"{name}\""));
            targets.insert(name.clone(), Target { attrs, line });
        }
    }
    Some((vars, targets))
}

fn json_val(v: &serde_json::Value) -> Val {
    match v {
        serde_json::Value::String(s) => Val::Str(s.clone()),
        serde_json::Value::Array(a) => Val::List(a.iter().map(json_val).collect()),
        _ => Val::Other,
    }
}

fn line_of(text: &str, needle: &str) -> u32 {
    text.find(needle)
        .map_or(1, |at| text[..at].matches('\n').count() as u32 + 1)
}

#[derive(Debug, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Punct(char),
}

/// HCL tokens with their 1-based lines (comments and heredocs skipped).
fn tokens(text: &str) -> Vec<(Tok, u32)> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = 1u32;
    while let Some(c) = chars.next() {
        match c {
            '\n' => line += 1,
            '#' => {
                for n in chars.by_ref() {
                    if n == '\n' {
                        line += 1;
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'/') => {
                for n in chars.by_ref() {
                    if n == '\n' {
                        line += 1;
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut prev = ' ';
                for n in chars.by_ref() {
                    if n == '\n' {
                        line += 1;
                    }
                    if prev == '*' && n == '/' {
                        break;
                    }
                    prev = n;
                }
            }
            '"' => {
                let mut s = String::new();
                let mut depth = 0usize;
                while let Some(n) = chars.next() {
                    match n {
                        '\\' => {
                            if let Some(e) = chars.next() {
                                s.push(e);
                            }
                        }
                        '"' if depth == 0 => break,
                        '{' if s.ends_with('$') => {
                            depth += 1;
                            s.push(n);
                        }
                        '}' if depth > 0 => {
                            depth -= 1;
                            s.push(n);
                        }
                        '\n' => {
                            line += 1;
                            s.push(n);
                        }
                        _ => s.push(n),
                    }
                }
                out.push((Tok::Str(s), line));
            }
            c if c.is_alphanumeric() || c == '_' || c == '-' || c == '.' => {
                let mut s = c.to_string();
                while let Some(&n) = chars.peek() {
                    if !(n.is_alphanumeric() || n == '_' || n == '-' || n == '.') {
                        break;
                    }
                    s.push(n);
                    chars.next();
                }
                out.push((Tok::Ident(s), line));
            }
            c if c.is_whitespace() => {}
            c => out.push((Tok::Punct(c), line)),
        }
    }
    out
}

/// Variables and targets of an HCL bake file.
fn hcl(text: &str) -> Read {
    let toks = tokens(text);
    let mut vars = HashMap::new();
    let mut targets = HashMap::new();
    let mut i = 0;
    while i < toks.len() {
        let (Tok::Ident(kw), line) = &toks[i] else {
            i += 1;
            continue;
        };
        // A top-level attribute: `REGISTRY = "ghcr.io/acme"`.
        if toks.get(i + 1).map(|t| &t.0) == Some(&Tok::Punct('=')) {
            let (v, next) = value(&toks, i + 2, 0);
            if let Val::Str(s) = v {
                vars.insert(kw.clone(), s);
            }
            i = next;
            continue;
        }
        let label = match toks.get(i + 1).map(|t| &t.0) {
            Some(Tok::Str(l)) => Some(l.clone()),
            _ => None,
        };
        let open = i + 1 + usize::from(label.is_some());
        if toks.get(open).map(|t| &t.0) != Some(&Tok::Punct('{')) {
            i += 1;
            continue;
        }
        let (attrs, next) = body(&toks, open + 1);
        match (kw.as_str(), label) {
            ("variable", Some(name)) => {
                if let Some(Val::Str(d)) = attrs.get("default") {
                    vars.insert(name, d.clone());
                }
            }
            ("target", Some(name)) => {
                targets.insert(name, Target { attrs, line: *line });
            }
            _ => {}
        }
        i = next;
    }
    (vars, targets)
}

/// A block's attributes (nested blocks skipped), and the index past its `}`.
fn body(toks: &[(Tok, u32)], mut i: usize) -> (HashMap<String, Val>, usize) {
    let mut attrs = HashMap::new();
    while i < toks.len() {
        match &toks[i].0 {
            Tok::Punct('}') => return (attrs, i + 1),
            Tok::Ident(k) if toks.get(i + 1).map(|t| &t.0) == Some(&Tok::Punct('=')) => {
                let (v, next) = value(toks, i + 2, 0);
                attrs.insert(k.clone(), v);
                i = next;
            }
            Tok::Punct('{') => i = skip_balanced(toks, i),
            _ => i += 1,
        }
    }
    (attrs, i)
}

/// An expression: a string, a list of expressions, or anything else (skipped to its end).
fn value(toks: &[(Tok, u32)], i: usize, depth: usize) -> (Val, usize) {
    match toks.get(i).map(|t| &t.0) {
        // Lists nested this deep are no tags: skipped whole, without recursing.
        Some(Tok::Punct('[')) if depth > 8 => (Val::Other, skip_balanced(toks, i)),
        Some(Tok::Str(s)) => (Val::Str(s.clone()), i + 1),
        Some(Tok::Punct('[')) => {
            let mut items = Vec::new();
            let mut j = i + 1;
            while j < toks.len() {
                match &toks[j].0 {
                    Tok::Punct(']') => return (Val::List(items), j + 1),
                    Tok::Punct(',') => j += 1,
                    _ => {
                        let (v, next) = value(toks, j, depth + 1);
                        items.push(v);
                        j = next.max(j + 1);
                    }
                }
            }
            (Val::List(items), j)
        }
        Some(Tok::Punct('{')) => (Val::Other, skip_balanced(toks, i)),
        Some(Tok::Ident(_)) => {
            // A call `f(…)`, a reference, a number: read past it.
            let mut j = i + 1;
            if toks.get(j).map(|t| &t.0) == Some(&Tok::Punct('(')) {
                j = skip_balanced(toks, j);
            }
            (Val::Other, j)
        }
        _ => (Val::Other, i + 1),
    }
}

/// The index past the bracket closing the one at `i`.
fn skip_balanced(toks: &[(Tok, u32)], i: usize) -> usize {
    let mut depth = 0usize;
    for (j, (t, _)) in toks.iter().enumerate().skip(i) {
        match t {
            Tok::Punct('{' | '(' | '[') => depth += 1,
            Tok::Punct('}' | ')' | ']') => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return j + 1;
                }
            }
            _ => {}
        }
    }
    toks.len()
}
