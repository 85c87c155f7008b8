//! The one shape of a tool error: what failed, in words, what to do, and where to read more.

use crate::{GraphqlProblem, output};

output! {
    /// A tool error: MCP's `isError` result carries it as `{"error": {...}}`, and a verify
    /// check that failed carries the error that decided it.
    pub struct ToolError<'a> {
        /// What failed, as the contract names it: `invalid-input`, `not-connected`,
        /// `service-disabled`, `unauthorized`, `forbidden`, `not-found`, `plan-limit`,
        /// `rate-limited`, `query-rejected`, `upstream`, `denied-by-host`, `transport` or
        /// `internal`; or the host's own (`timeout`, `trap`, `limit`, `host`).
        pub kind: &'a str,
        /// What happened, in words.
        pub message: String,
        /// What to do about it.
        pub hint: Option<String>,
        /// The Cloudflare page that explains the fix.
        pub docs_url: Option<&'static str>,
        /// `invalid-input`: the argument to change, for example `filters[0].dimension`.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub field: Option<String>,
        /// `forbidden`: the permission the token lacks, as the dashboard names it.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub permission: Option<&'static str>,
        /// `rate-limited`: when to retry, when the limit said.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub retry_after_seconds: Option<u32>,
        /// `service-disabled`: the service to enable (`documentation`, `dns-analytics`,
        /// `graphql-analytics`).
        #[serde(skip_serializing_if = "Option::is_none")]
        pub service: Option<&'static str>,
        /// A Cloudflare answer's HTTP status.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub status: Option<u16>,
        /// A Cloudflare answer's error codes.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub codes: Option<&'a [u32]>,
        /// `rate-limited`: whose limit (`api`, `graphql`, `docs`) and the host that answered.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub limiter: Option<&'static str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub host: Option<&'static str>,
        /// `query-rejected`: each GraphQL problem.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub problems: Option<Vec<GraphqlProblem<'a>>>,
    }

    /// A tool error as MCP's structured content carries it.
    pub struct ErrorEnvelope<'a> {
        pub error: ToolError<'a>,
    }
}

impl<'a> ToolError<'a> {
    /// An error of `kind` with its message and hint, its docs page, and no details yet.
    pub fn new(kind: &'a str, message: String, hint: Option<String>) -> Self {
        ToolError {
            kind,
            message,
            hint,
            docs_url: docs_url(kind, None),
            field: None,
            permission: None,
            retry_after_seconds: None,
            service: None,
            status: None,
            codes: None,
            limiter: None,
            host: None,
            problems: None,
        }
    }
}

/// The page that explains an error kind's fix (for `rate-limited`, the limiter's own limits).
pub fn docs_url(kind: &str, limiter: Option<&str>) -> Option<&'static str> {
    const CREATE_TOKEN: &str =
        "https://developers.cloudflare.com/fundamentals/api/get-started/create-token/";
    const IDS: &str =
        "https://developers.cloudflare.com/fundamentals/account/find-account-and-zone-ids/";
    const GRAPHQL_LIMITS: &str = "https://developers.cloudflare.com/analytics/graphql-api/limits/";
    match (kind, limiter) {
        ("unauthorized", _) => Some(CREATE_TOKEN),
        ("forbidden", _) => {
            Some("https://developers.cloudflare.com/fundamentals/api/reference/permissions/")
        }
        ("not-connected" | "not-found", _) => Some(IDS),
        ("plan-limit", _) | ("rate-limited", Some("graphql")) => Some(GRAPHQL_LIMITS),
        ("rate-limited", Some("api")) => {
            Some("https://developers.cloudflare.com/fundamentals/api/reference/limits/")
        }
        ("query-rejected", _) => {
            Some("https://developers.cloudflare.com/analytics/graphql-api/errors/")
        }
        _ => None,
    }
}

/// A permission as the dashboard's custom-token form shows it, by its contract name.
pub fn dashboard_name(permission: &str) -> Option<&'static str> {
    Some(match permission {
        "zone-read" => "Zone → Zone → Read",
        "zone-analytics-read" => "Zone → Analytics → Read",
        "dns-read" => "Zone → DNS → Read",
        "account-settings-read" => "Account → Account Settings → Read",
        "account-analytics-read" => "Account → Account Analytics → Read",
        _ => return None,
    })
}
