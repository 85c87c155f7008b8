//! `cf-harness` as users run it, and the load-time audit. One test binary, not one per file: each
//! links wasmtime.

mod common;

mod audit;
mod cli;
mod errors;
mod mcp;
mod policy;
mod serve;
