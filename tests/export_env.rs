//! `export::from_env` with an invalid routing file: export is disabled with a reason naming the
//! file and the key, the credential is not in it, and the server layer keeps serving.
//! (One test in its own process: it sets environment variables.)
#![allow(clippy::unwrap_used)]

use std::convert::Infallible;

use tower::{service_fn, Layer, ServiceExt};
use tracegate::propagation::export;
use tracegate::propagation::server::TraceLayer;

#[tokio::test]
async fn invalid_config_disables_export_and_the_service_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("routes.yaml");
    std::fs::write(
        &path,
        "destinations:\n  acme:\n    endpoint: http://127.0.0.1:4318\n    headers:\n      authorization: Bearer hunter2\ntenants:\n  acme: [missing]\n",
    )
    .unwrap();
    std::env::set_var("TRACEGATE_EXPORT_CONFIG", &path);
    std::env::set_var("OTEL_SERVICE_NAME", "checkout");
    let export = export::from_env("fallback-name");
    let reason = export.disabled_reason.clone().unwrap();
    assert!(reason.contains(&path.display().to_string()), "{reason}");
    assert!(reason.contains("tenants.acme"), "{reason}");
    assert!(reason.contains("unknown destination `missing`"), "{reason}");
    assert!(!reason.contains("hunter2"), "{reason}");
    assert!(export.exporter.is_none());
    assert!(!export.telemetry.is_enabled());
    assert_eq!(export.telemetry.service(), "checkout");

    let service = TraceLayer::new(export.telemetry.clone()).layer(service_fn(
        |_req: http::Request<String>| async {
            Ok::<_, Infallible>(http::Response::new(String::new()))
        },
    ));
    let response = service
        .oneshot(http::Request::new(String::new()))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("traceresponse"));

    // A TLS file that cannot be read: the same start-up error naming the file and the key.
    std::fs::write(
        &path,
        "destinations:\n  vendor:\n    endpoint: https://127.0.0.1:4318\n    tls:\n      ca_file: /nonexistent/vendor-ca.pem\n",
    )
    .unwrap();
    let export = export::from_env("fallback-name");
    let reason = export.disabled_reason.clone().unwrap();
    assert!(
        reason.contains("destinations.vendor.tls.ca_file: cannot read /nonexistent/vendor-ca.pem"),
        "{reason}"
    );
    assert!(export.exporter.is_none());

    // A valid file turns export on (an https endpoint included).
    std::fs::write(
        &path,
        "destinations:\n  acme:\n    endpoint: http://127.0.0.1:4318\n  vendor:\n    endpoint: https://127.0.0.1:4319\ndefault: [acme]\n",
    )
    .unwrap();
    let export = export::from_env("fallback-name");
    assert_eq!(export.disabled_reason, None);
    assert_eq!(
        export.exporter.as_ref().unwrap().destinations(),
        ["acme", "vendor"]
    );
    export.shutdown(std::time::Duration::from_millis(100)).await;
}
