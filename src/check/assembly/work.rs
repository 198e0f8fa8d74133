//! The working types of a scan: a service being assembled ([`Svc`]), then assessed, and the
//! repository-wide Kubernetes context ([`Repo`]).

use std::collections::BTreeMap;

use crate::check::facts::names::NameFilter;
use crate::check::facts::{Fact, FactKind, SourceFacts};
use crate::check::inputs::k8s::{ConfigMap, Ingress, Instrumentation, Workload};
pub use crate::check::inputs::kustomize::OfferedEnv;
use crate::check::inputs::lang::SourceKind;
use crate::check::model::{Infrastructure, Language};

/// A service being assembled.
#[derive(Clone, Debug, Default)]
pub struct Svc {
    /// Name.
    pub name: String,
    /// Directory.
    pub path: String,
    /// Language.
    pub language: Option<Language>,
    /// Main manifest file.
    pub manifest: Option<String>,
    /// Facts from manifests, launch files and workloads.
    pub facts: Vec<Fact>,
    /// Shell scripts of its directory, (file, facts): they count once a command runs them.
    pub scripts: Vec<(String, Vec<Fact>)>,
    /// Source files' facts.
    pub sources: Vec<SourceFacts>,
    /// Kubernetes workloads deploying it.
    pub workloads: Vec<Workload>,
    /// Files not analysed.
    pub skipped: Vec<(String, String, Option<u32>)>,
    /// Files of its own (or a library's) that may carry a signal but could not be analysed
    /// ([`Parsed::NotAnalysed`](crate::check::inputs::discover::Parsed::NotAnalysed), a manifest that could not be read): it cannot pass, and no
    /// code is judged dead (what calls it may be in them).
    pub unanalysed: Vec<String>,
    /// Source files the pre-filter left unparsed.
    pub unparsed: Vec<(SourceKind, String, Option<NameFilter>)>,
    /// The path of each entry of `sources`, in the same order.
    pub source_files: Vec<String>,
    /// Declared in `tracegate.yaml`: its name is the user's, never replaced by a workload's.
    pub declared: bool,
    /// Python: the top-level modules its files import (for the shared packages of the tree
    /// without a manifest: [`shared_python`](super::shared_python)).
    pub python_imports: Vec<String>,
    /// Cargo.toml gives a `[lib]`/`[[bin]]` its own `path`: the module tree is not judged.
    pub rust_custom_targets: bool,
    /// Environment a kustomize component of the tree would give its workloads, though no
    /// kustomization deploys that component (what TG106 names as the way to turn a flag on).
    pub offered_env: Vec<OfferedEnv>,
    /// Set once its rules are evaluated and `sources` freed: whether it uses the tracegate
    /// propagation library (all the repository rules still need of its sources).
    pub(crate) settled_propagation: Option<bool>,
}

impl Svc {
    /// Attach a parsed source file (a recovered syntax error becomes a note).
    pub(crate) fn add_source(&mut self, rel: String, facts: SourceFacts) {
        if let Some(line) = facts.syntax_error {
            self.skipped.push((
                rel.clone(),
                format!("syntax error at line {line}; only the parts that parse are analysed"),
                Some(line),
            ));
        }
        self.source_files.push(rel);
        self.sources.push(facts);
    }

    /// Every fact of the service (manifests, workloads, live code).
    pub fn all_facts(&self) -> impl Iterator<Item = &Fact> {
        self.facts
            .iter()
            .chain(self.workloads.iter().flat_map(|w| w.facts.iter()))
            .chain(self.sources.iter().flat_map(|s| s.facts.iter()))
    }

    /// Free the source facts and file lists once the service's own rules are evaluated (on the
    /// thread that evaluated them), keeping what the repository rules use.
    pub(crate) fn settle_sources(&mut self) {
        self.settled_propagation = Some(self.uses_tracegate_propagation());
        self.sources = Vec::new();
        self.source_files = Vec::new();
        self.unparsed = Vec::new();
    }

    /// Whether the service uses the tracegate propagation library.
    pub fn uses_tracegate_propagation(&self) -> bool {
        if let Some(settled) = self.settled_propagation {
            return settled;
        }
        let pattern = ["tracegate".to_string(), "propagation".to_string()];
        self.all_facts().any(|f| match &f.kind {
            FactKind::Symbol { path } | FactKind::Call { path, .. } => {
                crate::check::facts::path_contains(path, &pattern)
            }
            _ => false,
        })
    }
}

/// Repository-wide Kubernetes context.
#[derive(Debug, Default)]
pub struct Repo {
    /// ConfigMaps by name.
    pub configmaps: BTreeMap<String, ConfigMap>,
    /// Ingresses.
    pub ingresses: Vec<Ingress>,
    /// Mesh tracing configuration places.
    pub mesh_tracing: Vec<(String, u32)>,
    /// The OpenTelemetry Operator's `Instrumentation` resources.
    pub instrumentations: Vec<Instrumentation>,
    /// Files not analysed outside any service.
    pub skipped: Vec<(String, String, Option<u32>)>,
    /// Infrastructure deployed beside the services, by name.
    pub infrastructure: Vec<Infrastructure>,
    /// Environment unused kustomize components would set, by workload name.
    pub offered_env: Vec<OfferedEnv>,
}

/// Free `value` on a thread of its own: a large structure whose memory the walk's threads
/// allocated costs milliseconds to free, on a stage that otherwise leaves the other cores idle.
pub(crate) fn drop_in_background<T: Send + 'static>(value: T) {
    // When no thread can be started, `value` is freed here, with the closure holding it.
    let _detached = std::thread::Builder::new()
        .name("tracegate-free".into())
        .spawn(move || drop(value));
}
