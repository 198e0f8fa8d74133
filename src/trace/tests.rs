use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span as OtlpSpan, Status};

use super::*;

const TRACE: [u8; 16] = [0x4b; 16];

fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_owned())),
        }),
        ..Default::default()
    }
}

/// A span of TRACE: ids are small numbers, times in ms.
fn span(id: u8, parent: u8, name: &str, kind: i32, start_ms: u64, end_ms: u64) -> OtlpSpan {
    OtlpSpan {
        trace_id: TRACE.to_vec(),
        span_id: vec![0, 0, 0, 0, 0, 0, 0, id],
        parent_span_id: if parent == 0 {
            Vec::new()
        } else {
            vec![0, 0, 0, 0, 0, 0, 0, parent]
        },
        name: name.to_owned(),
        kind,
        start_time_unix_nano: start_ms * 1_000_000,
        end_time_unix_nano: end_ms * 1_000_000,
        ..Default::default()
    }
}

fn resource(service: Option<&str>, spans: Vec<OtlpSpan>) -> ResourceSpans {
    ResourceSpans {
        resource: Some(Resource {
            attributes: service
                .map(|s| vec![kv("service.name", s)])
                .unwrap_or_default(),
            ..Default::default()
        }),
        scope_spans: vec![ScopeSpans {
            spans,
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn one(rs: &[ResourceSpans]) -> Trace {
    let mut traces = Trace::from_otlp(rs, &AssemblyOptions::default());
    assert_eq!(traces.len(), 1);
    traces.remove(0)
}

fn kinds(trace: &Trace) -> Vec<ProblemKind> {
    trace.problems.iter().map(|p| p.kind).collect()
}

fn healthy() -> Vec<ResourceSpans> {
    vec![
        resource(
            Some("ingress"),
            vec![
                span(1, 0, "GET /invoice", 2, 0, 100),
                span(2, 1, "call billing", 3, 10, 90),
            ],
        ),
        resource(
            Some("billing"),
            vec![span(3, 2, "GET /bill", 2, 12, 88), {
                let mut s = span(4, 3, "SELECT", 3, 20, 60);
                s.status = Some(Status {
                    code: 2,
                    message: "timeout".into(),
                });
                s.attributes = vec![kv("db.system", "postgresql")];
                s
            }],
        ),
    ]
}

#[test]
fn a_healthy_trace_has_one_root_a_tree_and_no_problems() {
    let t = one(&healthy());
    assert!(t.problems.is_empty(), "{:?}", t.problems);
    assert_eq!(t.roots, vec![0]);
    let walk: Vec<(String, usize)> = t
        .walk()
        .into_iter()
        .map(|(i, d)| (t.spans[i].name.clone(), d))
        .collect();
    assert_eq!(
        walk,
        vec![
            ("GET /invoice".to_owned(), 0),
            ("call billing".to_owned(), 1),
            ("GET /bill".to_owned(), 2),
            ("SELECT".to_owned(), 3)
        ]
    );
    let s = t.summary();
    assert_eq!(s.root_service.as_deref(), Some("ingress"));
    assert_eq!(s.root_operation.as_deref(), Some("GET /invoice"));
    assert_eq!((s.spans, s.duration_ns, s.error), (4, 100_000_000, true));
    assert_eq!(t.spans[3].attributes["db.system"], "postgresql");
    assert_eq!(t.spans[3].service.as_deref(), Some("billing"));
}

#[test]
fn orphans_multiple_roots_and_client_roots_are_reported() {
    let t = one(&[resource(
        Some("a"),
        vec![
            span(1, 0, "root", 2, 0, 10),
            span(2, 9, "orphan", 2, 1, 2),
            span(3, 0, "second root", 3, 3, 4),
        ],
    )]);
    assert_eq!(
        kinds(&t),
        vec![
            ProblemKind::Orphan,
            ProblemKind::MultipleRoots,
            ProblemKind::ClientRoot
        ]
    );
    assert_eq!(t.problems[0].span_id, SpanId_from(2));
    assert!(t.problems[0].detail.contains("0000000000000009"));
    assert_eq!(t.orphans, vec![1]);
    assert_eq!(t.top_level(), vec![0, 1, 2]);
}

#[allow(non_snake_case)]
fn SpanId_from(n: u8) -> Option<crate::propagation::SpanId> {
    crate::propagation::SpanId::from_bytes([0, 0, 0, 0, 0, 0, 0, n])
}

#[test]
fn duplicate_span_ids_and_missing_service_name_are_reported() {
    let t = one(&[resource(
        None,
        vec![span(1, 0, "root", 2, 0, 10), span(1, 0, "again", 2, 1, 2)],
    )]);
    let k = kinds(&t);
    assert_eq!(k[0], ProblemKind::DuplicateSpanId);
    assert_eq!(
        k.iter()
            .filter(|k| **k == ProblemKind::MissingServiceName)
            .count(),
        2
    );
    assert_eq!(t.spans[0].service_label(), UNKNOWN_SERVICE);
}

#[test]
fn clock_skew_beyond_the_tolerance_is_reported_within_it_is_not() {
    // child starts 5 ms before the parent; another ends 0.5 ms after it (within 1 ms).
    let mut late = span(3, 1, "late", 3, 12, 20);
    late.end_time_unix_nano = 20_500_000;
    let t = one(&[resource(
        Some("a"),
        vec![
            span(1, 0, "root", 2, 10, 20),
            span(2, 1, "early", 3, 5, 15),
            late,
        ],
    )]);
    assert_eq!(kinds(&t), vec![ProblemKind::ClockSkew]);
    assert!(
        t.problems[0].detail.contains("starts 5.00ms before"),
        "{}",
        t.problems[0].detail
    );
    // an async consumer may outlive its producer parent
    let t = one(&[resource(
        Some("a"),
        vec![
            span(1, 0, "root", 2, 0, 10),
            span(2, 1, "consume", 5, 5, 50),
        ],
    )]);
    assert!(t.problems.is_empty());
}

#[test]
fn parent_cycles_and_missing_roots_do_not_hang_and_are_reported() {
    let t = one(&[resource(
        Some("a"),
        vec![span(1, 2, "x", 2, 0, 10), span(2, 1, "y", 2, 1, 5)],
    )]);
    let k = kinds(&t);
    assert!(k.contains(&ProblemKind::NoRoot));
    assert_eq!(k.iter().filter(|k| **k == ProblemKind::Cycle).count(), 2);
}

#[test]
fn invalid_span_ids_are_left_out_and_reported() {
    let mut bad = span(2, 1, "bad", 2, 1, 2);
    bad.span_id = vec![1, 2, 3];
    let t = one(&[resource(Some("a"), vec![span(1, 0, "root", 2, 0, 10), bad])]);
    assert_eq!(t.spans.len(), 1);
    assert_eq!(kinds(&t), vec![ProblemKind::InvalidId]);
}

#[test]
fn spans_of_several_traces_are_split_by_trace_id() {
    let mut other = span(1, 0, "other", 2, 50, 60);
    other.trace_id = vec![7; 16];
    let mut zero = span(5, 0, "zero", 2, 0, 1);
    zero.trace_id = vec![0; 16];
    let traces = Trace::from_otlp(
        &[resource(
            Some("a"),
            vec![span(1, 0, "root", 2, 0, 10), other, zero],
        )],
        &AssemblyOptions::default(),
    );
    assert_eq!(traces.len(), 2);
    assert_eq!(traces[0].spans[0].name, "root");
    assert_eq!(traces[1].spans[0].name, "other");
}

#[test]
fn the_service_graph_has_an_edge_per_crossing_with_counts_and_latency() {
    let g = one(&healthy()).service_graph();
    assert_eq!(g.services, vec!["billing", "ingress"]);
    assert_eq!(
        g.edges,
        vec![Edge {
            caller: "ingress".into(),
            callee: "billing".into(),
            calls: 1,
            total_ns: 76_000_000,
            max_ns: 76_000_000,
            errors: 0,
        }]
    );
}

#[test]
fn self_time_subtracts_merged_clipped_children() {
    // root 0..100 with children 10..40 and 30..60 (overlap) and 90..120 (clipped to 100)
    let t = one(&[resource(
        Some("a"),
        vec![
            span(1, 0, "root", 2, 0, 100),
            span(2, 1, "c1", 1, 10, 40),
            span(3, 1, "c2", 1, 30, 60),
            span(4, 1, "c3", 1, 90, 120),
        ],
    )]);
    let l = t.latency();
    assert_eq!(l.spans[0].self_ns, 40_000_000); // 100 - (10..60) - (90..100 clipped)
    assert_eq!(l.spans[1].self_ns, 30_000_000);
    assert_eq!(l.spans[3].duration_ns, 30_000_000);
    assert_eq!(l.services.len(), 1);
    assert_eq!(l.services[0].spans, 4);
}

/// `(span name, start ms, end ms)` of each critical-path section, latest first.
fn path_of(t: &Trace) -> Vec<(String, u64, u64)> {
    t.critical_path()
        .iter()
        .map(|p| {
            (
                t.spans[p.index].name.clone(),
                p.start_unix_nano / 1_000_000,
                p.end_unix_nano / 1_000_000,
            )
        })
        .collect()
}

fn sections(expected: &[(&str, u64, u64)]) -> Vec<(String, u64, u64)> {
    expected
        .iter()
        .map(|&(n, a, b)| (n.to_owned(), a, b))
        .collect()
}

#[test]
fn the_critical_path_follows_the_last_finishing_child_back_in_time() {
    // b runs beside a and ends last: a is off the path; c inside b is on it
    let t = one(&[resource(
        Some("a"),
        vec![
            span(1, 0, "root", 2, 0, 100),
            span(2, 1, "a", 3, 10, 50),
            span(3, 1, "b", 3, 20, 90),
            span(4, 3, "c", 2, 30, 60),
        ],
    )]);
    assert_eq!(
        path_of(&t),
        sections(&[
            ("root", 90, 100),
            ("b", 60, 90),
            ("c", 30, 60),
            ("b", 20, 30),
            ("root", 0, 20),
        ])
    );
    // one after the other: both calls are on the path, and the gaps are the root's
    let t = one(&[resource(
        Some("a"),
        vec![
            span(1, 0, "root", 2, 0, 100),
            span(2, 1, "a", 3, 10, 40),
            span(3, 1, "b", 3, 50, 90),
        ],
    )]);
    assert_eq!(
        path_of(&t),
        sections(&[
            ("root", 90, 100),
            ("b", 50, 90),
            ("root", 40, 50),
            ("a", 10, 40),
            ("root", 0, 10),
        ])
    );
}

#[test]
fn the_critical_path_clips_children_to_their_parent_and_survives_zero_length_spans() {
    // a child outliving its parent (an asynchronous send) counts up to the parent's end
    let t = one(&[resource(
        Some("a"),
        vec![
            span(1, 0, "root", 2, 0, 100),
            span(2, 1, "async", 4, 10, 150),
            span(3, 1, "zero", 3, 5, 5),
            span(4, 1, "zero-at-end", 3, 100, 100),
        ],
    )]);
    assert_eq!(
        path_of(&t),
        sections(&[("async", 10, 100), ("root", 0, 10)])
    );
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Whatever the parent links, assembly terminates, every span is either walked once
        /// or reported in a cycle, and self time never exceeds duration.
        #[test]
        fn any_parent_links_assemble_to_a_consistent_tree(
            links in proptest::collection::vec((1u8..12, 0u8..14, 0u64..50, 0u64..50), 1..12)
        ) {
            let spans: Vec<OtlpSpan> = links
                .iter()
                .map(|&(id, parent, a, b)| span(id, parent, "s", 2, a.min(b), a.max(b)))
                .collect();
            let t = one(&[resource(Some("svc"), spans)]);
            let walk = t.walk();
            let mut seen = vec![0usize; t.spans.len()];
            for (i, _) in &walk {
                seen[*i] += 1;
            }
            prop_assert!(seen.iter().all(|n| *n <= 1));
            let cycles = t.problems.iter().filter(|p| p.kind == ProblemKind::Cycle).count();
            prop_assert_eq!(walk.len() + cycles, t.spans.len());
            for l in t.latency().spans {
                prop_assert!(l.self_ns <= l.duration_ns);
            }
            // the critical path: non-empty sections, no overlap, covering its top-level span
            let path = t.critical_path();
            let mut by_start: Vec<(u64, u64)> =
                path.iter().map(|p| (p.start_unix_nano, p.end_unix_nano)).collect();
            by_start.sort_unstable();
            for pair in by_start.windows(2) {
                prop_assert!(pair[0].1 <= pair[1].0, "{:?}", by_start);
            }
            prop_assert!(path.iter().all(|p| p.duration_ns() > 0));
            let top = t
                .top_level()
                .into_iter()
                .max_by(|&a, &b| {
                    t.spans[a].end_unix_nano.cmp(&t.spans[b].end_unix_nano).then(b.cmp(&a))
                });
            let covered: u64 = path.iter().map(PathSection::duration_ns).sum();
            prop_assert_eq!(covered, top.map_or(0, |i| t.spans[i].duration_ns()));
        }
    }
}

#[test]
fn an_entry_span_with_an_upstream_parent_is_not_an_orphan_or_a_missing_root() {
    let t = one(&[resource(
        Some("gateway"),
        vec![
            span(1, 0xf0, "POST /order", 2, 0, 10),
            span(2, 1, "GET", 3, 1, 5),
        ],
    )]);
    assert!(t.problems.is_empty(), "{:?}", t.problems);
    let u = t.upstream.expect("upstream parent");
    assert_eq!((u.root, Some(u.parent_span_id)), (0, SpanId_from(0xf0)));
    // the structure is unchanged: the entry span is still top-level, its parent absent
    assert_eq!((t.roots.len(), t.orphans.clone()), (0, vec![0]));
    assert_eq!(t.root().map(|r| r.name.as_str()), Some("POST /order"));
}

#[test]
fn two_spans_with_absent_parents_are_orphans_of_a_missing_root() {
    let t = one(&[resource(
        Some("a"),
        vec![span(1, 0xf0, "x", 2, 0, 10), span(2, 0xf1, "y", 2, 1, 5)],
    )]);
    assert_eq!(t.upstream, None);
    assert_eq!(
        kinds(&t),
        vec![
            ProblemKind::Orphan,
            ProblemKind::Orphan,
            ProblemKind::NoRoot
        ]
    );
    // a span that is its own parent is not an upstream entry either
    let t = one(&[resource(Some("a"), vec![span(1, 1, "self", 2, 0, 10)])]);
    assert_eq!(t.upstream, None);
    assert!(kinds(&t).contains(&ProblemKind::NoRoot));
}

#[test]
fn events_are_kept_with_their_span() {
    let mut s = span(1, 0, "root", 2, 0, 10);
    s.events = vec![opentelemetry_proto::tonic::trace::v1::span::Event {
        time_unix_nano: 5_000_000,
        name: "exception".to_owned(),
        attributes: vec![kv("exception.type", "Timeout")],
        dropped_attributes_count: 0,
    }];
    let t = one(&[resource(Some("a"), vec![s])]);
    let e = &t.spans[0].events;
    assert_eq!(e.len(), 1);
    assert_eq!(
        (e[0].name.as_str(), e[0].time_unix_nano),
        ("exception", 5_000_000)
    );
    assert_eq!(e[0].attributes["exception.type"], "Timeout");
}

#[test]
fn a_listing_filter_keeps_by_service_problems_and_id_prefix() {
    let clean = one(&[resource(
        Some("gateway"),
        vec![span(1, 0, "GET /", 2, 0, 10)],
    )]);
    let mut failed = span(2, 1, "GET /stock", 2, 1, 5);
    failed.status = Some(Status {
        code: 2,
        message: "boom".to_owned(),
    });
    let with_error = one(&[
        resource(Some("gateway"), vec![span(1, 0, "GET /", 2, 0, 10)]),
        resource(Some("stock"), vec![failed]),
    ]);
    let rows = [TraceRow::of(&clean), TraceRow::of(&with_error)];
    assert_eq!(rows[1].services, ["gateway", "stock"]);
    assert_eq!(rows[1].errors, 1);
    let kept = |f: &TraceFilter| rows.iter().filter(|r| f.keeps(r)).count();
    assert_eq!(kept(&TraceFilter::default()), 2);
    let stock = TraceFilter {
        service: Some("stock".to_owned()),
        ..TraceFilter::default()
    };
    assert_eq!(kept(&stock), 1);
    let problems = TraceFilter {
        problems_only: true,
        ..TraceFilter::default()
    };
    assert_eq!(kept(&problems), 1);
    let prefix = TraceFilter {
        id_prefix: id_prefix(" 4B4B "),
        ..TraceFilter::default()
    };
    assert_eq!(kept(&prefix), 2);
    let other = TraceFilter {
        id_prefix: id_prefix("4c"),
        ..TraceFilter::default()
    };
    assert_eq!(kept(&other), 0);
    for bad in ["", "xyz", "4b-", &"a".repeat(33)] {
        assert_eq!(id_prefix(bad), None, "{bad:?}");
    }
}
