//! Building the WIT `error` from what Cloudflare answered, in one place.

use crate::wit_types::{ApiFailure, Error, InputProblem};

pub const HINT_TOKEN: &str = "Check that CLOUDFLARE_API_TOKEN is correct (copied whole, no spaces) and \
has not been revoked or expired (My Profile → API Tokens). Cloudflare shows a token only once: if it \
was lost, create a new one.";
pub const HINT_RATE_LIMIT: &str =
    "Cloudflare allows 1200 API requests per 5 minutes per token; wait and retry.";

/// `invalid-input` for a field, with what is accepted.
pub fn invalid(field: &str, message: impl Into<String>) -> Error {
    Error::InvalidInput(InputProblem {
        field: field.to_string(),
        message: message.into(),
    })
}

pub const HINT_SERVER_ERROR: &str = "Cloudflare failed on its side: retry in a minute; if it \
persists, see https://www.cloudflarestatus.com.";
const HINT_BAD_REQUEST: &str = "Cloudflare refused the request as malformed: check the \
arguments (identifiers, names, the time range) against the tool's schema.";

/// Classifies a failed API answer: by HTTP status class first (a 5xx is Cloudflare's failure
/// whatever code it carries), then by status, then by Cloudflare error code. `forbidden_hint`
/// names what the caller was trying to read, so a 403 says which permission to add.
pub fn classify(
    status: u16,
    codes: &[u32],
    message: &str,
    retry_after: Option<u32>,
    forbidden_hint: Option<&str>,
) -> Error {
    let failure = |hint: Option<&str>| ApiFailure {
        status,
        codes: codes.to_vec(),
        message: message.to_string(),
        hint: hint.map(str::to_string),
    };
    let has = |code: u32| codes.contains(&code);
    let forbidden = || {
        Error::Forbidden(failure(Some(forbidden_hint.unwrap_or(
            "The token lacks a permission this request needs: check the token's permissions and \
             zone resources in My Profile → API Tokens.",
        ))))
    };
    let not_found = || {
        Error::NotFound(failure(Some(
            "Check the identifier: the account ID must be the one the token was created for, and \
             zone IDs are 32 hexadecimal characters.",
        )))
    };
    if status == 429 {
        return Error::RateLimited(retry_after);
    }
    if status >= 500 {
        return Error::Upstream(failure(Some(HINT_SERVER_ERROR)));
    }
    if has(1034) {
        return Error::PlanLimit(failure(Some(
            "The zone's plan does not include this feature or dimension; choose another, or upgrade the plan.",
        )));
    }
    match status {
        401 => return Error::Unauthorized(failure(Some(HINT_TOKEN))),
        403 => return forbidden(),
        404 => return not_found(),
        _ => {}
    }
    // Another 4xx, or a 2xx whose envelope says it failed: the code tells.
    if has(971) {
        Error::RateLimited(retry_after)
    } else if has(1000) || has(9106) || has(6003) || has(6111) {
        Error::Unauthorized(failure(Some(HINT_TOKEN)))
    } else if has(9109) || has(10000) {
        forbidden()
    } else if has(7003) || has(7000) {
        not_found()
    } else if (400..500).contains(&status) {
        Error::Upstream(failure(Some(HINT_BAD_REQUEST)))
    } else {
        Error::Upstream(failure(Some(HINT_SERVER_ERROR)))
    }
}

/// A short name of the error's kind, as in the WIT (`denied-by-host`), for JSON and logs.
pub fn kind(error: &Error) -> &'static str {
    error.into()
}

/// One line describing the error, for reports.
pub fn message(error: &Error) -> String {
    match error {
        Error::InvalidInput(p) => format!("{}: {}", p.field, p.message),
        Error::NotConnected(m)
        | Error::DeniedByHost(m)
        | Error::Transport(m)
        | Error::Internal(m) => m.clone(),
        Error::ServiceDisabled(s) => {
            format!("the service {} is not enabled", crate::names::name(*s))
        }
        Error::Unauthorized(f)
        | Error::Forbidden(f)
        | Error::NotFound(f)
        | Error::PlanLimit(f)
        | Error::Upstream(f) => format!("HTTP {}: {}", f.status, f.message),
        Error::RateLimited(Some(s)) => format!("rate limited; retry after {s} s"),
        Error::RateLimited(None) => "rate limited".to_string(),
        Error::QueryRejected(problems) => problems
            .iter()
            .map(|p| p.message.as_str())
            .collect::<Vec<_>>()
            .join("; "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_by_status_and_code() {
        assert!(matches!(
            classify(401, &[1000], "Invalid API Token", None, None),
            Error::Unauthorized(_)
        ));
        assert!(matches!(
            classify(403, &[10000], "Authentication error", None, None),
            Error::Forbidden(_)
        ));
        assert!(matches!(
            classify(400, &[9109], "Unauthorized", None, None),
            Error::Forbidden(_)
        ));
        assert!(matches!(
            classify(404, &[7003, 7000], "no route", None, None),
            Error::NotFound(_)
        ));
        assert!(matches!(
            classify(429, &[971], "slow down", Some(30), None),
            Error::RateLimited(Some(30))
        ));
        assert!(matches!(
            classify(403, &[1034], "plan", None, None),
            Error::PlanLimit(_)
        ));
        assert!(matches!(
            classify(500, &[], "boom", None, None),
            Error::Upstream(_)
        ));
    }

    /// A 5xx is Cloudflare's failure whatever code it carries, and says to retry.
    #[test]
    fn the_status_class_comes_before_the_code() {
        for (status, codes) in [
            (500, &[10000][..]),
            (500, &[7000]),
            (502, &[1000]),
            (503, &[]),
        ] {
            match classify(status, codes, "x", None, None) {
                Error::Upstream(f) => assert_eq!(f.hint.as_deref(), Some(HINT_SERVER_ERROR)),
                other => panic!("{status} {codes:?}: expected upstream, got {other:?}"),
            }
        }
        assert!(matches!(
            classify(429, &[10000], "x", Some(5), None),
            Error::RateLimited(Some(5))
        ));
        assert!(matches!(
            classify(403, &[7003], "x", None, None),
            Error::Forbidden(_)
        ));
        match classify(400, &[1234], "x", None, None) {
            Error::Upstream(f) => assert!(f.hint.is_some()),
            other => panic!("expected upstream, got {other:?}"),
        }
    }

    #[test]
    fn forbidden_carries_the_callers_hint() {
        let Error::Forbidden(f) = classify(403, &[10000], "x", None, Some("add Zone → DNS → Read"))
        else {
            panic!("expected forbidden");
        };
        assert_eq!(f.hint.as_deref(), Some("add Zone → DNS → Read"));
    }
}
