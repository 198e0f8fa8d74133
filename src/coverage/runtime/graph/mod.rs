//! The pure analysis: assembled traces → a runtime verdict per service and the service graph
//! ([`analyse`], or [`Analyser`] fed one trace at a time). Nothing here reads or prints; what
//! is kept per trace is a few numbers per root, orphan and unpaired CLIENT span, so a reader
//! need not hold the sample's traces.
//!
//! A service is **broken** (`fail`) on any of three signatures, each named in a reason:
//!
//! 1. *the unpaired edge*: a caller's CLIENT span has no child from another service, and the
//!    callee started a new trace (a SERVER root) — or hangs as an orphan in the same trace —
//!    inside that call (start and end within the CLIENT span, [`callee_window`] tolerance);
//!    the callee is the one the CLIENT span names (`peer.service`, the host of `url.full` /
//!    `http.url`, `server.address`, `net.peer.name`, resolved through the addresses SERVER
//!    spans report and the first DNS label: `pricing.payments.svc.cluster.local` names
//!    `pricing`). A CLIENT span that names no one matches only when exactly one root fits
//!    its window (concurrent ingress requests are not mistaken for callees). The callee is
//!    blamed: it received the context and did not continue it.
//! 2. *orphans*: spans whose parent is not in the trace, except the trace's entry point (a
//!    trace continued from an external caller's `traceparent` has a first span whose parent
//!    is outside; spans sharing that missing parent are entry points too).
//! 3. *CLIENT roots* in a service that also has SERVER spans (a called service that drops the
//!    context it received, or calls outside any request).
//!
//! Not broken: a SERVER root no unpaired CLIENT span points at (an ingress); a CONSUMER root
//! (a queue consumer linking its producer); a CLIENT span to a service with no span anywhere
//! (an uninstrumented callee: it is `unseen`, and its caller is not blamed); a CLIENT span to
//! a named host that is none of the services seen (a database, a third-party API), and any
//! span with `db.system`.

use std::collections::HashMap;

use super::super::model::RuntimeFindings;
use crate::propagation::TraceId;
use crate::trace::{SpanKind, Trace};
use crate::verify::criteria::hops::{callee_window, target_of, Address, AddressBook};

mod callee;
mod matching;
mod verdicts;

use callee::{entry_parent, is_database, is_unpaired};

/// Judge every service with a span in `traces`; `traces` and `spans` are counted, `source`
/// is left empty and `sampled` false (the reader fills them in).
pub fn analyse(traces: &[Trace]) -> RuntimeFindings {
    let mut analyser = Analyser::default();
    traces.iter().for_each(|t| analyser.add(t));
    analyser.finish()
}

/// The unpaired calls that [`analyse`] could not match to a new trace, by start.
pub fn unmatched_calls(traces: &[Trace]) -> Vec<UnmatchedCall> {
    let mut analyser = Analyser::default();
    traces.iter().for_each(|t| analyser.add(t));
    analyser.unmatched()
}

/// A CLIENT span without child for which no new trace of its callee was found — the callee
/// named by the span (`peer.service`, or the first DNS label of a single-label or Kubernetes
/// `….svc` host) whether or not it has spans in the sample: its new trace may have been left
/// out of the sample (a reader can search for it, [`unmatched_calls`]). Database calls,
/// third-party hosts and calls naming no one are not listed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnmatchedCall {
    /// The service called.
    pub callee: String,
    /// The call's start, unix ns.
    pub start_unix_nano: u64,
    /// The call's end, unix ns.
    pub end_unix_nano: u64,
}

/// The analysis, fed one trace at a time ([`Analyser::add`]); the result does not depend on
/// the order the traces come in.
#[derive(Default)]
pub struct Analyser {
    names: Names,
    acc: Vec<ServiceAcc>,
    /// (caller, callee) → paired calls
    paired: HashMap<(u32, u32), u64>,
    roots: Vec<Loose>,
    orphans: Vec<Loose>,
    calls: Vec<Call>,
    book: AddressBook,
    traces: u64,
    spans: u64,
}

impl Analyser {
    /// Take in one assembled trace.
    pub fn add(&mut self, trace: &Trace) {
        let t = self.traces as usize;
        self.traces += 1;
        self.spans += trace.spans.len() as u64;
        let entry_parent = entry_parent(trace);
        for (i, span) in trace.spans.iter().enumerate() {
            let Some(service) = span.service.as_deref() else {
                continue;
            };
            let s = self.names.id(service, &mut self.acc);
            let a = &mut self.acc[s as usize];
            a.spans += 1;
            if span.kind == SpanKind::Server {
                a.server_spans += 1;
            }
            let loose = || Loose {
                service: s,
                trace: t,
                trace_id: trace.trace_id,
                start: span.start_unix_nano,
                end: span.end_unix_nano.max(span.start_unix_nano),
            };
            match trace.parent[i] {
                Some(p) => {
                    let parent = &trace.spans[p];
                    if matches!(span.kind, SpanKind::Server | SpanKind::Consumer) {
                        if let Some(ps) = parent.service.as_deref().filter(|ps| *ps != service) {
                            let c = self.names.id(ps, &mut self.acc);
                            *self.paired.entry((c, s)).or_default() += 1;
                        }
                    }
                }
                None if span.parent_span_id.is_none() => match span.kind {
                    SpanKind::Client => self.acc[s as usize].client_roots += 1,
                    SpanKind::Server => self.roots.push(loose()),
                    _ => {}
                },
                None => {
                    if span.parent_span_id != entry_parent {
                        self.orphans.push(loose());
                    }
                }
            }
            if span.kind == SpanKind::Client && is_unpaired(trace, i) && !is_database(span) {
                self.calls.push(Call {
                    service: s,
                    trace: t,
                    trace_id: trace.trace_id,
                    window: callee_window(span),
                    start: span.start_unix_nano,
                    end: span.end_unix_nano,
                    peer_service: span
                        .attributes
                        .get("peer.service")
                        .and_then(|v| v.as_str())
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned),
                    target: target_of(span),
                });
            }
        }
        // the addresses SERVER spans report, and the services seen: for naming callees
        self.book.learn(std::iter::once(trace));
    }

    /// The unpaired calls not matched to a new trace so far.
    pub fn unmatched(&self) -> Vec<UnmatchedCall> {
        matching::match_calls(self).unmatched
    }

    /// The verdicts and the service graph.
    pub fn finish(self) -> RuntimeFindings {
        let matched = matching::match_calls(&self);
        verdicts::findings(&self, &matched)
    }
}

/// What one service's spans showed.
#[derive(Default)]
struct ServiceAcc {
    spans: u64,
    server_spans: u64,
    client_roots: u64,
}

/// Service names, interned (no string per span).
#[derive(Default)]
struct Names {
    ids: HashMap<String, u32>,
    names: Vec<String>,
}

impl Names {
    fn id(&mut self, name: &str, acc: &mut Vec<ServiceAcc>) -> u32 {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
        self.ids.insert(name.to_owned(), id);
        self.names.push(name.to_owned());
        acc.push(ServiceAcc::default());
        id
    }

    fn get(&self, name: &str) -> Option<u32> {
        self.ids.get(name).copied()
    }

    fn name(&self, id: u32) -> &str {
        self.names.get(id as usize).map_or("", String::as_str)
    }
}

/// A SERVER root or an orphan: where a broken call's callee shows up.
struct Loose {
    service: u32,
    /// Index of its trace in the order added.
    trace: usize,
    trace_id: TraceId,
    start: u64,
    end: u64,
}

/// An unpaired CLIENT span.
struct Call {
    service: u32,
    trace: usize,
    trace_id: TraceId,
    /// Where its callee's span may start and end ([`callee_window`]).
    window: (u64, u64),
    start: u64,
    end: u64,
    peer_service: Option<String>,
    target: Option<Address>,
}

#[cfg(test)]
mod tests;
