//! The demo platform on real loopback sockets (issue #16, first slice): one request through
//! ingress is one connected trace over the six services with the retry and the queue hop;
//! tenants reach only their own destinations; each fault switch changes what it should; a
//! failing backend never fails or slows requests unless export is synchronous.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use tracegate::demo::{
    Backend, Fault, Faults, Platform, PlatformOptions, Service, DEMO_CARD_NUMBER,
};
use tracegate::trace::{SpanKind, Trace};

/// Longest wait for spans to reach a receiver.
const SPAN_WAIT: Duration = Duration::from_secs(10);

const ALL_SERVICES: [&str; 6] = [
    "ingress",
    "auth",
    "orchestration",
    "pricing",
    "payment-gateway",
    "webhook-dispatcher",
];

async fn start(options: PlatformOptions) -> Platform {
    Platform::start(options).await.unwrap()
}

fn with_fault(service: Service, fault: Fault) -> PlatformOptions {
    PlatformOptions {
        faults: Faults::none().with(service, fault),
        ..PlatformOptions::default()
    }
}

struct Answer {
    status: u16,
    /// The trace ID of `traceresponse`, if the response had one.
    trace_id: Option<String>,
    elapsed: Duration,
}

async fn checkout(platform: &Platform, order: u64, tenant: &str, body: &str) -> Answer {
    let http = tracegate::propagation::export::tls::client_builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let started = Instant::now();
    let response = http
        .post(format!("{}/checkout/{order}", platform.ingress_url()))
        .header("x-tenant-id", tenant)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let trace_id = response
        .headers()
        .get("traceresponse")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split('-').nth(1))
        .map(str::to_owned);
    Answer {
        status: response.status().as_u16(),
        trace_id,
        elapsed: started.elapsed(),
    }
}

/// Poll `destination` until `done` holds for its traces (or the wait is over); the last read.
async fn wait_for(
    platform: &Platform,
    destination: &str,
    done: impl Fn(&[Trace]) -> bool,
) -> Vec<Trace> {
    let deadline = Instant::now() + SPAN_WAIT;
    loop {
        let traces = platform.traces(destination);
        if done(&traces) || Instant::now() >= deadline {
            return traces;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn services_of(trace: &Trace) -> Vec<&str> {
    let mut services: Vec<&str> = trace.spans.iter().map(|s| s.service_label()).collect();
    services.sort_unstable();
    services.dedup();
    services
}

fn has_all_services(trace: &Trace) -> bool {
    ALL_SERVICES.iter().all(|s| services_of(trace).contains(s))
}

fn find<'t>(trace: &'t Trace, service: &str, kind: SpanKind) -> Vec<&'t tracegate::trace::Span> {
    trace
        .spans
        .iter()
        .filter(|s| s.service_label() == service && s.kind == kind)
        .collect()
}

fn resend_count(span: &tracegate::trace::Span) -> Option<i64> {
    span.attributes
        .get("http.request.resend_count")
        .and_then(|v| v.as_i64())
}

fn all_span_text(traces: &[Trace]) -> String {
    format!("{:?}", traces.iter().map(|t| &t.spans).collect::<Vec<_>>())
}

#[tokio::test]
async fn one_request_is_one_connected_trace_over_six_services_with_the_retry_and_the_queue_hop() {
    let platform = start(PlatformOptions::default()).await;
    // Order 2: payment-gateway fails its first attempt (every even order), orchestration retries.
    let answer = checkout(&platform, 2, "acme", r#"{"sku":"A1"}"#).await;
    assert_eq!(answer.status, 200);
    let trace_id = answer
        .trace_id
        .expect("traceresponse on the ingress response");

    // ingress 2, auth 2, orchestration 4 (server, quote, two charge attempts), pricing 1,
    // payment-gateway 3 (two servers, producer), webhook-dispatcher 1.
    let traces = wait_for(&platform, "shared", |t| {
        t.iter().any(|t| t.spans.len() >= 13)
    })
    .await;
    assert_eq!(traces.len(), 1, "one trace: {:#?}", traces);
    assert_eq!(traces[0].spans.len(), 13, "{:#?}", traces[0].spans);
    let trace = &traces[0];
    assert_eq!(trace.trace_id.to_hex(), trace_id);
    assert_eq!(services_of(trace).len(), 6, "{:?}", services_of(trace));
    assert_eq!(trace.roots.len(), 1, "{:?}", trace.problems);
    assert!(trace.orphans.is_empty(), "{:?}", trace.problems);
    let root = &trace.spans[trace.roots[0]];
    assert_eq!(
        (root.service_label(), root.kind),
        ("ingress", SpanKind::Server)
    );

    // Every SERVER span below ingress is parented to a CLIENT span of its caller.
    let callers = [
        ("auth", "ingress"),
        ("orchestration", "auth"),
        ("pricing", "orchestration"),
        ("payment-gateway", "orchestration"),
    ];
    for (callee, caller) in callers {
        let servers = find(trace, callee, SpanKind::Server);
        assert!(!servers.is_empty(), "no SERVER span of {callee}");
        for server in servers {
            let index = trace.spans.iter().position(|s| s == server).unwrap();
            let parent = &trace.spans[trace.parent[index].expect("parent present")];
            assert_eq!(
                (parent.service_label(), parent.kind),
                (caller, SpanKind::Client)
            );
        }
    }

    // The retry: two CLIENT attempts of orchestration, the second with resend_count 1, and two
    // payment-gateway SERVER spans (503, then 200).
    let charges: Vec<_> = find(trace, "orchestration", SpanKind::Client)
        .into_iter()
        .filter(|s| s.name == "POST /charge/{order}")
        .collect();
    assert_eq!(charges.len(), 2, "{charges:#?}");
    assert_eq!(resend_count(charges[0]), None);
    assert_eq!(resend_count(charges[1]), Some(1));
    assert_eq!(find(trace, "payment-gateway", SpanKind::Server).len(), 2);

    // The queue hop continues the trace: consumer parented to the producer.
    let producer = find(trace, "payment-gateway", SpanKind::Producer);
    let consumer = find(trace, "webhook-dispatcher", SpanKind::Consumer);
    assert_eq!((producer.len(), consumer.len()), (1, 1));
    assert_eq!(consumer[0].parent_span_id, Some(producer[0].span_id));

    // Tenant recorded on every span; no payment data anywhere on a healthy platform.
    for span in &trace.spans {
        assert_eq!(
            span.attributes.get("tenant.id").and_then(|v| v.as_str()),
            Some("acme"),
            "{}",
            span.name
        );
    }
    assert!(!all_span_text(&traces).contains(DEMO_CARD_NUMBER));
    platform.shutdown().await;
}

#[tokio::test]
async fn an_odd_order_is_charged_once_without_a_retry() {
    let platform = start(PlatformOptions::default()).await;
    let answer = checkout(&platform, 3, "acme", "{}").await;
    assert_eq!(answer.status, 200);
    let traces = wait_for(&platform, "shared", |t| {
        t.iter().any(|t| t.spans.len() >= 11)
    })
    .await;
    assert_eq!(traces.len(), 1);
    assert_eq!(traces[0].spans.len(), 11, "{:#?}", traces[0].spans);
    let charges = find(&traces[0], "orchestration", SpanKind::Client)
        .into_iter()
        .filter(|s| s.name == "POST /charge/{order}")
        .count();
    assert_eq!(charges, 1);
    platform.shutdown().await;
}

fn tenants_in(traces: &[Trace]) -> Vec<String> {
    let mut tenants: Vec<String> = traces
        .iter()
        .flat_map(|t| &t.spans)
        .filter_map(|s| s.attributes.get("tenant.id")?.as_str().map(str::to_owned))
        .collect();
    tenants.sort_unstable();
    tenants.dedup();
    tenants
}

#[tokio::test]
async fn each_tenants_spans_reach_its_own_destination_and_never_the_other_tenants() {
    let platform = start(PlatformOptions::default()).await;
    assert_eq!(checkout(&platform, 1, "acme", "{}").await.status, 200);
    assert_eq!(checkout(&platform, 3, "globex", "{}").await.status, 200);
    let shared = wait_for(&platform, "shared", |t| {
        t.iter().filter(|t| has_all_services(t)).count() == 2
    })
    .await;
    assert_eq!(tenants_in(&shared), ["acme", "globex"]);
    for tenant in ["acme", "globex"] {
        let own = wait_for(&platform, tenant, |t| t.iter().any(has_all_services)).await;
        assert_eq!(own.len(), 1, "{tenant}: {own:#?}");
        assert!(has_all_services(&own[0]));
        assert_eq!(tenants_in(&own), [tenant]);
    }
    platform.shutdown().await;
}

#[tokio::test]
async fn wrong_tenant_route_on_pricing_sends_acme_pricing_spans_to_globex() {
    let platform = start(with_fault(Service::Pricing, Fault::WrongTenantRoute)).await;
    assert_eq!(checkout(&platform, 1, "acme", "{}").await.status, 200);
    let globex = wait_for(&platform, "globex", |t| !t.is_empty()).await;
    let acme = wait_for(&platform, "acme", |t| {
        t.iter().any(|t| services_of(t).len() == 5)
    })
    .await;
    assert_eq!(tenants_in(&globex), ["acme"], "acme's spans at globex");
    let at_globex: Vec<&str> = globex.iter().flat_map(services_of).collect();
    assert_eq!(at_globex, ["pricing"]);
    assert!(!acme.iter().flat_map(services_of).any(|s| s == "pricing"));
    platform.shutdown().await;
}

#[tokio::test]
async fn no_propagation_on_pricing_puts_pricing_in_a_new_trace() {
    let platform = start(with_fault(Service::Pricing, Fault::NoPropagation)).await;
    let answer = checkout(&platform, 1, "acme", "{}").await;
    assert_eq!(answer.status, 200);
    let trace_id = answer.trace_id.unwrap();
    let traces = wait_for(&platform, "shared", |t| {
        t.len() == 2 && t.iter().any(|t| services_of(t).len() == 5)
    })
    .await;
    assert_eq!(traces.len(), 2, "{traces:#?}");
    let (main, broken): (Vec<&Trace>, Vec<&Trace>) =
        traces.iter().partition(|t| t.trace_id.to_hex() == trace_id);
    assert_eq!(services_of(main[0]).len(), 5);
    assert!(!services_of(main[0]).contains(&"pricing"));
    assert_eq!(services_of(broken[0]), ["pricing"]);
    let pricing = find(broken[0], "pricing", SpanKind::Server);
    assert_eq!(pricing[0].parent_span_id, None, "a new root");
    platform.shutdown().await;
}

#[tokio::test]
async fn no_propagation_on_the_webhook_dispatcher_breaks_the_queue_hop() {
    let platform = start(with_fault(Service::WebhookDispatcher, Fault::NoPropagation)).await;
    assert_eq!(checkout(&platform, 1, "acme", "{}").await.status, 200);
    let traces = wait_for(&platform, "shared", |t| t.len() == 2).await;
    assert_eq!(traces.len(), 2, "{traces:#?}");
    assert!(traces
        .iter()
        .any(|t| services_of(t) == ["webhook-dispatcher"]));
    platform.shutdown().await;
}

#[tokio::test]
async fn no_response_header_on_ingress_drops_traceresponse_and_nothing_else() {
    let platform = start(with_fault(Service::Ingress, Fault::NoResponseHeader)).await;
    let answer = checkout(&platform, 1, "acme", "{}").await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.trace_id, None);
    let traces = wait_for(&platform, "shared", |t| t.iter().any(has_all_services)).await;
    assert_eq!(traces.len(), 1);
    assert!(has_all_services(&traces[0]));
    platform.shutdown().await;
}

#[tokio::test]
async fn pii_leak_on_payment_gateway_records_the_card_number_and_email_on_a_span() {
    let platform = start(with_fault(Service::PaymentGateway, Fault::PiiLeak)).await;
    let card = "5555555555554444";
    let body = format!(r#"{{"card_number":"{card}","email":"leak@example.org"}}"#);
    assert_eq!(checkout(&platform, 1, "acme", &body).await.status, 200);
    let traces = wait_for(&platform, "shared", |t| {
        t.iter()
            .flat_map(|t| &t.spans)
            .any(|s| s.name.contains(card))
    })
    .await;
    let leaked: Vec<_> = traces
        .iter()
        .flat_map(|t| &t.spans)
        .filter(|s| s.name.contains(card))
        .collect();
    assert_eq!(leaked.len(), 1, "{traces:#?}");
    assert_eq!(leaked[0].service_label(), "payment-gateway");
    assert!(leaked[0].name.contains("leak@example.org"));
    platform.shutdown().await;
}

#[tokio::test]
async fn new_trace_on_retry_sends_the_resend_in_another_trace() {
    let platform = start(with_fault(Service::Orchestration, Fault::NewTraceOnRetry)).await;
    let answer = checkout(&platform, 2, "acme", "{}").await;
    assert_eq!(answer.status, 200);
    let trace_id = answer.trace_id.unwrap();
    let traces = wait_for(&platform, "shared", |t| {
        t.len() == 2
            && t.iter()
                .any(|t| t.spans.len() >= 4 && t.trace_id.to_hex() != trace_id)
    })
    .await;
    assert_eq!(traces.len(), 2, "{traces:#?}");
    let (main, resent): (Vec<&Trace>, Vec<&Trace>) =
        traces.iter().partition(|t| t.trace_id.to_hex() == trace_id);
    let first = find(main[0], "orchestration", SpanKind::Client)
        .into_iter()
        .filter(|s| s.name == "POST /charge/{order}")
        .collect::<Vec<_>>();
    assert_eq!(first.len(), 1, "only the first attempt stays in the trace");
    let resend = &resent[0].spans[resent[0].roots[0]];
    assert_eq!(
        (resend.service_label(), resend.kind, resend_count(resend)),
        ("orchestration", SpanKind::Client, Some(1))
    );
    // The resend succeeded: payment-gateway and the queue hop follow it into the new trace.
    assert!(services_of(resent[0]).contains(&"webhook-dispatcher"));
    platform.shutdown().await;
}

#[tokio::test]
async fn a_failing_backend_never_fails_or_holds_up_requests() {
    for backend in [Backend::Down, Backend::Slow, Backend::Refusing] {
        let platform = start(PlatformOptions {
            backend,
            slow_backend_delay: Duration::from_secs(5),
            ..PlatformOptions::default()
        })
        .await;
        assert!(platform.collectors().is_empty());
        for order in 1..=4 {
            let answer = checkout(&platform, order, "acme", "{}").await;
            assert_eq!(answer.status, 200, "{backend}");
            assert!(answer.trace_id.is_some());
            // Never waits for the backend: well under the slow backend's 5 s.
            assert!(
                answer.elapsed < Duration::from_secs(4),
                "{backend}: {:?}",
                answer.elapsed
            );
        }
        platform.shutdown().await;
    }
}

#[tokio::test]
async fn sync_export_on_pricing_with_a_slow_backend_holds_up_every_request() {
    let delay = Duration::from_millis(1500);
    let platform = start(PlatformOptions {
        faults: Faults::none().with(Service::Pricing, Fault::SyncExport),
        backend: Backend::Slow,
        slow_backend_delay: delay,
        ..PlatformOptions::default()
    })
    .await;
    let answer = checkout(&platform, 1, "acme", "{}").await;
    assert_eq!(answer.status, 200);
    assert!(answer.elapsed >= delay, "{:?}", answer.elapsed);
    platform.shutdown().await;
}

#[tokio::test]
async fn sync_export_still_delivers_to_a_healthy_backend() {
    let platform = start(with_fault(Service::Pricing, Fault::SyncExport)).await;
    assert_eq!(checkout(&platform, 1, "acme", "{}").await.status, 200);
    let traces = wait_for(&platform, "acme", |t| t.iter().any(has_all_services)).await;
    assert_eq!(traces.len(), 1);
    assert!(has_all_services(&traces[0]));
    platform.shutdown().await;
}

#[tokio::test]
async fn the_platform_starts_in_well_under_a_second_on_os_picked_ports() {
    let started = Instant::now();
    let platform = start(PlatformOptions::default()).await;
    let took = started.elapsed();
    let mut ports: Vec<String> = platform
        .destinations()
        .iter()
        .map(|d| d.traces_url.clone())
        .chain(std::iter::once(platform.ingress_url()))
        .collect();
    ports.sort();
    ports.dedup();
    assert_eq!(ports.len(), 4, "distinct URLs");
    assert!(platform
        .export_config(Service::Ingress)
        .unwrap()
        .contains("shared: true"));
    platform.shutdown().await;
    // Generous: the target is far below; this only catches a start-up that waits on something.
    assert!(took < Duration::from_secs(3), "{took:?}");
}

#[tokio::test]
async fn a_valid_incoming_traceparent_is_continued_through_the_platform() {
    let platform = start(PlatformOptions::default()).await;
    let http = tracegate::propagation::export::tls::client_builder()
        .build()
        .unwrap();
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let response = http
        .post(format!("{}/checkout/1", platform.ingress_url()))
        .header("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01"))
        .header("x-tenant-id", "globex")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let returned = response.headers()["traceresponse"].to_str().unwrap();
    assert!(
        returned.starts_with(&format!("00-{trace_id}-")),
        "{returned}"
    );
    let traces = wait_for(&platform, "globex", |t| {
        t.iter().any(|t| t.spans.len() >= 11)
    })
    .await;
    assert_eq!(traces.len(), 1);
    assert_eq!(traces[0].trace_id.to_hex(), trace_id);
    let ingress = find(&traces[0], "ingress", SpanKind::Server);
    assert_eq!(
        ingress[0].parent_span_id.map(|id| id.to_hex()),
        Some("00f067aa0ba902b7".to_owned()),
        "parented to the caller's span"
    );
    platform.shutdown().await;
}
