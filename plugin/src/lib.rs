//! The Cloudflare connector plugin: a WASI 0.2 component whose only way out is
//! `wasi:http/outgoing-handler`, and which never holds the API token.
//!
//! The modules under `cloudflare/` and `connection.rs` are pure logic over the [`http::Transport`]
//! trait, so they are unit-tested natively; `exports/` holds the `Guest` implementations.

/// Generated from `wit/`; kept in its own module so our `cloudflare` and `exports` modules do
/// not collide with the generated ones.
#[allow(unsafe_code)] // the generated ABI glue is unsafe by nature
mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "connector-plugin",
        additional_derives: [PartialEq],
    });

    use crate::Component;
    export!(Component with_types_in crate::bindings);
}

pub mod cloudflare;
pub mod connection;
pub mod docs;
pub mod error;
mod exports;
#[doc(hidden)]
pub mod fuzzing;
pub mod http;
pub mod json;
pub mod punycode;
pub mod time;
mod tools;

pub use bindings::cloudflare::connector::types as wit_types;
pub use bindings::exports::cloudflare::connector::connector as wit_connector;
pub use bindings::exports::cloudflare::connector::dns_analytics as wit_dns;
pub use bindings::exports::cloudflare::connector::documentation as wit_docs;
pub use bindings::exports::cloudflare::connector::graphql_analytics as wit_analytics;
pub use bindings::exports::cloudflare::connector::tools as wit_tools;

/// The type that implements every exported interface.
pub struct Component;
