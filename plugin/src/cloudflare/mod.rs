//! Cloudflare-specific request building and response parsing, over [`crate::http::Transport`].

pub mod catalog;
pub mod dns_report;
pub mod envelope;
pub mod graphql;
pub mod schema_index;
pub mod verify;
pub mod zones;
