//! A service's rules: signal rules (`when` / `require` / `forbid`, matched by [`matching`])
//! and the built-in checkers over its workloads, security and notes.

use std::collections::HashSet;

use crate::check::assembly::work::Svc;
use crate::check::evaluation::config_file;
use crate::check::evaluation::copies;
use crate::check::evaluation::env_reads::{self, EnvRead};
use crate::check::evaluation::flags;
use crate::check::evaluation::matching::{
    describe, fact_path_len, matches, matches_one, FactIndex,
};
use crate::check::evaluation::rules::{language_key, CheckKind, Rule, RuleSet, Signal};
use crate::check::evaluation::security;
use crate::check::evaluation::sites;
use crate::check::evaluation::spring_settings;
use crate::check::evaluation::unseen::unseen;
use crate::check::facts::{Fact, FactKind};
use crate::check::inputs::k8s::Workload;
use crate::check::model::{Finding, Language};

pub(super) fn finding(
    rule: &Rule,
    message: String,
    file: Option<&str>,
    line: Option<u32>,
) -> Finding {
    Finding {
        rule: rule.meta.id.clone(),
        severity: rule.meta.severity,
        message,
        file: file.map(str::to_string),
        line: line.filter(|l| *l > 0),
        help: format!("{} (see {})", rule.meta.help, rule.meta.docs),
    }
}

/// Findings of one service, and the rules not evaluated because a rule they come `after`
/// fired: (rule, that rule).
pub fn service(
    rules: &RuleSet,
    svc: &Svc,
    language: Language,
) -> (Vec<Finding>, Vec<(String, String)>) {
    // A declarative configuration file counts only when the service loads it.
    let facts = FactIndex::new(config_file::loaded(svc.all_facts().collect()));
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
                if !language.is_analysed() {
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
                    let what = match language {
                        Language::Unknown => "not analysed".to_string(),
                        named => format!("{} is not analysed", named.display_name()),
                    };
                    out.push(finding(
                        rule,
                        format!("{}: `{}` is listed but {what}", rule.message, svc.name),
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
                let unseen = svc.workloads.iter().flat_map(|w| unseen(w, language));
                for u in unseen {
                    out.push(finding(
                        rule,
                        format!(
                            "OpenTelemetry Operator injection not analysed: {}; what it sets (endpoint, propagators) is not known",
                            u.reason
                        ),
                        Some(&u.file),
                        Some(u.line),
                    ));
                }
            }
            CheckKind::WorkloadEndpoint => {
                // The code hands the exporter an endpoint read from a variable of its own
                // name: the workload must set that one.
                let mut read: Vec<EnvRead> =
                    env_reads::reads(rule.param("env_readers"), facts.paths())
                        .into_iter()
                        .filter(|r| env_reads::is_endpoint_variable(&r.name))
                        .collect();
                // A configuration file's endpoint `${VAR}`: the workload must set VAR.
                read.extend(env_reads::config_endpoints(&facts));
                // Spring Boot's own exporter reads a Spring property, not the OTEL_ variable.
                let spring = if read.is_empty() {
                    spring_settings::exporter_variables(rule, &facts)
                } else {
                    None
                };
                let (vars, why): (Vec<&str>, String) = if let Some(spring) = &spring {
                    (spring.vars.clone(), spring.why.to_string())
                } else if read.is_empty() {
                    (
                        rule.param("variables").iter().map(String::as_str).collect(),
                        String::new(),
                    )
                } else {
                    let at: Vec<String> = read
                        .iter()
                        .map(|r| format!("{}:{}", r.fact.file, r.fact.line))
                        .collect();
                    (
                        read.iter().map(|r| r.name.as_str()).collect(),
                        format!(
                            " (the code reads the export endpoint from it, at {})",
                            at.join(", ")
                        ),
                    )
                };
                // A configuration file from a ConfigMap that writes the endpoint out: the
                // endpoint is configuration.
                let mounted = facts.iter().any(|f| {
                    matches!(&f.kind, FactKind::Config { key, value, .. }
                        if key == "mounted_endpoint" && !value.contains("${"))
                });
                // Spring's endpoint property may read other variables (`${OTEL_COLLECTOR_URL}`),
                // which the workload may set instead; a literal in a settings file is baked in.
                let settings = |w: &Workload| match &spring {
                    Some(spring) => spring_settings::exporter_settings(svc, w, &spring.vars),
                    None => (Vec::new(), None),
                };
                // An Operator injection whose resource is unseen may set it (a note says so).
                let fires = |w: &Workload| {
                    let (also, _) = settings(w);
                    let mut accepted = vars.clone();
                    accepted.extend(also.iter().map(String::as_str));
                    w.unresolved.is_empty() && !mounted && !workload_sets(&accepted, w)
                };
                for (w, copies) in copies::lacking(&svc.workloads, fires) {
                    let (also, literal) = settings(w);
                    let mut named: Vec<&str> = vars.clone();
                    named.extend(also.iter().map(String::as_str));
                    let literal = literal
                        .map(|at| {
                            format!(" (the settings at {at} write it out: a literal in the image)")
                        })
                        .unwrap_or_default();
                    out.push(finding(
                        rule,
                        format!(
                            "{}: {} `{}` sets none of {}{}{why}{literal}{copies}",
                            rule.message,
                            w.kind,
                            w.name,
                            named.join(", "),
                            set_empty(&named, w)
                        ),
                        Some(&w.file),
                        Some(w.line),
                    ));
                }
            }
            CheckKind::TracingFlag => flags::tracing_flag(rule, svc, facts.paths(), &mut out),
            CheckKind::WorkloadServiceName => {
                // The code names the service in its SDK resource: its spans carry the name.
                let named_in_code = rule
                    .require
                    .for_language(language)
                    .iter()
                    .any(|s| !matches(s, &facts).is_empty());
                let fires = |w: &Workload| {
                    let in_attrs = workload_env(w).any(|(n, v)| {
                        n == "OTEL_RESOURCE_ATTRIBUTES"
                            && v.is_some_and(|v| v.contains("service.name="))
                    });
                    // Spring: `spring.application.name` or the starter's `otel.service.name`,
                    // where what builds the SDK reads them.
                    let spring_named = spring_settings::names_service(rule, svc, &facts, w);
                    !named_in_code
                        && !spring_named
                        && !config_file::names_service(&facts, svc, w)
                        && w.unresolved.is_empty()
                        && !in_attrs
                        && !workload_has(rule, w)
                };
                for (w, copies) in copies::lacking(&svc.workloads, fires) {
                    out.push(finding(
                        rule,
                        format!("{}: {} `{}`{copies}", rule.message, w.kind, w.name),
                        Some(&w.file),
                        Some(w.line),
                    ));
                }
            }
            CheckKind::SensitiveAttributes => {
                if language.is_analysed() {
                    security::sensitive(rule, &facts, &mut out);
                }
            }
            CheckKind::PayloadCapture => {
                if language.is_analysed() {
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
    // The fix hint in the service's own language, where the rule has one.
    for f in &mut out {
        if let Some(rule) = rules.rule(&f.rule) {
            if !rule.meta.help_by_language.is_empty() {
                f.help = format!(
                    "{} (see {})",
                    rule.meta.help_for(Some(language)),
                    rule.meta.docs
                );
            }
        }
    }
    (out, not_evaluated)
}

fn signal_rule(
    rule: &Rule,
    svc: &Svc,
    facts: &FactIndex,
    language: Language,
    out: &mut Vec<Finding>,
) {
    if !language.is_analysed() || !rule.applies_to(language) {
        return;
    }
    let sites = rule.sites.for_language(language);
    if !sites.is_empty() {
        sites::judge(rule, &sites, facts, &svc.sources, language, out);
        forbidden(rule, facts, language, out);
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
        // What is there but falls short (`opentelemetry-distro` that nothing starts).
        let short = rule
            .short_of
            .for_language(language)
            .into_iter()
            .find_map(|s| {
                matches(s, facts)
                    .into_iter()
                    .min_by_key(|f| (f.file.clone(), f.line, fact_path_len(f)))
            });
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
            (None, None) => match short {
                Some(f) => (
                    Some(f.file.to_string()),
                    Some(f.line),
                    format!(
                        ": {} is there, but {}",
                        describe(f, language),
                        rule.short_of_note
                    ),
                ),
                None => (svc.manifest.clone(), None, String::new()),
            },
        };
        out.push(finding(
            rule,
            format!("{}{what}", rule.message),
            file.as_deref(),
            line,
        ));
    }
    forbidden(rule, facts, language, out);
}

/// A finding at every match of the rule's `forbid` list, once per place: a forbidden match
/// where the `require` finding already is adds nothing (a configuration file's propagator is
/// both its anchor and its match).
fn forbidden(rule: &Rule, facts: &FactIndex, language: Language, out: &mut Vec<Finding>) {
    let mut seen: HashSet<(std::sync::Arc<str>, u32)> = out
        .iter()
        .filter(|f| f.rule == rule.meta.id)
        .filter_map(|f| Some((std::sync::Arc::from(f.file.as_deref()?), f.line?)))
        .collect();
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
    facts: &FactIndex<'a>,
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
pub(super) fn workload_env(w: &Workload) -> impl Iterator<Item = (&str, Option<&str>)> {
    w.facts.iter().filter_map(|f| match &f.kind {
        FactKind::Env { name, value, .. } => Some((name.as_str(), value.as_deref())),
        _ => None,
    })
}

pub(super) fn workload_has(rule: &Rule, w: &Workload) -> bool {
    let vars: Vec<&str> = rule.param("variables").iter().map(String::as_str).collect();
    workload_sets(&vars, w)
}

/// Whether `w` sets one of `vars` (a Secret in `envFrom` may carry it: configuration, not code).
/// An empty value sets nothing: the SDK reads it as unset.
fn workload_sets(vars: &[&str], w: &Workload) -> bool {
    w.env_from.iter().any(|e| e.secret)
        || workload_env(w).any(|(n, v)| vars.contains(&n) && !is_empty_value(v))
}

/// A value written out empty (`value: ""`), not one from a reference (`None`).
fn is_empty_value(value: Option<&str>) -> bool {
    value.is_some_and(|v| v.trim().is_empty())
}

/// What to add to a finding whose workload sets one of `vars`, but empty.
fn set_empty(vars: &[&str], w: &Workload) -> &'static str {
    if workload_env(w).any(|(n, v)| vars.contains(&n) && is_empty_value(v)) {
        " (set to an empty value, which the SDK reads as unset)"
    } else {
        ""
    }
}

#[cfg(test)]
#[path = "evaluate_tests.rs"]
mod tests;
