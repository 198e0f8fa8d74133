//! The persisted store: failed writes, compaction, loading more than fits, format 1.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};

use super::*;
use crate::otlp::persist::{FsyncPolicy, PersistOptions, Sink};
use crate::otlp::sample;

/// The log file, accepting `budget` more bytes and then failing like a full disk (after a
/// short write of what fits).
struct FullDisk {
    file: File,
    budget: usize,
}

impl Write for FullDisk {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.budget == 0 {
            return Err(io::Error::from_raw_os_error(28)); // ENOSPC
        }
        let n = buf.len().min(self.budget);
        self.budget -= n;
        self.file.write(&buf[..n])
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl Sink for FullDisk {
    fn set_len(&mut self, len: u64) -> io::Result<()> {
        Sink::set_len(&mut self.file, len)
    }

    fn sync(&mut self) -> io::Result<()> {
        self.file.sync_data()
    }
}

fn log_path(dir: &Path) -> std::path::PathBuf {
    dir.join(persist::LOG_FILE)
}

fn append_handle(dir: &Path) -> File {
    OpenOptions::new().append(true).open(log_path(dir)).unwrap()
}

fn set_sink(store: &Store, sink: Box<dyn Sink>) {
    lock(store.log.as_ref().unwrap()).set_sink(sink);
}

fn trace_key(seed: u64, t: u64) -> TraceId {
    let mut key = [0u8; 16];
    key[..8].copy_from_slice(&(seed + 1).to_be_bytes());
    key[8..].copy_from_slice(&(t + 1).to_be_bytes());
    TraceId::from_bytes(key).unwrap()
}

#[test]
fn a_short_write_leaves_no_damaged_record_and_later_batches_survive() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = Store::open(dir.path(), 10_000).unwrap();
    store.ingest(sample::batch(1, 4, 2)).unwrap();
    let before = std::fs::metadata(log_path(dir.path())).unwrap().len();
    // the disk fills up in the middle of the next record
    set_sink(
        &store,
        Box::new(FullDisk {
            file: append_handle(dir.path()),
            budget: 30,
        }),
    );
    let err = store.ingest(sample::batch(2, 4, 2)).unwrap_err();
    assert!(matches!(err, IngestError::Io(_)), "{err}");
    assert!(err.to_string().contains("traces.log"), "{err}");
    assert_eq!(
        std::fs::metadata(log_path(dir.path())).unwrap().len(),
        before,
        "the partial record is cut off again"
    );
    assert!(
        store.get(trace_key(2, 0)).is_none(),
        "a refused batch is not held"
    );
    let stats = store.stats();
    assert_eq!(stats.write_failures, 1);
    assert!(stats.last_write_error.unwrap().contains("No space left"));
    // space returns: what is acknowledged from now on survives a restart
    set_sink(&store, Box::new(append_handle(dir.path())));
    store.ingest(sample::batch(3, 4, 2)).unwrap();
    store.ingest(sample::batch(4, 4, 2)).unwrap();
    drop(store);
    let (store, report) = Store::open(dir.path(), 10_000).unwrap();
    assert_eq!(
        (report.batches, report.damaged_records),
        (3, 0),
        "{report:?}"
    );
    assert_eq!(report.skipped_bytes, 0);
    assert!(store.get(trace_key(3, 1)).is_some() && store.get(trace_key(4, 1)).is_some());
}

#[test]
fn a_failed_cut_is_retried_before_the_next_append() {
    struct NoCut(File, bool);
    impl Write for NoCut {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.1 {
                self.1 = false;
                self.0.write_all(&buf[..buf.len() / 2])?;
                return Err(io::Error::from_raw_os_error(28));
            }
            self.0.write(buf)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    impl Sink for NoCut {
        fn set_len(&mut self, len: u64) -> io::Result<()> {
            if self.1 {
                return Err(io::Error::other("cannot truncate"));
            }
            Sink::set_len(&mut self.0, len)
        }
        fn sync(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = Store::open(dir.path(), 10_000).unwrap();
    store.ingest(sample::batch(1, 4, 2)).unwrap();
    // the write fails half way, and so does the first truncation
    let mut sink = NoCut(append_handle(dir.path()), true);
    sink.1 = true;
    set_sink(&store, Box::new(sink));
    assert!(store.ingest(sample::batch(2, 4, 2)).is_err());
    store.ingest(sample::batch(3, 4, 2)).unwrap();
    drop(store);
    let (_, report) = Store::open(dir.path(), 10_000).unwrap();
    assert_eq!(
        (report.batches, report.damaged_records),
        (2, 0),
        "{report:?}"
    );
}

#[test]
fn the_log_is_compacted_to_what_memory_holds_and_stays_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let options = PersistOptions {
        max_log_bytes: 64 * 1024,
        fsync: FsyncPolicy::Never,
        ..PersistOptions::default()
    };
    let (store, _) = Store::open_with(dir.path(), usize::MAX, usize::MAX, options).unwrap();
    for seed in 0..400 {
        store.ingest(sample::batch(seed, 8, 4)).unwrap();
        let len = std::fs::metadata(log_path(dir.path())).unwrap().len();
        assert!(
            len <= 64 * 1024 + 4096,
            "log of {len} bytes after batch {seed}"
        );
    }
    let stats = store.stats();
    assert!(
        stats.compactions > 0 && stats.evicted_traces > 0,
        "{stats:?}"
    );
    assert!(stats.bytes <= 32 * 1024);
    let held = (store.trace_count(), store.span_count());
    assert!(
        store.get(trace_key(399, 1)).is_some(),
        "the newest trace is held"
    );
    drop(store);
    let (store, report) = Store::open_with(dir.path(), usize::MAX, usize::MAX, options).unwrap();
    assert_eq!((store.trace_count(), store.span_count()), held);
    // the log also holds batches appended since the last compaction, evicted from memory
    // since: loading evicts them again, in the same order
    assert_eq!(report.spans, held.1, "{report:?}");
    assert!(store.get(trace_key(399, 1)).is_some());
    assert!(
        store.get(trace_key(0, 0)).is_none(),
        "evicted traces left the log too"
    );
}

#[test]
fn loading_more_than_fits_keeps_the_newest_traces() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (store, _) = Store::open(dir.path(), 10_000).unwrap();
        for seed in 0..10 {
            store.ingest(sample::batch(seed, 4, 2)).unwrap();
        }
    }
    let (store, report) =
        Store::open_with(dir.path(), 8, usize::MAX, PersistOptions::default()).unwrap();
    assert_eq!(
        (report.batches, report.spans, report.evicted_spans),
        (10, 8, 32)
    );
    assert!(store.get(trace_key(9, 1)).is_some() && store.get(trace_key(8, 0)).is_some());
    assert!(store.get(trace_key(7, 1)).is_none());
    // the log was compacted to what is held
    drop(store);
    let (_, report) = Store::open(dir.path(), 10_000).unwrap();
    assert_eq!((report.spans, report.evicted_spans), (8, 0));
}

#[test]
fn a_format_1_log_is_read_and_rewritten_in_format_2() {
    let dir = tempfile::tempdir().unwrap();
    let mut v1 = b"TGTRACE1".to_vec();
    for seed in 0..3 {
        let payload = sample::batch(seed, 4, 2).encode_to_vec();
        let mut crc = flate2::Crc::new();
        crc.update(&payload);
        v1.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        v1.extend_from_slice(&crc.sum().to_le_bytes());
        v1.extend_from_slice(&payload);
    }
    std::fs::write(log_path(dir.path()), &v1).unwrap();
    let (store, report) = Store::load_read_only(dir.path(), usize::MAX).unwrap();
    assert_eq!((report.batches, store.span_count()), (3, 12));
    let (store, report) = Store::open(dir.path(), 10_000).unwrap();
    assert!(report.upgraded);
    store.ingest(sample::batch(7, 4, 2)).unwrap();
    drop(store);
    let data = std::fs::read(log_path(dir.path())).unwrap();
    assert_eq!(&data[..8], b"TGTRACE2");
    let (store, report) = Store::open(dir.path(), 10_000).unwrap();
    assert!(!report.upgraded);
    assert_eq!(store.span_count(), 16);
}

#[test]
fn a_read_only_reader_skips_a_record_being_written() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = Store::open(dir.path(), 10_000).unwrap();
    store.ingest(sample::batch(1, 4, 2)).unwrap();
    // half a record, as a reader may see while `collect` writes one
    let record = persist::frame::frame(&sample::batch(2, 4, 2).encode_to_vec());
    let mut file = append_handle(dir.path());
    file.write_all(&record[..record.len() / 2]).unwrap();
    let (reader, report) = Store::load_read_only(dir.path(), usize::MAX).unwrap();
    assert_eq!(reader.span_count(), 4);
    assert_eq!(report.skipped_bytes, (record.len() / 2) as u64);
    // the writer is not disturbed: it does not read the file again
    file.write_all(&record[record.len() / 2..]).unwrap();
    let (reader, report) = Store::load_read_only(dir.path(), usize::MAX).unwrap();
    assert_eq!((reader.span_count(), report.skipped_bytes), (8, 0));
}

#[test]
fn a_snapshot_is_decoded_after_the_lock_is_released() {
    let store = Store::in_memory(100);
    store.ingest(sample::batch(1, 4, 4)).unwrap();
    let snapshot = store.snapshot(trace_key(1, 0)).unwrap();
    // the store is writable while the snapshot is alive (no lock is held by it)
    let writer = store.inner.try_write();
    assert!(writer.is_ok(), "a snapshot holds no lock");
    drop(writer);
    store.clear();
    assert_eq!(snapshot.span_count(), 4);
    let data = snapshot.to_otlp();
    assert_eq!(data.resource_spans[0].scope_spans[0].spans.len(), 4);
}

#[test]
fn fsync_policies_all_keep_the_log_readable() {
    for fsync in [FsyncPolicy::Always, FsyncPolicy::Batch, FsyncPolicy::Never] {
        let dir = tempfile::tempdir().unwrap();
        let options = PersistOptions {
            fsync,
            fsync_interval: Duration::ZERO,
            ..PersistOptions::default()
        };
        let (store, _) = Store::open_with(dir.path(), 1000, usize::MAX, options).unwrap();
        store.ingest(sample::batch(1, 4, 2)).unwrap();
        store.sync().unwrap();
        drop(store);
        let (store, _) = Store::open(dir.path(), 1000).unwrap();
        assert_eq!(store.span_count(), 4, "{fsync:?}");
    }
}

#[test]
fn queries_do_not_wait_for_an_fsync() {
    use std::sync::mpsc;
    /// The log file, whose fsync waits until the test lets it finish.
    struct SlowSync {
        file: File,
        in_sync: mpsc::Sender<()>,
        release: mpsc::Receiver<()>,
    }
    impl Write for SlowSync {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.file.write(buf)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    impl Sink for SlowSync {
        fn set_len(&mut self, len: u64) -> io::Result<()> {
            Sink::set_len(&mut self.file, len)
        }
        fn sync(&mut self) -> io::Result<()> {
            let _ = self.in_sync.send(());
            let _ = self.release.recv_timeout(Duration::from_secs(10));
            self.file.sync_data()
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = Store::open(dir.path(), 10_000).unwrap(); // --fsync always
    store.ingest(sample::batch(1, 4, 2)).unwrap();
    let (in_sync, syncing) = mpsc::channel();
    let (release, released) = mpsc::channel();
    set_sink(
        &store,
        Box::new(SlowSync {
            file: append_handle(dir.path()),
            in_sync,
            release: released,
        }),
    );
    std::thread::scope(|scope| {
        let writer = scope.spawn(|| store.ingest(sample::batch(2, 4, 2)));
        syncing.recv_timeout(Duration::from_secs(10)).unwrap();
        // the batch is being fsynced: the index is not locked, queries are answered
        let readable = store.inner.try_read().is_ok();
        release.send(()).unwrap();
        assert!(readable, "a query waited for the fsync");
        assert!(store.get(trace_key(1, 0)).is_some());
        writer.join().unwrap().unwrap();
    });
    assert!(store.get(trace_key(2, 1)).is_some());
}
