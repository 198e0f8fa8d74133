//! The two patch languages of kustomize, for what the rules look at: a strategic merge patch
//! (lists of containers, env entries, volumes merged by their key, `$patch: delete` and
//! `$patch: replace` honoured, `null` removing a field) and a JSON patch (RFC 6902 `add`,
//! `replace`, `remove`, `copy`, `move`, `test` ignored) on paths such as
//! `/spec/template/spec/containers/0/env/-`.

use serde_yaml::{Mapping, Value};

/// The key a list is merged by in a strategic merge patch (Kubernetes' `patchMergeKey`);
/// other lists are replaced.
fn merge_key(field: &str) -> Option<&'static str> {
    match field {
        "containers" | "initContainers" | "env" | "volumes" | "imagePullSecrets" => Some("name"),
        "volumeMounts" => Some("mountPath"),
        "ports" => Some("containerPort"),
        _ => None,
    }
}

fn directive(v: &Value) -> Option<&str> {
    v.get("$patch").and_then(Value::as_str)
}

/// Apply the strategic merge patch `patch` to `base`.
pub fn strategic(base: &mut Value, patch: &Value) {
    if directive(patch) == Some("replace") {
        let mut p = patch.clone();
        if let Value::Mapping(m) = &mut p {
            m.remove("$patch");
        }
        *base = p;
        return;
    }
    let (Value::Mapping(b), Value::Mapping(p)) = (&mut *base, patch) else {
        *base = patch.clone();
        return;
    };
    for (k, pv) in p {
        if k.as_str() == Some("$patch") {
            continue;
        }
        if pv.is_null() {
            b.remove(k);
            continue;
        }
        let field = k.as_str().unwrap_or_default();
        match b.get_mut(k) {
            Some(Value::Sequence(bs)) if matches!(pv, Value::Sequence(_)) => {
                let Value::Sequence(ps) = pv else { continue };
                if field == "envFrom" {
                    for item in ps {
                        if !bs.contains(item) {
                            bs.push(item.clone());
                        }
                    }
                } else if let Some(key) = merge_key(field) {
                    merge_list(bs, ps, key);
                } else {
                    *bs = ps.clone();
                }
            }
            Some(bv @ Value::Mapping(_)) if matches!(pv, Value::Mapping(_)) => strategic(bv, pv),
            Some(bv) => *bv = without_directives(pv),
            None => {
                b.insert(k.clone(), without_directives(pv));
            }
        }
    }
}

/// A patch value inserted where the base has nothing: its `$patch: delete` entries mean
/// nothing there.
fn without_directives(v: &Value) -> Value {
    match v {
        Value::Sequence(items) => Value::Sequence(
            items
                .iter()
                .filter(|i| directive(i) != Some("delete"))
                .map(without_directives)
                .collect(),
        ),
        Value::Mapping(m) => Value::Mapping(
            m.iter()
                .filter(|(k, _)| k.as_str() != Some("$patch"))
                .map(|(k, v)| (k.clone(), without_directives(v)))
                .collect::<Mapping>(),
        ),
        other => other.clone(),
    }
}

fn merge_list(base: &mut Vec<Value>, patch: &[Value], key: &str) {
    for item in patch {
        let Some(id) = item.get(key) else {
            base.push(item.clone());
            continue;
        };
        let at = base.iter().position(|b| b.get(key) == Some(id));
        match (at, directive(item)) {
            (Some(i), Some("delete")) => {
                base.remove(i);
            }
            (None, Some("delete")) => {}
            (Some(i), _) => strategic(&mut base[i], item),
            (None, _) => base.push(without_directives(item)),
        }
    }
}

/// Apply the JSON patch operations `ops` to `doc`. `Err` names the first operation that
/// could not be applied (the operations before it stay applied, as kustomize stops there).
pub fn json_patch(doc: &mut Value, ops: &Value) -> Result<(), String> {
    let Value::Sequence(ops) = ops else {
        return Err("a JSON patch is a list of operations".into());
    };
    for op in ops {
        let kind = op.get("op").and_then(Value::as_str).unwrap_or_default();
        let path = op.get("path").and_then(Value::as_str).unwrap_or_default();
        let value = op.get("value").cloned().unwrap_or(Value::Null);
        let done = match kind {
            "add" => add(doc, path, value, false),
            "replace" => add(doc, path, value, true),
            "remove" => remove(doc, path).map(|_| ()),
            "copy" | "move" => {
                let from = op.get("from").and_then(Value::as_str).unwrap_or_default();
                let got = if kind == "move" {
                    remove(doc, from)
                } else {
                    pointer(doc, from).cloned()
                };
                got.and_then(|v| add(doc, path, v, false))
            }
            "test" => Some(()),
            _ => None,
        };
        if done.is_none() {
            return Err(format!("JSON patch `{kind} {path}` does not apply"));
        }
    }
    Ok(())
}

fn tokens(path: &str) -> Option<Vec<String>> {
    let rest = path.strip_prefix('/')?;
    Some(
        rest.split('/')
            .map(|t| t.replace("~1", "/").replace("~0", "~"))
            .collect(),
    )
}

fn pointer<'a>(doc: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = doc;
    for t in tokens(path)? {
        cur = match cur {
            Value::Sequence(s) => s.get(t.parse::<usize>().ok()?)?,
            Value::Mapping(m) => m.get(t.as_str())?,
            _ => return None,
        };
    }
    Some(cur)
}

fn parent_mut<'a>(doc: &'a mut Value, path: &str) -> Option<(&'a mut Value, String)> {
    let mut toks = tokens(path)?;
    let last = toks.pop()?;
    let mut cur = doc;
    for t in toks {
        cur = match cur {
            Value::Sequence(s) => s.get_mut(t.parse::<usize>().ok()?)?,
            Value::Mapping(m) => m.get_mut(t.as_str())?,
            _ => return None,
        };
    }
    Some((cur, last))
}

fn add(doc: &mut Value, path: &str, value: Value, replace: bool) -> Option<()> {
    let (parent, last) = parent_mut(doc, path)?;
    match parent {
        Value::Sequence(s) if last == "-" && !replace => s.push(value),
        Value::Sequence(s) => {
            let i = last.parse::<usize>().ok()?;
            if replace {
                *s.get_mut(i)? = value;
            } else if i <= s.len() {
                s.insert(i, value);
            } else {
                return None;
            }
        }
        Value::Mapping(m) => {
            if replace && !m.contains_key(last.as_str()) {
                return None;
            }
            m.insert(Value::String(last), value);
        }
        _ => return None,
    }
    Some(())
}

fn remove(doc: &mut Value, path: &str) -> Option<Value> {
    let (parent, last) = parent_mut(doc, path)?;
    match parent {
        Value::Sequence(s) => {
            let i = last.parse::<usize>().ok()?;
            (i < s.len()).then(|| s.remove(i))
        }
        Value::Mapping(m) => m.remove(last.as_str()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn y(text: &str) -> Value {
        serde_yaml::from_str(text).unwrap()
    }

    const BASE: &str = "spec:\n  template:\n    metadata:\n      annotations:\n        a: '1'\n    spec:\n      containers:\n        - name: app\n          image: app:1\n          env:\n            - name: PORT\n              value: '8080'\n            - name: OTEL_SERVICE_NAME\n              value: app\n          envFrom:\n            - configMapRef:\n                name: base\n        - name: sidecar\n          image: envoy\n";

    fn env(v: &Value, container: usize) -> Vec<(String, Option<String>)> {
        let c = &v["spec"]["template"]["spec"]["containers"][container];
        c["env"]
            .as_sequence()
            .map(|s| {
                s.iter()
                    .map(|e| {
                        (
                            e["name"].as_str().unwrap().to_string(),
                            e.get("value").and_then(Value::as_str).map(str::to_string),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// (reason, patch, container 0's env after, number of containers after).
    type Case<'a> = (&'a str, &'a str, &'a [(&'a str, Option<&'a str>)], usize);

    #[test]
    fn strategic_merge_table() {
        // (reason, patch, container 0's env after, number of containers after)
        let cases: &[Case<'_>] = &[
            (
                "an env entry of an existing container is added, the others kept",
                "spec:\n  template:\n    spec:\n      containers:\n        - name: app\n          env:\n            - name: OTEL_EXPORTER_OTLP_ENDPOINT\n              value: http://c:4318\n",
                &[("PORT", Some("8080")), ("OTEL_SERVICE_NAME", Some("app")), ("OTEL_EXPORTER_OTLP_ENDPOINT", Some("http://c:4318"))],
                2,
            ),
            (
                "an env entry with the same name is merged: its value replaced",
                "spec:\n  template:\n    spec:\n      containers:\n        - name: app\n          env:\n            - name: PORT\n              value: '9090'\n",
                &[("PORT", Some("9090")), ("OTEL_SERVICE_NAME", Some("app"))],
                2,
            ),
            (
                "`$patch: delete` on an env entry removes it",
                "spec:\n  template:\n    spec:\n      containers:\n        - name: app\n          env:\n            - name: OTEL_SERVICE_NAME\n              $patch: delete\n",
                &[("PORT", Some("8080"))],
                2,
            ),
            (
                "`$patch: delete` on a container removes it, not the other",
                "spec:\n  template:\n    spec:\n      containers:\n        - name: sidecar\n          $patch: delete\n",
                &[("PORT", Some("8080")), ("OTEL_SERVICE_NAME", Some("app"))],
                1,
            ),
            (
                "a container of another name is added, not merged into `app` (negative twin)",
                "spec:\n  template:\n    spec:\n      containers:\n        - name: other\n          env:\n            - name: PORT\n              value: '1'\n",
                &[("PORT", Some("8080")), ("OTEL_SERVICE_NAME", Some("app"))],
                3,
            ),
            (
                "a patch touching only replicas leaves env alone",
                "spec:\n  replicas: 3\n",
                &[("PORT", Some("8080")), ("OTEL_SERVICE_NAME", Some("app"))],
                2,
            ),
        ];
        for (reason, patch, want, containers) in cases {
            let mut v = y(BASE);
            strategic(&mut v, &y(patch));
            let got = env(&v, 0);
            let want: Vec<(String, Option<String>)> = want
                .iter()
                .map(|(n, v)| (n.to_string(), v.map(str::to_string)))
                .collect();
            assert_eq!(got, want, "{reason}");
            let n = v["spec"]["template"]["spec"]["containers"]
                .as_sequence()
                .unwrap()
                .len();
            assert_eq!(n, *containers, "{reason}");
        }
    }

    #[test]
    fn strategic_merge_annotations_env_from_and_null() {
        let mut v = y(BASE);
        strategic(
            &mut v,
            &y("spec:\n  template:\n    metadata:\n      annotations:\n        b: '2'\n    spec:\n      containers:\n        - name: app\n          envFrom:\n            - configMapRef:\n                name: otel\n"),
        );
        let ann = &v["spec"]["template"]["metadata"]["annotations"];
        assert_eq!(
            (ann["a"].as_str(), ann["b"].as_str()),
            (Some("1"), Some("2"))
        );
        let from = v["spec"]["template"]["spec"]["containers"][0]["envFrom"]
            .as_sequence()
            .unwrap();
        assert_eq!(from.len(), 2, "envFrom is appended to");
        strategic(
            &mut v,
            &y("spec:\n  template:\n    metadata:\n      annotations:\n        a: null\n"),
        );
        assert!(v["spec"]["template"]["metadata"]["annotations"]
            .get("a")
            .is_none());
    }

    #[test]
    fn json_patch_table() {
        // (reason, ops, container 0's env after, or None when the patch must fail)
        let cases: &[(&str, &str, Option<&[&str]>)] = &[
            (
                "add at `-` appends an env entry",
                "- op: add\n  path: /spec/template/spec/containers/0/env/-\n  value: {name: OTEL_EXPORTER_OTLP_ENDPOINT, value: x}\n",
                Some(&["PORT", "OTEL_SERVICE_NAME", "OTEL_EXPORTER_OTLP_ENDPOINT"]),
            ),
            (
                "add at an index inserts",
                "- op: add\n  path: /spec/template/spec/containers/0/env/0\n  value: {name: A, value: x}\n",
                Some(&["A", "PORT", "OTEL_SERVICE_NAME"]),
            ),
            (
                "remove drops the entry at the index",
                "- op: remove\n  path: /spec/template/spec/containers/0/env/1\n",
                Some(&["PORT"]),
            ),
            (
                "replace swaps the entry",
                "- op: replace\n  path: /spec/template/spec/containers/0/env/0\n  value: {name: B, value: y}\n",
                Some(&["B", "OTEL_SERVICE_NAME"]),
            ),
            (
                "a path that is not there fails (negative twin of remove)",
                "- op: remove\n  path: /spec/template/spec/containers/0/env/7\n",
                None,
            ),
            (
                "replace of a missing key fails",
                "- op: replace\n  path: /spec/template/spec/containers/0/missing\n  value: 1\n",
                None,
            ),
        ];
        for (reason, ops, want) in cases {
            let mut v = y(BASE);
            let got = json_patch(&mut v, &y(ops));
            match want {
                Some(want) => {
                    assert!(got.is_ok(), "{reason}: {got:?}");
                    let names: Vec<String> = env(&v, 0).into_iter().map(|(n, _)| n).collect();
                    assert_eq!(names, *want, "{reason}");
                }
                None => assert!(got.is_err(), "{reason}"),
            }
        }
        let mut v = y(BASE);
        json_patch(
            &mut v,
            &y("- op: add\n  path: /spec/template/metadata/annotations/sidecar.istio.io~1inject\n  value: 'true'\n"),
        )
        .unwrap();
        assert_eq!(
            v["spec"]["template"]["metadata"]["annotations"]["sidecar.istio.io/inject"].as_str(),
            Some("true"),
            "`~1` in a path is `/`"
        );
    }
}
