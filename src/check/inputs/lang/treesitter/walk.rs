//! The walk over a syntax tree: which nodes are skipped (comments, strings, dead blocks) and
//! which become facts.

use tree_sitter::Node;

use super::{
    child, declared_const, is_constant_name, single, text, Extractor, BLOCK, CLASS, COMMENT, IDENT,
    NARROW, NONE, STRING,
};
use crate::check::facts::{ref_hash, FactKind, FnDef, TOP_LEVEL};

impl<'a> Extractor<'a> {
    pub(super) fn walk(&mut self, root: Node<'a>) {
        // One cursor for the whole tree (no per-node allocation, no recursion). `ctx` holds,
        // per depth, the context children inherit: enclosing function (an index into
        // `out.fns`), inside a class, inside a member expression; `self.ancestors` the nodes
        // themselves.
        let mut cursor = root.walk();
        self.ancestors.clear();
        let mut ctx: Vec<(Option<usize>, bool, bool)> = Vec::new();
        loop {
            let node = cursor.node();
            let inherited = ctx.last().copied().unwrap_or((None, false, false));
            let descend = if node.is_named() {
                self.visit(node, inherited)
            } else {
                Some(inherited)
            };
            if let Some(child_ctx) = descend {
                if cursor.goto_first_child() {
                    ctx.push(child_ctx);
                    self.ancestors.push(node);
                    continue;
                }
            }
            loop {
                if cursor.goto_next_sibling() {
                    break;
                }
                if !cursor.goto_parent() {
                    return;
                }
                ctx.pop();
                self.ancestors.pop();
            }
        }
    }

    /// Extract from one named node (enclosed by `self.ancestors`); `None` skips its subtree
    /// (comments, strings).
    pub(super) fn visit(
        &mut self,
        node: Node<'_>,
        (func, in_class, in_member): (Option<usize>, bool, bool),
    ) -> Option<(Option<usize>, bool, bool)> {
        let role = self.roles.of(node);
        if role.flags & (COMMENT | STRING) != 0 {
            return None;
        }
        // `if false {…}`, `for false {…}` (Go), `if False:` / `while False:` (Python): the block
        // right after a literal `false` condition never runs. An `else` still does.
        if role.flags & BLOCK != 0
            && node
                .prev_named_sibling()
                .is_some_and(|p| matches!(p.kind(), "false" | "False"))
        {
            return None;
        }
        let mut func_here = func;
        if !in_class && func.is_none() {
            if let Some(nf) = self.roles.fns.get(role.func as usize) {
                if let Some(n) = child(node, *nf) {
                    let name = text(n, self.src).to_string();
                    let live = (self.spec.fn_live)(&name, node, &self.ancestors);
                    self.fn_hashes.push(ref_hash(&name));
                    self.out.fns.push(FnDef { name, live });
                    func_here = Some(self.out.fns.len() - 1);
                }
            }
        }
        let class_here = in_class || role.flags & CLASS != 0;
        // Module- or class-level constants ([`Spec::binding_parents`]) bound to a string
        // literal; a later binding of the name to anything else forgets it.
        let module_level = role.bind != NONE && self.module_level(func_here);
        if let Some(field) = self.roles.locals.get(role.local as usize) {
            if !module_level || role.bind == NONE {
                self.shadow(node, *field);
            }
        }
        if let Some([name, value]) = self.roles.bindings.get(role.bind as usize) {
            if let (Some(n), true) = (child(node, *name), module_level) {
                let key = text(n, self.src);
                let by_name =
                    is_constant_name(key) || declared_const(self.ancestors.last().copied());
                if self.has(IDENT, n) && by_name {
                    let literal = child(node, *value)
                        .and_then(|v| single(node, *name, v))
                        .and_then(|v| self.literal(v));
                    match literal {
                        Some(l) => {
                            self.consts.insert(key.to_string(), l);
                        }
                        None => {
                            self.consts.remove(key);
                        }
                    }
                }
            }
        }
        if let Some(fields) = self.roles.assignments.get(role.assign as usize) {
            self.assignment(node, *fields, func_here);
        }
        if let Some([_, _, args]) = self.roles.calls.get(role.call as usize) {
            self.call(node, *args, func_here);
        }
        if role.flags & NARROW != 0 {
            self.subscript(node, func_here);
            self.settings_class(node);
            self.spring_property(node);
        }
        let member_here = role.member != NONE;
        if member_here && !in_member {
            let segs = self.dotted(node);
            // The declaration test last: it looks up the tree, so only for a member some
            // rule keeps.
            if self.expanded(&segs).nth(1).is_some() && self.keeps(&segs) && !self.declared_type() {
                let path = self.expand(&segs);
                let line = node.start_position().row as u32 + 1;
                // A composite literal's fields (Go's `http.Client{Transport: …}`); none in a
                // language without declared types.
                let parent = self.ancestors.last().copied();
                let literal = parent.filter(|p| {
                    !self.spec.declared_types.is_empty() && p.kind() == "composite_literal"
                });
                if let Some(literal) = literal {
                    self.literal_keys(literal, &path, func_here);
                }
                // `process.env.NAME` compared where it is read: the read as a call of
                // `process.env` with the name, which keeps what it is compared with.
                let compared = match path.as_slice() {
                    [process, env, name]
                        if process == "process"
                            && env == "env"
                            && crate::check::facts::env_names::is_variable(name) =>
                    {
                        self.compared(
                            node,
                            crate::check::facts::env_names::is_tracing_switch(name),
                        )
                    }
                    _ => None,
                };
                match compared {
                    Some(compared) => {
                        let name = path[2].clone();
                        let args = crate::check::facts::CallArgs {
                            compared: Some(compared),
                            ..Default::default()
                        };
                        self.push(
                            FactKind::Call {
                                path: path[..2].to_vec(),
                                literal_args: vec![name],
                                method: false,
                                args,
                            },
                            line,
                            func_here,
                        );
                    }
                    None => self.push(FactKind::Symbol { path }, line, func_here),
                }
            }
        }
        if role.flags & IDENT != 0 {
            let t = text(node, self.src);
            let owner =
                func_here.and_then(|i| Some((self.out.fns.get(i)?, self.fn_hashes.get(i)?)));
            if owner.is_none_or(|(d, _)| d.name != t) {
                let owner = owner.map_or(TOP_LEVEL, |(_, hash)| *hash);
                self.out.refs.push((owner, ref_hash(t)));
            }
            if !in_member {
                if let Some(full) = self.aliases.get(t) {
                    if self.interest.keeps_path(full.iter().map(String::as_str)) {
                        let line = node.start_position().row as u32 + 1;
                        let path = full.clone();
                        self.push(FactKind::Symbol { path }, line, func_here);
                    }
                }
            }
        }
        Some((func_here, class_here, member_here))
    }

    /// The fields a Go composite literal of a kept type sets (`&http.Client{Transport: rt}`):
    /// a symbol each, of the type's path with `{}` on its last segment and the field's name
    /// (`net.http.Client{}.Transport`: not a path the type's own signals match), at the
    /// field's line, so that a rule tells a client given its own transport from one left on
    /// the default transport. Only fields some signal names (`Transport`).
    fn literal_keys(&mut self, literal: Node<'_>, path: &[String], func: Option<usize>) {
        let Some((last, head)) = path.split_last() else {
            return;
        };
        let Some(body) = literal.child_by_field_name("body") else {
            return;
        };
        let mut c = body.walk();
        for element in body.named_children(&mut c) {
            let key = element
                .child_by_field_name("key")
                .and_then(|k| k.named_child(0))
                .filter(|k| k.kind() == "identifier");
            let Some(key) = key.map(|k| text(k, self.src)) else {
                continue;
            };
            if !self.interest.keeps_path(std::iter::once(key)) {
                continue;
            }
            let mut field = head.to_vec();
            field.push(format!("{last}{{}}"));
            field.push(key.to_string());
            let line = element.start_position().row as u32 + 1;
            self.push(FactKind::Symbol { path: field }, line, func);
        }
    }

    /// `os.environ["NAME"]` (Python `subscript`), `process.env["NAME"]` (JavaScript
    /// `subscript_expression`): a read of the mapping with a literal key, recorded as a call of
    /// the mapping's path with the key as its literal argument (what `env_readers` match).
    fn subscript(&mut self, node: Node<'_>, func: Option<usize>) {
        let (object, index) = match node.kind() {
            "subscript" => ("value", "subscript"),
            "subscript_expression" => ("object", "index"),
            _ => return,
        };
        let (Some(o), Some(i)) = (
            node.child_by_field_name(object),
            node.child_by_field_name(index),
        ) else {
            return;
        };
        let segs = self.dotted(o);
        if segs.len() < 2 || !self.keeps(&segs) {
            return;
        }
        let Some(literal) = self.literal(i) else {
            return;
        };
        let path = self.expand(&segs);
        let line = node.start_position().row as u32 + 1;
        let args = crate::check::facts::CallArgs {
            compared: crate::check::facts::env_names::is_variable(&literal)
                .then(|| {
                    let switch = crate::check::facts::env_names::is_tracing_switch(&literal);
                    self.compared(node, switch)
                })
                .flatten(),
            ..Default::default()
        };
        self.push(
            FactKind::Call {
                path,
                literal_args: vec![literal],
                method: false,
                args,
            },
            line,
            func,
        );
    }
}
