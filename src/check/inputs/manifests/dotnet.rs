//! .NET: `*.csproj`. An entry point is an executable SDK (`Microsoft.NET.Sdk.Web`, `.Worker`,
//! `.Functions`) or `<OutputType>Exe</OutputType>`, except a .NET Aspire AppHost (a
//! development-time orchestrator that starts the services locally, never deployed); a
//! `ProjectReference` names a project of the same tree whose code and packages count for this
//! one ([`Reference::Path`]); PackageReferences are the dependencies (versions may be central,
//! in `Directory.Packages.props`: only the names matter here).

use quick_xml::events::Event;
use quick_xml::Reader;

use super::{line_of_offset, Entry, LineIndex, Manifest, ManifestKind, Reference};
use crate::check::error::CheckError;
use crate::check::facts::{Fact, FactKind};

/// Parse a csproj.
pub fn parse(rel: &str, text: &str) -> Result<Manifest, CheckError> {
    let mut reader = Reader::from_str(text);
    let lines = LineIndex::new(text);
    let mut facts = Vec::new();
    let mut web = false;
    let mut exe = false;
    let mut aspire_host = false;
    let mut maui = false;
    let mut assembly = None;
    let mut uses = Vec::new();
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
                    // `<Project Sdk="A;B/1.0">`, `<Sdk Name="A" />`, `<Import Sdk="A" …/>`.
                    let sdk = match (name.as_str(), key.as_str()) {
                        ("Project" | "Import", "Sdk") | ("Sdk", "Name") => Some(&value),
                        _ => None,
                    };
                    for sdk in sdk.into_iter().flat_map(|v| v.split(';')) {
                        let sdk = sdk.split('/').next().unwrap_or_default().trim();
                        web |= executable_sdk(sdk);
                        aspire_host |= sdk.eq_ignore_ascii_case("Aspire.AppHost.Sdk");
                    }
                    match (name.as_str(), key.as_str()) {
                        ("PackageReference", "Include") => {
                            aspire_host |= value.eq_ignore_ascii_case("Aspire.Hosting.AppHost");
                            facts.push(Fact::new(
                                FactKind::Dependency { name: value },
                                rel,
                                lines.line(pos),
                            ));
                        }
                        ("ProjectReference", "Include") if !value.trim().is_empty() => {
                            uses.push(Reference::Path(value));
                        }
                        _ => {}
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
                    Some("IsAspireHost") => aspire_host |= value.eq_ignore_ascii_case("true"),
                    Some("UseMaui") => maui |= value.eq_ignore_ascii_case("true"),
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
        // An AppHost references the services it starts: they are not its libraries.
        entry: if aspire_host {
            Entry::No
        } else if maui {
            // A client that runs on phones and desktops, not in the cluster.
            Entry::Never(super::NotService::Maui)
        } else if web || exe {
            Entry::Yes
        } else {
            Entry::No
        },
        facts,
        typescript: false,
        cargo: None,
        version: None,
        uses: if aspire_host { Vec::new() } else { uses },
        notes: Vec::new(),
    })
}

/// An SDK whose projects are programs that run as services: ASP.NET Core (`Microsoft.NET.Sdk.Web`
/// and its kin), the worker template's `Microsoft.NET.Sdk.Worker`, Azure Functions.
fn executable_sdk(sdk: &str) -> bool {
    sdk.contains(".Web")
        || sdk.eq_ignore_ascii_case("Microsoft.NET.Sdk.Worker")
        || sdk.eq_ignore_ascii_case("Microsoft.NET.Sdk.Functions")
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

    fn project(sdk_line: &str, body: &str) -> Manifest {
        parse(
            "src/X/X.csproj",
            &format!("{sdk_line}\n  <PropertyGroup>\n    <TargetFramework>net9.0</TargetFramework>\n  </PropertyGroup>\n{body}</Project>\n"),
        )
        .unwrap()
    }

    #[test]
    fn a_maui_app_is_never_a_service() {
        let maui = project(
            "<Project Sdk=\"Microsoft.NET.Sdk\">",
            "  <PropertyGroup>\n    <OutputType>Exe</OutputType>\n    <UseMaui>true</UseMaui>\n  </PropertyGroup>\n",
        );
        assert_eq!(maui.entry, Entry::Never(super::super::NotService::Maui));
        // The twin: an executable with `UseMaui` false (or none) is one.
        let exe = project(
            "<Project Sdk=\"Microsoft.NET.Sdk\">",
            "  <PropertyGroup>\n    <OutputType>Exe</OutputType>\n    <UseMaui>false</UseMaui>\n  </PropertyGroup>\n",
        );
        assert_eq!(exe.entry, Entry::Yes);
    }

    #[test]
    fn worker_and_functions_sdks_and_exe_output_are_entry_points() {
        for sdk in [
            "<Project Sdk=\"Microsoft.NET.Sdk.Worker\">",
            "<Project Sdk=\"Microsoft.NET.Sdk.Functions\">",
            "<Project Sdk=\"Microsoft.NET.Sdk.Web/9.0.0\">",
            "<Project>\n  <Sdk Name=\"Microsoft.NET.Sdk.Worker\" />",
            "<Project>\n  <Import Project=\"Sdk.props\" Sdk=\"Microsoft.NET.Sdk.Web\" />",
        ] {
            assert_eq!(project(sdk, "").entry, Entry::Yes, "{sdk}");
        }
        let exe = project(
            "<Project Sdk=\"Microsoft.NET.Sdk\">",
            "  <PropertyGroup>\n    <OutputType>Exe</OutputType>\n  </PropertyGroup>\n",
        );
        assert_eq!(exe.entry, Entry::Yes);
        // A class library: no entry point.
        assert_eq!(
            project("<Project Sdk=\"Microsoft.NET.Sdk\">", "").entry,
            Entry::No
        );
    }

    #[test]
    fn project_references_are_paths_of_the_tree() {
        let m = project(
            "<Project Sdk=\"Microsoft.NET.Sdk.Web\">",
            "  <ItemGroup>\n    <PackageReference Include=\"Npgsql\" />\n    <ProjectReference Include=\"..\\Shop.ServiceDefaults\\Shop.ServiceDefaults.csproj\" />\n  </ItemGroup>\n",
        );
        assert_eq!(
            m.uses,
            [Reference::Path(
                "..\\Shop.ServiceDefaults\\Shop.ServiceDefaults.csproj".into()
            )]
        );
        // Central package management: a PackageReference without Version is a dependency.
        assert!(
            matches!(&m.facts[..], [f] if matches!(&f.kind, FactKind::Dependency { name } if name == "Npgsql"))
        );
    }

    #[test]
    fn an_aspire_app_host_is_no_service_and_uses_nothing() {
        let refs = "  <ItemGroup>\n    <ProjectReference Include=\"..\\Catalog.API\\Catalog.API.csproj\" />\n  </ItemGroup>\n";
        for (sdk, body) in [
            (
                "<Project Sdk=\"Microsoft.NET.Sdk\">\n  <Sdk Name=\"Aspire.AppHost.Sdk\" Version=\"9.0.0\" />",
                "  <PropertyGroup>\n    <OutputType>Exe</OutputType>\n  </PropertyGroup>\n".to_owned(),
            ),
            (
                "<Project Sdk=\"Aspire.AppHost.Sdk/9.1.0\">",
                "  <PropertyGroup>\n    <OutputType>Exe</OutputType>\n  </PropertyGroup>\n".to_owned(),
            ),
            (
                "<Project Sdk=\"Microsoft.NET.Sdk\">",
                "  <PropertyGroup>\n    <OutputType>Exe</OutputType>\n    <IsAspireHost>true</IsAspireHost>\n  </PropertyGroup>\n".to_owned(),
            ),
            (
                "<Project Sdk=\"Microsoft.NET.Sdk\">",
                "  <PropertyGroup>\n    <OutputType>Exe</OutputType>\n  </PropertyGroup>\n  <ItemGroup>\n    <PackageReference Include=\"Aspire.Hosting.AppHost\" Version=\"8.2.0\" />\n  </ItemGroup>\n".to_owned(),
            ),
        ] {
            let m = project(sdk, &format!("{body}{refs}"));
            assert_eq!(m.entry, Entry::No, "{sdk} {body}");
            assert!(m.uses.is_empty(), "{sdk} {body}");
        }
        // The twin: an executable that uses Aspire *client* packages is a service.
        let m = project(
            "<Project Sdk=\"Microsoft.NET.Sdk.Worker\">",
            &format!("  <ItemGroup>\n    <PackageReference Include=\"Aspire.Npgsql\" />\n  </ItemGroup>\n{refs}"),
        );
        assert_eq!(m.entry, Entry::Yes);
        assert_eq!(m.uses.len(), 1);
    }
}
