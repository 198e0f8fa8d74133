//! A generic fact extractor over tree-sitter syntax trees. Each language supplies a [`Spec`]
//! naming its node kinds; comments and string literals are never read as code, so a signal
//! written in either never counts. The extractor walks the tree ([`walk`]), reads names and
//! literals ([`names`]) and turns assignments and calls into facts ([`calls`]).

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use tree_sitter::{Node, Parser};

use crate::check::facts::segments;
use crate::check::facts::{FastMap, FastSet, SourceFacts};
use crate::check::inputs::interest::Interest;

mod attributes;
mod calls;
mod compared;
mod names;
mod settings;
mod spring_settings;
mod walk;

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
    /// Whether `$name` and `${…}` interpolate in every string (Kotlin): such a string is no
    /// literal.
    pub dollar_templates: bool,
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
    /// Whether a function is live regardless of references (name, definition node, the
    /// nodes enclosing it with the root first).
    pub fn_live: fn(&str, Node<'_>, &[Node<'_>]) -> bool,
    /// The package name (Go).
    pub package: fn(Node<'_>, &[u8]) -> Option<String>,
    /// Calls that configure one OpenTelemetry signal, by name, and whether it is traces: a
    /// call made in the arguments of one that is not (C#: `WithMetrics(m =>
    /// m.AddHttpClientInstrumentation())`), or on a receiver chain through one
    /// (`Sdk.CreateMeterProviderBuilder().AddAspNetCoreInstrumentation()`), is no fact: the
    /// same instrumentation on a meter provider makes no span. The nearest such call decides.
    pub signal_scopes: &'static [(&'static str, bool)],
    /// Declarations whose type is named, not used (Go: a struct field, a parameter, a
    /// function's result): a qualified type in one (`client *http.Client`) is no symbol fact,
    /// so a client or server type is a fact where a value of it is made (`&http.Client{…}`).
    pub declared_types: &'static [&'static str],
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
    // Triple quotes, as many as there are (`strip_*` loops: `trim_*_matches` of a string
    // sets up a substring search per call).
    let mut t = t;
    while let Some(inner) = t.strip_prefix("\"\"\"") {
        t = inner;
    }
    while let Some(inner) = t.strip_suffix("\"\"\"") {
        t = inner;
    }
    let t = t.trim_matches(|c| c == '"' || c == '\'' || c == '`');
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
/// A kind one of the narrow extractors looks at (`subscript`, `class_definition`, `annotation`):
/// only these pay for comparing the kind's name.
const NARROW: u8 = 64;
const NONE: u8 = u8::MAX;

/// The kinds [`NARROW`] marks: what `Extractor::subscript`, `settings_class` and
/// `spring_property` look for.
const NARROW_KINDS: &[&str] = &[
    "subscript",
    "subscript_expression",
    "class_definition",
    "annotation",
];

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

/// Where a node kind keeps one of its parts, resolved once per grammar. A spec names a field
/// (`"object"`), or, for grammars whose nodes have no fields (Kotlin's calls and member
/// accesses), a position: `"@first"` / `"@last"` (the first or last named child) or
/// `"@kind:value_arguments"` (the first named child of that kind).
#[derive(Clone, Copy)]
enum Field {
    /// The grammar has no such field, or the spec leaves it empty.
    Absent,
    /// A field, by id (no name lookup per node).
    Id(std::num::NonZeroU16),
    /// The first named child.
    First,
    /// The last named child.
    Last,
    /// The first named child of this kind id.
    Kind(u16),
}

impl Field {
    /// Resolve a spec's field name in `language`.
    fn resolve(language: &tree_sitter::Language, name: &str) -> Field {
        match name {
            "" => Field::Absent,
            "@first" => Field::First,
            "@last" => Field::Last,
            _ => match name.strip_prefix("@kind:") {
                Some(kind) => match language.id_for_node_kind(kind, true) {
                    0 => Field::Absent,
                    id => Field::Kind(id),
                },
                None => language
                    .field_id_for_name(name)
                    .map_or(Field::Absent, Field::Id),
            },
        }
    }

    /// The field id, when it is a field.
    fn id(self) -> Option<std::num::NonZeroU16> {
        match self {
            Field::Id(id) => Some(id),
            _ => None,
        }
    }
}

/// The index of a node's last named child (0 when it has none).
fn last_named(node: Node<'_>) -> u32 {
    u32::try_from(node.named_child_count().saturating_sub(1)).unwrap_or(u32::MAX)
}

/// The child in `field` (by id: no name lookup per node).
#[inline]
fn child(node: Node<'_>, field: Field) -> Option<Node<'_>> {
    match field {
        Field::Id(id) => node.child_by_field_id(id.get()),
        Field::Absent => None,
        Field::First => node.named_child(0),
        Field::Last => node.named_child(last_named(node)),
        Field::Kind(kind) => {
            let mut cursor = node.walk();
            let found = node
                .named_children(&mut cursor)
                .find(|c| c.kind_id() == kind);
            found
        }
    }
}

/// Types through which a declaration names a type ([`Extractor::declared_type`]).
const TYPE_WRAPPERS: &[&str] = &[
    "pointer_type",
    "slice_type",
    "array_type",
    "map_type",
    "channel_type",
    "parenthesized_type",
];
const TYPE_WRAPPER: u8 = 1;
const TYPE_DECLARED: u8 = 2;

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
    /// Per `Spec::signal_scopes` entry: a search for its name (built once per grammar, not
    /// per file).
    scope_names: Vec<memchr::memmem::Finder<'static>>,
    /// Per node kind (by id, named or not): one of `Spec::binding_parents`.
    binding_parent: Vec<bool>,
    /// Per node kind: a type that wraps another (pointer, slice… [`TYPE_WRAPPER`]), one of
    /// `Spec::declared_types` ([`TYPE_DECLARED`]), or neither (0).
    type_step: Vec<u8>,
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
                if NARROW_KINDS.contains(&name) {
                    r.flags |= NARROW;
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
        let kind_name = |id: usize| {
            u16::try_from(id)
                .ok()
                .and_then(|id| language.node_kind_for_id(id))
                .unwrap_or_default()
        };
        let binding_parent = (0..count)
            .map(|id| spec.binding_parents.contains(&kind_name(id)))
            .collect();
        let type_step = (0..count)
            .map(|id| {
                let name = kind_name(id);
                if TYPE_WRAPPERS.contains(&name) {
                    TYPE_WRAPPER
                } else if spec.declared_types.contains(&name) {
                    TYPE_DECLARED
                } else {
                    0
                }
            })
            .collect();
        let id = |name: &str| Field::resolve(language, name);
        Roles {
            kinds: roles,
            binding_parent,
            type_step,
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
            scope_names: spec
                .signal_scopes
                .iter()
                .map(|(name, _)| memchr::memmem::Finder::new(name.as_bytes()).into_owned())
                .collect(),
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
    // Whether the file names a call that scopes a signal (`WithMetrics`…): most files do not,
    // and then no call needs the walk up the tree that looks for one.
    let signal_scoped = roles.scope_names.iter().any(|f| f.find(src).is_some());
    let mut x = Extractor {
        spec,
        signal_scoped,
        endpoint_named: calls::may_name_endpoint_variable(src),
        roles: &roles,
        interest,
        src,
        file: std::sync::Arc::from(rel),
        aliases,
        fn_hashes: Vec::new(),
        consts: FastMap::default(),
        shadowed: FastSet::default(),
        ancestors: Vec::new(),
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
    /// The file's text names one of [`Spec::signal_scopes`].
    signal_scoped: bool,
    /// The file's text holds an upper-case address word (`ADDR`, `ENDPOINT`…): it may hand a
    /// helper an export endpoint's variable name ([`Extractor::endpoint_variable_arg`]).
    endpoint_named: bool,
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
    /// The nodes enclosing the one being visited, the root first ([`Extractor::walk`] keeps
    /// it): looking up the tree through them is a step, where `Node::parent` descends again
    /// from the root each time.
    ancestors: Vec<Node<'a>>,
    out: SourceFacts,
}

/// The one value a binding gives its one name: `None` for `const a, b = "x", "y"` (values pair
/// by position) and for lists of several values; a one-element `expression_list` is its element.
fn single<'t>(binding: Node<'t>, name: Field, value: Node<'t>) -> Option<Node<'t>> {
    let name = name.id()?;
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
/// `let`/`var`, which may be reassigned), given the binding's parent: a constant whatever its
/// name.
fn declared_const(declaration: Option<Node<'_>>) -> bool {
    declaration
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
