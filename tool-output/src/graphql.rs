//! The GraphQL Analytics service's tools.

use crate::{GraphqlProblem, Row, Scope, ZoneRef, output};
use serde_json::value::RawValue;

output! {
    /// `graphql_query`: the answer's `data` (cut to `max_bytes`) and what was done to it.
    pub struct QueryResult<'a> {
        /// The GraphQL `data`, as Cloudflare answered it (null when there was none).
        #[cfg_attr(feature = "schema", schemars(with = "serde_json::Value"))]
        pub data: Option<&'a RawValue>,
        /// The answer's `errors`, each with a hint where the connector knows one.
        pub problems: Vec<GraphqlProblem<'a>>,
        /// Variables the connector filled in (the account, the zone, the time range).
        pub filled: &'a [String],
        /// The datasets the query reads.
        pub datasets: &'a [String],
        /// Lists cut to keep the answer within `max_bytes`.
        pub cuts: Vec<Cut<'a>>,
        pub notes: &'a [String],
    }

    /// A list the answer was cut at.
    pub struct Cut<'a> {
        pub path: &'a str,
        pub rows_returned: u32,
        pub rows_received: u32,
        /// How to get the rest.
        pub advice: &'a str,
    }

    /// `graphql_dataset_limits`: what a dataset allows for this account or zone.
    pub struct Limits<'a> {
        pub dataset: &'a str,
        /// `zone` or `account`.
        pub level: &'static str,
        pub zone: Option<ZoneRef<'a>>,
        pub enabled: bool,
        pub max_duration_seconds: i64,
        pub not_older_than_seconds: i64,
        pub max_page_size: u32,
        pub max_number_of_fields: u32,
        pub available_fields: &'a [String],
    }

    /// `graphql_schema_search`: schema entries matching the words.
    pub struct SchemaSearch<'a> {
        pub hits: Vec<SchemaHit<'a>>,
        pub types_indexed: u32,
        pub from_cache: bool,
    }

    /// A schema entry.
    pub struct SchemaHit<'a> {
        /// `dataset`, `field`, `argument`, `filter-key`, `enum-value` or `type`.
        pub kind: &'static str,
        /// The type it belongs to.
        pub owner: &'a str,
        pub name: &'a str,
        #[serde(rename = "type")]
        pub type_ref: &'a str,
        pub description: Option<&'a str>,
        /// `zone`, `account` or both, for a dataset.
        pub levels: Vec<&'static str>,
        pub also_in: &'a [String],
        pub variants: &'a [String],
    }

    /// `graphql_describe_type`: one type of the schema.
    pub struct TypeDescription<'a> {
        pub name: &'a str,
        pub kind: &'a str,
        pub description: Option<&'a str>,
        pub fields: Vec<TypeField<'a>>,
        pub input_fields: Vec<TypeField<'a>>,
        pub enum_values: &'a [String],
        pub from_cache: bool,
    }

    /// A field of a type.
    pub struct TypeField<'a> {
        pub name: &'a str,
        #[serde(rename = "type")]
        pub type_ref: &'a str,
        pub description: Option<&'a str>,
        pub arguments: &'a [String],
    }

    /// `graphql_http_traffic`: requests, bytes and cache share over the range.
    pub struct TrafficSummary<'a> {
        pub scope: Scope<'a>,
        pub requests: u64,
        pub bytes: u64,
        pub cached_requests: u64,
        pub cached_bytes: u64,
        /// Cached requests over all requests, 0 to 1.
        pub cached_share: f64,
        pub statuses: StatusClasses,
        pub points: Vec<TrafficPoint<'a>>,
        pub notes: &'a [String],
    }

    /// Requests by status class.
    pub struct StatusClasses {
        #[serde(rename = "1xx")]
        pub informational: u64,
        #[serde(rename = "2xx")]
        pub success: u64,
        #[serde(rename = "3xx")]
        pub redirection: u64,
        #[serde(rename = "4xx")]
        pub client_error: u64,
        #[serde(rename = "5xx")]
        pub server_error: u64,
    }

    /// One time bucket of traffic.
    pub struct TrafficPoint<'a> {
        pub time: &'a str,
        pub requests: u64,
        pub bytes: u64,
        pub cached_requests: u64,
        pub cached_bytes: u64,
        pub statuses: StatusClasses,
    }

    /// `graphql_top_http`: the top values of one dimension by requests.
    pub struct TopReport<'a> {
        pub scope: Scope<'a>,
        /// The dimension: `country`, `host`, `path`, `status`, `user-agent` or `colo`.
        pub by: &'static str,
        pub rows: Vec<TopRow<'a>>,
        pub total_requests: u64,
        pub truncated: bool,
        pub notes: &'a [String],
    }

    /// A value and its traffic.
    pub struct TopRow<'a> {
        pub value: &'a str,
        pub requests: u64,
        pub bytes: u64,
        /// Of all requests, 0 to 1.
        pub share: f64,
    }

    /// `graphql_firewall_events`: security events grouped by the dimensions asked for.
    pub struct FirewallReport<'a> {
        pub scope: Scope<'a>,
        pub by: Vec<&'static str>,
        /// A value per dimension of `by`, and `events`.
        pub rows: Vec<Row<'a>>,
        pub total_events: u64,
        pub truncated: bool,
        pub notes: &'a [String],
    }
}
