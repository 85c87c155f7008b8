//! `verify` against each scenario of the fake Cloudflare.

use crate::common::{ALL_SERVICES, api_requests, check, connected, sandbox, tool, verify_on};
use cf_fake::{Permission as FakePermission, Scenario, TOKEN};
use host_harness::{
    CheckStatus, Permission, PluginError, RateLimit, RateLimiter, Service, TokenState, VerifyReport,
};

const DNS: Service = Service::DnsAnalytics;
const GQL: Service = Service::GraphqlAnalytics;

fn permission_checks(report: &VerifyReport) -> impl Iterator<Item = &host_harness::Check> {
    report.checks.iter().filter(|c| c.permission.is_some())
}

fn service_ready(report: &VerifyReport, service: Service) -> bool {
    report
        .services
        .iter()
        .find(|s| s.service == service)
        .expect("service in report")
        .ready
}

#[tokio::test]
async fn a_token_with_every_permission_is_ready() {
    let (report, requests) = verify_on(Scenario::AllPermissions, &ALL_SERVICES).await;
    assert!(report.ready, "{report:#?}");
    assert_eq!(report.token.state, TokenState::Active);
    assert_eq!(report.token.owner.as_deref(), Some("user"));
    assert_eq!(check(&report, "token").status, CheckStatus::Ok);
    assert_eq!(check(&report, "account").status, CheckStatus::Ok);
    assert_eq!(
        check(&report, "documentation/docs-host").status,
        CheckStatus::Ok
    );
    // One check per permission of each enabled service: 4 for DNS, 2 for GraphQL.
    assert_eq!(permission_checks(&report).count(), 6);
    assert!(permission_checks(&report).all(|c| c.status == CheckStatus::Ok));
    // The token has no expiry: a warning, not a failure.
    let expiry = check(&report, "token-expiry");
    assert_eq!(expiry.status, CheckStatus::Warning);
    assert!(expiry.hint.is_some());
    assert!(!report.security_reviewed);
    // Zone Analytics Read is needed by both services but probed once.
    let graphql_posts = requests
        .iter()
        .filter(|r| r.path == "/client/v4/graphql")
        .count();
    assert_eq!(
        graphql_posts, 2,
        "one zone-level and one account-level probe"
    );
}

#[tokio::test]
async fn an_invalid_token_fails_every_check_that_needs_it() {
    let (report, requests) = verify_on(Scenario::InvalidToken, &ALL_SERVICES).await;
    assert!(!report.ready);
    assert_eq!(report.token.state, TokenState::Invalid);
    let token = check(&report, "token");
    assert_eq!(token.status, CheckStatus::Failed);
    assert!(
        matches!(token.error, Some(PluginError::Unauthorized(_))),
        "{:?}",
        token.error
    );
    assert!(token.hint.is_some());
    for c in permission_checks(&report) {
        assert_eq!(c.status, CheckStatus::Failed, "{}", c.id);
        assert!(
            matches!(c.error, Some(PluginError::Unauthorized(_))),
            "{}",
            c.id
        );
        assert!(c.hint.is_some(), "{}", c.id);
    }
    // Documentation needs no token.
    assert_eq!(
        check(&report, "documentation/docs-host").status,
        CheckStatus::Ok
    );
    assert!(service_ready(&report, Service::Documentation));
    // Only the two verify endpoints were tried; nothing else is sent with a rejected token.
    let paths: Vec<&str> = api_requests(&requests)
        .iter()
        .map(|r| r.path.as_str())
        .collect();
    assert_eq!(
        paths,
        [
            "/client/v4/user/tokens/verify",
            "/client/v4/accounts/01a7362d577a6c3019a474fd6f485823/tokens/verify"
        ]
    );
}

#[tokio::test]
async fn an_account_owned_token_verifies_on_the_account_endpoint() {
    let (report, _) = verify_on(Scenario::AccountOwnedToken, &ALL_SERVICES).await;
    assert!(report.ready, "{report:#?}");
    assert_eq!(report.token.owner.as_deref(), Some("account"));
    assert_eq!(report.token.state, TokenState::Active);
}

#[tokio::test]
async fn each_missing_permission_is_named_with_a_fix() {
    let cases = [
        (
            FakePermission::ZoneRead,
            Permission::ZoneRead,
            vec!["dns-analytics/zone-read"],
        ),
        (
            FakePermission::DnsRead,
            Permission::DnsRead,
            vec!["dns-analytics/dns-read"],
        ),
        (
            FakePermission::ZoneAnalyticsRead,
            Permission::ZoneAnalyticsRead,
            vec![
                "dns-analytics/zone-analytics-read",
                "graphql-analytics/zone-analytics-read",
            ],
        ),
        (
            FakePermission::AccountSettingsRead,
            Permission::AccountSettingsRead,
            vec!["dns-analytics/account-settings-read"],
        ),
        (
            FakePermission::AccountAnalyticsRead,
            Permission::AccountAnalyticsRead,
            vec!["graphql-analytics/account-analytics-read"],
        ),
    ];
    for (fake_permission, permission, failing) in cases {
        let (report, _) = verify_on(Scenario::Missing(fake_permission), &ALL_SERVICES).await;
        assert!(!report.ready, "{permission:?}");
        for id in &failing {
            let c = check(&report, id);
            assert_eq!(c.status, CheckStatus::Failed, "{id}");
            assert_eq!(c.permission, Some(permission), "{id}");
            assert!(
                matches!(
                    c.error,
                    Some(PluginError::Forbidden(_) | PluginError::QueryRejected(_))
                ),
                "{id}: {:?}",
                c.error
            );
            assert!(c.hint.is_some(), "{id} has a fix");
        }
        // Every other permission check passes or is skipped for want of a zone.
        for c in permission_checks(&report).filter(|c| !failing.contains(&c.id.as_str())) {
            assert!(
                matches!(c.status, CheckStatus::Ok | CheckStatus::Skipped),
                "{permission:?}: {} is {:?}",
                c.id,
                c.status
            );
        }
        assert_eq!(check(&report, "token").status, CheckStatus::Ok);
    }
}

#[tokio::test]
async fn a_missing_permission_only_blocks_the_services_that_need_it() {
    let (report, _) = verify_on(Scenario::Missing(FakePermission::DnsRead), &ALL_SERVICES).await;
    assert!(!service_ready(&report, DNS));
    assert!(service_ready(&report, GQL));
    assert!(service_ready(&report, Service::Documentation));
    let (report, _) = verify_on(
        Scenario::Missing(FakePermission::AccountSettingsRead),
        &[GQL],
    )
    .await;
    assert!(
        report.ready,
        "GraphQL Analytics does not need Account Settings Read: {report:#?}"
    );
    assert_eq!(check(&report, "account").status, CheckStatus::Skipped);
}

#[tokio::test]
async fn an_account_id_of_another_account_is_named_as_the_problem() {
    let (report, _) = verify_on(Scenario::OtherAccount, &ALL_SERVICES).await;
    assert!(!report.ready);
    let account = check(&report, "account");
    assert_eq!(account.status, CheckStatus::Failed);
    assert!(account.hint.is_some());
    assert!(
        account.detail.contains(cf_fake::OTHER_ACCOUNT_ID),
        "names the token's account: {}",
        account.detail
    );
    assert_eq!(
        check(&report, "dns-analytics/account-settings-read").status,
        CheckStatus::Skipped
    );
    assert_eq!(
        check(&report, "graphql-analytics/account-analytics-read").status,
        CheckStatus::Failed
    );
}

#[tokio::test]
async fn a_rate_limit_gives_rate_limited_checks_not_permission_failures() {
    let (report, requests) = verify_on(Scenario::RateLimited, &[DNS, GQL]).await;
    assert!(!report.ready);
    assert_eq!(report.token.state, TokenState::Unknown);
    let token = check(&report, "token");
    assert_eq!(token.status, CheckStatus::RateLimited);
    assert_eq!(token.retry_after_seconds, Some(30));
    for c in permission_checks(&report) {
        assert_eq!(c.status, CheckStatus::RateLimited, "{}", c.id);
        assert_eq!(c.retry_after_seconds, Some(30), "{}", c.id);
    }
    assert_eq!(
        api_requests(&requests).len(),
        1,
        "no more requests after a 429"
    );
}

#[tokio::test]
async fn zone_checks_are_skipped_with_a_reason_when_the_account_has_no_zones() {
    let (report, _) = verify_on(Scenario::NoZones, &[DNS, GQL]).await;
    assert_eq!(
        check(&report, "dns-analytics/zone-read").status,
        CheckStatus::Ok
    );
    for id in [
        "dns-analytics/dns-read",
        "dns-analytics/zone-analytics-read",
        "graphql-analytics/zone-analytics-read",
    ] {
        let c = check(&report, id);
        assert_eq!(c.status, CheckStatus::Skipped, "{id}");
        assert!(!c.detail.is_empty() && c.hint.is_some(), "{id} says why");
    }
    assert_eq!(
        check(&report, "graphql-analytics/account-analytics-read").status,
        CheckStatus::Ok
    );
    // A permission that could not be probed is not confirmed, so not ready; nothing failed.
    assert!(!report.ready);
    assert!(
        report
            .checks
            .iter()
            .all(|c| c.status != CheckStatus::Failed)
    );
}

/// The API's 429 is the API's limit, in the checks' errors too.
#[tokio::test]
async fn a_rate_limited_check_carries_the_apis_limiter() {
    let (report, _) = verify_on(Scenario::RateLimited, &[DNS]).await;
    let token = check(&report, "token");
    assert!(
        matches!(
            token.error,
            Some(PluginError::RateLimited(RateLimit {
                limiter: RateLimiter::Api,
                retry_after: Some(30)
            }))
        ),
        "{token:?}"
    );
}

/// The docs host's 429 is its own limit: its check is rate-limited with the docs host as the
/// limiter, the API's checks go on (and pass), and no API rate-limit page is linked.
#[tokio::test]
async fn a_docs_rate_limit_is_the_docs_hosts_own_not_the_apis() {
    let (report, requests) = verify_on(Scenario::DocsRateLimited, &ALL_SERVICES).await;
    assert!(
        requests
            .iter()
            .any(|r| r.host == "developers.cloudflare.com"),
        "the docs host was asked"
    );
    let docs = check(&report, "documentation/docs-host");
    assert_eq!(docs.status, CheckStatus::RateLimited, "{docs:?}");
    assert_eq!(docs.retry_after_seconds, Some(12));
    assert!(
        matches!(
            docs.error,
            Some(PluginError::RateLimited(RateLimit {
                limiter: RateLimiter::Docs,
                retry_after: Some(12)
            }))
        ),
        "{docs:?}"
    );
    let hint = docs.hint.as_deref().unwrap_or_default();
    assert!(!hint.contains("Docs: "), "no API rate-limit page: {hint}");
    assert_eq!(check(&report, "token").status, CheckStatus::Ok);
    for c in permission_checks(&report) {
        assert_eq!(c.status, CheckStatus::Ok, "{}", c.id);
    }
}

#[tokio::test]
async fn a_rate_limited_verify_leaves_the_token_state_unknown() {
    let (report, _) = verify_on(Scenario::RateLimited, &[GQL]).await;
    assert_eq!(report.token.state, TokenState::Unknown);
    assert_eq!(check(&report, "token").status, CheckStatus::RateLimited);
}

#[tokio::test]
async fn a_token_expiring_within_14_days_is_a_warning() {
    let (report, _) = verify_on(Scenario::ExpiringSoon, &[DNS]).await;
    assert!(report.ready);
    assert!(report.token.expires_on.is_some());
    assert_eq!(check(&report, "token-expiry").status, CheckStatus::Warning);
}

#[tokio::test]
async fn disabled_and_expired_tokens_fail_with_their_state() {
    for (scenario, state) in [
        (Scenario::DisabledToken, TokenState::Disabled),
        (Scenario::ExpiredToken, TokenState::Expired),
    ] {
        let (report, requests) = verify_on(scenario, &[DNS, GQL]).await;
        assert!(!report.ready);
        assert_eq!(report.token.state, state);
        assert_eq!(check(&report, "token").status, CheckStatus::Failed);
        assert!(permission_checks(&report).all(|c| c.status == CheckStatus::Failed));
        assert_eq!(
            api_requests(&requests).len(),
            1,
            "{scenario:?}: nothing sent after the token failed"
        );
    }
}

#[tokio::test]
async fn a_token_that_reads_its_own_details_gets_a_security_review() {
    let (report, _) = verify_on(Scenario::TokenDetailsReadable, &[DNS, GQL]).await;
    assert!(report.security_reviewed);
    let ids: Vec<&str> = report.security.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "extra-permissions",
            "all-zones",
            "no-ip-restriction",
            "no-expiry"
        ]
    );
    assert!(
        report.security[0].detail.contains("DNS Write"),
        "names the extra permission"
    );
}

#[tokio::test]
async fn verify_only_reads_and_authenticates_every_api_request() {
    for &scenario in Scenario::ALL {
        let (_, requests) = verify_on(scenario, &ALL_SERVICES).await;
        for r in &requests {
            match r.host.as_str() {
                "api.cloudflare.com" => {
                    assert_eq!(
                        r.header("authorization"),
                        Some(format!("Bearer {TOKEN}").as_str()),
                        "{scenario:?} {}",
                        r.path
                    );
                    assert!(
                        r.method == "GET" || (r.method == "POST" && r.path == "/client/v4/graphql"),
                        "{scenario:?}: {} {}",
                        r.method,
                        r.path
                    );
                }
                "developers.cloudflare.com" => {
                    assert_eq!(
                        r.header("authorization"),
                        None,
                        "{scenario:?}: the docs host never gets the token"
                    );
                    assert!(r.method == "GET" || r.method == "HEAD");
                }
                other => panic!("request to unexpected host {other}"),
            }
        }
    }
}

#[tokio::test]
async fn only_documentation_needs_no_token_and_sends_nothing_to_the_api() {
    let (report, requests) = verify_on(Scenario::InvalidToken, &[Service::Documentation]).await;
    assert!(report.ready);
    assert!(api_requests(&requests).is_empty());
    assert_eq!(report.checks.len(), 1);
}

/// An upstream quoting the request back (`echoes-authorization`) changes nothing the real
/// plugin reads: `verify` is ready (its answer came 5 bytes at a time, without the upstream's
/// Content-Length), a tool's result is whole, neither holds the token, and every answer the
/// token was added to was scrubbed before the plugin read it.
#[tokio::test]
async fn an_upstream_echoing_the_token_changes_nothing_the_plugin_reads() {
    let fake = cf_fake::FakeCloudflare::spawn(Scenario::EchoesAuthorization);
    let mut instance = connected(&sandbox(&fake), &ALL_SERVICES).await;
    let report = instance.verify().await.expect("no trap").expect("a report");
    assert!(report.ready, "{report:#?}");
    assert_eq!(report.token.state, TokenState::Active);
    let zones = tool(&mut instance, "dns_list_zones", serde_json::json!({}))
        .await
        .expect("zones");
    assert_eq!(
        zones["zones"].as_array().map(Vec::len),
        Some(cf_fake::ZONE_IDS.len())
    );
    for seen in [format!("{report:?}"), zones.to_string()] {
        assert!(!seen.contains(TOKEN) && !seen.contains("f3b2a9e7d4c6b1a"));
    }
    let bearer = format!("Bearer {TOKEN}");
    let requests = fake.requests();
    let api = api_requests(&requests);
    assert!(api.len() >= 5, "{}", api.len());
    assert!(
        api.iter()
            .all(|r| r.header("authorization") == Some(bearer.as_str())),
        "the fake received the token, and echoed it"
    );
    let log = instance.outbound_log();
    for record in &log {
        if record.token_injected {
            // The two headers, and the body when it is a JSON object (every answer here).
            assert_eq!(record.token_echoed, 3, "{}", record.path);
        } else {
            assert_eq!(record.token_echoed, 0, "{}", record.path);
        }
    }
    assert_eq!(log.iter().filter(|r| r.token_injected).count(), api.len());
}
