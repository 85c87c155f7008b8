//! The wasmtime host for the Cloudflare connector plugin: loads the component, grants it only
//! outbound HTTPS to Cloudflare through a policy, injects the API token on the way out, and
//! limits each call's memory, CPU and wall-clock time.

pub mod audit;
pub mod audit_log;
pub mod compile_cache;
pub mod credentials;
pub mod front;
pub mod graphql_guard;
pub mod policy;
pub mod runtime;

pub use audit::{AuditReport, UngrantedImports};
pub use audit_log::AuditLog;
pub use compile_cache::{CompileCache, LoadSource};
pub use credentials::ApiToken;
pub use front::{mcp, render as report};
pub use policy::OutboundPolicy;
pub use runtime::{
    ApiFailure, Check, CheckStatus, ConnectOptions, ConnectionInfo, GraphqlProblem, InputProblem,
    Permission, PluginError, Service, TokenState, ToolSpec, VerifyReport,
};
pub use runtime::{CallError, Harness, Limits, PluginInstance, SandboxConfig};

/// Where `make build` puts the plugin, relative to the workspace root.
pub const DEFAULT_PLUGIN: &str = "target/wasm32-wasip2/release/cloudflare_connector.wasm";
