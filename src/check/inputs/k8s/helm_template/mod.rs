//! Helm charts rendered without Helm: a Go-template interpreter for the subset charts use to
//! lay out their workloads (values, `if`/`range`/`with`, `define`/`include`/`tpl`, Sprig's
//! string, list and dict functions, `toYaml | nindent`), run with the chart's default
//! `values.yaml` and a release named after the chart (so `fullname` helpers give the chart's
//! name). Each output line keeps the template line it comes from, so findings point into the
//! template. A template using what is not followed (an unknown function, `fail`, a missing
//! `required` value) is not rendered, and says why.

mod eval;
mod funcs;
mod lex;
mod parse;
mod pipeline;
mod values;

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

/// One rendered template.
#[derive(Debug, Default)]
pub struct Rendered {
    /// The YAML it renders to.
    pub text: String,
    /// For each line of `text` (0-based), the template's 1-based line it comes from.
    pub lines: Vec<u32>,
}

/// A template's outcome: its output, or the line and reason it could not be followed.
pub type TemplateResult = Result<Rendered, (u32, String)>;

/// A chart's files as read: `Chart.yaml`, `values.yaml` and its templates (path, text).
pub struct ChartFiles<'a> {
    /// `Chart.yaml`'s text.
    pub chart: &'a str,
    /// `values.yaml`'s text, when the chart has one.
    pub values: Option<&'a str>,
    /// Every file under `templates/` (path relative to the scanned root, text).
    pub templates: &'a [(String, String)],
    /// For a subchart: its parent's release name and the values the parent gives it (its
    /// key in the parent's values, and `global`), merged over its own.
    pub parent: Option<(&'a str, &'a Value)>,
}

/// `over` merged into `base`: maps key by key (recursively), anything else replaced.
pub fn merge_values(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(k) {
                    Some(existing) => merge_values(existing, v),
                    None => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (b, o) => *b = o.clone(),
    }
}

/// Each template of the chart that renders manifests (not `_helpers.tpl`, `NOTES.txt`):
/// `Ok` with its output, or `Err((line, reason))` when it could not be followed; and every
/// template file that could not be parsed at all (helpers included), as `Err`.
pub fn render_chart(files: &ChartFiles<'_>) -> Vec<(String, TemplateResult)> {
    let chart: Value = serde_yaml::from_str(files.chart).unwrap_or(Value::Null);
    let mut values: Value = files
        .values
        .and_then(|v| serde_yaml::from_str(v).ok())
        .filter(Value::is_object)
        .unwrap_or_else(|| Value::Object(Map::new()));
    let chart_name = chart
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("release")
        .to_owned();
    // A subchart renders in its parent's release, with the values the parent gives it.
    let name = match files.parent {
        Some((release, over)) => {
            merge_values(&mut values, over);
            release.to_owned()
        }
        None => chart_name.clone(),
    };
    // `.Chart` has the file's keys capitalised (`appVersion` → `.Chart.AppVersion`).
    let mut chart_object = Map::new();
    if let Some(m) = chart.as_object() {
        for (k, v) in m {
            let mut c = k.chars();
            let key: String = c
                .next()
                .map(|f| f.to_uppercase().chain(c).collect())
                .unwrap_or_default();
            chart_object.insert(key, v.clone());
        }
    }
    let mut parsed = Vec::new();
    let mut defines = BTreeMap::new();
    let mut out = Vec::new();
    for (rel, text) in files.templates {
        match parse::parse(text) {
            Ok(p) => {
                defines.extend(p.defines.clone());
                // Helm names every file a template too (`CHART/templates/FILE`), which
                // `include (print $.Template.BasePath "/configmap.yaml") .` renders (the
                // checksum annotation of most charts).
                defines.insert(helm_name(&chart_name, rel), p.body.clone());
                parsed.push((rel, p));
            }
            // A helpers file that cannot be read is noted too: the templates including
            // from it then fail with "no template".
            Err(e) => out.push((rel.clone(), Err(split_line(&e)))),
        }
    }
    for (rel, p) in parsed {
        if !renders(rel) {
            continue;
        }
        let root = json!({
            "Values": values,
            "Release": {"Name": name, "Namespace": "default", "Service": "Helm",
                        "IsInstall": true, "IsUpgrade": false, "Revision": 1},
            "Chart": chart_object,
            "Capabilities": {
                "KubeVersion": {"Version": "v1.31.0", "Major": "1", "Minor": "31",
                                "GitVersion": "v1.31.0"},
                "APIVersions": [],
                "HelmVersion": {"Version": "v3.16.0"}
            },
            "Template": {"Name": helm_name(&chart_name, rel), "BasePath": format!("{chart_name}/templates")},
            "Files": {}
        });
        let mut run = eval::Run::new(&defines, root.clone());
        let mut output = eval::Output::default();
        let result = run
            .nodes(&p.body, &root, &mut output)
            .map(|()| Rendered {
                text: output.text,
                lines: output.lines,
            })
            .map_err(|e| split_line(&e));
        out.push((rel.clone(), result));
    }
    out
}

/// Helm's name of a template file: `CHART/templates/…` (`rel` is relative to the scanned
/// root, `…/templates/…`).
fn helm_name(chart: &str, rel: &str) -> String {
    let sub = rel
        .rsplit_once("/templates/")
        .map(|(_, s)| s)
        .or_else(|| rel.strip_prefix("templates/"))
        .unwrap_or(rel);
    format!("{chart}/templates/{sub}")
}

/// Whether Helm renders the template to a manifest (`_helpers.tpl` and `NOTES.txt` it does
/// not; only YAML is of interest).
fn renders(rel: &str) -> bool {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    !name.starts_with('_') && (name.ends_with(".yaml") || name.ends_with(".yml"))
}

/// `line 12: reason` → (12, `reason`); no line: line 1.
fn split_line(e: &str) -> (u32, String) {
    let (line, reason) = e
        .strip_prefix("line ")
        .and_then(|r| r.split_once(": "))
        .and_then(|(n, rest)| n.parse::<u32>().ok().map(|n| (n, rest)))
        .unwrap_or((1, e));
    (line, format!("Helm template not followed: {reason}"))
}

#[cfg(test)]
mod tests;
