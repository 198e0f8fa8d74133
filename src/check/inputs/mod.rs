//! Stage 1 of the check engine: read the repository. [`discover`] walks the tree once in
//! parallel and hands each interesting file to its parser: application [`manifests`] (Cargo,
//! npm, Go, Python, JVM, .NET, Dockerfiles), sources to [`lang`] (what the rules may match,
//! pre-screened by [`prefilter`]), Kubernetes YAML to [`k8s`].

pub mod discover;
pub mod interest;
pub mod k8s;
pub mod lang;
pub mod manifests;
pub mod prefilter;
