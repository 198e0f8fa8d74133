//! Traces a source holds that no requested trace ID names: new traces started by a service
//! that dropped the incoming context. Only a source that can list its traces can tell: an
//! in-process store, or a tracegate receiver (`GET /api/traces`). Tempo and Jaeger are asked
//! by trace ID only.

use std::collections::HashSet;

use opentelemetry_proto::tonic::trace::v1::TracesData;

use super::reader::Reader;
use crate::otlp::client::Backend;
use crate::otlp::http::MAX_LIST_LIMIT;
use crate::propagation::TraceId;

/// The unrequested traces of `reader` that may have started at or after `window_start`
/// (unix ns; every trace when `None`), with their spans; `None` when the source cannot list
/// every such trace (a Tempo or Jaeger backend, a failed listing, or a listing that stops
/// before the window starts).
pub(crate) async fn read(
    reader: &Reader,
    requested: &HashSet<TraceId>,
    window_start: Option<u64>,
) -> Option<Vec<(TraceId, TracesData)>> {
    let in_window = |start: u64| start == 0 || window_start.is_none_or(|since| start >= since);
    match reader {
        Reader::Store(store) => Some(
            store
                .trace_ids()
                .into_iter()
                .filter(|id| !requested.contains(id))
                .filter_map(|id| store.get(id).map(|data| (id, data)))
                .collect(),
        ),
        Reader::Backend { client, .. } if client.backend() == Backend::Tracegate => {
            let listing = client.list(MAX_LIST_LIMIT).await.ok()?;
            // newest first: complete when it is shorter than the limit or reaches back past
            // the window's start
            let reaches_back = listing.len() < MAX_LIST_LIMIT
                || listing
                    .iter()
                    .any(|s| s.start_unix_nano > 0 && !in_window(s.start_unix_nano));
            if !reaches_back {
                return None;
            }
            let candidates: Vec<TraceId> = listing
                .iter()
                .filter(|s| in_window(s.start_unix_nano))
                .filter_map(|s| TraceId::from_hex(&s.trace_id))
                .filter(|id| !requested.contains(id))
                .collect();
            let mut server_errors = 0;
            let found = reader
                .read_all(&candidates, &|_| None, &mut server_errors)
                .await
                .ok()?;
            Some(found.into_iter().collect())
        }
        Reader::Backend { .. } => None,
    }
}
