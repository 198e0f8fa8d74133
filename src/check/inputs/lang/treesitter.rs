//! A generic fact extractor over tree-sitter syntax trees. Each language supplies a [`Spec`]
//! naming its node kinds; comments and string literals are never read as code, so a signal
//! written in either never counts.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use tree_sitter::{Node, Parser};

use crate::check::facts::segments;
use crate::check::facts::{
    ref_hash, CallArgs, Fact, FactKind, FastMap, FastSet, FnDef, SourceFacts, TOP_LEVEL,
};
use crate::check::inputs::interest::Interest;

/// Import aliases of a file: the local name and the path it stands for.
pub type Aliases = FastMap<String, Vec<String>>;

/// Node kinds and hooks of one language.
pub struct Spec {
    /// Grammar.
    pub language: fn() -> tree_sitter::Language,
    /// Comment node kinds (skipped).
    pub comments: &'static [&'static str],
    /// Declarations that are not code that runs (imports, package clauses): skipped like
    /// comments, so an import alone is never a use (aliases are read from them separately).
    pub declarations: &'static [&'static str],
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
    /// Property assignments (kind, target field, value field): `o.Endpoint = new Uri("…")`
    /// with a literal value becomes a call of the property (`o.Endpoint`) with that literal.
    pub assignments: &'static [(&'static str, &'static str, &'static str)],
    /// Bindings of a name to a value (kind, name field, value field): a name bound to a string
    /// literal (`const endpoint = 'http://…'`) reads as that literal where it is an argument.
    pub bindings: &'static [(&'static str, &'static str, &'static str)],
    /// When empty, a binding is module-level when it is outside any tracked function. Else when
    /// every node between the binding and the root is one of these kinds (Go:
    /// `const_declaration`; JavaScript: `const`/`let`/`var` declarations, `export`). Either way
    /// its name must be UPPER_CASE (the naming convention: a lower-case name is as likely a
    /// local), unless it is declared `const` (Go, JavaScript).
    pub binding_parents: &'static [&'static str],
    /// Declarations of local names (kind, name field; an empty field: every named child, as
    /// in a parameter list): a name declared so never resolves to a constant (Go: parameters,
    /// `:=`, `var`, `range`). A kind that is also a binding declares a local only inside a
    /// function.
    pub locals: &'static [(&'static str, &'static str)],
    /// Wrapper kinds to look through (argument, parenthesized…).
    pub wrappers: &'static [&'static str],
    /// Collect imports from a top-level node into the alias table.
    pub imports: fn(Node<'_>, &[u8], &mut Aliases),
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

const COMMENT: u8 = 1;
const STRING: u8 = 2;
const IDENT: u8 = 4;
const CLASS: u8 = 8;
const WRAPPER: u8 = 16;
/// A statement block (`block` in Go and Python): dead after a literal `false` condition.
const BLOCK: u8 = 32;
const NONE: u8 = u8::MAX;

/// What a node kind is to the extractor, indexed by kind id (no string compares per node).
#[derive(Clone, Copy)]
struct Role {
    flags: u8,
    call: u8,
    member: u8,
    func: u8,
    pair: u8,
    assign: u8,
    bind: u8,
    local: u8,
}

/// A field of a node kind, its id resolved once per grammar (`None`: the grammar has no such
/// field, or the spec leaves it empty).
type Field = Option<std::num::NonZeroU16>;

/// The index of a node's last named child (0 when it has none).
fn last_named(node: Node<'_>) -> u32 {
    u32::try_from(node.named_child_count().saturating_sub(1)).unwrap_or(u32::MAX)
}

/// The child in `field`, by id (no name lookup per node).
fn child(node: Node<'_>, field: Field) -> Option<Node<'_>> {
    node.child_by_field_id(field?.get())
}

struct Roles {
    kinds: Vec<Role>,
    /// Per `Spec::calls` entry: receiver, function, arguments.
    calls: Vec<[Field; 3]>,
    /// Per `Spec::members` entry: object, property.
    members: Vec<[Field; 2]>,
    /// Per `Spec::fns` entry: name.
    fns: Vec<Field>,
    /// Per `Spec::pairs` entry: key, value.
    pairs: Vec<[Field; 2]>,
    /// Per `Spec::assignments` entry: target, value.
    assignments: Vec<[Field; 2]>,
    /// Per `Spec::bindings` entry: name, value.
    bindings: Vec<[Field; 2]>,
    /// Per `Spec::locals` entry: name.
    locals: Vec<Field>,
    condition: Field,
    name: Field,
}

impl Roles {
    fn build(spec: &Spec, language: &tree_sitter::Language) -> Roles {
        let count = language.node_kind_count();
        let mut roles = Vec::with_capacity(count);
        for id in 0..count {
            let id = id as u16;
            let mut r = Role {
                flags: 0,
                call: NONE,
                member: NONE,
                func: NONE,
                pair: NONE,
                assign: NONE,
                bind: NONE,
                local: NONE,
            };
            if language.node_kind_is_named(id) {
                let name = language.node_kind_for_id(id).unwrap_or_default();
                let has = |list: &[&str]| list.contains(&name);
                if has(spec.comments) || has(spec.declarations) {
                    r.flags |= COMMENT;
                }
                if has(spec.strings) {
                    r.flags |= STRING;
                }
                if has(spec.idents) || name == "this" || name == "self" {
                    r.flags |= IDENT;
                }
                if has(spec.classes) {
                    r.flags |= CLASS;
                }
                if has(spec.wrappers) || name == "generic_name" || name == "generic_type" {
                    r.flags |= WRAPPER;
                }
                if name == "block" {
                    r.flags |= BLOCK;
                }
                let pos = |i: Option<usize>| i.map_or(NONE, |i| i as u8);
                r.call = pos(spec.calls.iter().position(|c| c.0 == name));
                r.member = pos(spec.members.iter().position(|c| c.0 == name));
                r.func = pos(spec.fns.iter().position(|c| c.0 == name));
                r.pair = pos(spec.pairs.iter().position(|c| c.0 == name));
                r.assign = pos(spec.assignments.iter().position(|c| c.0 == name));
                r.bind = pos(spec.bindings.iter().position(|c| c.0 == name));
                r.local = pos(spec.locals.iter().position(|c| c.0 == name));
            }
            roles.push(r);
        }
        let id = |name: &str| {
            if name.is_empty() {
                None
            } else {
                language.field_id_for_name(name)
            }
        };
        Roles {
            kinds: roles,
            calls: spec
                .calls
                .iter()
                .map(|c| [id(c.1), id(c.2), id(c.3)])
                .collect(),
            members: spec.members.iter().map(|m| [id(m.1), id(m.2)]).collect(),
            fns: spec.fns.iter().map(|f| id(f.1)).collect(),
            pairs: spec.pairs.iter().map(|p| [id(p.1), id(p.2)]).collect(),
            assignments: spec
                .assignments
                .iter()
                .map(|a| [id(a.1), id(a.2)])
                .collect(),
            bindings: spec.bindings.iter().map(|b| [id(b.1), id(b.2)]).collect(),
            locals: spec.locals.iter().map(|l| id(l.1)).collect(),
            condition: id("condition"),
            name: id("name"),
        }
    }

    fn of(&self, node: Node<'_>) -> Role {
        self.kinds
            .get(node.kind_id() as usize)
            .copied()
            .unwrap_or(Role {
                flags: 0,
                call: NONE,
                member: NONE,
                func: NONE,
                pair: NONE,
                assign: NONE,
                bind: NONE,
                local: NONE,
            })
    }
}

thread_local! {
    /// One parser and role table per language and thread: built once, reused for every file.
    static PARSERS: RefCell<HashMap<usize, (Parser, Rc<Roles>)>> = RefCell::new(HashMap::new());
}

/// Parse and extract every fact. `Err` is a one-line reason.
pub fn analyse(spec: &'static Spec, rel: &str, source: &str) -> Result<SourceFacts, String> {
    analyse_for(spec, rel, source, &Interest::everything())
}

/// Parse and extract the facts `interest` keeps (call and symbol facts no rule can match are
/// never built). `Err` is a one-line reason.
pub fn analyse_for(
    spec: &'static Spec,
    rel: &str,
    source: &str,
    interest: &Interest,
) -> Result<SourceFacts, String> {
    let key = spec as *const Spec as usize;
    let (tree, roles) = PARSERS.with(|cell| {
        let mut map = cell.borrow_mut();
        if let std::collections::hash_map::Entry::Vacant(e) = map.entry(key) {
            let language = (spec.language)();
            let mut parser = Parser::new();
            parser
                .set_language(&language)
                .map_err(|e| format!("grammar: {e}"))?;
            e.insert((parser, Rc::new(Roles::build(spec, &language))));
        }
        let (parser, roles) = map
            .get_mut(&key)
            .ok_or_else(|| "parser cache".to_string())?;
        let tree = super::parse_budget::parse(parser, source)?;
        Ok::<_, String>((tree, Rc::clone(roles)))
    })?;
    let src = source.as_bytes();
    let root = tree.root_node();
    let mut aliases = Aliases::default();
    let mut cursor = root.walk();
    // One cursor for every child's children (a cursor allocates).
    let mut c2 = root.walk();
    for child in root.named_children(&mut cursor) {
        (spec.imports)(child, src, &mut aliases);
        // One level deeper: namespaces, lexical declarations, import lists.
        for grand in child.named_children(&mut c2) {
            (spec.imports)(grand, src, &mut aliases);
        }
    }
    let mut x = Extractor {
        spec,
        roles: &roles,
        interest,
        src,
        file: std::sync::Arc::from(rel),
        aliases,
        fn_hashes: Vec::new(),
        consts: FastMap::default(),
        shadowed: FastSet::default(),
        out: SourceFacts {
            package: (spec.package)(root, src),
            ..SourceFacts::default()
        },
    };
    if root.has_error() {
        x.out.syntax_error = Some(first_error_line(root));
    }
    x.walk(root);
    Ok(x.out)
}

struct Extractor<'a> {
    spec: &'a Spec,
    roles: &'a Roles,
    /// Which call and symbol facts are worth building.
    interest: &'a Interest,
    src: &'a [u8],
    file: std::sync::Arc<str>,
    aliases: Aliases,
    /// [`ref_hash`] of each `out.fns` name (the owner of every reference made inside it).
    fn_hashes: Vec<u64>,
    /// Module-level UPPER_CASE constants bound to a string literal so far (`Spec::bindings`).
    consts: FastMap<String, String>,
    /// Names declared locally so far ([`Spec::locals`]): never resolved to a constant.
    shadowed: FastSet<String>,
    out: SourceFacts,
}

impl<'a> Extractor<'a> {
    fn has(&self, flag: u8, node: Node<'_>) -> bool {
        self.roles.of(node).flags & flag != 0
    }

    /// The path's segments with an imported first name replaced by what it stands for
    /// (borrowed: nothing is allocated until a fact is built from them).
    fn expanded<'s>(&'s self, segs: &'s [&'a str]) -> impl Iterator<Item = &'s str> + Clone {
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
    fn expand(&self, segs: &[&'a str]) -> Vec<String> {
        self.expanded(segs).map(str::to_string).collect()
    }

    /// Whether a call or symbol fact with this (unexpanded) path may matter to some rule.
    fn keeps(&self, segs: &[&'a str]) -> bool {
        self.interest.keeps_path(self.expanded(segs))
    }

    /// The dotted path of an expression (identifiers, member access, call chains), as
    /// written (imports not expanded).
    fn dotted(&self, node: Node<'_>) -> Vec<&'a str> {
        let mut out = Vec::new();
        self.dotted_into(node, 0, &mut out);
        out
    }

    /// [`Self::dotted`], appending to `out` (one vector for the whole path). A node that names
    /// nothing appends nothing.
    fn dotted_into(&self, node: Node<'_>, depth: usize, out: &mut Vec<&'a str>) {
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

    fn unwrap<'t>(&self, mut node: Node<'t>) -> Node<'t> {
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

    fn literal(&self, node: Node<'_>) -> Option<String> {
        let node = self.unwrap(node);
        if self.has(STRING, node) {
            unquote(text(node, self.src))
        } else {
            None
        }
    }

    /// Whether a binding node is at module level ([`Spec::binding_parents`]).
    fn module_level(&self, node: Node<'_>, func: Option<usize>) -> bool {
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
    fn shadow(&mut self, node: Node<'_>, field: Field) {
        let mut cursor = node.walk();
        let names: Vec<Node<'_>> = match field {
            Some(field) => node.children_by_field_id(field, &mut cursor).collect(),
            None => node.named_children(&mut cursor).collect(),
        };
        for n in names {
            self.shadow_names(n, 0);
        }
    }

    fn shadow_names(&mut self, node: Node<'_>, depth: usize) {
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
    fn literal_arg(&self, node: Node<'_>) -> Option<String> {
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
    fn constant(&self, name: &str) -> Option<String> {
        if self.consts.is_empty() || self.shadowed.contains(name) {
            return None;
        }
        self.consts.get(name).cloned()
    }

    /// `target = "literal"` or `target = new Uri("literal")`: a call of `target` with the
    /// literal (nothing when the value holds no literal).
    fn assignment(&mut self, node: Node<'_>, [target, value]: [Field; 2], func: Option<usize>) {
        let (Some(t), Some(v)) = (child(node, target), child(node, value)) else {
            return;
        };
        let literal = self.literal_arg(v).or_else(|| {
            let v = self.unwrap(v);
            let [_, _, args] = self.roles.calls.get(self.roles.of(v).call as usize)?;
            let list = child(v, *args)?;
            // The first argument only: `new Uri(baseUri, "v1/traces")` is a relative path.
            let mut c = list.walk();
            let first = list.named_children(&mut c).find(|a| !self.has(COMMENT, *a));
            first.and_then(|a| self.literal_arg(a))
        });
        let Some(literal) = literal else {
            return;
        };
        let segs = self.dotted(t);
        if !self.keeps(&segs) {
            return;
        }
        let path = self.expand(&segs);
        if path.is_empty() {
            return;
        }
        let line = node.start_position().row as u32 + 1;
        self.push(
            FactKind::Call {
                path,
                literal_args: vec![literal],
                method: false,
                args: CallArgs::default(),
            },
            line,
            func,
        );
    }

    fn call(&mut self, node: Node<'_>, args_field: Field, func: Option<usize>) {
        let segs = self.dotted(node);
        let path: Vec<&str> = self.expanded(&segs).collect();
        let (Some(&last), prev) = (path.last(), path.iter().rev().nth(1).copied()) else {
            return;
        };
        let prev = prev.unwrap_or_default();
        // What the call can be to a rule: a call fact (only if some rule's pattern can match
        // its path), a keyed attribute, or attributes passed as key/value pairs.
        let keep = self.interest.keeps_path(path.iter().copied());
        let keyed = matches!(
            last,
            "set_attribute" | "setAttribute" | "SetAttribute" | "SetTag" | "AddTag" | "SetBaggage"
        ) || (prev == "attribute"
            && matches!(
                last,
                "String" | "Int" | "Int64" | "Bool" | "Float64" | "StringSlice" | "Stringer"
            ))
            || (prev == "AttributeKey" && last.ends_with("Key"));
        let records = ["attribute", "event", "span", "tag"]
            .iter()
            .any(|word| contains_ignore_case(last, word));
        if !(keep || keyed || records) {
            return;
        }
        let line = node.start_position().row as u32 + 1;
        let mut literal_args = Vec::new();
        // The second argument: a keyed attribute's value (its text is only taken then).
        let mut second_arg = None;
        let mut first_literal = None;
        let mut pairs: Vec<(String, String)> = Vec::new();
        if let Some(args) = child(node, args_field) {
            let mut c = args.walk();
            let mut seen = 0;
            for arg in args.named_children(&mut c) {
                if self.has(COMMENT, arg) {
                    continue;
                }
                let inner = self.unwrap(arg);
                let literal = self.literal(inner);
                // The key is the first argument that is not a comment (a literal, never a
                // constant: keys are judged as written).
                if seen == 0 {
                    first_literal.clone_from(&literal);
                }
                if keep {
                    if let Some(l) = literal.or_else(|| self.literal_arg(inner)) {
                        literal_args.push(l);
                    }
                }
                if keep || records {
                    self.collect_pairs(inner, &mut pairs, &mut literal_args, 0);
                }
                if seen == 1 {
                    second_arg = Some(inner);
                }
                seen += 1;
            }
        }
        let args = match child(node, args_field) {
            Some(list) if keep && self.interest.wants_args(last) => self.call_args(list),
            _ => CallArgs::default(),
        };
        let path: Option<Vec<String>> =
            keep.then(|| path.iter().map(|s| (*s).to_string()).collect());
        if keyed {
            if let Some(key) = first_literal {
                let value = second_arg
                    .map(|v| truncate(text(v, self.src)))
                    .unwrap_or_default();
                self.push(FactKind::Attribute { key, value }, line, func);
            }
        }
        if records {
            for (key, value) in pairs {
                self.push(FactKind::Attribute { key, value }, line, func);
            }
        }
        if let Some(path) = path {
            self.push(
                FactKind::Call {
                    path,
                    literal_args,
                    method: false,
                    args,
                },
                line,
                func,
            );
        }
    }

    /// What an argument list names ([`CallArgs`]): the path of each call, member access or
    /// qualified name in it (imports expanded; a call's own arguments are followed, a member
    /// path is taken whole), comments and strings skipped. A bare name, a path whose first name
    /// is not an import — a local variable, a function of the service's own — or a call of an
    /// unnamed function makes the arguments opaque.
    fn call_args(&self, list: Node<'_>) -> CallArgs {
        let mut out = CallArgs::default();
        let mut stack = vec![list];
        let mut budget = CallArgs::BUDGET;
        let mut cursor = list.walk();
        while let Some(node) = stack.pop() {
            if budget == 0 {
                out.opaque = true;
                break;
            }
            budget -= 1;
            let role = self.roles.of(node);
            if role.flags & (COMMENT | STRING) != 0 {
                continue;
            }
            let call = self.roles.calls.get(role.call as usize);
            if call.is_some() || role.member != NONE || role.flags & IDENT != 0 {
                let segs = self.dotted(node);
                match segs.first() {
                    // A bare name is a local value, even one named like an import
                    // (`propagation := propagation.New…()`); a path from no import is local
                    // too (a variable's field, the service's own function).
                    Some(first) => {
                        out.opaque |= role.flags & IDENT != 0
                            || segs.len() == 1
                            || !self.aliases.contains_key(*first);
                        out.paths.push(self.expand(&segs));
                    }
                    // A call of what has no name (`func() … { … }()`): not seen through.
                    None => out.opaque = true,
                }
                if let Some(inner) = call.and_then(|[_, _, args]| child(node, *args)) {
                    stack.push(inner);
                }
                continue;
            }
            stack.extend(node.named_children(&mut cursor));
        }
        out
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
        if let Some([kf, vf]) = self.roles.pairs.get(self.roles.of(node).pair as usize) {
            if let (Some(k), Some(v)) = (child(node, *kf), child(node, *vf)) {
                let key = self
                    .literal(k)
                    .unwrap_or_else(|| text(k, self.src).to_string());
                if address_key(&key) {
                    literals.extend(self.literal_arg(v));
                }
                pairs.push((key, truncate(text(v, self.src))));
            }
            return;
        }
        if kind == "shorthand_property_identifier" {
            // `{ url }`: the property holds the constant of that name, if there is one.
            let t = text(node, self.src).to_string();
            if address_key(&t) {
                literals.extend(self.constant(&t));
            }
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

    fn push(&mut self, kind: FactKind, line: u32, func: Option<usize>) {
        let mut f = Fact::at(kind, &self.file, line);
        f.func = self.func_name(func);
        self.out.facts.push(f);
    }

    fn func_name(&self, func: Option<usize>) -> Option<String> {
        func.and_then(|i| self.out.fns.get(i))
            .map(|d| d.name.clone())
    }

    fn walk(&mut self, root: Node<'_>) {
        // One cursor for the whole tree (no per-node allocation, no recursion). `ctx` holds,
        // per depth, the context children inherit: enclosing function (an index into
        // `out.fns`), inside a class, inside a member expression.
        let mut cursor = root.walk();
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
            }
        }
    }

    /// Extract from one named node; `None` skips its subtree (comments, strings).
    fn visit(
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
                    let live = (self.spec.fn_live)(&name, node);
                    self.fn_hashes.push(ref_hash(&name));
                    self.out.fns.push(FnDef { name, live });
                    func_here = Some(self.out.fns.len() - 1);
                }
            }
        }
        let class_here = in_class || role.flags & CLASS != 0;
        // Module- or class-level constants ([`Spec::binding_parents`]) bound to a string
        // literal; a later binding of the name to anything else forgets it.
        let module_level = role.bind != NONE && self.module_level(node, func_here);
        if let Some(field) = self.roles.locals.get(role.local as usize) {
            if !module_level || role.bind == NONE {
                self.shadow(node, *field);
            }
        }
        if let Some([name, value]) = self.roles.bindings.get(role.bind as usize) {
            if let (Some(n), true) = (child(node, *name), module_level) {
                let key = text(n, self.src);
                let by_name = is_constant_name(key) || declared_const(node);
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
        let member_here = role.member != NONE;
        if member_here && !in_member {
            let segs = self.dotted(node);
            if self.expanded(&segs).nth(1).is_some() && self.keeps(&segs) {
                let path = self.expand(&segs);
                let line = node.start_position().row as u32 + 1;
                self.push(FactKind::Symbol { path }, line, func_here);
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
}

/// The one value a binding gives its one name: `None` for `const a, b = "x", "y"` (values pair
/// by position) and for lists of several values; a one-element `expression_list` is its element.
fn single<'t>(binding: Node<'t>, name: Field, value: Node<'t>) -> Option<Node<'t>> {
    let name = name?;
    let mut cursor = binding.walk();
    if binding.children_by_field_id(name, &mut cursor).count() > 1 {
        return None;
    }
    if value.kind() == "expression_list" {
        return (value.named_child_count() == 1)
            .then(|| value.named_child(0))
            .flatten();
    }
    Some(value)
}

/// A keyword or property that holds an address (`url`, `endpoint`, `collectorUri`, `host`):
/// only its literal value is a literal argument (`compression: 'gzip'` is not).
fn address_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    ["url", "uri", "endpoint", "host", "addr", "collector"]
        .iter()
        .any(|word| key.contains(word))
}

/// A binding in a `const` declaration (Go's `const x = …`, JavaScript's `const x = …`; not
/// `let`/`var`, which may be reassigned): a constant whatever its name.
fn declared_const(binding: Node<'_>) -> bool {
    binding
        .parent()
        .and_then(|declaration| declaration.child(0))
        .is_some_and(|keyword| keyword.kind() == "const")
}

/// `ENDPOINT`, `OTLP_URL`: the naming convention for constants (a lower-case name is as likely
/// a parameter or local shadowing it).
fn is_constant_name(name: &str) -> bool {
    name.bytes().any(|b| b.is_ascii_uppercase())
        && name
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

/// 1-based line of the first ERROR or MISSING node.
fn first_error_line(root: Node<'_>) -> u32 {
    let mut node = root;
    'descend: loop {
        let mut c = node.walk();
        for child in node.children(&mut c) {
            if child.is_error() || child.is_missing() {
                return child.start_position().row as u32 + 1;
            }
            if child.has_error() {
                node = child;
                continue 'descend;
            }
        }
        return node.start_position().row as u32 + 1;
    }
}

/// Alias for an import path: `segments(path)`.
pub fn import_segments(path: &str) -> Vec<String> {
    segments(path)
}

/// Whether `hay` contains `needle` (ASCII lower case), in any ASCII case.
fn contains_ignore_case(hay: &str, needle: &str) -> bool {
    hay.as_bytes()
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}
