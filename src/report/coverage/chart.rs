//! The trend chart's geometry: the last 12 weeks of the report's trend, overall and one line
//! per team, as coordinates the HTML template draws into an inline SVG. Every series has its
//! own colour AND dash pattern (colour is never the only signal); the overall line carries its
//! value at every point and each legend entry the series' latest value, so the chart reads
//! without hover; the trend table under it holds every value.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{count_percent, percent};
use crate::coverage::model::TrendPoint;
use crate::coverage::CoverageReport;

/// Weeks shown.
pub(super) const WEEKS: usize = 12;
/// Team lines drawn (the teams with the most services this week); the table lists all.
pub(super) const TEAM_LINES: usize = 8;

const LEFT: f64 = 64.0;
const PLOT_W: f64 = 640.0;
const TOP: f64 = 24.0;
const PLOT_H: f64 = 220.0;
const LEGEND_ROW: f64 = 20.0;
/// Colour-blind-safe palette (Okabe–Ito), dark enough to print.
const PALETTE: [&str; 8] = [
    "#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#8c6d1f", "#6a3d9a",
];
const DASHES: [&str; 8] = [
    "6 3",
    "2 3",
    "10 3 2 3",
    "1 2",
    "8 2 2 2 2 2",
    "4 4",
    "12 4",
    "3 1",
];

#[derive(Serialize)]
pub(super) struct Point {
    x: f64,
    y: f64,
    label: String,
}

#[derive(Serialize)]
pub(super) struct Series {
    name: String,
    color: &'static str,
    dash: &'static str,
    width: f64,
    points: String,
    markers: Vec<Point>,
    /// Value labels drawn at each point (the overall line only).
    labelled: bool,
    legend: String,
    legend_y: f64,
}

#[derive(Serialize)]
pub(super) struct Tick {
    pos: f64,
    label: String,
    sub: String,
}

#[derive(Serialize)]
pub(super) struct Chart {
    width: f64,
    height: f64,
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
    y_ticks: Vec<Tick>,
    x_ticks: Vec<Tick>,
    series: Vec<Series>,
    legend_top: f64,
    teams_left_out: usize,
}

/// One row of the trend table: a series and its value each week (`–` when it had none).
#[derive(Serialize)]
pub(super) struct TrendRow {
    name: String,
    values: Vec<String>,
}

fn y_of(ratio: f64) -> f64 {
    let ratio = ratio.clamp(0.0, 1.0);
    round1(TOP + PLOT_H - ratio * PLOT_H)
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

fn shown(report: &CoverageReport) -> &[TrendPoint] {
    let start = report.trend.len().saturating_sub(WEEKS);
    &report.trend[start..]
}

/// The teams drawn: the most services this week first (ties by name), at most [`TEAM_LINES`].
fn drawn_teams(report: &CoverageReport, weeks: &[TrendPoint]) -> (Vec<String>, usize) {
    let mut sizes: BTreeMap<&str, usize> = BTreeMap::new();
    for point in weeks {
        for team in point.by_team.keys() {
            sizes.entry(team.as_str()).or_insert(0);
        }
    }
    for team in &report.by_team {
        if let Some(size) = sizes.get_mut(team.team.as_str()) {
            *size = team.total;
        }
    }
    let mut teams: Vec<(&str, usize)> = sizes.into_iter().collect();
    teams.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let left_out = teams.len().saturating_sub(TEAM_LINES);
    let mut drawn: Vec<String> = teams
        .into_iter()
        .take(TEAM_LINES)
        .map(|(t, _)| t.to_owned())
        .collect();
    drawn.sort();
    (drawn, left_out)
}

/// The chart, or `None` when the trend is empty.
pub(super) fn chart(report: &CoverageReport, text: impl Fn(&str) -> String) -> Option<Chart> {
    let weeks = shown(report);
    if weeks.is_empty() {
        return None;
    }
    // Weeks sit at their calendar position: a week without a snapshot leaves a gap.
    let first = weeks[0].week.monday();
    let offset = |i: usize| (weeks[i].week.monday() - first).whole_weeks() as f64;
    let span = offset(weeks.len() - 1);
    let x_of = |i: usize| {
        if span > 0.0 {
            round1(LEFT + offset(i) / span * PLOT_W)
        } else {
            LEFT + PLOT_W / 2.0
        }
    };
    let x_ticks = weeks
        .iter()
        .enumerate()
        .map(|(i, p)| Tick {
            pos: x_of(i),
            label: format!("W{:02}", p.week.week()),
            sub: if i == 0 || weeks[i - 1].week.year() != p.week.year() {
                p.week.year().to_string()
            } else {
                String::new()
            },
        })
        .collect();
    let y_ticks = [0.0, 0.25, 0.5, 0.75, 1.0]
        .iter()
        .map(|&r| Tick {
            pos: y_of(r),
            label: percent(r).replace(".0%", "%"),
            sub: String::new(),
        })
        .collect();

    let legend_top = TOP + PLOT_H + 56.0;
    let mut series = Vec::new();
    let overall: Vec<(usize, f64)> = weeks.iter().map(|p| p.coverage).enumerate().collect();
    series.push(line(
        "overall".to_owned(),
        &overall,
        ("#111111", "none", 3.0, true),
        &x_of,
        legend_top,
    ));
    let (teams, teams_left_out) = drawn_teams(report, weeks);
    for (k, team) in teams.iter().enumerate() {
        let values: Vec<(usize, f64)> = weeks
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.by_team.get(team).map(|&v| (i, v)))
            .collect();
        series.push(line(
            text(team),
            &values,
            (
                PALETTE[k % PALETTE.len()],
                DASHES[k % DASHES.len()],
                2.0,
                false,
            ),
            &x_of,
            legend_top + (k + 1) as f64 * LEGEND_ROW,
        ));
    }
    let height = legend_top + series.len() as f64 * LEGEND_ROW + 8.0;
    Some(Chart {
        width: LEFT + PLOT_W + 60.0,
        height,
        left: LEFT,
        right: LEFT + PLOT_W,
        top: TOP,
        bottom: TOP + PLOT_H,
        y_ticks,
        x_ticks,
        series,
        legend_top,
        teams_left_out,
    })
}

fn line(
    name: String,
    values: &[(usize, f64)],
    (color, dash, width, labelled): (&'static str, &'static str, f64, bool),
    x_of: &impl Fn(usize) -> f64,
    legend_y: f64,
) -> Series {
    let markers: Vec<Point> = values
        .iter()
        .map(|&(i, v)| Point {
            x: x_of(i),
            y: y_of(v),
            label: percent(v),
        })
        .collect();
    let points = markers
        .iter()
        .map(|p| format!("{},{}", p.x, p.y))
        .collect::<Vec<_>>()
        .join(" ");
    let legend = match values.last() {
        Some(&(_, v)) => format!("{name}: {}", percent(v)),
        None => name.clone(),
    };
    Series {
        name,
        color,
        dash,
        width,
        points,
        markers,
        labelled,
        legend,
        legend_y,
    }
}

/// The trend table: the weeks shown (header) and a row per series, overall first then every
/// team (all of them, not only those drawn).
pub(super) fn table(
    report: &CoverageReport,
    text: impl Fn(&str) -> String,
) -> (Vec<String>, Vec<TrendRow>) {
    let weeks = shown(report);
    let header = weeks.iter().map(|p| p.week.to_string()).collect();
    let mut rows = vec![TrendRow {
        name: "overall".to_owned(),
        values: weeks
            .iter()
            .map(|p| {
                format!(
                    "{} ({}/{})",
                    count_percent(p.coverage, p.propagating, p.total),
                    p.propagating,
                    p.total
                )
            })
            .collect(),
    }];
    let mut teams: Vec<&str> = weeks
        .iter()
        .flat_map(|p| p.by_team.keys().map(String::as_str))
        .collect();
    teams.sort_unstable();
    teams.dedup();
    for team in teams {
        rows.push(TrendRow {
            name: text(team),
            values: weeks
                .iter()
                .map(|p| p.by_team.get(team).map_or("–".to_owned(), |&v| percent(v)))
                .collect(),
        });
    }
    (header, rows)
}
