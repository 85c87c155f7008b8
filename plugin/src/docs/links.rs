//! The docs page behind each hint. Every hint `verify` and the services give ends with the URL
//! of the page that explains it, so an agent can read it next with `read-doc`.
//!
//! Links are added in two places only (the end of `verify` and the service boundary in
//! `exports::service`), so no hint written elsewhere can miss one.

use crate::wit_connector::{Check, CheckStatus, SecurityFinding};
use crate::wit_types::{Error, Service};

const BASE: &str = "https://developers.cloudflare.com";

pub const CREATE_TOKEN: &str =
    "https://developers.cloudflare.com/fundamentals/api/get-started/create-token/";
pub const TOKEN_PERMISSIONS: &str =
    "https://developers.cloudflare.com/fundamentals/api/reference/permissions/";
pub const FIND_IDS: &str =
    "https://developers.cloudflare.com/fundamentals/account/find-account-and-zone-ids/";
pub const API_RATE_LIMITS: &str =
    "https://developers.cloudflare.com/fundamentals/api/reference/limits/";
pub const RESTRICT_TOKENS: &str =
    "https://developers.cloudflare.com/fundamentals/api/how-to/restrict-tokens/";
pub const ROLL_TOKEN: &str =
    "https://developers.cloudflare.com/fundamentals/api/how-to/roll-token/";
pub const API_TROUBLESHOOTING: &str =
    "https://developers.cloudflare.com/fundamentals/api/troubleshooting/";
pub const GRAPHQL_TOKEN: &str = "https://developers.cloudflare.com/analytics/graphql-api/getting-started/authentication/api-token-auth/";
pub const GRAPHQL_LIMITS: &str = "https://developers.cloudflare.com/analytics/graphql-api/limits/";
pub const GRAPHQL_ERRORS: &str = "https://developers.cloudflare.com/analytics/graphql-api/errors/";
pub const GRAPHQL_SETTINGS: &str =
    "https://developers.cloudflare.com/analytics/graphql-api/features/discovery/settings/";
pub const DNS_ANALYTICS: &str =
    "https://developers.cloudflare.com/dns/additional-options/analytics/";

/// Every page a hint links to (the tests read each one through `read-doc`).
pub const ALL: &[&str] = &[
    CREATE_TOKEN,
    TOKEN_PERMISSIONS,
    FIND_IDS,
    API_RATE_LIMITS,
    RESTRICT_TOKENS,
    ROLL_TOKEN,
    API_TROUBLESHOOTING,
    GRAPHQL_TOKEN,
    GRAPHQL_LIMITS,
    GRAPHQL_ERRORS,
    GRAPHQL_SETTINGS,
    DNS_ANALYTICS,
];

/// `hint` ending with `url`, unless it already ends with a docs link.
pub fn append(hint: &str, url: &str) -> String {
    let hint = hint.trim_end();
    if ends_with_link(hint) {
        return hint.to_string();
    }
    if hint.is_empty() {
        return format!("Docs: {url}");
    }
    format!("{hint} Docs: {url}")
}

fn ends_with_link(hint: &str) -> bool {
    hint.rsplit(' ')
        .next()
        .is_some_and(|last| last.starts_with(BASE))
}

fn link(hint: &mut Option<String>, url: &str) {
    if let Some(text) = hint {
        *text = append(text, url);
    }
}

/// Adds the page that explains an error to its hint. Documentation errors keep theirs: they
/// already say how to find a page.
pub fn link_error(error: &mut Error, service: Option<Service>) {
    let graphql = service == Some(Service::GraphqlAnalytics);
    match error {
        Error::Unauthorized(f) => link(&mut f.hint, CREATE_TOKEN),
        Error::Forbidden(f) if graphql => link(&mut f.hint, GRAPHQL_TOKEN),
        Error::Forbidden(f) => link(&mut f.hint, TOKEN_PERMISSIONS),
        Error::NotFound(_) | Error::Upstream(_) if service == Some(Service::Documentation) => {}
        Error::NotFound(f) => link(&mut f.hint, FIND_IDS),
        Error::PlanLimit(f) if graphql => link(&mut f.hint, GRAPHQL_LIMITS),
        Error::PlanLimit(f) => link(&mut f.hint, DNS_ANALYTICS),
        Error::Upstream(f) if graphql => link(&mut f.hint, GRAPHQL_ERRORS),
        Error::Upstream(f) => link(&mut f.hint, API_TROUBLESHOOTING),
        Error::QueryRejected(problems) => {
            for problem in problems {
                let url = match problem.code.as_deref() {
                    Some("authz") => GRAPHQL_TOKEN,
                    Some("budget" | "quota") => GRAPHQL_LIMITS,
                    _ if mentions_range(problem.hint.as_deref()) => GRAPHQL_SETTINGS,
                    _ => GRAPHQL_ERRORS,
                };
                link(&mut problem.hint, url);
            }
        }
        Error::InvalidInput(_)
        | Error::NotConnected(_)
        | Error::ServiceDisabled(_)
        | Error::RateLimited(_)
        | Error::DeniedByHost(_)
        | Error::Transport(_)
        | Error::Internal(_) => {}
    }
}

fn mentions_range(hint: Option<&str>) -> bool {
    hint.is_some_and(|h| {
        let h = h.to_ascii_lowercase();
        h.contains("range") || h.contains("older") || h.contains("duration")
    })
}

/// Adds the explaining page to a verify check's hint (and to its error's).
pub fn link_check(check: &mut Check) {
    if let Some(error) = &mut check.error {
        link_error(error, check.service);
    }
    let url = if check.service == Some(Service::Documentation) {
        // The docs host check: a docs page cannot help when the docs host is unreachable or
        // limits this client (and the API's limits are not its own).
        None
    } else if check.status == CheckStatus::RateLimited {
        Some(API_RATE_LIMITS)
    } else if check.service == Some(Service::GraphqlAnalytics) && check.permission.is_some() {
        Some(GRAPHQL_TOKEN)
    } else if check.permission.is_some() {
        Some(TOKEN_PERMISSIONS)
    } else {
        Some(match check.id.as_str() {
            "token-expiry" => ROLL_TOKEN,
            "account" => FIND_IDS,
            "token" => CREATE_TOKEN,
            _ => API_TROUBLESHOOTING,
        })
    };
    if let Some(url) = url {
        link(&mut check.hint, url);
    }
}

pub fn link_finding(finding: &mut SecurityFinding) {
    let url = match finding.id.as_str() {
        "extra-permissions" => TOKEN_PERMISSIONS,
        "no-expiry" => ROLL_TOKEN,
        _ => RESTRICT_TOKENS,
    };
    finding.hint = append(&finding.hint, url);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wit_types::{ApiFailure, GraphqlProblem};

    fn failure(hint: &str) -> ApiFailure {
        ApiFailure {
            status: 403,
            codes: vec![10000],
            message: "Authentication error".into(),
            hint: Some(hint.into()),
            permission: None,
        }
    }

    #[test]
    fn a_link_is_appended_once() {
        let once = append("Add the permission.", TOKEN_PERMISSIONS);
        assert_eq!(
            once,
            format!("Add the permission. Docs: {TOKEN_PERMISSIONS}")
        );
        assert_eq!(append(&once, CREATE_TOKEN), once);
        assert!(
            ALL.iter()
                .all(|url| url.starts_with(BASE) && url.ends_with('/'))
        );
    }

    #[test]
    fn errors_link_the_page_for_their_service() {
        let mut error = Error::Forbidden(failure("Add Account Analytics Read."));
        link_error(&mut error, Some(Service::GraphqlAnalytics));
        let Error::Forbidden(f) = &error else {
            panic!()
        };
        assert!(f.hint.as_deref().expect("present").ends_with(GRAPHQL_TOKEN));

        let mut error = Error::Forbidden(failure("Add Zone Read."));
        link_error(&mut error, Some(Service::DnsAnalytics));
        let Error::Forbidden(f) = &error else {
            panic!()
        };
        assert!(
            f.hint
                .as_deref()
                .expect("present")
                .ends_with(TOKEN_PERMISSIONS)
        );

        let problem = |code: Option<&str>, hint: &str| GraphqlProblem {
            message: "m".into(),
            path: Vec::new(),
            code: code.map(str::to_string),
            hint: Some(hint.into()),
        };
        let mut error = Error::QueryRejected(vec![
            problem(Some("quota"), "Wait."),
            problem(None, "Shorten the time range."),
            GraphqlProblem {
                hint: None,
                ..problem(None, "")
            },
        ]);
        link_error(&mut error, Some(Service::GraphqlAnalytics));
        let Error::QueryRejected(problems) = &error else {
            panic!()
        };
        assert!(
            problems[0]
                .hint
                .as_deref()
                .expect("present")
                .ends_with(GRAPHQL_LIMITS)
        );
        assert!(
            problems[1]
                .hint
                .as_deref()
                .expect("present")
                .ends_with(GRAPHQL_SETTINGS)
        );
        assert_eq!(problems[2].hint, None);

        let mut error = Error::NotFound(failure("Find the page with docs_search."));
        link_error(&mut error, Some(Service::Documentation));
        let Error::NotFound(f) = &error else { panic!() };
        assert_eq!(f.hint.as_deref(), Some("Find the page with docs_search."));
    }
}
