//! Cloudflare-specific request building and response parsing, over [`crate::http::Transport`].

pub mod catalog;
pub mod dns_report;
pub mod envelope;
pub mod graphql;
pub mod graphql_analytics;
pub mod graphql_query;
#[cfg(test)]
pub mod schema_check;
pub mod schema_index;
pub mod scope;
pub mod settings;
pub mod text;
pub mod verify;
pub mod zones;
