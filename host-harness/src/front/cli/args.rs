//! The command line: `cf-harness`'s global flags, its commands and how their values are read.

use crate::front::mcp_transport::DEFAULT_MAX_MESSAGE_MIB;
use crate::front::serve;
use crate::sandbox::limit_defaults as defaults;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "cf-harness",
    version,
    about = "Run the Cloudflare connector plugin in a WebAssembly sandbox",
    after_help = "The API token comes from CLOUDFLARE_API_TOKEN or --token-file, never from the \
                  command line. The plugin never sees it: the host adds it to requests for \
                  api.cloudflare.com only."
)]
pub(super) struct Cli {
    /// The plugin component.
    #[arg(long, global = true, env = "CF_PLUGIN", default_value = crate::DEFAULT_PLUGIN)]
    pub(super) plugin: PathBuf,
    /// The Cloudflare account ID (32 hexadecimal characters).
    #[arg(long, global = true, env = "CLOUDFLARE_ACCOUNT_ID")]
    pub(super) account_id: Option<String>,
    /// Services to enable, comma-separated: Documentation, DNS Analytics, GraphQL Analytics.
    #[arg(long, global = true, env = "ENABLED_SERVICES")]
    pub(super) services: Option<String>,
    /// Read the API token from this file instead of CLOUDFLARE_API_TOKEN.
    #[arg(long, global = true)]
    pub(super) token_file: Option<PathBuf>,
    /// Send requests for an allowed HOST to URL instead, e.g. api.cloudflare.com=http://127.0.0.1:8787 (repeatable).
    #[arg(long = "upstream", global = true, value_name = "HOST=URL")]
    pub(super) upstreams: Vec<String>,
    /// Print machine-readable JSON.
    #[arg(long, global = true)]
    pub(super) json: bool,
    /// Wall-clock limit of one plugin call, in seconds.
    #[arg(long, global = true, default_value_t = defaults::TIMEOUT_SECONDS)]
    pub(super) timeout: u64,
    /// Longest wait, in seconds, for an answer to begin and between two of its bytes (fractions
    /// allowed); past it the request fails as a transport error.
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = defaults::READ_TIMEOUT_SECONDS, value_parser = positive_seconds)]
    pub(super) read_timeout: f64,
    /// Linear memory of the plugin instance, in MiB.
    #[arg(long, global = true, value_name = "MIB", default_value_t = defaults::MEMORY_MIB, value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub(super) memory_mib: u64,
    /// Guest CPU time of one plugin call, in seconds (fractions allowed, counted in 10 ms ticks).
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = defaults::CPU_SECONDS, value_parser = positive_seconds)]
    pub(super) cpu_seconds: f64,
    /// Largest response body the plugin may receive, in MiB; a larger one ends with an error.
    #[arg(long, global = true, value_name = "MIB", default_value_t = defaults::MAX_RESPONSE_MIB, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub(super) max_response_mib: u64,
    /// Largest result one tool call may return, in MiB; a larger one is refused.
    #[arg(long, global = true, value_name = "MIB", default_value_t = defaults::MAX_RESULT_MIB, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub(super) max_result_mib: u64,
    /// Outbound requests one plugin call may make; later ones are denied.
    #[arg(long, global = true, value_name = "N", default_value_t = defaults::MAX_REQUESTS, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub(super) max_requests: u32,
    /// Where compiled components are kept between runs (default: the user's cache folder,
    /// e.g. ~/.cache/cf-harness).
    #[arg(long, global = true, env = "CF_HARNESS_CACHE_DIR", value_name = "DIR")]
    pub(super) cache_dir: Option<PathBuf>,
    /// Compile the component at every start instead of using the compile cache.
    #[arg(long, global = true)]
    pub(super) no_cache: bool,
    /// Append each plugin call and its outbound requests to this file as JSON lines (created
    /// private to the user; token-like argument values redacted; never the token).
    #[arg(long, global = true, value_name = "PATH")]
    pub(super) audit_log: Option<PathBuf>,
    /// Rotate the audit log before it grows past this many MiB (fractions allowed): PATH
    /// becomes PATH.1, older ones PATH.2, PATH.3, … (none deleted). Default: no rotation.
    #[arg(long, global = true, value_name = "MIB", value_parser = audit_log_mib)]
    pub(super) audit_log_max_mib: Option<f64>,
    /// A reviewed policy file (TOML, docs/policy.md): the component's digest, the services, per
    /// host the methods and paths, limits as ceilings, the audit log. It can only narrow the
    /// built-in rules.
    #[arg(long, global = true, env = "CF_HARNESS_POLICY", value_name = "FILE")]
    pub(super) policy: Option<PathBuf>,
    /// Log each outbound request to stderr.
    #[arg(long, short, global = true)]
    pub(super) verbose: bool,
    /// Refused: a token on the command line is visible to other users of the machine.
    #[arg(long, global = true, hide = true)]
    pub(super) token: Option<String>,
    #[command(subcommand)]
    pub(super) command: Command,
    /// The limit flags given on the command line or in the environment, not defaulted (a
    /// policy file refuses those above its ceilings and lowers the defaults).
    #[arg(skip)]
    pub(super) given: Vec<String>,
}

/// The limit flags' ids, as clap names them.
pub(super) const LIMIT_FLAGS: [&str; 7] = [
    "timeout",
    "memory_mib",
    "cpu_seconds",
    "read_timeout",
    "max_response_mib",
    "max_result_mib",
    "max_requests",
];

#[derive(Subcommand, Debug)]
pub(super) enum Command {
    /// Validate the connection options and show what each service needs.
    Connect,
    /// Check the token, the account and every permission the enabled services need.
    Verify,
    /// List the plugin's tools.
    Tools,
    /// Serve the plugin's tools over MCP on stdin/stdout (logs go to stderr).
    Mcp {
        /// Largest message taken, in MiB; a longer line is answered with an error and skipped.
        #[arg(long, value_name = "MIB", default_value_t = DEFAULT_MAX_MESSAGE_MIB, value_parser = clap::value_parser!(u64).range(1..=1024))]
        max_message_mib: u64,
    },
    /// Serve the plugin's tools over MCP Streamable HTTP at /mcp, for many tenants: each
    /// request carries its own Cloudflare token (Authorization: Bearer), account
    /// (X-Cloudflare-Account-Id) and services (X-Cloudflare-Enabled-Services).
    ///
    /// Also answers GET /healthz (alive) and /readyz (200 once the plugin is compiled). Stops on
    /// SIGTERM or SIGINT, giving in-flight calls --drain-seconds.
    Serve(serve::ServeArgs),
    /// Call a tool with JSON arguments.
    Call {
        /// The tool's name (see `tools`).
        tool: String,
        /// The arguments as a JSON object.
        #[arg(default_value = "{}")]
        arguments: String,
    },
    /// Show the component's imports and exports, what the harness grants, stubs or denies,
    /// the outbound policy and the limits.
    ///
    /// Needs no token, account or network. Exits 0 when the harness loads the component, 1 when
    /// it refuses it (an import it does not grant, such as wasi:sockets).
    Audit {
        /// The component to audit (default: --plugin).
        #[arg(id = "audit_plugin", value_name = "PLUGIN")]
        plugin: Option<PathBuf>,
    },
    /// Check an audit log (--audit-log) for lines edited, removed, reordered or cut short.
    AuditLog {
        #[command(subcommand)]
        command: AuditLogCommand,
    },
    /// Write the policy file (--policy) a security team reviews.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
}

#[derive(Subcommand, Debug)]
pub(super) enum PolicyCommand {
    /// Print today's effective policy as a policy file: the component's SHA-256 (--plugin),
    /// every service, the built-in host rules, the limits the flags give and the audit log.
    Init,
}

#[derive(Subcommand, Debug)]
pub(super) enum AuditLogCommand {
    /// Walk the hash chain through the files and report the first line that breaks it.
    ///
    /// Give the rotated files oldest first: `log.2 log.1 log`. Needs no token, account or
    /// plugin. Exits 0 when the chain holds, 1 at a break, 2 when a file cannot be read.
    Verify {
        /// The log's files, oldest first.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
}

/// `--cpu-seconds`, `--read-timeout`: a positive number of seconds, at most an hour.
fn positive_seconds(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(s) if s.is_finite() && s > 0.0 && s <= 3600.0 => Ok(s),
        _ => Err(format!("{text:?} is not a number of seconds in (0, 3600]")),
    }
}

/// `--audit-log-max-mib`: a positive number of MiB, at most 1 TiB.
fn audit_log_mib(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(m) if m.is_finite() && m > 0.0 && m <= 1_048_576.0 => Ok(m),
        _ => Err(format!("{text:?} is not a number of MiB in (0, 1048576]")),
    }
}
