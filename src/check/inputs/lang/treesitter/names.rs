//! How the extractor reads names: dotted paths with import aliases expanded, literals and
//! module-level constants, names shadowed by local declarations.

use tree_sitter::Node;

use super::{child, last_named, text, unquote, Extractor, Field, IDENT, STRING, WRAPPER};

impl<'a> Extractor<'a> {
    #[inline]
    pub(super) fn has(&self, flag: u8, node: Node<'_>) -> bool {
        self.roles.of(node).flags & flag != 0
    }

    /// The path's segments with an imported first name replaced by what it stands for
    /// (borrowed: nothing is allocated until a fact is built from them).
    #[inline]
    pub(super) fn expanded<'s>(
        &'s self,
        segs: &'s [&'a str],
    ) -> impl Iterator<Item = &'s str> + Clone {
        let (head, rest): (&[String], &[&str]) = match segs.split_first() {
            Some((first, rest)) => match self.aliases.get(*first) {
                Some(full) => (full.as_slice(), rest),
                None => (&[], segs),
            },
            None => (&[], segs),
        };
        head.iter().map(String::as_str).chain(rest.iter().copied())
    }

    /// [`Self::expanded`], owned (for a fact).
    pub(super) fn expand(&self, segs: &[&'a str]) -> Vec<String> {
        self.expanded(segs).map(str::to_string).collect()
    }

    /// Whether a call or symbol fact with this (unexpanded) path may matter to some rule.
    #[inline]
    pub(super) fn keeps(&self, segs: &[&'a str]) -> bool {
        self.interest.keeps_path(self.expanded(segs))
    }

    /// The dotted path of an expression (identifiers, member access, call chains), as
    /// written (imports not expanded).
    #[inline]
    pub(super) fn dotted(&self, node: Node<'_>) -> Vec<&'a str> {
        let mut out = Vec::new();
        self.dotted_into(node, 0, &mut out);
        out
    }

    /// [`Self::dotted`], appending to `out` (one vector for the whole path). A node that names
    /// nothing appends nothing.
    pub(super) fn dotted_into(&self, node: Node<'_>, depth: usize, out: &mut Vec<&'a str>) {
        if depth > 64 {
            return;
        }
        let role = self.roles.of(node);
        if role.flags & IDENT != 0 {
            out.push(text(node, self.src));
            return;
        }
        if let Some([obj, prop]) = self.roles.members.get(role.member as usize) {
            if let Some(o) = child(node, *obj) {
                self.dotted_into(o, depth + 1, out);
            }
            if let Some(pr) = child(node, *prop) {
                self.dotted_into(pr, depth + 1, out);
            }
            return;
        }
        if let Some([recv, func, _]) = self.roles.calls.get(role.call as usize) {
            if let Some(o) = child(node, *recv) {
                self.dotted_into(o, depth + 1, out);
            }
            if let Some(f) = child(node, *func) {
                self.dotted_into(f, depth + 1, out);
            }
            return;
        }
        if node.kind() == "conditional_access_expression" {
            // C# `a?.B`: condition, then a member binding.
            if let Some(c) = child(node, self.roles.condition) {
                self.dotted_into(c, depth + 1, out);
            }
            if let Some(b) = node.named_child(last_named(node)) {
                if b.kind() == "member_binding_expression" {
                    if let Some(n) = child(b, self.roles.name) {
                        self.dotted_into(n, depth + 1, out);
                    }
                }
            }
            return;
        }
        if role.flags & WRAPPER != 0 {
            if let Some(c) = node.named_child(0) {
                self.dotted_into(c, depth + 1, out);
            }
        }
    }

    #[inline]
    pub(super) fn unwrap<'t>(&self, mut node: Node<'t>) -> Node<'t> {
        while self.has(WRAPPER, node)
            && node.kind() != "generic_name"
            && node.kind() != "generic_type"
        {
            match node.named_child(last_named(node)) {
                Some(c) => node = c,
                None => break,
            }
        }
        node
    }

    pub(super) fn literal(&self, node: Node<'_>) -> Option<String> {
        let node = self.unwrap(node);
        if self.has(STRING, node) {
            let raw = text(node, self.src);
            // Kotlin's `"http://$host:4318"`: an interpolated string is no literal.
            if self.spec.dollar_templates && interpolates(raw) {
                return None;
            }
            unquote(raw)
        } else {
            None
        }
    }

    /// Whether a binding node is at module level ([`Spec::binding_parents`]).
    /// Whether the node whose parent is `parent` is the type of a declaration that only names it
    /// ([`super::Spec::declared_types`]), through pointer, slice, array, map and channel types.
    pub(super) fn declared_type(&self, parent: Option<Node<'_>>) -> bool {
        let declared = self.spec.declared_types;
        if declared.is_empty() {
            return false;
        }
        let mut up = parent;
        while let Some(p) = up {
            match p.kind() {
                "pointer_type" | "slice_type" | "array_type" | "map_type" | "channel_type"
                | "parenthesized_type" => up = p.parent(),
                kind => return declared.contains(&kind),
            }
        }
        false
    }

    pub(super) fn module_level(&self, node: Node<'_>, func: Option<usize>) -> bool {
        if self.spec.binding_parents.is_empty() {
            return func.is_none();
        }
        let mut up = node.parent();
        while let Some(p) = up {
            if p.parent().is_none() {
                return true;
            }
            if !self.spec.binding_parents.contains(&p.kind()) {
                return false;
            }
            up = p.parent();
        }
        false
    }

    /// Remember the names a local declaration declares (identifiers in its name field, or in
    /// the list there: `a, b := …`; without a field, its named children and what they hold:
    /// `(url, { port }, retries = 3)`). Any name in them counts (a default value's too): a name
    /// shadowed too many is only a constant not followed.
    pub(super) fn shadow(&mut self, node: Node<'_>, field: Field) {
        let mut cursor = node.walk();
        let names: Vec<Node<'_>> = match field {
            Field::Id(field) => node.children_by_field_id(field, &mut cursor).collect(),
            Field::Absent => node.named_children(&mut cursor).collect(),
            positional => child(node, positional).into_iter().collect(),
        };
        for n in names {
            self.shadow_names(n, 0);
        }
    }

    pub(super) fn shadow_names(&mut self, node: Node<'_>, depth: usize) {
        if self.has(IDENT, node) || node.kind() == "shorthand_property_identifier_pattern" {
            self.shadowed.insert(text(node, self.src).to_string());
        } else if depth < 6 {
            let mut c = node.walk();
            let inner: Vec<Node<'_>> = node.named_children(&mut c).collect();
            for n in inner {
                self.shadow_names(n, depth + 1);
            }
        }
    }

    /// For a call argument: a string literal, or a module-level constant holding one.
    pub(super) fn literal_arg(&self, node: Node<'_>) -> Option<String> {
        self.literal(node).or_else(|| {
            let node = self.unwrap(node);
            if self.has(IDENT, node) {
                self.constant(text(node, self.src))
            } else {
                None
            }
        })
    }

    /// The literal a module-level constant `name` holds, unless a local declares the name.
    pub(super) fn constant(&self, name: &str) -> Option<String> {
        if self.consts.is_empty() || self.shadowed.contains(name) {
            return None;
        }
        self.consts.get(name).cloned()
    }
}

/// Whether a Kotlin string's text interpolates: a `$` (not escaped as `\$`) before a name or
/// `{`.
fn interpolates(raw: &str) -> bool {
    let bytes = raw.as_bytes();
    bytes.iter().enumerate().any(|(i, b)| {
        *b == b'$'
            && (i == 0 || bytes[i - 1] != b'\\')
            && bytes
                .get(i + 1)
                .is_some_and(|n| *n == b'{' || *n == b'_' || n.is_ascii_alphabetic())
    })
}
