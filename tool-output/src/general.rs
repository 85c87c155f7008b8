//! `connect` and `verify`.

use crate::{ToolError, output};

output! {
    /// `connect`: the connection now in use.
    pub struct ConnectionInfo<'a> {
        /// The Cloudflare account ID.
        pub account_id: &'a str,
        /// Where the connection came from: the host's settings or the connect tool.
        pub source: &'a str,
        /// Every host the plugin will call.
        pub hosts: &'a [String],
        /// Each enabled service with the token permissions it needs.
        pub services: Vec<ServiceInfo<'a>>,
    }

    /// An enabled service.
    pub struct ServiceInfo<'a> {
        /// The contract's name: `documentation`, `dns-analytics` or `graphql-analytics`.
        pub service: &'static str,
        /// As the connection page names it: Documentation, DNS Analytics, GraphQL Analytics.
        pub display_name: &'a str,
        pub hosts: &'a [String],
        pub permissions: Vec<PermissionRequirement<'a>>,
    }

    /// A token permission a service needs.
    pub struct PermissionRequirement<'a> {
        /// The contract's name, for example `zone-analytics-read`.
        pub permission: &'static str,
        /// As the dashboard's token form shows it, for example `Zone → Analytics → Read`.
        pub dashboard_name: &'a str,
        /// What the service reads with it.
        pub reason: &'a str,
    }

    /// `verify`: whether the token and account are ready for each enabled service.
    pub struct VerifyReport<'a> {
        /// True when every enabled service is ready.
        pub ready: bool,
        pub account_id: &'a str,
        pub token: TokenInfo<'a>,
        pub services: Vec<ServiceReadiness<'a>>,
        /// Each check, in the order run.
        pub checks: Vec<Check<'a>>,
        /// True when the token's own policies could be read and reviewed.
        pub security_reviewed: bool,
        /// Grants wider than the services need, with how to narrow them.
        pub security: Vec<SecurityFinding<'a>>,
    }

    /// The token as Cloudflare describes it.
    pub struct TokenInfo<'a> {
        /// `active`, `disabled`, `expired`, `invalid` or `unknown`.
        pub state: &'static str,
        pub id: Option<&'a str>,
        pub owner: Option<&'a str>,
        pub expires_on: Option<&'a str>,
        pub not_before: Option<&'a str>,
    }

    /// One service's verdict.
    pub struct ServiceReadiness<'a> {
        pub service: &'static str,
        pub ready: bool,
        pub summary: &'a str,
    }

    /// One check of `verify`.
    pub struct Check<'a> {
        pub id: &'a str,
        /// The service it is for, if one.
        pub service: Option<&'static str>,
        /// The permission it tests, if one (the contract's name).
        pub permission: Option<&'static str>,
        pub title: &'a str,
        /// `ok`, `warning`, `failed`, `skipped` or `rate-limited`.
        pub status: &'static str,
        pub detail: &'a str,
        /// What to fix, when not ok.
        pub hint: Option<&'a str>,
        /// The request that decided it.
        pub evidence: Option<Evidence<'a>>,
        /// The error that decided it.
        pub error: Option<ToolError<'a>>,
        pub retry_after_seconds: Option<u32>,
    }

    /// The request behind a check.
    pub struct Evidence<'a> {
        /// `GET /client/v4/...`.
        pub request: &'a str,
        /// The HTTP status, when an answer came.
        pub status: Option<u16>,
        /// Cloudflare's error codes.
        pub codes: &'a [u32],
    }

    /// A grant wider than the services need.
    pub struct SecurityFinding<'a> {
        pub id: &'a str,
        pub detail: &'a str,
        pub hint: &'a str,
    }
}
