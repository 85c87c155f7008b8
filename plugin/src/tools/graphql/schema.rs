//! The GraphQL Analytics tools' JSON Schemas as JSON text, with `"$name"` placeholders for
//! the parts shared between tools or taken from the code's constants.

use crate::cloudflare::graphql_analytics as analytics;
use crate::names;
use crate::tools::schema;
use crate::wit_analytics::{FirewallDimension, HttpDimension};
use serde_json::Value;

pub fn query() -> Value {
    of(QUERY)
}

pub fn dataset_limits() -> Value {
    of(DATASET_LIMITS)
}

pub fn schema_search() -> Value {
    of(SCHEMA_SEARCH)
}

pub fn describe_type() -> Value {
    of(DESCRIBE_TYPE)
}

pub fn http_traffic() -> Value {
    of(HTTP_TRAFFIC)
}

pub fn top_http() -> Value {
    of(TOP_HTTP)
}

pub fn firewall_events() -> Value {
    of(FIREWALL_EVENTS)
}

const QUERY: &str = r#"{
    "type": "object",
    "properties": {
        "query": { "type": "string", "minLength": 1, "maxLength": "$query_chars", "description": "The GraphQL document, e.g. query($accountTag: string!, $since: Time!) { viewer { accounts(filter: {accountTag: $accountTag}) { httpRequestsAdaptiveGroups(limit: 10, filter: {datetime_geq: $since}) { count } } } }" },
        "variables": { "type": "object", "description": "Variables by name." },
        "operation_name": { "type": "string", "maxLength": "$identifier_chars", "description": "Which operation to run when the document has several." },
        "zone": "$zone",
        "max_bytes": { "type": "integer", "minimum": 1024, "default": "$default_max_bytes", "description": "Cut the result above this size." }
    },
    "required": ["query"],
    "additionalProperties": false
}"#;

const DATASET_LIMITS: &str = r#"{
    "type": "object",
    "properties": {
        "dataset": { "type": "string", "maxLength": "$identifier_chars", "pattern": "^[_A-Za-z][_0-9A-Za-z]*$", "description": "e.g. httpRequestsAdaptiveGroups" },
        "zone": "$zone"
    },
    "required": ["dataset"],
    "additionalProperties": false
}"#;

const SCHEMA_SEARCH: &str = r#"{
    "type": "object",
    "properties": {
        "words": { "type": "string", "minLength": 1, "maxLength": "$words_chars", "description": "Words to look for, e.g. country, cache or firewall." },
        "limit": { "type": "integer", "minimum": 1, "maximum": 200, "default": 20, "description": "How many matches to return." }
    },
    "required": ["words"],
    "additionalProperties": false
}"#;

const DESCRIBE_TYPE: &str = r#"{
    "type": "object",
    "properties": { "name": { "type": "string", "minLength": 1, "maxLength": "$identifier_chars", "description": "A type name from graphql_schema_search, e.g. ZoneHttpRequestsAdaptiveGroupsDimensions." } },
    "required": ["name"],
    "additionalProperties": false
}"#;

const HTTP_TRAFFIC: &str = r#"{
    "type": "object",
    "properties": { "zone": "$zone", "since": "$since", "until": "$until" },
    "additionalProperties": false
}"#;

const TOP_HTTP: &str = r#"{
    "type": "object",
    "properties": {
        "zone": "$zone", "since": "$since", "until": "$until",
        "by": { "type": "string", "enum": "$http_dimensions", "description": "The dimension to rank by." },
        "limit": { "type": "integer", "minimum": 1, "maximum": 1000, "default": 10, "description": "How many rows to return." },
        "host": { "type": "string", "maxLength": "$name_chars", "description": "Only requests to this host." }
    },
    "required": ["by"],
    "additionalProperties": false
}"#;

const FIREWALL_EVENTS: &str = r#"{
    "type": "object",
    "properties": {
        "zone": "$zone", "since": "$since", "until": "$until",
        "by": { "type": "array", "items": { "type": "string", "enum": "$firewall_dimensions" }, "uniqueItems": true, "default": ["action"], "description": "What to group the events by." },
        "action": { "type": "string", "maxLength": "$identifier_chars", "description": "Only this action, e.g. block." },
        "limit": { "type": "integer", "minimum": 1, "maximum": 1000, "default": 20, "description": "How many groups to return." }
    },
    "additionalProperties": false
}"#;

/// The schema text with its placeholders filled.
fn of(text: &str) -> Value {
    let property = |text| schema::from_text(text, &[]);
    let fill = [
        (
            "$zone",
            property(
                r#"{ "type": "string", "maxLength": "$name_chars", "description": "Zone ID or name; leave out for the whole account." }"#,
            ),
        ),
        (
            "$since",
            property(
                r#"{ "type": "string", "maxLength": "$time_chars", "description": "Start: RFC 3339, a date, or relative (1h, 24h, 7d). Default: 24h before until." }"#,
            ),
        ),
        (
            "$until",
            property(
                r#"{ "type": "string", "maxLength": "$time_chars", "description": "End (exclusive): RFC 3339, a date (its end), relative, or now. Default: now." }"#,
            ),
        ),
        ("$http_dimensions", names::all::<HttpDimension>().into()),
        (
            "$firewall_dimensions",
            names::all::<FirewallDimension>().into(),
        ),
        ("$default_max_bytes", analytics::DEFAULT_MAX_BYTES.into()),
    ];
    schema::from_text(text, &fill)
}
