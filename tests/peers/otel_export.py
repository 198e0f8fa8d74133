"""Export one small trace with the real OpenTelemetry Python SDK, then print its IDs as JSON.

Usage: otel_export.py http|grpc ENDPOINT

Two services, each its own TracerProvider and resource: `frontend` has the SERVER root span
`GET /checkout` and a CLIENT child `POST /charge`; `payments` continues the trace (remote
parent, as after a traceparent hop) with the SERVER span `POST /charge` and an INTERNAL child
`charge card` with status ERROR. Exported gzip-compressed over OTLP/HTTP protobuf
(ENDPOINT = http://host:port/v1/traces) or OTLP/gRPC (ENDPOINT = host:port).
"""

import json
import sys

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode, set_span_in_context


def exporter(protocol, endpoint):
    if protocol == "http":
        from opentelemetry.exporter.otlp.proto.http import Compression
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter(endpoint=endpoint, compression=Compression.Gzip, timeout=10)
    if protocol == "grpc":
        from grpc import Compression
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter(
            endpoint=endpoint, insecure=True, compression=Compression.Gzip, timeout=10
        )
    raise SystemExit(f"unknown protocol {protocol!r}")


def provider(service, protocol, endpoint):
    p = TracerProvider(resource=Resource.create({"service.name": service}))
    p.add_span_processor(SimpleSpanProcessor(exporter(protocol, endpoint)))
    return p


def main():
    protocol, endpoint = sys.argv[1], sys.argv[2]
    frontend = provider("frontend", protocol, endpoint)
    payments = provider("payments", protocol, endpoint)
    ft = frontend.get_tracer("peer.frontend")
    pt = payments.get_tracer("peer.payments")

    with ft.start_as_current_span("GET /checkout", kind=SpanKind.SERVER) as root:
        root.set_attribute("http.request.method", "GET")
        root.set_attribute("http.response.status_code", 200)
        root.set_attribute("tenant.id", "acme")
        with ft.start_as_current_span("POST /charge", kind=SpanKind.CLIENT) as client:
            client.set_attribute("server.address", "payments")
            ctx = set_span_in_context(client)
            with pt.start_as_current_span(
                "POST /charge", context=ctx, kind=SpanKind.SERVER
            ) as server:
                server.set_attribute("http.response.status_code", 502)
                with pt.start_as_current_span("charge card") as inner:
                    inner.set_attribute("retry.count", 2)
                    inner.set_status(Status(StatusCode.ERROR, "card declined"))

    ok = frontend.force_flush(10_000) and payments.force_flush(10_000)
    frontend.shutdown()
    payments.shutdown()
    ids = lambda span: format(span.get_span_context().span_id, "016x")
    print(
        json.dumps(
            {
                "flushed": ok,
                "trace_id": format(root.get_span_context().trace_id, "032x"),
                "root": ids(root),
                "client": ids(client),
                "server": ids(server),
                "inner": ids(inner),
            }
        )
    )


if __name__ == "__main__":
    main()
