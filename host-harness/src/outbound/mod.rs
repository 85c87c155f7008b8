//! The outbound layer: every request the guest makes through `wasi:http/outgoing-handler`,
//! decided by the policy, checked, authenticated by the host, sent to vetted addresses and
//! recorded. It knows nothing of the sandbox, the audit or the front ends above it.

mod body;
pub mod budget;
pub mod graphql_guard;
mod hooks;
pub mod policy;
mod pool;
mod record;
mod resolve;
#[cfg(test)]
mod test_support;
mod tls;

pub use hooks::{OutboundHooks, RequestLimits};
pub use policy::OutboundPolicy;
pub use record::{OutboundRecord, RequestLog, Verdict};
pub use resolve::{Resolve, Resolver};
