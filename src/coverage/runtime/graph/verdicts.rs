//! From the accumulated counts and the matching to the verdicts, their reasons and the
//! sorted edges.

use std::collections::{BTreeSet, HashMap};

use super::super::super::model::{RuntimeEdge, RuntimeFindings, RuntimeVerdict, ServiceRuntime};
use super::matching::Matching;
use super::Analyser;

/// The findings of `a`, with the broken calls and claimed orphans of `matched`.
pub(super) fn findings(a: &Analyser, matched: &Matching) -> RuntimeFindings {
    let mut out = RuntimeFindings {
        traces: a.traces,
        spans: a.spans,
        ..RuntimeFindings::default()
    };
    let mut edges: HashMap<(u32, u32), (u64, u64)> = HashMap::new();
    for (&edge, &n) in &a.paired {
        edges.entry(edge).or_default().0 += n;
    }
    for (&edge, &n) in &matched.broken {
        edges.entry(edge).or_default().1 += n;
    }
    for ((c, s), (paired, broken)) in edges {
        out.edges.push(RuntimeEdge {
            caller: a.names.name(c).to_owned(),
            callee: a.names.name(s).to_owned(),
            paired,
            broken,
        });
    }
    out.edges
        .sort_by(|x, y| (&x.caller, &x.callee).cmp(&(&y.caller, &y.callee)));
    // service → (orphan spans, their traces), the orphans no broken call explains
    let mut orphans: HashMap<u32, (u64, BTreeSet<usize>)> = HashMap::new();
    for (o, orphan) in a.orphans.iter().enumerate() {
        if !matched.orphan_claimed[o] {
            let entry = orphans.entry(orphan.service).or_default();
            entry.0 += 1;
            entry.1.insert(orphan.trace);
        }
    }
    for (s, acc) in a.acc.iter().enumerate() {
        if acc.spans == 0 {
            continue; // named only as a caller
        }
        let id = u32::try_from(s).unwrap_or(u32::MAX);
        let name = a.names.name(id);
        let mut reasons: Vec<String> = out
            .edges
            .iter()
            .filter(|e| e.callee == name && e.broken > 0)
            .map(|e| {
                format!(
                    "{} → {}: {} of {} calls start a new trace",
                    e.caller,
                    e.callee,
                    e.broken,
                    e.broken + e.paired
                )
            })
            .collect();
        if let Some((spans, traces)) = orphans.get(&id) {
            reasons.push(format!(
                "{name}: {} in {} are orphans (parent span not in the trace, and not the trace's entry point)",
                plural(*spans, "span"),
                plural(traces.len() as u64, "trace")
            ));
        }
        if acc.client_roots > 0 && acc.server_spans > 0 {
            reasons.push(format!(
                "{name}: {} start new traces although it is called ({}): it drops the context it receives, or calls outside any request",
                plural(acc.client_roots, "CLIENT span"),
                plural(acc.server_spans, "SERVER span")
            ));
        }
        let verdict = if reasons.is_empty() {
            RuntimeVerdict::Pass
        } else {
            RuntimeVerdict::Fail
        };
        out.services.insert(
            name.to_owned(),
            ServiceRuntime {
                verdict,
                reasons,
                spans: acc.spans,
            },
        );
    }
    out
}

fn plural(n: u64, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}
