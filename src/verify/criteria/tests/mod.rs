//! Unit tests of the criteria on synthetic runs ([`super::synthetic`]).
#![allow(clippy::unwrap_used)]

use super::synthetic::{SpanSpec, TraceBuilder};
use super::Evaluation;
use crate::verify::model::{Collected, CriterionResult, ReplayRecord, Verdict};
use crate::verify::scenario::Scenario;

mod ac001;
mod ac002;
mod ac003_004;
mod ac005_006;
mod ac007;

/// A run to judge, owning its parts.
pub struct Run {
    pub scenario: Scenario,
    pub replay: ReplayRecord,
    pub collected: Collected,
}

impl Run {
    /// One exchange per trace, every trace collected, the demo's six services expected.
    pub fn demo(traces: &[TraceBuilder]) -> Run {
        Run::with_services(traces, &super::synthetic::SERVICES)
    }

    pub fn with_services(traces: &[TraceBuilder], services: &[&str]) -> Run {
        let (replay, collected) = super::synthetic::run(traces);
        Run {
            scenario: super::synthetic::scenario(services),
            replay,
            collected,
        }
    }

    /// A trace no response named (a new trace started by a service that dropped the context).
    pub fn unclaimed(&mut self, builder: &TraceBuilder) {
        self.collected.unclaimed.push(builder.build());
        self.collected.otlp.extend(builder.otlp());
    }

    pub fn evaluation(&self) -> Evaluation<'_> {
        Evaluation {
            scenario: &self.scenario,
            replay: &self.replay,
            collected: &self.collected,
            manifest_findings: None,
            destinations_configured: false,
        }
    }

    pub fn judge(&self, judge: fn(&Evaluation<'_>) -> CriterionResult) -> CriterionResult {
        judge(&self.evaluation())
    }
}

/// Move span `index` (and nothing else) of `from` into a new trace of its own, as its root.
pub fn split_off(from: &mut TraceBuilder, index: usize, seed: u64) -> TraceBuilder {
    let span = from.spans.remove(index);
    let mut other = TraceBuilder::new(seed);
    other.spans.push(SpanSpec {
        parent: None,
        ..span
    });
    other
}

/// Assert the verdict, printing the result when it differs.
#[track_caller]
pub fn assert_verdict(result: &CriterionResult, verdict: Verdict) {
    assert_eq!(result.verdict, verdict, "{result:#?}");
}

/// Whether any evidence detail contains `text`.
pub fn evidence_mentions(result: &CriterionResult, text: &str) -> bool {
    result.evidence.iter().any(|e| e.detail.contains(text))
}
