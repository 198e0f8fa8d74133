//! Application settings files that give a tracing switch its default (and, for Spring, the
//! service's name: `spring.application.name` as `SPRING_APPLICATION_NAME`): Spring Boot's
//! `application.yml`/`application.yaml`/`application.properties` (`tracing.enabled: false`) and
//! .NET's `appsettings.json` (`"Tracing": { "Enabled": false }`). Each switch (a key with an
//! enable/disable word and a tracing word) becomes an `Env` fact of the variable that
//! overrides it — `TRACING_ENABLED` (Spring's relaxed binding), `Tracing__Enabled` (.NET) —
//! with the file's value: what the image runs with unless the workload sets it.
//!
//! A profile's or an environment's file (`application-prod.yml`, `application-prod.properties`,
//! `appsettings.Production.json`) and a Spring document for one profile
//! (`spring.config.activate.on-profile: prod`, or the older `spring.profiles: prod`) give
//! `ProfileEnv` facts instead: in effect only where the workload selects that profile
//! (`evaluation::profiles`). A Spring base file's own `spring.profiles.active` is the image's
//! default for `SPRING_PROFILES_ACTIVE`.

use serde_yaml::{Mapping, Value};

use crate::check::facts::env_names::{dotnet_variable, is_tracing_switch, spring_variable};
use crate::check::facts::{Fact, FactKind, ProfileSelector};

/// How a file's keys become variables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// Spring: `a.b-c` → `A_BC`.
    Spring,
    /// .NET: `A:B` → `A__B`.
    Dotnet,
}

/// A settings file, by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SettingsFile<'a> {
    /// How its keys become variables.
    pub style: Style,
    /// The profile or environment it is for (`prod` in `application-prod.yml`), `None` for the
    /// base file.
    pub profile: Option<&'a str>,
    /// A Java properties file (`key=value` lines), not YAML/JSON.
    pub properties: bool,
    /// Spring Cloud's `bootstrap.yml`/`.yaml`/`.properties`: read for
    /// `spring.application.name` only, which the Java agent's Spring Boot service-name
    /// detector takes from it (Spring itself reads it only with a bootstrap context).
    pub bootstrap: bool,
}

/// Whether `file` (a path or a name) is Spring Cloud's bootstrap settings file.
pub fn is_bootstrap(file: &str) -> bool {
    let name = file.rsplit('/').next().unwrap_or(file);
    ["bootstrap.yml", "bootstrap.yaml", "bootstrap.properties"].contains(&name)
}

/// The settings style of a file, by name.
pub fn style(file_name: &str) -> Option<Style> {
    settings_file(file_name).map(|f| f.style)
}

/// A file Spring or .NET reads its settings from, by name: `application.yml`,
/// `application-<profile>.yaml`, `application[-<profile>].properties`, `appsettings.json`,
/// `appsettings.<Environment>.json`.
pub fn settings_file(file_name: &str) -> Option<SettingsFile<'_>> {
    let plain = |p: &str| {
        !p.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    };
    if is_bootstrap(file_name) {
        return Some(SettingsFile {
            style: Style::Spring,
            profile: None,
            properties: file_name.ends_with(".properties"),
            bootstrap: true,
        });
    }
    if let Some(rest) = file_name.strip_prefix("application") {
        let (stem, properties) = if let Some(stem) = rest.strip_suffix(".properties") {
            (stem, true)
        } else if let Some(stem) = rest
            .strip_suffix(".yml")
            .or_else(|| rest.strip_suffix(".yaml"))
        {
            (stem, false)
        } else {
            return None;
        };
        let profile = match stem {
            "" => None,
            _ => Some(stem.strip_prefix('-').filter(|p| plain(p))?),
        };
        return Some(SettingsFile {
            style: Style::Spring,
            profile,
            properties,
            bootstrap: false,
        });
    }
    let stem = file_name
        .strip_prefix("appsettings")?
        .strip_suffix(".json")?;
    let profile = match stem {
        "" => None,
        _ => Some(stem.strip_prefix('.').filter(|p| plain(p))?),
    };
    Some(SettingsFile {
        style: Style::Dotnet,
        profile,
        properties: false,
        bootstrap: false,
    })
}

/// The facts of one settings document (`value`, the file's document starting at line
/// `start`): its tracing switches, as `Env` facts for a base document and `ProfileEnv` facts
/// for a profile's, and a Spring base document's `spring.profiles.active`.
pub fn facts(rel: &str, text: &str, start: u32, value: &Value, file: SettingsFile) -> Vec<Fact> {
    if file.bootstrap {
        return application_name(rel, text, start, value)
            .into_iter()
            .collect();
    }
    let selector = match file.style {
        Style::Spring => ProfileSelector::Spring,
        Style::Dotnet => ProfileSelector::Dotnet,
    };
    let profiles: Vec<String> = match (file.profile, file.style) {
        (Some(p), _) => vec![p.to_string()],
        (None, Style::Spring) => match on_profiles(value) {
            // A document for a profile expression (`prod & !cloud`) is not followed.
            Some(None) => return Vec::new(),
            Some(Some(list)) => list,
            None => Vec::new(),
        },
        (None, Style::Dotnet) => Vec::new(),
    };
    let mut found = switches(rel, text, start, value, file.style);
    if file.style == Style::Spring {
        found.extend(application_name(rel, text, start, value));
        found.extend(tracing_settings(rel, text, start, value));
    }
    if profiles.is_empty() {
        let mut out = found;
        if file.style == Style::Spring {
            if let Some((active, line)) = scalar_at(value, text, start, "spring.profiles.active") {
                out.push(Fact::new(
                    FactKind::Env {
                        name: "SPRING_PROFILES_ACTIVE".into(),
                        value: Some(active),
                        from_secret: false,
                        from_ref: false,
                    },
                    rel,
                    line,
                ));
            }
        }
        return out;
    }
    let mut out = Vec::new();
    for f in found {
        let FactKind::Env {
            name,
            value: Some(value),
            ..
        } = f.kind
        else {
            continue;
        };
        for profile in &profiles {
            out.push(Fact::new(
                FactKind::ProfileEnv {
                    selector,
                    profile: profile.clone(),
                    name: name.clone(),
                    value: value.clone(),
                },
                rel,
                f.line,
            ));
        }
    }
    out
}

/// The profiles a Spring document is for: `spring.config.activate.on-profile` (a name, a
/// comma-separated list or a sequence of names) or the older `spring.profiles: prod`.
/// `None` for a document of every profile; `Some(None)` for one whose condition is an
/// expression (`prod & !cloud`, `!dev`).
fn on_profiles(value: &Value) -> Option<Option<Vec<String>>> {
    let mut found = None;
    walk(value, &mut Vec::new(), &mut |keys: &[String], v: &Value| {
        let joined = keys.join(".");
        if joined == "spring.config.activate.on-profile" || joined == "spring.profiles" {
            found = scalar(v);
        }
    });
    let list = match found {
        Some(text) => text,
        None => {
            // A sequence of names.
            let seq = ["spring", "config", "activate", "on-profile"]
                .iter()
                .try_fold(value, |v, k| v.get(*k))
                .or_else(|| value.get("spring.config.activate.on-profile"))
                .and_then(Value::as_sequence)?;
            seq.iter().filter_map(scalar).collect::<Vec<_>>().join(",")
        }
    };
    let names: Vec<String> = list
        .split(',')
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .collect();
    let plain = names.iter().all(|n| {
        n.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    });
    Some((plain && !names.is_empty()).then_some(names))
}

/// The scalar at the dotted property `key` (written nested or dotted) and its line.
fn scalar_at(value: &Value, text: &str, start: u32, key: &str) -> Option<(String, u32)> {
    let mut found = None;
    walk(value, &mut Vec::new(), &mut |keys: &[String], v: &Value| {
        if found.is_none() && keys.join(".") == key {
            found = scalar(v);
        }
    });
    let last = key.rsplit('.').next().unwrap_or(key);
    let line = line_of(text, start, last);
    found.map(|v| (v, line))
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::Bool(b) => Some(b.to_string()),
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The line of the first line of `text` (starting at line `start`) that holds `needle`.
fn line_of(text: &str, start: u32, needle: &str) -> u32 {
    text.lines()
        .position(|l| l.contains(needle))
        .map_or(start, |i| start + i as u32)
}

/// `spring.application.name` (written nested or dotted), as the variable that overrides it:
/// the OpenTelemetry Spring Boot starter's `SpringResourceProvider` and Spring Boot's own
/// OpenTelemetry support take it as the service's name (TG203).
fn application_name(rel: &str, text: &str, start: u32, value: &Value) -> Option<Fact> {
    let (name, _) = scalar_at(value, text, start, "spring.application.name")?;
    let lines: Vec<&str> = text.lines().collect();
    let dotted = lines.iter().position(|l| l.contains("application.name"));
    let nested = || {
        let after = lines
            .iter()
            .position(|l| l.trim_start().starts_with("application:"))?;
        lines
            .iter()
            .enumerate()
            .skip(after)
            .find(|(_, l)| {
                let t = l.trim_start();
                t.starts_with("name:") && t.contains(name.as_str())
            })
            .map(|(i, _)| i)
    };
    let line = dotted.or_else(nested).map_or(start, |i| start + i as u32);
    Some(Fact::new(
        FactKind::Env {
            name: spring_variable("spring.application.name"),
            value: Some(name),
            from_secret: false,
            from_ref: false,
        },
        rel,
        line,
    ))
}

/// Spring properties that configure tracing, read as the variables that override them (the
/// readers decide where they count): Sleuth's and Spring Boot's propagation types (TG102), the OpenTelemetry
/// Spring Boot starter's `otel.service.name` and `otel.resource.attributes.service.name`
/// (TG203), Spring Boot's OTLP span exporter endpoint — `management.otlp.tracing.endpoint`
/// (Boot 3), `management.opentelemetry.tracing.export.otlp.endpoint` (Boot 4) — and its Zipkin
/// reporter's — `management.zipkin.tracing.endpoint` (Boot 3), Sleuth's `spring.zipkin.base-url`
/// (also written `baseUrl`) — (TG201).
const TRACING_SETTINGS: &[&str] = &[
    "spring.sleuth.propagation.type",
    "management.tracing.propagation.type",
    "management.tracing.propagation.produce",
    "otel.service.name",
    "otel.resource.attributes.service.name",
    "management.otlp.tracing.endpoint",
    "management.opentelemetry.tracing.export.otlp.endpoint",
    "management.zipkin.tracing.endpoint",
    "spring.zipkin.base-url",
    "spring.zipkin.baseUrl",
];

/// The [`TRACING_SETTINGS`] a document sets (a sequence as its items joined with `,`, as Spring
/// binds a list), as `Env` facts of their variables.
fn tracing_settings(rel: &str, text: &str, start: u32, value: &Value) -> Vec<Fact> {
    let mut out = Vec::new();
    for key in TRACING_SETTINGS {
        let Some(v) = value_at(value, key) else {
            continue;
        };
        out.push(Fact::new(
            FactKind::Env {
                name: spring_variable(key),
                value: Some(v),
                from_secret: false,
                from_ref: false,
            },
            rel,
            line_of_key(text, start, key),
        ));
    }
    out
}

/// The value at the dotted property `key` (written nested, dotted, or partly both): a scalar,
/// or a sequence of scalars joined with `,`.
fn value_at(value: &Value, key: &str) -> Option<String> {
    fn find<'v>(value: &'v Value, key: &str) -> Option<&'v Value> {
        let Value::Mapping(m) = value else {
            return None;
        };
        for (k, v) in m {
            let Some(k) = k.as_str() else { continue };
            if k == key {
                return Some(v);
            }
            if let Some(rest) = key.strip_prefix(k).and_then(|r| r.strip_prefix('.')) {
                if let Some(found) = find(v, rest) {
                    return Some(found);
                }
            }
        }
        None
    }
    match find(value, key)? {
        Value::Sequence(items) => {
            let items: Vec<String> = items.iter().filter_map(scalar).collect();
            (!items.is_empty()).then(|| items.join(","))
        }
        v => scalar(v),
    }
}

/// The line of `key` in `text` (starting at line `start`): each of its segments found in turn
/// at or after the line of the one before (nested YAML), all on one line when written dotted.
fn line_of_key(text: &str, start: u32, key: &str) -> u32 {
    let lines: Vec<&str> = text.lines().collect();
    let mut at = 0;
    for segment in key.split('.') {
        match lines.iter().skip(at).position(|l| l.contains(segment)) {
            Some(i) => at += i,
            None => return start,
        }
    }
    start + at as u32
}

/// The tracing switches `value` (the file's document starting at line `start`) sets.
pub fn switches(rel: &str, text: &str, start: u32, value: &Value, style: Style) -> Vec<Fact> {
    let mut out = Vec::new();
    let mut path = Vec::new();
    walk(value, &mut path, &mut |keys: &[String], v: &Value| {
        let Some(scalar) = scalar(v) else { return };
        let joined = keys.join(".");
        if !is_tracing_switch(&joined) {
            return;
        }
        let name = match style {
            Style::Spring => spring_variable(&joined),
            Style::Dotnet => dotnet_variable(&keys.join(":")),
        };
        let last = keys.last().map(String::as_str).unwrap_or_default();
        out.push(Fact::new(
            FactKind::Env {
                name,
                value: Some(scalar),
                from_secret: false,
                from_ref: false,
            },
            rel,
            line_of(text, start, last),
        ));
    });
    out
}

/// The documents of a Java properties file (`key=value`, `key: value` or `key value` lines;
/// `#` and `!` comments; `#---` or `!---` separates documents, as Spring reads them): each as
/// (its text, its first line, its keys as one flat mapping). A line continued with `\` is
/// read up to the backslash.
pub fn properties(text: &str) -> Vec<(&str, u32, Value)> {
    let mut docs = Vec::new();
    let mut map = Mapping::new();
    let (mut begin, mut start, mut offset) = (0usize, 1u32, 0usize);
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let t = line.trim();
        if t == "#---" || t == "!---" {
            docs.push((
                &text[begin..offset],
                start,
                Value::Mapping(std::mem::take(&mut map)),
            ));
            begin = offset + line.len();
            start = i as u32 + 2;
        } else if !(t.is_empty() || t.starts_with('#') || t.starts_with('!')) {
            let cut = t
                .find(|c: char| c == '=' || c == ':' || c.is_whitespace())
                .unwrap_or(t.len());
            let key = t[..cut].trim();
            let rest = t[cut..].trim_start();
            let rest = rest
                .strip_prefix(|c: char| c == '=' || c == ':')
                .unwrap_or(rest);
            let v = rest.trim().trim_end_matches('\\').trim();
            if !key.is_empty() {
                map.insert(Value::String(key.into()), Value::String(v.into()));
            }
        }
        offset += line.len();
    }
    docs.push((&text[begin..], start, Value::Mapping(map)));
    docs
}

/// Every scalar under `value`, with its keys (a Spring key may itself be dotted:
/// `tracing.enabled: false` at the top level).
fn walk(value: &Value, path: &mut Vec<String>, f: &mut impl FnMut(&[String], &Value)) {
    if path.len() > 16 {
        return;
    }
    match value {
        Value::Mapping(m) => {
            for (k, v) in m {
                let Some(k) = k.as_str() else { continue };
                path.push(k.to_string());
                walk(v, path, f);
                path.pop();
            }
        }
        Value::Sequence(_) | Value::Null | Value::Tagged(_) => {}
        scalar => f(path, scalar),
    }
}

#[cfg(test)]
#[path = "app_settings_tests.rs"]
mod tests;
