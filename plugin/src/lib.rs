//! The Cloudflare connector plugin: a WASI 0.2 component whose only way out is
//! `wasi:http/outgoing-handler`, and which never holds the API token.
//!
//! The modules under `cloudflare/` and `connection.rs` are pure logic over the [`http::Transport`]
//! trait, so they are unit-tested natively; `exports/` holds the `Guest` implementations.

// The WIT world it is built for, in a custom section `cf-harness audit` reads (build.rs).
include!(concat!(env!("OUT_DIR"), "/wit_world.rs"));

/// Generated from `wit/`; kept in its own module so our `cloudflare` and `exports` modules do
/// not collide with the generated ones.
#[allow(unsafe_code)] // the generated ABI glue is unsafe by nature
mod bindings {
    /// The bindings, with each WIT enum's case names (kebab-case, as the contract writes them)
    /// and its list of cases derived for the enums named here (the names alone for variants): tool arguments, results and
    /// messages use those names, so no table of them is written by hand.
    macro_rules! generate_with_names {
        (enums: [$($enum_type:literal),* $(,)?], variants: [$($variant_type:literal),* $(,)?]) => {
            wit_bindgen::generate!({
                path: "../wit",
                world: "connector-plugin",
                additional_derives: [PartialEq],
                additional_type_attributes: {
                    $($enum_type: [
                        #[derive(strum::IntoStaticStr, strum::VariantArray)]
                        #[strum(serialize_all = "kebab-case")]
                    ]),*,
                    // A variant's case names only: its cases carry data, so there is no list.
                    $($variant_type: [
                        #[derive(strum::IntoStaticStr)]
                        #[strum(serialize_all = "kebab-case")]
                    ]),*
                },
                // The filter operators' names in tool arguments are shorter than their WIT ones.
                additional_member_attributes: {
                    "cloudflare:connector/dns-analytics@0.1.0/filter-operator.in-list": [#[strum(serialize = "in")]],
                    "cloudflare:connector/dns-analytics@0.1.0/filter-operator.not-in-list": [#[strum(serialize = "not-in")]],
                },
            });
        };
    }

    generate_with_names!(enums: [
        "cloudflare:connector/types@0.1.0/service",
        "cloudflare:connector/types@0.1.0/permission",
        "cloudflare:connector/types@0.1.0/rate-limiter",
        "cloudflare:connector/connector@0.1.0/check-status",
        "cloudflare:connector/connector@0.1.0/token-state",
        "cloudflare:connector/dns-analytics@0.1.0/name-match",
        "cloudflare:connector/dns-analytics@0.1.0/zone-status",
        "cloudflare:connector/dns-analytics@0.1.0/dimension",
        "cloudflare:connector/dns-analytics@0.1.0/metric",
        "cloudflare:connector/dns-analytics@0.1.0/filter-operator",
        "cloudflare:connector/dns-analytics@0.1.0/sort-order",
        "cloudflare:connector/dns-analytics@0.1.0/report-source",
        "cloudflare:connector/dns-analytics@0.1.0/bucket",
        "cloudflare:connector/graphql-analytics@0.1.0/level",
        "cloudflare:connector/graphql-analytics@0.1.0/hit-kind",
        "cloudflare:connector/graphql-analytics@0.1.0/http-dimension",
        "cloudflare:connector/graphql-analytics@0.1.0/firewall-dimension",
    ], variants: ["cloudflare:connector/types@0.1.0/error"]);

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
pub mod input;
pub mod json;
pub mod names;
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
