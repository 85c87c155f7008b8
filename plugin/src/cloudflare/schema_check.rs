//! For tests: Cloudflare's GraphQL schema as the fake uses it (the 2024 dump plus the
//! account-level DNS extensions), and a check that a request would pass its validation.

use apollo_compiler::validation::Valid;
use apollo_compiler::{ExecutableDocument, Schema};
use serde_json::Value;
use std::sync::OnceLock;

pub fn schema() -> &'static Valid<Schema> {
    static SCHEMA: OnceLock<Valid<Schema>> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/graphql/");
        let sdl: String = [
            "cloudflare-graphql-analytics-schema-2024-06-04.graphql",
            "account-dns-analytics.extension.graphql",
            "account-settings.extension.graphql",
        ]
        .iter()
        .map(|f| std::fs::read_to_string(format!("{dir}{f}")).expect("schema file"))
        .collect::<Vec<_>>()
        .join("\n");
        Schema::parse_and_validate(sdl, "schema.graphql").expect("a valid schema")
    })
}

/// Parses, validates and coerces the variables of one request as Cloudflare would, and checks
/// it is within the bounds the host's guard holds every query to.
pub fn assert_valid(query: &str, variables: &Value) {
    let tree = graphql_bounds::parse(query).expect("within the size bound");
    graphql_bounds::check(&tree.document()).unwrap_or_else(|e| panic!("{query}\n{e}"));
    let doc = ExecutableDocument::parse_and_validate(schema(), query, "query.graphql")
        .unwrap_or_else(|e| panic!("{query}\n{}", e.errors));
    let operation = doc.operations.get(None).expect("one operation");
    let variables: apollo_compiler::response::JsonMap =
        serde_json::from_value(variables.clone()).expect("variables");
    apollo_compiler::request::coerce_variable_values(schema(), operation, &variables)
        .unwrap_or_else(|e| panic!("{query}\n{variables:?}\n{}", e.message()));
}
