//! The Kubernetes manifests in deploy/ run as written: the shard Job's check script and the
//! weekly CronJob's tracegate containers are executed here (paths mapped to a temporary
//! directory, the trace backend left out: no cluster on a test machine), and their outputs
//! hold what the CronJob publishes.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_yaml::Value;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn manifest(name: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(repo().join("deploy").join(name)).unwrap();
    serde_yaml::Deserializer::from_str(&text)
        .map(|doc| serde::Deserialize::deserialize(doc).unwrap())
        .collect()
}

/// Every container and init container of a pod template, in order.
fn containers(pod_spec: &Value) -> Vec<&Value> {
    let mut all = Vec::new();
    for key in ["initContainers", "containers"] {
        if let Some(list) = pod_spec[key].as_sequence() {
            all.extend(list.iter());
        }
    }
    all
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_sequence()
        .map(|s| s.iter().map(|v| v.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

fn tracegate_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_tracegate"))
}

fn map_paths(arg: &str, results: &Path, data: &Path) -> String {
    arg.replace("/results", results.to_str().unwrap())
        .replace("/data", data.to_str().unwrap())
}

#[test]
fn the_shard_job_and_the_weekly_cronjob_run_as_written() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let results = tmp.path().join("results");
    let data = tmp.path().join("data");
    for dir in [&src, &results, &data] {
        std::fs::create_dir(dir).unwrap();
    }
    // the clone step's result: the fixture organisation's repositories under /src
    for name in ["payments", "identity", "edge", "risk"] {
        let status = Command::new("cp")
            .arg("-r")
            .arg(repo().join("fixtures/coverage/org").join(name))
            .arg(&src)
            .status()
            .unwrap();
        assert!(status.success());
    }

    // The shard Job's check container: its shell script, with tracegate on the PATH.
    let job = &manifest("coverage-shard-job.yaml")[0];
    assert_eq!(job["kind"], "Job");
    assert_eq!(job["spec"]["completionMode"], "Indexed");
    let pod = &job["spec"]["template"]["spec"];
    let check = containers(pod)
        .into_iter()
        .find(|c| c["name"] == "check")
        .unwrap();
    let script = strings(&check["args"]).join("\n");
    let script = script
        .replace("/src", src.to_str().unwrap())
        .replace("/results", results.to_str().unwrap());
    let path = format!(
        "{}:{}",
        tracegate_bin().parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("sh")
        .args(["-ec", &script])
        .env("PATH", path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the check script failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut written: Vec<String> = std::fs::read_dir(&results)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    written.sort();
    assert_eq!(
        written,
        ["edge.json", "identity.json", "payments.json", "risk.json"]
    );

    // The CronJob's tracegate containers, in order (the trace backend flags left out).
    let docs = manifest("coverage-cronjob.yaml");
    let cron = docs.iter().find(|d| d["kind"] == "CronJob").unwrap();
    assert_eq!(cron["spec"]["concurrencyPolicy"], "Forbid");
    let pod = &cron["spec"]["jobTemplate"]["spec"]["template"]["spec"];
    let mut ran = 0;
    for container in containers(pod) {
        let image = container["image"].as_str().unwrap();
        if !image.starts_with("ghcr.io/tracegate/tracegate") {
            continue;
        }
        let args: Vec<String> = strings(&container["args"])
            .iter()
            .filter(|a| {
                !["--from=", "--backend=", "--since="]
                    .iter()
                    .any(|p| a.starts_with(p))
            })
            .map(|a| map_paths(a, &results, &data))
            .collect();
        let out = Command::new(tracegate_bin())
            .args(&args)
            .arg("--today=2026-11-29")
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}: {args:?}: {}",
            container["name"].as_str().unwrap(),
            String::from_utf8_lossy(&out.stderr)
        );
        ran += 1;
    }
    assert_eq!(ran, 3, "record, markdown, metrics");
    let html = std::fs::read_to_string(data.join("coverage.html")).unwrap();
    assert!(html.contains("<svg") && html.contains("fraud-check"));
    let markdown = std::fs::read_to_string(data.join("coverage.md")).unwrap();
    assert!(markdown.contains("50.0"), "{markdown}");
    let metrics = std::fs::read_to_string(data.join("metrics.prom")).unwrap();
    assert!(
        metrics.contains("tracegate_propagation_coverage_ratio")
            && metrics.trim_end().ends_with("# EOF")
    );
    // the push container sends that file to the Pushgateway
    let push = containers(pod)
        .into_iter()
        .find(|c| c["name"] == "push")
        .unwrap();
    assert!(strings(&push["args"])
        .iter()
        .any(|a| a == "--data-binary=@/data/metrics.prom"));
}
