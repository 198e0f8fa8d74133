//! Rendering a large organisation's coverage report: 10,000 services in 100 teams, 52 weeks of
//! trend (the chart and table show the last 12), a runtime service graph of 9,999 edges (a
//! call tree, 1 % of the edges broken: the page draws the broken part, at most 200 services),
//! 200 failing-rule rows, regressions and new services.
//! Each format is timed alone; building the report is not. Target: `html` and `markdown`
//! under 1 s each.
//!
//! Run: `cargo bench --bench coverage_render`

use std::collections::BTreeMap;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use tracegate::coverage::model::{
    ratio, Evidence, PreviousWeek, RuleCount, RuntimeEdge, RuntimeVerdict, ServiceCoverage,
    StaticVerdict, TeamCoverage, TrendPoint,
};
use tracegate::coverage::{CoverageReport, IsoWeek};
use tracegate::report::coverage::{render, Format};

const SERVICES: usize = 10_000;
const TEAMS: usize = 100;
const WEEKS: i64 = 52;

fn report() -> CoverageReport {
    let week: IsoWeek = "2026-W48".parse().expect("an ISO week");
    let team_of = |i: usize| format!("team-{:03}", i % TEAMS);
    // Service i calls 2i+1 and 2i+2: a call tree 14 layers deep.
    let edges: Vec<RuntimeEdge> = (1..SERVICES)
        .map(|callee| RuntimeEdge {
            caller: format!("service-{:05}", (callee - 1) / 2),
            callee: format!("service-{callee:05}"),
            paired: if callee % 100 == 0 { 0 } else { 40 },
            broken: if callee % 100 == 0 { 40 } else { 0 },
        })
        .collect();
    let services: Vec<ServiceCoverage> = (0..SERVICES)
        .map(|i| {
            let static_verdict = match i % 10 {
                0..=6 => StaticVerdict::Pass,
                7 | 8 => StaticVerdict::Fail,
                _ => StaticVerdict::Unknown,
            };
            let runtime = if i % 100 == 0 && i > 0 {
                RuntimeVerdict::Fail
            } else {
                RuntimeVerdict::Pass
            };
            ServiceCoverage {
                name: format!("service-{i:05}"),
                team: team_of(i),
                repository: format!("repo-{:04}", i / 5),
                static_verdict,
                runtime: Some(runtime),
                propagating: static_verdict == StaticVerdict::Pass
                    && runtime != RuntimeVerdict::Fail,
                failing_rules: if static_verdict == StaticVerdict::Fail {
                    vec![format!("TG1{:02}", i % 7)]
                } else {
                    Vec::new()
                },
                runtime_reasons: if runtime == RuntimeVerdict::Fail {
                    vec!["starts new traces while its caller calls it: 40 of 40 calls".into()]
                } else {
                    Vec::new()
                },
                waivers: Vec::new(),
            }
        })
        .collect();
    let propagating = services.iter().filter(|s| s.propagating).count();
    let by_team: Vec<TeamCoverage> = (0..TEAMS)
        .map(|t| {
            let members: Vec<&ServiceCoverage> =
                services.iter().filter(|s| s.team == team_of(t)).collect();
            let ok = members.iter().filter(|s| s.propagating).count();
            TeamCoverage {
                team: team_of(t),
                total: members.len(),
                propagating: ok,
                coverage: ratio(ok, members.len()),
                previous: Some(0.7),
            }
        })
        .collect();
    let trend: Vec<TrendPoint> = (0..WEEKS)
        .map(|k| {
            let p = (SERVICES as i64 * (40 + k) / 100) as usize;
            TrendPoint {
                week: week.offset(k - WEEKS + 1),
                total: SERVICES,
                propagating: p,
                coverage: ratio(p, SERVICES),
                by_team: by_team
                    .iter()
                    .enumerate()
                    .map(|(t, team)| (team.team.clone(), ((k as f64 + t as f64) % 100.0) / 100.0))
                    .collect::<BTreeMap<_, _>>(),
            }
        })
        .collect();
    let regressions: Vec<String> = services
        .iter()
        .filter(|s| s.runtime == Some(RuntimeVerdict::Fail))
        .map(|s| s.name.clone())
        .collect();
    CoverageReport {
        week,
        services_total: SERVICES,
        services_propagating: propagating,
        coverage: ratio(propagating, SERVICES),
        previous: Some(PreviousWeek {
            week: week.previous(),
            coverage: 0.69,
        }),
        by_team,
        regressions,
        new_without_propagation: services
            .iter()
            .filter(|s| !s.propagating)
            .take(50)
            .map(|s| s.name.clone())
            .collect(),
        services,
        failing_rules: (0..200)
            .map(|r| RuleCount {
                rule: format!("TG{:03}", 100 + r),
                services: 200 - r,
            })
            .collect(),
        expiring_waivers: Vec::new(),
        trend,
        edges,
        evidence: Evidence {
            catalog: (0..2_000)
                .map(|r| format!("results/repo-{r:04}.json"))
                .collect(),
            runtime: Some("tempo http://tempo:3200, 1,000 traces sampled".into()),
            traces: 1_000,
            spans: 1_000_000,
        },
        notes: Vec::new(),
    }
}

fn render_formats(c: &mut Criterion) {
    let report = report();
    let mut group = c.benchmark_group("coverage_render");
    group.sample_size(10);
    for format in [
        Format::Html,
        Format::Markdown,
        Format::Table,
        Format::Json,
        Format::Openmetrics,
    ] {
        let size = render(format, &report).expect("renders").len();
        eprintln!("{format:?}: {size} bytes for {SERVICES} services");
        group.bench_with_input(
            BenchmarkId::new(format!("{format:?}").to_lowercase(), SERVICES),
            &report,
            |b, report| b.iter(|| render(format, report).expect("renders")),
        );
    }
    group.finish();
}

criterion_group!(benches, render_formats);
criterion_main!(benches);
