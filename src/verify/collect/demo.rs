//! Where the demo platform's spans are read: its shared destination's store, and each
//! destination's store for AC-005.

use super::{DestinationSource, SpanSource};
use crate::demo::Platform;

/// The span source (the shared destination's store) and the destinations (`shared`, `acme`,
/// `globex`, each with its tenant) of a running demo platform.
pub fn demo_sources(platform: &Platform) -> (SpanSource, Vec<DestinationSource>) {
    let destinations = platform
        .destinations()
        .iter()
        .filter_map(|d| {
            Some(DestinationSource {
                name: d.name.clone(),
                tenant: d.tenant.clone(),
                source: SpanSource::Store(platform.destination_store(&d.name)?),
            })
        })
        .collect();
    (SpanSource::Store(platform.shared_store()), destinations)
}
