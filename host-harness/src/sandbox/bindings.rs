//! The host's bindings of the `connector-plugin` world (wit/), and the names hosts use for them.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "connector-plugin",
    exports: { default: async },
    // Typed arguments reach the audit log as JSON, never as Rust `Debug` text.
    additional_derives: [serde::Serialize],
});

pub use cloudflare::connector::types::{
    ApiFailure, ConnectOptions, Error as PluginError, GraphqlProblem, InputProblem, Permission,
    RateLimit, RateLimiter, Service,
};
pub use exports::cloudflare::connector::connector::{
    Check, CheckStatus, ConnectionInfo, Evidence, PermissionRequirement, SecurityFinding,
    ServiceInfo, ServiceReadiness, TokenInfo, TokenState, VerifyReport,
};
pub use exports::cloudflare::connector::tools::ToolSpec;

/// The DNS Analytics interface's types, for hosts that call its functions directly.
pub mod dns {
    pub use super::exports::cloudflare::connector::dns_analytics::*;
}
/// The Documentation interface's types.
pub mod docs {
    pub use super::exports::cloudflare::connector::documentation::*;
}
/// The GraphQL Analytics interface's types.
pub mod graphql {
    pub use super::exports::cloudflare::connector::graphql_analytics::*;
}
