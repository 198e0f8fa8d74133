//! JVM: `pom.xml` (Maven) and `build.gradle(.kts)`; test-scoped dependencies never count.

use quick_xml::events::Event;
use quick_xml::Reader;

use super::{line_of_offset, Entry, LineIndex, Manifest, ManifestKind};
use crate::check::error::CheckError;
use crate::check::facts::{Fact, FactKind};

/// Parse a pom.xml.
pub fn parse_pom(rel: &str, text: &str) -> Result<Manifest, CheckError> {
    let mut reader = Reader::from_str(text);
    let lines = LineIndex::new(text);
    let mut stack: Vec<String> = Vec::new();
    let mut artifact = None;
    let mut packaging = None;
    let mut facts = Vec::new();
    // Current dependency under project/dependencies.
    let mut dep: Option<(String, String, String, u32)> = None;
    loop {
        let pos = reader.buffer_position() as usize;
        let ev = reader.read_event().map_err(|e| CheckError::Manifest {
            file: rel.to_string(),
            line: Some(line_of_offset(text, reader.error_position() as usize)),
            what: "pom.xml",
            reason: e.to_string(),
        })?;
        match ev {
            Event::Start(s) => {
                let name = String::from_utf8_lossy(s.local_name().as_ref()).to_string();
                stack.push(name);
                if stack == ["project", "dependencies", "dependency"] {
                    dep = Some((String::new(), String::new(), String::new(), lines.line(pos)));
                }
            }
            Event::End(_) => {
                if stack == ["project", "dependencies", "dependency"] {
                    if let Some((g, a, scope, line)) = dep.take() {
                        if scope != "test" && !a.is_empty() {
                            facts.push(Fact::new(
                                FactKind::Dependency {
                                    name: format!("{g}:{a}"),
                                },
                                rel,
                                line,
                            ));
                        }
                    }
                }
                stack.pop();
            }
            Event::Text(t) => {
                let value = t.decode().map(|c| c.trim().to_string()).unwrap_or_default();
                let path: Vec<&str> = stack.iter().map(String::as_str).collect();
                match path.as_slice() {
                    ["project", "artifactId"] => artifact = Some(value),
                    ["project", "packaging"] => packaging = Some(value),
                    ["project", "dependencies", "dependency", field] => {
                        if let Some(d) = dep.as_mut() {
                            match *field {
                                "groupId" => d.0 = value,
                                "artifactId" => d.1 = value,
                                "scope" => d.2 = value,
                                _ => {}
                            }
                        }
                    }
                    _ => {}
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if let Some(open) = stack.last() {
        return Err(super::unclosed_xml_element(rel, text, "pom.xml", open));
    }
    let entry = if packaging.as_deref() == Some("pom") {
        Entry::No
    } else {
        Entry::JavaSources
    };
    Ok(Manifest {
        kind: ManifestKind::Maven,
        file: rel.to_string(),
        name: artifact,
        entry,
        facts,
        typescript: false,
        cargo: None,
        version: None,
        uses: Vec::new(),
        notes: Vec::new(),
    })
}

/// Parse build.gradle / build.gradle.kts (line-based: `implementation("g:a:v")`).
pub fn parse_gradle(rel: &str, text: &str) -> Manifest {
    const CONFIGS: &[&str] = &["implementation", "api", "runtimeOnly", "compile", "runtime"];
    let mut facts = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let t = raw.trim();
        if t.starts_with("//") {
            continue;
        }
        let Some(config) = CONFIGS.iter().find(|c| {
            t.strip_prefix(**c)
                .is_some_and(|rest| rest.starts_with(['(', ' ', '\'', '"']))
        }) else {
            continue;
        };
        let rest = &t[config.len()..];
        let Some(start) = rest.find(['"', '\'']) else {
            continue;
        };
        let quoted = &rest[start + 1..];
        let coord: String = quoted
            .chars()
            .take_while(|c| *c != '"' && *c != '\'')
            .collect();
        let mut parts = coord.split(':');
        if let (Some(g), Some(a)) = (parts.next(), parts.next()) {
            facts.push(Fact::new(
                FactKind::Dependency {
                    name: format!("{g}:{a}"),
                },
                rel,
                i as u32 + 1,
            ));
        }
    }
    Manifest {
        kind: ManifestKind::Gradle,
        file: rel.to_string(),
        name: None,
        entry: Entry::JavaSources,
        facts,
        typescript: false,
        cargo: None,
        version: None,
        uses: Vec::new(),
        notes: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pom_dependencies_skip_test_scope() {
        let pom = "<project>\n  <artifactId>ledger</artifactId>\n  <dependencies>\n    <dependency>\n      <groupId>io.opentelemetry</groupId>\n      <artifactId>opentelemetry-sdk</artifactId>\n    </dependency>\n    <dependency>\n      <groupId>junit</groupId>\n      <artifactId>junit</artifactId>\n      <scope>test</scope>\n    </dependency>\n  </dependencies>\n</project>\n";
        let m = parse_pom("l/pom.xml", pom).unwrap();
        assert_eq!(m.name.as_deref(), Some("ledger"));
        assert_eq!(m.facts.len(), 1);
        assert!(
            matches!(&m.facts[0].kind, FactKind::Dependency { name } if name == "io.opentelemetry:opentelemetry-sdk")
        );
        assert_eq!(m.facts[0].line, 4);
        assert!(parse_pom("l/pom.xml", "<project><a></b></project>").is_err());
    }

    #[test]
    fn gradle_configurations() {
        let m = parse_gradle(
            "g/build.gradle.kts",
            "dependencies {\n    implementation(\"io.opentelemetry:opentelemetry-api:1.40.0\")\n    testImplementation(\"io.opentelemetry:opentelemetry-sdk-testing:1.40.0\")\n    // implementation(\"x:y:1\")\n}\n",
        );
        assert_eq!(m.facts.len(), 1);
        assert_eq!(m.facts[0].line, 2);
    }
}
