//! Whether a rule's signal matches a fact: call and symbol paths (contiguous segments, global
//! objects, argument packages), dependencies, environment variables, annotations; and how a
//! matched fact is described in a finding.

use crate::check::evaluation::rules::Signal;
use crate::check::facts::{path_contains, Fact, FactKind, FastMap};
use crate::check::model::Language;

/// A service's facts, grouped by what a signal can match, so that matching one signal does
/// not look at every fact of the service (a service has thousands; the rules, hundreds of
/// signals). Each group keeps the facts' order; it dereferences to all the facts.
pub struct FactIndex<'a> {
    all: Vec<&'a Fact>,
    /// Calls by the last segment of their path (the called function).
    calls: FastMap<&'a str, Vec<&'a Fact>>,
    /// Symbols and calls.
    paths: Vec<&'a Fact>,
    dependencies: Vec<&'a Fact>,
    env: Vec<&'a Fact>,
    commands: Vec<&'a Fact>,
    annotations: Vec<&'a Fact>,
    configs: Vec<&'a Fact>,
}

impl<'a> FactIndex<'a> {
    /// Group `facts`.
    pub fn new(all: Vec<&'a Fact>) -> FactIndex<'a> {
        let mut index = FactIndex {
            all: Vec::new(),
            calls: FastMap::default(),
            paths: Vec::new(),
            dependencies: Vec::new(),
            env: Vec::new(),
            commands: Vec::new(),
            annotations: Vec::new(),
            configs: Vec::new(),
        };
        for f in &all {
            match &f.kind {
                FactKind::Call { path, .. } => {
                    if let Some(last) = path.last() {
                        index.calls.entry(last.as_str()).or_default().push(f);
                    }
                    index.paths.push(f);
                }
                FactKind::Symbol { .. } => index.paths.push(f),
                FactKind::Dependency { .. } => index.dependencies.push(f),
                FactKind::Env { .. } => index.env.push(f),
                FactKind::Command { .. } => index.commands.push(f),
                FactKind::Annotation { .. } => index.annotations.push(f),
                FactKind::Config { .. } => index.configs.push(f),
                _ => {}
            }
        }
        index.all = all;
        index
    }

    /// The facts `signal` (not a combination) can match: a subset of all, in their order.
    fn candidates(&self, signal: &Signal) -> &[&'a Fact] {
        match signal {
            Signal::Dependency(_) => &self.dependencies,
            // A call matches only a call to the same function.
            Signal::Call { path, .. } => match path.last() {
                Some(last) => self.calls.get(last.as_str()).map_or(&[], Vec::as_slice),
                None => &self.paths,
            },
            Signal::Symbol(_) => &self.paths,
            Signal::Env { .. } => &self.env,
            Signal::Command(_) => &self.commands,
            Signal::Annotation(_) => &self.annotations,
            Signal::Config { .. } => &self.configs,
            Signal::All(_) | Signal::Any(_) | Signal::Unless(..) => &self.all,
        }
    }
}

impl<'a> FactIndex<'a> {
    /// The call and symbol facts, in the order of all facts.
    pub fn paths(&self) -> &[&'a Fact] {
        &self.paths
    }
}

impl<'a> std::ops::Deref for FactIndex<'a> {
    type Target = [&'a Fact];

    fn deref(&self) -> &[&'a Fact] {
        &self.all
    }
}

/// The facts a signal matched (empty: no match).
pub fn matches<'a>(signal: &Signal, facts: &FactIndex<'a>) -> Vec<&'a Fact> {
    match signal {
        Signal::All(list) => {
            let mut first = Vec::new();
            for (i, s) in list.iter().enumerate() {
                let m = matches(s, facts);
                if m.is_empty() {
                    return Vec::new();
                }
                if i == 0 {
                    first = m;
                }
            }
            first
        }
        // The matches of the first that matched.
        Signal::Any(list) => list
            .iter()
            .map(|s| matches(s, facts))
            .find(|m| !m.is_empty())
            .unwrap_or_default(),
        Signal::Unless(base, unless) => {
            if matches(unless, facts).is_empty() {
                matches(base, facts)
            } else {
                Vec::new()
            }
        }
        _ => facts
            .candidates(signal)
            .iter()
            .copied()
            .filter(|f| matches_one(signal, f))
            .collect(),
    }
}

pub(super) fn matches_one(signal: &Signal, fact: &Fact) -> bool {
    match (signal, &fact.kind) {
        // Any case, without allocating: every dependency meets every dependency pattern.
        (Signal::Dependency(pattern), FactKind::Dependency { name }) => {
            match pattern.strip_suffix('*') {
                Some(prefix) => name
                    .as_bytes()
                    .get(..prefix.len())
                    .is_some_and(|head| head.eq_ignore_ascii_case(prefix.as_bytes())),
                None => name.eq_ignore_ascii_case(pattern),
            }
        }
        (
            Signal::Call {
                path,
                literal_arg,
                literal,
                global,
                argument,
                argument_packages,
            },
            FactKind::Call {
                path: p,
                literal_args,
                args,
                ..
            },
        ) => {
            // The call made is the pattern's function (not a later call in the same chain).
            p.last() == path.last()
                && path_contains(p, path)
                && (!literal_arg || !literal_args.is_empty())
                && literal
                    .as_ref()
                    .is_none_or(|l| literal_args.iter().any(|a| a.eq_ignore_ascii_case(l)))
                && (!global || is_global_call(p, path))
                && argument.as_ref().is_none_or(|a| {
                    args.opaque
                        || args.paths.iter().any(|named| {
                            path_contains(named, a) || !in_packages(named, argument_packages)
                        })
                })
        }
        (Signal::Symbol(path), FactKind::Symbol { path: p } | FactKind::Call { path: p, .. }) => {
            path_contains(p, path)
        }
        (
            Signal::Env {
                name,
                contains,
                not_contains,
            },
            FactKind::Env { name: n, value, .. },
        ) => {
            if n != name {
                return false;
            }
            let v = value.as_deref().map(str::to_ascii_lowercase);
            if let Some(c) = contains {
                if !v
                    .as_deref()
                    .is_some_and(|v| v.contains(&c.to_ascii_lowercase()))
                {
                    return false;
                }
            }
            if let Some(c) = not_contains {
                if v.as_deref()
                    .is_none_or(|v| v.contains(&c.to_ascii_lowercase()))
                {
                    return false;
                }
            }
            true
        }
        (Signal::Command(text), FactKind::Command { text: t, .. }) => t.contains(text.as_str()),
        (Signal::Annotation(pattern), FactKind::Annotation { key, value }) => {
            let key_ok = match pattern.strip_suffix('*') {
                Some(prefix) => key.starts_with(prefix),
                None => key == pattern,
            };
            key_ok && !value.eq_ignore_ascii_case("false")
        }
        (
            Signal::Config {
                key,
                contains,
                not_contains,
            },
            FactKind::Config { key: k, value, .. },
        ) => {
            if k != key {
                return false;
            }
            let v = value.to_ascii_lowercase();
            contains
                .as_ref()
                .is_none_or(|c| v.contains(&c.to_ascii_lowercase()))
                && not_contains
                    .as_ref()
                    .is_none_or(|c| !v.contains(&c.to_ascii_lowercase()))
        }
        _ => false,
    }
}

/// Whether `path` starts with one of `packages` (segment by segment; a trailing `*` on a
/// package's last segment matches any segment with that prefix). No packages: every path.
fn in_packages(path: &[String], packages: &[Vec<String>]) -> bool {
    packages.is_empty()
        || packages.iter().any(|package| {
            package.len() <= path.len()
                && package
                    .iter()
                    .zip(path)
                    .all(|(want, got)| match want.strip_suffix('*') {
                        Some(prefix) => got.starts_with(prefix),
                        None => want == got,
                    })
        })
}

/// Objects through which a free function is also reachable (`globalThis.fetch`).
const GLOBAL_OBJECTS: [&str; 4] = ["globalThis", "window", "self", "global"];

/// The call is the pattern itself, or the pattern reached through a global object.
fn is_global_call(called: &[String], pattern: &[String]) -> bool {
    match called.len().checked_sub(pattern.len()) {
        Some(0) => called == pattern,
        Some(1) => called.split_first().is_some_and(|(object, rest)| {
            GLOBAL_OBJECTS.contains(&object.as_str()) && rest == pattern
        }),
        _ => false,
    }
}

pub(super) fn fact_path_len(f: &Fact) -> usize {
    match &f.kind {
        FactKind::Call { path, .. } | FactKind::Symbol { path } => path.len(),
        _ => 0,
    }
}

/// A short description of what a fact is, for messages.
pub fn describe(fact: &Fact, language: Language) -> String {
    let sep = if language == Language::Rust {
        "::"
    } else {
        "."
    };
    match &fact.kind {
        FactKind::Dependency { name } => format!("dependency `{name}`"),
        FactKind::OptionalDependency { group, name } => {
            format!("dependency `{name}` of the group `{group}`")
        }
        FactKind::InstallsGroup { group } => format!("the install of the group `{group}`"),
        FactKind::Call {
            path, method: true, ..
        } => format!(
            "`.{}(…)`",
            path.last().map(String::as_str).unwrap_or_default()
        ),
        FactKind::Call { path, .. } => format!("`{}(…)`", tail(path, sep)),
        FactKind::Symbol { path } => format!("`{}`", tail(path, sep)),
        FactKind::Env { name, value, .. } => match value {
            Some(v) => format!("`{name}={v}`"),
            None => format!("`{name}`"),
        },
        FactKind::ProfileEnv {
            profile,
            name,
            value,
            ..
        } => format!("`{name}={value}` for the profile `{profile}`"),
        FactKind::Command { text, .. } => format!("command `{text}`"),
        FactKind::Copy { sources, dest } => format!("`COPY {} {dest}`", sources.join(" ")),
        FactKind::Annotation { key, value } => format!("annotation `{key}: {value}`"),
        FactKind::Attribute { key, value, .. } => format!("`{key}` = `{value}`"),
        FactKind::Config { key, value, .. } => match key.as_str() {
            "propagator" if value.is_empty() => "no propagator in the configuration file".into(),
            "propagator" => format!("propagators `{value}` in the configuration file"),
            "processor" => format!("a `{value}` span processor in the configuration file"),
            "file" => format!("configuration file `{value}`"),
            _ => format!("`{key}: {value}` in the configuration file"),
        },
    }
}

fn tail(path: &[String], sep: &str) -> String {
    let keep = if sep == "::" { 3 } else { 2 };
    let start = path.len().saturating_sub(keep);
    path[start..].join(sep)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(path: &str) -> Fact {
        Fact::new(
            FactKind::Call {
                path: crate::check::facts::segments(path),
                literal_args: Vec::new(),
                method: false,
                args: crate::check::facts::CallArgs::default(),
            },
            "src/app.js",
            1,
        )
    }

    /// What `matches` finds through the index is what a look at every fact finds, in the
    /// same order.
    #[test]
    fn the_index_finds_what_a_scan_of_every_fact_finds() {
        let fact = |kind: FactKind, line: u32| Fact::new(kind, "src/app.js", line);
        let mut facts = vec![
            call("fetch"),
            call("globalThis.fetch"),
            call("axios.get"),
            call("otel.propagation.inject"),
            fact(
                FactKind::Symbol {
                    path: crate::check::facts::segments("otel.propagation"),
                },
                5,
            ),
            fact(
                FactKind::Dependency {
                    name: "@opentelemetry/api".into(),
                },
                6,
            ),
            fact(
                FactKind::Env {
                    name: "OTEL_PROPAGATORS".into(),
                    value: Some("b3".into()),
                    from_secret: false,
                    from_ref: false,
                },
                7,
            ),
            call("http.get"),
            call("fetch"),
        ];
        for (i, f) in facts.iter_mut().enumerate() {
            f.line = i as u32 + 1;
        }
        let refs: Vec<&Fact> = facts.iter().collect();
        let index = FactIndex::new(refs.clone());
        let call_signal = |path: &str, global: bool| Signal::Call {
            path: crate::check::facts::segments(path),
            literal_arg: false,
            literal: None,
            global,
            argument: None,
            argument_packages: Vec::new(),
        };
        let signals = [
            call_signal("fetch", true),
            call_signal("fetch", false),
            call_signal("axios.get", false),
            call_signal("propagation.inject", false),
            call_signal("nothing.called", false),
            Signal::Symbol(crate::check::facts::segments("propagation")),
            Signal::Dependency("@opentelemetry/*".into()),
            Signal::Env {
                name: "OTEL_PROPAGATORS".into(),
                contains: Some("b3".into()),
                not_contains: None,
            },
            Signal::All(vec![
                call_signal("fetch", false),
                Signal::Dependency("@opentelemetry/api".into()),
            ]),
            Signal::Unless(
                Box::new(call_signal("http.get", false)),
                Box::new(call_signal("nothing.called", false)),
            ),
        ];
        for signal in &signals {
            let scanned: Vec<u32> = refs
                .iter()
                .filter(|f| matches_one(signal, f))
                .map(|f| f.line)
                .collect();
            let indexed: Vec<u32> = matches(signal, &index).iter().map(|f| f.line).collect();
            match signal {
                Signal::All(_) | Signal::Unless(..) => assert!(!indexed.is_empty(), "{signal:?}"),
                _ => assert_eq!(indexed, scanned, "{signal:?}"),
            }
        }
        // The index dereferences to every fact, in order.
        assert_eq!(index.len(), facts.len());
    }

    #[test]
    fn dependency_patterns_match_in_any_case_whole_or_by_prefix() {
        let dep = |name: &str| Fact::new(FactKind::Dependency { name: name.into() }, "go.mod", 1);
        let cases: &[(&str, &str, bool, &str)] = &[
            (
                "go.opentelemetry.io/otel",
                "go.opentelemetry.io/otel",
                true,
                "the same name",
            ),
            (
                "OpenTelemetry.Extensions.Hosting",
                "opentelemetry.extensions.hosting",
                true,
                "NuGet names in any case",
            ),
            (
                "go.opentelemetry.io/otel/sdk",
                "go.opentelemetry.io/otel",
                false,
                "a whole name is not a prefix",
            ),
            (
                "@opentelemetry/SDK-node",
                "@opentelemetry/sdk-*",
                true,
                "a prefix pattern, any case",
            ),
            (
                "@opentelemetry/sdk",
                "@opentelemetry/sdk-*",
                false,
                "shorter than the prefix",
            ),
            (
                "é@opentelemetry/sdk-node",
                "@opentelemetry/sdk-*",
                false,
                "a non-ASCII name (no panic)",
            ),
            (
                "@opentelemetré",
                "@opentelemetry/*",
                false,
                "the prefix ends inside a character",
            ),
        ];
        for (name, pattern, want, why) in cases {
            let signal = Signal::Dependency((*pattern).into());
            assert_eq!(
                matches_one(&signal, &dep(name)),
                *want,
                "{name} ~ {pattern}: {why}"
            );
        }
    }

    #[test]
    fn an_argument_signal_needs_the_argument_named_or_an_opaque_one() {
        let signal = Signal::Call {
            path: vec!["SetTextMapPropagator".into()],
            literal_arg: false,
            literal: None,
            global: false,
            argument: Some(vec!["propagation".into(), "TraceContext".into()]),
            argument_packages: vec![crate::check::facts::segments("go.opentelemetry.io")],
        };
        let with = |paths: &[&str], opaque: bool| {
            let mut fact = call("go.opentelemetry.io.otel.SetTextMapPropagator");
            if let FactKind::Call { args, .. } = &mut fact.kind {
                args.paths = paths
                    .iter()
                    .map(|p| crate::check::facts::segments(p))
                    .collect();
                args.opaque = opaque;
            }
            fact
        };
        let tc = "go.opentelemetry.io.otel.propagation.TraceContext";
        let composite = "go.opentelemetry.io.otel.propagation.NewCompositeTextMapPropagator";
        let b3 = "go.opentelemetry.io.contrib.propagators.b3.New";
        for (paths, opaque, expected, case) in [
            (&[tc][..], false, true, "TraceContext{} passed"),
            (&[composite, b3, tc][..], false, true, "in a composite"),
            (&[b3][..], false, false, "b3.New() alone"),
            (&[composite, b3][..], false, false, "a composite without it"),
            (&[][..], false, false, "no argument"),
            (&[][..], true, true, "a variable: not seen at the call"),
            (&[b3][..], true, true, "b3 and a variable"),
            (
                &["example.com.shop.internal.telemetry.Propagators"][..],
                false,
                true,
                "the service's own package: not seen through",
            ),
            (
                &[b3, "telemetry.Encoding"][..],
                false,
                true,
                "another package",
            ),
        ] {
            assert_eq!(
                matches_one(&signal, &with(paths, opaque)),
                expected,
                "{case}"
            );
        }
        // A package glob on the last segment (Rust crates `opentelemetry*`).
        let rust = [crate::check::facts::segments("opentelemetry*")];
        for (path, inside) in [
            ("opentelemetry_zipkin::Propagator::new", true),
            (
                "opentelemetry::propagation::TextMapCompositePropagator::new",
                true,
            ),
            ("telemetry::propagator", false),
            ("otel_helpers::propagator", false),
        ] {
            let path = crate::check::facts::segments(path);
            assert_eq!(in_packages(&path, &rust), inside, "{path:?}");
        }
    }

    #[test]
    fn a_global_call_signal_matches_free_functions_not_methods_of_that_name() {
        let fetch = Signal::Call {
            path: vec!["fetch".into()],
            literal_arg: false,
            literal: None,
            global: true,
            argument: None,
            argument_packages: Vec::new(),
        };
        for (path, expected) in [
            ("fetch", true),
            ("globalThis.fetch", true),
            ("window.fetch", true),
            ("cache.fetch", false),
            ("this.client.fetch", false),
            ("fetch.bind", false),
        ] {
            assert_eq!(matches_one(&fetch, &call(path)), expected, "{path}");
        }
        let any_receiver = Signal::Call {
            path: vec!["fetch".into()],
            literal_arg: false,
            literal: None,
            global: false,
            argument: None,
            argument_packages: Vec::new(),
        };
        assert!(matches_one(&any_receiver, &call("cache.fetch")));
    }
}
