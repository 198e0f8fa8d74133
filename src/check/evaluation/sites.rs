//! A rule's call sites judged one by one ([`crate::check::evaluation::rules::Site`]): a finding
//! at each site that nothing instruments — neither what covers its library (`covered_by`,
//! matched once per service whatever the number of sites; with `same_function`, only a match
//! in the site's own function: same file, same enclosing top-level function or both outside
//! any — or in a function of the service's own that the site's function calls, such as a
//! `withTrace(headers)` helper that injects and returns the headers) nor the rule's `require`
//! list.

use std::collections::HashSet;

use crate::check::evaluation::evaluate::finding;
use crate::check::evaluation::matching::{describe, matches, FactIndex};
use crate::check::evaluation::rules::{Rule, Signal, Site};
use crate::check::facts::{ref_hash, Fact, FactKind, SourceFacts, TOP_LEVEL};
use crate::check::model::{Finding, Language};

/// The findings of `rule`'s `sites` for `language` (none when `require` matched: it covers
/// every site), and one at every site whose library's propagation the service switches off
/// (`disabled_by`), whatever covers it.
pub(super) fn judge(
    rule: &Rule,
    sites: &[&Site],
    facts: &FactIndex,
    sources: &[SourceFacts],
    language: Language,
    out: &mut Vec<Finding>,
) {
    let require = rule.require.for_language(language);
    let required = require.iter().any(|s| !matches(s, facts).is_empty());
    // What each `covered_by` signal matched in the service, matched once per signal (by
    // value: the lists a pack shares through YAML anchors are copies).
    let mut cache: Vec<(&Signal, Vec<&Fact>)> = Vec::new();
    let mut seen: HashSet<(&str, u32, &[String])> = HashSet::new();
    let mut found: Vec<(&Fact, &Site, Option<&Fact>)> = Vec::new();
    for site in sites {
        // What switches the library's propagation off (the first, by place).
        let off = site.disabled_by.iter().find_map(|s| {
            matches(s, facts)
                .into_iter()
                .min_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)))
        });
        if required && off.is_none() {
            continue;
        }
        for fact in matches(&site.signal, facts) {
            if !seen.insert((&fact.file, fact.line, fact_path(fact))) {
                continue;
            }
            if off.is_some() {
                found.push((fact, site, off));
                continue;
            }
            let covered = site.covered_by.iter().any(|cover| {
                let hits = matched(&mut cache, &cover.signal, facts);
                if cover.same_function {
                    hits.iter().any(|f| {
                        (f.file == fact.file && f.func == fact.func)
                            || f.func
                                .as_deref()
                                .is_some_and(|helper| calls(sources, fact, helper))
                    })
                } else {
                    !hits.is_empty()
                }
            });
            if !covered {
                found.push((fact, site, None));
            }
        }
    }
    found.sort_by(|a, b| (&a.0.file, a.0.line).cmp(&(&b.0.file, b.0.line)));
    for (fact, site, off) in found {
        let at = describe(fact, language);
        let message = match (off, &site.note) {
            (Some(off), _) => format!(
                "{} (at {at}: {} at {}:{} switches its propagation off, so no traceparent is sent whatever instruments it)",
                rule.message,
                describe(off, language),
                off.file,
                off.line
            ),
            (None, Some(note)) => format!("{} (at {at}; {note})", rule.message),
            (None, None) => format!("{} (at {at})", rule.message),
        };
        out.push(finding(rule, message, Some(&fact.file), Some(fact.line)));
    }
}

/// The facts `signal` matched in the service (remembered: each signal is matched once
/// however many sites it covers).
fn matched<'c, 's, 'a>(
    cache: &'c mut Vec<(&'s Signal, Vec<&'a Fact>)>,
    signal: &'s Signal,
    facts: &FactIndex<'a>,
) -> &'c [&'a Fact] {
    let i = match cache.iter().position(|(k, _)| *k == signal) {
        Some(i) => i,
        None => {
            cache.push((signal, matches(signal, facts)));
            cache.len() - 1
        }
    };
    &cache[i].1
}

/// Whether the function enclosing `site` (or the top level of its file) refers to `helper`, a
/// function of the service's own (`fetch(url, { headers: withTrace({}) })`): looked up in the
/// references of the site's own file.
fn calls(sources: &[SourceFacts], site: &Fact, helper: &str) -> bool {
    let Some(file) = sources
        .iter()
        .find(|s| s.facts.as_ptr_range().contains(&std::ptr::from_ref(site)))
    else {
        return false;
    };
    let owner = site.func.as_deref().map_or(TOP_LEVEL, ref_hash);
    // Not a binary search: a file's references are sorted only once its facts are finished.
    file.refs.contains(&(owner, ref_hash(helper)))
}

fn fact_path(fact: &Fact) -> &[String] {
    match &fact.kind {
        FactKind::Call { path, .. } | FactKind::Symbol { path } => path,
        _ => &[],
    }
}

#[cfg(test)]
#[path = "sites_tests.rs"]
mod tests;
