//! `cf-harness audit`: what a component asks of the host and what the host gives it.
//!
//! Everything about the component is read from its own type information (wasmtime's component
//! types), never from this project's sources: each import and export by its full name, with the
//! functions the component imports or exports. Each import is classified by the sandbox's own
//! grants ([`classify`], which `Harness::load` refuses by too): **granted** (linked and usable),
//! **stubbed** (linked but empty) or **denied** (refused at load). The outbound policy is
//! described by asking it ([`OutboundPolicy::decide`](crate::outbound::policy::OutboundPolicy))
//! about representative requests, so the report says what the policy does rather than what a
//! comment says it does.
//!
//! The audit uses the sandbox (its compile, link and grants), never the reverse.

mod inspect;
mod metadata;
mod policy;
mod render;

use crate::outbound::policy::OutboundPolicy;
use crate::sandbox::Limits;
use serde::Serialize;

pub use crate::sandbox::{Access, RefusedImport, UngrantedImports, classify, ungranted_imports};
pub use inspect::{audit, audit_file, sha256_hex};
pub use metadata::{ComponentMetadata, Producer, ProducersField};
pub use policy::{describe_limits, describe_policy};
pub use render::render;

/// One function of an interface, with its WIT-like signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Function {
    pub name: String,
    /// e.g. `func(request: outgoing-request, options: option<request-options>) -> result<…>`.
    pub signature: String,
}

/// What one import or export holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Item {
    /// The full name, e.g. `wasi:http/outgoing-handler@0.2.4`.
    pub name: String,
    /// `interface` (an instance), `function`, `resource`, `type`, `component`, `module`.
    pub kind: &'static str,
    /// The functions the component imports from (or exports in) the interface.
    pub functions: Vec<Function>,
    /// The resources (handle types) of the interface.
    pub resources: Vec<String>,
}

/// An import, with what the harness does with it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Import {
    #[serde(flatten)]
    pub item: Item,
    pub access: Access,
    /// Why: what the harness links behind it, or why it is refused.
    pub reason: String,
}

/// The component file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ComponentFile {
    /// As given, when read from a file.
    pub path: Option<String>,
    pub size_bytes: u64,
    /// Lowercase hexadecimal SHA-256 of the file's bytes.
    pub sha256: String,
    /// What the file says of its build: producers, package, declared world.
    pub metadata: ComponentMetadata,
}

/// Requests of one method set to one host that the policy lets through.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MethodRule {
    pub methods: Vec<String>,
    /// `["*"]`: any path (but those in `except`); else only these paths.
    pub paths: Vec<String>,
    /// Paths refused even though `paths` is `["*"]`.
    pub except: Vec<String>,
    /// Further conditions: on the query string, on the body.
    pub conditions: Vec<String>,
}

/// What the policy lets through to one allowed host.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HostRules {
    pub host: String,
    pub rules: Vec<MethodRule>,
    /// Whether the host adds `Authorization: Bearer <token>` to this host's requests.
    pub token_injected: bool,
    /// Where this host's requests are really sent (`--upstream`), if redirected.
    pub upstream: Option<String>,
}

/// A `--upstream` redirect in effect.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UpstreamReport {
    pub host: String,
    pub url: String,
    /// Whether the token travels to `url` (it does when the redirected host gets the token).
    pub token_sent: bool,
}

/// The outbound policy, as the policy itself answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OutboundReport {
    /// The only way out.
    pub through: &'static str,
    pub schemes: Vec<String>,
    pub ports: Vec<u16>,
    pub credentials_in_url: bool,
    pub hosts: Vec<HostRules>,
    /// Hosts that get the token (before any redirect).
    pub token_sent_to: Vec<String>,
    /// Allowed hosts that never get it; hosts off the list get nothing at all.
    pub token_never_sent_to: Vec<String>,
    /// What becomes of an `Authorization` header the guest sets.
    pub guest_authorization: &'static str,
    /// What becomes of the token when an answer carries it back (an upstream echoing it).
    pub token_in_answers: &'static str,
    pub upstreams: Vec<UpstreamReport>,
    /// What is denied before leaving the host.
    pub denied: Vec<String>,
}

/// Per-call limits, in bytes, counts and milliseconds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LimitsReport {
    pub memory_bytes: u64,
    pub max_memories: u32,
    pub max_tables: u32,
    pub max_table_elements: u64,
    pub max_instances: u32,
    pub cpu_time_ms: u64,
    /// The granularity of the CPU limit (epoch ticks while guest code runs).
    pub cpu_tick_ms: u64,
    pub wall_clock_ms: u64,
    pub connect_timeout_ms: u64,
    pub first_byte_timeout_ms: u64,
    pub between_bytes_timeout_ms: u64,
    /// Bytes of one response body.
    pub max_response_bytes: u64,
    /// Outbound requests in one call.
    pub max_requests_per_call: u32,
    /// Bytes of one tool call's result.
    pub max_result_bytes: u64,
}

/// The whole audit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditReport {
    pub component: ComponentFile,
    /// Whether `Harness::load` accepts the component.
    pub loads: bool,
    /// Why not, when it does not.
    pub load_error: Option<String>,
    /// Imports refused at load (the denied ones).
    pub refused_imports: Vec<RefusedImport>,
    pub imports: Vec<Import>,
    pub exports: Vec<Item>,
    pub outbound: OutboundReport,
    /// The environment variables the host may give the guest (names only; never the token).
    pub guest_environment: Vec<String>,
    pub limits: LimitsReport,
}

/// What the host grants besides the component: the policy, limits and guest environment.
#[derive(Clone, Copy, Debug)]
pub struct HostSetup<'a> {
    pub policy: &'a OutboundPolicy,
    pub limits: &'a Limits,
    /// Names of the variables the host may pass to the guest.
    pub guest_env: &'a [&'a str],
}
