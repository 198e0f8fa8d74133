//! Helm charts in the tree, rendered with their default values by the built-in template
//! interpreter ([`k8s::helm_template`]): each template's workloads are read like any
//! manifest's, with lines pointing into the template. A template that cannot be followed is a
//! note (TG199) on it; the chart's `values.yaml` is then all that is known of its workloads,
//! as before rendering existed. A chart whose templates render workloads no longer counts its
//! `values.yaml` as a workload of its own.

use std::path::Path;

use super::discover::{Parsed, WalkedFile};
use super::exclude::ExcludeSet;
use super::k8s::{self, helm_template, K8sFile};

/// Largest template or values file read (a chart's biggest files are a few hundred KiB).
const MAX_FILE: u64 = 1024 * 1024;
/// Most templates read per chart.
const MAX_TEMPLATES: usize = 1000;

/// Render every chart among `files` (a directory whose `Chart.yaml` names a chart).
pub(super) fn render(root: &Path, files: &mut Vec<WalkedFile>, exclude: &ExcludeSet) {
    let charts: Vec<String> = files
        .iter()
        .filter(|f| {
            f.rel.rsplit('/').next() == Some("Chart.yaml")
                && matches!(&f.parsed, Parsed::K8s(k) if k.chart_name.is_some())
        })
        .map(|f| f.dir.clone())
        .collect();
    for dir in charts {
        render_chart(root, &dir, files, exclude);
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

fn render_chart(root: &Path, dir: &str, files: &mut Vec<WalkedFile>, exclude: &ExcludeSet) {
    let Some(chart) = read_small(&root.join(join(dir, "Chart.yaml"))) else {
        return;
    };
    let values_rel = ["values.yaml", "values.yml"]
        .into_iter()
        .map(|n| join(dir, n))
        .find(|rel| root.join(rel).is_file());
    let values = values_rel
        .as_ref()
        .and_then(|rel| read_small(&root.join(rel)));
    let templates = templates(root, dir, exclude);
    if templates.is_empty() {
        return;
    }
    let rendered = helm_template::render_chart(&helm_template::ChartFiles {
        chart: &chart,
        values: values.as_deref(),
        templates: &templates,
    });
    let mut any_workload = false;
    for (rel, result) in rendered {
        let parsed = match result {
            Ok(r) => {
                let mut k = match k8s::parse_rendered(&rel, &r.text) {
                    Ok(k) => k,
                    Err(reason) => K8sFile {
                        invalid: vec![(1, format!("rendered Helm template: {reason}"))],
                        ..K8sFile::default()
                    },
                };
                // What the built-in renderer made is an approximation: a broken document
                // in it is a note on the template, never a stop.
                if let Some((line, reason)) = k.fatal.take() {
                    k.invalid
                        .push((line, format!("rendered Helm template: {reason}")));
                }
                remap_lines(&mut k, &r.lines);
                any_workload |= !k.workloads.is_empty();
                k
            }
            Err((line, reason)) => K8sFile {
                invalid: vec![(line, reason)],
                ..K8sFile::default()
            },
        };
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
    if let (true, Some(values_rel)) = (any_workload, values_rel) {
        if let Ok(i) = files.binary_search_by(|f| f.rel.as_str().cmp(values_rel.as_str())) {
            if let Parsed::K8s(k) = &mut files[i].parsed {
                k.workloads.retain(|w| w.kind != "HelmValues");
            }
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
