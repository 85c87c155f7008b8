//! `verify`: is the token valid, does the account match, and does the token hold every
//! permission the enabled services need? One cheap read per permission; never a write.
//!
//! One file per check: [`token`] (and [`expiry`]), [`account`] (and Account Settings Read),
//! [`zones`] (Zone Read), [`permissions`] (the other permission probes), [`review`] (the
//! security review) and [`docs`] (the docs host); [`probe`] sends and halts. This file runs them.

mod account;
mod docs;
mod expiry;
mod permissions;
mod probe;
mod review;
mod token;
mod zones;

pub use review::review_token;

use crate::cloudflare::catalog::{self};
use crate::connection::Connection;
use crate::docs::links;
use crate::http::Transport;
use crate::names::{VariantArray, name};
use crate::wit_connector::{
    Check, CheckStatus, Evidence, ServiceReadiness, TokenInfo, TokenState, VerifyReport,
};
use crate::wit_types::{Error, Permission, RateLimit, Service};
use serde_json::Value;

/// Cloudflare's advice: rotate tokens every 90 days.
const ROTATION_ADVICE: &str = "Cloudflare advises rotating API tokens every 90 days: set an \
expiry (TTL) when creating the token and replace it before then.";

/// Why later API requests are not sent: after a 429, an unreachable API, or a rejected token,
/// more requests would only repeat the answer (and spend the rate limit).
#[derive(Clone, Debug)]
enum Halt {
    RateLimited(RateLimit),
    Unreachable(Error),
    TokenRejected(Error),
}

/// What one probe saw.
#[derive(Clone, Debug)]
struct Probe {
    evidence: Evidence,
    /// The REST `result` or GraphQL `data`.
    result: Value,
    error: Option<Error>,
    sent: bool,
}

impl Probe {
    fn ok(&self) -> bool {
        self.error.is_none()
    }
}

/// The outcome of a permission, shared by every service that needs it.
#[derive(Clone, Debug)]
struct Outcome {
    status: CheckStatus,
    detail: String,
    hint: Option<String>,
    evidence: Option<Evidence>,
    error: Option<Error>,
    retry_after: Option<u32>,
}

/// A zone to probe zone-scoped permissions with.
#[derive(Clone, Debug)]
struct Zone {
    id: String,
    name: String,
}

enum Zones {
    Found(Zone),
    Empty,
    Unavailable(Probe),
}

struct Verifier<'a> {
    transport: &'a dyn Transport,
    connection: &'a Connection,
    now: i64,
    halt: Option<Halt>,
    checks: Vec<Check>,
    outcomes: Vec<(Permission, Outcome)>,
    zones: Option<Zones>,
    account_probe: Option<Probe>,
    account_mismatch: Option<String>,
    token_owner: Option<&'static str>,
}

/// Runs every check for the connection. `now` is Unix seconds.
pub fn verify(connection: &Connection, transport: &dyn Transport, now: i64) -> VerifyReport {
    let mut v = Verifier {
        transport,
        connection,
        now,
        halt: None,
        checks: Vec::new(),
        outcomes: Vec::new(),
        zones: None,
        account_probe: None,
        account_mismatch: None,
        token_owner: None,
    };
    let mut token = TokenInfo {
        state: TokenState::Unknown,
        id: None,
        owner: None,
        expires_on: None,
        not_before: None,
    };
    let mut security = Vec::new();
    let mut security_reviewed = false;
    if connection.needs_token() {
        token = v.check_token();
        v.check_account();
        for service in Service::VARIANTS
            .iter()
            .copied()
            .filter(|s| connection.has(*s))
        {
            for &permission in catalog::required_permissions(service) {
                let outcome = v.permission(permission);
                v.push_permission_check(service, permission, outcome);
            }
        }
        if let (Some(id), TokenState::Active) = (token.id.clone(), token.state)
            && let Some(findings) = v.security_review(&id)
        {
            security = findings;
            security_reviewed = true;
        }
    }
    if connection.has(Service::Documentation) {
        v.check_docs();
    }
    let services = v.readiness();
    v.checks.iter_mut().for_each(links::link_check);
    security.iter_mut().for_each(links::link_finding);
    VerifyReport {
        ready: services.iter().all(|s| s.ready),
        account_id: connection.account_id.clone(),
        token,
        services,
        checks: v.checks,
        security,
        security_reviewed,
    }
}

impl Verifier<'_> {
    fn push(
        &mut self,
        id: String,
        service: Option<Service>,
        permission: Option<Permission>,
        title: &str,
        outcome: Outcome,
    ) {
        self.checks.push(Check {
            id,
            service,
            permission,
            title: title.to_string(),
            status: outcome.status,
            detail: outcome.detail,
            hint: outcome.hint,
            evidence: outcome.evidence,
            error: outcome.error,
            retry_after_seconds: outcome.retry_after,
        });
    }

    /// A check of the token or the account, which belong to no single service.
    fn push_general(&mut self, id: &str, title: &str, outcome: Outcome) {
        self.push(id.to_string(), None, None, title, outcome);
    }

    fn push_permission_check(
        &mut self,
        service: Service,
        permission: Permission,
        outcome: Outcome,
    ) {
        let id = format!("{}/{}", name(service), name(permission));
        self.push(
            id,
            Some(service),
            Some(permission),
            catalog::dashboard_name(permission),
            outcome,
        );
    }

    fn readiness(&self) -> Vec<ServiceReadiness> {
        self.connection
            .services
            .iter()
            .map(|&service| {
                let needs_token = !catalog::required_permissions(service).is_empty();
                let relevant: Vec<&Check> = self
                    .checks
                    .iter()
                    .filter(|c| c.service == Some(service) || (c.service.is_none() && needs_token))
                    .collect();
                let blocking: Vec<&str> = relevant
                    .iter()
                    .filter(|c| matches!(c.status, CheckStatus::Failed | CheckStatus::RateLimited))
                    .map(|c| c.title.as_str())
                    .collect();
                // A permission that could not be probed is not confirmed: not ready, and said so.
                let unconfirmed: Vec<&str> = relevant
                    .iter()
                    .filter(|c| c.status == CheckStatus::Skipped && c.permission.is_some())
                    .map(|c| c.title.as_str())
                    .collect();
                let summary = if !blocking.is_empty() {
                    format!("Not ready: {}.", blocking.join(", "))
                } else if !unconfirmed.is_empty() {
                    format!(
                        "Not confirmed: {} could not be checked (see the checks).",
                        unconfirmed.join(", ")
                    )
                } else {
                    "Ready.".to_string()
                };
                ServiceReadiness {
                    service,
                    ready: blocking.is_empty() && unconfirmed.is_empty(),
                    summary,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
