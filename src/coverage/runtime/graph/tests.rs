//! Table tests of [`analyse`]: each broken signature and its negative twin, over small
//! hand-built traces with old (`http.url`, `net.peer.name`) and new (`url.full`,
//! `server.address`) attribute conventions.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use super::analyse;
use crate::coverage::model::{RuntimeFindings, RuntimeVerdict};
use crate::propagation::{SpanId, TraceId};
use crate::trace::{AssemblyOptions, Span, SpanKind, SpanStatus, StatusCode, Trace};

const MS: u64 = 1_000_000;
const T0: u64 = 1_795_000_000_000_000_000;

/// One span: trace `trace`, span ID `id`, parent ID `parent` (any byte; absent parents make
/// orphans), `[start, end]` in ms after [`T0`].
fn span(
    trace: u8,
    id: u8,
    parent: Option<u8>,
    service: &str,
    kind: SpanKind,
    (start, end): (u64, u64),
    attributes: &[(&str, &str)],
) -> Span {
    Span {
        trace_id: TraceId::from_bytes([trace; 16]).unwrap(),
        span_id: SpanId::from_bytes([0, 0, 0, 0, 0, 0, trace, id]).unwrap(),
        parent_span_id: parent.map(|p| SpanId::from_bytes([0, 0, 0, 0, 0, 0, trace, p]).unwrap()),
        service: Some(service.to_owned()),
        name: format!("{service} {kind:?}"),
        kind,
        start_unix_nano: T0 + start * MS,
        end_unix_nano: T0 + end * MS,
        status: SpanStatus {
            code: StatusCode::Unset,
            message: String::new(),
        },
        attributes: attributes
            .iter()
            .map(|(k, v)| ((*k).to_owned(), serde_json::Value::from(*v)))
            .collect(),
        resource_attributes: BTreeMap::new(),
        events: Vec::new(),
    }
}

fn traces(spans: Vec<Span>) -> Vec<Trace> {
    let mut by_trace: BTreeMap<TraceId, Vec<Span>> = BTreeMap::new();
    for s in spans {
        by_trace.entry(s.trace_id).or_default().push(s);
    }
    by_trace
        .into_iter()
        .map(|(id, spans)| Trace::assemble(id, spans, Vec::new(), &AssemblyOptions::default()))
        .collect()
}

fn verdict(findings: &RuntimeFindings, service: &str) -> Option<RuntimeVerdict> {
    findings.services.get(service).map(|s| s.verdict)
}

fn edge(findings: &RuntimeFindings, caller: &str, callee: &str) -> Option<(u64, u64)> {
    findings
        .edges
        .iter()
        .find(|e| e.caller == caller && e.callee == callee)
        .map(|e| (e.paired, e.broken))
}

use SpanKind::{Client, Consumer, Internal, Producer, Server};

/// gateway → checkout paired; checkout's call to `attrs` has no child.
fn checkout_calls(attrs: &[(&str, &str)]) -> Vec<Span> {
    vec![
        span(1, 1, None, "gateway", Server, (0, 100), &[]),
        span(1, 2, Some(1), "gateway", Client, (5, 95), &[]),
        span(1, 3, Some(2), "checkout", Server, (6, 94), &[]),
        span(1, 4, Some(3), "checkout", Client, (10, 60), attrs),
    ]
}

#[test]
fn a_callee_starting_a_new_trace_inside_an_unpaired_call_is_broken_and_the_edge_named() {
    let dns = [("server.address", "pricing.payments.svc.cluster.local")];
    let url = [(
        "url.full",
        "http://pricing.payments.svc.cluster.local:8080/quote",
    )];
    let old_url = [("http.url", "http://pricing:8080/quote")];
    let old_peer = [("net.peer.name", "pricing")];
    let peer = [("peer.service", "pricing")];
    for attrs in [&dns[..], &url, &old_url, &old_peer, &peer, &[]] {
        let mut spans = checkout_calls(attrs);
        spans.push(span(2, 1, None, "pricing", Server, (12, 58), &[]));
        let findings = analyse(&traces(spans));
        assert_eq!(
            verdict(&findings, "pricing"),
            Some(RuntimeVerdict::Fail),
            "{attrs:?}"
        );
        assert_eq!(
            findings.services["pricing"].reasons,
            ["checkout → pricing: 1 of 1 calls start a new trace"],
            "{attrs:?}"
        );
        assert_eq!(
            edge(&findings, "checkout", "pricing"),
            Some((0, 1)),
            "{attrs:?}"
        );
        assert_eq!(edge(&findings, "gateway", "checkout"), Some((1, 0)));
        for ok in ["gateway", "checkout"] {
            assert_eq!(
                verdict(&findings, ok),
                Some(RuntimeVerdict::Pass),
                "{ok} {attrs:?}"
            );
        }
        assert_eq!((findings.traces, findings.spans), (2, 5));
    }
}

#[test]
fn a_legitimate_ingress_root_is_not_broken() {
    // checkout's call goes to ledger (seen elsewhere); gateway's root starting inside the call
    // is another request, not its callee
    let mut spans = checkout_calls(&[("server.address", "ledger")]);
    spans.push(span(2, 1, None, "gateway", Server, (12, 58), &[]));
    spans.push(span(3, 1, None, "ledger", Server, (500, 510), &[]));
    let findings = analyse(&traces(spans));
    for ok in ["gateway", "checkout", "ledger"] {
        assert_eq!(verdict(&findings, ok), Some(RuntimeVerdict::Pass), "{ok}");
    }
    assert!(findings.edges.iter().all(|e| e.broken == 0), "{findings:?}");
}

#[test]
fn a_root_starting_outside_the_call_or_outliving_it_is_not_its_callee() {
    for window in [(70, 80), (12, 90), (0, 50)] {
        let mut spans = checkout_calls(&[("server.address", "pricing")]);
        spans.push(span(2, 1, None, "pricing", Server, window, &[]));
        let findings = analyse(&traces(spans));
        assert_eq!(
            verdict(&findings, "pricing"),
            Some(RuntimeVerdict::Pass),
            "{window:?}"
        );
    }
}

#[test]
fn an_uninstrumented_callee_blames_no_one_and_stays_unseen() {
    let findings = analyse(&traces(checkout_calls(&[(
        "url.full",
        "http://pricing.payments.svc.cluster.local/quote",
    )])));
    assert_eq!(verdict(&findings, "checkout"), Some(RuntimeVerdict::Pass));
    assert_eq!(verdict(&findings, "pricing"), None);
    assert_eq!(edge(&findings, "checkout", "pricing"), None);
}

#[test]
fn an_unnamed_call_matches_only_an_unambiguous_root() {
    let mut one = checkout_calls(&[]);
    one.push(span(2, 1, None, "pricing", Server, (12, 58), &[]));
    assert_eq!(
        verdict(&analyse(&traces(one)), "pricing"),
        Some(RuntimeVerdict::Fail)
    );

    let mut two = checkout_calls(&[("net.peer.name", "10.0.0.7")]);
    two.push(span(2, 1, None, "pricing", Server, (12, 58), &[]));
    two.push(span(3, 1, None, "gateway", Server, (13, 20), &[]));
    let findings = analyse(&traces(two));
    assert_eq!(verdict(&findings, "pricing"), Some(RuntimeVerdict::Pass));
    assert_eq!(verdict(&findings, "gateway"), Some(RuntimeVerdict::Pass));
}

#[test]
fn database_and_third_party_calls_are_not_edges() {
    for attrs in [
        &[("db.system", "postgresql")][..],
        &[("server.address", "api.stripe.com")],
    ] {
        let mut spans = checkout_calls(attrs);
        spans.push(span(2, 1, None, "pricing", Server, (12, 58), &[]));
        let findings = analyse(&traces(spans));
        assert_eq!(
            verdict(&findings, "pricing"),
            Some(RuntimeVerdict::Pass),
            "{attrs:?}"
        );
    }
}

#[test]
fn an_orphan_inside_an_unpaired_call_breaks_that_edge() {
    let mut spans = checkout_calls(&[("server.address", "pricing")]);
    spans.push(span(1, 5, Some(77), "pricing", Server, (12, 58), &[]));
    let findings = analyse(&traces(spans));
    assert_eq!(edge(&findings, "checkout", "pricing"), Some((0, 1)));
    assert_eq!(
        findings.services["pricing"].reasons,
        ["checkout → pricing: 1 of 1 calls start a new trace"]
    );
}

#[test]
fn orphans_are_broken_except_the_entry_point_of_a_continued_trace() {
    // a root, and a ledger span whose parent is missing
    let broken = traces(vec![
        span(1, 1, None, "gateway", Server, (0, 100), &[]),
        span(1, 2, Some(99), "ledger", Server, (10, 20), &[]),
        span(1, 3, Some(99), "ledger", Internal, (11, 19), &[]),
    ]);
    let findings = analyse(&broken);
    assert_eq!(verdict(&findings, "ledger"), Some(RuntimeVerdict::Fail));
    assert!(
        findings.services["ledger"].reasons[0].contains("2 spans in 1 trace are orphans"),
        "{:?}",
        findings.services["ledger"].reasons
    );
    assert_eq!(verdict(&findings, "gateway"), Some(RuntimeVerdict::Pass));

    // no root: the first span continues an external caller's context
    let continued = traces(vec![
        span(2, 1, Some(99), "gateway", Server, (0, 100), &[]),
        span(2, 2, Some(1), "gateway", Client, (5, 95), &[]),
        span(2, 3, Some(2), "checkout", Server, (6, 94), &[]),
    ]);
    let findings = analyse(&continued);
    assert_eq!(verdict(&findings, "gateway"), Some(RuntimeVerdict::Pass));
    assert_eq!(verdict(&findings, "checkout"), Some(RuntimeVerdict::Pass));

    // ... but a second orphan with another missing parent is broken
    let twice = vec![
        span(3, 1, Some(99), "gateway", Server, (0, 100), &[]),
        span(3, 2, Some(98), "checkout", Server, (6, 94), &[]),
    ];
    let findings = analyse(&traces(twice));
    assert_eq!(verdict(&findings, "gateway"), Some(RuntimeVerdict::Pass));
    assert_eq!(verdict(&findings, "checkout"), Some(RuntimeVerdict::Fail));
}

#[test]
fn client_roots_break_a_called_service_only() {
    let called = traces(vec![
        span(1, 1, None, "gateway", Server, (0, 100), &[]),
        span(1, 2, Some(1), "gateway", Client, (5, 95), &[]),
        span(1, 3, Some(2), "checkout", Server, (6, 94), &[]),
        span(2, 1, None, "checkout", Client, (10, 20), &[]),
        span(2, 2, Some(1), "ledger", Server, (11, 19), &[]),
    ]);
    let findings = analyse(&called);
    assert_eq!(verdict(&findings, "checkout"), Some(RuntimeVerdict::Fail));
    assert!(findings.services["checkout"].reasons[0].contains("1 CLIENT span start"));
    assert_eq!(verdict(&findings, "ledger"), Some(RuntimeVerdict::Pass));

    // a batch job (no SERVER span) calling out starts traces legitimately
    let job = traces(vec![
        span(1, 1, None, "nightly-report", Client, (10, 20), &[]),
        span(1, 2, Some(1), "ledger", Server, (11, 19), &[]),
    ]);
    let findings = analyse(&job);
    assert_eq!(
        verdict(&findings, "nightly-report"),
        Some(RuntimeVerdict::Pass)
    );
    assert_eq!(edge(&findings, "nightly-report", "ledger"), Some((1, 0)));
}

#[test]
fn a_queue_consumer_root_is_not_broken_and_a_consumer_child_pairs_the_edge() {
    let spans = traces(vec![
        span(1, 1, None, "checkout", Server, (0, 100), &[]),
        span(1, 2, Some(1), "checkout", Producer, (5, 6), &[]),
        span(1, 3, Some(2), "mailer", Consumer, (500, 600), &[]),
        // a consumer that links its producer instead of continuing it: a root
        span(2, 1, None, "billing", Consumer, (2, 50), &[]),
    ]);
    let findings = analyse(&spans);
    for ok in ["checkout", "mailer", "billing"] {
        assert_eq!(verdict(&findings, ok), Some(RuntimeVerdict::Pass), "{ok}");
    }
    assert_eq!(edge(&findings, "checkout", "mailer"), Some((1, 0)));
}

#[test]
fn counts_add_up_over_calls_and_each_root_is_claimed_once() {
    let mut spans = Vec::new();
    // three paired calls checkout → pricing, two broken (one root each), sequential
    for t in 1..=5u8 {
        let base = u64::from(t) * 1_000;
        spans.push(span(
            t,
            1,
            None,
            "checkout",
            Server,
            (base, base + 100),
            &[],
        ));
        spans.push(span(
            t,
            2,
            Some(1),
            "checkout",
            Client,
            (base + 10, base + 60),
            &[("server.address", "pricing")],
        ));
        if t <= 3 {
            spans.push(span(
                t,
                3,
                Some(2),
                "pricing",
                Server,
                (base + 12, base + 58),
                &[],
            ));
        } else {
            spans.push(span(
                t + 100,
                1,
                None,
                "pricing",
                Server,
                (base + 12, base + 58),
                &[],
            ));
        }
    }
    let findings = analyse(&traces(spans));
    assert_eq!(edge(&findings, "checkout", "pricing"), Some((3, 2)));
    assert_eq!(
        findings.services["pricing"].reasons,
        ["checkout → pricing: 2 of 5 calls start a new trace"]
    );
    assert_eq!(findings.services["pricing"].spans, 5);
}

#[test]
fn a_third_party_host_on_the_ingress_port_is_not_the_ingress() {
    // only gateway says it listens on 443; checkout calls a payment provider on 443
    let mut spans = checkout_calls(&[("url.full", "https://api.payments-provider.com/charge")]);
    spans[0]
        .attributes
        .insert("server.address".into(), "shop.example.com".into());
    spans[0].attributes.insert("server.port".into(), 443.into());
    spans.push(span(2, 1, None, "gateway", Server, (12, 58), &[]));
    let findings = analyse(&traces(spans));
    assert_eq!(verdict(&findings, "gateway"), Some(RuntimeVerdict::Pass));
    assert_eq!(edge(&findings, "checkout", "gateway"), None);
}

#[test]
fn a_named_callee_is_found_among_many_unrelated_roots_in_the_window() {
    let mut spans = checkout_calls(&[("server.address", "pricing")]);
    // 100 ingress requests start during the call, before pricing's new trace does
    for t in 0..100u8 {
        spans.push(span(t + 100, 1, None, "gateway", Server, (10, 20), &[]));
    }
    spans.push(span(2, 1, None, "pricing", Server, (12, 58), &[]));
    let findings = analyse(&traces(spans));
    assert_eq!(edge(&findings, "checkout", "pricing"), Some((0, 1)));
    assert_eq!(verdict(&findings, "gateway"), Some(RuntimeVerdict::Pass));
}

#[test]
fn two_calls_starting_together_each_get_the_root_that_fits_them() {
    let call = |t: u8, end: u64| {
        vec![
            span(t, 1, None, "checkout", Server, (0, 200), &[]),
            span(
                t,
                2,
                Some(1),
                "checkout",
                Client,
                (10, end),
                &[("server.address", "pricing")],
            ),
        ]
    };
    let mut spans = call(1, 100);
    spans.extend(call(3, 60));
    spans.push(span(2, 1, None, "pricing", Server, (11, 59), &[]));
    spans.push(span(4, 1, None, "pricing", Server, (11, 99), &[]));
    let findings = analyse(&traces(spans));
    assert_eq!(edge(&findings, "checkout", "pricing"), Some((0, 2)));
}

#[test]
fn unmatched_calls_name_the_callee_to_search_for() {
    use super::unmatched_calls;
    let mut spans = checkout_calls(&[("url.full", "http://pricing.payments.svc.cluster.local/q")]);
    spans.push(span(
        1,
        5,
        Some(3),
        "checkout",
        Client,
        (61, 62),
        &[("db.system", "redis")],
    ));
    spans.push(span(
        1,
        6,
        Some(3),
        "checkout",
        Client,
        (63, 64),
        &[("peer.service", "ledger")],
    ));
    let calls = unmatched_calls(&traces(spans));
    let named: Vec<(&str, u64)> = calls
        .iter()
        .map(|c| (c.callee.as_str(), (c.start_unix_nano - T0) / MS))
        .collect();
    assert_eq!(named, [("pricing", 10), ("ledger", 63)]);

    // matched: nothing left to search for
    let mut matched = checkout_calls(&[("server.address", "pricing")]);
    matched.push(span(2, 1, None, "pricing", Server, (12, 58), &[]));
    assert!(unmatched_calls(&traces(matched)).is_empty());
}

#[test]
fn the_findings_do_not_depend_on_the_order_traces_come_in() {
    let call = |t: u8, end: u64| {
        vec![
            span(t, 1, None, "checkout", Server, (0, 200), &[]),
            span(
                t,
                2,
                Some(1),
                "checkout",
                Client,
                (10, end),
                &[("server.address", "pricing")],
            ),
        ]
    };
    let mut spans = call(1, 100);
    spans.extend(call(3, 60));
    spans.push(span(2, 1, None, "pricing", Server, (11, 59), &[]));
    spans.push(span(4, 1, None, "pricing", Server, (11, 99), &[]));
    spans.push(span(5, 1, Some(9), "ledger", Server, (300, 310), &[]));
    spans.push(span(5, 2, Some(8), "ledger", Server, (301, 309), &[]));
    let forward = traces(spans);
    let mut backward = forward.clone();
    backward.reverse();
    let mut analyser = super::Analyser::default();
    backward.iter().for_each(|t| analyser.add(t));
    assert_eq!(analyser.finish(), analyse(&forward));
}
