use crate::check::assembly::work::Svc;
use crate::check::evaluation::evaluate::service;
use crate::check::evaluation::rules::RuleSet;
use crate::check::facts::{Fact, FactKind};
use crate::check::inputs::lang::{analyse, SourceKind};
use crate::check::model::Language;

/// A service of these source files, with these direct dependencies; its findings of `rule`
/// as `file:line`.
fn findings(
    kind: SourceKind,
    dependencies: &[&str],
    files: &[(&str, &str)],
    rule: &str,
) -> Vec<String> {
    let language = match kind {
        SourceKind::Python => Language::Python,
        SourceKind::Java => Language::Java,
        SourceKind::Go => Language::Go,
        _ => Language::Javascript,
    };
    let facts = dependencies.iter().map(|d| dependency(d)).collect();
    findings_with(kind, language, facts, files, rule)
}

const PUBLISHER: &str = "const { context, propagation } = require('@opentelemetry/api');\n\nfunction publish(channel, msg) {\n  const headers = {};\n  propagation.inject(context.active(), headers);\n  channel.publish('x', 'y', msg, { headers });\n}\n\nmodule.exports = { publish };\n";
const NOTIFY: &str = "const fetch = require('node-fetch');\n\nasync function notify(url) {\n  return fetch(url, { method: 'POST' });\n}\n\nmodule.exports = { notify };\n";
const INVENTORY: &str = "const fetch = require('node-fetch');\nconst { context, propagation } = require('@opentelemetry/api');\n\nasync function reserve(url) {\n  const headers = {};\n  propagation.inject(context.active(), headers);\n  return fetch(url, { headers });\n}\n\nmodule.exports = { reserve };\n";
const LEGACY: &str = "const https = require('https');\n\nfunction ping(url) {\n  return https.request(url);\n}\n\nmodule.exports = { ping };\n";
const CARRIER: &str =
    "export async function book(url) {\n  return fetch(url, { method: 'POST' });\n}\n";

fn tracing(instrumentations: &str) -> String {
    format!("const {{ NodeSDK }} = require('@opentelemetry/sdk-node');\nconst {{ UndiciInstrumentation }} = require('@opentelemetry/instrumentation-undici');\nconst {{ getNodeAutoInstrumentations }} = require('@opentelemetry/auto-instrumentations-node');\nnew NodeSDK({{ instrumentations: [{instrumentations}] }}).start();\n")
}

#[test]
fn each_outbound_call_is_covered_only_by_what_instruments_its_library() {
    for (instrumentations, expected, case) in [
        (
            "",
            &["src/carrier.js:2", "src/legacy.js:4", "src/notify.js:4"][..],
            "an inject into message headers covers no fetch; one into the call's own does",
        ),
        (
            "new UndiciInstrumentation()",
            &["src/legacy.js:4", "src/notify.js:4"][..],
            "undici's instrumentation covers the global fetch, not node-fetch nor https",
        ),
        (
            "getNodeAutoInstrumentations()",
            &[][..],
            "the auto-instrumentations cover both",
        ),
    ] {
        let tracing = tracing(instrumentations);
        let files = [
            ("src/tracing.js", tracing.as_str()),
            ("src/publisher.js", PUBLISHER),
            ("src/notify.js", NOTIFY),
            ("src/inventory.js", INVENTORY),
            ("src/carrier.js", CARRIER),
            ("src/legacy.js", LEGACY),
        ];
        let got = findings(
            SourceKind::Javascript,
            &["@opentelemetry/sdk-node"],
            &files,
            "TG104",
        );
        assert_eq!(got, expected, "{case}");
    }
}

#[test]
fn an_inject_in_a_helper_of_the_service_counts_for_the_calls_that_use_it() {
    let helper = "const { context, propagation } = require('@opentelemetry/api');\n\nfunction withTrace(headers = {}) {\n  propagation.inject(context.active(), headers);\n  return headers;\n}\n\nmodule.exports = { withTrace };\n";
    let calls = "const { withTrace } = require('./trace');\n\nasync function catalog(url) {\n  return fetch(url, {\n    headers: withTrace({ accept: 'application/json' }),\n  });\n}\n\nasync function pricing(url) {\n  return fetch(url);\n}\n\nmodule.exports = { catalog, pricing };\n";
    let tracing = tracing("");
    let files = [
        ("src/tracing.js", tracing.as_str()),
        ("src/trace.js", helper),
        ("src/clients.js", calls),
    ];
    let got = findings(
        SourceKind::Javascript,
        &["@opentelemetry/sdk-node"],
        &files,
        "TG104",
    );
    assert_eq!(
        got,
        ["src/clients.js:10"],
        "only the call not using the helper"
    );

    let telemetry = "from opentelemetry.propagate import inject\n\n\ndef traced_headers(extra=None):\n    headers = dict(extra or {})\n    inject(headers)\n    return headers\n";
    let client = "import requests\n\nfrom app.telemetry import traced_headers\n\n\ndef rates(url):\n    return requests.get(url, headers=traced_headers(), timeout=3)\n\n\ndef fx(url):\n    return requests.get(url, timeout=3)\n";
    let files = [("app/telemetry.py", telemetry), ("app/client.py", client)];
    let got = findings(SourceKind::Python, &["opentelemetry-sdk"], &files, "TG104");
    assert_eq!(
        got,
        ["app/client.py:11"],
        "only the call not using the helper"
    );
}

#[test]
fn client_instances_verbs_and_grpc_channels_are_call_sites() {
    let clients = "const got = require('got');\nconst ky = require('ky');\nconst grpc = require('@grpc/grpc-js');\n\nconst shipping = got.extend({ prefixUrl: 'http://shipping' });\nconst catalog = ky.create({ prefixUrl: 'http://catalog' });\nconst cart = new CartClient('cart:7070', grpc.credentials.createInsecure());\n\nmodule.exports = { shipping, catalog, cart };\n";
    let setup = |instrumentations: &str| {
        format!("const {{ NodeSDK }} = require('@opentelemetry/sdk-node');\nconst {{ HttpInstrumentation }} = require('@opentelemetry/instrumentation-http');\nconst {{ UndiciInstrumentation }} = require('@opentelemetry/instrumentation-undici');\nconst {{ GrpcInstrumentation }} = require('@opentelemetry/instrumentation-grpc');\nnew NodeSDK({{ instrumentations: [{instrumentations}] }}).start();\n")
    };
    for (instrumentations, expected) in [
        ("", &["clients.js:5", "clients.js:6", "clients.js:7"][..]),
        (
            "new HttpInstrumentation()",
            &["clients.js:6", "clients.js:7"][..],
        ),
        (
            "new UndiciInstrumentation(), new GrpcInstrumentation()",
            &["clients.js:5"][..],
        ),
    ] {
        let tracing = setup(instrumentations);
        let files = [("tracing.js", tracing.as_str()), ("clients.js", clients)];
        let got = findings(
            SourceKind::Javascript,
            &["@opentelemetry/sdk-node"],
            &files,
            "TG104",
        );
        assert_eq!(got, expected, "{instrumentations}");
    }

    let client = "import grpc\nimport requests\n\n\ndef mark(url):\n    requests.patch(url, json={}, timeout=3)\n    return requests.head(url, timeout=3).ok\n\n\nchannel = grpc.insecure_channel('catalog:3550')\n";
    for (setup, expected) in [
        ("", &["app/client.py:6", "app/client.py:7", "app/client.py:10"][..]),
        (
            "from opentelemetry.instrumentation.grpc import GrpcInstrumentorClient\n\nGrpcInstrumentorClient().instrument()\n",
            &["app/client.py:6", "app/client.py:7"][..],
        ),
        (
            "from opentelemetry.instrumentation.requests import RequestsInstrumentor\n\nRequestsInstrumentor().instrument()\n",
            &["app/client.py:10"][..],
        ),
    ] {
        let files = [("app/setup.py", setup), ("app/client.py", client)];
        let got = findings(SourceKind::Python, &["opentelemetry-sdk"], &files, "TG104");
        assert_eq!(got, expected, "{setup}");
    }
}

#[test]
fn micrometer_tracing_is_an_sdk_observing_the_server_but_not_clients_built_with_new() {
    let app = "package com.acme;\n\nimport okhttp3.OkHttpClient;\nimport org.springframework.boot.SpringApplication;\nimport org.springframework.web.client.RestTemplate;\n\n@SpringBootApplication\npublic class App {\n    private final RestTemplate legacy = new RestTemplate();\n    private final OkHttpClient fx = new OkHttpClient.Builder()\n            .build();\n\n    public static void main(String[] args) {\n        SpringApplication.run(App.class, args);\n    }\n}\n";
    let files = [("src/main/java/com/acme/App.java", app)];
    let deps = [
        "org.springframework.boot:spring-boot-starter-web",
        "org.springframework.boot:spring-boot-starter-actuator",
        "io.micrometer:micrometer-tracing-bridge-otel",
    ];
    for rule in ["TG101", "TG103"] {
        assert!(
            findings(SourceKind::Java, &deps, &files, rule).is_empty(),
            "{rule}"
        );
    }
    assert_eq!(
        findings(SourceKind::Java, &deps, &files, "TG104"),
        [
            "src/main/java/com/acme/App.java:9",
            "src/main/java/com/acme/App.java:10"
        ]
    );
    // Without actuator nothing observes the server.
    assert_eq!(
        findings(SourceKind::Java, &[deps[0], deps[2]], &files, "TG103").len(),
        1
    );
}

#[test]
fn go_s_default_client_is_covered_only_by_replacing_its_transport() {
    let quote = "package main\n\nimport \"net/http\"\n\nfunc quote(url string) (*http.Response, error) {\n\treturn http.Get(url)\n}\n";
    for (setup, expected) in [
        // Another client's transport wrapped: the default client is not.
        ("\tpayments := &http.Client{Transport: otelhttp.NewTransport(http.DefaultTransport)}\n\t_ = payments\n", &["quote.go:6"][..]),
        ("\thttp.DefaultTransport = otelhttp.NewTransport(http.DefaultTransport)\n", &[][..]),
        ("\thttp.DefaultClient = &http.Client{Transport: otelhttp.NewTransport(http.DefaultTransport)}\n", &[][..]),
    ] {
        let main = format!("package main\n\nimport (\n\t\"net/http\"\n\n\t\"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp\"\n)\n\nfunc main() {{\n{setup}}}\n");
        let files = [("main.go", main.as_str()), ("quote.go", quote)];
        let got = findings(
            SourceKind::Go,
            &["go.opentelemetry.io/otel/sdk"],
            &files,
            "TG104",
        );
        assert_eq!(got, expected, "{setup}");
    }
}

#[test]
fn a_browser_fetch_is_covered_by_the_web_instrumentations() {
    let api = "export async function load() {\n  const res = await fetch('/api/cart');\n  return res.json();\n}\n\nexport function legacy(url: string) {\n  const xhr = new XMLHttpRequest();\n  xhr.open('GET', url);\n  xhr.send();\n}\n";
    for (setup, expected) in [
        (
            "new DocumentLoadInstrumentation()",
            &["src/api.ts:2", "src/api.ts:7"][..],
        ),
        ("new FetchInstrumentation()", &["src/api.ts:7"][..]),
        (
            "new FetchInstrumentation(), new XMLHttpRequestInstrumentation()",
            &[][..],
        ),
        ("getWebAutoInstrumentations()", &[][..]),
    ] {
        let tracing = format!("import {{ registerInstrumentations }} from '@opentelemetry/instrumentation';\nimport {{ FetchInstrumentation }} from '@opentelemetry/instrumentation-fetch';\nimport {{ DocumentLoadInstrumentation }} from '@opentelemetry/instrumentation-document-load';\nimport {{ XMLHttpRequestInstrumentation }} from '@opentelemetry/instrumentation-xml-http-request';\nimport {{ getWebAutoInstrumentations }} from '@opentelemetry/auto-instrumentations-web';\nregisterInstrumentations({{ instrumentations: [{setup}] }});\n");
        let files = [("src/tracing.ts", tracing.as_str()), ("src/api.ts", api)];
        let got = findings(
            SourceKind::Typescript,
            &["@opentelemetry/sdk-trace-web"],
            &files,
            "TG104",
        );
        assert_eq!(got, expected, "{setup}");
    }
}

#[test]
fn servers_built_with_new_are_covered_by_their_framework_instrumentation() {
    let koa = "const Koa = require('koa');\nconst app = new Koa();\napp.listen(3000);\n";
    let hapi = "const Hapi = require('@hapi/hapi');\nconst server = Hapi.server({ port: 3000 });\nconst other = new Hapi.Server({ port: 3001 });\n";
    let grpc = "const grpc = require('@grpc/grpc-js');\nconst server = new grpc.Server();\n";
    let setup = |instrumentations: &str| {
        format!("const {{ NodeSDK }} = require('@opentelemetry/sdk-node');\nconst {{ HttpInstrumentation }} = require('@opentelemetry/instrumentation-http');\nconst {{ GrpcInstrumentation }} = require('@opentelemetry/instrumentation-grpc');\nnew NodeSDK({{ instrumentations: [{instrumentations}] }}).start();\n")
    };
    for (instrumentations, expected) in [
        ("", &["grpc.js:2", "hapi.js:2", "hapi.js:3", "koa.js:2"][..]),
        // Node's http instrumentation: Koa and hapi run on it, grpc-js on http2.
        ("new HttpInstrumentation()", &["grpc.js:2"][..]),
        (
            "new HttpInstrumentation(), new GrpcInstrumentation()",
            &[][..],
        ),
    ] {
        let tracing = setup(instrumentations);
        let files = [
            ("tracing.js", tracing.as_str()),
            ("koa.js", koa),
            ("hapi.js", hapi),
            ("grpc.js", grpc),
        ];
        let got = findings(
            SourceKind::Javascript,
            &["@opentelemetry/sdk-node"],
            &files,
            "TG103",
        );
        assert_eq!(got, expected, "{instrumentations}");
    }
}

#[test]
fn a_python_instrumentor_covers_its_own_client_library_only() {
    let telemetry = "from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor\n\n\ndef setup():\n    HTTPXClientInstrumentor().instrument()\n";
    for (client, expected) in [
        ("import httpx\n\n\nasync def call(url):\n    async with httpx.AsyncClient() as c:\n        return await c.get(url)\n", &[][..]),
        ("import aiohttp\n\n\nasync def call(url):\n    async with aiohttp.ClientSession() as s:\n        return await s.get(url)\n", &["app/client.py:5"][..]),
        // An inject into this call's own headers covers it; one in another function does not.
        ("import aiohttp\nfrom opentelemetry.propagate import inject\n\n\nasync def call(url):\n    headers = {}\n    inject(headers)\n    async with aiohttp.ClientSession(headers=headers) as s:\n        return await s.get(url)\n", &[][..]),
        ("import aiohttp\nfrom opentelemetry.propagate import inject\n\n\ndef message_headers():\n    headers = {}\n    inject(headers)\n    return headers\n\n\nasync def call(url):\n    async with aiohttp.ClientSession() as s:\n        return await s.get(url)\n", &["app/client.py:12"][..]),
    ] {
        let files = [("app/telemetry.py", telemetry), ("app/client.py", client)];
        let got = findings(
            SourceKind::Python,
            &["opentelemetry-sdk"],
            &files,
            "TG104",
        );
        assert_eq!(got, expected, "{client}");
    }
}

#[test]
fn a_python_grpc_server_is_covered_by_grpc_instrumentation_not_by_the_web_app_s() {
    let web = "from fastapi import FastAPI\nfrom opentelemetry.instrumentation.fastapi import FastAPIInstrumentor\n\nadmin = FastAPI()\nFastAPIInstrumentor.instrument_app(admin)\n";
    for (server, expected) in [
        (
            "import grpc\nfrom concurrent import futures\n\nserver = grpc.server(futures.ThreadPoolExecutor())\n",
            &["grpc_server.py:4"][..],
        ),
        (
            "import grpc\nfrom concurrent import futures\nfrom opentelemetry.instrumentation.grpc import server_interceptor\n\nserver = grpc.server(futures.ThreadPoolExecutor(), interceptors=[server_interceptor()])\n",
            &[][..],
        ),
        (
            "import grpc\nfrom opentelemetry.instrumentation.grpc import GrpcAioInstrumentorServer\n\nGrpcAioInstrumentorServer().instrument()\nserver = grpc.aio.server()\n",
            &[][..],
        ),
        (
            "import grpc\n\nserver = grpc.aio.server()\n",
            &["grpc_server.py:3"][..],
        ),
    ] {
        let files = [("web.py", web), ("grpc_server.py", server)];
        let got = findings(
            SourceKind::Python,
            &["opentelemetry-sdk"],
            &files,
            "TG103",
        );
        assert_eq!(got, expected, "{server}");
    }
}

/// A service of `language` with these source files and these other facts (dependencies,
/// a start command, environment variables): its findings of `rule` as `file:line`.
fn findings_with(
    kind: SourceKind,
    language: Language,
    facts: Vec<Fact>,
    files: &[(&str, &str)],
    rule: &str,
) -> Vec<String> {
    let svc = Svc {
        name: "svc".into(),
        language: Some(language),
        facts,
        sources: files
            .iter()
            .map(|(rel, src)| analyse(kind, rel, src).unwrap())
            .collect(),
        ..Svc::default()
    };
    let (out, _) = service(&RuleSet::builtin(), &svc, language);
    out.iter()
        .filter(|f| f.rule == rule)
        .map(|f| {
            format!(
                "{}:{}",
                f.file.as_deref().unwrap_or("-"),
                f.line.unwrap_or(0)
            )
        })
        .collect()
}

fn dependency(name: &str) -> Fact {
    Fact::new(
        FactKind::Dependency { name: name.into() },
        "requirements.txt",
        1,
    )
}

#[test]
fn opentelemetry_instrument_covers_the_libraries_whose_instrumentation_is_installed() {
    let app = "import requests\nfrom flask import Flask\n\napp = Flask(__name__)\n\n\n@app.get('/')\ndef index():\n    return requests.get('http://catalog:8000', timeout=2).text\n";
    let files = [("app.py", app)];
    let base = ["flask", "requests", "opentelemetry-distro"];
    for (extra, tg103, tg104, case) in [
        (
            &[][..],
            &["app.py:4"][..],
            &["app.py:9"][..],
            "no instrumentation installed",
        ),
        (
            &["opentelemetry-instrumentation-flask"][..],
            &[][..],
            &["app.py:9"][..],
            "flask's only",
        ),
        (
            &[
                "opentelemetry-instrumentation-flask",
                "opentelemetry-instrumentation-requests",
            ][..],
            &[][..],
            &[][..],
            "both",
        ),
        (
            &["opentelemetry-bootstrap"][..],
            &[][..],
            &[][..],
            "RUN opentelemetry-bootstrap -a install",
        ),
    ] {
        let facts = || {
            let mut facts: Vec<Fact> = base.iter().chain(extra).map(|d| dependency(d)).collect();
            facts.push(Fact::new(
                FactKind::command("opentelemetry-instrument gunicorn app:app"),
                "Dockerfile",
                7,
            ));
            facts
        };
        let kind = SourceKind::Python;
        assert_eq!(
            findings_with(kind, Language::Python, facts(), &files, "TG103"),
            tg103,
            "{case}"
        );
        assert_eq!(
            findings_with(kind, Language::Python, facts(), &files, "TG104"),
            tg104,
            "{case}"
        );
    }
    // No dependency known (no manifest read): covered, as before.
    let command = vec![Fact::new(
        FactKind::command("opentelemetry-instrument gunicorn app:app"),
        "Dockerfile",
        7,
    )];
    assert!(findings_with(
        SourceKind::Python,
        Language::Python,
        command,
        &files,
        "TG104"
    )
    .is_empty());
}

#[test]
fn dotnet_s_propagation_switch_turns_every_http_client_off() {
    let program = "using OpenTelemetry.Trace;\n\nvar builder = WebApplication.CreateBuilder(args);\nbuilder.Services.AddOpenTelemetry().WithTracing(t => t.AddAspNetCoreInstrumentation().AddHttpClientInstrumentation());\nbuilder.Services.AddHttpClient<PricingClient>();\nvar app = builder.Build();\napp.Run();\n";
    let deps = || vec![dependency("OpenTelemetry.Extensions.Hosting")];
    let kind = SourceKind::Csharp;
    let switched = format!(
        "AppContext.SetSwitch(\"System.Net.Http.EnableActivityPropagation\", false);\n{program}"
    );
    for (files, facts, expected) in [
        (vec![("Program.cs", program)], deps(), &[][..]),
        (
            vec![("Program.cs", switched.as_str())],
            deps(),
            &["Program.cs:6"][..],
        ),
    ] {
        assert_eq!(
            findings_with(kind, Language::Dotnet, facts, &files, "TG104"),
            expected
        );
    }
    let mut env = deps();
    env.push(Fact::new(
        FactKind::Env {
            name: "DOTNET_SYSTEM_NET_HTTP_ENABLEACTIVITYPROPAGATION".into(),
            value: Some("0".into()),
            from_secret: false,
            from_ref: false,
        },
        "deploy/pricing.yaml",
        20,
    ));
    let files = [("Program.cs", program)];
    let got = findings_with(kind, Language::Dotnet, env, &files, "TG104");
    assert_eq!(got, ["Program.cs:5"]);
}

/// Next.js's own set-up: `registerOTel` from `@vercel/otel` in `instrumentation.ts` builds
/// the SDK (W3C propagation, batched OTLP export). Its fetch instrumentation injects
/// `traceparent` only into Vercel's own URLs unless `propagateContextUrls` says otherwise:
/// a `fetch` to another service stays a TG104 site.
#[test]
fn vercel_otel_is_the_sdk_of_a_nextjs_app() {
    let setup = "import { registerOTel } from '@vercel/otel';\n\nexport function register() {\n  registerOTel({ serviceName: 'web' });\n}\n";
    let api = "export default async function handler(req, res) {\n  const r = await fetch(`http://cart:8080/cart/${req.query.id}`);\n  res.status(r.status).json(await r.json());\n}\n";
    let files = [("instrumentation.ts", setup), ("pages/api/cart.ts", api)];
    let deps = ["next", "@vercel/otel", "@opentelemetry/api"];
    let kind = SourceKind::Typescript;
    assert!(findings(kind, &deps, &files, "TG101").is_empty());
    assert_eq!(
        findings(kind, &deps, &files, "TG104"),
        ["pages/api/cart.ts:2"]
    );
    // The twin: the API alone is no SDK.
    assert_eq!(
        findings(kind, &["next", "@opentelemetry/api"], &files, "TG101").len(),
        1
    );
}
