//! The REST v4 endpoints: token verify and details, accounts (here), zones and DNS records
//! ([`zones`]), the legacy DNS analytics report ([`dns_report`]); envelopes, pagination and
//! error answers in [`envelope`].

pub(crate) mod dns_report;
pub(crate) mod envelope;
#[cfg(test)]
mod report_tests;
#[cfg(test)]
mod tests;
pub(crate) mod zones;

use axum::response::Response;
use http::StatusCode;
use serde_json::{Value, json};

use crate::calendar::{DAY, rfc3339, unix_now};
use crate::scenarios::{Permission, Scenario, permission_missing, token_account};
use crate::{ACCOUNT_ID, TOKEN_ID};
use envelope::{
    QueryParams, bad_request, invalid_token, json_response, paginated, parse_fixture, success,
    unauthorized,
};

pub(crate) const ACCOUNT_NAME: &str = "Example Account";

const VERIFY_FIXTURE: &str = include_str!("../../fixtures/token_verify_success.live.json");

/// The `result` of a successful token verify.
fn verify_result(scenario: Scenario) -> Value {
    let mut body: Value = parse_fixture(VERIFY_FIXTURE);
    let now = unix_now();
    let result = &mut body["result"];
    result["id"] = json!(TOKEN_ID);
    match scenario {
        Scenario::ExpiringSoon => {
            result["not_before"] = json!(rfc3339(now - 30 * DAY));
            result["expires_on"] = json!(rfc3339(now + 5 * DAY));
        }
        Scenario::DisabledToken => result["status"] = json!("disabled"),
        Scenario::ExpiredToken => {
            result["status"] = json!("expired");
            result["not_before"] = json!(rfc3339(now - 60 * DAY));
            result["expires_on"] = json!(rfc3339(now - DAY));
        }
        _ => {}
    }
    body
}

pub(crate) fn user_verify(scenario: Scenario) -> Response {
    if scenario == Scenario::AccountOwnedToken {
        return invalid_token();
    }
    json_response(StatusCode::OK, verify_result(scenario))
}

pub(crate) fn account_verify(scenario: Scenario, account: &str) -> Response {
    if scenario == Scenario::AccountOwnedToken && account == ACCOUNT_ID {
        json_response(StatusCode::OK, verify_result(scenario))
    } else {
        invalid_token()
    }
}

pub(crate) fn token_details(scenario: Scenario, token_id: &str) -> Response {
    if scenario != Scenario::TokenDetailsReadable || token_id != TOKEN_ID {
        return unauthorized();
    }
    let token = json!({
        "id": TOKEN_ID,
        "name": "connector token",
        "status": "active",
        "issued_on": "2025-01-15T10:00:00Z",
        "modified_on": "2025-01-15T10:00:00Z",
        "policies": [
            {
                "id": "f267e341f3dd4697bd3b9f71dd96247f",
                "effect": "allow",
                "resources": { "com.cloudflare.api.account.zone.*": "*" },
                "permission_groups": [
                    { "id": "c8fed203ed3043cba015a93ad1616f1f", "name": "Zone Read" },
                    { "id": "82e64a83756745bbbb1c9c2701bf816b", "name": "DNS Read" },
                    { "id": "9c88f9c5bce24ce7af9a958ba9c504db", "name": "Analytics Read" },
                    { "id": "4755a26eedb94da69e1066d98aa820be", "name": "DNS Write" }
                ]
            },
            {
                "id": "a6c1d2b3e4f5061728394a5b6c7d8e9f",
                "effect": "allow",
                "resources": { format!("com.cloudflare.api.account.{ACCOUNT_ID}"): "*" },
                "permission_groups": [
                    { "id": "c1fde68c7bcc44588cbb6ddbc16d6480", "name": "Account Settings Read" },
                    { "id": "b89a480218d04ceb98b4fe57ca29dc1f", "name": "Account Analytics Read" }
                ]
            }
        ],
        "condition": {}
    });
    success(token, None)
}

pub(crate) fn account_object(id: &str) -> Value {
    json!({
        "id": id,
        "name": ACCOUNT_NAME,
        "type": "standard",
        "settings": {
            "enforce_twofactor": false,
            "api_access_enabled": null,
            "use_account_custom_ns_by_default": false,
            "default_nameservers": "cloudflare.standard",
            "abuse_contact_email": null
        },
        "created_on": "2020-01-01T00:00:00Z"
    })
}

pub(crate) fn list_accounts(scenario: Scenario, query: &QueryParams) -> Response {
    let (page, per_page) = match query.pagination(20, 5, 50) {
        Ok(p) => p,
        Err(message) => return bad_request(&message),
    };
    let accounts = if permission_missing(scenario, Permission::AccountSettingsRead) {
        Vec::new()
    } else {
        vec![account_object(token_account(scenario))]
    };
    paginated(accounts, page, per_page)
}

pub(crate) fn get_account(scenario: Scenario, account: &str) -> Response {
    if account != token_account(scenario)
        || permission_missing(scenario, Permission::AccountSettingsRead)
    {
        return unauthorized();
    }
    success(account_object(account), None)
}
