//! What starts a service, through the binary: Node packages started by their Dockerfile,
//! Go binaries without a module of their own or several to a module, and the packages that
//! are never services (`fixtures/check/entry-points/`, each beside twins that look alike).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/check/entry-points")
        .join(name)
}

/// `check --format json` on `dir` (cargo never run): the services as `name path language
/// verdict`, sorted.
fn services(dir: &Path) -> Vec<String> {
    let out = Command::cargo_bin("tracegate")
        .unwrap()
        .args(["check", "--format", "json"])
        .arg(dir)
        .env("TRACEGATE_CARGO", "")
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut found: Vec<String> = json["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            format!(
                "{} {} {} {}",
                s["name"].as_str().unwrap(),
                s["path"].as_str().unwrap(),
                s["language"].as_str().unwrap(),
                s["verdict"].as_str().unwrap()
            )
        })
        .collect();
    found.sort();
    found
}

/// A copy of a fixture in a temporary directory, to change.
fn copy_of(name: &str) -> tempfile::TempDir {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let target = to.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                copy(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), target).unwrap();
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    copy(&fixture(name), dir.path());
    dir
}

/// `orders` (shell-form `CMD node --require ./tracing.js server.js`) and `notifier`
/// (`npx tsx`) are services; the nginx-served SPA, the hand-run seed script and the workspace
/// root are not, though each has a package.json without start script or main.
#[test]
fn node_packages_started_by_their_dockerfile_are_services() {
    assert_eq!(
        services(&fixture("node")),
        [
            "notifier services/notifier typescript fail",
            "orders services/orders javascript pass",
        ]
    );
    // Without its Dockerfile nothing starts `orders`: it is a package like any other.
    let dir = copy_of("node");
    std::fs::remove_file(dir.path().join("services/orders/Dockerfile")).unwrap();
    assert_eq!(
        services(dir.path()),
        ["notifier services/notifier typescript fail"]
    );
    // A Procfile starts it as well as a Dockerfile.
    std::fs::write(
        dir.path().join("services/orders/Procfile"),
        "web: node --require ./tracing.js server.js\n",
    )
    .unwrap();
    assert_eq!(
        services(dir.path()),
        [
            "notifier services/notifier typescript fail",
            "orders services/orders javascript pass",
        ]
    );
}

/// A lone `main.go` built by its Dockerfile is a service (its imports its requirements: with
/// the OpenTelemetry SDK it passes, without it fails TG101); one without a launch file is not.
/// A module whose two binaries are deployed by workloads named after them is two services, each
/// with the module's packages it imports; a module with one deployed binary and a tool stays
/// one, named after the module.
#[test]
fn go_binaries_are_services_in_their_own_directory() {
    assert_eq!(
        services(&fixture("go")),
        [
            "billing billing go pass",
            "geo services/geo go fail",
            "ledger-api ledger/cmd/ledger-api go pass",
            "ledger-consumer ledger/cmd/ledger-consumer go pass",
            "rates services/rates go pass",
        ]
    );
    // Imports are followed within the module: a consumer that no longer imports the shared
    // `internal/tracing` package has no SDK (the module's go.mod still requires it).
    let dir = copy_of("go");
    let consumer = dir.path().join("ledger/cmd/ledger-consumer/main.go");
    let text = std::fs::read_to_string(&consumer).unwrap();
    let text = text
        .replace("\t\"example.com/ledger/internal/tracing\"\n", "")
        .replace(
            "\tshutdown, err := tracing.Start(context.Background())\n\tif err != nil {\n\t\tlog.Fatal(err)\n\t}\n\tdefer shutdown(context.Background())\n",
            "",
        );
    assert!(!text.contains("tracing"), "{text}");
    std::fs::write(&consumer, text).unwrap();
    assert!(services(dir.path())
        .contains(&"ledger-consumer ledger/cmd/ledger-consumer go fail".to_string()));
    // Without the workloads naming its binaries, the ledger module is one service again; a
    // Dockerfile beside the lone main.go of hack/ makes it a service.
    let dir = copy_of("go");
    std::fs::remove_dir_all(dir.path().join("ledger/deploy")).unwrap();
    std::fs::write(
        dir.path().join("hack/gencerts/Dockerfile"),
        "FROM golang:1.23\nWORKDIR /src\nCOPY . .\nRUN go mod init gencerts && go build -o /gencerts .\nENTRYPOINT [\"/gencerts\"]\n",
    )
    .unwrap();
    assert_eq!(
        services(dir.path()),
        [
            "billing billing go pass",
            "gencerts hack/gencerts go fail",
            "geo services/geo go fail",
            "ledger ledger go pass",
            "rates services/rates go pass",
        ]
    );
}

/// Services that look like clients, docs sites or load tests stay services; a VitePress site
/// and an MkDocs site started by their Dockerfiles are not; the Locust harness is a service
/// while a Deployment runs it, and not once none does.
#[test]
fn look_alikes_of_non_services_stay_services() {
    let expected = [
        "catalog services/catalog javascript pass",
        "docs services/docs javascript pass",
        "loadgenerator src/loadgenerator python fail",
        "push services/push javascript fail",
        "recommendation services/recommendation python pass",
        "storefront apps/storefront javascript fail",
    ];
    assert_eq!(services(&fixture("not-services")), expected);
    let dir = copy_of("not-services");
    std::fs::remove_dir_all(dir.path().join("kubernetes-manifests")).unwrap();
    let without: Vec<&str> = expected
        .into_iter()
        .filter(|s| !s.starts_with("loadgenerator "))
        .collect();
    assert_eq!(services(dir.path()), without);
}
