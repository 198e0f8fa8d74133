//! Makefiles (`Makefile`, `GNUmakefile`, `*.mk`): the `docker build` commands of their
//! recipes, run in the Makefile's directory. Variables assigned in the file are expanded
//! (`REGISTRY ?= ghcr.io/acme`, `SERVICES := a b`, `+=`), with `addprefix`, `addsuffix`,
//! `patsubst`, `subst`, `foreach` and substitution references; a rule over a list
//! (`$(SERVICES):` with `$@`), a pattern rule (`image-%:` with `$*`) for each prerequisite
//! of the file that matches it, and a static pattern rule are instantiated. `$(shell …)`,
//! `$(wildcard …)` and variables given on the command line are unresolved.

use std::collections::HashMap;

use super::shell::{self, Start};
use super::{ImageBuild, UNRESOLVED};

struct Rule {
    targets: String,
    /// A static pattern rule's target pattern (`$(SERVICES): %-image: …`).
    pattern: Option<String>,
    prereqs: String,
    recipe: Vec<(u32, String)>,
}

/// Instantiations of one rule at most: a Makefile builds no more images than this.
const MAX_TARGETS: usize = 200;

/// The images a Makefile's recipes build.
pub fn makefile_builds(rel: &str, text: &str) -> Vec<ImageBuild> {
    if !shell::mentions_docker_build(text) {
        return Vec::new();
    }
    let (vars, rules) = read(text);
    let mx = Make {
        vars,
        budget: std::cell::Cell::new(BUDGET),
    };
    let dir = crate::check::inputs::k8s::parent_dir(rel);
    // Every word a rule names as a target or prerequisite: what pattern rules are used for.
    let mut named: Vec<String> = Vec::new();
    for r in &rules {
        let none = HashMap::new();
        named.extend(mx.words(&r.targets, &none));
        named.extend(mx.words(&r.prereqs, &none));
    }
    let mut out = Vec::new();
    for r in rules.iter().filter(|r| {
        r.recipe
            .iter()
            .any(|(_, l)| shell::mentions_docker_build(l))
    }) {
        let none = HashMap::new();
        let mut autos: Vec<HashMap<char, String>> = Vec::new();
        for t in mx.words(&r.targets, &none) {
            let stem = match &r.pattern {
                Some(p) => stem_of(&mx.expand(p, &none), &t),
                None if t.contains('%') => {
                    for n in named.iter().filter(|n| !n.contains('%')) {
                        if let Some(s) = stem_of(&t, n) {
                            autos.push(auto(n, &s));
                        }
                    }
                    continue;
                }
                None => Some(String::new()),
            };
            if let Some(s) = stem {
                autos.push(auto(&t, &s));
            }
        }
        autos.truncate(MAX_TARGETS);
        for a in &autos {
            for (line, cmd) in &r.recipe {
                let cmd = cmd.trim_start_matches(['@', '-', '+']);
                if !shell::mentions_docker_build(cmd) {
                    continue;
                }
                let script = mx.expand(cmd, a);
                out.extend(shell::builds(
                    &script,
                    Start {
                        file: rel,
                        first_line: *line,
                        cwd: dir,
                        script_dir: None,
                        env: HashMap::new(),
                        guessed: false,
                    },
                ));
            }
        }
    }
    out
}

fn auto(target: &str, stem: &str) -> HashMap<char, String> {
    HashMap::from([('@', target.to_string()), ('*', stem.to_string())])
}

/// The stem of `word` in `pattern` (`image-%` and `image-ledger`: `ledger`).
fn stem_of(pattern: &str, word: &str) -> Option<String> {
    let (pre, post) = pattern.split_once('%')?;
    word.strip_prefix(pre)?
        .strip_suffix(post)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// The variables and rules of a Makefile (conditionals are not evaluated: both branches'
/// assignments count, the first of `?=` wins).
fn read(text: &str) -> (HashMap<String, String>, Vec<Rule>) {
    let mut vars: HashMap<String, String> = HashMap::new();
    let mut rules: Vec<Rule> = Vec::new();
    let mut in_define = false;
    let mut logical = String::new();
    let mut start = 0u32;
    for (i, raw) in text.lines().enumerate() {
        if logical.is_empty() {
            start = i as u32 + 1;
        }
        if let Some(cont) = raw.strip_suffix('\\') {
            logical.push_str(cont);
            logical.push(' ');
            continue;
        }
        logical.push_str(raw);
        let line = std::mem::take(&mut logical);
        if in_define {
            in_define = !line.trim_start().starts_with("endef");
            continue;
        }
        if let Some(recipe) = line.strip_prefix('\t') {
            if let Some(r) = rules.last_mut() {
                r.recipe.push((start, recipe.trim().to_string()));
            }
            continue;
        }
        let code = line.split('#').next().unwrap_or_default().trim();
        let code = code.strip_prefix("export ").unwrap_or(code).trim();
        if code.is_empty() {
            continue;
        }
        if code.starts_with("define ") {
            in_define = true;
            continue;
        }
        if let Some((name, op, value)) = assignment(code) {
            let value = value.trim().to_string();
            match op {
                "+=" => {
                    let v = vars.entry(name).or_default();
                    if !v.is_empty() {
                        v.push(' ');
                    }
                    v.push_str(&value);
                }
                "?=" => {
                    vars.entry(name).or_insert(value);
                }
                "!=" => {
                    vars.insert(name, UNRESOLVED.to_string());
                }
                _ => {
                    vars.insert(name, value);
                }
            }
            continue;
        }
        if let Some((targets, rest)) = split_rule(code) {
            // `target: ; recipe`
            let (rest, inline) = match rest.split_once(';') {
                Some((r, cmd)) => (r, Some(cmd.trim().to_string())),
                None => (rest, None),
            };
            let (pattern, prereqs) = match split_rule(rest) {
                Some((p, pre)) if p.contains('%') => (Some(p.trim().to_string()), pre),
                _ => (None, rest),
            };
            rules.push(Rule {
                targets: targets.trim().to_string(),
                pattern,
                prereqs: prereqs.trim().to_string(),
                recipe: inline.into_iter().map(|c| (start, c)).collect(),
            });
        }
    }
    (vars, rules)
}

/// `NAME op value` for `=`, `:=`, `::=`, `?=`, `+=`, `!=`.
fn assignment(code: &str) -> Option<(String, &'static str, &str)> {
    let eq = code.find('=')?;
    let before = &code[..eq];
    let (name, op) = [
        ("::", "::="),
        (":", ":="),
        ("?", "?="),
        ("+", "+="),
        ("!", "!="),
    ]
    .iter()
    .find_map(|(suffix, op)| before.strip_suffix(suffix).map(|n| (n, *op)))
    .unwrap_or((before, "="));
    let name = name.trim();
    if name.is_empty() || name.contains([':', ' ', '\t', '$', '(']) {
        return None;
    }
    Some((name.to_string(), op, &code[eq + 1..]))
}

/// `targets: rest` at the first `:` outside `$( … )` that is no `:=`.
fn split_rule(code: &str) -> Option<(&str, &str)> {
    let mut depth = 0usize;
    for (i, c) in code.char_indices() {
        match c {
            '(' | '{' => depth += 1,
            ')' | '}' => depth = depth.saturating_sub(1),
            ':' if depth == 0 && !code[i + 1..].starts_with('=') => {
                let rest = code[i + 1..].strip_prefix(':').unwrap_or(&code[i + 1..]);
                return Some((&code[..i], rest));
            }
            _ => {}
        }
    }
    None
}

struct Make {
    vars: HashMap<String, String>,
    /// References left to expand: a variable defined by itself several times over
    /// (`A = $(A) $(A)`) stops here, unresolved.
    budget: std::cell::Cell<usize>,
}

/// References a Makefile's expansion may follow in all.
const BUDGET: usize = 100_000;

impl Make {
    fn words(&self, text: &str, auto: &HashMap<char, String>) -> Vec<String> {
        self.expand(text, auto)
            .split_whitespace()
            .map(str::to_string)
            .collect()
    }

    fn expand(&self, text: &str, auto: &HashMap<char, String>) -> String {
        self.expand_at(text, auto, 0)
    }

    fn expand_at(&self, text: &str, auto: &HashMap<char, String>, depth: usize) -> String {
        if depth > 16 {
            return UNRESOLVED.to_string();
        }
        let mut out = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            if c != '$' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some('$') => out.push('$'),
                Some(open @ ('(' | '{')) => {
                    let close = if open == '(' { ')' } else { '}' };
                    let mut level = 1usize;
                    let mut inner = String::new();
                    for n in chars.by_ref() {
                        if n == open {
                            level += 1;
                        } else if n == close {
                            level -= 1;
                            if level == 0 {
                                break;
                            }
                        }
                        inner.push(n);
                    }
                    out.push_str(&self.reference(&inner, auto, depth));
                }
                Some(v) => match auto.get(&v) {
                    Some(value) => out.push_str(value),
                    None => out.push(UNRESOLVED),
                },
                None => {}
            }
        }
        out
    }

    /// `$(NAME)`, `$(NAME:a=b)`, or a function call.
    fn reference(&self, inner: &str, auto: &HashMap<char, String>, depth: usize) -> String {
        match self.budget.get().checked_sub(1) {
            Some(left) => self.budget.set(left),
            None => return UNRESOLVED.to_string(),
        }
        let expand = |t: &str| self.expand_at(t, auto, depth + 1);
        if let Some((func, args)) = inner.split_once([' ', '\t']) {
            let args = split_args(args);
            let arg = |i: usize| args.get(i).map(|a| expand(a)).unwrap_or_default();
            let list = |i: usize| {
                arg(i)
                    .split_whitespace()
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            };
            let joined = |v: Vec<String>| v.join(" ");
            return match func {
                "addprefix" => joined(list(1).iter().map(|w| format!("{}{w}", arg(0))).collect()),
                "addsuffix" => joined(list(1).iter().map(|w| format!("{w}{}", arg(0))).collect()),
                "patsubst" => joined(
                    list(2)
                        .iter()
                        .map(|w| pattern_substitute(w, &arg(0), &arg(1)))
                        .collect(),
                ),
                "subst" => arg(2).replace(&arg(0), &arg(1)),
                "strip" | "sort" => joined(list(0)),
                "foreach" => {
                    let (Some(var), Some(body)) = (args.first(), args.get(2)) else {
                        return UNRESOLVED.to_string();
                    };
                    let var = var.trim().to_string();
                    let mut vars = Make {
                        vars: self.vars.clone(),
                        budget: std::cell::Cell::new(self.budget.get()),
                    };
                    let mut parts = Vec::new();
                    for w in list(1) {
                        vars.vars.insert(var.clone(), w);
                        parts.push(vars.expand_at(body, auto, depth + 1));
                    }
                    self.budget.set(vars.budget.get());
                    parts.join(" ")
                }
                _ => UNRESOLVED.to_string(),
            };
        }
        if let Some((name, sub)) = inner.split_once(':') {
            if let Some((from, to)) = sub.split_once('=') {
                let value = self.variable(name, auto, depth);
                let (from, to) = if from.contains('%') {
                    (from.to_string(), to.to_string())
                } else {
                    (format!("%{from}"), format!("%{to}"))
                };
                return value
                    .split_whitespace()
                    .map(|w| pattern_substitute(w, &from, &to))
                    .collect::<Vec<_>>()
                    .join(" ");
            }
        }
        self.variable(inner, auto, depth)
    }

    fn variable(&self, name: &str, auto: &HashMap<char, String>, depth: usize) -> String {
        let mut chars = name.chars();
        if let (Some(c), None) = (chars.next(), chars.next()) {
            if let Some(v) = auto.get(&c) {
                return v.clone();
            }
        }
        match self.vars.get(name) {
            Some(v) => self.expand_at(v, auto, depth + 1),
            None => UNRESOLVED.to_string(),
        }
    }
}

/// A function's arguments split at top-level commas.
fn split_args(args: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut depth = 0usize;
    for c in args.chars() {
        match c {
            '(' | '{' => depth += 1,
            ')' | '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                out.push(String::new());
                continue;
            }
            _ => {}
        }
        if let Some(last) = out.last_mut() {
            last.push(c);
        }
    }
    out
}

/// `word` rewritten from pattern `from` to `to` (`%` the stem), or unchanged if it does not
/// match.
fn pattern_substitute(word: &str, from: &str, to: &str) -> String {
    match stem_of(from, word) {
        Some(stem) => to.replacen('%', &stem, 1),
        None if !from.contains('%') && word == from => to.to_string(),
        None => word.to_string(),
    }
}
