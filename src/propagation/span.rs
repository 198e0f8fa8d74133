//! Spans with a closed schema (principle 3: exclusion by construction).
//!
//! A [`SpanRecord`] holds exactly: trace ID, span ID, parent span ID, service name, operation
//! name, kind, start and end time (and so duration), status (ok/error + a short static code),
//! the HTTP response status code, `http.request.resend_count` for retries, and an opaque
//! `tenant.id`. There is no API to attach anything else: no attributes map, no events, no
//! payloads, no headers. Operation names are built from a method and a *route template*
//! (`GET /checkout/{id}`), never from a raw path or query string.
//!
//! Finished spans go to a [`SpanSink`] (the exporter, an in-memory sink for tests, or nothing)
//! through a [`Telemetry`] handle that also carries the service name.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use http::Method;

use super::context::{Attempt, TraceContext};
use super::ids::{SpanId, TraceId};

/// What a span represents (OpenTelemetry span kinds).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SpanKind {
    /// Handling an incoming request.
    Server,
    /// An outgoing request.
    Client,
    /// Work inside the service.
    Internal,
    /// Publishing a message for an asynchronous hop.
    Producer,
    /// Processing a message from an asynchronous hop.
    Consumer,
}

/// The outcome of a span: ok, or an error with a short, static code (`"http_500"`,
/// `"timeout"`, `"panic"`…). The code is `&'static str` on purpose: a runtime string (an error
/// message that may quote input) cannot be recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpanStatus {
    /// The operation succeeded.
    Ok,
    /// The operation failed; the code names the kind of failure.
    Error(&'static str),
}

impl SpanStatus {
    /// The status for an HTTP response code, from the point of view of `kind`: 5xx is an
    /// error everywhere; 4xx is an error for clients only (OpenTelemetry HTTP conventions).
    pub fn from_http(kind: SpanKind, code: u16) -> Self {
        match code {
            500..=599 => SpanStatus::Error(http_error_code(code)),
            400..=499 if kind == SpanKind::Client => SpanStatus::Error(http_error_code(code)),
            _ => SpanStatus::Ok,
        }
    }

    /// The error code, if this is an error.
    pub fn error_code(&self) -> Option<&'static str> {
        match self {
            SpanStatus::Ok => None,
            SpanStatus::Error(code) => Some(code),
        }
    }
}

fn http_error_code(code: u16) -> &'static str {
    match code {
        400 => "http_400",
        401 => "http_401",
        403 => "http_403",
        404 => "http_404",
        408 => "http_408",
        409 => "http_409",
        429 => "http_429",
        500 => "http_500",
        502 => "http_502",
        503 => "http_503",
        504 => "http_504",
        0..=499 => "http_4xx",
        _ => "http_5xx",
    }
}

/// A span's operation name: an HTTP method plus a route template (`GET /checkout/{id}`), a
/// method alone when no template is known, or a static name for non-HTTP work.
///
/// Build it from a template, never from the request's raw path: IDs, emails or tokens in paths
/// and query strings must not reach a span. [`OperationName::http`] cuts anything after `?` or
/// `#` as a second line of defence.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct OperationName(Arc<str>);

impl OperationName {
    /// `METHOD template`, e.g. `GET /checkout/{id}`. The template is cut at `?`/`#`.
    pub fn http(method: &Method, template: &str) -> Self {
        let template = template.split(['?', '#']).next().unwrap_or_default().trim();
        if template.is_empty() {
            return Self::method(method);
        }
        OperationName(format!("{} {template}", method_name(method)).into())
    }

    /// The method alone (`GET`), for a request that matched no known route.
    pub fn method(method: &Method) -> Self {
        OperationName(Arc::from(method_name(method)))
    }

    /// A static name for non-HTTP work (`publish invoices`, `rebuild index`).
    pub fn fixed(name: &'static str) -> Self {
        OperationName(Arc::from(name))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The method as recorded: the standard ones by name, any other (an arbitrary token chosen by
/// the client) as `_OTHER`, as the OpenTelemetry HTTP conventions do.
pub(crate) fn method_name(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::CONNECT => "CONNECT",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::PATCH => "PATCH",
        _ => "_OTHER",
    }
}

impl fmt::Display for OperationName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for OperationName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

/// An opaque tenant identifier, used for routing only (`tenant.id`). Accepted only when it is
/// 1–64 characters of `[A-Za-z0-9._:-]`; anything else (a token, an email pasted into the
/// header) is not recorded.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TenantId(Arc<str>);

/// Longest accepted tenant ID.
pub const MAX_TENANT_LEN: usize = 64;

impl TenantId {
    /// Validate and wrap a tenant ID.
    pub fn new(value: &str) -> Option<Self> {
        let ok = !value.is_empty()
            && value.len() <= MAX_TENANT_LEN
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
        ok.then(|| TenantId(Arc::from(value)))
    }

    /// From a header value's bytes (see [`TenantId::new`]).
    pub fn from_bytes(value: &[u8]) -> Option<Self> {
        std::str::from_utf8(value).ok().and_then(Self::new)
    }

    /// The ID.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A finished span. Read-only; the only way to make one is [`Span::end`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpanRecord {
    trace_id: TraceId,
    span_id: SpanId,
    parent_span_id: Option<SpanId>,
    service: Arc<str>,
    operation: OperationName,
    kind: SpanKind,
    start: SystemTime,
    end: SystemTime,
    status: SpanStatus,
    http_status: Option<u16>,
    resend_count: Option<u32>,
    tenant: Option<TenantId>,
}

impl SpanRecord {
    /// The trace ID.
    pub fn trace_id(&self) -> TraceId {
        self.trace_id
    }
    /// This span's ID.
    pub fn span_id(&self) -> SpanId {
        self.span_id
    }
    /// The parent span's ID (`None` for a root).
    pub fn parent_span_id(&self) -> Option<SpanId> {
        self.parent_span_id
    }
    /// The service that recorded the span (`service.name`).
    pub fn service(&self) -> &str {
        &self.service
    }
    /// The operation name.
    pub fn operation(&self) -> &OperationName {
        &self.operation
    }
    /// The span kind.
    pub fn kind(&self) -> SpanKind {
        self.kind
    }
    /// Start time (wall clock).
    pub fn start(&self) -> SystemTime {
        self.start
    }
    /// End time (wall clock; start + monotonic duration).
    pub fn end(&self) -> SystemTime {
        self.end
    }
    /// Duration (measured on the monotonic clock).
    pub fn duration(&self) -> Duration {
        self.end.duration_since(self.start).unwrap_or_default()
    }
    /// Ok or error with a short code.
    pub fn status(&self) -> SpanStatus {
        self.status
    }
    /// `http.response.status_code`, when an HTTP response was received or sent.
    pub fn http_status(&self) -> Option<u16> {
        self.http_status
    }
    /// `http.request.resend_count`: set on retry attempts after the first.
    pub fn resend_count(&self) -> Option<u32> {
        self.resend_count
    }
    /// `tenant.id`, when known.
    pub fn tenant(&self) -> Option<&TenantId> {
        self.tenant.as_ref()
    }
}

/// A span in progress. Dropping it without calling [`Span::end`] records nothing.
#[derive(Debug)]
pub struct Span {
    record: SpanRecord,
    started: Instant,
    sink: Option<Arc<dyn SpanSink>>,
}

impl Span {
    /// Set the HTTP response status code (and derive the status from it).
    pub fn set_http_status(&mut self, code: u16) {
        self.record.http_status = Some(code);
        self.record.status = SpanStatus::from_http(self.record.kind, code);
    }

    /// Set the status explicitly (overrides the one derived from the HTTP code).
    pub fn set_status(&mut self, status: SpanStatus) {
        self.record.status = status;
    }

    /// Set `http.request.resend_count` (use [`Telemetry::start_attempt`] for retries).
    pub fn set_resend_count(&mut self, count: Option<u32>) {
        self.record.resend_count = count;
    }

    /// Set the tenant.
    pub fn set_tenant(&mut self, tenant: Option<TenantId>) {
        self.record.tenant = tenant;
    }

    /// The trace ID of the span.
    pub fn trace_id(&self) -> TraceId {
        self.record.trace_id
    }

    /// The span's ID.
    pub fn span_id(&self) -> SpanId {
        self.record.span_id
    }

    /// Time elapsed since the span started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// End the span and hand it to the sink. Never blocks: the sink only enqueues.
    pub fn end(self) -> SpanRecord {
        let mut record = self.record;
        record.end = record.start + self.started.elapsed();
        if let Some(sink) = self.sink {
            sink.record(record.clone());
        }
        record
    }

    /// End the span and hand it to the sink without returning a copy of the record (the
    /// request path's version of [`Span::end`]: no clone of the record).
    pub fn finish(self) {
        if let Some(sink) = self.sink {
            let mut record = self.record;
            record.end = record.start + self.started.elapsed();
            sink.record(record);
        }
    }
}

/// Where finished spans go. Implementations must not block (enqueue and return).
pub trait SpanSink: Send + Sync + fmt::Debug {
    /// Take one finished span.
    fn record(&self, span: SpanRecord);
}

/// A sink that keeps spans in memory (tests, examples, local tools).
#[derive(Debug, Default)]
pub struct MemorySink {
    spans: Mutex<Vec<SpanRecord>>,
}

impl MemorySink {
    /// An empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    /// The spans recorded so far.
    pub fn spans(&self) -> Vec<SpanRecord> {
        match self.spans.lock() {
            Ok(spans) => spans.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

impl SpanSink for MemorySink {
    fn record(&self, span: SpanRecord) {
        match self.spans.lock() {
            Ok(mut spans) => spans.push(span),
            Err(poisoned) => poisoned.into_inner().push(span),
        }
    }
}

/// The handle a service holds: its name and where its spans go. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Telemetry {
    service: Arc<str>,
    sink: Option<Arc<dyn SpanSink>>,
}

impl Telemetry {
    /// Spans for `service` go to `sink`.
    pub fn new(service: &str, sink: Arc<dyn SpanSink>) -> Self {
        Telemetry {
            service: Arc::from(service),
            sink: Some(sink),
        }
    }

    /// Propagation only: contexts are still generated, preserved and injected, but spans are
    /// not recorded anywhere.
    pub fn disabled(service: &str) -> Self {
        Telemetry {
            service: Arc::from(service),
            sink: None,
        }
    }

    /// The service name (`service.name`).
    pub fn service(&self) -> &str {
        &self.service
    }

    /// Whether spans are recorded.
    pub fn is_enabled(&self) -> bool {
        self.sink.is_some()
    }

    /// Start a span for `context` (its IDs become the span's IDs).
    pub fn start(&self, context: &TraceContext, kind: SpanKind, operation: OperationName) -> Span {
        Span {
            record: SpanRecord {
                trace_id: context.trace_id,
                span_id: context.span_id,
                parent_span_id: context.parent_span_id,
                service: Arc::clone(&self.service),
                operation,
                kind,
                start: SystemTime::now(),
                end: SystemTime::UNIX_EPOCH,
                status: SpanStatus::Ok,
                http_status: None,
                resend_count: None,
                tenant: None,
            },
            started: Instant::now(),
            sink: self.sink.clone(),
        }
    }

    /// Start a client span for a retry attempt: `http.request.resend_count` is set on
    /// attempts after the first.
    pub fn start_attempt(&self, attempt: &Attempt, operation: OperationName) -> Span {
        let mut span = self.start(&attempt.context, SpanKind::Client, operation);
        span.set_resend_count(attempt.resend_count());
        span
    }
}

/// The current request's span context, tenant and telemetry handle: what a handler needs to
/// make outgoing calls or publish messages in the same trace. The server layer puts one in the
/// request extensions (`Extension<Current>` in axum).
#[derive(Clone, Debug)]
pub struct Current {
    /// The current span's context (outgoing calls become its children).
    pub context: TraceContext,
    /// The request's tenant, carried onto child spans for routing.
    pub tenant: Option<TenantId>,
    /// Where spans go.
    pub telemetry: Telemetry,
    /// When set, outgoing HTTP calls made with the traced client carry the tenant in this
    /// header, so the next service records (and routes) its spans under the same tenant. Set by
    /// `TraceLayer::forward_tenant`.
    pub tenant_header: Option<http::HeaderName>,
}

impl Current {
    /// Bundle a context, a tenant and a telemetry handle.
    pub fn new(telemetry: Telemetry, context: TraceContext, tenant: Option<TenantId>) -> Self {
        Current {
            context,
            tenant,
            telemetry,
            tenant_header: None,
        }
    }

    /// Forward the tenant on outgoing HTTP calls in header `name`.
    pub fn with_tenant_header(mut self, name: http::HeaderName) -> Self {
        self.tenant_header = Some(name);
        self
    }

    /// Write the tenant header into outgoing request headers, when forwarding is on.
    pub fn inject_tenant(&self, headers: &mut http::HeaderMap) {
        if let (Some(name), Some(tenant)) = (&self.tenant_header, &self.tenant) {
            if let Ok(value) = http::HeaderValue::from_str(tenant.as_str()) {
                headers.insert(name.clone(), value);
            }
        }
    }

    /// Start a child span of the current one (same trace, new span ID, same tenant). Returns
    /// the child's context (to inject into the outgoing call) and the span.
    pub fn child_span(&self, kind: SpanKind, operation: OperationName) -> (TraceContext, Span) {
        let context = self.context.child();
        let mut span = self.telemetry.start(&context, kind, operation);
        span.set_tenant(self.tenant.clone());
        (context, span)
    }

    /// Start the client span of retry attempt `number` (0 = first try): a new child span per
    /// attempt, same trace, `http.request.resend_count` after the first.
    pub fn attempt_span(&self, number: u32, operation: OperationName) -> (TraceContext, Span) {
        let attempt = self.context.retry_attempt(number);
        let mut span = self.telemetry.start_attempt(&attempt, operation);
        span.set_tenant(self.tenant.clone());
        (attempt.context, span)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_names_never_carry_query_or_fragment() {
        let name = OperationName::http(&Method::GET, "/checkout/{id}?email=a@b.c");
        assert_eq!(name.as_str(), "GET /checkout/{id}");
        assert_eq!(OperationName::http(&Method::POST, "?x=1").as_str(), "POST");
        assert_eq!(OperationName::method(&Method::DELETE).as_str(), "DELETE");
        let custom = Method::from_bytes(b"JANE-AT-EXAMPLE").unwrap();
        assert_eq!(OperationName::http(&custom, "/x").as_str(), "_OTHER /x");
        assert_eq!(OperationName::method(&custom).as_str(), "_OTHER");
    }

    #[test]
    fn tenant_ids_are_short_and_opaque() {
        assert_eq!(TenantId::new("acme-eu.1").unwrap().as_str(), "acme-eu.1");
        for bad in ["", "a b", "Bearer abc", "x@y.z", &"a".repeat(65), "é"] {
            assert!(TenantId::new(bad).is_none(), "{bad:?} accepted");
        }
        assert!(TenantId::from_bytes(b"\xff").is_none());
    }

    #[test]
    fn status_follows_http_conventions() {
        assert_eq!(
            SpanStatus::from_http(SpanKind::Server, 404),
            SpanStatus::Ok,
            "4xx is the client's fault"
        );
        assert_eq!(
            SpanStatus::from_http(SpanKind::Client, 404),
            SpanStatus::Error("http_404")
        );
        assert_eq!(
            SpanStatus::from_http(SpanKind::Server, 503).error_code(),
            Some("http_503")
        );
        assert_eq!(
            SpanStatus::from_http(SpanKind::Server, 599),
            SpanStatus::Error("http_5xx")
        );
    }

    #[test]
    fn span_records_exactly_the_closed_schema() {
        let sink = Arc::new(MemorySink::new());
        let telemetry = Telemetry::new("checkout", sink.clone());
        let root = TraceContext::new_root();
        let attempt = root.retry_attempt(2);
        let mut span = telemetry.start_attempt(&attempt, OperationName::fixed("POST /charge"));
        span.set_http_status(503);
        span.set_tenant(TenantId::new("acme"));
        std::thread::sleep(Duration::from_millis(2));
        let ended = span.end();
        let spans = sink.spans();
        assert_eq!(spans, vec![ended.clone()]);
        assert_eq!(ended.trace_id(), root.trace_id);
        assert_eq!(ended.parent_span_id(), Some(root.span_id));
        assert_eq!(ended.span_id(), attempt.context.span_id);
        assert_eq!(ended.service(), "checkout");
        assert_eq!(ended.kind(), SpanKind::Client);
        assert_eq!(ended.resend_count(), Some(2));
        assert_eq!(ended.http_status(), Some(503));
        assert_eq!(ended.status(), SpanStatus::Error("http_503"));
        assert_eq!(ended.tenant().map(TenantId::as_str), Some("acme"));
        assert!(ended.duration() >= Duration::from_millis(2));
        assert_eq!(ended.end(), ended.start() + ended.duration());
    }

    #[test]
    fn disabled_telemetry_records_nothing_but_still_ends() {
        let telemetry = Telemetry::disabled("svc");
        assert!(!telemetry.is_enabled());
        let span = telemetry.start(
            &TraceContext::new_root(),
            SpanKind::Internal,
            OperationName::fixed("work"),
        );
        assert_eq!(span.end().status(), SpanStatus::Ok);
    }
}
