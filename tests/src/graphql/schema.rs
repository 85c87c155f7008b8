//! Cloudflare's GraphQL Analytics schema, and the parse and validation of every query
//! against it.

use std::sync::OnceLock;

use apollo_compiler::collections::HashMap;
use apollo_compiler::response::{JsonMap, JsonValue};
use apollo_compiler::schema::Implementers;
use apollo_compiler::validation::{DiagnosticList, Valid};
use apollo_compiler::{ExecutableDocument, Name, Schema};
use serde_json::{Map, Value};

pub(super) const BASE_SCHEMA: &str =
    include_str!("../../fixtures/graphql/cloudflare-graphql-analytics-schema-2024-06-04.graphql");
pub(super) const ACCOUNT_DNS_EXTENSION: &str =
    include_str!("../../fixtures/graphql/account-dns-analytics.extension.graphql");
pub(super) const ACCOUNT_SETTINGS_EXTENSION: &str =
    include_str!("../../fixtures/graphql/account-settings.extension.graphql");

/// Cloudflare's GraphQL Analytics schema, parsed and validated once (about a second in debug
/// builds): the 2024-06-04 dump, account-level DNS analytics, and their `AccountSettings` fields.
pub fn graphql_schema() -> &'static Valid<Schema> {
    static SCHEMA: OnceLock<Valid<Schema>> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let sdl = format!("{BASE_SCHEMA}\n{ACCOUNT_DNS_EXTENSION}\n{ACCOUNT_SETTINGS_EXTENSION}\n");
        Schema::parse_and_validate(sdl, "cloudflare-graphql-analytics.graphql")
            .expect("the GraphQL Analytics schema and its extensions are valid")
    })
}

/// Which types implement each interface (introspection's `possibleTypes`), computed once.
pub(super) fn implementers_map() -> &'static HashMap<Name, Implementers> {
    static MAP: OnceLock<HashMap<Name, Implementers>> = OnceLock::new();
    MAP.get_or_init(|| graphql_schema().implementers_map())
}

/// Checks a query and its variables as the fake does before answering: the document must parse
/// and validate against [`graphql_schema`], have exactly one operation (or be given its name by
/// the request; here: the only one), and `variables` (a JSON object or null) must coerce to the
/// declared variable types, so that, for example, an unknown key in a filter object is an error.
/// The error is the message the fake would send.
pub fn validate_graphql(query: &str, variables: &Value) -> Result<(), String> {
    prepare(query, variables, None).map(|_| ())
}

pub(super) struct Prepared {
    pub(super) document: Valid<ExecutableDocument>,
    /// The coerced variables, as apollo-compiler's introspection wants them.
    pub(super) coerced: Valid<JsonMap>,
    pub(super) variables: Map<String, Value>,
}

pub(super) fn prepare(
    query: &str,
    variables: &Value,
    operation_name: Option<&str>,
) -> Result<Prepared, String> {
    let schema = graphql_schema();
    let document = ExecutableDocument::parse_and_validate(schema, query, "query.graphql")
        .map_err(|with_errors| diagnostics_message(&with_errors.errors))?;
    let operation = document
        .operations
        .get(operation_name)
        .map_err(|error| error.message().to_string())?;
    let raw: JsonMap = match variables {
        Value::Null => JsonMap::new(),
        Value::Object(_) => match JsonValue::from(variables.clone()) {
            JsonValue::Object(map) => map,
            _ => JsonMap::new(),
        },
        _ => return Err("variables must be a JSON object".to_owned()),
    };
    let coerced = apollo_compiler::request::coerce_variable_values(schema, operation, &raw)
        .map_err(|error| error.message().to_string())?;
    let variables = match serde_json::to_value(coerced.clone().into_inner()) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    Ok(Prepared {
        document,
        coerced,
        variables,
    })
}

pub(super) fn diagnostics_message(errors: &DiagnosticList) -> String {
    errors
        .iter()
        .map(|diagnostic| {
            let message = diagnostic.error.to_string();
            match diagnostic.line_column_range() {
                Some(range) => format!(
                    "{message} (line {}, column {})",
                    range.start.line, range.start.column
                ),
                None => message,
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}
