//! The server side: a tower [`Layer`] for axum and plain hyper services.
//!
//! Per request it generates or preserves the trace context (principle 1), opens a server span,
//! puts the span's [`TraceContext`] and a [`Current`] (context, tenant, telemetry) into the
//! request extensions
//! for handlers and outgoing clients, and on every response — including handler errors turned
//! into responses and panics caught by the layer (answered with `500`) — sets `traceresponse`
//! and `server-timing`, records the status code and status, and ends the span.
//!
//! Recorded from the request: the route template (never the raw path or query), and the
//! tenant from a configurable header (default `x-tenant-id`). Nothing else.
//!
//! ```no_run
//! # #[cfg(feature = "cli")] {
//! use axum::{extract::MatchedPath, routing::get, Router};
//! use tracegate::propagation::{server::TraceLayer, Telemetry};
//!
//! let telemetry = Telemetry::disabled("checkout");
//! let app: Router = Router::new()
//!     .route("/checkout/{id}", get(|| async { "ok" }))
//!     // `Router::layer` runs after routing: the route template is known.
//!     .layer(TraceLayer::new(telemetry).route_from(|ext| ext.get::<MatchedPath>().map(MatchedPath::as_str)));
//! # }
//! ```

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::hash::{BuildHasherDefault, Hasher};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::{HeaderMap, HeaderName, HeaderValue};
use http::{Extensions, Method, Request, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use tower::{Layer, Service};

use super::context::{extract, TraceContext};
use super::span::{Current, OperationName, Span, SpanKind, SpanStatus, Telemetry, TenantId};
use super::traceparent::{format_traceparent, TRACEPARENT_LEN};

/// Default tenant header.
pub const DEFAULT_TENANT_HEADER: &str = "x-tenant-id";

type RouteHook = dyn for<'a> Fn(&'a Extensions) -> Option<&'a str> + Send + Sync;

struct Config {
    telemetry: Telemetry,
    tenant_header: HeaderName,
    forward_tenant: bool,
    templates: Vec<RouteTemplate>,
    hook: Option<Arc<RouteHook>>,
}

/// The tracing layer. Cheap to clone.
#[derive(Clone)]
pub struct TraceLayer {
    config: Arc<Config>,
}

impl std::fmt::Debug for TraceLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TraceLayer")
            .field("service", &self.config.telemetry.service())
            .field("tenant_header", &self.config.tenant_header)
            .finish()
    }
}

impl TraceLayer {
    /// A layer recording server spans through `telemetry`.
    pub fn new(telemetry: Telemetry) -> Self {
        TraceLayer {
            config: Arc::new(Config {
                telemetry,
                tenant_header: HeaderName::from_static(DEFAULT_TENANT_HEADER),
                forward_tenant: false,
                templates: Vec::new(),
                hook: None,
            }),
        }
    }

    fn edit(mut self, f: impl FnOnce(&mut Config)) -> Self {
        match Arc::get_mut(&mut self.config) {
            Some(config) => f(config),
            None => {
                let old = &self.config;
                let mut config = Config {
                    telemetry: old.telemetry.clone(),
                    tenant_header: old.tenant_header.clone(),
                    forward_tenant: old.forward_tenant,
                    templates: old.templates.clone(),
                    hook: old.hook.clone(),
                };
                f(&mut config);
                self.config = Arc::new(config);
            }
        }
        self
    }

    /// Read the tenant from this request header instead of `x-tenant-id`.
    pub fn tenant_header(self, name: HeaderName) -> Self {
        self.edit(|c| c.tenant_header = name)
    }

    /// Have the traced client forward the tenant to downstream services in the same header
    /// (off by default), so their spans are routed to the same tenant's destinations.
    pub fn forward_tenant(self) -> Self {
        self.edit(|c| c.forward_tenant = true)
    }

    /// Take the route template from the request extensions — for axum:
    /// `.route_from(|ext| ext.get::<MatchedPath>().map(MatchedPath::as_str))`.
    pub fn route_from<F>(self, hook: F) -> Self
    where
        F: for<'a> Fn(&'a Extensions) -> Option<&'a str> + Send + Sync + 'static,
    {
        self.edit(|c| c.hook = Some(Arc::new(hook)))
    }

    /// Route templates the service serves (`/checkout/{id}`, `/files/{*path}`), matched
    /// against the request path when the hook gives none (plain hyper services). A request
    /// matching no template is named by its method alone.
    pub fn routes<'t>(self, templates: impl IntoIterator<Item = &'t str>) -> Self {
        let parsed: Vec<RouteTemplate> = templates.into_iter().map(RouteTemplate::new).collect();
        self.edit(|c| c.templates.extend(parsed))
    }

    fn operation<B>(&self, request: &Request<B>) -> OperationName {
        let config = &self.config;
        if let Some(template) = config.hook.as_ref().and_then(|h| h(request.extensions())) {
            return cached_name(request.method(), template);
        }
        match best_match(&config.templates, request.uri().path()) {
            Some(template) => cached_name(request.method(), &template.text),
            None => cached_name(request.method(), ""),
        }
    }
}

impl<S> Layer<S> for TraceLayer {
    type Service = TraceService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TraceService {
            inner,
            layer: self.clone(),
        }
    }
}

/// Most templates remembered per thread (routes are few; a misused hook must not grow memory).
const NAME_CACHE_LIMIT: usize = 4096;

/// Operation names per template, then per method.
type NameCache = HashMap<Box<str>, Vec<(Method, OperationName)>, BuildHasherDefault<Fnv>>;

/// FNV-1a: the cache's keys are a service's own route templates (not attacker-chosen: unknown
/// paths are never keys), short, and hashed on every request — SipHash costs more than the
/// rest of the lookup.
#[derive(Default)]
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut hash = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = hash;
    }
}

thread_local! {
    /// Operation names already built, so a request does not format and allocate one.
    static NAMES: RefCell<NameCache> = RefCell::new(NameCache::default());
}

fn cached_name(method: &Method, template: &str) -> OperationName {
    let make = || {
        if template.is_empty() {
            OperationName::method(method)
        } else {
            OperationName::http(method, template)
        }
    };
    if super::span::method_name(method) == "_OTHER" {
        // Arbitrary client-chosen methods are not cached (they would grow the cache).
        return make();
    }
    NAMES.with(|names| {
        let Ok(mut names) = names.try_borrow_mut() else {
            return make();
        };
        if let Some(found) = names
            .get(template)
            .and_then(|entries| entries.iter().find(|(m, _)| m == method))
        {
            return found.1.clone();
        }
        let name = make();
        if names.len() < NAME_CACHE_LIMIT {
            names
                .entry(Box::from(template))
                .or_default()
                .push((method.clone(), name.clone()));
        }
        name
    })
}

const TRACERESPONSE_HEADER: HeaderName = HeaderName::from_static(super::TRACERESPONSE);
const SERVER_TIMING_HEADER: HeaderName = HeaderName::from_static(super::SERVER_TIMING);
const TIMING_PREFIX: &[u8] = b"trace;desc=";

/// `traceresponse` and `server-timing` — the same values as
/// [`TraceContext::set_response_headers`], formatted without intermediate strings.
fn set_trace_headers(context: &TraceContext, headers: &mut HeaderMap) {
    let traceparent = format_traceparent(context.trace_id, context.span_id, context.flags);
    let mut timing = [0u8; TIMING_PREFIX.len() + TRACEPARENT_LEN];
    timing[..TIMING_PREFIX.len()].copy_from_slice(TIMING_PREFIX);
    timing[TIMING_PREFIX.len()..].copy_from_slice(&traceparent);
    if let (Ok(response), Ok(timing)) = (
        HeaderValue::from_bytes(&traceparent),
        HeaderValue::from_bytes(&timing),
    ) {
        headers.insert(TRACERESPONSE_HEADER, response);
        headers.append(SERVER_TIMING_HEADER, timing);
    }
}

/// A route template split into segments.
#[derive(Clone, Debug)]
struct RouteTemplate {
    text: String,
    segments: Vec<Segment>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param,
    Rest,
}

impl RouteTemplate {
    fn new(text: &str) -> Self {
        let segments = split_path(text)
            .map(|s| {
                if s.starts_with("{*") || s == "*" || s.starts_with('*') {
                    Segment::Rest
                } else if (s.starts_with('{') && s.ends_with('}')) || s.starts_with(':') {
                    Segment::Param
                } else {
                    Segment::Literal(s.to_owned())
                }
            })
            .collect();
        RouteTemplate {
            text: text.to_owned(),
            segments,
        }
    }

    /// The number of literal segments matched, if the path matches.
    fn matches(&self, path: &str) -> Option<usize> {
        let mut parts = split_path(path);
        let mut literals = 0;
        for segment in &self.segments {
            match segment {
                Segment::Rest => return Some(literals),
                Segment::Param => {
                    parts.next()?;
                }
                Segment::Literal(expected) => {
                    if parts.next()? != expected {
                        return None;
                    }
                    literals += 1;
                }
            }
        }
        parts.next().is_none().then_some(literals)
    }
}

fn split_path(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|s| !s.is_empty())
}

/// The template matching `path` with the most literal segments (first declared on a tie).
fn best_match<'t>(templates: &'t [RouteTemplate], path: &str) -> Option<&'t RouteTemplate> {
    let mut best: Option<(&RouteTemplate, usize)> = None;
    for template in templates {
        if let Some(score) = template.matches(path) {
            if best.is_none_or(|(_, s)| score > s) {
                best = Some((template, score));
            }
        }
    }
    best.map(|(t, _)| t)
}

/// The service produced by [`TraceLayer`].
#[derive(Clone, Debug)]
pub struct TraceService<S> {
    inner: S,
    layer: TraceLayer,
}

struct Finish {
    span: Span,
    context: TraceContext,
}

impl Finish {
    fn response<B>(self, mut response: Response<B>) -> Response<B> {
        let Finish { mut span, context } = self;
        set_trace_headers(&context, response.headers_mut());
        span.set_http_status(response.status().as_u16());
        span.finish();
        response
    }

    fn panicked<B>(self) -> Response<TraceBody<B>> {
        let mut response = Response::new(TraceBody::empty());
        *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        let Finish { mut span, context } = self;
        set_trace_headers(&context, response.headers_mut());
        span.set_http_status(500);
        span.set_status(SpanStatus::Error("panic"));
        span.finish();
        response
    }

    fn failed(self) {
        let Finish { mut span, .. } = self;
        span.set_status(SpanStatus::Error("service_error"));
        span.finish();
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for TraceService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<TraceBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let config = &self.layer.config;
        let context = extract(request.headers()).context;
        let tenant = request
            .headers()
            .get(&config.tenant_header)
            .and_then(|v| TenantId::from_bytes(v.as_bytes()));
        let operation = self.layer.operation(&request);
        let mut span = config
            .telemetry
            .start(&context, SpanKind::Server, operation);
        span.set_tenant(tenant.clone());
        request.extensions_mut().insert(context.clone());
        let mut current = Current::new(config.telemetry.clone(), context.clone(), tenant);
        if config.forward_tenant {
            current.tenant_header = Some(config.tenant_header.clone());
        }
        request.extensions_mut().insert(current);
        let finish = Some(Finish { span, context });
        match catch_unwind(AssertUnwindSafe(|| self.inner.call(request))) {
            Ok(future) => ResponseFuture::Running { future, finish },
            Err(_) => ResponseFuture::Panicked { finish },
        }
    }
}

pin_project! {
    /// The response future of [`TraceService`]: catches panics of the inner future.
    #[project = ResponseFutureProj]
    pub enum ResponseFuture<F> {
        /// The inner service is working.
        Running { #[pin] future: F, finish: Option<Finish> },
        /// The inner service panicked in `call`.
        Panicked { finish: Option<Finish> },
    }
}

impl<F, ResBody, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = Result<Response<TraceBody<ResBody>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            ResponseFutureProj::Running { future, finish } => {
                if finish.is_none() {
                    // Do not poll a finished inner future.
                    panic!("tracegate ResponseFuture polled after completion");
                }
                match catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
                    Ok(Poll::Pending) => Poll::Pending,
                    Ok(Poll::Ready(Ok(response))) => {
                        let response = response.map(TraceBody::new);
                        Poll::Ready(Ok(match finish.take() {
                            Some(finish) => finish.response(response),
                            None => response,
                        }))
                    }
                    Ok(Poll::Ready(Err(error))) => {
                        if let Some(finish) = finish.take() {
                            finish.failed();
                        }
                        Poll::Ready(Err(error))
                    }
                    Err(_) => Poll::Ready(Ok(match finish.take() {
                        Some(finish) => finish.panicked(),
                        None => panic_response(),
                    })),
                }
            }
            ResponseFutureProj::Panicked { finish } => Poll::Ready(Ok(match finish.take() {
                Some(finish) => finish.panicked(),
                None => panic_response(),
            })),
        }
    }
}

fn panic_response<B>() -> Response<TraceBody<B>> {
    let mut response = Response::new(TraceBody::empty());
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response
}

pin_project! {
    /// The response body: the inner service's body, or empty (for a caught panic).
    #[project = TraceBodyProj]
    pub enum TraceBody<B> {
        /// The inner service's body.
        Inner { #[pin] body: B },
        /// No body.
        Empty,
    }
}

impl<B> TraceBody<B> {
    fn new(body: B) -> Self {
        TraceBody::Inner { body }
    }

    fn empty() -> Self {
        TraceBody::Empty
    }
}

impl<B: Body> Body for TraceBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        match self.project() {
            TraceBodyProj::Inner { body } => body.poll_frame(cx),
            TraceBodyProj::Empty => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            TraceBody::Inner { body } => body.is_end_stream(),
            TraceBody::Empty => true,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            TraceBody::Inner { body } => body.size_hint(),
            TraceBody::Empty => SizeHint::with_exact(0),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use tower::{service_fn, ServiceExt};

    use super::*;
    use crate::propagation::{MemorySink, TraceParent, TRACERESPONSE};

    #[test]
    fn templates_match_by_most_literal_segments() {
        let templates: Vec<RouteTemplate> = [
            "/checkout/{id}",
            "/checkout/summary",
            "/files/{*path}",
            "/users/:id/orders",
        ]
        .into_iter()
        .map(RouteTemplate::new)
        .collect();
        let name = |path: &str| best_match(&templates, path).map(|t| t.text.as_str());
        assert_eq!(name("/checkout/42"), Some("/checkout/{id}"));
        assert_eq!(name("/checkout/summary"), Some("/checkout/summary"));
        assert_eq!(name("/files/a/b/c.txt"), Some("/files/{*path}"));
        assert_eq!(name("/users/a@b.c/orders"), Some("/users/:id/orders"));
        assert_eq!(name("/checkout/42/extra"), None);
        assert_eq!(name("/"), None);
    }

    #[test]
    fn fast_response_headers_equal_the_core_ones() {
        let mut context = TraceContext::new_root();
        context.flags = crate::propagation::TraceFlags::new(0xff);
        let (mut fast, mut core) = (HeaderMap::new(), HeaderMap::new());
        fast.append("server-timing", HeaderValue::from_static("db;dur=53"));
        core.append("server-timing", HeaderValue::from_static("db;dur=53"));
        set_trace_headers(&context, &mut fast);
        context.set_response_headers(&mut core);
        assert_eq!(fast, core);
    }

    #[test]
    fn cached_names_match_formatted_ones() {
        for _ in 0..2 {
            assert_eq!(cached_name(&Method::GET, "/a/{id}").as_str(), "GET /a/{id}");
            assert_eq!(
                cached_name(&Method::POST, "/a/{id}").as_str(),
                "POST /a/{id}"
            );
            assert_eq!(cached_name(&Method::PUT, "").as_str(), "PUT");
            assert_eq!(cached_name(&Method::GET, "/q?x=1").as_str(), "GET /q");
        }
    }

    #[test]
    fn builder_keeps_the_hook_when_the_layer_was_shared() {
        let layer = TraceLayer::new(Telemetry::disabled("svc"))
            .route_from(|ext| ext.get::<&'static str>().copied());
        let _shared = layer.clone();
        let layer = layer.tenant_header(HeaderName::from_static("x-org"));
        let mut req = request("/a/b", &[]);
        req.extensions_mut().insert("/a/{id}");
        assert_eq!(layer.operation(&req).as_str(), "POST /a/{id}");
        assert_eq!(layer.config.tenant_header, "x-org");
    }

    fn request(path: &str, headers: &[(&str, &str)]) -> Request<String> {
        let mut builder = Request::builder().method("POST").uri(path);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(String::new()).unwrap()
    }

    #[tokio::test]
    async fn preserves_context_sets_headers_and_records_the_template() {
        let sink = Arc::new(MemorySink::new());
        let layer = TraceLayer::new(Telemetry::new("svc", sink.clone()))
            .routes(["/orders/{id}"])
            .tenant_header(HeaderName::from_static("x-org"));
        let service = layer.layer(service_fn(|req: Request<String>| async move {
            let ctx = req.extensions().get::<TraceContext>().cloned().unwrap();
            let current = req.extensions().get::<Current>().unwrap();
            assert_eq!(current.context, ctx);
            assert_eq!(current.tenant.as_ref().unwrap().as_str(), "acme");
            Ok::<_, Infallible>(Response::new(ctx.traceparent()))
        }));
        let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let response = service
            .oneshot(request(
                "/orders/a@b.c?token=x",
                &[("traceparent", parent), ("x-org", "acme")],
            ))
            .await
            .unwrap();
        let header = response.headers()[TRACERESPONSE]
            .to_str()
            .unwrap()
            .to_owned();
        let returned = TraceParent::parse(&header).unwrap();
        assert_eq!(
            returned.trace_id.to_hex(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert!(response.headers()["server-timing"]
            .to_str()
            .unwrap()
            .ends_with(&header));
        let spans = sink.spans();
        assert_eq!(spans.len(), 1);
        let span = &spans[0];
        assert_eq!(span.operation().as_str(), "POST /orders/{id}");
        assert_eq!(span.span_id(), returned.parent_id);
        assert_eq!(span.parent_span_id().unwrap().to_hex(), "00f067aa0ba902b7");
        assert_eq!(span.kind(), SpanKind::Server);
        assert_eq!(span.http_status(), Some(200));
        assert_eq!(span.tenant().unwrap().as_str(), "acme");
    }

    #[tokio::test]
    async fn panics_in_call_and_in_the_future_become_500_with_headers() {
        let sink = Arc::new(MemorySink::new());
        let layer = TraceLayer::new(Telemetry::new("svc", sink.clone()));
        let in_future = layer.layer(service_fn(|_req: Request<String>| async move {
            if true {
                panic!("handler bug");
            }
            Ok::<_, Infallible>(Response::new(String::new()))
        }));
        let response = in_future.oneshot(request("/x", &[])).await.unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(response.headers().contains_key(TRACERESPONSE));

        #[derive(Clone)]
        struct PanicsInCall;
        impl Service<Request<String>> for PanicsInCall {
            type Response = Response<String>;
            type Error = Infallible;
            type Future = std::future::Ready<Result<Response<String>, Infallible>>;
            fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
                Poll::Ready(Ok(()))
            }
            fn call(&mut self, _: Request<String>) -> Self::Future {
                panic!("call bug")
            }
        }
        let response = layer
            .layer(PanicsInCall)
            .oneshot(request("/y", &[("x-tenant-id", "Bearer secret")]))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(response.headers().contains_key(TRACERESPONSE));
        let spans = sink.spans();
        assert_eq!(spans.len(), 2);
        for span in spans {
            assert_eq!(span.status(), SpanStatus::Error("panic"));
            assert_eq!(span.http_status(), Some(500));
            assert_eq!(
                span.operation().as_str(),
                "POST",
                "no template: method only"
            );
            assert!(span.tenant().is_none(), "an invalid tenant is not recorded");
        }
    }
}
