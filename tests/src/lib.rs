//! A fake Cloudflare: one local HTTP/1.1 server that answers for both `api.cloudflare.com`
//! (the v4 REST API and GraphQL under `/client/v4`) and `developers.cloudflare.com` (the docs
//! site in `fixtures/docs/site`, see `docs_site.rs`), chosen by the request's `Host` header. The client under test connects to
//! 127.0.0.1 but keeps the real host names, so the fake must route on `Host`, not on the address.
//!
//! Behaviour is driven by a [`Scenario`] that can be switched while the server runs, and every
//! request is recorded before it is answered so tests can check what the client sent.
//!
//! Data: six zones ([`ZONE_ID`] github.com, [`ENTERPRISE_ZONE_ID`] github.io,
//! [`PENDING_ZONE_ID`] githubusercontent.com, [`EMPTY_ZONE_ID`] unit.tests, [`IDN_ZONE_ID`]
//! bücher.example, [`BUSINESS_ZONE_ID`] example.org: two pages of 5), 13 DNS records per zone,
//! synthetic DNS analytics events (see [`dns_events`]) behind GraphQL (`dnsAnalyticsAdaptive*`)
//! and the legacy `/dns_analytics/report` endpoints, and synthetic HTTP request and firewall
//! events (see [`http_events`]) behind GraphQL (`httpRequestsAdaptive*`, `httpRequests1hGroups`,
//! `httpRequests1dGroups`, `firewallEventsAdaptive*`). Every GraphQL query is checked against
//! Cloudflare's schema (see [`validate_graphql`]); introspection is answered from it.

mod analytics;
mod dns_events;
mod dns_report;
mod docs_site;
mod graphql;
#[cfg(test)]
mod graphql_tests;
mod http_events;

pub use dns_events::{
    DNS_EVENT_HOURS, DNS_EVENTS_PER_HOUR, HourlyDnsEvent, dns_event_times, hourly_query_count,
};
pub use dns_report::RESPONSE_CACHED_PLAN_MESSAGE;
pub use graphql::{
    BUDGET_EXCEEDED_MESSAGE, QUOTA_EXCEEDED_MESSAGE, graphql_schema, validate_graphql,
};
pub use http_events::{
    FIREWALL_EVENTS_PER_HOUR, HTTP_LONG_TAIL, HTTP_LONG_TAIL_PATHS, HTTP_REQUESTS_PER_HOUR,
    HourlyFirewallEvents, HourlyHttpRequests, hourly_firewall_event_count, hourly_request_bytes,
    hourly_request_count, long_tail_path, long_tail_time,
};

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

/// github.com: plan "Free Website", active, 20 DNS queries an hour (see [`DNS_EVENTS_PER_HOUR`]).
pub const ZONE_ID: &str = "234234243423aaabb334342aaa343433";
pub const ZONE_NAME: &str = "github.com";
/// github.io: plan "Enterprise Website" (changed from the fixture's Free), active, 8 queries an
/// hour.
pub const ENTERPRISE_ZONE_ID: &str = "234234243423aaabb334342aaa343434";
pub const ENTERPRISE_ZONE_NAME: &str = "github.io";
/// githubusercontent.com: plan "Free Website", status `pending` (as recorded), no DNS traffic.
/// The recorded page 2 repeats github.io's id for it; the fake gives it this one.
pub const PENDING_ZONE_ID: &str = "234234243423aaabb334342aaa343436";
pub const PENDING_ZONE_NAME: &str = "githubusercontent.com";
/// unit.tests: plan "Free Website", active, no DNS traffic at all (for "no data" answers).
pub const EMPTY_ZONE_ID: &str = "234234243423aaabb334342aaa343435";
pub const EMPTY_ZONE_NAME: &str = "unit.tests";
/// An internationalized zone, listed in Unicode as Cloudflare lists it: plan "Pro Website",
/// active, 5 queries an hour (query names in ASCII: `www.xn--bcher-kva.example`).
pub const IDN_ZONE_ID: &str = "5d1f0c9e8b7a46f3a2e1d0c9b8a7f6e5";
pub const IDN_ZONE_NAME: &str = "bücher.example";
/// [`IDN_ZONE_NAME`] in ASCII (punycode); `GET /zones?name=` accepts either form.
pub const IDN_ZONE_ASCII_NAME: &str = "xn--bcher-kva.example";
/// example.org: plan "Business Website", active, no DNS traffic. Made here (from github.com's
/// entry) so that the zone list spans two pages at the smallest `per_page`, 5.
pub const BUSINESS_ZONE_ID: &str = "9a7c5e3b1d2f4a6c8e0b2d4f6a8c0e2b";
pub const BUSINESS_ZONE_NAME: &str = "example.org";
/// Every zone id, in the order `GET /zones` lists them.
pub const ZONE_IDS: [&str; 6] = [
    ZONE_ID,
    ENTERPRISE_ZONE_ID,
    PENDING_ZONE_ID,
    EMPTY_ZONE_ID,
    IDN_ZONE_ID,
    BUSINESS_ZONE_ID,
];
/// DNS records per zone (3 from cloudflare-go, 10 from octodns, renamed into the zone).
pub const DNS_RECORDS_PER_ZONE: usize = 13;

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
const ZONES_PAGE_2_FIXTURE: &str = include_str!("../fixtures/zones_list_page_2.octodns.json");
const DNS_RECORDS_FIXTURE: &str =
    include_str!("../fixtures/dns_records_list_page_1.cloudflare-go.json");
const OCTODNS_RECORDS_FIXTURE: &str =
    include_str!("../fixtures/dns_records_list_page_1.octodns.json");

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
    /// As `AllPermissions`, but every GraphQL query answers HTTP 200 `{"data": null, "errors":
    /// [{"message": "budget exceeded, please retry later", "path": null, "extensions": {"code":
    /// "budget", "timestamp"}}]}` (see [`BUDGET_EXCEEDED_MESSAGE`]).
    GraphqlBudget,
    /// As [`Scenario::GraphqlBudget`] with `"quota exceeded, please retry later"` and code
    /// `quota` (see [`QUOTA_EXCEEDED_MESSAGE`]).
    GraphqlQuota,
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
        Scenario::GraphqlBudget,
        Scenario::GraphqlQuota,
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
        "graphql-budget",
        "graphql-quota",
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
    /// The client's address: requests from one address came over one connection.
    pub peer: Option<SocketAddr>,
}

impl RecordedRequest {
    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The `query` of a GraphQL request body (`{"query": …}`), if the body is one.
    pub fn graphql_query(&self) -> Option<String> {
        let body: Value = serde_json::from_slice(&self.body).ok()?;
        body.get("query")?.as_str().map(str::to_owned)
    }

    /// Whether this is a GraphQL request whose operations select `__schema` or `__type` at
    /// their root (a schema introspection query).
    pub fn is_graphql_introspection(&self) -> bool {
        let Some(query) = self.graphql_query() else {
            return false;
        };
        let Ok(document) = apollo_compiler::ast::Document::parse(query, "query.graphql") else {
            return false;
        };
        document.definitions.iter().any(|definition| {
            matches!(
                definition,
                apollo_compiler::ast::Definition::OperationDefinition(operation)
                    if operation.selection_set.iter().any(|selection| matches!(
                        selection,
                        apollo_compiler::ast::Selection::Field(field)
                            if field.name == "__schema" || field.name == "__type"
                    ))
            )
        })
    }
}

struct Shared {
    scenario: Mutex<Scenario>,
    requests: Mutex<Vec<RecordedRequest>>,
    /// How long every answer waits: for tests of the host's timeouts.
    delay: Mutex<std::time::Duration>,
    /// When set, GraphQL data answers are grown to at least this many bytes (benchmarks; see
    /// [`FakeCloudflare::set_graphql_inflation`]).
    graphql_inflation: Mutex<Option<usize>>,
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
            delay: Mutex::new(std::time::Duration::ZERO),
            graphql_inflation: Mutex::new(None),
        });
        // Building the GraphQL schema takes about a second in debug builds: start it now, off
        // the server's threads, so the first GraphQL request does not wait as long.
        std::thread::Builder::new()
            .name("fake-cloudflare-schema".to_owned())
            .spawn(|| {
                graphql_schema();
            })?;
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
                        result = axum::serve(
                            listener,
                            app.into_make_service_with_connect_info::<SocketAddr>(),
                        )
                        .into_future() => {
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

    /// Makes every later answer wait this long before it is sent (zero to stop).
    pub fn set_delay(&self, delay: std::time::Duration) {
        *self
            .shared
            .delay
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = delay;
    }

    /// BENCHMARKS ONLY (Cloudflare does no such thing): with `Some(bytes)`, every successful
    /// GraphQL data answer is grown, after the query ran as usual, until its body is at least
    /// `bytes` long: the largest array under `data` gets copies of its own items, in turn (see
    /// [`inflate_graphql_answer`]). `settings` lookups and introspection are left as they are.
    /// `None` (the default) restores the normal answers.
    pub fn set_graphql_inflation(&self, target_bytes: Option<usize>) {
        *self
            .shared
            .graphql_inflation
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = target_bytes;
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

    /// How many GraphQL introspection queries (`__schema` / `__type`) were received so far.
    pub fn introspection_requests(&self) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.path == "/client/v4/graphql" && r.is_graphql_introspection())
            .count()
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
        DOCS_HOST => route_docs(&recorded),
        _ => text_response(StatusCode::NOT_FOUND, "unknown host\n"),
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

/// A GraphQL answer grown by [`inflate_graphql_answer`]; anything else (not JSON, no data, a
/// `settings` lookup, introspection) is sent as it was.
async fn inflate_response(response: Response, target_bytes: usize) -> Response {
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return text_response(StatusCode::INTERNAL_SERVER_ERROR, "unreadable answer\n");
    };
    let Ok(mut answer) = serde_json::from_slice::<Value>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    if !inflate_graphql_answer(&mut answer, target_bytes) {
        return Response::from_parts(parts, Body::from(bytes));
    }
    let Ok(inflated) = serde_json::to_vec(&answer) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(inflated))
}

/// Grows a GraphQL answer (`{"data": …, "errors": …}`) until its compact JSON is at least
/// `target_bytes` long, by appending to the array under `data` with the most items (the
/// innermost on a tie) copies of its items, first to last, again and again. Returns whether it
/// changed anything: not when the answer is already that long, has no non-empty array under
/// `data`, or answers a `settings` lookup or introspection (the connector asks for those
/// before its data queries; Cloudflare's are small).
pub fn inflate_graphql_answer(answer: &mut Value, target_bytes: usize) -> bool {
    type Best = Option<(usize, String)>;
    /// Visits `child` at `pointer` + `/key`.
    fn visit(key: &str, child: &Value, pointer: &mut String, best: &mut Best) {
        let length = pointer.len();
        pointer.push('/');
        pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
        largest_array(child, pointer, best);
        pointer.truncate(length);
    }
    fn largest_array(value: &Value, pointer: &mut String, best: &mut Best) {
        match value {
            Value::Array(items) => {
                if !items.is_empty() && best.as_ref().is_none_or(|(most, _)| items.len() >= *most) {
                    *best = Some((items.len(), pointer.clone()));
                }
                for (index, item) in items.iter().enumerate() {
                    visit(&index.to_string(), item, pointer, best);
                }
            }
            Value::Object(map) => {
                for (key, child) in map {
                    visit(key, child, pointer, best);
                }
            }
            _ => {}
        }
    }
    fn has_key(value: &Value, wanted: &[&str]) -> bool {
        match value {
            Value::Array(items) => items.iter().any(|item| has_key(item, wanted)),
            Value::Object(map) => map
                .iter()
                .any(|(key, child)| wanted.contains(&key.as_str()) || has_key(child, wanted)),
            _ => false,
        }
    }

    let Some(data) = answer.get("data") else {
        return false;
    };
    if has_key(data, &["settings", "__schema", "__type"]) {
        return false;
    }
    let mut best = None;
    largest_array(data, &mut String::from("/data"), &mut best);
    let Some((_, pointer)) = best else {
        return false;
    };
    let Ok(mut size) = serde_json::to_vec(answer).map(|bytes| bytes.len()) else {
        return false;
    };
    if size >= target_bytes {
        return false;
    }
    let Some(Value::Array(items)) = answer.pointer_mut(&pointer) else {
        return false;
    };
    let originals: Vec<(Value, usize)> = items
        .iter()
        .map(|item| {
            let bytes = serde_json::to_vec(item).map_or(0, |b| b.len());
            (item.clone(), bytes)
        })
        .collect();
    // Each copy adds its own compact JSON and one comma (the array is not empty).
    for (item, bytes) in originals.iter().cycle() {
        if size >= target_bytes {
            break;
        }
        items.push(item.clone());
        size += bytes + 1;
    }
    true
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

/// `developers.cloudflare.com`: the documentation site in `fixtures/docs/site/` (see
/// [`docs_site`]).
fn route_docs(request: &RecordedRequest) -> Response {
    docs_site::route(request)
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

/// A zone's plan, from `plan.legacy_id` (or `plan.name`), in increasing order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Plan {
    Free,
    Pro,
    Business,
    Enterprise,
}

pub(crate) fn zone_plan(zone: &Value) -> Plan {
    let id = zone
        .pointer("/plan/legacy_id")
        .or_else(|| zone.pointer("/plan/name"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_ascii_lowercase();
    if id.starts_with("enterprise") {
        Plan::Enterprise
    } else if id.starts_with("business") {
        Plan::Business
    } else if id.starts_with("pro") {
        Plan::Pro
    } else {
        Plan::Free
    }
}

fn set_plan(zone: &mut Value, plan_id: &str, name: &str, legacy_id: &str, price: u64) {
    let plan = &mut zone["plan"];
    plan["id"] = json!(plan_id);
    plan["name"] = json!(name);
    plan["legacy_id"] = json!(legacy_id);
    plan["price"] = json!(price);
}

/// The zones the token can see, each owned by the token's account, in this order:
/// github.com, github.io (both from octodns page 1), githubusercontent.com, unit.tests (page 2),
/// bücher.example and example.org (made here from github.com's entry). See the `*_ZONE_*`
/// constants.
fn zones(scenario: Scenario) -> Vec<Value> {
    if scenario == Scenario::NoZones {
        return Vec::new();
    }
    let mut all = Vec::new();
    for fixture in [ZONES_FIXTURE, ZONES_PAGE_2_FIXTURE] {
        let mut page = parse_fixture(fixture);
        let zones = page["result"]
            .as_array_mut()
            .expect("zones fixtures have a result array");
        all.append(zones);
    }
    for zone in all.iter_mut() {
        match zone["name"].as_str() {
            Some(ZONE_NAME) | Some(EMPTY_ZONE_NAME) => zone["status"] = json!("active"),
            Some(ENTERPRISE_ZONE_NAME) => {
                zone["status"] = json!("active");
                // Made-up plan id; the recorded fixture only has Free zones.
                set_plan(
                    zone,
                    "94f3b7b768b0458b56d2cac4fe5ec0f9",
                    "Enterprise Website",
                    "enterprise",
                    5000,
                );
            }
            // The recorded page 2 repeats github.io's id.
            Some(PENDING_ZONE_NAME) => zone["id"] = json!(PENDING_ZONE_ID),
            _ => {}
        }
    }
    let mut idn = all[0].clone();
    idn["id"] = json!(IDN_ZONE_ID);
    idn["name"] = json!(IDN_ZONE_NAME);
    idn["status"] = json!("active");
    idn["created_on"] = json!("2024-03-04T09:10:11.123456Z");
    idn["modified_on"] = json!("2024-03-04T09:15:00.654321Z");
    // Made-up plan id.
    set_plan(
        &mut idn,
        "a577b510288e82b26486fc7a6e25b9b5",
        "Pro Website",
        "pro",
        20,
    );
    let mut business = all[0].clone();
    business["id"] = json!(BUSINESS_ZONE_ID);
    business["name"] = json!(BUSINESS_ZONE_NAME);
    business["status"] = json!("active");
    business["created_on"] = json!("2021-06-07T08:09:10.111213Z");
    business["modified_on"] = json!("2021-06-07T08:20:00.141516Z");
    // Made-up plan id.
    set_plan(
        &mut business,
        "c1ba5a8c2a2c4e9f9d4c1c0f5e6f7a8b",
        "Business Website",
        "business",
        200,
    );
    all.push(idn);
    all.push(business);
    for zone in all.iter_mut() {
        zone["account"] = json!({ "id": token_account(scenario), "name": ACCOUNT_NAME });
    }
    all
}

pub(crate) fn find_zone(scenario: Scenario, zone_id: &str) -> Option<Value> {
    zones(scenario)
        .into_iter()
        .find(|zone| zone["id"].as_str() == Some(zone_id))
}

/// The ASCII form of a zone name, for the one internationalized zone.
fn ascii_zone_name(name: &str) -> &str {
    if name == IDN_ZONE_NAME {
        IDN_ZONE_ASCII_NAME
    } else {
        name
    }
}

/// A host name with the IDN zone's Unicode suffix in ASCII (`www.bücher.example` →
/// `www.xn--bcher-kva.example`); other names unchanged.
fn ascii_host_name(name: &str) -> String {
    match name.strip_suffix(IDN_ZONE_NAME) {
        Some(prefix) if prefix.is_empty() || prefix.ends_with('.') => {
            format!("{prefix}{IDN_ZONE_ASCII_NAME}")
        }
        _ => name.to_owned(),
    }
}

/// A `name` / `account.name` filter of `GET /zones`: `op:value` with Cloudflare's operators
/// (`equal` when no operator is given); case-insensitive unless `*_case_sensitive`.
fn name_filter_matches(filter: &str, candidates: &[&str]) -> bool {
    const OPERATORS: [&str; 8] = [
        "equal",
        "not_equal",
        "starts_with",
        "ends_with",
        "contains",
        "starts_with_case_sensitive",
        "ends_with_case_sensitive",
        "contains_case_sensitive",
    ];
    let (op, wanted) = match filter.split_once(':') {
        Some((op, wanted)) if OPERATORS.contains(&op) => (op, wanted),
        _ => ("equal", filter),
    };
    let case_sensitive = op.ends_with("_case_sensitive");
    let fold = |s: &str| {
        if case_sensitive {
            s.to_owned()
        } else {
            s.to_lowercase()
        }
    };
    let wanted = fold(wanted);
    let test = |candidate: &&str| {
        let candidate = fold(candidate);
        match op.trim_end_matches("_case_sensitive") {
            "starts_with" => candidate.starts_with(&wanted),
            "ends_with" => candidate.ends_with(&wanted),
            "contains" => candidate.contains(&wanted),
            _ => candidate == wanted,
        }
    };
    if op == "not_equal" {
        !candidates.iter().any(test)
    } else {
        candidates.iter().any(test)
    }
}

/// `GET /zones`: filters `name` (with operators, Unicode or ASCII for the IDN zone),
/// `account.name` (same operators), `status`, `account.id`, combined by `match=all|any`;
/// `order` (`name`, `status`, `account.id`, `account.name`) and `direction`; `page`, `per_page`
/// (5..50, default 20).
fn list_zones(scenario: Scenario, query: &QueryParams) -> Response {
    if permission_missing(scenario, Permission::ZoneRead) {
        return unauthorized();
    }
    let (page, per_page) = match query.pagination(20, 5, 50) {
        Ok(p) => p,
        Err(message) => return bad_request(&message),
    };
    let match_any = match query.get("match") {
        None | Some("all") => false,
        Some("any") => true,
        Some(other) => return bad_request(&format!("match must be all or any, not {other}")),
    };
    let field = |zone: &Value, pointer: &str| {
        zone.pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let tests = |zone: &Value| -> Vec<bool> {
        let name = field(zone, "/name");
        let mut results = Vec::new();
        if let Some(wanted) = query.get("name") {
            results.push(name_filter_matches(
                wanted,
                &[&name, ascii_zone_name(&name)],
            ));
        }
        if let Some(wanted) = query.get("account.name") {
            results.push(name_filter_matches(
                wanted,
                &[&field(zone, "/account/name")],
            ));
        }
        for (param, pointer) in [("status", "/status"), ("account.id", "/account/id")] {
            if let Some(wanted) = query.get(param) {
                results.push(field(zone, pointer).eq_ignore_ascii_case(wanted));
            }
        }
        results
    };
    let mut selected: Vec<Value> = zones(scenario)
        .into_iter()
        .filter(|zone| {
            let results = tests(zone);
            results.is_empty()
                || if match_any {
                    results.iter().any(|r| *r)
                } else {
                    results.iter().all(|r| *r)
                }
        })
        .collect();
    if let Some(order) = query.get("order") {
        let pointer = match order {
            "name" => "/name",
            "status" => "/status",
            "account.id" => "/account/id",
            "account.name" => "/account/name",
            other => return bad_request(&format!("cannot order zones by {other}")),
        };
        selected.sort_by_key(|zone| field(zone, pointer));
    }
    match query.get("direction") {
        None | Some("asc") => {}
        Some("desc") => selected.reverse(),
        Some(other) => return bad_request(&format!("direction must be asc or desc, not {other}")),
    }
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

/// The DNS records of a zone: cloudflare-go's 3 (under example.com) then octodns' 10 (under
/// unit.tests), renamed into the zone (ASCII names for the IDN zone).
fn dns_records(zone_id: &str, zone_name: &str) -> Vec<Value> {
    let ascii = ascii_zone_name(zone_name);
    let mut records = Vec::new();
    for (fixture, origin) in [
        (DNS_RECORDS_FIXTURE, "example.com"),
        (OCTODNS_RECORDS_FIXTURE, "unit.tests"),
    ] {
        let mut page = parse_fixture(fixture);
        let page_records = page["result"]
            .as_array_mut()
            .expect("dns records fixtures have a result array");
        for record in page_records.iter_mut() {
            for key in ["name", "content"] {
                if let Some(text) = record[key].as_str()
                    && let Some(prefix) = text.strip_suffix(origin)
                    && (prefix.is_empty() || prefix.ends_with('.'))
                {
                    record[key] = json!(format!("{prefix}{ascii}"));
                }
            }
            record["zone_id"] = json!(zone_id);
            record["zone_name"] = json!(zone_name);
        }
        records.append(page_records);
    }
    records
}

/// `GET /zones/{id}/dns_records`: filters `type`, `name` (exact, case-insensitive), `content`
/// (exact), `proxied` (`true`/`false`); `page`, `per_page` (1..5000, default 100).
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
    let text = |record: &Value, key: &str| record[key].as_str().unwrap_or_default().to_owned();
    let records = dns_records(zone_id, zone_name)
        .into_iter()
        .filter(|r| {
            query
                .get("type")
                .is_none_or(|t| text(r, "type").eq_ignore_ascii_case(t))
        })
        .filter(|r| {
            query.get("name").is_none_or(|n| {
                let wanted = ascii_host_name(&n.trim_end_matches('.').to_lowercase());
                text(r, "name").to_lowercase() == wanted
            })
        })
        .filter(|r| query.get("content").is_none_or(|c| text(r, "content") == c))
        .filter(|r| {
            query
                .get("proxied")
                .is_none_or(|p| r["proxied"].as_bool().map(|b| b.to_string()).as_deref() == Some(p))
        })
        .collect();
    paginated(records, page, per_page)
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

/// A component `make plugin` builds (`cloudflare_connector.wasm`, `hostile_plugin.wasm`,
/// `ungranted_plugin.wasm`), for the tests that load it; panics with what to run when missing.
pub fn built_component(file: &str) -> std::path::PathBuf {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/wasm32-wasip2/release")
        .join(file);
    assert!(
        path.exists(),
        "{} is missing: run `make build` (or `make test`)",
        path.display()
    );
    path
}

pub fn unix_now() -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970");
    i64::try_from(since_epoch.as_secs()).expect("seconds since 1970 fit in i64")
}

/// Seconds since the Unix epoch as RFC 3339 in UTC, e.g. `2026-12-01T00:00:00Z`.
pub fn rfc3339(unix_secs: i64) -> String {
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

/// Days since 1970-01-01 of a Unix time.
fn days_from_unix(unix_secs: i64) -> i64 {
    unix_secs.div_euclid(DAY)
}

/// Days since 1970-01-01 as `YYYY-MM-DD`.
fn date_string(days: i64) -> String {
    let (year, month, day) = civil_from_days(days);
    format!("{year:04}-{month:02}-{day:02}")
}

/// (year, month, day) to days since 1970-01-01 (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month_index = if month > 2 { month - 3 } else { month + 9 };
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// `YYYY-MM-DD` to days since 1970-01-01; `None` unless a real calendar date.
fn parse_date(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        part.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| part.parse().ok())
            .flatten()
    };
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    if !(1..=12).contains(&month) || day < 1 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    (civil_from_days(days) == (year, month, day)).then_some(days)
}

/// RFC 3339 (`2026-11-26T15:00:00Z`, `…T15:00:00.123+01:00`) to Unix seconds (fractions
/// dropped); `None` when malformed.
fn parse_rfc3339(text: &str) -> Option<i64> {
    let (date, rest) = (text.get(..10)?, text.get(10..)?);
    let days = parse_date(date)?;
    let rest = rest.strip_prefix(['T', 't', ' '])?;
    let clock = rest.get(..8)?;
    let cb = clock.as_bytes();
    if cb[2] != b':' || cb[5] != b':' {
        return None;
    }
    let field = |range: std::ops::Range<usize>, max: i64| -> Option<i64> {
        let part = clock.get(range)?;
        let value: i64 = part
            .bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| part.parse().ok())
            .flatten()?;
        (value <= max).then_some(value)
    };
    let seconds = field(0..2, 23)? * 3600 + field(3..5, 59)? * 60 + field(6..8, 60)?;
    let mut zone = &rest[8..];
    if let Some(fraction) = zone.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        zone = &fraction[digits..];
    }
    let offset = match zone {
        "Z" | "z" => 0,
        _ => {
            let sign = match zone.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let zb = zone.as_bytes();
            if zone.len() != 6 || zb[3] != b':' {
                return None;
            }
            let hours: i64 = zone.get(1..3)?.parse().ok()?;
            let minutes: i64 = zone.get(4..6)?.parse().ok()?;
            sign * (hours * 3600 + minutes * 60)
        }
    };
    Some(days * DAY + seconds - offset)
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

    pub(crate) struct Reply {
        pub status: u16,
        pub headers: Vec<(String, String)>,
        pub body: String,
    }

    impl Reply {
        pub fn json(&self) -> Value {
            serde_json::from_str(&self.body).expect("reply body is JSON")
        }

        fn header(&self, name: &str) -> Option<&str> {
            self.headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        }
    }

    /// `body` posted to the GraphQL endpoint with the token.
    pub(crate) fn post_graphql(fake: &FakeCloudflare, body: &str) -> Reply {
        send(
            fake,
            "POST",
            API_HOST,
            "/client/v4/graphql",
            Some(TOKEN),
            body,
        )
    }

    /// One blocking HTTP/1.1 exchange with `Connection: close`.
    pub(crate) fn send(
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

    pub(crate) fn api_get(fake: &FakeCloudflare, path: &str) -> Reply {
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
        assert_eq!(
            records["result_info"]["total_count"],
            json!(DNS_RECORDS_PER_ZONE)
        );
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
        assert_eq!(all["result_info"]["count"], json!(5));
        assert_eq!(all["result_info"]["total_count"], json!(6));
        assert_eq!(all["result_info"]["total_pages"], json!(2));
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
            post_graphql(&fake, &body)
        };
        let zone_query =
            "query($zoneTag: string) { viewer { zones(filter: {zoneTag: $zoneTag}) { zoneTag } } }";
        let account_query = "query($accountTag: string) { viewer { accounts(filter: {accountTag: $accountTag}) { accountTag } } }";

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
        assert_eq!(
            allowed["data"]["viewer"]["accounts"],
            json!([{ "accountTag": ACCOUNT_ID }])
        );

        let other = post(account_query, json!({ "accountTag": OTHER_ACCOUNT_ID })).json();
        assert_eq!(other["data"], Value::Null);
        assert_eq!(other["errors"][0]["extensions"]["code"], json!("authz"));
        assert_eq!(other["errors"][0]["path"], json!(["viewer", "accounts", 0]));

        let bad = post_graphql(&fake, "{");
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

    #[test]
    fn time_parsing_round_trips() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339("2026-12-01T01:00:00.250+01:00"),
            Some(1_796_083_200)
        );
        assert_eq!(parse_rfc3339("2026-02-30T00:00:00Z"), None);
        assert_eq!(parse_rfc3339("2026-12-01"), None);
        assert_eq!(parse_date("2000-02-29"), Some(11_016));
        assert_eq!(parse_date("2001-02-29"), None);
        assert_eq!(date_string(11_016), "2000-02-29");
        for days in [-1, 0, 59, 11_016, 20_788] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    // ---- GraphQL ----------------------------------------------------------------------------

    /// The DNS query the analytics service is expected to send, in its variables form.
    const NXDOMAIN_QUERY: &str = "query Top($zoneTag: string!, $filter: ZoneDnsAnalyticsAdaptiveGroupsFilter_InputObject!, $limit: uint64!) {
        viewer { zones(filter: {zoneTag: $zoneTag}) {
            top: dnsAnalyticsAdaptiveGroups(filter: $filter, limit: $limit, orderBy: [count_DESC, queryName_ASC]) {
                count
                avg { processingTimeUs }
                quantiles { processingTimeUsP50 processingTimeUsP90 }
                dimensions { queryName }
            }
        } }
    }";

    pub(crate) fn gql(fake: &FakeCloudflare, query: &str, variables: Value) -> Value {
        let body = json!({ "query": query, "variables": variables }).to_string();
        let reply = post_graphql(fake, &body);
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.json()
    }

    /// `[now - 24h, now)` as a datetime filter.
    pub(crate) fn last_day() -> Value {
        let now = unix_now();
        json!({ "datetime_geq": rfc3339(now - DAY), "datetime_lt": rfc3339(now) })
    }

    pub(crate) fn only_error(answer: &Value) -> &Value {
        assert_eq!(answer["data"], Value::Null, "{answer}");
        let errors = answer["errors"].as_array().expect("an errors array");
        assert_eq!(errors.len(), 1, "{answer}");
        &errors[0]
    }

    #[test]
    fn inflation_grows_the_largest_data_array_by_cycling_its_items() {
        let rows = json!([{ "count": 1, "name": "a" }, { "count": 2, "name": "bb" }]);
        let mut answer = json!({
            "data": { "viewer": { "zones": [{ "tag": ["x"], "top": rows.clone() }] } },
            "errors": null
        });
        assert!(inflate_graphql_answer(&mut answer, 10_000));
        let body = serde_json::to_vec(&answer).expect("serializes");
        assert!(body.len() >= 10_000, "{}", body.len());
        let top = answer["data"]["viewer"]["zones"][0]["top"]
            .as_array()
            .expect("rows");
        // Just enough copies: one row fewer would be under the target.
        let last_row = serde_json::to_vec(&top[top.len() - 1]).expect("row").len();
        assert!(body.len() - last_row - 1 < 10_000);
        for (index, row) in top.iter().enumerate() {
            assert_eq!(row, &rows[index % 2], "row {index}");
        }
        assert_eq!(
            answer["data"]["viewer"]["zones"].as_array().map(Vec::len),
            Some(1)
        );
        assert_eq!(answer["data"]["viewer"]["zones"][0]["tag"], json!(["x"]));
        assert_eq!(answer["errors"], Value::Null);

        // Already large enough, nothing to copy, or metadata: unchanged.
        let before = answer.clone();
        assert!(!inflate_graphql_answer(&mut answer, 100));
        assert_eq!(answer, before);
        for mut unchanged in [
            json!({ "data": { "viewer": { "zones": [] } }, "errors": null }),
            json!({ "data": null, "errors": [{ "message": "budget" }] }),
            json!({ "data": { "viewer": { "zones": [{ "settings": { "f": ["a", "b"] } }] } } }),
            json!({ "data": { "__schema": { "types": [{ "name": "A" }] } } }),
        ] {
            let before = unchanged.clone();
            assert!(!inflate_graphql_answer(&mut unchanged, 10_000), "{before}");
            assert_eq!(unchanged, before);
        }
    }

    #[test]
    fn inflation_applies_to_graphql_answers_until_switched_off() {
        let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
        let variables = json!({ "zoneTag": ZONE_ID, "filter": last_day(), "limit": 10 });
        let normal = gql(&fake, NXDOMAIN_QUERY, variables.clone());
        let rows = normal["data"]["viewer"]["zones"][0]["top"]
            .as_array()
            .cloned()
            .expect("rows");
        assert!(!rows.is_empty());

        fake.set_graphql_inflation(Some(200_000));
        let body = json!({ "query": NXDOMAIN_QUERY, "variables": variables }).to_string();
        let reply = post_graphql(&fake, &body);
        assert_eq!(reply.status, 200);
        assert!(reply.body.len() >= 200_000, "{}", reply.body.len());
        let inflated = reply.json();
        let top = inflated["data"]["viewer"]["zones"][0]["top"]
            .as_array()
            .expect("rows");
        assert!(top.len() > 1000);
        assert_eq!(top[..rows.len()], rows[..], "the rows as they were, first");
        assert_eq!(top[rows.len()], rows[0], "then copies");
        // The REST API is not touched.
        let zones = api_get(&fake, "/zones").body;
        assert!(zones.len() < 100_000);

        fake.set_graphql_inflation(None);
        assert_eq!(gql(&fake, NXDOMAIN_QUERY, variables), normal);
    }

    #[test]
    fn schema_accepts_dns_queries_and_the_verify_probes() {
        let mut filter = last_day();
        filter["responseCode"] = json!("NXDOMAIN");
        let variables = json!({ "zoneTag": ZONE_ID, "filter": filter, "limit": 10 });
        assert_eq!(validate_graphql(NXDOMAIN_QUERY, &variables), Ok(()));

        let account = "query($accountTag: string!) { viewer { accounts(filter: {accountTag: $accountTag}) {
            dnsAnalyticsAdaptiveGroups(limit: 5, filter: {date_geq: \"2026-11-20\", zoneTag_in: [\"a\"]}) { count dimensions { zoneTag } }
            settings { dnsAnalyticsAdaptiveGroups { maxDuration } }
        } } }";
        assert_eq!(
            validate_graphql(account, &json!({ "accountTag": ACCOUNT_ID })),
            Ok(())
        );
        // The plugin's verify probes (plugin/src/cloudflare/verify.rs).
        let zone_probe = "query ZoneAnalyticsPermissionProbe($zoneTag: string!, $since: Date!) { viewer { zones(filter: {zoneTag: $zoneTag}) { httpRequests1dGroups(limit: 1, filter: {date_geq: $since}) { sum { requests } } } } }";
        let account_probe = "query AccountAnalyticsPermissionProbe($accountTag: string!, $since: Date!) { viewer { accounts(filter: {accountTag: $accountTag}) { httpRequests1dGroups(limit: 1, filter: {date_geq: $since}) { sum { requests } } } } }";
        let since = json!("2026-11-25");
        assert_eq!(
            validate_graphql(zone_probe, &json!({ "zoneTag": ZONE_ID, "since": since })),
            Ok(())
        );
        assert_eq!(
            validate_graphql(
                account_probe,
                &json!({ "accountTag": ACCOUNT_ID, "since": since })
            ),
            Ok(())
        );
    }

    #[test]
    fn schema_rejects_unknown_fields_and_filter_keys() {
        let unknown_field = "{ viewer { zones(filter: {zoneTag: \"x\"}) { dnsAnalyticsAdaptiveGroups(limit: 1, filter: {}) { count bogus } } } }";
        let error = validate_graphql(unknown_field, &Value::Null).expect_err("unknown field");
        assert!(error.contains("bogus"), "{error}");

        let mut filter = last_day();
        filter["responseKode"] = json!("NXDOMAIN");
        let error = validate_graphql(
            NXDOMAIN_QUERY,
            &json!({ "zoneTag": ZONE_ID, "filter": filter, "limit": 10 }),
        )
        .expect_err("unknown filter key");
        assert!(error.contains("responseKode"), "{error}");

        let error = validate_graphql(NXDOMAIN_QUERY, &json!({ "zoneTag": ZONE_ID }))
            .expect_err("missing required variables");
        assert!(error.contains("filter"), "{error}");

        // Over HTTP: 200, data null, code bad_request.
        let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
        let answer = gql(&fake, unknown_field, Value::Null);
        let error = only_error(&answer);
        assert_eq!(error["extensions"]["code"], json!("bad_request"));
        assert!(
            error["message"]
                .as_str()
                .is_some_and(|m| m.contains("bogus"))
        );
    }

    #[test]
    fn zone_groups_by_query_name_over_the_last_day() {
        let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
        let mut filter = last_day();
        filter["responseCode"] = json!("NXDOMAIN");
        let answer = gql(
            &fake,
            NXDOMAIN_QUERY,
            json!({ "zoneTag": ZONE_ID, "filter": filter, "limit": 10 }),
        );
        assert_eq!(answer["errors"], Value::Null, "{answer}");
        assert_eq!(
            answer["data"]["viewer"]["zones"][0]["top"],
            json!([
                {
                    "count": 48,
                    "avg": { "processingTimeUs": 2000.0 },
                    "quantiles": { "processingTimeUsP50": 2000.0, "processingTimeUsP90": 2000.0 },
                    "dimensions": { "queryName": "missing.github.com" }
                },
                {
                    "count": 24,
                    "avg": { "processingTimeUs": 2500.0 },
                    "quantiles": { "processingTimeUsP50": 2500.0, "processingTimeUsP90": 2500.0 },
                    "dimensions": { "queryName": "old.github.com" }
                }
            ])
        );

        // Whole zone, one group; then hourly buckets, oldest first, limited.
        let query = "query($zoneTag: string!, $filter: ZoneDnsAnalyticsAdaptiveGroupsFilter_InputObject!) {
            viewer { zones(filter: {zoneTag: $zoneTag}) {
                all: dnsAnalyticsAdaptiveGroups(filter: $filter, limit: 1) { count avg { processingTimeUs sampleInterval } quantiles { processingTimeUsP50 processingTimeUsP90 processingTimeUsP99 } }
                hours: dnsAnalyticsAdaptiveGroups(filter: $filter, limit: 3, orderBy: [datetimeHour_ASC]) { count dimensions { datetimeHour date ipVersion } }
                nothing: dnsAnalyticsAdaptiveGroups(filter: {AND: [$filter, {queryName_like: \"%.example\"}]}, limit: 3) { count }
                __typename
            } }
        }";
        let answer = gql(
            &fake,
            query,
            json!({ "zoneTag": ZONE_ID, "filter": last_day() }),
        );
        let zone = &answer["data"]["viewer"]["zones"][0];
        assert_eq!(zone["__typename"], json!("zone"));
        assert_eq!(
            zone["all"],
            json!([{
                "count": 480,
                "avg": { "processingTimeUs": 1190.0, "sampleInterval": 1.0 },
                "quantiles": { "processingTimeUsP50": 800.0, "processingTimeUsP90": 2000.0, "processingTimeUsP99": 2500.0 }
            }])
        );
        let hours = zone["hours"].as_array().expect("hour rows");
        assert_eq!(hours.len(), 3);
        let first_hour = (unix_now() - DAY).div_euclid(3600) * 3600;
        for row in hours {
            assert_eq!(
                row["dimensions"]["ipVersion"].as_u64().map(|_| ()),
                Some(())
            );
        }
        // Two rows per hour (IPv4 and IPv6), so the first two rows share an hour.
        let hour0 = hours[0]["dimensions"]["datetimeHour"]
            .as_str()
            .and_then(parse_rfc3339)
            .expect("an hour");
        assert!(
            hour0 == first_hour || hour0 == first_hour + 3600,
            "{hours:?}"
        );
        assert_eq!(
            hours[0]["dimensions"]["datetimeHour"],
            hours[1]["dimensions"]["datetimeHour"]
        );
        assert_eq!(hours[0]["count"], json!(15));
        assert_eq!(hours[1]["count"], json!(5));
        assert_eq!(zone["nothing"], json!([]));

        // The empty zone answers no rows.
        let answer = gql(
            &fake,
            NXDOMAIN_QUERY,
            json!({ "zoneTag": EMPTY_ZONE_ID, "filter": last_day(), "limit": 10 }),
        );
        assert_eq!(answer["data"]["viewer"]["zones"][0]["top"], json!([]));
    }

    #[test]
    fn account_scope_totals_and_zone_filters() {
        let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
        let query = "query($accountTag: string!, $filter: AccountDnsAnalyticsAdaptiveGroupsFilter_InputObject!, $rawFilter: AccountDnsAnalyticsAdaptiveFilter_InputObject!) {
            viewer { accounts(filter: {accountTag: $accountTag}) {
                total: dnsAnalyticsAdaptiveGroups(filter: $filter, limit: 1) { count }
                byZone: dnsAnalyticsAdaptiveGroups(filter: $filter, limit: 10, orderBy: [count_DESC]) { count dimensions { zoneTag } }
                idn: dnsAnalyticsAdaptiveGroups(filter: {AND: [$filter], zoneTag_in: [\"5d1f0c9e8b7a46f3a2e1d0c9b8a7f6e5\"]}, limit: 10) { count dimensions { queryName } }
                raw: dnsAnalyticsAdaptive(filter: $rawFilter, limit: 2, orderBy: [datetime_DESC]) { zoneTag queryName datetime }
            } }
        }";
        let answer = gql(
            &fake,
            query,
            json!({ "accountTag": ACCOUNT_ID, "filter": last_day(), "rawFilter": last_day() }),
        );
        assert_eq!(answer["errors"], Value::Null, "{answer}");
        let account = &answer["data"]["viewer"]["accounts"][0];
        assert_eq!(account["total"], json!([{ "count": 792 }]));
        assert_eq!(
            account["byZone"],
            json!([
                { "count": 480, "dimensions": { "zoneTag": ZONE_ID } },
                { "count": 192, "dimensions": { "zoneTag": ENTERPRISE_ZONE_ID } },
                { "count": 120, "dimensions": { "zoneTag": IDN_ZONE_ID } }
            ])
        );
        assert_eq!(
            account["idn"],
            json!([{ "count": 120, "dimensions": { "queryName": "www.xn--bcher-kva.example" } }])
        );
        let raw = account["raw"].as_array().expect("raw rows");
        assert_eq!(raw.len(), 2);
        assert_eq!(raw[0]["zoneTag"], json!(ZONE_ID));
        assert_eq!(
            raw[0]["datetime"].as_str().map(|t| &t[14..]),
            Some("30:00Z")
        );

        assert_eq!(hourly_query_count(ZONE_ID), 20);
        assert_eq!(hourly_query_count(EMPTY_ZONE_ID), 0);
        let now = unix_now();
        let times = dns_event_times(now);
        // 241 hours, minus the current one before minute 30.
        let expected = if now.rem_euclid(3600) >= 1800 {
            241
        } else {
            240
        };
        assert_eq!(times.len(), expected);
        assert!(
            times
                .iter()
                .all(|t| t.rem_euclid(3600) == 1800 && *t <= now)
        );
        for start in [now - DAY, now - DAY - 1799, now - 3 * DAY] {
            let inside = times.iter().filter(|t| (start..start + DAY).contains(*t));
            assert_eq!(inside.count(), 24);
        }
    }

    #[test]
    fn settings_per_plan() {
        let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
        let zone_query = "query($zoneTag: string!) { viewer { zones(filter: {zoneTag: $zoneTag}) { settings {
            dnsAnalyticsAdaptiveGroups { enabled maxDuration notOlderThan maxPageSize maxNumberOfFields availableFields }
            raw: dnsAnalyticsAdaptive { maxDuration }
        } } } }";
        let settings = |zone: &str| {
            let answer = gql(&fake, zone_query, json!({ "zoneTag": zone }));
            answer["data"]["viewer"]["zones"][0]["settings"].clone()
        };
        let free = settings(ZONE_ID);
        let groups = &free["dnsAnalyticsAdaptiveGroups"];
        assert_eq!(groups["enabled"], json!(true));
        assert_eq!(groups["maxDuration"], json!(604_800));
        assert_eq!(groups["notOlderThan"], json!(691_200));
        assert_eq!(groups["maxPageSize"], json!(10_000));
        assert_eq!(groups["maxNumberOfFields"], json!(30));
        let fields = groups["availableFields"].as_array().expect("fields");
        assert!(fields.contains(&json!("dimensions_queryName")));
        assert!(fields.contains(&json!("count")));
        assert!(!fields.contains(&json!("dimensions_responseCached")));
        assert_eq!(free["raw"], json!({ "maxDuration": 604_800 }));

        for (zone, seconds) in [
            (IDN_ZONE_ID, 2_678_400),
            (ENTERPRISE_ZONE_ID, 5_356_800),
            (BUSINESS_ZONE_ID, 2_678_400),
            (EMPTY_ZONE_ID, 604_800),
        ] {
            let groups = &settings(zone)["dnsAnalyticsAdaptiveGroups"];
            assert_eq!(groups["maxDuration"], json!(seconds), "{zone}");
        }
        let enterprise = settings(ENTERPRISE_ZONE_ID);
        assert!(
            enterprise["dnsAnalyticsAdaptiveGroups"]["availableFields"]
                .as_array()
                .is_some_and(|f| f.contains(&json!("dimensions_responseCached")))
        );

        let account_query = "query($accountTag: string!) { viewer { accounts(filter: {accountTag: $accountTag}) { settings {
            dnsAnalyticsAdaptiveGroups { maxDuration notOlderThan }
        } } } }";
        let answer = gql(&fake, account_query, json!({ "accountTag": ACCOUNT_ID }));
        assert_eq!(
            answer["data"]["viewer"]["accounts"][0]["settings"],
            json!({ "dnsAnalyticsAdaptiveGroups": { "maxDuration": 604_800, "notOlderThan": 2_678_400 } })
        );
    }

    #[test]
    fn response_cached_needs_business_or_higher() {
        let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
        let query = "query($zoneTag: string!, $filter: ZoneDnsAnalyticsAdaptiveGroupsFilter_InputObject!) {
            viewer { zones(filter: {zoneTag: $zoneTag}) {
                cache: dnsAnalyticsAdaptiveGroups(filter: $filter, limit: 5, orderBy: [responseCached_ASC]) { count dimensions { responseCached } }
            } }
        }";
        for zone in [ZONE_ID, IDN_ZONE_ID] {
            let answer = gql(
                &fake,
                query,
                json!({ "zoneTag": zone, "filter": last_day() }),
            );
            let error = only_error(&answer);
            assert_eq!(error["extensions"]["code"], json!("authz"));
            assert_eq!(error["path"], json!(["viewer", "zones", 0, "cache"]));
            let message = error["message"].as_str().expect("a message");
            assert!(
                message.contains("plan") && message.contains("responseCached"),
                "{message}"
            );
            assert!(error["extensions"]["timestamp"].is_string());
        }
        // Filtering on it is refused too.
        let mut filter = last_day();
        filter["responseCached"] = json!(1);
        let answer = gql(
            &fake,
            NXDOMAIN_QUERY,
            json!({ "zoneTag": ZONE_ID, "filter": filter, "limit": 5 }),
        );
        assert_eq!(only_error(&answer)["extensions"]["code"], json!("authz"));

        let business = gql(
            &fake,
            query,
            json!({ "zoneTag": BUSINESS_ZONE_ID, "filter": last_day() }),
        );
        assert_eq!(business["errors"], Value::Null, "{business}");
        assert_eq!(business["data"]["viewer"]["zones"][0]["cache"], json!([]));
        let answer = gql(
            &fake,
            query,
            json!({ "zoneTag": ENTERPRISE_ZONE_ID, "filter": last_day() }),
        );
        assert_eq!(
            answer["data"]["viewer"]["zones"][0]["cache"],
            json!([
                { "count": 48, "dimensions": { "responseCached": 0 } },
                { "count": 144, "dimensions": { "responseCached": 1 } }
            ])
        );
    }

    #[test]
    fn limit_and_time_range_refusals() {
        let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
        let refusal = |zone: &str, filter: Value, limit: u64| {
            let answer = gql(
                &fake,
                NXDOMAIN_QUERY,
                json!({ "zoneTag": zone, "filter": filter, "limit": limit }),
            );
            let error = only_error(&answer).clone();
            assert_eq!(error["extensions"]["code"], json!("bad_request"), "{error}");
            assert_eq!(error["path"], json!(["viewer", "zones", 0, "top"]));
            error["message"].as_str().expect("a message").to_owned()
        };
        assert_eq!(
            refusal(ZONE_ID, last_day(), 10_001),
            "limit must be less than or equal to 10000"
        );
        let now = unix_now();
        let message = refusal(ZONE_ID, json!({ "responseCode": "NXDOMAIN" }), 10);
        assert!(
            message.starts_with("the time range is too wide"),
            "{message}"
        );
        let wide =
            json!({ "datetime_geq": rfc3339(now - 7 * DAY - 3600), "datetime_lt": rfc3339(now) });
        assert_eq!(
            refusal(ZONE_ID, wide.clone(), 10),
            "the time range is too wide: it must be at most 604800s (7d)"
        );
        let old = json!({ "datetime_geq": rfc3339(now - 9 * DAY), "datetime_lt": rfc3339(now - 8 * DAY) });
        assert_eq!(
            refusal(ZONE_ID, old.clone(), 10),
            "cannot request data older than 691200s (8d)"
        );
        // A Pro zone may go back 31 days, with a 31-day range.
        let answer = gql(
            &fake,
            NXDOMAIN_QUERY,
            json!({ "zoneTag": IDN_ZONE_ID, "filter": wide, "limit": 10 }),
        );
        assert_eq!(answer["errors"], Value::Null, "{answer}");
        let answer = gql(
            &fake,
            NXDOMAIN_QUERY,
            json!({ "zoneTag": IDN_ZONE_ID, "filter": old, "limit": 10 }),
        );
        assert_eq!(answer["errors"], Value::Null, "{answer}");
        // A date range of 7 days is fine on Free; 8 is too wide.
        let today = days_from_unix(now);
        let dates = |from: i64| json!({ "date_geq": date_string(today - from), "date_leq": date_string(today) });
        let answer = gql(
            &fake,
            NXDOMAIN_QUERY,
            json!({ "zoneTag": ZONE_ID, "filter": dates(6), "limit": 10 }),
        );
        assert_eq!(answer["errors"], Value::Null, "{answer}");
        assert!(refusal(ZONE_ID, dates(7), 10).starts_with("the time range is too wide"));
    }

    #[test]
    fn graphql_zone_permission_and_unknown_zone() {
        let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
        let answer = gql(
            &fake,
            NXDOMAIN_QUERY,
            json!({ "zoneTag": "00000000000000000000000000000000", "filter": last_day(), "limit": 1 }),
        );
        let error = only_error(&answer);
        assert_eq!(error["extensions"]["code"], json!("authz"));
        assert_eq!(error["path"], json!(["viewer", "zones", 0]));

        fake.set_scenario(Scenario::Missing(Permission::ZoneAnalyticsRead));
        let answer = gql(
            &fake,
            NXDOMAIN_QUERY,
            json!({ "zoneTag": ZONE_ID, "filter": last_day(), "limit": 1 }),
        );
        assert_eq!(only_error(&answer)["extensions"]["code"], json!("authz"));
    }

    // ---- REST -------------------------------------------------------------------------------

    #[test]
    fn zones_name_operators_and_idn() {
        let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
        let names = |query: &str| -> Vec<String> {
            let body = api_get(&fake, &format!("/zones?per_page=50&{query}")).json();
            body["result"]
                .as_array()
                .expect("a result array")
                .iter()
                .filter_map(|z| z["name"].as_str().map(str::to_owned))
                .collect()
        };
        assert_eq!(
            names(""),
            [
                ZONE_NAME,
                ENTERPRISE_ZONE_NAME,
                PENDING_ZONE_NAME,
                EMPTY_ZONE_NAME,
                IDN_ZONE_NAME,
                BUSINESS_ZONE_NAME
            ]
        );
        assert_eq!(
            names("name=contains:GIT"),
            [ZONE_NAME, ENTERPRISE_ZONE_NAME, PENDING_ZONE_NAME]
        );
        assert!(names("name=contains_case_sensitive:GIT").is_empty());
        assert_eq!(
            names("name=starts_with:github."),
            [ZONE_NAME, ENTERPRISE_ZONE_NAME]
        );
        assert_eq!(names("name=ends_with:.tests"), [EMPTY_ZONE_NAME]);
        assert_eq!(names("name=github.com"), [ZONE_NAME]);
        assert_eq!(names("name=equal:GitHub.com"), [ZONE_NAME]);
        assert_eq!(names("name=not_equal:github.com").len(), 5);
        assert_eq!(names("name=b%C3%BCcher.example"), [IDN_ZONE_NAME]);
        assert_eq!(names("name=xn--bcher-kva.example"), [IDN_ZONE_NAME]);
        assert_eq!(names("name=contains:%C3%BC"), [IDN_ZONE_NAME]);
        assert_eq!(names("status=pending"), [PENDING_ZONE_NAME]);
        assert_eq!(names("status=active&name=contains:git").len(), 2);
        assert_eq!(names("name=ends_with:.org"), [BUSINESS_ZONE_NAME]);
        assert_eq!(names("match=any&status=pending&name=unit.tests").len(), 2);
        assert_eq!(
            names("order=name&direction=desc"),
            [
                EMPTY_ZONE_NAME,
                PENDING_ZONE_NAME,
                ENTERPRISE_ZONE_NAME,
                ZONE_NAME,
                BUSINESS_ZONE_NAME,
                IDN_ZONE_NAME
            ]
        );

        let page = api_get(&fake, "/zones?per_page=5&page=2").json();
        assert_eq!(page["result"][0]["id"], json!(BUSINESS_ZONE_ID));
        assert_eq!(
            page["result_info"],
            json!({ "page": 2, "per_page": 5, "count": 1, "total_count": 6, "total_pages": 2 })
        );
        let page = api_get(&fake, "/zones?per_page=5&page=3").json();
        assert_eq!(page["result"], json!([]));
        let business = api_get(&fake, &format!("/zones/{BUSINESS_ZONE_ID}")).json();
        assert_eq!(
            business["result"]["plan"]["name"],
            json!("Business Website")
        );
        let idn = api_get(&fake, &format!("/zones/{IDN_ZONE_ID}")).json();
        assert_eq!(idn["result"]["plan"]["name"], json!("Pro Website"));
        assert_eq!(idn["result"]["status"], json!("active"));
        let enterprise = api_get(&fake, &format!("/zones/{ENTERPRISE_ZONE_ID}")).json();
        assert_eq!(
            enterprise["result"]["plan"]["legacy_id"],
            json!("enterprise")
        );
        assert_eq!(api_get(&fake, "/zones?per_page=4").status, 400);
    }

    #[test]
    fn dns_records_paginate_and_filter() {
        let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
        let list =
            |query: &str| api_get(&fake, &format!("/zones/{ZONE_ID}/dns_records?{query}")).json();
        let mut ids = Vec::new();
        for page in 1..=3 {
            let body = list(&format!("per_page=5&page={page}"));
            assert_eq!(body["result_info"]["total_pages"], json!(3));
            assert_eq!(body["result_info"]["total_count"], json!(13));
            let expected = if page < 3 { 5 } else { 3 };
            assert_eq!(body["result_info"]["count"], json!(expected));
            for record in body["result"].as_array().expect("records") {
                assert_eq!(record["zone_id"], json!(ZONE_ID));
                assert!(
                    record["name"]
                        .as_str()
                        .is_some_and(|n| n.ends_with("github.com"))
                );
                for key in ["id", "type", "content", "ttl", "proxied"] {
                    assert!(!record[key].is_null(), "{key}: {record}");
                }
                ids.push(record["id"].clone());
            }
        }
        assert_eq!(ids.len(), 13);

        let mx = list("type=mx");
        assert_eq!(mx["result_info"]["total_count"], json!(4));
        assert_eq!(mx["result"][0]["content"], json!("smtp-1.github.com"));
        let www = list("name=WWW.github.com");
        assert_eq!(www["result_info"]["total_count"], json!(1));
        assert_eq!(www["result"][0]["content"], json!("2.2.3.6"));
        assert_eq!(
            list("type=A&name=github.com")["result_info"]["total_count"],
            json!(3)
        );
        assert_eq!(list("proxied=true")["result_info"]["total_count"], json!(2));

        let idn = api_get(
            &fake,
            &format!("/zones/{IDN_ZONE_ID}/dns_records?name=www.b%C3%BCcher.example"),
        )
        .json();
        assert_eq!(idn["result"][0]["name"], json!("www.xn--bcher-kva.example"));
        assert_eq!(idn["result"][0]["zone_name"], json!(IDN_ZONE_NAME));
    }

    fn report_path(zone: &str, by_time: bool, query: &str) -> String {
        let now = unix_now();
        let suffix = if by_time { "/bytime" } else { "" };
        format!(
            "/zones/{zone}/dns_analytics/report{suffix}?since={}&until={}&{query}",
            rfc3339(now - DAY),
            rfc3339(now - 1)
        )
    }

    #[test]
    fn legacy_report_shape() {
        let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
        let reply = api_get(
            &fake,
            &report_path(
                ZONE_ID,
                false,
                "metrics=queryCount,responseTimeAvg&dimensions=queryName,responseCode&filters=responseCode==NXDOMAIN&sort=-queryCount&limit=100",
            ),
        );
        assert_eq!(reply.status, 200, "{}", reply.body);
        let body = reply.json();
        assert_eq!(body["success"], json!(true));
        let result = &body["result"];
        assert_eq!(result["rows"], json!(2));
        assert_eq!(
            result["data"],
            json!([
                { "dimensions": ["missing.github.com", "NXDOMAIN"], "metrics": [48, 2.0] },
                { "dimensions": ["old.github.com", "NXDOMAIN"], "metrics": [24, 2.5] }
            ])
        );
        assert_eq!(
            result["totals"],
            json!({ "queryCount": 72, "responseTimeAvg": 2.1666666666666665 })
        );
        assert_eq!(result["data_lag"], json!(0));
        assert_eq!(result["min"], json!({}));
        assert_eq!(result["max"], json!({}));
        let query = &result["query"];
        assert_eq!(query["sort"], json!([{ "Id": "queryCount", "Desc": true }]));
        assert_eq!(query["dimensions"], json!(["queryName", "responseCode"]));
        assert_eq!(query["metrics"], json!(["queryCount", "responseTimeAvg"]));
        assert_eq!(query["filters"], json!("responseCode==NXDOMAIN"));
        assert_eq!(query["limit"], json!(100));
        assert!(query["since"].is_string() && query["until"].is_string());
        assert!(result.get("time_intervals").is_none());

        // Same keys as the recorded body.
        let recorded = parse_fixture(include_str!(
            "../fixtures/dns_analytics_report.cloudflare-php.json"
        ));
        let keys = |v: &Value| {
            v.as_object().map(|o| {
                let mut k: Vec<String> = o.keys().cloned().collect();
                k.sort();
                k
            })
        };
        assert_eq!(keys(result), keys(&recorded["result"]));
        assert_eq!(keys(query), keys(&recorded["result"]["query"]));
        assert_eq!(
            keys(&result["data"][0]),
            keys(&recorded["result"]["data"][0])
        );

        let types = api_get(
            &fake,
            &report_path(ZONE_ID, false, "dimensions=queryType,tcp,ipVersion&sort=+queryType,-queryCount&filters=queryType!=TXT%3BcoloName==AMS,coloName==FRA"),
        )
        .json();
        assert_eq!(
            types["result"]["data"],
            json!([
                { "dimensions": ["A", "0", "4"], "metrics": [288] },
                { "dimensions": ["A", "1", "4"], "metrics": [72] },
                { "dimensions": ["AAAA", "0", "6"], "metrics": [96] },
                { "dimensions": ["TXT", "0", "6"], "metrics": [24] }
            ])
        );
    }

    #[test]
    fn legacy_report_bytime_shape() {
        let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
        let body = api_get(
            &fake,
            &report_path(
                ZONE_ID,
                true,
                "metrics=queryCount,uncachedCount&time_delta=hour",
            ),
        )
        .json();
        let result = &body["result"];
        let intervals = result["time_intervals"].as_array().expect("intervals");
        assert!(
            intervals.len() == 24 || intervals.len() == 25,
            "{intervals:?}"
        );
        let first_end = intervals[0][1].as_str().expect("an end");
        assert!(first_end.ends_with(":59:59Z"), "{first_end}");
        assert_eq!(result["rows"], json!(1));
        let item = &result["data"][0];
        assert!(item.get("dimensions").is_none(), "{item}");
        let counts = item["metrics"][0].as_array().expect("per-interval counts");
        assert_eq!(counts.len(), intervals.len());
        assert_eq!(counts.iter().filter_map(Value::as_u64).sum::<u64>(), 480);
        assert!(counts.iter().all(|c| *c == json!(20) || *c == json!(0)));
        assert_eq!(
            item["metrics"][1]
                .as_array()
                .map(|v| v.iter().filter_map(Value::as_u64).sum::<u64>()),
            Some(240)
        );
        assert_eq!(
            result["totals"],
            json!({ "queryCount": 480, "uncachedCount": 240 })
        );
        assert_eq!(result["query"]["time_delta"], json!("hour"));
        assert!(result["query"].get("sort").is_none());

        let recorded = parse_fixture(include_str!(
            "../fixtures/dns_analytics_report_bytime.cloudflare-php.json"
        ));
        let keys = |v: &Value| {
            v.as_object().map(|o| {
                let mut k: Vec<String> = o.keys().cloned().collect();
                k.sort();
                k
            })
        };
        assert_eq!(keys(result), keys(&recorded["result"]));
        assert_eq!(keys(&result["query"]), keys(&recorded["result"]["query"]));
        assert_eq!(keys(item), keys(&recorded["result"]["data"][0]));

        let days = api_get(
            &fake,
            &report_path(
                ZONE_ID,
                true,
                "dimensions=queryName&time_delta=all&sort=%2BqueryName",
            ),
        )
        .json();
        assert_eq!(
            days["result"]["time_intervals"].as_array().map(Vec::len),
            Some(1)
        );
        assert_eq!(
            days["result"]["data"][0]["dimensions"],
            json!(["api.github.com"])
        );
        assert_eq!(days["result"]["data"][0]["metrics"], json!([[72]]));
    }

    #[test]
    fn legacy_report_refusals() {
        let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
        for zone in [ZONE_ID, IDN_ZONE_ID] {
            let reply = api_get(
                &fake,
                &report_path(zone, false, "dimensions=responseCached"),
            );
            assert_eq!(reply.status, 403);
            let body = reply.json();
            assert_eq!(body["success"], json!(false));
            assert_eq!(body["result"], Value::Null);
            assert_eq!(body["errors"][0]["code"], json!(1034));
            assert_eq!(
                body["errors"][0]["message"],
                json!(RESPONSE_CACHED_PLAN_MESSAGE)
            );
        }
        let reply = api_get(
            &fake,
            &report_path(ZONE_ID, true, "filters=responseCached==Cached"),
        );
        assert_eq!(reply.status, 403);
        let allowed = api_get(
            &fake,
            &report_path(ENTERPRISE_ZONE_ID, false, "dimensions=responseCached"),
        )
        .json();
        assert_eq!(
            allowed["result"]["data"],
            json!([
                { "dimensions": ["Cached"], "metrics": [144] },
                { "dimensions": ["Uncached"], "metrics": [48] }
            ])
        );

        for bad in [
            "metrics=queries",
            "dimensions=country",
            "time_delta=fortnight",
            "filters=bogus==1",
            "sort=-queryName",
        ] {
            let reply = api_get(&fake, &report_path(ZONE_ID, true, bad));
            assert_eq!(reply.status, 400, "{bad}: {}", reply.body);
            assert_eq!(reply.json()["success"], json!(false));
        }
        for bad in [
            "since=yesterday",
            "until=2026-11-26",
            "since=2026-11-26T10:00:00Z&until=2026-11-26T09:00:00Z",
        ] {
            let reply = api_get(
                &fake,
                &format!("/zones/{ZONE_ID}/dns_analytics/report?{bad}"),
            );
            assert_eq!(reply.status, 400, "{bad}: {}", reply.body);
        }
        let missing = api_get(
            &fake,
            "/zones/00000000000000000000000000000000/dns_analytics/report",
        );
        assert_eq!(missing.status, 404);
        assert_eq!(missing.json()["errors"][0]["code"], json!(7003));

        fake.set_scenario(Scenario::Missing(Permission::ZoneAnalyticsRead));
        let denied = api_get(&fake, &report_path(ZONE_ID, false, ""));
        assert_eq!(denied.status, 403);
        assert_eq!(denied.body, AUTH_ERROR_FIXTURE);
    }
}
