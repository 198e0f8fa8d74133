#!/usr/bin/env python3
"""Generate a synthetic monorepo for bench/check-monorepo.sh.

usage: gen-monorepo.py DIR SERVICES FILES_PER_SERVICE

Services rotate through seven languages (Rust, Go, Python, JavaScript, TypeScript, Java, .NET).
Most are instrumented correctly (SDK, W3C propagator, instrumented server and client, batch
export); some miss the W3C propagator (none set in Rust/Go/Java, where the default is a no-op;
`OTEL_PROPAGATORS=b3multi` in Python/Node/.NET, where W3C is the default), use a synchronous
exporter, put PII in span attributes, or have no SDK at all, so every tool has something to find. Each service
has a manifest, an entry point with the OpenTelemetry setup, handler files up to
FILES_PER_SERVICE, a Dockerfile, and a Kubernetes manifest under deploy/.
"""

import os
import sys

LANGS = ["rust", "go", "python", "javascript", "typescript", "java", "dotnet"]


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def flags(i):
    return {
        "no_sdk": i % 17 == 5,
        "no_propagator": i % 5 == 1,
        "simple": i % 11 == 3,
        "pii": i % 13 == 4,
    }


# ---------------------------------------------------------------------------------------------
def rust(d, name, f, n):
    sdk = not f["no_sdk"]
    deps = "" if not sdk else (
        'opentelemetry = "0.31"\nopentelemetry_sdk = { version = "0.31", features = ["rt-tokio"] }\n'
        'opentelemetry-otlp = "0.31"\ntracing-opentelemetry = "0.32"\n'
        'axum-tracing-opentelemetry = "0.32"\nreqwest-middleware = "0.4"\n'
        'reqwest-tracing = { version = "0.5", features = ["opentelemetry_0_31"] }\n')
    # Instrumented server (OtelAxumLayer extracts traceparent) and client (TracingMiddleware
    # injects it); services without the SDK use plain axum and reqwest.
    layer = ".layer(OtelAxumLayer::default())" if sdk else ""
    client_type = "reqwest_middleware::ClientWithMiddleware" if sdk else "reqwest::Client"
    client = ("reqwest_middleware::ClientBuilder::new(reqwest::Client::new())\n"
              "        .with(TracingMiddleware::default())\n        .build()") if sdk else "reqwest::Client::new()"
    uses = ("use axum_tracing_opentelemetry::middleware::OtelAxumLayer;\n"
            "use reqwest_tracing::TracingMiddleware;\n") if sdk else ""
    routes = "".join(
        f"\n        .route(\"/h{k}/{{id}}\", axum::routing::get({{ let c = client.clone(); move |axum::extract::Path(id): axum::extract::Path<u64>| async move {{ format!(\"{{}}\", h{k}::handle_{k}(&c, id, \"\").await.map(|i| h{k}::total_{k}(&i)).unwrap_or(0)) }} }}))"
        for k in range(n))
    write(f"{d}/Cargo.toml", f'[package]\nname = "{name}"\nversion = "0.1.0"\nedition = "2021"\n\n'
          f'[dependencies]\n{deps}tracing = "0.1"\naxum = "0.8"\nreqwest = "0.12"\ntokio = {{ version = "1", features = ["full"] }}\n')
    prop = "" if f["no_propagator"] else "    global::set_text_map_propagator(TraceContextPropagator::new());\n"
    export = "with_simple_exporter" if f["simple"] else "with_batch_exporter"
    mods = "".join(f"mod h{k};\n" for k in range(n))
    write(f"{d}/src/main.rs", f"""{mods}
{uses}use opentelemetry::global;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;

fn init_tracing() -> SdkTracerProvider {{
{prop}    let exporter = opentelemetry_otlp::SpanExporter::builder().with_http().build().unwrap();
    let provider = SdkTracerProvider::builder().{export}(exporter).build();
    global::set_tracer_provider(provider.clone());
    provider
}}

#[tokio::main]
async fn main() {{
    let _provider = init_tracing();
    let client = {client};
    let app = axum::Router::new(){routes}{layer};
    let listener = tokio::net::TcpListener::bind("0.0.0.0:8080").await.unwrap();
    axum::serve(listener, app).await.unwrap();
}}
""")
    for k in range(n):
        attr = 'user.email = %email, ' if f["pii"] and k == 0 else ""
        write(f"{d}/src/h{k}.rs", f"""//! Handler {k}: fetch and price items.
use tracing::instrument;

#[derive(Debug, Clone)]
pub struct Item{k} {{
    pub id: u64,
    pub price_cents: u64,
    pub quantity: u32,
}}

#[instrument(skip(client, email), fields({attr}order.id = id))]
pub async fn handle_{k}(client: &{client_type}, id: u64, email: &str) -> Result<Vec<Item{k}>, Box<dyn std::error::Error>> {{
    let url = format!("http://inventory/items/{{id}}");
    let body = client.get(url).send().await?.text().await?;
    let mut items = Vec::new();
    for (i, line) in body.lines().enumerate() {{
        let price = line.len() as u64 * 100;
        items.push(Item{k} {{ id: id + i as u64, price_cents: price, quantity: 1 }});
    }}
    tracing::info!(count = items.len(), "priced items");
    let _ = email;
    Ok(items)
}}

pub fn total_{k}(items: &[Item{k}]) -> u64 {{
    items.iter().map(|i| i.price_cents * u64::from(i.quantity)).sum()
}}
""")


def go(d, name, f, n):
    deps = "" if f["no_sdk"] else (
        "\tgo.opentelemetry.io/otel v1.38.0\n\tgo.opentelemetry.io/otel/sdk v1.38.0\n"
        "\tgo.opentelemetry.io/contrib/instrumentation/net/http/otelhttp v0.63.0\n"
        "\tgo.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp v1.38.0\n")
    write(f"{d}/go.mod", f"module example.com/{name}\n\ngo 1.23\n\nrequire (\n{deps}\tgithub.com/google/uuid v1.6.0\n)\n")
    prop = "" if f["no_propagator"] else "\totel.SetTextMapPropagator(propagation.TraceContext{})\n"
    export = "sdktrace.WithSyncer(exp)" if f["simple"] else "sdktrace.WithBatcher(exp)"
    write(f"{d}/main.go", f"""package main

import (
\t"context"
\t"net/http"

\t"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
\t"go.opentelemetry.io/otel"
\t"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
\t"go.opentelemetry.io/otel/propagation"
\tsdktrace "go.opentelemetry.io/otel/sdk/trace"
)

func main() {{
\tctx := context.Background()
\texp, err := otlptracehttp.New(ctx)
\tif err != nil {{
\t\tpanic(err)
\t}}
\ttp := sdktrace.NewTracerProvider({export})
\totel.SetTracerProvider(tp)
{prop}\tmux := http.NewServeMux()
\tregister(mux)
\thttp.ListenAndServe(":8080", otelhttp.NewHandler(mux, "server"))
}}
""")
    regs = "".join(f"\tmux.HandleFunc(\"/h{k}\", handle{k})\n" for k in range(n))
    write(f"{d}/routes.go", f"package main\n\nimport \"net/http\"\n\nfunc register(mux *http.ServeMux) {{\n{regs}}}\n")
    for k in range(n - 1):
        attr = '\tspan.SetAttributes(attribute.String("user.email", r.Header.Get("X-Email")))\n' if f["pii"] and k == 0 else ""
        write(f"{d}/handler{k}.go", f"""package main

import (
\t"io"
\t"net/http"

\t"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
\t"go.opentelemetry.io/otel/attribute"
\t"go.opentelemetry.io/otel/trace"
)

var client{k} = http.Client{{Transport: otelhttp.NewTransport(http.DefaultTransport)}}

// handle{k} fetches item {k} from the inventory service and returns its price.
func handle{k}(w http.ResponseWriter, r *http.Request) {{
\tspan := trace.SpanFromContext(r.Context())
\tspan.SetAttributes(attribute.Int("item.index", {k}))
{attr}\treq, _ := http.NewRequestWithContext(r.Context(), "GET", "http://inventory/items/{k}", nil)
\tresp, err := client{k}.Do(req)
\tif err != nil {{
\t\thttp.Error(w, err.Error(), http.StatusBadGateway)
\t\treturn
\t}}
\tdefer resp.Body.Close()
\tbody, _ := io.ReadAll(resp.Body)
\ttotal := 0
\tfor _, b := range body {{
\t\ttotal += int(b)
\t}}
\tw.WriteHeader(http.StatusOK)
}}
""")


def python(d, name, f, n):
    deps = "" if f["no_sdk"] else '  "opentelemetry-sdk>=1.27",\n  "opentelemetry-exporter-otlp>=1.27",\n  "opentelemetry-instrumentation-flask>=0.48b0",\n  "opentelemetry-instrumentation-requests>=0.48b0",\n'
    mod = name.replace("-", "_")
    write(f"{d}/pyproject.toml", f'[project]\nname = "{name}"\nversion = "0.1.0"\ndependencies = [\n{deps}  "flask>=3",\n  "requests>=2.32",\n]\n\n[project.scripts]\n{name} = "{mod}.app:main"\n')
    prop = "" if f["no_propagator"] else "set_global_textmap(TraceContextTextMapPropagator())\n"
    proc = "SimpleSpanProcessor" if f["simple"] else "BatchSpanProcessor"
    imports = "".join(f"from {mod}.h{k} import bp{k}\n" for k in range(n - 2))
    regs = "".join(f"    app.register_blueprint(bp{k})\n" for k in range(n - 2))
    write(f"{d}/{mod}/__init__.py", "")
    write(f"{d}/{mod}/app.py", f"""from flask import Flask
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.flask import FlaskInstrumentor
from opentelemetry.instrumentation.requests import RequestsInstrumentor
from opentelemetry.propagate import set_global_textmap
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import {proc}
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
{imports}
provider = TracerProvider()
provider.add_span_processor({proc}(OTLPSpanExporter()))
trace.set_tracer_provider(provider)
{prop}

def main():
    app = Flask(__name__)
    FlaskInstrumentor().instrument_app(app)
    RequestsInstrumentor().instrument()
{regs}    app.run(host="0.0.0.0", port=8080)
""")
    for k in range(n - 2):
        attr = '    span.set_attribute("user.email", request.headers.get("x-email"))\n' if f["pii"] and k == 0 else ""
        write(f"{d}/{mod}/h{k}.py", f"""\"\"\"Handler {k}: fetch and price items.\"\"\"
import requests
from flask import Blueprint, jsonify, request
from opentelemetry import trace

bp{k} = Blueprint("h{k}", __name__)
tracer = trace.get_tracer(__name__)


@bp{k}.route("/h{k}/<int:item_id>")
def handle(item_id):
    span = trace.get_current_span()
    span.set_attribute("item.index", {k})
{attr}    resp = requests.get(f"http://inventory/items/{{item_id}}", timeout=2)
    total = 0
    for line in resp.text.splitlines():
        total += len(line) * 100
    with tracer.start_as_current_span("price"):
        price = total // max(1, item_id)
    return jsonify(item=item_id, price=price)
""")


def node(d, name, f, n, ts):
    ext = "ts" if ts else "js"
    deps = "" if f["no_sdk"] else '"@opentelemetry/api": "^1.9.0", "@opentelemetry/sdk-node": "^0.205.0", "@opentelemetry/sdk-trace-base": "^2.1.0", "@opentelemetry/core": "^2.1.0", "@opentelemetry/exporter-trace-otlp-http": "^0.205.0", "@opentelemetry/auto-instrumentations-node": "^0.64.0", '
    start = f"node dist/index.js" if ts else "node --require ./tracing.js index.js"
    dev = ', "devDependencies": {"typescript": "^5.6.0"}' if ts else ""
    write(f"{d}/package.json", f'{{"name": "{name}", "version": "1.0.0", "main": "{"dist/index.js" if ts else "index.js"}", "scripts": {{"start": "{start}"}}, "dependencies": {{{deps}"express": "^4.21.0"}}{dev}}}\n')
    if ts:
        write(f"{d}/tsconfig.json", '{"compilerOptions": {"target": "es2022", "module": "commonjs", "outDir": "dist", "strict": true}}\n')
    src = f"{d}/src" if ts else d
    prop = "" if f["no_propagator"] else "propagation.setGlobalPropagator(new W3CTraceContextPropagator());\n"
    proc = "SimpleSpanProcessor" if f["simple"] else "BatchSpanProcessor"
    write(f"{src}/tracing.{ext}", f"""{"import" if ts else "const"} {{ NodeSDK }} {"from" if ts else "= require("}"@opentelemetry/sdk-node"{"" if ts else ")"};
{"import" if ts else "const"} {{ {proc} }} {"from" if ts else "= require("}"@opentelemetry/sdk-trace-base"{"" if ts else ")"};
{"import" if ts else "const"} {{ W3CTraceContextPropagator }} {"from" if ts else "= require("}"@opentelemetry/core"{"" if ts else ")"};
{"import" if ts else "const"} {{ propagation }} {"from" if ts else "= require("}"@opentelemetry/api"{"" if ts else ")"};
{"import" if ts else "const"} {{ OTLPTraceExporter }} {"from" if ts else "= require("}"@opentelemetry/exporter-trace-otlp-http"{"" if ts else ")"};
{"import" if ts else "const"} {{ getNodeAutoInstrumentations }} {"from" if ts else "= require("}"@opentelemetry/auto-instrumentations-node"{"" if ts else ")"};

const sdk = new NodeSDK({{
  spanProcessors: [new {proc}(new OTLPTraceExporter())],
  instrumentations: [getNodeAutoInstrumentations()],
}});
sdk.start();
{prop}""")
    regs = "".join(f"app.get('/h{k}/:id', h{k});\n" for k in range(n - 4))
    reqs = "".join((f"import {{ h{k} }} from './h{k}';\n" if ts else f"const {{ h{k} }} = require('./h{k}');\n") for k in range(n - 4))
    write(f"{src}/index.{ext}", f"""{"import './tracing';" if ts else ""}
{"import express from 'express';" if ts else "const express = require('express');"}
{reqs}
const app = express();
{regs}app.listen(8080);
""")
    for k in range(n - 4):
        attr = "  span?.setAttribute('user.email', String(req.headers['x-email']));\n" if f["pii"] and k == 0 else ""
        typ = ": any" if ts else ""
        write(f"{src}/h{k}.{ext}", f"""{"import { trace } from '@opentelemetry/api';" if ts else "const { trace } = require('@opentelemetry/api');"}

// Handler {k}: fetch and price items.
{"export " if ts else ""}async function h{k}(req{typ}, res{typ}) {{
  const span = trace.getActiveSpan();
  span?.setAttribute('item.index', {k});
{attr}  const resp = await fetch(`http://inventory/items/${{req.params.id}}`);
  const text = await resp.text();
  let total = 0;
  for (const line of text.split('\\n')) {{
    total += line.length * 100;
  }}
  res.json({{ item: req.params.id, price: total }});
}}
{"" if ts else f"module.exports = {{ h{k} }};"}
""")


def java(d, name, f, n):
    pkg = "com.example." + name.replace("-", "")
    pdir = f"{d}/src/main/java/" + pkg.replace(".", "/")
    deps = "" if f["no_sdk"] else "".join(
        f"    <dependency><groupId>io.opentelemetry</groupId><artifactId>{a}</artifactId><version>1.54.0</version></dependency>\n"
        for a in ["opentelemetry-api", "opentelemetry-sdk", "opentelemetry-exporter-otlp"]) + (
        "    <dependency><groupId>io.opentelemetry.instrumentation</groupId><artifactId>opentelemetry-java-http-client</artifactId><version>2.20.0-alpha</version></dependency>\n")
    write(f"{d}/pom.xml", f"""<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>com.example</groupId>
  <artifactId>{name}</artifactId>
  <version>1.0.0</version>
  <packaging>jar</packaging>
  <dependencies>
{deps}    <dependency><groupId>io.javalin</groupId><artifactId>javalin</artifactId><version>6.3.0</version></dependency>
  </dependencies>
</project>
""")
    prop = "" if f["no_propagator"] else "            .setPropagators(ContextPropagators.create(W3CTraceContextPropagator.getInstance()))\n"
    prop_imports = "" if f["no_propagator"] else (
        "import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;\n"
        "import io.opentelemetry.context.propagation.ContextPropagators;\n")
    proc = "SimpleSpanProcessor.create(exporter)" if f["simple"] else "BatchSpanProcessor.builder(exporter).build()"
    regs = "".join(f"        app.get(\"/h{k}/{{id}}\", Handler{k}::handle);\n" for k in range(n - 2))
    write(f"{pdir}/App.java", f"""package {pkg};

import io.javalin.Javalin;
{prop_imports}import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporter;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.export.BatchSpanProcessor;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;

public class App {{
    public static void main(String[] args) {{
        OtlpHttpSpanExporter exporter = OtlpHttpSpanExporter.getDefault();
        OpenTelemetrySdk.builder()
            .setTracerProvider(SdkTracerProvider.builder().addSpanProcessor({proc}).build())
{prop}            .buildAndRegisterGlobal();
        Javalin app = Javalin.create();
{regs}        app.start(8080);
    }}
}}
""")
    client = ("HttpClient.newHttpClient()" if f["no_sdk"] else
              "JavaHttpClientTelemetry.create(GlobalOpenTelemetry.get()).newHttpClient(HttpClient.newHttpClient())")
    imports = "" if f["no_sdk"] else ("import io.opentelemetry.api.GlobalOpenTelemetry;\n"
                                      "import io.opentelemetry.instrumentation.httpclient.JavaHttpClientTelemetry;\n")
    for k in range(n - 2):
        attr = '        span.setAttribute("user.email", ctx.header("X-Email"));\n' if f["pii"] and k == 0 else ""
        write(f"{pdir}/Handler{k}.java", f"""package {pkg};

import io.javalin.http.Context;
{imports}import io.opentelemetry.api.trace.Span;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

/** Handler {k}: fetch and price items. */
public final class Handler{k} {{
    private static final HttpClient CLIENT = {client};

    public static void handle(Context ctx) throws Exception {{
        Span span = Span.current();
        span.setAttribute("item.index", {k});
{attr}        HttpRequest req = HttpRequest.newBuilder(URI.create("http://inventory/items/" + ctx.pathParam("id"))).build();
        String body = CLIENT.send(req, HttpResponse.BodyHandlers.ofString()).body();
        long total = 0;
        for (String line : body.split("\\n")) {{
            total += line.length() * 100L;
        }}
        ctx.json(java.util.Map.of("item", ctx.pathParam("id"), "price", total));
    }}
}}
""")


def dotnet(d, name, f, n):
    deps = "" if f["no_sdk"] else "".join(
        f'    <PackageReference Include="{p}" Version="1.9.0" />\n'
        for p in ["OpenTelemetry.Extensions.Hosting", "OpenTelemetry.Exporter.OpenTelemetryProtocol",
                  "OpenTelemetry.Instrumentation.AspNetCore", "OpenTelemetry.Instrumentation.Http"])
    write(f"{d}/{name}.csproj", f"""<Project Sdk="Microsoft.NET.Sdk.Web">
  <PropertyGroup>
    <TargetFramework>net8.0</TargetFramework>
    <OutputType>Exe</OutputType>
  </PropertyGroup>
  <ItemGroup>
{deps}  </ItemGroup>
</Project>
""")
    prop = "" if f["no_propagator"] else "Sdk.SetDefaultTextMapPropagator(new TraceContextPropagator());\n"
    proc = ".AddProcessor(new SimpleActivityExportProcessor(new OtlpTraceExporter(new OtlpExporterOptions())))" if f["simple"] else ".AddOtlpExporter()"
    regs = "".join(f"app.MapGet(\"/h{k}/{{id}}\", Handler{k}.Handle);\n" for k in range(n - 2))
    write(f"{d}/Program.cs", f"""using OpenTelemetry;
using OpenTelemetry.Context.Propagation;
using OpenTelemetry.Exporter;
using OpenTelemetry.Trace;

var builder = WebApplication.CreateBuilder(args);
builder.Services.AddOpenTelemetry().WithTracing(t => t
    .AddAspNetCoreInstrumentation()
    .AddHttpClientInstrumentation()
    {proc});
{prop}var app = builder.Build();
{regs}app.Run();
""")
    for k in range(n - 2):
        attr = '        activity?.SetTag("user.email", ctx.Request.Headers["X-Email"].ToString());\n' if f["pii"] and k == 0 else ""
        write(f"{d}/Handlers/Handler{k}.cs", f"""using System.Diagnostics;

/// Handler {k}: fetch and price items.
public static class Handler{k}
{{
    private static readonly HttpClient Client = new();

    public static async Task<IResult> Handle(HttpContext ctx, int id)
    {{
        var activity = Activity.Current;
        activity?.SetTag("item.index", {k});
{attr}        var body = await Client.GetStringAsync($"http://inventory/items/{{id}}");
        long total = 0;
        foreach (var line in body.Split('\\n'))
        {{
            total += line.Length * 100L;
        }}
        return Results.Json(new {{ item = id, price = total }});
    }}
}}
""")


def k8s(root, name, i, lang, f):
    endpoint = ('        - name: OTEL_EXPORTER_OTLP_ENDPOINT\n          valueFrom:\n            configMapKeyRef: {name: otel, key: endpoint}\n'
                if i % 19 != 7 else "")
    # A service missing the propagator: nothing where the SDK default is a no-op (Rust, Go,
    # Java), a non-W3C setting where the default is W3C (Python, Node, .NET).
    if not f["no_propagator"]:
        propagators = "        - name: OTEL_PROPAGATORS\n          value: tracecontext,baggage\n"
    elif lang in ("rust", "go", "java"):
        propagators = ""
    else:
        propagators = "        - name: OTEL_PROPAGATORS\n          value: b3multi\n"
    write(f"{root}/deploy/{name}.yaml", f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  replicas: 2
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      containers:
      - name: {name}
        image: registry.example.com/{name}:1.0.0
        env:
        - name: OTEL_SERVICE_NAME
          value: {name}
{endpoint}{propagators}---
apiVersion: v1
kind: Service
metadata:
  name: {name}
spec:
  selector: {{app: {name}}}
  ports:
  - port: 80
    targetPort: 8080
""")


def main():
    root, services, files = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    # Manifest, entry point, Dockerfile (+ routes/tracing/tsconfig) are part of the count.
    for i in range(services):
        lang = LANGS[i % len(LANGS)]
        name = f"svc-{i:04d}-{lang}"
        d = f"{root}/services/{name}"
        f = flags(i)
        n = max(4, files - 3)  # handler files; manifest + entry point + Dockerfile make up the rest
        if lang == "rust":
            rust(d, name, f, n)
        elif lang == "go":
            go(d, name, f, n)
        elif lang == "python":
            python(d, name, f, n)
        elif lang in ("javascript", "typescript"):
            node(d, name, f, n, lang == "typescript")
        elif lang == "java":
            java(d, name, f, n)
        else:
            dotnet(d, name, f, n)
        write(f"{d}/Dockerfile", f"FROM gcr.io/distroless/base\nCOPY . /app\nENV OTEL_SERVICE_NAME={name}\nCMD [\"/app/{name}\"]\n")
        k8s(root, name, i, lang, f)


if __name__ == "__main__":
    main()
