//! Umbrella charts: a chart whose subcharts (its `charts/NAME` directories, and `file://`
//! dependencies in the tree) render in its release. Helm gives a subchart the parent's values
//! under the subchart's name (or its dependency `alias`) and the parent's `global`, over the
//! subchart's own defaults; a dependency disabled in the parent's values is not rendered at
//! all: its `condition` (the first of its paths set, in the parent's values or the subchart's
//! own defaults under its key) decides, else its `tags` (disabled when one is `false` under the
//! parent's `tags:` and none `true`), as Helm decides. [`imports`] reads `import-values`.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// What a parent chart gives one of its subcharts.
#[derive(Debug, Clone, PartialEq)]
pub struct Parent {
    /// The parent's directory (relative to the root).
    pub dir: String,
    /// The release the subchart renders in: the parent's chart name.
    pub release: String,
    /// The values given: the parent's `global`, and its values under the subchart's key.
    pub values: Value,
    /// Whether the parent enables it (its dependency `condition`).
    pub enabled: bool,
}

/// The subcharts among `charts` (directories with a `Chart.yaml`), by directory. `read`
/// reads a file of the tree (relative path), as the caller bounds it.
pub fn of(charts: &[String], read: impl Fn(&str) -> Option<String>) -> BTreeMap<String, Parent> {
    let mut out = BTreeMap::new();
    for parent in charts {
        let Some(chart) = read(&join(parent, "Chart.yaml")).and_then(|t| yaml(&t)) else {
            continue;
        };
        let release = chart
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let values = ["values.yaml", "values.yml"]
            .iter()
            .find_map(|n| read(&join(parent, n)))
            .and_then(|t| yaml(&t))
            .unwrap_or(Value::Null);
        let deps: Vec<&Value> = chart
            .get("dependencies")
            .and_then(Value::as_array)
            .map(|a| a.iter().collect())
            .unwrap_or_default();
        for sub in charts {
            let Some(rest) = sub
                .strip_prefix(&format!("{}/", join(parent, "charts")))
                .or_else(|| {
                    (parent == ".")
                        .then(|| sub.strip_prefix("charts/"))
                        .flatten()
                })
            else {
                continue;
            };
            if rest.contains('/') {
                continue;
            }
            let dep = deps.iter().find(|d| {
                d.get("name").and_then(Value::as_str) == Some(rest)
                    || d.get("repository")
                        .and_then(Value::as_str)
                        .and_then(|r| r.strip_prefix("file://"))
                        .and_then(|p| crate::check::facts::paths::resolve(parent, p))
                        .as_deref()
                        == Some(sub.as_str())
            });
            let own = own_values(sub, &read);
            out.insert(
                sub.clone(),
                given(parent, &release, &values, rest, dep.copied(), &own),
            );
        }
        // `file://` dependencies elsewhere in the tree.
        for dep in &deps {
            let Some(target) = dep
                .get("repository")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix("file://"))
                .and_then(|p| crate::check::facts::paths::resolve(parent, p))
            else {
                continue;
            };
            if charts.contains(&target) && !out.contains_key(&target) {
                let name = dep.get("name").and_then(Value::as_str).unwrap_or_default();
                let own = own_values(&target, &read);
                out.insert(
                    target,
                    given(parent, &release, &values, name, Some(dep), &own),
                );
            }
        }
    }
    out
}

/// A chart's own `values.yaml`.
fn own_values(dir: &str, read: &impl Fn(&str) -> Option<String>) -> Value {
    ["values.yaml", "values.yml"]
        .iter()
        .find_map(|n| read(&join(dir, n)))
        .and_then(|t| yaml(&t))
        .unwrap_or(Value::Null)
}

/// Whether the parent deploys a dependency: its `condition`, else its `tags`.
fn enabled(values: &Value, dep: Option<&Value>, key: &str, own: &Value) -> bool {
    let Some(dep) = dep else {
        return true;
    };
    let at = |v: &Value, path: &str| -> Option<bool> {
        path.split('.')
            .try_fold(v, |v, k| v.get(k))
            .and_then(Value::as_bool)
    };
    // `condition: a.enabled,b.enabled`: the first path set decides, in the parent's values or
    // the subchart's own defaults (under its key in the coalesced values).
    let condition = dep.get("condition").and_then(Value::as_str).and_then(|c| {
        c.split(',').map(str::trim).find_map(|path| {
            at(values, path).or_else(|| {
                let rest = path.strip_prefix(key)?.strip_prefix('.')?;
                at(own, rest)
            })
        })
    });
    if let Some(on) = condition {
        return on;
    }
    let (mut any_true, mut any_false) = (false, false);
    for tag in dep
        .get("tags")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        match values
            .get("tags")
            .and_then(|t| t.get(tag))
            .and_then(Value::as_bool)
        {
            Some(true) => any_true = true,
            Some(false) => any_false = true,
            None => {}
        }
    }
    any_true || !any_false
}

fn given(
    parent: &str,
    release: &str,
    values: &Value,
    name: &str,
    dep: Option<&Value>,
    own: &Value,
) -> Parent {
    let key = dep
        .and_then(|d| d.get("alias"))
        .and_then(Value::as_str)
        .unwrap_or(name);
    let mut given = Map::new();
    if let Some(v) = values.get(key).filter(|v| v.is_object()) {
        given = v.as_object().cloned().unwrap_or_default();
    }
    if let Some(g) = values.get("global") {
        given.insert("global".into(), g.clone());
    }
    let enabled = enabled(values, dep, key, own);
    Parent {
        dir: parent.to_string(),
        release: release.to_string(),
        values: Value::Object(given),
        enabled,
    }
}

/// What a chart takes from its subcharts with `import-values`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Imported {
    /// The values imported, to lie under the chart's own (which win, as in Helm).
    pub values: Value,
    /// What was not imported, and why.
    pub notes: Vec<String>,
}

/// The `import-values` of each chart among `charts` whose dependencies have some, by
/// directory: a plain copy of the subchart's own values — `- data` takes its `exports.data`
/// to the top level, `- child: a.b` / `parent: c` its `a.b` to `c`. A subchart not in the tree,
/// a path its values do not hold, or another form is a note.
pub fn imports(
    charts: &[String],
    read: impl Fn(&str) -> Option<String>,
) -> BTreeMap<String, Imported> {
    let mut out = BTreeMap::new();
    for parent in charts {
        let Some(chart) = read(&join(parent, "Chart.yaml")).and_then(|t| yaml(&t)) else {
            continue;
        };
        let deps = chart
            .get("dependencies")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut got = Imported {
            values: Value::Object(Map::new()),
            notes: Vec::new(),
        };
        for dep in &deps {
            let Some(list) = dep.get("import-values").and_then(Value::as_array) else {
                continue;
            };
            let name = dep.get("name").and_then(Value::as_str).unwrap_or_default();
            let vendored = join(&join(parent, "charts"), name);
            let dir = dep
                .get("repository")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix("file://"))
                .and_then(|p| crate::check::facts::paths::resolve(parent, p))
                .filter(|d| charts.contains(d))
                .or_else(|| charts.contains(&vendored).then_some(vendored));
            let Some(dir) = dir else {
                got.notes.push(format!(
                    "`import-values` of `{name}` not applied: the chart is not in the tree"
                ));
                continue;
            };
            let own = own_values(&dir, &read);
            for item in list {
                let (from, to) = match item {
                    Value::String(key) => (format!("exports.{key}"), None),
                    Value::Object(m) => match (
                        m.get("child").and_then(Value::as_str),
                        m.get("parent").and_then(Value::as_str),
                    ) {
                        (Some(c), Some(p)) => (c.to_string(), Some(p.to_string())),
                        _ => {
                            got.notes.push(format!(
                                "an `import-values` entry of `{name}` is neither a name nor `child`/`parent`: not applied"
                            ));
                            continue;
                        }
                    },
                    _ => continue,
                };
                let value = from
                    .split('.')
                    .filter(|k| !k.is_empty())
                    .try_fold(&own, |v, k| v.get(k));
                let Some(value) = value.filter(|v| !v.is_null()) else {
                    got.notes.push(format!(
                        "`import-values` of `{name}`: its values hold no `{from}`, nothing imported"
                    ));
                    continue;
                };
                let mut tree = value.clone();
                if let Some(to) = &to {
                    for k in to.rsplit('.').filter(|k| !k.is_empty()) {
                        let mut m = Map::new();
                        m.insert(k.to_string(), tree);
                        tree = Value::Object(m);
                    }
                }
                if tree.is_object() {
                    crate::check::inputs::k8s::helm_template::merge_values(&mut got.values, &tree);
                }
            }
        }
        if got.values.as_object().is_some_and(|m| !m.is_empty()) || !got.notes.is_empty() {
            out.insert(parent.clone(), got);
        }
    }
    out
}

fn yaml(text: &str) -> Option<Value> {
    serde_yaml::from_str(text).ok()
}

fn join(dir: &str, name: &str) -> String {
    if dir == "." {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(list: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: BTreeMap<String, String> = list
            .iter()
            .map(|(p, t)| (p.to_string(), t.to_string()))
            .collect();
        move |p| map.get(p).cloned()
    }

    #[test]
    fn subcharts_get_their_key_and_global_and_conditions_decide() {
        let read = files(&[
            (
                "deploy/shop/Chart.yaml",
                "name: shop\ndependencies:\n  - name: cart\n    repository: file://charts/cart\n  - name: payments\n    alias: pay\n    repository: file://../../libs/charts/payments\n    condition: pay.enabled\n  - name: legacy\n    condition: legacy.enabled\n",
            ),
            (
                "deploy/shop/values.yaml",
                "global:\n  otel: {endpoint: http://c:4317}\ncart:\n  replicaCount: 2\npay:\n  enabled: true\nlegacy:\n  enabled: false\n",
            ),
        ]);
        let charts: Vec<String> = [
            "deploy/shop",
            "deploy/shop/charts/cart",
            "deploy/shop/charts/legacy",
            "libs/charts/payments",
            "other",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let parents = of(&charts, read);
        assert_eq!(
            parents.keys().collect::<Vec<_>>(),
            [
                "deploy/shop/charts/cart",
                "deploy/shop/charts/legacy",
                "libs/charts/payments"
            ]
        );
        let cart = &parents["deploy/shop/charts/cart"];
        assert_eq!(cart.release, "shop");
        assert_eq!(
            cart.values,
            serde_json::json!({"replicaCount": 2, "global": {"otel": {"endpoint": "http://c:4317"}}})
        );
        assert!(cart.enabled);
        let pay = &parents["libs/charts/payments"];
        assert_eq!(pay.values["enabled"], Value::Bool(true));
        assert!(!parents["deploy/shop/charts/legacy"].enabled);
    }

    #[test]
    fn import_values_copy_the_subchart_values_and_note_the_rest() {
        let read = files(&[
            (
                "deploy/shop/Chart.yaml",
                "name: shop\ndependencies:\n  - name: otel-defaults\n    import-values:\n      - child: otel\n        parent: observability.otel\n      - settings\n      - child: missing.path\n        parent: x\n  - name: postgresql\n    repository: https://charts.bitnami.com/bitnami\n    import-values:\n      - data\n",
            ),
            (
                "deploy/shop/charts/otel-defaults/values.yaml",
                "otel:\n  endpoint: http://otel-collector.observability:4317\n  propagators: tracecontext,baggage\nexports:\n  settings:\n    tracingEnabled: true\n",
            ),
        ]);
        let charts: Vec<String> = ["deploy/shop", "deploy/shop/charts/otel-defaults"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let got = imports(&charts, read);
        let shop = &got["deploy/shop"];
        assert_eq!(
            shop.values,
            serde_json::json!({
                "observability": {"otel": {"endpoint": "http://otel-collector.observability:4317", "propagators": "tracecontext,baggage"}},
                "tracingEnabled": true
            })
        );
        assert_eq!(shop.notes.len(), 2, "{:?}", shop.notes);
        assert!(
            shop.notes[0].contains("no `missing.path`"),
            "{:?}",
            shop.notes
        );
        assert!(
            shop.notes[1].contains("`postgresql` not applied"),
            "{:?}",
            shop.notes
        );
    }

    #[test]
    fn tags_decide_when_no_condition_does() {
        let dep = |y: &str| serde_yaml::from_str::<Value>(y).unwrap();
        let values = dep("tags:\n  backend: false\n  web: true\npayments:\n  enabled: false\n");
        let own = Value::Null;
        let d = dep("name: a\ntags: [backend]\n");
        assert!(!enabled(&values, Some(&d), "a", &own));
        let d = dep("name: a\ntags: [backend, web]\n");
        assert!(enabled(&values, Some(&d), "a", &own));
        let d = dep("name: a\ntags: [other]\n");
        assert!(enabled(&values, Some(&d), "a", &own));
        let d = dep("name: payments\ncondition: payments.enabled\ntags: [web]\n");
        assert!(!enabled(&values, Some(&d), "payments", &own));
        let own = dep("enabled: false\n");
        let d = dep("name: search\ncondition: search.enabled\n");
        assert!(!enabled(&values, Some(&d), "search", &own));
    }
}
