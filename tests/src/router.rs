//! Routing: every request is recorded, then answered by host (`api.cloudflare.com` or
//! `developers.cloudflare.com`, from the `Host` header) and, for the API, by path.

use std::net::SocketAddr;
use std::sync::{Arc, PoisonError};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, Method, StatusCode, header};

use crate::broken::{self, Break};
use crate::echo;
use crate::inflation::inflate_response;
use crate::rest::envelope::{
    QueryParams, envelope_error, invalid_token, no_route, text_response, unauthorized,
};
use crate::rest::zones::{get_zone, list_dns_records, list_zones};
use crate::rest::{
    account_verify, dns_report, get_account, list_accounts, token_details, user_verify,
};
use crate::scenarios::{Scenario, token_unusable};
use crate::server::{RecordedRequest, Shared};
use crate::{API_HOST, API_PREFIX, DOCS_HOST, SECOND_TENANT_TOKEN, TOKEN, docs_site, graphql};

/// Request bodies above this are cut off; the connector never sends anything close.
const MAX_BODY: usize = 16 * 1024 * 1024;

pub(crate) async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    // An unreadable body is recorded as empty; the routes then treat it as invalid.
    let body = axum::body::to_bytes(body, MAX_BODY)
        .await
        .unwrap_or_default();
    let recorded = RecordedRequest {
        method: parts.method.to_string(),
        host: request_host(&parts),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers: parts
            .headers
            .iter()
            .map(|(name, value)| {
                let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                (name.as_str().to_ascii_lowercase(), value)
            })
            .collect(),
        body: body.to_vec(),
        peer: parts
            .extensions
            .get::<axum::extract::ConnectInfo<SocketAddr>>()
            .map(|info| info.0),
    };
    shared.record(recorded.clone());
    let delay = *shared.delay.lock().unwrap_or_else(PoisonError::into_inner);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }

    let scenario = shared.scenario();
    let response = match recorded.host.as_str() {
        API_HOST => route_api(scenario, &recorded),
        DOCS_HOST => route_docs(scenario, &recorded),
        _ => text_response(StatusCode::NOT_FOUND, "unknown host\n"),
    };
    let response = match recorded.header("authorization") {
        Some(authorization)
            if scenario == Scenario::EchoesAuthorization && recorded.host == API_HOST =>
        {
            let in_pieces = recorded.path == format!("{API_PREFIX}/user/tokens/verify");
            echo::echo(response, authorization, in_pieces).await
        }
        _ => response,
    };
    let inflation = *shared
        .graphql_inflation
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    match inflation {
        Some(target_bytes)
            if recorded.host == API_HOST
                && recorded.path == format!("{API_PREFIX}/graphql")
                && response.status() == StatusCode::OK =>
        {
            inflate_response(response, target_bytes).await
        }
        _ => response,
    }
}

/// The failures that hit every API request before authentication is even looked at.
fn scenario_wide_failure(scenario: Scenario) -> Option<Response> {
    match scenario {
        Scenario::InvalidToken => Some(invalid_token()),
        Scenario::RateLimited => Some(rate_limited("30")),
        Scenario::HtmlInsteadOfJson => Some(
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "text/html; charset=UTF-8")],
                PROXY_PAGE,
            )
                .into_response(),
        ),
        Scenario::HtmlBadGateway => Some(
            (
                StatusCode::BAD_GATEWAY,
                [(header::CONTENT_TYPE, "text/html")],
                "<html><head><title>502 Bad Gateway</title></head><body>bad gateway</body></html>\n",
            )
                .into_response(),
        ),
        Scenario::ServerErrorWithCodes => {
            let body = serde_json::json!({
                "success": false,
                "errors": [
                    { "code": 10000, "message": "Authentication error" },
                    { "code": 7000, "message": "No route for that URI" }
                ],
                "messages": [],
                "result": null
            });
            Some(
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    [(header::CONTENT_TYPE, "application/json")],
                    body.to_string(),
                )
                    .into_response(),
            )
        }
        Scenario::CutOffJson => Some(
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                r#"{"result":[{"id":"023e105f4ecef8ad9ca31a8372d0c353","name":"exam"#,
            )
                .into_response(),
        ),
        Scenario::HugeRetryAfter => Some(rate_limited("99999999999")),
        Scenario::DroppedConnection => Some(broken::response(Break::BeforeAnswer)),
        Scenario::DroppedMidBody => Some(broken::response(Break::MidBody)),
        Scenario::TrickledBody => Some(broken::response(Break::Stall)),
        _ => None,
    }
}

/// Cloudflare's 429 (code 971), with `retry_after` as its `Retry-After`.
fn rate_limited(retry_after: &'static str) -> Response {
    let mut response = envelope_error(
        StatusCode::TOO_MANY_REQUESTS,
        971,
        "Please wait and consider throttling your request speed",
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static(retry_after));
    response
}

/// What a proxy or captive portal in the way answers instead of the API.
const PROXY_PAGE: &str = "<!DOCTYPE html>\n<html lang=\"en-US\">\n<head>\n<title>Attention Required! \
| Cloudflare</title>\n</head>\n<body><h1>Sorry, you have been blocked</h1></body>\n</html>\n";

/// The `Host` header without `:port` (or the URI's host for absolute-form requests).
fn request_host(parts: &http::request::Parts) -> String {
    let raw = parts
        .headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| parts.uri.host())
        .unwrap_or_default()
        .trim();
    let host = if let Some(bracketed) = raw.strip_prefix('[') {
        // IPv6 literal: keep the address, drop the port.
        bracketed.split(']').next().unwrap_or_default()
    } else {
        raw.split(':').next().unwrap_or_default()
    };
    host.to_ascii_lowercase()
}

/// `developers.cloudflare.com`: the documentation site in `fixtures/docs/site/` (see
/// [`docs_site`]), or its own rate limit in [`Scenario::DocsRateLimited`].
fn route_docs(scenario: Scenario, request: &RecordedRequest) -> Response {
    if scenario == Scenario::DocsRateLimited {
        return docs_rate_limited();
    }
    docs_site::route(request)
}

/// What developers.cloudflare.com answers past its own limit: HTTP 429, Cloudflare's error
/// 1015 page ("You are being rate limited"), `Retry-After: 12`.
fn docs_rate_limited() -> Response {
    (
        StatusCode::TOO_MANY_REQUESTS,
        [
            (header::CONTENT_TYPE, "text/html; charset=UTF-8"),
            (header::RETRY_AFTER, DOCS_RETRY_AFTER),
        ],
        "<!DOCTYPE html>\n<html><head><title>Error 1015</title></head><body><h1>You are being \
         rate limited</h1><p>The owner of this website (developers.cloudflare.com) has banned \
         you temporarily from accessing this website.</p></body></html>\n",
    )
        .into_response()
}

/// The docs host's `Retry-After` in [`Scenario::DocsRateLimited`].
pub const DOCS_RETRY_AFTER: &str = "12";

fn route_api(scenario: Scenario, request: &RecordedRequest) -> Response {
    if let Some(failure) = scenario_wide_failure(scenario) {
        return failure;
    }
    match request.header("authorization") {
        None => {
            return envelope_error(
                StatusCode::BAD_REQUEST,
                9106,
                "Missing X-Auth-Key, X-Auth-Email or Authorization headers",
            );
        }
        Some(value) if value == format!("Bearer {SECOND_TENANT_TOKEN}") => {
            return route_api_as(Scenario::OtherAccount, request);
        }
        Some(value) if value != format!("Bearer {TOKEN}") => return invalid_token(),
        Some(_) => {}
    }
    route_api_as(scenario, request)
}

/// The API for a known token, answering as `scenario` says.
fn route_api_as(scenario: Scenario, request: &RecordedRequest) -> Response {
    let Some(rest) = request
        .path
        .strip_prefix(API_PREFIX)
        .filter(|rest| rest.starts_with('/'))
    else {
        return no_route();
    };
    let segments: Vec<&str> = rest.trim_matches('/').split('/').collect();
    let is_user_verify = segments == ["user", "tokens", "verify"];
    if token_unusable(scenario) && !is_user_verify {
        return invalid_token();
    }

    // TEST-ONLY routes (Cloudflare has none of these): a response larger than the host's
    // limit and a redirect, for the sandbox tests (tests/tests/integration/sandbox.rs).
    if let ["test", what] = segments.as_slice() {
        return test_only_route(what, request.query.as_deref());
    }

    let expected_method = if segments == ["graphql"] {
        Method::POST
    } else {
        Method::GET
    };
    if request.method != expected_method.as_str() {
        return envelope_error(StatusCode::METHOD_NOT_ALLOWED, 10405, "Method not allowed");
    }

    let query = QueryParams::parse(request.query.as_deref());
    match segments.as_slice() {
        ["user", "tokens", "verify"] => user_verify(scenario),
        ["accounts", account, "tokens", "verify"] => account_verify(scenario, account),
        ["user", "tokens", token_id] => token_details(scenario, token_id),
        // Account-owned token details need a permission the connector never asks for.
        ["accounts", _, "tokens", _] => unauthorized(),
        ["accounts"] => list_accounts(scenario, &query),
        ["accounts", account] => get_account(scenario, account),
        ["zones"] => list_zones(scenario, &query),
        ["zones", zone_id] => get_zone(scenario, zone_id, rest),
        ["zones", zone_id, "dns_records"] => list_dns_records(scenario, zone_id, rest, &query),
        ["zones", zone_id, "dns_analytics", "report"] => {
            dns_report::report(scenario, zone_id, rest, &query, false)
        }
        ["zones", zone_id, "dns_analytics", "report", "bytime"] => {
            dns_report::report(scenario, zone_id, rest, &query, true)
        }
        ["graphql"] => graphql::handle(scenario, &request.body),
        _ => no_route(),
    }
}

/// Size of `/client/v4/test/huge`: more than the host's default response limit (16 MiB).
pub const HUGE_RESPONSE_BYTES: usize = 20 * 1024 * 1024;

/// TEST-ONLY, not Cloudflare's: `huge` streams [`HUGE_RESPONSE_BYTES`] (chunked, no length
/// declared; with `?declared` a `Content-Length` too); `redirect` answers 302 to a host off
/// the allow-list.
fn test_only_route(what: &str, query: Option<&str>) -> Response {
    match what {
        "huge" => {
            let body = Body::from(vec![b'x'; HUGE_RESPONSE_BYTES]);
            let body = if query == Some("declared") {
                body
            } else {
                Body::from_stream(body.into_data_stream())
            };
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                body,
            )
                .into_response()
        }
        "redirect" => (
            StatusCode::FOUND,
            [(header::LOCATION, "https://denied.test/stolen")],
            "",
        )
            .into_response(),
        _ => no_route(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::FakeCloudflare;
    use crate::test_client::{api_get, send};

    #[test]
    fn wrong_or_missing_token_is_rejected() {
        let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
        let target = format!("{API_PREFIX}/user/tokens/verify");
        let reply = send(&fake, "GET", API_HOST, &target, Some("nope"), "");
        assert_eq!(reply.status, 401);
        assert_eq!(reply.json()["errors"][0]["code"], json!(1000));

        let reply = send(&fake, "GET", API_HOST, &target, None, "");
        assert_eq!(reply.status, 400);
        assert_eq!(reply.json()["errors"][0]["code"], json!(9106));
    }

    #[test]
    fn docs_host_needs_no_auth() {
        let fake = FakeCloudflare::spawn(Scenario::InvalidToken);
        let reply = send(&fake, "GET", DOCS_HOST, "/llms.txt", None, "");
        assert_eq!(reply.status, 200);
        assert!(
            reply
                .body
                .starts_with("# Cloudflare Developer Documentation\n")
        );
        assert!(
            reply
                .body
                .contains("- [DNS](https://developers.cloudflare.com/dns/llms.txt): ")
        );

        assert_eq!(
            reply.header("content-type"),
            Some("text/plain; charset=utf-8")
        );

        let head = send(&fake, "HEAD", DOCS_HOST, "/llms.txt", None, "");
        assert_eq!(head.status, 200);
        assert_eq!(
            head.header("content-type"),
            Some("text/plain; charset=utf-8")
        );
        assert!(head.body.is_empty());

        let product = send(&fake, "GET", DOCS_HOST, "/dns/llms.txt", None, "");
        assert_eq!(product.status, 200);
        assert!(product.body.starts_with("# Cloudflare DNS\n"));

        let page = send(
            &fake,
            "GET",
            DOCS_HOST,
            "/dns/proxy-status/index.md",
            None,
            "",
        );
        assert_eq!(page.status, 200);
        assert_eq!(
            page.header("content-type"),
            Some("text/markdown; charset=utf-8")
        );

        let other = send(&fake, "GET", DOCS_HOST, "/nope/llms.txt", None, "");
        assert_eq!(other.status, 404);
        assert!(
            fake.requests()
                .iter()
                .all(|r| r.header("authorization").is_none())
        );
    }

    #[test]
    fn scenario_wide_failures() {
        let fake = FakeCloudflare::spawn(Scenario::RateLimited);
        let reply = api_get(&fake, "/zones");
        assert_eq!(reply.status, 429);
        assert_eq!(reply.header("retry-after"), Some("30"));
        assert_eq!(reply.json()["errors"][0]["code"], json!(971));

        fake.set_scenario(Scenario::DisabledToken);
        let verify = api_get(&fake, "/user/tokens/verify");
        assert_eq!(verify.status, 200);
        assert_eq!(verify.json()["result"]["status"], json!("disabled"));
        assert_eq!(api_get(&fake, "/zones").status, 401);

        // The docs host's own limit; the API answers as usual.
        fake.set_scenario(Scenario::DocsRateLimited);
        let docs = send(&fake, "GET", DOCS_HOST, "/llms.txt", None, "");
        assert_eq!(docs.status, 429);
        assert_eq!(docs.header("retry-after"), Some(DOCS_RETRY_AFTER));
        assert_eq!(api_get(&fake, "/zones").status, 200);
    }
}
