//! Signals: what a signal rule looks for, as written in a pack (`RawSignal`) and compiled
//! ([`Signal`]), grouped per language ([`SignalSet`]).

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{language_key, LANGUAGE_KEYS};
use crate::check::facts::segments;
use crate::check::model::Language;

/// One signal, as written in a pack. Exactly one of the kind keys is set.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSignal {
    dependency: Option<String>,
    call: Option<String>,
    symbol: Option<String>,
    env: Option<String>,
    command: Option<String>,
    annotation: Option<String>,
    config: Option<String>,
    all: Option<Vec<RawSignal>>,
    unless: Option<Box<RawSignal>>,
    contains: Option<String>,
    not_contains: Option<String>,
    literal_arg: Option<bool>,
    literal: Option<String>,
    global: Option<bool>,
    argument: Option<String>,
    argument_packages: Option<Vec<String>>,
    /// `sites` only: what instruments this call site ([`super::sites`]).
    pub(super) covered_by: Option<Vec<RawSignal>>,
    /// Inside `covered_by` only: the signal counts in the site's own function only.
    pub(super) same_function: Option<bool>,
    /// `sites` only: what switches the library's propagation off in the whole service, so
    /// that every site of it is a finding whatever covers it ([`super::sites`]).
    pub(super) disabled_by: Option<Vec<RawSignal>>,
    /// `sites` only: what the finding at an uncovered site adds about the library.
    pub(super) note: Option<String>,
    any: Option<Vec<RawSignal>>,
}

/// A compiled signal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Signal {
    /// A direct runtime dependency; `name*` matches a prefix.
    Dependency(String),
    /// A call whose callee path contains these segments (`global::set_text_map_propagator`,
    /// `otel.SetTextMapPropagator`); `literal_arg` requires a string literal argument.
    Call {
        /// Path segments.
        path: Vec<String>,
        /// Whether a direct string-literal argument is required.
        literal_arg: bool,
        /// A string-literal argument that must be there (ASCII case ignored):
        /// `autoprop.TextMapPropagator("tracecontext", "baggage")`.
        literal: Option<String>,
        /// Whether only a free function counts (`fetch(…)`, `globalThis.fetch(…)`), not a
        /// method of the same name on another object (`cache.fetch(…)`).
        global: bool,
        /// What the arguments must name (path segments), unless some argument is opaque
        /// ([`crate::check::facts::CallArgs`]): `otel.SetTextMapPropagator(b3.New())` does not
        /// pass the W3C propagator, `otel.SetTextMapPropagator(p)` may.
        argument: Option<Vec<String>>,
        /// The packages whose paths `argument` judges (`go.opentelemetry.io`,
        /// `opentelemetry*`): arguments naming a path from anywhere else (the service's own
        /// code, another library) are not seen through, and the call matches. Empty: every path
        /// is judged.
        argument_packages: Vec<Vec<String>>,
    },
    /// A reference to a symbol (type, constant, path) in live code.
    Symbol(Vec<String>),
    /// An environment variable (Kubernetes env, Dockerfile `ENV`), optionally by value.
    Env {
        /// Variable name.
        name: String,
        /// The value must contain this.
        contains: Option<String>,
        /// The value must not contain this (the variable must be set).
        not_contains: Option<String>,
    },
    /// A start command (start script, Dockerfile `CMD`/`ENTRYPOINT`, container command) that
    /// contains this text.
    Command(String),
    /// A pod or namespace annotation key; `prefix*` matches a prefix.
    Annotation(String),
    /// A setting of a declarative configuration file the service loads (`file`, `propagator`,
    /// `processor`, `endpoint`), optionally by value.
    Config {
        /// The setting.
        key: String,
        /// The value must contain this (ASCII case ignored).
        contains: Option<String>,
        /// The value must not contain this.
        not_contains: Option<String>,
    },
    /// All of these matched.
    All(Vec<Signal>),
    /// One of these matched.
    Any(Vec<Signal>),
    /// The first matched and the second matched nothing in the service.
    Unless(Box<Signal>, Box<Signal>),
}

/// Signals per language (`any` applies to every language; `javascript` also to TypeScript).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SignalSet {
    pub(super) by_language: BTreeMap<String, Vec<Signal>>,
}

impl SignalSet {
    /// Whether no signal is defined for any language.
    pub fn is_empty(&self) -> bool {
        self.by_language.values().all(Vec::is_empty)
    }

    /// The signals that apply to `language`, in pack order (language first, then `any`).
    pub fn for_language(&self, language: Language) -> Vec<&Signal> {
        for_language(&self.by_language, language)
    }

    /// Whether a list is defined for `language` specifically (not through `any`).
    pub fn defines(&self, language: Language) -> bool {
        let key = language_key(language);
        self.by_language.contains_key(key)
            || (language == Language::Typescript && self.by_language.contains_key("javascript"))
    }
}

/// The lists of `by_language` that apply to `language`, in pack order (language first, then
/// `javascript` for TypeScript, then `any`).
pub(super) fn for_language<T>(
    by_language: &BTreeMap<String, Vec<T>>,
    language: Language,
) -> Vec<&T> {
    let key = language_key(language);
    let mut out: Vec<&T> = Vec::new();
    if let Some(list) = by_language.get(key) {
        out.extend(list);
    }
    if language == Language::Typescript {
        if let Some(list) = by_language.get("javascript") {
            out.extend(list);
        }
    }
    if let Some(list) = by_language.get("any") {
        out.extend(list);
    }
    out
}

pub(super) fn compile_set(raw: &BTreeMap<String, Vec<RawSignal>>) -> Result<SignalSet, String> {
    let mut by_language = BTreeMap::new();
    for (lang, list) in raw {
        if !LANGUAGE_KEYS.contains(&lang.as_str()) {
            return Err(format!(
                "unknown language key {lang:?} (expected one of {})",
                LANGUAGE_KEYS.join(", ")
            ));
        }
        let compiled = list
            .iter()
            .map(compile_signal)
            .collect::<Result<Vec<_>, _>>()?;
        by_language.insert(lang.clone(), compiled);
    }
    Ok(SignalSet { by_language })
}

pub(super) fn compile_signal(raw: &RawSignal) -> Result<Signal, String> {
    if raw.covered_by.is_some() {
        return Err("`covered_by` applies to `sites` signals only".into());
    }
    if raw.same_function.is_some() {
        return Err("`same_function` applies inside `covered_by` only".into());
    }
    if raw.disabled_by.is_some() || raw.note.is_some() {
        return Err("`disabled_by` and `note` apply to `sites` signals only".into());
    }
    if let Some(unless) = &raw.unless {
        let mut base = raw.clone();
        base.unless = None;
        return Ok(Signal::Unless(
            Box::new(compile_signal(&base)?),
            Box::new(compile_signal(unless)?),
        ));
    }
    let kinds = [
        raw.dependency.is_some(),
        raw.call.is_some(),
        raw.symbol.is_some(),
        raw.env.is_some(),
        raw.command.is_some(),
        raw.annotation.is_some(),
        raw.config.is_some(),
        raw.all.is_some(),
        raw.any.is_some(),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if kinds != 1 {
        return Err(
            "a signal needs exactly one of dependency, call, symbol, env, command, annotation, config, all, any"
                .into(),
        );
    }
    if (raw.contains.is_some() || raw.not_contains.is_some())
        && raw.env.is_none()
        && raw.config.is_none()
    {
        return Err("`contains`/`not_contains` apply to `env` and `config` signals only".into());
    }
    if (raw.literal_arg.is_some() || raw.literal.is_some()) && raw.call.is_none() {
        return Err("`literal_arg`/`literal` apply to `call` signals only".into());
    }
    if raw.global.is_some() && raw.call.is_none() {
        return Err("`global` applies to `call` signals only".into());
    }
    if raw.argument.is_some() && raw.call.is_none() {
        return Err("`argument` applies to `call` signals only".into());
    }
    if raw.argument_packages.is_some() && raw.argument.is_none() {
        return Err("`argument_packages` applies to `argument` signals only".into());
    }
    let nonempty = |s: &String, what: &str| {
        if s.trim().is_empty() {
            Err(format!("empty `{what}` signal"))
        } else {
            Ok(s.trim().to_string())
        }
    };
    Ok(if let Some(d) = &raw.dependency {
        Signal::Dependency(nonempty(d, "dependency")?)
    } else if let Some(c) = &raw.call {
        Signal::Call {
            path: segments(&nonempty(c, "call")?),
            literal_arg: raw.literal_arg.unwrap_or(false),
            literal: raw
                .literal
                .as_ref()
                .map(|l| nonempty(l, "literal"))
                .transpose()?,
            global: raw.global.unwrap_or(false),
            argument: raw
                .argument
                .as_ref()
                .map(|a| nonempty(a, "argument").map(|a| segments(&a)))
                .transpose()?,
            argument_packages: raw
                .argument_packages
                .iter()
                .flatten()
                .map(|p| nonempty(p, "argument_packages").map(|p| segments(&p)))
                .collect::<Result<_, _>>()?,
        }
    } else if let Some(s) = &raw.symbol {
        Signal::Symbol(segments(&nonempty(s, "symbol")?))
    } else if let Some(e) = &raw.env {
        Signal::Env {
            name: nonempty(e, "env")?,
            contains: raw.contains.clone(),
            not_contains: raw.not_contains.clone(),
        }
    } else if let Some(c) = &raw.command {
        Signal::Command(nonempty(c, "command")?)
    } else if let Some(a) = &raw.annotation {
        Signal::Annotation(nonempty(a, "annotation")?)
    } else if let Some(c) = &raw.config {
        Signal::Config {
            key: nonempty(c, "config")?,
            contains: raw.contains.clone(),
            not_contains: raw.not_contains.clone(),
        }
    } else if let Some(all) = &raw.all {
        if all.is_empty() {
            return Err("empty `all` signal".into());
        }
        Signal::All(all.iter().map(compile_signal).collect::<Result<_, _>>()?)
    } else if let Some(any) = &raw.any {
        if any.is_empty() {
            return Err("empty `any` signal".into());
        }
        Signal::Any(any.iter().map(compile_signal).collect::<Result<_, _>>()?)
    } else {
        return Err("empty signal".into());
    })
}
