//! AC-005's view: which of the run's traces reached each destination, and whose spans
//! (`tenant.id`) each destination holds.

use std::time::Duration;

use opentelemetry_proto::tonic::trace::v1::TracesData;

use super::reader::{string_attribute, Reader};
use super::DestinationSource;
use crate::propagation::TraceId;
use crate::verify::model::DestinationSpans;

/// The attribute naming a span's tenant (on the span, or on its resource).
pub const TENANT_ATTRIBUTE: &str = "tenant.id";

/// Read the run's traces (`ids`) at `destination`. A destination that can list its traces
/// (a store) also counts the spans of the other traces that started at or after
/// `window_start_unix_nano` (traces a service started anew, which no response named).
pub(crate) async fn read(
    destination: &DestinationSource,
    ids: &[TraceId],
    request_timeout: Duration,
    window_start_unix_nano: Option<u64>,
) -> DestinationSpans {
    let mut spans = DestinationSpans {
        name: destination.name.clone(),
        tenant: destination.tenant.clone(),
        ..DestinationSpans::default()
    };
    let reader = match Reader::new(&destination.source, request_timeout) {
        Ok(reader) => reader,
        Err(e) => {
            spans.error = Some(e.to_string());
            return spans;
        }
    };
    let mut server_errors = 0;
    match reader.read_all(ids, &|_| None, &mut server_errors).await {
        Ok(found) => {
            for (id, data) in &found {
                spans.trace_ids.insert(*id);
                count_tenants(data, None, &mut spans);
            }
        }
        Err(e) => {
            spans.error = Some(e.to_string());
            return spans;
        }
    }
    if let Some(store) = reader.store() {
        let requested: std::collections::HashSet<TraceId> = ids.iter().copied().collect();
        for id in store.trace_ids() {
            if requested.contains(&id) {
                continue;
            }
            if let Some(data) = store.get(id) {
                count_tenants(&data, window_start_unix_nano, &mut spans);
            }
        }
    }
    spans
}

/// Add the spans of `data` (those starting at or after `since`, when given) per tenant, and
/// the services that sent them.
pub(crate) fn count_tenants(data: &TracesData, since: Option<u64>, spans: &mut DestinationSpans) {
    let counts = &mut spans.spans_by_tenant;
    let senders = &mut spans.senders_by_tenant;
    for rs in &data.resource_spans {
        let resource_tenant = rs
            .resource
            .as_ref()
            .and_then(|r| string_attribute(&r.attributes, TENANT_ATTRIBUTE));
        let service = rs
            .resource
            .as_ref()
            .and_then(|r| string_attribute(&r.attributes, "service.name"))
            .unwrap_or(crate::trace::UNKNOWN_SERVICE);
        for span in rs.scope_spans.iter().flat_map(|ss| &ss.spans) {
            if since.is_some_and(|since| span.start_time_unix_nano < since) {
                continue;
            }
            let tenant = string_attribute(&span.attributes, TENANT_ATTRIBUTE)
                .or(resource_tenant)
                .unwrap_or("");
            *counts.entry(tenant.to_owned()).or_default() += 1;
            if !senders.get(tenant).is_some_and(|s| s.contains(service)) {
                senders
                    .entry(tenant.to_owned())
                    .or_default()
                    .insert(service.to_owned());
            }
        }
    }
}
