//! Reading one span: is it an unpaired call, a database call, a trace's entry point; and whom
//! does a call name.

use super::{Call, Names};
use crate::propagation::SpanId;
use crate::trace::{Span, SpanKind, Trace};
use crate::verify::criteria::hops::{Address, AddressBook};

/// The parent span ID of the trace's entry point when the trace has no root (it continues
/// an external caller's context): the earliest orphan's parent.
pub(super) fn entry_parent(trace: &Trace) -> Option<SpanId> {
    if !trace.roots.is_empty() {
        return None;
    }
    trace
        .orphans
        .first()
        .and_then(|&o| trace.spans[o].parent_span_id)
}

/// A CLIENT span none of whose children belongs to another service or is a SERVER span.
pub(super) fn is_unpaired(trace: &Trace, index: usize) -> bool {
    let service = &trace.spans[index].service;
    trace.children[index].iter().all(|&c| {
        let child = &trace.spans[c];
        child.service == *service && !matches!(child.kind, SpanKind::Server | SpanKind::Consumer)
    })
}

/// A call to a database (never an instrumented service).
pub(super) fn is_database(span: &Span) -> bool {
    span.attributes.contains_key("db.system") || span.attributes.contains_key("db.system.name")
}

/// Who a CLIENT span says it called.
pub(super) enum Target {
    /// A service with spans in the sample.
    Seen(u32),
    /// A name (`peer.service`, a host's first DNS label) no span in the sample has: an
    /// uninstrumented service, a third party, or one seen only in traces left out.
    Unseen(String),
    /// No attribute names the callee (or only an IP address nobody reported).
    Unnamed,
    /// A host outside the platform (`api.provider.com`): a third party.
    External,
}

/// Whom `call` names, among the services of `names` and the addresses of `book`.
pub(super) fn name_callee(call: &Call, names: &Names, book: &AddressBook) -> Target {
    let by_name = |name: &str| match names.get(name) {
        Some(id) => Target::Seen(id),
        None => Target::Unseen(name.to_owned()),
    };
    if let Some(peer) = &call.peer_service {
        return by_name(peer);
    }
    let Some(address) = &call.target else {
        return Target::Unnamed;
    };
    if address.host == "localhost" || address.host.parse::<std::net::IpAddr>().is_ok() {
        return book.resolve(address).map_or(Target::Unnamed, &by_name);
    }
    // A host name: the service reporting that host, or named by its first DNS label; with
    // the port only when the port alone would not have said it (`api.provider.com:443` is
    // not whichever service alone listens on 443).
    let host_only = Address {
        host: address.host.clone(),
        port: None,
    };
    if let Some(service) = book.resolve(&host_only) {
        return by_name(service);
    }
    let port_only = Address {
        host: String::new(),
        port: address.port,
    };
    let by_port = address.port.and_then(|_| book.resolve(&port_only));
    match book.resolve(address).filter(|s| Some(*s) != by_port) {
        Some(service) => by_name(service),
        None if is_cluster_host(&address.host) => Target::Unseen(
            address
                .host
                .split('.')
                .next()
                .unwrap_or_default()
                .to_owned(),
        ),
        None => Target::External,
    }
}

/// A host name that looks like one of the platform's services: a single label (`pricing`),
/// a Kubernetes service name (`pricing.payments`, `pricing.payments.svc`,
/// `….svc.cluster.local`) or a private zone (`pricing.internal`). A name ending in a public
/// top-level domain (`api.provider.com`, `payments.example.de`) is a third party.
pub(super) fn is_cluster_host(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let Some((_, tld)) = host.rsplit_once('.') else {
        return true;
    };
    if host.split('.').any(|label| label == "svc") {
        return true;
    }
    let country_code = tld.len() == 2 && tld.bytes().all(|b| b.is_ascii_alphabetic());
    !(country_code || PUBLIC_TLDS.contains(&tld))
}

/// Generic top-level domains a third party's API is commonly served under.
const PUBLIC_TLDS: &[&str] = &[
    "com", "net", "org", "io", "dev", "app", "cloud", "ai", "info", "biz", "tech", "online",
    "site", "xyz", "gov", "edu", "int", "mil", "aero", "pro", "services", "software",
];

#[cfg(test)]
mod host_tests {
    use super::is_cluster_host;

    #[test]
    fn cluster_hosts_and_third_parties_are_told_apart() {
        let cases = [
            ("pricing", true, "a bare service name"),
            (
                "pricing.payments",
                true,
                "service.namespace, the short Kubernetes form",
            ),
            ("pricing.payments.svc", true, "Kubernetes service domain"),
            (
                "pricing.payments.svc.cluster.local",
                true,
                "fully qualified cluster name",
            ),
            ("pricing.internal", true, "a private zone"),
            (
                "pricing.local.",
                true,
                "trailing dot of a fully qualified name",
            ),
            ("api.stripe.com", false, "a public .com API"),
            ("hooks.slack.com", false, "a public .com API"),
            ("payments.example.de", false, "a country-code TLD"),
            ("api.provider.io", false, "a public .io API"),
            ("API.PROVIDER.COM", false, "case does not matter"),
        ];
        for (host, cluster, why) in cases {
            assert_eq!(is_cluster_host(host), cluster, "{host}: {why}");
        }
    }
}
