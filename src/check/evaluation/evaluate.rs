//! Rule evaluation: signal rules (`when` / `require` / `forbid`) and the built-in checkers
//! (Kubernetes workloads, ingress, security, notes).

use std::collections::HashSet;

use crate::check::assembly::work::{Repo, Svc};
use crate::check::evaluation::rules::{language_key, CheckKind, Rule, RuleSet, Signal};
use crate::check::evaluation::security;
use crate::check::facts::{path_contains, Fact, FactKind};
use crate::check::inputs::k8s::Workload;
use crate::check::model::{Finding, Language};

fn finding(rule: &Rule, message: String, file: Option<&str>, line: Option<u32>) -> Finding {
    Finding {
        rule: rule.meta.id.clone(),
        severity: rule.meta.severity,
        message,
        file: file.map(str::to_string),
        line: line.filter(|l| *l > 0),
        help: format!("{} (see {})", rule.meta.help, rule.meta.docs),
    }
}

/// The facts a signal matched (empty: no match).
pub fn matches<'a>(signal: &Signal, facts: &[&'a Fact]) -> Vec<&'a Fact> {
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
        Signal::Unless(base, unless) => {
            if matches(unless, facts).is_empty() {
                matches(base, facts)
            } else {
                Vec::new()
            }
        }
        _ => facts
            .iter()
            .copied()
            .filter(|f| matches_one(signal, f))
            .collect(),
    }
}

fn matches_one(signal: &Signal, fact: &Fact) -> bool {
    match (signal, &fact.kind) {
        (Signal::Dependency(pattern), FactKind::Dependency { name }) => {
            let name = name.to_ascii_lowercase();
            let pattern = pattern.to_ascii_lowercase();
            match pattern.strip_suffix('*') {
                Some(prefix) => name.starts_with(prefix),
                None => name == pattern,
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
        (Signal::Command(text), FactKind::Command { text: t }) => t.contains(text.as_str()),
        (Signal::Annotation(pattern), FactKind::Annotation { key, value }) => {
            let key_ok = match pattern.strip_suffix('*') {
                Some(prefix) => key.starts_with(prefix),
                None => key == pattern,
            };
            key_ok && !value.eq_ignore_ascii_case("false")
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

fn fact_path_len(f: &Fact) -> usize {
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
        FactKind::Command { text } => format!("command `{text}`"),
        FactKind::Annotation { key, value } => format!("annotation `{key}: {value}`"),
        FactKind::Attribute { key, value } => format!("`{key}` = `{value}`"),
    }
}

fn tail(path: &[String], sep: &str) -> String {
    let keep = if sep == "::" { 3 } else { 2 };
    let start = path.len().saturating_sub(keep);
    path[start..].join(sep)
}

/// Findings of one service, and the rules not evaluated because a rule they come `after`
/// fired: (rule, that rule).
pub fn service(
    rules: &RuleSet,
    svc: &Svc,
    language: Language,
) -> (Vec<Finding>, Vec<(String, String)>) {
    let facts: Vec<&Fact> = svc.all_facts().collect();
    let mut fired: HashSet<String> = HashSet::new();
    let mut out = Vec::new();
    let mut not_evaluated = Vec::new();
    for rule in rules.rules() {
        if let Some(first) = rule.after.iter().find(|a| fired.contains(*a)) {
            not_evaluated.push((rule.meta.id.clone(), first.clone()));
            continue;
        }
        let before = out.len();
        match rule.check {
            CheckKind::Signals => signal_rule(rule, svc, &facts, language, &mut out),
            CheckKind::UnknownLanguage => {
                if language == Language::Unknown {
                    let (file, line) = svc
                        .manifest
                        .clone()
                        .map(|m| (Some(m), None))
                        .or_else(|| {
                            svc.workloads
                                .first()
                                .map(|w| (Some(w.file.clone()), Some(w.line)))
                        })
                        .unwrap_or((None, None));
                    out.push(finding(
                        rule,
                        format!(
                            "{}: `{}` is listed but not analysed",
                            rule.message, svc.name
                        ),
                        file.as_deref(),
                        line,
                    ));
                }
            }
            CheckKind::NotAnalysed => {
                for (file, reason, line) in &svc.skipped {
                    out.push(finding(
                        rule,
                        format!("{}: {reason}", rule.message),
                        Some(file),
                        *line,
                    ));
                }
            }
            CheckKind::WorkloadEndpoint => {
                for w in &svc.workloads {
                    if !workload_has(rule, w) {
                        out.push(finding(
                            rule,
                            format!(
                                "{}: {} `{}` sets none of {}",
                                rule.message,
                                w.kind,
                                w.name,
                                rule.param("variables").join(", ")
                            ),
                            Some(&w.file),
                            Some(w.line),
                        ));
                    }
                }
            }
            CheckKind::WorkloadServiceName => {
                for w in &svc.workloads {
                    let in_attrs = workload_env(w).any(|(n, v)| {
                        n == "OTEL_RESOURCE_ATTRIBUTES"
                            && v.is_some_and(|v| v.contains("service.name="))
                    });
                    if !in_attrs && !workload_has(rule, w) {
                        out.push(finding(
                            rule,
                            format!("{}: {} `{}`", rule.message, w.kind, w.name),
                            Some(&w.file),
                            Some(w.line),
                        ));
                    }
                }
            }
            CheckKind::SensitiveAttributes => {
                if language != Language::Unknown {
                    security::sensitive(rule, &facts, &mut out);
                }
            }
            CheckKind::PayloadCapture => {
                if language != Language::Unknown {
                    security::payload(rule, &facts, &mut out);
                }
            }
            CheckKind::PlainOtlpHeaders => security::plain_headers(rule, &facts, &mut out),
            CheckKind::Ingress | CheckKind::Policy => {}
        }
        if out.len() > before {
            fired.insert(rule.meta.id.clone());
        }
    }
    (out, not_evaluated)
}

fn signal_rule(
    rule: &Rule,
    svc: &Svc,
    facts: &[&Fact],
    language: Language,
    out: &mut Vec<Finding>,
) {
    if language == Language::Unknown || !rule.applies_to(language) {
        return;
    }
    let when = rule.when.for_language(language);
    let mut anchor: Option<&Fact> = None;
    if !when.is_empty() {
        for s in &when {
            if let Some(f) = matches(s, facts)
                .into_iter()
                .min_by_key(|f| (f.file.clone(), f.line, fact_path_len(f)))
            {
                anchor = Some(f);
                break;
            }
        }
        if anchor.is_none() {
            return;
        }
    }
    let require = rule.require.for_language(language);
    if !require.is_empty() && require.iter().all(|s| matches(s, facts).is_empty()) {
        // A call made with the wrong argument says more than the rule's `when` anchor.
        let miss = require.iter().find_map(|s| wrong_argument(s, facts));
        let (file, line, what) = match (miss, anchor) {
            (Some((f, argument)), _) => (
                Some(f.file.to_string()),
                Some(f.line),
                format!(
                    " (at {}: what it is passed does not include `{}`)",
                    describe(f, language),
                    argument.join(".")
                ),
            ),
            (None, Some(f)) => (
                Some(f.file.to_string()),
                Some(f.line),
                format!(" (at {})", describe(f, language)),
            ),
            (None, None) => (svc.manifest.clone(), None, String::new()),
        };
        out.push(finding(
            rule,
            format!("{}{what}", rule.message),
            file.as_deref(),
            line,
        ));
    }
    let mut seen = HashSet::new();
    for s in rule.forbid.for_language(language) {
        for f in matches(s, facts) {
            if seen.insert((f.file.clone(), f.line)) {
                out.push(finding(
                    rule,
                    format!("{}: {}", rule.message, describe(f, language)),
                    Some(&*f.file),
                    Some(f.line),
                ));
            }
        }
    }
    let _ = language_key(language);
}

/// A call an `argument` signal (alone or in an `all`) is about, made with arguments that do not
/// qualify: the first such call (by file and line) and the argument it lacks.
fn wrong_argument<'a, 's>(
    signal: &'s Signal,
    facts: &[&'a Fact],
) -> Option<(&'a Fact, &'s [String])> {
    match signal {
        Signal::All(list) => list.iter().find_map(|s| wrong_argument(s, facts)),
        Signal::Call {
            argument: Some(argument),
            path,
            literal_arg,
            literal,
            global,
            ..
        } => {
            let any_argument = Signal::Call {
                path: path.clone(),
                literal_arg: *literal_arg,
                literal: literal.clone(),
                global: *global,
                argument: None,
                argument_packages: Vec::new(),
            };
            matches(&any_argument, facts)
                .into_iter()
                .filter(|f| !matches_one(signal, f))
                .min_by_key(|f| (f.file.clone(), f.line))
                .map(|f| (f, argument.as_slice()))
        }
        _ => None,
    }
}

/// Environment of a workload (`envFrom` ConfigMaps found in the tree are already resolved).
fn workload_env(w: &Workload) -> impl Iterator<Item = (&str, Option<&str>)> {
    w.facts.iter().filter_map(|f| match &f.kind {
        FactKind::Env { name, value, .. } => Some((name.as_str(), value.as_deref())),
        _ => None,
    })
}

fn workload_has(rule: &Rule, w: &Workload) -> bool {
    let vars = rule.param("variables");
    // A Secret in envFrom may carry the variable: configuration, not code.
    w.env_from.iter().any(|e| e.secret) || workload_env(w).any(|(n, _)| vars.iter().any(|v| v == n))
}

/// Findings that belong to no service: ingress, ConfigMaps, unowned skipped files.
pub fn repository(rules: &RuleSet, services: &[Svc], repo: &Repo) -> Vec<Finding> {
    let mut out = Vec::new();
    for rule in rules.rules() {
        match rule.check {
            CheckKind::Ingress => ingress(rule, services, repo, &mut out),
            CheckKind::NotAnalysed => {
                for (file, reason, line) in &repo.skipped {
                    out.push(finding(
                        rule,
                        format!("{}: {reason}", rule.message),
                        Some(file),
                        *line,
                    ));
                }
            }
            CheckKind::PlainOtlpHeaders => {
                for c in repo.configmaps.values() {
                    for (key, value) in &c.data {
                        if rule.param("variables").contains(key)
                            && security::has_credentials(rule, value, &|_| false)
                        {
                            out.push(finding(
                                rule,
                                format!("{}: ConfigMap `{}` key `{key}`", rule.message, c.name),
                                Some(&c.file),
                                c.lines.get(key).copied(),
                            ));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    out
}

fn truthy(v: Option<&String>) -> bool {
    v.is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

fn ingress(rule: &Rule, services: &[Svc], repo: &Repo, out: &mut Vec<Finding>) {
    if repo.ingresses.is_empty() || !repo.mesh_tracing.is_empty() {
        return;
    }
    const NGINX: &str = "nginx.ingress.kubernetes.io/";
    let global: Vec<_> = repo
        .configmaps
        .values()
        .filter(|c| c.data.contains_key("enable-opentelemetry") || c.name.contains("ingress-nginx"))
        .collect();
    let global_enabled = global
        .iter()
        .any(|c| truthy(c.data.get("enable-opentelemetry")));
    let global_untrusted = global.iter().any(|c| {
        c.data
            .get("opentelemetry-trust-incoming-span")
            .is_some_and(|v| v.trim() == "false")
    });
    for ing in &repo.ingresses {
        let tracegate_backend = ing.backends.iter().any(|b| {
            services
                .iter()
                .any(|s| &s.name == b && s.uses_tracegate_propagation())
        });
        if tracegate_backend {
            continue;
        }
        let nginx = ing.class.as_deref().is_some_and(|c| c.contains("nginx"))
            || ing.annotations.keys().any(|k| k.starts_with(NGINX));
        let label = if ing.name.is_empty() {
            "Helm ingress".to_string()
        } else {
            format!("Ingress `{}`", ing.name)
        };
        if nginx {
            let enabled = truthy(ing.annotations.get(&format!("{NGINX}enable-opentelemetry")))
                || (global_enabled
                    && ing
                        .annotations
                        .get(&format!("{NGINX}enable-opentelemetry"))
                        .is_none_or(|v| v.trim() != "false"));
            let untrusted = ing
                .annotations
                .get(&format!("{NGINX}opentelemetry-trust-incoming-span"))
                .map_or(global_untrusted, |v| v.trim() == "false");
            if !enabled {
                out.push(finding(
                    rule,
                    format!(
                        "{}: {label} (ingress-nginx) does not set `enable-opentelemetry: \"true\"`",
                        rule.message
                    ),
                    Some(&ing.file),
                    Some(ing.line),
                ));
            } else if untrusted {
                out.push(finding(
                    rule,
                    format!("{}: {label} sets `opentelemetry-trust-incoming-span: \"false\"`, dropping incoming trace context", rule.message),
                    Some(&ing.file),
                    Some(ing.line),
                ));
            }
        } else {
            out.push(finding(
                rule,
                format!(
                    "{}: {label} (class {}) has no tracing configuration and no backend uses tracegate::propagation",
                    rule.message,
                    ing.class.as_deref().unwrap_or("unset")
                ),
                Some(&ing.file),
                Some(ing.line),
            ));
        }
    }
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
