//! OTLP/gRPC receiver: `opentelemetry.proto.collector.trace.v1.TraceService/Export`.
//!
//! The request is not decoded into prost structs: a codec hands the raw message bytes to
//! [`wire::scan`](super::wire::scan) (through the store), which validates and counts without
//! materialising them — ten million empty `ResourceSpans` cost a counter, not gigabytes.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceResponse,
};
use prost::bytes::{Buf, Bytes};
use prost::Message;
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::EnabledCompressionEncodings;
use tonic::{Code, Status};

use super::budget::Reservation;
use super::decode::DecodeError;
use super::listen::{self, EventHook};
use super::rpc;
use super::store::IngestError;
use super::Receiver;

/// The gRPC path of `Export`.
pub const EXPORT_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

/// A codec whose requests are the raw message bytes and whose responses are prost messages.
#[derive(Debug, Clone, Copy, Default)]
pub struct RawRequestCodec;

/// Encodes the `ExportTraceServiceResponse`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ResponseEncoder;

/// Hands over the request message as it arrived (decompressed, within the size limit).
#[derive(Debug, Clone, Copy, Default)]
pub struct RawDecoder;

impl Codec for RawRequestCodec {
    type Encode = ExportTraceServiceResponse;
    type Decode = Bytes;
    type Encoder = ResponseEncoder;
    type Decoder = RawDecoder;

    fn encoder(&mut self) -> Self::Encoder {
        ResponseEncoder
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawDecoder
    }
}

impl Encoder for ResponseEncoder {
    type Item = ExportTraceServiceResponse;
    type Error = Status;

    fn encode(&mut self, item: Self::Item, dst: &mut EncodeBuf<'_>) -> Result<(), Self::Error> {
        item.encode(dst)
            .map_err(|e| Status::internal(format!("cannot encode the response: {e}")))
    }
}

impl Decoder for RawDecoder {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Self::Item>, Self::Error> {
        let len = src.remaining();
        Ok(Some(src.copy_to_bytes(len)))
    }
}

/// The `TraceService` as a tower service: gzip in both directions, the message-size limit,
/// `UNIMPLEMENTED` for any other method.
#[derive(Clone)]
pub struct GrpcReceiver(Arc<Receiver>);

/// The OTLP/gRPC service over `receiver`.
pub fn service(receiver: Arc<Receiver>) -> GrpcReceiver {
    GrpcReceiver(receiver)
}

impl tonic::server::NamedService for GrpcReceiver {
    const NAME: &'static str = "opentelemetry.proto.collector.trace.v1.TraceService";
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

impl<B> tower::Service<http::Request<B>> for GrpcReceiver
where
    B: http_body::Body + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let receiver = Arc::clone(&self.0);
        if request.uri().path() != EXPORT_PATH {
            return Box::pin(async move {
                Ok(otlp_status_codes(
                    Status::unimplemented("only TraceService/Export is served").into_http(),
                ))
            });
        }
        // the message is paid for from the in-flight budget as its bytes arrive, before tonic
        // has buffered it whole
        let reservation = receiver.inflight.reservation();
        let retry_after = receiver.limits.retry_after;
        let read_timeout = receiver.limits.body_read_timeout;
        let request = request.map(|body| BudgetedBody {
            inner: body,
            reservation,
            retry_after,
            deadline: tokio::time::sleep(read_timeout),
            read_timeout,
        });
        Box::pin(async move {
            let mut gzip = EnabledCompressionEncodings::default();
            gzip.enable(CompressionEncoding::Gzip);
            let limit = receiver.limits.max_decompressed_bytes;
            let mut grpc = tonic::server::Grpc::new(RawRequestCodec)
                .apply_compression_config(gzip, gzip)
                .apply_max_message_size_config(Some(limit), None);
            let response = grpc.unary(ExportMethod(receiver), request).await;
            Ok(otlp_status_codes(response))
        })
    }
}

pin_project_lite::pin_project! {
    /// A request body whose bytes are reserved from the in-flight budget as they arrive; past
    /// the budget it fails with `UNAVAILABLE` and a `RetryInfo` (tonic answers with that status).
    /// A body not received whole within the body read timeout (a stream that trickles bytes as
    /// well as a silent one) fails with `DEADLINE_EXCEEDED`.
    struct BudgetedBody<B> {
        #[pin]
        inner: B,
        reservation: Reservation,
        retry_after: std::time::Duration,
        #[pin]
        deadline: tokio::time::Sleep,
        read_timeout: std::time::Duration,
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl<B> http_body::Body for BudgetedBody<B>
where
    B: http_body::Body,
    B::Error: Into<BoxError>,
{
    type Data = B::Data;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let mut this = self.project();
        let timed_out = || {
            let message = format!(
                "the request message was not received within {} ms",
                this.read_timeout.as_millis()
            );
            Poll::Ready(Some(Err(
                Box::new(Status::deadline_exceeded(message)) as BoxError
            )))
        };
        if this.deadline.is_elapsed() {
            return timed_out();
        }
        match this.inner.poll_frame(cx) {
            Poll::Ready(Some(Ok(_))) if this.deadline.is_elapsed() => timed_out(),
            Poll::Ready(Some(Ok(frame))) => {
                let len = frame.data_ref().map_or(0, |data| data.remaining());
                if this.reservation.grow(len) {
                    Poll::Ready(Some(Ok(frame)))
                } else {
                    let message = format!(
                        "the receiver's in-flight memory budget ({} bytes) is exhausted",
                        this.reservation.limit()
                    );
                    let status = rpc::retry_status(rpc::UNAVAILABLE, message, *this.retry_after);
                    let status = Status::with_details(
                        Code::Unavailable,
                        status.message.clone(),
                        status.encode_to_vec().into(),
                    );
                    Poll::Ready(Some(Err(Box::new(status))))
                }
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => Poll::Ready(None),
            // woken when the deadline passes, to answer even if no byte comes any more
            Poll::Pending => match this.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => timed_out(),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

struct ExportMethod(Arc<Receiver>);

impl tonic::server::UnaryService<Bytes> for ExportMethod {
    type Response = ExportTraceServiceResponse;
    type Future = BoxFuture<Result<tonic::Response<Self::Response>, Status>>;

    fn call(&mut self, request: tonic::Request<Bytes>) -> Self::Future {
        let receiver = Arc::clone(&self.0);
        Box::pin(async move { export(receiver, request.into_inner()).await })
    }
}

/// Bodies larger than this are indexed on a blocking thread.
const BLOCKING_THRESHOLD: usize = 256 * 1024;

async fn export(
    rx: Arc<Receiver>,
    body: Bytes,
) -> Result<tonic::Response<ExportTraceServiceResponse>, Status> {
    let busy = |message: String| {
        let status = rpc::retry_status(rpc::UNAVAILABLE, message, rx.limits.retry_after);
        Status::with_details(
            Code::Unavailable,
            status.message.clone(),
            status.encode_to_vec().into(),
        )
    };
    let Some(_request) = rx.try_start_request() else {
        return Err(busy(format!(
            "too many export requests in flight (limit {})",
            rx.limits.max_inflight_requests
        )));
    };
    // the message is held, and indexing it costs about as much again
    let Some(_reservation) = rx.inflight.try_reserve(body.len().saturating_mul(2)) else {
        return Err(busy(format!(
            "the receiver's in-flight memory budget ({} bytes) is exhausted",
            rx.inflight.limit()
        )));
    };
    let scan_limits = rx.limits.scan_limits();
    let ingested = if body.len() > BLOCKING_THRESHOLD {
        let store = Arc::clone(&rx.store);
        let Some(slot) = rx.worker_slot().await else {
            return Err(busy(
                "the receiver is busy decompressing and indexing other requests".to_owned(),
            ));
        };
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            ingest(&store, body, scan_limits)
        })
        .await
        .map_err(|e| Status::internal(format!("the request could not be processed: {e}")))?
    } else {
        ingest(&rx.store, body, scan_limits)
    };
    match ingested {
        Ok(outcome) => Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: (outcome.rejected > 0).then(|| ExportTracePartialSuccess {
                rejected_spans: i64::try_from(outcome.rejected).unwrap_or(i64::MAX),
                error_message: outcome.reason.unwrap_or_default(),
            }),
        })),
        Err(err @ IngestError::TooLarge { .. }) => Err(Status::resource_exhausted(err.to_string())),
        Err(IngestError::Malformed(DecodeError::TooLarge(reason))) => {
            Err(Status::resource_exhausted(reason))
        }
        Err(IngestError::Malformed(err)) => Err(Status::invalid_argument(err.to_string())),
        // disk full or failing: retryable, with the delay exporters should wait
        Err(err @ IngestError::Io(_)) => Err(busy(err.to_string())),
    }
}

/// Scan `body` within the per-request limits and store it.
fn ingest(
    store: &super::store::Store,
    body: Bytes,
    limits: super::wire::ScanLimits,
) -> Result<super::store::IngestOutcome, IngestError> {
    let batch = super::wire::scan_with_limits(body, limits).map_err(IngestError::Malformed)?;
    store.ingest_scanned(batch)
}

/// Serve OTLP/gRPC on `listener` until `shutdown` completes. A message over the size limit
/// is answered `RESOURCE_EXHAUSTED` and a malformed one `INVALID_ARGUMENT`, as OTLP asks
/// (tonic says `OUT_OF_RANGE` and `INTERNAL`; [`otlp_status_codes`] maps them).
pub async fn serve(
    receiver: Arc<Receiver>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    serve_with_events(receiver, listener, None, shutdown).await
}

/// [`serve`], reporting accept errors to `events`.
pub async fn serve_with_events(
    receiver: Arc<Receiver>,
    listener: tokio::net::TcpListener,
    events: Option<EventHook>,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let limits = receiver.limits;
    let service = hyper_util::service::TowerToHyperService::new(service(receiver));
    listen::serve(listener, service, limits, events, shutdown).await
}

/// Rewrite the status of a trailers-only error response (the form tonic uses when decoding
/// the request fails): `OUT_OF_RANGE` (message too large) → `RESOURCE_EXHAUSTED`, `INTERNAL`
/// from a protobuf decode failure → `INVALID_ARGUMENT`.
pub fn otlp_status_codes<B>(mut response: http::Response<B>) -> http::Response<B> {
    let headers = response.headers_mut();
    let decode_failure = headers
        .get("grpc-message")
        .and_then(|m| m.to_str().ok())
        .is_some_and(|m| m.contains("failed") && m.contains("decode"));
    match headers.get("grpc-status").and_then(|v| v.to_str().ok()) {
        Some("11") => {
            headers.insert("grpc-status", http::HeaderValue::from_static("8"));
        }
        Some("13") if decode_failure => {
            headers.insert("grpc-status", http::HeaderValue::from_static("3"));
        }
        _ => {}
    }
    response
}
