//! Building the WIT `error` from what Cloudflare answered, in one place.

use crate::wit_types::{ApiFailure, Error, InputProblem, RateLimit, RateLimiter};

pub const HINT_TOKEN: &str = "Check that the API token (CLOUDFLARE_API_TOKEN, or the Authorization: \
Bearer header sent to cf-harness serve) is correct (copied whole, no spaces) and has not been revoked or expired (My Profile → API Tokens). Cloudflare shows a token only once: if it \
was lost, create a new one.";

/// What to do about a rate limit, by whose it was: each has its own budget.
pub fn rate_limit_hint(limiter: RateLimiter) -> &'static str {
    match limiter {
        RateLimiter::Api => {
            "Wait, then retry: Cloudflare's API allows 1,200 requests per 5 minutes per user \
             (all of the user's tokens together)."
        }
        RateLimiter::Graphql => {
            "Wait, then retry: Cloudflare's GraphQL Analytics API allows 300 queries per 5 \
             minutes per user; ask for fewer or smaller queries (a shorter range, fewer \
             dimensions)."
        }
        RateLimiter::Docs => {
            "Wait, then retry: this is the documentation site's own limit \
             (developers.cloudflare.com), not the API's; it does not count against the API's \
             1,200 requests per 5 minutes."
        }
    }
}

/// The host whose limit it was.
pub fn limiter_host(limiter: RateLimiter) -> &'static str {
    match limiter {
        RateLimiter::Api | RateLimiter::Graphql => crate::http::API_HOST,
        RateLimiter::Docs => crate::http::DOCS_HOST,
    }
}

/// Whose limit it was, in words: `Cloudflare's API (api.cloudflare.com)`.
pub fn limiter_words(limiter: RateLimiter) -> &'static str {
    match limiter {
        RateLimiter::Api => "Cloudflare's API (api.cloudflare.com)",
        RateLimiter::Graphql => "Cloudflare's GraphQL Analytics API",
        RateLimiter::Docs => "Cloudflare's documentation site (developers.cloudflare.com)",
    }
}

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
/// names what the caller was trying to read, so a 403 says which permission to add; `limit` is
/// the rate limit a 429 (or code 971) means: whose, and its `Retry-After`.
pub fn classify(
    status: u16,
    codes: &[u32],
    message: &str,
    limit: RateLimit,
    forbidden_hint: Option<&str>,
) -> Error {
    let failure = |hint: Option<&str>| ApiFailure {
        status,
        codes: codes.to_vec(),
        message: message.to_string(),
        hint: hint.map(str::to_string),
        permission: None,
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
        return Error::RateLimited(limit);
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
        Error::RateLimited(limit)
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
        Error::RateLimited(limit) => match limit.retry_after {
            Some(s) => format!(
                "{} rate limited the request; retry after {s} s",
                limiter_words(limit.limiter)
            ),
            None => format!("{} rate limited the request", limiter_words(limit.limiter)),
        },
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

    fn api(retry_after: Option<u32>) -> RateLimit {
        RateLimit {
            limiter: RateLimiter::Api,
            retry_after,
        }
    }

    /// Each limiter is named in the message and has its own hint: the docs host's 429 is never
    /// worded as the API's limit.
    #[test]
    fn a_rate_limit_names_whose_limit_it_was() {
        for limiter in [RateLimiter::Api, RateLimiter::Graphql, RateLimiter::Docs] {
            let limit = RateLimit {
                limiter,
                retry_after: Some(12),
            };
            let Error::RateLimited(got) = classify(429, &[], "x", limit, None) else {
                panic!("{limiter:?}: a 429 is rate-limited");
            };
            assert_eq!(got, limit);
            let text = message(&Error::RateLimited(limit));
            assert!(text.contains(limiter_words(limiter)), "{text}");
            assert!(text.contains("12 s"), "{text}");
        }
        assert!(rate_limit_hint(RateLimiter::Api).contains("1,200 requests per 5 minutes"));
        assert!(rate_limit_hint(RateLimiter::Graphql).contains("300 queries per 5 minutes"));
        let docs = rate_limit_hint(RateLimiter::Docs);
        assert!(docs.contains("developers.cloudflare.com") && docs.contains("not the API's"));
        assert!(limiter_words(RateLimiter::Docs).contains("developers.cloudflare.com"));
    }

    #[test]
    fn classifies_by_status_and_code() {
        assert!(matches!(
            classify(401, &[1000], "Invalid API Token", api(None), None),
            Error::Unauthorized(_)
        ));
        assert!(matches!(
            classify(403, &[10000], "Authentication error", api(None), None),
            Error::Forbidden(_)
        ));
        assert!(matches!(
            classify(400, &[9109], "Unauthorized", api(None), None),
            Error::Forbidden(_)
        ));
        assert!(matches!(
            classify(404, &[7003, 7000], "no route", api(None), None),
            Error::NotFound(_)
        ));
        assert!(matches!(
            classify(429, &[971], "slow down", api(Some(30)), None),
            Error::RateLimited(RateLimit {
                limiter: RateLimiter::Api,
                retry_after: Some(30)
            })
        ));
        assert!(matches!(
            classify(403, &[1034], "plan", api(None), None),
            Error::PlanLimit(_)
        ));
        assert!(matches!(
            classify(500, &[], "boom", api(None), None),
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
            match classify(status, codes, "x", api(None), None) {
                Error::Upstream(f) => assert_eq!(f.hint.as_deref(), Some(HINT_SERVER_ERROR)),
                other => panic!("{status} {codes:?}: expected upstream, got {other:?}"),
            }
        }
        assert!(matches!(
            classify(429, &[10000], "x", api(Some(5)), None),
            Error::RateLimited(RateLimit {
                limiter: RateLimiter::Api,
                retry_after: Some(5)
            })
        ));
        assert!(matches!(
            classify(403, &[7003], "x", api(None), None),
            Error::Forbidden(_)
        ));
        match classify(400, &[1234], "x", api(None), None) {
            Error::Upstream(f) => assert!(f.hint.is_some()),
            other => panic!("expected upstream, got {other:?}"),
        }
    }

    #[test]
    fn forbidden_carries_the_callers_hint() {
        let Error::Forbidden(f) =
            classify(403, &[10000], "x", api(None), Some("add Zone → DNS → Read"))
        else {
            panic!("expected forbidden");
        };
        assert_eq!(f.hint.as_deref(), Some("add Zone → DNS → Read"));
    }
}
