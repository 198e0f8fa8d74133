//! Running a parsed template against chart data: Go `text/template` semantics as Helm uses
//! them (missing keys are empty, maps range in key order), writing the output with the
//! template line each output line comes from.

use std::collections::BTreeMap;

use serde_json::Value;

use super::parse::{Arg, Node, Pipeline};
use super::{funcs, values};

/// How deep `include`/`template`/`tpl` may nest (a template including itself stops here).
const MAX_DEPTH: usize = 40;
/// The most nodes one template may run (nested `range`s over `until 100000` stop here).
const MAX_STEPS: u64 = 5_000_000;
/// The most a template may write (a `range` over `until 1000000000` stops here).
pub(super) const MAX_OUTPUT: usize = 8 * 1024 * 1024;

/// What a run writes: the text, and for each of its lines the template line it comes from.
#[derive(Debug, Default)]
pub(super) struct Output {
    pub(super) text: String,
    pub(super) lines: Vec<u32>,
}

impl Output {
    /// Write `s`; its lines come from template line `line`, advancing with its own newlines
    /// when it is the template's text (`advance`).
    fn write(&mut self, s: &str, mut line: u32, advance: bool) -> Result<(), String> {
        if self.text.len() + s.len() > MAX_OUTPUT {
            return Err(format!(
                "the rendered output exceeds {} MiB",
                MAX_OUTPUT / 1024 / 1024
            ));
        }
        for part in s.split_inclusive('\n') {
            if self.text.is_empty() || self.text.ends_with('\n') {
                self.lines.push(line);
            }
            self.text.push_str(part);
            if advance && part.ends_with('\n') {
                line += 1;
            }
        }
        Ok(())
    }
}

/// A run: the templates the chart defines, the root data (`$`), variables in scope.
pub(super) struct Run<'a> {
    pub(super) defines: &'a BTreeMap<String, Vec<Node>>,
    pub(super) root: Value,
    vars: Vec<(String, Value)>,
    depth: usize,
    steps: u64,
}

/// `break`/`continue` are refused at parse time; an error ends the run.
type Flow = Result<(), String>;

impl<'a> Run<'a> {
    pub(super) fn new(defines: &'a BTreeMap<String, Vec<Node>>, root: Value) -> Run<'a> {
        Run {
            defines,
            root,
            vars: Vec::new(),
            depth: 0,
            steps: 0,
        }
    }

    /// Run `nodes` with `dot`, writing to `out`.
    pub(super) fn nodes(&mut self, nodes: &[Node], dot: &Value, out: &mut Output) -> Flow {
        for node in nodes {
            self.steps += 1;
            if self.steps > MAX_STEPS {
                return Err(format!("the template runs more than {MAX_STEPS} steps"));
            }
            match node {
                Node::Text(t, line) => out.write(t, *line, true)?,
                Node::Action(p, line) => {
                    let v = self
                        .pipeline(p, dot)
                        .map_err(|e| format!("line {line}: {e}"))?;
                    if p.vars.is_empty() {
                        out.write(&values::to_text(&v), *line, false)?;
                    }
                }
                Node::If(branches, otherwise) => {
                    let mark = self.vars.len();
                    let mut taken = false;
                    for (cond, body) in branches {
                        if values::truthy(&self.pipeline(cond, dot)?) {
                            self.nodes(body, dot, out)?;
                            taken = true;
                            break;
                        }
                    }
                    if !taken {
                        self.nodes(otherwise, dot, out)?;
                    }
                    self.vars.truncate(mark);
                }
                Node::With(p, body, otherwise) => {
                    let mark = self.vars.len();
                    let v = self.pipeline(p, dot)?;
                    if values::truthy(&v) {
                        self.nodes(body, &v, out)?;
                    } else {
                        self.nodes(otherwise, dot, out)?;
                    }
                    self.vars.truncate(mark);
                }
                Node::Range(p, body, otherwise) => self.range(p, body, otherwise, dot, out)?,
                Node::Template(name, arg, line) => {
                    let arg = match arg {
                        Some(p) => self.pipeline(p, dot)?,
                        None => Value::Null,
                    };
                    let text = self
                        .include(name, arg)
                        .map_err(|e| format!("line {line}: {e}"))?;
                    out.write(&text, *line, false)?;
                }
            }
        }
        Ok(())
    }

    fn range(
        &mut self,
        p: &Pipeline,
        body: &[Node],
        otherwise: &[Node],
        dot: &Value,
        out: &mut Output,
    ) -> Flow {
        let mark = self.vars.len();
        let mut items = Pipeline {
            vars: Vec::new(),
            assign: false,
            commands: p.commands.clone(),
        };
        let collection = self.pipeline(&items, dot)?;
        items.vars.clone_from(&p.vars);
        let pairs: Vec<(Value, Value)> = match collection {
            Value::Array(a) => a
                .into_iter()
                .enumerate()
                .map(|(i, v)| (Value::from(i), v))
                .collect(),
            Value::Object(m) => {
                let mut entries: Vec<(String, Value)> = m.into_iter().collect();
                entries.sort_by(|a, b| a.0.cmp(&b.0));
                entries
                    .into_iter()
                    .map(|(k, v)| (Value::String(k), v))
                    .collect()
            }
            Value::Number(n) => {
                let count = n.as_i64().unwrap_or(0).clamp(0, 100_000);
                (0..count)
                    .map(|i| (Value::from(i), Value::from(i)))
                    .collect()
            }
            Value::Null => Vec::new(),
            other => return Err(format!("range over {}", values::kind_of(&other))),
        };
        if pairs.is_empty() {
            self.nodes(otherwise, dot, out)?;
        }
        for (key, value) in pairs {
            self.steps += 1;
            if self.steps > MAX_STEPS {
                return Err(format!("the template runs more than {MAX_STEPS} steps"));
            }
            match items.vars.as_slice() {
                [] => {}
                [v] => self.vars.push((v.clone(), value.clone())),
                [k, v, ..] => {
                    self.vars.push((k.clone(), key));
                    self.vars.push((v.clone(), value.clone()));
                }
            }
            self.nodes(body, &value, out)?;
            self.vars.truncate(mark);
        }
        Ok(())
    }

    /// Render a defined template with `dot` (`include`, `template`).
    pub(super) fn include(&mut self, name: &str, dot: Value) -> Result<String, String> {
        let body = self
            .defines
            .get(name)
            .ok_or_else(|| format!("no template \"{name}\""))?;
        self.nested(|run, out| run.nodes(body, &dot, out))
    }

    /// Render a string as a template (`tpl`).
    pub(super) fn tpl(&mut self, text: &str, dot: Value) -> Result<String, String> {
        let parsed = super::parse::parse(text)?;
        self.nested(|run, out| run.nodes(&parsed.body, &dot, out))
    }

    fn nested(
        &mut self,
        f: impl FnOnce(&mut Run<'a>, &mut Output) -> Flow,
    ) -> Result<String, String> {
        if self.depth >= MAX_DEPTH {
            return Err(format!("templates nest deeper than {MAX_DEPTH}"));
        }
        // A defined template sees only `$` and its own variables.
        let saved = std::mem::take(&mut self.vars);
        self.depth += 1;
        let mut out = Output::default();
        let result = f(self, &mut out);
        self.depth -= 1;
        self.vars = saved;
        result.map(|()| out.text)
    }

    /// Evaluate a pipeline (declaring or assigning its variables).
    pub(super) fn pipeline(&mut self, p: &Pipeline, dot: &Value) -> Result<Value, String> {
        let mut piped: Option<Value> = None;
        for command in &p.commands {
            piped = Some(self.command(command, dot, piped)?);
        }
        let value = piped.unwrap_or(Value::Null);
        for name in &p.vars {
            if p.assign {
                if let Some(slot) = self.vars.iter_mut().rev().find(|(n, _)| n == name) {
                    slot.1 = value.clone();
                    continue;
                }
            }
            self.vars.push((name.clone(), value.clone()));
        }
        Ok(value)
    }

    fn command(
        &mut self,
        args: &[Arg],
        dot: &Value,
        piped: Option<Value>,
    ) -> Result<Value, String> {
        let Some(first) = args.first() else {
            return Err("empty command".into());
        };
        if let Arg::Func(name) = first {
            let mut values = Vec::with_capacity(args.len());
            // `and`/`or`/`default` see their arguments evaluated; `include`/`tpl` need the run.
            for a in &args[1..] {
                values.push(self.arg(a, dot)?);
            }
            if let Some(v) = piped {
                values.push(v);
            }
            return funcs::call(self, name, values);
        }
        // A method on a built-in object (`.Capabilities.APIVersions.Has "x"`). The chart's
        // files (`.Files.Get "config/otel.yaml"`) are not read: what they hold would be
        // judged as empty, so the template is not followed (a note; helm renders it).
        if let Arg::Dot(f) | Arg::Var(_, f) = first {
            if f.first().is_some_and(|x| x == "Files") {
                return Err(format!(
                    "`.{}` reads a file of the chart, which the built-in interpreter does not",
                    f.join(".")
                ));
            }
        }
        if args.len() > 1 || piped.is_some() {
            if let Some(v) = method(first) {
                return Ok(v);
            }
            return Err(format!("{first:?} is not a function"));
        }
        self.arg(first, dot)
    }

    fn arg(&mut self, a: &Arg, dot: &Value) -> Result<Value, String> {
        Ok(match a {
            Arg::Dot(fields) => walk(dot, fields),
            Arg::Var(name, fields) => {
                let base = if name.is_empty() {
                    self.root.clone()
                } else {
                    self.vars
                        .iter()
                        .rev()
                        .find(|(n, _)| n == name)
                        .map(|(_, v)| v.clone())
                        .ok_or_else(|| format!("undefined variable ${name}"))?
                };
                walk(&base, fields)
            }
            Arg::Str(s) => Value::String(s.clone()),
            Arg::Num(n) => values::number(*n),
            Arg::Bool(b) => Value::Bool(*b),
            Arg::Nil => Value::Null,
            Arg::Func(name) => funcs::call(self, name, Vec::new())?,
            Arg::Sub(p, fields) => walk(&self.pipeline(p, dot)?, fields),
        })
    }
}

/// `.a.b.c` of a value; anything missing is empty (Helm's `missingkey=zero`, printed as "").
fn walk(v: &Value, fields: &[String]) -> Value {
    let mut cur = v;
    for f in fields {
        match cur.get(f) {
            Some(next) => cur = next,
            None => return Value::Null,
        }
    }
    cur.clone()
}

/// What a method of Helm's built-in objects returns here: no API version is known to be
/// installed, no file of the chart is read.
fn method(first: &Arg) -> Option<Value> {
    let fields = match first {
        Arg::Dot(f) | Arg::Var(_, f) => f,
        _ => return None,
    };
    match fields.last().map(String::as_str) {
        Some("Has") => Some(Value::Bool(false)),
        _ => None,
    }
}
