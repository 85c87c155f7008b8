//! The connection options: validated once, kept for the instance's later calls.

use crate::cloudflare::catalog::{self};
use crate::error::invalid;
use crate::names::VariantArray;
use crate::wit_types::{Error, Service};
use std::sync::Mutex;

/// A validated connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connection {
    /// Lower-case, 32 hexadecimal characters.
    pub account_id: String,
    /// Non-empty, in catalog order, without duplicates.
    pub services: Vec<Service>,
    /// `connect` or `environment`.
    pub source: &'static str,
}

impl Connection {
    pub fn has(&self, service: Service) -> bool {
        self.services.contains(&service)
    }

    /// Whether any enabled service calls the Cloudflare API (and so needs the token).
    pub fn needs_token(&self) -> bool {
        self.services
            .iter()
            .any(|s| !catalog::required_permissions(*s).is_empty())
    }
}

/// Checks an account ID: 32 hexadecimal characters, surrounding spaces forgiven.
pub fn validate_account_id(raw: &str) -> Result<String, Error> {
    let id = raw.trim();
    if id.is_empty() {
        return Err(invalid(
            "account-id",
            "the account ID is empty: copy it from the Cloudflare dashboard (Account home, or a \
             domain's Overview page, right sidebar under API)",
        ));
    }
    if id.len() != 32 || !id.chars().all(|c| c.is_ascii_hexdigit()) {
        let shape = if id.chars().all(|c| c.is_ascii_hexdigit()) {
            format!("{} characters", id.chars().count())
        } else {
            "characters other than 0-9 and a-f".to_string()
        };
        return Err(invalid(
            "account-id",
            format!(
                "an account ID is 32 hexadecimal characters (0-9, a-f); this one has {shape}. \
                 Copy the Account ID from the dashboard, not the zone ID, email or token"
            ),
        ));
    }
    Ok(id.to_ascii_lowercase())
}

/// Orders and de-duplicates services; refuses an empty list.
pub fn validate_services(services: &[Service]) -> Result<Vec<Service>, Error> {
    let ordered: Vec<Service> = Service::VARIANTS
        .iter()
        .copied()
        .filter(|s| services.contains(s))
        .collect();
    if ordered.is_empty() {
        return Err(invalid(
            "enabled-services",
            format!(
                "enable at least one service: {}",
                catalog::accepted_service_names()
            ),
        ));
    }
    Ok(ordered)
}

/// Parses service names (as in `ENABLED_SERVICES` or tool arguments), naming any unknown one.
pub fn parse_services<'a>(
    field: &str,
    names: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<Service>, Error> {
    let mut services = Vec::new();
    for name in names {
        if name.trim().is_empty() {
            continue;
        }
        match catalog::parse_service(name) {
            Some(s) => services.push(s),
            None => {
                return Err(invalid(
                    field,
                    format!(
                        "unknown service {}; accepted: {}",
                        crate::input::quote(name.trim()),
                        catalog::accepted_service_names()
                    ),
                ));
            }
        }
    }
    validate_services(&services)
}

/// Builds a connection from `connect`'s arguments.
pub fn from_options(account_id: &str, services: &[Service]) -> Result<Connection, Error> {
    Ok(Connection {
        account_id: validate_account_id(account_id)?,
        services: validate_services(services)?,
        source: "connect",
    })
}

/// Builds a connection from `CLOUDFLARE_ACCOUNT_ID` and `ENABLED_SERVICES` (comma-separated).
pub fn from_environment(
    account_id: Option<String>,
    services: Option<String>,
) -> Result<Connection, Error> {
    let (Some(account_id), Some(services)) = (account_id, services) else {
        return Err(Error::NotConnected(
            "not connected: call connect with the account ID and services, or have the host \
             grant CLOUDFLARE_ACCOUNT_ID and ENABLED_SERVICES"
                .to_string(),
        ));
    };
    Ok(Connection {
        account_id: validate_account_id(&account_id)?,
        services: parse_services("ENABLED_SERVICES", services.split(','))?,
        source: "environment",
    })
}

static CURRENT: Mutex<Option<Connection>> = Mutex::new(None);

/// What the host configured through the typed `connect`: the most a `connect` tool call may
/// ask for.
static CONFIGURED: Mutex<Option<Connection>> = Mutex::new(None);

/// Keeps the connection for later calls of this instance.
pub fn store(connection: Connection) {
    *CURRENT.lock().unwrap_or_else(|e| e.into_inner()) = Some(connection);
}

/// The host's connection (the typed `connect` export): kept, and the ceiling of what a
/// `connect` tool call may enable later.
pub fn configure(connection: Connection) {
    *CONFIGURED.lock().unwrap_or_else(|e| e.into_inner()) = Some(connection.clone());
    store(connection);
}

/// A `connect` tool call's connection, checked against what the host configured (by the
/// typed `connect` or the environment it granted): a tool caller may narrow the services,
/// never add one or switch the account. Without a host configuration it stands as asked.
pub fn narrowed(requested: Connection) -> Result<Connection, Error> {
    let configured = CONFIGURED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
        .or_else(|| {
            from_environment(
                granted_variable("CLOUDFLARE_ACCOUNT_ID"),
                granted_variable("ENABLED_SERVICES"),
            )
            .ok()
        });
    match configured {
        Some(ceiling) => within(&ceiling, requested),
        None => Ok(requested),
    }
}

/// `requested` when it asks for no more than `ceiling`; else the field to change, naming the
/// host's setting that stops it.
fn within(ceiling: &Connection, requested: Connection) -> Result<Connection, Error> {
    if requested.account_id != ceiling.account_id {
        return Err(invalid(
            "account_id",
            format!(
                "the host connected account {} (its CLOUDFLARE_ACCOUNT_ID setting, or the \
                 X-Cloudflare-Account-Id header sent to cf-harness serve); connect can narrow \
                 that connection's services, not switch to another account",
                ceiling.account_id
            ),
        ));
    }
    let added: Vec<&str> = requested
        .services
        .iter()
        .filter(|s| !ceiling.has(**s))
        .map(|s| catalog::display_name(*s))
        .collect();
    if !added.is_empty() {
        let enabled: Vec<&str> = ceiling
            .services
            .iter()
            .map(|s| catalog::display_name(*s))
            .collect();
        return Err(invalid(
            "enabled_services",
            format!(
                "the host enabled {} (its ENABLED_SERVICES setting, or the \
                 X-Cloudflare-Enabled-Services header sent to cf-harness serve); connect can \
                 narrow them, not add {}",
                enabled.join(", "),
                added.join(", ")
            ),
        ));
    }
    Ok(requested)
}

/// The connection set by `connect`, else one from the environment the host granted.
pub fn current() -> Result<Connection, Error> {
    if let Some(c) = CURRENT.lock().unwrap_or_else(|e| e.into_inner()).clone() {
        return Ok(c);
    }
    from_environment(
        granted_variable("CLOUDFLARE_ACCOUNT_ID"),
        granted_variable("ENABLED_SERVICES"),
    )
}

/// A variable of the environment the host granted the guest. Unit tests run natively, where
/// the process environment is the caller's shell (which the README tells users to fill): they
/// see none, so no test changes result with it; `from_environment` is tested with its values.
fn granted_variable(name: &str) -> Option<String> {
    if cfg!(test) {
        return None;
    }
    std::env::var(name).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wit_types::InputProblem;

    fn field_of(e: Error) -> String {
        match e {
            Error::InvalidInput(InputProblem { field, .. }) => field,
            other => panic!("expected invalid-input, got {other:?}"),
        }
    }

    #[test]
    fn a_tool_connect_may_narrow_the_hosts_connection_never_widen_or_switch_it() {
        const ACCOUNT: &str = "01a7362d577a6c3019a474fd6f485823";
        let host =
            from_options(ACCOUNT, &[Service::Documentation, Service::DnsAnalytics]).expect("valid");
        let narrower = from_options(ACCOUNT, &[Service::DnsAnalytics]).expect("valid");
        assert_eq!(within(&host, narrower.clone()), Ok(narrower));
        assert_eq!(within(&host, host.clone()), Ok(host.clone()));
        let wider = from_options(ACCOUNT, &[Service::GraphqlAnalytics]).expect("valid");
        assert_eq!(
            field_of(within(&host, wider).expect_err("wider")),
            "enabled_services"
        );
        let other = from_options(&"ab".repeat(16), &[Service::Documentation]).expect("valid");
        assert_eq!(
            field_of(within(&host, other).expect_err("other")),
            "account_id"
        );
    }

    #[test]
    fn account_ids_must_be_32_hex() {
        assert_eq!(
            validate_account_id(" 01A7362D577A6C3019A474FD6F485823 ").expect("valid"),
            "01a7362d577a6c3019a474fd6f485823"
        );
        for bad in [
            "",
            "abc",
            "01a7362d577a6c3019a474fd6f48582z",
            "01a7362d577a6c3019a474fd6f4858231",
        ] {
            assert_eq!(
                field_of(validate_account_id(bad).expect_err(bad)),
                "account-id"
            );
        }
    }

    #[test]
    fn services_are_ordered_deduplicated_and_non_empty() {
        let s = validate_services(&[
            Service::GraphqlAnalytics,
            Service::Documentation,
            Service::GraphqlAnalytics,
        ])
        .expect("valid");
        assert_eq!(s, vec![Service::Documentation, Service::GraphqlAnalytics]);
        assert_eq!(
            field_of(validate_services(&[]).expect_err("empty")),
            "enabled-services"
        );
    }

    #[test]
    fn environment_services_parse_and_unknown_names_are_named() {
        let c = from_environment(
            Some("01a7362d577a6c3019a474fd6f485823".into()),
            Some("Documentation, DNS Analytics,graphql-analytics".into()),
        )
        .expect("valid");
        assert_eq!(c.services.len(), 3);
        assert_eq!(c.source, "environment");
        let e = from_environment(
            Some("01a7362d577a6c3019a474fd6f485823".into()),
            Some("dns,docs".into()),
        )
        .expect_err("unknown");
        assert_eq!(field_of(e), "ENABLED_SERVICES");
    }

    #[test]
    fn missing_environment_is_not_connected() {
        assert!(matches!(
            from_environment(None, None),
            Err(Error::NotConnected(_))
        ));
    }
}
