//! Snapshots to rows and back, and the trend as an aggregate query.

use std::collections::BTreeMap;

use rusqlite::{params, Connection, OptionalExtension, Row, Transaction};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::coverage::model::{
    ratio, RuntimeVerdict, ServiceCoverage, Snapshot, StaticVerdict, TrendPoint,
};
use crate::coverage::IsoWeek;

/// What went wrong reading or writing rows: SQLite's error, or a stored value no tracegate
/// writes (said in words).
pub(super) enum RowError {
    Sql(rusqlite::Error),
    Data(String),
}

impl From<rusqlite::Error> for RowError {
    fn from(err: rusqlite::Error) -> RowError {
        RowError::Sql(err)
    }
}

/// The key of `week`: `year * 100 + week number` (`202648`).
pub(super) fn week_key(week: IsoWeek) -> i64 {
    i64::from(week.year()) * 100 + i64::from(week.week())
}

/// The week of a stored key.
pub(super) fn week_of_key(key: i64) -> Result<IsoWeek, RowError> {
    let (year, number) = (key.div_euclid(100), key.rem_euclid(100));
    format!("{year:04}-W{number:02}")
        .parse()
        .map_err(|_| RowError::Data(format!("a stored week key {key} is not an ISO week")))
}

fn static_text(verdict: StaticVerdict) -> &'static str {
    match verdict {
        StaticVerdict::Pass => "pass",
        StaticVerdict::Fail => "fail",
        StaticVerdict::Unknown => "unknown",
        StaticVerdict::NotFound => "not_found",
    }
}

fn static_of(text: &str) -> Option<StaticVerdict> {
    Some(match text {
        "pass" => StaticVerdict::Pass,
        "fail" => StaticVerdict::Fail,
        "unknown" => StaticVerdict::Unknown,
        "not_found" => StaticVerdict::NotFound,
        _ => return None,
    })
}

fn runtime_text(verdict: RuntimeVerdict) -> &'static str {
    match verdict {
        RuntimeVerdict::Pass => "pass",
        RuntimeVerdict::Fail => "fail",
        RuntimeVerdict::Unseen => "unseen",
    }
}

fn runtime_of(text: &str) -> Option<RuntimeVerdict> {
    Some(match text {
        "pass" => RuntimeVerdict::Pass,
        "fail" => RuntimeVerdict::Fail,
        "unseen" => RuntimeVerdict::Unseen,
        _ => return None,
    })
}

fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<String, RowError> {
    serde_json::to_string(value).map_err(|err| RowError::Data(format!("encoding JSON: {err}")))
}

/// A list as JSON, `None` (SQL `NULL`) when empty.
fn list_json<T: Serialize>(items: &[T]) -> Result<Option<String>, RowError> {
    if items.is_empty() {
        return Ok(None);
    }
    to_json(items).map(Some)
}

fn from_json<T: DeserializeOwned>(text: &str, what: &str) -> Result<T, RowError> {
    serde_json::from_str(text).map_err(|err| RowError::Data(format!("{what}: bad JSON ({err})")))
}

fn list_of_json<T: DeserializeOwned>(text: Option<String>, what: &str) -> Result<Vec<T>, RowError> {
    text.map_or(Ok(Vec::new()), |text| from_json(&text, what))
}

/// Replace the snapshot of `snapshot.week` inside `tx`: delete its rows, insert the new ones,
/// calling `progress(rows inserted)` after each service row.
pub(super) fn replace(
    tx: &Transaction<'_>,
    snapshot: &Snapshot,
    progress: &mut dyn FnMut(usize),
) -> Result<(), RowError> {
    let key = week_key(snapshot.week);
    tx.execute("DELETE FROM service WHERE week = ?1", [key])?;
    tx.execute("DELETE FROM snapshot WHERE week = ?1", [key])?;
    tx.execute(
        "INSERT INTO snapshot (week, recorded_at, edges, evidence, notes)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            key,
            snapshot.recorded_at,
            to_json(&snapshot.edges)?,
            to_json(&snapshot.evidence)?,
            to_json(&snapshot.notes)?,
        ],
    )?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO service (week, ordinal, name, team, repository, static, runtime,
                              propagating, failing_rules, waivers, runtime_reasons)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?;
    for (ordinal, service) in snapshot.services.iter().enumerate() {
        insert.execute(params![
            key,
            i64::try_from(ordinal).unwrap_or(i64::MAX),
            service.name,
            service.team,
            service.repository,
            static_text(service.static_verdict),
            service.runtime.map(runtime_text),
            service.propagating,
            list_json(&service.failing_rules)?,
            list_json(&service.waivers)?,
            list_json(&service.runtime_reasons)?,
        ])?;
        progress(ordinal + 1);
    }
    Ok(())
}

/// The snapshot stored under `key`, when there is one.
pub(super) fn load(conn: &Connection, key: i64) -> Result<Option<Snapshot>, RowError> {
    let head = conn
        .query_row(
            "SELECT recorded_at, edges, evidence, notes FROM snapshot WHERE week = ?1",
            [key],
            |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, String>(3)?,
                ))
            },
        )
        .optional()?;
    let Some((recorded_at, edges, evidence, notes)) = head else {
        return Ok(None);
    };
    let week = week_of_key(key)?;
    let mut select = conn.prepare_cached(
        "SELECT name, team, repository, static, runtime, propagating, failing_rules, waivers,
                runtime_reasons
         FROM service WHERE week = ?1 ORDER BY ordinal",
    )?;
    let mut rows = select.query([key])?;
    let mut services = Vec::new();
    while let Some(row) = rows.next()? {
        services.push(service_of_row(row, week)?);
    }
    Ok(Some(Snapshot {
        week,
        recorded_at,
        services,
        edges: from_json(&edges, &format!("{week}: the runtime edges"))?,
        evidence: from_json(&evidence, &format!("{week}: the evidence"))?,
        notes: from_json(&notes, &format!("{week}: the notes"))?,
    }))
}

fn service_of_row(row: &Row<'_>, week: IsoWeek) -> Result<ServiceCoverage, RowError> {
    let name: String = row.get(0)?;
    let what = |field: &str| format!("{week}, service {name:?}: {field}");
    let static_stored: String = row.get(3)?;
    let static_verdict = static_of(&static_stored).ok_or_else(|| {
        RowError::Data(what(&format!("unknown static verdict {static_stored:?}")))
    })?;
    let runtime =
        match row.get::<_, Option<String>>(4)? {
            None => None,
            Some(text) => Some(runtime_of(&text).ok_or_else(|| {
                RowError::Data(what(&format!("unknown runtime verdict {text:?}")))
            })?),
        };
    Ok(ServiceCoverage {
        team: row.get(1)?,
        repository: row.get(2)?,
        static_verdict,
        runtime,
        propagating: row.get(5)?,
        failing_rules: list_of_json(row.get(6)?, &what("failing rules"))?,
        waivers: list_of_json(row.get(7)?, &what("waivers"))?,
        runtime_reasons: list_of_json(row.get(8)?, &what("runtime reasons"))?,
        name,
    })
}

/// The most recent key before `key`.
pub(super) fn previous_key(conn: &Connection, key: i64) -> Result<Option<i64>, RowError> {
    Ok(conn.query_row(
        "SELECT max(week) FROM snapshot WHERE week < ?1",
        [key],
        |row| row.get(0),
    )?)
}

/// Every stored week, oldest first.
pub(super) fn weeks(conn: &Connection) -> Result<Vec<IsoWeek>, RowError> {
    let mut select = conn.prepare_cached("SELECT week FROM snapshot ORDER BY week")?;
    let keys = select
        .query_map([], |row| row.get::<_, i64>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    keys.into_iter().map(week_of_key).collect()
}

/// Team → (services, propagating services) of one week.
type TeamCounts = BTreeMap<String, (usize, usize)>;

/// The trend of the stored weeks with keys in `from..=until`, oldest first: counted by SQLite
/// per week and team, never by loading the snapshots.
pub(super) fn trend(conn: &Connection, from: i64, until: i64) -> Result<Vec<TrendPoint>, RowError> {
    let mut select = conn.prepare_cached(
        "SELECT s.week, v.team, count(v.week), coalesce(sum(v.propagating), 0)
         FROM snapshot AS s LEFT JOIN service AS v ON v.week = s.week
         WHERE s.week BETWEEN ?1 AND ?2
         GROUP BY s.week, v.team
         ORDER BY s.week, v.team",
    )?;
    let mut rows = select.query([from, until])?;
    let mut points: Vec<(i64, TeamCounts)> = Vec::new();
    while let Some(row) = rows.next()? {
        let key: i64 = row.get(0)?;
        let team: Option<String> = row.get(1)?;
        let total = usize::try_from(row.get::<_, i64>(2)?).unwrap_or(0);
        let propagating = usize::try_from(row.get::<_, i64>(3)?).unwrap_or(0);
        if points.last().is_none_or(|(last, _)| *last != key) {
            points.push((key, BTreeMap::new()));
        }
        if let (Some(team), Some((_, teams))) = (team, points.last_mut()) {
            teams.insert(team, (total, propagating));
        }
    }
    points
        .into_iter()
        .map(|(key, teams)| {
            let total = teams.values().map(|(total, _)| total).sum();
            let propagating = teams.values().map(|(_, propagating)| propagating).sum();
            Ok(TrendPoint {
                week: week_of_key(key)?,
                total,
                propagating,
                coverage: ratio(propagating, total),
                by_team: teams
                    .into_iter()
                    .map(|(team, (total, propagating))| (team, ratio(propagating, total)))
                    .collect(),
            })
        })
        .collect()
}

/// Delete every week older than the `keep` most recent; how many weeks were deleted.
pub(super) fn retain(tx: &Transaction<'_>, keep: usize) -> Result<usize, RowError> {
    let newest_deleted: Option<i64> = tx
        .query_row(
            "SELECT week FROM snapshot ORDER BY week DESC LIMIT 1 OFFSET ?1",
            [i64::try_from(keep).unwrap_or(i64::MAX)],
            |row| row.get(0),
        )
        .optional()?;
    let Some(newest_deleted) = newest_deleted else {
        return Ok(0);
    };
    tx.execute("DELETE FROM service WHERE week <= ?1", [newest_deleted])?;
    Ok(tx.execute("DELETE FROM snapshot WHERE week <= ?1", [newest_deleted])?)
}
