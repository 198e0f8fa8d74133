//! A rule's call sites judged one by one ([`crate::check::evaluation::rules::Site`]): a finding
//! at each site that nothing instruments — neither what covers its library (`covered_by`,
//! matched once per service whatever the number of sites; with `same_function`, only a match
//! in the site's own function: same file, same enclosing top-level function or both outside
//! any) nor the rule's `require` list.

use std::collections::HashSet;

use crate::check::evaluation::evaluate::finding;
use crate::check::evaluation::matching::{describe, matches};
use crate::check::evaluation::rules::{Rule, Signal, Site};
use crate::check::facts::{Fact, FactKind};
use crate::check::model::{Finding, Language};

/// The findings of `rule`'s `sites` for `language` (none when `require` matched: it covers
/// every site).
pub(super) fn judge(
    rule: &Rule,
    sites: &[&Site],
    facts: &[&Fact],
    language: Language,
    out: &mut Vec<Finding>,
) {
    let require = rule.require.for_language(language);
    if require.iter().any(|s| !matches(s, facts).is_empty()) {
        return;
    }
    // What each `covered_by` signal matched in the service, matched once per signal.
    let mut cache: Vec<(*const Signal, Vec<&Fact>)> = Vec::new();
    let mut seen: HashSet<(&str, u32, &[String])> = HashSet::new();
    let mut found: Vec<&Fact> = Vec::new();
    for site in sites {
        for fact in matches(&site.signal, facts) {
            if !seen.insert((&fact.file, fact.line, fact_path(fact))) {
                continue;
            }
            let covered = site.covered_by.iter().any(|cover| {
                let hits = matched(&mut cache, &cover.signal, facts);
                if cover.same_function {
                    hits.iter()
                        .any(|f| f.file == fact.file && f.func == fact.func)
                } else {
                    !hits.is_empty()
                }
            });
            if !covered {
                found.push(fact);
            }
        }
    }
    found.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    for fact in found {
        out.push(finding(
            rule,
            format!("{} (at {})", rule.message, describe(fact, language)),
            Some(&fact.file),
            Some(fact.line),
        ));
    }
}

/// The facts `signal` matched in the service (remembered: each signal is matched once
/// however many sites it covers).
fn matched<'c, 'a>(
    cache: &'c mut Vec<(*const Signal, Vec<&'a Fact>)>,
    signal: &Signal,
    facts: &[&'a Fact],
) -> &'c [&'a Fact] {
    let key: *const Signal = signal;
    let i = match cache.iter().position(|(k, _)| *k == key) {
        Some(i) => i,
        None => {
            cache.push((key, matches(signal, facts)));
            cache.len() - 1
        }
    };
    &cache[i].1
}

fn fact_path(fact: &Fact) -> &[String] {
    match &fact.kind {
        FactKind::Call { path, .. } | FactKind::Symbol { path } => path,
        _ => &[],
    }
}
