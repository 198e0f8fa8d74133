//! Bad input never panics: malformed manifests are one-line errors naming the file and line;
//! unparsable, binary, non-UTF-8, huge or unreadable files become TG199 notes; symlink loops
//! terminate. Huge files and loops are generated here, never committed.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::Path;

use tracegate::check::model::Scan;
use tracegate::check::{scan, ScanOptions};

fn write(root: &Path, rel: &str, bytes: &[u8]) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, bytes).unwrap();
}

fn go_service(root: &Path) {
    write(
        root,
        "svc/go.mod",
        b"module example.com/svc\n\nrequire go.opentelemetry.io/otel/sdk v1.28.0\n",
    );
    write(root, "svc/main.go", b"package main\n\nfunc main() {}\n");
}

fn notes(scan: &Scan) -> Vec<(String, Option<u32>, String)> {
    scan.services
        .iter()
        .flat_map(|s| s.findings.iter())
        .chain(scan.repository_findings.iter())
        .filter(|f| f.rule == "TG199")
        .map(|f| {
            (
                f.file.clone().unwrap_or_default(),
                f.line,
                f.message.clone(),
            )
        })
        .collect()
}

/// Every source file parsed: these tests exercise the parsers on files without any signal,
/// which the pre-filter (on by default) would not parse at all.
fn parse_all() -> ScanOptions {
    ScanOptions {
        prefilter: false,
        ..ScanOptions::default()
    }
}

fn error_of(files: &[(&str, &[u8])]) -> String {
    let dir = tempfile::tempdir().unwrap();
    for (rel, bytes) in files {
        write(dir.path(), rel, bytes);
    }
    scan(dir.path(), &ScanOptions::default())
        .unwrap_err()
        .to_string()
}

#[test]
fn malformed_manifests_are_errors_with_file_and_line() {
    let cases: &[(&str, &[u8], &str)] = &[
        (
            "a/Cargo.toml",
            b"[package]\nname = \"a\"\nversion = \n",
            "a/Cargo.toml:3: invalid Cargo manifest",
        ),
        (
            "b/package.json",
            b"{\n  \"name\": \"b\",\n  \"scripts\": {\n}\n",
            "b/package.json:5: invalid package.json",
        ),
        ("c/go.mod", b"go 1.22\n", "c/go.mod:1: invalid go.mod"),
        (
            "d/pyproject.toml",
            b"[project]\nname = 'd'\ndependencies = [\n",
            "d/pyproject.toml:",
        ),
        (
            "e/pom.xml",
            b"<project>\n  <artifactId>e</artifactId>\n",
            "e/pom.xml:",
        ),
        (
            "f/F.csproj",
            b"<Project>\n<ItemGroup>\n</Project>\n",
            "f/F.csproj:",
        ),
    ];
    for (rel, bytes, prefix) in cases {
        let err = error_of(&[(rel, bytes)]);
        assert!(err.starts_with(prefix), "{rel}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}

/// A manifest that cannot be read (binary, oversized) stops the scan like a malformed one: the
/// service it declares must not drop out of the gate while the others pass.
#[test]
fn unreadable_manifests_are_errors_not_a_silent_pass() {
    let big = format!(
        "{{\"name\": \"b\", \"x\": \"{}\"}}",
        "a".repeat(3 * 1024 * 1024)
    );
    let cases: [(&str, Vec<u8>, &str); 3] = [
        ("b/package.json", big.into_bytes(), "over the"),
        (
            "c/Cargo.toml",
            b"[package]\nname = \"c\0\"\n".to_vec(),
            "binary content",
        ),
        ("d/go.mod", b"module d\0\n".to_vec(), "binary content"),
    ];
    for (rel, bytes, reason) in cases {
        let dir = tempfile::tempdir().unwrap();
        go_service(dir.path());
        write(dir.path(), rel, &bytes);
        let err = scan(dir.path(), &ScanOptions::default())
            .unwrap_err()
            .to_string();
        assert!(err.starts_with(rel), "{rel}: {err}");
        assert!(err.contains(reason), "{rel}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}

#[test]
fn invalid_yaml_binary_and_non_utf8_files_are_notes() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    go_service(root);
    write(
        root,
        "deploy/broken.yaml",
        b"apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata:\n  name: [unclosed\n",
    );
    write(root, "svc/blob.go", b"package main\x00\x01\x02binary");
    write(root, "svc/latin1.go", b"package main\n// caf\xe9\n");
    write(
        root,
        "svc/half.go",
        b"package main\n\nfunc half() {\n\tx := \n}\n\nfunc ok() {}\n",
    );
    let scan = scan(root, &parse_all()).unwrap();
    let notes = notes(&scan);
    let find = |file: &str| {
        notes
            .iter()
            .find(|n| n.0 == file)
            .unwrap_or_else(|| panic!("{file} not in {notes:?}"))
    };
    let yaml = find("deploy/broken.yaml");
    assert!(
        yaml.2.contains("invalid YAML") && yaml.1.is_some_and(|l| l >= 4),
        "{yaml:?}"
    );
    // A NUL byte no longer makes a source file binary (it would hide the file's code from
    // the gate): the file is parsed, its stray bytes are a syntax error at most.
    assert!(notes.iter().all(|n| !n.2.contains("binary")), "{notes:?}");
    assert!(
        notes.iter().all(|n| n.0 != "svc/latin1.go"),
        "a Latin-1 comment must not skip the file: {notes:?}"
    );
    let half = find("svc/half.go");
    assert!(half.2.contains("syntax error"), "{half:?}");
    assert!(half.1.is_some_and(|l| (4..=5).contains(&l)), "{half:?}");
}

/// A broken YAML document that declares a workload (or a ConfigMap, Namespace, Ingress, Helm
/// values) stops the scan: skipping it could let its service pass unjudged.
#[test]
fn broken_yaml_of_a_workload_is_an_error_with_file_and_line() {
    for kind in ["Deployment", "ConfigMap", "Namespace"] {
        let dir = tempfile::tempdir().unwrap();
        go_service(dir.path());
        let text = format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n---\napiVersion: v1\nkind: {kind}\nmetadata:\n  name: [unclosed\n"
        );
        write(dir.path(), "deploy/app.yaml", text.as_bytes());
        let err = scan(dir.path(), &parse_all()).unwrap_err().to_string();
        assert!(err.starts_with("deploy/app.yaml:"), "{kind}: {err}");
        assert!(err.contains(&format!("(in a {kind} document)")), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}

#[test]
fn a_latin1_byte_in_a_comment_does_not_hide_the_code() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "audit/go.mod",
        b"module example.com/audit\n\nrequire go.opentelemetry.io/otel/sdk v1.28.0\n",
    );
    let main = fs::read("fixtures/services/go-syncer/main.go")
        .unwrap()
        .strip_prefix(b"package main\n".as_slice())
        .unwrap()
        .to_vec();
    let mut latin1 = b"package main\n// caf\xe9 au lait\n".to_vec();
    latin1.extend(main);
    write(root, "audit/main.go", &latin1);
    let scan = scan(root, &ScanOptions::default()).unwrap();
    assert!(notes(&scan).is_empty(), "{:?}", notes(&scan));
    let syncer: Vec<_> = scan.services[0]
        .findings
        .iter()
        .filter(|f| f.rule == "TG105")
        .map(|f| (f.file.clone(), f.line))
        .collect();
    assert_eq!(syncer, vec![(Some("audit/main.go".to_string()), Some(15))]);
}

#[test]
fn a_50_mb_file_is_skipped_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    go_service(root);
    let line = "var x = \"padding padding padding padding padding padding padding\"\n";
    let huge = line.repeat(50 * 1024 * 1024 / line.len() + 1);
    write(root, "svc/generated.go", huge.as_bytes());
    write(root, "deploy/huge.yaml", huge.as_bytes());
    let scan = scan(root, &ScanOptions::default()).unwrap();
    let notes = notes(&scan);
    assert!(
        notes
            .iter()
            .any(|n| n.0 == "svc/generated.go" && n.2.contains("limit")),
        "{notes:?}"
    );
    assert!(
        notes
            .iter()
            .any(|n| n.0 == "deploy/huge.yaml" && n.2.contains("limit")),
        "{notes:?}"
    );
}

#[cfg(unix)]
#[test]
fn symlink_loops_terminate() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    go_service(root);
    std::os::unix::fs::symlink(root.join("svc"), root.join("svc/loop")).unwrap();
    std::os::unix::fs::symlink(root.join("a"), root.join("b")).unwrap();
    std::os::unix::fs::symlink(root.join("b"), root.join("a")).unwrap();
    let scan = scan(root, &ScanOptions::default()).unwrap();
    assert_eq!(scan.services.len(), 1);
    assert_eq!(scan.services[0].service.name, "svc");
}

#[cfg(unix)]
#[test]
fn unreadable_files_are_notes_or_read() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    go_service(root);
    write(root, "svc/secret.go", b"package main\n");
    let path = root.join("svc/secret.go");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o000)).unwrap();
    let readable = fs::read(&path).is_ok(); // root reads anything
    let scan = scan(root, &ScanOptions::default()).unwrap();
    let notes = notes(&scan);
    let noted = notes
        .iter()
        .any(|n| n.0 == "svc/secret.go" && n.2.contains("unreadable"));
    assert_eq!(noted, !readable, "{notes:?}");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
}

/// Nesting without brackets (prefix operators, generics, method chains, `else if` chains,
/// `return return …`, assignment chains):
/// moderately deep files are analysed (on a bigger stack), absurdly deep ones are TG199
/// notes; none overflows the walker thread's stack (a debug build's frames are the largest).
#[test]
fn deep_rust_expressions_are_analysed_or_noted_never_a_crash() {
    type Shape = fn(usize) -> String;
    let shapes: [(&str, Shape); 9] = [
        ("index", |n| {
            format!("fn main() {{\n    let _ = x{};\n}}\n", "[0]".repeat(n))
        }),
        ("not", |n| {
            format!("fn main() {{\n    let _ = {}true;\n}}\n", "!".repeat(n))
        }),
        ("generic", |n| {
            format!(
                "type T = {}u8{};\nfn main() {{}}\n",
                "Vec<".repeat(n),
                ">".repeat(n)
            )
        }),
        ("chain", |n| {
            format!("fn main() {{\n    x{};\n}}\n", ".f()".repeat(n))
        }),
        ("else_if", |n| {
            format!(
                "fn main() {{\n    if a {{}} {}\n}}\n",
                "else if a {} ".repeat(n)
            )
        }),
        ("closure", |n| {
            format!("fn main() {{\n    let _ = {}1;\n}}\n", "|x| ".repeat(n))
        }),
        ("return", |n| {
            format!("fn main() {{\n    {}1;\n}}\n", "return ".repeat(n))
        }),
        ("assignment", |n| {
            format!("fn main() {{\n    x{};\n}}\n", " = x".repeat(n))
        }),
        // A `)` in a comment hides each `{` from the text's bracket count, not from the tokens.
        ("blocks behind comments", |n| {
            format!(
                "fn main() {{\n    let _ = {}0{};\n}}\n",
                "{/*)*/ ".repeat(n),
                " }".repeat(n)
            )
        }),
    ];
    for (name, shape) in shapes {
        for (n, analysed) in [(2_000, true), (100_000, false)] {
            let dir = tempfile::tempdir().unwrap();
            let root = dir.path();
            write(
                root,
                "svc/Cargo.toml",
                b"[package]\nname = \"deep\"\nversion = \"0.1.0\"\n",
            );
            write(root, "svc/src/main.rs", shape(n).as_bytes());
            let found = notes(&scan(root, &parse_all()).unwrap());
            let noted = found.iter().any(|(file, line, reason)| {
                file == "svc/src/main.rs" && line.is_some() && reason.contains("nested deeper")
            });
            assert_eq!(noted, !analysed, "{name} x{n}: {found:?}");
        }
    }
}

#[test]
fn pathological_nesting_is_a_note_not_a_stack_overflow() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "svc/Cargo.toml",
        b"[package]\nname = \"deep\"\nversion = \"0.1.0\"\n",
    );
    let deep = format!(
        "fn main() {{\n    let _ = {}1{};\n}}\n",
        "(".repeat(100_000),
        ")".repeat(100_000)
    );
    write(root, "svc/src/main.rs", deep.as_bytes());
    let js = format!(
        "const x = {}1{};\n",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    write(
        root,
        "web/package.json",
        b"{\"name\": \"web\", \"main\": \"index.js\"}",
    );
    write(root, "web/index.js", js.as_bytes());
    let scan = scan(root, &parse_all()).unwrap();
    let found = notes(&scan);
    assert!(
        found
            .iter()
            .any(|n| n.0 == "svc/src/main.rs" && n.1 == Some(2) && n.2.contains("nested")),
        "{found:?}"
    );
    assert_eq!(scan.services.len(), 2);
    // Deeply nested manifests: a clear error, not a crash.
    for (file, text) in [
        (
            "x/Cargo.toml",
            format!(
                "[package]\nname = \"x\"\nv = {}1{}\n",
                "[".repeat(100_000),
                "]".repeat(100_000)
            ),
        ),
        (
            "y/package.json",
            format!(
                "{{\"name\": {}1{}}}",
                "[".repeat(100_000),
                "]".repeat(100_000)
            ),
        ),
        (
            "z/deploy.yaml",
            format!("a: {}1{}\n", "[".repeat(100_000), "]".repeat(100_000)),
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), file, text.as_bytes());
        match tracegate::check::scan(dir.path(), &ScanOptions::default()) {
            Ok(scan) => assert!(!notes(&scan).is_empty(), "{file}"),
            Err(e) => assert!(e.to_string().starts_with(file), "{e}"),
        }
    }
}

#[test]
fn a_missing_root_is_an_error_naming_it() {
    let err = scan(
        Path::new("/nonexistent/tracegate-root"),
        &ScanOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.starts_with("/nonexistent/tracegate-root: "), "{err}");
}

#[test]
fn gitignored_and_test_directories_are_not_walked() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    go_service(root);
    write(root, ".gitignore", b"generated/\n");
    write(root, "generated/Cargo.toml", b"[package\n");
    write(root, "svc/testdata/Cargo.toml", b"[package\n");
    write(root, "node_modules/x/package.json", b"{");
    let scan = scan(root, &ScanOptions::default()).unwrap();
    assert_eq!(scan.services.len(), 1);
}
