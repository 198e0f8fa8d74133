//! What the code compares an environment variable's value with where it reads it
//! ([`Compared`]): `os.Getenv("ENABLE_TRACING") == "1"`, `process.env.ENABLE_TRACING !==
//! 'true'`, `os.environ.get("X", "").lower() in ("1", "true")`, `strconv.ParseBool(…)`,
//! `Boolean.parseBoolean(…)`. Looked up the tree from the read, through parentheses, argument
//! lists and the calls that only change case or trim (`.lower()`, `strings.ToLower(…)`,
//! `.trim()`), to the comparison or the parse. A read assigned to a variable and compared
//! later is not followed.

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

impl Extractor<'_> {
    /// What the value read at `node` (the node being visited) is compared with, if anything.
    pub(super) fn compared(&self, node: Node<'_>) -> Option<Box<Compared>> {
        let mut prev = node;
        let mut ignore_case = false;
        for &p in self.ancestors.iter().rev().take(DEPTH) {
            let kind = p.kind();
            if self.has(WRAPPER, p) || ARGUMENT_LISTS.contains(&kind) {
                prev = p;
                continue;
            }
            if COMPARISONS.contains(&kind) {
                return self.comparison(p, prev, ignore_case);
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
                    return Some(Box::new(Compared {
                        values: ["1", "t", "T", "TRUE", "true", "True"]
                            .map(str::to_string)
                            .to_vec(),
                        ignore_case: false,
                    }))
                }
                "parseBoolean" => return Some(true_ignoring_case()),
                "Parse" if callee.ends_with("bool.Parse") || callee.ends_with("Boolean.Parse") => {
                    return Some(true_ignoring_case())
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
}
