//! The `Guest` implementations: thin adapters from the WIT exports to the pure modules.

mod connector;
mod dns;
mod docs;
mod graphql;
mod service;
mod tools;

pub use connector::connection_info;
