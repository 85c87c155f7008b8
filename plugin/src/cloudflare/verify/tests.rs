//! The runner's unit tests, over a scripted transport.

use super::*;
use crate::http::{Request, Response};
use serde_json::json;
use std::cell::RefCell;

/// Answers by path prefix and records what was asked.
struct Scripted {
    routes: Vec<(&'static str, u16, String)>,
    sent: RefCell<Vec<String>>,
}

impl Transport for Scripted {
    fn send(&self, request: &Request) -> Result<Response, Error> {
        self.sent.borrow_mut().push(request.describe());
        let path = request.path.split('?').next().unwrap_or_default();
        let (status, body) = self
            .routes
            .iter()
            .find(|(prefix, _, _)| path.starts_with(prefix))
            .map_or(
                (404, r#"{"success":false,"errors":[{"code":7000}]}"#),
                |(_, status, body)| (*status, body.as_str()),
            );
        let retry_after = (status == 429).then_some(7);
        Ok(Response {
            status,
            retry_after,
            body: body.as_bytes().to_vec(),
            content_type: None,
        })
    }
}

const ACCOUNT: &str = "01a7362d577a6c3019a474fd6f485823";
const NOW: i64 = 1_800_000_000;

fn connection(services: &[Service]) -> Connection {
    Connection {
        account_id: ACCOUNT.into(),
        services: services.to_vec(),
        source: "connect",
    }
}

#[test]
fn a_429_stops_all_further_requests() {
    let t = Scripted {
        routes: vec![(
            "/client/v4/",
            429,
            r#"{"success":false,"errors":[{"code":971,"message":"slow down"}]}"#.to_string(),
        )],
        sent: RefCell::new(Vec::new()),
    };
    let report = verify(&connection(&[Service::DnsAnalytics]), &t, NOW);
    assert_eq!(t.sent.borrow().len(), 1);
    assert!(
        report
            .checks
            .iter()
            .all(|c| c.status == CheckStatus::RateLimited)
    );
    assert!(
        report
            .checks
            .iter()
            .all(|c| c.retry_after_seconds == Some(7))
    );
    assert!(!report.ready);
}

#[test]
fn a_token_expiring_soon_warns_and_one_far_off_does_not() {
    for (expires, status) in [
        ("2027-01-16T00:00:00Z", CheckStatus::Warning),
        ("2027-12-01T00:00:00Z", CheckStatus::Ok),
    ] {
        let body = format!(
            r#"{{"success":true,"errors":[],"result":{{"id":"t1","status":"active","expires_on":"{expires}"}}}}"#
        );
        let t = Scripted {
            routes: vec![("/client/v4/user/tokens/verify", 200, body)],
            sent: RefCell::new(Vec::new()),
        };
        let report = verify(&connection(&[Service::GraphqlAnalytics]), &t, NOW);
        let expiry = report
            .checks
            .iter()
            .find(|c| c.id == "token-expiry")
            .expect("expiry check");
        assert_eq!(expiry.status, status, "{expires}");
    }
}

#[test]
fn a_rate_limited_account_token_endpoint_is_not_an_invalid_token() {
    let t = Scripted {
        routes: vec![
            (
                "/client/v4/user/tokens/verify",
                401,
                r#"{"success":false,"errors":[{"code":1000,"message":"Invalid API Token"}]}"#
                    .to_string(),
            ),
            (
                "/client/v4/accounts/",
                429,
                r#"{"success":false,"errors":[{"code":971}]}"#.to_string(),
            ),
        ],
        sent: RefCell::new(Vec::new()),
    };
    let report = verify(&connection(&[Service::GraphqlAnalytics]), &t, NOW);
    assert_eq!(report.token.state, TokenState::Unknown);
    assert_eq!(report.checks[0].status, CheckStatus::RateLimited);
    assert_eq!(t.sent.borrow().len(), 2, "nothing after the 429");
}

#[test]
fn an_unreachable_api_keeps_the_network_hint() {
    struct Down;
    impl Transport for Down {
        fn send(&self, request: &Request) -> Result<Response, Error> {
            Err(Error::Transport(request.describe()))
        }
    }
    let report = verify(&connection(&[Service::DnsAnalytics]), &Down, NOW);
    let settings = report
        .checks
        .iter()
        .find(|c| c.id == "dns-analytics/account-settings-read")
        .expect("check");
    assert_eq!(settings.status, CheckStatus::Failed);
    assert!(matches!(settings.error, Some(Error::Transport(_))));
    assert!(
        !settings
            .hint
            .as_deref()
            .unwrap_or_default()
            .contains("Add the permission")
    );
}

#[test]
fn only_documentation_sends_nothing_to_the_api() {
    let t = Scripted {
        routes: vec![("/llms.txt", 200, String::new())],
        sent: RefCell::new(Vec::new()),
    };
    let report = verify(&connection(&[Service::Documentation]), &t, NOW);
    assert_eq!(*t.sent.borrow(), ["HEAD /llms.txt"]);
    assert!(report.ready);
}

#[test]
fn the_security_review_follows_cloudflares_advice() {
    let token = json!({
        "policies": [{
            "effect": "allow",
            "resources": {"com.cloudflare.api.account.zone.*": "*"},
            "permission_groups": [{"name": "Zone Read"}, {"name": "DNS Write"}]
        }],
        "condition": {"request_ip": {"in": ["192.0.2.1/32"]}},
        "expires_on": "2027-01-01T00:00:00Z"
    });
    let findings = review_token(&token, &[Service::DnsAnalytics]);
    let ids: Vec<&str> = findings.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(ids, ["extra-permissions", "all-zones"]);
    assert!(findings[0].detail.contains("DNS Write") && !findings[0].detail.contains("Zone Read"));
}
