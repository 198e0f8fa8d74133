//! The `docker build` commands of a shell script (`build.sh`, `scripts/build-images.sh`), a
//! workflow's `run:` step or a Makefile recipe: variables assigned literally in the script
//! are substituted (`REGISTRY=ghcr.io/acme`, arrays `SERVICES=(a b)`), `for NAME in …; do …
//! done` loops over literal words are unrolled, and `cd DIR` moves the directory the next
//! commands run in. A command substitution (`$(ls -d */)`), an unset variable or a `read`
//! leaves its part unresolved ([`UNRESOLVED`]); the builds that need it are left out.

use std::collections::HashMap;

use super::lex::{lex, Command};
use super::{builds_of, docker_build, kaniko, ImageBuild, ROOT, UNRESOLVED};

/// Where a script runs and what it knows before its first line.
pub(crate) struct Start<'a> {
    /// The file declaring it (for the builds' places).
    pub file: &'a str,
    /// 1-based line of the script's first line in that file.
    pub first_line: u32,
    /// The directory it runs in, relative to the root.
    pub cwd: &'a str,
    /// The script's own directory, for `$(dirname "$0")` (`None` when it is no file of its
    /// own: a workflow step, a recipe).
    pub script_dir: Option<&'a str>,
    /// Variables set before it starts (a workflow's `env:`).
    pub env: HashMap<String, String>,
    /// `cwd` is a guess (a script outside the root, assumed run from the root until it
    /// `cd`s): a build of the current directory itself (`docker build .`) is then left out,
    /// since the script may as well be run from its own directory.
    pub guessed: bool,
}

/// The images a shell script builds.
pub fn script_builds(rel: &str, text: &str) -> Vec<ImageBuild> {
    if !mentions_docker_build(text) {
        return Vec::new();
    }
    let dir = crate::check::inputs::k8s::parent_dir(rel);
    builds(
        text,
        Start {
            file: rel,
            first_line: 1,
            cwd: ".",
            script_dir: Some(dir),
            env: HashMap::new(),
            guessed: dir != ".",
        },
    )
}

/// Whether a text may run `docker build` at all (most scripts do not: not lexed).
pub(crate) fn mentions_docker_build(text: &str) -> bool {
    ((text.contains("docker") || text.contains("podman")) && text.contains("build"))
        || text.contains("kaniko/executor")
}

/// Every `docker build` of `text` run as described by `start`.
pub(crate) fn builds(text: &str, start: Start<'_>) -> Vec<ImageBuild> {
    let commands = lex(text);
    let mut state = State {
        vars: start.env,
        cwd: Some(start.cwd.to_string()),
        guessed: start.guessed,
        script_dir: start.script_dir.map(|d| format!("{ROOT}{d}")),
        file: start.file,
        first_line: start.first_line,
        out: Vec::new(),
        steps: 0,
        depth: 0,
    };
    state.run(&commands);
    state.out
}

/// Unrolled loops stop here: a script does not build more images than this.
const MAX_STEPS: usize = 10_000;

struct State<'a> {
    vars: HashMap<String, String>,
    /// The directory commands run in (relative to the root); `None` after an unresolved `cd`.
    cwd: Option<String>,
    guessed: bool,
    script_dir: Option<String>,
    file: &'a str,
    first_line: u32,
    out: Vec<ImageBuild>,
    steps: usize,
    /// Loops being unrolled.
    depth: usize,
}

impl State<'_> {
    fn run(&mut self, commands: &[Command]) {
        let mut i = 0;
        while i < commands.len() {
            self.steps += 1;
            if self.steps > MAX_STEPS {
                return;
            }
            let cmd = &commands[i];
            let first = cmd.words[0].as_str();
            if first == "for" {
                let end = loop_end(commands, i);
                // Loops nested deeper than this are not unrolled (their bodies are skipped).
                if self.depth < 16 {
                    self.depth += 1;
                    self.unroll(cmd, &commands[i + 1..end]);
                    self.depth -= 1;
                }
                i = end + 1;
                continue;
            }
            self.command(cmd);
            i += 1;
        }
    }

    /// `for NAME in WORDS` over `body`: once per word, or once with `NAME` unresolved when
    /// the words are not all literal.
    fn unroll(&mut self, head: &Command, body: &[Command]) {
        let Some(name) = head.words.get(1).cloned() else {
            return;
        };
        let values: Vec<String> = match head.words.get(2).map(String::as_str) {
            Some("in") => head.words[3..]
                .iter()
                .flat_map(|w| self.split_words(w))
                .collect(),
            _ => vec![UNRESOLVED.to_string()],
        };
        // A glob (`services/*`) lists the tree at run time: unresolved too.
        let values = if values
            .iter()
            .any(|v| v.contains(UNRESOLVED) || v.contains(['*', '?', '[']))
        {
            vec![UNRESOLVED.to_string()]
        } else {
            values
        };
        for v in values {
            self.vars.insert(name.clone(), v);
            self.run(body);
        }
    }

    fn command(&mut self, cmd: &Command) {
        let mut words: &[String] = &cmd.words;
        // `export A=b`, `local A=b`, `readonly A=b`, `declare -a A=(…)`.
        if matches!(
            words[0].as_str(),
            "export" | "local" | "readonly" | "declare" | "typeset"
        ) {
            words = &words[1..];
            while words.first().is_some_and(|w| w.starts_with('-')) {
                words = &words[1..];
            }
            for w in words {
                self.assign(w);
            }
            return;
        }
        // Leading assignments: `A=b`, or `A=b command`.
        while let Some(w) = words.first() {
            if !self.assign(w) {
                break;
            }
            words = &words[1..];
        }
        let Some(first) = words.first() else {
            return;
        };
        match first.as_str() {
            "cd" | "pushd" => {
                let dir = words
                    .get(1)
                    .map(|w| self.expand(w))
                    .unwrap_or_else(|| format!("{ROOT}"));
                // Known from here when rooted (`cd "$(dirname "$0")/.."`).
                self.guessed &= !dir.starts_with(ROOT);
                self.cwd = super::path_in(self.cwd.as_deref(), &dir);
            }
            "read" | "mapfile" | "readarray" => {
                for w in &words[1..] {
                    if !w.starts_with('-') {
                        self.vars.insert(w.clone(), UNRESOLVED.to_string());
                    }
                }
            }
            "sudo" | "command" | "exec" | "time" => {
                let rest = Command {
                    words: words[1..].to_vec(),
                    line: cmd.line,
                };
                if !rest.words.is_empty() {
                    self.command(&rest);
                }
            }
            _ => {
                let expanded: Vec<String> =
                    words.iter().flat_map(|w| self.split_words(w)).collect();
                if let Some(build) = docker_build(&expanded).or_else(|| kaniko(&expanded)) {
                    let line = self.first_line + cmd.line;
                    let found = builds_of(&build, self.cwd.as_deref(), self.file, line);
                    let guessed = self.guessed.then_some(self.cwd.as_deref()).flatten();
                    self.out.extend(
                        found
                            .into_iter()
                            .filter(|b| Some(b.dir.as_str()) != guessed),
                    );
                }
            }
        }
    }

    /// `NAME=value` or `NAME=(a b c)`: set, and `true`; else `false`.
    fn assign(&mut self, word: &str) -> bool {
        let Some((name, value)) = word.split_once('=') else {
            return false;
        };
        let name = name.strip_suffix('+').unwrap_or(name);
        if name.is_empty()
            || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            || name.starts_with(|c: char| c.is_ascii_digit())
        {
            return false;
        }
        let value = match value.strip_prefix('(').and_then(|v| v.strip_suffix(')')) {
            Some(items) => items
                .split_whitespace()
                .map(|w| self.expand(w))
                .collect::<Vec<_>>()
                .join(" "),
            None => self.expand(value),
        };
        self.vars.insert(name.to_string(), value);
        true
    }

    /// A word expanded and split as the shell does: quoted parts stay whole, unquoted
    /// expansions split at whitespace.
    fn split_words(&self, word: &str) -> Vec<String> {
        // `"${ARR[@]}"` is one word per item, quoted or not.
        let quoted = (word.contains('"') || word.contains('\'')) && !word.contains("[@]}");
        let expanded = self.expand(word);
        if quoted {
            vec![expanded]
        } else {
            expanded.split_whitespace().map(str::to_string).collect()
        }
    }

    /// Quotes removed, variables substituted (unset or computed: [`UNRESOLVED`]).
    fn expand(&self, word: &str) -> String {
        let mut out = String::new();
        let mut chars = word.chars().peekable();
        let mut single = false;
        while let Some(c) = chars.next() {
            match c {
                '\'' => single = !single,
                '"' if !single => {}
                '\\' if !single => {
                    if let Some(n) = chars.next() {
                        out.push(n);
                    }
                }
                '$' if !single => out.push_str(&self.reference(&mut chars)),
                _ => out.push(c),
            }
        }
        out
    }

    /// What follows a `$`: `$NAME`, `${NAME}`, `${NAME:-default}`, `${ARR[@]}`, `$( … )`.
    fn reference(&self, chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> String {
        match chars.peek().copied() {
            Some('{') => {
                chars.next();
                let inner = take_balanced(chars, '{', '}');
                self.braced(&inner)
            }
            Some('(') => {
                chars.next();
                let inner = take_balanced(chars, '(', ')');
                self.substitution(&inner)
            }
            Some(c) if c.is_ascii_alphabetic() || c == '_' => {
                let mut name = String::new();
                while let Some(&c) = chars.peek() {
                    if !(c.is_ascii_alphanumeric() || c == '_') {
                        break;
                    }
                    name.push(c);
                    chars.next();
                }
                self.var(&name)
            }
            Some('0') => {
                chars.next();
                self.script_dir
                    .as_ref()
                    .map_or(UNRESOLVED.to_string(), |d| format!("{d}/{UNRESOLVED}"))
            }
            Some(_) => {
                chars.next();
                UNRESOLVED.to_string()
            }
            None => "$".into(),
        }
    }

    fn var(&self, name: &str) -> String {
        match (name, self.vars.get(name)) {
            (_, Some(v)) => v.clone(),
            ("PWD", None) => self
                .cwd
                .as_ref()
                .map_or(UNRESOLVED.to_string(), |c| format!("{ROOT}{c}")),
            _ => UNRESOLVED.to_string(),
        }
    }

    fn braced(&self, inner: &str) -> String {
        let name: String = inner
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let rest = &inner[name.len()..];
        if matches!(rest, "" | "[@]" | "[*]") {
            return self.var(&name);
        }
        if let Some(default) = rest.strip_prefix(":-").or_else(|| rest.strip_prefix('-')) {
            return match self.vars.get(&name) {
                Some(v) => v.clone(),
                None => self.expand(default),
            };
        }
        UNRESOLVED.to_string()
    }

    /// `$(dirname "$0")`, `$(cd "$(dirname "$0")" && pwd)` and `$(git rev-parse
    /// --show-toplevel)` name directories; any other command's output is unresolved.
    fn substitution(&self, inner: &str) -> String {
        let text = inner.split_whitespace().collect::<Vec<_>>().join(" ");
        if text == "git rev-parse --show-toplevel" {
            return ROOT.to_string();
        }
        if text == "pwd" {
            return self.var("PWD");
        }
        let script_dir = || self.script_dir.clone().unwrap_or(UNRESOLVED.to_string());
        let dirname = |t: &str| {
            matches!(
                t.trim_start_matches("dirname ").trim_matches('"'),
                "$0" | "${0}" | "${BASH_SOURCE[0]}" | "${BASH_SOURCE}" | "$BASH_SOURCE"
            ) && t.starts_with("dirname ")
        };
        if dirname(&text) {
            return script_dir();
        }
        // `cd "$(dirname "$0")/.." && pwd`
        if let Some(cd) = text
            .strip_prefix("cd ")
            .and_then(|t| t.strip_suffix(" && pwd"))
        {
            let cd = cd.trim_matches('"');
            if let Some(rest) = cd.strip_prefix("$(").and_then(|r| r.split_once(')')) {
                if dirname(rest.0.trim()) {
                    return format!("{}{}", script_dir(), rest.1.trim_matches('"'));
                }
            }
        }
        UNRESOLVED.to_string()
    }
}

/// The index of the `done` closing the loop opened at `start` (the last command if none).
fn loop_end(commands: &[Command], start: usize) -> usize {
    let mut depth = 0usize;
    for (i, c) in commands.iter().enumerate().skip(start) {
        match c.words[0].as_str() {
            "for" | "while" | "until" | "select" => depth += 1,
            "done" => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
    }
    commands.len()
}

/// The text up to the bracket closing an opened one (nested pairs kept).
fn take_balanced(
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
    open: char,
    close: char,
) -> String {
    let mut depth = 1usize;
    let mut out = String::new();
    for c in chars.by_ref() {
        if c == open {
            depth += 1;
        } else if c == close {
            depth -= 1;
            if depth == 0 {
                break;
            }
        }
        out.push(c);
    }
    out
}
