# syntax=docker/dockerfile:1
# tracegate in a minimal image: a static (musl) binary on distroless/static, running as nonroot.
#
#   docker build -t tracegate .
#   docker run --rm -v "$PWD:/repo:ro" tracegate check /repo
#
# The image holds the binary only: no helm/kustomize/kubectl/cargo, so `check` uses its built-in
# rendering of Helm charts, kustomize overlays and Cargo workspaces.
# The Rust version is the package's rust-version (Cargo.toml); tests/release_files.rs checks it.
FROM rust:1.90-alpine AS build
RUN apk add --no-cache musl-dev
WORKDIR /src
COPY . .
# `tracegate --version` names the commit; .git is not in the build context (.dockerignore).
ARG TRACEGATE_BUILD_COMMIT=""
ENV TRACEGATE_BUILD_COMMIT=${TRACEGATE_BUILD_COMMIT}
# The published image is built with release-lto (the smallest, fastest binary); the test that
# builds this file in CI passes PROFILE=release, a build several times quicker.
ARG PROFILE=release-lto
RUN cargo build --locked --profile "${PROFILE}" --bin tracegate \
 && cp "target/${PROFILE}/tracegate" /usr/local/bin/tracegate \
 && /usr/local/bin/tracegate --version

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /usr/local/bin/tracegate /usr/local/bin/tracegate
ENTRYPOINT ["tracegate"]
CMD ["--help"]
