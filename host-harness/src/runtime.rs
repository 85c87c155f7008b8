//! The host's former god module, kept as a path: its items now live in the sandbox layer
//! (engine, limits, instances, calls) and the outbound layer (hooks, resolver, records).

pub use crate::outbound::{OutboundRecord, Resolve, Resolver, Verdict};
pub use crate::sandbox::*;
