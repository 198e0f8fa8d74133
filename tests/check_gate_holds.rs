//! The gate cannot be bypassed (issue #15): a file that cannot be analysed never makes a
//! service pass that would otherwise fail. A NUL byte or padding past 2 MiB leaves a failing
//! fixture failing with the same findings; a source file that cannot be analysed at all
//! (unreadable, over the hard limit, a symbolic link, a syntax error the parser cannot recover
//! from) makes its service `unknown`, never `pass`; a symlinked or FIFO manifest is a TG199
//! note with its service still reported. Run through the real binary, on copies of the
//! fixtures in temporary directories.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A copy of `fixtures/services/NAME` in a fresh temporary directory.
fn fixture(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("fixtures/services").join(name), dir.path());
    dir
}

fn append(path: &Path, bytes: &[u8]) {
    let mut all = fs::read(path).unwrap();
    all.extend_from_slice(bytes);
    fs::write(path, all).unwrap();
}

/// `tracegate check ROOT --format json [args]`: exit code and report.
fn check(root: &Path, args: &[&str]) -> (i32, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_tracegate"))
        .arg("check")
        .arg(root)
        .args(["--format", "json"])
        .args(args)
        .output()
        .unwrap();
    let code = out.status.code().unwrap();
    let value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "exit {code}: not JSON ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (code, value)
}

/// The one service's verdict, its findings other than TG199 as `(rule, file, line)`, and its
/// TG199 notes as `(file, message)`.
type Outcome = (String, Vec<(String, String, u64)>, Vec<(String, String)>);

fn outcome(report: &Value, path: &str) -> Outcome {
    let services = report["services"].as_array().unwrap();
    let service = services
        .iter()
        .find(|s| s["path"] == path)
        .unwrap_or_else(|| panic!("no service at {path}: {report}"));
    let mut findings = Vec::new();
    let mut notes = Vec::new();
    for f in service["findings"].as_array().unwrap() {
        let file = f["file"].as_str().unwrap_or_default().to_string();
        if f["rule"] == "TG199" {
            notes.push((file, f["message"].as_str().unwrap().to_string()));
        } else {
            findings.push((
                f["rule"].as_str().unwrap().to_string(),
                file,
                f["line"].as_u64().unwrap_or(0),
            ));
        }
    }
    (
        service["verdict"].as_str().unwrap().to_string(),
        findings,
        notes,
    )
}

/// A failing fixture per analyser (the path to the file that carries its findings).
const FAILING: &[(&str, &str)] = &[
    ("go-no-propagator", "main.go"),
    ("go-syncer", "main.go"),
    ("node-b3-propagator", "index.js"),
    ("ts-simple-exporter", "src/main.ts"),
    ("python-simple-exporter", "notifications/main.py"),
    ("rust-pii", "src/main.rs"),
    (
        "java-manual-sdk",
        "src/main/java/com/example/fx/Telemetry.java",
    ),
    ("dotnet-uninstrumented", "Program.cs"),
];

/// Apply `tamper` to each failing fixture's signal-carrying file: the verdict stays `fail`
/// with the same findings, and no TG199 note appears.
fn same_findings_after(tamper: impl Fn(&Path)) {
    for (name, file) in FAILING {
        let dir = fixture(name);
        let (code, before) = check(dir.path(), &[]);
        let before = outcome(&before, ".");
        assert_eq!((code, before.0.as_str()), (1, "fail"), "{name}: {before:?}");
        tamper(&dir.path().join(file));
        let (code, after) = check(dir.path(), &[]);
        let after = outcome(&after, ".");
        assert_eq!(code, 1, "{name}: {after:?}");
        assert_eq!(after, before, "{name}");
    }
}

#[test]
fn a_nul_byte_in_a_source_file_keeps_a_failing_service_failing() {
    same_findings_after(|path| append(path, b"\0"));
    // Before the code too: at the end of the first line (no line moves).
    same_findings_after(|path| {
        let text = fs::read(path).unwrap();
        let cut = text.iter().position(|b| *b == b'\n').unwrap();
        let mut with = text[..cut].to_vec();
        with.extend_from_slice(b"\0\0\0");
        with.extend_from_slice(&text[cut..]);
        fs::write(path, with).unwrap();
    });
}

/// Invalid UTF-8 (a Latin-1 byte in a comment) hides nothing either, in every language (this
/// already held before issue #15; kept here with the rest of the class).
#[test]
fn invalid_utf8_in_a_source_file_keeps_a_failing_service_failing() {
    same_findings_after(|path| {
        let comment: &[u8] = if path.extension().is_some_and(|e| e == "py") {
            b"\n# caf\xe9 cr\xe8me\n"
        } else {
            b"\n// caf\xe9 cr\xe8me\n"
        };
        append(path, comment);
    });
}

/// Padding for the file's language, at least `bytes` long, ending with a newline: comment
/// lines, or for Python module-level assignments (tree-sitter-python's scanner takes quadratic
/// time over a run of comment lines after an indented block, upstream tree-sitter-python#245).
fn padding_comment(path: &Path, bytes: usize) -> Vec<u8> {
    let line = if path.extension().is_some_and(|e| e == "py") {
        format!("_padding = \"{}\"\n", "padding ".repeat(8))
    } else {
        format!("// {}\n", "padding ".repeat(9))
    };
    line.repeat(bytes / line.len() + 1).into_bytes()
}

#[test]
fn a_source_file_padded_past_2_mib_is_analysed_in_full() {
    same_findings_after(|path| {
        let pad = padding_comment(path, 3 * 1024 * 1024);
        append(path, &pad);
    });
}

/// A service that passes, with one more file of its language that cannot be analysed.
fn passing_with(name: &str, extra: &str, write: impl Fn(&Path), args: &[&str]) -> (i32, Outcome) {
    let dir = fixture(name);
    let (code, before) = check(dir.path(), args);
    assert_eq!(
        (code, outcome(&before, ".").0.as_str()),
        (0, "pass"),
        "{name}"
    );
    write(&dir.path().join(extra));
    let (code, after) = check(dir.path(), args);
    (code, outcome(&after, "."))
}

#[test]
fn a_source_file_over_the_hard_limit_makes_a_passing_service_unknown() {
    let (code, (verdict, findings, notes)) = passing_with(
        "go-pass",
        "generated.go",
        |path| {
            let mut text = b"package main\n\n".to_vec();
            text.extend(padding_comment(path, 17 * 1024 * 1024));
            fs::write(path, text).unwrap();
        },
        &[],
    );
    assert_eq!(verdict, "unknown", "{findings:?} {notes:?}");
    assert_eq!(
        code, 0,
        "an unknown service fails the run only with --fail-on-unknown"
    );
    assert!(
        notes
            .iter()
            .any(|(f, m)| f == "generated.go" && m.contains("limit")),
        "{notes:?}"
    );
}

#[test]
fn a_failing_service_with_a_file_over_the_hard_limit_still_fails() {
    let dir = fixture("node-b3-propagator");
    let path = dir.path().join("huge.js");
    fs::write(&path, padding_comment(&path, 17 * 1024 * 1024)).unwrap();
    let (code, report) = check(dir.path(), &[]);
    let (verdict, findings, notes) = outcome(&report, ".");
    assert_eq!((code, verdict.as_str()), (1, "fail"), "{report}");
    assert_eq!(findings, [("TG102".to_string(), "index.js".to_string(), 8)]);
    assert!(notes.iter().any(|(f, _)| f == "huge.js"), "{notes:?}");
}

/// A Rust file with a syntax error the parser cannot recover from: `unknown` when a signal
/// could be written in it, a note alone when none could (with and without the pre-filter).
#[test]
fn an_unparsable_signal_carrying_file_makes_its_service_unknown() {
    for args in [&[][..], &["--no-prefilter"][..]] {
        let (code, (verdict, _, notes)) = passing_with(
            "rust-pass",
            "src/telemetry.rs",
            |path| {
                fs::write(
                    path,
                    "pub fn init() {\n    opentelemetry::global::set_text_map_propagator(\n}\n",
                )
                .unwrap()
            },
            args,
        );
        assert_eq!(
            (code, verdict.as_str()),
            (0, "unknown"),
            "{args:?} {notes:?}"
        );
        assert!(
            notes
                .iter()
                .any(|(f, m)| f == "src/telemetry.rs" && m.contains("syntax")),
            "{notes:?}"
        );
        let (code, (verdict, _, notes)) = passing_with(
            "rust-pass",
            "src/plain.rs",
            |path| fs::write(path, "pub fn plain( {\n").unwrap(),
            args,
        );
        assert_eq!((code, verdict.as_str()), (0, "pass"), "{args:?} {notes:?}");
    }
}

/// A Go module whose only `main` file is a symbolic link is still a service, not silently
/// dropped for lack of a `package main` (before: "no service found"). It cannot pass: judged
/// on what is left (no SDK set up anywhere else), it fails, with a note naming the link.
#[cfg(unix)]
#[test]
fn a_symlinked_source_file_is_noted_and_its_service_kept() {
    let elsewhere = tempfile::tempdir().unwrap();
    let (code, (verdict, findings, notes)) = passing_with(
        "go-pass",
        "main.go",
        |path| {
            let real = elsewhere.path().join("main.go");
            fs::rename(path, &real).unwrap();
            std::os::unix::fs::symlink(&real, path).unwrap();
        },
        &[],
    );
    assert_eq!(
        (code, verdict.as_str()),
        (1, "fail"),
        "{findings:?} {notes:?}"
    );
    assert!(
        notes
            .iter()
            .any(|(f, m)| f == "main.go" && m.contains("symbolic link")),
        "{notes:?}"
    );
    // With another Go file that sets the SDK up, nothing fails on what is left: `unknown`.
    let elsewhere = tempfile::tempdir().unwrap();
    let dir = fixture("go-pass");
    let real = elsewhere.path().join("helper.go");
    fs::write(&real, "package main\n\nfunc helper() {}\n").unwrap();
    std::os::unix::fs::symlink(&real, dir.path().join("helper.go")).unwrap();
    let (code, report) = check(dir.path(), &[]);
    let (verdict, _, notes) = outcome(&report, ".");
    assert_eq!((code, verdict.as_str()), (0, "unknown"), "{notes:?}");
}

/// Unreadable permissions: unknown, unless the tests run as root (which reads anything).
#[cfg(unix)]
#[test]
fn an_unreadable_source_file_makes_its_service_unknown() {
    use std::os::unix::fs::PermissionsExt;
    let dir = fixture("go-pass");
    let path = dir.path().join("secret.go");
    fs::write(&path, "package main\n").unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o000)).unwrap();
    let readable = fs::read(&path).is_ok();
    let (_, report) = check(dir.path(), &[]);
    let (verdict, _, notes) = outcome(&report, ".");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    let expected = if readable { "pass" } else { "unknown" };
    assert_eq!(verdict, expected, "{notes:?}");
}

/// Every manifest kind, as a symbolic link and as a FIFO, in a directory of its own beside a
/// passing Go service: a TG199 note naming it, its service still listed (before: silently
/// dropped) and not passing (its dependencies unknown, TG101 fails it on what is left); the
/// scan never opens the FIFO (it would block).
#[cfg(unix)]
#[test]
fn symlinked_and_fifo_manifests_are_noted_with_their_service_listed() {
    let manifests = [
        "package.json",
        "Cargo.toml",
        "go.mod",
        "pyproject.toml",
        "requirements.txt",
        "Api.csproj",
        "pom.xml",
    ];
    for fifo in [false, true] {
        let dir = fixture("go-pass");
        let elsewhere = tempfile::tempdir().unwrap();
        for (i, name) in manifests.iter().enumerate() {
            let svc = dir.path().join(format!("svc{i}"));
            fs::create_dir_all(&svc).unwrap();
            let path = svc.join(name);
            if fifo {
                let made = Command::new("mkfifo").arg(&path).status().unwrap();
                assert!(made.success());
            } else {
                let real = elsewhere.path().join(name);
                fs::write(&real, "{}\n").unwrap();
                std::os::unix::fs::symlink(&real, &path).unwrap();
            }
        }
        fs::create_dir_all(dir.path().join("deploy")).unwrap();
        let yaml = dir.path().join("deploy/app.yaml");
        if fifo {
            assert!(Command::new("mkfifo")
                .arg(&yaml)
                .status()
                .unwrap()
                .success());
        } else {
            std::os::unix::fs::symlink(elsewhere.path().join("app.yaml"), &yaml).unwrap();
        }
        // Bounded: a scan that opened a FIFO would block forever.
        let root = dir.path().to_path_buf();
        let (done, wait) = std::sync::mpsc::channel();
        std::thread::spawn(move || done.send(check(&root, &[])));
        let (code, report) = wait
            .recv_timeout(std::time::Duration::from_secs(120))
            .expect("the scan blocked");
        assert_eq!(code, 1, "{report}");
        for (i, name) in manifests.iter().enumerate() {
            let (verdict, _, notes) = outcome(&report, &format!("svc{i}"));
            let file = format!("svc{i}/{name}");
            assert!(
                notes.iter().any(|(f, _)| *f == file),
                "fifo {fifo}: {file}: {notes:?}"
            );
            assert_ne!(verdict, "pass", "{file}");
        }
        let all_notes = report.to_string();
        assert!(all_notes.contains("deploy/app.yaml"), "{report}");
        assert_eq!(
            outcome(&report, ".").0,
            "pass",
            "the Go service is unaffected"
        );
    }
}

/// A NUL byte appended to a Kubernetes manifest hides none of its workloads: every service's
/// verdict and findings stay the same (before: the file was "binary", TG201/TG203/TG303 on
/// its workloads vanished).
#[test]
fn a_nul_byte_in_a_kubernetes_manifest_hides_no_workload() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("fixtures/monorepo"), dir.path());
    let all = |report: &Value| -> Vec<(String, Outcome)> {
        report["services"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                let path = s["path"].as_str().unwrap();
                (path.to_string(), outcome(report, path))
            })
            .collect()
    };
    let (code, before) = check(dir.path(), &[]);
    let before = all(&before);
    assert!(
        before
            .iter()
            .any(|(_, o)| o.1.iter().any(|f| f.1 == "deploy/workloads.yaml")),
        "the fixture has findings in deploy/workloads.yaml: {before:?}"
    );
    append(&dir.path().join("deploy/workloads.yaml"), b"\0");
    let (code_after, after) = check(dir.path(), &[]);
    assert_eq!(code_after, code);
    assert_eq!(all(&after), before);
}

/// A file of a workspace library that cannot be analysed keeps every service using the library
/// from passing: the note is reported under the service (before: silently left out, `pass`).
#[cfg(unix)]
#[test]
fn an_unanalysed_file_of_a_workspace_library_keeps_its_users_from_passing() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let write = |rel: &str, text: &str| {
        let path = root.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    };
    write(
        "packages/telemetry/package.json",
        r#"{ "name": "@shop/telemetry", "main": "index.js",
             "dependencies": { "@opentelemetry/sdk-node": "^0.53.0",
                               "@opentelemetry/auto-instrumentations-node": "^0.50.0" } }"#,
    );
    write(
        "packages/telemetry/index.js",
        "const { NodeSDK } = require('@opentelemetry/sdk-node');\nconst { getNodeAutoInstrumentations } = require('@opentelemetry/auto-instrumentations-node');\nfunction start() {\n  new NodeSDK({ instrumentations: [getNodeAutoInstrumentations()] }).start();\n}\nmodule.exports = { start };\n",
    );
    write(
        "services/orders/package.json",
        r#"{ "name": "@shop/orders", "scripts": { "start": "node index.js" }, "dependencies": { "@shop/telemetry": "*", "express": "^4.19.2" } }"#,
    );
    write(
        "services/orders/index.js",
        "require('@shop/telemetry').start();\nconst express = require('express');\nconst app = express();\napp.get('/', (req, res) => res.json({}));\napp.listen(8080);\n",
    );
    let (code, report) = check(root, &[]);
    assert_eq!(
        (code, outcome(&report, "services/orders").0.as_str()),
        (0, "pass"),
        "{report}"
    );
    let elsewhere = tempfile::tempdir().unwrap();
    let real = elsewhere.path().join("exporter.js");
    fs::write(&real, "module.exports = {};\n").unwrap();
    std::os::unix::fs::symlink(&real, root.join("packages/telemetry/exporter.js")).unwrap();
    let (code, report) = check(root, &[]);
    let (verdict, _, notes) = outcome(&report, "services/orders");
    assert_eq!((code, verdict.as_str()), (0, "unknown"), "{report}");
    assert!(
        notes
            .iter()
            .any(|(f, _)| f == "packages/telemetry/exporter.js"),
        "{notes:?}"
    );
}
