//! The coverage history at organisation scale: 10,000 services × 52 weeks (100 teams, about
//! 80 % propagating, drifting upwards with a few regressions each week, some runtime breakage,
//! failing rules and waivers).
//!
//! Prints, for a database that already holds 51 weeks: the time to `record()` the 52nd
//! week's 10,000-service snapshot (target < 1 s) and to record it again (the replacement
//! path); the time of `open` + `previous()` + `trend(12)` + `summary::build` (target < 1 s
//! together); the database's size on disk.
//!
//! Run: `cargo bench --bench coverage_history` (release build). `COVERAGE_BENCH_SERVICES` and
//! `COVERAGE_BENCH_WEEKS` change the sizes.

use std::time::{Duration, Instant};

use tracegate::coverage::history::History;
use tracegate::coverage::model::{
    Evidence, RuntimeEdge, RuntimeVerdict, ServiceCoverage, Snapshot, StaticVerdict, WaiverNote,
};
use tracegate::coverage::{summary, IsoWeek};

const DOMAINS: [&str; 25] = [
    "payments",
    "identity",
    "search",
    "checkout",
    "catalog",
    "billing",
    "risk",
    "fraud",
    "shipping",
    "inventory",
    "pricing",
    "ledger",
    "notifications",
    "accounts",
    "orders",
    "reviews",
    "media",
    "messaging",
    "analytics",
    "loyalty",
    "support",
    "onboarding",
    "tax",
    "compliance",
    "partners",
];
const GROUPS: [&str; 4] = ["core", "platform", "apps", "data"];
const COMPONENTS: [&str; 20] = [
    "api",
    "worker",
    "gateway",
    "indexer",
    "scheduler",
    "store",
    "notifier",
    "sync",
    "exporter",
    "importer",
    "resolver",
    "router",
    "cache",
    "auth",
    "feed",
    "reporter",
    "matcher",
    "validator",
    "publisher",
    "consumer",
];
const RULES: [&str; 12] = [
    "TG101", "TG102", "TG103", "TG110", "TG111", "TG120", "TG130", "TG140", "TG201", "TG210",
    "TG220", "TG301",
];

/// splitmix64: a deterministic stream, so every run measures the same data.
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

struct Service {
    name: String,
    team: String,
    repository: String,
    /// The week index (0-based) from which it passes statically.
    adopts: u64,
    /// Week index it first appears in.
    appears: u64,
}

fn organisation(services: usize, weeks: u64) -> Vec<Service> {
    let mut mix = Mix(48);
    let teams = DOMAINS.len() * GROUPS.len();
    let mut catalog: Vec<Service> = (0..services)
        .map(|n| {
            let team_index = n % teams;
            let (domain, group) = (
                DOMAINS[team_index / GROUPS.len()],
                GROUPS[team_index % GROUPS.len()],
            );
            let component = COMPONENTS[(n / teams) % COMPONENTS.len()];
            let serial = n / (teams * COMPONENTS.len());
            // 70 % pass from the start, 15 % adopt during the year, 15 % never do.
            let roll = mix.below(100);
            let adopts = match roll {
                0..70 => 0,
                70..85 => 1 + mix.below(weeks.max(2) - 1),
                _ => u64::MAX,
            };
            // 3 % of the services appear during the year.
            let appears = if mix.below(100) < 3 {
                mix.below(weeks)
            } else {
                0
            };
            Service {
                name: format!("{domain}-{group}-{component}-{serial}"),
                team: format!("{domain}-{group}"),
                repository: format!("{domain}-{group}"),
                adopts,
                appears,
            }
        })
        .collect();
    catalog.sort_by(|a, b| a.name.cmp(&b.name));
    catalog
}

fn snapshot(catalog: &[Service], index: u64, week: IsoWeek, mix: &mut Mix) -> Snapshot {
    let services = catalog
        .iter()
        .filter(|service| service.appears <= index)
        .map(|service| {
            let roll = mix.below(1000);
            let static_verdict = if roll < 4 {
                StaticVerdict::Unknown
            } else if roll < 6 {
                StaticVerdict::NotFound
            } else if index >= service.adopts && roll >= 20 {
                StaticVerdict::Pass // 1.4 % of adopted services regress in a given week
            } else {
                StaticVerdict::Fail
            };
            let runtime = match mix.below(100) {
                0..3 => RuntimeVerdict::Fail,
                3..10 => RuntimeVerdict::Unseen,
                _ => RuntimeVerdict::Pass,
            };
            let failing_rules = if static_verdict == StaticVerdict::Fail {
                let first = mix.below(RULES.len() as u64) as usize;
                let mut rules = vec![RULES[first].to_string()];
                if mix.below(3) == 0 {
                    rules.push(RULES[(first + 1) % RULES.len()].to_string());
                }
                rules.sort();
                rules
            } else {
                Vec::new()
            };
            let waivers = if mix.below(20) == 0 {
                vec![WaiverNote {
                    rule: "TG120".into(),
                    reason: "batch job without callers; revisit after the migration".into(),
                    expires: week
                        .sunday()
                        .checked_add(time::Duration::days(mix.below(60) as i64))
                        .unwrap_or(week.sunday())
                        .to_string(),
                }]
            } else {
                Vec::new()
            };
            let runtime_reasons = if runtime == RuntimeVerdict::Fail {
                vec![format!(
                    "starts new traces while {}-gateway calls it: 12 of 40 calls",
                    service.team
                )]
            } else {
                Vec::new()
            };
            ServiceCoverage {
                name: service.name.clone(),
                team: service.team.clone(),
                repository: service.repository.clone(),
                static_verdict,
                runtime: Some(runtime),
                propagating: static_verdict == StaticVerdict::Pass
                    && runtime != RuntimeVerdict::Fail,
                failing_rules,
                runtime_reasons,
                waivers,
            }
        })
        .collect::<Vec<_>>();
    let edges = services
        .windows(2)
        .step_by(2)
        .map(|pair| RuntimeEdge {
            caller: pair[0].name.clone(),
            callee: pair[1].name.clone(),
            paired: 40,
            broken: u64::from(pair[1].runtime == Some(RuntimeVerdict::Fail)) * 12,
        })
        .collect();
    Snapshot {
        week,
        recorded_at: format!("{}T06:00:00Z", week.sunday()),
        services,
        edges,
        evidence: Evidence {
            catalog: vec!["results/*.json (400 shards)".into()],
            runtime: Some("tempo http://tempo:3200, 7 days, 1,000 traces sampled".into()),
            traces: 1000,
            spans: 120_000,
        },
        notes: Vec::new(),
    }
}

fn env_size(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

fn ms(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let services = env_size("COVERAGE_BENCH_SERVICES", 10_000);
    let weeks = env_size("COVERAGE_BENCH_WEEKS", 52).max(2) as u64;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("coverage.db");
    let last: IsoWeek = "2026-W48".parse()?;
    let week_of = |index: u64| last.offset(index as i64 - (weeks as i64 - 1));
    let catalog = organisation(services, weeks);
    let mut mix = Mix(2026);

    println!("coverage history: {services} services, {weeks} weeks, 100 teams");
    let mut history = History::open(&path)?;
    let started = Instant::now();
    let mut previous = None;
    for index in 0..weeks - 1 {
        let snapshot = snapshot(&catalog, index, week_of(index), &mut mix);
        history.record(&snapshot)?;
        previous = Some(snapshot);
    }
    let filled = started.elapsed();
    println!(
        "fill {} weeks: {} ({} per week)",
        weeks - 1,
        ms(filled),
        ms(filled / (weeks as u32 - 1))
    );

    let current = snapshot(&catalog, weeks - 1, last, &mut mix);
    let started = Instant::now();
    history.record(&current)?;
    println!(
        "record week {weeks} ({} services) into {} weeks: {}",
        current.services.len(),
        weeks - 1,
        ms(started.elapsed())
    );
    let mut replaced = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        history.record(&current)?;
        replaced.push(started.elapsed());
    }
    replaced.sort();
    println!(
        "record it again (replacement), median of 3: {}",
        ms(replaced[1])
    );
    drop(history);

    let db_bytes = std::fs::metadata(&path)?.len();
    let wal_bytes = std::fs::metadata(dir.path().join("coverage.db-wal")).map_or(0, |m| m.len());
    println!(
        "database size: {:.1} MB ({} bytes; write-ahead log after close: {wal_bytes} bytes)",
        db_bytes as f64 / 1e6,
        db_bytes
    );

    let conn = rusqlite::Connection::open(&path)?;
    let (edge_bytes, service_rows): (i64, i64) = conn.query_row(
        "SELECT (SELECT sum(length(edges)) FROM snapshot), (SELECT count(*) FROM service)",
        [],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    drop(conn);
    println!(
        "of which runtime edges (JSON): {:.1} MB; {service_rows} service rows",
        edge_bytes as f64 / 1e6
    );

    let mut reads = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        let history = History::open(&path)?;
        let opened = started.elapsed();
        let loaded = history.previous(last)?;
        let after_previous = started.elapsed();
        let trend = history.trend(last, 12)?;
        let after_trend = started.elapsed();
        let report = summary::build(&current, loaded.as_ref(), trend, last.sunday());
        let total = started.elapsed();
        assert_eq!(
            loaded.as_ref(),
            previous.as_ref(),
            "previous() is the 51st week"
        );
        assert_eq!(report.trend.len(), 12);
        reads.push((
            total,
            opened,
            after_previous - opened,
            after_trend - after_previous,
            total - after_trend,
            report.coverage,
            report.regressions.len(),
        ));
    }
    reads.sort_by_key(|read| read.0);
    let (total, open, previous_time, trend_time, build_time, coverage, regressions) = reads[1];
    println!(
        "open + previous() + trend(12) + summary::build, median of 3: {} (open {}, previous {}, trend {}, build {}); coverage {coverage}, {regressions} regressions",
        ms(total),
        ms(open),
        ms(previous_time),
        ms(trend_time),
        ms(build_time)
    );
    Ok(())
}
