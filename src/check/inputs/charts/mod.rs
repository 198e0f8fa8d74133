//! Helm charts in the tree, rendered once per release (the defaults, each environment values
//! file beside them, or the releases a helmfile or Argo CD `Application` declares): by the
//! installed `helm template` first ([`helm_binary`]), else — or where helm fails — by the
//! built-in template interpreter ([`k8s::helm_template`]). Each template's workloads are read
//! like any manifest's, with lines pointing into the template. A template the built-in
//! interpreter cannot follow is a note (TG199) on it (unless helm renders it); the chart's
//! `values.yaml` is then all that is known of its workloads. A chart whose templates render
//! workloads no longer counts its `values.yaml` as a workload of its own.

use std::collections::BTreeMap;
use std::path::Path;

use super::chart_parents::{self, Imported, Parent};
use super::discover::{Parsed, WalkedFile};
use super::exclude::ExcludeSet;
use super::helm_binary;
use super::k8s::helm_releases::HelmRelease;
use super::k8s::{self, helm_template, K8sFile};

/// Largest template or values file read (a chart's biggest files are a few hundred KiB).
const MAX_FILE: u64 = 1024 * 1024;
/// Most templates read per chart.
const MAX_TEMPLATES: usize = 1000;
/// Most environment values files rendered per chart.
const MAX_ENVIRONMENTS: usize = 16;

/// The directories of the charts among `files` (a directory whose `Chart.yaml` names a
/// chart).
fn chart_dirs(files: &[WalkedFile]) -> Vec<String> {
    files
        .iter()
        // The parse result first: it lies in the list itself, while the path is elsewhere in
        // memory (one pass over 50,000 paths costs milliseconds).
        .filter(|f| {
            matches!(&f.parsed, Parsed::K8s(k) if k.chart_name.is_some())
                && f.rel.rsplit('/').next() == Some("Chart.yaml")
        })
        .map(|f| f.dir.clone())
        .collect()
}

/// `check --manifests`: the pipeline rendered the charts itself, so none is rendered here and
/// nothing of a chart is read as deployed objects — its `values.yaml` (the workload shapes
/// its values describe), the files under its `templates/` and `charts/`.
pub(super) fn set_aside(files: &mut [WalkedFile]) {
    let charts = chart_dirs(files);
    if charts.is_empty() {
        return;
    }
    let of_chart = |rel: &str| {
        charts.iter().any(|dir| {
            let rest = if dir == "." {
                Some(rel)
            } else {
                rel.strip_prefix(dir.as_str())
                    .and_then(|r| r.strip_prefix('/'))
            };
            rest.is_some_and(|r| {
                matches!(r, "values.yaml" | "values.yml")
                    || r.starts_with("templates/")
                    || r.starts_with("charts/")
            })
        })
    };
    for f in files.iter_mut() {
        if let Parsed::K8s(k) = &mut f.parsed {
            if of_chart(&f.rel) {
                k.workloads.clear();
                k.configmaps.clear();
                k.ingresses.clear();
                k.namespaces.clear();
                k.instrumentations.clear();
                k.mesh_tracing.clear();
            }
        }
    }
}

/// Render every chart among `files` (a directory whose `Chart.yaml` names a chart).
pub(super) fn render(root: &Path, files: &mut Vec<WalkedFile>, exclude: &ExcludeSet) {
    let charts = chart_dirs(files);
    let parents = chart_parents::of(&charts, |rel| read_small(&root.join(rel)));
    let imported = chart_parents::imports(&charts, |rel| read_small(&root.join(rel)));
    // What `import-values` could not copy: a note at the chart's `import-values`.
    for (dir, imp) in &imported {
        let rel = join(dir, "Chart.yaml");
        if let Ok(i) = files.binary_search_by(|f| f.rel.as_str().cmp(&rel)) {
            let line = read_small(&root.join(&rel))
                .and_then(|t| t.lines().position(|l| l.contains("import-values")))
                .map_or(1, |i| i as u32 + 1);
            if let Parsed::K8s(k) = &mut files[i].parsed {
                k.invalid
                    .extend(imp.notes.iter().map(|n| (line, format!("Helm: {n}"))));
            }
        }
    }
    let releases: Vec<HelmRelease> = files
        .iter()
        .filter_map(|f| match &f.parsed {
            Parsed::K8s(k) => Some(k.helm_releases.iter().cloned()),
            _ => None,
        })
        .flatten()
        .collect();
    // Charts that are no subchart first: one helm renders with its subcharts in `charts/`.
    let helm = helm_binary::installed();
    let mut by_helm: Vec<&str> = Vec::new();
    let (top, subcharts): (Vec<&String>, Vec<&String>) =
        charts.iter().partition(|d| !parents.contains_key(*d));
    for dir in top.into_iter().chain(subcharts) {
        let parent = parents.get(dir);
        if let Some(p) = parent {
            let vendored = dir
                .strip_prefix(p.dir.as_str())
                .is_some_and(|rest| rest.starts_with("/charts/"));
            if vendored && by_helm.contains(&p.dir.as_str()) {
                // Rendered in its parent's release already; its values are no workload.
                let values_rel = ["values.yaml", "values.yml"]
                    .into_iter()
                    .map(|n| join(dir, n))
                    .find(|rel| root.join(rel).is_file());
                drop_values_workloads(files, values_rel.as_deref());
                continue;
            }
        }
        let deployed: Vec<&HelmRelease> = releases.iter().filter(|r| &r.chart == dir).collect();
        let helm = helm && parent.is_none();
        let chart = Chart {
            dir,
            parent,
            imported: imported.get(dir),
        };
        if render_chart(root, &chart, &deployed, helm, files, exclude) {
            by_helm.push(dir);
        }
    }
}

fn join(dir: &str, name: &str) -> String {
    if dir == "." {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}

fn read_small(path: &Path) -> Option<String> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    if !meta.is_file() || meta.len() > MAX_FILE {
        return None;
    }
    std::fs::read_to_string(path).ok()
}

/// The files under `dir/templates` (regular files, no links), relative to the root.
fn templates(root: &Path, dir: &str, exclude: &ExcludeSet) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut pending = vec![(join(dir, "templates"), 0u32)];
    while let Some((rel, depth)) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(root.join(&rel)) else {
            continue;
        };
        let mut names: Vec<(String, std::fs::FileType)> = entries
            .filter_map(Result::ok)
            .filter_map(|e| Some((e.file_name().into_string().ok()?, e.file_type().ok()?)))
            .collect();
        names.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, kind) in names {
            let child = format!("{rel}/{name}");
            if exclude.excluding(&child).is_some() || out.len() >= MAX_TEMPLATES {
                continue;
            }
            if kind.is_dir() && depth < 4 {
                pending.push((child, depth + 1));
            } else if kind.is_file() {
                if let Some(text) = read_small(&root.join(&child)) {
                    out.push((child, text));
                }
            }
        }
    }
    out.sort();
    out
}

/// A chart to render: its directory, what its parent gives it, what it imports from its
/// subcharts.
struct Chart<'a> {
    dir: &'a str,
    parent: Option<&'a Parent>,
    imported: Option<&'a Imported>,
}

/// Render one chart once per release; `helm`: with the installed helm first. Whether helm
/// rendered every release.
fn render_chart(
    root: &Path,
    c: &Chart,
    deployed: &[&HelmRelease],
    helm: bool,
    files: &mut Vec<WalkedFile>,
    exclude: &ExcludeSet,
) -> bool {
    let (dir, parent) = (c.dir, c.parent);
    let Some(chart) = read_small(&root.join(join(dir, "Chart.yaml"))) else {
        return false;
    };
    let values_rel = ["values.yaml", "values.yml"]
        .into_iter()
        .map(|n| join(dir, n))
        .find(|rel| root.join(rel).is_file());
    let values = values_rel
        .as_ref()
        .and_then(|rel| read_small(&root.join(rel)));
    // Values imported from subcharts lie under the chart's own.
    let values = match c.imported {
        Some(i) if i.values.as_object().is_some_and(|m| !m.is_empty()) => Some(over(
            Some(&serde_yaml::to_string(&i.values).unwrap_or_default()),
            values.as_deref().unwrap_or_default(),
        )),
        _ => values,
    };
    // A subchart its parent disables deploys nothing: its values are no workload either.
    if parent.is_some_and(|p| !p.enabled) {
        drop_values_workloads(files, values_rel.as_deref());
        return false;
    }
    let templates = templates(root, dir, exclude);
    if templates.is_empty() {
        return false;
    }
    let name = chart_name(&chart, dir);
    let mut all_by_helm = helm;
    // The releases a helmfile or Argo CD deploys, each with its values over the defaults;
    // without any, the defaults, then each environment's values file beside them.
    let mut passes: Vec<(Option<String>, Option<String>)> = Vec::new();
    if deployed.is_empty() {
        passes.push((None, values.clone()));
        for (env_rel, text) in environment_values(root, dir, exclude) {
            passes.push((
                Some(format!("helm with {env_rel}")),
                Some(over(values.as_deref(), &text)),
            ));
        }
    } else {
        for release in deployed.iter().take(MAX_ENVIRONMENTS) {
            passes.push((
                Some(release.label.clone()),
                Some(release_values(root, values.as_deref(), release, exclude)),
            ));
        }
    }
    let mut by_template: BTreeMap<String, K8sFile> = BTreeMap::new();
    let mut any_workload = false;
    for (i, (env, values)) in passes.into_iter().enumerate() {
        // helm first when installed; its failure is kept, so that it is not run again below.
        let from_helm =
            helm.then(|| helm_binary::render_values(root, dir, &name, values.as_deref()));
        all_by_helm &= matches!(from_helm, Some(Ok(_)));
        let (mut rendered, helm_failed) = match from_helm {
            Some(Ok(by_template)) => (helm_rendered(root, &templates, by_template), None),
            other => (
                helm_template::render_chart(&helm_template::ChartFiles {
                    chart: &chart,
                    values: values.as_deref(),
                    templates: &templates,
                    parent: parent.map(|p| (p.release.as_str(), &p.values)),
                }),
                other.and_then(Result::err),
            ),
        };
        if i == 0 && rendered.iter().any(|(_, r)| r.is_err()) {
            match helm_failed {
                Some(why) => note_why(&mut rendered, &format!("`helm template` failed too: {why}")),
                None => with_helm(root, dir, &name, parent, &templates, &mut rendered),
            }
        }
        for (rel, result) in rendered {
            let mut k = read_rendered(&rel, result);
            any_workload |= !k.workloads.is_empty();
            if let Some(env) = &env {
                for w in &mut k.workloads {
                    w.built_by = Some(env.clone());
                }
            }
            add(by_template.entry(rel).or_default(), k);
        }
    }
    for (rel, parsed) in by_template {
        let file = WalkedFile {
            dir: rel.rsplit_once('/').map_or(".", |(d, _)| d).to_owned(),
            rel,
            parsed: Parsed::K8s(Box::new(parsed)),
        };
        match files.binary_search_by(|f| f.rel.as_str().cmp(file.rel.as_str())) {
            Ok(i) => files[i] = file,
            Err(i) => files.insert(i, file),
        }
    }
    // The rendered workloads describe the chart's releases: its values are not one more.
    if any_workload {
        drop_values_workloads(files, values_rel.as_deref());
    }
    all_by_helm
}

/// The chart's name in `Chart.yaml`, else its directory's.
fn chart_name(chart: &str, dir: &str) -> String {
    serde_yaml::from_str::<serde_yaml::Value>(chart)
        .ok()
        .and_then(|c| c.get("name").and_then(|n| n.as_str()).map(str::to_owned))
        .unwrap_or_else(|| dir.rsplit('/').next().unwrap_or(dir).to_owned())
}

/// What helm printed, per template of the chart and of its vendored subcharts, lines put back
/// on each template's; a template that printed nothing renders to nothing.
fn helm_rendered(
    root: &Path,
    templates: &[(String, String)],
    mut by_template: BTreeMap<String, String>,
) -> Vec<(String, helm_template::TemplateResult)> {
    let mut out: Vec<(String, helm_template::TemplateResult)> = templates
        .iter()
        .map(|(rel, text)| {
            let printed = by_template.remove(rel).unwrap_or_default();
            (rel.clone(), Ok(helm_binary::aligned(text, printed)))
        })
        .collect();
    for (rel, printed) in by_template {
        let text = read_small(&root.join(&rel)).unwrap_or_default();
        out.push((rel, Ok(helm_binary::aligned(&text, printed))));
    }
    out
}

/// A template's outcome read as manifests, lines put back on the template's.
fn read_rendered(rel: &str, result: helm_template::TemplateResult) -> K8sFile {
    match result {
        Ok(r) => {
            let mut k = match k8s::parse_rendered(rel, &r.text) {
                Ok(k) => k,
                Err(reason) => K8sFile {
                    invalid: vec![(1, format!("rendered Helm template: {reason}"))],
                    ..K8sFile::default()
                },
            };
            // What the built-in renderer made is an approximation: a broken document in it
            // is a note on the template, never a stop.
            if let Some((line, reason)) = k.fatal.take() {
                k.invalid
                    .push((line, format!("rendered Helm template: {reason}")));
            }
            remap_lines(&mut k, &r.lines);
            k
        }
        Err((line, reason)) => K8sFile {
            invalid: vec![(line, reason)],
            ..K8sFile::default()
        },
    }
}

/// `more` (another render of the same template) added to `k`; a note already there once.
fn add(k: &mut K8sFile, more: K8sFile) {
    k.workloads.extend(more.workloads);
    k.configmaps.extend(more.configmaps);
    k.ingresses.extend(more.ingresses);
    k.namespaces.extend(more.namespaces);
    k.mesh_tracing.extend(more.mesh_tracing);
    k.otel_config.extend(more.otel_config);
    k.offered_env.extend(more.offered_env);
    for note in more.invalid {
        if !k.invalid.contains(&note) {
            k.invalid.push(note);
        }
    }
}

/// The chart's environment values files (`values-prod.yaml`, `values.staging.yml`), beside
/// `values.yaml`: each is a deployment of the chart, its values over the defaults.
fn environment_values(root: &Path, dir: &str, exclude: &ExcludeSet) -> Vec<(String, String)> {
    let Ok(entries) = std::fs::read_dir(root.join(if dir == "." { "" } else { dir })) else {
        return Vec::new();
    };
    let mut out: Vec<(String, String)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| {
            let stem = n
                .strip_suffix(".yaml")
                .or_else(|| n.strip_suffix(".yml"))
                .unwrap_or_default();
            stem.strip_prefix("values-")
                .or_else(|| stem.strip_prefix("values."))
                .is_some_and(|env| !env.is_empty() && env != "schema")
        })
        .map(|n| join(dir, &n))
        .filter(|rel| exclude.excluding(rel).is_none())
        .filter_map(|rel| read_small(&root.join(&rel)).map(|t| (rel, t)))
        .take(MAX_ENVIRONMENTS)
        .collect();
    out.sort();
    out
}

/// A release's values: its values files (a file of the chart's own `values.yaml` is the
/// defaults again), then its inline values, each over what came before.
fn release_values(
    root: &Path,
    defaults: Option<&str>,
    release: &HelmRelease,
    exclude: &ExcludeSet,
) -> String {
    let mut values = defaults.unwrap_or_default().to_owned();
    for file in &release.values_files {
        if exclude.excluding(file).is_some() {
            continue;
        }
        if let Some(text) = read_small(&root.join(file)) {
            values = over(Some(&values), &text);
        }
    }
    for inline in &release.values {
        values = over(Some(&values), inline);
    }
    values
}

/// `env` values over the `defaults`, as YAML text (helm's `-f`: maps merge, the rest replaced).
fn over(defaults: Option<&str>, env: &str) -> String {
    let parse = |t: &str| -> serde_json::Value {
        serde_yaml::from_str(t)
            .ok()
            .filter(serde_json::Value::is_object)
            .unwrap_or_else(|| serde_json::Value::Object(serde_json::Map::new()))
    };
    let mut values = parse(defaults.unwrap_or_default());
    helm_template::merge_values(&mut values, &parse(env));
    serde_yaml::to_string(&values).unwrap_or_default()
}

fn drop_values_workloads(files: &mut [WalkedFile], values_rel: Option<&str>) {
    let Some(values_rel) = values_rel else {
        return;
    };
    if let Ok(i) = files.binary_search_by(|f| f.rel.as_str().cmp(values_rel)) {
        if let Parsed::K8s(k) = &mut files[i].parsed {
            k.workloads.retain(|w| w.kind != "HelmValues");
        }
    }
}

/// The templates the built-in interpreter could not follow, rendered by the installed
/// `helm template` instead; without it (or when it fails too) each keeps its note, which then
/// says why helm did not render it.
fn with_helm(
    root: &Path,
    dir: &str,
    name: &str,
    parent: Option<&Parent>,
    templates: &[(String, String)],
    rendered: &mut [(String, helm_template::TemplateResult)],
) {
    // A subchart is rendered within its parent's release, with the parent's values.
    let (dir, name) = match parent {
        Some(p) => (p.dir.as_str(), p.release.as_str()),
        None => (dir, name),
    };
    match helm_binary::render(root, dir, name) {
        Ok(mut by_template) => {
            for (rel, result) in rendered.iter_mut().filter(|(_, r)| r.is_err()) {
                let template = templates
                    .iter()
                    .find(|(t, _)| t == rel)
                    .map_or("", |(_, text)| text.as_str());
                let text = by_template.remove(rel.as_str()).unwrap_or_default();
                *result = Ok(helm_binary::aligned(template, text));
            }
        }
        Err(why) => note_why(rendered, &why),
    }
}

/// Each template not followed says why helm did not render it either.
fn note_why(rendered: &mut [(String, helm_template::TemplateResult)], why: &str) {
    for (_, result) in rendered.iter_mut() {
        if let Err((_, reason)) = result {
            reason.push_str(&format!(" ({why})"));
        }
    }
}

/// Put every line of `k` (lines of the rendered text) back on the template line it came from.
fn remap_lines(k: &mut K8sFile, lines: &[u32]) {
    let map = |line: u32| -> u32 {
        if line == 0 {
            0
        } else {
            lines.get(line as usize - 1).copied().unwrap_or(line)
        }
    };
    for w in &mut k.workloads {
        w.line = map(w.line);
        for f in &mut w.facts {
            f.line = map(f.line);
        }
    }
    for c in &mut k.configmaps {
        for line in c.lines.values_mut() {
            *line = map(*line);
        }
    }
    for i in &mut k.ingresses {
        i.line = map(i.line);
    }
    for (_, facts) in &mut k.namespaces {
        for f in facts {
            f.line = map(f.line);
        }
    }
    for (_, line) in &mut k.mesh_tracing {
        *line = map(*line);
    }
    for (line, _) in &mut k.invalid {
        *line = map(*line);
    }
}

#[cfg(test)]
mod tests;
