//! Maven: `pom.xml`; test-scoped dependencies never count (Gradle: [`super::gradle`]). A
//! Maven module is named by its coordinates `groupId:artifactId` (the groupId inherited from
//! `<parent>` when it has none): a dependency of those coordinates is that module of the tree
//! ([`Reference::Name`]).

use quick_xml::events::Event;
use quick_xml::Reader;

use super::{line_of_offset, Entry, LineIndex, Manifest, ManifestKind, Reference};
use crate::check::error::CheckError;
use crate::check::facts::{Fact, FactKind};

/// Parse a pom.xml.
pub fn parse_pom(rel: &str, text: &str) -> Result<Manifest, CheckError> {
    let mut reader = Reader::from_str(text);
    let lines = LineIndex::new(text);
    let mut stack: Vec<String> = Vec::new();
    let mut artifact = None;
    let mut group = None;
    let mut parent_group = None;
    let mut parent_artifact: Option<String> = None;
    let mut parent_path: Option<String> = None;
    let mut packaging = None;
    let mut executable = false;
    // (groupId, artifactId, version, line) of each runtime dependency.
    let mut deps: Vec<(String, String, String, u32)> = Vec::new();
    // Current dependency under project/dependencies: groupId, artifactId, version, scope, line.
    let mut dep: Option<([String; 4], u32)> = None;
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
                    dep = Some((Default::default(), lines.line(pos)));
                }
            }
            Event::End(_) => {
                if stack == ["project", "dependencies", "dependency"] {
                    if let Some(([g, a, version, scope], line)) = dep.take() {
                        if scope != "test" && !a.is_empty() {
                            deps.push((g, a, version, line));
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
                    ["project", "groupId"] => group = Some(value),
                    ["project", "parent", "groupId"] => parent_group = Some(value),
                    ["project", "parent", "artifactId"] => parent_artifact = Some(value),
                    ["project", "parent", "relativePath"] => parent_path = Some(value),
                    ["project", "packaging"] => packaging = Some(value),
                    // Spring Boot's repackaged jar, or a main class in any plugin's
                    // configuration (jar manifest, shade, assembly, exec).
                    ["project", "build", "plugins", "plugin", "artifactId"] => {
                        executable |= value == "spring-boot-maven-plugin";
                    }
                    ["project", "build", .., "mainClass"] if !value.is_empty() => {
                        executable = true;
                    }
                    ["project", "dependencies", "dependency", field] => {
                        if let Some((d, _)) = dep.as_mut() {
                            let slot = match *field {
                                "groupId" => Some(0),
                                "artifactId" => Some(1),
                                "version" => Some(2),
                                "scope" => Some(3),
                                _ => None,
                            };
                            if let Some(i) = slot {
                                d[i] = value;
                            }
                        }
                    }
                    _ => {}
                }
            }
            // `<relativePath/>`: the parent is looked up by its coordinates only.
            Event::Empty(e)
                if stack == ["project", "parent"] && e.local_name().as_ref() == b"relativePath" =>
            {
                parent_path = Some(String::new());
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
    } else if executable {
        Entry::JavaExecutable
    } else {
        Entry::JavaSources
    };
    let group = group.or(parent_group.clone()).filter(|g| !g.is_empty());
    // `${project.groupId}` (a sibling module's usual groupId) is the module's own.
    let resolve = |g: String| match g.as_str() {
        "${project.groupId}" | "${pom.groupId}" | "${groupId}" => group.clone().unwrap_or(g),
        "${project.parent.groupId}" => parent_group.clone().unwrap_or(g),
        _ => g,
    };
    let mut facts = Vec::new();
    let mut uses = Vec::new();
    for (g, a, version, line) in deps {
        let name = format!("{}:{a}", resolve(g));
        facts.push(Fact::new(
            FactKind::Dependency { name: name.clone() },
            rel,
            line,
        ));
        uses.push(Reference::Name(name, version));
    }
    if let (Some(g), Some(a)) = (parent_group.as_deref(), parent_artifact.as_deref()) {
        uses.push(Reference::MavenParent {
            coordinates: format!("{g}:{a}"),
            relative_path: parent_path,
        });
    }
    Ok(Manifest {
        kind: ManifestKind::Maven,
        file: rel.to_string(),
        // Coordinates in full: the scan names the service after the artifactId.
        name: artifact.map(|a| match &group {
            Some(g) => format!("{g}:{a}"),
            None => a,
        }),
        entry,
        facts,
        typescript: false,
        cargo: None,
        version: None,
        uses,
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
        // No groupId of its own nor a parent's: the artifactId alone.
        assert_eq!(m.name.as_deref(), Some("ledger"));
        assert_eq!(m.facts.len(), 1);
        assert!(
            matches!(&m.facts[0].kind, FactKind::Dependency { name } if name == "io.opentelemetry:opentelemetry-sdk")
        );
        assert_eq!(m.facts[0].line, 4);
        assert!(parse_pom("l/pom.xml", "<project><a></b></project>").is_err());
    }

    #[test]
    fn pom_coordinates_inherit_the_parent_group_and_dependencies_name_modules() {
        let pom = "<project>\n  <parent>\n    <groupId>shop</groupId>\n    <artifactId>shop</artifactId>\n    <version>1.2.0</version>\n  </parent>\n  <artifactId>shop-visits-service</artifactId>\n  <dependencies>\n    <dependency>\n      <groupId>${project.groupId}</groupId>\n      <artifactId>shop-tracing</artifactId>\n      <version>${project.version}</version>\n    </dependency>\n    <dependency>\n      <groupId>org.springframework.boot</groupId>\n      <artifactId>spring-boot-starter-web</artifactId>\n    </dependency>\n    <dependency>\n      <groupId>shop</groupId>\n      <artifactId>shop-test-support</artifactId>\n      <scope>test</scope>\n    </dependency>\n  </dependencies>\n</project>\n";
        let m = parse_pom("shop-visits-service/pom.xml", pom).unwrap();
        assert_eq!(m.name.as_deref(), Some("shop:shop-visits-service"));
        assert_eq!(m.entry, Entry::JavaSources);
        // Built as an executable jar: Spring Boot's plugin, or a main class in a plugin.
        for build in [
            "<build><plugins><plugin><groupId>org.springframework.boot</groupId><artifactId>spring-boot-maven-plugin</artifactId></plugin></plugins></build>",
            "<build><plugins><plugin><artifactId>maven-jar-plugin</artifactId><configuration><archive><manifest><mainClass>shop.Main</mainClass></manifest></archive></configuration></plugin></plugins></build>",
        ] {
            let m = parse_pom("m/pom.xml", &pom.replace("</project>", &format!("{build}</project>"))).unwrap();
            assert_eq!(m.entry, Entry::JavaExecutable, "{build}");
        }
        // The twin: another plugin, or a main class outside the build, is no executable jar.
        let m = parse_pom("m/pom.xml", &pom.replace("</project>", "<properties><mainClass>x</mainClass></properties><build><plugins><plugin><artifactId>maven-compiler-plugin</artifactId></plugin></plugins></build></project>")).unwrap();
        assert_eq!(m.entry, Entry::JavaSources);
        assert_eq!(
            m.uses,
            [
                Reference::Name("shop:shop-tracing".into(), "${project.version}".into()),
                Reference::Name(
                    "org.springframework.boot:spring-boot-starter-web".into(),
                    String::new()
                ),
                // Its parent, found at Maven's default `../pom.xml` or by coordinates.
                Reference::MavenParent {
                    coordinates: "shop:shop".into(),
                    relative_path: None
                },
            ]
        );
        assert_eq!(m.facts.len(), 2);
        assert_eq!(m.facts[0].line, 9);
        // Its own groupId wins over the parent's; the parent's dependencyManagement is no use.
        let own = "<project>\n  <parent><groupId>org.springframework.boot</groupId><artifactId>spring-boot-starter-parent</artifactId></parent>\n  <groupId>shop</groupId>\n  <artifactId>shop</artifactId>\n  <packaging>pom</packaging>\n  <dependencyManagement>\n    <dependencies>\n      <dependency><groupId>shop</groupId><artifactId>shop-tracing</artifactId></dependency>\n    </dependencies>\n  </dependencyManagement>\n</project>\n";
        let m = parse_pom("pom.xml", own).unwrap();
        assert_eq!(m.name.as_deref(), Some("shop:shop"));
        assert_eq!(m.entry, Entry::No);
        assert!(m.facts.is_empty());
        assert_eq!(
            m.uses,
            [Reference::MavenParent {
                coordinates: "org.springframework.boot:spring-boot-starter-parent".into(),
                relative_path: None
            }]
        );
    }

    #[test]
    fn a_parent_is_referenced_with_its_relative_path() {
        let parent = |inner: &str| {
            let pom = format!("<project>\n  <parent>\n    <groupId>shop</groupId>\n    <artifactId>shop-parent</artifactId>\n{inner}  </parent>\n  <artifactId>orders</artifactId>\n</project>\n");
            parse_pom("orders/pom.xml", &pom).unwrap().uses
        };
        let with = |relative_path: Option<&str>| {
            vec![Reference::MavenParent {
                coordinates: "shop:shop-parent".into(),
                relative_path: relative_path.map(str::to_string),
            }]
        };
        assert_eq!(parent(""), with(None));
        assert_eq!(
            parent("    <relativePath>../platform/pom.xml</relativePath>\n"),
            with(Some("../platform/pom.xml"))
        );
        // `<relativePath/>`: by coordinates only.
        assert_eq!(parent("    <relativePath/>\n"), with(Some("")));
        // No parent, or one without coordinates: nothing.
        let none = parse_pom("x/pom.xml", "<project><artifactId>x</artifactId></project>").unwrap();
        assert!(none.uses.is_empty());
    }
}
