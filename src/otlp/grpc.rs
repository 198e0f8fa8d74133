//! OTLP/gRPC receiver: `opentelemetry.proto.collector.trace.v1.TraceService/Export`.

use std::future::Future;
use std::sync::Arc;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;
use tonic::codec::CompressionEncoding;
use tonic::{Code, Request, Response, Status};

use super::rpc;
use super::store::IngestError;
use super::Receiver;

/// The tonic service implementing `TraceService`.
pub struct GrpcReceiver(Arc<Receiver>);

#[tonic::async_trait]
impl TraceService for GrpcReceiver {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        match self.0.store.ingest(request.into_inner()) {
            Ok(outcome) => Ok(Response::new(ExportTraceServiceResponse {
                partial_success: (outcome.rejected > 0).then(|| ExportTracePartialSuccess {
                    rejected_spans: i64::try_from(outcome.rejected).unwrap_or(i64::MAX),
                    error_message: outcome.reason.unwrap_or_default(),
                }),
            })),
            Err(err @ IngestError::TooLarge { .. }) => {
                Err(Status::resource_exhausted(err.to_string()))
            }
            Err(IngestError::Malformed(err)) => Err(Status::invalid_argument(err.to_string())),
            Err(err @ IngestError::Io(_)) => {
                // disk full or failing: retryable, with the delay exporters should wait
                let status =
                    rpc::retry_status(rpc::UNAVAILABLE, err.to_string(), self.0.limits.retry_after);
                Err(Status::with_details(
                    Code::Unavailable,
                    status.message.clone(),
                    status.encode_to_vec().into(),
                ))
            }
        }
    }
}

/// The `TraceServiceServer` with gzip in both directions and the message-size limit.
pub fn service(receiver: Arc<Receiver>) -> TraceServiceServer<GrpcReceiver> {
    let limit = receiver.limits.max_decompressed_bytes;
    TraceServiceServer::new(GrpcReceiver(receiver))
        .accept_compressed(CompressionEncoding::Gzip)
        .send_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(limit)
}

/// Serve OTLP/gRPC on `listener` until `shutdown` completes. A message over the size limit
/// is answered `RESOURCE_EXHAUSTED` and a malformed one `INVALID_ARGUMENT`, as OTLP asks
/// (tonic says `OUT_OF_RANGE` and `INTERNAL`; [`otlp_status_codes`] maps them).
pub async fn serve(
    receiver: Arc<Receiver>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    tonic::transport::Server::builder()
        .layer(tower::util::MapResponseLayer::new(otlp_status_codes))
        .add_service(service(receiver))
        .serve_with_incoming_shutdown(
            tonic::transport::server::TcpIncoming::from(listener),
            shutdown,
        )
        .await
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
