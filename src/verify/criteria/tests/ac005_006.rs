use std::collections::BTreeMap;

use super::{assert_verdict, evidence_mentions, Run};
use crate::verify::criteria::synthetic::{demo_trace, python_trace, SERVICES};
use crate::verify::criteria::{ac005, ac006, Evaluation};
use crate::verify::model::{DestinationSpans, ManifestFinding, Verdict};

fn destination(name: &str, tenant: Option<&str>, spans: &[(&str, usize)]) -> DestinationSpans {
    DestinationSpans {
        name: name.into(),
        tenant: tenant.map(Into::into),
        spans_by_tenant: spans
            .iter()
            .map(|(t, n)| ((*t).to_owned(), *n))
            .collect::<BTreeMap<_, _>>(),
        ..DestinationSpans::default()
    }
}

#[test]
fn ac005_skips_when_nothing_was_configured() {
    let run = Run::demo(&[demo_trace(1, false)]);
    let result = run.judge(ac005::judge);
    assert_verdict(&result, Verdict::Skip);
    assert!(result
        .summary
        .contains("no --destination and no --manifests"));
}

#[test]
fn ac005_passes_with_routing_held_and_says_what_was_not_judged() {
    let mut run = Run::demo(&[demo_trace(1, false)]);
    run.collected.destinations = vec![
        destination("shared", None, &[("acme", 11)]),
        destination("acme", Some("acme"), &[("acme", 11)]),
        destination("globex", Some("globex"), &[]), // no globex request was sent
    ];
    let evaluation = Evaluation {
        destinations_configured: true,
        ..run.evaluation()
    };
    let result = ac005::judge(&evaluation);
    assert_verdict(&result, Verdict::Pass);
    assert!(
        result.summary.contains("no --manifests"),
        "{}",
        result.summary
    );
}

#[test]
fn ac005_fails_on_a_tenant_leak_an_unreached_destination_and_a_tg2xx_finding() {
    let mut run = Run::demo(&[demo_trace(1, false)]);
    run.collected.destinations = vec![
        destination("shared", None, &[]),
        destination("globex", Some("globex"), &[("acme", 7)]),
    ];
    let findings = [ManifestFinding {
        rule: "TG201".into(),
        file: "deploy/billing.yaml".into(),
        line: Some(12),
        message: "exporter endpoint set in code".into(),
    }];
    let evaluation = Evaluation {
        destinations_configured: true,
        manifest_findings: Some(&findings),
        ..run.evaluation()
    };
    let result = ac005::judge(&evaluation);
    assert_verdict(&result, Verdict::Fail);
    assert!(evidence_mentions(
        &result,
        "destination globex (tenant globex) holds 7 spans of tenant acme"
    ));
    assert!(evidence_mentions(
        &result,
        "destination shared received no span"
    ));
    assert!(evidence_mentions(&result, "deploy/billing.yaml:12: TG201"));
}

#[test]
fn ac006_passes_for_whole_traces_of_either_kind() {
    let run = Run::demo(&[demo_trace(1, true)]);
    assert_verdict(&run.judge(ac006::judge), Verdict::Pass);
    let run = Run::with_services(&[python_trace(1)], &SERVICES[..5]);
    assert_verdict(&run.judge(ac006::judge), Verdict::Pass);
}

#[test]
fn ac006_fails_naming_what_is_missing() {
    let mut trace = demo_trace(1, false);
    trace.spans[4].start_ns = 0; // orchestration SERVER without a start
    trace.spans[6].service = String::new(); // pricing without service.name
    let result = Run::demo(&[trace]).judge(ac006::judge);
    assert_verdict(&result, Verdict::Fail);
    assert!(
        evidence_mentions(&result, "waterfall: 1 spans without valid timestamps"),
        "{result:#?}"
    );
    assert!(evidence_mentions(
        &result,
        "service graph: spans without service.name"
    ));

    let mut run = Run::demo(&[demo_trace(2, false)]);
    run.collected.traces.clear();
    assert_verdict(&run.judge(ac006::judge), Verdict::Skip);
}
