//! A generic fact extractor over tree-sitter syntax trees. Each language supplies a [`Spec`]
//! naming its node kinds; comments and string literals are never read as code, so a signal
//! written in either never counts.

use std::collections::HashMap;

use tree_sitter::{Node, Parser};

use crate::check::facts::{Fact, FactKind, FnDef, SourceFacts};
use crate::check::rules::segments;

/// Node kinds and hooks of one language.
pub struct Spec {
    /// Grammar.
    pub language: fn() -> tree_sitter::Language,
    /// Comment node kinds (skipped).
    pub comments: &'static [&'static str],
    /// String literal node kinds (skipped as code; read as literal arguments).
    pub strings: &'static [&'static str],
    /// Calls: (kind, receiver field or "", function/name field, arguments field).
    pub calls: &'static [(&'static str, &'static str, &'static str, &'static str)],
    /// Member access: (kind, object field, property field).
    pub members: &'static [(&'static str, &'static str, &'static str)],
    /// Identifier kinds.
    pub idents: &'static [&'static str],
    /// Function definitions tracked for dead-code elimination: (kind, name field).
    pub fns: &'static [(&'static str, &'static str)],
    /// Node kinds whose functions are never tracked (classes: methods are reached by dispatch).
    pub classes: &'static [&'static str],
    /// Key/value pairs inside call arguments: (kind, key field, value field).
    pub pairs: &'static [(&'static str, &'static str, &'static str)],
    /// Wrapper kinds to look through (argument, parenthesized…).
    pub wrappers: &'static [&'static str],
    /// Collect imports from a top-level node into the alias table.
    pub imports: fn(Node<'_>, &[u8], &mut HashMap<String, Vec<String>>),
    /// Whether a function is live regardless of references (name, definition node).
    pub fn_live: fn(&str, Node<'_>) -> bool,
    /// The package name (Go).
    pub package: fn(Node<'_>, &[u8]) -> Option<String>,
}

/// Text of a node.
pub fn text<'a>(node: Node<'_>, src: &'a [u8]) -> &'a str {
    node.utf8_text(src).unwrap_or_default()
}

/// A string literal's value without quotes or prefixes; `None` when it interpolates.
pub fn unquote(raw: &str) -> Option<String> {
    let t = raw.trim_start_matches(['r', 'R', 'b', 'B', 'u', 'U', '@']);
    if t.starts_with(['f', 'F', '$']) && t.contains('{') {
        return None;
    }
    let t = t.trim_start_matches(['f', 'F', '$']);
    if t.starts_with('`') && t.contains("${") {
        return None;
    }
    let t = t
        .trim_start_matches("\"\"\"")
        .trim_end_matches("\"\"\"")
        .trim_matches(|c| c == '"' || c == '\'' || c == '`');
    Some(t.to_string())
}

fn truncate(s: &str) -> String {
    let mut t = s.to_string();
    if t.len() > 160 {
        let mut cut = 160;
        while !t.is_char_boundary(cut) {
            cut -= 1;
        }
        t.truncate(cut);
    }
    t
}

/// Parse and extract. `Err` is a one-line reason.
pub fn analyse(spec: &Spec, rel: &str, source: &str) -> Result<SourceFacts, String> {
    let mut parser = Parser::new();
    parser
        .set_language(&(spec.language)())
        .map_err(|e| format!("grammar: {e}"))?;
    let tree = parser
        .parse(source, None)
        .ok_or_else(|| "parser gave up".to_string())?;
    let src = source.as_bytes();
    let root = tree.root_node();
    let mut aliases = HashMap::new();
    let mut cursor = root.walk();
    for child in root.named_children(&mut cursor) {
        (spec.imports)(child, src, &mut aliases);
        // One level deeper: namespaces, lexical declarations, import lists.
        let mut c2 = child.walk();
        for grand in child.named_children(&mut c2) {
            (spec.imports)(grand, src, &mut aliases);
        }
    }
    let mut x = Extractor {
        spec,
        src,
        rel,
        aliases,
        out: SourceFacts {
            package: (spec.package)(root, src),
            ..SourceFacts::default()
        },
    };
    x.walk(root);
    Ok(x.out)
}

struct Extractor<'a> {
    spec: &'a Spec,
    src: &'a [u8],
    rel: &'a str,
    aliases: HashMap<String, Vec<String>>,
    out: SourceFacts,
}

impl Extractor<'_> {
    fn is(&self, list: &[&str], node: Node<'_>) -> bool {
        list.contains(&node.kind())
    }

    fn expand(&self, mut segs: Vec<String>) -> Vec<String> {
        if let Some(first) = segs.first() {
            if let Some(full) = self.aliases.get(first) {
                let mut out = full.clone();
                out.extend(segs.drain(1..));
                return out;
            }
        }
        segs
    }

    /// The dotted path of an expression (identifiers, member access, call chains).
    fn dotted(&self, node: Node<'_>, depth: usize) -> Vec<String> {
        if depth > 64 {
            return Vec::new();
        }
        let kind = node.kind();
        if self.is(self.spec.idents, node) || kind == "this" || kind == "self" {
            return vec![text(node, self.src).to_string()];
        }
        if let Some((_, obj, prop)) = self.spec.members.iter().find(|(k, _, _)| *k == kind) {
            let mut p = node
                .child_by_field_name(obj)
                .map(|o| self.dotted(o, depth + 1))
                .unwrap_or_default();
            if let Some(pr) = node.child_by_field_name(prop) {
                p.extend(self.dotted(pr, depth + 1));
            }
            return p;
        }
        if let Some((_, recv, func, _)) = self.spec.calls.iter().find(|(k, _, _, _)| *k == kind) {
            let mut p = if recv.is_empty() {
                Vec::new()
            } else {
                node.child_by_field_name(recv)
                    .map(|o| self.dotted(o, depth + 1))
                    .unwrap_or_default()
            };
            if let Some(f) = node.child_by_field_name(func) {
                p.extend(self.dotted(f, depth + 1));
            }
            return p;
        }
        if kind == "conditional_access_expression" {
            // C# `a?.B`: condition, then a member binding.
            let mut p = node
                .child_by_field_name("condition")
                .map(|c| self.dotted(c, depth + 1))
                .unwrap_or_default();
            if let Some(b) = node.named_child(node.named_child_count().saturating_sub(1)) {
                if b.kind() == "member_binding_expression" {
                    if let Some(n) = b.child_by_field_name("name") {
                        p.extend(self.dotted(n, depth + 1));
                    }
                }
            }
            return p;
        }
        if self.is(self.spec.wrappers, node) || kind == "generic_name" || kind == "generic_type" {
            if let Some(c) = node.named_child(0) {
                return self.dotted(c, depth + 1);
            }
        }
        Vec::new()
    }

    fn unwrap<'t>(&self, mut node: Node<'t>) -> Node<'t> {
        while self.is(self.spec.wrappers, node) {
            match node.named_child(node.named_child_count().saturating_sub(1)) {
                Some(c) => node = c,
                None => break,
            }
        }
        node
    }

    fn literal(&self, node: Node<'_>) -> Option<String> {
        let node = self.unwrap(node);
        if self.is(self.spec.strings, node) {
            unquote(text(node, self.src))
        } else {
            None
        }
    }

    fn call(&mut self, node: Node<'_>, args_field: &str, func: &Option<String>) {
        let path = self.expand(self.dotted(node, 0));
        if path.is_empty() {
            return;
        }
        let line = node.start_position().row as u32 + 1;
        let mut literal_args = Vec::new();
        let mut arg_texts = Vec::new();
        let mut first_literal = None;
        let mut pairs: Vec<(String, String)> = Vec::new();
        if let Some(args) = node.child_by_field_name(args_field) {
            let mut c = args.walk();
            for (i, arg) in args.named_children(&mut c).enumerate() {
                if self.is(self.spec.comments, arg) {
                    continue;
                }
                let inner = self.unwrap(arg);
                if let Some(l) = self.literal(inner) {
                    if i == 0 {
                        first_literal = Some(l.clone());
                    }
                    literal_args.push(l);
                }
                self.collect_pairs(inner, &mut pairs, &mut literal_args, 0);
                arg_texts.push(truncate(text(inner, self.src)));
            }
        }
        let last = path.last().map(String::as_str).unwrap_or_default();
        let prev = path
            .iter()
            .rev()
            .nth(1)
            .map(String::as_str)
            .unwrap_or_default();
        let keyed = matches!(
            last,
            "set_attribute" | "setAttribute" | "SetAttribute" | "SetTag" | "AddTag" | "SetBaggage"
        ) || (prev == "attribute"
            && matches!(
                last,
                "String" | "Int" | "Int64" | "Bool" | "Float64" | "StringSlice" | "Stringer"
            ))
            || (prev == "AttributeKey" && last.ends_with("Key"));
        if keyed {
            if let Some(key) = first_literal {
                let value = arg_texts.get(1).cloned().unwrap_or_default();
                self.push(FactKind::Attribute { key, value }, line, func);
            }
        }
        let lower = last.to_ascii_lowercase();
        if lower.contains("attribute")
            || lower.contains("event")
            || lower.contains("span")
            || lower.contains("tag")
        {
            for (key, value) in pairs {
                self.push(FactKind::Attribute { key, value }, line, func);
            }
        }
        self.push(FactKind::Call { path, literal_args }, line, func);
    }

    fn collect_pairs(
        &self,
        node: Node<'_>,
        pairs: &mut Vec<(String, String)>,
        literals: &mut Vec<String>,
        depth: usize,
    ) {
        if depth > 3 {
            return;
        }
        let kind = node.kind();
        if let Some((_, kf, vf)) = self.spec.pairs.iter().find(|(k, _, _)| *k == kind) {
            if let (Some(k), Some(v)) = (node.child_by_field_name(kf), node.child_by_field_name(vf))
            {
                let key = self
                    .literal(k)
                    .unwrap_or_else(|| text(k, self.src).to_string());
                if let Some(l) = self.literal(v) {
                    literals.push(l);
                }
                pairs.push((key, truncate(text(v, self.src))));
            }
            return;
        }
        if kind == "shorthand_property_identifier" {
            let t = text(node, self.src).to_string();
            pairs.push((t.clone(), t));
            return;
        }
        if matches!(kind, "object" | "dictionary" | "argument_list") && depth < 3 {
            let mut c = node.walk();
            for child in node.named_children(&mut c) {
                self.collect_pairs(child, pairs, literals, depth + 1);
            }
        }
    }

    fn push(&mut self, kind: FactKind, line: u32, func: &Option<String>) {
        let mut f = Fact::new(kind, self.rel, line);
        f.func.clone_from(func);
        self.out.facts.push(f);
    }

    fn walk(&mut self, root: Node<'_>) {
        // Explicit stack: deep trees never overflow the thread stack.
        let mut stack: Vec<(Node<'_>, Option<String>, bool, bool)> =
            vec![(root, None, false, false)];
        while let Some((node, func, in_class, in_member)) = stack.pop() {
            if self.is(self.spec.comments, node) || self.is(self.spec.strings, node) {
                continue;
            }
            let kind = node.kind();
            let mut func_here = func.clone();
            if !in_class && func.is_none() {
                if let Some((_, nf)) = self.spec.fns.iter().find(|(k, _)| *k == kind) {
                    if let Some(n) = node.child_by_field_name(nf) {
                        let name = text(n, self.src).to_string();
                        let live = (self.spec.fn_live)(&name, node);
                        self.out.fns.push(FnDef {
                            name: name.clone(),
                            live,
                        });
                        func_here = Some(name);
                    }
                }
            }
            let class_here = in_class || self.is(self.spec.classes, node);
            if let Some((_, _, _, args)) = self.spec.calls.iter().find(|(k, _, _, _)| *k == kind) {
                self.call(node, args, &func_here);
            }
            let member_here = self.spec.members.iter().any(|(k, _, _)| *k == kind);
            if member_here && !in_member {
                let path = self.expand(self.dotted(node, 0));
                if path.len() > 1 {
                    let line = node.start_position().row as u32 + 1;
                    self.push(FactKind::Symbol { path }, line, &func_here);
                }
            }
            if self.is(self.spec.idents, node) {
                let t = text(node, self.src);
                if func_here.as_deref() != Some(t) {
                    self.out.refs.insert(t.to_string());
                }
                if !in_member {
                    if let Some(full) = self.aliases.get(t) {
                        let line = node.start_position().row as u32 + 1;
                        let path = full.clone();
                        self.push(FactKind::Symbol { path }, line, &func_here);
                    }
                }
            }
            let mut c = node.walk();
            let children: Vec<Node<'_>> = node.named_children(&mut c).collect();
            for child in children.into_iter().rev() {
                stack.push((child, func_here.clone(), class_here, member_here));
            }
        }
    }
}

/// Alias for an import path: `segments(path)`.
pub fn import_segments(path: &str) -> Vec<String> {
    segments(path)
}
