//! Rule packs: declarative rules in `rules/*.yaml`, compiled into the binary and extendable
//! with user packs (`--rules DIR`).
//!
//! A rule carries its documentation ([`RuleMeta`]) and what it looks for. Most rules are
//! *signal* rules: per language, a `when` list (the rule applies only if one matched), a
//! `require` list (a finding when none matched) and a `forbid` list (a finding at every
//! match). Signals are data — a direct dependency, a call, a symbol, an environment variable,
//! a start command, a pod annotation — and the analyzers guarantee that a signal inside a
//! comment, a string, dead code, a test file or an indirect dependency never matches. A few
//! rules (`check:` other than `signals`) run a built-in checker and take their data from
//! `params`.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::check::error::CheckError;
use crate::check::inputs::interest::Interest;
use crate::check::model::{Language, RuleMeta, Severity};

mod signal;
mod sites;
use signal::{compile_set, RawSignal};
pub use signal::{Signal, SignalSet};
pub use sites::{Cover, Site, SiteSet};

/// The `params` key listing the calls that read environment variables by name (call
/// patterns: `os.Getenv`, `os.environ` — its `get` and `["NAME"]` —; `process.env` for the
/// JavaScript member form).
pub const ENV_READERS: &str = "env_readers";

/// The `params` key of TG203 listing the dependencies that take the service's name from
/// Spring's `spring.application.name` (dependency names, not words a source file holds).
pub const SPRING_NAME_READERS: &str = "spring_name_readers";

/// The `params` key of TG203 (and TG201) listing the dependencies that read their own
/// `otel.*` properties from the Spring environment (the OpenTelemetry Spring Boot starter).
pub const OTEL_SETTINGS_READERS: &str = "otel_settings_readers";

/// The `params` key of TG201 listing the dependencies whose OTLP span exporter is Spring
/// Boot's own (its endpoint a Spring property, not `OTEL_EXPORTER_OTLP_ENDPOINT`).
pub const SPRING_EXPORTERS: &str = "spring_exporters";

/// The `params` key of TG201 listing the variables of Spring Boot's exporter endpoint.
pub const SPRING_EXPORTER_VARIABLES: &str = "spring_exporter_variables";

/// The `params` key of TG201 listing the dependencies that report spans to Zipkin from
/// Spring settings (Micrometer Tracing's and Sleuth's Zipkin reporters): their endpoint is a
/// Spring property too.
pub const ZIPKIN_REPORTERS: &str = "zipkin_reporters";

/// The `params` key of TG201 listing the variables of the Zipkin reporters' endpoint.
pub const ZIPKIN_REPORTER_VARIABLES: &str = "zipkin_reporter_variables";

/// `params` keys that hold dependency or variable names, not words a span attribute is judged
/// by (kept out of the source pre-filter's words).
const NAME_PARAMS: &[&str] = &[
    ENV_READERS,
    SPRING_NAME_READERS,
    OTEL_SETTINGS_READERS,
    SPRING_EXPORTERS,
    SPRING_EXPORTER_VARIABLES,
    ZIPKIN_REPORTERS,
    ZIPKIN_REPORTER_VARIABLES,
];

/// The built-in packs, compiled in.
const BUILTIN_PACKS: &[(&str, &str)] = &[
    (
        "rules/instrumentation.yaml",
        include_str!("../../../../rules/instrumentation.yaml"),
    ),
    (
        "rules/kubernetes.yaml",
        include_str!("../../../../rules/kubernetes.yaml"),
    ),
    (
        "rules/security.yaml",
        include_str!("../../../../rules/security.yaml"),
    ),
    (
        "rules/policy.yaml",
        include_str!("../../../../rules/policy.yaml"),
    ),
];

/// Which checker evaluates a rule.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckKind {
    /// `when` / `require` / `forbid` signal lists (the default; available to user packs).
    #[default]
    Signals,
    /// The service's language is not analysed (engine note).
    UnknownLanguage,
    /// A file could not be analysed (too large, binary, unreadable, unparsable).
    NotAnalysed,
    /// A Kubernetes workload without `OTEL_EXPORTER_OTLP_ENDPOINT` from configuration.
    WorkloadEndpoint,
    /// A Kubernetes workload without `OTEL_SERVICE_NAME`.
    WorkloadServiceName,
    /// An ingress that neither generates nor preserves trace context.
    Ingress,
    /// Span attributes, events or fields carrying credentials or PII.
    SensitiveAttributes,
    /// Whole request/response bodies or header maps recorded on spans.
    PayloadCapture,
    /// The code starts tracing only when a flag variable is set, and a workload does not set it.
    TracingFlag,
    /// Credentials in a plain `OTEL_EXPORTER_OTLP_HEADERS` value.
    PlainOtlpHeaders,
    /// Emitted by the policy step (waivers), never by the engine.
    Policy,
}

/// The key a language uses in packs.
pub fn language_key(language: Language) -> &'static str {
    match language {
        Language::Rust => "rust",
        Language::Go => "go",
        Language::Python => "python",
        Language::Javascript => "javascript",
        Language::Typescript => "typescript",
        Language::Java => "java",
        Language::Dotnet => "dotnet",
        Language::Php => "php",
        Language::Ruby => "ruby",
        Language::Elixir => "elixir",
        Language::Cpp => "cpp",
        Language::Nginx => "nginx",
        Language::Unknown => "unknown",
    }
}

const LANGUAGE_KEYS: &[&str] = &[
    "rust",
    "go",
    "python",
    "javascript",
    "typescript",
    "java",
    "dotnet",
    "unknown",
    "any",
];

/// A rule as written in a pack.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: String,
    title: String,
    severity: Severity,
    #[serde(default)]
    languages: Vec<Language>,
    help: String,
    #[serde(default)]
    help_by_language: BTreeMap<String, String>,
    #[serde(default)]
    example_by_language: BTreeMap<String, String>,
    what: String,
    why: String,
    fix: String,
    example: String,
    docs: String,
    #[serde(default)]
    check: CheckKind,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    after: Vec<String>,
    #[serde(default)]
    when: BTreeMap<String, Vec<RawSignal>>,
    #[serde(default)]
    require: BTreeMap<String, Vec<RawSignal>>,
    #[serde(default)]
    forbid: BTreeMap<String, Vec<RawSignal>>,
    #[serde(default)]
    short_of: BTreeMap<String, Vec<RawSignal>>,
    #[serde(default)]
    short_of_note: Option<String>,
    #[serde(default)]
    sites: BTreeMap<String, Vec<RawSignal>>,
    #[serde(default)]
    params: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPack {
    rules: Vec<RawRule>,
}

/// A compiled rule: documentation plus what the engine evaluates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Documentation and default severity.
    pub meta: RuleMeta,
    /// Which checker evaluates it.
    pub check: CheckKind,
    /// Finding message (defaults to the title).
    pub message: String,
    /// Rules that, when they fired for a service, make this one moot for it.
    pub after: Vec<String>,
    /// The rule applies only if one of these matched (empty: always).
    pub when: SignalSet,
    /// A finding when none of these matched.
    pub require: SignalSet,
    /// A finding at each match.
    pub forbid: SignalSet,
    /// What looks like meeting `require` but does not (an API package, a distribution nothing
    /// starts): when nothing in `require` matched, the finding is placed at the first of these
    /// that did and names it, with `short_of_note`.
    pub short_of: SignalSet,
    /// Why a `short_of` match does not count (`records no span by itself`).
    pub short_of_note: String,
    /// Call sites judged one by one: a finding at each site that neither its `covered_by`
    /// nor `require` covers (for the languages it lists, in place of `when`).
    pub sites: SiteSet,
    /// Data for built-in checkers (key lists, call lists…).
    pub params: BTreeMap<String, Vec<String>>,
    /// The pack it came from.
    pub source: String,
}

impl Rule {
    /// Whether the rule applies to `language` (an empty `languages` list means all).
    pub fn applies_to(&self, language: Language) -> bool {
        self.meta.languages.is_empty() || self.meta.languages.contains(&language)
    }

    /// A parameter list (empty when absent).
    pub fn param(&self, key: &str) -> &[String] {
        self.params.get(key).map(Vec::as_slice).unwrap_or(&[])
    }
}

/// The rules in effect: built-in packs plus user packs, ordered by ID.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleSet {
    rules: BTreeMap<String, Rule>,
}

impl RuleSet {
    /// The built-in rule packs (`rules/*.yaml`, compiled in).
    ///
    /// # Panics
    /// Never for a released binary: the packs are compiled in and a unit test parses them.
    pub fn builtin() -> RuleSet {
        let mut set = RuleSet::default();
        for (name, text) in BUILTIN_PACKS {
            if let Err(err) = set.add_pack(name, text) {
                panic!("built-in rule pack is invalid: {err}");
            }
        }
        set
    }

    /// Extend the set with every `*.yaml`/`*.yml` pack in `dir` (sorted by name). Errors name
    /// the file and, where known, the line.
    pub fn load_dir(&mut self, dir: &Path) -> Result<(), CheckError> {
        let entries = std::fs::read_dir(dir).map_err(|e| CheckError::Io {
            path: dir.to_path_buf(),
            reason: format!("cannot read rule directory: {e}"),
        })?;
        let mut files: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| e == "yaml" || e == "yml")
            })
            .collect();
        files.sort();
        for file in files {
            let name = file.display().to_string();
            // Reading a FIFO or a device would block or never end: only regular files are packs.
            let is_file = std::fs::metadata(&file).map(|m| m.is_file());
            if !is_file.map_err(|e| CheckError::Io {
                path: file.clone(),
                reason: e.to_string(),
            })? {
                return Err(CheckError::Io {
                    path: file.clone(),
                    reason: "not a regular file".into(),
                });
            }
            let bytes = std::fs::read(&file).map_err(|e| CheckError::Io {
                path: file.clone(),
                reason: e.to_string(),
            })?;
            let text = String::from_utf8(bytes).map_err(|_| CheckError::RulePack {
                file: name.clone(),
                line: None,
                reason: "not UTF-8".into(),
            })?;
            self.add_pack(&name, &text)?;
        }
        Ok(())
    }

    /// Add one pack given its name (for messages) and YAML text.
    pub fn add_pack(&mut self, name: &str, text: &str) -> Result<(), CheckError> {
        let pack: RawPack = serde_yaml::from_str(text).map_err(|e| CheckError::RulePack {
            file: name.to_string(),
            line: e.location().map(|l| l.line() as u32),
            reason: without_location(&first_line(&e.to_string())),
        })?;
        for raw in pack.rules {
            let line = line_of(text, &raw.id);
            let err = |reason: String| CheckError::RulePack {
                file: name.to_string(),
                line,
                reason,
            };
            if !is_rule_id(&raw.id) {
                return Err(err(format!(
                    "rule id {:?} must look like TG123 (or a custom prefix and digits)",
                    raw.id
                )));
            }
            if self.rules.contains_key(&raw.id) {
                return Err(err(format!("duplicate rule id {}", raw.id)));
            }
            let rule = compile(raw, name).map_err(err)?;
            self.rules.insert(rule.meta.id.clone(), rule);
        }
        Ok(())
    }

    /// Documentation of every rule, ordered by ID.
    pub fn meta(&self) -> impl Iterator<Item = &RuleMeta> {
        self.rules.values().map(|r| &r.meta)
    }

    /// Documentation of one rule.
    pub fn get(&self, id: &str) -> Option<&RuleMeta> {
        self.rules.get(id).map(|r| &r.meta)
    }

    /// The compiled rule (what the engine evaluates).
    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.get(id)
    }

    /// Every compiled rule, ordered by ID.
    pub fn rules(&self) -> impl Iterator<Item = &Rule> {
        self.rules.values()
    }

    /// Which call/symbol facts any rule can match (see [`Interest`]).
    pub fn interest(&self) -> Interest {
        fn collect<'a>(signal: &'a Signal, out: &mut Vec<&'a [String]>) {
            match signal {
                Signal::Call { path, .. } | Signal::Symbol(path) => out.push(path),
                Signal::All(list) | Signal::Any(list) => list.iter().for_each(|s| collect(s, out)),
                Signal::Unless(a, b) => {
                    collect(a, out);
                    collect(b, out);
                }
                _ => {}
            }
        }
        fn arg_calls<'a>(signal: &'a Signal, out: &mut Vec<&'a str>) {
            match signal {
                Signal::Call {
                    path,
                    argument: Some(_),
                    ..
                } => out.extend(path.last().map(String::as_str)),
                Signal::All(list) | Signal::Any(list) => {
                    list.iter().for_each(|s| arg_calls(s, out));
                }
                Signal::Unless(a, b) => {
                    arg_calls(a, out);
                    arg_calls(b, out);
                }
                _ => {}
            }
        }
        let mut patterns = Vec::new();
        let mut callees = Vec::new();
        for rule in self.rules.values() {
            for set in [&rule.when, &rule.require, &rule.forbid] {
                for list in set.by_language.values() {
                    list.iter().for_each(|s| collect(s, &mut patterns));
                    list.iter().for_each(|s| arg_calls(s, &mut callees));
                }
            }
            for s in rule.sites.signals() {
                collect(s, &mut patterns);
                arg_calls(s, &mut callees);
            }
        }
        // Calls that read environment variables (`env_readers`): call patterns too.
        let readers: Vec<Vec<String>> = self
            .rules
            .values()
            .flat_map(|r| r.param(ENV_READERS))
            .map(|p| crate::check::facts::segments(p))
            .collect();
        patterns.extend(readers.iter().map(Vec::as_slice));
        // Attribute facts are judged by the span-data rules' word lists (`params`).
        let words = self
            .rules
            .values()
            .flat_map(|r| {
                r.params
                    .iter()
                    .filter(|(k, _)| !NAME_PARAMS.contains(&k.as_str()))
                    .flat_map(|(_, v)| v)
            })
            .map(String::as_str);
        Interest::from_patterns(patterns.iter().copied())
            .with_args_of(callees)
            .with_prefilter(patterns, words)
    }

    /// Drop rules from the set (those `tracegate.yaml` turns `off`): they are not evaluated,
    /// so they never keep the rules that come `after` them from running.
    pub fn disable<'a>(&mut self, ids: impl IntoIterator<Item = &'a str>) {
        for id in ids {
            self.rules.remove(id);
        }
    }

    /// Number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether there is no rule.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

fn is_rule_id(id: &str) -> bool {
    let letters = id.chars().take_while(|c| c.is_ascii_uppercase()).count();
    letters >= 1 && id.len() > letters && id[letters..].chars().all(|c| c.is_ascii_digit())
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().to_string()
}

/// serde_yaml appends ` at line L column C` to its messages; the error already carries the
/// line, so drop the suffix to give the position once.
fn without_location(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i)
            if message[i + " at line ".len()..]
                .split(" column ")
                .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())) =>
        {
            message[..i].to_string()
        }
        _ => message.to_string(),
    }
}

fn line_of(text: &str, id: &str) -> Option<u32> {
    text.lines()
        .position(|l| {
            let t = l.trim_start().trim_start_matches("- ").trim_start();
            t.strip_prefix("id:")
                .is_some_and(|rest| rest.trim().trim_matches(['"', '\'']) == id)
        })
        .map(|i| i as u32 + 1)
}

fn compile(raw: RawRule, source: &str) -> Result<Rule, String> {
    let id = raw.id.clone();
    let when = compile_set(&raw.when).map_err(|e| format!("{id}: when: {e}"))?;
    let require = compile_set(&raw.require).map_err(|e| format!("{id}: require: {e}"))?;
    let forbid = compile_set(&raw.forbid).map_err(|e| format!("{id}: forbid: {e}"))?;
    let short_of = compile_set(&raw.short_of).map_err(|e| format!("{id}: short_of: {e}"))?;
    let short_of_note = raw.short_of_note.unwrap_or_default().trim().to_string();
    if !short_of.is_empty() && (short_of_note.is_empty() || require.is_empty()) {
        return Err(format!(
            "{id}: short_of needs a `require` list and a `short_of_note`"
        ));
    }
    let sites = sites::compile_sites(&raw.sites).map_err(|e| format!("{id}: sites: {e}"))?;
    for (field, map) in [
        ("help_by_language", &raw.help_by_language),
        ("example_by_language", &raw.example_by_language),
    ] {
        if let Some(lang) = map
            .keys()
            .find(|k| !LANGUAGE_KEYS.contains(&k.as_str()) || *k == "any" || *k == "unknown")
        {
            return Err(format!(
                "{id}: {field}: unknown language key {lang:?} (expected one of rust, go, python, javascript, typescript, java, dotnet)"
            ));
        }
    }
    if raw.check == CheckKind::Signals
        && require.is_empty()
        && forbid.is_empty()
        && sites.is_empty()
    {
        return Err(format!(
            "{id}: a signal rule needs a `require`, `forbid` or `sites` list"
        ));
    }
    Ok(Rule {
        message: raw.message.unwrap_or_else(|| raw.title.clone()),
        meta: RuleMeta {
            id: raw.id,
            title: raw.title,
            severity: raw.severity,
            languages: raw.languages,
            help: raw.help.trim().to_string(),
            help_by_language: raw
                .help_by_language
                .into_iter()
                .map(|(k, v)| (k, v.trim().to_string()))
                .collect(),
            what: raw.what.trim().to_string(),
            why: raw.why.trim().to_string(),
            fix: raw.fix.trim().to_string(),
            example: raw.example.trim_end().to_string(),
            example_by_language: raw
                .example_by_language
                .into_iter()
                .map(|(k, v)| (k, v.trim_end().to_string()))
                .collect(),
            docs: raw.docs,
        },
        check: raw.check,
        after: raw.after,
        when,
        require,
        forbid,
        short_of,
        short_of_note,
        sites,
        params: raw.params,
        source: source.to_string(),
    })
}

#[cfg(test)]
mod tests;
