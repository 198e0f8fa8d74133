//! Infrastructure told by what a container serves, when its image says nothing: a repository
//! holding only manifests (microservices-demo/sock-shop's `deploy/kubernetes`) runs its own
//! database images (`weaveworksdemos/catalogue-db`, `weaveworksdemos/user-db`), built in other
//! repositories from `mysql` and `mongo`. Such a container declares the database's own port
//! (`containerPort: 3306`, `name: mysql`; `27017`, `name: mongo`), which an application
//! container does not: it serves its API on a port of its own. A workload of no code of the
//! tree whose every main container declares ports, all of them one kind of infrastructure's
//! well-known server ports (or named after that server), is that infrastructure.

use crate::check::inputs::k8s::Workload;
use crate::check::model::InfrastructureKind as Kind;

/// Well-known server ports and port names, and what serves them.
const SERVER_PORTS: &[(u64, &str, Kind)] = &[
    (27017, "mongo", Kind::Database),
    (27017, "mongodb", Kind::Database),
    (3306, "mysql", Kind::Database),
    (3306, "mariadb", Kind::Database),
    (5432, "postgres", Kind::Database),
    (5432, "postgresql", Kind::Database),
    (9042, "cql", Kind::Database),
    (26257, "cockroach", Kind::Database),
    (6379, "redis", Kind::Cache),
    (11211, "memcached", Kind::Cache),
    (5672, "amqp", Kind::Broker),
    (9092, "kafka", Kind::Broker),
    (4222, "nats", Kind::Broker),
    (2181, "zookeeper", Kind::Coordination),
];

/// The infrastructure a workload's containers serve, by their declared ports alone; `None`
/// when a main container declares no port, or one no server of the table listens on.
pub(super) fn served_kind(w: &Workload) -> Option<Kind> {
    if w.ports.is_empty() || w.ports.len() != w.images.len() {
        return None;
    }
    let mut kind = None;
    for ports in &w.ports {
        if ports.is_empty() {
            return None;
        }
        for (name, port) in ports {
            let k = port_kind(name.as_deref(), *port)?;
            match kind {
                None => kind = Some(k),
                Some(first) if first != k => return None,
                Some(_) => {}
            }
        }
    }
    kind
}

/// What serves `port` (named `name`): the number decides; a name of the table on another
/// number (`name: mysql`, `containerPort: 13306`) too.
fn port_kind(name: Option<&str>, port: u64) -> Option<Kind> {
    SERVER_PORTS
        .iter()
        .find(|(p, _, _)| *p == port)
        .or_else(|| {
            let name = name?.to_ascii_lowercase();
            SERVER_PORTS.iter().find(|(_, n, _)| *n == name)
        })
        .map(|(_, _, k)| *k)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(containers: &[(&str, &[(Option<&str>, u64)])]) -> Workload {
        Workload {
            images: containers.iter().map(|(i, _)| i.to_string()).collect(),
            ports: containers
                .iter()
                .map(|(_, p)| p.iter().map(|(n, p)| (n.map(String::from), *p)).collect())
                .collect(),
            ..Workload::default()
        }
    }

    #[test]
    fn a_container_serving_only_a_database_port_is_that_database() {
        let db = w(&[("weaveworksdemos/user-db:0.3.0", &[(Some("mongo"), 27017)])]);
        assert_eq!(served_kind(&db), Some(Kind::Database));
        let named = w(&[("acme/catalogue-db", &[(Some("mysql"), 13306)])]);
        assert_eq!(served_kind(&named), Some(Kind::Database));
        let cache = w(&[("acme/session-store", &[(None, 6379)])]);
        assert_eq!(served_kind(&cache), Some(Kind::Cache));
    }

    #[test]
    fn an_application_port_or_no_port_says_nothing() {
        // An API beside a database port: an application.
        let app = w(&[("acme/user", &[(None, 80), (None, 27017)])]);
        assert_eq!(served_kind(&app), None);
        assert_eq!(served_kind(&w(&[("acme/user", &[(None, 8080)])])), None);
        // No port declared.
        assert_eq!(served_kind(&w(&[("acme/worker", &[])])), None);
        // One container serving a database, another an application.
        let mixed = w(&[
            ("acme/db", &[(None, 5432)]),
            ("acme/api", &[(Some("http"), 8080)]),
        ]);
        assert_eq!(served_kind(&mixed), None);
        // Two kinds of server in one pod: not told.
        let two = w(&[
            ("acme/db", &[(None, 5432)]),
            ("acme/cache", &[(None, 6379)]),
        ]);
        assert_eq!(served_kind(&two), None);
    }
}
