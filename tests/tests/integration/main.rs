//! The integration tests: the real component under the real harness, against the fake Cloudflare.
//! One test binary, not one per file: each links wasmtime, and the component compiles once.

mod common;

mod connect;
mod dns;
mod docs;
mod graphql;
mod sandbox;
mod verify;
