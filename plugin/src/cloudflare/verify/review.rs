//! The security review: the token against Cloudflare's advice, when it may read itself.

use super::{ROTATION_ADVICE, Verifier};
use crate::cloudflare::catalog;
use crate::http::Request;
use crate::wit_connector::SecurityFinding;
use crate::wit_types::{Permission, Service};
use serde_json::Value;

impl Verifier<'_> {
    /// Reviews the token against Cloudflare's best practices when it may read its own details
    /// ("API Tokens Read", usually absent: then `None`, quietly).
    pub(super) fn security_review(&mut self, token_id: &str) -> Option<Vec<SecurityFinding>> {
        let path = match self.token_owner {
            Some("account") => {
                format!("/accounts/{}/tokens/{token_id}", self.connection.account_id)
            }
            _ => format!("/user/tokens/{token_id}"),
        };
        let probe = self.probe(Request::api_get(&path), None);
        if !probe.ok() {
            return None;
        }
        Some(review_token(&probe.result, &self.connection.services))
    }
}

/// Least privilege, zone and IP restrictions, expiry: Cloudflare's advice for API tokens.
pub fn review_token(token: &Value, services: &[Service]) -> Vec<SecurityFinding> {
    let mut findings = Vec::new();
    let needed: Vec<Permission> = services
        .iter()
        .flat_map(|s| catalog::required_permissions(*s).iter().copied())
        .collect();
    let is_needed = |group: &str| {
        needed.iter().any(|p| {
            catalog::permission_group_name(*p).eq_ignore_ascii_case(group)
                || catalog::permission_group_aliases(*p)
                    .iter()
                    .any(|a| a.eq_ignore_ascii_case(group))
        })
    };
    let policies = token
        .get("policies")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut extra: Vec<String> = Vec::new();
    let mut all_zones = false;
    let mut all_accounts = false;
    for policy in policies
        .iter()
        .filter(|p| p.get("effect").and_then(Value::as_str) != Some("deny"))
    {
        for group in policy
            .get("permission_groups")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(name) = group.get("name").and_then(Value::as_str)
                && !is_needed(name)
                && !extra.iter().any(|e| e == name)
            {
                extra.push(name.to_string());
            }
        }
        if let Some(resources) = policy.get("resources").and_then(Value::as_object) {
            for key in resources.keys() {
                all_zones |= key.ends_with(".zone.*");
                all_accounts |= key == "com.cloudflare.api.account.*";
            }
        }
    }
    if !extra.is_empty() {
        let needed_names: Vec<&str> = needed.iter().map(|p| catalog::dashboard_name(*p)).collect();
        findings.push(SecurityFinding {
            id: "extra-permissions".into(),
            detail: format!(
                "The token has permissions the enabled services do not need: {}.",
                extra.join(", ")
            ),
            hint: format!(
                "Follow least privilege: remove them, keeping only {}.",
                if needed_names.is_empty() {
                    "none".to_string()
                } else {
                    needed_names.join(", ")
                }
            ),
        });
    }
    if all_zones {
        findings.push(SecurityFinding {
            id: "all-zones".into(),
            detail: "The token applies to all zones.".into(),
            hint: "Limit Zone Resources to the specific zones the agent should read.".into(),
        });
    }
    if all_accounts {
        findings.push(SecurityFinding {
            id: "all-accounts".into(),
            detail: "The token applies to all accounts.".into(),
            hint: "Limit Account Resources to this account.".into(),
        });
    }
    let ip_restricted = token
        .pointer("/condition/request_ip/in")
        .and_then(Value::as_array)
        .is_some_and(|ips| !ips.is_empty());
    if !ip_restricted {
        findings.push(SecurityFinding {
            id: "no-ip-restriction".into(),
            detail: "The token can be used from any IP address.".into(),
            hint: "Add Client IP Address Filtering with the addresses of the host that runs the connector.".into(),
        });
    }
    if token.get("expires_on").and_then(Value::as_str).is_none() {
        findings.push(SecurityFinding {
            id: "no-expiry".into(),
            detail: "The token never expires.".into(),
            hint: ROTATION_ADVICE.into(),
        });
    }
    findings
}
