//! The `graphql-analytics` exports and their tools.

use crate::cloudflare::graphql_analytics::{self as analytics, AnalyticsCache, level_name};
use crate::cloudflare::schema_index::{self, SchemaIndex};
use crate::error::invalid;
use crate::exports::{args, schema, service};
use crate::http::WasiTransport;
use crate::json::{ToJson, object, owned};
use crate::time;
use crate::wit_analytics::{
    FirewallDimension, FirewallReport, FirewallRequest, Guest, HitKind, HttpDimension, Limits,
    QueryRequest, QueryResult, SchemaHit, SchemaSearchResult, StatusClasses, TopReport, TopRequest,
    TrafficRequest, TrafficSummary, TypeDescription, TypeField,
};
use crate::wit_types::{Error, Service, TimeRange};
use crate::{Component, cloudflare, json as common_json};
use serde_json::{Map, Value};
use std::sync::{LazyLock, Mutex};

/// What this instance keeps for the service: zones, limits, and the schema once fetched.
#[derive(Default)]
struct State {
    cache: AnalyticsCache,
    schema: Option<SchemaIndex>,
}

static STATE: LazyLock<Mutex<(String, State)>> = LazyLock::new(Mutex::default);

fn with_service<T>(
    run: impl FnOnce(&WasiTransport, &mut State, &str) -> Result<T, Error>,
) -> Result<T, Error> {
    service::with_state(Service::GraphqlAnalytics, &STATE, run)
}

/// The schema index, fetched by introspection on first use and kept.
fn schema<'a>(
    transport: &WasiTransport,
    state: &'a mut State,
) -> Result<(&'a SchemaIndex, bool), Error> {
    let from_cache = state.schema.is_some();
    if state.schema.is_none() {
        state.schema = Some(cloudflare::graphql_analytics::fetch_schema(transport)?);
    }
    match &state.schema {
        Some(index) => Ok((index, from_cache)),
        None => Err(Error::Internal("schema index missing after fetch".into())),
    }
}

impl Guest for Component {
    fn query(request: QueryRequest) -> Result<QueryResult, Error> {
        with_service(|t, s, account| {
            analytics::query(t, &mut s.cache, account, &request, time::now_unix())
        })
    }

    fn dataset_limits(dataset: String, zone: Option<String>) -> Result<Limits, Error> {
        with_service(|t, s, account| {
            analytics::dataset_limits(t, &mut s.cache, account, &dataset, zone.as_deref())
        })
    }

    fn schema_search(words: String, limit: Option<u32>) -> Result<SchemaSearchResult, Error> {
        if words.trim().is_empty() {
            return Err(invalid(
                "words",
                "give a word, for example country, cache or firewall",
            ));
        }
        let limit = limit.unwrap_or(20);
        if !(1..=200).contains(&limit) {
            return Err(invalid("limit", "must be between 1 and 200"));
        }
        with_service(|t, s, _| {
            let (index, from_cache) = schema(t, s)?;
            Ok(SchemaSearchResult {
                hits: index
                    .search(&words, limit as usize)
                    .into_iter()
                    .map(hit)
                    .collect(),
                types_indexed: index.type_count() as u32,
                from_cache,
            })
        })
    }

    fn describe_type(name: String) -> Result<TypeDescription, Error> {
        with_service(|t, s, _| {
            let (index, from_cache) = schema(t, s)?;
            let Some(found) = index.describe(name.trim()) else {
                let close = index.suggest(name.trim(), 5);
                return Err(invalid(
                    "name",
                    format!(
                        "no type {name:?} in the schema{}",
                        if close.is_empty() {
                            String::new()
                        } else {
                            format!("; close names: {}", close.join(", "))
                        }
                    ),
                ));
            };
            Ok(describe(found, from_cache))
        })
    }

    fn http_traffic(request: TrafficRequest) -> Result<TrafficSummary, Error> {
        with_service(|t, s, account| {
            analytics::http_traffic(t, &mut s.cache, account, &request, time::now_unix())
        })
    }

    fn top_http(request: TopRequest) -> Result<TopReport, Error> {
        with_service(|t, s, account| {
            analytics::top_http(t, &mut s.cache, account, &request, time::now_unix())
        })
    }

    fn firewall_events(request: FirewallRequest) -> Result<FirewallReport, Error> {
        with_service(|t, s, account| {
            analytics::firewall_events(t, &mut s.cache, account, &request, time::now_unix())
        })
    }
}

fn hit(h: schema_index::SchemaHit) -> SchemaHit {
    SchemaHit {
        kind: match h.kind {
            schema_index::HitKind::Dataset => HitKind::Dataset,
            schema_index::HitKind::Field => HitKind::Field,
            schema_index::HitKind::Argument => HitKind::Argument,
            schema_index::HitKind::FilterKey => HitKind::FilterKey,
            schema_index::HitKind::EnumValue => HitKind::EnumValue,
            schema_index::HitKind::Type => HitKind::Type,
        },
        owner: h.owner,
        name: h.name,
        type_ref: h.type_ref,
        description: h.description,
        levels: h
            .scopes
            .into_iter()
            .map(|s| match s {
                schema_index::Scope::Zone => crate::wit_analytics::Level::Zone,
                schema_index::Scope::Account => crate::wit_analytics::Level::Account,
            })
            .collect(),
        also_in: h.also_in.into_iter().take(5).collect(),
        variants: h.variants,
    }
}

fn describe(t: schema_index::TypeDescription, from_cache: bool) -> TypeDescription {
    let value = |v: schema_index::ValueDescription| TypeField {
        name: v.name,
        type_ref: v.type_ref,
        description: v.description,
        arguments: Vec::new(),
    };
    TypeDescription {
        name: t.name,
        kind: t.kind.as_str().to_string(),
        description: t.description,
        fields: t
            .fields
            .into_iter()
            .map(|f| TypeField {
                name: f.name,
                type_ref: f.type_ref,
                description: f.description,
                arguments: f
                    .args
                    .into_iter()
                    .map(|a| format!("{}: {}", a.name, a.type_ref))
                    .collect(),
            })
            .collect(),
        input_fields: t.input_fields.into_iter().map(value).collect(),
        enum_values: t.enum_values.into_iter().map(|v| v.name).collect(),
        from_cache,
    }
}

// ---------------------------------------------------------------------------------------------
// Tools

/// Runs a GraphQL Analytics tool, or `None` when the name is not one.
pub fn call_tool(name: &str, a: &Map<String, Value>) -> Option<Result<Value, Error>> {
    let result = match name {
        "graphql_query" => query_request(a)
            .and_then(<Component as Guest>::query)
            .map(|r| query_json(&r)),
        "graphql_dataset_limits" => args::only(a, &["dataset", "zone"])
            .and_then(|()| {
                <Component as Guest>::dataset_limits(
                    args::required_string(a, "dataset")?,
                    args::string(a, "zone")?,
                )
            })
            .map(|l| limits_json(&l)),
        "graphql_schema_search" => args::only(a, &["words", "limit"])
            .and_then(|()| {
                <Component as Guest>::schema_search(
                    args::required_string(a, "words")?,
                    args::integer(a, "limit")?,
                )
            })
            .map(|r| search_json(&r)),
        "graphql_describe_type" => args::only(a, &["name"])
            .and_then(|()| <Component as Guest>::describe_type(args::required_string(a, "name")?))
            .map(|t| type_json(&t)),
        "graphql_http_traffic" => args::only(a, &["zone", "since", "until"])
            .and_then(|()| {
                <Component as Guest>::http_traffic(TrafficRequest {
                    zone: args::string(a, "zone")?,
                    range: range(a)?,
                })
            })
            .map(|r| traffic_json(&r)),
        "graphql_top_http" => top_request(a)
            .and_then(<Component as Guest>::top_http)
            .map(|r| top_json(&r)),
        "graphql_firewall_events" => firewall_request(a)
            .and_then(<Component as Guest>::firewall_events)
            .map(|r| firewall_json(&r)),
        _ => return None,
    };
    Some(result)
}

fn range(a: &Map<String, Value>) -> Result<TimeRange, Error> {
    Ok(TimeRange {
        since: args::string(a, "since")?,
        until: args::string(a, "until")?,
    })
}

fn query_request(a: &Map<String, Value>) -> Result<QueryRequest, Error> {
    args::only(
        a,
        &["query", "variables", "operation_name", "zone", "max_bytes"],
    )?;
    let variables = match a.get("variables") {
        None | Some(Value::Null) => None,
        Some(Value::Object(map)) => Some(Value::Object(map.clone()).to_string()),
        Some(Value::String(text)) => Some(text.clone()),
        Some(_) => return Err(invalid("variables", "must be a JSON object")),
    };
    Ok(QueryRequest {
        query: args::required_string(a, "query")?,
        variables,
        operation_name: args::string(a, "operation_name")?,
        zone: args::string(a, "zone")?,
        max_bytes: args::integer(a, "max_bytes")?,
    })
}

pub const HTTP_DIMENSIONS: [HttpDimension; 6] = [
    HttpDimension::Country,
    HttpDimension::Host,
    HttpDimension::Path,
    HttpDimension::Status,
    HttpDimension::UserAgent,
    HttpDimension::Colo,
];

pub fn http_dimension_name(d: HttpDimension) -> &'static str {
    match d {
        HttpDimension::Country => "country",
        HttpDimension::Host => "host",
        HttpDimension::Path => "path",
        HttpDimension::Status => "status",
        HttpDimension::UserAgent => "user-agent",
        HttpDimension::Colo => "colo",
    }
}

pub const FIREWALL_DIMENSIONS: [FirewallDimension; 4] = [
    FirewallDimension::Action,
    FirewallDimension::Rule,
    FirewallDimension::Source,
    FirewallDimension::Country,
];

pub fn firewall_dimension_name(d: FirewallDimension) -> &'static str {
    match d {
        FirewallDimension::Action => "action",
        FirewallDimension::Rule => "rule",
        FirewallDimension::Source => "source",
        FirewallDimension::Country => "country",
    }
}

fn top_request(a: &Map<String, Value>) -> Result<TopRequest, Error> {
    args::only(a, &["zone", "since", "until", "by", "limit", "host"])?;
    let by = args::required_string(a, "by")?;
    Ok(TopRequest {
        zone: args::string(a, "zone")?,
        range: range(a)?,
        by: args::pick("by", &by, &HTTP_DIMENSIONS, http_dimension_name)?,
        limit: args::integer(a, "limit")?,
        host: args::string(a, "host")?,
    })
}

fn firewall_request(a: &Map<String, Value>) -> Result<FirewallRequest, Error> {
    args::only(a, &["zone", "since", "until", "by", "action", "limit"])?;
    let by = args::strings(a, "by")?
        .iter()
        .map(|d| args::pick("by", d, &FIREWALL_DIMENSIONS, firewall_dimension_name))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(FirewallRequest {
        zone: args::string(a, "zone")?,
        range: range(a)?,
        by,
        action: args::string(a, "action")?,
        limit: args::integer(a, "limit")?,
    })
}

fn query_json(r: &QueryResult) -> Value {
    let cuts = r.cuts.iter().map(|c| {
        object(&[
            ("path", &c.path),
            ("rows_returned", &c.rows_returned),
            ("rows_received", &c.rows_received),
            ("advice", &c.advice),
        ])
    });
    let problems = r.problems.iter().map(common_json::graphql_problem);
    object(&[
        (
            "data",
            &owned(serde_json::from_str::<Value>(&r.data).unwrap_or(Value::Null)),
        ),
        ("problems", &owned(problems.collect::<Value>())),
        ("filled", &r.filled),
        ("datasets", &r.datasets),
        ("cuts", &owned(cuts.collect::<Value>())),
        ("notes", &r.notes),
    ])
}

fn limits_json(l: &Limits) -> Value {
    let zone = l
        .zone
        .as_ref()
        .map(|z| object(&[("id", &z.id), ("name", &z.name), ("plan", &z.plan)]));
    object(&[
        ("dataset", &l.dataset),
        ("level", &level_name(l.level)),
        ("zone", &owned(zone)),
        ("enabled", &l.enabled),
        ("max_duration_seconds", &l.max_duration_seconds),
        ("not_older_than_seconds", &l.not_older_than_seconds),
        ("max_page_size", &l.max_page_size),
        ("max_number_of_fields", &l.max_number_of_fields),
        ("available_fields", &l.available_fields),
    ])
}

fn hit_kind_name(k: HitKind) -> &'static str {
    match k {
        HitKind::Dataset => "dataset",
        HitKind::Field => "field",
        HitKind::Argument => "argument",
        HitKind::FilterKey => "filter-key",
        HitKind::EnumValue => "enum-value",
        HitKind::Type => "type",
    }
}

fn search_json(r: &SchemaSearchResult) -> Value {
    let hits = r.hits.iter().map(|h| {
        let levels: Vec<&str> = h.levels.iter().map(|l| level_name(*l)).collect();
        object(&[
            ("kind", &hit_kind_name(h.kind)),
            ("owner", &h.owner),
            ("name", &h.name),
            ("type", &h.type_ref),
            ("description", &h.description),
            ("levels", &levels),
            ("also_in", &h.also_in),
            ("variants", &h.variants),
        ])
    });
    object(&[
        ("hits", &owned(hits.collect::<Value>())),
        ("types_indexed", &r.types_indexed),
        ("from_cache", &r.from_cache),
    ])
}

fn type_json(t: &TypeDescription) -> Value {
    let fields = |list: &[TypeField]| {
        list.iter()
            .map(|f| {
                object(&[
                    ("name", &f.name),
                    ("type", &f.type_ref),
                    ("description", &f.description),
                    ("arguments", &f.arguments),
                ])
            })
            .collect::<Value>()
    };
    object(&[
        ("name", &t.name),
        ("kind", &t.kind),
        ("description", &t.description),
        ("fields", &owned(fields(&t.fields))),
        ("input_fields", &owned(fields(&t.input_fields))),
        ("enum_values", &t.enum_values),
        ("from_cache", &t.from_cache),
    ])
}

fn statuses_json(s: &StatusClasses) -> Value {
    object(&[
        ("1xx", &s.informational),
        ("2xx", &s.success),
        ("3xx", &s.redirection),
        ("4xx", &s.client_error),
        ("5xx", &s.server_error),
    ])
}

fn traffic_json(t: &TrafficSummary) -> Value {
    let points = t.points.iter().map(|p| {
        object(&[
            ("time", &p.time),
            ("requests", &p.requests),
            ("bytes", &p.bytes),
            ("cached_requests", &p.cached_requests),
            ("cached_bytes", &p.cached_bytes),
            ("statuses", &owned(statuses_json(&p.statuses))),
        ])
    });
    object(&[
        ("scope", &owned(common_json::report_scope(&t.scope))),
        ("requests", &t.requests),
        ("bytes", &t.bytes),
        ("cached_requests", &t.cached_requests),
        ("cached_bytes", &t.cached_bytes),
        ("cached_share", &t.cached_share),
        ("statuses", &owned(statuses_json(&t.statuses))),
        ("points", &owned(points.collect::<Value>())),
        ("notes", &t.notes),
    ])
}

fn top_json(t: &TopReport) -> Value {
    let rows = t.rows.iter().map(|r| {
        object(&[
            ("value", &r.value),
            ("requests", &r.requests),
            ("bytes", &r.bytes),
            ("share", &r.share),
        ])
    });
    object(&[
        ("scope", &owned(common_json::report_scope(&t.scope))),
        ("by", &http_dimension_name(t.by)),
        ("rows", &owned(rows.collect::<Value>())),
        ("total_requests", &t.total_requests),
        ("truncated", &t.truncated),
        ("notes", &t.notes),
    ])
}

fn firewall_json(f: &FirewallReport) -> Value {
    let names: Vec<&str> = f.by.iter().map(|d| firewall_dimension_name(*d)).collect();
    let rows = f.rows.iter().map(|r| {
        let mut row: Map<String, Value> = names
            .iter()
            .zip(&r.values)
            .map(|(n, v)| (n.to_string(), v.to_json()))
            .collect();
        row.insert("events".into(), r.events.to_json());
        Value::Object(row)
    });
    object(&[
        ("scope", &owned(common_json::report_scope(&f.scope))),
        ("by", &names),
        ("rows", &owned(rows.collect::<Value>())),
        ("total_events", &f.total_events),
        ("truncated", &f.truncated),
        ("notes", &f.notes),
    ])
}

/// The tools' specs: name, description for a language model, and JSON Schema as text, with
/// `"$name"` placeholders that [`tool_specs`] fills.
const TOOL_SPECS: [(&str, &str, &str); 7] = [
    (
        "graphql_query",
        "Run a custom read-only query on Cloudflare's GraphQL Analytics API when no \
         ready-made report answers the question. Only query operations are accepted. \
         $accountTag is filled from the connection and $zoneTag from `zone` when declared and \
         not given. Time ranges are checked against the dataset's limits first; results over \
         max_bytes (default 256 KiB) are cut at a row boundary and `cuts` says so. Use \
         graphql_schema_search first to find dataset and field names.",
        r#"{
            "type": "object",
            "properties": {
                "query": { "type": "string", "minLength": 1, "description": "The GraphQL document, e.g. query($accountTag: string!, $since: Time!) { viewer { accounts(filter: {accountTag: $accountTag}) { httpRequestsAdaptiveGroups(limit: 10, filter: {datetime_geq: $since}) { count } } } }" },
                "variables": { "type": "object", "description": "Variables by name." },
                "operation_name": { "type": "string", "description": "Which operation to run when the document has several." },
                "zone": "$zone",
                "max_bytes": { "type": "integer", "minimum": 1024, "default": "$default_max_bytes", "description": "Cut the result above this size." }
            },
            "required": ["query"],
            "additionalProperties": false
        }"#,
    ),
    (
        "graphql_dataset_limits",
        "A dataset's limits at zone level (give a zone: they depend on its plan) or account \
         level: enabled, widest range per query, how far back data is kept, largest limit, \
         number of fields, available fields. Use it before writing a query over a long \
         range.",
        r#"{
            "type": "object",
            "properties": {
                "dataset": { "type": "string", "pattern": "^[_A-Za-z][_0-9A-Za-z]*$", "description": "e.g. httpRequestsAdaptiveGroups" },
                "zone": "$zone"
            },
            "required": ["dataset"],
            "additionalProperties": false
        }"#,
    ),
    (
        "graphql_schema_search",
        "Find datasets, fields, arguments and filter keys of the GraphQL Analytics schema by \
         words (\"country\", \"firewall action\", \"cache\"). One call usually finds the \
         name to use; the schema is fetched once per session.",
        r#"{
            "type": "object",
            "properties": {
                "words": { "type": "string", "minLength": 1, "description": "Words to look for, e.g. country, cache or firewall." },
                "limit": { "type": "integer", "minimum": 1, "maximum": 200, "default": 20, "description": "How many matches to return." }
            },
            "required": ["words"],
            "additionalProperties": false
        }"#,
    ),
    (
        "graphql_describe_type",
        "A GraphQL type's fields with their types and descriptions (or an input type's \
         filter keys, or an enum's values), e.g. ZoneHttpRequestsAdaptiveGroupsDimensions.",
        r#"{
            "type": "object",
            "properties": { "name": { "type": "string", "minLength": 1, "description": "A type name from graphql_schema_search, e.g. ZoneHttpRequestsAdaptiveGroupsDimensions." } },
            "required": ["name"],
            "additionalProperties": false
        }"#,
    ),
    (
        "graphql_http_traffic",
        "HTTP traffic summary for a zone or the account: requests, bytes, cached share and \
         status classes (2xx..5xx), hourly up to 3 days, daily beyond.",
        r#"{
            "type": "object",
            "properties": { "zone": "$zone", "since": "$since", "until": "$until" },
            "additionalProperties": false
        }"#,
    ),
    (
        "graphql_top_http",
        "Top N values of one dimension of HTTP requests (country, host, path, status, \
         user-agent, colo) with requests, bytes and share of all requests. Answers \"top 10 \
         countries by requests to shop.example.com in the last 6 hours\".",
        r#"{
            "type": "object",
            "properties": {
                "zone": "$zone", "since": "$since", "until": "$until",
                "by": { "type": "string", "enum": "$http_dimensions", "description": "The dimension to rank by." },
                "limit": { "type": "integer", "minimum": 1, "maximum": 1000, "default": 10, "description": "How many rows to return." },
                "host": { "type": "string", "description": "Only requests to this host." }
            },
            "required": ["by"],
            "additionalProperties": false
        }"#,
    ),
    (
        "graphql_firewall_events",
        "Firewall and security events grouped by action, rule, source and/or country, for a \
         zone or the account. Answers \"firewall events by action and rule today\".",
        r#"{
            "type": "object",
            "properties": {
                "zone": "$zone", "since": "$since", "until": "$until",
                "by": { "type": "array", "items": { "type": "string", "enum": "$firewall_dimensions" }, "uniqueItems": true, "default": ["action"], "description": "What to group the events by." },
                "action": { "type": "string", "description": "Only this action, e.g. block." },
                "limit": { "type": "integer", "minimum": 1, "maximum": 1000, "default": 20, "description": "How many groups to return." }
            },
            "additionalProperties": false
        }"#,
    ),
];

/// The tools' specs.
pub fn tool_specs() -> Vec<(&'static str, &'static str, Value)> {
    let property = |text| schema::from_text(text, &[]);
    let fill = [
        (
            "$zone",
            property(
                r#"{ "type": "string", "description": "Zone ID or name; leave out for the whole account." }"#,
            ),
        ),
        (
            "$since",
            property(
                r#"{ "type": "string", "description": "Start: RFC 3339, a date, or relative (1h, 24h, 7d). Default: 24h before until." }"#,
            ),
        ),
        (
            "$until",
            property(
                r#"{ "type": "string", "description": "End (exclusive): RFC 3339, a date (its end), relative, or now. Default: now." }"#,
            ),
        ),
        (
            "$http_dimensions",
            HTTP_DIMENSIONS
                .iter()
                .map(|d| http_dimension_name(*d))
                .collect(),
        ),
        (
            "$firewall_dimensions",
            FIREWALL_DIMENSIONS
                .iter()
                .map(|d| firewall_dimension_name(*d))
                .collect(),
        ),
        ("$default_max_bytes", analytics::DEFAULT_MAX_BYTES.into()),
    ];
    TOOL_SPECS
        .iter()
        .map(|&(name, description, text)| (name, description, schema::from_text(text, &fill)))
        .collect()
}
