//! Kubernetes manifests (multi-document YAML) and Helm `values.yaml`: workloads with their
//! environment, start commands and annotations; ConfigMaps; Ingresses; mesh tracing
//! configuration (Istio `Telemetry`, Envoy tracers). Helm templates (`{{ … }}`) are skipped.

use std::collections::BTreeMap;

use serde_yaml::Value;

use crate::check::facts::{Fact, FactKind};

mod app_settings;
mod build;
mod compose;
mod helm;
pub mod helm_releases;
pub mod helm_template;
mod instrumentation;
pub mod script_builds;
mod serverless;
pub use serverless::SERVERLESS;
pub mod tilt;
mod workload;
pub use app_settings::is_bootstrap;
pub(crate) use build::parent as parent_dir;
pub use build::ImageBuild;
use helm::helm_values;
pub use instrumentation::{Instrumentation, Unresolved};
use workload::workload;

/// A `envFrom` source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvFrom {
    /// `ConfigMap` or `Secret`.
    pub secret: bool,
    /// Its name.
    pub name: String,
}

/// A workload (Deployment, StatefulSet, DaemonSet, Job, CronJob, Pod), a Helm release or a
/// docker-compose service (kind [`COMPOSE`]).
#[derive(Clone, Debug, Default)]
pub struct Workload {
    /// `metadata.name` (empty for Helm values until the chart name is known).
    pub name: String,
    /// Kind (`Deployment`, …, `HelmValues`).
    pub kind: String,
    /// Namespace, if set.
    pub namespace: Option<String>,
    /// File and line of its `metadata.name`.
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// Identifying names: labels `app`, `app.kubernetes.io/name`, container names.
    pub aliases: Vec<String>,
    /// Container images (`containers`, not `initContainers`).
    pub images: Vec<String>,
    /// `initContainers` images (an injected agent, a migration step): they name no workload.
    pub init_images: Vec<String>,
    /// The ports each of `images` declares (`containers[].ports`: name, `containerPort`), in
    /// the order of `images`: what a container of an image published elsewhere serves.
    pub ports: Vec<Vec<(Option<String>, u64)>>,
    /// The directory its image is built from, when the file that defines it says so (a
    /// docker-compose `build:`), relative to the root.
    pub build: Option<String>,
    /// The Dockerfile a compose `build:` builds with (`dockerfile:` in the context, else the
    /// context's `Dockerfile`) and the context itself, relative to the root: what its `COPY`
    /// sources are read against when the Dockerfile sits apart from the code
    /// (`dockerfile: ./docker/web.Dockerfile` with the context at the root).
    pub dockerfile: Option<(String, String)>,
    /// The values of its compose `build.args` (`SERVICE: payments-worker`): which of the
    /// binaries below the build directory one shared Dockerfile builds (`./cmd/${SERVICE}`).
    pub build_args: Vec<String>,
    /// `Env`, `Command` and `Annotation` facts.
    pub facts: Vec<Fact>,
    /// `envFrom` sources.
    pub env_from: Vec<EnvFrom>,
    /// ConfigMaps mounted as volumes (`volumes[].configMap`, projected ones too).
    pub config_volumes: Vec<String>,
    /// The keys such a volume projects under another path (`configMap.items`): (ConfigMap
    /// name, key, path). A ConfigMap listed here projects only these keys.
    pub config_items: Vec<(String, String, String)>,
    /// `valueFrom.configMapKeyRef`: (index in `facts`, ConfigMap name, key).
    pub config_refs: Vec<(usize, String, String)>,
    /// What built this workload when it is not read from one file as it is: `kustomize
    /// FILE` (the leaf kustomization that built it), `helm with FILE` (the environment values
    /// file it was rendered with).
    pub built_by: Option<String>,
    /// Operator injections whose `Instrumentation` the tree does not hold: what the resource
    /// sets is unseen.
    pub unresolved: Vec<Unresolved>,
    /// `OTEL_PROPAGATORS` as an Operator injection sets it, and for what (`java`, `sdk`…): it
    /// joins `facts` once the service's language says the injected agent or SDK reads it.
    pub injected_propagators: Option<(String, Fact)>,
}

/// The kind of a docker-compose service's [`Workload`]: it names and locates a service (and
/// lists infrastructure); its settings are not judged.
pub const COMPOSE: &str = "compose";

impl Workload {
    /// Whether the workload rules (TG201, TG203) judge it: a Kubernetes workload or Helm
    /// release, not a docker-compose service or a Serverless Framework service.
    pub fn judged(&self) -> bool {
        self.kind != COMPOSE && self.kind != SERVERLESS
    }
}

/// A ConfigMap's literal data.
#[derive(Clone, Debug, Default)]
pub struct ConfigMap {
    /// Name.
    pub name: String,
    /// Data.
    pub data: BTreeMap<String, String>,
    /// File.
    pub file: String,
    /// Line of each key.
    pub lines: BTreeMap<String, u32>,
}

/// An Ingress.
#[derive(Clone, Debug, Default)]
pub struct Ingress {
    /// Name.
    pub name: String,
    /// File.
    pub file: String,
    /// Line of its name.
    pub line: u32,
    /// Annotations.
    pub annotations: BTreeMap<String, String>,
    /// `spec.ingressClassName` or the class annotation.
    pub class: Option<String>,
    /// Backend service names.
    pub backends: Vec<String>,
}

/// What a YAML file holds.
#[derive(Clone, Debug, Default)]
pub struct K8sFile {
    /// Workloads.
    pub workloads: Vec<Workload>,
    /// ConfigMaps.
    pub configmaps: Vec<ConfigMap>,
    /// Ingresses.
    pub ingresses: Vec<Ingress>,
    /// Namespaces and their annotations.
    pub namespaces: Vec<(String, Vec<Fact>)>,
    /// The OpenTelemetry Operator's `Instrumentation` resources.
    pub instrumentations: Vec<Instrumentation>,
    /// Places where mesh/proxy tracing is configured (Istio Telemetry, Envoy tracers…).
    pub mesh_tracing: Vec<(String, u32)>,
    /// Images built from a directory of the tree (skaffold `build.artifacts`, a Tiltfile's
    /// `docker_build`).
    pub builds: Vec<ImageBuild>,
    /// Helm chart name (`Chart.yaml`).
    pub chart_name: Option<String>,
    /// An OpenTelemetry declarative configuration file's facts ([`super::otel_config`]).
    pub otel_config: Vec<Fact>,
    /// Environment an unused kustomize component would set
    /// ([`OfferedEnv`](crate::check::inputs::kustomize::OfferedEnv)).
    pub offered_env: Vec<crate::check::inputs::kustomize::OfferedEnv>,
    /// What an application settings file (Spring's `application.yml`, .NET's
    /// `appsettings.json`) sets for a tracing switch, as the environment variable that
    /// overrides it (`TRACING_ENABLED`, `Tracing__Enabled`): the image's default; a profile's
    /// file (`application-prod.yml`, `appsettings.Production.json`) as `ProfileEnv` facts.
    pub app_settings: Vec<Fact>,
    /// Helm releases of the tree's charts a helmfile or an Argo CD `Application` declares.
    pub helm_releases: Vec<helm_releases::HelmRelease>,
    /// Documents that are not valid YAML: (line, reason). The file's other documents are
    /// still read, so one broken document does not hide the workloads beside it.
    pub invalid: Vec<(u32, String)>,
    /// A broken document that declares something the rules judge (a workload, Namespace,
    /// ConfigMap, Ingress, Helm values): (line, reason). Skipping it could let its service
    /// pass unjudged, so the scan stops (exit 2) instead.
    pub fatal: Option<(u32, String)>,
}

/// Kinds whose configuration decides a verdict.
const JUDGED_KINDS: &[&str] = &[
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "Job",
    "CronJob",
    "Pod",
    "Namespace",
    "ConfigMap",
    "Ingress",
    "Instrumentation",
];

/// The top-level `kind:` of a document's text, read line by line (for a broken document).
fn declared_kind(text: &str) -> Option<&str> {
    text.lines().find_map(|l| {
        let v = l.strip_prefix("kind:")?.trim();
        let v = v.split(" #").next().unwrap_or(v).trim();
        Some(v.trim_matches(|c| c == '"' || c == '\''))
    })
}

/// A YAML error message without its ` at line L column C` parts: they count from the start of
/// the document, while the finding gives the line in the file.
fn without_positions(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find(" at line ") {
        out.push_str(&rest[..at]);
        let after = &rest[at + " at line ".len()..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        let tail = &after[digits..];
        rest = match tail.strip_prefix(" column ") {
            Some(col) => &col[col.bytes().take_while(u8::is_ascii_digit).count()..],
            None => tail,
        };
    }
    out.push_str(rest);
    out
}

struct Doc<'a> {
    text: &'a str,
    start: u32,
}

fn split_docs(text: &str) -> Vec<Doc<'_>> {
    let mut docs = Vec::new();
    let mut begin = 0usize;
    let mut start_line = 1u32;
    let mut offset = 0usize;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let t = line.trim_end();
        if t == "---" || t.starts_with("--- ") {
            docs.push(Doc {
                text: &text[begin..offset],
                start: start_line,
            });
            begin = offset + line.len();
            start_line = i as u32 + 2;
        }
        offset += line.len();
    }
    docs.push(Doc {
        text: &text[begin..],
        start: start_line,
    });
    docs
}

impl Doc<'_> {
    /// Line of the first occurrence of `needle` at or after line `from`.
    fn line(&self, needle: &str, from: u32) -> u32 {
        for (i, l) in self.text.lines().enumerate() {
            let n = self.start + i as u32;
            if n >= from && l.contains(needle) && !l.trim_start().starts_with('#') {
                return n;
            }
        }
        from.max(self.start)
    }
}

fn s(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn get<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut cur = v;
    for p in path {
        cur = cur.get(*p)?;
    }
    Some(cur)
}

fn string_map(v: Option<&Value>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if let Some(Value::Mapping(m)) = v {
        for (k, val) in m {
            if let (Some(k), Some(val)) = (s(k), s(val)) {
                out.insert(k, val);
            }
        }
    }
    out
}

/// Whether a file is an application settings file by its name (`application-prod.properties`,
/// `appsettings.Production.json`…), read for its tracing switches.
pub fn is_settings_file(file_name: &str) -> bool {
    app_settings::settings_file(file_name).is_some()
}

/// Parse a YAML file that may hold Kubernetes objects. `Err` is a one-line reason with the line.
pub fn parse(rel: &str, text: &str) -> Result<K8sFile, String> {
    if helm_releases::is_helmfile(rel) {
        let (helm_releases, invalid) = helm_releases::helmfile(rel, text);
        return Ok(K8sFile {
            helm_releases,
            invalid,
            ..K8sFile::default()
        });
    }
    let file_name = rel.rsplit('/').next().unwrap_or(rel);
    if let Some(file) = app_settings::settings_file(file_name).filter(|f| f.properties) {
        let mut out = K8sFile::default();
        for (doc, start, value) in app_settings::properties(text) {
            out.app_settings
                .extend(app_settings::facts(rel, doc, start, &value, file));
        }
        return Ok(out);
    }
    if text.contains("{{") {
        // A Helm template or another templating language: not YAML until rendered.
        return Ok(K8sFile::default());
    }
    parse_rendered(rel, text)
}

/// [`parse`] for manifests known to be rendered already (`--manifests -`, the output of
/// `helm template` or `kustomize build`): `{{` in them is data (a ConfigMap holding a
/// dashboard or an alert template), not an unrendered template.
pub fn parse_rendered(rel: &str, text: &str) -> Result<K8sFile, String> {
    let mut out = K8sFile::default();
    let file_name = rel.rsplit('/').next().unwrap_or(rel);
    for doc in split_docs(text) {
        if doc.text.trim().is_empty() {
            continue;
        }
        let value: Value = match serde_yaml::from_str(doc.text) {
            Ok(v) => v,
            // A settings file YAML cannot read (`appsettings.json` may hold comments) only
            // gives no default: no note.
            Err(_) if app_settings::style(file_name).is_some() => continue,
            Err(e) => {
                let line = e
                    .location()
                    .map_or(doc.start, |l| doc.start + l.line() as u32 - 1);
                let first = e.to_string().lines().next().unwrap_or_default().to_string();
                let reason = format!("invalid YAML: {}", without_positions(&first));
                let values = file_name == "values.yaml" || file_name == "values.yml";
                match declared_kind(doc.text) {
                    Some(kind) if JUDGED_KINDS.contains(&kind) => {
                        out.fatal
                            .get_or_insert((line, format!("{reason} (in a {kind} document)")));
                    }
                    _ if values => {
                        out.fatal
                            .get_or_insert((line, format!("{reason} (Helm values)")));
                    }
                    _ => out.invalid.push((line, reason)),
                }
                continue;
            }
        };
        if file_name == "Chart.yaml" {
            out.chart_name = get(&value, &["name"]).and_then(s);
            continue;
        }
        if file_name == "values.yaml" || file_name == "values.yml" {
            helm_values(rel, &doc, &value, &mut out);
            continue;
        }
        if compose::is_compose_file(file_name) {
            compose::services(rel, &doc, &value, &mut out.workloads);
            continue;
        }
        if serverless::is_serverless(file_name, &value) {
            out.workloads
                .extend(serverless::workload(rel, &doc, &value));
            continue;
        }
        if serverless::is_sam(&value) {
            out.workloads
                .extend(serverless::sam_functions(rel, &doc, &value));
            continue;
        }
        if let Some(file) = app_settings::settings_file(file_name) {
            out.app_settings
                .extend(app_settings::facts(rel, doc.text, doc.start, &value, file));
            continue;
        }
        if super::otel_config::is_config(&value) {
            out.otel_config = super::otel_config::facts(rel, doc.text, doc.start, &value, false);
            continue;
        }
        if build::is_skaffold(&value) {
            build::skaffold(rel, &doc, &value, &mut out.builds);
            continue;
        }
        let uncommented: String = doc
            .text
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n");
        if uncommented.contains("envoy.tracers.") {
            out.mesh_tracing
                .push((rel.to_string(), doc.line("envoy.tracers.", doc.start)));
        }
        let Some(kind) = get(&value, &["kind"]).and_then(s) else {
            continue;
        };
        let name = get(&value, &["metadata", "name"])
            .and_then(s)
            .unwrap_or_default();
        let name_line = doc.line(&format!("name: {name}"), doc.start);
        let namespace = get(&value, &["metadata", "namespace"]).and_then(s);
        match kind.as_str() {
            "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" | "Rollout" => {
                if let Some(t) = get(&value, &["spec", "template"]) {
                    out.workloads.push(workload(
                        rel, &doc, &kind, &name, namespace, name_line, &value, t,
                    ));
                }
            }
            "CronJob" => {
                if let Some(t) = get(&value, &["spec", "jobTemplate", "spec", "template"]) {
                    out.workloads.push(workload(
                        rel, &doc, &kind, &name, namespace, name_line, &value, t,
                    ));
                }
            }
            "Pod" => out.workloads.push(workload(
                rel, &doc, &kind, &name, namespace, name_line, &value, &value,
            )),
            "ConfigMap" => {
                let data = string_map(get(&value, &["data"]));
                let lines = data
                    .keys()
                    .map(|k| (k.clone(), doc.line(&format!("{k}:"), name_line)))
                    .collect();
                if data.contains_key("mesh")
                    && data
                        .get("mesh")
                        .is_some_and(|m| m.contains("enableTracing: true"))
                {
                    out.mesh_tracing.push((rel.to_string(), name_line));
                }
                out.configmaps.push(ConfigMap {
                    name,
                    data,
                    file: rel.to_string(),
                    lines,
                });
            }
            "Namespace" => {
                let ann = annotations(
                    rel,
                    &doc,
                    get(&value, &["metadata", "annotations"]),
                    name_line,
                );
                out.namespaces.push((name, ann));
            }
            "Ingress" => {
                let annotations = string_map(get(&value, &["metadata", "annotations"]));
                let class = get(&value, &["spec", "ingressClassName"])
                    .and_then(s)
                    .or_else(|| annotations.get("kubernetes.io/ingress.class").cloned());
                let mut backends = Vec::new();
                collect_backends(get(&value, &["spec"]), &mut backends);
                out.ingresses.push(Ingress {
                    name,
                    file: rel.to_string(),
                    line: name_line,
                    annotations,
                    class,
                    backends,
                });
            }
            "Application" => {
                out.helm_releases
                    .extend(helm_releases::argo_application(rel, &name, &value));
            }
            _ if instrumentation::is_instrumentation(&value, &kind) => {
                out.instrumentations.push(instrumentation::instrumentation(
                    rel, &doc, &value, name, namespace, name_line,
                ));
            }
            "Telemetry" if get(&value, &["spec", "tracing"]).is_some() => {
                out.mesh_tracing.push((rel.to_string(), name_line));
            }
            "IstioOperator" => {
                let enabled = get(&value, &["spec", "meshConfig", "enableTracing"])
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                if enabled
                    || get(&value, &["spec", "meshConfig", "defaultConfig", "tracing"]).is_some()
                {
                    out.mesh_tracing.push((rel.to_string(), name_line));
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

fn collect_backends(v: Option<&Value>, out: &mut Vec<String>) {
    match v {
        Some(Value::Mapping(m)) => {
            for (k, val) in m {
                if s(k).as_deref() == Some("service") {
                    if let Some(n) = get(val, &["name"]).and_then(s) {
                        out.push(n);
                    }
                }
                if s(k).as_deref() == Some("serviceName") {
                    if let Some(n) = s(val) {
                        out.push(n);
                    }
                }
                collect_backends(Some(val), out);
            }
        }
        Some(Value::Sequence(seq)) => {
            for item in seq {
                collect_backends(Some(item), out);
            }
        }
        _ => {}
    }
}

fn annotations(rel: &str, doc: &Doc<'_>, v: Option<&Value>, from: u32) -> Vec<Fact> {
    string_map(v)
        .into_iter()
        .map(|(key, value)| {
            let line = doc.line(&key, from);
            Fact::new(FactKind::Annotation { key, value }, rel, line)
        })
        .collect()
}

#[cfg(test)]
mod tests;
