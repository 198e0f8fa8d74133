//! Loopback OTLP/HTTP receivers for the reference-library tests: small axum servers that decode
//! `ExportTraceServiceRequest` with prost.
#![allow(dead_code, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;

pub mod tree;
#[allow(unused_imports)]
pub use tree::copy_dir;

/// How the receiver answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Ok,
    Unavailable,
    Hang,
}

/// A span as received, with its resource's service name.
#[derive(Clone, Debug)]
pub struct Received {
    pub service: String,
    pub span: Span,
    pub raw_len: usize,
}

impl Received {
    pub fn attr_str(&self, key: &str) -> Option<String> {
        self.span
            .attributes
            .iter()
            .find(|a| a.key == key)
            .and_then(|a| match a.value.as_ref()?.value.as_ref()? {
                Value::StringValue(s) => Some(s.clone()),
                _ => None,
            })
    }
    pub fn attr_int(&self, key: &str) -> Option<i64> {
        self.span
            .attributes
            .iter()
            .find(|a| a.key == key)
            .and_then(|a| match a.value.as_ref()?.value.as_ref()? {
                Value::IntValue(i) => Some(*i),
                _ => None,
            })
    }
}

#[derive(Clone, Default)]
pub struct Receiver {
    pub spans: Arc<Mutex<Vec<Received>>>,
    pub bodies: Arc<Mutex<Vec<Vec<u8>>>>,
    pub hits: Arc<Mutex<u64>>,
    pub addr: Option<SocketAddr>,
}

impl Receiver {
    pub fn endpoint(&self) -> String {
        format!("http://{}/v1/traces", self.addr.unwrap())
    }
    pub fn spans(&self) -> Vec<Received> {
        self.spans.lock().unwrap().clone()
    }
    pub fn hits(&self) -> u64 {
        *self.hits.lock().unwrap()
    }
    /// Wait (bounded) until at least `n` spans arrived.
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<Received> {
        let until = tokio::time::Instant::now() + within;
        loop {
            let spans = self.spans();
            if spans.len() >= n || tokio::time::Instant::now() >= until {
                return spans;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn receive(State((receiver, mode)): State<(Receiver, Mode)>, body: Bytes) -> StatusCode {
    *receiver.hits.lock().unwrap() += 1;
    match mode {
        Mode::Unavailable => return StatusCode::SERVICE_UNAVAILABLE,
        Mode::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            return StatusCode::OK;
        }
        Mode::Ok => {}
    }
    let Ok(request) = ExportTraceServiceRequest::decode(body.as_ref()) else {
        return StatusCode::BAD_REQUEST;
    };
    receiver.bodies.lock().unwrap().push(body.to_vec());
    let mut spans = receiver.spans.lock().unwrap();
    for resource in request.resource_spans {
        let service = resource
            .resource
            .as_ref()
            .and_then(|r| r.attributes.iter().find(|a| a.key == "service.name"))
            .and_then(|a| match a.value.as_ref()?.value.as_ref()? {
                Value::StringValue(s) => Some(s.clone()),
                _ => None,
            })
            .unwrap_or_default();
        for scope in resource.scope_spans {
            for span in scope.spans {
                spans.push(Received {
                    service: service.clone(),
                    span,
                    raw_len: body.len(),
                });
            }
        }
    }
    StatusCode::OK
}

/// The receiver's routes, for serving them over another transport (TLS).
pub fn app(receiver: &Receiver, mode: Mode) -> Router {
    Router::new()
        .route("/v1/traces", post(receive))
        .with_state((receiver.clone(), mode))
}

/// Start a receiver on 127.0.0.1 port 0.
pub async fn receiver(mode: Mode) -> Receiver {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut receiver = Receiver {
        addr: Some(listener.local_addr().unwrap()),
        ..Receiver::default()
    };
    let app = app(&receiver, mode);
    tokio::spawn(async move { axum::serve(listener, app).await });
    receiver.addr = Some(receiver.addr.unwrap());
    receiver
}

/// An address on which nothing listens.
pub async fn closed_endpoint() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}/v1/traces")
}
