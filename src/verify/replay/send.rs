//! Building and sending one request, and recording what came back.

use std::time::{Duration, Instant};

use http::{HeaderMap, HeaderName, HeaderValue, Method};

use super::{error_reason, returned, Job, MAX_RESPONSE_BODY_BYTES};
use crate::verify::model::{Canaries, Exchange, HttpVersion, Phase};
use crate::verify::scenario::Scenario;

/// Connecting may take at most this long (within the per-request timeout).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The HTTP clients: HTTP/1.1 only, and HTTP/2 with prior knowledge when the target speaks it.
pub(super) struct Clients {
    http1: reqwest::Client,
    http2: Option<reqwest::Client>,
}

impl Clients {
    pub(super) fn new(timeout: Duration, http2: bool) -> Result<Clients, String> {
        let builder = |alpn: &[u8]| {
            Ok::<_, String>(
                reqwest::Client::builder()
                    .tls_backend_preconfigured(tls_config(alpn)?)
                    .timeout(timeout)
                    .connect_timeout(timeout.min(CONNECT_TIMEOUT))
                    .redirect(reqwest::redirect::Policy::none()),
            )
        };
        let built = |b: reqwest::ClientBuilder| b.build().map_err(|e| super::error_reason(&e));
        Ok(Clients {
            http1: built(builder(b"http/1.1")?.http1_only())?,
            http2: if http2 {
                Some(built(builder(b"h2")?.http2_prior_knowledge())?)
            } else {
                None
            },
        })
    }

    fn get(&self, version: HttpVersion) -> Option<&reqwest::Client> {
        match version {
            HttpVersion::Http1 => Some(&self.http1),
            HttpVersion::Http2 => self.http2.as_ref(),
        }
    }
}

/// rustls (ring, Mozilla's roots) offering only `alpn`, so that an `https://` target cannot
/// switch the HTTP/1.1 client to HTTP/2 (reqwest keeps a preconfigured config's ALPN).
fn tls_config(alpn: &[u8]) -> Result<rustls::ClientConfig, String> {
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![alpn.to_vec()];
    Ok(config)
}

/// What every request of a phase shares.
pub(super) struct Shared {
    /// The target without a trailing `/`.
    pub(super) base: String,
    pub(super) scenario: Scenario,
    pub(super) canaries: Canaries,
    pub(super) clients: Clients,
    pub(super) phase: Phase,
    /// The per-request timeout (for messages).
    pub(super) timeout: Duration,
}

/// The target as a base URL (checked, no trailing `/`).
pub(super) fn base_url(target: &str) -> Result<String, String> {
    crate::verify::scenario::check_target(target)?;
    Ok(target.trim_end_matches('/').to_owned())
}

/// The path with `{n}` replaced, and the canaries' query parameters when asked.
fn path_for(template: &str, number: u64, canaries: Option<&Canaries>) -> String {
    let mut path = template.replace("{n}", &number.to_string());
    if let Some(c) = canaries {
        path.push(if path.contains('?') { '&' } else { '?' });
        path.push_str(&format!("email={}&api_key={}", c.email, c.query_value));
    }
    path
}

/// The body, with the canaries' fields added to a JSON object body.
fn body_for(body: Option<&str>, canaries: Option<&Canaries>) -> Option<String> {
    let body = body?;
    let Some(c) = canaries else {
        return Some(body.to_owned());
    };
    match serde_json::from_str::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(mut fields)) => {
            fields.insert("card_number".into(), c.card_number.clone().into());
            fields.insert("email".into(), c.email.clone().into());
            fields.insert("password".into(), c.password.clone().into());
            Some(serde_json::Value::Object(fields).to_string())
        }
        _ => Some(body.to_owned()),
    }
}

/// The request headers: the scenario's, the tenant, the trace context, the canaries.
fn headers_for(
    shared: &Shared,
    job: &Job,
    canaries: Option<&Canaries>,
) -> Result<HeaderMap, String> {
    let spec = &shared.scenario.requests[job.spec];
    let mut headers = HeaderMap::new();
    let name = |n: &str| {
        HeaderName::from_bytes(n.as_bytes()).map_err(|_| format!("invalid header name {n:?}"))
    };
    let value =
        |v: &str| HeaderValue::from_str(v).map_err(|_| format!("invalid header value {v:?}"));
    for (n, v) in &spec.headers {
        headers.append(name(n)?, value(v)?);
    }
    if let Some(tenant) = &spec.tenant {
        headers.insert(name(&shared.scenario.tenant_header)?, value(tenant)?);
    }
    for parent in &job.incoming.traceparent {
        headers.append(
            http::header::HeaderName::from_static("traceparent"),
            value(parent)?,
        );
    }
    if let Some(state) = &job.incoming.tracestate {
        headers.insert(
            http::header::HeaderName::from_static("tracestate"),
            value(state)?,
        );
    }
    if let Some(c) = canaries {
        if !headers.contains_key(http::header::AUTHORIZATION) {
            headers.insert(
                http::header::AUTHORIZATION,
                value(&format!("Bearer {}", c.bearer_token))?,
            );
        }
        let session = format!("session={}", c.cookie);
        let cookie = match headers
            .get(http::header::COOKIE)
            .and_then(|v| v.to_str().ok())
        {
            Some(existing) => format!("{existing}; {session}"),
            None => session,
        };
        headers.insert(http::header::COOKIE, value(&cookie)?);
    }
    Ok(headers)
}

/// Send one request and record the exchange (a failure is recorded, never returned).
pub(super) async fn send(shared: &Shared, job: Job) -> Exchange {
    let spec = &shared.scenario.requests[job.spec];
    let canaries = job.canaries.then_some(&shared.canaries);
    let path = path_for(&spec.path, job.number, canaries);
    let mut exchange = Exchange {
        request: spec.name.clone(),
        number: job.number,
        method: spec.method.clone(),
        path: path.clone(),
        tenant: spec.tenant.clone(),
        phase: shared.phase,
        http_version: job.version,
        incoming: job.incoming.case,
        sent_traceparent: job.incoming.traceparent.clone(),
        sent_trace_id: job.incoming.preserved,
        canaries: job.canaries,
        status: None,
        error: None,
        response_headers: Vec::new(),
        returned: None,
        latency: Duration::ZERO,
    };
    let prepared = (|| {
        let method = Method::from_bytes(spec.method.as_bytes())
            .map_err(|_| format!("invalid method {:?}", spec.method))?;
        let client = shared
            .clients
            .get(job.version)
            .ok_or_else(|| "no HTTP/2 client (the target does not speak HTTP/2)".to_owned())?;
        let headers = headers_for(shared, &job, canaries)?;
        let mut request = client
            .request(method, format!("{}{path}", shared.base))
            .headers(headers);
        if let Some(body) = body_for(spec.body.as_deref(), canaries) {
            request = request.body(body);
        }
        Ok::<_, String>(request)
    })();
    let request = match prepared {
        Ok(request) => request,
        Err(why) => {
            exchange.error = Some(why);
            return exchange;
        }
    };
    let started = Instant::now();
    match request.send().await {
        Err(e) if e.is_timeout() => {
            exchange.error = Some(format!("no answer within {:?} (timed out)", shared.timeout));
        }
        Err(e) => exchange.error = Some(error_reason(&e)),
        Ok(mut response) => {
            exchange.status = Some(response.status().as_u16());
            let custom = shared.scenario.response_header.as_deref();
            exchange.response_headers = returned::relevant_headers(response.headers(), custom);
            exchange.returned = returned::returned_id(response.headers(), custom);
            if let Err(e) = drain(&mut response).await {
                exchange.error = Some(format!("reading the body: {}", error_reason(&e)));
            }
        }
    }
    exchange.latency = started.elapsed();
    exchange
}

/// Read the body and drop it, at most [`MAX_RESPONSE_BODY_BYTES`].
async fn drain(response: &mut reqwest::Response) -> Result<(), reqwest::Error> {
    let mut read = 0usize;
    while let Some(chunk) = response.chunk().await? {
        read += chunk.len();
        if read >= MAX_RESPONSE_BODY_BYTES {
            break;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canaries() -> Canaries {
        super::super::canaries()
    }

    #[test]
    fn the_path_numbers_the_request_and_carries_query_canaries() {
        let c = canaries();
        assert_eq!(path_for("/checkout/{n}", 7, None), "/checkout/7");
        let with = path_for("/checkout/{n}", 7, Some(&c));
        assert_eq!(
            with,
            format!("/checkout/7?email={}&api_key={}", c.email, c.query_value)
        );
        let more = path_for("/s?q=1", 1, Some(&c));
        assert!(more.starts_with("/s?q=1&email="), "{more}");
        assert!(more.parse::<http::uri::PathAndQuery>().is_ok(), "{more}");
    }

    #[test]
    fn a_json_object_body_gets_the_canary_fields() {
        let c = canaries();
        let body = body_for(Some(r#"{"sku": "A1"}"#), Some(&c)).expect("body");
        let value: serde_json::Value = serde_json::from_str(&body).expect("json");
        assert_eq!(value["sku"], "A1");
        assert_eq!(value["card_number"], c.card_number.as_str());
        assert_eq!(value["email"], c.email.as_str());
        assert_eq!(value["password"], c.password.as_str());
        assert_eq!(body_for(Some("plain"), Some(&c)).as_deref(), Some("plain"));
        assert_eq!(body_for(Some("[1]"), Some(&c)).as_deref(), Some("[1]"));
        assert_eq!(
            body_for(Some(r#"{"a":1}"#), None).as_deref(),
            Some(r#"{"a":1}"#)
        );
        assert_eq!(body_for(None, Some(&c)), None);
    }
}
