//! Environment variables the service's code reads by name (`os.Getenv("COLLECTOR_SERVICE_ADDR")`,
//! `os.environ.get("ENABLE_TRACING")`, `process.env.ENABLE_TRACING`), and what they mean to
//! tracing: an export endpoint of the service's own name, handed to the exporter (TG201 then
//! asks the workload for *that* variable), or a feature flag that switches tracing on
//! (TG106).
//!
//! The readers are the rule's `env_readers` parameter (call patterns, and `process.env` for
//! the JavaScript member form); a read counts when its first string literal is a variable
//! name (`[A-Za-z_][A-Za-z0-9_]*`). What the variable does is judged by its name.

pub(super) use crate::check::facts::env_names::is_endpoint_variable;
use crate::check::facts::env_names::{
    dotnet_variable, is_variable, spring_variable, words, TRACING_WORDS,
};
use crate::check::facts::{path_contains, segments, Compared, Fact, FactKind};
use crate::check::inputs::k8s::Workload;

/// A variable the code reads, where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct EnvRead<'a> {
    /// Its name.
    pub name: String,
    /// The read.
    pub fact: &'a Fact,
}

impl EnvRead<'_> {
    /// What the code compares the value with where it reads it.
    pub fn compared(&self) -> Option<&Compared> {
        match &self.fact.kind {
            FactKind::Call { args, .. } => args.compared.as_deref(),
            _ => None,
        }
    }

    /// Whether `value` (`None`: from a reference, which may) switches the flag on, as the code
    /// reads it: a value compared with true-ish literals (`== "1"`, `!== 'true'`, `in ("1",
    /// "true")`, `strconv.ParseBool`) must be one of them; otherwise any true value counts
    /// ([`is_on`]).
    pub fn turns_on(&self, value: Option<&str>) -> bool {
        let Some(value) = value else {
            return true;
        };
        match self
            .compared()
            .filter(|c| c.values.iter().all(|v| is_on(Some(v))))
        {
            Some(c) => c.values.iter().any(|v| {
                let v = v.as_str();
                value.trim() == v || (c.ignore_case && value.trim().eq_ignore_ascii_case(v))
            }),
            None => is_on(Some(value)),
        }
    }

    /// The value to give the flag in a message: the first the code accepts, else `1`.
    pub fn on_value(&self) -> &str {
        self.compared()
            .and_then(|c| c.values.iter().find(|v| is_on(Some(v))))
            .map_or("1", String::as_str)
    }
}

/// Every variable read through one of `readers`, first read first (by file and line), one per
/// name. Only call and symbol facts read (others may be given, and are passed over).
pub(super) fn reads<'a>(readers: &[String], facts: &[&'a Fact]) -> Vec<EnvRead<'a>> {
    let patterns: Vec<Vec<String>> = readers.iter().map(|r| segments(r)).collect();
    // `process.env.NAME` is read only when a reader is `process.env`.
    let env_member = patterns.iter().any(|p| p.len() == 2 && p[1] == "env");
    let process_env = |path: &[String]| {
        path.windows(3)
            .find(|w| w[0] == "process" && w[1] == "env" && is_variable(&w[2]))
            .map(|w| w[2].clone())
    };
    let mut out: Vec<EnvRead<'a>> = Vec::new();
    for f in facts {
        // The cheap tests first: most facts are calls without a literal argument.
        let name = match &f.kind {
            FactKind::Call {
                path, literal_args, ..
            } => {
                let reader = |path: &[String]| patterns.iter().any(|p| path_contains(path, p));
                let read = match literal_args.first() {
                    Some(first) if reader(path) => settings_variable(first),
                    Some(_) => env_member.then(|| process_env(path)).flatten(),
                    // A reader called without a literal reads nothing by name.
                    None => env_member
                        .then(|| process_env(path))
                        .flatten()
                        .filter(|_| !reader(path)),
                };
                // The service's own helper handed an export endpoint's variable name
                // (`mustMapEnv(&addr, "COLLECTOR_SERVICE_ADDR")`, kept by the parsers for that
                // name).
                read.or_else(|| {
                    literal_args
                        .iter()
                        .find(|a| is_variable(a) && is_endpoint_variable(a))
                        .cloned()
                })
            }
            // `process.env.NAME`: the name is the segment after `env`.
            FactKind::Symbol { path } => env_member.then(|| process_env(path)).flatten(),
            _ => None,
        };
        if let Some(name) = name {
            out.push(EnvRead { name, fact: f });
        }
    }
    out.sort_by(|a, b| (&a.fact.file, a.fact.line).cmp(&(&b.fact.file, b.fact.line)));
    let mut seen = std::collections::HashSet::new();
    out.retain(|r| seen.insert(r.name.clone()));
    out
}

/// The environment variable a read's literal names: a variable as it is (UPPER_SNAKE), a .NET
/// configuration key (`Tracing:Enabled`) as the variable that sets it (`Tracing__Enabled`;
/// .NET matches it in any case), a Spring property (`tracing.enabled`, `otel.sdk-enabled`) as
/// relaxed binding reads it (`TRACING_ENABLED`, `OTEL_SDKENABLED`); `None` for anything else.
pub(super) fn settings_variable(literal: &str) -> Option<String> {
    let key = literal.trim();
    let plain = |c: char| c.is_ascii_alphanumeric() || c == '_';
    if is_variable(key) {
        return Some(key.to_string());
    }
    if key.contains(':') {
        let parts_ok = key
            .split(':')
            .all(|part| !part.is_empty() && part.chars().all(plain));
        let first_ok = key.starts_with(|c: char| c.is_ascii_alphabetic());
        return (parts_ok && first_ok).then(|| dotnet_variable(key));
    }
    if key.contains('.')
        && key
            .split('.')
            .all(|part| !part.is_empty() && part.chars().all(|c| plain(c) || c == '-'))
    {
        let name = spring_variable(key);
        return is_variable(&name).then_some(name);
    }
    None
}

/// The variables substituted into a configuration file's exporter endpoints (`${VAR}`), where
/// they are not the SDK's own (`OTEL_EXPORTER_OTLP_*`, which the rule names already).
pub(super) fn config_endpoints<'a>(facts: &[&'a Fact]) -> Vec<EnvRead<'a>> {
    let mut out = Vec::new();
    for f in facts {
        if let FactKind::Config { key, value, .. } = &f.kind {
            if key == "endpoint" || key == "mounted_endpoint" {
                out.extend(
                    crate::check::inputs::otel_config::substituted(value)
                        .into_iter()
                        .filter(|n| !n.starts_with("OTEL_EXPORTER_"))
                        .map(|name| EnvRead { name, fact: f }),
                );
            }
        }
    }
    out
}

/// A flag that switches tracing on (`ENABLE_TRACING`, `TRACING_ENABLED`, `OTEL_ENABLED`).
pub(super) fn is_tracing_flag(name: &str) -> bool {
    let w = words(name);
    w.iter().any(|w| w == "enable" || w == "enabled")
        && w.iter().any(|w| TRACING_WORDS.contains(&w.as_str()))
}

/// A flag that switches tracing off (`DISABLE_TRACING`, `TRACING_DISABLED`,
/// `OTEL_SDK_DISABLED`).
pub(super) fn is_tracing_off_flag(name: &str) -> bool {
    let w = words(name);
    w.iter().any(|w| w == "disable" || w == "disabled")
        && w.iter().any(|w| TRACING_WORDS.contains(&w.as_str()))
}

/// Whether a value turns a flag on (a reference — ConfigMap, Secret, field — may).
pub(super) fn is_on(value: Option<&str>) -> bool {
    value.is_none_or(|v| {
        !matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "" | "0" | "false" | "no" | "off" | "n" | "f"
        )
    })
}

/// The value `w` gives `name`: `None` when it does not set it, `Some(None)` when it sets it
/// from a reference.
pub(super) fn workload_value<'w>(w: &'w Workload, name: &str) -> Option<Option<&'w str>> {
    w.facts.iter().rev().find_map(|f| match &f.kind {
        FactKind::Env {
            name: n,
            value,
            from_ref,
            ..
        } if n == name || (name.contains("__") && n.eq_ignore_ascii_case(name)) => {
            Some(if *from_ref { None } else { value.as_deref() })
        }
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_keys_name_the_variables_that_set_them() {
        let cases = [
            (
                "ENABLE_TRACING",
                Some("ENABLE_TRACING"),
                "a variable as it is",
            ),
            (
                "Tracing:Enabled",
                Some("Tracing__Enabled"),
                ".NET configuration key",
            ),
            (
                "OpenTelemetry:Tracing:Enabled",
                Some("OpenTelemetry__Tracing__Enabled"),
                "nested .NET key",
            ),
            (
                "tracing.enabled",
                Some("TRACING_ENABLED"),
                "Spring property, relaxed binding",
            ),
            (
                "otel.sdk-enabled",
                Some("OTEL_SDKENABLED"),
                "Spring drops dashes",
            ),
            ("http://collector:4317", None, "a URL is no key"),
            ("enable tracing", None, "words are no key"),
            ("lowercase", None, "not UPPER_SNAKE"),
        ];
        for (literal, want, why) in cases {
            assert_eq!(settings_variable(literal).as_deref(), want, "{why}");
        }
    }

    fn call(path: &str, literal: &str, line: u32) -> Fact {
        Fact::new(
            FactKind::Call {
                path: segments(path),
                literal_args: vec![literal.into()],
                method: false,
                args: Default::default(),
            },
            "main.go",
            line,
        )
    }

    #[test]
    fn a_helper_handed_an_endpoint_variable_reads_it_but_not_a_flag() {
        let readers = vec!["os.Getenv".to_string()];
        let facts = [
            // microservices-demo: `mustMapEnv(&svc.collectorAddr, "COLLECTOR_SERVICE_ADDR")`.
            call("mustMapEnv", "COLLECTOR_SERVICE_ADDR", 28),
            // A flag through a helper is not taken: its meaning is in the helper.
            call("mustMapEnv", "ENABLE_TRACING", 29),
            call("mustMapEnv", "PORT", 27),
        ];
        let refs: Vec<&Fact> = facts.iter().collect();
        let got: Vec<(String, u32)> = reads(&readers, &refs)
            .into_iter()
            .map(|r| (r.name, r.fact.line))
            .collect();
        assert_eq!(got, vec![("COLLECTOR_SERVICE_ADDR".to_string(), 28)]);
    }

    #[test]
    fn reads_by_the_readers_with_a_variable_name() {
        let readers = vec!["os.Getenv".to_string(), "process.env".to_string()];
        let facts = [
            call("os.Getenv", "COLLECTOR_SERVICE_ADDR", 3),
            call("os.Getenv", "COLLECTOR_SERVICE_ADDR", 9),
            // Not a variable name, not a reader.
            call("os.Getenv", "http://x", 4),
            call("os.ReadFile", "ENABLE_TRACING", 5),
            Fact::new(
                FactKind::Symbol {
                    path: segments("process.env.ENABLE_TRACING"),
                },
                "a.js",
                2,
            ),
        ];
        let refs: Vec<&Fact> = facts.iter().collect();
        let got: Vec<(String, u32)> = reads(&readers, &refs)
            .into_iter()
            .map(|r| (r.name, r.fact.line))
            .collect();
        assert_eq!(
            got,
            vec![
                ("ENABLE_TRACING".to_string(), 2),
                ("COLLECTOR_SERVICE_ADDR".to_string(), 3)
            ]
        );
        // Without `process.env` among the readers, the member form is not read.
        let got = reads(&readers[..1], &refs);
        assert_eq!(got.len(), 1);
    }

    #[test]
    fn names_say_endpoint_or_flag() {
        for n in [
            "COLLECTOR_SERVICE_ADDR",
            "OTEL_COLLECTOR_URL",
            "TRACING_ENDPOINT",
            "JAEGER_HOST",
        ] {
            assert!(is_endpoint_variable(n), "{n}");
        }
        for n in [
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "DATABASE_URL",
            "PORT",
            "ENABLE_TRACING",
        ] {
            assert!(!is_endpoint_variable(n), "{n}");
        }
        for n in ["ENABLE_TRACING", "TRACING_ENABLED", "OTEL_ENABLED"] {
            assert!(is_tracing_flag(n), "{n}");
        }
        for n in [
            "ENABLE_PROFILER",
            "DISABLE_TRACING",
            "COLLECTOR_SERVICE_ADDR",
        ] {
            assert!(!is_tracing_flag(n), "{n}");
        }
        for n in ["DISABLE_TRACING", "TRACING_DISABLED", "OTEL_SDK_DISABLED"] {
            assert!(is_tracing_off_flag(n), "{n}");
        }
        for n in ["DISABLE_PROFILER", "ENABLE_TRACING", "OTEL_TRACES_EXPORTER"] {
            assert!(!is_tracing_off_flag(n), "{n}");
        }
    }

    #[test]
    fn flag_values() {
        assert!(is_on(Some("1")) && is_on(Some("true")) && is_on(None));
        assert!(!is_on(Some("0")) && !is_on(Some("False")) && !is_on(Some("")));
    }
}
