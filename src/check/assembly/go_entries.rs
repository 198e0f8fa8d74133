//! One Go image run by several workloads, each running another sub-command of one binary
//! ([`shared_image`](super::shared_image)): jaeger's HotROD (signadot/hotrod) builds one
//! `hotrod` binary whose cobra commands (`Use: "driver"`, `Use: "frontend"`, `Use: "route"`)
//! each start another service, and deploys it as one Deployment per command (`args:
//! [driver]`). Each workload is judged on the code its own command runs.
//!
//! A part's sub-command is the first word of its workloads' commands (`args`, `command`) that
//! a cobra command of the code declares as its `Use` (its first word). From the files of the
//! `main` packages, the files reached: every file of each package of the module a reached file
//! imports — but not a file declaring another part's sub-command (the files of a `cmd` package
//! beside it: `cmd/root.go` stays, `cmd/route.go` is the `route` part's). As for Python
//! ([`python_entries`](super::python_entries)), a file leaves a part only when another part
//! reaches it and this one does not; a file no part reaches stays with every part, and a part
//! whose sub-command is not found keeps the whole code. The module's requirements (`go.mod`)
//! leave a part the same way: a requirement only other parts' files import is not the part's.
//!
//! Not read: other command libraries (urfave/cli's `Name:`, a `switch os.Args[1]`).

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::Path;

use super::languages::dockerfile_text_at;
use super::work::Svc;
use crate::check::facts::FactKind;
use crate::check::inputs::lang::SourceKind;
use crate::check::inputs::manifests::launch::programs;
use crate::check::model::Language;

/// Narrow the Go services of each group to what their sub-commands reach.
pub(super) fn narrow(root: &Path, services: &mut [Svc], groups: &[Range<usize>]) {
    for group in groups {
        let Some(parts) = services.get_mut(group.clone()) else {
            continue;
        };
        if parts.len() < 2 || parts.iter().any(|s| s.language != Some(Language::Go)) {
            continue;
        }
        narrow_group(root, parts);
    }
}

fn narrow_group(root: &Path, parts: &mut [Svc]) {
    let Some(module) = module_path(root, &parts[0]) else {
        return;
    };
    let code = Code::new(root, &parts[0], &module);
    if code.uses.is_empty() {
        return;
    }
    let commands: Vec<Option<String>> = parts.iter().map(|p| code.sub_command(p)).collect();
    let reaches: Vec<Option<BTreeSet<usize>>> = commands
        .iter()
        .map(|own| {
            let own = own.as_deref()?;
            let others: BTreeSet<&str> = commands
                .iter()
                .flatten()
                .map(String::as_str)
                .filter(|c| *c != own)
                .collect();
            Some(code.reach(&others))
        })
        .collect();
    for (i, part) in parts.iter_mut().enumerate() {
        let Some(own) = &reaches[i] else {
            continue;
        };
        let reached_by_others: BTreeSet<usize> = reaches
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .filter_map(|(_, r)| r.as_ref())
            .flatten()
            .copied()
            .collect();
        let leave: BTreeSet<&String> = reached_by_others
            .difference(own)
            .map(|f| &code.files[*f])
            .collect();
        if leave.is_empty() {
            continue;
        }
        let own_imports: Vec<&String> = own.iter().flat_map(|f| &code.imports[*f]).collect();
        let others_imports: Vec<&String> = reached_by_others
            .iter()
            .flat_map(|f| &code.imports[*f])
            .collect();
        super::python_entries::drop_files(part, &leave);
        // A requirement of the module that only the other parts' files import.
        let manifest = part.manifest.clone().unwrap_or_default();
        part.facts.retain(|f| match &f.kind {
            FactKind::Dependency { name } if *f.file == *manifest => {
                imports_it(&own_imports, name) || !imports_it(&others_imports, name)
            }
            _ => true,
        });
    }
}

/// Whether an import path of `imports` is the module `name` or a package of it.
fn imports_it(imports: &[&String], name: &str) -> bool {
    imports.iter().any(|i| {
        i.strip_prefix(name)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    })
}

/// The `module` path of the service's `go.mod`.
fn module_path(root: &Path, svc: &Svc) -> Option<String> {
    let manifest = svc.manifest.as_deref()?;
    if !manifest.ends_with("go.mod") {
        return None;
    }
    let text = dockerfile_text_at(root, manifest)?;
    text.lines().find_map(|l| {
        let rest = l.trim().strip_prefix("module")?;
        let path = rest.trim().trim_matches('"');
        (!path.is_empty() && rest.starts_with(char::is_whitespace)).then(|| path.to_string())
    })
}

/// The Go files of a service: their packages, imports, and the cobra commands they declare.
struct Code {
    files: Vec<String>,
    /// Each file's imports.
    imports: Vec<Vec<String>>,
    /// The files of the `main` packages.
    mains: Vec<usize>,
    /// Package directory (relative to the root) → its files.
    packages: BTreeMap<String, Vec<usize>>,
    /// File → the first word of each cobra `Use:` it declares.
    uses: BTreeMap<usize, Vec<String>>,
    /// The module path and the service directory: how an import path names a directory.
    module: String,
    dir: String,
}

impl Code {
    fn new(root: &Path, svc: &Svc, module: &str) -> Code {
        let mut code = Code {
            files: Vec::new(),
            imports: Vec::new(),
            mains: Vec::new(),
            packages: BTreeMap::new(),
            uses: BTreeMap::new(),
            module: module.to_string(),
            dir: svc.path.clone(),
        };
        let parsed = svc
            .source_files
            .iter()
            .zip(&svc.sources)
            .map(|(rel, facts)| (rel, Some((facts.package.as_deref(), facts.imports()))));
        // Files the pre-filter left unparsed (a cobra command file names no tracing API):
        // their package and imports are read from their text.
        let unparsed = svc
            .unparsed
            .iter()
            .filter(|(kind, _, _)| *kind == SourceKind::Go)
            .map(|(_, rel, _)| (rel, None));
        for (rel, facts) in parsed.chain(unparsed) {
            if !rel.ends_with(".go") || code.files.contains(rel) {
                continue;
            }
            let text = source_text(root, rel);
            let (package, imports) = match facts {
                Some((package, imports)) => (package.map(str::to_string), imports.to_vec()),
                None => header(text.as_deref().unwrap_or_default()),
            };
            let i = code.files.len();
            code.files.push(rel.clone());
            code.imports.push(imports);
            if package.as_deref() == Some("main") {
                code.mains.push(i);
            }
            let dir = rel.rsplit_once('/').map_or(".", |(d, _)| d).to_string();
            code.packages.entry(dir).or_default().push(i);
            let uses = text.as_deref().map(cobra_uses).unwrap_or_default();
            if !uses.is_empty() {
                code.uses.insert(i, uses);
            }
        }
        code
    }

    /// The first word of the part's commands that a cobra command declares.
    fn sub_command(&self, part: &Svc) -> Option<String> {
        let known: BTreeSet<&str> = self.uses.values().flatten().map(String::as_str).collect();
        part.workloads
            .iter()
            .flat_map(|w| w.facts.iter())
            .filter_map(|f| match &f.kind {
                FactKind::Command { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .flat_map(|text| {
                programs(text)
                    .into_iter()
                    .flat_map(|(program, args)| std::iter::once(program).chain(args))
            })
            .find(|word| known.contains(word.as_str()))
    }

    /// The files reached from the `main` packages, never entering a file that declares one of
    /// `others` (another part's sub-command).
    fn reach(&self, others: &BTreeSet<&str>) -> BTreeSet<usize> {
        let foreign = |f: usize| {
            self.uses
                .get(&f)
                .is_some_and(|u| u.iter().any(|c| others.contains(c.as_str())))
        };
        let mut reached: BTreeSet<usize> = BTreeSet::new();
        let mut queue: Vec<usize> = self
            .mains
            .iter()
            .copied()
            .filter(|f| !foreign(*f))
            .collect();
        while let Some(f) = queue.pop() {
            if !reached.insert(f) {
                continue;
            }
            for import in &self.imports[f] {
                let Some(dir) = self.package_dir(import) else {
                    continue;
                };
                for g in self.packages.get(&dir).into_iter().flatten() {
                    if !reached.contains(g) && !foreign(*g) {
                        queue.push(*g);
                    }
                }
            }
        }
        reached
    }

    /// The directory of the module's package `import`, relative to the root.
    fn package_dir(&self, import: &str) -> Option<String> {
        let rest = import.strip_prefix(&self.module)?;
        let rest = match rest.strip_prefix('/') {
            Some(r) => r,
            None if rest.is_empty() => return Some(self.dir.clone()),
            None => return None,
        };
        Some(if self.dir == "." {
            rest.to_string()
        } else {
            format!("{}/{rest}", self.dir)
        })
    }
}

/// A source file's text (small regular files only, as a Dockerfile is read).
fn source_text(root: &Path, rel: &str) -> Option<String> {
    dockerfile_text_at(root, rel)
}

/// A Go file's package name and imports, read from its text (`import "x"`, `import ( … )`,
/// aliased or not).
fn header(text: &str) -> (Option<String>, Vec<String>) {
    let mut package = None;
    let mut imports = Vec::new();
    let mut in_block = false;
    for line in text.lines() {
        let t = line.split("//").next().unwrap_or_default().trim();
        if in_block {
            if t.starts_with(')') {
                in_block = false;
            } else if let Some(path) = quoted_path(t) {
                imports.push(path);
            }
            continue;
        }
        if let Some(name) = t.strip_prefix("package ") {
            package = Some(name.trim().to_string());
        } else if let Some(rest) = t.strip_prefix("import") {
            let rest = rest.trim();
            if rest.starts_with('(') {
                in_block = !rest.contains(')');
                if let Some(path) = quoted_path(rest.trim_start_matches('(')) {
                    imports.push(path);
                }
            } else if let Some(path) = quoted_path(rest) {
                imports.push(path);
            }
        } else if t.starts_with("func ") || t.starts_with("var ") || t.starts_with("type ") {
            break;
        }
    }
    (package, imports)
}

/// The quoted import path of an import spec (`"x"`, `alias "x"`, `_ "x"`).
fn quoted_path(spec: &str) -> Option<String> {
    let start = spec.find('"')?;
    let rest = &spec[start + 1..];
    let end = rest.find('"')?;
    Some(rest[..end].to_string())
}

/// The first word of every `Use: "…"` in a Go file (cobra's `&cobra.Command{Use: "driver",
/// …}`), when the file uses cobra.
fn cobra_uses(text: &str) -> Vec<String> {
    if !text.contains("cobra") {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("Use:") {
        let before = rest[..at].chars().next_back();
        let after = &rest[at + "Use:".len()..];
        rest = after;
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.') {
            continue;
        }
        let after = after.trim_start_matches([' ', '\t']);
        let Some(quoted) = after.strip_prefix('"').or_else(|| after.strip_prefix('`')) else {
            continue;
        };
        let word: String = quoted
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '"' && *c != '`')
            .collect();
        if !word.is_empty() {
            out.push(word);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cobra_commands_are_read_by_their_use_lines_first_word() {
        let text = "package cmd\n\nimport \"github.com/spf13/cobra\"\n\nvar driverCmd = &cobra.Command{\n\tUse:   \"driver [flags]\",\n\tShort: \"Starts Driver service\",\n}\nvar x = &cobra.Command{Use: `route`}\n";
        assert_eq!(cobra_uses(text), vec!["driver", "route"]);
        assert!(cobra_uses("package x\n\tUse: \"driver\"\n").is_empty());
    }

    #[test]
    fn each_part_keeps_what_its_sub_command_reaches_and_the_requirements_it_imports() {
        use crate::check::facts::{Fact, SourceFacts};
        use crate::check::inputs::k8s::Workload;
        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        let module = "example.com/app";
        let files: &[(&str, &str, &[&str], &str)] = &[
            ("main.go", "main", &["example.com/app/cmd"], ""),
            (
                "cmd/root.go",
                "cmd",
                &["github.com/spf13/cobra"],
                "var root = &cobra.Command{Use: \"app\"}",
            ),
            (
                "cmd/api.go",
                "cmd",
                &["github.com/spf13/cobra", "example.com/app/api"],
                "var c = &cobra.Command{\n\tUse: \"api\",\n}",
            ),
            (
                "cmd/worker.go",
                "cmd",
                &["github.com/spf13/cobra", "example.com/app/worker"],
                "var c = &cobra.Command{\n\tUse: \"worker\",\n}",
            ),
            (
                "api/server.go",
                "api",
                &["go.opentelemetry.io/otel/sdk/trace"],
                "",
            ),
            ("worker/loop.go", "worker", &["time"], ""),
            ("tools/gen.go", "tools", &["os"], ""),
        ];
        std::fs::write(root.join("go.mod"), format!("module {module}\n")).unwrap();
        let mut svc = Svc {
            path: ".".into(),
            language: Some(Language::Go),
            manifest: Some("go.mod".into()),
            ..Svc::default()
        };
        for (rel, package, imports, body) in files {
            let path = root.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, format!("package {package}\n// cobra\n{body}\n")).unwrap();
            let mut facts = SourceFacts {
                package: Some((*package).into()),
                ..SourceFacts::default()
            };
            facts.set_imports(imports.iter().map(|i| i.to_string()).collect());
            svc.source_files.push((*rel).into());
            svc.sources.push(facts);
        }
        for dep in ["github.com/spf13/cobra", "go.opentelemetry.io/otel/sdk"] {
            svc.facts.push(Fact::new(
                FactKind::Dependency { name: dep.into() },
                "go.mod",
                3,
            ));
        }
        let part = |name: &str, args: &str| {
            let mut p = svc.clone();
            p.name = name.into();
            p.workloads = vec![Workload {
                name: name.into(),
                facts: vec![Fact::new(FactKind::command(args), "k8s.yaml", 1)],
                ..Workload::default()
            }];
            p
        };
        let mut parts = vec![part("api", "api --port 80"), part("worker", "worker")];
        let group: Range<usize> = 0..parts.len();
        narrow(root, &mut parts, std::slice::from_ref(&group));
        let deps = |p: &Svc| -> Vec<String> {
            p.facts
                .iter()
                .filter_map(|f| match &f.kind {
                    FactKind::Dependency { name } => Some(name.clone()),
                    _ => None,
                })
                .collect()
        };
        assert_eq!(
            parts[0].source_files,
            [
                "main.go",
                "cmd/root.go",
                "cmd/api.go",
                "api/server.go",
                "tools/gen.go"
            ]
        );
        assert_eq!(
            deps(&parts[0]),
            ["github.com/spf13/cobra", "go.opentelemetry.io/otel/sdk"]
        );
        assert_eq!(
            parts[1].source_files,
            [
                "main.go",
                "cmd/root.go",
                "cmd/worker.go",
                "worker/loop.go",
                "tools/gen.go"
            ]
        );
        // The SDK only the api part's files import is not the worker's.
        assert_eq!(deps(&parts[1]), ["github.com/spf13/cobra"]);
    }

    #[test]
    fn a_go_files_package_and_imports_are_read_from_its_header() {
        let text = "// Package cmd.\npackage cmd\n\nimport \"os\"\nimport (\n\t\"github.com/spf13/cobra\"\n\n\td \"example.com/app/services/driver\" // the driver\n\t_ \"embed\"\n)\n\nfunc main() {}\nimport \"late\"\n";
        let (package, imports) = header(text);
        assert_eq!(package.as_deref(), Some("cmd"));
        assert_eq!(
            imports,
            vec![
                "os",
                "github.com/spf13/cobra",
                "example.com/app/services/driver",
                "embed"
            ]
        );
    }
}
