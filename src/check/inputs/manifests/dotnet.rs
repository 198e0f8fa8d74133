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
                        ("GlobalPackageReference", "Include") => {
                            facts.push(Fact::new(
                                FactKind::Dependency { name: value },
                                rel,
                                lines.line(pos),
                            ));
                        }
                        ("Import", "Project") => uses.extend(import_of(&value)),
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

/// Parse an MSBuild file projects import (`Directory.Build.props`, `Directory.Packages.props`,
/// `Directory.Build.targets`, a `build/common.props` a project imports): its package and
/// project references and its own imports; never a service. A file of another name that is
/// not MSBuild XML (a `.props` of another tool) is no error: nothing is taken from it.
pub fn parse_props(rel: &str, text: &str) -> Result<Manifest, CheckError> {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    let auto = AUTO_IMPORTED.contains(&name);
    let mut m = match parse(rel, text) {
        Ok(m) => m,
        Err(err) if auto => return Err(err),
        Err(_) => return Ok(props_manifest(rel, Vec::new(), Vec::new())),
    };
    Ok(props_manifest(
        rel,
        std::mem::take(&mut m.facts),
        std::mem::take(&mut m.uses),
    ))
}

fn props_manifest(rel: &str, facts: Vec<Fact>, uses: Vec<Reference>) -> Manifest {
    Manifest {
        kind: ManifestKind::MsbuildProps,
        file: rel.to_string(),
        name: None,
        entry: Entry::No,
        facts,
        typescript: false,
        cargo: None,
        version: None,
        uses,
        notes: Vec::new(),
    }
}

/// The files MSBuild imports into every project below them, nearest first.
pub const AUTO_IMPORTED: &[&str] = &[
    "Directory.Build.props",
    "Directory.Build.targets",
    "Directory.Packages.props",
];

/// The file an `<Import Project="…">` names, when it is a props/targets file of the tree:
/// a plain path (`..\build\common.props`, `$(MSBuildThisFileDirectory)common.props`) or
/// the nearest file of a name above a directory (`GetPathOfFileAbove('Directory.Build.props',
/// '$(MSBuildThisFileDirectory)../')`, `$([MSBuild]::GetDirectoryNameOfFileAbove($(MSBuildThisFileDirectory).., Directory.Build.props))\Directory.Build.props`).
fn import_of(project: &str) -> Option<Reference> {
    const THIS_DIR: &str = "$(MSBuildThisFileDirectory)";
    let project = project.trim();
    // The arguments of a property function call, split at top-level commas; parentheses
    // inside them (`$(MSBuildThisFileDirectory)..`) are balanced.
    let args = |call: &str| -> Option<Vec<String>> {
        let start = project.find(call)? + call.len();
        let mut depth = 1usize;
        let mut out = vec![String::new()];
        for c in project[start..].chars() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(
                            out.iter()
                                .map(|a| a.trim().trim_matches(['\'', '"']).trim().to_string())
                                .collect(),
                        );
                    }
                }
                ',' if depth == 1 => {
                    out.push(String::new());
                    continue;
                }
                _ => {}
            }
            if let Some(last) = out.last_mut() {
                last.push(c);
            }
        }
        None
    };
    let above = |file: &str, from: Option<&str>| -> Option<Reference> {
        let from = from.unwrap_or(THIS_DIR).replace('\\', "/");
        let from = from.strip_prefix(THIS_DIR).unwrap_or(&from);
        if from.contains("$(") || file.is_empty() || file.contains("$(") {
            return None;
        }
        let dir = from.trim_end_matches('/');
        let path = if dir.is_empty() || dir == "." {
            file.to_string()
        } else {
            format!("{dir}/{file}")
        };
        Some(Reference::Import { path, above: true })
    };
    if let Some(a) = args("GetPathOfFileAbove(") {
        return above(a.first()?, a.get(1).map(String::as_str));
    }
    if let Some(a) = args("GetDirectoryNameOfFileAbove(") {
        return above(a.get(1)?, a.first().map(String::as_str));
    }
    let path = project.replace('\\', "/");
    let path = path.strip_prefix(THIS_DIR).unwrap_or(&path);
    let props = path.ends_with(".props") || path.ends_with(".targets");
    if !props || path.contains("$(") || path.starts_with('/') {
        return None;
    }
    Some(Reference::Import {
        path: path.to_string(),
        above: false,
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

    #[test]
    fn imports_of_props_files() {
        let above = |path: &str| {
            Some(Reference::Import {
                path: path.into(),
                above: true,
            })
        };
        let cases = [
            (
                "$([MSBuild]::GetPathOfFileAbove('Directory.Build.props', '$(MSBuildThisFileDirectory)../'))",
                above("../Directory.Build.props"),
                "the documented chain to the props file above",
            ),
            (
                "$([MSBuild]::GetDirectoryNameOfFileAbove($(MSBuildThisFileDirectory).., Directory.Build.props))\\Directory.Build.props",
                above("../Directory.Build.props"),
                "the older spelling: directory first, then the file name",
            ),
            (
                "$([MSBuild]::GetPathOfFileAbove(Directory.Build.props))",
                above("Directory.Build.props"),
                "no start directory: from this file's own",
            ),
            (
                "..\\..\\build\\common.props",
                Some(Reference::Import {
                    path: "../../build/common.props".into(),
                    above: false,
                }),
                "a plain relative path",
            ),
            (
                "$(MSBuildThisFileDirectory)eng/Versions.props",
                Some(Reference::Import {
                    path: "eng/Versions.props".into(),
                    above: false,
                }),
                "from this file's directory",
            ),
            ("$(RepoRoot)eng/Versions.props", None, "an unknown property"),
            ("Sdk.targets", Some(Reference::Import { path: "Sdk.targets".into(), above: false }), "a targets file"),
            ("other.proj", None, "not a props or targets file"),
        ];
        for (project, want, why) in cases {
            assert_eq!(import_of(project), want, "{why}: {project}");
        }
    }

    #[test]
    fn props_files_never_declare_a_service_and_keep_global_packages() {
        let m = parse_props(
            "Directory.Packages.props",
            "<Project>\n  <ItemGroup>\n    <PackageVersion Include=\"OpenTelemetry\" Version=\"1.9.0\" />\n    <GlobalPackageReference Include=\"OpenTelemetry.AutoInstrumentation\" Version=\"1.9.0\" />\n  </ItemGroup>\n</Project>\n",
        )
        .unwrap();
        assert_eq!(m.kind, ManifestKind::MsbuildProps);
        assert_eq!(m.entry, Entry::No);
        let deps: Vec<_> = m
            .facts
            .iter()
            .filter_map(|f| match &f.kind {
                FactKind::Dependency { name } => Some(name.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(
            deps,
            ["OpenTelemetry.AutoInstrumentation"],
            "PackageVersion is no reference"
        );
        assert!(parse_props("Directory.Build.props", "<Project>\n").is_err());
        assert!(parse_props("tools/settings.props", "<Project>\n").is_ok());
    }
}
