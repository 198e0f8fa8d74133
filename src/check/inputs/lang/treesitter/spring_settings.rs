//! Spring properties that switch tracing: a `@ConditionalOnProperty(name = "tracing.enabled",
//! havingValue = "true")` on the configuration that builds the SDK, or a
//! `@Value("${tracing.enabled:false}")` the code tests. Each is a read of the property (a call
//! of the annotation's path with the property's name as its literal); the rules' `env_readers`
//! (`ConditionalOnProperty`, `annotation.Value`) take it, and the evaluation maps the name to
//! the variable Spring's relaxed binding reads (`TRACING_ENABLED`). A property that is on when
//! missing (`matchIfMissing = true`, `${tracing.enabled:true}`) or is matched against
//! `havingValue = "false"` reads nothing here.

use tree_sitter::Node;

use super::{text, Extractor};
use crate::check::facts::env_names::is_tracing_switch;
use crate::check::facts::{CallArgs, FactKind};

impl Extractor<'_> {
    /// A Java `@ConditionalOnProperty(…)` or `@Value("${…}")` annotation.
    pub(super) fn spring_property(&mut self, node: Node<'_>) {
        if node.kind() != "annotation" {
            return;
        }
        let (Some(name), Some(args)) = (
            node.child_by_field_name("name"),
            node.child_by_field_name("arguments"),
        ) else {
            return;
        };
        let segs = self.dotted(name);
        let properties = match segs.last().copied() {
            Some("ConditionalOnProperty") => self.conditional_properties(args),
            Some("Value") => self.value_property(args).into_iter().collect(),
            _ => return,
        };
        // Only switches: a property holding an endpoint or a name is configuration, not a flag.
        let properties: Vec<String> = properties
            .into_iter()
            .filter(|p| is_tracing_switch(p))
            .collect();
        if properties.is_empty() || !self.keeps(&segs) {
            return;
        }
        let path = self.expand(&segs);
        let line = node.start_position().row as u32 + 1;
        for property in properties {
            self.push(
                FactKind::Call {
                    path: path.clone(),
                    literal_args: vec![property],
                    method: false,
                    args: CallArgs::default(),
                },
                line,
                None,
            );
        }
    }

    /// `@ConditionalOnProperty(prefix = "tracing", name = "enabled", havingValue = "true")`:
    /// the properties it needs on (`name`/`value`, a string or `{…}`, after `prefix`).
    fn conditional_properties(&self, args: Node<'_>) -> Vec<String> {
        let mut prefix = String::new();
        let mut names = Vec::new();
        let mut c = args.walk();
        for pair in args.named_children(&mut c) {
            if pair.kind() != "element_value_pair" {
                // `@ConditionalOnProperty("tracing.enabled")`.
                names.extend(self.literal(pair));
                continue;
            }
            let (Some(key), Some(value)) = (
                pair.child_by_field_name("key"),
                pair.child_by_field_name("value"),
            ) else {
                continue;
            };
            match text(key, self.src) {
                "prefix" => prefix = self.literal(value).unwrap_or_default(),
                "name" | "value" => names.extend(self.strings(value)),
                "havingValue"
                    if self
                        .literal(value)
                        .is_some_and(|v| v.eq_ignore_ascii_case("false")) =>
                {
                    return Vec::new();
                }
                "matchIfMissing" if text(value, self.src) == "true" => return Vec::new(),
                _ => {}
            }
        }
        names
            .into_iter()
            .map(|n| {
                if prefix.is_empty() {
                    n
                } else {
                    format!("{}.{n}", prefix.trim_end_matches('.'))
                }
            })
            .collect()
    }

    /// `@Value("${tracing.enabled:false}")`: the property, unless its default is on.
    fn value_property(&self, args: Node<'_>) -> Option<String> {
        let mut c = args.walk();
        let first = args.named_children(&mut c).next()?;
        let raw = self.literal(first)?;
        let inner = raw.trim().strip_prefix("${")?.strip_suffix('}')?;
        let (property, default) = match inner.split_once(':') {
            Some((p, d)) => (p, Some(d)),
            None => (inner, None),
        };
        if default.is_some_and(|d| d.trim().eq_ignore_ascii_case("true")) || property.is_empty() {
            return None;
        }
        Some(property.to_string())
    }

    /// The string literals of a value: one, or each of an array initializer `{"a", "b"}`.
    fn strings(&self, value: Node<'_>) -> Vec<String> {
        if value.kind() == "element_value_array_initializer" {
            let mut c = value.walk();
            let found: Vec<String> = value
                .named_children(&mut c)
                .filter_map(|v| self.literal(v))
                .collect();
            return found;
        }
        self.literal(value).into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use crate::check::facts::FactKind;
    use crate::check::inputs::lang::{analyse, SourceKind};

    /// (last path segment, property) of each property read.
    fn reads(src: &str) -> Vec<(String, String)> {
        let f = analyse(SourceKind::Java, "src/main/java/a/TracingConfig.java", src).unwrap();
        f.facts
            .iter()
            .filter_map(|x| match &x.kind {
                FactKind::Call {
                    path, literal_args, ..
                } if path
                    .last()
                    .is_some_and(|p| p == "ConditionalOnProperty" || p == "Value") =>
                {
                    Some((path.join("."), literal_args.join(",")))
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn spring_properties_that_switch_tracing_on() {
        let imports = "package a;\n\nimport org.springframework.beans.factory.annotation.Value;\nimport org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;\n\n";
        let cases: &[(&str, &[&str], &str)] = &[
            ("@ConditionalOnProperty(name = \"tracing.enabled\", havingValue = \"true\")\nclass T {}\n", &["tracing.enabled"], "name and havingValue"),
            ("@ConditionalOnProperty(prefix = \"otel\", name = {\"enabled\", \"tracing-enabled\"})\nclass T {}\n", &["otel.enabled", "otel.tracing-enabled"], "prefix and an array of names"),
            ("class T {\n  @Value(\"${tracing.endpoint}\") String endpoint;\n}\n", &[], "an endpoint is no switch"),
            ("@ConditionalOnProperty(\"tracing.enabled\")\nclass T {}\n", &["tracing.enabled"], "a bare value"),
            ("@ConditionalOnProperty(name = \"tracing.enabled\", matchIfMissing = true)\nclass T {}\n", &[], "on when missing"),
            ("@ConditionalOnProperty(name = \"tracing.disabled\", havingValue = \"false\")\nclass T {}\n", &[], "matched against false"),
            ("class T {\n  @Value(\"${tracing.enabled:false}\") boolean tracing;\n}\n", &["tracing.enabled"], "@Value with a false default"),
            ("class T {\n  @Value(\"${tracing.enabled:true}\") boolean tracing;\n}\n", &[], "@Value on by default"),
            ("class T {\n  @Value(\"literal\") String s;\n}\n", &[], "@Value of no property"),
        ];
        for (body, want, why) in cases {
            let got: Vec<String> = reads(&format!("{imports}{body}"))
                .into_iter()
                .map(|(_, p)| p)
                .collect();
            assert_eq!(got, *want, "{why}");
        }
        // The path is the annotation's, imports expanded.
        let paths = reads(&format!("{imports}{}", cases[0].0));
        assert_eq!(
            paths[0].0,
            "org.springframework.boot.autoconfigure.condition.ConditionalOnProperty"
        );
    }
}
