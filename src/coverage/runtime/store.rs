//! Traces from a directory written by `tracegate collect --store DIR`, loaded read-only (the
//! directory is never modified, even beside a running `collect`).

use std::path::Path;

use super::super::CoverageError;
use super::{Analyser, RuntimeOptions};
use crate::otlp::store::Store;
use crate::trace::AssemblyOptions;

/// The newest traces of the store at `dir` that started within the window, at most
/// `options.max_traces`, analysed one at a time; and whether the window held more (a sample).
pub fn read(dir: &Path, options: &RuntimeOptions) -> Result<(Analyser, bool), CoverageError> {
    let (store, _report) = Store::load_read_only(dir, usize::MAX).map_err(|e| {
        let message = e.to_string();
        // the store's own errors already name the directory or its file
        if message.contains(&dir.display().to_string()) {
            CoverageError::Runtime(format!("cannot read the trace store: {message}"))
        } else {
            CoverageError::Runtime(format!(
                "{}: cannot read the trace store: {message}",
                dir.display()
            ))
        }
    })?;
    let assembly = AssemblyOptions::default();
    let mut analyser = Analyser::default();
    let mut read = 0;
    let mut sampled = false;
    // newest first: the sample is the most recent traces
    for id in store.trace_ids().into_iter().rev() {
        let Some(trace) = store.trace(id, &assembly) else {
            continue;
        };
        let start = trace.start_unix_nano();
        if start < options.since_unix_nano || start > options.until_unix_nano {
            continue;
        }
        if read == options.max_traces.max(1) {
            sampled = true;
            break;
        }
        analyser.add(&trace);
        read += 1;
    }
    Ok((analyser, sampled))
}
