//! Maven inheritance: the `<dependencies>` a parent pom declares are dependencies of every
//! module naming it as `<parent>` (and of their children in turn), as Maven's effective POM
//! has them. A multi-module build that adds `micrometer-tracing-bridge-otel` or the
//! OpenTelemetry starter once in its root pom instruments every service module. A parent's
//! `<dependencyManagement>` only pins versions and adds nothing (it is not read).
//!
//! The parent is found as Maven finds it: at `<relativePath>` (default `../pom.xml`; a
//! directory means its `pom.xml`) when the pom there has the coordinates the child names,
//! else the tree's pom of those coordinates (`<relativePath/>` asks for that). A parent outside
//! the tree (`spring-boot-starter-parent`) adds nothing.

use std::collections::{HashMap, HashSet};

use crate::check::facts::{paths, Fact, FactKind};
use crate::check::inputs::discover::{Parsed, WalkedFile};
use crate::check::inputs::manifests::{ManifestKind, Reference};

/// The longest chain of parents followed (a hostile tree may make a cycle or a long chain).
const MAX_DEPTH: usize = 16;

/// What one pom gives its children.
struct Pom {
    name: Option<String>,
    dir: String,
    dependencies: Vec<Fact>,
    /// Its dependencies that may be modules of the tree (by coordinates).
    uses: Vec<Reference>,
    /// Its own parent.
    parent: Option<(String, Option<String>)>,
}

fn parent_of(uses: &[Reference]) -> Option<(String, Option<String>)> {
    uses.iter().find_map(|u| match u {
        Reference::MavenParent {
            coordinates,
            relative_path,
        } => Some((coordinates.clone(), relative_path.clone())),
        _ => None,
    })
}

/// Give every Maven module the dependencies of its parents in the tree.
pub(super) fn apply(files: &mut [WalkedFile]) {
    let mut poms: HashMap<String, Pom> = HashMap::new();
    for f in files.iter() {
        if let Parsed::Manifest(m) = &f.parsed {
            if m.kind == ManifestKind::Maven {
                poms.insert(
                    f.rel.clone(),
                    Pom {
                        name: m.name.clone(),
                        dir: f.dir.clone(),
                        dependencies: m
                            .facts
                            .iter()
                            .filter(|x| matches!(x.kind, FactKind::Dependency { .. }))
                            .cloned()
                            .collect(),
                        uses: m
                            .uses
                            .iter()
                            .filter(|u| matches!(u, Reference::Name(..)))
                            .cloned()
                            .collect(),
                        parent: parent_of(&m.uses),
                    },
                );
            }
        }
    }
    if !poms.values().any(|p| p.parent.is_some()) {
        return;
    }
    let mut by_name: HashMap<&str, Vec<&str>> = HashMap::new();
    for (rel, p) in &poms {
        if let Some(n) = p.name.as_deref() {
            by_name.entry(n).or_default().push(rel.as_str());
        }
    }
    for list in by_name.values_mut() {
        list.sort_unstable();
    }
    // The parent pom (its path) of the pom at `rel`.
    let find = |rel: &str| -> Option<String> {
        let pom = poms.get(rel)?;
        let (coordinates, relative) = pom.parent.as_ref()?;
        let at = match relative.as_deref() {
            Some("") => None,
            Some(path) => Some(path.to_string()),
            None => Some("../pom.xml".to_string()),
        };
        let by_path = at
            .and_then(|p| {
                let p = p.trim().trim_end_matches('/');
                let p = if p.ends_with(".xml") {
                    p.to_string()
                } else {
                    format!("{p}/pom.xml")
                };
                paths::resolve(&pom.dir, &p)
            })
            .filter(|p| poms.get(p).and_then(|x| x.name.as_deref()) == Some(coordinates));
        by_path.or_else(|| {
            by_name
                .get(coordinates.as_str())
                .and_then(|l| l.first())
                .map(|s| (*s).to_string())
        })
    };
    let mut inherited: HashMap<String, (Vec<Fact>, Vec<Reference>)> = HashMap::new();
    for rel in poms.keys() {
        let mut seen = HashSet::from([rel.clone()]);
        let mut at = rel.clone();
        let (mut deps, mut uses) = (Vec::new(), Vec::new());
        while let Some(parent) = find(&at) {
            if seen.len() > MAX_DEPTH || !seen.insert(parent.clone()) {
                break;
            }
            if let Some(p) = poms.get(&parent) {
                deps.extend(p.dependencies.iter().cloned());
                uses.extend(p.uses.iter().cloned());
            }
            at = parent;
        }
        if !deps.is_empty() || !uses.is_empty() {
            inherited.insert(rel.clone(), (deps, uses));
        }
    }
    for f in files.iter_mut() {
        let Parsed::Manifest(m) = &mut f.parsed else {
            continue;
        };
        if m.kind != ManifestKind::Maven {
            continue;
        }
        if let Some((deps, uses)) = inherited.remove(&f.rel) {
            m.facts.extend(deps);
            for u in uses {
                if !m.uses.contains(&u) {
                    m.uses.push(u);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::inputs::manifests::jvm::parse_pom;

    fn pom(rel: &str, parent: Option<(&str, &str)>, artifact: &str, deps: &[&str]) -> WalkedFile {
        let parent = match parent {
            Some((coordinates, inner)) => {
                let (g, a) = coordinates.split_once(':').unwrap();
                format!(
                    "<parent><groupId>{g}</groupId><artifactId>{a}</artifactId>{inner}</parent>"
                )
            }
            None => String::new(),
        };
        let deps: String = deps
            .iter()
            .map(|d| {
                let (g, a) = d.split_once(':').unwrap();
                format!(
                    "<dependency><groupId>{g}</groupId><artifactId>{a}</artifactId></dependency>"
                )
            })
            .collect();
        let text = format!(
            "<project>{parent}<groupId>shop</groupId><artifactId>{artifact}</artifactId><dependencies>{deps}</dependencies></project>"
        );
        let dir = rel.rsplit_once('/').map_or(".", |(d, _)| d).to_string();
        WalkedFile {
            rel: rel.to_string(),
            dir,
            parsed: Parsed::Manifest(parse_pom(rel, &text).unwrap()),
        }
    }

    fn dependencies(f: &WalkedFile) -> Vec<String> {
        let Parsed::Manifest(m) = &f.parsed else {
            panic!("not a manifest")
        };
        let mut out: Vec<String> = m
            .facts
            .iter()
            .filter_map(|x| match &x.kind {
                FactKind::Dependency { name } => Some(format!("{name}@{}", x.file)),
                _ => None,
            })
            .collect();
        out.sort();
        out
    }

    #[test]
    fn modules_inherit_their_parents_dependencies() {
        let bridge = "io.micrometer:micrometer-tracing-bridge-otel";
        let mut files = vec![
            pom("pom.xml", None, "shop-parent", &[bridge]),
            // Default relativePath `../pom.xml`.
            pom(
                "orders/pom.xml",
                Some(("shop:shop-parent", "")),
                "orders",
                &["a:web"],
            ),
            // A sub-aggregator and its child: the chain is followed.
            pom(
                "notify/pom.xml",
                Some(("shop:shop-parent", "")),
                "notify-parent",
                &["a:mail"],
            ),
            pom(
                "notify/email/pom.xml",
                Some(("shop:notify-parent", "")),
                "email",
                &[],
            ),
            // `<relativePath/>` and a pom elsewhere: found by coordinates.
            pom(
                "apps/pay/pom.xml",
                Some(("shop:shop-parent", "<relativePath/>")),
                "pay",
                &[],
            ),
            // Twin: `../pom.xml` has other coordinates (the parent is outside the tree).
            pom(
                "reports/pom.xml",
                Some(("org.springframework.boot:spring-boot-starter-parent", "")),
                "reports",
                &["a:web"],
            ),
            // A cycle ends.
            pom("loop/a/pom.xml", Some(("shop:b", "../b")), "a", &["x:a"]),
            pom("loop/b/pom.xml", Some(("shop:a", "../a")), "b", &["x:b"]),
        ];
        apply(&mut files);
        let root = format!("{bridge}@pom.xml");
        assert_eq!(dependencies(&files[1]), ["a:web@orders/pom.xml", &root]);
        assert_eq!(
            dependencies(&files[3]),
            ["a:mail@notify/pom.xml".to_string(), root.clone()]
        );
        assert_eq!(dependencies(&files[4]), [root.as_str()]);
        assert_eq!(dependencies(&files[5]), ["a:web@reports/pom.xml"]);
        assert_eq!(
            dependencies(&files[6]),
            ["x:a@loop/a/pom.xml", "x:b@loop/b/pom.xml"]
        );
    }
}
