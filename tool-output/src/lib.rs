//! What every tool answers, as one Rust type per result, and the one shape of a tool error.
//!
//! The plugin builds these from the WIT records and serializes them (serde) as `call-tool`'s
//! JSON; its build script derives their JSON Schemas (schemars, feature `schema`) as each tool's
//! `output-schema`, so the schema and the result come from the same type and the component
//! carries the schemas' text but not schemars. The host uses [`ToolError`] for MCP's error
//! results and their schema.

#[cfg(feature = "schema")]
pub mod schema;

pub mod component;

mod dns;
mod docs;
mod error;
mod general;
mod graphql;
mod row;

pub use dns::*;
pub use docs::*;
pub use error::*;
pub use general::*;
pub use graphql::*;
pub use row::{Cell, Row};

/// Derives for a result type: serde for the plugin, and schemars when the schemas are built.
macro_rules! output {
    ($($item:item)*) => {
        $(
            #[derive(serde::Serialize, Debug)]
            #[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
            $item
        )*
    };
}
pub(crate) use output;

output! {
    /// A zone named in a result.
    pub struct ZoneRef<'a> {
        /// The zone ID: 32 hexadecimal characters.
        pub id: &'a str,
        /// The zone's domain name.
        pub name: &'a str,
        /// Its plan (Free, Pro, Business, Enterprise), when known.
        pub plan: Option<&'a str>,
    }

    /// What a report covered.
    pub struct Scope<'a> {
        pub account_id: &'a str,
        /// Absent for an account-level report.
        pub zone: Option<ZoneRef<'a>>,
        /// `zone` or `account`.
        pub level: &'static str,
        /// The dataset read, or the legacy REST path.
        pub dataset: &'a str,
        /// The effective range, RFC 3339, `since` inclusive.
        pub since: &'a str,
        /// `until` exclusive.
        pub until: &'a str,
    }

    /// One entry of a GraphQL response's `errors`.
    pub struct GraphqlProblem<'a> {
        pub message: &'a str,
        /// The path of the field that failed.
        pub path: &'a [String],
        /// `extensions.code`, for example `authz`, `budget` or `quota`.
        pub code: Option<&'a str>,
        /// What to change, for the codes and messages the connector knows.
        pub hint: Option<&'a str>,
    }
}
