//! The DNS tools' JSON Schemas, with the enum lists and limits taken from the code's own
//! constants.

use crate::cloudflare::dns_report;
use crate::names;
use crate::tools::schema;
use crate::wit_dns::{
    Bucket, Dimension, FilterOperator, Metric, NameMatch, ReportSource, SortOrder, ZoneStatus,
};
use serde_json::Value;

fn zone() -> Value {
    schema::from_text(
        r#"{
        "type": "string",
        "description": "The zone: its ID (32 hex characters) or its name, e.g. example.com.",
        "minLength": 1,
        "maxLength": "$name_chars"
    }"#,
        &[],
    )
}

fn page() -> Value {
    schema::from_text(
        r#"{ "type": "integer", "minimum": 1, "default": 1, "description": "1-based page number." }"#,
        &[],
    )
}

pub fn list_zones() -> Value {
    schema::from_text(
        r#"{
            "type": "object",
            "properties": {
                "name": { "type": "string", "maxLength": "$name_chars", "description": "Zone name, e.g. example.com." },
                "name_match": { "type": "string", "enum": "$name_matches", "default": "exact", "description": "exact: the whole name; contains: any part of it (case-insensitive)." },
                "status": { "type": "string", "enum": "$statuses", "description": "Only zones in this status." },
                "page": "$page",
                "per_page": { "type": "integer", "minimum": 5, "maximum": 50, "default": 20, "description": "Zones per page." }
            },
            "additionalProperties": false
        }"#,
        &[
            ("$name_matches", names::all::<NameMatch>().into()),
            ("$statuses", names::all::<ZoneStatus>().into()),
            ("$page", page()),
        ],
    )
}

pub fn get_zone() -> Value {
    schema::from_text(
        r#"{
            "type": "object",
            "properties": { "zone": "$zone" },
            "required": ["zone"],
            "additionalProperties": false
        }"#,
        &[("$zone", zone())],
    )
}

pub fn records() -> Value {
    schema::from_text(
        r#"{
            "type": "object",
            "properties": {
                "zone": "$zone",
                "type": { "type": "string", "maxLength": "$identifier_chars", "description": "Record type, e.g. A, AAAA, CNAME, MX, TXT." },
                "name": { "type": "string", "maxLength": "$name_chars", "description": "Exact record name, e.g. www.example.com." },
                "page": "$page",
                "per_page": { "type": "integer", "minimum": 5, "maximum": 5000, "default": 100, "description": "Records per page." }
            },
            "required": ["zone"],
            "additionalProperties": false
        }"#,
        &[("$zone", zone()), ("$page", page())],
    )
}

pub fn report() -> Value {
    report_schema(false)
}

pub fn timeseries() -> Value {
    report_schema(true)
}

/// The report's properties (`dns_report`; `dns_timeseries` adds `bucket`), as JSON text with
/// `"$name"` placeholders that [`report`] fills.
const REPORT_PROPERTIES: &str = r#"{
    "zone": {
        "type": "string",
        "maxLength": "$name_chars",
        "description": "Zone ID or name. Leave out for the whole account (all zones)."
    },
    "dimensions": {
        "type": "array",
        "items": { "type": "string", "enum": "$dimensions" },
        "uniqueItems": true,
        "default": [],
        "description": "What to group by. response-cached needs a Business plan or higher (dropped, and said, otherwise); zone-tag only for account-level."
    },
    "metrics": {
        "type": "array",
        "items": { "type": "string", "enum": "$metrics" },
        "uniqueItems": true,
        "default": ["query-count"],
        "description": "Processing times are in microseconds."
    },
    "filters": {
        "type": "array",
        "maxItems": 20,
        "description": "Conditions, all of which must hold.",
        "items": {
            "type": "object",
            "properties": {
                "dimension": { "type": "string", "enum": "$dimensions" },
                "operator": { "type": "string", "enum": "$operators", "default": "equals" },
                "value": { "type": ["string", "number"], "maxLength": "$name_chars", "description": "For equals / not-equals, e.g. NXDOMAIN." },
                "values": { "type": "array", "items": { "type": "string", "maxLength": "$name_chars" }, "maxItems": 100, "description": "For in / not-in." }
            },
            "required": ["dimension"],
            "additionalProperties": false
        }
    },
    "since": {
        "type": "string",
        "maxLength": "$time_chars",
        "description": "Start: RFC 3339, a date (2026-11-25), or relative to until (1h, 24h, 7d). Default: 24h before until."
    },
    "until": {
        "type": "string",
        "maxLength": "$time_chars",
        "description": "End (exclusive): RFC 3339, a date (its end), relative to now, or now. Default: now."
    },
    "sort": {
        "type": "object",
        "properties": {
            "by": { "type": "string", "enum": "$sort_keys", "default": "query-count" },
            "order": { "type": "string", "enum": "$sort_orders" }
        },
        "additionalProperties": false,
        "description": "Default: query-count descending."
    },
    "limit": "$limit",
    "source": {
        "type": "string",
        "enum": "$sources",
        "default": "graphql",
        "description": "legacy-rest: the deprecated REST report, for a zone where GraphQL is refused."
    }
}"#;

/// `dns_report`'s schema, or `dns_timeseries`'s (`series`: a series limit and `bucket`).
fn report_schema(series: bool) -> Value {
    let dimensions = names::all::<Dimension>();
    let metrics = names::all::<Metric>();
    let mut sort_keys = metrics.clone();
    sort_keys.extend(dimensions.iter().copied());
    let limit = if series {
        schema::from_text(
            r#"{ "type": "integer", "minimum": 1, "maximum": "$max", "default": "$default", "description": "Number of series (the largest groups)." }"#,
            &[
                ("$max", dns_report::MAX_SERIES.into()),
                ("$default", dns_report::DEFAULT_SERIES.into()),
            ],
        )
    } else {
        schema::from_text(
            r#"{ "type": "integer", "minimum": 1, "maximum": "$max", "default": "$default", "description": "Number of rows; truncated says when more existed." }"#,
            &[
                ("$max", dns_report::MAX_ROWS.into()),
                ("$default", dns_report::DEFAULT_ROWS.into()),
            ],
        )
    };
    let mut p = schema::from_text(
        REPORT_PROPERTIES,
        &[
            ("$dimensions", dimensions.into()),
            ("$metrics", metrics.into()),
            ("$operators", names::all::<FilterOperator>().into()),
            ("$sort_orders", names::all::<SortOrder>().into()),
            ("$sources", names::all::<ReportSource>().into()),
            ("$sort_keys", sort_keys.into()),
            ("$limit", limit),
        ],
    );
    if series {
        // `auto` is no bucket: the report picks one from the range.
        let mut buckets = vec!["auto"];
        buckets.extend(names::all::<Bucket>());
        p["bucket"] = schema::from_text(
            r#"{
                "type": "string",
                "enum": "$buckets",
                "default": "auto",
                "description": "auto: five minutes up to 6 hours, hours up to 7 days, then days."
            }"#,
            &[("$buckets", buckets.into())],
        );
    }
    schema::from_text(
        r#"{ "type": "object", "properties": "$properties", "additionalProperties": false }"#,
        &[("$properties", p)],
    )
}
