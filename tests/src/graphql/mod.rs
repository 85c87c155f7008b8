//! `POST /client/v4/graphql`: every query is parsed and validated against Cloudflare's GraphQL
//! Analytics schema (the 2024-06-04 dump plus two extensions, see `fixtures/README.md`), its
//! variables are coerced to their declared input types, and then a small executor walks the
//! selection:
//!
//! - `viewer { zones(filter: {zoneTag | zoneTag_in}) { … } accounts(filter: {accountTag}) { … } }`,
//!   arguments as literals or variables, aliases, fragments, `@skip`/`@include`, `__typename`;
//! - the datasets of [`Dataset`], over the synthetic events of [`crate::dns_events`] and
//!   [`crate::http_events`], with filters, grouping, `orderBy` and `limit` shared by all of them
//!   ([`crate::analytics`]) and each dataset's limits enforced (see [`Dataset::limits`]);
//! - `settings { <any dataset> { enabled maxDuration notOlderThan maxPageSize
//!   maxNumberOfFields availableFields } }`;
//! - schema introspection (`__schema`, `__type`), executed by apollo-compiler
//!   ([`apollo_compiler::introspection::partial_execute`]) against the same schema;
//! - any other list field answers `[]`; any other field `null`, or the zero value of its type
//!   when it is non-null (`0`, `""`, `false`, `[]`, an object of zero values).
//!
//! Failures are answered as Cloudflare does: HTTP 200, `data: null`, one error with `message`,
//! `path` (for execution errors) and `extensions { code, timestamp }`. Exceptions: the
//! scenarios [`Scenario::GraphqlBudget`] and [`Scenario::GraphqlQuota`] refuse every query with
//! `path: null`; and a zone-scope query over several zones (`zoneTag_in`) of which only some are
//! readable answers the readable zones' data *and* one `authz` error per other zone (see
//! [`Exec::zones`]).

mod answer;
mod datasets;
#[cfg(test)]
mod dns_tests;
mod exec;
#[cfg(test)]
mod http_tests;
mod schema;

use std::cell::RefCell;

use apollo_compiler::executable::Operation;
use axum::response::Response;
use http::StatusCode;
use serde_json::{Value, json};

pub use schema::{graphql_schema, validate_graphql};

use crate::calendar::{rfc3339, unix_now};
use crate::rest::envelope::json_response;
use crate::scenarios::Scenario;
use exec::{Exec, insert_merged};
use schema::{Prepared, implementers_map, prepare};

/// Returned for `viewer { budget }`.
pub(super) const BUDGET: u64 = 1_000_000;

/// The message of every GraphQL answer in [`Scenario::GraphqlBudget`] (code `budget`).
pub const BUDGET_EXCEEDED_MESSAGE: &str = "budget exceeded, please retry later";
/// The message of every GraphQL answer in [`Scenario::GraphqlQuota`] (code `quota`).
pub const QUOTA_EXCEEDED_MESSAGE: &str = "quota exceeded, please retry later";

#[derive(serde::Deserialize)]
struct GraphqlRequest {
    query: String,
    #[serde(default)]
    variables: Value,
    #[serde(default, rename = "operationName")]
    operation_name: Option<String>,
}

pub(crate) fn handle(scenario: Scenario, body: &[u8]) -> Response {
    let Ok(request) = serde_json::from_slice::<GraphqlRequest>(body) else {
        return json_response(
            StatusCode::BAD_REQUEST,
            json!({
                "data": null,
                "errors": [{
                    "message": "failed to parse request body",
                    "extensions": { "code": "bad_request" }
                }]
            }),
        );
    };
    // Budget and quota refusals come before the query is even looked at.
    let exhausted = match scenario {
        Scenario::GraphqlBudget => Some((BUDGET_EXCEEDED_MESSAGE, "budget")),
        Scenario::GraphqlQuota => Some((QUOTA_EXCEEDED_MESSAGE, "quota")),
        _ => None,
    };
    if let Some((message, code)) = exhausted {
        return graphql_error(message, Some(Value::Null), code);
    }
    let prepared = match prepare(
        &request.query,
        &request.variables,
        request.operation_name.as_deref(),
    ) {
        Ok(prepared) => prepared,
        Err(message) => return graphql_error(&message, None, "bad_request"),
    };
    let Ok(operation) = prepared
        .document
        .operations
        .get(request.operation_name.as_deref())
    else {
        return graphql_error("no operation to run", None, "bad_request");
    };
    let introspection = match introspect(&prepared, operation) {
        Ok(data) => data,
        Err(message) => return graphql_error(&message, None, "bad_request"),
    };
    let exec = Exec {
        document: &prepared.document,
        variables: &prepared.variables,
        scenario,
        now: unix_now(),
        partial_errors: RefCell::new(Vec::new()),
    };
    match exec.run(operation) {
        Ok(mut data) => {
            if let (Value::Object(data), Some(Value::Object(introspected))) =
                (&mut data, introspection)
            {
                for (key, value) in introspected {
                    insert_merged(data, &key, value);
                }
            }
            let errors: Vec<Value> = exec
                .partial_errors
                .take()
                .into_iter()
                .map(|error| error.to_json())
                .collect();
            let errors = if errors.is_empty() {
                Value::Null
            } else {
                Value::Array(errors)
            };
            json_response(StatusCode::OK, json!({ "data": data, "errors": errors }))
        }
        Err(error) => graphql_error(&error.message, Some(Value::Array(error.path)), error.code),
    }
}

/// Executes the `__schema` / `__type` root fields of a query with apollo-compiler's
/// introspection (the whole schema: the dump and both extensions); `None` when the query has
/// none.
fn introspect(prepared: &Prepared, operation: &Operation) -> Result<Option<Value>, String> {
    let wanted = operation
        .root_fields(&prepared.document)
        .any(|field| field.name == "__schema" || field.name == "__type");
    if !wanted {
        return Ok(None);
    }
    apollo_compiler::introspection::check_max_depth(&prepared.document, operation)
        .map_err(|error| error.message().to_string())?;
    let response = apollo_compiler::introspection::partial_execute(
        graphql_schema(),
        implementers_map(),
        &prepared.document,
        operation,
        &prepared.coerced,
    )
    .map_err(|error| error.message().to_string())?;
    if let Some(error) = response.errors.first() {
        return Err(error.message.clone());
    }
    Ok(response
        .data
        .and_then(|data| serde_json::to_value(data).ok()))
}

/// GraphQL reports query failures with HTTP 200 and `data: null`. `path: Some(Value::Null)`
/// sends `"path": null`; `None` leaves the key out.
pub(crate) fn graphql_error(message: &str, path: Option<Value>, code: &str) -> Response {
    let mut error = json!({
        "message": message,
        "extensions": { "code": code, "timestamp": rfc3339(unix_now()) }
    });
    if let Some(path) = path {
        error["path"] = path;
    }
    json_response(StatusCode::OK, json!({ "data": null, "errors": [error] }))
}
