//! The `dns-analytics` exports and their tools: the JSON arguments map onto the same WIT
//! records the typed functions take.

use crate::cloudflare::dns_report::{
    self, DIMENSIONS, DnsCache, METRICS, bucket_name, dimension_name, metric_name,
};
use crate::cloudflare::zones::{self, status_name};
use crate::error::invalid;
use crate::exports::{args, schema, service};
use crate::http::WasiTransport;
use crate::json::{ToJson, object, owned};
use crate::time;
use crate::wit_dns::{
    Bucket, DimensionFilter, DimensionValue, DnsRecord, FilterOperator, Guest, Metric, MetricValue,
    NameMatch, PageInfo, RecordPage, RecordQuery, Report, ReportRequest, ReportSource, Sort,
    SortKey, SortOrder, Timeseries, Zone, ZonePage, ZoneQuery, ZoneStatus,
};
use crate::wit_types::{Error, Service, TimeRange};
use crate::{Component, json};
use serde_json::{Map, Value};
use std::sync::{LazyLock, Mutex};

/// Zones and dataset limits this instance has looked up, for the connected account.
static CACHE: LazyLock<Mutex<(String, DnsCache)>> = LazyLock::new(Mutex::default);

fn with_service<T>(
    run: impl FnOnce(&WasiTransport, &mut DnsCache, &str) -> Result<T, Error>,
) -> Result<T, Error> {
    service::with_state(Service::DnsAnalytics, &CACHE, run)
}

impl Guest for Component {
    fn list_zones(query: ZoneQuery) -> Result<ZonePage, Error> {
        with_service(|t, cache, account| zones::list_zones(t, &mut cache.zones, account, &query))
    }

    fn get_zone(zone: String) -> Result<Zone, Error> {
        with_service(|t, cache, account| zones::get_zone(t, &mut cache.zones, account, &zone))
    }

    fn dns_records(query: RecordQuery) -> Result<RecordPage, Error> {
        with_service(|t, cache, account| zones::dns_records(t, &mut cache.zones, account, &query))
    }

    fn dns_report(request: ReportRequest) -> Result<Report, Error> {
        with_service(|t, cache, account| {
            dns_report::report(t, cache, account, &request, time::now_unix())
        })
    }

    fn dns_timeseries(request: ReportRequest, bucket: Option<Bucket>) -> Result<Timeseries, Error> {
        with_service(|t, cache, account| {
            dns_report::timeseries(t, cache, account, &request, bucket, time::now_unix())
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Tools

/// Runs a DNS tool, or `None` when the name is not one.
pub fn call_tool(name: &str, args: &Map<String, Value>) -> Option<Result<Value, Error>> {
    let result = match name {
        "dns_list_zones" => zone_query(args)
            .and_then(<Component as Guest>::list_zones)
            .map(|page| zone_page_json(&page)),
        "dns_get_zone" => args::only(args, &["zone"])
            .and_then(|()| args::required_string(args, "zone"))
            .and_then(<Component as Guest>::get_zone)
            .map(|z| zone_json(&z)),
        "dns_records" => record_query(args)
            .and_then(<Component as Guest>::dns_records)
            .map(|page| record_page_json(&page)),
        "dns_report" => report_request(args, false)
            .and_then(|(request, _)| <Component as Guest>::dns_report(request))
            .map(|r| report_json(&r)),
        "dns_timeseries" => report_request(args, true)
            .and_then(|(request, bucket)| <Component as Guest>::dns_timeseries(request, bucket))
            .map(|r| timeseries_json(&r)),
        _ => return None,
    };
    Some(result)
}

const STATUSES: [ZoneStatus; 4] = [
    ZoneStatus::Initializing,
    ZoneStatus::Pending,
    ZoneStatus::Active,
    ZoneStatus::Moved,
];

fn zone_query(args: &Map<String, Value>) -> Result<ZoneQuery, Error> {
    args::only(args, &["name", "name_match", "status", "page", "per_page"])?;
    Ok(ZoneQuery {
        name: args::string(args, "name")?,
        name_match: args::string(args, "name_match")?
            .map(|m| {
                args::pick(
                    "name_match",
                    &m,
                    &[NameMatch::Exact, NameMatch::Contains],
                    |m| match m {
                        NameMatch::Exact => "exact",
                        NameMatch::Contains => "contains",
                    },
                )
            })
            .transpose()?,
        status: args::string(args, "status")?
            .map(|s| args::pick("status", &s, &STATUSES, status_name))
            .transpose()?,
        page: args::integer(args, "page")?,
        per_page: args::integer(args, "per_page")?,
    })
}

fn record_query(args: &Map<String, Value>) -> Result<RecordQuery, Error> {
    args::only(args, &["zone", "type", "name", "page", "per_page"])?;
    Ok(RecordQuery {
        zone: args::required_string(args, "zone")?,
        record_type: args::string(args, "type")?,
        name: args::string(args, "name")?,
        page: args::integer(args, "page")?,
        per_page: args::integer(args, "per_page")?,
    })
}

const OPERATORS: [FilterOperator; 4] = [
    FilterOperator::Equals,
    FilterOperator::NotEquals,
    FilterOperator::InList,
    FilterOperator::NotInList,
];

fn operator_name(o: FilterOperator) -> &'static str {
    match o {
        FilterOperator::Equals => "equals",
        FilterOperator::NotEquals => "not-equals",
        FilterOperator::InList => "in",
        FilterOperator::NotInList => "not-in",
    }
}

fn filter(item: &Value) -> Result<DimensionFilter, Error> {
    let Value::Object(f) = item else {
        return Err(invalid(
            "filters",
            "each filter is an object: {\"dimension\", \"operator\", \"value\" or \"values\"}",
        ));
    };
    args::only(f, &["dimension", "operator", "value", "values"]).map_err(|e| match e {
        Error::InvalidInput(p) => invalid("filters", format!("{}: {}", p.field, p.message)),
        other => other,
    })?;
    let dimension = match f.get("dimension").and_then(Value::as_str) {
        Some(d) => args::pick("filters.dimension", d, &DIMENSIONS, dimension_name)?,
        None => {
            return Err(invalid(
                "filters.dimension",
                "each filter names a dimension",
            ));
        }
    };
    let operator = match f.get("operator").and_then(Value::as_str) {
        Some(o) => args::pick("filters.operator", o, &OPERATORS, operator_name)?,
        None => FilterOperator::Equals,
    };
    let mut values = args::strings(f, "values")?;
    match f.get("value") {
        Some(Value::String(s)) => values.push(s.clone()),
        Some(Value::Number(n)) => values.push(n.to_string()),
        Some(Value::Bool(b)) => values.push(if *b { "1" } else { "0" }.to_string()),
        None | Some(Value::Null) => {}
        Some(_) => return Err(invalid("filters.value", "a string or a number")),
    }
    Ok(DimensionFilter {
        dimension,
        operator,
        values,
    })
}

fn sort(value: &Value) -> Result<Sort, Error> {
    let (by, order) = match value {
        Value::String(s) => (s.as_str(), None),
        Value::Object(o) => (
            o.get("by").and_then(Value::as_str).unwrap_or("query-count"),
            o.get("order").and_then(Value::as_str),
        ),
        _ => {
            return Err(invalid(
                "sort",
                "{\"by\": a metric or dimension, \"order\"}",
            ));
        }
    };
    let key = match args::pick("sort.by", by, &METRICS, metric_name) {
        Ok(m) => SortKey::Metric(m),
        Err(_) => match args::pick("sort.by", by, &DIMENSIONS, dimension_name) {
            Ok(d) => SortKey::Dimension(d),
            Err(_) => {
                return Err(invalid(
                    "sort.by",
                    format!(
                        "unknown value {by:?}; allowed: a metric ({}) or a grouped dimension ({})",
                        names(&METRICS, metric_name).join(", "),
                        names(&DIMENSIONS, dimension_name).join(", ")
                    ),
                ));
            }
        },
    };
    let order = match order {
        None => match key {
            SortKey::Metric(_) => SortOrder::Descending,
            SortKey::Dimension(_) => SortOrder::Ascending,
        },
        Some(o) => args::pick(
            "sort.order",
            o,
            &[SortOrder::Ascending, SortOrder::Descending],
            |o| match o {
                SortOrder::Ascending => "ascending",
                SortOrder::Descending => "descending",
            },
        )?,
    };
    Ok(Sort { key, order })
}

fn report_request(
    args: &Map<String, Value>,
    series: bool,
) -> Result<(ReportRequest, Option<Bucket>), Error> {
    let mut allowed = vec![
        "zone",
        "dimensions",
        "metrics",
        "filters",
        "since",
        "until",
        "sort",
        "limit",
        "source",
    ];
    if series {
        allowed.push("bucket");
    }
    args::only(args, &allowed)?;
    let dimensions = args::strings(args, "dimensions")?
        .iter()
        .map(|d| args::pick("dimensions", d, &DIMENSIONS, dimension_name))
        .collect::<Result<Vec<_>, _>>()?;
    let metrics = args::strings(args, "metrics")?
        .iter()
        .map(|m| args::pick("metrics", m, &METRICS, metric_name))
        .collect::<Result<Vec<_>, _>>()?;
    let filters = match args.get("filters") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().map(filter).collect::<Result<_, _>>()?,
        Some(_) => return Err(invalid("filters", "must be a list of filters")),
    };
    let source = args::string(args, "source")?
        .map(|s| {
            args::pick(
                "source",
                &s,
                &[ReportSource::Graphql, ReportSource::LegacyRest],
                |s| match s {
                    ReportSource::Graphql => "graphql",
                    ReportSource::LegacyRest => "legacy-rest",
                },
            )
        })
        .transpose()?;
    let bucket = args::string(args, "bucket")?
        .filter(|b| args::fold(b) != "auto")
        .map(|b| {
            args::pick(
                "bucket",
                &b,
                &[Bucket::FiveMinutes, Bucket::Hour, Bucket::Day],
                bucket_name,
            )
        })
        .transpose()?;
    Ok((
        ReportRequest {
            zone: args::string(args, "zone")?,
            dimensions,
            metrics,
            filters,
            range: TimeRange {
                since: args::string(args, "since")?,
                until: args::string(args, "until")?,
            },
            sort: args
                .get("sort")
                .filter(|v| !v.is_null())
                .map(sort)
                .transpose()?,
            limit: args::integer(args, "limit")?,
            source,
        },
        bucket,
    ))
}

// ---------------------------------------------------------------------------------------------
// Results as JSON: rows are flat objects keyed by snake_case dimension and metric names.

fn key(name: &str) -> String {
    name.replace('-', "_")
}

fn page_json(p: &PageInfo) -> Value {
    object(&[
        ("page", &p.page),
        ("per_page", &p.per_page),
        ("count", &p.count),
        ("total_pages", &p.total_pages),
        ("total_count", &p.total_count),
        ("more", &(p.page < p.total_pages)),
    ])
}

fn zone_json(z: &Zone) -> Value {
    object(&[
        ("id", &z.id),
        ("name", &z.name),
        ("status", &z.status),
        ("plan", &z.plan),
        ("name_servers", &z.name_servers),
        ("paused", &z.paused),
        ("type", &z.zone_type),
    ])
}

fn zone_page_json(p: &ZonePage) -> Value {
    object(&[
        (
            "zones",
            &owned(p.zones.iter().map(zone_json).collect::<Value>()),
        ),
        ("page", &owned(page_json(&p.page_info))),
    ])
}

fn record_json(r: &DnsRecord) -> Value {
    object(&[
        ("id", &r.id),
        ("type", &r.record_type),
        ("name", &r.name),
        ("content", &r.content),
        ("proxied", &r.proxied),
        ("proxiable", &r.proxiable),
        ("ttl", &r.ttl),
        ("ttl_automatic", &(r.ttl == 1)),
    ])
}

fn record_page_json(p: &RecordPage) -> Value {
    let zone = object(&[
        ("id", &p.zone.id),
        ("name", &p.zone.name),
        ("plan", &p.zone.plan),
    ]);
    object(&[
        ("zone", &owned(zone)),
        (
            "records",
            &owned(p.records.iter().map(record_json).collect::<Value>()),
        ),
        ("page", &owned(page_json(&p.page_info))),
    ])
}

fn metric_number(m: &MetricValue) -> Value {
    if m.metric == Metric::QueryCount {
        Value::from(m.value as u64)
    } else {
        Value::from(m.value)
    }
}

fn flat(dimensions: &[DimensionValue], metrics: &[MetricValue]) -> Value {
    let mut row = Map::new();
    for d in dimensions {
        row.insert(key(dimension_name(d.dimension)), d.value.to_json());
    }
    for m in metrics {
        row.insert(key(metric_name(m.metric)), metric_number(m));
    }
    Value::Object(row)
}

fn names<T: Copy>(items: &[T], name_of: impl Fn(T) -> &'static str) -> Vec<&'static str> {
    items.iter().map(|i| name_of(*i)).collect()
}

fn dropped_json(items: &[crate::wit_dns::DroppedItem]) -> Value {
    items
        .iter()
        .map(|d| object(&[("item", &d.item), ("reason", &d.reason)]))
        .collect()
}

fn report_json(r: &Report) -> Value {
    let rows = r.rows.iter().map(|row| flat(&row.dimensions, &row.metrics));
    object(&[
        ("scope", &owned(json::report_scope(&r.scope))),
        ("dimensions", &names(&r.dimensions, dimension_name)),
        ("metrics", &names(&r.metrics, metric_name)),
        ("rows", &owned(rows.collect::<Value>())),
        ("totals", &owned(flat(&[], &r.totals))),
        ("truncated", &r.truncated),
        ("dropped", &owned(dropped_json(&r.dropped))),
        ("notes", &r.notes),
    ])
}

fn timeseries_json(t: &Timeseries) -> Value {
    let series = t.series.iter().map(|s| {
        let points = s.points.iter().map(|p| {
            let mut point = flat(&[], &p.metrics);
            point["time"] = p.time.to_json();
            point
        });
        object(&[
            ("key", &owned(flat(&s.key, &[]))),
            ("query_count", &s.query_count),
            ("points", &owned(points.collect::<Value>())),
        ])
    });
    object(&[
        ("scope", &owned(json::report_scope(&t.scope))),
        ("bucket", &bucket_name(t.bucket)),
        ("dimensions", &names(&t.dimensions, dimension_name)),
        ("metrics", &names(&t.metrics, metric_name)),
        ("series", &owned(series.collect::<Value>())),
        ("totals", &owned(flat(&[], &t.totals))),
        ("truncated", &t.truncated),
        ("dropped", &owned(dropped_json(&t.dropped))),
        ("notes", &t.notes),
    ])
}

/// The report's properties (`dns_report`; `dns_timeseries` adds `bucket`), as JSON text with
/// `"$name"` placeholders that [`tool_specs`] fills.
const REPORT_PROPERTIES: &str = r#"{
    "zone": {
        "type": "string",
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
                "value": { "type": ["string", "number"], "description": "For equals / not-equals, e.g. NXDOMAIN." },
                "values": { "type": "array", "items": { "type": "string" }, "maxItems": 100, "description": "For in / not-in." }
            },
            "required": ["dimension"],
            "additionalProperties": false
        }
    },
    "since": {
        "type": "string",
        "description": "Start: RFC 3339, a date (2026-11-25), or relative to until (1h, 24h, 7d). Default: 24h before until."
    },
    "until": {
        "type": "string",
        "description": "End (exclusive): RFC 3339, a date (its end), relative to now, or now. Default: now."
    },
    "sort": {
        "type": "object",
        "properties": {
            "by": { "type": "string", "enum": "$sort_keys", "default": "query-count" },
            "order": { "type": "string", "enum": ["ascending", "descending"] }
        },
        "additionalProperties": false,
        "description": "Default: query-count descending."
    },
    "limit": "$limit",
    "source": {
        "type": "string",
        "enum": ["graphql", "legacy-rest"],
        "default": "graphql",
        "description": "legacy-rest: the deprecated REST report, for a zone where GraphQL is refused."
    }
}"#;

/// The tools' specs: name, description for a language model, JSON Schema.
pub fn tool_specs() -> Vec<(&'static str, &'static str, Value)> {
    let dimensions = names(&DIMENSIONS, dimension_name);
    let metrics = names(&METRICS, metric_name);
    let mut sort_keys = metrics.clone();
    sort_keys.extend(dimensions.iter().copied());
    let zone = schema::from_text(
        r#"{
            "type": "string",
            "description": "The zone: its ID (32 hex characters) or its name, e.g. example.com.",
            "minLength": 1
        }"#,
        &[],
    );
    let page = schema::from_text(
        r#"{ "type": "integer", "minimum": 1, "default": 1, "description": "1-based page number." }"#,
        &[],
    );
    let report_schema = |series: bool| {
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
                ("$dimensions", dimensions.clone().into()),
                ("$metrics", metrics.clone().into()),
                ("$operators", names(&OPERATORS, operator_name).into()),
                ("$sort_keys", sort_keys.clone().into()),
                ("$limit", limit),
            ],
        );
        if series {
            p["bucket"] = schema::from_text(
                r#"{
                    "type": "string",
                    "enum": ["auto", "five-minutes", "hour", "day"],
                    "default": "auto",
                    "description": "auto: five minutes up to 6 hours, hours up to 7 days, then days."
                }"#,
                &[],
            );
        }
        schema::from_text(
            r#"{ "type": "object", "properties": "$properties", "additionalProperties": false }"#,
            &[("$properties", p)],
        )
    };
    vec![
        (
            "dns_list_zones",
            "List the zones (domains) of the connected account with their ID, status, plan and \
             name servers. Filter by name (exact or contains) and status; paginated (page, \
             per_page 5-50) with page.more telling whether more pages exist. Use it to find a \
             zone's ID or to check a zone exists and is active.",
            schema::from_text(
                r#"{
                    "type": "object",
                    "properties": {
                        "name": { "type": "string", "description": "Zone name, e.g. example.com." },
                        "name_match": { "type": "string", "enum": ["exact", "contains"], "default": "exact", "description": "exact: the whole name; contains: any part of it (case-insensitive)." },
                        "status": { "type": "string", "enum": "$statuses", "description": "Only zones in this status." },
                        "page": "$page",
                        "per_page": { "type": "integer", "minimum": 5, "maximum": 50, "default": 20, "description": "Zones per page." }
                    },
                    "additionalProperties": false
                }"#,
                &[
                    ("$statuses", names(&STATUSES, status_name).into()),
                    ("$page", page.clone()),
                ],
            ),
        ),
        (
            "dns_get_zone",
            "One zone's details (status, plan, name servers, paused, type) by ID or name.",
            schema::from_text(
                r#"{
                    "type": "object",
                    "properties": { "zone": "$zone" },
                    "required": ["zone"],
                    "additionalProperties": false
                }"#,
                &[("$zone", zone.clone())],
            ),
        ),
        (
            "dns_records",
            "A zone's DNS records (type, name, content, proxied, TTL), paginated. Answers \"is \
             this name proxied through Cloudflare (orange cloud)?\" and \"what does this name \
             point to?\". Filter by type and exact name.",
            schema::from_text(
                r#"{
                    "type": "object",
                    "properties": {
                        "zone": "$zone",
                        "type": { "type": "string", "description": "Record type, e.g. A, AAAA, CNAME, MX, TXT." },
                        "name": { "type": "string", "description": "Exact record name, e.g. www.example.com." },
                        "page": "$page",
                        "per_page": { "type": "integer", "minimum": 5, "maximum": 5000, "default": 100, "description": "Records per page." }
                    },
                    "required": ["zone"],
                    "additionalProperties": false
                }"#,
                &[("$zone", zone), ("$page", page)],
            ),
        ),
        (
            "dns_report",
            "DNS query analytics for a zone or the whole account: query counts and processing \
             times grouped by dimensions (query name, type, response code, data center, ...), \
             with filters (e.g. response-code equals NXDOMAIN), a time range, sort and limit. \
             Answers \"which names got the most NXDOMAIN answers yesterday?\". Returns rows, \
             totals over the whole range, and truncated when the limit cut rows. Ranges are \
             checked against the plan's history limits first (Free: 7 days per query, 8 days \
             back).",
            report_schema(false),
        ),
        (
            "dns_timeseries",
            "The same DNS analytics bucketed by time (five minutes, hour or day; chosen from \
             the range unless given): one series per group of the dimensions, largest groups \
             first, every bucket present (0 when no queries). Answers \"how many DNS queries \
             per hour this week, by query type?\".",
            report_schema(true),
        ),
    ]
}
