//! Where the service may send its calls: loopback only, unless the operator allows remote
//! destinations. Checked twice: every URL of a request before the first call (a clear 403),
//! and again by the HTTP client's resolver at connection time (a name that resolved to
//! loopback for the check and to a remote address a moment later is still refused).

use std::net::{IpAddr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::Url;

/// Why a destination URL is not called.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// Not an absolute `http://` or `https://` URL with a host.
    #[error("{url:?} is not an http:// or https:// URL with a host")]
    NotHttp {
        /// The URL as given.
        url: String,
    },
    /// The host is, or resolves to, an address outside loopback.
    #[error(
        "{url} is not a loopback destination ({host} is {addr}); \
         start the service with --allow-remote to call other hosts"
    )]
    NotLoopback {
        /// The URL as given.
        url: String,
        /// Its host.
        host: String,
        /// The first non-loopback address it names or resolves to.
        addr: IpAddr,
    },
    /// The host name did not resolve.
    #[error("{url}: cannot resolve {host}: {reason}")]
    Unresolved {
        /// The URL as given.
        url: String,
        /// Its host.
        host: String,
        /// The resolver's error.
        reason: String,
    },
}

impl Refusal {
    /// Whether the URL itself is unusable (400), rather than a forbidden destination (403).
    pub fn is_bad_url(&self) -> bool {
        matches!(self, Refusal::NotHttp { .. })
    }
}

/// `127.0.0.0/8`, `::1`, and `::ffff:127.x.y.z`.
pub fn is_loopback(addr: IpAddr) -> bool {
    match addr {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// Whether the request's `Host` header names a loopback address or `localhost` (any port).
pub fn loopback_host_header(headers: &axum::http::HeaderMap) -> bool {
    let Some(host) = headers
        .get(axum::http::header::HOST)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Ok(authority) = host.parse::<axum::http::uri::Authority>() else {
        return false;
    };
    let name = authority.host();
    let bare = name.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(ip) => is_loopback(ip),
        Err(_) => bare.eq_ignore_ascii_case("localhost"),
    }
}

/// The first address of `addrs` outside loopback, if any (a name is loopback only when every
/// address it resolves to is).
pub fn first_remote(addrs: &[IpAddr]) -> Option<IpAddr> {
    addrs.iter().copied().find(|&addr| !is_loopback(addr))
}

/// Check one destination URL. With `allow_remote`, only its form is checked.
pub async fn check(url: &str, allow_remote: bool) -> Result<(), Refusal> {
    let not_http = || Refusal::NotHttp {
        url: url.to_owned(),
    };
    let parsed = Url::parse(url).map_err(|_| not_http())?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(not_http());
    }
    let host = parsed
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(not_http)?;
    if allow_remote {
        return Ok(());
    }
    // The URL parser has normalised IP literals (`2130706433` is `127.0.0.1`); IPv6 ones
    // keep their brackets.
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<IpAddr> = match literal.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => {
            let port = parsed.port_or_known_default().unwrap_or(80);
            lookup(host, port)
                .await
                .map_err(|reason| Refusal::Unresolved {
                    url: url.to_owned(),
                    host: host.to_owned(),
                    reason,
                })?
                .into_iter()
                .map(|a| a.ip())
                .collect()
        }
    };
    match first_remote(&addrs) {
        Some(addr) => Err(Refusal::NotLoopback {
            url: url.to_owned(),
            host: host.to_string(),
            addr,
        }),
        None => Ok(()),
    }
}

async fn lookup(name: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((name, port))
        .await
        .map_err(|e| e.to_string())?
        .collect();
    if addrs.is_empty() {
        return Err("no address".to_owned());
    }
    Ok(addrs)
}

/// The HTTP client's resolver when remote destinations are not allowed: a name resolving to
/// any non-loopback address fails the connection.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoopbackResolver;

impl Resolve for LoopbackResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let name = name.as_str().to_owned();
        Box::pin(async move {
            let addrs = lookup(&name, 0).await?;
            let ips: Vec<IpAddr> = addrs.iter().map(SocketAddr::ip).collect();
            if let Some(addr) = first_remote(&ips) {
                return Err(format!("{name} resolves to {addr}, not a loopback address").into());
            }
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_addresses() {
        for addr in ["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"] {
            assert!(is_loopback(addr.parse().unwrap()), "{addr}");
        }
        for addr in [
            "0.0.0.0",
            "10.0.0.1",
            "192.0.2.1",
            "::",
            "2001:db8::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(!is_loopback(addr.parse().unwrap()), "{addr}");
        }
    }

    /// A name is loopback only if every address it resolves to is: one remote address among
    /// loopback ones (a split-horizon or rebinding answer) refuses it.
    #[test]
    fn a_name_with_any_remote_address_is_remote() {
        let ips =
            |list: &[&str]| -> Vec<IpAddr> { list.iter().map(|a| a.parse().unwrap()).collect() };
        assert_eq!(first_remote(&ips(&["127.0.0.1", "::1"])), None);
        assert_eq!(
            first_remote(&ips(&["127.0.0.1", "203.0.113.7"])),
            Some("203.0.113.7".parse().unwrap())
        );
        assert_eq!(
            first_remote(&ips(&["198.51.100.1"])),
            Some("198.51.100.1".parse().unwrap())
        );
    }

    #[test]
    fn host_headers_naming_loopback() {
        let with_host = |host: &str| {
            let mut headers = axum::http::HeaderMap::new();
            headers.insert(axum::http::header::HOST, host.parse().unwrap());
            loopback_host_header(&headers)
        };
        for ok in [
            "127.0.0.1:5000",
            "127.0.0.1",
            "localhost:5000",
            "LOCALHOST",
            "[::1]:80",
        ] {
            assert!(with_host(ok), "{ok}");
        }
        for bad in [
            "evil.example:5000",
            "10.0.0.1:5000",
            "localhost.evil.example",
            "[2001:db8::1]",
        ] {
            assert!(!with_host(bad), "{bad}");
        }
        assert!(
            !loopback_host_header(&axum::http::HeaderMap::new()),
            "no Host"
        );
    }

    #[tokio::test]
    async fn urls_are_checked_by_form_and_address() {
        for ok in [
            "http://127.0.0.1:5/x",
            "http://[::1]:5/",
            "http://localhost:5/",
            "https://127.0.0.1/",
        ] {
            assert!(check(ok, false).await.is_ok(), "{ok}");
        }
        for remote in [
            "http://192.0.2.1/",
            "http://[2001:db8::1]/",
            "http://0.0.0.0/",
        ] {
            let err = check(remote, false).await.unwrap_err();
            assert!(
                matches!(err, Refusal::NotLoopback { .. }),
                "{remote}: {err}"
            );
            assert!(err.to_string().contains("--allow-remote"), "{err}");
            assert!(
                check(remote, true).await.is_ok(),
                "{remote} with --allow-remote"
            );
        }
        for bad in ["ftp://127.0.0.1/", "/relative", "", "http://"] {
            let err = check(bad, true).await.unwrap_err();
            assert!(err.is_bad_url(), "{bad}: {err}");
        }
    }
}
