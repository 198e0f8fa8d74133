"""One service of the Python platform, as a real team would write it with Flask.

Usage: service.py NAME   (normally started by launch.py, which sets the environment)

Environment:
  PYPLATFORM_PORTS          gateway=PORT,catalog=PORT,stock=PORT,pricing=PORT (every service's port)
  PYPLATFORM_FLAKY          services that answer 503 to the first request for each {n} (callers retry)
  PYPLATFORM_INSTRUMENTED   1 (default): the official OpenTelemetry Python SDK with the Flask and
                            requests instrumentations; 0: plain Flask and plain requests, so the
                            incoming trace context is dropped and never forwarded.
  OTEL_SERVICE_NAME, OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_BSP_SCHEDULE_DELAY, OTEL_PROPAGATORS,
  OTEL_SEMCONV_STABILITY_OPT_IN: read by the SDK itself.

The call graph: gateway → catalog → stock, and gateway → pricing. `/health` answers 200 and is
never traced.
"""

import logging
import os
import sys

import threading

import requests
from flask import Flask, jsonify, request
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

NAME = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("OTEL_SERVICE_NAME", "")
PORTS = dict(
    item.split("=", 1) for item in os.environ.get("PYPLATFORM_PORTS", "").split(",") if "=" in item
)
INSTRUMENTED = os.environ.get("PYPLATFORM_INSTRUMENTED", "1") != "0"
FLAKY = {s.strip() for s in os.environ.get("PYPLATFORM_FLAKY", "").split(",") if s.strip()}
TIMEOUT_S = 5

# Calls retry a 503 twice, the way teams configure requests (urllib3 retries inside one
# Session.send: the requests instrumentation makes ONE CLIENT span for all attempts).
SESSION = requests.Session()
SESSION.mount(
    "http://",
    HTTPAdapter(max_retries=Retry(total=2, status_forcelist=[503], backoff_factor=0)),
)
FAILED_ONCE = set()
FAILED_ONCE_LOCK = threading.Lock()

app = Flask(NAME)


def instrument(flask_app):
    """The SDK set up the documented way: a TracerProvider whose resource comes from
    OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES, a batch span processor exporting OTLP/HTTP to
    OTEL_EXPORTER_OTLP_ENDPOINT, the `traceresponse` response header, and the Flask and requests
    instrumentations (W3C tracecontext + baggage, the SDK's default propagators)."""
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.flask import FlaskInstrumentor
    from opentelemetry.instrumentation.propagators import (
        TraceResponsePropagator,
        set_global_response_propagator,
    )
    from opentelemetry.instrumentation.requests import RequestsInstrumentor
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    set_global_response_propagator(TraceResponsePropagator())
    FlaskInstrumentor().instrument_app(flask_app, excluded_urls="health")
    RequestsInstrumentor().instrument()
    return provider


def tag_tenant():
    """The gateway records the opaque tenant ID on its span (instrumented only)."""
    if not INSTRUMENTED:
        return
    from opentelemetry import trace

    tenant = request.headers.get("x-tenant-id")
    if tenant:
        trace.get_current_span().set_attribute("tenant.id", tenant)


def call(service, path):
    """GET another service; the tenant header travels along. Returns (status, json or None)."""
    headers = {}
    tenant = request.headers.get("x-tenant-id")
    if tenant:
        headers["x-tenant-id"] = tenant
    response = SESSION.get(
        f"http://127.0.0.1:{PORTS[service]}{path}", headers=headers, timeout=TIMEOUT_S
    )
    try:
        body = response.json()
    except ValueError:
        body = None
    return response.status_code, body


@app.get("/health")
def health():
    return jsonify(service=NAME, instrumented=INSTRUMENTED)


@app.route("/order/<n>", methods=["GET", "POST"])
def order(n):
    """gateway: the ingress."""
    tag_tenant()
    item_status, item = call("catalog", f"/item/{n}")
    price_status, price = call("pricing", f"/price/{n}")
    if item_status != 200 or price_status != 200:
        return jsonify(error="a downstream service failed"), 502
    return jsonify(order=n, item=item, price=price)


@app.get("/item/<n>")
def item(n):
    """catalog."""
    stock_status, stock = call("stock", f"/stock/{n}")
    if stock_status != 200:
        return jsonify(error="stock failed"), 502
    return jsonify(sku=f"A{n}", stock=stock)


@app.get("/stock/<n>")
def stock(n):
    """stock."""
    return jsonify(sku=f"A{n}", available=int(n) % 7 if n.isdigit() else 0)


@app.get("/price/<n>")
def price(n):
    """pricing."""
    if NAME in FLAKY:
        with FAILED_ONCE_LOCK:
            first = n not in FAILED_ONCE
            FAILED_ONCE.add(n)
        if first:
            return jsonify(error="try again"), 503
    return jsonify(sku=f"A{n}", cents=1999)


def main():
    if NAME not in PORTS:
        raise SystemExit(f"service.py: {NAME!r} has no port in PYPLATFORM_PORTS")
    if INSTRUMENTED:
        instrument(app)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app.run(host="127.0.0.1", port=int(PORTS[NAME]), threaded=True, use_reloader=False)


if __name__ == "__main__":
    main()
