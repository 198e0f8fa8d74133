//! Tenant routing: a tenant's spans go only to its own routes plus the shared destinations;
//! spans without a tenant, or whose tenant has no route, go to the default route (plus shared).

use std::collections::HashMap;

use super::config::ExportConfig;
use crate::propagation::TenantId;

/// Precomputed destination indexes per tenant (indexes into [`Router::names`]).
#[derive(Clone, Debug)]
pub struct Router {
    names: Vec<String>,
    default: Vec<usize>,
    tenants: HashMap<String, Vec<usize>>,
}

impl Router {
    /// Build from a validated configuration.
    pub fn new(config: &ExportConfig) -> Self {
        let names: Vec<String> = config.destinations.keys().cloned().collect();
        let index = |name: &String| names.iter().position(|n| n == name);
        let shared: Vec<usize> = config
            .destinations
            .values()
            .filter(|d| d.shared)
            .filter_map(|d| index(&d.name))
            .collect();
        let resolve = |route: &[String]| {
            let mut out: Vec<usize> = route.iter().filter_map(index).collect();
            out.extend(&shared);
            out.sort_unstable();
            out.dedup();
            out
        };
        Router {
            default: resolve(&config.default_route),
            tenants: config
                .tenants
                .iter()
                .map(|(tenant, route)| (tenant.clone(), resolve(route)))
                .collect(),
            names,
        }
    }

    /// Destination names, in index order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The destinations for a span of `tenant`.
    pub fn route(&self, tenant: Option<&TenantId>) -> &[usize] {
        tenant
            .and_then(|t| self.tenants.get(t.as_str()))
            .unwrap_or(&self.default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenants_reach_only_their_routes_plus_shared() {
        let yaml = "
destinations:
  a: {endpoint: 'http://a:1/v1/traces'}
  b: {endpoint: 'http://b:1/v1/traces'}
  platform: {endpoint: 'http://p:1/v1/traces', shared: true}
  fallback: {endpoint: 'http://f:1/v1/traces'}
default: [fallback]
tenants:
  acme: [a]
  beta: [b, platform]
";
        let config = ExportConfig::from_yaml("t.yaml", yaml, |_| None).unwrap();
        let router = Router::new(&config);
        let names = |t: Option<&str>| -> Vec<&str> {
            let tenant = t.and_then(TenantId::new);
            router
                .route(tenant.as_ref())
                .iter()
                .map(|&i| router.names()[i].as_str())
                .collect()
        };
        assert_eq!(names(Some("acme")), vec!["a", "platform"]);
        assert_eq!(names(Some("beta")), vec!["b", "platform"]);
        assert_eq!(names(Some("gamma")), vec!["fallback", "platform"]);
        assert_eq!(names(None), vec!["fallback", "platform"]);
    }
}
