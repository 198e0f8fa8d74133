//! The value an image gives a variable where one workload runs it: a Dockerfile `ENV`, else
//! the settings file of the profile or environment the workload selects
//! (`application-prod.yml` under `SPRING_PROFILES_ACTIVE=prod`, `appsettings.Production.json`
//! under `ASPNETCORE_ENVIRONMENT=Production`), else the base settings file (`application.yml`,
//! `appsettings.json`) — the order Spring Boot and .NET apply them in.
//!
//! What a workload selects: Spring's active profiles from `spring.profiles.active=` on a
//! command line or in `JAVA_TOOL_OPTIONS`/`JAVA_OPTS` (the workload's, then the image's), else
//! `SPRING_PROFILES_ACTIVE` (the workload's, the image's, the base file's own
//! `spring.profiles.active`), else Spring's `default` profile; later profiles of a list win.
//! .NET's environment from `ASPNETCORE_ENVIRONMENT`, else `DOTNET_ENVIRONMENT`, else the
//! host's default `Production`; the name must match the file's exactly, as on a Linux image's
//! case-sensitive file system. A selector the workload sets from a reference (a ConfigMap
//! key, a Secret) is not known: only the base file counts then.

use crate::check::assembly::work::Svc;
use crate::check::evaluation::env_reads::workload_value;
use crate::check::facts::{Fact, FactKind, ProfileSelector};
use crate::check::inputs::k8s::{is_settings_file, Workload};

/// Where an image's value of a variable comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct ImageValue<'s> {
    /// The literal value (`None`: from a reference).
    pub value: Option<&'s str>,
    /// The file that gives it.
    pub file: &'s str,
    /// Its line.
    pub line: u32,
    /// The profile or environment whose file gives it, and what selects it
    /// (`SPRING_PROFILES_ACTIVE`, "no environment is selected: the default").
    pub profile: Option<(&'s str, &'static str)>,
}

/// The value the image `svc` runs gives `name` where `w` runs it (`w` not setting it).
pub(super) fn image_value<'s>(svc: &'s Svc, w: &Workload, name: &str) -> Option<ImageValue<'s>> {
    let env = |f: &'s Fact| match &f.kind {
        FactKind::Env {
            name: n,
            value,
            from_ref,
            ..
        } if n == name => Some(ImageValue {
            value: if *from_ref { None } else { value.as_deref() },
            file: &f.file,
            line: f.line,
            profile: None,
        }),
        _ => None,
    };
    // A variable of the image (a Dockerfile `ENV`) wins over every settings file.
    if let Some(v) = svc.facts.iter().filter(|f| !from_settings(f)).find_map(env) {
        return Some(v);
    }
    let mut profiled = None;
    for selector in [ProfileSelector::Spring, ProfileSelector::Dotnet] {
        let facts: Vec<&Fact> = svc
            .facts
            .iter()
            .filter(|f| {
                matches!(&f.kind, FactKind::ProfileEnv { selector: s, name: n, .. }
                    if *s == selector && n == name)
            })
            .collect();
        if facts.is_empty() {
            continue;
        }
        let Some((active, how)) = active_profiles(svc, w, selector) else {
            continue;
        };
        // Later profiles of the list win.
        for p in &active {
            for f in &facts {
                if let FactKind::ProfileEnv { profile, value, .. } = &f.kind {
                    if profile == p {
                        profiled = Some(ImageValue {
                            value: Some(value),
                            file: &f.file,
                            line: f.line,
                            profile: Some((profile.as_str(), how)),
                        });
                    }
                }
            }
        }
    }
    profiled.or_else(|| svc.facts.iter().filter(|f| from_settings(f)).find_map(env))
}

/// A fact of an application settings file.
fn from_settings(f: &Fact) -> bool {
    let file_name = f.file.rsplit('/').next().unwrap_or(&f.file);
    is_settings_file(file_name)
}

/// What a selector variable is where a workload runs.
enum Selected<'a> {
    Value(&'a str),
    /// Set from a reference: not known.
    Unknown,
    Unset,
}

/// `name` as the workload sets it, else as the image does (a Dockerfile `ENV`, then a
/// settings file's default).
fn variable<'a>(svc: &'a Svc, w: &'a Workload, name: &str) -> Selected<'a> {
    match workload_value(w, name) {
        Some(Some(v)) => return Selected::Value(v),
        Some(None) => return Selected::Unknown,
        None => {}
    }
    let mut image: Vec<&Fact> = svc
        .facts
        .iter()
        .filter(|f| matches!(&f.kind, FactKind::Env { name: n, .. } if n == name))
        .collect();
    image.sort_by_key(|f| from_settings(f));
    match image.first().map(|f| &f.kind) {
        Some(FactKind::Env {
            value: Some(v),
            from_ref: false,
            ..
        }) => Selected::Value(v),
        Some(_) => Selected::Unknown,
        None => Selected::Unset,
    }
}

/// The profiles (Spring) or the environment (.NET) active where `w` runs, in the order they
/// apply, and what selects them; `None` when it is set from a reference.
fn active_profiles(
    svc: &Svc,
    w: &Workload,
    selector: ProfileSelector,
) -> Option<(Vec<String>, &'static str)> {
    let list = |text: &str| -> Vec<String> {
        text.split(',')
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect()
    };
    match selector {
        ProfileSelector::Spring => {
            if let Some(v) = w
                .facts
                .iter()
                .chain(&svc.facts)
                .find_map(command_line_profiles)
            {
                return Some((list(v), "spring.profiles.active"));
            }
            match variable(svc, w, "SPRING_PROFILES_ACTIVE") {
                Selected::Value(v) => Some((list(v), "SPRING_PROFILES_ACTIVE")),
                Selected::Unknown => None,
                Selected::Unset => Some((
                    vec!["default".to_string()],
                    "Spring's default: no profile is selected",
                )),
            }
        }
        ProfileSelector::Dotnet => {
            let chosen = match variable(svc, w, "ASPNETCORE_ENVIRONMENT") {
                Selected::Unset => (variable(svc, w, "DOTNET_ENVIRONMENT"), "DOTNET_ENVIRONMENT"),
                set => (set, "ASPNETCORE_ENVIRONMENT"),
            };
            match chosen {
                (Selected::Value(v), how) => Some((vec![v.trim().to_string()], how)),
                (Selected::Unknown, _) => None,
                (Selected::Unset, _) => Some((
                    vec!["Production".to_string()],
                    "the .NET host's default: no environment is selected",
                )),
            }
        }
    }
}

/// `spring.profiles.active=prod,k8s` on a command line (`-D…`, `--…`) or in a JVM options
/// variable.
fn command_line_profiles(f: &Fact) -> Option<&str> {
    let text = match &f.kind {
        FactKind::Command { text, .. } => text.as_str(),
        FactKind::Env {
            name,
            value: Some(v),
            ..
        } if matches!(
            name.as_str(),
            "JAVA_TOOL_OPTIONS" | "JAVA_OPTS" | "JDK_JAVA_OPTIONS"
        ) =>
        {
            v.as_str()
        }
        _ => return None,
    };
    let at = text.find("spring.profiles.active=")?;
    let rest = &text[at + "spring.profiles.active=".len()..];
    let end = rest
        .find(|c: char| c.is_whitespace() || c == '"' || c == '\'')
        .unwrap_or(rest.len());
    Some(&rest[..end]).filter(|v| !v.is_empty())
}
