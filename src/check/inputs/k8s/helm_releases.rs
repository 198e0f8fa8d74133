//! Helm releases a deployment tool in the tree declares for a chart of the tree, with the
//! values files and inline values each is installed with: helmfile's `releases:` (per
//! environment: `{{ .Environment.Name }}` in a values path takes each name under
//! `environments:`), Argo CD `Application`s with a Helm source (`spec.source.helm.valueFiles`
//! relative to the chart, `$values/…` from a values source, `values`, `valuesObject`,
//! `parameters`). A chart deployed by such releases is rendered once per release, with what
//! the release gives it ([`charts`](crate::check::inputs::charts)); values files outside the
//! chart (`environments/production/orders.yaml`) are read there.

use serde_yaml::Value;

use super::{get, s, split_docs};
use crate::check::facts::paths;

/// One release of a chart of the tree.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HelmRelease {
    /// The chart's directory, relative to the root (not yet known to be a chart).
    pub chart: String,
    /// What deploys it, for findings: `helmfile.yaml release orders (environment production)`.
    pub label: String,
    /// Values files, relative to the root, in the order given (later ones win).
    pub values_files: Vec<String>,
    /// Inline values as YAML text, applied after the files in order.
    pub values: Vec<String>,
}

/// Whether a file is a helmfile (`helmfile.yaml`, `helmfile.yml`, `helmfile.yaml.gotmpl`,
/// `helmfile.d/*.yaml`).
pub fn is_helmfile(rel: &str) -> bool {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    matches!(
        name,
        "helmfile.yaml" | "helmfile.yml" | "helmfile.yaml.gotmpl" | "helmfile.yml.gotmpl"
    ) || rel
        .rsplit_once('/')
        .is_some_and(|(dir, _)| dir == "helmfile.d" || dir.ends_with("/helmfile.d"))
}

/// Most environments a helmfile is expanded for.
const MAX_ENVIRONMENTS: usize = 16;

/// The releases of local charts a helmfile declares, for each of its environments; `Err`
/// lines are documents that could not be read (notes).
pub fn helmfile(rel: &str, text: &str) -> (Vec<HelmRelease>, Vec<(u32, String)>) {
    let dir = rel.rsplit_once('/').map_or(".", |(d, _)| d);
    let mut notes = Vec::new();
    // Environment names: the keys under a top-level `environments:` (read before templating).
    let mut environments: Vec<String> = Vec::new();
    for doc in split_docs(&untemplated(text, "default")) {
        if let Ok(v) = serde_yaml::from_str::<Value>(doc.text) {
            if let Some(Value::Mapping(m)) = get(&v, &["environments"]) {
                environments.extend(m.keys().filter_map(s));
            }
        }
    }
    if environments.is_empty() {
        environments.push("default".to_owned());
    }
    environments.truncate(MAX_ENVIRONMENTS);
    let several = environments.len() > 1;
    let mut out: Vec<HelmRelease> = Vec::new();
    for env in &environments {
        for doc in split_docs(&untemplated(text, env)) {
            if doc.text.trim().is_empty() {
                continue;
            }
            let value: Value = match serde_yaml::from_str(doc.text) {
                Ok(v) => v,
                Err(e) => {
                    let line = e
                        .location()
                        .map_or(doc.start, |l| doc.start + l.line() as u32 - 1);
                    let note = (line, format!("helmfile not read: {e}"));
                    if !notes.contains(&note) {
                        notes.push(note);
                    }
                    continue;
                }
            };
            let Some(Value::Sequence(releases)) = get(&value, &["releases"]) else {
                continue;
            };
            for r in releases {
                if get(r, &["installed"]).and_then(Value::as_bool) == Some(false) {
                    continue;
                }
                let (Some(name), Some(chart)) = (
                    get(r, &["name"]).and_then(s),
                    get(r, &["chart"]).and_then(s),
                ) else {
                    continue;
                };
                // A chart of a repository (`bitnami/redis`) is not in the tree; only paths.
                if !(chart.starts_with("./") || chart.starts_with("../") || chart == ".") {
                    continue;
                }
                let Some(chart) = paths::resolve(dir, &chart) else {
                    continue;
                };
                let mut release = HelmRelease {
                    chart,
                    label: if several {
                        format!("{rel} release {name} (environment {env})")
                    } else {
                        format!("{rel} release {name}")
                    },
                    ..HelmRelease::default()
                };
                for v in get(r, &["values"])
                    .and_then(Value::as_sequence)
                    .into_iter()
                    .flatten()
                {
                    match v {
                        Value::String(file) if !file.contains("{{") => {
                            if let Some(f) = paths::resolve(dir, file) {
                                release.values_files.push(f);
                            }
                        }
                        Value::Mapping(_) => {
                            release
                                .values
                                .push(serde_yaml::to_string(v).unwrap_or_default());
                        }
                        _ => {}
                    }
                }
                if !out
                    .iter()
                    .any(|o| o.chart == release.chart && same_values(o, &release))
                {
                    out.push(release);
                }
            }
        }
    }
    (out, notes)
}

fn same_values(a: &HelmRelease, b: &HelmRelease) -> bool {
    a.values_files == b.values_files && a.values == b.values
}

/// A helmfile's text for one environment: `{{ .Environment.Name }}` replaced by it, lines
/// that are only template actions (`{{- if … }}`, `{{ end }}`) dropped. Other template
/// expressions stay (a values path holding one is not followed).
fn untemplated(text: &str, env: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let t = line.trim();
        if t.starts_with("{{") && t.ends_with("}}") && t.matches("{{").count() == 1 {
            out.push('\n');
            continue;
        }
        let mut l = line.to_owned();
        for pattern in [
            "{{ .Environment.Name }}",
            "{{.Environment.Name}}",
            "{{ .Environment.Name}}",
            "{{.Environment.Name }}",
            "{{ `{{ .Environment.Name }}` }}",
        ] {
            l = l.replace(pattern, env);
        }
        out.push_str(&l);
    }
    out
}

/// The Helm releases of an Argo CD `Application` (`argoproj.io`), from its `spec.source` or
/// `spec.sources`: the source with a `path` is the chart; `helm.valueFiles` are relative to
/// it, or to the repository's root after `$REF/` (a source with `ref: REF`).
pub fn argo_application(rel: &str, name: &str, value: &Value) -> Vec<HelmRelease> {
    let api = get(value, &["apiVersion"]).and_then(s).unwrap_or_default();
    if !api.starts_with("argoproj.io/") {
        return Vec::new();
    }
    let mut sources: Vec<&Value> = Vec::new();
    if let Some(source) = get(value, &["spec", "source"]) {
        sources.push(source);
    }
    if let Some(Value::Sequence(more)) = get(value, &["spec", "sources"]) {
        sources.extend(more.iter());
    }
    let refs: Vec<String> = sources
        .iter()
        .filter_map(|src| get(src, &["ref"]).and_then(s))
        .collect();
    let mut out = Vec::new();
    for src in sources {
        let Some(path) = get(src, &["path"]).and_then(s) else {
            continue;
        };
        let Some(chart) = paths::resolve(".", &path) else {
            continue;
        };
        let mut release = HelmRelease {
            chart: chart.clone(),
            label: format!("Argo CD Application {name} ({rel})"),
            ..HelmRelease::default()
        };
        let helm = get(src, &["helm"]);
        for file in helm
            .and_then(|h| get(h, &["valueFiles"]))
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
            .filter_map(s)
        {
            let from_ref = file
                .strip_prefix('$')
                .and_then(|f| f.split_once('/'))
                .filter(|(r, _)| refs.iter().any(|x| x == r))
                .map(|(_, rest)| rest.to_owned());
            let resolved = match from_ref {
                Some(rest) => paths::resolve(".", &rest),
                None if file.starts_with('$') => None,
                None => paths::resolve(&chart, &file),
            };
            release.values_files.extend(resolved);
        }
        if let Some(h) = helm {
            if let Some(text) = get(h, &["values"]).and_then(Value::as_str) {
                release.values.push(text.to_owned());
            }
            if let Some(object) = get(h, &["valuesObject"]).filter(|v| v.is_mapping()) {
                release
                    .values
                    .push(serde_yaml::to_string(object).unwrap_or_default());
            }
            if let Some(Value::Sequence(params)) = get(h, &["parameters"]) {
                for p in params {
                    if let (Some(key), Some(v)) = (
                        get(p, &["name"]).and_then(s),
                        get(p, &["value"]).and_then(s),
                    ) {
                        release.values.push(nested(&key, &v));
                    }
                }
            }
        }
        out.push(release);
    }
    out
}

/// `--set a.b.c=v` as YAML text (`a: {b: {c: v}}`), the value a string.
fn nested(key: &str, value: &str) -> String {
    let mut v = Value::String(value.to_owned());
    for part in key.rsplit('.') {
        let mut m = serde_yaml::Mapping::new();
        m.insert(Value::String(part.to_owned()), v);
        v = Value::Mapping(m);
    }
    serde_yaml::to_string(&v).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helmfile_releases_per_environment() {
        let text = "environments:\n  staging: {}\n  production: {}\n---\nreleases:\n  - name: orders\n    namespace: shop\n    chart: ./charts/orders\n    values:\n      - environments/{{ .Environment.Name }}/orders.yaml\n      - otel:\n          sampler: always_on\n  - name: redis\n    chart: bitnami/redis\n{{- if eq .Environment.Name \"production\" }}\n  - name: audit\n    chart: ../audit\n    installed: false\n{{- end }}\n";
        let (releases, notes) = helmfile("deploy/helmfile.yaml", text);
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(releases.len(), 2, "{releases:?}");
        assert_eq!(releases[0].chart, "deploy/charts/orders");
        assert_eq!(
            releases[0].label,
            "deploy/helmfile.yaml release orders (environment staging)"
        );
        assert_eq!(
            releases[0].values_files,
            ["deploy/environments/staging/orders.yaml"]
        );
        assert_eq!(releases[0].values, ["otel:\n  sampler: always_on\n"]);
        assert_eq!(
            releases[1].values_files,
            ["deploy/environments/production/orders.yaml"]
        );
    }

    #[test]
    fn a_helmfile_without_environments_is_one_release_and_same_values_are_one() {
        let text = "environments:\n  dev: {}\n  prod: {}\n---\nreleases:\n  - name: cart\n    chart: ./charts/cart\n    values:\n      - values/cart.yaml\n      - values/{{ .Values.region }}.yaml\n";
        let (releases, _) = helmfile("helmfile.yaml", text);
        assert_eq!(releases.len(), 1, "{releases:?}");
        assert_eq!(releases[0].values_files, ["values/cart.yaml"]);
        let (releases, _) = helmfile(
            "helmfile.yaml",
            "releases:\n- name: cart\n  chart: ./charts/cart\n",
        );
        assert_eq!(releases[0].label, "helmfile.yaml release cart");
    }

    #[test]
    fn argo_applications_with_a_helm_source() {
        let app: Value = serde_yaml::from_str(
            "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: orders-prod\nspec:\n  source:\n    repoURL: https://example.invalid/shop.git\n    path: charts/orders\n    helm:\n      valueFiles:\n        - values.yaml\n        - ../../environments/production/orders.yaml\n      values: |\n        replicaCount: 3\n      parameters:\n        - name: otel.endpoint\n          value: http://collector:4317\n",
        )
        .unwrap();
        let r = argo_application("argocd/orders.yaml", "orders-prod", &app);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].chart, "charts/orders");
        assert_eq!(
            r[0].values_files,
            [
                "charts/orders/values.yaml",
                "environments/production/orders.yaml"
            ]
        );
        assert_eq!(
            r[0].values,
            [
                "replicaCount: 3\n",
                "otel:\n  endpoint: http://collector:4317\n"
            ]
        );
        let multi: Value = serde_yaml::from_str(
            "apiVersion: argoproj.io/v1alpha1\nkind: Application\nspec:\n  sources:\n    - repoURL: https://example.invalid/shop.git\n      path: charts/cart\n      helm:\n        valueFiles: [$values/envs/prod/cart.yaml, $other/x.yaml]\n    - repoURL: https://example.invalid/shop.git\n      ref: values\n",
        )
        .unwrap();
        let r = argo_application("app.yaml", "cart", &multi);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].values_files, ["envs/prod/cart.yaml"]);
        let other: Value =
            serde_yaml::from_str("apiVersion: example.com/v1\nkind: Application\nspec:\n  source:\n    path: charts/cart\n").unwrap();
        assert!(argo_application("app.yaml", "x", &other).is_empty());
    }
}
