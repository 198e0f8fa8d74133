//! AC-005: Config-only export.
//!
//! Three parts, each judged only when configured (the summary says which were not):
//! spans reached every destination given with `--destination` (a tenant's destination only
//! when the run sent requests for that tenant); no destination of tenant Y holds spans of
//! another tenant X; the manifests given with `--manifests` have no TG2xx finding.

use std::collections::BTreeSet;

use super::Evaluation;
use crate::verify::model::{Criterion, CriterionResult, Evidence, Phase, Verdict};

/// Judge AC-005.
pub fn judge(evaluation: &Evaluation<'_>) -> CriterionResult {
    let destinations = &evaluation.collected.destinations;
    let check_destinations = evaluation.destinations_configured || !destinations.is_empty();
    let manifests = evaluation.manifest_findings;
    if !check_destinations && manifests.is_none() {
        return CriterionResult::new(
            Criterion::Ac005,
            Verdict::Skip,
            "no --destination and no --manifests given: export routing and configuration not judged",
        );
    }
    let tenants_sent: BTreeSet<&str> = evaluation
        .replay
        .exchanges
        .iter()
        .filter(|e| e.phase == Phase::Healthy)
        .filter_map(|e| e.tenant.as_deref())
        .collect();
    let mut evidence = Vec::new();
    let mut parts_ok = Vec::new();
    let mut parts_failed = Vec::new();
    let mut parts_skipped = Vec::new();

    if check_destinations {
        let mut unreached = Vec::new();
        let mut leaks = 0usize;
        for destination in destinations {
            if let Some(error) = &destination.error {
                unreached.push(destination.name.clone());
                evidence.push(
                    Evidence::detail(format!(
                        "destination {} could not be read: {error}",
                        destination.name
                    ))
                    .with_service(destination.name.clone()),
                );
                continue;
            }
            let should_receive = match &destination.tenant {
                None => true,
                Some(tenant) => tenants_sent.contains(tenant.as_str()),
            };
            let received: usize = destination.spans_by_tenant.values().sum();
            if should_receive && destination.trace_ids.is_empty() && received == 0 {
                unreached.push(destination.name.clone());
                evidence.push(
                    Evidence::detail(format!(
                        "destination {}{} received no span of the run",
                        destination.name,
                        destination
                            .tenant
                            .as_deref()
                            .map(|t| format!(" (tenant {t})"))
                            .unwrap_or_default()
                    ))
                    .with_service(destination.name.clone()),
                );
            }
            let Some(owner) = &destination.tenant else {
                continue;
            };
            for (tenant, &count) in &destination.spans_by_tenant {
                if tenant.is_empty() || tenant == owner || count == 0 {
                    continue;
                }
                leaks += count;
                let senders = destination
                    .senders_by_tenant
                    .get(tenant)
                    .map(|s| s.iter().map(String::as_str).collect::<Vec<_>>().join(", "))
                    .unwrap_or_default();
                let (from, service) = if senders.is_empty() {
                    (String::new(), destination.name.clone())
                } else {
                    (format!(", sent by {senders}"), senders)
                };
                evidence.push(
                    Evidence::detail(format!(
                        "destination {} (tenant {owner}) holds {count} spans of tenant {tenant}{from}",
                        destination.name
                    ))
                    .with_service(service),
                );
            }
        }
        if destinations.is_empty() {
            parts_failed.push("destinations were configured but none was read".to_owned());
        } else if unreached.is_empty() {
            parts_ok.push(format!(
                "spans reached all {} destinations",
                destinations.len()
            ));
        } else {
            parts_failed.push(format!("no spans read at {}", unreached.join(", ")));
        }
        let tenant_destinations = destinations.iter().filter(|d| d.tenant.is_some()).count();
        if tenant_destinations == 0 {
            parts_skipped.push("no tenant destination: tenant routing not judged".to_owned());
        } else if leaks == 0 {
            parts_ok.push(format!(
                "no tenant's spans at another tenant's destination ({tenant_destinations} tenant destinations)"
            ));
        } else {
            parts_failed.push(format!(
                "{leaks} spans reached another tenant's destination"
            ));
        }
    } else {
        parts_skipped.push("no --destination: routing not judged".to_owned());
    }

    match manifests {
        None => parts_skipped.push("no --manifests: configuration not judged".to_owned()),
        Some(findings) => {
            let tg2: Vec<_> = findings
                .iter()
                .filter(|f| f.rule.starts_with("TG2"))
                .collect();
            if tg2.is_empty() {
                parts_ok.push("manifests pass the TG2xx rules".to_owned());
            } else {
                parts_failed.push(format!("{} TG2xx findings in the manifests", tg2.len()));
                for f in tg2 {
                    let place = match f.line {
                        Some(line) => format!("{}:{line}", f.file),
                        None => f.file.clone(),
                    };
                    evidence.push(Evidence::detail(format!(
                        "{place}: {} {}",
                        f.rule, f.message
                    )));
                }
            }
        }
    }

    let verdict = if !parts_failed.is_empty() {
        Verdict::Fail
    } else if parts_ok.is_empty() {
        Verdict::Skip
    } else {
        Verdict::Pass
    };
    let mut summary: Vec<String> = parts_failed;
    summary.extend(parts_ok);
    summary.extend(parts_skipped);
    let mut result = CriterionResult::new(Criterion::Ac005, verdict, summary.join("; "));
    for e in evidence {
        result.push(e);
    }
    result
}
