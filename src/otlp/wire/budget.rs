//! What one request may cost a scan: messages and spans, counted as they are met.

use super::DecodeError;

/// Most protobuf messages (resource spans, scope spans, spans, attributes, attribute values,
/// events, links…) one request may hold: [`scan`](super::scan)'s default cost budget. A 32 MiB request of
/// empty messages holds 16 million; a real one averages well over 8 bytes a message.
pub const DEFAULT_MAX_MESSAGES: usize = 4 * 1024 * 1024;

/// Most spans one export request may hold by default (the receiver's
/// `Limits::max_spans_per_request`). The OpenTelemetry SDKs send 512 a batch and the
/// Collector's batch processor 8,192; a request of this many minimal spans (one trace each)
/// peaks at 185 MB (debug build), under the 300 MB target (BENCHMARKS.md).
pub const DEFAULT_MAX_SPANS: usize = 256 * 1024;

/// What one request may cost [`scan_with_limits`](super::scan_with_limits); past either it is refused
/// ([`DecodeError::TooLarge`]) as soon as the count is passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanLimits {
    /// Most protobuf messages (of any kind) in the request.
    pub max_messages: usize,
    /// Most spans in the request, valid or not.
    pub max_spans: usize,
}

/// Counts the messages and spans a scan visits and refuses the request past the budget.
pub(super) struct MessageBudget {
    left: usize,
    limit: usize,
    spans_left: usize,
    max_spans: usize,
}

impl MessageBudget {
    pub(super) fn new(limits: ScanLimits) -> Self {
        MessageBudget {
            left: limits.max_messages,
            limit: limits.max_messages,
            spans_left: limits.max_spans,
            max_spans: limits.max_spans,
        }
    }

    /// One more span: fails once the request holds more spans than allowed.
    pub(super) fn take_span(&mut self) -> Result<(), DecodeError> {
        match self.spans_left.checked_sub(1) {
            Some(left) => {
                self.spans_left = left;
                Ok(())
            }
            None => Err(DecodeError::TooLarge(format!(
                "request holds more than {} spans, the per-request limit: send smaller batches",
                self.max_spans
            ))),
        }
    }

    /// One more message: fails once the request holds more than the budget allows.
    pub(super) fn take(&mut self) -> Result<(), DecodeError> {
        match self.left.checked_sub(1) {
            Some(left) => {
                self.left = left;
                Ok(())
            }
            None => Err(DecodeError::TooLarge(format!(
                "request holds more than {} protobuf messages",
                self.limit
            ))),
        }
    }
}
