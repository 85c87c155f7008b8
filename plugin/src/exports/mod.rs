//! The `Guest` implementations: thin adapters from the WIT exports to the pure modules.

mod args;
mod connector;
mod dns;
mod docs;
mod graphql;
mod schema;
mod service;
mod tools;
