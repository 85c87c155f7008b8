//! The services by their names: as users know them (`DNS Analytics`) and as the contract spells
//! them (`dns-analytics`), and the rule a policy file sets on which a connection may enable.

use super::Service;

/// Every service, in the order the plugin lists them.
pub const SERVICES: [Service; 3] = [
    Service::Documentation,
    Service::DnsAnalytics,
    Service::GraphqlAnalytics,
];

/// A service as users know it (`DNS Analytics`) and as the contract spells it (`dns-analytics`).
pub fn service_names(service: Service) -> (&'static str, &'static str) {
    match service {
        Service::Documentation => ("Documentation", "documentation"),
        Service::DnsAnalytics => ("DNS Analytics", "dns-analytics"),
        Service::GraphqlAnalytics => ("GraphQL Analytics", "graphql-analytics"),
    }
}

/// A service name as users write it (`DNS Analytics`, `dns-analytics`, `dns_analytics`, any
/// case), folded as the plugin folds `ENABLED_SERVICES`.
pub fn parse_service(name: &str) -> Option<Service> {
    let folded: String = name
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-' && *c != '_')
        .flat_map(char::to_lowercase)
        .collect();
    SERVICES
        .into_iter()
        .find(|s| service_names(*s).1.replace('-', "") == folded)
}

/// The services a connection may enable here (a policy file's `services`), and where the
/// rule comes from, for the refusal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceRule {
    pub services: Vec<Service>,
    /// `policy.toml line 3`.
    pub source: String,
}

impl ServiceRule {
    /// Why `services` is refused, or `None` when the rule allows every one.
    pub fn refusal(&self, services: &[Service]) -> Option<String> {
        let refused = services.iter().find(|s| !self.services.contains(s))?;
        let allowed: Vec<&str> = self.services.iter().map(|s| service_names(*s).0).collect();
        Some(format!(
            "the host's policy ({}) allows only {}: {} is not allowed here",
            self.source,
            allowed.join(", "),
            service_names(*refused).0
        ))
    }
}
