//! Python manifests: `-r` includes in requirements files.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::Path;

use tracegate::check::{scan, ScanOptions};

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

/// The rules that fired for the service in `svc/`.
fn rules(root: &Path) -> Vec<String> {
    let scan = scan(root, &ScanOptions::default()).unwrap();
    let svc = scan
        .services
        .iter()
        .find(|s| s.service.path == "svc")
        .unwrap();
    svc.findings.iter().map(|f| f.rule.clone()).collect()
}

fn service(root: &Path, requirements: &str) {
    write(root, "svc/requirements.txt", requirements);
    write(
        root,
        "svc/app.py",
        "from flask import Flask\nfrom opentelemetry.instrumentation.flask import FlaskInstrumentor\n\napp = Flask(__name__)\nFlaskInstrumentor().instrument_app(app)\n\nif __name__ == \"__main__\":\n    app.run()\n",
    );
}

#[test]
fn dependencies_of_included_requirements_files_count() {
    // requirements.txt -> requirements/base.txt -> requirements/otel.txt (and back: a cycle).
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    service(root, "-r requirements/base.txt\nflask==3.0\n");
    write(
        root,
        "svc/requirements/base.txt",
        "--requirement=otel.txt  # tracing\nrequests==2.32\n",
    );
    write(
        root,
        "svc/requirements/otel.txt",
        "-r base.txt\nopentelemetry-distro==0.48b0\n",
    );
    let fired = rules(root);
    assert!(!fired.contains(&"TG101".to_string()), "{fired:?}");

    // Nine includes side by side (a limit on depth, not on count), a tab before a comment,
    // and a file whose name merely contains "test" (latest.txt).
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let includes: String = (1..=9).map(|i| format!("-r deps/d{i}.txt\n")).collect();
    service(root, &format!("{includes}flask==3.0\n"));
    for i in 1..=8 {
        write(root, &format!("svc/deps/d{i}.txt"), "requests==2.32\n");
    }
    write(root, "svc/deps/d9.txt", "-r latest.txt\t# pinned\n");
    write(
        root,
        "svc/deps/latest.txt",
        "opentelemetry-distro==0.48b0\n",
    );
    let fired = rules(root);
    assert!(!fired.contains(&"TG101".to_string()), "{fired:?}");

    // The same SDK only in a dev include, a constraints file, or outside the tree: not there.
    for (requirements, extra) in [
        (
            "-r requirements-dev.txt\nflask==3.0\n",
            ("svc/requirements-dev.txt", "opentelemetry-distro==0.48b0\n"),
        ),
        (
            "-c constraints.txt\nflask==3.0\n",
            ("svc/constraints.txt", "opentelemetry-distro==0.48b0\n"),
        ),
        (
            "-r ../../outside.txt\nflask==3.0\n",
            ("outside.txt", "opentelemetry-distro==0.48b0\n"),
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("repo");
        service(&root, requirements);
        let (rel, text) = extra;
        if rel == "outside.txt" {
            write(dir.path(), rel, text);
        } else {
            write(&root, rel, text);
        }
        let fired = rules(&root);
        assert!(
            fired.contains(&"TG101".to_string()),
            "{requirements}: {fired:?}"
        );
    }
}
