//! `cf-harness serve`: the plugin as a remote MCP server over Streamable HTTP, for many tenants.
//! The protocol is rmcp's server transport; what is this product's own is the gate in front of
//! it, which takes each request's Cloudflare credentials from its headers (the way Cloudflare's
//! own remote MCP servers take them), binds a session to the token that opened it, and holds the
//! server's limits.
//!
//! - `Authorization: Bearer <Cloudflare API token>`: the token stays in this process, as for every
//!   command; the host adds it to the session's requests for the Cloudflare API. None or a
//!   malformed one is HTTP 401 with `WWW-Authenticate: Bearer`.
//! - `X-Cloudflare-Account-Id` (32 hexadecimal characters) and `X-Cloudflare-Enabled-Services`
//!   (the connection dialog's names, comma-separated) are the session's connection and its
//!   ceiling: the `connect` tool may narrow it, never widen it. A missing or malformed one is 400
//!   naming the header.
//! - Each session has its own sandbox instance (its own memory, caches and connection pool)
//!   from the one loaded component; a session is bound to a keyed fingerprint of its token, and
//!   a request that presents another token on it is answered 404, as for a session that does not
//!   exist, never served.

use super::mcp::{McpServer, server_info};
use super::metrics::Metrics;
use super::render;
use crate::outbound::budget::TokenBudget;
use crate::{ApiToken, ConnectOptions, Harness, SandboxConfig, Service};
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, GetPromptRequestParams, GetPromptResponse,
    InitializeRequestParams, InitializeResult, ListPromptsResult, ListResourceTemplatesResult,
    ListToolsResult, PaginatedRequestParams, ReadResourceRequestParams, ReadResourceResponse,
    ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, RoleServer, ServerHandler};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

/// The session header of Streamable HTTP.
const SESSION_HEADER: &str = "mcp-session-id";
pub const ACCOUNT_HEADER: &str = "x-cloudflare-account-id";
pub const SERVICES_HEADER: &str = "x-cloudflare-enabled-services";

/// The defaults of `cf-harness serve`'s own flags, defined once (the CLI's defaults and the docs
/// name these).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8787";
pub const DEFAULT_MAX_SESSIONS: usize = 256;
pub const DEFAULT_MAX_SESSIONS_PER_TOKEN: usize = 16;
pub const DEFAULT_MAX_CALLS_PER_SESSION: usize = 4;
pub const DEFAULT_IDLE_SECONDS: u64 = 15 * 60;
pub const DEFAULT_DRAIN_SECONDS: u64 = 30;

/// How `serve` runs, besides what every command shares (`SandboxConfig`).
#[derive(Clone)]
pub struct ServeOptions {
    pub listen: SocketAddr,
    /// Sessions open at once, across tenants, and per token.
    pub max_sessions: usize,
    pub max_sessions_per_token: usize,
    /// Calls one session may have running or waiting at once.
    pub max_calls_per_session: usize,
    /// A session with no request for this long is closed, and its instance dropped.
    pub idle_timeout: Duration,
    /// The largest MCP request body taken.
    pub max_request_bytes: usize,
    /// `Host` values accepted (DNS rebinding): the loopback names, plus these.
    pub allowed_hosts: Vec<String>,
    /// Browser `Origin`s accepted; a request with any other Origin is refused.
    pub allowed_origins: Vec<String>,
    /// How long in-flight calls may finish after SIGTERM or SIGINT.
    pub drain: Duration,
    /// Whose credentials each request uses.
    pub tenancy: Tenancy,
    /// The PEM certificate chain and private key to serve HTTPS with.
    pub tls: Option<(std::path::PathBuf, std::path::PathBuf)>,
    /// Each token's budget per 5 minutes: API requests (GraphQL included) and GraphQL queries.
    pub budget_api_requests: usize,
    pub budget_graphql_queries: usize,
}

/// The budget of each token, shared by its sessions.
struct Budgets {
    api_requests: usize,
    graphql_queries: usize,
    by_token: Mutex<HashMap<Fingerprint, Arc<TokenBudget>>>,
}

impl Budgets {
    fn of(&self, fingerprint: Fingerprint) -> Arc<TokenBudget> {
        let mut by_token = self.by_token.lock().unwrap_or_else(|e| e.into_inner());
        // A budget no session holds and that counts nothing any more is forgotten.
        let now = std::time::Instant::now();
        by_token.retain(|_, budget| Arc::strong_count(budget) > 1 || !budget.is_idle(now));
        by_token
            .entry(fingerprint)
            .or_insert_with(|| {
                Arc::new(TokenBudget::with_limits(
                    self.api_requests,
                    self.graphql_queries,
                ))
            })
            .clone()
    }
}

/// What a request says about who it is for, from its headers.
#[derive(Clone)]
pub struct Tenant {
    token: ApiToken,
    fingerprint: Fingerprint,
    connect: ConnectOptions,
}

/// A keyed hash of a token (the key is this process's own, random): what sessions are bound to
/// and logs name, never the token. Compared in constant time (`blake3::Hash`'s `Eq`).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Fingerprint(blake3::Hash);

impl Fingerprint {
    /// A short form for logs.
    fn short(&self) -> String {
        self.0.to_hex()[..12].to_string()
    }
}

/// Why the gate refused a request: its status, and the error body a client (or its user) reads.
#[derive(Debug)]
struct Refusal {
    status: StatusCode,
    kind: &'static str,
    message: String,
    hint: String,
}

fn refusal(status: StatusCode, kind: &'static str, message: &str, hint: &str) -> Refusal {
    Refusal {
        status,
        kind,
        message: message.to_string(),
        hint: hint.to_string(),
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let body = render::host_error_json(self.kind, &self.message, Some(&self.hint)).to_string();
        let mut response = (self.status, body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"cf-harness\""),
            );
        }
        response
    }
}

fn unauthorized(message: &str) -> Refusal {
    refusal(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        message,
        "Send your Cloudflare API token as `Authorization: Bearer <token>` on every request \
         (create one at https://dash.cloudflare.com/profile/api-tokens).",
    )
}

fn bad_header(name: &str, message: &str) -> Refusal {
    refusal(
        StatusCode::BAD_REQUEST,
        "invalid-input",
        &format!("{name}: {message}"),
        &format!(
            "Send {ACCOUNT_HEADER}: <the account ID, 32 hexadecimal characters, from the \
             dashboard's sidebar> and {SERVICES_HEADER}: <Documentation, DNS Analytics, GraphQL \
             Analytics, comma-separated> on every request."
        ),
    )
}

/// The one header of that name, as text.
fn single<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, String> {
    let mut values = headers.get_all(name).iter();
    match (values.next(), values.next()) {
        (None, _) => Ok(None),
        (Some(value), None) => value
            .to_str()
            .map(|v| Some(v.trim()))
            .map_err(|_| "must be plain text".to_string()),
        (Some(_), Some(_)) => Err("must be sent once".to_string()),
    }
}

fn is_account_id(text: &str) -> bool {
    text.len() == 32 && text.chars().all(|c| c.is_ascii_hexdigit())
}

/// Who the server serves: each request's own tenant, or the one tenant the host was given.
#[derive(Clone)]
pub enum Tenancy {
    /// Every request carries its tenant's token, account and services.
    PerRequest,
    /// The host holds one tenant's token, account and services; clients authenticate with a
    /// separate key (`--client-key-file`), and a Cloudflare token sent by a client is refused.
    ClientKey {
        client_key: ApiToken,
        token: ApiToken,
        connect: ConnectOptions,
    },
}

/// The bearer value of the Authorization header, or the refusal saying what to send.
fn bearer(headers: &HeaderMap, what: &str) -> Result<ApiToken, Refusal> {
    let authorization = single(headers, header::AUTHORIZATION.as_str())
        .map_err(|why| unauthorized(&format!("the Authorization header {why}")))?
        .ok_or_else(|| unauthorized(&format!("no Authorization header: {what} is needed")))?;
    let value = match authorization.split_once(' ') {
        Some((scheme, value)) if scheme.eq_ignore_ascii_case("bearer") => value,
        _ => {
            return Err(unauthorized(
                "the Authorization header must be `Bearer <token>`",
            ));
        }
    };
    ApiToken::new(value, "the Authorization header").map_err(|e| unauthorized(&e.to_string()))
}

/// The tenant a request is for, or the refusal that says which header to fix.
fn tenant_of(headers: &HeaderMap, key: &[u8; 32], tenancy: &Tenancy) -> Result<Tenant, Refusal> {
    if let Tenancy::ClientKey {
        client_key,
        token,
        connect,
    } = tenancy
    {
        let sent = bearer(headers, "the client key")?.fingerprint(key);
        if sent == token.fingerprint(key) {
            return Err(unauthorized(
                "this server holds the Cloudflare token itself: send the client key, never the \
                 Cloudflare token",
            ));
        }
        if sent != client_key.fingerprint(key) {
            return Err(unauthorized("the client key is not this server's"));
        }
        return Ok(Tenant {
            token: token.clone(),
            fingerprint: Fingerprint(sent),
            connect: connect.clone(),
        });
    }
    let token = bearer(headers, "the Cloudflare API token")?;
    let account_id = single(headers, ACCOUNT_HEADER)
        .map_err(|why| bad_header(ACCOUNT_HEADER, &why))?
        .ok_or_else(|| bad_header(ACCOUNT_HEADER, "missing"))?;
    if !is_account_id(account_id) {
        return Err(bad_header(
            ACCOUNT_HEADER,
            "must be 32 hexadecimal characters",
        ));
    }
    let services = single(headers, SERVICES_HEADER)
        .map_err(|why| bad_header(SERVICES_HEADER, &why))?
        .ok_or_else(|| bad_header(SERVICES_HEADER, "missing"))?;
    let enabled_services: Vec<Service> = render::parse_services(services)
        .map_err(|e| bad_header(SERVICES_HEADER, &render::error_text(&e)))?;
    if enabled_services.is_empty() {
        return Err(bad_header(SERVICES_HEADER, "names no service"));
    }
    let fingerprint = Fingerprint(token.fingerprint(key));
    Ok(Tenant {
        token,
        fingerprint,
        connect: ConnectOptions {
            account_id: account_id.to_ascii_lowercase(),
            enabled_services,
        },
    })
}

/// What the gate shares across requests.
struct Gate {
    /// The fingerprint key, random for this process.
    key: [u8; 32],
    /// The token each open session was opened with.
    sessions: Mutex<HashMap<String, Fingerprint>>,
    manager: Arc<LocalSessionManager>,
    options: ServeOptions,
    /// Set once the component is loaded and compiled.
    harness: Arc<OnceLock<Harness>>,
    requests: AtomicU64,
    metrics: Arc<Metrics>,
}

impl Gate {
    /// Forgets the sessions rmcp has closed (idle, deleted, or ended), then counts the open ones:
    /// in all, and those of `fingerprint`.
    async fn open_sessions(&self, fingerprint: Fingerprint) -> (usize, usize) {
        let open: Vec<String> = self
            .manager
            .sessions
            .read()
            .await
            .keys()
            .map(ToString::to_string)
            .collect();
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        sessions.retain(|id, _| open.contains(id));
        let of_token = sessions.values().filter(|f| **f == fingerprint).count();
        (open.len().max(sessions.len()), of_token)
    }
}

async fn gate(State(gate): State<Arc<Gate>>, mut request: Request, next: Next) -> Response {
    let number = gate.requests.fetch_add(1, Ordering::Relaxed) + 1;
    if gate.harness.get().is_none() {
        return refusal(
            StatusCode::SERVICE_UNAVAILABLE,
            "not-ready",
            "the server is still loading the plugin",
            "Retry in a few seconds (GET /readyz says when it is ready).",
        )
        .into_response();
    }
    let tenant = match tenant_of(request.headers(), &gate.key, &gate.options.tenancy) {
        Ok(tenant) => tenant,
        Err(refused) => {
            gate.metrics.gate_refused(refused.kind);
            tracing::info!(request = number, status = %refused.status, kind = refused.kind, "refused at the gate");
            return refused.into_response();
        }
    };
    let session = request
        .headers()
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let span = tracing::info_span!(
        "request",
        request = number,
        session = session.as_deref().unwrap_or("-"),
        tenant = %tenant.fingerprint.short(),
    );
    if let Some(id) = &session {
        let owner = gate
            .sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .copied();
        if owner.is_some_and(|owner| owner != tenant.fingerprint) {
            span.in_scope(|| tracing::warn!("a session presented with another token: refused"));
            gate.metrics.gate_refused("session-not-found");
            return refusal(
                StatusCode::NOT_FOUND,
                "session-not-found",
                "no such session for this token",
                "Start a new session (initialize) with your own token.",
            )
            .into_response();
        }
    } else if request.method() == http::Method::POST {
        // A request without a session may open one: hold the limits first.
        let (open, of_token) = gate.open_sessions(tenant.fingerprint).await;
        let limits = &gate.options;
        if open >= limits.max_sessions {
            gate.metrics.gate_refused("too-many-sessions");
            return refusal(
                StatusCode::SERVICE_UNAVAILABLE,
                "too-many-sessions",
                &format!("the server has {open} sessions open, its limit"),
                "Retry later, or close sessions you no longer use (DELETE /mcp).",
            )
            .into_response();
        }
        if of_token >= limits.max_sessions_per_token {
            gate.metrics.gate_refused("too-many-sessions");
            return refusal(
                StatusCode::TOO_MANY_REQUESTS,
                "too-many-sessions",
                &format!("this token has {of_token} sessions open, the most one token may have"),
                "Close sessions you no longer use (DELETE /mcp), or wait for idle ones to expire.",
            )
            .into_response();
        }
    }
    let fingerprint = tenant.fingerprint;
    let deleting = request.method() == http::Method::DELETE;
    request.extensions_mut().insert(tenant);
    let mut response = next.run(request).instrument(span.clone()).await;
    // rmcp answers a session's DELETE 202; the official Python SDK takes only 200 or 204 as
    // done (and warns otherwise). 204 is what a finished DELETE is (RFC 9110).
    if deleting && response.status() == StatusCode::ACCEPTED {
        *response.status_mut() = StatusCode::NO_CONTENT;
        if let Some(id) = &session {
            gate.sessions
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(id);
        }
    }
    if session.is_none()
        && let Some(opened) = response
            .headers()
            .get(SESSION_HEADER)
            .and_then(|v| v.to_str().ok())
    {
        span.in_scope(|| tracing::info!(opened, "session opened"));
        gate.metrics.session_created();
        gate.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(opened.to_string(), fingerprint);
    }
    response
}

/// One MCP session (or one stateless request): the tenant's own [`McpServer`], made on its
/// first request from the credentials the gate read.
struct TenantSession {
    harness: Arc<OnceLock<Harness>>,
    base: SandboxConfig,
    budgets: Arc<Budgets>,
    metrics: Arc<Metrics>,
    server: OnceLock<McpServer>,
    /// Turns for calls in this session: `--max-calls-per-session` of them.
    calls: Arc<tokio::sync::Semaphore>,
    max_calls: usize,
    in_flight: Arc<InFlight>,
}

/// How many calls are running, across sessions: what a shutdown waits for.
#[derive(Default)]
struct InFlight(std::sync::atomic::AtomicUsize);

/// One running call, counted until it is dropped.
struct Running(Arc<InFlight>);

impl InFlight {
    fn start(self: &Arc<Self>) -> Running {
        self.0.fetch_add(1, Ordering::SeqCst);
        Running(self.clone())
    }

    fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.0.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl TenantSession {
    fn server(&self, context: &RequestContext<RoleServer>) -> Result<&McpServer, ErrorData> {
        if let Some(server) = self.server.get() {
            return Ok(server);
        }
        let tenant = context
            .extensions
            .get::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<Tenant>())
            .ok_or_else(|| ErrorData::internal_error("no tenant on the request", None))?;
        let harness = self
            .harness
            .get()
            .ok_or_else(|| ErrorData::internal_error("the plugin is not loaded yet", None))?;
        let config = SandboxConfig {
            token: Some(tenant.token.clone()),
            budget: Some(self.budgets.of(tenant.fingerprint)),
            ..self.base.clone()
        };
        let span = tracing::info_span!("session", tenant = %tenant.fingerprint.short());
        Ok(self.server.get_or_init(|| {
            McpServer::observed(
                harness.clone(),
                config,
                Some(tenant.connect.clone()),
                span,
                Some(self.metrics.clone()),
            )
        }))
    }
}

impl ServerHandler for TenantSession {
    fn get_info(&self) -> ServerConfig {
        server_info()
    }

    async fn initialize(
        &self,
        request: InitializeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<InitializeResult, ErrorData> {
        self.server(&context)?;
        context.peer.set_peer_info(request.clone());
        self.negotiate_initialize(&request)
    }

    async fn list_resource_templates(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        self.server(&context)?
            .list_resource_templates(request, context)
            .await
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let _running = self.in_flight.start();
        self.server(&context)?.read_resource(request, context).await
    }

    async fn list_prompts(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        self.server(&context)?.list_prompts(request, context).await
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        self.server(&context)?.get_prompt(request, context).await
    }

    async fn list_tools(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let _running = self.in_flight.start();
        let server = self.server(&context)?;
        server.list_tools(request, context).await
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let _running = self.in_flight.start();
        let server = self.server(&context)?;
        // One instance runs one call at a time; a few more may wait their turn, the rest are
        // told to slow down rather than queue without end.
        let Ok(_turn) = self.calls.clone().try_acquire_owned() else {
            self.metrics.limit_hit("calls_per_session");
            let body = render::host_error_json(
                "too-many-calls",
                &format!(
                    "this session already has {} calls running or waiting, its limit",
                    self.max_calls
                ),
                Some("Wait for the session's calls to finish, or open another session."),
            );
            return Ok(rmcp::model::CallToolResult::structured_error(body).into());
        };
        server.call_tool(request, context).await
    }
}

/// The loopback names every server answers to, whatever `--allowed-host` adds.
const LOOPBACK_HOSTS: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// The HTTP application: `/mcp` behind the gate, `/healthz` and `/readyz`.
fn app(
    harness: Arc<OnceLock<Harness>>,
    base: SandboxConfig,
    options: &ServeOptions,
    sessions_end: CancellationToken,
    in_flight: Arc<InFlight>,
) -> Router {
    let mut manager = LocalSessionManager::default();
    manager.session_config.keep_alive = Some(options.idle_timeout);
    let manager = Arc::new(manager);
    let mut hosts: Vec<String> = LOOPBACK_HOSTS.iter().map(|h| h.to_string()).collect();
    hosts.extend(options.allowed_hosts.iter().cloned());
    let config = StreamableHttpServerConfig::default()
        .with_allowed_hosts(hosts)
        .with_allowed_origins(options.allowed_origins.clone())
        .enforce_origin_validation()
        .with_max_request_body_bytes(options.max_request_bytes)
        .with_cancellation_token(sessions_end);
    let metrics = Arc::new(Metrics::default());
    let budgets = Arc::new(Budgets {
        api_requests: options.budget_api_requests,
        graphql_queries: options.budget_graphql_queries,
        by_token: Mutex::new(HashMap::new()),
    });
    let max_calls = options.max_calls_per_session;
    let factory = {
        let harness = harness.clone();
        let metrics = metrics.clone();
        move || {
            Ok(TenantSession {
                harness: harness.clone(),
                base: base.clone(),
                budgets: budgets.clone(),
                metrics: metrics.clone(),
                server: OnceLock::new(),
                calls: Arc::new(tokio::sync::Semaphore::new(max_calls)),
                max_calls,
                in_flight: in_flight.clone(),
            })
        }
    };
    let service = StreamableHttpService::new(factory, manager.clone(), config);
    let gate = Arc::new(Gate {
        key: random_key(),
        sessions: Mutex::new(HashMap::new()),
        manager,
        options: options.clone(),
        harness: harness.clone(),
        requests: AtomicU64::new(0),
        metrics: metrics.clone(),
    });
    let scrape = gate.clone();
    Router::new()
        .route_service("/mcp", service)
        .route_layer(middleware::from_fn_with_state(gate, self::gate))
        .route("/healthz", get(|| async { "ok\n" }))
        .route(
            "/metrics",
            get(move || {
                let gate = scrape.clone();
                async move {
                    let open = gate.manager.sessions.read().await.len();
                    gate.metrics.sessions_open.set(open as i64);
                    (
                        [(
                            header::CONTENT_TYPE,
                            "application/openmetrics-text; version=1.0.0; charset=utf-8",
                        )],
                        gate.metrics.render(),
                    )
                }
            }),
        )
        .route(
            "/readyz",
            get(move || {
                let ready = harness.get().is_some();
                async move {
                    if ready {
                        (StatusCode::OK, "ready\n")
                    } else {
                        (StatusCode::SERVICE_UNAVAILABLE, "loading the plugin\n")
                    }
                }
            }),
        )
}

fn random_key() -> [u8; 32] {
    let mut key = [0u8; 32];
    // Without the system's randomness, a fixed key would let fingerprints be guessed: refuse.
    getrandom::fill(&mut key).expect("the system's random number generator");
    key
}

/// Whether the server may listen there without TLS: only on a loopback address, unless a proxy
/// in front of it terminates TLS (`--behind-proxy`).
pub fn plain_http_allowed(listen: &SocketAddr, behind_proxy: bool) -> bool {
    listen.ip().is_loopback() || behind_proxy
}

/// Binds, loads the plugin (answering `/readyz` 503 until it is compiled), and serves until
/// SIGTERM or SIGINT; then stops taking connections, gives in-flight calls `options.drain` to
/// finish, and ends the sessions.
pub async fn serve(
    load: impl FnOnce() -> anyhow::Result<Harness> + Send + 'static,
    base: SandboxConfig,
    options: ServeOptions,
) -> anyhow::Result<()> {
    // A bad certificate or key stops the start, before anything listens.
    let tls = match &options.tls {
        Some((cert, key)) => Some(super::serve_tls::acceptor(cert, key)?),
        None => None,
    };
    let tcp = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", options.listen))?;
    let local = tcp.local_addr()?;
    let harness = Arc::new(OnceLock::new());
    let stop_accepting = CancellationToken::new();
    let sessions_end = CancellationToken::new();
    let in_flight = Arc::new(InFlight::default());
    let router = app(
        harness.clone(),
        base,
        &options,
        sessions_end.clone(),
        in_flight.clone(),
    );
    // The address on stdout, for scripts that start the server on port 0.
    let scheme = if tls.is_some() { "https" } else { "http" };
    println!("{scheme}://{local}/mcp");
    tracing::info!(%local, "listening");
    let loading = tokio::task::spawn_blocking(load);
    tokio::spawn(async move {
        match loading.await {
            Ok(Ok(loaded)) => {
                let _ = harness.set(loaded);
                tracing::info!("plugin loaded: ready");
            }
            Ok(Err(e)) => tracing::error!("cannot load the plugin: {e:#}"),
            Err(e) => tracing::error!("the plugin's loader failed: {e}"),
        }
    });
    let stop = stop_accepting.clone();
    let stopped = async move { stop.cancelled().await };
    let mut server = match tls {
        Some(acceptor) => {
            let listener = super::serve_tls::TlsListener::new(tcp, acceptor)?;
            let server = axum::serve(listener, router).with_graceful_shutdown(stopped);
            tokio::spawn(async move { server.await })
        }
        None => {
            let tcp = axum::serve::ListenerExt::tap_io(tcp, |stream| {
                // Answers are small writes (SSE events): without this, Nagle's algorithm and
                // the client's delayed ACK hold each one for ~40 ms.
                let _ = stream.set_nodelay(true);
            });
            let server = axum::serve(tcp, router).with_graceful_shutdown(stopped);
            tokio::spawn(async move { server.await })
        }
    };
    tokio::select! {
        done = &mut server => return done?.map_err(Into::into),
        () = signal() => {}
    }
    tracing::info!(
        drain_seconds = options.drain.as_secs(),
        calls = in_flight.count(),
        "shutting down: no new connections; draining calls"
    );
    stop_accepting.cancel();
    let deadline = tokio::time::Instant::now() + options.drain;
    while in_flight.count() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    if in_flight.count() > 0 {
        tracing::warn!(
            calls = in_flight.count(),
            "calls still running at the drain deadline: stopped"
        );
    }
    // Ending the sessions closes their streams, so the server's connections end too.
    sessions_end.cancel();
    match tokio::time::timeout(Duration::from_secs(5), &mut server).await {
        Ok(done) => done?.map_err(Into::into),
        Err(_) => {
            server.abort();
            Ok(())
        }
    }
}

/// SIGTERM (what orchestrators send) or SIGINT (Ctrl-C).
async fn signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                http::HeaderName::from_bytes(name.as_bytes()).expect("name"),
                HeaderValue::from_str(value).expect("value"),
            );
        }
        map
    }

    const TOKEN: &str = "cfut_fake0token0never0print0me0f3b2a9e7d4c6b1a";
    const ACCOUNT: &str = "01a7362d577a6c3019a474fd6f485823";

    #[test]
    fn the_gate_names_what_to_send() {
        let bearer = format!("Bearer {TOKEN}");
        let key = [7u8; 32];
        let Ok(ok) = tenant_of(
            &headers(&[
                ("authorization", &bearer),
                (ACCOUNT_HEADER, ACCOUNT),
                (SERVICES_HEADER, "DNS Analytics, Documentation"),
            ]),
            &key,
            &Tenancy::PerRequest,
        ) else {
            panic!("a tenant");
        };
        assert_eq!(ok.connect.account_id, ACCOUNT);
        assert_eq!(
            ok.connect.enabled_services,
            [Service::DnsAnalytics, Service::Documentation]
        );
        for (pairs, status) in [
            (&[][..], StatusCode::UNAUTHORIZED),
            (
                &[("authorization", "Basic abc")][..],
                StatusCode::UNAUTHORIZED,
            ),
            (
                &[("authorization", "Bearer not a token")][..],
                StatusCode::UNAUTHORIZED,
            ),
            (
                &[("authorization", bearer.as_str())][..],
                StatusCode::BAD_REQUEST,
            ),
            (
                &[("authorization", bearer.as_str()), (ACCOUNT_HEADER, "xyz")][..],
                StatusCode::BAD_REQUEST,
            ),
            (
                &[
                    ("authorization", bearer.as_str()),
                    (ACCOUNT_HEADER, ACCOUNT),
                    (SERVICES_HEADER, "Workers"),
                ][..],
                StatusCode::BAD_REQUEST,
            ),
        ] {
            let Err(refused) = tenant_of(&headers(pairs), &key, &Tenancy::PerRequest) else {
                panic!("{pairs:?} passed");
            };
            assert_eq!(refused.status, status, "{pairs:?}");
            let response = refused.into_response();
            if status == StatusCode::UNAUTHORIZED {
                assert!(response.headers().contains_key(header::WWW_AUTHENTICATE));
            }
        }
    }

    #[test]
    fn fingerprints_are_keyed_and_never_the_token() {
        let token = ApiToken::new(TOKEN, "test").expect("token");
        let a = Fingerprint(token.fingerprint(&[1; 32]));
        let b = Fingerprint(token.fingerprint(&[2; 32]));
        assert!(a != b);
        assert!(!a.short().contains(&TOKEN[..8]));
    }

    #[test]
    fn plain_http_is_for_loopback_or_behind_a_proxy() {
        let public: SocketAddr = "0.0.0.0:8787".parse().expect("addr");
        let local: SocketAddr = DEFAULT_LISTEN.parse().expect("addr");
        assert!(plain_http_allowed(&local, false));
        assert!(!plain_http_allowed(&public, false));
        assert!(plain_http_allowed(&public, true));
    }
}
