//! The pure analysis: assembled traces → a runtime verdict per service and the service graph
//! ([`analyse`]). Nothing here reads, prints or allocates per span beyond the indexes it
//! needs.
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

use super::super::model::{RuntimeEdge, RuntimeFindings, RuntimeVerdict, ServiceRuntime};
use crate::trace::{Span, SpanKind, Trace};
use crate::verify::criteria::hops::{callee_window, target_of, Address, AddressBook};

/// How many roots starting in a call's window are looked at: of the named callee, or of any
/// service for a call that names none (keeps the search bounded).
const WINDOW_SCAN_LIMIT: usize = 64;

/// Judge every service with a span in `traces`; `traces` and `spans` are counted, `source`
/// is left empty and `sampled` false (the reader fills them in).
pub fn analyse(traces: &[Trace]) -> RuntimeFindings {
    run(traces).0
}

/// A CLIENT span without child for which no new trace of its callee was found — the callee
/// named by the span (`peer.service`, or a host's first DNS label) whether or not it has spans
/// in the sample: its new trace may have been left out of the sample (a reader can search for
/// it, [`unmatched_calls`]). Database calls and calls naming no one are not listed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnmatchedCall {
    /// The service called.
    pub callee: String,
    /// The call's start, unix ns.
    pub start_unix_nano: u64,
    /// The call's end, unix ns.
    pub end_unix_nano: u64,
}

/// The unpaired calls that [`analyse`] could not match to a new trace, by start.
pub fn unmatched_calls(traces: &[Trace]) -> Vec<UnmatchedCall> {
    run(traces).1
}

fn run(traces: &[Trace]) -> (RuntimeFindings, Vec<UnmatchedCall>) {
    let mut unmatched = Vec::new();
    let mut names = Names::default();
    let mut acc: Vec<ServiceAcc> = Vec::new();
    let mut edges: HashMap<(u32, u32), (u64, u64)> = HashMap::new();
    let mut roots: Vec<Loose> = Vec::new();
    let mut calls: Vec<Call> = Vec::new();
    let mut orphans: Vec<Loose> = Vec::new();
    let mut span_total = 0u64;

    for (t, trace) in traces.iter().enumerate() {
        span_total += trace.spans.len() as u64;
        let entry_parent = entry_parent(trace);
        for (i, span) in trace.spans.iter().enumerate() {
            let Some(service) = span.service.as_deref() else {
                continue;
            };
            let s = names.id(service, &mut acc);
            let a = &mut acc[s as usize];
            a.spans += 1;
            if span.kind == SpanKind::Server {
                a.server_spans += 1;
            }
            match trace.parent[i] {
                Some(p) => {
                    let parent = &trace.spans[p];
                    if matches!(span.kind, SpanKind::Server | SpanKind::Consumer) {
                        if let Some(ps) = parent.service.as_deref().filter(|ps| *ps != service) {
                            let c = names.id(ps, &mut acc);
                            edges.entry((c, s)).or_default().0 += 1;
                        }
                    }
                }
                None if span.parent_span_id.is_none() => match span.kind {
                    SpanKind::Client => acc[s as usize].client_roots += 1,
                    SpanKind::Server => roots.push(Loose::new(s, t, span)),
                    _ => {}
                },
                None => {
                    if span.parent_span_id != entry_parent {
                        orphans.push(Loose::new(s, t, span));
                    }
                }
            }
            if span.kind == SpanKind::Client && is_unpaired(trace, i) && !is_database(span) {
                calls.push(Call {
                    service: s,
                    trace: t,
                    span: i,
                });
            }
        }
    }

    let mut book = AddressBook::default();
    if !calls.is_empty() {
        book.learn(traces);
    }
    // by callee then start (a named callee's roots are one run), and an index by start
    roots.sort_by_key(|r| (r.service, r.start));
    let mut by_start: Vec<usize> = (0..roots.len()).collect();
    by_start.sort_by_key(|&r| roots[r].start);
    calls.sort_by_key(|c| traces[c.trace].spans[c.span].start_unix_nano);
    let mut root_claimed = vec![false; roots.len()];
    let mut orphan_claimed = vec![false; orphans.len()];
    for call in &calls {
        let span = &traces[call.trace].spans[call.span];
        // a callee with no span in the sample (uninstrumented, a third party, or only seen
        // in new traces left out of the sample) is nothing to judge; a reader may search
        // for the traces it started
        let unseen = |name: String| UnmatchedCall {
            callee: name,
            start_unix_nano: span.start_unix_nano,
            end_unix_nano: span.end_unix_nano,
        };
        let target = match name_callee(span, &book) {
            Target::External(host) => {
                let label = host.split('.').next().unwrap_or_default();
                if !label.is_empty() {
                    unmatched.push(unseen(label.to_owned()));
                }
                continue;
            }
            Target::Named(name) => match names.get(&name) {
                Some(id) if id != call.service => Some(id),
                Some(_) => continue, // a call to itself
                None => {
                    unmatched.push(unseen(name));
                    continue;
                }
            },
            Target::Unnamed => None,
        };
        let window = callee_window(span);
        let fits = |l: &Loose| {
            l.service != call.service
                && target.is_none_or(|t| t == l.service)
                && (window.0..=window.1).contains(&l.start)
                && l.end <= window.1
        };
        // an orphan of the same trace inside the call, else a root of another trace
        // (orphans are pushed trace by trace: the call's trace is one run of them)
        let from = orphans.partition_point(|l| l.trace < call.trace);
        let orphan = (from..orphans.len())
            .take_while(|&o| orphans[o].trace == call.trace)
            .filter(|&o| !orphan_claimed[o] && fits(&orphans[o]))
            .min_by_key(|&o| orphans[o].start.abs_diff(span.start_unix_nano));
        let callee = if let Some(o) = orphan {
            orphan_claimed[o] = true;
            Some(orphans[o].service)
        } else {
            let in_window: Vec<usize> = match target {
                Some(callee) => {
                    let first =
                        roots.partition_point(|r| (r.service, r.start) < (callee, window.0));
                    (first..roots.len())
                        .take_while(|&r| roots[r].service == callee && roots[r].start <= window.1)
                        .take(WINDOW_SCAN_LIMIT)
                        .collect()
                }
                None => {
                    let first = by_start.partition_point(|&r| roots[r].start < window.0);
                    by_start[first..]
                        .iter()
                        .copied()
                        .take_while(|&r| roots[r].start <= window.1)
                        .take(WINDOW_SCAN_LIMIT)
                        .collect()
                }
            };
            let candidates: Vec<usize> = in_window
                .into_iter()
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
                        start < span.start_unix_nano,
                        start.abs_diff(span.start_unix_nano),
                        roots[r].end.abs_diff(span.end_unix_nano),
                    )
                })
            };
            pick.map(|r| {
                root_claimed[r] = true;
                roots[r].service
            })
        };
        match (callee, target) {
            (Some(callee), _) => edges.entry((call.service, callee)).or_default().1 += 1,
            (None, Some(callee)) => unmatched.push(UnmatchedCall {
                callee: names.name(callee).to_owned(),
                start_unix_nano: span.start_unix_nano,
                end_unix_nano: span.end_unix_nano,
            }),
            (None, None) => {}
        }
    }
    for (o, orphan) in orphans.iter().enumerate() {
        if !orphan_claimed[o] {
            let a = &mut acc[orphan.service as usize];
            a.orphans += 1;
            if a.last_orphan_trace != Some(orphan.trace) {
                a.orphan_traces += 1;
                a.last_orphan_trace = Some(orphan.trace);
            }
        }
    }
    let findings = findings(&names, &acc, &edges, traces.len() as u64, span_total);
    (findings, unmatched)
}

/// The verdicts, reasons and sorted edges from the accumulated counts.
fn findings(
    names: &Names,
    acc: &[ServiceAcc],
    edges: &HashMap<(u32, u32), (u64, u64)>,
    traces: u64,
    spans: u64,
) -> RuntimeFindings {
    let mut out = RuntimeFindings {
        traces,
        spans,
        ..RuntimeFindings::default()
    };
    for (&(c, s), &(paired, broken)) in edges {
        out.edges.push(RuntimeEdge {
            caller: names.name(c).to_owned(),
            callee: names.name(s).to_owned(),
            paired,
            broken,
        });
    }
    out.edges
        .sort_by(|a, b| (&a.caller, &a.callee).cmp(&(&b.caller, &b.callee)));
    for (s, a) in acc.iter().enumerate() {
        if a.spans == 0 {
            continue; // named only as a caller's target
        }
        let name = names.name(s as u32);
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
        if a.orphans > 0 {
            reasons.push(format!(
                "{name}: {} in {} are orphans (parent span not in the trace, and not the trace's entry point)",
                plural(a.orphans, "span"),
                plural(a.orphan_traces, "trace")
            ));
        }
        if a.client_roots > 0 && a.server_spans > 0 {
            reasons.push(format!(
                "{name}: {} start new traces although it is called ({}): it drops the context it receives, or calls outside any request",
                plural(a.client_roots, "CLIENT span"),
                plural(a.server_spans, "SERVER span")
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
                spans: a.spans,
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

/// What one service's spans showed.
#[derive(Default)]
struct ServiceAcc {
    spans: u64,
    server_spans: u64,
    client_roots: u64,
    orphans: u64,
    orphan_traces: u64,
    last_orphan_trace: Option<usize>,
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
    trace: usize,
    start: u64,
    end: u64,
}

impl Loose {
    fn new(service: u32, trace: usize, span: &Span) -> Self {
        Loose {
            service,
            trace,
            start: span.start_unix_nano,
            end: span.end_unix_nano.max(span.start_unix_nano),
        }
    }
}

/// An unpaired CLIENT span.
struct Call {
    service: u32,
    trace: usize,
    span: usize,
}

/// The parent span ID of the trace's entry point when the trace has no root (it continues
/// an external caller's context): the earliest orphan's parent.
fn entry_parent(trace: &Trace) -> Option<crate::propagation::SpanId> {
    if !trace.roots.is_empty() {
        return None;
    }
    trace
        .orphans
        .first()
        .and_then(|&o| trace.spans[o].parent_span_id)
}

/// A CLIENT span none of whose children belongs to another service or is a SERVER span.
fn is_unpaired(trace: &Trace, index: usize) -> bool {
    let service = &trace.spans[index].service;
    trace.children[index].iter().all(|&c| {
        let child = &trace.spans[c];
        child.service == *service && !matches!(child.kind, SpanKind::Server | SpanKind::Consumer)
    })
}

/// A call to a database (never an instrumented service).
fn is_database(span: &Span) -> bool {
    span.attributes.contains_key("db.system") || span.attributes.contains_key("db.system.name")
}

/// Who a CLIENT span says it called.
enum Target {
    /// A service seen in the traces (or named by `peer.service`).
    Named(String),
    /// A named host (lowercase) that is none of the services seen: a third party, an
    /// uninstrumented service, or one seen only in traces left out of the sample.
    External(String),
    /// No attribute names the callee (or only an IP address).
    Unnamed,
}

fn name_callee(span: &Span, book: &AddressBook) -> Target {
    if let Some(peer) = span
        .attributes
        .get("peer.service")
        .and_then(|v| v.as_str())
        .filter(|s| !s.is_empty())
    {
        return Target::Named(peer.to_owned());
    }
    let Some(address) = target_of(span) else {
        return Target::Unnamed;
    };
    if address.host == "localhost" || address.host.parse::<std::net::IpAddr>().is_ok() {
        return book
            .resolve(&address)
            .map_or(Target::Unnamed, |s| Target::Named(s.to_owned()));
    }
    // A host name: the service reporting that host, or named by its first DNS label; with
    // the port only when the port alone would not have said it (`api.provider.com:443` is
    // not whichever service alone listens on 443).
    let host_only = Address {
        host: address.host.clone(),
        port: None,
    };
    if let Some(service) = book.resolve(&host_only) {
        return Target::Named(service.to_owned());
    }
    let port_only = Address {
        host: String::new(),
        port: address.port,
    };
    let by_port = address.port.and_then(|_| book.resolve(&port_only));
    match book.resolve(&address).filter(|s| Some(*s) != by_port) {
        Some(service) => Target::Named(service.to_owned()),
        None => Target::External(address.host),
    }
}

#[cfg(test)]
#[path = "graph_tests.rs"]
mod tests;
