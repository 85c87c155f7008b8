//! The sandbox layer: the engine, the linker and what it grants (refusing the rest at load),
//! the store and its limits, instances and their typed calls, and the errors of a call. It uses
//! the outbound layer for the guest's requests, never the audit or the front ends.

pub mod audit_log;
mod bindings;
mod call;
pub mod compile_cache;
mod engine;
mod error;
mod instance;
mod limits;
mod services;
mod typed_calls;

pub use audit_log::AuditLog;
pub use bindings::*;
pub use compile_cache::{CompileCache, LoadSource};
pub use engine::{
    Access, InstancePool, RefusedImport, UngrantedImports, classify, compile, link,
    ungranted_imports,
};
pub use error::{CallError, plugin_error_kind};
pub use instance::{Harness, PluginInstance, PluginState, SandboxConfig};
pub use limits::{
    EPOCH_TICK, Limits, MAX_INSTANCES, MAX_MEMORIES, MAX_TABLE_ELEMENTS, MAX_TABLES,
    defaults as limit_defaults,
};
pub use services::{SERVICES, ServiceRule, parse_service, service_names};
pub use typed_calls::Answer;
