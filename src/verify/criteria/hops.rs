//! Naming the hop where a trace breaks (AC-002): which service a CLIENT (PRODUCER) span
//! called when its callee's SERVER (CONSUMER) span is not under it.
//!
//! Real SDK spans name the callee only through an address (`server.address`/`server.port`,
//! `net.peer.name`/`net.peer.port`, `url.full`, `http.url`) or `peer.service`; the address is
//! mapped to a service through the addresses SERVER spans report about themselves
//! ([`AddressBook`]). When that does not say, the callee is the service that started a new
//! trace (or an orphan) while the call was in flight ([`RootIndex`]), else an expected
//! service missing from the trace.

use std::collections::{HashMap, HashSet};

use super::structure::{attr_str, attr_u64, callee_kind, Services};
use crate::propagation::{SpanId, TraceId};
use crate::trace::{Span, SpanKind, Trace};

/// Where a span says it sent its call (or where a SERVER span says it listens).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Address {
    /// Lowercase host name or IP.
    pub host: String,
    pub port: Option<u16>,
}

impl std::fmt::Display for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.port {
            Some(port) => write!(f, "{}:{port}", self.host),
            None => f.write_str(&self.host),
        }
    }
}

/// `scheme://[user@]host[:port]/…` or `host[:port]` → the address (default port by scheme).
pub fn parse_address(text: &str) -> Option<Address> {
    let (scheme, rest) = match text.split_once("://") {
        Some((scheme, rest)) => (Some(scheme.to_ascii_lowercase()), rest),
        None => (None, text),
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority.rsplit('@').next().unwrap_or_default();
    let (host, port) = if let Some(stripped) = authority.strip_prefix('[') {
        let (host, after) = stripped.split_once(']')?;
        (host, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return None;
    }
    let port = match port {
        Some(p) => Some(p.parse().ok()?),
        None => match scheme.as_deref() {
            Some("http") => Some(80),
            Some("https") => Some(443),
            _ => None,
        },
    };
    Some(Address {
        host: host.to_ascii_lowercase(),
        port,
    })
}

/// The address a CLIENT span called.
pub fn target_of(span: &Span) -> Option<Address> {
    for key in ["url.full", "http.url"] {
        if let Some(address) = attr_str(span, key).and_then(parse_address) {
            return Some(address);
        }
    }
    for (host_key, port_key) in [
        ("server.address", "server.port"),
        ("net.peer.name", "net.peer.port"),
    ] {
        if let Some(host) = attr_str(span, host_key) {
            let port = attr_u64(span, port_key).and_then(|p| u16::try_from(p).ok());
            return Some(Address {
                host: host.to_ascii_lowercase(),
                port,
            });
        }
    }
    None
}

/// The addresses a SERVER span reports for itself.
fn own_addresses(span: &Span) -> Vec<Address> {
    let mut out = Vec::new();
    let port = attr_u64(span, "server.port")
        .or_else(|| attr_u64(span, "net.host.port"))
        .and_then(|p| u16::try_from(p).ok());
    for key in ["server.address", "net.host.name", "http.server_name"] {
        if let Some(host) = attr_str(span, key) {
            out.push(Address {
                host: host.to_ascii_lowercase(),
                port,
            });
        }
    }
    if let Some(mut address) = attr_str(span, "http.host").and_then(parse_address) {
        address.port = address.port.or(port);
        out.push(address);
    }
    for key in ["url.full", "http.url"] {
        if let Some(address) = attr_str(span, key).and_then(parse_address) {
            out.push(address);
        }
    }
    if out.is_empty() {
        if let Some(port) = port {
            out.push(Address {
                host: String::new(),
                port: Some(port),
            });
        }
    }
    out
}

/// An IP address or `localhost`: a host name that says nothing about which service it is.
fn is_local_or_ip(host: &str) -> bool {
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok()
}

/// Which service listens where, learnt from SERVER spans; and every service seen at all.
#[derive(Debug, Default)]
pub struct AddressBook {
    by_address: HashMap<Address, String>,
    /// `None` when several services share the port.
    by_port: HashMap<u16, Option<String>>,
    with_address: HashSet<String>,
    seen: HashSet<String>,
}

impl AddressBook {
    /// Learn from every span of `traces`.
    pub fn learn<'t>(&mut self, traces: impl IntoIterator<Item = &'t Trace>) {
        for trace in traces {
            for span in &trace.spans {
                let Some(service) = &span.service else {
                    continue;
                };
                if !self.seen.contains(service) {
                    self.seen.insert(service.clone());
                }
                if span.kind != SpanKind::Server {
                    continue;
                }
                for address in own_addresses(span) {
                    if let Some(port) = address.port {
                        let entry = self
                            .by_port
                            .entry(port)
                            .or_insert_with(|| Some(service.clone()));
                        if entry.as_deref() != Some(service) {
                            *entry = None;
                        }
                    }
                    if !address.host.is_empty() {
                        self.by_address
                            .entry(address)
                            .or_insert_with(|| service.clone());
                    }
                    if !self.with_address.contains(service) {
                        self.with_address.insert(service.clone());
                    }
                }
            }
        }
    }

    /// Whether any span of `service` was seen anywhere in the run.
    pub fn seen(&self, service: &str) -> bool {
        self.seen.contains(service)
    }

    /// Whether `service`'s SERVER spans told where it listens.
    pub fn has_address(&self, service: &str) -> bool {
        self.with_address.contains(service)
    }

    /// The service at `address`: exact host and port; a host whose first DNS label is a
    /// service name (`pricing.shop.svc:8080`); a port only one service listens on.
    pub fn resolve(&self, address: &Address) -> Option<&str> {
        if let Some(service) = self.by_address.get(address) {
            return Some(service);
        }
        let label = address.host.split('.').next().unwrap_or_default();
        if let Some(service) = self.seen.get(label) {
            return Some(service);
        }
        address
            .port
            .and_then(|p| self.by_port.get(&p))
            .and_then(|s| s.as_deref())
    }
}

/// A span that starts a trace or hangs without its parent: where a broken hop's callee shows up.
#[derive(Clone, Debug)]
pub struct LooseStart {
    pub start_unix_nano: u64,
    pub end_unix_nano: u64,
    pub service: String,
    pub kind: SpanKind,
    pub trace_id: TraceId,
    pub span_id: SpanId,
}

/// The roots and orphans of the traces no response named, by start time.
#[derive(Debug, Default)]
pub struct RootIndex {
    starts: Vec<LooseStart>,
}

/// How many loose starts in a call's window are looked at (keeps the search bounded).
const WINDOW_SCAN_LIMIT: usize = 64;

impl RootIndex {
    /// Index the roots and orphans of `traces`.
    pub fn new<'t>(traces: impl IntoIterator<Item = &'t Trace>) -> Self {
        let mut starts = Vec::new();
        for trace in traces {
            for &i in trace.roots.iter().chain(&trace.orphans) {
                let span = &trace.spans[i];
                let Some(service) = &span.service else {
                    continue;
                };
                starts.push(LooseStart {
                    start_unix_nano: span.start_unix_nano,
                    end_unix_nano: span.end_unix_nano,
                    service: service.clone(),
                    kind: span.kind,
                    trace_id: trace.trace_id,
                    span_id: span.span_id,
                });
            }
        }
        starts.sort_by_key(|s| s.start_unix_nano);
        RootIndex { starts }
    }

    /// The loose start beginning within `[from, to]`, accepted by `keep`, that fits the call
    /// `anchor` best: with concurrent requests several callees start within one call's
    /// window, and the call's own starts closest after the call's start and, for a
    /// synchronous call (`anchor.1`, the call's end), ends closest before the call's end (a
    /// callee slow to start is still told from another request's callee that started
    /// sooner but ended long before).
    pub fn find(
        &self,
        from: u64,
        to: u64,
        anchor: (u64, Option<u64>),
        keep: impl Fn(&LooseStart) -> bool,
    ) -> Option<&LooseStart> {
        let (call_start, call_end) = anchor;
        let first = self.starts.partition_point(|s| s.start_unix_nano < from);
        self.starts[first..]
            .iter()
            .take_while(|s| s.start_unix_nano <= to)
            .take(WINDOW_SCAN_LIMIT)
            .filter(|s| keep(s))
            .min_by_key(|s| {
                // a callee starts after its call: one starting before is a worse match
                let after = s.start_unix_nano >= call_start;
                let start_gap = s.start_unix_nano.abs_diff(call_start);
                let end_gap = call_end.map_or(0, |end| end.abs_diff(s.end_unix_nano));
                (
                    !after,
                    start_gap.saturating_add(end_gap),
                    s.start_unix_nano,
                    s.trace_id,
                )
            })
    }
}

/// How far around a call its callee's span may start (clocks of different hosts).
const CLOCK_TOLERANCE_NS: u64 = 5_000_000;
/// How long after a PRODUCER span ends its CONSUMER may start.
const QUEUE_DELAY_NS: u64 = 10_000_000_000;

/// The window in which the callee of `span` (CLIENT or PRODUCER) starts.
pub fn callee_window(span: &Span) -> (u64, u64) {
    let end = span.end_unix_nano.max(span.start_unix_nano);
    let slack = if span.kind == SpanKind::Producer {
        QUEUE_DELAY_NS
    } else {
        CLOCK_TOLERANCE_NS
    };
    (
        span.start_unix_nano.saturating_sub(CLOCK_TOLERANCE_NS),
        end.saturating_add(slack),
    )
}

/// Where the callee of a broken call was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CalleeSeen {
    /// It started another trace.
    NewTrace(TraceId, SpanId),
    /// It is an orphan in this trace.
    Orphan(SpanId),
    /// It has no span in this trace (nor, as far as the source can tell, anywhere).
    Missing,
    /// Nothing tells who was called.
    Unknown,
    /// The call went to a named host that is none of the platform's services (a third-party
    /// API): no span of the callee is expected.
    External,
}

/// A broken call: the callee named, and how it was found.
#[derive(Clone, Debug)]
pub struct Callee {
    /// The service, or the address called when no service could be named.
    pub name: String,
    pub seen: CalleeSeen,
}

/// What a broken call's callee search may look at. The address book and the index of loose
/// starts are built on the first broken call (a run with none never pays for them).
pub struct CalleeSearch<'a> {
    /// Every trace read (the judged ones and the ones no response named).
    pub traces: &'a std::collections::BTreeMap<TraceId, Trace>,
    /// The traces no response named.
    pub unclaimed: &'a [Trace],
    pub expected: &'a [String],
    book: std::cell::OnceCell<AddressBook>,
    loose: std::cell::OnceCell<RootIndex>,
    /// The new traces already named as a call's callee: one is never named by two calls.
    claimed: std::cell::RefCell<std::collections::HashSet<(TraceId, SpanId)>>,
}

impl<'a> CalleeSearch<'a> {
    /// A search over `traces` and `unclaimed`, for a scenario expecting `expected`.
    pub fn new(
        traces: &'a std::collections::BTreeMap<TraceId, Trace>,
        unclaimed: &'a [Trace],
        expected: &'a [String],
    ) -> Self {
        CalleeSearch {
            traces,
            unclaimed,
            expected,
            book: std::cell::OnceCell::new(),
            loose: std::cell::OnceCell::new(),
            claimed: std::cell::RefCell::default(),
        }
    }

    fn book(&self) -> &AddressBook {
        self.book.get_or_init(|| {
            let mut book = AddressBook::default();
            book.learn(self.traces.values());
            book.learn(self.unclaimed);
            book
        })
    }

    fn loose(&self) -> &RootIndex {
        self.loose.get_or_init(|| RootIndex::new(self.unclaimed))
    }

    /// Name the callee of the CLIENT/PRODUCER span `call` of `trace`, which has no
    /// SERVER/CONSUMER child. `present` are the services with a span in the trace,
    /// `orphans` the trace's orphan spans.
    pub fn name(
        &self,
        trace: &Trace,
        call: &Span,
        present: &Services<'_>,
        orphans: &[usize],
    ) -> Callee {
        let caller = call.service_label();
        let wanted = callee_kind(call.kind);
        let target = target_of(call);
        let by_target = call
            .attributes
            .get("peer.service")
            .and_then(|v| v.as_str())
            .map(str::to_owned)
            .or_else(|| {
                target
                    .as_ref()
                    .and_then(|t| self.book().resolve(t))
                    .map(str::to_owned)
            })
            .or_else(|| {
                // `http://orchestration:8080`: an expected service never seen (uninstrumented)
                let label = target.as_ref()?.host.split('.').next()?.to_owned();
                self.expected.iter().find(|s| **s == label).cloned()
            });
        if by_target.is_none() {
            if let Some(address) = target.as_ref().filter(|t| !is_local_or_ip(&t.host)) {
                // a named host that is none of the platform's services: a third party
                return Callee {
                    name: address.to_string(),
                    seen: CalleeSeen::External,
                };
            }
        }
        // A service that listens elsewhere than the call's target is not its callee.
        let plausible = |service: &str| {
            service != caller
                && match (&by_target, &target) {
                    (Some(named), _) => named == service,
                    (None, Some(_)) => !self.book().has_address(service),
                    (None, None) => true,
                }
        };
        let kind_fits = |kind: SpanKind| wanted.is_none_or(|w| w == kind);
        let (from, to) = callee_window(call);
        for &o in orphans {
            let span = &trace.spans[o];
            if (from..=to).contains(&span.start_unix_nano)
                && kind_fits(span.kind)
                && span.service.as_deref().is_some_and(plausible)
            {
                return Callee {
                    name: span.service_label().to_owned(),
                    seen: CalleeSeen::Orphan(span.span_id),
                };
            }
        }
        // a synchronous callee's span also ends within its call (a queue consumer need not)
        let contained = |s: &LooseStart| call.kind == SpanKind::Producer || s.end_unix_nano <= to;
        let synchronous = (call.kind != SpanKind::Producer).then_some(call.end_unix_nano);
        let found = {
            let claimed = self.claimed.borrow();
            self.loose()
                .find(from, to, (call.start_unix_nano, synchronous), |s| {
                    s.trace_id != trace.trace_id
                        && contained(s)
                        && kind_fits(s.kind)
                        && !present.contains(s.service.as_str())
                        && plausible(&s.service)
                        && !claimed.contains(&(s.trace_id, s.span_id))
                })
        };
        if let Some(start) = found {
            self.claimed
                .borrow_mut()
                .insert((start.trace_id, start.span_id));
            return Callee {
                name: start.service.clone(),
                seen: CalleeSeen::NewTrace(start.trace_id, start.span_id),
            };
        }
        if let Some(named) = by_target {
            return Callee {
                name: named,
                seen: CalleeSeen::Missing,
            };
        }
        let missing: Vec<&str> = self
            .expected
            .iter()
            .map(String::as_str)
            .filter(|s| !present.contains(s) && plausible(s))
            .collect();
        let pick = missing
            .iter()
            .find(|s| !self.book().seen(s))
            .or(missing.first());
        if let Some(service) = pick {
            return Callee {
                name: (*service).to_owned(),
                seen: CalleeSeen::Missing,
            };
        }
        Callee {
            name: target
                .map(|t| t.to_string())
                .unwrap_or_else(|| format!("the callee of {:?}", call.name)),
            seen: CalleeSeen::Unknown,
        }
    }
}
