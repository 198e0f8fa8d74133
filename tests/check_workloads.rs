//! What a deployment says about services, end to end through the binary: infrastructure
//! listed apart (never judged, never a service), unanalysed languages named, workloads joined
//! to their code by the image they build, one workload defined in several places reported
//! once. Each case beside its negative twin.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

/// `check --format json` on `root` (cargo never run), and its exit code.
fn check(root: &Path) -> (Value, i32) {
    let out = Command::cargo_bin("tracegate")
        .unwrap()
        .args(["check", "--format", "json"])
        .arg(root)
        .env("TRACEGATE_CARGO", "")
        .output()
        .unwrap();
    let code = out.status.code().unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "exit {code}, not JSON ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (json, code)
}

fn text(root: &Path) -> String {
    let out = Command::cargo_bin("tracegate")
        .unwrap()
        .args(["check", "--format", "table"])
        .arg(root)
        .env("TRACEGATE_CARGO", "")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap()
}

/// `name path language verdict` of every service.
fn services(json: &Value) -> Vec<String> {
    json["services"]
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
        .collect()
}

fn findings<'a>(json: &'a Value, service: &str, rule: &str) -> Vec<&'a Value> {
    json["services"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["name"] == service)
        .flat_map(|s| s["findings"].as_array().unwrap())
        .filter(|f| f["rule"] == rule)
        .collect()
}

/// A Python service with the SDK injected, deployed with its OTEL variables set.
fn python_service(root: &Path, dir: &str) {
    write(
        root,
        &format!("{dir}/requirements.txt"),
        "flask==3.0.3\nopentelemetry-distro==0.48b0\nopentelemetry-exporter-otlp==1.27.0\nopentelemetry-instrumentation-flask==0.48b0\n",
    );
    write(
        root,
        &format!("{dir}/app.py"),
        "from flask import Flask\n\napp = Flask(__name__)\n",
    );
    write(root, &format!("{dir}/Dockerfile"), "FROM python:3.12-slim\nCOPY . .\nRUN pip install -r requirements.txt\nENV OTEL_PROPAGATORS=tracecontext,baggage\nCMD [\"opentelemetry-instrument\", \"flask\", \"run\"]\n");
}

fn deployment(kind: &str, name: &str, images: &[&str], env: bool) -> String {
    let containers: String = images
        .iter()
        .enumerate()
        .map(|(i, image)| {
            let env = if env {
                format!("          env:\n            - name: OTEL_EXPORTER_OTLP_ENDPOINT\n              value: http://otel-collector:4318\n            - name: OTEL_SERVICE_NAME\n              value: {name}\n")
            } else {
                String::new()
            };
            format!("        - name: c{i}\n          image: {image}\n{env}")
        })
        .collect();
    format!("apiVersion: apps/v1\nkind: {kind}\nmetadata:\n  name: {name}\nspec:\n  selector:\n    matchLabels: {{ app: {name} }}\n  template:\n    metadata:\n      labels: {{ app: {name} }}\n    spec:\n      containers:\n{containers}")
}

#[test]
fn infrastructure_is_listed_with_every_place_and_never_judged() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    python_service(root, "src/orders");
    write(root, "docker-compose.yml", "services:\n  orders:\n    build: ./src/orders\n  postgres:\n    image: postgres:17.2\n  kafka:\n    image: bitnami/kafka:3.9\n  feature-flags:\n    image: ghcr.io/open-feature/flagd:v0.11.1\n");
    let k8s = [
        deployment("StatefulSet", "postgres", &["postgres:17.2"], false),
        deployment(
            "StatefulSet",
            "kafka",
            &["bitnami/kafka:3.9", "bitnami/kafka-exporter:1"],
            false,
        ),
        deployment(
            "DaemonSet",
            "log-agent",
            &["cr.fluentbit.io/fluent/fluent-bit:3.2.2"],
            false,
        ),
        deployment("Deployment", "edge", &["nginx:1.27-alpine"], false),
        deployment("Deployment", "orders", &["ghcr.io/acme/orders:1"], true),
    ]
    .join("---\n");
    write(root, "k8s/all.yaml", &k8s);
    let (json, code) = check(root);
    assert_eq!(
        services(&json),
        ["orders src/orders python pass"],
        "{json:#}"
    );
    assert_eq!(code, 0, "{json:#}");
    let infra = json["infrastructure"].as_array().unwrap();
    let names: Vec<(&str, &str)> = infra
        .iter()
        .map(|i| (i["name"].as_str().unwrap(), i["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(
        names,
        [
            ("edge", "proxy"),
            ("kafka", "broker"),
            ("log-agent", "log-shipper"),
            ("postgres", "database")
        ]
    );
    // Compose and Kubernetes places of one name, sorted; the first place's image.
    let postgres = &infra[3];
    assert_eq!(postgres["image"], "postgres:17.2");
    assert_eq!(
        postgres["places"],
        serde_json::json!([
            {"file": "docker-compose.yml", "line": 4, "workload": "compose"},
            {"file": "k8s/all.yaml", "line": 4, "workload": "StatefulSet"},
        ])
    );
    // The text report lists it in one line under the summary.
    let text = text(root);
    assert!(
        text.contains("infrastructure (not judged): edge (proxy), kafka (broker), log-agent (log-shipper), postgres (database)\n"),
        "{text}"
    );
}

#[test]
fn application_images_with_infrastructure_words_or_sidecars_are_services() {
    // The negative twin: the repository's own images are never infrastructure, even when
    // named after it or run beside an infrastructure sidecar.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    python_service(root, "src/orders");
    let k8s = [
        deployment(
            "Deployment",
            "kafka-consumer",
            &["ghcr.io/acme/kafka-consumer:1"],
            true,
        ),
        deployment(
            "Deployment",
            "orders",
            &["ghcr.io/acme/orders:1", "envoyproxy/envoy:v1.32-latest"],
            true,
        ),
        deployment(
            "Deployment",
            "redis-proxy",
            &["ghcr.io/acme/redis-proxy:1", "redis:7"],
            true,
        ),
    ]
    .join("---\n");
    write(root, "k8s/all.yaml", &k8s);
    let (json, _) = check(root);
    assert_eq!(
        services(&json),
        [
            "kafka-consumer k8s unknown unknown",
            "redis-proxy k8s unknown unknown",
            "orders src/orders python pass"
        ],
        "{json:#}"
    );
    assert!(json.get("infrastructure").is_none(), "{json:#}");
    let text = text(root);
    assert!(!text.contains("infrastructure"), "{text}");
}

#[test]
fn one_workload_in_several_places_is_one_finding_naming_each() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    python_service(root, "src/frontend");
    let frontend = deployment("Deployment", "frontend", &["frontend"], false);
    write(root, "kubernetes-manifests/frontend.yaml", &frontend);
    write(root, "kustomize/base/frontend.yaml", &frontend);
    write(
        root,
        "kustomize/base/kustomization.yaml",
        "resources:\n  - frontend.yaml\n",
    );
    let (json, code) = check(root);
    assert_eq!(code, 1);
    for rule in ["TG201", "TG203"] {
        let f = findings(&json, "frontend", rule);
        assert_eq!(f.len(), 1, "{rule}: {json:#}");
        assert_eq!(f[0]["file"], "kubernetes-manifests/frontend.yaml");
        assert_eq!(f[0]["line"], 4);
        let message = f[0]["message"].as_str().unwrap();
        assert!(
            message.ends_with(" (also in kustomize/base/frontend.yaml:4)"),
            "{message}"
        );
    }
}

#[test]
fn different_workloads_of_one_service_each_have_their_findings() {
    // The negative twin: a Deployment and a CronJob of the same code are two workloads, each
    // with its own finding (no `also in`).
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    python_service(root, "src/frontend");
    let cron = "apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: frontend\nspec:\n  schedule: \"0 * * * *\"\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          containers:\n            - name: frontend\n              image: frontend\n";
    write(
        root,
        "k8s/frontend.yaml",
        &deployment("Deployment", "frontend", &["frontend"], false),
    );
    write(root, "k8s/cron.yaml", cron);
    let (json, _) = check(root);
    let f = findings(&json, "frontend", "TG201");
    let places: Vec<String> = f
        .iter()
        .map(|f| format!("{}:{}", f["file"].as_str().unwrap(), f["line"]))
        .collect();
    assert_eq!(
        places,
        ["k8s/cron.yaml:4", "k8s/frontend.yaml:4"],
        "{json:#}"
    );
    assert!(f
        .iter()
        .all(|f| !f["message"].as_str().unwrap().contains("also in")));
}

#[test]
fn unanalysed_languages_are_named_in_language_and_tg100() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "src/quote/composer.json",
        "{\"name\": \"acme/quote\", \"require\": {\"slim/slim\": \"4.*\"}}\n",
    );
    write(root, "src/quote/public/index.php", "<?php\necho 'quote';\n");
    write(
        root,
        "src/edge/Dockerfile",
        "FROM nginx:1.27-alpine\nCOPY nginx.conf /etc/nginx/nginx.conf\n",
    );
    write(
        root,
        "src/edge/nginx.conf",
        "events {}\nhttp { server { listen 8080; } }\n",
    );
    write(
        root,
        "k8s/edge.yaml",
        &deployment("Deployment", "edge", &["ghcr.io/acme/edge:1"], true),
    );
    let (json, code) = check(root);
    assert_eq!(
        services(&json),
        ["edge src/edge nginx unknown", "quote src/quote php unknown"],
        "{json:#}"
    );
    assert_eq!(code, 0, "an unknown service alone does not fail the run");
    let tg100 = findings(&json, "quote", "TG100");
    assert_eq!(
        tg100[0]["message"],
        "Language or framework not analysed: `quote` is listed but PHP is not analysed"
    );
    assert!(findings(&json, "edge", "TG100")[0]["message"]
        .as_str()
        .unwrap()
        .ends_with("but nginx is not analysed"));
    assert!(json.get("infrastructure").is_none(), "{json:#}");
}

#[test]
fn a_published_nginx_or_a_workload_without_code_is_not_named() {
    // The negative twin: nginx run from its published image is infrastructure; a workload
    // with no code in the tree keeps `unknown`; an analysed service is never renamed by its
    // base image.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    python_service(root, "src/api");
    write(root, "src/api/Dockerfile", "FROM php:8.3-cli AS tools\nFROM python:3.12-slim\nCMD [\"opentelemetry-instrument\", \"python\", \"app.py\"]\n");
    let k8s = [
        deployment("Deployment", "edge", &["nginx:1.27-alpine"], false),
        deployment("Deployment", "billing", &["ghcr.io/acme/billing:3"], true),
    ]
    .join("---\n");
    write(root, "k8s/all.yaml", &k8s);
    let (json, _) = check(root);
    assert_eq!(
        services(&json),
        ["billing k8s unknown unknown", "api src/api python pass"],
        "{json:#}"
    );
    assert_eq!(
        findings(&json, "billing", "TG100")[0]["message"],
        "Language or framework not analysed: `billing` is listed but not analysed"
    );
    assert_eq!(json["infrastructure"][0]["name"], "edge");
    assert_eq!(json["infrastructure"][0]["kind"], "proxy");
}

/// A Python service in `dir` without workloads of its own.
fn orders_code(root: &Path, dir: &str) {
    python_service(root, dir);
    write(
        root,
        &format!("{dir}/orders/tasks.py"),
        "from celery import Celery\n\napp = Celery('orders')\n",
    );
}

#[test]
fn workloads_join_their_code_by_the_image_they_build() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    orders_code(root, "src/orders");
    python_service(root, "src/cartservice");
    // PHP whose manifest is in a source subfolder of the build context.
    write(
        root,
        "src/quote/app/composer.json",
        "{\"name\": \"acme/quote\"}\n",
    );
    write(
        root,
        "src/quote/Dockerfile",
        "FROM php:8.3-cli\nCOPY app/ /var/www\n",
    );
    write(root, "skaffold.yaml", "apiVersion: skaffold/v4beta11\nkind: Config\nbuild:\n  artifacts:\n    - image: cartservice\n      context: src/cartservice\n    - image: orders\n      context: src/orders\n");
    write(root, "docker-compose.yml", "services:\n  quote:\n    build:\n      context: ./\n      dockerfile: src/quote/Dockerfile\n");
    // The worker's `command` replaces the image's CMD (and its opentelemetry-instrument): it
    // starts the instrumentation itself.
    let worker = deployment("Deployment", "orders-worker", &["orders"], true).replace(
        "          env:\n",
        "          command: [\"opentelemetry-instrument\", \"celery\", \"-A\", \"orders.tasks\", \"worker\"]\n          env:\n",
    );
    let k8s = [
        deployment("Deployment", "cart", &["cartservice"], true),
        deployment("Deployment", "orders-api", &["orders"], true),
        worker,
    ]
    .join("---\n");
    write(root, "k8s/all.yaml", &k8s);
    let (json, _) = check(root);
    assert_eq!(
        services(&json),
        [
            // Named by its Deployment, not by its directory.
            "cart src/cartservice python pass",
            "orders-api src/orders python pass",
            "orders-worker src/orders python pass",
            "quote src/quote/app php unknown",
        ],
        "{json:#}"
    );
}

#[test]
fn one_workload_of_an_image_or_identical_workloads_stay_one_service() {
    // The negative twin: one Deployment and a migration Job of the image, and a canary running
    // exactly what the main Deployment runs, are one service named after its code.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    orders_code(root, "src/orders");
    write(root, "skaffold.yaml", "apiVersion: skaffold/v4beta11\nkind: Config\nbuild:\n  artifacts:\n    - image: orders\n      context: src/orders\n");
    let job = "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: orders-migrate\nspec:\n  template:\n    spec:\n      containers:\n        - name: migrate\n          image: orders\n          command: [\"alembic\", \"upgrade\", \"head\"]\n          env:\n            - name: OTEL_EXPORTER_OTLP_ENDPOINT\n              value: http://otel-collector:4318\n            - name: OTEL_SERVICE_NAME\n              value: orders\n";
    let canary = deployment("Deployment", "orders", &["orders"], true)
        .replace("name: orders\n", "name: orders-canary\n")
        .replace("app: orders }", "app: orders-canary }");
    let k8s = [
        deployment("Deployment", "orders", &["orders"], true),
        canary,
        job.to_string(),
    ]
    .join("---\n");
    write(root, "k8s/all.yaml", &k8s);
    let (json, _) = check(root);
    assert_eq!(
        services(&json),
        ["orders src/orders python pass"],
        "{json:#}"
    );
}

#[test]
fn a_tiltfile_docker_build_joins_the_workload_running_its_image() {
    for (tiltfile, expected) in [
        (
            "docker_build('registry.local/cart-image', 'services/cart')\nk8s_yaml('k8s/checkout.yaml')\n",
            // Joined, it is named by the Deployment that runs it.
            vec!["checkout services/cart python pass"],
        ),
        // The negative twin: an image Starlark computes is not read, so nothing joins.
        (
            "IMAGE = 'registry.local/' + 'cart-image'\ndocker_build(IMAGE, 'services/cart')\n",
            vec!["checkout k8s unknown unknown", "cart services/cart python pass"],
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        python_service(root, "services/cart");
        write(root, "Tiltfile", tiltfile);
        write(
            root,
            "k8s/checkout.yaml",
            &deployment("Deployment", "checkout", &["registry.local/cart-image"], true),
        );
        let (json, _) = check(root);
        assert_eq!(services(&json), expected, "{tiltfile}\n{json:#}");
    }
}

#[test]
fn a_compose_build_of_the_root_neither_renames_nor_adds_a_service() {
    // The root holds every service: `build: .` (a dev container, a docs image) names no code.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    python_service(root, "services/api");
    write(root, "Dockerfile", "FROM python:3.12\n");
    write(
        root,
        "docker-compose.yml",
        "services:\n  devbox:\n    build: .\n  api:\n    build: ./services/api\n",
    );
    let (json, _) = check(root);
    assert_eq!(
        services(&json),
        ["api services/api python pass"],
        "{json:#}"
    );
}

#[test]
fn a_tilt_or_skaffold_dockerfile_kept_apart_builds_the_service_it_copies_in() {
    // Every Dockerfile in `docker/`, built with the context at the root: the one it copies
    // in is the code the Deployment runs (its `CMD` counting for that service).
    let dockerfile = "FROM python:3.12-slim\nCOPY services/cart/requirements.txt .\nRUN pip install -r requirements.txt\nCOPY services/cart/ ./\nCMD [\"opentelemetry-instrument\", \"flask\", \"run\"]\n";
    for (file, build) in [
        (
            "Tiltfile",
            "docker_build('registry.local/cart-image', '.', dockerfile='docker/cart.Dockerfile')\n",
        ),
        (
            "skaffold.yaml",
            "apiVersion: skaffold/v4beta11\nkind: Config\nbuild:\n  artifacts:\n    - image: registry.local/cart-image\n      context: .\n      docker:\n        dockerfile: docker/cart.Dockerfile\n",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            root,
            "services/cart/requirements.txt",
            "flask==3.0.3\nopentelemetry-distro==0.48b0\nopentelemetry-exporter-otlp==1.27.0\nopentelemetry-instrumentation-flask==0.48b0\n",
        );
        write(
            root,
            "services/cart/app.py",
            "from flask import Flask\n\napp = Flask(__name__)\n",
        );
        write(root, "docker/cart.Dockerfile", dockerfile);
        write(root, file, build);
        write(
            root,
            "k8s/checkout.yaml",
            &deployment("Deployment", "checkout", &["registry.local/cart-image"], true),
        );
        let (json, _) = check(root);
        assert_eq!(
            services(&json),
            ["checkout services/cart python pass"],
            "{file}\n{json:#}"
        );
    }
}
