//! Infrastructure: workloads and compose services that run a published image of a database,
//! cache, broker, log shipper, collector, tracing backend… — never a service of the
//! repository. Told by the image (its name, or its publisher's namespace), never by the
//! workload's name; an image built from the repository's own code is never infrastructure,
//! but one built from a directory holding no service, whose Dockerfile only extends such an
//! image (`FROM mongo:5` + seed scripts), is ([`built_kind`]).

use std::collections::BTreeMap;

use super::work::Svc;
use crate::check::inputs::k8s::Workload;
use crate::check::model::{Infrastructure, InfrastructureKind as Kind, InfrastructurePlace};

/// An image's last path component (no tag or digest) → what it is.
const BY_NAME: &[(&str, Kind)] = &[
    ("postgres", Kind::Database),
    ("postgresql", Kind::Database),
    ("postgis", Kind::Database),
    ("mysql", Kind::Database),
    ("mariadb", Kind::Database),
    ("mongo", Kind::Database),
    ("mongodb", Kind::Database),
    ("mongodb-community-server", Kind::Database),
    ("cassandra", Kind::Database),
    ("cockroach", Kind::Database),
    ("couchdb", Kind::Database),
    ("clickhouse-server", Kind::Database),
    ("neo4j", Kind::Database),
    ("redis", Kind::Cache),
    ("redis-stack", Kind::Cache),
    ("redis-stack-server", Kind::Cache),
    ("valkey", Kind::Cache),
    ("memcached", Kind::Cache),
    ("keydb", Kind::Cache),
    ("kafka", Kind::Broker),
    ("cp-kafka", Kind::Broker),
    ("cp-server", Kind::Broker),
    ("cp-schema-registry", Kind::Broker),
    ("rabbitmq", Kind::Broker),
    ("nats", Kind::Broker),
    ("nats-streaming", Kind::Broker),
    ("activemq", Kind::Broker),
    ("activemq-artemis", Kind::Broker),
    ("pulsar", Kind::Broker),
    ("redpanda", Kind::Broker),
    ("zookeeper", Kind::Coordination),
    ("cp-zookeeper", Kind::Coordination),
    ("etcd", Kind::Coordination),
    ("consul", Kind::Coordination),
    ("nacos-server", Kind::Coordination),
    ("fluent-bit", Kind::LogShipper),
    ("fluentd", Kind::LogShipper),
    ("fluentd-kubernetes-daemonset", Kind::LogShipper),
    ("vector", Kind::LogShipper),
    ("logstash", Kind::LogShipper),
    ("filebeat", Kind::LogShipper),
    ("promtail", Kind::LogShipper),
    ("opentelemetry-collector", Kind::Collector),
    ("opentelemetry-collector-contrib", Kind::Collector),
    ("opentelemetry-collector-k8s", Kind::Collector),
    ("otelcol", Kind::Collector),
    ("otelcol-contrib", Kind::Collector),
    ("jaeger-agent", Kind::Collector),
    ("jaeger", Kind::TracingBackend),
    ("jaeger-collector", Kind::TracingBackend),
    ("jaeger-query", Kind::TracingBackend),
    ("tempo", Kind::TracingBackend),
    ("zipkin", Kind::TracingBackend),
    ("zipkin-slim", Kind::TracingBackend),
    ("prometheus", Kind::Metrics),
    ("alertmanager", Kind::Metrics),
    ("node-exporter", Kind::Metrics),
    ("pushgateway", Kind::Metrics),
    ("grafana", Kind::Dashboard),
    ("kibana", Kind::Dashboard),
    ("opensearch-dashboards", Kind::Dashboard),
    ("elasticsearch", Kind::Search),
    ("opensearch", Kind::Search),
    ("minio", Kind::ObjectStorage),
    ("envoy", Kind::Proxy),
    ("nginx", Kind::Proxy),
    ("nginx-unprivileged", Kind::Proxy),
    ("traefik", Kind::Proxy),
    ("haproxy", Kind::Proxy),
];

/// A publisher's namespace (a path component before the name) → what its images are, for
/// the names [`BY_NAME`] does not know (`jaegertracing/all-in-one`, `istio/proxyv2`,
/// `registry.k8s.io/ingress-nginx/controller`).
const BY_NAMESPACE: &[(&str, Kind)] = &[
    ("jaegertracing", Kind::TracingBackend),
    ("openzipkin", Kind::TracingBackend),
    ("prom", Kind::Metrics),
    ("grafana", Kind::Dashboard),
    ("confluentinc", Kind::Broker),
    ("envoyproxy", Kind::Proxy),
    ("istio", Kind::Proxy),
    ("ingress-nginx", Kind::Proxy),
    ("fluent", Kind::LogShipper),
    ("bitnami", Kind::Other),
];

/// What the image `image` is, when it is infrastructure.
pub(super) fn kind_of(image: &str) -> Option<Kind> {
    let image = image.split('@').next().unwrap_or(image);
    // A tag follows the last `:` after the last `/` (`localhost:5000/x` is a registry port).
    let repo = match image.rsplit_once(':') {
        Some((r, tag)) if !tag.contains('/') => r,
        _ => image,
    };
    let mut parts: Vec<&str> = repo.split('/').collect();
    let name = parts.pop().unwrap_or(repo);
    if parts.last() == Some(&"tracegate") && name == "tracegate" {
        return Some(Kind::Verifier);
    }
    if let Some((_, kind)) = BY_NAME.iter().find(|(n, _)| *n == name) {
        return Some(*kind);
    }
    // Prometheus exporters beside a database or broker (`oliver006/redis_exporter`).
    if name.ends_with("_exporter") || name.ends_with("-exporter") {
        return Some(Kind::Metrics);
    }
    parts
        .iter()
        .rev()
        .find_map(|p| BY_NAMESPACE.iter().find(|(n, _)| n == p).map(|(_, k)| *k))
}

/// What an image built by `dockerfile` (its text) is, when its last stage extends a published
/// image of infrastructure (followed through stage names: `FROM postgres:16 AS base` …
/// `FROM base`). Not a proxy (an nginx or Envoy built here fronts the services: on the request
/// path, a service of its own), the verifier, or another image of a general publisher
/// (`bitnami/node` is an application's base). The caller asks only for build directories
/// where no service's code is.
pub(super) fn built_kind(dockerfile: &str) -> Option<Kind> {
    let image = shipped_base(dockerfile)?;
    kind_of(image).filter(|k| !matches!(k, Kind::Proxy | Kind::Verifier | Kind::Other))
}

/// The published image the last stage of `dockerfile` (its text) extends, followed through
/// stage names (`FROM postgres:16 AS base` … `FROM base`: `postgres:16`).
pub(super) fn shipped_base(dockerfile: &str) -> Option<&str> {
    let mut stages: Vec<(&str, Option<&str>)> = Vec::new();
    for line in dockerfile.lines() {
        let mut words = line.split_whitespace();
        if !words.next().is_some_and(|w| w.eq_ignore_ascii_case("FROM")) {
            continue;
        }
        let mut words = words.filter(|w| !w.starts_with("--"));
        let Some(image) = words.next() else {
            continue;
        };
        let alias = match (words.next(), words.next()) {
            (Some(as_), Some(name)) if as_.eq_ignore_ascii_case("AS") => Some(name),
            _ => None,
        };
        stages.push((image, alias));
    }
    let mut image = stages.last()?.0;
    // Each step goes to an earlier stage: at most as many steps as stages.
    for _ in 0..stages.len() {
        match stages
            .iter()
            .find(|(_, alias)| alias.is_some_and(|a| a.eq_ignore_ascii_case(image)))
        {
            Some((base, _)) => image = base,
            None => break,
        }
    }
    Some(image)
}

/// General-purpose utility images a pod runs beside its main container for a step (publish
/// a file with curl, clone with git, wait with busybox): they make no workload an application.
const UTILITY_IMAGES: &[&str] = &[
    "curl", "busybox", "alpine", "git", "kubectl", "bash", "jq", "yq",
];

/// Whether `image` is a general-purpose utility ([`UTILITY_IMAGES`]: `curlimages/curl`,
/// `alpine/git`, `bitnami/kubectl`, `busybox`).
fn is_utility(image: &str) -> bool {
    let image = image.split('@').next().unwrap_or(image);
    let repo = match image.rsplit_once(':') {
        Some((r, tag)) if !tag.contains('/') => r,
        _ => image,
    };
    let name = repo.rsplit('/').next().unwrap_or(repo);
    UTILITY_IMAGES.contains(&name)
}

/// The kind of a workload whose every container runs infrastructure (an application pod with
/// an Envoy or collector sidecar is not infrastructure; init containers do not count), not
/// counting utility containers ([`UTILITY_IMAGES`]) beside infrastructure ones. A pod whose
/// containers are all utilities (a Job whose init containers do the work and whose container
/// publishes the result with curl) is what its init containers run.
pub(super) fn workload_kind(w: &Workload) -> Option<Kind> {
    let main: Vec<&String> = w.images.iter().filter(|i| !is_utility(i)).collect();
    let images = if main.is_empty() && !w.images.is_empty() {
        w.init_images.iter().filter(|i| !is_utility(i)).collect()
    } else {
        main
    };
    let mut kinds = images.into_iter().map(|i| kind_of(i));
    let first = kinds.next()??;
    kinds.all(|k| k.is_some()).then_some(first)
}

/// Infrastructure by name: the same name in compose and in Kubernetes is one entry with
/// both places.
#[derive(Default)]
pub(super) struct InfrastructureList(BTreeMap<String, (Kind, Vec<(InfrastructurePlace, String)>)>);

impl InfrastructureList {
    pub(super) fn add(&mut self, w: &Workload, kind: Kind) {
        self.add_named(&w.name, w, kind);
    }

    fn add_named(&mut self, name: &str, w: &Workload, kind: Kind) {
        let place = InfrastructurePlace {
            file: w.file.clone(),
            line: w.line,
            workload: w.kind.clone(),
        };
        let (_, places) = self.0.entry(name.to_string()).or_insert((kind, Vec::new()));
        if !places.iter().any(|(p, _)| *p == place) {
            places.push((place, w.images.first().cloned().unwrap_or_default()));
        }
    }

    /// Whether an entry is named `name`.
    pub(super) fn contains(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    /// Add `w` as a place of the entry `name`, when there is one.
    pub(super) fn add_to(&mut self, name: &str, w: &Workload) {
        if let Some(kind) = self.0.get(name).map(|(k, _)| *k) {
            self.add_named(name, w, kind);
        }
    }

    /// The list by name, each entry's places sorted; its image is its first place's.
    pub(super) fn into_list(self) -> Vec<Infrastructure> {
        self.0
            .into_iter()
            .map(|(name, (kind, mut places))| {
                places.sort();
                Infrastructure {
                    name,
                    kind,
                    image: places.first().map(|(_, i)| i.clone()).unwrap_or_default(),
                    places: places.into_iter().map(|(p, _)| p).collect(),
                }
            })
            .collect()
    }
}

/// Services of the tree that are the code of infrastructure it deploys: a service with no
/// workload of its own, not declared in `tracegate.yaml`, whose name is the name of an image
/// an infrastructure entry runs (`ghcr.io/tracegate/tracegate` run by its own repository's
/// verifier Jobs; a collector distribution built here and deployed as `…/otelcol`). Each
/// leaves the services and becomes a place (`code`, at its manifest) of the first such entry:
/// listed, never judged, never silently dropped.
pub(super) fn absorb_sources(services: &mut Vec<Svc>, infrastructure: &mut [Infrastructure]) {
    services.retain(|svc| {
        if !svc.workloads.is_empty() || svc.declared {
            return true;
        }
        let runs_it = |image: &str| {
            let image = image.split('@').next().unwrap_or(image);
            let repo = match image.rsplit_once(':') {
                Some((r, tag)) if !tag.contains('/') => r,
                _ => image,
            };
            repo.rsplit('/').next() == Some(svc.name.as_str())
        };
        let Some(entry) = infrastructure.iter_mut().find(|i| runs_it(&i.image)) else {
            return true;
        };
        entry.places.push(InfrastructurePlace {
            file: svc.manifest.clone().unwrap_or_else(|| svc.path.clone()),
            line: 1,
            workload: "code".into(),
        });
        entry
            .places
            .sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
        false
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_images_of_infrastructure_by_name_or_publisher() {
        for (image, kind) in [
            ("postgres:17.2", Kind::Database),
            ("docker.io/library/redis:7.4-alpine", Kind::Cache),
            ("apache/kafka:3.9.0", Kind::Broker),
            ("bitnami/kafka:3.9", Kind::Broker),
            ("confluentinc/cp-kafka:7.7.1", Kind::Broker),
            ("confluentinc/cp-enterprise-control-center", Kind::Broker),
            ("bitnami/sealed-secrets-controller", Kind::Other),
            ("cr.fluentbit.io/fluent/fluent-bit:3.2.2", Kind::LogShipper),
            ("timberio/vector:0.43.0-alpine", Kind::LogShipper),
            (
                "otel/opentelemetry-collector-contrib:0.114.0",
                Kind::Collector,
            ),
            ("jaegertracing/all-in-one:1.63.0", Kind::TracingBackend),
            ("grafana/tempo:2.6.1", Kind::TracingBackend),
            ("openzipkin/zipkin", Kind::TracingBackend),
            ("prom/prometheus:v3.0.0", Kind::Metrics),
            ("grafana/grafana:11.3.0", Kind::Dashboard),
            ("opensearchproject/opensearch:2", Kind::Search),
            ("quay.io/minio/minio", Kind::ObjectStorage),
            (
                "registry.k8s.io/ingress-nginx/controller:v1.12.0@sha256:abc",
                Kind::Proxy,
            ),
            ("envoyproxy/envoy:v1.32-latest", Kind::Proxy),
            ("nginx:1.27-alpine", Kind::Proxy),
            ("localhost:5000/postgres", Kind::Database),
            ("nacos/nacos-server:v2.3.2", Kind::Coordination),
            ("ghcr.io/tracegate/tracegate:0.1", Kind::Verifier),
        ] {
            assert_eq!(kind_of(image), Some(kind), "{image}");
        }
        // The repository's own images, even when a word of them is an infrastructure name.
        for image in [
            "ghcr.io/example/shop/orders:2.1.0",
            "acme/redis-cart-service:1",
            "kafka-consumer",
            "ghcr.io/acme/postgres-backup:3",
            "otel/autoinstrumentation-java:2.10.0",
            "localhost:5000/cartservice",
            "tracegate",
        ] {
            assert_eq!(kind_of(image), None, "{image}");
        }
    }

    #[test]
    fn images_built_from_infrastructure_images() {
        assert_eq!(
            built_kind("FROM mongo:5\n\nCOPY *.js /docker-entrypoint-initdb.d/\n"),
            Some(Kind::Database)
        );
        assert_eq!(
            built_kind("FROM --platform=linux/amd64 postgres:16 AS db\nCOPY init.sql /docker-entrypoint-initdb.d/\nFROM db\n"),
            Some(Kind::Database)
        );
        assert_eq!(
            built_kind("from otel/opentelemetry-collector-contrib:0.104.0\nCOPY config.yaml /etc/otelcol-contrib/config.yaml\n"),
            Some(Kind::Collector)
        );
        // An application built on top, an nginx front, a general publisher's runtime image.
        for text in [
            "FROM golang:1.22 AS build\nRUN go build -o /app .\nFROM gcr.io/distroless/static\nCOPY --from=build /app /\n",
            "FROM mysql:8.0 AS schema\nFROM python:3.12-slim\nCOPY --from=schema /docker-entrypoint-initdb.d /sql\n",
            "FROM nginx:1.25\nCOPY static/ /usr/share/nginx/html/\n",
            "FROM bitnami/node:20\nCOPY . .\n",
            "",
        ] {
            assert_eq!(built_kind(text), None, "{text}");
        }
    }

    #[test]
    fn a_workload_is_infrastructure_when_every_container_is() {
        let w = |images: &[&str], init: &[&str]| Workload {
            name: "w".into(),
            images: images.iter().map(|i| i.to_string()).collect(),
            init_images: init.iter().map(|i| i.to_string()).collect(),
            ..Workload::default()
        };
        assert_eq!(workload_kind(&w(&["redis:7"], &[])), Some(Kind::Cache));
        assert_eq!(
            workload_kind(&w(&["redis:7", "oliver006/redis_exporter"], &[])),
            Some(Kind::Cache)
        );
        assert_eq!(workload_kind(&w(&["redis:7", "acme/cart"], &[])), None);
        // An application with a collector sidecar; an init container of a database image.
        assert_eq!(
            workload_kind(&w(&["acme/orders", "otel/opentelemetry-collector"], &[])),
            None
        );
        assert_eq!(workload_kind(&w(&["acme/orders"], &["postgres:17"])), None);
        assert_eq!(workload_kind(&w(&[], &[])), None);
        // A step publishing with curl beside a verifier is still the verifier; curl alone, or
        // beside an application, is no infrastructure.
        assert_eq!(
            workload_kind(&w(
                &["ghcr.io/tracegate/tracegate:0.1", "curlimages/curl:8.11.1"],
                &[]
            )),
            Some(Kind::Verifier)
        );
        assert_eq!(workload_kind(&w(&["curlimages/curl:8.11.1"], &[])), None);
        assert_eq!(
            workload_kind(&w(&["acme/orders", "busybox:1.37"], &[])),
            None
        );
        // The work in init containers, the result published by a curl container.
        assert_eq!(
            workload_kind(&w(
                &["curlimages/curl:8.11.1"],
                &["ghcr.io/tracegate/tracegate:0.1"]
            )),
            Some(Kind::Verifier)
        );
        assert_eq!(
            workload_kind(&w(&["curlimages/curl:8.11.1"], &["acme/migrate"])),
            None
        );
    }
}
