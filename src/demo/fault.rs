//! The demo's switches: which service misbehaves how ([`Fault`], [`Faults`]) and how the
//! export destinations behave ([`Backend`]). Each has a stable kebab-case name (`FromStr`,
//! `as_str`) for the later `tracegate demo --break SERVICE=FAULT --backend …` flags.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

/// The six services of the demo billing platform.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Service {
    /// The public entry point: `POST /checkout/{order}`.
    Ingress,
    /// Authorises the checkout and forwards it.
    Auth,
    /// Prices the order, charges it (with retries) and answers.
    Orchestration,
    /// Quotes the order.
    Pricing,
    /// Charges the order; fails the first attempt of some orders with 503; publishes a
    /// payment event to the queue.
    PaymentGateway,
    /// Consumes payment events from the in-process queue.
    WebhookDispatcher,
}

impl Service {
    /// Every service, in call order.
    pub const ALL: [Service; 6] = [
        Service::Ingress,
        Service::Auth,
        Service::Orchestration,
        Service::Pricing,
        Service::PaymentGateway,
        Service::WebhookDispatcher,
    ];

    /// The `service.name` the service exports under.
    pub fn as_str(self) -> &'static str {
        match self {
            Service::Ingress => "ingress",
            Service::Auth => "auth",
            Service::Orchestration => "orchestration",
            Service::Pricing => "pricing",
            Service::PaymentGateway => "payment-gateway",
            Service::WebhookDispatcher => "webhook-dispatcher",
        }
    }
}

/// A fault a service can be switched into, so an acceptance criterion can be seen failing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Fault {
    /// Drops the incoming context (HTTP headers or message metadata) and starts a new trace.
    NoPropagation,
    /// Removes `traceresponse` and `server-timing` from its responses.
    NoResponseHeader,
    /// Records the card number and e-mail of the request on one of its spans.
    PiiLeak,
    /// Sends retries in a new trace (only orchestration retries: no effect elsewhere).
    NewTraceOnRetry,
    /// Its export configuration routes `acme` to `globex`'s destination and the reverse.
    WrongTenantRoute,
    /// Exports its spans on the request path: each response waits for the destinations.
    SyncExport,
}

impl Fault {
    /// Every fault.
    pub const ALL: [Fault; 6] = [
        Fault::NoPropagation,
        Fault::NoResponseHeader,
        Fault::PiiLeak,
        Fault::NewTraceOnRetry,
        Fault::WrongTenantRoute,
        Fault::SyncExport,
    ];

    /// The kebab-case name (`no-propagation`).
    pub fn as_str(self) -> &'static str {
        match self {
            Fault::NoPropagation => "no-propagation",
            Fault::NoResponseHeader => "no-response-header",
            Fault::PiiLeak => "pii-leak",
            Fault::NewTraceOnRetry => "new-trace-on-retry",
            Fault::WrongTenantRoute => "wrong-tenant-route",
            Fault::SyncExport => "sync-export",
        }
    }
}

/// How every export destination behaves.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Backend {
    /// A tracegate receiver that stores what it gets.
    #[default]
    Healthy,
    /// Nothing listens on the destination's port (connections are refused).
    Down,
    /// A receiver that answers only after [`PlatformOptions::slow_backend_delay`](super::PlatformOptions).
    Slow,
    /// A receiver that always refuses: 503 and 429 in turn, with `Retry-After: 1`.
    Refusing,
}

impl Backend {
    /// Every behaviour.
    pub const ALL: [Backend; 4] = [
        Backend::Healthy,
        Backend::Down,
        Backend::Slow,
        Backend::Refusing,
    ];

    /// The lowercase name (`healthy`).
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Healthy => "healthy",
            Backend::Down => "down",
            Backend::Slow => "slow",
            Backend::Refusing => "refusing",
        }
    }
}

/// A name that is not one of the known ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{given}`: expected one of {expected}")]
pub struct UnknownName {
    what: &'static str,
    given: String,
    expected: String,
}

fn parse_named<T: Copy>(
    what: &'static str,
    given: &str,
    all: &[T],
    name: fn(T) -> &'static str,
) -> Result<T, UnknownName> {
    all.iter()
        .copied()
        .find(|v| name(*v) == given.trim())
        .ok_or_else(|| UnknownName {
            what,
            given: given.to_owned(),
            expected: all.iter().map(|v| name(*v)).collect::<Vec<_>>().join(", "),
        })
}

macro_rules! named {
    ($type:ty, $what:literal) => {
        impl FromStr for $type {
            type Err = UnknownName;
            fn from_str(s: &str) -> Result<Self, UnknownName> {
                parse_named($what, s, &<$type>::ALL, <$type>::as_str)
            }
        }
        impl fmt::Display for $type {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

named!(Service, "service");
named!(Fault, "fault");
named!(Backend, "backend");

/// Which faults are switched on, per service. Empty by default: a healthy platform.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Faults {
    on: BTreeSet<(Service, Fault)>,
}

impl Faults {
    /// No fault.
    pub fn none() -> Self {
        Faults::default()
    }

    /// These faults plus `fault` on `service`.
    pub fn with(mut self, service: Service, fault: Fault) -> Self {
        self.on.insert((service, fault));
        self
    }

    /// Switch `fault` on for `service`.
    pub fn insert(&mut self, service: Service, fault: Fault) {
        self.on.insert((service, fault));
    }

    /// Whether `service` has `fault`.
    pub fn has(&self, service: Service, fault: Fault) -> bool {
        self.on.contains(&(service, fault))
    }

    /// Every (service, fault) switched on.
    pub fn iter(&self) -> impl Iterator<Item = (Service, Fault)> + '_ {
        self.on.iter().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_list_the_choices() {
        for fault in Fault::ALL {
            assert_eq!(fault.as_str().parse::<Fault>(), Ok(fault));
        }
        for service in Service::ALL {
            assert_eq!(service.as_str().parse::<Service>(), Ok(service));
        }
        for backend in Backend::ALL {
            assert_eq!(backend.as_str().parse::<Backend>(), Ok(backend));
        }
        let error = "pii".parse::<Fault>().unwrap_err().to_string();
        assert!(error.contains("unknown fault `pii`"), "{error}");
        assert!(error.contains("pii-leak"), "{error}");
    }
}
