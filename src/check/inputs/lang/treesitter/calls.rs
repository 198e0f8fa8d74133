//! Facts from assignments and calls: the callee's path, its arguments (literals, nested
//! calls, key-value pairs), and the function each fact is made in.

use tree_sitter::Node;

use super::{
    address_key, child, contains_ignore_case, text, truncate, Extractor, Field, COMMENT, IDENT,
    NONE, STRING,
};
use crate::check::facts::{env_names, AttrContext, CallArgs, Fact, FactKind};

/// A key/value pair of a call's arguments (`setAttributes({ 'app.user': user.id })`), at its
/// own line.
pub(super) struct Pair {
    key: String,
    value: String,
    line: u32,
    /// A bare local name's origin and whether it is a type ([`AttrContext::origin`]).
    origin: Option<(String, bool)>,
    /// Built from a collection, one pair per entry: what is iterated ([`AttrContext::over`]).
    over: Option<String>,
}

impl<'a> Extractor<'a> {
    /// `target = "literal"` or `target = new Uri("literal")`: a call of `target` with the
    /// literal (nothing when the value holds no literal).
    pub(super) fn assignment(
        &mut self,
        node: Node<'_>,
        [target, value]: [Field; 2],
        func: Option<usize>,
    ) {
        let (Some(t), Some(v)) = (child(node, target), child(node, value)) else {
            return;
        };
        // Go: `a.B = v` holds one-expression lists.
        let (t, v) = (single(t), single(v));
        let literal = self.literal_arg(v).or_else(|| {
            let v = self.unwrap(v);
            let [_, _, args] = self.roles.calls.get(self.roles.of(v).call as usize)?;
            let list = child(v, *args)?;
            // The first argument only: `new Uri(baseUri, "v1/traces")` is a relative path.
            let mut c = list.walk();
            let first = list.named_children(&mut c).find(|a| !self.has(COMMENT, *a));
            first.and_then(|a| self.literal_arg(a))
        });
        // Go: an imported package's variable replaced whatever the value
        // (`http.DefaultTransport = otelhttp.NewTransport(http.DefaultTransport)`): a call of
        // the target without literal, which a rule may name (`call: http.DefaultTransport`).
        let replaced = literal.is_none() && node.kind() == "assignment_statement";
        if literal.is_none() && !replaced {
            return;
        }
        let segs = self.dotted(t);
        if !self.keeps(&segs)
            || (replaced && !segs.first().is_some_and(|s| self.aliases.contains_key(*s)))
        {
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
                literal_args: literal.into_iter().collect(),
                method: false,
                args: CallArgs::default(),
            },
            line,
            func,
        );
    }

    /// The first of a call's first three arguments that is a string literal naming an export
    /// endpoint's environment variable of the service's own (`"COLLECTOR_SERVICE_ADDR"`):
    /// checked on the raw text before anything is allocated.
    pub(super) fn endpoint_variable_arg(
        &self,
        node: Node<'_>,
        args_field: Field,
    ) -> Option<String> {
        let args = child(node, args_field)?;
        let mut c = args.walk();
        let found = args.named_children(&mut c).take(3).find_map(|arg| {
            let raw = text(arg, self.src).as_bytes();
            let inner = raw.strip_prefix(b"\"")?.strip_suffix(b"\"")?;
            let plausible = inner.len() >= 8
                && inner
                    .iter()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'_');
            let name = std::str::from_utf8(inner).ok()?;
            (plausible && env_names::is_endpoint_variable(name)).then(|| name.to_string())
        });
        found
    }

    /// Whether the call configures another OpenTelemetry signal than traces
    /// ([`super::Spec::signal_scopes`]): made on a receiver chain through a call that
    /// configures one (`Sdk.CreateMeterProviderBuilder().AddHttpClientInstrumentation()`), or
    /// in the arguments of one (`WithMetrics(m => m.AddAspNetCoreInstrumentation())`), up to
    /// the enclosing method; the nearest such call decides.
    fn other_signal(&self, node: Node<'_>, path: &[&str]) -> bool {
        let scopes = self.spec.signal_scopes;
        // A scope is named in the file's text (the call's path, aliases expanded, comes from
        // it too).
        if !self.signal_scoped {
            return false;
        }
        let scope = |name: &str| {
            scopes
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, traces)| *traces)
        };
        if let Some(traces) = path.iter().rev().skip(1).find_map(|s| scope(s)) {
            return !traces;
        }
        // Up the tree from the call (the node being visited: `self.ancestors` encloses it).
        let mut prev = node;
        for &n in self.ancestors.iter().rev().take(64) {
            let role = self.roles.of(n);
            if role.func != NONE {
                break;
            }
            if let Some([_, function, args]) = self.roles.calls.get(role.call as usize) {
                let through_args = child(n, *args).is_some_and(|a| a == prev);
                let name = through_args
                    .then(|| child(n, *function))
                    .flatten()
                    .and_then(|f| self.dotted(f).last().copied());
                if let Some(traces) = name.and_then(scope) {
                    return !traces;
                }
            }
            prev = n;
        }
        false
    }

    pub(super) fn call(&mut self, node: Node<'_>, args_field: Field, func: Option<usize>) {
        let segs = self.dotted(node);
        let path: Vec<&str> = self.expanded(&segs).collect();
        let (Some(&last), prev) = (path.last(), path.iter().rev().nth(1).copied()) else {
            return;
        };
        let prev = prev.unwrap_or_default();
        // What the call can be to a rule: a call fact (only if some rule's pattern can match
        // its path), a keyed attribute, or attributes passed as key/value pairs.
        let keep =
            self.interest.keeps_path(path.iter().copied()) && !self.other_signal(node, &path);
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
            // A call handing the service's own helper an export endpoint's variable name
            // (`mustMapEnv(&addr, "COLLECTOR_SERVICE_ADDR")`): the code reads that variable.
            let found = self
                .endpoint_named
                .then(|| self.endpoint_variable_arg(node, args_field));
            if let Some(name) = found.flatten() {
                let line = node.start_position().row as u32 + 1;
                self.push(
                    FactKind::Call {
                        path: path.iter().map(|s| (*s).to_string()).collect(),
                        literal_args: vec![name],
                        method: false,
                        args: CallArgs::default(),
                    },
                    line,
                    func,
                );
            }
            return;
        }
        let line = node.start_position().row as u32 + 1;
        let mut literal_args = Vec::new();
        // The second argument: a keyed attribute's value (its text is only taken then).
        let mut second_arg = None;
        let mut first_arg = None;
        let mut first_literal = None;
        let mut pairs: Vec<Pair> = Vec::new();
        // The argument list, looked up once (a field lookup walks the node's children).
        let arg_list = child(node, args_field);
        if let Some(args) = arg_list {
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
                    first_arg = Some(inner);
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
        let mut args = match arg_list {
            Some(list) if keep && self.interest.wants_args(last) => self.call_args(list),
            _ => CallArgs::default(),
        };
        // An environment read: what its value is compared with, where it is read.
        if let Some(name) = literal_args
            .first()
            .filter(|a| keep && env_names::is_variable(a))
        {
            args.compared = self.compared(node, env_names::is_tracing_switch(name));
        }
        let path: Option<Vec<String>> =
            keep.then(|| path.iter().map(|s| (*s).to_string()).collect());
        if let (true, Some(key_node)) = (keyed, first_arg) {
            // A literal key, or a key computed inside a loop (`'http.request.header.' + k`):
            // other computed keys (a constant, a parameter) are not judged.
            let computed = first_literal.is_none();
            let context = self.attribute_context(node, computed, second_arg);
            let in_loop = context.as_ref().is_some_and(|c| !c.over.is_empty());
            let key = first_literal.or_else(|| in_loop.then(|| truncate(text(key_node, self.src))));
            if let Some(key) = key {
                let value = second_arg
                    .map(|v| truncate(text(v, self.src)))
                    .unwrap_or_default();
                // The attribute's own line: its key's, in a call over several lines.
                let line = key_node.start_position().row as u32 + 1;
                self.push(
                    FactKind::Attribute {
                        key,
                        value,
                        context,
                    },
                    line,
                    func,
                );
            }
        }
        if records {
            for Pair {
                key,
                value,
                line,
                origin,
                over,
            } in pairs
            {
                let context = (origin.is_some() || over.is_some()).then(|| {
                    let (origin, typed) = origin.map_or((None, false), |(o, t)| (Some(o), t));
                    Box::new(AttrContext {
                        over: over.into_iter().collect(),
                        origin,
                        typed,
                    })
                });
                self.push(
                    FactKind::Attribute {
                        key,
                        value,
                        context,
                    },
                    line,
                    func,
                );
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
    pub(super) fn call_args(&self, list: Node<'_>) -> CallArgs {
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

    pub(super) fn collect_pairs(
        &self,
        node: Node<'_>,
        pairs: &mut Vec<Pair>,
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
                pairs.push(Pair {
                    key,
                    value: truncate(text(v, self.src)),
                    line: node.start_position().row as u32 + 1,
                    origin: (v.kind() == "identifier").then(|| self.origin(v)).flatten(),
                    over: None,
                });
            }
            return;
        }
        if let Some((k, v, over)) = self.pairs_over_collection(node) {
            pairs.push(Pair {
                key: truncate(text(k, self.src)),
                value: truncate(text(v, self.src)),
                line: k.start_position().row as u32 + 1,
                origin: None,
                over: Some(self.collection_text(over)),
            });
            return;
        }
        if kind == "shorthand_property_identifier" {
            // `{ url }`: the property holds the constant of that name, if there is one.
            let t = text(node, self.src).to_string();
            if address_key(&t) {
                literals.extend(self.constant(&t));
            }
            pairs.push(Pair {
                key: t.clone(),
                value: t,
                line: node.start_position().row as u32 + 1,
                origin: self.origin(node),
                over: None,
            });
            return;
        }
        if matches!(kind, "object" | "dictionary" | "argument_list") && depth < 3 {
            let mut c = node.walk();
            for child in node.named_children(&mut c) {
                self.collect_pairs(child, pairs, literals, depth + 1);
            }
        }
    }

    /// Key/value pairs built from a collection, one per entry: Python's `{f"h.{k}": v for k, v
    /// in x}` and JavaScript's `Object.fromEntries(x.map(([k, v]) => [`h.${k}`, v]))`: (key,
    /// value, `x`).
    fn pairs_over_collection<'t>(&self, node: Node<'t>) -> Option<(Node<'t>, Node<'t>, Node<'t>)> {
        match node.kind() {
            "dictionary_comprehension" => {
                let body = node.child_by_field_name("body")?;
                let (k, v) = (
                    body.child_by_field_name("key")?,
                    body.child_by_field_name("value")?,
                );
                let mut c = node.walk();
                let clause = node
                    .named_children(&mut c)
                    .find(|n| n.kind() == "for_in_clause")?;
                Some((k, v, clause.child_by_field_name("right")?))
            }
            "call_expression" => {
                let callee = node.child_by_field_name("function")?;
                if !text(callee, self.src).ends_with("fromEntries") {
                    return None;
                }
                let map = node.child_by_field_name("arguments")?.named_child(0)?;
                let member = map.child_by_field_name("function")?;
                if member
                    .child_by_field_name("property")
                    .map(|p| text(p, self.src))
                    != Some("map")
                {
                    return None;
                }
                let over = member.child_by_field_name("object")?;
                let each = map.child_by_field_name("arguments")?.named_child(0)?;
                let entry = each.child_by_field_name("body")?;
                if entry.kind() != "array" || entry.named_child_count() != 2 {
                    return None;
                }
                Some((entry.named_child(0)?, entry.named_child(1)?, over))
            }
            _ => None,
        }
    }

    pub(super) fn push(&mut self, kind: FactKind, line: u32, func: Option<usize>) {
        let mut f = Fact::at(kind, &self.file, line);
        f.func = self.func_name(func);
        self.out.facts.push(f);
    }

    pub(super) fn func_name(&self, func: Option<usize>) -> Option<String> {
        func.and_then(|i| self.out.fns.get(i))
            .map(|d| d.name.clone())
    }
}

/// The one expression of a one-expression list (Go's `expression_list`), else the node.
fn single(node: Node<'_>) -> Node<'_> {
    match (node.kind(), node.named_child_count()) {
        ("expression_list", 1) => node.named_child(0).unwrap_or(node),
        _ => node,
    }
}

/// The address words an export endpoint's variable name holds, in upper case (see
/// `env_names::is_endpoint_variable`; `ADDR` covers `ADDRESS`): one search for all five.
static ADDRESS_WORDS: std::sync::LazyLock<Option<aho_corasick::AhoCorasick>> =
    std::sync::LazyLock::new(|| {
        aho_corasick::AhoCorasick::new(["ADDR", "ENDPOINT", "URL", "URI", "HOST"]).ok()
    });

/// Whether a file's text may hold an export endpoint's variable name (an upper-case address
/// word); if not, no call in it hands one to a helper.
pub(super) fn may_name_endpoint_variable(src: &[u8]) -> bool {
    ADDRESS_WORDS
        .as_ref()
        .is_none_or(|words| words.is_match(src))
}
