//! The account check (does the Account ID match the token?) and Account Settings Read, which
//! the same read probes.

use super::{Outcome, Probe, Verifier};
use crate::cloudflare::catalog;
use crate::error::message;
use crate::http::{Request, with_query};
use crate::wit_connector::CheckStatus;
use crate::wit_types::{Error, Permission};
use serde_json::Value;

impl Verifier<'_> {
    /// Reads the account; when refused, tells a wrong account ID apart from a missing
    /// permission by listing the accounts the token can see.
    pub(super) fn check_account(&mut self) {
        let id = self.connection.account_id.clone();
        let hint = catalog::grant_hint(Permission::AccountSettingsRead);
        let probe = self.probe(Request::api_get(&format!("/accounts/{id}")), Some(&hint));
        self.account_probe = Some(probe.clone());
        let title = "Account ID matches the token";
        let outcome = match &probe.error {
            None => {
                let name = probe
                    .result
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("(unnamed)");
                Outcome {
                    status: CheckStatus::Ok,
                    detail: format!("The token reads account {id} ({name})."),
                    hint: None,
                    evidence: Some(probe.evidence.clone()),
                    error: None,
                    retry_after: None,
                }
            }
            Some(Error::Forbidden(_) | Error::NotFound(_)) => self.account_refused(&probe),
            Some(_) => self.unusable_outcome(&probe, "The account could not be read"),
        };
        self.push_general("account", title, outcome);
    }

    pub(super) fn account_refused(&mut self, probe: &Probe) -> Outcome {
        let id = self.connection.account_id.clone();
        let listing = self.probe(
            Request::api_get(&with_query("/accounts", &[("per_page", "50")])),
            None,
        );
        let visible: Vec<(String, String)> = listing
            .result
            .as_array()
            .map(|accounts| {
                accounts
                    .iter()
                    .filter_map(|a| {
                        let aid = a.get("id")?.as_str()?.to_string();
                        let name = a
                            .get("name")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string();
                        Some((aid, name))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let fail = |detail: String, hint: String| Outcome {
            status: CheckStatus::Failed,
            detail,
            hint: Some(hint),
            evidence: Some(probe.evidence.clone()),
            error: probe.error.clone(),
            retry_after: None,
        };
        if listing.ok() && !visible.is_empty() && !visible.iter().any(|(a, _)| *a == id) {
            let names: Vec<String> = visible.iter().map(|(a, n)| format!("{a} ({n})")).collect();
            let detail = format!(
                "The Account ID {id} does not match the token's account: the token can access {}.",
                names.join(", ")
            );
            let hint = "Ensure the Account ID matches the account the token was created for: use \
                        the ID listed above, or create a token in the account you entered."
                .to_string();
            self.account_mismatch = Some(detail.clone());
            return fail(detail, hint);
        }
        let in_listing = visible.iter().any(|(a, _)| *a == id);
        let confirmed = in_listing || self.token_owner == Some("account");
        if confirmed {
            return Outcome {
                status: CheckStatus::Ok,
                detail: format!(
                    "The token belongs to account {id} (its settings are not readable)."
                ),
                hint: None,
                evidence: Some(probe.evidence.clone()),
                error: None,
                retry_after: None,
            };
        }
        if matches!(probe.error, Some(Error::NotFound(_))) {
            let detail = format!("No account {id} is reachable with this token.");
            self.account_mismatch = Some(detail.clone());
            return fail(
                detail,
                "Ensure the Account ID matches the account the token was created for (dashboard → Account home → Account ID).".to_string(),
            );
        }
        // Refused without proof of a mismatch: a missing Account Settings Read looks the same,
        // and that permission has its own check. Only a proven mismatch fails this one.
        Outcome {
            status: CheckStatus::Skipped,
            detail: format!(
                "Could not confirm account {id}: Cloudflare refused to read it ({}).",
                probe.error.as_ref().map(message).unwrap_or_default()
            ),
            hint: Some(
                "Ensure the Account ID matches the account the token was created for. If it \
                 does, the token lacks Account Settings Read, which only DNS Analytics needs."
                    .to_string(),
            ),
            evidence: Some(probe.evidence.clone()),
            error: None,
            retry_after: None,
        }
    }

    pub(super) fn account_settings_outcome(&self) -> Outcome {
        let Some(probe) = self.account_probe.clone() else {
            return Outcome {
                status: CheckStatus::Skipped,
                detail: "The account was not read.".into(),
                hint: None,
                evidence: None,
                error: None,
                retry_after: None,
            };
        };
        if let Some(mismatch) = &self.account_mismatch {
            return Outcome {
                status: CheckStatus::Skipped,
                detail: format!("Not checked: {mismatch}"),
                hint: Some("Fix the Account ID first (see the account check).".to_string()),
                evidence: Some(probe.evidence),
                error: None,
                retry_after: None,
            };
        }
        let mut outcome = self.denied_or_unusable(
            Permission::AccountSettingsRead,
            &probe,
            "Reading the account",
        );
        // Only a refusal can mean a wrong account; an outage keeps its own hint.
        if matches!(probe.error, Some(Error::Forbidden(_))) {
            outcome.hint = Some(format!(
                "{} If the token already has it, check that the Account ID is the account the \
                 token was created for.",
                catalog::grant_hint(Permission::AccountSettingsRead)
            ));
        }
        outcome
    }
}
