//! The token check: is the token valid and active, and who owns it.

use super::probe::rejects_token;
use super::{Halt, Outcome, ROTATION_ADVICE, Verifier};
use crate::error::{HINT_TOKEN, message};
use crate::http::Request;
use crate::time::parse_rfc3339;
use crate::wit_connector::{CheckStatus, TokenInfo, TokenState};
use crate::wit_types::{ApiFailure, Error};
use serde_json::Value;

impl Verifier<'_> {
    /// The token check: user tokens verify at `/user/tokens/verify`, account-owned tokens only at
    /// `/accounts/{id}/tokens/verify`.
    pub(super) fn check_token(&mut self) -> TokenInfo {
        let mut info = TokenInfo {
            state: TokenState::Unknown,
            id: None,
            owner: None,
            expires_on: None,
            not_before: None,
        };
        let user = self.probe(Request::api_get("/user/tokens/verify"), None);
        let (probe, owner) = if rejects_token(user.error.as_ref()) {
            // Account-owned tokens fail on the user endpoint: try the account's.
            let path = format!("/accounts/{}/tokens/verify", self.connection.account_id);
            let account = self.probe(Request::api_get(&path), None);
            if rejects_token(account.error.as_ref()) {
                (user, "user")
            } else {
                (account, "account")
            }
        } else {
            (user, "user")
        };
        // A rate limit, an outage or a host denial says nothing about the token itself.
        if probe.error.is_some() && !rejects_token(probe.error.as_ref()) {
            let outcome = self.unusable_outcome(&probe, "The token could not be checked");
            self.push_general("token", "API token is valid", outcome);
            return info;
        }
        if let Some(error) = probe.error.clone() {
            info.state = TokenState::Invalid;
            let detail = format!(
                "Cloudflare does not accept the token: {} (tried the user-token and the \
                 account-token endpoints)",
                message(&error)
            );
            let hint = format!(
                "{HINT_TOKEN} For an account-owned token, also ensure the Account ID is the \
                 account the token was created in."
            );
            self.halt = Some(Halt::TokenRejected(error.clone()));
            self.push_general(
                "token",
                "API token is valid",
                Outcome {
                    status: CheckStatus::Failed,
                    detail,
                    hint: Some(hint),
                    evidence: Some(probe.evidence),
                    error: Some(error),
                    retry_after: None,
                },
            );
            return info;
        }
        let field = |name: &str| {
            probe
                .result
                .get(name)
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        info.id = field("id");
        info.owner = Some(owner.to_string());
        info.expires_on = field("expires_on");
        info.not_before = field("not_before");
        self.token_owner = Some(owner);
        info.state = match field("status").as_deref() {
            Some("active") => TokenState::Active,
            Some("disabled") => TokenState::Disabled,
            Some("expired") => TokenState::Expired,
            _ => TokenState::Unknown,
        };
        let not_yet = info
            .not_before
            .as_deref()
            .and_then(parse_rfc3339)
            .filter(|t| *t > self.now);
        let (status, detail, hint) = match (info.state, not_yet) {
            (TokenState::Active, None) => (
                CheckStatus::Ok,
                format!("The {owner}-owned token is valid and active."),
                None,
            ),
            (TokenState::Active, Some(_)) => (
                CheckStatus::Failed,
                format!(
                    "The token is not valid before {}.",
                    info.not_before.clone().unwrap_or_default()
                ),
                Some("Wait until the token's start date, or edit its TTL in My Profile → API Tokens.".to_string()),
            ),
            (TokenState::Disabled, _) => (
                CheckStatus::Failed,
                "The token is disabled (revoked).".to_string(),
                Some(format!("Re-enable it in My Profile → API Tokens, or create a new one. {HINT_TOKEN}")),
            ),
            (TokenState::Expired, _) => (
                CheckStatus::Failed,
                format!(
                    "The token expired{}.",
                    info.expires_on.as_deref().map(|d| format!(" on {d}")).unwrap_or_default()
                ),
                Some(format!("Create a new token (or extend its TTL). {ROTATION_ADVICE}")),
            ),
            _ => (
                CheckStatus::Failed,
                "Cloudflare reported an unknown token status.".to_string(),
                Some(HINT_TOKEN.to_string()),
            ),
        };
        if status == CheckStatus::Failed {
            self.halt = Some(Halt::TokenRejected(Error::Unauthorized(ApiFailure {
                status: probe.evidence.status.unwrap_or_default(),
                codes: Vec::new(),
                message: detail.clone(),
                hint: hint.clone(),
                permission: None,
            })));
        }
        let usable = status == CheckStatus::Ok;
        self.push_general(
            "token",
            "API token is valid",
            Outcome {
                status,
                detail,
                hint,
                evidence: Some(probe.evidence),
                error: None,
                retry_after: None,
            },
        );
        if usable {
            let outcome = self.expiry_outcome(&info);
            self.push_general("token-expiry", "API token expiry", outcome);
        }
        info
    }
}
