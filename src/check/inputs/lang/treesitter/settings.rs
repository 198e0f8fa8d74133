//! Settings classes that read environment variables by field name: a pydantic
//! `BaseSettings` subclass's `enable_tracing: bool = False` is set by the variable
//! `ENABLE_TRACING`, or `<env_prefix>ENABLE_TRACING` with `model_config =
//! SettingsConfigDict(env_prefix="ORDERS_")` (or a nested `class Config: env_prefix = …`).
//! Each field whose default is `False` is a read of its variable: a call of
//! `pydantic_settings.BaseSettings.<field>` with the variable's name as its literal (what the
//! rules' `env_readers` match with `BaseSettings`).

use tree_sitter::Node;

use super::{text, Extractor};
use crate::check::facts::{CallArgs, FactKind};

impl Extractor<'_> {
    /// A Python `class X(BaseSettings)`: a read of each field defaulting to `False`.
    pub(super) fn settings_class(&mut self, node: Node<'_>) {
        if node.kind() != "class_definition" {
            return;
        }
        let base = node.child_by_field_name("superclasses").and_then(|list| {
            let mut c = list.walk();
            let found = list
                .named_children(&mut c)
                .map(|b| self.dotted(b))
                .find(|segs| segs.last() == Some(&"BaseSettings"));
            found
        });
        let Some(base) = base else {
            return;
        };
        let path = self.expand(&base);
        if !path.first().is_some_and(|p| p.starts_with("pydantic")) || !self.keeps(&base) {
            return;
        }
        let Some(body) = node.child_by_field_name("body") else {
            return;
        };
        let mut prefix = String::new();
        let mut fields = Vec::new();
        let mut c = body.walk();
        for stmt in body.named_children(&mut c) {
            if stmt.kind() == "class_definition" {
                // Pydantic v1: `class Config: env_prefix = "ORDERS_"`.
                if let Some(p) = stmt
                    .child_by_field_name("body")
                    .and_then(|b| self.assigned(b, "env_prefix"))
                {
                    prefix = p;
                }
                continue;
            }
            let Some(assign) = stmt.named_child(0).filter(|a| a.kind() == "assignment") else {
                continue;
            };
            let (Some(left), right) = (
                assign.child_by_field_name("left"),
                assign.child_by_field_name("right"),
            ) else {
                continue;
            };
            let name = text(left, self.src);
            if name == "model_config" {
                // `SettingsConfigDict(env_prefix="ORDERS_")`.
                if let Some(p) = right.and_then(|r| self.keyword(r, "env_prefix")) {
                    prefix = p;
                }
            } else if assign.child_by_field_name("type").is_some()
                && right.is_some_and(|r| r.kind() == "false")
            {
                fields.push((name.to_string(), assign.start_position().row as u32 + 1));
            }
        }
        for (field, line) in fields {
            let mut p = path.clone();
            p.push(field.clone());
            let variable = format!("{prefix}{field}").to_ascii_uppercase();
            self.push(
                FactKind::Call {
                    path: p,
                    literal_args: vec![variable],
                    method: false,
                    args: CallArgs::default(),
                },
                line,
                None,
            );
        }
    }

    /// The string literal `name = "…"` assigns in a class body.
    fn assigned(&self, body: Node<'_>, name: &str) -> Option<String> {
        let mut c = body.walk();
        let found = body.named_children(&mut c).find_map(|stmt| {
            let a = stmt.named_child(0).filter(|a| a.kind() == "assignment")?;
            (text(a.child_by_field_name("left")?, self.src) == name)
                .then(|| self.literal(a.child_by_field_name("right")?))
                .flatten()
        });
        found
    }

    /// The string literal of a call's keyword argument `name=…`.
    fn keyword(&self, call: Node<'_>, name: &str) -> Option<String> {
        let args = call.child_by_field_name("arguments")?;
        let mut c = args.walk();
        let found = args.named_children(&mut c).find_map(|a| {
            (a.kind() == "keyword_argument"
                && text(a.child_by_field_name("name")?, self.src) == name)
                .then(|| self.literal(a.child_by_field_name("value")?))
                .flatten()
        });
        found
    }
}

#[cfg(test)]
mod tests {
    use crate::check::facts::FactKind;
    use crate::check::inputs::lang::{analyse, SourceKind};

    /// (path, variable) of each call fact.
    fn reads(src: &str) -> Vec<(String, String)> {
        let f = analyse(SourceKind::Python, "app/config.py", src).unwrap();
        f.facts
            .iter()
            .filter_map(|x| match &x.kind {
                FactKind::Call {
                    path, literal_args, ..
                } if path.iter().any(|p| p == "BaseSettings") => {
                    Some((path.join("."), literal_args.join(",")))
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_settings_field_defaulting_to_false_reads_its_prefixed_variable() {
        let v2 = "from pydantic_settings import BaseSettings, SettingsConfigDict\n\n\nclass Settings(BaseSettings):\n    model_config = SettingsConfigDict(env_prefix=\"orders_\")\n\n    enable_tracing: bool = False\n    debug: bool = True\n    port: int = 8000\n";
        assert_eq!(
            reads(v2),
            [(
                "pydantic_settings.BaseSettings.enable_tracing".to_string(),
                "ORDERS_ENABLE_TRACING".to_string()
            )]
        );
        let v1 = "from pydantic import BaseSettings\n\n\nclass Settings(BaseSettings):\n    otel_enabled: bool = False\n\n    class Config:\n        env_prefix = \"BILLING_\"\n";
        assert_eq!(
            reads(v1),
            [(
                "pydantic.BaseSettings.otel_enabled".to_string(),
                "BILLING_OTEL_ENABLED".to_string()
            )]
        );
        // Not a settings class: its fields read nothing.
        let plain = "class Options:\n    enable_tracing: bool = False\n";
        assert!(reads(plain).is_empty());
    }
}
