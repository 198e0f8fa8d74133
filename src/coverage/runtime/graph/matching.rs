//! Matching each unpaired CLIENT span to the new trace (or same-trace orphan) its callee
//! started inside it: the unpaired-edge signature.

use std::collections::HashMap;

use super::callee::{name_callee, Target};
use super::{Analyser, Loose, UnmatchedCall};

/// How many roots starting in a call's window are looked at: of the named callee, or of any
/// service for a call that names none (keeps the search bounded).
const WINDOW_SCAN_LIMIT: usize = 64;

/// What the matching found.
pub(super) struct Matching {
    /// (caller, callee) → broken calls
    pub broken: HashMap<(u32, u32), u64>,
    /// Per orphan of [`Analyser::orphans`]: explained as a broken call's callee.
    pub orphan_claimed: Vec<bool>,
    pub unmatched: Vec<UnmatchedCall>,
}

/// Match every unpaired call, soonest first, to the nearest fitting root or orphan not
/// already taken. Independent of the order the traces were added in (ties are broken by
/// times, then trace IDs).
pub(super) fn match_calls(a: &Analyser) -> Matching {
    let roots = &a.roots;
    let orphans = &a.orphans;
    // by callee then start (a named callee's roots are one run), and an index by start
    let mut by_callee: Vec<usize> = (0..roots.len()).collect();
    by_callee.sort_by_key(|&r| {
        (
            roots[r].service,
            roots[r].start,
            roots[r].end,
            roots[r].trace_id,
        )
    });
    let mut by_start = by_callee.clone();
    by_start.sort_by_key(|&r| (roots[r].start, roots[r].end, roots[r].trace_id));
    // orphans by trace (the call's trace is one run of them)
    let mut orphans_by_trace: Vec<usize> = (0..orphans.len()).collect();
    orphans_by_trace.sort_by_key(|&o| (orphans[o].trace, orphans[o].start));
    let mut calls: Vec<usize> = (0..a.calls.len()).collect();
    calls.sort_by_key(|&c| {
        let call = &a.calls[c];
        (call.start, call.end, call.trace_id)
    });

    let mut out = Matching {
        broken: HashMap::new(),
        orphan_claimed: vec![false; orphans.len()],
        unmatched: Vec::new(),
    };
    let mut root_claimed = vec![false; roots.len()];
    for c in calls {
        let call = &a.calls[c];
        // a callee with no span in the sample (uninstrumented, a third party, or seen only
        // in new traces left out of the sample) is nothing to judge; a reader may search
        // for the traces it started
        let target = match name_callee(call, &a.names, &a.book) {
            Target::Seen(id) if id == call.service => continue, // a call to itself
            Target::Seen(id) => Some(id),
            Target::Unseen(name) => {
                if !name.is_empty() {
                    out.unmatched.push(UnmatchedCall {
                        callee: name,
                        start_unix_nano: call.start,
                        end_unix_nano: call.end,
                    });
                }
                continue;
            }
            Target::Unnamed => None,
            Target::External => continue,
        };
        let (from, to) = call.window;
        let fits = |l: &Loose| {
            l.service != call.service
                && target.is_none_or(|t| t == l.service)
                && (from..=to).contains(&l.start)
                && l.end <= to
        };
        // an orphan of the same trace inside the call, else a root of another trace
        let first = orphans_by_trace.partition_point(|&o| orphans[o].trace < call.trace);
        let orphan = orphans_by_trace[first..]
            .iter()
            .copied()
            .take_while(|&o| orphans[o].trace == call.trace)
            .filter(|&o| !out.orphan_claimed[o] && fits(&orphans[o]))
            .min_by_key(|&o| orphans[o].start.abs_diff(call.start));
        let callee = if let Some(o) = orphan {
            out.orphan_claimed[o] = true;
            Some(orphans[o].service)
        } else {
            let index = if target.is_some() {
                &by_callee
            } else {
                &by_start
            };
            let first = match target {
                Some(t) => {
                    index.partition_point(|&r| (roots[r].service, roots[r].start) < (t, from))
                }
                None => index.partition_point(|&r| roots[r].start < from),
            };
            let candidates: Vec<usize> = index[first..]
                .iter()
                .copied()
                .take_while(|&r| {
                    target.is_none_or(|t| roots[r].service == t) && roots[r].start <= to
                })
                .take(WINDOW_SCAN_LIMIT)
                .filter(|&r| !root_claimed[r] && roots[r].trace != call.trace && fits(&roots[r]))
                .collect();
            let pick = if target.is_none() && candidates.len() != 1 {
                None
            } else {
                // starting soonest after the call's start; of those starting together, the
                // one ending closest to the call's end (a shorter call's root fits it alone)
                candidates.into_iter().min_by_key(|&r| {
                    let start = roots[r].start;
                    (
                        start < call.start,
                        start.abs_diff(call.start),
                        roots[r].end.abs_diff(call.end),
                    )
                })
            };
            pick.map(|r| {
                root_claimed[r] = true;
                roots[r].service
            })
        };
        match (callee, target) {
            (Some(callee), _) => *out.broken.entry((call.service, callee)).or_default() += 1,
            (None, Some(callee)) => out.unmatched.push(UnmatchedCall {
                callee: a.names.name(callee).to_owned(),
                start_unix_nano: call.start,
                end_unix_nano: call.end,
            }),
            (None, None) => {}
        }
    }
    out
}
