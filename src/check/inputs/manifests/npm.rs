//! `package.json`: name (in full, `@acme/web`: the scan names the service `web`), start script or
//! main, `dependencies` (not devDependencies); what its dependencies say it is when that is no
//! service (an Electron or React Native client, a docs site, k6 load tests).

use super::{first_lines_containing, launch, Entry, Manifest, ManifestKind, NotService, Reference};
use crate::check::error::CheckError;
use crate::check::facts::{Fact, FactKind};

/// Parse a package.json.
pub fn parse(rel: &str, text: &str) -> Result<Manifest, CheckError> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| CheckError::Manifest {
            file: rel.to_string(),
            line: Some(e.line() as u32),
            what: "package.json",
            reason: e
                .to_string()
                .split(" at line")
                .next()
                .unwrap_or_default()
                .to_string(),
        })?;
    let Some(obj) = value.as_object() else {
        return Err(CheckError::Manifest {
            file: rel.to_string(),
            line: Some(1),
            what: "package.json",
            reason: "top level is not an object".into(),
        });
    };
    let name = obj.get("name").and_then(|n| n.as_str()).map(str::to_owned);
    let start = obj
        .get("scripts")
        .and_then(|s| s.get("start"))
        .and_then(|s| s.as_str());
    let main = obj.get("main").and_then(|m| m.as_str());
    let entry = match (start, main, not_service(obj, start)) {
        (_, _, Some(what)) => Entry::Never(what),
        (Some(_), _, _) => Entry::Yes,
        (None, Some(_), _) => Entry::NodeMain,
        // A workspace root holds packages; it runs none of them itself.
        (None, None, _) if obj.contains_key("workspaces") => Entry::No,
        (None, None, _) => Entry::NodeLaunched,
    };
    let mut facts: Vec<Fact> = Vec::new();
    let mut uses = Vec::new();
    if let Some(deps) = obj.get("dependencies").and_then(|d| d.as_object()) {
        // Each at the first line naming it in quotes, all found in one pass over the file.
        let quoted: Vec<String> = deps.keys().map(|key| format!("\"{key}\"")).collect();
        let lines = first_lines_containing(text, &quoted);
        for ((key, spec), line) in deps.iter().zip(lines) {
            uses.push(Reference::Name(
                key.clone(),
                spec.as_str().unwrap_or_default().to_owned(),
            ));
            facts.push(Fact::new(
                FactKind::Dependency { name: key.clone() },
                rel,
                line,
            ));
        }
    }
    if let Some(start) = start {
        facts.push(Fact::new(
            FactKind::command(start),
            rel,
            super::line_containing(text, "\"start\""),
        ));
    }
    let typescript = ["dependencies", "devDependencies"].iter().any(|k| {
        obj.get(*k)
            .and_then(|d| d.as_object())
            .is_some_and(|d| d.contains_key("typescript"))
    });
    Ok(Manifest {
        kind: ManifestKind::Npm,
        file: rel.to_string(),
        name,
        entry,
        facts,
        typescript,
        cargo: None,
        version: obj
            .get("version")
            .and_then(|v| v.as_str())
            .map(str::to_owned),
        uses,
        notes: Vec::new(),
    })
}

/// What the package is when its dependencies and scripts say it is no service: an Electron
/// desktop application (`electron`, with a `main` or a start script), a React Native or Expo
/// app (`react-native`), a docs site (`@docusaurus/core`, `vitepress`, `vuepress`), k6 load
/// tests (a script running `k6`, or `k6`/`@types/k6`, with no runtime dependency). Dependencies
/// and devDependencies both count; a start script that starts Node itself (`node server.js`)
/// makes it a server whatever it depends on.
fn not_service(
    obj: &serde_json::Map<String, serde_json::Value>,
    start: Option<&str>,
) -> Option<NotService> {
    if start.is_some_and(launch::runs_node) {
        return None;
    }
    let listed = |section: &str| {
        obj.get(section)
            .and_then(|d| d.as_object())
            .map(|d| d.keys().map(String::as_str).collect::<Vec<_>>())
            .unwrap_or_default()
    };
    let runtime = listed("dependencies");
    let all: Vec<&str> = runtime
        .iter()
        .copied()
        .chain(listed("devDependencies"))
        .collect();
    let has = |name: &str| all.contains(&name);
    if has("electron") && (obj.contains_key("main") || start.is_some()) {
        return Some(NotService::Electron);
    }
    if has("react-native") {
        return Some(NotService::ReactNative);
    }
    if [
        "@docusaurus/core",
        "vitepress",
        "vuepress",
        "@vuepress/core",
    ]
    .iter()
    .any(|d| has(d))
    {
        return Some(NotService::DocsSite);
    }
    let scripts_run_k6 = obj
        .get("scripts")
        .and_then(|s| s.as_object())
        .is_some_and(|s| {
            s.values()
                .filter_map(|v| v.as_str())
                .any(|v| launch::runs(v, "k6"))
        });
    let k6 = scripts_run_k6 || has("k6") || has("@types/k6");
    let k6_only = runtime.iter().all(|d| *d == "k6" || d.starts_with("k6-"));
    (k6 && k6_only && start.is_none_or(|s| launch::runs(s, "k6"))).then_some(NotService::LoadTest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_script_dependencies_and_errors() {
        let m = parse(
            "web/package.json",
            "{\n  \"name\": \"@acme/web\",\n  \"scripts\": {\"start\": \"node --require @opentelemetry/auto-instrumentations-node/register index.js\"},\n  \"dependencies\": {\"express\": \"4\"},\n  \"devDependencies\": {\"@opentelemetry/sdk-node\": \"1\"}\n}\n",
        )
        .unwrap();
        assert_eq!(m.name.as_deref(), Some("@acme/web"));
        assert_eq!(m.entry, Entry::Yes);
        assert_eq!(m.facts.len(), 2);
        assert!(matches!(&m.facts[0].kind, FactKind::Dependency { name } if name == "express"));
        assert_eq!(m.facts[0].line, 4);
        let e = parse("web/package.json", "{\n \"name\": \"x\",\n}")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("web/package.json:3: invalid package.json"),
            "{e}"
        );
    }

    fn entry_of(text: &str) -> Entry {
        parse("app/package.json", text).unwrap().entry
    }

    #[test]
    fn a_package_without_start_or_main_is_a_service_if_something_launches_it() {
        assert_eq!(
            entry_of(r#"{"name": "payment", "dependencies": {"@grpc/grpc-js": "1"}}"#),
            Entry::NodeLaunched
        );
        // A workspace root runs none of its packages itself.
        assert_eq!(
            entry_of(r#"{"name": "shop", "private": true, "workspaces": ["apps/*"]}"#),
            Entry::No
        );
    }

    #[test]
    fn clients_docs_sites_and_load_tests_are_never_services() {
        for (text, what) in [
            (
                r#"{"main": "main.js", "scripts": {"start": "electron ."}, "devDependencies": {"electron": "33"}}"#,
                NotService::Electron,
            ),
            (
                r#"{"main": "expo-router/entry", "scripts": {"start": "expo start"}, "dependencies": {"expo": "52", "react-native": "0.76.3"}}"#,
                NotService::ReactNative,
            ),
            (
                r#"{"scripts": {"start": "docusaurus start"}, "dependencies": {"@docusaurus/core": "3.6.3"}}"#,
                NotService::DocsSite,
            ),
            (
                r#"{"scripts": {"docs:dev": "vitepress dev docs"}, "devDependencies": {"vitepress": "1.5.0"}}"#,
                NotService::DocsSite,
            ),
            (
                r#"{"main": "script.js", "scripts": {"test": "k6 run script.js"}, "devDependencies": {"@types/k6": "0.54.2"}}"#,
                NotService::LoadTest,
            ),
        ] {
            assert_eq!(entry_of(text), Entry::Never(what), "{text}");
        }
    }

    #[test]
    fn servers_that_look_like_clients_docs_or_load_tests_stay_services() {
        for (text, entry) in [
            // A push-notification service for the mobile app: `expo-server-sdk` is no Expo app.
            (
                r#"{"scripts": {"start": "node src/index.js"}, "dependencies": {"expo-server-sdk": "3.10.0", "express": "4"}}"#,
                Entry::Yes,
            ),
            // A Next.js site sharing components through react-native-web.
            (
                r#"{"scripts": {"start": "next start"}, "dependencies": {"next": "15", "react-native-web": "0.19.13"}}"#,
                Entry::Yes,
            ),
            // An API documenting itself with VitePress: its start script starts Node.
            (
                r#"{"scripts": {"start": "node server.js", "docs:dev": "vitepress dev docs"}, "dependencies": {"express": "4"}, "devDependencies": {"vitepress": "1.5.0"}}"#,
                Entry::Yes,
            ),
            // A service with a k6 smoke test among its scripts.
            (
                r#"{"scripts": {"start": "node server.js", "loadtest": "k6 run load/smoke.js"}, "dependencies": {"fastify": "5"}, "devDependencies": {"@types/k6": "0.54.2"}}"#,
                Entry::Yes,
            ),
            // k6 types beside runtime dependencies, started by its Dockerfile.
            (
                r#"{"dependencies": {"express": "4"}, "devDependencies": {"@types/k6": "0.54.2"}}"#,
                Entry::NodeLaunched,
            ),
            // Names that merely start like the tools'.
            (
                r#"{"main": "index.js", "dependencies": {"electron-to-chromium": "1.5", "react-native-url-polyfill": "2"}}"#,
                Entry::NodeMain,
            ),
        ] {
            assert_eq!(entry_of(text), entry, "{text}");
        }
    }
}
