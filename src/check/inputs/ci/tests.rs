use super::actions::workflow_builds;
use super::bake::bake_builds;
use super::make::makefile_builds;
use super::shell::script_builds;
use super::*;

fn got(builds: &[ImageBuild]) -> Vec<(&str, &str)> {
    builds
        .iter()
        .map(|b| (b.image.as_str(), b.dir.as_str()))
        .collect()
}

#[test]
fn image_names_keep_what_is_literal() {
    let u = UNRESOLVED;
    assert_eq!(
        image_name("ghcr.io/acme/ledger:1.2").as_deref(),
        Some("ghcr.io/acme/ledger")
    );
    assert_eq!(
        image_name(&format!("{u}/{u}/shop-ledger:{u}")).as_deref(),
        Some("shop-ledger")
    );
    assert_eq!(image_name("ledger@sha256:00").as_deref(), Some("ledger"));
    assert_eq!(image_name(&format!("ghcr.io/acme/{u}:latest")), None);
    assert_eq!(image_name(&format!("ghcr.io/acme/{u}-api")), None);
    assert_eq!(image_name(""), None);
}

#[test]
fn docker_build_options_and_context() {
    let words = |s: &str| s.split_whitespace().map(str::to_string).collect::<Vec<_>>();
    let b = docker_build(&words(
        "docker buildx build --platform linux/amd64 --push -t a/b:1 --tag=c -f x/Dockerfile --build-arg K=V .",
    ))
    .unwrap();
    assert_eq!(b.tags, ["a/b:1", "c"]);
    assert_eq!(b.file.as_deref(), Some("x/Dockerfile"));
    assert_eq!(b.context.as_deref(), Some("."));
    assert!(docker_build(&words("docker run -t x .")).is_none());
    assert!(docker_build(&words("echo docker build")).is_none());
}

#[test]
fn workflow_matrix_of_words_and_metadata_images() {
    let text = r#"
env:
  REGISTRY: ghcr.io
jobs:
  image:
    strategy:
      matrix:
        service: [ledger, payments]
    steps:
      - uses: docker/build-push-action@v6
        with:
          context: ./services/${{ matrix.service }}
          tags:
            - ${{ env.REGISTRY }}/${{ github.repository_owner }}/shop-${{ matrix.service }}:${{ github.sha }}
            - ${{ env.REGISTRY }}/${{ github.repository_owner }}/shop-${{ matrix.service }}:latest
  web:
    strategy:
      matrix:
        include:
          - name: storefront
            dir: web/app
    steps:
      - id: meta
        uses: docker/metadata-action@v5
        with:
          images: |
            ghcr.io/acme/${{ matrix.name }}
      - uses: docker/build-push-action@v6
        with:
          context: .
          file: ${{ matrix.dir }}/Dockerfile
          tags: ${{ steps.meta.outputs.tags }}
  unknown:
    steps:
      - id: name
        run: echo "image=x" >> "$GITHUB_OUTPUT"
      - uses: docker/build-push-action@v6
        with:
          context: services/other
          tags: ${{ steps.name.outputs.image }}
"#;
    let text = text.replace(
        "context: ./services/${{ matrix.service }}",
        "context: \"{{defaultContext}}:services/${{ matrix.service }}\"",
    );
    let b = workflow_builds(".github/workflows/ci.yml", &text);
    assert_eq!(
        got(&b),
        [
            ("shop-ledger", "services/ledger"),
            ("shop-payments", "services/payments"),
            ("ghcr.io/acme/storefront", "web/app"),
        ]
    );
    assert_eq!(b[0].line, 10);
    assert_eq!(
        b[2].dockerfile,
        Some(("web/app/Dockerfile".into(), ".".into()))
    );
    assert!(b.iter().all(|b| b.loose));
    // Not YAML: nothing.
    assert!(workflow_builds("w.yml", "jobs: [docker\n").is_empty());
}

#[test]
fn workflow_matrix_include_extends_and_run_steps() {
    let text = r#"
jobs:
  build:
    strategy:
      matrix:
        service: [api, worker]
        include:
          - service: api
            context: ./backend/api-server
          - service: worker
            context: ./backend/jobs
        exclude:
          - service: none
    env:
      IMAGE: registry.acme.io/${{ matrix.service }}
    steps:
      - run: |
          docker build \
            -t "$IMAGE:${GITHUB_SHA::7}" ${{ matrix.context }}
"#;
    let b = workflow_builds("ci.yml", text);
    assert_eq!(
        got(&b),
        [
            ("registry.acme.io/api", "backend/api-server"),
            ("registry.acme.io/worker", "backend/jobs"),
        ]
    );
    assert_eq!(b[0].line, 18);
}

#[test]
fn scripts_unroll_literal_loops_and_follow_cd() {
    let text = r#"#!/usr/bin/env bash
set -euo pipefail
cd "$(dirname "$0")/.."
REGISTRY=${REGISTRY:-ghcr.io/acme}
SERVICES=(
  ledger
  payments
)
for svc in "${SERVICES[@]}"; do
  docker build -t "$REGISTRY/shop-$svc:latest" -f "services/$svc/Dockerfile" .
done
for d in $(ls -d tools/*/); do
  docker build -t "$REGISTRY/$d" "$d"
done
for d in jobs/*; do
  docker build -t "$REGISTRY/job" "$d"
done
(cd web/app && docker build -t "$REGISTRY/storefront" .)
"#;
    let b = script_builds("scripts/build-images.sh", text);
    assert_eq!(
        got(&b),
        [
            ("ghcr.io/acme/shop-ledger", "services/ledger"),
            ("ghcr.io/acme/shop-payments", "services/payments"),
            ("ghcr.io/acme/storefront", "web/app"),
        ]
    );
    assert_eq!(b[0].line, 10);
    assert!(script_builds("run.sh", "exec node server.js\n").is_empty());
}

#[test]
fn makefile_lists_pattern_rules_and_loops() {
    let text = "REGISTRY ?= ghcr.io/acme\nSERVICES := ledger payments\nWORKERS = notify\n\n.PHONY: images $(SERVICES)\nimages: $(addprefix image-,$(WORKERS))\n\n$(SERVICES):\n\tdocker build -t $(REGISTRY)/shop-$@:$(VERSION) services/$@\n\nimage-%:\n\t@docker build -t $(REGISTRY)/$*-worker -f workers/$*/Dockerfile .\n\nloop:\n\tfor s in $(SERVICES); do \\\n\t  docker build -t $(REGISTRY)/loop-$$s services/$$s; \\\n\tdone\n\none:\n\tdocker build -t $(REGISTRY)/$(SERVICE) services/$(SERVICE)\n";
    let b = makefile_builds("deploy/Makefile", text);
    assert_eq!(
        got(&b),
        [
            ("ghcr.io/acme/shop-ledger", "deploy/services/ledger"),
            ("ghcr.io/acme/shop-payments", "deploy/services/payments"),
            ("ghcr.io/acme/notify-worker", "deploy/workers/notify"),
            ("ghcr.io/acme/loop-ledger", "deploy/services/ledger"),
            ("ghcr.io/acme/loop-payments", "deploy/services/payments"),
        ]
    );
    assert_eq!(b[0].line, 9);
}

#[test]
fn bake_targets_with_variables_and_inheritance() {
    let text = r#"
variable "REGISTRY" {
  default = "ghcr.io/acme"
}
variable "TAG" {}
group "default" {
  targets = ["ledger", "storefront"]
}
target "_common" {
  context = "."
  platforms = ["linux/amd64"]
}
// ledger
target "ledger" {
  inherits = ["_common"]
  dockerfile = "services/ledger/Dockerfile"
  tags = ["${REGISTRY}/shop-ledger:${TAG}"]
}
target "storefront" {
  context = "web/storefront-app"
  tags = ["${REGISTRY}/storefront:latest", "storefront:dev"]
  args = { NODE_VERSION = "22" }
}
target "docs" {
  context = "docs"
  tags = [generate_tags("docs")]
}
target "meta" {
  inherits = ["docker-metadata-action"]
  context = "services/meta"
}
"#;
    let b = bake_builds("docker-bake.hcl", text);
    assert_eq!(
        got(&b),
        [
            ("ghcr.io/acme/shop-ledger", "services/ledger"),
            ("ghcr.io/acme/storefront", "web/storefront-app"),
            ("storefront", "web/storefront-app"),
        ]
    );
    assert_eq!(b[0].line, 14);
    let json = r#"{"variable": {"R": {"default": "reg.io"}}, "target": {"api": {"context": "api", "tags": ["${R}/api:1"]}}}"#;
    assert_eq!(
        got(&bake_builds("docker-bake.json", json)),
        [("reg.io/api", "api")]
    );
    assert!(bake_builds("docker-bake.json", "{").is_empty());
    assert!(bake_builds("docker-bake.hcl", "target \"x\" { tags = [").is_empty());
}

#[test]
fn malformed_or_hostile_inputs_build_nothing_and_never_panic() {
    let deep_loops = "for a in x; do\n".repeat(5000) + "docker build -t img .\n";
    assert!(script_builds("b.sh", &deep_loops).is_empty());
    let wide = format!(
        "for a in {}; do for b in {}; do docker build -t i-$a-$b .; done; done\n",
        "x ".repeat(500),
        "y ".repeat(500)
    );
    assert!(script_builds("b.sh", &wide).len() <= 10_000);
    for text in [
        "docker build",
        "docker build -t",
        "docker build -f",
        "docker buildx",
        "\"unterminated docker build -t x .",
        "docker build -t x $(",
        "docker build -t x ${",
        "docker build -t 'a' \\",
        ")))))) docker build",
    ] {
        let _ = script_builds("b.sh", text);
        let _ = makefile_builds("Makefile", &format!("x:\n\t{text}\n"));
        let _ = workflow_builds(
            "w.yml",
            &format!("jobs:\n  a:\n    steps:\n      - run: '{text}'\n"),
        );
    }
    let hcl = format!(
        "target \"x\" {{ tags = {}\"a\"{} }}",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    assert!(bake_builds("docker-bake.hcl", &hcl).is_empty());
    let cycle = "target \"a\" {\n inherits = [\"b\"]\n}\ntarget \"b\" {\n inherits = [\"a\"]\n tags = [\"x\"]\n}\n";
    assert_eq!(
        got(&bake_builds("docker-bake.hcl", cycle)),
        [("x", "."), ("x", ".")]
    );
    let make = "A = $(A)$(A)$(A)$(A)$(A)$(A)\nx:\n\tdocker build -t $(A) .\n";
    assert!(makefile_builds("Makefile", make).is_empty());
    let matrix = "jobs:\n  a:\n    strategy:\n      matrix:\n        a: [1,2,3,4,5,6,7,8]\n        b: [1,2,3,4,5,6,7,8]\n        c: [1,2,3,4,5,6,7,8]\n    steps:\n      - uses: docker/build-push-action@v6\n        with:\n          tags: img-${{ matrix.a }}\n";
    assert!(workflow_builds("w.yml", matrix).len() <= 1);
}

#[test]
fn gitlab_jobs_with_kaniko_docker_build_matrix_and_templates() {
    let text = r#"
variables:
  REGISTRY: $CI_REGISTRY_IMAGE
.kaniko:
  image:
    name: gcr.io/kaniko-project/executor:debug
    entrypoint: [""]
  variables:
    CONTEXT: services
  script:
    - /kaniko/executor
      --context "${CI_PROJECT_DIR}/${CONTEXT}/${SERVICE}"
      --dockerfile "${CI_PROJECT_DIR}/${CONTEXT}/${SERVICE}/Dockerfile"
      --destination "${REGISTRY}/shop-${SERVICE}:${CI_COMMIT_SHORT_SHA}"

build-services:
  extends: .kaniko
  parallel:
    matrix:
      - SERVICE: [ledger, payments]

build-web:
  image: docker:27
  script:
    - docker build -t "$CI_REGISTRY_IMAGE/storefront:$CI_COMMIT_SHA" -f web/app/Dockerfile .

build-relative:
  extends: .kaniko
  variables:
    SERVICE: relative
  script:
    - /kaniko/executor --context dir://tools/${SERVICE} --dockerfile build/Dockerfile --destination $REGISTRY/${SERVICE}
"#;
    let b = super::gitlab::gitlab_builds(".gitlab-ci.yml", text);
    assert_eq!(
        got(&b),
        [
            ("shop-ledger", "services/ledger"),
            ("shop-payments", "services/payments"),
            ("storefront", "web/app"),
            ("relative", "tools/relative/build"),
        ]
    );
    assert_eq!(b[0].line, 16);
    assert_eq!(b[2].line, 22);
    assert!(super::gitlab::gitlab_builds(".gitlab-ci.yml", "build: [docker build\n").is_empty());
}

#[test]
fn reusable_workflows_take_the_callers_inputs() {
    let caller = r#"
jobs:
  images:
    strategy:
      matrix:
        svc: [ledger, payments]
    uses: ./.github/workflows/docker.yml
    with:
      context: services/${{ matrix.svc }}
      image: shop-${{ matrix.svc }}
  elsewhere:
    uses: acme/shared/.github/workflows/docker.yml@v1
    with:
      context: services/other
"#;
    let called = r#"
on:
  workflow_call:
    inputs:
      context: { type: string, required: true }
      image: { type: string, required: true }
jobs:
  build:
    steps:
      - uses: docker/build-push-action@v6
        with:
          context: ${{ inputs.context }}
          tags: ghcr.io/${{ github.repository_owner }}/${{ inputs.image }}:${{ github.sha }}
"#;
    let workflow = |rel: &str| (rel == ".github/workflows/docker.yml").then(|| called.to_string());
    let b = super::actions::workflow_builds_calling(".github/workflows/ci.yml", caller, &workflow);
    assert_eq!(
        got(&b),
        [
            ("shop-ledger", "services/ledger"),
            ("shop-payments", "services/payments"),
        ]
    );
    assert_eq!(b[0].file, ".github/workflows/docker.yml");
    assert_eq!(b[0].line, 10);
    // On its own, the called workflow's inputs are unknown: nothing.
    assert!(workflow_builds(".github/workflows/docker.yml", called).is_empty());
    // A workflow calling itself stops.
    let looping = "jobs:\n  a:\n    uses: ./w.yml\n";
    let itself = |_: &str| Some(looping.to_string());
    assert!(super::actions::workflow_builds_calling("w.yml", looping, &itself).is_empty());
}

#[test]
fn workflow_matrix_of_objects_read_by_field() {
    let text = r#"
env:
  REGISTRY: ghcr.io
jobs:
  build-and-push-docker:
    strategy:
      matrix:
        service:
          - name: order-service
            dockerfile: src/OrderService/Order.WebApi/Dockerfile
            context: ./src
          - name: payment-service
            dockerfile: src/PaymentService/Payment.WebApi/Dockerfile
            context: ./src
    steps:
      - uses: docker/build-push-action@v6
        with:
          context: ${{ matrix.service.context }}
          file: ${{ matrix.service.dockerfile }}
          tags: ${{ env.REGISTRY }}/${{ github.repository }}/${{ matrix.service.name }}:latest
"#;
    let b = workflow_builds("ci.yml", text);
    assert_eq!(
        got(&b),
        [
            ("order-service", "src/OrderService/Order.WebApi"),
            ("payment-service", "src/PaymentService/Payment.WebApi"),
        ]
    );
    assert_eq!(
        b[0].dockerfile,
        Some((
            "src/OrderService/Order.WebApi/Dockerfile".into(),
            "src".into()
        ))
    );
}

#[test]
fn a_script_outside_the_root_building_its_current_directory_is_left_out() {
    // `services/ledger/build.sh`: run from the root or from its own directory?
    let text = "docker build -t acme/shop-ledger .\ndocker build -t acme/shop-api services/api\n";
    assert_eq!(
        got(&script_builds("services/ledger/build.sh", text)),
        [("acme/shop-api", "services/api")]
    );
    // At the root, or once it moved itself somewhere known, `.` is known.
    assert_eq!(
        got(&script_builds("build.sh", text)),
        [("acme/shop-ledger", "."), ("acme/shop-api", "services/api")]
    );
    let moved = format!("cd \"$(dirname \"$0\")\"\n{text}");
    assert_eq!(
        got(&script_builds("services/ledger/build.sh", &moved)),
        [
            ("acme/shop-ledger", "services/ledger"),
            ("acme/shop-api", "services/ledger/services/api")
        ]
    );
}

#[test]
fn a_service_makefile_builds_its_own_directory() {
    // wire-server style: the root runs `$(MAKE) -C services/$(service) docker`; each
    // service's Makefile builds `.` with a registry given by its caller.
    let text = "NAME := brig\nDOCKER_TAG ?= $(USER)\n\n.PHONY: docker\ndocker:\n\tdocker build -t $(DOCKER_USER)/$(NAME):$(DOCKER_TAG) .\n";
    assert_eq!(
        got(&makefile_builds("services/brig/Makefile", text)),
        [("brig", "services/brig")]
    );
}
