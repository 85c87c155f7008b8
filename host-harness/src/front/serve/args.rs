//! `cf-harness serve`'s own flags, and the options they make (the flags every command shares
//! are the CLI's).

use super::{
    DEFAULT_DRAIN_SECONDS, DEFAULT_IDLE_SECONDS, DEFAULT_LISTEN, DEFAULT_MAX_CALLS_PER_SESSION,
    DEFAULT_MAX_SESSIONS, DEFAULT_MAX_SESSIONS_PER_TOKEN, ServeOptions, Tenancy,
    plain_http_allowed,
};
use crate::front::mcp_transport::DEFAULT_MAX_MESSAGE_MIB;
use crate::outbound::budget;
use crate::sandbox::InstancePool;
use std::path::PathBuf;
use std::time::Duration;

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// The address to listen on. Anything but loopback needs TLS (--tls-cert, --tls-key) or
    /// --behind-proxy (TLS at a proxy in front).
    #[arg(long, value_name = "ADDR", default_value = DEFAULT_LISTEN)]
    pub listen: std::net::SocketAddr,
    /// Plain HTTP on a non-loopback address: a proxy in front terminates TLS.
    #[arg(long, conflicts_with = "tls_cert")]
    pub behind_proxy: bool,
    /// Serve HTTPS with this PEM certificate chain (with --tls-key).
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// A Host header value accepted besides the loopback names (repeatable), e.g.
    /// mcp.example.com or mcp.example.com:8443; any other Host is refused (DNS rebinding).
    #[arg(long = "allowed-host", value_name = "HOST")]
    pub allowed_hosts: Vec<String>,
    /// A browser Origin accepted (repeatable), e.g. https://app.example.com:443; a request
    /// carrying any other Origin is refused.
    #[arg(long = "allowed-origin", value_name = "ORIGIN")]
    pub allowed_origins: Vec<String>,
    /// Sessions open at once, across all tenants.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_SESSIONS, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=100_000))]
    pub max_sessions: usize,
    /// Sessions one token may have open at once.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_SESSIONS_PER_TOKEN, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=100_000))]
    pub max_sessions_per_token: usize,
    /// Calls one session may have running or waiting at once (its instance runs one at a
    /// time); past it a call is answered too-many-calls.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_CALLS_PER_SESSION, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1_000))]
    pub max_calls_per_session: usize,
    /// A session with no request for this many seconds is closed.
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_IDLE_SECONDS, value_parser = clap::value_parser!(u64).range(1..=604_800))]
    pub idle_seconds: u64,
    /// Largest MCP request body taken, in MiB; a larger one is answered 413.
    #[arg(long, value_name = "MIB", default_value_t = DEFAULT_MAX_MESSAGE_MIB, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub max_message_mib: u64,
    /// API requests (GraphQL queries included) one token may make per 5 minutes, across
    /// its sessions; past it the host answers rate-limited with the wait (Cloudflare's
    /// published limit by default).
    #[arg(long, value_name = "N", default_value_t = budget::API_REQUESTS, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1_000_000))]
    pub budget_api_requests: usize,
    /// GraphQL queries one token may make per 5 minutes, across its sessions.
    #[arg(long, value_name = "N", default_value_t = budget::GRAPHQL_QUERIES, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1_000_000))]
    pub budget_graphql_queries: usize,
    /// Serve one tenant whose Cloudflare token the host holds (CLOUDFLARE_API_TOKEN or
    /// --token-file, with CLOUDFLARE_ACCOUNT_ID and ENABLED_SERVICES): clients authenticate
    /// with the key in this file (Authorization: Bearer <key>), never with the token.
    #[arg(long, value_name = "FILE")]
    pub client_key_file: Option<PathBuf>,
    /// How long in-flight calls may finish after SIGTERM or SIGINT, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_DRAIN_SECONDS, value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub drain_seconds: u64,
}

impl ServeArgs {
    /// Why the server may not listen where it was asked, if it may not.
    pub fn refusal(&self) -> Option<String> {
        let tls = self.tls_cert.is_some() && self.tls_key.is_some();
        (!tls && !plain_http_allowed(&self.listen, self.behind_proxy)).then(|| {
            format!(
                "{} is not a loopback address: plain HTTP there would carry tokens in the \
                 clear; serve HTTPS with --tls-cert and --tls-key, or put a TLS-terminating \
                 proxy in front and pass --behind-proxy",
                self.listen
            )
        })
    }

    /// The server's options, and the instance pool it loads the plugin into: one slot per
    /// session, and some for stateless requests (each gets an instance of its own).
    pub fn options(&self, tenancy: Tenancy, memory_bytes: usize) -> (ServeOptions, InstancePool) {
        let options = ServeOptions {
            listen: self.listen,
            max_sessions: self.max_sessions,
            max_sessions_per_token: self.max_sessions_per_token,
            max_calls_per_session: self.max_calls_per_session,
            idle_timeout: Duration::from_secs(self.idle_seconds),
            max_request_bytes: (self.max_message_mib * 1024 * 1024) as usize,
            allowed_hosts: self.allowed_hosts.clone(),
            allowed_origins: self.allowed_origins.clone(),
            drain: Duration::from_secs(self.drain_seconds),
            tenancy,
            tls: self.tls_cert.clone().zip(self.tls_key.clone()),
            budget_api_requests: self.budget_api_requests,
            budget_graphql_queries: self.budget_graphql_queries,
        };
        let pool = InstancePool {
            instances: u32::try_from(self.max_sessions.saturating_add(16)).unwrap_or(u32::MAX),
            memory_bytes,
        };
        (options, pool)
    }
}
