//! The `Guest` implementations: thin adapters from the WIT exports to the pure modules.

pub(crate) mod args;
mod connector;
mod dns;
mod docs;
mod graphql;
pub(crate) mod schema;
mod service;
pub(crate) mod tools;
