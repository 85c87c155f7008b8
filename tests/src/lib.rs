//! A fake Cloudflare: one local HTTP/1.1 server that answers for both `api.cloudflare.com`
//! (the v4 REST API and GraphQL under `/client/v4`) and `developers.cloudflare.com`
//! (`/llms.txt`), chosen by the request's `Host` header. The client under test connects to
//! 127.0.0.1 but keeps the real host names, so the fake must route on `Host`, not on the address.
//!
//! Behaviour is driven by a [`Scenario`] that can be switched while the server runs, and every
//! request is recorded before it is answered so tests can check what the client sent.

use std::fmt;
use std::future::IntoFuture;
use std::net::{Ipv4Addr, SocketAddr};
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, Method, StatusCode, header};
use serde_json::{Value, json};

/// The only token the fake accepts.
pub const TOKEN: &str = "cfut_fake0token0never0print0me0f3b2a9e7d4c6b1a";
/// The account the token belongs to (except in [`Scenario::OtherAccount`]).
pub const ACCOUNT_ID: &str = "01a7362d577a6c3019a474fd6f485823";
/// The token's account in [`Scenario::OtherAccount`].
pub const OTHER_ACCOUNT_ID: &str = "f037e56e89293a057740de681ac9abbe";
/// The id that token verification reports for [`TOKEN`].
pub const TOKEN_ID: &str = "ed17574386854bf78a67040be0a770b0";

const API_HOST: &str = "api.cloudflare.com";
const DOCS_HOST: &str = "developers.cloudflare.com";
const API_PREFIX: &str = "/client/v4";
const ACCOUNT_NAME: &str = "Example Account";
/// Request bodies above this are cut off; the connector never sends anything close.
const MAX_BODY: usize = 16 * 1024 * 1024;

const VERIFY_FIXTURE: &str = include_str!("../fixtures/token_verify_success.live.json");
const INVALID_TOKEN_FIXTURE: &str =
    include_str!("../fixtures/error_1000_invalid_api_token.live.json");
const AUTH_ERROR_FIXTURE: &str =
    include_str!("../fixtures/error_10000_authentication_error.live.json");
const ZONES_FIXTURE: &str = include_str!("../fixtures/zones_list_page_1.octodns.json");
const DNS_RECORDS_FIXTURE: &str =
    include_str!("../fixtures/dns_records_list_page_1.cloudflare-go.json");

const LLMS_TXT: &str = "\
# Cloudflare Developer Documentation

> Explore guides and tutorials to start building on Cloudflare's platform.

## Products

- [DNS](https://developers.cloudflare.com/dns/llms.txt): Deliver excellent performance and reliability to your domain.
- [Analytics](https://developers.cloudflare.com/analytics/llms.txt): Understand the traffic to your websites and applications.
- [Fundamentals](https://developers.cloudflare.com/fundamentals/llms.txt): Learn the basics of accounts, API tokens and the Cloudflare API.
";

// ---------------------------------------------------------------------------------------------
// Scenarios

/// A permission the token may be granted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Permission {
    ZoneRead,
    ZoneAnalyticsRead,
    DnsRead,
    AccountSettingsRead,
    AccountAnalyticsRead,
}

impl Permission {
    pub const ALL: [Permission; 5] = [
        Permission::ZoneRead,
        Permission::ZoneAnalyticsRead,
        Permission::DnsRead,
        Permission::AccountSettingsRead,
        Permission::AccountAnalyticsRead,
    ];

    /// Kebab-case name, as used in scenario names (`missing-<name>`).
    pub fn name(self) -> &'static str {
        match self {
            Permission::ZoneRead => "zone-read",
            Permission::ZoneAnalyticsRead => "zone-analytics-read",
            Permission::DnsRead => "dns-read",
            Permission::AccountSettingsRead => "account-settings-read",
            Permission::AccountAnalyticsRead => "account-analytics-read",
        }
    }
}

/// What the fake pretends about the token and the account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    /// User-owned token with every permission; its own details are not readable.
    AllPermissions,
    /// Every API request fails with 401, code 1000.
    InvalidToken,
    /// Verifies only at `/accounts/{ACCOUNT_ID}/tokens/verify`; otherwise as `AllPermissions`.
    AccountOwnedToken,
    /// One permission lacking.
    Missing(Permission),
    /// The token belongs to [`OTHER_ACCOUNT_ID`], which also owns the zones.
    OtherAccount,
    /// Every API request fails with 429 and `retry-after: 30`.
    RateLimited,
    /// The token sees no zones.
    NoZones,
    /// Verify reports `expires_on` five days from now.
    ExpiringSoon,
    /// Verify reports status `disabled`; every other API call fails with 401.
    DisabledToken,
    /// Verify reports status `expired`; every other API call fails with 401.
    ExpiredToken,
    /// As `AllPermissions`, and `GET /user/tokens/{TOKEN_ID}` returns the token's policies.
    TokenDetailsReadable,
}

impl Scenario {
    /// Every scenario, in the order of [`Scenario::NAMES`].
    pub const ALL: &[Scenario] = &[
        Scenario::AllPermissions,
        Scenario::InvalidToken,
        Scenario::AccountOwnedToken,
        Scenario::Missing(Permission::ZoneRead),
        Scenario::Missing(Permission::ZoneAnalyticsRead),
        Scenario::Missing(Permission::DnsRead),
        Scenario::Missing(Permission::AccountSettingsRead),
        Scenario::Missing(Permission::AccountAnalyticsRead),
        Scenario::OtherAccount,
        Scenario::RateLimited,
        Scenario::NoZones,
        Scenario::ExpiringSoon,
        Scenario::DisabledToken,
        Scenario::ExpiredToken,
        Scenario::TokenDetailsReadable,
    ];

    /// The names accepted by `FromStr` (and by `fake-cloudflare --scenario`).
    pub const NAMES: &[&str] = &[
        "all-permissions",
        "invalid-token",
        "account-owned-token",
        "missing-zone-read",
        "missing-zone-analytics-read",
        "missing-dns-read",
        "missing-account-settings-read",
        "missing-account-analytics-read",
        "other-account",
        "rate-limited",
        "no-zones",
        "expiring-soon",
        "disabled-token",
        "expired-token",
        "token-details-readable",
    ];

    /// The kebab-case name of this scenario.
    pub fn name(self) -> &'static str {
        let index = Scenario::ALL
            .iter()
            .position(|s| *s == self)
            .expect("Scenario::ALL lists every scenario");
        Scenario::NAMES[index]
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Error for an unknown scenario name; its message lists the accepted names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownScenario(pub String);

impl fmt::Display for UnknownScenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown scenario {:?}; accepted: {}",
            self.0,
            Scenario::NAMES.join(", ")
        )
    }
}

impl std::error::Error for UnknownScenario {}

impl FromStr for Scenario {
    type Err = UnknownScenario;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scenario::NAMES
            .iter()
            .position(|name| *name == s)
            .map(|index| Scenario::ALL[index])
            .ok_or_else(|| UnknownScenario(s.to_owned()))
    }
}

fn permission_missing(scenario: Scenario, permission: Permission) -> bool {
    scenario == Scenario::Missing(permission)
}

/// The account that owns the token (and the zones).
fn token_account(scenario: Scenario) -> &'static str {
    match scenario {
        Scenario::OtherAccount => OTHER_ACCOUNT_ID,
        _ => ACCOUNT_ID,
    }
}

/// Disabled and expired tokens still verify (with their status) but may call nothing else.
fn token_unusable(scenario: Scenario) -> bool {
    matches!(scenario, Scenario::DisabledToken | Scenario::ExpiredToken)
}

/// The failures that hit every API request before authentication is even looked at.
fn scenario_wide_failure(scenario: Scenario) -> Option<Response> {
    match scenario {
        Scenario::InvalidToken => Some(invalid_token()),
        Scenario::RateLimited => {
            let mut response = envelope_error(
                StatusCode::TOO_MANY_REQUESTS,
                971,
                "Please wait and consider throttling your request speed",
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
            Some(response)
        }
        _ => None,
    }
}

/// The `result` of a successful token verify.
fn verify_result(scenario: Scenario) -> Value {
    let mut body: Value = parse_fixture(VERIFY_FIXTURE);
    let now = unix_now();
    let result = &mut body["result"];
    result["id"] = json!(TOKEN_ID);
    match scenario {
        Scenario::ExpiringSoon => {
            result["not_before"] = json!(rfc3339(now - 30 * DAY));
            result["expires_on"] = json!(rfc3339(now + 5 * DAY));
        }
        Scenario::DisabledToken => result["status"] = json!("disabled"),
        Scenario::ExpiredToken => {
            result["status"] = json!("expired");
            result["not_before"] = json!(rfc3339(now - 60 * DAY));
            result["expires_on"] = json!(rfc3339(now - DAY));
        }
        _ => {}
    }
    body
}

// ---------------------------------------------------------------------------------------------
// Server handle

/// One request as the fake received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedRequest {
    pub method: String,
    /// From the `Host` header, lowercased, without `:port`.
    pub host: String,
    pub path: String,
    pub query: Option<String>,
    /// Names lowercased, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RecordedRequest {
    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

struct Shared {
    scenario: Mutex<Scenario>,
    requests: Mutex<Vec<RecordedRequest>>,
}

impl Shared {
    fn scenario(&self) -> Scenario {
        // A panicking test must not take the fake down with it: ignore poisoning.
        *self.scenario.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn record(&self, request: RecordedRequest) {
        self.requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(request);
    }
}

/// A running fake server. It has its own thread and tokio runtime, so it works from plain
/// `#[test]`s and from inside `#[tokio::test]` alike. Dropping it stops the server.
pub struct FakeCloudflare {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl FakeCloudflare {
    /// Starts the fake on `127.0.0.1` with an ephemeral port.
    pub fn spawn(scenario: Scenario) -> FakeCloudflare {
        FakeCloudflare::spawn_on_port(scenario, 0).expect("start the fake Cloudflare server")
    }

    /// Starts the fake on `127.0.0.1:port` (0 picks a free port).
    pub fn spawn_on_port(scenario: Scenario, port: u16) -> std::io::Result<FakeCloudflare> {
        let shared = Arc::new(Shared {
            scenario: Mutex::new(scenario),
            requests: Mutex::new(Vec::new()),
        });
        let std_listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port))?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;

        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&shared));
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<std::io::Result<()>>();

        // The runtime is built and dropped on this thread only: tokio panics when a runtime is
        // dropped inside another runtime's async context, which is where callers may be.
        let thread = std::thread::Builder::new()
            .name("fake-cloudflare".to_owned())
            .spawn(move || {
                let started = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name("fake-cloudflare-worker")
                    .enable_all()
                    .build()
                    .and_then(|runtime| {
                        let listener = {
                            let _context = runtime.enter();
                            tokio::net::TcpListener::from_std(std_listener)?
                        };
                        Ok((runtime, listener))
                    });
                let (runtime, listener) = match started {
                    Ok(started) => {
                        let _ = ready_tx.send(Ok(()));
                        started
                    }
                    Err(error) => {
                        let _ = ready_tx.send(Err(error));
                        return;
                    }
                };
                runtime.block_on(async move {
                    tokio::select! {
                        result = axum::serve(listener, app).into_future() => {
                            if let Err(error) = result {
                                eprintln!("fake-cloudflare: server stopped: {error}");
                            }
                        }
                        _ = stop_rx => {}
                    }
                });
                // Dropping the runtime here also ends connections the client kept open.
            })?;
        ready_rx.recv().map_err(|_| {
            std::io::Error::other("the fake Cloudflare thread died while starting")
        })??;

        Ok(FakeCloudflare {
            addr,
            shared,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn scenario(&self) -> Scenario {
        self.shared.scenario()
    }

    pub fn set_scenario(&self, scenario: Scenario) {
        *self
            .shared
            .scenario
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = scenario;
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn clear_requests(&self) {
        self.shared
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

impl Drop for FakeCloudflare {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            // The server may already be gone; nothing to do then.
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Request handling

async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
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
    };
    shared.record(recorded.clone());

    let scenario = shared.scenario();
    match recorded.host.as_str() {
        API_HOST => route_api(scenario, &recorded),
        DOCS_HOST => route_docs(&recorded),
        _ => text_response(StatusCode::NOT_FOUND, "unknown host\n"),
    }
}

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

fn route_docs(request: &RecordedRequest) -> Response {
    let readable =
        request.method == Method::GET.as_str() || request.method == Method::HEAD.as_str();
    if readable && request.path == "/llms.txt" {
        // For HEAD, hyper drops the body but keeps its content-length.
        text_response(StatusCode::OK, LLMS_TXT)
    } else {
        text_response(StatusCode::NOT_FOUND, "Not Found\n")
    }
}

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
        Some(value) if value != format!("Bearer {TOKEN}") => return invalid_token(),
        Some(_) => {}
    }

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
        ["graphql"] => graphql(scenario, &request.body),
        _ => no_route(),
    }
}

// ---------------------------------------------------------------------------------------------
// REST endpoints

fn user_verify(scenario: Scenario) -> Response {
    if scenario == Scenario::AccountOwnedToken {
        return invalid_token();
    }
    json_response(StatusCode::OK, verify_result(scenario))
}

fn account_verify(scenario: Scenario, account: &str) -> Response {
    if scenario == Scenario::AccountOwnedToken && account == ACCOUNT_ID {
        json_response(StatusCode::OK, verify_result(scenario))
    } else {
        invalid_token()
    }
}

fn token_details(scenario: Scenario, token_id: &str) -> Response {
    if scenario != Scenario::TokenDetailsReadable || token_id != TOKEN_ID {
        return unauthorized();
    }
    let token = json!({
        "id": TOKEN_ID,
        "name": "connector token",
        "status": "active",
        "issued_on": "2025-01-15T10:00:00Z",
        "modified_on": "2025-01-15T10:00:00Z",
        "policies": [
            {
                "id": "f267e341f3dd4697bd3b9f71dd96247f",
                "effect": "allow",
                "resources": { "com.cloudflare.api.account.zone.*": "*" },
                "permission_groups": [
                    { "id": "c8fed203ed3043cba015a93ad1616f1f", "name": "Zone Read" },
                    { "id": "82e64a83756745bbbb1c9c2701bf816b", "name": "DNS Read" },
                    { "id": "9c88f9c5bce24ce7af9a958ba9c504db", "name": "Analytics Read" },
                    { "id": "4755a26eedb94da69e1066d98aa820be", "name": "DNS Write" }
                ]
            },
            {
                "id": "a6c1d2b3e4f5061728394a5b6c7d8e9f",
                "effect": "allow",
                "resources": { format!("com.cloudflare.api.account.{ACCOUNT_ID}"): "*" },
                "permission_groups": [
                    { "id": "c1fde68c7bcc44588cbb6ddbc16d6480", "name": "Account Settings Read" },
                    { "id": "b89a480218d04ceb98b4fe57ca29dc1f", "name": "Account Analytics Read" }
                ]
            }
        ],
        "condition": {}
    });
    success(token, None)
}

fn account_object(id: &str) -> Value {
    json!({
        "id": id,
        "name": ACCOUNT_NAME,
        "type": "standard",
        "settings": {
            "enforce_twofactor": false,
            "api_access_enabled": null,
            "use_account_custom_ns_by_default": false,
            "default_nameservers": "cloudflare.standard",
            "abuse_contact_email": null
        },
        "created_on": "2020-01-01T00:00:00Z"
    })
}

fn list_accounts(scenario: Scenario, query: &QueryParams) -> Response {
    let (page, per_page) = match query.pagination(20, 5, 50) {
        Ok(p) => p,
        Err(message) => return bad_request(&message),
    };
    let accounts = if permission_missing(scenario, Permission::AccountSettingsRead) {
        Vec::new()
    } else {
        vec![account_object(token_account(scenario))]
    };
    paginated(accounts, page, per_page)
}

fn get_account(scenario: Scenario, account: &str) -> Response {
    if account != token_account(scenario)
        || permission_missing(scenario, Permission::AccountSettingsRead)
    {
        return unauthorized();
    }
    success(account_object(account), None)
}

/// The zones the token can see, each owned by the token's account.
fn zones(scenario: Scenario) -> Vec<Value> {
    if scenario == Scenario::NoZones {
        return Vec::new();
    }
    let mut fixture = parse_fixture(ZONES_FIXTURE);
    let zones = fixture["result"]
        .as_array_mut()
        .expect("zones fixture has a result array");
    for zone in zones.iter_mut() {
        zone["account"] = json!({ "id": token_account(scenario), "name": ACCOUNT_NAME });
    }
    std::mem::take(zones)
}

fn find_zone(scenario: Scenario, zone_id: &str) -> Option<Value> {
    zones(scenario)
        .into_iter()
        .find(|zone| zone["id"].as_str() == Some(zone_id))
}

fn list_zones(scenario: Scenario, query: &QueryParams) -> Response {
    if permission_missing(scenario, Permission::ZoneRead) {
        return unauthorized();
    }
    let (page, per_page) = match query.pagination(20, 5, 50) {
        Ok(p) => p,
        Err(message) => return bad_request(&message),
    };
    let matches = |zone: &Value, field: &str, wanted: Option<&str>| match wanted {
        None => true,
        Some(wanted) => zone
            .pointer(field)
            .and_then(Value::as_str)
            .is_some_and(|value| value.eq_ignore_ascii_case(wanted)),
    };
    let selected = zones(scenario)
        .into_iter()
        .filter(|zone| matches(zone, "/account/id", query.get("account.id")))
        .filter(|zone| matches(zone, "/name", query.get("name")))
        .filter(|zone| matches(zone, "/status", query.get("status")))
        .collect();
    paginated(selected, page, per_page)
}

fn get_zone(scenario: Scenario, zone_id: &str, path: &str) -> Response {
    if permission_missing(scenario, Permission::ZoneRead) {
        return unauthorized();
    }
    match find_zone(scenario, zone_id) {
        Some(zone) => success(zone, None),
        None => zone_not_found(path),
    }
}

fn list_dns_records(
    scenario: Scenario,
    zone_id: &str,
    path: &str,
    query: &QueryParams,
) -> Response {
    if permission_missing(scenario, Permission::DnsRead) {
        // Exactly what Cloudflare sent for a token lacking the permission.
        return raw_json_response(StatusCode::FORBIDDEN, AUTH_ERROR_FIXTURE);
    }
    let Some(zone) = find_zone(scenario, zone_id) else {
        return zone_not_found(path);
    };
    let (page, per_page) = match query.pagination(100, 1, 5000) {
        Ok(p) => p,
        Err(message) => return bad_request(&message),
    };
    let zone_name = zone["name"].as_str().unwrap_or_default();
    let mut fixture = parse_fixture(DNS_RECORDS_FIXTURE);
    let records = fixture["result"]
        .as_array_mut()
        .expect("dns records fixture has a result array");
    for record in records.iter_mut() {
        // The fixture's records live under example.com; move them into this zone.
        if let Some(name) = record["name"].as_str() {
            let renamed = match name.strip_suffix("example.com") {
                Some(prefix) => format!("{prefix}{zone_name}"),
                None => name.to_owned(),
            };
            record["name"] = json!(renamed);
        }
        record["zone_id"] = json!(zone_id);
        record["zone_name"] = json!(zone_name);
    }
    paginated(std::mem::take(records), page, per_page)
}

// ---------------------------------------------------------------------------------------------
// GraphQL

#[derive(serde::Deserialize)]
struct GraphqlRequest {
    query: String,
    #[serde(default)]
    variables: Value,
}

fn graphql(scenario: Scenario, body: &[u8]) -> Response {
    let Ok(request) = serde_json::from_slice::<GraphqlRequest>(body) else {
        return json_response(
            StatusCode::BAD_REQUEST,
            json!({
                "data": null,
                "errors": [{
                    "message": "failed to parse request body",
                    "extensions": { "code": "bad_request" }
                }]
            }),
        );
    };
    let variable = |name: &str| request.variables.get(name).and_then(Value::as_str);

    // Scope is decided by which viewer field the query selects.
    let (scope, allowed) = if request.query.contains("accounts(") {
        let allowed = !permission_missing(scenario, Permission::AccountAnalyticsRead)
            && variable("accountTag") == Some(token_account(scenario));
        ("accounts", allowed)
    } else if request.query.contains("zones(") {
        let allowed = !permission_missing(scenario, Permission::ZoneAnalyticsRead)
            && variable("zoneTag").is_some_and(|tag| find_zone(scenario, tag).is_some());
        ("zones", allowed)
    } else {
        return graphql_error(
            "query must select viewer.zones or viewer.accounts",
            None,
            "bad_request",
        );
    };

    if !allowed {
        let what = if scope == "accounts" {
            "account"
        } else {
            "zone"
        };
        return graphql_error(
            &format!("not authorized for that {what}"),
            Some(json!(["viewer", scope, 0])),
            "authz",
        );
    }
    json_response(
        StatusCode::OK,
        json!({
            "data": { "viewer": { scope: [ { "httpRequests1dGroups": [ { "sum": { "requests": 1234 } } ] } ] } },
            "errors": null
        }),
    )
}

/// GraphQL reports query failures with HTTP 200 and `data: null`.
fn graphql_error(message: &str, path: Option<Value>, code: &str) -> Response {
    let mut error = json!({
        "message": message,
        "extensions": { "code": code, "timestamp": rfc3339(unix_now()) }
    });
    if let Some(path) = path {
        error["path"] = path;
    }
    json_response(StatusCode::OK, json!({ "data": null, "errors": [error] }))
}

// ---------------------------------------------------------------------------------------------
// Query strings and pagination

struct QueryParams(Vec<(String, String)>);

impl QueryParams {
    fn parse(query: Option<&str>) -> QueryParams {
        let pairs = query.and_then(|q| decode_query(q).ok()).unwrap_or_default();
        QueryParams(pairs)
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// `(page, per_page)`, or the message for a 400 when either is out of range.
    fn pagination(
        &self,
        default_per_page: u64,
        min_per_page: u64,
        max_per_page: u64,
    ) -> Result<(u64, u64), String> {
        let page = match self.get("page") {
            None => 1,
            Some(raw) => match raw.parse::<u64>() {
                Ok(page) if page >= 1 => page,
                _ => return Err("page must be a number of at least 1".to_owned()),
            },
        };
        let per_page = match self.get("per_page") {
            None => default_per_page,
            Some(raw) => match raw.parse::<u64>() {
                Ok(n) if (min_per_page..=max_per_page).contains(&n) => n,
                _ => {
                    return Err(format!(
                        "per_page must be between {min_per_page} and {max_per_page}"
                    ));
                }
            },
        };
        Ok((page, per_page))
    }
}

/// Decodes `a=1&b=x%20y` with axum's form decoding (the same rules as a real query string).
fn decode_query(query: &str) -> Result<Vec<(String, String)>, ()> {
    let uri: http::Uri = format!("/?{query}").parse().map_err(|_| ())?;
    axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&uri)
        .map(|axum::extract::Query(pairs)| pairs)
        .map_err(|_| ())
}

fn paginated(items: Vec<Value>, page: u64, per_page: u64) -> Response {
    let total_count = items.len() as u64;
    let total_pages = total_count.div_ceil(per_page);
    let skip = usize::try_from((page - 1).saturating_mul(per_page)).unwrap_or(usize::MAX);
    let take = usize::try_from(per_page).unwrap_or(usize::MAX);
    let page_items: Vec<Value> = items.into_iter().skip(skip).take(take).collect();
    let result_info = json!({
        "page": page,
        "per_page": per_page,
        "count": page_items.len(),
        "total_count": total_count,
        "total_pages": total_pages
    });
    success(Value::Array(page_items), Some(result_info))
}

// ---------------------------------------------------------------------------------------------
// Responses

fn json_response(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

fn raw_json_response(status: StatusCode, body: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        Body::from(body),
    )
        .into_response()
}

fn text_response(status: StatusCode, body: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

fn success(result: Value, result_info: Option<Value>) -> Response {
    let mut body = json!({ "success": true, "errors": [], "messages": [], "result": result });
    if let Some(info) = result_info {
        body["result_info"] = info;
    }
    json_response(StatusCode::OK, body)
}

fn envelope_error(status: StatusCode, code: u32, message: &str) -> Response {
    envelope_errors(status, &[(code, message)])
}

fn envelope_errors(status: StatusCode, errors: &[(u32, &str)]) -> Response {
    let errors: Vec<Value> = errors
        .iter()
        .map(|(code, message)| json!({ "code": code, "message": message }))
        .collect();
    json_response(
        status,
        json!({ "success": false, "errors": errors, "messages": [], "result": null }),
    )
}

fn bad_request(message: &str) -> Response {
    envelope_error(StatusCode::BAD_REQUEST, 1001, message)
}

fn invalid_token() -> Response {
    raw_json_response(StatusCode::UNAUTHORIZED, INVALID_TOKEN_FIXTURE)
}

fn unauthorized() -> Response {
    envelope_error(
        StatusCode::FORBIDDEN,
        9109,
        "Unauthorized to access requested resource",
    )
}

fn no_route() -> Response {
    envelope_error(StatusCode::NOT_FOUND, 7000, "No route for that URI")
}

/// `path` is the request path below `/client/v4`, as Cloudflare echoes it.
fn zone_not_found(path: &str) -> Response {
    let message = format!("Could not route to {path}, perhaps your object identifier is invalid?");
    envelope_errors(
        StatusCode::NOT_FOUND,
        &[(7003, &message), (7000, "No route for that URI")],
    )
}

fn parse_fixture(text: &str) -> Value {
    serde_json::from_str(text).expect("fixtures are valid JSON")
}

// ---------------------------------------------------------------------------------------------
// Time

const DAY: i64 = 24 * 60 * 60;

fn unix_now() -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970");
    i64::try_from(since_epoch.as_secs()).expect("seconds since 1970 fit in i64")
}

/// Seconds since the Unix epoch as RFC 3339 in UTC, e.g. `2026-12-01T00:00:00Z`.
fn rfc3339(unix_secs: i64) -> String {
    let days = unix_secs.div_euclid(DAY);
    let secs_of_day = unix_secs.rem_euclid(DAY);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs_of_day / 3600,
        secs_of_day % 3600 / 60,
        secs_of_day % 60
    )
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

// ---------------------------------------------------------------------------------------------
// Tests

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpStream;

    struct Reply {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    }

    impl Reply {
        fn json(&self) -> Value {
            serde_json::from_str(&self.body).expect("reply body is JSON")
        }

        fn header(&self, name: &str) -> Option<&str> {
            self.headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        }
    }

    /// One blocking HTTP/1.1 exchange with `Connection: close`.
    fn send(
        fake: &FakeCloudflare,
        method: &str,
        host: &str,
        target: &str,
        token: Option<&str>,
        body: &str,
    ) -> Reply {
        let mut stream = TcpStream::connect(fake.addr()).expect("connect to the fake");
        let mut request = format!(
            "{method} {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nUser-Agent: cf-fake-test\r\n"
        );
        if let Some(token) = token {
            request.push_str(&format!("Authorization: Bearer {token}\r\n"));
        }
        if !body.is_empty() {
            request.push_str("Content-Type: application/json\r\n");
        }
        request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
        stream
            .write_all(request.as_bytes())
            .expect("send the request");
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).expect("read the reply");
        let raw = String::from_utf8(raw).expect("reply is UTF-8");
        let (head, body) = raw.split_once("\r\n\r\n").expect("reply has a head");
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|line| line.split(' ').nth(1))
            .and_then(|code| code.parse().ok())
            .expect("status line");
        let headers = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        Reply {
            status,
            headers,
            body: body.to_owned(),
        }
    }

    fn api_get(fake: &FakeCloudflare, path: &str) -> Reply {
        send(
            fake,
            "GET",
            API_HOST,
            &format!("{API_PREFIX}{path}"),
            Some(TOKEN),
            "",
        )
    }

    #[test]
    fn verify_succeeds_with_the_token() {
        let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
        let reply = api_get(&fake, "/user/tokens/verify");
        assert_eq!(reply.status, 200);
        assert_eq!(reply.header("content-type"), Some("application/json"));
        let body = reply.json();
        assert_eq!(body["success"], json!(true));
        assert_eq!(body["result"]["id"], json!(TOKEN_ID));
        assert_eq!(body["result"]["status"], json!("active"));
    }

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
    fn missing_dns_read_gets_the_live_403_body() {
        let fake = FakeCloudflare::spawn(Scenario::Missing(Permission::DnsRead));
        let zones = api_get(&fake, "/zones").json();
        let zone_id = zones["result"][0]["id"]
            .as_str()
            .expect("a zone id")
            .to_owned();
        let reply = api_get(&fake, &format!("/zones/{zone_id}/dns_records"));
        assert_eq!(reply.status, 403);
        assert_eq!(reply.body, AUTH_ERROR_FIXTURE);

        fake.set_scenario(Scenario::AllPermissions);
        let records = api_get(&fake, &format!("/zones/{zone_id}/dns_records")).json();
        assert_eq!(records["result"][0]["zone_id"], json!(zone_id));
        assert_eq!(records["result_info"]["total_count"], json!(3));
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

        let head = send(&fake, "HEAD", DOCS_HOST, "/llms.txt", None, "");
        assert_eq!(head.status, 200);
        assert!(head.body.is_empty());

        let other = send(&fake, "GET", DOCS_HOST, "/dns/llms.txt", None, "");
        assert_eq!(other.status, 404);
    }

    #[test]
    fn requests_are_recorded_with_host_and_headers() {
        let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
        send(
            &fake,
            "GET",
            "api.cloudflare.com:443",
            "/client/v4/zones?per_page=5",
            Some(TOKEN),
            "",
        );
        let unknown = send(&fake, "GET", "example.org", "/", None, "");
        assert_eq!(unknown.status, 404);

        let requests = fake.requests();
        assert_eq!(requests.len(), 2);
        let first = &requests[0];
        assert_eq!(first.method, "GET");
        assert_eq!(first.host, "api.cloudflare.com");
        assert_eq!(first.path, "/client/v4/zones");
        assert_eq!(first.query.as_deref(), Some("per_page=5"));
        assert_eq!(
            first.header("Authorization"),
            Some(format!("Bearer {TOKEN}").as_str())
        );
        assert_eq!(first.header("user-agent"), Some("cf-fake-test"));
        assert_eq!(requests[1].host, "example.org");

        fake.clear_requests();
        assert!(fake.requests().is_empty());
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
    }

    #[test]
    fn account_owned_token_verifies_on_the_account_endpoint() {
        let fake = FakeCloudflare::spawn(Scenario::AccountOwnedToken);
        assert_eq!(api_get(&fake, "/user/tokens/verify").status, 401);
        let reply = api_get(&fake, &format!("/accounts/{ACCOUNT_ID}/tokens/verify"));
        assert_eq!(reply.status, 200);
        assert_eq!(reply.json()["result"]["id"], json!(TOKEN_ID));

        fake.set_scenario(Scenario::AllPermissions);
        let reply = api_get(&fake, &format!("/accounts/{ACCOUNT_ID}/tokens/verify"));
        assert_eq!(reply.status, 401);
    }

    #[test]
    fn zones_filter_paginate_and_404() {
        let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
        let all = api_get(&fake, &format!("/zones?account.id={ACCOUNT_ID}&per_page=5")).json();
        assert_eq!(all["result_info"]["count"], json!(2));
        assert_eq!(all["result"][0]["account"]["id"], json!(ACCOUNT_ID));

        let other = api_get(&fake, &format!("/zones?account.id={OTHER_ACCOUNT_ID}")).json();
        assert_eq!(other["result"], json!([]));

        assert_eq!(api_get(&fake, "/zones?per_page=51").status, 400);
        let missing = api_get(&fake, "/zones/github.com");
        assert_eq!(missing.status, 404);
        assert_eq!(missing.json()["errors"][0]["code"], json!(7003));

        let post = send(
            &fake,
            "POST",
            API_HOST,
            "/client/v4/zones",
            Some(TOKEN),
            "{}",
        );
        assert_eq!(post.status, 405);
        assert_eq!(api_get(&fake, "/nothing/here").status, 404);
    }

    #[test]
    fn graphql_scopes() {
        let fake = FakeCloudflare::spawn(Scenario::Missing(Permission::ZoneAnalyticsRead));
        let post = |query: &str, variables: Value| {
            let body = json!({ "query": query, "variables": variables }).to_string();
            send(
                &fake,
                "POST",
                API_HOST,
                "/client/v4/graphql",
                Some(TOKEN),
                &body,
            )
        };
        let zone_query =
            "query($zoneTag: string) { viewer { zones(filter: {zoneTag: $zoneTag}) { x } } }";
        let account_query = "query($accountTag: string) { viewer { accounts(filter: {accountTag: $accountTag}) { x } } }";

        let denied = post(
            zone_query,
            json!({ "zoneTag": "234234243423aaabb334342aaa343433" }),
        );
        assert_eq!(denied.status, 200);
        assert_eq!(
            denied.json()["errors"][0]["extensions"]["code"],
            json!("authz")
        );

        let allowed = post(account_query, json!({ "accountTag": ACCOUNT_ID })).json();
        assert_eq!(allowed["errors"], Value::Null);
        assert!(allowed["data"]["viewer"]["accounts"].is_array());

        let bad = send(
            &fake,
            "POST",
            API_HOST,
            "/client/v4/graphql",
            Some(TOKEN),
            "{",
        );
        assert_eq!(bad.status, 400);
    }

    #[test]
    fn token_details_only_when_readable() {
        let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
        assert_eq!(
            api_get(&fake, &format!("/user/tokens/{TOKEN_ID}")).status,
            403
        );
        fake.set_scenario(Scenario::TokenDetailsReadable);
        let details = api_get(&fake, &format!("/user/tokens/{TOKEN_ID}")).json();
        assert_eq!(
            details["result"]["policies"][0]["permission_groups"][3]["name"],
            json!("DNS Write")
        );
    }

    #[tokio::test]
    async fn works_inside_a_runtime_and_stops_with_a_connection_open() {
        let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
        let addr = fake.addr();
        // A keep-alive connection that stays open must not keep the drop waiting.
        let mut idle = tokio::net::TcpStream::connect(addr)
            .await
            .expect("connect to the fake");
        let request = "GET /llms.txt HTTP/1.1\r\nHost: developers.cloudflare.com\r\n\r\n";
        tokio::io::AsyncWriteExt::write_all(&mut idle, request.as_bytes())
            .await
            .expect("send the request");
        let mut buf = [0u8; 64];
        let n = tokio::io::AsyncReadExt::read(&mut idle, &mut buf)
            .await
            .expect("read the reply");
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
        drop(fake);
        assert!(std::net::TcpStream::connect(addr).is_err());
    }

    #[test]
    fn scenario_names_round_trip() {
        assert_eq!(Scenario::ALL.len(), Scenario::NAMES.len());
        for scenario in Scenario::ALL {
            assert_eq!(scenario.name().parse::<Scenario>(), Ok(*scenario));
        }
        assert_eq!(
            "missing-dns-read".parse::<Scenario>(),
            Ok(Scenario::Missing(Permission::DnsRead))
        );
        let error = "bogus".parse::<Scenario>().expect_err("unknown name");
        assert!(error.to_string().contains("all-permissions"));
    }

    #[test]
    fn rfc3339_formats_civil_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_796_083_200), "2026-12-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400 + 3661), "2000-02-29T01:01:01Z");
    }
}
