//! The per-service end of a scan: parse the deferred files that could keep a function live,
//! drop dead code, and evaluate the rules. Services are independent here, so they are
//! assessed on all cores (a 1,000-service monorepo spends a tenth of a run in this step).

use std::path::Path;

use crate::check::assembly::rust_modules;
use crate::check::assembly::work::Svc;
use crate::check::evaluation::rules::RuleSet;
use crate::check::evaluation::{evaluate, unseen};
use crate::check::facts::{dead_functions, drop_dead_code, drops_any, RustMods, SourceFacts};
use crate::check::inputs::discover::{self, Parsed};
use crate::check::inputs::interest::Interest;
use crate::check::inputs::lang::SourceKind;
use crate::check::model::{Finding, Language, ScannedService, Service};

/// Assess every service, in order; at most one thread per core.
pub(crate) fn services(
    root: &Path,
    services: &mut [Svc],
    rules: &RuleSet,
    interest: &Interest,
) -> Vec<ScannedService> {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get().min(8));
    if threads < 2 || services.len() < 2 {
        return services
            .iter_mut()
            .map(|s| one(root, s, rules, interest))
            .collect();
    }
    // Each thread takes the next service when it is done with one: services differ in size
    // by orders of magnitude, so halves fixed in advance leave one core idle at the end.
    let workers = threads.min(services.len());
    let next = std::sync::Mutex::new(services.iter_mut().enumerate());
    let mut done: Vec<(usize, ScannedService)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                let next = &next;
                scope.spawn(move || {
                    let mut done = Vec::new();
                    // The lock is held only to take the next service. A poisoned lock means
                    // another thread panicked: its panic is raised below; this one stops.
                    while let Some((i, s)) = next.lock().ok().and_then(|mut it| it.next()) {
                        done.push((i, one(root, s, rules, interest)));
                    }
                    done
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| match h.join() {
                Ok(done) => done,
                // A panic in a rule is a bug; re-raise it where the scan was called.
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    });
    // In the services' order, as one thread would have given them.
    done.sort_unstable_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, scanned)| scanned).collect()
}

fn one(root: &Path, s: &mut Svc, rules: &RuleSet, interest: &Interest) -> ScannedService {
    // A file that could not be analysed may declare modules or call any function: then
    // nothing is judged unreachable or dead, so no finding of the other files is dropped.
    let complete = s.unanalysed.is_empty();
    if complete {
        // Rust files no `mod` declaration reaches are never compiled: nothing in them counts.
        drop_unreachable_rust(s);
        // Files the pre-filter left unparsed hold no usable fact, but their references may
        // keep a function live: parse those that could.
        parse_unparsed_refs(root, s, interest);
        let mut refs: Vec<&mut SourceFacts> = s.sources.iter_mut().collect();
        drop_dead_code(&mut refs);
    }
    let language = s.language.unwrap_or(Language::Unknown);
    // Its verdict is `unknown` (with TG199 notes saying why) unless a finding fails it.
    // An Operator injection whose `Instrumentation` is not in the tree is unseen too.
    let unseen = s
        .workloads
        .iter()
        .any(|w| unseen::unseen(w, language).next().is_some());
    let analysed = language.is_analysed() && complete && !unseen;
    let (mut findings, not_evaluated) = evaluate::service(rules, s, language);
    sort_findings(&mut findings);
    // The repository rules only need to know whether the service uses the propagation
    // library; its source facts are freed here, on this thread.
    s.settle_sources();
    ScannedService {
        service: Service {
            name: s.name.clone(),
            path: s.path.clone(),
            language,
        },
        analysed,
        findings,
        not_evaluated,
    }
}

/// Empty the parsed Rust files outside the crate's module tree ([`rust_modules`]), and keep
/// the unparsed ones there out of the deferred parse.
fn drop_unreachable_rust(s: &mut Svc) {
    if s.rust_custom_targets || !s.sources.iter().any(|f| f.rust_mods.is_some()) {
        return;
    }
    let mut files: Vec<(&str, Option<&RustMods>)> = s
        .source_files
        .iter()
        .zip(&s.sources)
        .filter(|(_, f)| f.rust_mods.is_some())
        .map(|(rel, f)| (rel.as_str(), f.rust_mods.as_ref()))
        .collect();
    files.extend(
        s.unparsed
            .iter()
            .filter(|(kind, _, _)| *kind == SourceKind::Rust)
            .map(|(_, rel, _)| (rel.as_str(), None)),
    );
    let dead = rust_modules::unreachable(&s.path, &files);
    if dead.is_empty() {
        return;
    }
    for (rel, facts) in s.source_files.iter().zip(s.sources.iter_mut()) {
        if dead.contains(rel) {
            *facts = SourceFacts {
                rust_mods: facts.rust_mods.take(),
                ..SourceFacts::default()
            };
        }
    }
}

/// Parse the files the pre-filter left unparsed that could keep a function live, for as long
/// as dead-code elimination would remove a fact: a file can only do so if its text names a
/// dead function (a reference to it, or a live definition of the same name), so the others
/// stay unparsed. Reading a file again is far cheaper than parsing it.
fn parse_unparsed_refs(root: &Path, s: &mut Svc, interest: &Interest) {
    while !s.unparsed.is_empty() && drops_any(s.sources.iter()) {
        let dead: Vec<String> = dead_functions(s.sources.iter()).into_iter().collect();
        // A contiguous NFA: a DFA (what `new` picks for few names) costs more to build than
        // the few files it searches, once per service.
        let names = aho_corasick::AhoCorasick::builder()
            .kind(Some(aho_corasick::AhoCorasickKind::ContiguousNFA))
            .build(&dead)
            .ok();
        let mut kept = Vec::new();
        let mut parsed_any = false;
        for (kind, rel, filter) in std::mem::take(&mut s.unparsed) {
            if filter
                .as_ref()
                .is_some_and(|f| !dead.iter().any(|name| f.may_name(name)))
            {
                kept.push((kind, rel, filter));
                continue;
            }
            // Read once: searched for the dead names, then parsed from the same bytes.
            let bytes = std::fs::read(root.join(&rel)).ok();
            let names_dead = match (&names, &bytes) {
                (Some(names), Some(bytes)) => names.is_match(bytes),
                _ => true,
            };
            if !names_dead {
                kept.push((kind, rel, filter));
                continue;
            }
            parsed_any = true;
            match bytes.map(|b| discover::parse_deferred(&rel, kind, &b, interest)) {
                Some(Parsed::Source { facts, .. }) => s.add_source(rel, facts),
                // The pre-filter judged it signal-free: a note, as with `--no-prefilter`.
                Some(
                    Parsed::Skipped { reason, line } | Parsed::NotAnalysed { reason, line, .. },
                ) => s.skipped.push((rel, reason, line)),
                _ => {}
            }
        }
        s.unparsed = kept;
        if !parsed_any {
            break;
        }
    }
}

/// Findings in a stable order: file, line, rule, message; duplicates removed.
pub(crate) fn sort_findings(f: &mut Vec<Finding>) {
    f.sort_by(|a, b| {
        (
            a.file.as_deref(),
            a.line,
            a.rule.as_str(),
            a.message.as_str(),
        )
            .cmp(&(
                b.file.as_deref(),
                b.line,
                b.rule.as_str(),
                b.message.as_str(),
            ))
    });
    f.dedup();
}
