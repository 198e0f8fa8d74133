//! The repository's findings: what belongs to no single service (ingress and its tracing,
//! ConfigMaps, files outside every service that could not be read).

use crate::check::assembly::work::{Repo, Svc};
use crate::check::evaluation::evaluate::finding;
use crate::check::evaluation::rules::{CheckKind, Rule, RuleSet};
use crate::check::evaluation::security;
use crate::check::model::Finding;

/// Findings that belong to no service: ingress, ConfigMaps, unowned skipped files.
pub fn repository(rules: &RuleSet, services: &[Svc], repo: &Repo) -> Vec<Finding> {
    let mut out = Vec::new();
    for rule in rules.rules() {
        match rule.check {
            CheckKind::Ingress => ingress(rule, services, repo, &mut out),
            CheckKind::NotAnalysed => {
                for (file, reason, line) in &repo.skipped {
                    out.push(finding(
                        rule,
                        format!("{}: {reason}", rule.message),
                        Some(file),
                        *line,
                    ));
                }
            }
            CheckKind::PlainOtlpHeaders => {
                for c in repo.configmaps.values() {
                    for (key, value) in &c.data {
                        if rule.param("variables").contains(key)
                            && security::has_credentials(rule, value, &|_| false)
                        {
                            out.push(finding(
                                rule,
                                format!("{}: ConfigMap `{}` key `{key}`", rule.message, c.name),
                                Some(&c.file),
                                c.lines.get(key).copied(),
                            ));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    out
}

fn truthy(v: Option<&String>) -> bool {
    v.is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

fn ingress(rule: &Rule, services: &[Svc], repo: &Repo, out: &mut Vec<Finding>) {
    if repo.ingresses.is_empty() || !repo.mesh_tracing.is_empty() {
        return;
    }
    const NGINX: &str = "nginx.ingress.kubernetes.io/";
    let global: Vec<_> = repo
        .configmaps
        .values()
        .filter(|c| c.data.contains_key("enable-opentelemetry") || c.name.contains("ingress-nginx"))
        .collect();
    let global_enabled = global
        .iter()
        .any(|c| truthy(c.data.get("enable-opentelemetry")));
    let global_untrusted = global.iter().any(|c| {
        c.data
            .get("opentelemetry-trust-incoming-span")
            .is_some_and(|v| v.trim() == "false")
    });
    for ing in &repo.ingresses {
        let tracegate_backend = ing.backends.iter().any(|b| {
            services
                .iter()
                .any(|s| &s.name == b && s.uses_tracegate_propagation())
        });
        if tracegate_backend {
            continue;
        }
        let nginx = ing.class.as_deref().is_some_and(|c| c.contains("nginx"))
            || ing.annotations.keys().any(|k| k.starts_with(NGINX));
        let label = if ing.name.is_empty() {
            "Helm ingress".to_string()
        } else {
            format!("Ingress `{}`", ing.name)
        };
        if nginx {
            let enabled = truthy(ing.annotations.get(&format!("{NGINX}enable-opentelemetry")))
                || (global_enabled
                    && ing
                        .annotations
                        .get(&format!("{NGINX}enable-opentelemetry"))
                        .is_none_or(|v| v.trim() != "false"));
            let untrusted = ing
                .annotations
                .get(&format!("{NGINX}opentelemetry-trust-incoming-span"))
                .map_or(global_untrusted, |v| v.trim() == "false");
            if !enabled {
                out.push(finding(
                    rule,
                    format!(
                        "{}: {label} (ingress-nginx) does not set `enable-opentelemetry: \"true\"`",
                        rule.message
                    ),
                    Some(&ing.file),
                    Some(ing.line),
                ));
            } else if untrusted {
                out.push(finding(
                    rule,
                    format!("{}: {label} sets `opentelemetry-trust-incoming-span: \"false\"`, dropping incoming trace context", rule.message),
                    Some(&ing.file),
                    Some(ing.line),
                ));
            }
        } else {
            out.push(finding(
                rule,
                format!(
                    "{}: {label} (class {}) has no tracing configuration and no backend uses tracegate::propagation",
                    rule.message,
                    ing.class.as_deref().unwrap_or("unset")
                ),
                Some(&ing.file),
                Some(ing.line),
            ));
        }
    }
}
