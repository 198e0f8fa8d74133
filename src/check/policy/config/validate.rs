//! The second phase: what the file says ([`RawConfig`]) checked and turned into a
//! [`ValidConfig`], every problem collected with its line.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use time::Date;

use super::{
    ConfigError, Exclusion, LineIndex, Problem, RawConfig, ServiceDecl, ValidConfig, Waiver,
    WaiverScope,
};
use crate::check::inputs::exclude::{is_glob, ExcludeSet};

/// Phase two: check rule IDs, scopes, paths and dates; collect every problem.
pub fn validate(
    raw: &RawConfig,
    text: &str,
    display: &str,
    known_rule: &dyn Fn(&str) -> bool,
) -> Result<ValidConfig, ConfigError> {
    let lines = LineIndex::new(text);
    let mut problems = Vec::new();
    let mut problem = |path: &str, message: String| {
        problems.push(Problem {
            line: lines.locate(path),
            message,
        });
    };

    let mut overrides = BTreeMap::new();
    for (id, level) in &raw.rules {
        if known_rule(id) {
            overrides.insert(id.clone(), level.severity());
        } else {
            problem(
                &format!("rules.{id}"),
                format!("rules: unknown rule ID `{id}` (see `tracegate rules list`)"),
            );
        }
    }

    let mut services = Vec::new();
    let mut names = BTreeSet::new();
    for (i, svc) in raw.services.iter().enumerate() {
        let at = format!("services[{i}]");
        if svc.name.trim().is_empty() {
            problem(
                &format!("{at}.name"),
                format!("{at}.name: must not be empty"),
            );
        } else if !names.insert(svc.name.clone()) {
            problem(
                &format!("{at}.name"),
                format!("{at}.name: service `{}` is declared twice", svc.name),
            );
        }
        if svc.team.trim().is_empty() {
            problem(
                &format!("{at}.team"),
                format!("{at}.team: must not be empty"),
            );
        }
        match normalise_path(&svc.path) {
            Ok(path) => services.push(ServiceDecl {
                name: svc.name.clone(),
                path,
                team: svc.team.clone(),
                language: svc.language,
                line: lines.locate(&format!("{at}.path")),
            }),
            Err(why) => problem(&format!("{at}.path"), format!("{at}.path: {why}")),
        }
    }

    let mut waivers = Vec::new();
    for (i, w) in raw.waivers.iter().enumerate() {
        let at = format!("waivers[{i}]");
        let mut ok = true;
        if !known_rule(&w.rule) {
            ok = false;
            problem(
                &format!("{at}.rule"),
                format!(
                    "{at}.rule: unknown rule ID `{}` (see `tracegate rules list`)",
                    w.rule
                ),
            );
        }
        if w.reason.trim().is_empty() {
            ok = false;
            problem(
                &format!("{at}.reason"),
                format!("{at}.reason: must not be empty"),
            );
        }
        let expires = match Date::parse(&w.expires, DATE_FORMAT) {
            Ok(date) => Some(date),
            Err(_) => {
                problem(
                    &format!("{at}.expires"),
                    format!("{at}.expires: `{}` is not a date (YYYY-MM-DD)", w.expires),
                );
                None
            }
        };
        let scope = match (&w.service, &w.path) {
            (Some(service), None) if !service.trim().is_empty() => {
                Some(WaiverScope::Service(service.clone()))
            }
            (None, Some(path)) => match normalise_path(path) {
                Ok(path) => Some(WaiverScope::Path(path)),
                Err(why) => {
                    problem(&format!("{at}.path"), format!("{at}.path: {why}"));
                    None
                }
            },
            (Some(_), Some(_)) => {
                problem(
                    &at,
                    format!("{at}: give either `service` or `path`, not both"),
                );
                None
            }
            (Some(_), None) => {
                problem(
                    &format!("{at}.service"),
                    format!("{at}.service: must not be empty"),
                );
                None
            }
            (None, None) => {
                problem(&at, format!("{at}: missing `service` or `path`"));
                None
            }
        };
        if let (true, Some(scope), Some(expires)) = (ok, scope, expires) {
            waivers.push(Waiver {
                rule: w.rule.clone(),
                scope,
                reason: w.reason.clone(),
                expires,
                line: lines.locate(&at),
            });
        }
    }

    let mut exclude = Vec::new();
    for (i, pattern) in raw.exclude.iter().enumerate() {
        let at = format!("exclude[{i}]");
        let line = lines.locate(&at);
        let checked = if is_glob(pattern) {
            ExcludeSet::new(std::slice::from_ref(pattern))
                .map(|_| (pattern.trim().to_owned(), true))
        } else {
            normalise_path(pattern).and_then(|p| {
                if p == "." {
                    Err("must not be the repository root (nothing would be checked)".into())
                } else {
                    Ok((p, false))
                }
            })
        };
        match checked {
            Ok((pattern, glob)) => exclude.push(Exclusion {
                pattern,
                glob,
                line,
            }),
            Err(why) => problem(&at, format!("{at}: {why}")),
        }
    }
    // A declared service in an excluded path would silently vanish.
    if let Ok(set) = ExcludeSet::new(
        &exclude
            .iter()
            .map(|e| e.pattern.clone())
            .collect::<Vec<_>>(),
    ) {
        for (i, svc) in services.iter().enumerate() {
            if let Some(by) = set.excluding(&svc.path) {
                problem(
                    &format!("services[{i}].path"),
                    format!(
                        "services[{i}].path: `{}` is excluded by `{by}` (exclude:); remove one of them",
                        svc.path
                    ),
                );
            }
        }
    }

    if problems.is_empty() {
        Ok(ValidConfig {
            file: Some(display.to_owned()),
            overrides,
            services,
            waivers,
            exclude,
        })
    } else {
        problems.sort_by_key(|p| p.line);
        Err(ConfigError {
            file: display.to_owned(),
            problems,
        })
    }
}

impl ValidConfig {
    /// Check that every declared service's path is a directory under `root`; problems name
    /// the config file and line.
    pub fn check_paths(&self, root: &Path, display: &str) -> Result<(), ConfigError> {
        let mut problems: Vec<Problem> = self
            .services
            .iter()
            .enumerate()
            .filter(|(_, s)| !root.join(&s.path).is_dir())
            .map(|(i, s)| Problem {
                line: s.line,
                message: format!(
                    "services[{i}].path: `{}` is not a directory under {}",
                    s.path,
                    root.display()
                ),
            })
            .collect();
        // A mistyped exclusion would let the harness it meant back in unnoticed; a glob
        // may match nothing (yet).
        problems.extend(
            self.exclude
                .iter()
                .enumerate()
                .filter(|(_, e)| {
                    !e.glob && std::fs::symlink_metadata(root.join(&e.pattern)).is_err()
                })
                .map(|(i, e)| Problem {
                    line: e.line,
                    message: format!(
                        "exclude[{i}]: `{}` does not exist under {}",
                        e.pattern,
                        root.display()
                    ),
                }),
        );
        problems.sort_by_key(|p| p.line);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError {
                file: display.to_owned(),
                problems,
            })
        }
    }
}

const DATE_FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

/// A relative path with `/` separators, without `./`, trailing `/`, `..` or a leading `/`.
pub fn normalise_path(path: &str) -> Result<String, String> {
    let path = path.trim().replace('\\', "/");
    if path.is_empty() {
        return Err("must not be empty".into());
    }
    if path.starts_with('/') || path.contains(':') {
        return Err(format!("`{path}` must be relative to the repository root"));
    }
    let mut parts = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err(format!("`{path}` must not leave the repository (`..`)")),
            other => parts.push(other),
        }
    }
    if parts.is_empty() {
        Ok(".".into())
    } else {
        Ok(parts.join("/"))
    }
}
