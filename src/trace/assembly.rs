//! Traces assembled from OTLP spans ([`Trace::from_otlp`], [`Trace::assemble`]): spans grouped
//! by trace, their service and attributes decoded, the parent/child tree built and every
//! structural [`Problem`] found reported as data. The types are in [`super::model`].

use std::collections::{BTreeMap, HashMap};

use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::ResourceSpans;

use super::model::{
    format_ns, AssemblyOptions, Problem, ProblemKind, Span, SpanEvent, SpanKind, SpanStatus,
    StatusCode, Trace,
};
use crate::propagation::{SpanId, TraceId};

impl Trace {
    /// Assemble every trace found in `resource_spans`. Spans with an invalid trace ID are
    /// dropped (the receiver rejects them before they are stored); traces come out ordered by
    /// their earliest start.
    pub fn from_otlp(resource_spans: &[ResourceSpans], options: &AssemblyOptions) -> Vec<Trace> {
        let mut grouped: HashMap<TraceId, (Vec<Span>, Vec<Problem>)> = HashMap::new();
        for rs in resource_spans {
            let resource_attributes = rs
                .resource
                .as_ref()
                .map(|r| attributes_to_map(&r.attributes))
                .unwrap_or_default();
            let service = resource_attributes
                .get("service.name")
                .and_then(|v| v.as_str())
                .filter(|s| !s.is_empty())
                .map(str::to_owned);
            for ss in &rs.scope_spans {
                for s in &ss.spans {
                    let Some(trace_id) = <[u8; 16]>::try_from(s.trace_id.as_slice())
                        .ok()
                        .and_then(TraceId::from_bytes)
                    else {
                        continue;
                    };
                    let entry = grouped.entry(trace_id).or_default();
                    let span_id = <[u8; 8]>::try_from(s.span_id.as_slice())
                        .ok()
                        .and_then(SpanId::from_bytes);
                    let parent = parse_parent(&s.parent_span_id);
                    let (Some(span_id), Ok(parent_span_id)) = (span_id, parent) else {
                        entry.1.push(Problem {
                            kind: ProblemKind::InvalidId,
                            span_id: None,
                            detail: format!(
                                "span {:?} has span ID {} and parent ID {}; it was left out",
                                s.name,
                                hex(&s.span_id),
                                hex(&s.parent_span_id)
                            ),
                        });
                        continue;
                    };
                    entry.0.push(Span {
                        trace_id,
                        span_id,
                        parent_span_id,
                        service: service.clone(),
                        name: s.name.clone(),
                        kind: SpanKind::from_otlp(s.kind),
                        start_unix_nano: s.start_time_unix_nano,
                        end_unix_nano: s.end_time_unix_nano,
                        status: status_of(s.status.as_ref()),
                        attributes: attributes_to_map(&s.attributes),
                        resource_attributes: resource_attributes.clone(),
                        events: s
                            .events
                            .iter()
                            .map(|e| SpanEvent {
                                name: e.name.clone(),
                                time_unix_nano: e.time_unix_nano,
                                attributes: attributes_to_map(&e.attributes),
                            })
                            .collect(),
                    });
                }
            }
        }
        let mut traces: Vec<Trace> = grouped
            .into_iter()
            .map(|(id, (spans, problems))| Trace::assemble(id, spans, problems, options))
            .collect();
        traces.sort_by_key(|t| (t.start_unix_nano(), t.trace_id));
        traces
    }

    /// Build the tree of `spans` (all of trace `trace_id`) and find its problems.
    pub fn assemble(
        trace_id: TraceId,
        mut spans: Vec<Span>,
        mut problems: Vec<Problem>,
        options: &AssemblyOptions,
    ) -> Trace {
        spans.sort_by_key(|s| (s.start_unix_nano, s.span_id, s.end_unix_nano));
        let n = spans.len();
        let mut index: HashMap<SpanId, usize> = HashMap::with_capacity(n);
        for (i, span) in spans.iter().enumerate() {
            if let Some(&first) = index.get(&span.span_id) {
                problems.push(Problem {
                    kind: ProblemKind::DuplicateSpanId,
                    span_id: Some(span.span_id),
                    detail: format!(
                        "span ID {} is used by {:?} and {:?}",
                        span.span_id, spans[first].name, span.name
                    ),
                });
            } else {
                index.insert(span.span_id, i);
            }
        }
        let mut parent = vec![None; n];
        let mut children = vec![Vec::new(); n];
        let mut roots = Vec::new();
        let mut orphans = Vec::new();
        for (i, span) in spans.iter().enumerate() {
            match span.parent_span_id {
                None => roots.push(i),
                Some(p) => match index.get(&p) {
                    Some(&pi) if pi != i => {
                        parent[i] = Some(pi);
                        children[pi].push(i);
                    }
                    _ => orphans.push(i),
                },
            }
        }
        let upstream = super::analysis::upstream(&spans, &roots, &orphans);
        for &i in &orphans {
            let span = &spans[i];
            let Some(p) = span.parent_span_id else {
                continue;
            };
            if upstream.is_some_and(|u| u.root == i) {
                continue;
            }
            problems.push(Problem {
                kind: ProblemKind::Orphan,
                span_id: Some(span.span_id),
                detail: format!(
                    "{} {:?}: parent span {} is not in the trace",
                    span.service_label(),
                    span.name,
                    p
                ),
            });
        }
        if roots.is_empty() && upstream.is_none() && n > 0 {
            problems.push(Problem {
                kind: ProblemKind::NoRoot,
                span_id: None,
                detail: "no span without a parent: the root span is missing".to_owned(),
            });
        }
        if let Some((&first, rest)) = roots.split_first() {
            for &r in rest {
                problems.push(Problem {
                    kind: ProblemKind::MultipleRoots,
                    span_id: Some(spans[r].span_id),
                    detail: format!(
                        "{} {:?} is a second root besides {} {:?}",
                        spans[r].service_label(),
                        spans[r].name,
                        spans[first].service_label(),
                        spans[first].name
                    ),
                });
            }
        }
        for &r in &roots {
            if spans[r].kind == SpanKind::Client {
                problems.push(Problem {
                    kind: ProblemKind::ClientRoot,
                    span_id: Some(spans[r].span_id),
                    detail: format!(
                        "root span {} {:?} is a CLIENT span: the trace context was lost upstream",
                        spans[r].service_label(),
                        spans[r].name
                    ),
                });
            }
        }
        let tol = options.clock_skew_tolerance_ns;
        for (i, span) in spans.iter().enumerate() {
            let Some(pi) = parent[i] else { continue };
            let p = &spans[pi];
            if span.start_unix_nano.saturating_add(tol) < p.start_unix_nano {
                problems.push(Problem {
                    kind: ProblemKind::ClockSkew,
                    span_id: Some(span.span_id),
                    detail: format!(
                        "{} {:?} starts {} before its parent {:?}",
                        span.service_label(),
                        span.name,
                        format_ns(p.start_unix_nano - span.start_unix_nano),
                        p.name
                    ),
                });
            } else if !span.kind.is_async()
                && !p.kind.is_async()
                && span.end_unix_nano > p.end_unix_nano.saturating_add(tol)
            {
                problems.push(Problem {
                    kind: ProblemKind::ClockSkew,
                    span_id: Some(span.span_id),
                    detail: format!(
                        "{} {:?} ends {} after its parent {:?}",
                        span.service_label(),
                        span.name,
                        format_ns(span.end_unix_nano - p.end_unix_nano),
                        p.name
                    ),
                });
            }
        }
        for span in &spans {
            if span.service.is_none() {
                problems.push(Problem {
                    kind: ProblemKind::MissingServiceName,
                    span_id: Some(span.span_id),
                    detail: format!(
                        "span {:?} has no service.name resource attribute",
                        span.name
                    ),
                });
            }
        }
        let mut trace = Trace {
            trace_id,
            spans,
            parent,
            children,
            roots,
            orphans,
            upstream,
            problems,
        };
        let reached = trace.walk().len();
        if reached < n {
            let mut seen = vec![false; n];
            for (i, _) in trace.walk() {
                seen[i] = true;
            }
            for (i, s) in trace.spans.iter().enumerate() {
                if !seen[i] {
                    trace.problems.push(Problem {
                        kind: ProblemKind::Cycle,
                        span_id: Some(s.span_id),
                        detail: format!(
                            "{:?} is in a parent cycle, unreachable from any root",
                            s.name
                        ),
                    });
                }
            }
        }
        trace
    }
}

fn parse_parent(bytes: &[u8]) -> Result<Option<SpanId>, ()> {
    if bytes.is_empty() || bytes == [0u8; 8] {
        return Ok(None);
    }
    <[u8; 8]>::try_from(bytes)
        .ok()
        .and_then(SpanId::from_bytes)
        .map(Some)
        .ok_or(())
}

fn status_of(status: Option<&opentelemetry_proto::tonic::trace::v1::Status>) -> SpanStatus {
    match status {
        None => SpanStatus {
            code: StatusCode::Unset,
            message: String::new(),
        },
        Some(s) => SpanStatus {
            code: match s.code {
                1 => StatusCode::Ok,
                2 => StatusCode::Error,
                _ => StatusCode::Unset,
            },
            message: s.message.clone(),
        },
    }
}

/// OTLP attributes as JSON values (ints and doubles as numbers, bytes as lowercase hex).
pub(crate) fn attributes_to_map(attributes: &[KeyValue]) -> BTreeMap<String, serde_json::Value> {
    attributes
        .iter()
        .map(|kv| (kv.key.clone(), any_to_json(kv.value.as_ref())))
        .collect()
}

fn any_to_json(value: Option<&AnyValue>) -> serde_json::Value {
    use serde_json::Value;
    match value.and_then(|v| v.value.as_ref()) {
        None | Some(any_value::Value::StringValueStrindex(_)) => Value::Null,
        Some(any_value::Value::StringValue(s)) => Value::String(s.clone()),
        Some(any_value::Value::BoolValue(b)) => Value::Bool(*b),
        Some(any_value::Value::IntValue(i)) => Value::from(*i),
        Some(any_value::Value::DoubleValue(d)) => {
            serde_json::Number::from_f64(*d).map_or(Value::Null, Value::Number)
        }
        Some(any_value::Value::ArrayValue(a)) => {
            Value::Array(a.values.iter().map(|v| any_to_json(Some(v))).collect())
        }
        Some(any_value::Value::KvlistValue(kv)) => Value::Object(
            kv.values
                .iter()
                .map(|kv| (kv.key.clone(), any_to_json(kv.value.as_ref())))
                .collect(),
        ),
        Some(any_value::Value::BytesValue(b)) => Value::String(hex(b)),
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    if bytes.is_empty() {
        return "(empty)".to_owned();
    }
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}
