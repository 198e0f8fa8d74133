//! Which directory of the tree an image is built from: skaffold artifacts, Tilt, compose
//! services with both `image:` and `build:`, and CI (workflows, Makefiles, scripts, bake
//! files). A Kubernetes workload naming that image runs the code there, whatever the
//! workload, the image or the directory are called.

use std::collections::HashMap;

use super::is_under;
use super::work::Svc;
use crate::check::inputs::k8s::{ImageBuild, Workload, COMPOSE};

/// Image → build directory, by the image as written and by its repository (no tag), as
/// skaffold and compose match them (a registry-qualified `gcr.io/x/cartservice` is not the
/// bare `cartservice` a build names: the join by name covers that); a key two directories
/// claim is ambiguous and joins nothing.
#[derive(Default)]
pub(super) struct BuiltImages(
    HashMap<String, Option<String>>,
    /// Image → the Dockerfile and context it is built with (skaffold, Tilt, build scripts).
    HashMap<String, Option<(String, String)>>,
    /// The last path segment of an image CI builds (`ledger` of
    /// `${{ env.REGISTRY }}/${{ github.repository_owner }}/ledger`) → its directory and
    /// Dockerfile; a segment two directories claim joins nothing.
    HashMap<String, Option<Built>>,
    /// An image CI builds, as written and by its repository: after the others' keys (a CI
    /// build never spoils a compose or skaffold one), before any segment.
    HashMap<String, Option<Built>>,
);

/// `built` under `key`, unless another directory claims it (then nothing).
fn claim(map: &mut HashMap<String, Option<Built>>, key: String, built: &Built) {
    let slot = map.entry(key).or_insert_with(|| Some(built.clone()));
    if slot.as_ref().map(|s| &s.0) != Some(&built.0) {
        *slot = None;
    }
}

/// Where a CI build's code is, and the Dockerfile and context it is built with.
type Built = (String, Option<(String, String)>);

impl BuiltImages {
    /// From the builds and compose services; a CI build whose directory is not in `dirs`
    /// (a script run from elsewhere than assumed) is left out.
    pub(super) fn new(builds: &[ImageBuild], workloads: &[Workload], dirs: &[String]) -> Self {
        let mut out = BuiltImages::default();
        for b in builds {
            if b.loose {
                if b.dir != "." && !dirs.contains(&b.dir) {
                    continue;
                }
                let built = (b.dir.clone(), b.dockerfile.clone());
                claim(&mut out.2, segment(&b.image).to_string(), &built);
                for key in keys(&b.image) {
                    claim(&mut out.3, key, &built);
                }
                continue;
            }
            out.add(&b.image, &b.dir);
            if let Some(d) = &b.dockerfile {
                for key in keys(&b.image) {
                    let slot = out.1.entry(key).or_insert_with(|| Some(d.clone()));
                    if slot.as_ref() != Some(d) {
                        *slot = None;
                    }
                }
            }
        }
        for w in workloads {
            if let Some(dir) = &w.build {
                for image in &w.images {
                    out.add(image, dir);
                }
            }
        }
        // Compose files of one directory merge by service name (`docker-compose.yml` names
        // the image, the override `docker-compose.dev.yml` the `build:`): the image is built
        // from that directory.
        let file_dir = |w: &Workload| w.file.rsplit_once('/').map_or(".", |(d, _)| d).to_owned();
        let mut built_here: HashMap<(String, &str), Option<&str>> = HashMap::new();
        for w in workloads
            .iter()
            .filter(|w| w.kind == COMPOSE && w.images.is_empty())
        {
            if let Some(dir) = &w.build {
                let slot = built_here
                    .entry((file_dir(w), w.name.as_str()))
                    .or_insert(Some(dir));
                if *slot != Some(dir.as_str()) {
                    *slot = None;
                }
            }
        }
        for w in workloads
            .iter()
            .filter(|w| w.kind == COMPOSE && w.build.is_none())
        {
            if let Some(Some(dir)) = built_here.get(&(file_dir(w), w.name.as_str())) {
                for image in &w.images {
                    out.add(image, dir);
                }
            }
        }
        out
    }

    fn add(&mut self, image: &str, dir: &str) {
        for key in keys(image) {
            let slot = self.0.entry(key).or_insert_with(|| Some(dir.to_string()));
            if slot.as_deref() != Some(dir) {
                *slot = None;
            }
        }
    }

    /// The build directory of the first of `images` built from the tree, else of the first
    /// whose last path segment CI builds.
    pub(super) fn dir_of(&self, images: &[String]) -> Option<String> {
        images
            .iter()
            .find_map(|image| {
                keys(image)
                    .into_iter()
                    .find_map(|k| self.0.get(&k).cloned().flatten())
            })
            .or_else(|| self.by_ci(images).map(|b| b.0.clone()))
    }

    /// The CI build of the first of `images` it names as written, else by segment.
    fn by_ci(&self, images: &[String]) -> Option<&Built> {
        images
            .iter()
            .find_map(|image| {
                keys(image)
                    .into_iter()
                    .find_map(|k| self.3.get(&k).and_then(Option::as_ref))
            })
            .or_else(|| self.by_segment(images))
    }

    /// A CI build of the last path segment of the first of `images` that names a namespace:
    /// a bare `nginx:1.27` (`docker.io/library/nginx`) is Docker Hub's official image, not
    /// `ghcr.io/acme/nginx` built from the tree.
    fn by_segment(&self, images: &[String]) -> Option<&Built> {
        images
            .iter()
            .filter(|image| image.contains('/') && !image.contains("library/"))
            .find_map(|image| self.2.get(segment(image)).and_then(Option::as_ref))
    }

    /// The Dockerfile and build context of the first of `images` a skaffold or Tilt build
    /// of the tree makes.
    pub(super) fn dockerfile_of(&self, images: &[String]) -> Option<(String, String)> {
        images
            .iter()
            .find_map(|image| {
                keys(image)
                    .into_iter()
                    .find_map(|k| self.1.get(&k).cloned().flatten())
            })
            .or_else(|| self.by_ci(images).and_then(|b| b.1.clone()))
    }

    /// Whether the tree builds no image at all (no compose `build:`, skaffold, Tilt, CI or
    /// script build).
    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty() && self.1.is_empty() && self.2.is_empty() && self.3.is_empty()
    }

    /// The service whose code is at `dir`: the one there, else the only one under it (a
    /// manifest in a source subfolder of the build context: `false`; never for the root).
    pub(super) fn service_at(&self, services: &[Svc], dir: &str) -> Option<(usize, bool)> {
        if let Some(i) = services.iter().position(|s| s.path == dir) {
            return Some((i, true));
        }
        if dir == "." {
            return None;
        }
        let mut under = services
            .iter()
            .enumerate()
            .filter(|(_, s)| is_under(&s.path, dir));
        match (under.next(), under.next()) {
            (Some((i, _)), None) => Some((i, false)),
            _ => None,
        }
    }
}

/// An image's last path segment without tag or digest (`ledger` of `ghcr.io/acme/ledger:1`).
fn segment(image: &str) -> &str {
    let image = image.split('@').next().unwrap_or(image);
    let last = image.rsplit('/').next().unwrap_or(image);
    last.split(':').next().unwrap_or(last)
}

/// The keys an image is known by: as written (no digest), its repository (no tag).
fn keys(image: &str) -> Vec<String> {
    let image = image.split('@').next().unwrap_or(image);
    let repo = match image.rsplit_once(':') {
        Some((r, tag)) if !tag.contains('/') => r,
        _ => image,
    };
    let mut keys = vec![image.to_string()];
    if !repo.is_empty() && repo != image {
        keys.push(repo.to_string());
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(image: &str, dir: &str) -> ImageBuild {
        ImageBuild {
            image: image.into(),
            dir: dir.into(),
            dockerfile: None,
            file: "skaffold.yaml".into(),
            line: 1,
            loose: false,
        }
    }

    #[test]
    fn an_image_a_script_builds_for_any_registry_joins_by_its_last_component() {
        let any = |image: &str, dir: &str| ImageBuild {
            loose: true,
            ..build(image, dir)
        };
        let dirs: Vec<String> = ["services/auth", "a", "b", "services/webui"]
            .iter()
            .map(|d| d.to_string())
            .collect();
        let built = BuiltImages::new(
            &[
                any("teastore-auth", "services/auth"),
                any("shared", "a"),
                any("shared", "b"),
                build("acme/webui", "services/webui"),
            ],
            &[],
            &dirs,
        );
        let dir = |i: &str| built.dir_of(&[i.to_string()]);
        assert_eq!(
            dir("descartesresearch/teastore-auth:1.4").as_deref(),
            Some("services/auth")
        );
        assert_eq!(dir("teastore-auth").as_deref(), Some("services/auth"));
        // Two directories build it: neither.
        assert_eq!(dir("x/shared"), None);
        // A literal build keeps its registry.
        assert_eq!(dir("other/webui"), None);
    }

    #[test]
    fn images_join_by_reference_repository_or_name_unless_ambiguous() {
        let compose = |name: &str, image: &str, dir: &str| Workload {
            name: name.into(),
            kind: "compose".into(),
            images: vec![image.into()],
            build: Some(dir.into()),
            ..Workload::default()
        };
        let built = BuiltImages::new(
            &[build("cartservice", "src/cartservice")],
            &[
                compose("quote", "ghcr.io/acme/shop:quote", "src/quote"),
                compose("email", "ghcr.io/acme/shop:email", "src/email"),
            ],
            &[],
        );
        let dir = |i: &str| built.dir_of(&[i.to_string()]);
        assert_eq!(dir("cartservice").as_deref(), Some("src/cartservice"));
        assert_eq!(
            dir("cartservice:v1@sha256:0").as_deref(),
            Some("src/cartservice")
        );
        // Another registry's image of the same name is not this build.
        assert_eq!(dir("us-docker.pkg.dev/p/r/cartservice:v1"), None);
        assert_eq!(dir("ghcr.io/acme/shop:quote").as_deref(), Some("src/quote"));
        // The repository `ghcr.io/acme/shop` is claimed by two directories: it joins neither.
        assert_eq!(dir("ghcr.io/acme/shop:latest"), None);
        assert_eq!(dir("ghcr.io/acme/shop"), None);
        assert_eq!(dir("cart"), None);
    }

    #[test]
    fn ci_builds_join_by_last_segment_when_one_directory_in_the_tree_claims_it() {
        let ci = |image: &str, dir: &str| ImageBuild {
            loose: true,
            ..build(image, dir)
        };
        let dirs: Vec<String> = ["services", "services/ledger", "services/ledger-v2", "web"]
            .iter()
            .map(|d| d.to_string())
            .collect();
        let built = BuiltImages::new(
            &[
                ci("shop-ledger", "services/ledger"),
                ci("ghcr.io/acme/web", "web"),
                ci("registry.example.com/other/web", "services"),
                ci("gone", "services/removed"),
                build("cartservice", "src/cartservice"),
            ],
            &[],
            &dirs,
        );
        let dir = |i: &str| built.dir_of(&[i.to_string()]);
        assert_eq!(
            dir("ghcr.io/acme/shop-ledger:1.4.0").as_deref(),
            Some("services/ledger")
        );
        assert_eq!(dir("shop-ledger").as_deref(), Some("services/ledger"));
        // Written in full, the image is the build's; by its segment, two directories: none.
        assert_eq!(dir("ghcr.io/acme/web:2").as_deref(), Some("web"));
        assert_eq!(dir("docker.io/acme/web:2"), None);
        // A directory not in the tree: left out.
        assert_eq!(dir("acme/gone:1"), None);
        // Docker Hub's official image of that name is not the build.
        let official = BuiltImages::new(&[ci("ghcr.io/acme/nginx", "web")], &[], &dirs);
        assert_eq!(official.dir_of(&["nginx:1.27".into()]), None);
        assert_eq!(official.dir_of(&["docker.io/library/nginx".into()]), None);
        assert_eq!(
            official
                .dir_of(&["registry.acme.io/nginx:2".into()])
                .as_deref(),
            Some("web")
        );
        // skaffold's builds keep their exact keys only.
        assert_eq!(dir("gcr.io/p/cartservice:v1"), None);
        // A bare image CI names bare (`kind load`): as written.
        let bare = BuiltImages::new(&[ci("shop-ledger", "services/ledger")], &[], &dirs);
        assert_eq!(
            bare.dir_of(&["shop-ledger:dev".into()]).as_deref(),
            Some("services/ledger")
        );
        // A CI build does not spoil a compose service's image of another directory.
        let compose = Workload {
            name: "web".into(),
            kind: "compose".into(),
            images: vec!["ghcr.io/acme/web".into()],
            build: Some("web".into()),
            ..Workload::default()
        };
        let both = BuiltImages::new(&[ci("ghcr.io/acme/web", "services")], &[compose], &dirs);
        assert_eq!(
            both.dir_of(&["ghcr.io/acme/web:1".into()]).as_deref(),
            Some("web")
        );
    }

    #[test]
    fn a_compose_override_building_a_service_builds_the_image_the_base_file_names() {
        let compose = |file: &str, name: &str, image: Option<&str>, build: Option<&str>| Workload {
            name: name.into(),
            kind: COMPOSE.into(),
            file: file.into(),
            images: image.into_iter().map(String::from).collect(),
            build: build.map(String::from),
            ..Workload::default()
        };
        let built = BuiltImages::new(
            &[],
            &[
                compose(
                    "docker-compose.yml",
                    "account-mongodb",
                    Some("acme/mongodb"),
                    None,
                ),
                compose(
                    "docker-compose.dev.yml",
                    "account-mongodb",
                    None,
                    Some("mongodb"),
                ),
                // Another directory's compose file is another project.
                compose(
                    "deploy/docker-compose.yml",
                    "gateway",
                    Some("acme/gateway"),
                    None,
                ),
                compose("docker-compose.dev.yml", "gateway", None, Some("gateway")),
            ],
            &[],
        );
        let dir = |i: &str| built.dir_of(&[i.to_string()]);
        assert_eq!(dir("acme/mongodb").as_deref(), Some("mongodb"));
        assert_eq!(dir("acme/gateway"), None);
    }

    #[test]
    fn the_service_at_a_build_directory_or_the_only_one_under_it() {
        let svc = |path: &str| Svc {
            path: path.into(),
            ..Svc::default()
        };
        let services = [
            svc("src/a"),
            svc("src/b/app"),
            svc("src/c/x"),
            svc("src/c/y"),
        ];
        let built = BuiltImages::default();
        assert_eq!(built.service_at(&services, "src/a"), Some((0, true)));
        assert_eq!(built.service_at(&services, "src/b"), Some((1, false)));
        assert_eq!(built.service_at(&services, "src/c"), None);
        assert_eq!(built.service_at(&services, "src/d"), None);
        // The root holds everything: only a service there.
        assert_eq!(built.service_at(&services[..1], "."), None);
    }
}
