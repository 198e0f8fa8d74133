//! Maven: `pom.xml`; test-scoped dependencies never count (Gradle: [`super::gradle`]).

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
}
