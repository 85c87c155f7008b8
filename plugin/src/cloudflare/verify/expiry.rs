//! The expiry check of a valid token.

use super::{Outcome, ROTATION_ADVICE, Verifier};
use crate::time::parse_rfc3339;
use crate::wit_connector::{CheckStatus, TokenInfo};

/// Tokens expiring sooner than this get a warning.
const EXPIRY_WARNING_DAYS: i64 = 14;

impl Verifier<'_> {
    pub(super) fn expiry_outcome(&self, info: &TokenInfo) -> Outcome {
        let (status, detail, hint) = match info.expires_on.as_deref() {
            None => (
                CheckStatus::Warning,
                "The token has no expiry date.".to_string(),
                Some(ROTATION_ADVICE.to_string()),
            ),
            Some(date) => match parse_rfc3339(date) {
                Some(t) if (t - self.now) < EXPIRY_WARNING_DAYS * 86_400 => (
                    CheckStatus::Warning,
                    format!(
                        "The token expires on {date}, in {} day(s).",
                        (t - self.now).max(0) / 86_400
                    ),
                    Some(format!(
                        "Create a replacement token before then. {ROTATION_ADVICE}"
                    )),
                ),
                Some(t) => (
                    CheckStatus::Ok,
                    format!(
                        "The token expires on {date}, in {} days.",
                        (t - self.now) / 86_400
                    ),
                    None,
                ),
                None => (
                    CheckStatus::Warning,
                    format!("The token's expiry date {date:?} could not be read."),
                    Some(ROTATION_ADVICE.to_string()),
                ),
            },
        };
        Outcome {
            status,
            detail,
            hint,
            evidence: None,
            error: None,
            retry_after: None,
        }
    }
}
