//! Images built from the tree: skaffold's `build.artifacts` (`image` built from `context`,
//! with `docker.dockerfile`, or from a sub-project of it: `jib.project`, `ko.dir`/`ko.main`,
//! a `bazel.target` package), top level and per profile. How a Kubernetes workload that names
//! a bare image (`image: cartservice`) is joined to the code it runs.

use serde_yaml::Value;

use super::{get, s, Doc};

/// An image built from a directory of the tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageBuild {
    /// The image as the build names it (`cartservice`, `ghcr.io/acme/cart`).
    pub image: String,
    /// The directory of the code: the Dockerfile's directory when one is named, else the
    /// build context; relative to the root.
    pub dir: String,
    /// The Dockerfile it builds with and the build context, relative to the root (what its
    /// `COPY` sources are read against when the Dockerfile sits apart from the code).
    pub dockerfile: Option<(String, String)>,
    /// Where it is declared.
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// Built for whichever registry a variable names (`"${registry}auth"` in a build
    /// script): `image` is the bare name, matched by a workload image's last component.
    pub any_registry: bool,
}

/// A skaffold configuration (`apiVersion: skaffold/v…`).
pub(super) fn is_skaffold(value: &Value) -> bool {
    get(value, &["apiVersion"])
        .and_then(s)
        .is_some_and(|v| v.starts_with("skaffold/"))
}

/// Every artifact of a skaffold document, its own and its profiles'.
pub(super) fn skaffold(rel: &str, doc: &Doc<'_>, value: &Value, out: &mut Vec<ImageBuild>) {
    let dir = parent(rel);
    let mut builds = vec![get(value, &["build", "artifacts"])];
    if let Some(Value::Sequence(profiles)) = get(value, &["profiles"]) {
        builds.extend(profiles.iter().map(|p| get(p, &["build", "artifacts"])));
    }
    for artifacts in builds.into_iter().flatten() {
        let Value::Sequence(artifacts) = artifacts else {
            continue;
        };
        for a in artifacts {
            let Some(image) = get(a, &["image"]).and_then(s) else {
                continue;
            };
            let context = get(a, &["context"])
                .and_then(s)
                .unwrap_or_else(|| ".".into());
            let dockerfile = get(a, &["docker", "dockerfile"]).and_then(s);
            let Some(code) = code_dir(dir, &context, dockerfile.as_deref())
                .map(|code| sub_project(a, &code).unwrap_or(code))
            else {
                continue;
            };
            // skaffold reads `docker.dockerfile` relative to the context.
            let dockerfile = join(dir, &context).and_then(|context| {
                let file = join(&context, dockerfile.as_deref().unwrap_or("Dockerfile"))?;
                Some((file, context))
            });
            out.push(ImageBuild {
                line: doc.line(&format!("image: {image}"), doc.start),
                image,
                dir: code,
                dockerfile,
                file: rel.to_string(),
                any_registry: false,
            });
        }
    }
}

/// The directory of the code a builder takes from a sub-project of the context `context`
/// (itself resolved): Jib's `project` (a Maven module's path, a Gradle project path
/// `:services:orders` in its default directory), ko's `dir` and `main` (a Go `main` package),
/// a Bazel `target`'s package (`//src/orders:image`). `None` when the builder names none, or a
/// Maven `groupId:artifactId` that no path tells.
fn sub_project(artifact: &Value, context: &str) -> Option<String> {
    if let Some(project) = get(artifact, &["jib", "project"]).and_then(s) {
        let path = match project.strip_prefix(':') {
            Some(gradle) => gradle.replace(':', "/"),
            None if project.contains(':') => return None,
            None => project,
        };
        return join(context, &path);
    }
    if let Some(ko) = get(artifact, &["ko"]) {
        let dir = get(ko, &["dir"]).and_then(s).unwrap_or_else(|| ".".into());
        let main = get(ko, &["main"]).and_then(s).unwrap_or_else(|| ".".into());
        // An import path (`github.com/acme/shop/cmd/api`) is not a directory.
        if !main.starts_with('.') {
            return None;
        }
        return join(&join(context, &dir)?, &main);
    }
    let target = get(artifact, &["bazel", "target"]).and_then(s)?;
    let package = target.strip_prefix("//")?.split(':').next()?;
    join(context, if package.is_empty() { "." } else { package })
}

/// The directory of the file `rel` (`.` at the root).
pub(super) fn parent(rel: &str) -> &str {
    rel.rsplit_once('/').map_or(".", |(d, _)| d)
}

/// The code's directory of a build: `context` relative to `base`, then the directory of
/// `dockerfile` relative to the context when one is named. `None` when it leaves the root or
/// is absolute.
pub(super) fn code_dir(base: &str, context: &str, dockerfile: Option<&str>) -> Option<String> {
    let context = join(base, context)?;
    match dockerfile {
        Some(f) => join(&context, parent(f)),
        None => Some(context),
    }
}

/// `path` relative to the directory `base`, with `.` and `..` resolved; `.` for the root.
pub(super) fn join(base: &str, path: &str) -> Option<String> {
    if path.starts_with('/') || path.contains("://") || path.contains('$') {
        return None;
    }
    crate::check::facts::paths::resolve(base, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_directories_resolve_against_the_declaring_file() {
        assert_eq!(join(".", "./src/frontend").as_deref(), Some("src/frontend"));
        assert_eq!(join("deploy", "../src/a/").as_deref(), Some("src/a"));
        assert_eq!(join(".", "./").as_deref(), Some("."));
        assert_eq!(join(".", "../elsewhere"), None);
        assert_eq!(join(".", "/abs"), None);
        assert_eq!(join(".", "${CTX}"), None);
        assert_eq!(
            code_dir(".", "./", Some("src/quote/Dockerfile")).as_deref(),
            Some("src/quote")
        );
        assert_eq!(
            code_dir(".", "src/orders", Some("Dockerfile")).as_deref(),
            Some("src/orders")
        );
    }

    #[test]
    fn skaffold_artifacts_top_level_and_per_profile() {
        let text = "apiVersion: skaffold/v4beta11\nkind: Config\nbuild:\n  artifacts:\n    - image: cartservice\n      context: src/cartservice\n    - image: orders\n      context: src/orders\n      docker:\n        dockerfile: Dockerfile\n    - image: root\nprofiles:\n  - name: gcb\n    build:\n      artifacts:\n        - image: loadgenerator\n          context: src/loadgenerator\n";
        let f = super::super::parse("deploy/skaffold.yaml", text).unwrap();
        let got: Vec<(&str, &str, u32)> = f
            .builds
            .iter()
            .map(|b| (b.image.as_str(), b.dir.as_str(), b.line))
            .collect();
        assert_eq!(
            got,
            [
                ("cartservice", "deploy/src/cartservice", 5),
                ("orders", "deploy/src/orders", 7),
                ("root", "deploy", 11),
                ("loadgenerator", "deploy/src/loadgenerator", 16),
            ]
        );
        assert!(f.workloads.is_empty());
        // Not skaffold: a Kubernetes `Config` of another API.
        let other = text.replace("skaffold/v4beta11", "example.com/v1");
        assert!(super::super::parse("skaffold.yaml", &other)
            .unwrap()
            .builds
            .is_empty());
    }

    #[test]
    fn sub_projects_of_a_context_are_the_code() {
        let text = "apiVersion: skaffold/v4beta1\nkind: Config\nbuild:\n  artifacts:\n  - image: balancereader\n    context: ../../../\n    jib:\n      project: src/ledger/balancereader\n  - image: orders\n    jib:\n      project: :services:orders\n      type: gradle\n  - image: billing\n    jib:\n      project: com.acme:billing\n  - image: api\n    ko:\n      main: ./cmd/api\n  - image: worker\n    context: go\n    ko:\n      dir: ./platform\n      main: ./cmd/worker\n  - image: gateway\n    ko:\n      main: github.com/acme/shop/cmd/gateway\n  - image: search\n    bazel:\n      target: //src/search:image.tar\n";
        let f = super::super::parse("src/ledger/balancereader/skaffold.yaml", text).unwrap();
        let got: Vec<(&str, &str)> = f
            .builds
            .iter()
            .map(|b| (b.image.as_str(), b.dir.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("balancereader", "src/ledger/balancereader"),
                ("orders", "src/ledger/balancereader/services/orders"),
                // A Maven `groupId:artifactId` names no directory: the context.
                ("billing", "src/ledger/balancereader"),
                ("api", "src/ledger/balancereader/cmd/api"),
                ("worker", "src/ledger/balancereader/go/platform/cmd/worker"),
                ("gateway", "src/ledger/balancereader"),
                ("search", "src/ledger/balancereader/src/search"),
            ]
        );
    }
}
