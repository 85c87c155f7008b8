//! What each service is, needs and calls: the single source for `connect`, `verify` and hints.

use crate::http::{API_HOST, DOCS_HOST};
use crate::names::{self, VariantArray, name};
use crate::wit_types::{Error, Permission, Service};

/// The name users see in the connection dialog.
pub fn display_name(service: Service) -> &'static str {
    match service {
        Service::Documentation => "Documentation",
        Service::DnsAnalytics => "DNS Analytics",
        Service::GraphqlAnalytics => "GraphQL Analytics",
    }
}

/// The permissions a service needs, in the order the connection page lists them.
pub fn required_permissions(service: Service) -> &'static [Permission] {
    match service {
        Service::Documentation => &[],
        Service::DnsAnalytics => &[
            Permission::ZoneRead,
            Permission::ZoneAnalyticsRead,
            Permission::DnsRead,
            Permission::AccountSettingsRead,
        ],
        Service::GraphqlAnalytics => &[
            Permission::AccountAnalyticsRead,
            Permission::ZoneAnalyticsRead,
        ],
    }
}

/// The hosts a service's requests go to.
pub fn hosts(service: Service) -> &'static [&'static str] {
    match service {
        Service::Documentation => &[DOCS_HOST],
        Service::DnsAnalytics | Service::GraphqlAnalytics => &[API_HOST],
    }
}

/// The permission as the dashboard's custom-token form shows it (the table is `tool-output`'s,
/// which the host's errors read too).
pub fn dashboard_name(permission: Permission) -> &'static str {
    tool_output::dashboard_name(name(permission)).unwrap_or(name(permission))
}

/// The permission group name in token details (`policies[].permission_groups[].name`).
pub fn permission_group_name(permission: Permission) -> &'static str {
    match permission {
        Permission::ZoneRead => "Zone Read",
        Permission::ZoneAnalyticsRead => "Analytics Read",
        Permission::DnsRead => "DNS Read",
        Permission::AccountSettingsRead => "Account Settings Read",
        Permission::AccountAnalyticsRead => "Account Analytics Read",
    }
}

/// Other names Cloudflare has used for the same permission group.
pub fn permission_group_aliases(permission: Permission) -> &'static [&'static str] {
    match permission {
        Permission::ZoneAnalyticsRead => &["Zone Analytics Read"],
        _ => &[],
    }
}

/// Why a service needs a permission, in words for the connection report.
pub fn reason(service: Service, permission: Permission) -> &'static str {
    match (service, permission) {
        (_, Permission::ZoneRead) => "list the account's zones and resolve zone names",
        (Service::DnsAnalytics, Permission::ZoneAnalyticsRead) => {
            "read DNS query analytics of a zone"
        }
        (_, Permission::ZoneAnalyticsRead) => "run zone-level GraphQL analytics queries",
        (_, Permission::DnsRead) => "read a zone's DNS records (is it proxied?)",
        (_, Permission::AccountSettingsRead) => "read the account, to confirm the account ID",
        (_, Permission::AccountAnalyticsRead) => "run account-level GraphQL analytics queries",
    }
}

/// The fix for a missing permission, step by step as on the connection page.
/// A refusal of a request that needs `permission`: a 403 names the permission and says how to
/// grant it; any other error passes.
pub fn lacking(permission: Permission) -> impl Fn(Error) -> Error {
    move |error| match error {
        Error::Forbidden(mut failure) => {
            failure.hint = Some(grant_hint(permission));
            failure.permission = Some(permission);
            Error::Forbidden(failure)
        }
        other => other,
    }
}

pub fn grant_hint(permission: Permission) -> String {
    let zone_scope = matches!(
        permission,
        Permission::ZoneRead | Permission::ZoneAnalyticsRead | Permission::DnsRead
    );
    let resources = if zone_scope {
        " Under Zone Resources, include all zones or the zones you query."
    } else {
        " Under Account Resources, include this account."
    };
    format!(
        "Add the permission {} to the token: My Profile → API Tokens \
         (https://dash.cloudflare.com/profile/api-tokens) → edit the token (or create a custom \
         token) → Permissions.{resources}",
        dashboard_name(permission)
    )
}

/// Parses a service name as users write it: `DNS Analytics`, `dns-analytics`, `dns_analytics`,
/// any case, with or without spaces.
pub fn parse_service(name: &str) -> Option<Service> {
    let folded: String = name
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-' && *c != '_')
        .flat_map(char::to_lowercase)
        .collect();
    Service::VARIANTS
        .iter()
        .copied()
        .find(|s| names::name(*s).replace('-', "") == folded)
}

/// What `parse_service` accepts, for error messages.
pub fn accepted_service_names() -> String {
    Service::VARIANTS
        .iter()
        .map(|s| format!("{} ({})", display_name(*s), name(*s)))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_names_parse_as_users_write_them() {
        for name in [
            "DNS Analytics",
            "dns-analytics",
            "dns_analytics",
            "DNSANALYTICS",
            " dns analytics ",
        ] {
            assert_eq!(parse_service(name), Some(Service::DnsAnalytics), "{name}");
        }
        assert_eq!(
            parse_service("GraphQL Analytics"),
            Some(Service::GraphqlAnalytics)
        );
        assert_eq!(
            parse_service("graphql-analytics"),
            Some(Service::GraphqlAnalytics)
        );
        assert_eq!(parse_service("Documentation"), Some(Service::Documentation));
        assert_eq!(parse_service("dns"), None);
        assert_eq!(parse_service(""), None);
    }

    #[test]
    fn permissions_match_the_connection_page() {
        assert!(required_permissions(Service::Documentation).is_empty());
        assert_eq!(required_permissions(Service::DnsAnalytics).len(), 4);
        assert_eq!(
            required_permissions(Service::GraphqlAnalytics),
            &[
                Permission::AccountAnalyticsRead,
                Permission::ZoneAnalyticsRead
            ]
        );
    }
}
