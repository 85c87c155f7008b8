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

mod args;
mod gate;
mod session;
mod tls;

use crate::front::metrics::Metrics;
use crate::{Harness, SandboxConfig};
pub use args::ServeArgs;
use axum::Router;
use axum::http::{StatusCode, header};
use axum::middleware;
use axum::routing::get;
use gate::Gate;
pub use gate::Tenancy;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use session::{Budgets, InFlight, TenantSession};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

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
        .route_layer(middleware::from_fn_with_state(gate, gate::gate))
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
        Some((cert, key)) => Some(tls::acceptor(cert, key)?),
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
            let listener = tls::TlsListener::new(tcp, acceptor)?;
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

    #[test]
    fn plain_http_is_for_loopback_or_behind_a_proxy() {
        let public: SocketAddr = "0.0.0.0:8787".parse().expect("addr");
        let local: SocketAddr = DEFAULT_LISTEN.parse().expect("addr");
        assert!(plain_http_allowed(&local, false));
        assert!(!plain_http_allowed(&public, false));
        assert!(plain_http_allowed(&public, true));
    }
}
