//! Infrastructure told by what a container serves, when its image says nothing: a repository
//! holding only manifests (microservices-demo/sock-shop's `deploy/kubernetes`) runs its own
//! database images (`weaveworksdemos/catalogue-db`, `weaveworksdemos/user-db`), built in other
//! repositories from `mysql` and `mongo`. Such a container declares the database's own port
//! (`containerPort: 3306`, `name: mysql`; `27017`, `name: mongo`), which an application
//! container does not: it serves its API on a port of its own. A workload of no code of the
//! tree whose every main container declares ports, all of them one kind of infrastructure's
//! well-known server ports (or named after that server), is that infrastructure. So is one
//! that sets a variable only a database image's own entrypoint reads to initialise the server
//! (`MYSQL_ROOT_PASSWORD`, `MONGO_INITDB_ROOT_USERNAME`: piggymetrics' compose service
//! `auth-mysql` running `elkolotfi/piggymetrics-mysql`); the variables an application reads
//! to connect (`MYSQL_PASSWORD`, `POSTGRES_PASSWORD`) say nothing.

use crate::check::facts::FactKind;
use crate::check::inputs::k8s::Workload;

/// Variables the official database images' entrypoints read to initialise the server, and
/// which no client reads.
const SERVER_INIT_ENV: &[(&str, Kind)] = &[
    ("MYSQL_ROOT_PASSWORD", Kind::Database),
    ("MYSQL_ALLOW_EMPTY_PASSWORD", Kind::Database),
    ("MYSQL_RANDOM_ROOT_PASSWORD", Kind::Database),
    ("MARIADB_ROOT_PASSWORD", Kind::Database),
    ("MARIADB_ALLOW_EMPTY_ROOT_PASSWORD", Kind::Database),
    ("MARIADB_RANDOM_ROOT_PASSWORD", Kind::Database),
    ("MONGO_INITDB_ROOT_USERNAME", Kind::Database),
    ("MONGO_INITDB_ROOT_PASSWORD", Kind::Database),
    ("POSTGRES_INITDB_ARGS", Kind::Database),
    ("POSTGRES_HOST_AUTH_METHOD", Kind::Database),
];
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

/// The infrastructure a workload of an image published elsewhere runs, by what its
/// containers serve or the server initialisation they are given.
pub(super) fn served_kind(w: &Workload) -> Option<Kind> {
    by_ports(w).or_else(|| by_init_env(w))
}

/// A server initialisation variable the workload sets (with a value of its own or not).
fn by_init_env(w: &Workload) -> Option<Kind> {
    w.facts.iter().find_map(|f| match &f.kind {
        FactKind::Env { name, .. } => SERVER_INIT_ENV
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, k)| *k),
        _ => None,
    })
}

/// By the declared ports alone; `None` when a main container declares no port, or one no
/// server of the table listens on.
fn by_ports(w: &Workload) -> Option<Kind> {
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

    type Ports<'a> = &'a [(Option<&'a str>, u64)];

    fn w(containers: &[(&str, Ports<'_>)]) -> Workload {
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
    fn a_database_image_is_told_by_its_server_initialisation_variables() {
        let env = |name: &str| {
            crate::check::facts::Fact::new(
                FactKind::Env {
                    name: name.into(),
                    value: Some("x".into()),
                    from_secret: false,
                    from_ref: false,
                },
                "docker-compose.yml",
                1,
            )
        };
        let mysql = Workload {
            images: vec!["elkolotfi/piggymetrics-mysql".into()],
            facts: vec![env("MYSQL_PASSWORD"), env("MYSQL_ROOT_PASSWORD")],
            ..Workload::default()
        };
        assert_eq!(served_kind(&mysql), Some(Kind::Database));
        // What a client reads to connect says nothing.
        let client = Workload {
            images: vec!["acme/accounts".into()],
            facts: vec![
                env("MYSQL_PASSWORD"),
                env("POSTGRES_PASSWORD"),
                env("MYSQL_DATABASE"),
            ],
            ..Workload::default()
        };
        assert_eq!(served_kind(&client), None);
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
