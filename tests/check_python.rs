//! Python manifests: `-r` includes in requirements files, `requirements/` folders, Pipfiles and
//! setup.py files that cannot be read; `opentelemetry-distro` alone.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::Path;

use tracegate::check::model::Finding;
use tracegate::check::{scan, ScanOptions};

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

/// The findings of the service in `svc/`.
fn findings(root: &Path) -> Vec<Finding> {
    let scan = scan(root, &ScanOptions::default()).unwrap();
    scan.services
        .into_iter()
        .find(|s| s.service.path == "svc")
        .unwrap()
        .findings
}

/// The rules that fired for the service in `svc/`.
/// The paths of the services found in `root`.
fn service_paths(root: &Path) -> Vec<String> {
    let scan = scan(root, &ScanOptions::default()).unwrap();
    scan.services.into_iter().map(|s| s.service.path).collect()
}

fn rules(root: &Path) -> Vec<String> {
    findings(root).into_iter().map(|f| f.rule).collect()
}

fn service(root: &Path, requirements: &str) {
    write(root, "svc/requirements.txt", requirements);
    app(root);
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
        "-r base.txt\nopentelemetry-sdk==1.27.0\n",
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
    write(root, "svc/deps/latest.txt", "opentelemetry-sdk==1.27.0\n");
    let fired = rules(root);
    assert!(!fired.contains(&"TG101".to_string()), "{fired:?}");

    // The same SDK only in a dev include, a constraints file, or outside the tree: not there.
    for (requirements, extra) in [
        (
            "-r requirements-dev.txt\nflask==3.0\n",
            ("svc/requirements-dev.txt", "opentelemetry-sdk==1.27.0\n"),
        ),
        (
            "-c constraints.txt\nflask==3.0\n",
            ("svc/constraints.txt", "opentelemetry-sdk==1.27.0\n"),
        ),
        (
            "-r ../../outside.txt\nflask==3.0\n",
            ("outside.txt", "opentelemetry-sdk==1.27.0\n"),
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

/// The TG199 notes of the service in `svc/`: (file, line, message).
fn notes(root: &Path) -> Vec<(String, u32, String)> {
    findings(root)
        .into_iter()
        .filter(|f| f.rule == "TG199")
        .map(|f| (f.file.unwrap_or_default(), f.line.unwrap_or(0), f.message))
        .collect()
}

#[test]
fn includes_that_cannot_be_followed_are_noted_at_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repo");
    service(
        &root,
        "flask==3.0\n-r requirements/missing.txt\n-r ../../outside.txt\n-r requirements/base.txt\n",
    );
    write(dir.path(), "outside.txt", "requests==2.32\n");
    write(
        &root,
        "svc/requirements/base.txt",
        "requests==2.32\n-r blob.txt\n",
    );
    write(
        &root,
        "svc/requirements/blob.txt",
        "opentelemetry\0distro\n",
    );
    let got = notes(&root);
    let find = |file: &str, line: u32, needle: &str| {
        got.iter()
            .any(|(f, l, m)| f == file && *l == line && m.contains(needle))
    };
    assert!(
        find(
            "svc/requirements.txt",
            2,
            "`-r requirements/missing.txt`: no such file"
        ),
        "{got:?}"
    );
    assert!(
        find("svc/requirements.txt", 3, "outside the checked directory"),
        "{got:?}"
    );
    assert!(
        find(
            "svc/requirements/base.txt",
            2,
            "`-r blob.txt`: binary content"
        ),
        "{got:?}"
    );
    // The binary file is itself in a `requirements/` folder, read as a requirements file of
    // `svc`: a note of its own (never fatal: it is one by its folder only).
    assert!(
        find("svc/requirements/blob.txt", 0, "binary content"),
        "{got:?}"
    );
    assert_eq!(got.len(), 4, "{got:?}");

    // Followed includes, dev includes and a cycle are not noted.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    service(
        root,
        "-r base.txt\n-r requirements-dev.txt\n-r requirements-test.txt\n-r https://example.com/requirements.txt\nflask==3.0\n",
    );
    write(
        root,
        "svc/base.txt",
        "-r requirements.txt\nrequests==2.32\n",
    );
    write(root, "svc/requirements-dev.txt", "pytest==8.0\n");
    // requirements-test.txt does not exist: a dev/test include is not noted either, nor a URL
    // (pip fetches it).
    assert_eq!(notes(root), Vec::new());
}

/// `opentelemetry-distro` as a dependency configures nothing: TG101 unless something starts
/// it — a start command, `PYTHONPATH` naming its `sitecustomize`, or the code.
#[test]
fn the_distro_counts_only_once_something_starts_it() {
    let distro = "flask==3.0\nopentelemetry-distro==0.49b0\nopentelemetry-exporter-otlp==1.28.0\n";
    let dockerfile = |cmd: &str, env: &str| {
        format!("FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt && opentelemetry-bootstrap -a install\n{env}CMD {cmd}\n")
    };
    let cases: [(&str, String, Option<&str>, bool); 5] = [
        ("alone", dockerfile("[\"python\", \"app.py\"]", ""), None, true),
        (
            "opentelemetry-instrument",
            dockerfile("[\"opentelemetry-instrument\", \"python\", \"app.py\"]", ""),
            None,
            false,
        ),
        (
            "sitecustomize on PYTHONPATH",
            dockerfile(
                "[\"python\", \"app.py\"]",
                "ENV PYTHONPATH=/otel/opentelemetry/instrumentation/auto_instrumentation:/app\n",
            ),
            None,
            false,
        ),
        (
            "configure() in code",
            dockerfile("[\"python\", \"app.py\"]", ""),
            Some("from opentelemetry.distro import OpenTelemetryDistro\n\nOpenTelemetryDistro().configure()\n"),
            false,
        ),
        (
            "a TracerProvider of the SDK the distro brings",
            dockerfile("[\"python\", \"app.py\"]", ""),
            Some("from opentelemetry import trace\nfrom opentelemetry.sdk.trace import TracerProvider\n\ntrace.set_tracer_provider(TracerProvider())\n"),
            false,
        ),
    ];
    for (case, docker, code, fires) in cases {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        service(root, distro);
        write(root, "svc/Dockerfile", &docker);
        if let Some(code) = code {
            write(root, "svc/tracing.py", code);
            write(
                root,
                "svc/app.py",
                "import tracing  # noqa: F401\nfrom flask import Flask\nfrom opentelemetry.instrumentation.flask import FlaskInstrumentor\n\napp = Flask(__name__)\nFlaskInstrumentor().instrument_app(app)\n\nif __name__ == \"__main__\":\n    app.run()\n",
            );
        }
        let fired = rules(root);
        assert_eq!(
            fired.contains(&"TG101".to_string()),
            fires,
            "{case}: {fired:?}"
        );
    }
}

/// Code that starts the SDK counts for TG101 only with the distro a dependency: without any
/// OpenTelemetry dependency its first import fails (the generated benchmark trees' Python
/// services set up a `TracerProvider` and list only Flask and requests).
#[test]
fn code_starting_an_sdk_no_dependency_brings_still_fails_tg101() {
    let cases = [
        (
            "a TracerProvider",
            "from opentelemetry import trace\nfrom opentelemetry.sdk.trace import TracerProvider\n\ntrace.set_tracer_provider(TracerProvider())\n",
        ),
        (
            "the distro's configure()",
            "from opentelemetry.distro import OpenTelemetryDistro\n\nOpenTelemetryDistro().configure()\n",
        ),
        (
            "auto_instrumentation.initialize()",
            "from opentelemetry.instrumentation import auto_instrumentation\n\nauto_instrumentation.initialize()\n",
        ),
    ];
    for (case, code) in cases {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        service(root, "flask==3.0\nrequests==2.32\n");
        write(
            root,
            "svc/Dockerfile",
            "FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\nCMD [\"python\", \"app.py\"]\n",
        );
        write(root, "svc/tracing.py", code);
        write(
            root,
            "svc/app.py",
            "import tracing  # noqa: F401\nfrom flask import Flask\n\napp = Flask(__name__)\n\nif __name__ == \"__main__\":\n    app.run()\n",
        );
        let fired = rules(root);
        assert!(fired.contains(&"TG101".to_string()), "{case}: {fired:?}");
    }
}

fn app(root: &Path) {
    write(
        root,
        "svc/app.py",
        "from flask import Flask\nfrom opentelemetry.instrumentation.flask import FlaskInstrumentor\n\napp = Flask(__name__)\nFlaskInstrumentor().instrument_app(app)\n\nif __name__ == \"__main__\":\n    app.run()\n",
    );
}

/// A `requirements/` folder and no requirements file beside the code: the folder's files are
/// the service's, through an include cycle and a missing include; `local.txt` is development.
#[test]
fn a_requirements_folder_is_the_services_even_with_a_cycle_or_a_missing_include() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    app(root);
    write(
        root,
        "svc/requirements/base.txt",
        "-r production.txt\nflask==3.0\n",
    );
    write(
        root,
        "svc/requirements/production.txt",
        "-r base.txt\n-r missing.txt\nopentelemetry-sdk==1.28.2\n",
    );
    write(
        root,
        "svc/requirements/local.txt",
        "-r base.txt\npytest==8.3\n",
    );
    let got = findings(root);
    assert!(!got.iter().any(|f| f.rule == "TG101"), "{got:?}");
    assert!(
        got.iter().any(|f| f.rule == "TG199"
            && f.file.as_deref() == Some("svc/requirements/production.txt")
            && f.message.contains("`-r missing.txt`: no such file")),
        "{got:?}"
    );

    // The twin: the SDK in local.txt only (development) and in a constraints file.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    app(root);
    write(
        root,
        "svc/requirements/base.txt",
        "-c constraints.txt\nflask==3.0\n",
    );
    write(
        root,
        "svc/requirements/constraints.txt",
        "opentelemetry-sdk==1.28.2\n",
    );
    write(
        root,
        "svc/requirements/production.txt",
        "-r base.txt\ngunicorn==23.0\n",
    );
    write(
        root,
        "svc/requirements/local.txt",
        "-r base.txt\nopentelemetry-sdk==1.28.2\n",
    );
    assert!(rules(root).contains(&"TG101".to_string()));

    // A folder of product requirements in prose, beside a Dockerfile, is no Python package.
    write(
        root,
        "handbook/requirements/checkout.txt",
        "The checkout shall accept card payments.\nR-12: p99 latency under 200 ms.\n",
    );
    write(
        root,
        "handbook/Dockerfile",
        "FROM nginx:1.27\nCOPY . /usr/share/nginx/html\n",
    );
    assert_eq!(service_paths(root), ["svc"]);
}

/// A Pipfile that is not TOML: a TG199 note at its line, the service `unknown` (never a
/// panic, never the whole check stopped); a setup.py whose `install_requires` is computed: a
/// note, the service judged on what else it declares.
#[test]
fn a_pipfile_that_is_not_toml_and_a_computed_setup_py_are_notes() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    app(root);
    write(
        root,
        "svc/Pipfile",
        "[packages]\nflask = \"*\"\n[dev-packages\npytest = \"*\"\n",
    );
    let scan = scan(root, &ScanOptions::default()).unwrap();
    let svc = scan
        .services
        .iter()
        .find(|s| s.service.path == "svc")
        .unwrap();
    assert!(!svc.analysed, "{:?}", svc.findings);
    assert!(
        svc.findings.iter().any(|f| f.rule == "TG199"
            && f.file.as_deref() == Some("svc/Pipfile")
            && f.line == Some(3)
            && f.message.contains("invalid Pipfile")),
        "{:?}",
        svc.findings
    );

    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    app(root);
    write(
        root,
        "svc/setup.py",
        "import json\nfrom setuptools import setup\n\nsetup(\n    name=\"svc\",\n    install_requires=json.load(open(\"deps.json\")),\n    entry_points={\"console_scripts\": [\"svc = app:main\"]},\n)\n",
    );
    let got = findings(root);
    assert!(
        got.iter().any(|f| f.rule == "TG199"
            && f.file.as_deref() == Some("svc/setup.py")
            && f.line == Some(6)
            && f.message.contains("`install_requires` is computed")),
        "{got:?}"
    );
}

/// A module of the application named `setup.py` (its tracing set-up) is code, not a
/// setuptools script: what it instruments counts, and its directory is no package.
#[test]
fn a_setup_py_that_is_no_setuptools_script_is_a_module() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "svc/requirements.txt",
        "flask==3.0\nrequests==2.32\nopentelemetry-sdk==1.28.2\nopentelemetry-instrumentation-flask==0.49b2\nopentelemetry-instrumentation-requests==0.49b2\n",
    );
    write(
        root,
        "svc/telemetry/setup.py",
        "from opentelemetry import trace\nfrom opentelemetry.instrumentation.flask import FlaskInstrumentor\nfrom opentelemetry.instrumentation.requests import RequestsInstrumentor\nfrom opentelemetry.sdk.trace import TracerProvider\n\n\ndef setup(app):\n    trace.set_tracer_provider(TracerProvider())\n    FlaskInstrumentor().instrument_app(app)\n    RequestsInstrumentor().instrument()\n",
    );
    write(
        root,
        "svc/app.py",
        "import requests\nfrom flask import Flask\n\nfrom telemetry.setup import setup\n\napp = Flask(__name__)\nsetup(app)\n\n\n@app.get(\"/\")\ndef index():\n    return requests.get(\"http://catalog/items\", timeout=3).text\n\n\nif __name__ == \"__main__\":\n    app.run()\n",
    );
    assert_eq!(service_paths(root), ["svc"]);
    let got = findings(root);
    assert!(!got.iter().any(|f| f.rule.starts_with("TG10")), "{got:?}");
}

/// pip-tools: a `requirements.in` alone (compiled in the image) lists the service's direct
/// requirements; beside its compiled `requirements.txt`, the SDK pulled in by the distro
/// (`# via opentelemetry-distro`) is still no direct dependency.
#[test]
fn pip_tools_requirements_in_lists_direct_requirements() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    app(root);
    write(
        root,
        "svc/requirements.in",
        "flask\nopentelemetry-sdk\nopentelemetry-instrumentation-flask\n",
    );
    assert!(!rules(root).contains(&"TG101".to_string()));

    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    app(root);
    write(
        root,
        "svc/requirements/base.in",
        "flask\nopentelemetry-distro\n",
    );
    write(
        root,
        "svc/requirements/base.txt",
        "flask==3.0.3\n    # via -r requirements/base.in\nopentelemetry-distro==0.49b2\n    # via -r requirements/base.in\nopentelemetry-sdk==1.28.2\n    # via opentelemetry-distro\n",
    );
    assert!(rules(root).contains(&"TG101".to_string()));
}

/// The extra a Dockerfile kept apart from the code installs (compose `build.dockerfile` with
/// the context at the root, `COPY apps/api/ ./`, `pip install ".[otel]"`) counts too.
#[test]
fn an_extra_installed_by_a_dockerfile_kept_apart_counts() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "svc/pyproject.toml",
        "[project]\nname = \"svc\"\ndependencies = [\"flask\"]\n[project.optional-dependencies]\notel = [\"opentelemetry-sdk\", \"opentelemetry-instrumentation-flask\"]\n",
    );
    app(root);
    write(
        root,
        "docker/svc.Dockerfile",
        "FROM python:3.12-slim\nWORKDIR /app\nCOPY svc/ ./\nRUN pip install \".[otel]\"\nCMD [\"python\", \"app.py\"]\n",
    );
    write(
        root,
        "docker-compose.yml",
        "services:\n  svc:\n    build:\n      context: .\n      dockerfile: docker/svc.Dockerfile\n",
    );
    let got = findings(root);
    assert!(!got.iter().any(|f| f.rule == "TG101"), "{got:?}");
}
