//! What the code compares an environment variable's value with where it reads it
//! ([`Compared`]): `os.Getenv("ENABLE_TRACING") == "1"`, `process.env.ENABLE_TRACING !==
//! 'true'`, `os.environ.get("X", "").lower() in ("1", "true")`, `strconv.ParseBool(…)`,
//! `Boolean.parseBoolean(…)`. Looked up the tree from the read, through parentheses, argument
//! lists and the calls that only change case or trim (`.lower()`, `strings.ToLower(…)`,
//! `.trim()`), to the comparison or the parse. A read assigned to a local variable
//! (`enabled := os.Getenv("ENABLE_TRACING")`, `flag = os.getenv(…).lower()`) is followed to
//! where that variable is compared, in the same function (or the file, for a module-level
//! name); a variable reassigned or passed on is judged by its first comparison.

use tree_sitter::Node;

use super::{child, text, Extractor, COMMENT, NONE, WRAPPER};
use crate::check::facts::Compared;

/// Argument lists a read passes through into a call.
const ARGUMENT_LISTS: &[&str] = &["argument_list", "arguments"];

/// Comparison nodes: Go, JavaScript, TypeScript, Java and C# `binary_expression`, Python
/// `comparison_operator`.
const COMPARISONS: &[&str] = &["binary_expression", "comparison_operator"];

/// How many nodes up the tree a comparison is looked for.
const DEPTH: usize = 8;

/// Declarations and assignments that bind a read to a name: Go `short_var_declaration`,
/// `assignment_statement`, `var_spec`; Python `assignment`; JavaScript, TypeScript, Java and C#
/// `variable_declarator`, JavaScript `assignment_expression`.
const BINDINGS: &[&str] = &[
    "short_var_declaration",
    "assignment_statement",
    "var_spec",
    "assignment",
    "variable_declarator",
    "assignment_expression",
];

/// How many uses of a bound variable are looked at.
const USES: usize = 16;

impl Extractor<'_> {
    /// What the value read at `node` (the node being visited) is compared with, if anything;
    /// through a variable it is bound to only when `follow_bindings` (the read is of a tracing
    /// switch: looking for a variable's uses costs a walk of its function).
    pub(super) fn compared(&self, node: Node<'_>, follow_bindings: bool) -> Option<Box<Compared>> {
        let ancestors: Vec<Node<'_>> = self
            .ancestors
            .iter()
            .rev()
            .take(DEPTH + 1)
            .copied()
            .collect();
        match self.compared_through(node, &ancestors, false)? {
            Found::Compared(c) => Some(c),
            Found::Bound { .. } if !follow_bindings => None,
            Found::Bound {
                binding,
                name,
                ignore_case,
            } => {
                let scope = self
                    .ancestors
                    .iter()
                    .rev()
                    .find(|a| is_function(a.kind()))
                    .or_else(|| self.ancestors.first())
                    .copied()?;
                self.compared_at_uses(scope, binding, &name, ignore_case)
            }
        }
    }

    /// The upward walk from a read (or a use of the variable it was bound to) through
    /// `ancestors` (nearest first).
    fn compared_through<'t>(
        &self,
        node: Node<'t>,
        ancestors: &[Node<'t>],
        mut ignore_case: bool,
    ) -> Option<Found<'t>> {
        let mut prev = node;
        for &p in ancestors.iter().take(DEPTH) {
            let kind = p.kind();
            if self.has(WRAPPER, p) || ARGUMENT_LISTS.contains(&kind) {
                prev = p;
                continue;
            }
            if kind == "expression_list" && p.named_child_count() == 1 {
                prev = p;
                continue;
            }
            if COMPARISONS.contains(&kind) {
                return self.comparison(p, prev, ignore_case).map(Found::Compared);
            }
            if BINDINGS.contains(&kind) {
                let (binding, name) = bound_name(p, prev, self.src)?;
                return Some(Found::Bound {
                    binding,
                    name,
                    ignore_case,
                });
            }
            let role = self.roles.of(p);
            // `x.lower()`: the member whose object is the value, then its call.
            if role.member != NONE {
                if p.named_child(0) != Some(prev) {
                    return None;
                }
                prev = p;
                continue;
            }
            let [_, function, _] = *self.roles.calls.get(role.call as usize)?;
            let callee = child(p, function).map(|f| text(f, self.src))?;
            let name = callee.rsplit('.').next().unwrap_or(callee);
            match name {
                "ParseBool" => {
                    return Some(Found::Compared(Box::new(Compared {
                        values: ["1", "t", "T", "TRUE", "true", "True"]
                            .map(str::to_string)
                            .to_vec(),
                        ignore_case: false,
                    })))
                }
                "parseBoolean" => return Some(Found::Compared(true_ignoring_case())),
                "Parse" if callee.ends_with("bool.Parse") || callee.ends_with("Boolean.Parse") => {
                    return Some(Found::Compared(true_ignoring_case()))
                }
                _ => {}
            }
            let lowered = name.to_ascii_lowercase();
            let case = ["lower", "upper", "casefold"]
                .iter()
                .any(|w| lowered.contains(w));
            if !(case || lowered.contains("trim") || lowered == "strip") {
                return None;
            }
            ignore_case |= case;
            prev = p;
        }
        None
    }

    /// What the uses of `name` after `binding` in `scope` compare it with: the first use that
    /// is compared or parsed (a use bound to yet another name is not followed further).
    fn compared_at_uses(
        &self,
        scope: Node<'_>,
        binding: Node<'_>,
        name: &str,
        ignore_case: bool,
    ) -> Option<Box<Compared>> {
        // Depth first, in source order, skipping what ends before the binding does.
        let mut uses = Vec::new();
        let mut stack = vec![scope];
        while let Some(n) = stack.pop() {
            if n.end_byte() <= binding.end_byte() {
                continue;
            }
            if n.kind() == "identifier" {
                if n.start_byte() >= binding.end_byte() && text(n, self.src) == name {
                    uses.push(n);
                    if uses.len() == USES {
                        break;
                    }
                }
                continue;
            }
            let mut cursor = n.walk();
            let children: Vec<Node<'_>> = n.named_children(&mut cursor).collect();
            stack.extend(children.into_iter().rev());
        }
        uses.into_iter().find_map(|u| {
            let mut ancestors = Vec::with_capacity(DEPTH);
            let mut at = u;
            while ancestors.len() < DEPTH {
                match at.parent() {
                    Some(p) if p != scope => {
                        ancestors.push(p);
                        at = p;
                    }
                    _ => break,
                }
            }
            match self.compared_through(u, &ancestors, ignore_case)? {
                Found::Compared(c) => Some(c),
                Found::Bound { .. } => None,
            }
        })
    }

    /// The literals `comparison` compares `value` (one of its operands) with: `==`, `!=`,
    /// `===`, `!==` against a string literal, Python's `in` against a tuple, list or set of
    /// them.
    fn comparison(
        &self,
        comparison: Node<'_>,
        value: Node<'_>,
        ignore_case: bool,
    ) -> Option<Box<Compared>> {
        let mut c = comparison.walk();
        let operator = comparison
            .children(&mut c)
            .filter(|n| !n.is_named())
            .map(|n| text(n, self.src))
            .find(|t| matches!(*t, "==" | "!=" | "===" | "!==" | "in"))?;
        let mut c = comparison.walk();
        let other = comparison
            .named_children(&mut c)
            .find(|n| *n != value && !self.has(COMMENT, *n))?;
        let values: Vec<String> = match self.literal(other) {
            Some(v) => vec![v],
            None if operator == "in" => {
                let mut c = other.walk();
                let items: Vec<Node<'_>> = other
                    .named_children(&mut c)
                    .filter(|n| !self.has(COMMENT, *n))
                    .collect();
                let values: Vec<String> = items.iter().filter_map(|n| self.literal(*n)).collect();
                if values.is_empty() || values.len() != items.len() {
                    return None;
                }
                values
            }
            None => return None,
        };
        Some(Box::new(Compared {
            values,
            ignore_case,
        }))
    }
}

/// Where the upward walk from a read ended.
enum Found<'t> {
    Compared(Box<Compared>),
    /// Bound to a name (the binding node, the name): compared where the name is used.
    Bound {
        binding: Node<'t>,
        name: String,
        ignore_case: bool,
    },
}

/// The name a binding gives the value that `value` (one of its children) holds: its `name` or
/// `left` (the first of an `expression_list`: `v, ok := os.LookupEnv(…)`), an identifier.
fn bound_name<'t>(binding: Node<'t>, value: Node<'_>, src: &[u8]) -> Option<(Node<'t>, String)> {
    let name = binding
        .child_by_field_name("name")
        .or_else(|| binding.child_by_field_name("left"))?;
    if name.id() == value.id() {
        return None;
    }
    let name = if name.kind() == "expression_list" {
        name.named_child(0)?
    } else {
        name
    };
    (name.kind() == "identifier").then(|| (binding, text(name, src).to_string()))
}

/// Function-like nodes: the scope a local variable's uses are looked for in.
fn is_function(kind: &str) -> bool {
    kind.contains("function")
        || kind.contains("method")
        || kind.contains("constructor")
        || matches!(kind, "func_literal" | "lambda" | "lambda_expression")
}

fn true_ignoring_case() -> Box<Compared> {
    Box::new(Compared {
        values: vec!["true".to_string()],
        ignore_case: true,
    })
}

#[cfg(test)]
mod tests {
    use crate::check::facts::{Compared, FactKind};
    use crate::check::inputs::lang::{analyse, SourceKind};

    /// What the read of `ENABLE_TRACING` in `src` is compared with.
    fn compared(kind: SourceKind, rel: &str, src: &str) -> Option<Compared> {
        let facts = analyse(kind, rel, src).unwrap();
        facts.facts.iter().find_map(|f| match &f.kind {
            FactKind::Call {
                literal_args, args, ..
            } if literal_args.first().is_some_and(|a| a == "ENABLE_TRACING") => {
                Some(args.compared.as_deref().cloned())
            }
            _ => None,
        })?
    }

    fn values(values: &[&str], ignore_case: bool) -> Option<Compared> {
        Some(Compared {
            values: values.iter().map(|v| (*v).to_string()).collect(),
            ignore_case,
        })
    }

    #[test]
    fn comparisons_and_parses_of_an_environment_read_are_kept() {
        let go = |cond: &str| {
            format!("package main\n\nimport (\n\t\"os\"\n\t\"strconv\"\n\t\"strings\"\n)\n\nfunc main() {{\n\tif {cond} {{\n\t\tinit()\n\t}}\n}}\n")
        };
        for (cond, expected) in [
            (
                "os.Getenv(\"ENABLE_TRACING\") == \"1\"",
                values(&["1"], false),
            ),
            (
                "strings.ToLower(os.Getenv(\"ENABLE_TRACING\")) == \"true\"",
                values(&["true"], true),
            ),
            (
                "os.Getenv(\"ENABLE_TRACING\") != \"\"",
                values(&[""], false),
            ),
            ("len(os.Getenv(\"ENABLE_TRACING\")) > 0", None),
        ] {
            assert_eq!(
                compared(SourceKind::Go, "main.go", &go(cond)),
                expected,
                "{cond}"
            );
        }
        let parse = "package main\n\nimport (\n\t\"os\"\n\t\"strconv\"\n)\n\nfunc main() {\n\ton, _ := strconv.ParseBool(os.Getenv(\"ENABLE_TRACING\"))\n\t_ = on\n}\n";
        assert_eq!(
            compared(SourceKind::Go, "main.go", parse).map(|c| c.values.len()),
            Some(6)
        );
        let py = "import os\n\nif os.environ.get(\"ENABLE_TRACING\", \"false\").strip().lower() in (\"1\", \"true\", \"yes\"):\n    setup()\n";
        assert_eq!(
            compared(SourceKind::Python, "app.py", py),
            values(&["1", "true", "yes"], true)
        );
        let py = "import os\n\nif os.environ[\"ENABLE_TRACING\"] == \"1\":\n    setup()\n";
        assert_eq!(
            compared(SourceKind::Python, "app.py", py),
            values(&["1"], false)
        );
        let js = "function setup() {\n  if (process.env.ENABLE_TRACING !== 'true') {\n    return;\n  }\n  start();\n}\nmodule.exports = { setup };\n";
        assert_eq!(
            compared(SourceKind::Javascript, "tracing.js", js),
            values(&["true"], false)
        );
        let java = "class App {\n  static boolean on() {\n    return Boolean.parseBoolean(System.getenv(\"ENABLE_TRACING\"));\n  }\n}\n";
        assert_eq!(
            compared(SourceKind::Java, "App.java", java),
            values(&["true"], true)
        );
    }

    #[test]
    fn a_read_bound_to_a_variable_is_followed_to_its_comparison() {
        let go = "package main\n\nimport (\n\t\"os\"\n\t\"strings\"\n)\n\nfunc main() {\n\tenabled := strings.ToLower(os.Getenv(\"ENABLE_TRACING\"))\n\tlog(enabled)\n\tif enabled == \"yes\" {\n\t\tinitTracing()\n\t}\n}\n";
        assert_eq!(
            compared(SourceKind::Go, "main.go", go),
            values(&["yes"], true),
            "Go: short variable declaration, lower-cased, then compared"
        );
        let go_var = "package main\n\nimport \"os\"\n\nfunc main() {\n\tvar flag = os.Getenv(\"ENABLE_TRACING\")\n\tif flag != \"1\" {\n\t\treturn\n\t}\n\tinitTracing()\n}\n";
        assert_eq!(
            compared(SourceKind::Go, "main.go", go_var),
            values(&["1"], false),
            "Go: var declaration"
        );
        let py = "import os\n\nTRACING = os.getenv(\"ENABLE_TRACING\", \"false\").lower()\n\n\ndef setup():\n    if TRACING in (\"true\", \"on\"):\n        init()\n";
        assert_eq!(
            compared(SourceKind::Python, "app.py", py),
            values(&["true", "on"], true),
            "Python: module-level name compared inside a function"
        );
        let js = "const enabled = process.env.ENABLE_TRACING;\n\nfunction setup() {\n  if (enabled === '1') {\n    start();\n  }\n}\nmodule.exports = { setup };\n";
        assert_eq!(
            compared(SourceKind::Javascript, "tracing.js", js),
            values(&["1"], false),
            "JavaScript: const bound to process.env.NAME"
        );
        let java = "class App {\n  static void start() {\n    String flag = System.getenv(\"ENABLE_TRACING\");\n    if (Boolean.parseBoolean(flag)) {\n      init();\n    }\n  }\n}\n";
        assert_eq!(
            compared(SourceKind::Java, "App.java", java),
            values(&["true"], true),
            "Java: local variable parsed as a boolean"
        );
        let cs = "class Startup {\n    static bool Tracing() {\n        var flag = Environment.GetEnvironmentVariable(\"ENABLE_TRACING\");\n        return flag == \"true\";\n    }\n}\n";
        assert_eq!(
            compared(SourceKind::Csharp, "Startup.cs", cs),
            values(&["true"], false),
            "C#: local variable compared"
        );
        // Not compared anywhere, only truthiness: nothing is said.
        let truthy = "import os\n\nflag = os.getenv(\"ENABLE_TRACING\")\nif flag:\n    init()\n";
        assert_eq!(compared(SourceKind::Python, "app.py", truthy), None);
        // A use before the binding, or of another name, does not count.
        let before = "package main\n\nimport \"os\"\n\nfunc main() {\n\tif enabled == \"1\" {\n\t}\n\tenabled := os.Getenv(\"ENABLE_TRACING\")\n\tif other == \"2\" {\n\t}\n\t_ = enabled\n}\n";
        assert_eq!(compared(SourceKind::Go, "main.go", before), None);
        // Not a tracing switch: a bound read is not followed (its function is not walked).
        let level = "package main\n\nimport \"os\"\n\nfunc main() {\n\tl := os.Getenv(\"LOG_LEVEL\")\n\tif l == \"debug\" {\n\t}\n}\n";
        let facts = analyse(SourceKind::Go, "main.go", level).unwrap();
        let kept = facts.facts.iter().find_map(|f| match &f.kind {
            FactKind::Call {
                literal_args, args, ..
            } if literal_args.first().is_some_and(|a| a == "LOG_LEVEL") => {
                Some(args.compared.is_some())
            }
            _ => None,
        });
        assert_eq!(kept, Some(false), "LOG_LEVEL is no tracing switch");
    }
}
