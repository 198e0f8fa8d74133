//! Rust files outside the crate's module tree are never compiled: nothing in them counts.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::Path;

use tracegate::check::{scan, ScanOptions};

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

fn rules(root: &Path, prefilter: bool) -> Vec<String> {
    let options = ScanOptions {
        prefilter,
        ..ScanOptions::default()
    };
    let scan = scan(root, &options).unwrap();
    scan.services
        .iter()
        .flat_map(|s| s.findings.iter())
        .map(|f| f.rule.clone())
        .collect()
}

#[test]
fn a_file_no_mod_declares_does_not_count() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/services/rust-pass");
    let pii = "use opentelemetry::KeyValue;\n\npub fn record(span: &mut impl opentelemetry::trace::Span, email: &str) {\n    span.set_attribute(KeyValue::new(\"user.email\", email.to_string()));\n}\n";
    for prefilter in [true, false] {
        // Undeclared: never compiled, so its PII attribute is no finding.
        let dir = tempfile::tempdir().unwrap();
        copy_dir(&fixture, dir.path());
        fs::write(dir.path().join("src/leftover.rs"), pii).unwrap();
        fs::create_dir_all(dir.path().join("src/old")).unwrap();
        fs::write(dir.path().join("src/old/handlers.rs"), pii).unwrap();
        let fired = rules(dir.path(), prefilter);
        assert!(!fired.contains(&"TG301".to_string()), "{fired:?}");
        // Declared (`mod leftover;` in main.rs): compiled, and the finding is there.
        let main = dir.path().join("src/main.rs");
        let text = fs::read_to_string(&main).unwrap();
        fs::write(
            &main,
            text.replace("mod telemetry;", "mod telemetry;\nmod leftover;"),
        )
        .unwrap();
        let fired = rules(dir.path(), prefilter);
        assert_eq!(
            fired.iter().filter(|r| *r == "TG301").count(),
            1,
            "{fired:?}"
        );
    }
}

/// A `[[bin]]` or `[lib]` with its own `path` is a crate root the module tree does not know:
/// then no file is judged unreachable.
#[test]
fn custom_target_paths_keep_every_file() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/services/rust-pass");
    let pii = "use opentelemetry::KeyValue;\n\npub fn record(span: &mut impl opentelemetry::trace::Span, email: &str) {\n    span.set_attribute(KeyValue::new(\"user.email\", email.to_string()));\n}\n";
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixture, dir.path());
    fs::write(dir.path().join("src/server.rs"), pii).unwrap();
    let manifest = dir.path().join("Cargo.toml");
    let text = fs::read_to_string(&manifest).unwrap();
    fs::write(
        &manifest,
        format!("{text}\n[[bin]]\nname = \"server\"\npath = \"src/server.rs\"\n"),
    )
    .unwrap();
    let fired = rules(dir.path(), true);
    assert_eq!(
        fired.iter().filter(|r| *r == "TG301").count(),
        1,
        "{fired:?}"
    );
}
