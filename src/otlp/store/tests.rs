use std::io::Write;

use super::*;
use crate::otlp::sample;

const T1: [u8; 16] = [1; 16];

#[test]
fn spans_are_indexed_by_trace_id_and_grouped_by_resource() {
    let store = Store::in_memory(100);
    let out = store
        .ingest(sample::request(
            "ingress",
            vec![sample::span(T1, 1, 0, "root", 0, 10)],
        ))
        .unwrap();
    assert_eq!((out.accepted, out.rejected), (1, 0));
    store
        .ingest(sample::request(
            "billing",
            vec![sample::span(T1, 2, 1, "child", 1, 5)],
        ))
        .unwrap();
    let data = store.get(TraceId::from_bytes(T1).unwrap()).unwrap();
    assert_eq!(data.resource_spans.len(), 2);
    let traces = Trace::from_otlp(&data.resource_spans, &AssemblyOptions::default());
    assert_eq!(traces[0].spans.len(), 2);
    assert!(traces[0].problems.is_empty(), "{:?}", traces[0].problems);
    assert!(store.get(TraceId::from_bytes([2; 16]).unwrap()).is_none());
    assert_eq!((store.span_count(), store.trace_count()), (2, 1));
}

#[test]
fn invalid_ids_are_rejected_as_partial_success() {
    let store = Store::in_memory(100);
    let mut bad = sample::span(T1, 2, 1, "bad", 0, 1);
    bad.span_id = vec![1, 2];
    let mut zero = sample::span(T1, 3, 1, "zero", 0, 1);
    zero.trace_id = vec![0; 16];
    let out = store
        .ingest(sample::request(
            "a",
            vec![sample::span(T1, 1, 0, "ok", 0, 1), bad, zero],
        ))
        .unwrap();
    assert_eq!((out.accepted, out.rejected), (1, 2));
    assert!(out.reason.unwrap().contains("span ID must be 8 bytes"));
    assert_eq!(store.span_count(), 1);
}

#[test]
fn a_batch_larger_than_the_whole_store_is_refused_and_nothing_is_evicted_for_it() {
    let store = Store::in_memory(10);
    store.ingest(sample::batch(1, 8, 4)).unwrap();
    let err = store.ingest(sample::batch(2, 11, 4)).unwrap_err();
    assert!(
        matches!(
            err,
            IngestError::TooLarge {
                spans: 11,
                max_spans: 10,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(store.span_count(), 8);
    assert_eq!(store.stats().refused_batches, 1);
    assert_eq!(store.stats().evicted_traces, 0);
    store.ingest(sample::batch(3, 10, 5)).unwrap();
    assert_eq!(store.span_count(), 10);
}

#[test]
fn recent_lists_newest_first_and_take_quiet_returns_each_trace_once() {
    let store = Store::in_memory(100);
    let opts = AssemblyOptions::default();
    store.ingest(sample::batch(1, 2, 2)).unwrap();
    store.ingest(sample::batch(2, 3, 3)).unwrap();
    let recent = store.recent(10, &opts);
    assert_eq!(recent.len(), 2);
    assert_eq!(recent[0].spans, 3);
    assert_eq!(recent[0].root_service.as_deref(), Some("bench"));
    assert_eq!(store.recent(1, &opts).len(), 1);
    assert_eq!(store.take_quiet(Duration::ZERO, &opts).len(), 2);
    assert!(store.take_quiet(Duration::ZERO, &opts).is_empty());
    assert!(store
        .take_quiet(Duration::from_secs(3600), &opts)
        .is_empty());
}

#[test]
fn a_persisted_store_survives_a_restart_and_skips_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (store, report) = Store::open(dir.path(), 100).unwrap();
        assert_eq!(report, LoadReport::default());
        store.ingest(sample::batch(1, 4, 2)).unwrap();
        store.ingest(sample::batch(2, 3, 3)).unwrap();
    }
    // a crash mid-write: half a record header and some payload
    let path = dir.path().join(persist::LOG_FILE);
    let good_len = std::fs::metadata(&path).unwrap().len();
    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap()
        .write_all(&[200, 0, 0, 0, 1, 2, 3, 4, 9, 9])
        .unwrap();
    let (store, report) = Store::open(dir.path(), 100).unwrap();
    assert_eq!(
        (report.batches, report.spans, report.skipped_bytes),
        (2, 7, 10)
    );
    assert_eq!(std::fs::metadata(&path).unwrap().len(), good_len);
    assert_eq!(store.trace_count(), 3);
    // loaded traces are not reported again as finished; new ones are
    let opts = AssemblyOptions::default();
    assert!(store.take_quiet(Duration::ZERO, &opts).is_empty());
    // appending after the repair keeps the log readable
    store.ingest(sample::batch(3, 1, 1)).unwrap();
    assert_eq!(store.take_quiet(Duration::ZERO, &opts).len(), 1);
    drop(store);
    let (store, report) = Store::open(dir.path(), 100).unwrap();
    assert_eq!((report.batches, report.skipped_bytes), (3, 0));
    assert_eq!(store.span_count(), 8);
}

#[test]
fn a_corrupt_final_record_is_cut_and_a_foreign_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (store, _) = Store::open(dir.path(), 100).unwrap();
        store.ingest(sample::batch(1, 2, 2)).unwrap();
        store.ingest(sample::batch(2, 2, 2)).unwrap();
    }
    let path = dir.path().join(persist::LOG_FILE);
    let mut data = std::fs::read(&path).unwrap();
    let last = data.len() - 3;
    data[last] ^= 0xff; // flip a payload byte of the second record
    std::fs::write(&path, &data).unwrap();
    let (store, report) = Store::open(dir.path(), 100).unwrap();
    assert_eq!(report.batches, 1);
    assert!(report.skipped_bytes > 0);
    assert_eq!(store.span_count(), 2);

    let other = tempfile::tempdir().unwrap();
    std::fs::write(other.path().join(persist::LOG_FILE), b"hello world").unwrap();
    let err = Store::open(other.path(), 100).err().unwrap();
    assert!(
        err.to_string().contains("not a tracegate trace store"),
        "{err}"
    );
}

#[test]
fn clear_empties_the_memory_store() {
    let store = Store::in_memory(10);
    store.ingest(sample::batch(1, 8, 4)).unwrap();
    store.clear();
    assert_eq!((store.span_count(), store.trace_count()), (0, 0));
    store.ingest(sample::batch(2, 10, 5)).unwrap();
}

#[test]
fn the_retained_request_bytes_are_bounded_too() {
    use prost::Message;
    let body = |seed| Bytes::from(sample::batch(seed, 4, 4).encode_to_vec());
    let len = body(1).len();
    let store = Store::in_memory(1000).with_max_bytes(len * 2);
    store.ingest_encoded(body(1)).unwrap();
    store.ingest_encoded(body(2)).unwrap();
    assert_eq!(store.byte_count(), len * 2);
    store.ingest_encoded(body(3)).unwrap();
    assert_eq!(store.byte_count(), len * 2, "the oldest trace made room");
    assert_eq!((store.span_count(), store.stats().evicted_spans), (8, 4));
    let big = Bytes::from(sample::batch(9, 40, 4).encode_to_vec());
    let err = store.ingest_encoded(big).unwrap_err();
    assert!(matches!(err, IngestError::TooLarge { .. }), "{err}");
}

#[test]
fn a_full_store_evicts_the_oldest_traces_and_keeps_accepting() {
    let store = Store::in_memory(10);
    store.ingest(sample::batch(1, 8, 4)).unwrap(); // traces A1, A2 (4 spans each)
    store.ingest(sample::batch(2, 4, 4)).unwrap(); // trace B1: A1 is evicted
    assert_eq!((store.span_count(), store.trace_count()), (8, 2));
    let first = |seed: u64| {
        let mut t = [0u8; 16];
        t[..8].copy_from_slice(&(seed + 1).to_be_bytes());
        t[8..].copy_from_slice(&1u64.to_be_bytes());
        TraceId::from_bytes(t).unwrap()
    };
    assert!(store.get(first(1)).is_none(), "the oldest trace is evicted");
    assert!(store.get(first(2)).is_some());
    for seed in 3..50 {
        store.ingest(sample::batch(seed, 4, 2)).unwrap();
        assert!(store.span_count() <= 10);
    }
}

#[test]
fn a_flipped_byte_a_quarter_into_the_log_costs_only_its_record() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (store, _) = Store::open(dir.path(), 1000).unwrap();
        for seed in 0..8 {
            store.ingest(sample::batch(seed, 4, 2)).unwrap();
        }
    }
    let path = dir.path().join(persist::LOG_FILE);
    let mut data = std::fs::read(&path).unwrap();
    let quarter = data.len() / 4;
    data[quarter] ^= 0x5a;
    std::fs::write(&path, &data).unwrap();
    let (store, report) = Store::open(dir.path(), 1000).unwrap();
    assert_eq!(report.batches, 7, "{report:?}");
    assert_eq!(store.span_count(), 28);
    // the file is not truncated: the damaged record stays (skipped), the rest is intact
    assert_eq!(std::fs::metadata(&path).unwrap().len(), data.len() as u64);
}
