//! Kubernetes configuration feeding the rules: ConfigMaps resolved into workload environment,
//! namespace annotations, Helm values, and every way an ingress can pass TG204.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::Path;

use tracegate::check::model::{Finding, Scan};
use tracegate::check::{scan, ScanOptions};

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

/// A Go service that builds a tracer provider but never sets a propagator in code.
fn go_without_propagator(root: &Path) {
    write(root, "cart/go.mod", "module example.com/cart\n\nrequire (\n\tgo.opentelemetry.io/otel v1.28.0\n\tgo.opentelemetry.io/otel/sdk v1.28.0\n)\n");
    write(
        root,
        "cart/main.go",
        "package main\n\nimport (\n\t\"go.opentelemetry.io/otel\"\n\tsdktrace \"go.opentelemetry.io/otel/sdk/trace\"\n)\n\nfunc main() {\n\totel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithBatcher(nil)))\n}\n",
    );
}

/// An Express service in `web/` with no OpenTelemetry dependency, serving `server_js`.
fn node_without_sdk(root: &Path, server_js: &str) {
    write(
        root,
        "web/package.json",
        "{\"name\": \"web\", \"main\": \"server.js\", \"dependencies\": {\"express\": \"4\"}}",
    );
    write(root, "web/server.js", server_js);
}

fn deployment(extra_env: &str, env_from: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: cart\n  namespace: shop\nspec:\n  template:\n    spec:\n      containers:\n        - name: cart\n          image: r/cart:1\n          envFrom:\n{env_from}          env:\n            - name: OTEL_SERVICE_NAME\n              value: cart\n            - name: OTEL_EXPORTER_OTLP_ENDPOINT\n              value: http://collector:4318\n{extra_env}"
    )
}

fn findings(scan: &Scan, rule: &str) -> Vec<Finding> {
    scan.services
        .iter()
        .flat_map(|s| s.findings.iter())
        .chain(scan.repository_findings.iter())
        .filter(|f| f.rule == rule)
        .cloned()
        .collect()
}

fn run(root: &Path) -> Scan {
    scan(root, &ScanOptions::default()).unwrap()
}

#[test]
fn otel_propagators_from_an_env_from_config_map_counts() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    go_without_propagator(root);
    assert_eq!(
        findings(&run(root), "TG102").len(),
        1,
        "no configuration yet"
    );
    write(root, "deploy/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: otel\ndata:\n  OTEL_PROPAGATORS: tracecontext,baggage\n");
    write(
        root,
        "deploy/cart.yaml",
        &deployment(
            "",
            "            - configMapRef:\n                name: otel\n",
        ),
    );
    assert!(findings(&run(root), "TG102").is_empty());
    // b3 alone in the ConfigMap: the forbidden setting is reported at the ConfigMap's key.
    write(
        root,
        "deploy/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: otel\ndata:\n  OTEL_PROPAGATORS: b3\n",
    );
    let f = findings(&run(root), "TG102");
    assert!(
        f.iter()
            .any(|f| f.file.as_deref() == Some("deploy/cm.yaml") && f.line == Some(6)),
        "{f:?}"
    );
}

#[test]
fn config_map_key_refs_take_the_config_map_value() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    go_without_propagator(root);
    write(root, "deploy/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: otel\ndata:\n  propagators: tracecontext\n");
    let env = "            - name: OTEL_PROPAGATORS\n              valueFrom:\n                configMapKeyRef:\n                  name: otel\n                  key: propagators\n";
    write(
        root,
        "deploy/cart.yaml",
        &deployment(
            env,
            "            - secretRef:\n                name: otlp\n",
        ),
    );
    let scan = run(root);
    assert!(
        findings(&scan, "TG102").is_empty(),
        "{:?}",
        findings(&scan, "TG102")
    );
    assert!(findings(&scan, "TG201").is_empty());
    assert!(findings(&scan, "TG203").is_empty());
}

#[test]
fn operator_injection_on_the_namespace_counts_as_an_sdk() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "api/requirements.txt", "flask\n");
    write(
        root,
        "api/app.py",
        "from flask import Flask\napp = Flask(__name__)\n",
    );
    assert_eq!(findings(&run(root), "TG101").len(), 1);
    write(root, "deploy/ns.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  annotations:\n    instrumentation.opentelemetry.io/inject-python: \"true\"\n");
    write(root, "deploy/api.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\n  namespace: shop\nspec:\n  template:\n    spec:\n      containers:\n        - name: api\n          image: r/api:1\n");
    let scan = run(root);
    assert!(findings(&scan, "TG101").is_empty());
    // The Operator sets OTEL_SERVICE_NAME; the endpoint is the namespace's Instrumentation's,
    // which the tree does not hold: not judged, and the service is not passed on a guess.
    assert!(findings(&scan, "TG201").is_empty());
    assert!(findings(&scan, "TG203").is_empty());
    assert_eq!(findings(&scan, "TG199").len(), 1);
    assert!(!scan.services[0].analysed);
    // With the resource in the tree, what it sets is judged: an endpoint, W3C propagators.
    write(root, "deploy/inst.yaml", "apiVersion: opentelemetry.io/v1alpha1\nkind: Instrumentation\nmetadata:\n  name: python\n  namespace: shop\nspec:\n  exporter:\n    endpoint: http://collector:4318\n  propagators: [tracecontext, baggage]\n");
    let scan = run(root);
    assert!(findings(&scan, "TG201").is_empty());
    assert!(findings(&scan, "TG199").is_empty());
    assert!(scan.services[0].analysed);
    // Without an endpoint in the resource, the SDK's default is no configuration.
    write(root, "deploy/inst.yaml", "apiVersion: opentelemetry.io/v1alpha1\nkind: Instrumentation\nmetadata:\n  name: python\n  namespace: shop\nspec:\n  propagators: [b3]\n");
    let scan = run(root);
    assert_eq!(findings(&scan, "TG201").len(), 1);
    assert_eq!(findings(&scan, "TG102").len(), 1);
    // An annotation set to "false" does not inject.
    write(root, "deploy/ns.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  annotations:\n    instrumentation.opentelemetry.io/inject-python: \"false\"\n");
    assert_eq!(findings(&run(root), "TG101").len(), 1);
}

fn ingress(annotations: &str, class: &str, backend: &str) -> String {
    format!(
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: web\n  annotations:\n    x: y\n{annotations}spec:\n  ingressClassName: {class}\n  rules:\n    - http:\n        paths:\n          - path: /\n            pathType: Prefix\n            backend:\n              service:\n                name: {backend}\n                port:\n                  number: 80\n"
    )
}

#[test]
fn ingress_generates_or_preserves_context() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let nginx = "    nginx.ingress.kubernetes.io/enable-opentelemetry: \"true\"\n";
    let untrusted =
        "    nginx.ingress.kubernetes.io/opentelemetry-trust-incoming-span: \"false\"\n";
    let cases: Vec<(String, Option<&str>, usize)> = vec![
        (ingress("", "nginx", "web"), None, 1),
        (ingress(nginx, "nginx", "web"), None, 0),
        (ingress(&format!("{nginx}{untrusted}"), "nginx", "web"), None, 1),
        (
            ingress("", "nginx", "web"),
            Some("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ingress-nginx-controller\ndata:\n  enable-opentelemetry: \"true\"\n"),
            0,
        ),
        (
            ingress("", "istio", "web"),
            Some("apiVersion: telemetry.istio.io/v1\nkind: Telemetry\nmetadata:\n  name: mesh-default\nspec:\n  tracing:\n    - providers:\n        - name: otel\n"),
            0,
        ),
        (ingress("", "traefik", "web"), None, 1),
    ];
    for (i, (ing, extra, expected)) in cases.into_iter().enumerate() {
        let _ = fs::remove_dir_all(root.join("deploy"));
        write(root, "deploy/ingress.yaml", &ing);
        if let Some(extra) = extra {
            write(root, "deploy/extra.yaml", extra);
        }
        let f = findings(&run(root), "TG204");
        assert_eq!(f.len(), expected, "case {i}: {f:?}");
        if expected == 1 {
            assert_eq!(f[0].file.as_deref(), Some("deploy/ingress.yaml"));
            assert_eq!(f[0].line, Some(4));
        }
    }
}

#[test]
fn a_tracegate_gateway_behind_the_ingress_passes() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "deploy/ingress.yaml",
        &ingress("", "traefik", "gateway"),
    );
    write(root, "gateway/Cargo.toml", "[package]\nname = \"gateway\"\nversion = \"0.1.0\"\n\n[dependencies]\ntracegate = \"0.1\"\n");
    write(root, "gateway/src/main.rs", "fn main() {}\n");
    assert_eq!(findings(&run(root), "TG204").len(), 1);
    write(root, "gateway/src/main.rs", "use tracegate::propagation::server::TraceContextLayer;\nfn main() { let _layer = TraceContextLayer::default(); }\n");
    assert!(findings(&run(root), "TG204").is_empty());
}

#[test]
fn helm_values_configure_the_chart_workload() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "charts/api/Chart.yaml",
        "apiVersion: v2\nname: api\nversion: 1.0.0\n",
    );
    write(root, "charts/api/values.yaml", "image:\n  repository: r/api\nenv:\n  - name: OTEL_EXPORTER_OTLP_HEADERS\n    value: \"authorization=Basic dXNlcjpwYXNz\"\n");
    write(
        root,
        "charts/api/templates/deployment.yaml",
        "kind: Deployment\nmetadata:\n  name: {{ .Chart.Name }}\n",
    );
    let scan = run(root);
    let names: Vec<&str> = scan
        .services
        .iter()
        .map(|s| s.service.name.as_str())
        .collect();
    assert_eq!(names, vec!["api"]);
    let f = findings(&scan, "TG303");
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(
        (f[0].file.as_deref(), f[0].line),
        (Some("charts/api/values.yaml"), Some(4))
    );
    assert_eq!(findings(&scan, "TG201").len(), 1);
    assert_eq!(findings(&scan, "TG100").len(), 1);
}

/// A workload joins the first service (in path order) it matches by name, label or container,
/// image, or directory name — not the first kind of match; a workload no service matches
/// becomes a service of its own, which later workloads of that name join.
#[test]
fn a_workload_joins_the_first_service_it_matches() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    // (directory, Go module name): each service lacks a propagator in code (TG102).
    for (dir, module) in [
        ("a/api", "pay"),
        ("b/svc", "api"),
        ("c/x", "shop"),
        ("d/y", "orders"),
    ] {
        write(root, &format!("{dir}/go.mod"), &format!("module example.com/{module}\n\nrequire (\n\tgo.opentelemetry.io/otel v1.28.0\n\tgo.opentelemetry.io/otel/sdk v1.28.0\n)\n"));
        write(
            root,
            &format!("{dir}/main.go"),
            "package main\n\nimport (\n\t\"go.opentelemetry.io/otel\"\n\tsdktrace \"go.opentelemetry.io/otel/sdk/trace\"\n)\n\nfunc main() {\n\totel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithBatcher(nil)))\n}\n",
        );
    }
    // A workload sets OTEL_PROPAGATORS, clearing TG102 on the service it joins.
    let dep = |name: &str, image: &str| {
        format!("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n  template:\n    spec:\n      containers:\n        - name: main\n          image: r/{image}:1\n          env:\n            - name: OTEL_PROPAGATORS\n              value: tracecontext\n")
    };
    // `api`: b/svc by name, a/api (earlier) by directory. `orders`: d/y by name, c/x (earlier)
    // by image. `zeta`: no service; three workloads in two files, one new service.
    write(
        root,
        "deploy/w.yaml",
        &[
            dep("api", "zzz"),
            dep("orders", "shop"),
            dep("zeta", "q1"),
            dep("zeta", "q2"),
        ]
        .join("---\n"),
    );
    write(root, "k8s/z.yaml", &dep("zeta", "q3"));
    let scan = run(root);
    let tg102: Vec<(&str, &str)> = scan
        .services
        .iter()
        .filter(|s| s.findings.iter().any(|f| f.rule == "TG102"))
        .map(|s| (s.service.path.as_str(), s.service.name.as_str()))
        .collect();
    assert_eq!(tg102, [("b/svc", "api"), ("d/y", "orders")]);
    let zeta: Vec<_> = scan
        .services
        .iter()
        .filter(|s| s.service.name == "zeta")
        .collect();
    assert_eq!(zeta.len(), 1);
    assert_eq!(zeta[0].service.path, "deploy");
    let mut files: Vec<&str> = zeta[0]
        .findings
        .iter()
        .filter_map(|f| f.file.as_deref())
        .collect();
    files.dedup();
    // One workload (kind, name, namespace) in three places: each workload finding once, at the
    // first place, naming the others.
    assert_eq!(files, ["deploy/w.yaml"]);
    let tg201 = zeta[0].findings.iter().find(|f| f.rule == "TG201").unwrap();
    assert!(
        tg201
            .message
            .ends_with(" (also in deploy/w.yaml:46, k8s/z.yaml:4)"),
        "{}",
        tg201.message
    );
}

/// The OpenTelemetry Operator injects the agent named by the annotation: `inject-nodejs` makes
/// a Node service instrumented, `inject-java` (another language's agent) or `inject-sdk`
/// (environment variables only) does not.
#[test]
fn operator_injection_counts_only_for_the_services_language() {
    for (annotation, instrumented) in [
        ("inject-nodejs", true),
        ("inject-java", false),
        ("inject-sdk", false),
        ("inject-dotnet-disabled", false),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        node_without_sdk(
            root,
            "const express = require('express');\nconst app = express();\napp.get('/', async (req, res) => res.send(await fetch('http://stock/')));\napp.listen(8080);\n",
        );
        write(
            root,
            "deploy/web.yaml",
            &format!("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    metadata:\n      annotations:\n        instrumentation.opentelemetry.io/{annotation}: \"true\"\n    spec:\n      containers:\n        - name: web\n          image: r/web:1\n          env:\n            - name: OTEL_SERVICE_NAME\n              value: web\n            - name: OTEL_EXPORTER_OTLP_ENDPOINT\n              value: http://collector:4318\n"),
        );
        let scan = run(root);
        let tg101 = findings(&scan, "TG101");
        assert_eq!(tg101.is_empty(), instrumented, "{annotation}: {tg101:?}");
    }
}

/// TG303: a credential written into OTEL_EXPORTER_OTLP_HEADERS is plain text; one built from
/// a variable read from a Secret with exactly `$(NAME)` is a reference.
#[test]
fn otlp_headers_built_from_a_secret_variable_are_not_plain() {
    for (value, plain) in [
        ("authorization=Bearer abc123", true),
        ("authorization=Bearer $(API_TOKEN)", false),
        ("signoz-access-token=$(API_TOKEN)", false),
        // Not a Secret, or not only the reference: still plain text.
        ("authorization=Bearer $(PLAIN_TOKEN)", true),
        ("authorization=Bearer sk-live-abc$(API_TOKEN)", true),
        // Case-insensitive scheme, `%20` for the space, a variable from an envFrom Secret.
        ("authorization=bearer $(API_TOKEN)", false),
        ("authorization=Basic%20$(API_TOKEN)", false),
        ("authorization=Bearer $(FROM_ENV_FROM)", false),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        go_without_propagator(root);
        let env = format!("            - name: API_TOKEN\n              valueFrom:\n                secretKeyRef:\n                  name: otel\n                  key: token\n            - name: PLAIN_TOKEN\n              value: sk-live-0123456789\n            - name: OTEL_EXPORTER_OTLP_HEADERS\n              value: \"{value}\"\n");
        write(root, "deploy/cart.yaml", &deployment(&env, ""));
        let f = findings(&run(root), "TG303");
        assert_eq!(f.len(), usize::from(plain), "{value}: {f:?}");
    }
}

/// A pod's own Operator annotation wins over its namespace's: `inject-nodejs: "false"` on the
/// pod opts it out of the namespace-wide injection.
#[test]
fn a_pod_annotation_overrides_its_namespace() {
    for (pod, instrumented) in [("", true), ("\"false\"", false)] {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        node_without_sdk(
            root,
            "const express = require('express');\nconst app = express();\napp.listen(8080);\n",
        );
        write(
            root,
            "deploy/ns.yaml",
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  annotations:\n    instrumentation.opentelemetry.io/inject-nodejs: \"true\"\n",
        );
        let annotations = if pod.is_empty() {
            String::new()
        } else {
            format!("    metadata:\n      annotations:\n        instrumentation.opentelemetry.io/inject-nodejs: {pod}\n")
        };
        write(
            root,
            "deploy/web.yaml",
            &format!("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  template:\n{annotations}    spec:\n      containers:\n        - name: web\n          image: r/web:1\n          env:\n            - name: OTEL_SERVICE_NAME\n              value: web\n            - name: OTEL_EXPORTER_OTLP_ENDPOINT\n              value: http://collector:4318\n"),
        );
        let tg101 = findings(&run(root), "TG101");
        assert_eq!(tg101.is_empty(), instrumented, "pod {pod:?}: {tg101:?}");
    }
}
