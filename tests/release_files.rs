//! The release files agree with each other, checked offline: the targets the release workflow
//! builds are the ones the Action's install.sh downloads, under the same asset names; the
//! pinned version everywhere is Cargo.toml's; the Dockerfile builds and runs the `tracegate`
//! binary on the package's Rust version. Where a Docker daemon answers, the image is built and
//! its binary run (`TRACEGATE_TEST_DOCKER_BUILD=0`: Docker's checks of the Dockerfile only);
//! without one the test prints `SKIPPED` and the reason on the test output.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn yaml(path: &str) -> serde_yaml::Value {
    serde_yaml::from_str(&read(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every `…-unknown-linux-musl` target named in `text`.
fn musl_targets(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .filter(|w| w.ends_with("-unknown-linux-musl"))
        .map(str::to_owned)
        .collect()
}

fn tag() -> String {
    format!("v{}", env!("CARGO_PKG_VERSION"))
}

#[test]
fn the_workflow_builds_what_install_sh_downloads() {
    let workflow = yaml(".github/workflows/release.yml");
    assert_eq!(workflow["on"]["push"]["tags"][0].as_str(), Some("v*"));
    let built: BTreeSet<String> = workflow["jobs"]["binaries"]["strategy"]["matrix"]["include"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|entry| entry["target"].as_str().unwrap().to_owned())
        .collect();
    let expected: BTreeSet<String> = ["x86_64-unknown-linux-musl", "aarch64-unknown-linux-musl"]
        .map(str::to_owned)
        .into();
    assert_eq!(built, expected);

    let install = read(".github/actions/tracegate/install.sh");
    assert_eq!(musl_targets(&install), built);
    // The same asset names on both sides.
    let release = read(".github/workflows/release.yml");
    assert!(release.contains(r#"asset="tracegate-$TARGET.tar.gz""#));
    assert!(release.contains(r#"sha256sum "$asset" > "$asset.sha256""#));
    assert!(install.contains(r#"asset="tracegate-$target.tar.gz""#));
    assert!(install.contains(r#""$url.sha256""#));
    assert!(install.contains("/releases/download}"));
    // The binary sits at the archive's top level, where install.sh takes it from.
    assert!(release.contains(r#"tar -czf "dist/$asset" -C "$stage" tracegate "#));
    assert!(install.contains(r#""$work/unpacked/tracegate""#));
    // The Action installs a release tag through install.sh, from the action's own directory.
    let action = read(".github/actions/tracegate/action.yml");
    assert!(
        action.contains(r#"bash "$GITHUB_ACTION_PATH/install.sh" "$VERSION" "#),
        "action.yml calls install.sh"
    );
    // The GitLab job `init --ci gitlab` writes downloads one of them, by the same name.
    let templates = read("src/cli/init_templates.rs");
    let gitlab = musl_targets(&templates);
    assert!(!gitlab.is_empty() && gitlab.is_subset(&built), "{gitlab:?}");
    assert!(templates.contains(r#"curl -fsSLO "$base/tracegate-$TRACEGATE_TARGET.tar.gz""#));
}

#[test]
fn the_pinned_version_is_the_package_version_everywhere() {
    let tag = tag();
    let action = yaml(".github/actions/tracegate/action.yml");
    assert_eq!(
        action["inputs"]["version"]["default"].as_str(),
        Some(tag.as_str()),
        "action.yml's default version is Cargo.toml's"
    );
    // Documentation that shows a pinned `uses:` pins this version.
    let pinned = format!("tracegate/tracegate/.github/actions/tracegate@{tag}");
    for doc in ["README.md", "docs/check.md"] {
        let text = read(doc);
        for line in text
            .lines()
            .filter(|l| l.contains(".github/actions/tracegate@"))
        {
            assert!(line.contains(&pinned), "{doc}: {line}");
        }
    }
    // Any release tag a document names next to tracegate is this one.
    for doc in [
        "README.md",
        "docs/check.md",
        "docs/verify.md",
        "docs/coverage.md",
    ] {
        for line in read(doc).lines().filter(|l| l.contains("tracegate")) {
            for word in line.split(|c: char| !(c.is_ascii_alphanumeric() || c == '.')) {
                let is_tag = word.strip_prefix('v').is_some_and(|v| {
                    v.split('.').count() == 3
                        && v.split('.')
                            .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
                });
                assert!(!is_tag || word == tag, "{doc}: {word} in {line}");
            }
        }
    }
    for doc in ["README.md", "docs/check.md"] {
        let text = read(doc);
        for (i, line) in text.lines().enumerate() {
            if let Some(at) = line.find("/releases/download/") {
                let rest = &line[at + "/releases/download/".len()..];
                assert!(
                    rest.starts_with(&tag) || rest.starts_with('$'),
                    "{doc}:{}: {line}",
                    i + 1
                );
            }
        }
    }
}

#[test]
fn the_dockerfile_builds_the_binary_on_the_packages_rust_version() {
    let dockerfile = read("Dockerfile");
    let manifest: toml::Table = read("Cargo.toml").parse().unwrap();
    let rust = manifest["package"]["rust-version"].as_str().unwrap();
    assert!(
        dockerfile.contains(&format!("FROM rust:{rust}-alpine AS build")),
        "the builder is rust:{rust}"
    );
    assert!(dockerfile.contains("ARG PROFILE=release-lto\n"));
    assert!(dockerfile.contains(r#"--profile "${PROFILE}" --bin tracegate"#));
    assert!(
        dockerfile.contains("COPY --from=build /usr/local/bin/tracegate /usr/local/bin/tracegate")
    );
    assert!(dockerfile.contains("FROM gcr.io/distroless/static"));
    assert!(dockerfile.contains(r#"ENTRYPOINT ["tracegate"]"#));
    // The workflow passes the commit the build script cannot read without .git.
    assert!(dockerfile.contains("ARG TRACEGATE_BUILD_COMMIT"));
    assert!(read(".dockerignore").lines().any(|l| l == ".git"));
    assert!(read(".github/workflows/release.yml").contains("TRACEGATE_BUILD_COMMIT="));
}

fn docker(args: &[&str], dir: &Path) -> Option<std::process::Output> {
    Command::new("docker")
        .args(args)
        .current_dir(dir)
        .output()
        .ok()
}

/// Says why a test did not check what it is named after, where `cargo test` shows it: libtest
/// captures `eprintln!` of a passing test (the skip would pass unseen), not a direct write to
/// the standard error stream.
fn skipped(test: &str, reason: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{test}: SKIPPED: {reason}");
}

/// Where a Docker daemon answers, the image is built from the Dockerfile and its binary runs
/// (`--version`): minutes, a build inside the builder image, with the `release` profile
/// (`PROFILE=release`; the published image uses the default, `release-lto`, several times slower
/// to build and otherwise the same steps). `TRACEGATE_TEST_DOCKER_BUILD=0`
/// limits it to Docker's own checks of the Dockerfile (`docker build --check`: syntax, stages,
/// instructions). Without a daemon the test says so on the test output and checks nothing.
#[test]
fn the_dockerfile_builds_where_a_docker_daemon_answers() {
    const TEST: &str = "the_dockerfile_builds_where_a_docker_daemon_answers";
    let root = root();
    let daemon = docker(&["version", "--format", "{{.Server.Version}}"], &root);
    match daemon {
        Some(out) if out.status.success() => {}
        Some(out) => {
            let reason = String::from_utf8_lossy(&out.stderr);
            let reason = reason.lines().rfind(|l| !l.trim().is_empty());
            skipped(
                TEST,
                &format!(
                    "no Docker daemon answers ({}): the Dockerfile is not built",
                    reason.unwrap_or("no answer").trim()
                ),
            );
            return;
        }
        None => {
            skipped(TEST, "no docker command: the Dockerfile is not built");
            return;
        }
    }
    let out = docker(&["build", "--check", "."], &root).unwrap();
    assert!(
        out.status.success(),
        "docker build --check: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if std::env::var("TRACEGATE_TEST_DOCKER_BUILD").is_ok_and(|v| v == "0") {
        skipped(
            TEST,
            "TRACEGATE_TEST_DOCKER_BUILD=0: the Dockerfile is checked (docker build --check), not built",
        );
        return;
    }
    let image = format!("tracegate-test:{}", std::process::id());
    let commit = "0000000 2026-01-01";
    let out = docker(
        &[
            "build",
            "--build-arg",
            &format!("TRACEGATE_BUILD_COMMIT={commit}"),
            "--build-arg",
            "PROFILE=release",
            "-t",
            &image,
            ".",
        ],
        &root,
    )
    .unwrap();
    assert!(
        out.status.success(),
        "docker build: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = docker(&["run", "--rm", &image, "--version"], &root).unwrap();
    let _ = docker(&["image", "rm", "--force", &image], &root);
    let version = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(
        version.trim(),
        format!("tracegate {} ({commit})", env!("CARGO_PKG_VERSION")),
        "the image's binary names the version and the commit it was given"
    );
}

/// CI's log stays readable: the benchmarks compile there but do not run (criterion prints a
/// line per benchmark when `cargo test` runs them), and GitHub's CI runs the same script.
#[test]
fn ci_compiles_the_benchmarks_without_running_them() {
    let run = read(".ci/run");
    let cargo_test: Vec<&str> = run
        .lines()
        .filter(|l| l.trim_start().starts_with("cargo test"))
        .collect();
    assert!(!cargo_test.is_empty());
    for line in &cargo_test {
        let runs_benches = line.contains("--all-targets") || line.contains("--benches");
        assert!(!runs_benches || line.contains("--no-run"), "{line}");
    }
    assert!(cargo_test.iter().any(|l| l.contains("--benches --no-run")));
    assert!(read(".github/workflows/ci.yml").contains("run: bash .ci/run"));
}
