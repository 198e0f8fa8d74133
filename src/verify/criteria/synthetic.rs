//! Synthetic runs for the criteria's unit tests and the `verify_eval` benchmark: spans built
//! as OTLP (so AC-007(b) searches the same bytes the traces are assembled from), exchanges,
//! a scenario and canaries. Deterministic: IDs come from a seed.

use std::collections::BTreeMap;
use std::time::Duration;

use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{
    span, status, ResourceSpans, ScopeSpans, Span, Status,
};

use crate::propagation::{SpanId, TraceId};
use crate::trace::{AssemblyOptions, SpanKind, Trace};
use crate::verify::model::{
    Canaries, Collected, Exchange, HttpVersion, IncomingCase, Phase, ReplayRecord, ReturnedId,
};
use crate::verify::scenario::{Expect, RequestSpec, Scenario};

/// The demo platform's services, in call order.
pub const SERVICES: [&str; 6] = [
    "ingress",
    "auth",
    "orchestration",
    "pricing",
    "payment-gateway",
    "webhook-dispatcher",
];

/// The trace ID of seed `seed` (never zero).
pub fn trace_id(seed: u64) -> TraceId {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&0x5eed_0000_0000_0000_u64.to_be_bytes());
    bytes[8..].copy_from_slice(&(seed + 1).to_be_bytes());
    TraceId::from_bytes(bytes).unwrap_or_else(TraceId::random)
}

/// One span under construction.
#[derive(Clone, Debug)]
pub struct SpanSpec {
    pub service: String,
    pub kind: SpanKind,
    pub name: String,
    pub span_id: SpanId,
    pub parent: Option<SpanId>,
    pub start_ns: u64,
    pub end_ns: u64,
    pub attributes: Vec<KeyValue>,
    pub status_error: bool,
}

/// A trace under construction.
#[derive(Clone, Debug)]
pub struct TraceBuilder {
    pub trace_id: TraceId,
    pub spans: Vec<SpanSpec>,
    seed: u64,
    base_ns: u64,
}

/// A string attribute.
pub fn string_attr(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_owned())),
        }),
        ..Default::default()
    }
}

/// An integer attribute.
pub fn int_attr(key: &str, value: i64) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::IntValue(value)),
        }),
        ..Default::default()
    }
}

impl TraceBuilder {
    /// An empty trace for `seed`; its spans start at `seed` milliseconds past a fixed epoch.
    pub fn new(seed: u64) -> Self {
        TraceBuilder {
            trace_id: trace_id(seed),
            spans: Vec::new(),
            seed,
            base_ns: 1_700_000_000_000_000_000 + seed * 1_000_000,
        }
    }

    /// Add a span; `parent` is the index of an earlier span. Times in µs after the trace's
    /// start. Returns the span's index.
    pub fn span(
        &mut self,
        service: &str,
        kind: SpanKind,
        name: &str,
        parent: Option<usize>,
        start_us: u64,
        end_us: u64,
    ) -> usize {
        let index = self.spans.len();
        let id = (self.seed << 16) | (index as u64 + 1);
        let parent = parent.map(|p| self.spans[p].span_id);
        self.spans.push(SpanSpec {
            service: service.to_owned(),
            kind,
            name: name.to_owned(),
            span_id: SpanId::from_bytes(id.to_be_bytes()).unwrap_or_else(SpanId::random),
            parent,
            start_ns: self.base_ns + start_us * 1000,
            end_ns: self.base_ns + end_us * 1000,
            attributes: Vec::new(),
            status_error: false,
        });
        index
    }

    /// Add an attribute to span `index`.
    pub fn attr(&mut self, index: usize, attribute: KeyValue) -> &mut Self {
        self.spans[index].attributes.push(attribute);
        self
    }

    /// The OTLP of the trace: one `ResourceSpans` per service.
    pub fn otlp(&self) -> Vec<ResourceSpans> {
        let mut by_service: BTreeMap<&str, Vec<Span>> = BTreeMap::new();
        for s in &self.spans {
            let kind = match s.kind {
                SpanKind::Server => span::SpanKind::Server,
                SpanKind::Client => span::SpanKind::Client,
                SpanKind::Producer => span::SpanKind::Producer,
                SpanKind::Consumer => span::SpanKind::Consumer,
                SpanKind::Internal => span::SpanKind::Internal,
                SpanKind::Unspecified => span::SpanKind::Unspecified,
            };
            by_service.entry(&s.service).or_default().push(Span {
                trace_id: self.trace_id.to_bytes().to_vec(),
                span_id: s.span_id.to_bytes().to_vec(),
                parent_span_id: s.parent.map(|p| p.to_bytes().to_vec()).unwrap_or_default(),
                name: s.name.clone(),
                kind: kind as i32,
                start_time_unix_nano: s.start_ns,
                end_time_unix_nano: s.end_ns,
                attributes: s.attributes.clone(),
                status: Some(Status {
                    message: String::new(),
                    code: if s.status_error {
                        status::StatusCode::Error as i32
                    } else {
                        status::StatusCode::Unset as i32
                    },
                }),
                ..Default::default()
            });
        }
        by_service
            .into_iter()
            .map(|(service, spans)| ResourceSpans {
                resource: Some(Resource {
                    attributes: if service.is_empty() {
                        Vec::new()
                    } else {
                        vec![string_attr("service.name", service)]
                    },
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    spans,
                    ..Default::default()
                }],
                ..Default::default()
            })
            .collect()
    }

    /// The assembled trace.
    pub fn build(&self) -> Trace {
        let mut traces = Trace::from_otlp(&self.otlp(), &AssemblyOptions::default());
        traces.pop().unwrap_or_else(|| {
            Trace::assemble(
                self.trace_id,
                Vec::new(),
                Vec::new(),
                &AssemblyOptions::default(),
            )
        })
    }
}

/// A server span with our own attributes (`http.response.status_code`, `tenant.id`).
fn ours(t: &mut TraceBuilder, index: usize, status: i64) {
    t.attr(index, int_attr("http.response.status_code", status));
    t.attr(index, string_attr("tenant.id", "acme"));
}

/// The demo platform's checkout: ingress → auth → orchestration → pricing and
/// payment-gateway (two attempts when `retry`, the second with `http.request.resend_count`)
/// → queue → webhook-dispatcher. Indices in the comments.
pub fn demo_trace(seed: u64, retry: bool) -> TraceBuilder {
    let mut t = TraceBuilder::new(seed);
    let ingress = t.span(
        "ingress",
        SpanKind::Server,
        "POST /checkout/{order}",
        None,
        0,
        9000,
    ); // 0
    ours(&mut t, ingress, 200);
    let c1 = t.span(
        "ingress",
        SpanKind::Client,
        "POST /checkout/{order}",
        Some(ingress),
        100,
        8900,
    ); // 1
    let auth = t.span(
        "auth",
        SpanKind::Server,
        "POST /checkout/{order}",
        Some(c1),
        200,
        8800,
    ); // 2
    ours(&mut t, auth, 200);
    let c2 = t.span(
        "auth",
        SpanKind::Client,
        "POST /orders/{order}",
        Some(auth),
        300,
        8700,
    ); // 3
    let orch = t.span(
        "orchestration",
        SpanKind::Server,
        "POST /orders/{order}",
        Some(c2),
        400,
        8600,
    ); // 4
    ours(&mut t, orch, 200);
    let c3 = t.span(
        "orchestration",
        SpanKind::Client,
        "POST /quote/{order}",
        Some(orch),
        500,
        1500,
    ); // 5
    let pricing = t.span(
        "pricing",
        SpanKind::Server,
        "POST /quote/{order}",
        Some(c3),
        600,
        1400,
    ); // 6
    ours(&mut t, pricing, 200);
    let mut start = 1600;
    if retry {
        let attempt = t.span(
            "orchestration",
            SpanKind::Client,
            "POST /charge/{order}",
            Some(orch),
            start,
            start + 900,
        );
        let pg = t.span(
            "payment-gateway",
            SpanKind::Server,
            "POST /charge/{order}",
            Some(attempt),
            start + 100,
            start + 800,
        );
        ours(&mut t, pg, 503);
        start += 1000;
    }
    let charge = t.span(
        "orchestration",
        SpanKind::Client,
        "POST /charge/{order}",
        Some(orch),
        start,
        start + 5000,
    );
    if retry {
        t.attr(charge, int_attr("http.request.resend_count", 1));
    }
    let pg = t.span(
        "payment-gateway",
        SpanKind::Server,
        "POST /charge/{order}",
        Some(charge),
        start + 100,
        start + 4900,
    );
    ours(&mut t, pg, 200);
    let produce = t.span(
        "payment-gateway",
        SpanKind::Producer,
        "publish payments",
        Some(pg),
        start + 200,
        start + 300,
    );
    let consume = t.span(
        "webhook-dispatcher",
        SpanKind::Consumer,
        "process payments",
        Some(produce),
        start + 400,
        start + 4000,
    );
    t.attr(consume, string_attr("tenant.id", "acme"));
    t
}

/// The same checkout as an OpenTelemetry Python SDK platform reports it (Flask and requests
/// instrumentations): SERVER spans with `http.status_code` and `net.host.port`, an INTERNAL
/// span around each CLIENT span, CLIENT spans named by method with `http.url`; no
/// `tenant.id`. Services listen on ports 5001… in [`SERVICES`] order.
pub fn python_trace(seed: u64) -> TraceBuilder {
    let mut t = TraceBuilder::new(seed);
    let mut parent_call: Option<usize> = None;
    let mut at = 0;
    for (i, service) in SERVICES.iter().enumerate().take(5) {
        let port = 5001 + i as i64;
        let server = t.span(
            service,
            SpanKind::Server,
            "POST /work",
            parent_call,
            at,
            20_000 - at,
        );
        t.attr(server, int_attr("http.status_code", 200))
            .attr(server, int_attr("net.host.port", port))
            .attr(
                server,
                string_attr("http.host", &format!("127.0.0.1:{port}")),
            )
            .attr(server, string_attr("http.target", "/work"));
        if i == 4 {
            break;
        }
        let internal = t.span(
            service,
            SpanKind::Internal,
            "call downstream",
            Some(server),
            at + 50,
            20_000 - at - 50,
        );
        let client = t.span(
            service,
            SpanKind::Client,
            "POST",
            Some(internal),
            at + 100,
            20_000 - at - 100,
        );
        t.attr(
            client,
            string_attr("http.url", &format!("http://127.0.0.1:{}/work", port + 1)),
        )
        .attr(client, int_attr("http.status_code", 200));
        parent_call = Some(client);
        at += 200;
    }
    t
}

/// The demo's canaries (fixed, for tests).
pub fn canaries() -> Canaries {
    Canaries {
        bearer_token: "tgcanary-bearer-7f3a9c".to_owned(),
        email: "canary-7f3a9c@example.org".to_owned(),
        card_number: "4539578763621486".to_owned(),
        cookie: "tgcanary-cookie-7f3a9c".to_owned(),
        password: "tgcanary-pass-7f3a9c".to_owned(),
        query_value: "tgcanary-query-7f3a9c".to_owned(),
    }
}

/// The demo scenario's expectations, one checkout request.
pub fn scenario(services: &[&str]) -> Scenario {
    Scenario {
        target: None,
        tenant_header: "x-tenant-id".to_owned(),
        response_header: None,
        requests: vec![RequestSpec {
            name: "checkout".to_owned(),
            method: "POST".to_owned(),
            path: "/checkout/{n}".to_owned(),
            tenant: Some("acme".to_owned()),
            headers: BTreeMap::new(),
            body: None,
            repeat: 1,
            concurrency: 1,
        }],
        expect: Expect {
            root: services.first().copied().unwrap_or("ingress").to_owned(),
            services: services.iter().map(|s| (*s).to_owned()).collect(),
            latency_budget: None,
            latency_slack: None,
        },
    }
}

/// A successful healthy-phase exchange with no incoming context that returned `trace_id`
/// in `traceresponse`.
pub fn exchange(number: u64, trace_id: TraceId) -> Exchange {
    Exchange {
        request: "checkout".to_owned(),
        number,
        method: "POST".to_owned(),
        path: format!("/checkout/{number}"),
        tenant: Some("acme".to_owned()),
        phase: Phase::Healthy,
        http_version: HttpVersion::Http1,
        incoming: IncomingCase::Absent,
        sent_traceparent: Vec::new(),
        sent_trace_id: None,
        canaries: true,
        status: Some(200),
        error: None,
        response_headers: vec![(
            "traceresponse".to_owned(),
            format!("00-{}-{}-01", trace_id.to_hex(), "00f067aa0ba902b7"),
        )],
        returned: Some(ReturnedId {
            trace_id,
            span_id: None,
            header: "traceresponse".to_owned(),
        }),
        latency: Duration::from_millis(10),
    }
}

/// A run: one exchange per trace (numbered from 1), every trace collected.
pub fn run(traces: &[TraceBuilder]) -> (ReplayRecord, Collected) {
    let mut collected = Collected {
        can_list: true,
        ..Collected::default()
    };
    let mut exchanges = Vec::with_capacity(traces.len());
    for (i, builder) in traces.iter().enumerate() {
        exchanges.push(exchange(i as u64 + 1, builder.trace_id));
        let otlp = builder.otlp();
        for trace in Trace::from_otlp(&otlp, &AssemblyOptions::default()) {
            collected.spans_read += trace.spans.len();
            collected.traces.insert(trace.trace_id, trace);
        }
        collected.otlp.extend(otlp);
    }
    let replay = ReplayRecord {
        target: "http://127.0.0.1:8080".to_owned(),
        exchanges,
        http2: crate::verify::model::Http2Support::NotTried,
        canaries: canaries(),
        fault_phase: false,
    };
    (replay, collected)
}
