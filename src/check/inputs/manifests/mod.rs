//! Application manifests: what makes a directory a service, its name, and its direct runtime
//! dependencies (dev/test/indirect dependencies never count).

pub mod cargo;
mod cargo_run;
pub mod cargo_workspace;
pub mod conda;
pub mod docker;
pub mod docker_run;
pub mod dotnet;
pub mod gomod;
pub mod gradle;
mod gradle_lex;
mod gradle_settings;
pub mod jvm;
pub mod launch;
pub mod npm;
pub mod pipfile;
pub mod python;
mod python_local;
pub mod setup_py;
pub mod shell;

use crate::check::error::CheckError;
use crate::check::facts::Fact;
use crate::check::model::Language;

/// The kind of manifest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ManifestKind {
    /// Cargo.toml
    Cargo,
    /// go.mod
    GoMod,
    /// package.json
    Npm,
    /// pyproject.toml
    Pyproject,
    /// setup.cfg
    SetupCfg,
    /// requirements*.txt and pip-tools' requirements*.in, and the `.txt`/`.in` files of a
    /// `requirements/` folder (the manifests of the folder's parent)
    Requirements,
    /// Pipenv's Pipfile
    Pipfile,
    /// setuptools' setup.py
    SetupPy,
    /// a conda `environment.yml` (told from other YAML by its content, not by its name alone)
    CondaEnv,
    /// pom.xml
    Maven,
    /// build.gradle(.kts), settings.gradle(.kts)
    Gradle,
    /// *.csproj
    Csproj,
    /// `Directory.Build.props`, `Directory.Packages.props`, `Directory.Build.targets` (MSBuild
    /// files every project below imports) and other `*.props` files a project may import:
    /// their PackageReferences and ProjectReferences count for each project importing them.
    MsbuildProps,
    /// A manifest of a language tracegate does not analyse (Gemfile, composer.json, mix.exs,
    /// CMakeLists.txt with an executable): the service is listed with verdict `unknown`.
    Unanalysed,
}

impl ManifestKind {
    /// From a file name.
    pub fn from_file_name(name: &str) -> Option<ManifestKind> {
        Some(match name {
            "Cargo.toml" => ManifestKind::Cargo,
            "go.mod" => ManifestKind::GoMod,
            "package.json" => ManifestKind::Npm,
            "pyproject.toml" => ManifestKind::Pyproject,
            "setup.cfg" => ManifestKind::SetupCfg,
            "setup.py" => ManifestKind::SetupPy,
            "Pipfile" => ManifestKind::Pipfile,
            "pom.xml" => ManifestKind::Maven,
            "build.gradle" | "build.gradle.kts" | "settings.gradle" | "settings.gradle.kts" => {
                ManifestKind::Gradle
            }
            n if n.ends_with(".csproj") => ManifestKind::Csproj,
            "Directory.Build.targets" => ManifestKind::MsbuildProps,
            n if n.ends_with(".props") => ManifestKind::MsbuildProps,
            "Gemfile" | "composer.json" | "mix.exs" | "CMakeLists.txt" => ManifestKind::Unanalysed,
            // pip-tools' `requirements.in` lists the direct requirements its compiled
            // `requirements.txt` pins (`# via -r requirements.in`).
            n if n.starts_with("requirements") && (n.ends_with(".txt") || n.ends_with(".in")) => {
                ManifestKind::Requirements
            }
            _ => return None,
        })
    }

    /// The language of services it declares.
    pub fn language(self) -> Language {
        match self {
            ManifestKind::Cargo => Language::Rust,
            ManifestKind::GoMod => Language::Go,
            ManifestKind::Npm => Language::Javascript,
            k if k.is_python() => Language::Python,
            ManifestKind::Maven | ManifestKind::Gradle => Language::Java,
            ManifestKind::Csproj | ManifestKind::MsbuildProps => Language::Dotnet,
            _ => Language::Unknown,
        }
    }

    /// A Python manifest (pyproject.toml, setup.cfg, setup.py, Pipfile, requirements).
    pub fn is_python(self) -> bool {
        matches!(
            self,
            ManifestKind::Pyproject
                | ManifestKind::SetupCfg
                | ManifestKind::SetupPy
                | ManifestKind::Pipfile
                | ManifestKind::CondaEnv
                | ManifestKind::Requirements
        )
    }
}

/// Whether a manifest makes its directory a service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry {
    /// It declares an entry point (binary target, start script, console script, web SDK…).
    Yes,
    /// It does not (library, workspace root, aggregator).
    No,
    /// A service if the crate has `src/main.rs` or `src/bin/`.
    RustMain,
    /// A service if a Go file of the module is `package main`.
    GoMain,
    /// A service if a Python entry file exists (`__main__.py`, `main.py`, `app.py`…).
    PythonEntry,
    /// A service if it has Java sources outside tests.
    JavaSources,
    /// A Gradle project without an application plugin: a service if a source of its own
    /// (`src/main/java`, `src/main/kotlin`) declares an entry point (`main`,
    /// `@SpringBootApplication`).
    JvmMain,
    /// The same, for a Maven module built as an executable jar (`spring-boot-maven-plugin`, a
    /// `<mainClass>` in its build): never a workspace library, even when another module
    /// depends on it.
    JavaExecutable,
    /// A `package.json` with `main` but no start script: a service unless another
    /// `package.json` in the tree depends on it (a workspace library, `@shop/shared`).
    NodeMain,
    /// A `package.json` with neither start script nor `main` (and no `workspaces`): a service
    /// if a Dockerfile or Procfile beside it starts Node (`node index.js`, `npm start`, `tsx`).
    NodeLaunched,
    /// Never a service, whatever starts it: a client or a tool the build tool names as such.
    Never(NotService),
    /// The manifest could not be read (a symbolic link, a FIFO): a service all the same, so
    /// that it is reported (with a TG199 note) instead of silently dropping out of the gate.
    Unread,
}

/// A runtime dependency of a manifest that may be another package of the same tree (a
/// workspace library), as the manifest names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reference {
    /// By name, with its version specifier: an npm package (`@shop/telemetry`, `workspace:*`),
    /// a Go module path, a Maven `groupId:artifactId`.
    Name(String, String),
    /// A Maven module's `<parent>`: its coordinates `groupId:artifactId` and `<relativePath>`
    /// (`None`: Maven's default `../pom.xml`; empty: look it up by coordinates only). The
    /// parent's own `<dependencies>` are every child's ([`crate::check::assembly`]'s
    /// `maven_parents`).
    MavenParent {
        /// `groupId:artifactId`.
        coordinates: String,
        /// `<relativePath>` as written.
        relative_path: Option<String>,
    },
    /// By path, relative to the manifest's directory, with `/` separators: a .NET
    /// `ProjectReference` (the project file), a Python `-e ../../lib/x` or uv/Poetry path
    /// source (the package's directory).
    Path(String),
    /// A Gradle settings file placing project `project` (`:platform:tracing`) in directory
    /// `dir` (relative to the settings file's directory): `project(':x').projectDir = file(…)`.
    ProjectDir {
        /// The project path, with its leading `:`.
        project: String,
        /// Its directory, relative to the settings file's directory.
        dir: String,
    },
    /// A Gradle settings file including every direct subdirectory of `dir` (relative to the
    /// settings file's directory) that holds a build file, in a loop over a directory listing:
    /// each as project `project` with `*` standing for the subdirectory's name, placed in
    /// `placed` (`*` likewise; relative to the settings file's directory) or else at Gradle's
    /// default path for the project.
    ProjectDirsIn {
        /// The listed directory (`""`: the settings file's own).
        dir: String,
        /// The project path template (`:*`, `:services:*`).
        project: String,
        /// The directory template its `projectDir` is set to, if it is.
        placed: Option<String>,
    },
    /// An MSBuild `<Import Project="…">` of a `.props`/`.targets` file, relative to the
    /// manifest's directory; `above`: the file of that name nearest above that directory
    /// (`$([MSBuild]::GetPathOfFileAbove('Directory.Build.props', '$(MSBuildThisFileDirectory)../'))`).
    Import {
        /// The imported file, relative to the manifest's directory.
        path: String,
        /// Searched upward from the path's directory.
        above: bool,
    },
}

/// What a manifest that is never a service is, by what its build tool says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotService {
    /// An Electron desktop application (`electron` among its dependencies).
    Electron,
    /// A React Native (or Expo) mobile application (`react-native` among its dependencies).
    ReactNative,
    /// A documentation site generator (Docusaurus, VitePress, VuePress, MkDocs).
    DocsSite,
    /// A load test (k6 scripts, a Locust harness).
    LoadTest,
    /// A .NET MAUI mobile or desktop application (`<UseMaui>true</UseMaui>`).
    Maui,
}

impl NotService {
    /// What it is, in words.
    pub fn describe(self) -> &'static str {
        match self {
            NotService::Electron => "an Electron desktop application",
            NotService::ReactNative => "a React Native mobile application",
            NotService::DocsSite => "a documentation site",
            NotService::LoadTest => "a load test",
            NotService::Maui => "a .NET MAUI mobile or desktop application",
        }
    }
}

/// A parsed application manifest.
#[derive(Clone, Debug)]
pub struct Manifest {
    /// Kind.
    pub kind: ManifestKind,
    /// Path relative to the root.
    pub file: String,
    /// Name declared in it, if any.
    pub name: Option<String>,
    /// Entry-point status.
    pub entry: Entry,
    /// Direct runtime dependencies, start commands and environment it declares.
    pub facts: Vec<Fact>,
    /// Whether it declares TypeScript (npm).
    pub typescript: bool,
    /// Workspace information of a Cargo manifest, resolved after the walk.
    pub cargo: Option<Box<cargo::CargoInfo>>,
    /// The version it declares (npm).
    pub version: Option<String>,
    /// The runtime dependencies that may be packages of the same tree, as it names them: how
    /// workspace libraries are told from registry packages of the same name.
    pub uses: Vec<Reference>,
    /// What could not be read of it (file, reason, line): a TG199 note of the service it
    /// declares (a `-r` requirements include that does not exist, say).
    pub notes: Vec<(String, String, Option<u32>)>,
}

/// Parse a manifest.
pub fn parse(kind: ManifestKind, rel: &str, text: &str) -> Result<Manifest, CheckError> {
    match kind {
        ManifestKind::Cargo => cargo::parse(rel, text),
        ManifestKind::GoMod => gomod::parse(rel, text),
        ManifestKind::Npm => npm::parse(rel, text),
        ManifestKind::Pyproject => python::parse_pyproject(rel, text),
        ManifestKind::SetupCfg => python::parse_setup_cfg(rel, text),
        ManifestKind::Requirements => Ok(python::parse_requirements(rel, text)),
        ManifestKind::Pipfile => Ok(pipfile::parse(rel, text)),
        ManifestKind::SetupPy => Ok(setup_py::parse(rel, text)),
        ManifestKind::CondaEnv => Ok(conda::parse(rel, text)),
        ManifestKind::Maven => jvm::parse_pom(rel, text),
        ManifestKind::Gradle => Ok(gradle::parse(rel, text, None)),
        ManifestKind::Csproj => dotnet::parse(rel, text),
        ManifestKind::MsbuildProps => dotnet::parse_props(rel, text),
        ManifestKind::Unanalysed => Ok(unanalysed(rel, text)),
    }
}

/// A manifest of a language not analysed: a service (CMake only with an executable target).
fn unanalysed(rel: &str, text: &str) -> Manifest {
    let cmake = rel.ends_with("CMakeLists.txt");
    let entry = if !cmake || text.contains("add_executable") {
        Entry::Yes
    } else {
        Entry::No
    };
    Manifest {
        kind: ManifestKind::Unanalysed,
        file: rel.to_string(),
        name: None,
        entry,
        facts: Vec::new(),
        typescript: false,
        cargo: None,
        version: None,
        uses: Vec::new(),
        notes: Vec::new(),
    }
}

/// The error for an XML manifest (pom.xml, csproj) that ends with `element` still open: the
/// position is the last line, where the closing tag is missing.
pub(crate) fn unclosed_xml_element(
    rel: &str,
    text: &str,
    what: &'static str,
    element: &str,
) -> CheckError {
    CheckError::Manifest {
        file: rel.to_string(),
        line: Some(text.lines().count() as u32),
        what,
        reason: format!("unclosed element <{element}>"),
    }
}

/// A manifest's dependencies with their lines (unit tests of the parsers).
#[cfg(test)]
pub(crate) fn dependencies_with_lines(m: &Manifest) -> Vec<(String, u32)> {
    m.facts
        .iter()
        .filter_map(|f| match &f.kind {
            crate::check::facts::FactKind::Dependency { name } => Some((name.clone(), f.line)),
            _ => None,
        })
        .collect()
}

/// 1-based line of the first line containing `needle` (1 when absent).
pub fn line_containing(text: &str, needle: &str) -> u32 {
    text.lines()
        .position(|l| l.contains(needle))
        .map_or(1, |i| i as u32 + 1)
}

/// For each of `needles`, what [`line_containing`] gives, in one pass over `text` (a manifest
/// with 100,000 dependencies must not be searched 100,000 times from its start).
pub fn first_lines_containing(text: &str, needles: &[String]) -> Vec<u32> {
    let mut first: Vec<Option<usize>> = vec![None; needles.len()];
    // Empty needles are on line 1; no needle holds a line break (a JSON key's is escaped),
    // so a match is within one line, as `line_containing` requires.
    let searched: Vec<usize> = (0..needles.len())
        .filter(|i| !needles[*i].is_empty() && !needles[*i].contains('\n'))
        .collect();
    // A contiguous NFA: one manifest is searched once, and a DFA (what the builder picks for
    // a few needles) costs more to build than that search.
    let matcher = aho_corasick::AhoCorasick::builder()
        .match_kind(aho_corasick::MatchKind::Standard)
        .kind(Some(aho_corasick::AhoCorasickKind::ContiguousNFA))
        .build(searched.iter().map(|i| needles[*i].as_str()));
    match matcher {
        Ok(matcher) => {
            let mut left = searched.len();
            for m in matcher.find_overlapping_iter(text) {
                let slot = &mut first[searched[m.pattern().as_usize()]];
                if slot.is_none() {
                    *slot = Some(m.start());
                    left -= 1;
                    if left == 0 {
                        break;
                    }
                }
            }
        }
        // Too many needles for the automaton: one search each (quadratic, but correct).
        Err(_) => return needles.iter().map(|n| line_containing(text, n)).collect(),
    }
    let lines = LineIndex::new(text);
    first
        .into_iter()
        .map(|offset| offset.map_or(1, |o| lines.line(o)))
        .collect()
}

/// 1-based line of a byte offset (for one lookup; [`LineIndex`] for many).
pub fn line_of_offset(text: &str, offset: usize) -> u32 {
    LineIndex::new(text).line(offset)
}

/// The line starts of one text, found once: each lookup of a byte offset's line is a binary
/// search, so locating every key of a large manifest stays linear in its size.
pub struct LineIndex {
    /// Byte offsets of the text's `\n`s, ascending.
    newlines: Vec<usize>,
}

impl LineIndex {
    /// Index `text`'s line breaks.
    pub fn new(text: &str) -> Self {
        LineIndex {
            newlines: text
                .bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i)
                .collect(),
        }
    }

    /// 1-based line of a byte offset (an offset past the end is on the last line).
    pub fn line(&self, offset: usize) -> u32 {
        self.newlines.partition_point(|n| *n < offset) as u32 + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_lookups_match_the_line_by_line_answers() {
        let text = "a = 1\n\nb_c = \"x\"\n  \"dep\": 1\nlast";
        let lines = LineIndex::new(text);
        for offset in 0..=text.len() + 2 {
            let slow = text.as_bytes()[..offset.min(text.len())]
                .iter()
                .filter(|b| **b == b'\n')
                .count() as u32
                + 1;
            assert_eq!(lines.line(offset), slow, "offset {offset}");
        }
        let needles: Vec<String> = ["\"dep\"", "b_c", "a", "missing", "", "x", "a"]
            .iter()
            .map(|n| n.to_string())
            .collect();
        let slow: Vec<u32> = needles.iter().map(|n| line_containing(text, n)).collect();
        assert_eq!(first_lines_containing(text, &needles), slow);
        assert_eq!(slow, [4, 3, 1, 1, 1, 3, 1]);
    }

    #[test]
    fn unclosed_xml_manifests_name_the_element_and_the_last_line() {
        let cases = [
            (
                ManifestKind::Maven,
                "svc/pom.xml",
                "<project>\n  <artifactId>a</artifactId>\n",
            ),
            (
                ManifestKind::Csproj,
                "svc/a.csproj",
                "<Project>\n  <PropertyGroup>\n",
            ),
        ];
        for (kind, rel, text) in cases {
            let err = parse(kind, rel, text).unwrap_err().to_string();
            assert!(err.starts_with(&format!("{rel}:2")), "{err}");
            assert!(err.contains("unclosed element <"), "{err}");
        }
    }
}
