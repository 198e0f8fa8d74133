//! Umbrella charts: a chart whose subcharts (its `charts/NAME` directories, and `file://`
//! dependencies in the tree) render in its release. Helm gives a subchart the parent's values
//! under the subchart's name (or its dependency `alias`) and the parent's `global`, over the
//! subchart's own defaults; a dependency whose `condition` is false in the parent's values is
//! not rendered at all.

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
            out.insert(
                sub.clone(),
                given(parent, &release, &values, rest, dep.copied()),
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
                out.insert(target, given(parent, &release, &values, name, Some(dep)));
            }
        }
    }
    out
}

fn given(parent: &str, release: &str, values: &Value, name: &str, dep: Option<&Value>) -> Parent {
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
    // `condition: a.enabled,b.enabled`: the first path the values set decides.
    let enabled = dep
        .and_then(|d| d.get("condition"))
        .and_then(Value::as_str)
        .and_then(|c| {
            c.split(',').find_map(|path| {
                path.trim()
                    .split('.')
                    .try_fold(values, |v, k| v.get(k))
                    .and_then(Value::as_bool)
            })
        })
        .unwrap_or(true);
    Parent {
        dir: parent.to_string(),
        release: release.to_string(),
        values: Value::Object(given),
        enabled,
    }
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
}
