//! Gradle builds, Groovy DSL (`build.gradle`) and Kotlin DSL (`build.gradle.kts`), and their
//! settings scripts, read without running them ([`super::gradle_lex`]).
//!
//! - **Entry point:** the `application` plugin (or its `application { … }` block), Spring Boot
//!   (`org.springframework.boot`, also its `springBoot { … }` block), Micronaut's
//!   `io.micronaut.application`, Quarkus (`io.quarkus`) or Ktor (`io.ktor.plugin`), applied in
//!   `plugins { … }` (not `apply false`), by `alias(libs.plugins.…)` or by a top-level
//!   `apply plugin:`/`apply(plugin = …)`. Otherwise the project is a service only if its own
//!   sources (`src/main/java`, `src/main/kotlin`) declare a `main` or `@SpringBootApplication`
//!   ([`Entry::JvmMain`]): a library subproject is no service.
//! - **Dependencies:** the top-level `dependencies { … }` block's runtime configurations
//!   (`implementation`, `api`, `runtimeOnly`, `compile`, `runtime`); test, compile-only,
//!   annotation-processor and build-script dependencies never count, nor do platforms/BOMs.
//!   Notations: `"g:a:v"`, `group: 'g', name: 'a'` / `group = "g", name = "a"`,
//!   `libs.x.y` and `libs.bundles.x` through the version catalog `gradle/libs.versions.toml`
//!   ([`Catalog`]), `kotlin("x")`, and `project(":x")` (a dependency named `:x`, the Gradle
//!   project path).
//! - **Settings:** `rootProject.name` names the service.

use std::collections::HashMap;

use super::gradle_lex::{statements, Statement, Tok};
use super::{Entry, Manifest, ManifestKind};
use crate::check::facts::{Fact, FactKind};

/// Configurations whose dependencies are on the runtime classpath of the application.
const RUNTIME: &[&str] = &["implementation", "api", "runtimeOnly", "compile", "runtime"];

/// Plugins that make a project something deployed, with an entry point.
const APPLICATION_PLUGINS: &[&str] = &[
    "application",
    "org.springframework.boot",
    "io.micronaut.application",
    "io.quarkus",
    "io.ktor.plugin",
];

/// Blocks whose `dependencies { … }` are not this project's runtime dependencies.
const FOREIGN_BLOCKS: &[&str] = &[
    "buildscript",
    "subprojects",
    "allprojects",
    "configure",
    "testing",
    "constraints",
];

/// A version catalog (`gradle/libs.versions.toml`): accessor → `group:artifact`, bundles and
/// plugin ids. Accessors are normalised as Gradle generates them: `-`, `_` and `.` separate
/// (`opentelemetry-api` is `libs.opentelemetry.api`), compared without case.
#[derive(Debug, Default)]
pub struct Catalog {
    libraries: HashMap<String, String>,
    bundles: HashMap<String, Vec<String>>,
    plugins: HashMap<String, String>,
}

fn accessor(alias: &str) -> String {
    alias.replace(['-', '_'], ".").to_ascii_lowercase()
}

impl Catalog {
    /// Parse a catalog; `Err` is a one-line reason.
    pub fn parse(text: &str) -> Result<Catalog, String> {
        let doc: toml::Table = toml::from_str(text).map_err(|e| e.message().to_string())?;
        let mut catalog = Catalog::default();
        let table = |name: &str| doc.get(name).and_then(toml::Value::as_table);
        for (alias, v) in table("libraries").into_iter().flatten() {
            let coords = match v {
                toml::Value::String(s) => coordinates(s),
                toml::Value::Table(t) => match t.get("module").and_then(toml::Value::as_str) {
                    Some(m) => coordinates(m),
                    None => match (
                        t.get("group").and_then(toml::Value::as_str),
                        t.get("name").and_then(toml::Value::as_str),
                    ) {
                        (Some(g), Some(n)) => Some(format!("{g}:{n}")),
                        _ => None,
                    },
                },
                _ => None,
            };
            if let Some(c) = coords {
                catalog.libraries.insert(accessor(alias), c);
            }
        }
        for (alias, v) in table("bundles").into_iter().flatten() {
            let members = v
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(toml::Value::as_str)
                .map(accessor)
                .collect();
            catalog.bundles.insert(accessor(alias), members);
        }
        for (alias, v) in table("plugins").into_iter().flatten() {
            let id = match v {
                toml::Value::String(s) => s.split(':').next().map(str::to_string),
                toml::Value::Table(t) => {
                    t.get("id").and_then(toml::Value::as_str).map(String::from)
                }
                _ => None,
            };
            if let Some(id) = id {
                catalog.plugins.insert(accessor(alias), id);
            }
        }
        Ok(catalog)
    }

    /// The coordinates a `libs.…` accessor stands for (a bundle: each of its libraries).
    fn resolve(&self, path: &str) -> Option<Vec<String>> {
        let key = accessor(path);
        if let Some(bundle) = key.strip_prefix("bundles.") {
            let members = self.bundles.get(bundle)?;
            return Some(
                members
                    .iter()
                    .filter_map(|m| self.libraries.get(m).cloned())
                    .collect(),
            );
        }
        self.libraries.get(&key).map(|c| vec![c.clone()])
    }
}

/// `g:a[:v]` → `g:a`.
fn coordinates(s: &str) -> Option<String> {
    let mut parts = s.split(':');
    match (parts.next(), parts.next()) {
        (Some(g), Some(a)) if !g.is_empty() && !a.is_empty() && !g.contains(['/', ' ']) => {
            Some(format!("{g}:{a}"))
        }
        _ => None,
    }
}

/// Parse a build or settings script; `catalog` is the build's version catalog, when there is
/// one (`libs.…` references are noted as not counted otherwise).
pub fn parse(rel: &str, text: &str, catalog: Option<&Catalog>) -> Manifest {
    let file_name = rel.rsplit('/').next().unwrap_or(rel);
    let settings = file_name.starts_with("settings.gradle");
    let mut m = Manifest {
        kind: ManifestKind::Gradle,
        file: rel.to_string(),
        name: None,
        entry: if settings { Entry::No } else { Entry::JvmMain },
        facts: Vec::new(),
        typescript: false,
        cargo: None,
        version: None,
        uses: Vec::new(),
        notes: Vec::new(),
    };
    let statements = statements(text);
    if settings {
        let found = super::gradle_settings::included(&statements);
        m.uses.extend(found.uses);
        m.notes.extend(
            found
                .notes
                .into_iter()
                .map(|(reason, line)| (rel.to_string(), reason, Some(line))),
        );
    }
    for s in statements {
        if settings {
            if s.blocks.is_empty() {
                if let [Tok::Word(w), Tok::Punct(b'='), Tok::Str(name), ..] = s.toks.as_slice() {
                    if w == "rootProject.name" && !name.contains('$') {
                        m.name = Some(name.clone());
                    }
                }
                m.uses.extend(project_dir(&s.toks));
            }
            continue;
        }
        if applies_entry_plugin(&s, catalog) {
            m.entry = Entry::Yes;
        }
        let in_dependencies = s.blocks.last().is_some_and(|b| b == "dependencies")
            && !s.blocks.iter().any(|b| {
                FOREIGN_BLOCKS.contains(&b.as_str()) || b.to_ascii_lowercase().contains("test")
            });
        if in_dependencies {
            dependencies(rel, &s, catalog, &mut m);
        }
    }
    m
}

/// `project(':x').projectDir = file('dir')` (also `new File(settingsDir, 'dir')`,
/// `file("$rootDir/dir")`, `File(rootDir, "dir")`) in a settings file: where project `:x` is.
fn project_dir(toks: &[Tok]) -> Option<super::Reference> {
    let [Tok::Word(project), Tok::Punct(b'('), Tok::Str(path), Tok::Punct(b')'), rest @ ..] = toks
    else {
        return None;
    };
    if project != "project" || path.contains('$') {
        return None;
    }
    // `.projectDir =` (the lexer may keep the dot with the name or apart).
    let rest = match rest {
        [Tok::Punct(b'.'), Tok::Word(w), rest @ ..] | [Tok::Word(w), rest @ ..]
            if w.trim_start_matches('.') == "projectDir" =>
        {
            rest
        }
        _ => return None,
    };
    let [Tok::Punct(b'='), value @ ..] = rest else {
        return None;
    };
    // The first string of the value, after an optional base directory of the build's root.
    let dir = value.iter().find_map(|t| match t {
        Tok::Str(d) => Some(d.as_str()),
        _ => None,
    })?;
    let dir = [
        "$rootDir/",
        "${rootDir}/",
        "$settingsDir/",
        "${settingsDir}/",
        "./",
    ]
    .iter()
    .find_map(|p| dir.strip_prefix(p))
    .unwrap_or(dir);
    if dir.is_empty() || dir.contains('$') || dir.starts_with('/') {
        return None;
    }
    let project = if path.starts_with(':') {
        path.clone()
    } else {
        format!(":{path}")
    };
    Some(super::Reference::ProjectDir {
        project,
        dir: dir.trim_end_matches('/').to_owned(),
    })
}

/// Whether a statement applies a plugin of [`APPLICATION_PLUGINS`] to this project, or is the
/// top of a block only such a plugin defines (`application { … }`, `springBoot { … }`).
fn applies_entry_plugin(s: &Statement, catalog: Option<&Catalog>) -> bool {
    let toks = s.toks.as_slice();
    let word = |i: usize| match toks.get(i) {
        Some(Tok::Word(w)) => Some(w.as_str()),
        _ => None,
    };
    let applied = !toks
        .windows(2)
        .any(|w| matches!(w, [Tok::Word(a), Tok::Word(f)] if a == "apply" && f == "false"));
    let entry = |id: &str| APPLICATION_PLUGINS.contains(&id);
    if s.blocks.is_empty() {
        // A block only the plugin defines: `application {` starts a statement of its own.
        if toks.len() == 1 && matches!(word(0), Some("application" | "springBoot")) {
            return true;
        }
        // `apply plugin: 'application'`, `apply(plugin = "org.springframework.boot")`.
        if word(0) == Some("apply") {
            return toks
                .windows(3)
                .any(|w| matches!(w, [Tok::Word(p), Tok::Punct(b':' | b'='), Tok::Str(id)] if p == "plugin" && entry(id)));
        }
        return false;
    }
    if s.blocks.len() != 1 || s.blocks[0] != "plugins" || !applied {
        return false;
    }
    match (word(0), toks.get(1), toks.get(2)) {
        // `application`, `` `application` ``
        (Some(id), None, _) => entry(id),
        (Some("id"), Some(Tok::Str(id)), _)
        | (Some("id"), Some(Tok::Punct(b'(')), Some(Tok::Str(id))) => entry(id),
        (Some("alias"), Some(Tok::Punct(b'(')), Some(Tok::Word(path))) => path
            .strip_prefix("libs.plugins.")
            .and_then(|p| catalog?.plugins.get(&accessor(p)))
            .is_some_and(|id| entry(id)),
        _ => false,
    }
}

/// The runtime dependencies one statement of a `dependencies { … }` block declares.
fn dependencies(rel: &str, s: &Statement, catalog: Option<&Catalog>, m: &mut Manifest) {
    let toks = s.toks.as_slice();
    let config = match toks.first() {
        Some(Tok::Word(w)) => w.as_str(),
        // Kotlin DSL's string form: `"implementation"("g:a:v")`.
        Some(Tok::Str(w)) if toks.get(1) == Some(&Tok::Punct(b'(')) => w.as_str(),
        _ => return,
    };
    if !RUNTIME.contains(&config) {
        return;
    }
    let dep = |name: String, m: &mut Manifest| {
        m.facts
            .push(Fact::new(FactKind::Dependency { name }, rel, s.line));
    };
    // Map notation: `group: 'g', name: 'a'` (Groovy) or `group = "g", name = "a"` (Kotlin).
    let named = |key: &str| {
        toks.windows(3).find_map(|w| match w {
            [Tok::Word(k), Tok::Punct(b':' | b'='), Tok::Str(v)] if k == key => Some(v.clone()),
            _ => None,
        })
    };
    if let (Some(g), Some(a)) = (named("group"), named("name")) {
        dep(format!("{g}:{a}"), m);
        return;
    }
    let mut i = 1;
    while i < toks.len() {
        match &toks[i] {
            Tok::Word(w) if toks.get(i + 1) == Some(&Tok::Punct(b'(')) => {
                match w.as_str() {
                    "project" => {
                        // `project(":x")`, `project(path: ':x')`
                        let path = toks
                            .get(i + 2..)
                            .unwrap_or_default()
                            .iter()
                            .take_while(|t| **t != Tok::Punct(b')'))
                            .find_map(|t| match t {
                                Tok::Str(p) => Some(p),
                                _ => None,
                            });
                        if let Some(p) = path {
                            m.uses.push(super::Reference::Name(p.clone(), "project".to_string()));
                            dep(p.clone(), m);
                        }
                    }
                    "kotlin" => {
                        if let Some(Tok::Str(module)) = toks.get(i + 2) {
                            dep(format!("org.jetbrains.kotlin:kotlin-{module}"), m);
                        }
                    }
                    // A platform (BOM) constrains versions and adds no library; test fixtures
                    // are test code.
                    "platform" | "enforcedPlatform" | "testFixtures" | "files" | "fileTree" => {}
                    _ => {
                        i += 1;
                        continue;
                    }
                }
                i = skip_parens(toks, i + 1);
                continue;
            }
            // Type-safe project accessors: `projects.telemetry`, `projects.shared.otelConfig`
            // are `project(":telemetry")`, `project(":shared:otel-config")`.
            Tok::Word(w) if w.starts_with("projects.") => {
                let path: String = w["projects.".len()..]
                    .split('.')
                    .map(|seg| format!(":{}", kebab(seg)))
                    .collect();
                m.uses.push(super::Reference::Name(path.clone(), "project".to_string()));
                dep(path, m);
                i += 1;
                continue;
            }
            Tok::Word(w) if w.starts_with("libs.") => match catalog.and_then(|c| c.resolve(&w[5..])) {
                Some(coords) => coords.into_iter().for_each(|c| dep(c, m)),
                None => m.notes.push((
                    rel.to_string(),
                    format!(
                        "`{w}` is not in gradle/libs.versions.toml: the dependency it names is not counted"
                    ),
                    Some(s.line),
                )),
            },
            Tok::Str(coord) => {
                if let Some(c) = coordinates(coord) {
                    dep(c, m);
                }
            }
            _ => {}
        }
        i += 1;
    }
}

/// The index after the parenthesis that closes the one at `open`.
fn skip_parens(toks: &[Tok], open: usize) -> usize {
    let mut depth = 0usize;
    for (i, t) in toks.iter().enumerate().skip(open) {
        match t {
            Tok::Punct(b'(') => depth += 1,
            Tok::Punct(b')') => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
    }
    toks.len()
}

#[cfg(test)]
#[path = "gradle_tests.rs"]
mod tests;

/// A type-safe accessor's segment as the project name Gradle made it from (`otelConfig` →
/// `otel-config`).
fn kebab(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len() + 4);
    for (i, c) in segment.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('-');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}
