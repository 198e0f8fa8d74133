//! What an attribute's surroundings say about it ([`AttrContext`]): the collections a loop
//! iterates when its key is computed inside it (`for (const [k, v] of Object.entries(req.headers))`,
//! `for k, v := range r.Header`, `headers.forEach(…)`), and what a bare local name recorded as
//! the value was declared as or assigned (`var message = Encoding.UTF8.GetString(…)`). Read
//! from the syntax tree around the call, in the language-neutral terms of the grammars' node
//! kinds and fields; nothing here judges (evaluation does).

use tree_sitter::Node;

use super::{text, truncate, Extractor};
use crate::check::facts::AttrContext;

/// At most this many occurrences of a name are looked at for its declaration.
const ORIGIN_BUDGET: usize = 256;
/// At most this many ancestors are climbed looking for loops.
const LOOP_DEPTH: usize = 48;

/// Loops and what they iterate: (node kind, field holding the iterated expression). Go's
/// `for … range x` keeps it in its `range_clause`.
const LOOPS: &[(&str, &str)] = &[
    ("for_in_statement", "right"), // JavaScript/TypeScript `for…of`, `for…in`
    ("for_statement", "right"),    // Python `for k, v in x`
    ("foreach_statement", "right"), // C# `foreach (var h in x)`
    ("enhanced_for_statement", "value"), // Java `for (String n : x)`
];

/// Methods that call their argument once per element: the receiver is the collection.
const EACH: &[&str] = &["forEach", "ForEach", "each", "forEachRemaining"];

/// Declarations of a local name: (node kind, name field, value or type field). An empty value
/// field: the last named child that is not the name (C#'s `variable_declarator`).
const DECLARATIONS: &[(&str, &str, &str)] = &[
    ("variable_declarator", "name", "value"), // JavaScript, Java
    ("variable_declarator", "name", ""),      // C# (`var x = …`)
    ("short_var_declaration", "left", "right"), // Go `x := …`
    ("var_spec", "name", "value"),            // Go `var x = …`
    ("var_spec", "name", "type"),             // Go `var x T`
    ("assignment", "left", "right"),          // Python `x = …`
    ("assignment_expression", "left", "right"), // JavaScript `x = …`
    ("parameter", "name", "type"),            // C#
    ("formal_parameter", "name", "type"),     // Java
    ("parameter_declaration", "name", "type"), // Go
    ("required_parameter", "pattern", "type"), // TypeScript
    ("optional_parameter", "pattern", "type"), // TypeScript
    ("typed_parameter", "", "type"),          // Python (the name is its first child)
];

/// Whether a node kind is a function, method or lambda (the scope a local name is looked for
/// in).
fn is_function(kind: &str) -> bool {
    kind.contains("function")
        || kind.contains("lambda")
        || matches!(
            kind,
            "method_declaration"
                | "method_definition"
                | "constructor_declaration"
                | "func_literal"
                | "local_function_statement"
                | "anonymous_method_expression"
        )
}

/// Whether a node is a bare name (an identifier alone).
fn bare_name(node: Node<'_>) -> bool {
    node.kind() == "identifier"
}

impl<'a> Extractor<'a> {
    /// The context of an attribute set by `call`: the loops around it when `computed_key`
    /// (the key is no literal), and the origin of `value` when it is a bare local name. `None`
    /// when there is nothing to say.
    pub(super) fn attribute_context(
        &self,
        call: Node<'_>,
        computed_key: bool,
        value: Option<Node<'_>>,
    ) -> Option<Box<AttrContext>> {
        let over = if computed_key {
            self.loops_around(call)
        } else {
            Vec::new()
        };
        let origin = value.filter(|v| bare_name(*v)).and_then(|v| self.origin(v));
        let typed = origin.as_ref().is_some_and(|(_, typed)| *typed);
        let origin = origin.map(|(o, _)| o);
        (!over.is_empty() || origin.is_some()).then(|| {
            Box::new(AttrContext {
                over,
                origin,
                typed,
            })
        })
    }

    /// The collections iterated by the loops around `node`, innermost first (a bare local
    /// name replaced by its origin when it has one).
    fn loops_around(&self, node: Node<'_>) -> Vec<String> {
        let mut out = Vec::new();
        let mut child = node;
        let mut up = node.parent();
        let mut depth = 0;
        while let Some(parent) = up {
            if depth == LOOP_DEPTH {
                break;
            }
            depth += 1;
            let kind = parent.kind();
            let iterated = LOOPS
                .iter()
                .filter(|(k, _)| *k == kind)
                .find_map(|(_, field)| parent.child_by_field_name(field))
                .or_else(|| {
                    // Go: `for_statement` holds a `range_clause`, visited as the parent of
                    // nothing on the way up (the body is the statement's child): read it here.
                    (kind == "for_statement")
                        .then(|| {
                            let mut c = parent.walk();
                            let range = parent
                                .named_children(&mut c)
                                .find(|n| n.kind() == "range_clause");
                            range
                        })
                        .flatten()
                        .and_then(|r| r.child_by_field_name("right"))
                })
                .or_else(|| {
                    // Kotlin: `for (name in x)` holds the variable's declaration, then `x`.
                    (kind == "for_statement")
                        .then(|| parent.named_child(0))
                        .flatten()
                        .filter(|d| d.kind() == "variable_declaration")
                        .and_then(|d| d.next_named_sibling())
                });
            // The iterated expression itself is no body of the loop.
            if let Some(x) = iterated.filter(|x| x.id() != child.id()) {
                out.push(self.collection_text(x));
            } else if let Some(receiver) = self.each_receiver(parent, child) {
                out.push(self.collection_text(receiver));
            }
            child = parent;
            up = parent.parent();
        }
        out
    }

    /// `x.forEach(callback)` with `child` among its arguments: `x`.
    fn each_receiver<'t>(&self, call: Node<'t>, child: Node<'t>) -> Option<Node<'t>> {
        let [receiver, function, args] =
            *self.roles.calls.get(self.roles.of(call).call as usize)?;
        // Kotlin's trailing lambda (`x.forEach { name -> … }`) follows the callee, outside the
        // parenthesised arguments.
        let trailing = child.kind() == "annotated_lambda";
        if !trailing && super::child(call, args)?.id() != child.id() {
            return None;
        }
        let callee = super::child(call, function)?;
        // Java's `x.forEach(…)`: the receiver and the method's name are the call's own fields.
        if let Some(object) = super::child(call, receiver) {
            return EACH.contains(&text(callee, self.src)).then_some(object);
        }
        let [object, property] = *self
            .roles
            .members
            .get(self.roles.of(callee).member as usize)?;
        let name = super::child(callee, property)?;
        EACH.contains(&text(name, self.src))
            .then(|| super::child(callee, object))
            .flatten()
    }

    /// A collection's text; for a bare local name, with what it was declared as
    /// (`headers: http.Header`) or assigned (`headers = request.headers`).
    pub(super) fn collection_text(&self, node: Node<'_>) -> String {
        let name = text(node, self.src);
        if bare_name(node) {
            match self.origin(node) {
                Some((ty, true)) => return format!("{name}: {ty}"),
                Some((value, false)) => return format!("{name} = {value}"),
                None => {}
            }
        }
        truncate(name)
    }

    /// What the bare name `use_` was last declared as (its type: `true`) or assigned, before
    /// it, in the innermost function that declares it (the whole file outside functions): a
    /// closure's free name is looked for in the functions around it. Functions that do not
    /// hold the use are not looked into (their names are their own).
    pub(super) fn origin(&self, use_: Node<'_>) -> Option<(String, bool)> {
        let name = text(use_, self.src);
        if name.is_empty() {
            return None;
        }
        let holds_use =
            |n: Node<'_>| n.start_byte() <= use_.start_byte() && use_.end_byte() <= n.end_byte();
        let mut budget = ORIGIN_BUDGET;
        let mut scope = use_;
        loop {
            while let Some(p) = scope.parent() {
                scope = p;
                if is_function(p.kind()) {
                    break;
                }
            }
            // Each earlier occurrence of the name in the scope, as a whole word: a declaration
            // is the occurrence's parent or grandparent (`x = …`, `x, err := …`, `T x`).
            let (from, to) = (scope.start_byte(), use_.start_byte());
            let mut found = None;
            for at in word_occurrences(self.src.get(from..to)?, name.as_bytes()) {
                if budget == 0 {
                    return found;
                }
                budget -= 1;
                let start = from + at;
                let Some(n) = scope.descendant_for_byte_range(start, start + name.len()) else {
                    continue;
                };
                let mut up = n.parent();
                let mut declared = None;
                for _ in 0..2 {
                    let Some(a) = up else { break };
                    if let Some(d) = self.declared(a, name) {
                        declared = Some((a, d));
                        break;
                    }
                    up = a.parent();
                }
                let Some((declaration, (v, typed))) = declared else {
                    continue;
                };
                // Not a name of another function (a sibling closure's local or parameter).
                let mut a = declaration.parent();
                let mut foreign = false;
                while let Some(x) = a {
                    if x.id() == scope.id() {
                        break;
                    }
                    foreign |= is_function(x.kind()) && !holds_use(x);
                    a = x.parent();
                }
                if !foreign {
                    // Occurrences come in source order: the last declaration before the use wins.
                    found = Some((truncate(text(v, self.src)), typed));
                }
            }
            if found.is_some() || scope.parent().is_none() {
                return found;
            }
        }
    }

    /// The value or type (`true`) `node` gives `name`, when it declares it.
    fn declared<'t>(&self, node: Node<'t>, name: &str) -> Option<(Node<'t>, bool)> {
        let kind = node.kind();
        DECLARATIONS.iter().filter(|(k, _, _)| *k == kind).find_map(
            |(_, name_field, value_field)| {
                let n = if name_field.is_empty() {
                    node.named_child(0)?
                } else {
                    node.child_by_field_name(name_field)?
                };
                if !declares(n, name, self.src) {
                    return None;
                }
                if value_field.is_empty() {
                    let last = node.named_child(
                        u32::try_from(node.named_child_count().checked_sub(1)?).ok()?,
                    )?;
                    (last.id() != n.id()).then_some((last, false))
                } else {
                    let v = node.child_by_field_name(value_field)?;
                    Some((v, *value_field == "type"))
                }
            },
        )
    }
}

/// Where `word` occurs in `hay` as a whole identifier (not inside a longer one).
fn word_occurrences<'h>(hay: &'h [u8], word: &'h [u8]) -> impl Iterator<Item = usize> + 'h {
    let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'$';
    hay.windows(word.len())
        .enumerate()
        .filter_map(move |(at, w)| {
            let before = at.checked_sub(1).and_then(|i| hay.get(i)).copied();
            let after = hay.get(at + word.len()).copied();
            (w == word && !before.is_some_and(ident) && !after.is_some_and(ident)).then_some(at)
        })
}

/// Whether a declaration's name part (`x`, `x, err`) declares `name`.
fn declares(node: Node<'_>, name: &str, src: &[u8]) -> bool {
    if node.named_child_count() == 0 {
        return text(node, src) == name;
    }
    let mut c = node.walk();
    let found = node
        .named_children(&mut c)
        .any(|n| n.named_child_count() == 0 && text(n, src) == name);
    found
}

#[cfg(test)]
mod tests {
    use crate::check::facts::FactKind;
    use crate::check::inputs::lang::{analyse, SourceKind};

    /// (key, value, line, loops iterated, origin) of each attribute fact.
    type Seen = (String, String, u32, Vec<String>, Option<String>);

    fn attributes(kind: SourceKind, rel: &str, src: &str) -> Vec<Seen> {
        let facts = analyse(kind, rel, src).unwrap();
        facts
            .facts
            .iter()
            .filter_map(|f| match &f.kind {
                FactKind::Attribute {
                    key,
                    value,
                    context,
                } => Some((
                    key.clone(),
                    value.clone(),
                    f.line,
                    context.as_ref().map(|c| c.over.clone()).unwrap_or_default(),
                    context.as_ref().and_then(|c| c.origin.clone()),
                )),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn computed_keys_in_loops_name_what_the_loop_iterates() {
        let cases = [
            (
                SourceKind::Typescript,
                "mw.ts",
                "export function f(req) {\n  for (const [name, value] of Object.entries(req.headers)) {\n    span.setAttribute(`http.request.header.${name}`, value);\n  }\n}\n",
                "Object.entries(req.headers)",
            ),
            (
                SourceKind::Javascript,
                "mw.js",
                "function f(req) {\n  Object.entries(req.headers).forEach(([k, v]) => {\n    span.setAttribute('http.request.header.' + k, v);\n  });\n}\n",
                "Object.entries(req.headers)",
            ),
            (
                SourceKind::Python,
                "app.py",
                "def f():\n    for k, v in request.headers.items():\n        span.set_attribute(f\"http.request.header.{k}\", v)\n",
                "request.headers.items()",
            ),
            (
                SourceKind::Go,
                "main.go",
                "package main\n\nfunc f(r *http.Request) {\n\tfor k, v := range r.Header {\n\t\tspan.SetAttributes(attribute.StringSlice(\"http.request.header.\"+k, v))\n\t}\n}\n",
                "r.Header",
            ),
            (
                SourceKind::Go,
                "util.go",
                "package telemetry\n\nfunc HeadersToAttributes(headers http.Header) []attribute.KeyValue {\n\tvar res []attribute.KeyValue\n\tfor name, value := range headers {\n\t\tname = \"http.request.header.\" + name\n\t\tres = append(res, attribute.StringSlice(name, value))\n\t}\n\treturn res\n}\n",
                "headers: http.Header",
            ),
            (
                SourceKind::Csharp,
                "Program.cs",
                "class M {\n  void F(HttpContext context) {\n    foreach (var header in context.Request.Headers)\n    {\n      Activity.Current?.SetTag($\"http.request.header.{header.Key}\", header.Value.ToString());\n    }\n  }\n}\n",
                "context.Request.Headers",
            ),
            (
                SourceKind::Java,
                "G.java",
                "class G {\n  void f(HttpHeaders headers) {\n    headers.forEach((name, values) -> span.setAttribute(\"http.request.header.\" + name, String.join(\",\", values)));\n  }\n}\n",
                "headers: HttpHeaders",
            ),
            (
                SourceKind::Java,
                "F.java",
                "class F {\n  void f(HttpServletRequest request) {\n    for (String name : Collections.list(request.getHeaderNames())) {\n      span.setAttribute(\"http.request.header.\" + name, request.getHeader(name));\n    }\n  }\n}\n",
                "Collections.list(request.getHeaderNames())",
            ),
            (
                SourceKind::Kotlin,
                "Filter.kt",
                "class Filter {\n    fun f(request: HttpServletRequest) {\n        request.headerNames.asSequence().forEach { name ->\n            span.setAttribute(\"http.request.header.${name.lowercase()}\", request.getHeader(name))\n        }\n    }\n}\n",
                "request.headerNames.asSequence()",
            ),
            (
                SourceKind::Kotlin,
                "Loop.kt",
                "class Loop {\n    fun f(request: HttpServletRequest) {\n        for (name in request.headerNames) {\n            span.setAttribute(\"http.request.header.$name\", request.getHeader(name))\n        }\n    }\n}\n",
                "request.headerNames",
            ),
            (
                SourceKind::Python,
                "mw.py",
                "def f(request):\n    span.set_attributes({f\"http.request.header.{k}\": v for k, v in request.headers.items()})\n",
                "request.headers.items()",
            ),
            (
                SourceKind::Javascript,
                "entries.js",
                "function f(req) {\n  span.setAttributes(Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [`http.request.header.${k}`, v])));\n}\n",
                "Object.entries(req.headers)",
            ),
        ];
        for (kind, rel, src, over) in cases {
            let attrs = attributes(kind, rel, src);
            assert!(
                attrs
                    .iter()
                    .any(|(_, _, _, o, _)| o.first().map(String::as_str) == Some(over)),
                "{rel}: {attrs:?}"
            );
        }
    }

    #[test]
    fn computed_keys_outside_loops_are_not_attributes() {
        let attrs = attributes(
            SourceKind::Python,
            "app.py",
            "KEY = \"user.email\"\ndef record(value):\n    span.set_attribute(KEY, value)\n",
        );
        assert!(attrs.is_empty(), "{attrs:?}");
    }

    #[test]
    fn a_bare_value_carries_its_origin() {
        let attrs = attributes(
            SourceKind::Csharp,
            "Bus.cs",
            "class B {\n  Task On(object sender, BasicDeliverEventArgs eventArgs) {\n    var message = Encoding.UTF8.GetString(eventArgs.Body.Span);\n    activity?.SetTag(\"message\", message);\n    return Task.CompletedTask;\n  }\n}\n",
        );
        assert_eq!(
            attrs[0].4.as_deref(),
            Some("Encoding.UTF8.GetString(eventArgs.Body.Span)"),
            "{attrs:?}"
        );
        let attrs = attributes(
            SourceKind::Go,
            "main.go",
            "package main\n\nfunc f(msg *sarama.ConsumerMessage) {\n\tpayload := string(msg.Value)\n\tspan.SetAttributes(attribute.String(\"app.event\", payload))\n}\n",
        );
        assert_eq!(
            attrs[0].4.as_deref(),
            Some("string(msg.Value)"),
            "{attrs:?}"
        );
    }

    #[test]
    fn a_closure_value_is_found_in_the_function_around_it() {
        let attrs = attributes(
            SourceKind::Csharp,
            "Bus.cs",
            "class B {\n  void Start(BasicDeliverEventArgs ea) {\n    var message = Encoding.UTF8.GetString(ea.Body.Span);\n    Action other = () => { var note = \"x\"; };\n    consumer.Received += (s, e) => {\n      activity?.SetTag(\"message\", message);\n      activity?.SetTag(\"note\", note);\n    };\n  }\n}\n",
        );
        let origins: Vec<Option<&str>> = attrs.iter().map(|a| a.4.as_deref()).collect();
        // `note` is another closure's own local: not this one's.
        assert_eq!(
            origins,
            vec![Some("Encoding.UTF8.GetString(ea.Body.Span)"), None]
        );
    }

    #[test]
    fn a_parameter_value_carries_its_type() {
        let facts = analyse(
            SourceKind::Java,
            "L.java",
            "class L {\n  void on(ConsumerRecord<String, String> record, String note) {\n    span.setAttribute(\"app.record\", record);\n    span.setAttribute(\"app.note\", note);\n  }\n}\n",
        )
        .unwrap();
        let typed: Vec<(Option<String>, bool)> = facts
            .facts
            .iter()
            .filter_map(|f| match &f.kind {
                FactKind::Attribute { context, .. } => {
                    let c = context.as_ref()?;
                    Some((c.origin.clone(), c.typed))
                }
                _ => None,
            })
            .collect();
        assert_eq!(
            typed,
            vec![
                (Some("ConsumerRecord<String, String>".to_string()), true),
                (Some("String".to_string()), true),
            ]
        );
    }

    #[test]
    fn attributes_are_at_their_own_line() {
        let attrs = attributes(
            SourceKind::Typescript,
            "a.ts",
            "span.setAttributes({\n  'app.a': a.id,\n  'app.b': b.id,\n});\nspan.setAttribute(\n  'app.c',\n  c.id,\n);\n",
        );
        let lines: Vec<(&str, u32)> = attrs.iter().map(|a| (a.0.as_str(), a.2)).collect();
        assert_eq!(lines, vec![("app.a", 2), ("app.b", 3), ("app.c", 6)]);
    }
}
