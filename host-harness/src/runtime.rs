//! The wasmtime side: engine, linker, store state, the outbound hook, and per-call limits.

use crate::audit_log::AuditLog;
use crate::compile_cache::{CompileCache, LoadSource};
use crate::credentials::ApiToken;
use crate::graphql_guard;
use crate::policy::{Decision, DenyReason, OutboundPolicy, canonical_host, forbidden_address};
use anyhow::Context as _;
use bytes::Bytes;
use http_body::Frame;
use http_body_util::BodyExt;
use serde::Serialize;
use serde_json::{Value, json};
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};
use wasmtime::component::{Linker, ResourceTable};
use wasmtime::{
    Config, Engine, ResourceLimiter, Store, StoreLimits, StoreLimitsBuilder, UpdateDeadline,
};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::io::TokioIo;
use wasmtime_wasi_http::{
    Error as HttpError, RequestOptions, WasiBody, WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks,
    WasiHttpView,
};

wasmtime::component::bindgen!({
    path: "../wit",
    world: "connector-plugin",
    exports: { default: async },
});

pub use cloudflare::connector::types::{
    ApiFailure, ConnectOptions, Error as PluginError, GraphqlProblem, InputProblem, Permission,
    Service,
};
pub use exports::cloudflare::connector::connector::{
    Check, CheckStatus, ConnectionInfo, Evidence, PermissionRequirement, SecurityFinding,
    ServiceInfo, ServiceReadiness, TokenInfo, TokenState, VerifyReport,
};
/// The DNS Analytics interface's types, for hosts that call its functions directly.
pub mod dns {
    pub use super::exports::cloudflare::connector::dns_analytics::*;
}
/// The Documentation interface's types.
pub mod docs {
    pub use super::exports::cloudflare::connector::documentation::*;
}
pub use exports::cloudflare::connector::tools::ToolSpec;

/// The engine every plugin runs on (and the audit inspects them with); part of the compile
/// cache's key.
pub(crate) fn engine_config() -> Config {
    let mut config = Config::new();
    config.wasm_component_model(true).epoch_interruption(true);
    config
}

/// How often the epoch ticks: the granularity of the CPU limit.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(10);

// Store limits besides `Limits` (the audit reports them): the component has one linear memory
// and a few small tables; the counts cap what a hostile one could allocate outside the memory
// limit.
pub(crate) const MAX_MEMORIES: u32 = 2;
pub(crate) const MAX_TABLES: u32 = 16;
pub(crate) const MAX_TABLE_ELEMENTS: u64 = 100_000;
pub(crate) const MAX_INSTANCES: u32 = 16;

/// Limits applied to every call.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Linear memory of the instance.
    pub memory_bytes: usize,
    /// Time spent running guest code in one call.
    pub cpu_time: Duration,
    /// Whole call, including waiting on the network.
    pub wall_time: Duration,
    /// Timeouts the host enforces on outbound requests, whatever the guest asks.
    pub connect_timeout: Duration,
    pub first_byte_timeout: Duration,
    pub between_bytes_timeout: Duration,
    /// Bytes of one response body; past it the body ends with an error the guest sees
    /// (`HttpResponseBodySize`).
    pub max_response_bytes: u64,
    /// Outbound requests in one call; later ones are denied (`HttpRequestDenied`).
    pub max_requests_per_call: u32,
    /// Bytes of one `call-tool` result; a larger one is refused ([`CallError::ResultTooLarge`]).
    /// Until the check, the result is bounded by the instance's memory.
    pub max_result_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 64 * 1024 * 1024,
            cpu_time: Duration::from_secs(5),
            wall_time: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            first_byte_timeout: Duration::from_secs(30),
            between_bytes_timeout: Duration::from_secs(30),
            max_response_bytes: 16 * 1024 * 1024,
            max_requests_per_call: 64,
            max_result_bytes: 16 * 1024 * 1024,
        }
    }
}

/// What one instance may do and holds: its token, outbound policy, limits and environment.
#[derive(Clone, Debug, Default)]
pub struct SandboxConfig {
    pub token: Option<ApiToken>,
    pub policy: OutboundPolicy,
    pub limits: Limits,
    /// Variables the guest may read (`CLOUDFLARE_ACCOUNT_ID`, `ENABLED_SERVICES`); never the token.
    pub guest_env: Vec<(String, String)>,
    /// How the host resolves allowed names before vetting their addresses (the system's;
    /// tests give fixed answers).
    pub resolver: Resolver,
    /// Where each call and its outbound requests are recorded (`--audit-log`).
    pub audit_log: Option<Arc<AuditLog>>,
}

/// Whether the policy let a request leave the host.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Allowed,
    Denied,
}

/// One outbound request as the host saw it. No header is kept: never an `Authorization`
/// value, only whether the host added its token. Serialises with stable snake_case names
/// (for the audit log). The status, byte count, duration and error fill in as the response
/// arrives and its body streams.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OutboundRecord {
    pub method: String,
    /// `scheme://authority/path` as the guest asked, without the query.
    pub url: String,
    /// The host the guest asked for: lowercased, without port or trailing dot.
    pub host: String,
    pub path: String,
    pub query: Option<String>,
    pub decision: Verdict,
    /// Why it was denied; `None` when allowed.
    pub denied: Option<String>,
    /// The denial's stable code ([`DenyReason::code`]), e.g. `method_not_allowed`.
    pub deny_code: Option<String>,
    /// Where an `--upstream` redirect sent it (`scheme://authority`).
    pub upstream: Option<String>,
    pub token_injected: bool,
    /// The response's status, when one came.
    pub status: Option<u16>,
    /// Response body bytes received so far (counted as the body streams).
    pub response_bytes: u64,
    /// From the guest's request to the end of the response body (or the failure).
    pub duration_ms: u64,
    /// Why an allowed request failed: connection, TLS, timeout, size limit.
    pub error: Option<String>,
}

/// A call that did not return normally.
#[derive(Debug)]
pub enum CallError {
    /// The guest trapped (a bug, the memory limit, or the CPU limit).
    Trap(anyhow::Error),
    /// The call exceeded the wall-clock limit and was abandoned.
    Timeout(Duration),
    /// An earlier call trapped or timed out: the instance may be inconsistent.
    Poisoned,
    /// The result was larger than [`Limits::max_result_bytes`]; the instance is still usable.
    ResultTooLarge { bytes: usize, limit: usize },
}

impl CallError {
    /// A stable name for reports and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            CallError::Trap(_) => "trap",
            CallError::Timeout(_) => "timeout",
            CallError::Poisoned => "poisoned",
            CallError::ResultTooLarge { .. } => "result_too_large",
        }
    }
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Trap(e) => write!(f, "the plugin trapped: {e:#}"),
            CallError::Timeout(d) => write!(
                f,
                "the call took longer than {} s and was stopped",
                d.as_secs()
            ),
            CallError::Poisoned => {
                f.write_str("the plugin instance failed earlier; create a new one")
            }
            CallError::ResultTooLarge { bytes, limit } => write!(
                f,
                "the plugin returned {bytes} bytes, more than the host's limit of {limit} \
                 (ask for less, e.g. a smaller max_bytes or range)"
            ),
        }
    }
}

impl std::error::Error for CallError {}

/// The outbound hook: request count, policy, GraphQL body check, credential injection, then
/// the host's own sender (resolve, vet the addresses, connect, TLS), host timeouts and the
/// response size limit.
struct OutboundHooks {
    policy: Arc<OutboundPolicy>,
    token: Option<ApiToken>,
    limits: Limits,
    resolver: Resolver,
    log: Arc<Mutex<Vec<OutboundRecord>>>,
    /// Requests made in the current call (reset by each call).
    requests_this_call: u32,
    /// This instance's idle connections.
    pool: ConnectionPool,
}

type IoFuture = Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>;
type SendFuture = Box<
    dyn Future<Output = wasmtime_wasi_http::Result<(http::Response<WasiBody>, IoFuture)>> + Send,
>;

/// Where a record lives in the instance's log, to fill in as the request goes on.
#[derive(Clone)]
struct RecordSlot {
    log: Arc<Mutex<Vec<OutboundRecord>>>,
    index: usize,
    started: Instant,
}

impl RecordSlot {
    fn update(&self, change: impl FnOnce(&mut OutboundRecord)) {
        let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(record) = log.get_mut(self.index) {
            change(record);
            record.duration_ms = self.started.elapsed().as_millis() as u64;
        }
    }

    fn deny(&self, reason: &DenyReason) {
        self.update(|record| {
            tracing::warn!(
                method = %record.method,
                url = %record.url,
                code = reason.code(),
                %reason,
                "outbound request denied"
            );
            record.decision = Verdict::Denied;
            // Nothing left the host, so neither did the token.
            record.token_injected = false;
            record.denied = Some(reason.to_string());
            record.deny_code = Some(reason.code().to_string());
        });
    }

    fn fail(&self, error: &HttpError) {
        self.update(|record| {
            if record.decision == Verdict::Allowed && record.error.is_none() {
                tracing::debug!(url = %record.url, %error, "outbound request failed");
                record.error = Some(error.to_string());
            }
        });
    }
}

impl OutboundHooks {
    fn push(&self, record: OutboundRecord, started: Instant) -> RecordSlot {
        let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        log.push(record);
        RecordSlot {
            log: self.log.clone(),
            index: log.len() - 1,
            started,
        }
    }
}

/// Drains (and discards) the body, then reports the denial: a guest writing a body would
/// otherwise meet a closed stream before it could read why the request failed.
fn deny_after_draining(body: WasiBody) -> SendFuture {
    let mut body = body;
    Box::new(async move {
        while let Some(Ok(_)) = body.frame().await {}
        Err(HttpError::HttpRequestDenied)
    })
}

impl WasiHttpHooks for OutboundHooks {
    fn send_request(
        &mut self,
        mut request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: IoFuture,
    ) -> SendFuture {
        let started = Instant::now();
        let uri = request.uri();
        let record = OutboundRecord {
            method: request.method().to_string(),
            url: format!(
                "{}://{}{}",
                uri.scheme_str().unwrap_or(""),
                uri.authority().map_or("", |a| a.as_str()),
                uri.path()
            ),
            host: uri
                .host()
                .unwrap_or_default()
                .trim_end_matches('.')
                .to_ascii_lowercase(),
            path: uri.path().to_string(),
            query: uri.query().map(str::to_string),
            decision: Verdict::Allowed,
            denied: None,
            deny_code: None,
            upstream: None,
            token_injected: false,
            status: None,
            response_bytes: 0,
            duration_ms: 0,
            error: None,
        };
        let slot = self.push(record, started);
        self.requests_this_call = self.requests_this_call.saturating_add(1);
        let decision = if self.requests_this_call > self.limits.max_requests_per_call {
            Decision::Deny(DenyReason::TooManyRequests {
                limit: self.limits.max_requests_per_call,
            })
        } else {
            self.policy.decide(request.method(), request.uri())
        };
        let (inject_token, upstream) = match decision {
            Decision::Allow {
                inject_token,
                upstream,
            } => (inject_token, upstream),
            Decision::Deny(reason) => {
                slot.deny(&reason);
                return deny_after_draining(request.into_body());
            }
        };
        // The policy allows POST for GraphQL only: its body is checked (fail closed should
        // another POST ever be allowed).
        let graphql_body = request.method() == http::Method::POST;
        let host = canonical_host(request.uri().host().unwrap_or_default());
        // The guest never authenticates itself: whatever it set is dropped.
        let headers = request.headers_mut();
        headers.remove(http::header::AUTHORIZATION);
        let mut token_injected = false;
        if inject_token && let Some(token) = &self.token {
            headers.insert(http::header::AUTHORIZATION, token.bearer_header());
            token_injected = true;
        }
        // The allowed name, as checked: the same one is resolved and verified by TLS.
        match http::HeaderValue::from_str(&host) {
            Ok(value) => {
                headers.insert(http::header::HOST, value);
            }
            Err(_) => return Box::new(async { Err(HttpError::HttpRequestUriInvalid) }),
        }
        let target = match &upstream {
            // An explicit redirect (tests, the demo): sent where the operator said, unvetted.
            Some(upstream) => Target {
                https: upstream.scheme == http::uri::Scheme::HTTPS,
                host: upstream
                    .authority
                    .host()
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .to_string(),
                port: upstream.authority.port_u16().unwrap_or(
                    if upstream.scheme == http::uri::Scheme::HTTPS {
                        443
                    } else {
                        80
                    },
                ),
                vet: false,
            },
            None => Target {
                https: true,
                host: host.clone(),
                port: 443,
                vet: true,
            },
        };
        slot.update(|record| {
            record.token_injected = token_injected;
            record.upstream = upstream
                .as_ref()
                .map(|u| format!("{}://{}", u.scheme, u.authority));
            tracing::debug!(method = %record.method, url = %record.url, token = token_injected, "outbound request");
        });
        let clamp = |asked: Option<Duration>, max: Duration| asked.map_or(max, |d| d.min(max));
        let timeouts = Timeouts {
            connect: clamp(
                options.and_then(|o| o.connect_timeout),
                self.limits.connect_timeout,
            ),
            first_byte: clamp(
                options.and_then(|o| o.first_byte_timeout),
                self.limits.first_byte_timeout,
            ),
            between_bytes: clamp(
                options.and_then(|o| o.between_bytes_timeout),
                self.limits.between_bytes_timeout,
            ),
        };
        let resolver = self.resolver.clone();
        let max_response_bytes = self.limits.max_response_bytes;
        let pool = self.pool.clone();
        Box::new(async move {
            let request = if graphql_body {
                match buffer_graphql_request(request).await {
                    Ok(request) => request,
                    Err(BufferError::Refused(reason)) => {
                        slot.deny(&reason);
                        return Err(HttpError::HttpRequestDenied);
                    }
                    Err(BufferError::Body(error)) => {
                        slot.fail(&error);
                        return Err(error);
                    }
                }
            } else {
                request
            };
            let sent = send_vetted(
                request,
                target,
                &resolver,
                &pool,
                timeouts,
                max_response_bytes,
                slot.clone(),
                None,
            )
            .await;
            if let Err(error) = &sent {
                slot.fail(error);
            }
            // The connection's I/O runs in its own task (it outlives this response when
            // pooled); its errors reach the guest through the response body.
            let io: IoFuture = Box::new(async { Ok(()) });
            sent.map(|response| (response, io))
        })
    }
}

// ---------------------------------------------------------------------------------------------
// The host's outbound sender: wasmtime-wasi-http's default sender, with the name resolved by
// the host and every address vetted before it connects, and the response body counted.

/// Resolves host names for outbound connections: the host does it, never the guest.
pub trait Resolve: Send + Sync {
    /// The addresses to try for `host`, with `port` (the request's) unless the resolver has
    /// its own reason to say otherwise.
    fn resolve(
        &self,
        host: &str,
        port: u16,
    ) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<SocketAddr>>> + Send>>;
}

/// The resolver of an instance: the system's by default; tests give fixed answers to make an
/// allowed name point at a forbidden address.
#[derive(Clone, Default)]
pub struct Resolver(Option<Arc<dyn Resolve>>);

impl Resolver {
    /// The system resolver (`getaddrinfo`, through tokio).
    pub fn system() -> Self {
        Resolver(None)
    }

    pub fn custom(resolve: impl Resolve + 'static) -> Self {
        Resolver(Some(Arc::new(resolve)))
    }

    /// Fixed answers, used as given (their ports too); other names do not resolve. For tests.
    pub fn fixed<S: Into<String>>(answers: impl IntoIterator<Item = (S, Vec<SocketAddr>)>) -> Self {
        let answers = answers
            .into_iter()
            .map(|(name, addresses)| (name.into().to_ascii_lowercase(), addresses))
            .collect();
        Resolver::custom(FixedAnswers(answers))
    }

    async fn lookup(&self, host: &str, port: u16) -> std::io::Result<Vec<SocketAddr>> {
        match &self.0 {
            None => Ok(tokio::net::lookup_host((host, port)).await?.collect()),
            Some(resolve) => resolve.resolve(host, port).await,
        }
    }
}

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.0 {
            None => "Resolver::system",
            Some(_) => "Resolver::custom",
        })
    }
}

struct FixedAnswers(std::collections::HashMap<String, Vec<SocketAddr>>);

impl Resolve for FixedAnswers {
    fn resolve(
        &self,
        host: &str,
        _port: u16,
    ) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<SocketAddr>>> + Send>> {
        let answer = self
            .0
            .get(&host.to_ascii_lowercase())
            .cloned()
            .ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("{host}: no such name"),
                )
            });
        Box::pin(async move { answer })
    }
}

/// Where a request is sent; connections are pooled by it.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Target {
    https: bool,
    /// A name (resolved by the host) or an IP address (an upstream's).
    host: String,
    port: u16,
    /// Whether every address must be public (always, except for an explicit upstream).
    vet: bool,
}

#[derive(Clone, Copy)]
struct Timeouts {
    connect: Duration,
    first_byte: Duration,
    between_bytes: Duration,
}

enum BufferError {
    Refused(DenyReason),
    Body(HttpError),
}

/// Reads the whole GraphQL body (up to the guard's limit), checks it, and gives back a
/// request carrying exactly the bytes checked.
async fn buffer_graphql_request(
    request: http::Request<WasiBody>,
) -> Result<http::Request<WasiBody>, BufferError> {
    let (parts, mut body) = request.into_parts();
    let refused = |why| BufferError::Refused(DenyReason::GraphqlRefused(why));
    let mut buffer = Vec::new();
    let mut too_large = false;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(BufferError::Body)?;
        if let Ok(data) = frame.into_data()
            && !too_large
        {
            // Past the limit the rest is drained, unread, so the guest learns of the denial.
            too_large = buffer.len() + data.len() > graphql_guard::MAX_BODY_BYTES;
            if !too_large {
                buffer.extend_from_slice(&data);
            }
        }
    }
    if too_large {
        return Err(refused(graphql_guard::GraphqlRefusal::TooLarge {
            limit: graphql_guard::MAX_BODY_BYTES,
        }));
    }
    graphql_guard::check_headers(&parts.headers).map_err(refused)?;
    graphql_guard::check_body(&buffer).map_err(refused)?;
    let body = http_body_util::Full::new(Bytes::from(buffer))
        .map_err(|never| match never {})
        .boxed_unsync();
    Ok(http::Request::from_parts(parts, body))
}

trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Sync + Unpin + 'static {}
impl<T> Io for T where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Sync + Unpin + 'static
{
}

/// Resolves the target's name (unless it is an address) and, when it must be vetted, refuses
/// it if any address is not public: one bad answer is enough (DNS rebinding).
async fn resolve_and_vet(
    target: &Target,
    resolver: &Resolver,
    timeout: Duration,
    slot: &RecordSlot,
) -> Result<Vec<SocketAddr>, HttpError> {
    let addresses = match target.host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, target.port)],
        Err(_) => {
            match tokio::time::timeout(timeout, resolver.lookup(&target.host, target.port)).await {
                Err(_) => return Err(HttpError::DnsTimeout),
                Ok(Err(error)) => {
                    tracing::debug!(host = %target.host, %error, "name resolution failed");
                    return Err(HttpError::DnsError {
                        rcode: None,
                        info_code: None,
                    });
                }
                Ok(Ok(addresses)) => addresses,
            }
        }
    };
    if addresses.is_empty() {
        return Err(HttpError::DestinationNotFound);
    }
    if target.vet {
        for address in &addresses {
            if let Some(kind) = forbidden_address(address.ip()) {
                slot.deny(&DenyReason::AddressNotAllowed {
                    host: target.host.clone(),
                    address: address.ip(),
                    kind,
                });
                return Err(HttpError::DestinationIpProhibited);
            }
        }
    }
    Ok(addresses)
}

async fn connect_any(addresses: &[SocketAddr]) -> Result<tokio::net::TcpStream, HttpError> {
    let mut last = None;
    for address in addresses {
        match tokio::net::TcpStream::connect(address).await {
            Ok(stream) => return Ok(stream),
            Err(error) => last = Some(error),
        }
    }
    Err(HttpError::Connect(last.unwrap_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::NotFound, "no address")
    })))
}

/// Web PKI roots, as the default sender uses; built once.
fn tls_connector() -> Result<tokio_rustls::TlsConnector, HttpError> {
    static CONFIG: OnceLock<Result<Arc<rustls::ClientConfig>, String>> = OnceLock::new();
    let config = CONFIG.get_or_init(|| {
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.into(),
        };
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map(|builder| Arc::new(builder.with_root_certificates(roots).with_no_client_auth()))
        .map_err(|e| e.to_string())
    });
    match config {
        Ok(config) => Ok(tokio_rustls::TlsConnector::from(config.clone())),
        Err(e) => Err(HttpError::InternalError(Some(format!("TLS set-up: {e}")))),
    }
}

/// One HTTP/1.1 connection: the handle requests are sent on, and the task driving its I/O,
/// which ends when this is dropped.
struct Connection {
    sender: hyper::client::conn::http1::SendRequest<WasiBody>,
    _io: AbortOnDrop,
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// How long an idle connection is kept: well under the keep-alive time servers allow, so a
/// request is not sent on a connection the server is closing.
const POOL_IDLE: Duration = Duration::from_secs(20);
/// Idle connections kept per target (a guest may have a few requests in flight at once).
const POOL_PER_TARGET: usize = 4;

/// An instance's idle connections, by target: the requests of a call (and of the next calls)
/// reuse one TLS connection to the API instead of a handshake each. Never shared between
/// instances, and dropped with the store, which ends their I/O. A connection goes back only
/// after its response body was read to the end without error; one the server closed is not
/// handed out.
#[derive(Clone, Default)]
struct ConnectionPool(Arc<Mutex<std::collections::HashMap<Target, Vec<IdleConnection>>>>);

/// A pooled connection and since when it has been idle.
type IdleConnection = (Connection, Instant);

impl ConnectionPool {
    fn take(&self, target: &Target) -> Option<Connection> {
        let mut pool = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let idle = pool.get_mut(target)?;
        while let Some((connection, since)) = idle.pop() {
            if !connection.sender.is_closed() && since.elapsed() < POOL_IDLE {
                return Some(connection);
            }
        }
        None
    }

    fn put(&self, target: Target, connection: Connection) {
        let mut pool = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let idle = pool.entry(target).or_default();
        idle.retain(|(c, since)| !c.sender.is_closed() && since.elapsed() < POOL_IDLE);
        if idle.len() < POOL_PER_TARGET {
            idle.push((connection, Instant::now()));
        }
    }
}

async fn connect(
    target: &Target,
    addresses: &[SocketAddr],
    tls: Option<&tokio_rustls::TlsConnector>,
) -> Result<Connection, HttpError> {
    let tcp = connect_any(addresses).await?;
    let stream: Box<dyn Io> = if target.https {
        // The certificate is checked against the name, not the address connected to.
        let name = rustls::pki_types::ServerName::try_from(target.host.clone())
            .map_err(|_| HttpError::HttpRequestUriInvalid)?;
        let connector = match tls {
            Some(connector) => connector.clone(),
            None => tls_connector()?,
        };
        Box::new(connector.connect(name, tcp).await.map_err(HttpError::Tls)?)
    } else {
        Box::new(tcp)
    };
    let (sender, io) = hyper::client::conn::http1::Builder::new()
        .handshake(TokioIo::new(stream))
        .await?;
    let io = tokio::spawn(async move {
        if let Err(error) = io.await {
            tracing::debug!(%error, "connection ended with an error");
        }
    });
    Ok(Connection {
        sender,
        _io: AbortOnDrop(io),
    })
}

/// An idle connection to `target` that is ready for a request, or a new one (resolved, vetted
/// and connected within the connect timeout).
async fn ready_connection(
    target: &Target,
    resolver: &Resolver,
    pool: &ConnectionPool,
    timeouts: Timeouts,
    slot: &RecordSlot,
    tls: Option<&tokio_rustls::TlsConnector>,
) -> Result<Connection, HttpError> {
    while let Some(mut connection) = pool.take(target) {
        // Ready at once, unless the server closed it meanwhile: then try the next.
        if let Ok(Ok(())) =
            tokio::time::timeout(Duration::from_millis(50), connection.sender.ready()).await
        {
            return Ok(connection);
        }
    }
    let addresses = resolve_and_vet(target, resolver, timeouts.connect, slot).await?;
    tokio::time::timeout(timeouts.connect, connect(target, &addresses, tls))
        .await
        .map_err(|_| HttpError::ConnectionTimeout)?
}

/// Sends one allowed request, as `wasmtime_wasi_http::default_send_request` does, but to a
/// vetted address, on a pooled connection when one is idle, and with the response body counted
/// and capped. `tls` replaces the Web PKI connector in unit tests.
#[allow(clippy::too_many_arguments)] // each is one of the host's settings for this request
async fn send_vetted(
    mut request: http::Request<WasiBody>,
    target: Target,
    resolver: &Resolver,
    pool: &ConnectionPool,
    timeouts: Timeouts,
    max_response_bytes: u64,
    slot: RecordSlot,
    tls: Option<&tokio_rustls::TlsConnector>,
) -> Result<http::Response<WasiBody>, HttpError> {
    let mut connection = ready_connection(&target, resolver, pool, timeouts, &slot, tls).await?;
    // A HEAD response's length is that of the GET it stands for: no body follows.
    let bodiless = request.method() == http::Method::HEAD;
    // The request line carries the path and query only (no proxy form).
    *request.uri_mut() = http::Uri::builder()
        .path_and_query(request.uri().path_and_query().map_or("/", |p| p.as_str()))
        .build()
        .map_err(|_| HttpError::HttpRequestUriInvalid)?;
    let response =
        tokio::time::timeout(timeouts.first_byte, connection.sender.send_request(request))
            .await
            .map_err(|_| HttpError::ConnectionReadTimeout)?
            .map_err(HttpError::from)?;
    let status = response.status().as_u16();
    slot.update(|record| record.status = Some(status));
    let declared = response
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
        .filter(|_| !bodiless);
    if let Some(length) = declared.filter(|l| *l > max_response_bytes) {
        tracing::warn!(length, limit = max_response_bytes, "response too large");
        return Err(HttpError::HttpResponseBodySize(Some(length)));
    }
    // Tokio panics on a zero interval.
    let between_bytes = timeouts.between_bytes.max(Duration::from_nanos(1));
    let mut between = tokio::time::interval(between_bytes);
    between.reset();
    let response = response.map(|incoming| {
        // A response without a body (HEAD, an empty one) is complete already: its connection
        // goes back now, as the guest may never read the empty body.
        let reuse = if http_body::Body::is_end_stream(&incoming) {
            pool.put(target, connection);
            None
        } else {
            Some((pool.clone(), target, connection))
        };
        GuardedBody {
            incoming,
            between_bytes: between,
            limit: max_response_bytes,
            received: 0,
            slot,
            finished: false,
            reuse,
        }
        .boxed_unsync()
    });
    Ok(response)
}

/// A response body with the host's between-bytes timeout and size limit, counting what it
/// passes on into the request's record.
struct GuardedBody {
    incoming: hyper::body::Incoming,
    between_bytes: tokio::time::Interval,
    limit: u64,
    /// Bytes passed on to the guest.
    received: u64,
    slot: RecordSlot,
    finished: bool,
    /// Where the connection goes back once the body has been read to its end.
    reuse: Option<(ConnectionPool, Target, Connection)>,
}

impl GuardedBody {
    fn end(&mut self, error: Option<HttpError>) -> Poll<Option<Result<Frame<Bytes>, HttpError>>> {
        self.finished = true;
        let received = self.received;
        self.slot.update(|record| record.response_bytes = received);
        // A body cut short (an error, the size limit, a timeout) leaves the connection mid-
        // message: it is dropped, never reused.
        let reuse = self.reuse.take();
        match error {
            Some(error) => {
                self.slot.fail(&error);
                Poll::Ready(Some(Err(error)))
            }
            None => {
                if let Some((pool, target, connection)) = reuse {
                    pool.put(target, connection);
                }
                Poll::Ready(None)
            }
        }
    }
}

impl http_body::Body for GuardedBody {
    type Data = Bytes;
    type Error = HttpError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, HttpError>>> {
        let this = self.get_mut();
        if this.finished {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.incoming).poll_frame(cx) {
            Poll::Ready(None) => this.end(None),
            Poll::Ready(Some(Err(error))) => this.end(Some(if error.is_timeout() {
                HttpError::HttpResponseTimeout
            } else {
                HttpError::from(error)
            })),
            Poll::Ready(Some(Ok(frame))) => {
                this.between_bytes.reset();
                if let Some(data) = frame.data_ref() {
                    let total = this.received + data.len() as u64;
                    if total > this.limit {
                        // The frame past the limit is not passed on (nor counted).
                        tracing::warn!(limit = this.limit, "response body too large");
                        return this.end(Some(HttpError::HttpResponseBodySize(Some(total))));
                    }
                    this.received = total;
                    this.slot.update(|record| record.response_bytes = total);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Pending => {
                ready!(this.between_bytes.poll_tick(cx));
                this.end(Some(HttpError::ConnectionReadTimeout))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.finished || self.incoming.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.incoming.size_hint()
    }
}

/// The store's data: WASI context with no preopens, no environment but what the harness
/// chooses, no sockets and no name lookup; the HTTP context with our hooks; the limits.
pub struct PluginState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    hooks: OutboundHooks,
    limits: PeakTrackingLimits,
    cpu_ticks_left: u64,
}

/// The store limits, remembering the largest linear memory granted (for benchmarks and
/// host developers sizing `Limits::memory_bytes`).
struct PeakTrackingLimits {
    limits: StoreLimits,
    peak_memory_bytes: usize,
}

impl ResourceLimiter for PeakTrackingLimits {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let granted = self.limits.memory_growing(current, desired, maximum)?;
        if granted {
            self.peak_memory_bytes = self.peak_memory_bytes.max(desired);
        }
        Ok(granted)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.limits.table_growing(current, desired, maximum)
    }

    fn instances(&self) -> usize {
        self.limits.instances()
    }

    fn tables(&self) -> usize {
        self.limits.tables()
    }

    fn memories(&self) -> usize {
        self.limits.memories()
    }
}

impl WasiView for PluginState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for PluginState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

/// A loaded plugin, ready to create instances. Cheap to clone.
#[derive(Clone)]
pub struct Harness {
    engine: Engine,
    pre: ConnectorPluginPre<PluginState>,
    loaded_from: LoadSource,
    _ticker: Arc<EpochTicker>,
}

/// Advances the engine's epoch on a thread until dropped.
struct EpochTicker(Arc<AtomicBool>);

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

impl EpochTicker {
    fn start(engine: &Engine) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let (engine, flag) = (engine.clone(), stop.clone());
        std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                std::thread::sleep(EPOCH_TICK);
                engine.increment_epoch();
            }
        });
        EpochTicker(stop)
    }
}

impl Harness {
    /// Compiles the plugin and links it against WASI and WASI HTTP.
    pub fn load(plugin: &Path) -> anyhow::Result<Self> {
        Self::load_with(plugin, None)
    }

    /// As [`Harness::load`], taking the compiled component from `cache` when it holds a valid
    /// entry for these bytes and this engine (and storing it there otherwise).
    pub fn load_with(plugin: &Path, cache: Option<&CompileCache>) -> anyhow::Result<Self> {
        let context = || {
            format!(
                "cannot load the plugin {} (build it with `make build`, or pass --plugin)",
                plugin.display()
            )
        };
        let wasm = std::fs::read(plugin).with_context(context)?;
        let engine = Engine::new(&engine_config())?;
        let (component, loaded_from) =
            CompileCache::load_or_compile(cache, &engine, &wasm).with_context(context)?;
        tracing::debug!(source = ?loaded_from, plugin = %plugin.display(), "plugin loaded");
        // Refused before linking: an import the harness does not grant (wasi:sockets, ...).
        let refused = crate::audit::ungranted_imports(&engine, &component);
        if !refused.is_empty() {
            return Err(crate::audit::UngrantedImports(refused))
                .with_context(|| format!("refusing the plugin {}", plugin.display()));
        }
        let mut linker = Linker::<PluginState>::new(&engine);
        crate::audit::link_grants(&mut linker)?;
        let pre = ConnectorPluginPre::new(linker.instantiate_pre(&component)?)?;
        let ticker = Arc::new(EpochTicker::start(&engine));
        Ok(Harness {
            engine,
            pre,
            loaded_from,
            _ticker: ticker,
        })
    }

    /// Whether the component was compiled now or came from the compile cache.
    pub fn loaded_from(&self) -> LoadSource {
        self.loaded_from
    }

    /// A fresh instance with its own store, limits and request log.
    pub async fn instantiate(&self, config: &SandboxConfig) -> anyhow::Result<PluginInstance> {
        let limits = &config.limits;
        let mut wasi = WasiCtx::builder();
        wasi.allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false);
        for (k, v) in &config.guest_env {
            wasi.env(k, v);
        }
        let log = Arc::new(Mutex::new(Vec::new()));
        let state = PluginState {
            wasi: wasi.build(),
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            hooks: OutboundHooks {
                policy: Arc::new(config.policy.clone()),
                token: config.token.clone(),
                limits: limits.clone(),
                resolver: config.resolver.clone(),
                log: log.clone(),
                requests_this_call: 0,
                pool: ConnectionPool::default(),
            },
            limits: PeakTrackingLimits {
                limits: StoreLimitsBuilder::new()
                    .memory_size(limits.memory_bytes)
                    .memories(MAX_MEMORIES as usize)
                    .tables(MAX_TABLES as usize)
                    .table_elements(MAX_TABLE_ELEMENTS as usize)
                    .instances(MAX_INSTANCES as usize)
                    .build(),
                peak_memory_bytes: 0,
            },
            // Instantiation runs guest code too (static initialisers): give it a call's budget.
            cpu_ticks_left: cpu_ticks(limits),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        // The callback runs each tick the guest is running, so counting calls measures guest
        // CPU time; yielding lets the wall-clock timeout fire even in a busy loop.
        store.epoch_deadline_callback(|mut ctx| {
            let left = &mut ctx.data_mut().cpu_ticks_left;
            if *left == 0 {
                return Err(wasmtime::Error::msg("CPU time limit exceeded"));
            }
            *left -= 1;
            Ok(UpdateDeadline::Yield(1))
        });
        store.set_epoch_deadline(1);
        let bindings = self.pre.instantiate_async(&mut store).await?;
        Ok(PluginInstance {
            store,
            bindings,
            limits: limits.clone(),
            poisoned: false,
            log,
            audit_log: config.audit_log.clone(),
        })
    }
}

/// One plugin instance: its state (connection, caches) lives as long as this value.
pub struct PluginInstance {
    store: Store<PluginState>,
    bindings: ConnectorPlugin,
    limits: Limits,
    poisoned: bool,
    log: Arc<Mutex<Vec<OutboundRecord>>>,
    audit_log: Option<Arc<AuditLog>>,
}

/// How a call ended, as the audit log says it: `ok`, `error:<kind>` for an error the plugin
/// returned, `trap`, `timeout` or `poisoned`.
trait AuditOutcome {
    fn audit_outcome(&self) -> String;
}

impl<T> AuditOutcome for Result<T, PluginError> {
    fn audit_outcome(&self) -> String {
        match self {
            Ok(_) => "ok".into(),
            Err(e) => format!("error:{}", crate::report::error_parts(e).0),
        }
    }
}

impl AuditOutcome for Vec<ToolSpec> {
    fn audit_outcome(&self) -> String {
        "ok".into()
    }
}

impl<T: AuditOutcome> AuditOutcome for Result<T, CallError> {
    fn audit_outcome(&self) -> String {
        match self {
            Ok(value) => value.audit_outcome(),
            Err(error) => error.kind().into(),
        }
    }
}

/// A typed call's arguments for the audit log: their debug form (the log redacts token-like
/// words in it).
fn debug_arguments(arguments: &[&dyn std::fmt::Debug]) -> Value {
    Value::Array(
        arguments
            .iter()
            .map(|a| Value::String(format!("{a:?}")))
            .collect(),
    )
}

/// The CPU limit in epoch ticks.
fn cpu_ticks(limits: &Limits) -> u64 {
    (limits.cpu_time.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64
}

/// Runs one export under the per-call limits; records the call in the audit log when there is
/// one (`$arguments` is only evaluated then). `result_bytes` measures a result held to
/// `Limits::max_result_bytes`.
macro_rules! guarded_call {
    ($self:ident, $function:expr, $arguments:expr, |$store:ident, $b:ident| $call:expr) => {
        guarded_call!(
            $self,
            $function,
            $arguments,
            |$store, $b| $call,
            result_bytes = |_| 0
        )
    };
    ($self:ident, $function:expr, $arguments:expr, |$store:ident, $b:ident| $call:expr,
     result_bytes = $result_bytes:expr) => {{
        if $self.poisoned {
            return Err(CallError::Poisoned);
        }
        $self.store.data_mut().cpu_ticks_left = cpu_ticks(&$self.limits);
        $self.store.data_mut().hooks.requests_this_call = 0;
        $self.store.set_epoch_deadline(1);
        let first_request = $self.log.lock().unwrap_or_else(|e| e.into_inner()).len();
        let wall = $self.limits.wall_time;
        let $store = &mut $self.store;
        let $b = &$self.bindings;
        let started = Instant::now();
        let outcome = tokio::time::timeout(wall, $call).await;
        tracing::debug!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "plugin call finished"
        );
        let limit = $self.limits.max_result_bytes;
        let result = match outcome {
            Ok(Ok(value)) => match ($result_bytes)(&value) {
                bytes if bytes > limit => Err(CallError::ResultTooLarge { bytes, limit }),
                _ => Ok(value),
            },
            Ok(Err(trap)) => {
                $self.poisoned = true;
                Err(CallError::Trap(anyhow::Error::from(trap)))
            }
            Err(_) => {
                $self.poisoned = true;
                Err(CallError::Timeout(wall))
            }
        };
        if let Some(audit_log) = &$self.audit_log {
            let requests =
                $self.log.lock().unwrap_or_else(|e| e.into_inner())[first_request..].to_vec();
            audit_log.record_call(
                $function,
                &$arguments,
                &result.audit_outcome(),
                started.elapsed(),
                &requests,
            );
        }
        result
    }};
}

impl PluginInstance {
    pub async fn connect(
        &mut self,
        options: &ConnectOptions,
    ) -> Result<Result<ConnectionInfo, PluginError>, CallError> {
        guarded_call!(
            self,
            "connect",
            json!({ "account_id": options.account_id, "enabled_services": debug_arguments(&[&options.enabled_services]) }),
            |store, b| b
                .cloudflare_connector_connector()
                .call_connect(store, options)
        )
    }

    pub async fn verify(&mut self) -> Result<Result<VerifyReport, PluginError>, CallError> {
        guarded_call!(self, "verify", json!({}), |store, b| b
            .cloudflare_connector_connector()
            .call_verify(store))
    }

    pub async fn list_tools(&mut self) -> Result<Vec<ToolSpec>, CallError> {
        guarded_call!(self, "list-tools", json!({}), |store, b| b
            .cloudflare_connector_tools()
            .call_list_tools(store))
    }

    pub async fn call_tool(
        &mut self,
        name: &str,
        arguments_json: &str,
    ) -> Result<Result<String, PluginError>, CallError> {
        let arguments = || {
            let parsed = serde_json::from_str::<Value>(arguments_json);
            json!({ "name": name, "arguments": parsed.unwrap_or_else(|_| json!("[not JSON]")) })
        };
        guarded_call!(
            self,
            "call-tool",
            arguments(),
            |store, b| b
                .cloudflare_connector_tools()
                .call_call_tool(store, name, arguments_json),
            result_bytes =
                |result: &Result<String, PluginError>| result.as_ref().map_or(0, String::len)
        )
    }

    pub async fn list_products(
        &mut self,
    ) -> Result<Result<docs::ProductList, PluginError>, CallError> {
        guarded_call!(self, "list-products", json!({}), |store, b| b
            .cloudflare_connector_documentation()
            .call_list_products(store))
    }

    pub async fn search_docs(
        &mut self,
        query: &str,
        product: Option<&str>,
        limit: Option<u32>,
    ) -> Result<Result<docs::SearchResult, PluginError>, CallError> {
        guarded_call!(
            self,
            "search-docs",
            json!({ "query": query, "product": product, "limit": limit }),
            |store, b| b
                .cloudflare_connector_documentation()
                .call_search_docs(store, query, product, limit)
        )
    }

    pub async fn read_doc(
        &mut self,
        url_or_path: &str,
        section: Option<&str>,
        max_bytes: Option<u32>,
    ) -> Result<Result<docs::DocPage, PluginError>, CallError> {
        guarded_call!(
            self,
            "read-doc",
            json!({ "url_or_path": url_or_path, "section": section, "max_bytes": max_bytes }),
            |store, b| b.cloudflare_connector_documentation().call_read_doc(
                store,
                url_or_path,
                section,
                max_bytes
            )
        )
    }

    pub async fn list_zones(
        &mut self,
        query: &dns::ZoneQuery,
    ) -> Result<Result<dns::ZonePage, PluginError>, CallError> {
        guarded_call!(self, "list-zones", debug_arguments(&[query]), |store, b| b
            .cloudflare_connector_dns_analytics()
            .call_list_zones(store, query))
    }

    pub async fn get_zone(
        &mut self,
        zone: &str,
    ) -> Result<Result<dns::Zone, PluginError>, CallError> {
        guarded_call!(self, "get-zone", json!({ "zone": zone }), |store, b| b
            .cloudflare_connector_dns_analytics()
            .call_get_zone(store, zone))
    }

    pub async fn dns_records(
        &mut self,
        query: &dns::RecordQuery,
    ) -> Result<Result<dns::RecordPage, PluginError>, CallError> {
        guarded_call!(
            self,
            "dns-records",
            debug_arguments(&[query]),
            |store, b| b
                .cloudflare_connector_dns_analytics()
                .call_dns_records(store, query)
        )
    }

    pub async fn dns_report(
        &mut self,
        request: &dns::ReportRequest,
    ) -> Result<Result<dns::Report, PluginError>, CallError> {
        guarded_call!(
            self,
            "dns-report",
            debug_arguments(&[request]),
            |store, b| b
                .cloudflare_connector_dns_analytics()
                .call_dns_report(store, request)
        )
    }

    pub async fn dns_timeseries(
        &mut self,
        request: &dns::ReportRequest,
        bucket: Option<dns::Bucket>,
    ) -> Result<Result<dns::Timeseries, PluginError>, CallError> {
        guarded_call!(
            self,
            "dns-timeseries",
            debug_arguments(&[request, &bucket]),
            |store, b| b
                .cloudflare_connector_dns_analytics()
                .call_dns_timeseries(store, request, bucket)
        )
    }

    /// The largest linear memory this instance has been granted, in bytes (memory only grows,
    /// so this is also its current size).
    pub fn peak_memory_bytes(&self) -> usize {
        self.store.data().limits.peak_memory_bytes
    }

    /// Every outbound request this instance made, allowed or denied.
    pub fn outbound_log(&self) -> Vec<OutboundRecord> {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

#[cfg(test)]
mod tests {
    //! The sender's TLS path, offline: a local TLS server with a certificate for an allowed
    //! name, signed by a test CA made with the `openssl` command.
    use super::*;
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use std::path::PathBuf;
    use std::process::Command;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    struct TestPki {
        ca: CertificateDer<'static>,
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    }

    /// A CA and a server certificate for `name`; `None` when `openssl` is not installed.
    fn test_pki(name: &str) -> Option<TestPki> {
        let dir = std::env::temp_dir().join(format!(
            "cf-harness-tls-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        ));
        std::fs::create_dir_all(&dir).ok()?;
        let path = |file: &str| -> PathBuf { dir.join(file) };
        let openssl = |args: &[&str]| {
            let output = Command::new("openssl")
                .args(args)
                .current_dir(&dir)
                .output()
                .ok()?;
            output.status.success().then_some(())
        };
        let ec = ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"];
        openssl(&[&["genpkey"][..], &ec, &["-out", "ca.key"]].concat())?;
        openssl(&[
            "req",
            "-x509",
            "-new",
            "-key",
            "ca.key",
            "-subj",
            "/CN=cf-harness test CA",
            "-days",
            "2",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign",
            "-out",
            "ca.pem",
        ])?;
        openssl(&[&["genpkey"][..], &ec, &["-out", "server.key"]].concat())?;
        openssl(&[
            "req",
            "-new",
            "-key",
            "server.key",
            "-subj",
            &format!("/CN={name}"),
            "-out",
            "server.csr",
        ])?;
        std::fs::write(
            path("ext.cnf"),
            format!(
                "subjectAltName=DNS:{name}\nbasicConstraints=CA:FALSE\n\
                 extendedKeyUsage=serverAuth\n"
            ),
        )
        .ok()?;
        openssl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
            "-out",
            "server.pem",
        ])?;
        let pki = TestPki {
            ca: CertificateDer::from_pem_file(path("ca.pem")).ok()?,
            chain: vec![CertificateDer::from_pem_file(path("server.pem")).ok()?],
            key: PrivateKeyDer::from_pem_file(path("server.key")).ok()?,
        };
        let _ = std::fs::remove_dir_all(&dir);
        Some(pki)
    }

    /// Serves one TLS connection: answers `hello` and reports the SNI name and the request head.
    async fn serve_once(
        pki: TestPki,
    ) -> (
        SocketAddr,
        tokio::task::JoinHandle<Option<(Option<String>, String)>>,
    ) {
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(pki.chain, pki.key)
        .expect("server certificate");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        let server = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.ok()?;
            let mut tls = acceptor.accept(tcp).await.ok()?;
            let sni = tls.get_ref().1.server_name().map(str::to_string);
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = tls.read(&mut buf).await.ok()?;
                if n == 0 {
                    break;
                }
                head.extend_from_slice(&buf[..n]);
            }
            tls.write_all(
                b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello",
            )
            .await
            .ok()?;
            tls.shutdown().await.ok()?;
            Some((sni, String::from_utf8_lossy(&head).into_owned()))
        });
        (address, server)
    }

    fn slot() -> RecordSlot {
        let record = OutboundRecord {
            method: "GET".into(),
            url: "https://api.cloudflare.com/x".into(),
            host: "api.cloudflare.com".into(),
            path: "/x".into(),
            query: None,
            decision: Verdict::Allowed,
            denied: None,
            deny_code: None,
            upstream: None,
            token_injected: false,
            status: None,
            response_bytes: 0,
            duration_ms: 0,
            error: None,
        };
        RecordSlot {
            log: Arc::new(Mutex::new(vec![record])),
            index: 0,
            started: Instant::now(),
        }
    }

    fn request() -> http::Request<WasiBody> {
        http::Request::get("https://api.cloudflare.com/x")
            .header(http::header::HOST, "api.cloudflare.com")
            .body(
                http_body_util::Empty::<Bytes>::new()
                    .map_err(|never| match never {})
                    .boxed_unsync(),
            )
            .expect("request")
    }

    fn connector(ca: &CertificateDer<'static>) -> tokio_rustls::TlsConnector {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(ca.clone()).expect("test CA");
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
        tokio_rustls::TlsConnector::from(Arc::new(config))
    }

    const TIMEOUTS: Timeouts = Timeouts {
        connect: Duration::from_secs(5),
        first_byte: Duration::from_secs(5),
        between_bytes: Duration::from_secs(5),
    };

    /// The API host on 443; `vet: false` for test servers on loopback, which vetting refuses.
    fn api_target(vet: bool) -> Target {
        Target {
            https: true,
            host: crate::policy::API_HOST.into(),
            port: 443,
            vet,
        }
    }

    /// `GET /x` through `send_vetted` with the test timeouts.
    async fn send(
        pool: &ConnectionPool,
        target: &Target,
        resolver: &Resolver,
        max_response_bytes: u64,
        slot: RecordSlot,
        tls: Option<&tokio_rustls::TlsConnector>,
    ) -> Result<http::Response<WasiBody>, HttpError> {
        send_vetted(
            request(),
            target.clone(),
            resolver,
            pool,
            TIMEOUTS,
            max_response_bytes,
            slot,
            tls,
        )
        .await
    }

    #[tokio::test]
    async fn https_connects_to_the_resolved_address_and_checks_the_certificate_against_the_name() {
        let Some(pki) = test_pki(crate::policy::API_HOST) else {
            eprintln!("skipped: the openssl command is not available");
            return;
        };
        let connector = connector(&pki.ca);
        let (address, server) = serve_once(pki).await;
        let resolver = Resolver::fixed([(crate::policy::API_HOST, vec![address])]);
        let slot = slot();
        let pool = ConnectionPool::default();
        let response = send(
            &pool,
            &api_target(false),
            &resolver,
            1024,
            slot.clone(),
            Some(&connector),
        )
        .await
        .expect("the TLS exchange succeeds");
        assert_eq!(response.status(), 200);
        let body = response.into_body().collect().await.expect("body");
        assert_eq!(&body.to_bytes()[..], b"hello");
        let (sni, head) = server.await.expect("server task").expect("served");
        assert_eq!(
            sni.as_deref(),
            Some(crate::policy::API_HOST),
            "SNI is the name"
        );
        assert!(head.starts_with("GET /x HTTP/1.1\r\n"), "{head}");
        assert!(
            head.to_ascii_lowercase()
                .contains("host: api.cloudflare.com\r\n")
        );
        let record = slot.log.lock().expect("log")[0].clone();
        assert_eq!(record.status, Some(200));
        assert_eq!(record.response_bytes, 5);
    }

    #[tokio::test]
    async fn a_certificate_for_another_name_is_refused() {
        let Some(pki) = test_pki("other.example") else {
            eprintln!("skipped: the openssl command is not available");
            return;
        };
        let connector = connector(&pki.ca);
        let (address, _server) = serve_once(pki).await;
        let resolver = Resolver::fixed([(crate::policy::API_HOST, vec![address])]);
        let pool = ConnectionPool::default();
        let result = send(
            &pool,
            &api_target(false),
            &resolver,
            1024,
            slot(),
            Some(&connector),
        )
        .await;
        assert!(
            matches!(result, Err(HttpError::Tls(_))),
            "{:?}",
            result.err()
        );
    }

    #[tokio::test]
    async fn vetting_refuses_internal_answers_before_connecting() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("non-blocking");
        let address = listener.local_addr().expect("address");
        let public: SocketAddr = "104.16.132.229:443".parse().expect("address");
        for answers in [vec![address], vec![public, address]] {
            let resolver = Resolver::fixed([(crate::policy::API_HOST, answers)]);
            let slot = slot();
            let pool = ConnectionPool::default();
            let result = send(
                &pool,
                &api_target(true),
                &resolver,
                1024,
                slot.clone(),
                None,
            )
            .await;
            assert!(
                matches!(result, Err(HttpError::DestinationIpProhibited)),
                "{:?}",
                result.err()
            );
            let record = slot.log.lock().expect("log")[0].clone();
            assert_eq!(record.decision, Verdict::Denied);
            assert_eq!(record.deny_code.as_deref(), Some("address_not_allowed"));
        }
        assert!(
            listener.accept().is_err(),
            "no connection reached the listener"
        );
    }

    /// A plain-HTTP server on loopback answering every request with `body` (and closing the
    /// connection after each answer when `close`); counts the connections it accepted.
    async fn counting_server(
        body: &'static str,
        close: bool,
    ) -> (Target, Arc<std::sync::atomic::AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("address").port();
        let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = accepted.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut byte = [0u8; 1];
                    while stream.read(&mut byte).await.unwrap_or(0) == 1 {
                        head.push(byte[0]);
                        if !head.ends_with(b"\r\n\r\n") {
                            continue;
                        }
                        head.clear();
                        let connection = if close { "Connection: close\r\n" } else { "" };
                        let answer = format!(
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n{connection}\r\n{body}",
                            body.len()
                        );
                        if stream.write_all(answer.as_bytes()).await.is_err() || close {
                            return;
                        }
                    }
                });
            }
        });
        let target = Target {
            https: false,
            host: "127.0.0.1".into(),
            port,
            vet: false,
        };
        (target, accepted)
    }

    /// Sends a GET on `pool` and reads the whole body.
    async fn get(
        pool: &ConnectionPool,
        target: &Target,
        max_response_bytes: u64,
    ) -> Result<Bytes, HttpError> {
        let resolver = Resolver::system();
        let response = send(pool, target, &resolver, max_response_bytes, slot(), None).await?;
        Ok(response.into_body().collect().await?.to_bytes())
    }

    #[tokio::test]
    async fn a_connection_is_reused_only_after_its_body_was_read_whole() {
        let (target, accepted) = counting_server("hello", false).await;
        let pool = ConnectionPool::default();
        for _ in 0..3 {
            assert_eq!(
                &get(&pool, &target, 1024).await.expect("sent")[..],
                b"hello"
            );
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 1, "one connection, reused");
        // A body over the limit is cut: its connection is mid-message and is dropped.
        assert!(matches!(
            get(&pool, &target, 2).await,
            Err(HttpError::HttpResponseBodySize(_))
        ));
        assert_eq!(
            &get(&pool, &target, 1024).await.expect("sent")[..],
            b"hello"
        );
        assert_eq!(
            accepted.load(Ordering::SeqCst),
            2,
            "a new connection after the cut"
        );
        // Pools are per instance: another pool connects anew.
        let other = ConnectionPool::default();
        get(&other, &target, 1024).await.expect("sent");
        assert_eq!(accepted.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_connection_the_server_closed_is_not_handed_out() {
        let (target, accepted) = counting_server("bye", true).await;
        let pool = ConnectionPool::default();
        for _ in 0..3 {
            assert_eq!(&get(&pool, &target, 1024).await.expect("sent")[..], b"bye");
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 3);
    }
}
