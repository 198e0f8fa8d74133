//! DNS-rebinding protection for a collector bound to loopback.
//!
//! A page on any web site can make the visitor's browser resolve its own host name to
//! 127.0.0.1 and then read `http://that-name:4318/api/traces/…` with the browser's same-origin
//! rules satisfied: the collector's pages and query API would hand recorded spans to that site.
//! The browser still sends the attacker's name in `Host`, so a collector that listens on a
//! loopback address answers only requests addressed to a loopback name (`localhost`,
//! `*.localhost`, `127.0.0.0/8`, `[::1]`) or to a name the operator allowed
//! (`collect --allowed-host`); others get 403. A collector bound to another address (`0.0.0.0`
//! in a container, a pod IP) was exposed on purpose and is reached under names tracegate cannot
//! know (a Kubernetes Service's DNS name…): it answers every `Host`. A request without a host
//! (HTTP/1.0, a raw client) is not a browser's and is answered.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Which `Host` values the collector answers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum HostPolicy {
    /// Every host (the listener is not on loopback).
    #[default]
    Any,
    /// Loopback names, and these names (lower case, without port).
    Loopback(Vec<String>),
}

impl HostPolicy {
    /// The policy for a listener bound to `addr`, with the operator's extra names.
    pub fn for_listener(addr: SocketAddr, allowed: &[String]) -> HostPolicy {
        if addr.ip().is_loopback() {
            HostPolicy::Loopback(allowed.iter().map(|h| h.to_ascii_lowercase()).collect())
        } else {
            HostPolicy::Any
        }
    }

    /// Whether a request with this `Host` value (`name[:port]`, `[v6]:port`) is answered.
    pub fn allows(&self, host: &str) -> bool {
        let HostPolicy::Loopback(extra) = self else {
            return true;
        };
        let Some(name) = host_name(host) else {
            return false;
        };
        is_loopback_name(&name) || extra.contains(&name)
    }
}

/// The name part of a `Host` value, lower case, without port or IPv6 brackets; `None` when
/// the value is not a host at all.
fn host_name(host: &str) -> Option<String> {
    let host = host.trim();
    let name = if let Some(rest) = host.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        if !(after.is_empty() || after.starts_with(':')) {
            return None;
        }
        inside
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
            Some(_) => return None,
            None => host,
        }
    };
    let name = name.strip_suffix('.').unwrap_or(name);
    (!name.is_empty()).then(|| name.to_ascii_lowercase())
}

fn is_loopback_name(name: &str) -> bool {
    if name == "localhost" || name.ends_with(".localhost") {
        return true;
    }
    name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// axum middleware: 403 for a request whose host the policy does not allow.
pub async fn enforce(State(policy): State<Arc<HostPolicy>>, req: Request, next: Next) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .or_else(|| req.uri().authority().map(|a| a.to_string()));
    match host {
        Some(host) if !policy.allows(&host) => refuse(&host),
        _ => next.run(req).await,
    }
}

fn refuse(host: &str) -> Response {
    let shown: String = host.chars().take(100).collect();
    let body = format!(
        "Host {shown:?} is not allowed: this collector listens on loopback and answers only \
         to localhost and loopback addresses (protection against DNS rebinding); start it with \
         `--allowed-host NAME` to accept another name\n"
    );
    let mut response = (StatusCode::FORBIDDEN, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_listener_answers_loopback_names_only() {
        let policy = HostPolicy::for_listener(
            "127.0.0.1:4318".parse().unwrap(),
            &["Tracegate.Internal".to_string()],
        );
        let cases = [
            (
                "localhost:4318",
                true,
                "the name browsers use for this machine",
            ),
            ("LOCALHOST", true, "host names are case-insensitive"),
            (
                "localhost.:4318",
                true,
                "a fully qualified name may end with a dot",
            ),
            (
                "ui.localhost:4318",
                true,
                "RFC 6761: *.localhost is loopback",
            ),
            ("127.0.0.1:4318", true, "the address itself"),
            ("127.1.2.3", true, "all of 127.0.0.0/8 is loopback"),
            ("[::1]:4318", true, "IPv6 loopback with a port"),
            ("[::1]", true, "IPv6 loopback without a port"),
            (
                "tracegate.internal:4318",
                true,
                "allowed by the operator, any case",
            ),
            (
                "attacker.example:4318",
                false,
                "a rebinding page's own name",
            ),
            ("attacker.example", false, "without a port too"),
            (
                "localhost.attacker.example",
                false,
                "localhost only as the last label",
            ),
            (
                "127.0.0.1.attacker.example",
                false,
                "an address-like prefix is a name",
            ),
            ("10.0.0.5:4318", false, "a non-loopback address"),
            ("[::1]x", false, "junk after the brackets"),
            ("localhost:http", false, "a port that is not a number"),
            ("", false, "an empty Host header"),
        ];
        for (host, allowed, why) in cases {
            assert_eq!(policy.allows(host), allowed, "{host:?}: {why}");
        }
    }

    #[test]
    fn other_listeners_answer_every_host() {
        for addr in ["0.0.0.0:4318", "10.1.2.3:4318", "[::]:4318"] {
            let policy = HostPolicy::for_listener(addr.parse().unwrap(), &[]);
            assert_eq!(policy, HostPolicy::Any, "{addr}");
            assert!(policy.allows("collector.observability.svc:4318"));
        }
        let v6 = HostPolicy::for_listener("[::1]:4318".parse().unwrap(), &[]);
        assert!(
            !v6.allows("attacker.example"),
            "IPv6 loopback is loopback too"
        );
    }
}
