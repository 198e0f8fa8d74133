//! A patch target's `labelSelector` and `annotationSelector`: equality-based requirements
//! (`tracing=enabled`, `tier!=batch`, `app`, `!legacy`) select the objects a patch applies to;
//! set-based ones (`tier in (web)`) are not read, and the patch is then not applied.

use serde_yaml::Value;

use super::build::Object;

/// One requirement of a patch target's `labelSelector` or `annotationSelector`.
#[derive(Debug)]
pub struct Selector {
    annotations: bool,
    key: String,
    /// `Some((true, v))`: equals `v`; `Some((false, v))`: differs; `None`: exists (or,
    /// with `absent`, does not).
    value: Option<(bool, String)>,
    absent: bool,
}

impl Selector {
    pub fn matches(&self, o: &Object) -> bool {
        let field = if self.annotations {
            "annotations"
        } else {
            "labels"
        };
        let have = o
            .value
            .get("metadata")
            .and_then(|m| m.get(field))
            .and_then(|m| m.get(self.key.as_str()))
            .and_then(Value::as_str);
        match (&self.value, have) {
            (_, None) if self.absent => true,
            (None, h) => h.is_some() != self.absent,
            (Some((true, v)), Some(h)) => h == v,
            (Some((false, v)), h) => h != Some(v.as_str()),
            (Some((true, _)), None) => false,
        }
    }
}

/// The equality-based requirements of a patch target's selectors; `Err` names a selector the
/// built-in build does not read (set-based `in`/`notin`).
pub fn selectors(target: Option<&Value>) -> Result<Vec<Selector>, String> {
    let mut out = Vec::new();
    for (field, annotations) in [("labelSelector", false), ("annotationSelector", true)] {
        let Some(text) = target.and_then(|t| t.get(field)).and_then(Value::as_str) else {
            continue;
        };
        for term in text.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            if term.contains('(') || term.contains(" in ") || term.contains(" notin ") {
                return Err(format!("a patch target's `{field}: {text}`"));
            }
            let (key, value, absent) = if let Some((k, v)) = term.split_once("!=") {
                (k, Some((false, v)), false)
            } else if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
                (k, Some((true, v)), false)
            } else if let Some(k) = term.strip_prefix('!') {
                (k, None, true)
            } else {
                (term, None, false)
            };
            out.push(Selector {
                annotations,
                key: key.trim().to_string(),
                value: value.map(|(eq, v)| (eq, v.trim().to_string())),
                absent,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(labels: &str) -> Object {
        Object {
            value: serde_yaml::from_str(&format!("metadata:\n  name: a\n  labels: {{{labels}}}\n"))
                .unwrap(),
            ..Object::default()
        }
    }

    fn target(selector: &str) -> Value {
        serde_yaml::from_str(&format!(
            "kind: Deployment\nlabelSelector: \"{selector}\"\n"
        ))
        .unwrap()
    }

    #[test]
    fn equality_requirements_select_as_kubernetes_does() {
        let web = object("tier: web, tracing: enabled");
        let batch = object("tier: batch");
        for (selector, web_matches, batch_matches) in [
            ("tracing=enabled", true, false),
            ("tracing==enabled", true, false),
            ("tier!=batch", true, false),
            ("tier", true, true),
            ("!tracing", false, true),
            ("tier=web,tracing=enabled", true, false),
            ("tier=batch,tracing", false, false),
        ] {
            let s = selectors(Some(&target(selector))).unwrap();
            assert_eq!(
                s.iter().all(|r| r.matches(&web)),
                web_matches,
                "{selector} web"
            );
            assert_eq!(
                s.iter().all(|r| r.matches(&batch)),
                batch_matches,
                "{selector} batch"
            );
        }
        assert!(selectors(None).unwrap().is_empty());
    }

    #[test]
    fn set_based_requirements_are_not_read() {
        for selector in ["tier in (web)", "tier notin (batch)"] {
            assert!(selectors(Some(&target(selector))).is_err(), "{selector}");
        }
    }
}
