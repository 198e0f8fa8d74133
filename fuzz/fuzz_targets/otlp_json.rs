//! Fuzz the OTLP/JSON conversion the receiver runs on `application/json` bodies
//! (`tracegate::otlp::json::to_protobuf`, within a container budget): never a panic; what it
//! produces is protobuf the scanner accepts, with no more spans than the JSON has objects.
#![no_main]

use libfuzzer_sys::fuzz_target;
use prost::bytes::Bytes;
use tracegate::otlp::{json, wire};

const MAX_CONTAINERS: usize = 50_000;

fuzz_target!(|data: &[u8]| {
    let Ok(protobuf) = json::to_protobuf(data, MAX_CONTAINERS) else {
        return;
    };
    let batch = wire::scan(Bytes::from(protobuf)).expect("converted JSON is valid protobuf");
    assert!(batch.span_count() <= json::count_containers(data));
});
