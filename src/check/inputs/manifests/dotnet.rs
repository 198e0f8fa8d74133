//! .NET: `*.csproj` (PackageReference, Web SDK or `OutputType` Exe).

use quick_xml::events::Event;
use quick_xml::Reader;

use super::{line_of_offset, Entry, LineIndex, Manifest, ManifestKind};
use crate::check::error::CheckError;
use crate::check::facts::{Fact, FactKind};

/// Parse a csproj.
pub fn parse(rel: &str, text: &str) -> Result<Manifest, CheckError> {
    let mut reader = Reader::from_str(text);
    let lines = LineIndex::new(text);
    let mut facts = Vec::new();
    let mut web = false;
    let mut exe = false;
    let mut assembly = None;
    let mut stack: Vec<String> = Vec::new();
    loop {
        let pos = reader.buffer_position() as usize;
        let ev = reader.read_event().map_err(|e| CheckError::Manifest {
            file: rel.to_string(),
            line: Some(line_of_offset(text, reader.error_position() as usize)),
            what: "csproj",
            reason: e.to_string(),
        })?;
        match ev {
            Event::Start(ref s) | Event::Empty(ref s) => {
                let name = String::from_utf8_lossy(s.local_name().as_ref()).to_string();
                for attr in s.attributes().flatten() {
                    let key = String::from_utf8_lossy(attr.key.as_ref()).to_string();
                    let value = attr
                        .unescape_value()
                        .map(|v| v.to_string())
                        .unwrap_or_default();
                    if name == "Project" && key == "Sdk" && value.contains(".Web") {
                        web = true;
                    }
                    if name == "PackageReference" && key == "Include" {
                        facts.push(Fact::new(
                            FactKind::Dependency { name: value },
                            rel,
                            lines.line(pos),
                        ));
                    }
                }
                if matches!(ev, Event::Start(_)) {
                    stack.push(name);
                }
            }
            Event::End(_) => {
                stack.pop();
            }
            Event::Text(t) => {
                let value = t.decode().map(|c| c.trim().to_string()).unwrap_or_default();
                match stack.last().map(String::as_str) {
                    Some("OutputType") => exe = value.eq_ignore_ascii_case("exe"),
                    Some("AssemblyName") => assembly = Some(value),
                    _ => {}
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if let Some(open) = stack.last() {
        return Err(super::unclosed_xml_element(rel, text, "csproj", open));
    }
    let stem = rel
        .rsplit('/')
        .next()
        .and_then(|f| f.strip_suffix(".csproj"))
        .map(str::to_string);
    Ok(Manifest {
        kind: ManifestKind::Csproj,
        file: rel.to_string(),
        name: assembly.or(stem),
        entry: if web || exe { Entry::Yes } else { Entry::No },
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
    fn web_sdk_and_package_references() {
        let m = parse(
            "api/Api.csproj",
            "<Project Sdk=\"Microsoft.NET.Sdk.Web\">\n  <ItemGroup>\n    <PackageReference Include=\"OpenTelemetry.Extensions.Hosting\" Version=\"1.9.0\" />\n  </ItemGroup>\n</Project>\n",
        )
        .unwrap();
        assert_eq!(m.name.as_deref(), Some("Api"));
        assert_eq!(m.entry, Entry::Yes);
        assert_eq!(m.facts[0].line, 3);
        assert!(parse("x.csproj", "<Project><ItemGroup></Project>").is_err());
    }
}
