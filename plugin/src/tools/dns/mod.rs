//! The DNS Analytics tools: zones, records, and DNS query reports and time series. The JSON
//! arguments are read into the same WIT records the typed exports take.

mod render;
mod schema;

use crate::Component;
use crate::error::invalid;
use crate::json;
use crate::names;
use crate::tools::{Arguments, Effect, Route, args, output_schemas};
use crate::wit_dns::{
    Bucket, Dimension, DimensionFilter, FilterOperator, Guest, Metric, NameMatch, RecordQuery,
    ReportRequest, ReportSource, Sort, SortKey, SortOrder, ZoneQuery, ZoneStatus,
};
use crate::wit_types::{Error, Service, TimeRange};
use serde_json::Value;

const SERVICE: Option<Service> = Some(Service::DnsAnalytics);

pub const ROUTES: &[Route] = &[
    Route {
        name: "dns_list_zones",
        title: "List zones",
        output_schema: output_schemas::ZONE_PAGE,
        effect: Effect::Reads,
        service: SERVICE,
        description: "List the zones (domains) of the connected account with their ID, status, \
            plan and name servers. Filter by name (exact or contains) and status; paginated \
            (page, per_page 5-50) with page.more telling whether more pages exist. Use it to \
            find a zone's ID or to check a zone exists and is active.",
        schema: schema::list_zones,
        run: |a| {
            zone_query(a)
                .and_then(<Component as Guest>::list_zones)
                .and_then(|page| json::text(&render::zone_page(&page)))
        },
    },
    Route {
        name: "dns_get_zone",
        title: "Get a zone",
        output_schema: output_schemas::ZONE,
        effect: Effect::Reads,
        service: SERVICE,
        description: "One zone's details (status, plan, name servers, paused, type) by ID or \
            name.",
        schema: schema::get_zone,
        run: |a| {
            args::required_string(a, "zone")
                .and_then(<Component as Guest>::get_zone)
                .and_then(|z| json::text(&render::zone(&z)))
        },
    },
    Route {
        name: "dns_records",
        title: "List DNS records",
        output_schema: output_schemas::RECORD_PAGE,
        effect: Effect::Reads,
        service: SERVICE,
        description: "A zone's DNS records (type, name, content, proxied, TTL), paginated. \
            Answers \"is this name proxied through Cloudflare (orange cloud)?\" and \"what does \
            this name point to?\". Filter by type and exact name.",
        schema: schema::records,
        run: |a| {
            record_query(a)
                .and_then(<Component as Guest>::dns_records)
                .and_then(|page| json::text(&render::record_page(&page)))
        },
    },
    Route {
        name: "dns_report",
        title: "DNS analytics report",
        output_schema: output_schemas::REPORT,
        effect: Effect::Reads,
        service: SERVICE,
        description: "DNS query analytics for a zone or the whole account: query counts and \
            processing times grouped by dimensions (query name, type, response code, data \
            center, ...), with filters (e.g. response-code equals NXDOMAIN), a time range, sort \
            and limit. Answers \"which names got the most NXDOMAIN answers yesterday?\". \
            Returns rows, totals over the whole range, and truncated when the limit cut rows. \
            Ranges are checked against the plan's history limits first (Free: 7 days per \
            query, 8 days back).",
        schema: schema::report,
        run: |a| {
            report_request(a)
                .and_then(|(request, _)| <Component as Guest>::dns_report(request))
                .and_then(|r| json::text(&render::report(&r)))
        },
    },
    Route {
        name: "dns_timeseries",
        title: "DNS analytics over time",
        output_schema: output_schemas::TIMESERIES,
        effect: Effect::Reads,
        service: SERVICE,
        description: "The same DNS analytics bucketed by time (five minutes, hour or day; \
            chosen from the range unless given): one series per group of the dimensions, \
            largest groups first, every bucket present (0 when no queries). Answers \"how many \
            DNS queries per hour this week, by query type?\".",
        schema: schema::timeseries,
        run: |a| {
            report_request(a)
                .and_then(|(request, bucket)| <Component as Guest>::dns_timeseries(request, bucket))
                .and_then(|r| json::text(&render::timeseries(&r)))
        },
    },
];

fn zone_query(args: &Arguments) -> Result<ZoneQuery, Error> {
    Ok(ZoneQuery {
        name: args::string(args, "name")?,
        name_match: args::string(args, "name_match")?
            .map(|m| args::pick::<NameMatch>("name_match", &m))
            .transpose()?,
        status: args::string(args, "status")?
            .map(|s| args::pick::<ZoneStatus>("status", &s))
            .transpose()?,
        page: args::integer(args, "page")?,
        per_page: args::integer(args, "per_page")?,
    })
}

fn record_query(args: &Arguments) -> Result<RecordQuery, Error> {
    Ok(RecordQuery {
        zone: args::required_string(args, "zone")?,
        record_type: args::string(args, "type")?,
        name: args::string(args, "name")?,
        page: args::integer(args, "page")?,
        per_page: args::integer(args, "per_page")?,
    })
}

fn filter(item: &Value) -> Result<DimensionFilter, Error> {
    let Value::Object(f) = item else {
        return Err(invalid(
            "filters",
            "each filter is an object: {\"dimension\", \"operator\", \"value\" or \"values\"}",
        ));
    };
    let dimension = match f.get("dimension").and_then(Value::as_str) {
        Some(d) => args::pick::<Dimension>("filters.dimension", d)?,
        None => {
            return Err(invalid(
                "filters.dimension",
                "each filter names a dimension",
            ));
        }
    };
    let operator = match f.get("operator").and_then(Value::as_str) {
        Some(o) => args::pick::<FilterOperator>("filters.operator", o)?,
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
    let key = match args::pick::<Metric>("sort.by", by) {
        Ok(m) => SortKey::Metric(m),
        Err(_) => match args::pick::<Dimension>("sort.by", by) {
            Ok(d) => SortKey::Dimension(d),
            Err(_) => {
                return Err(invalid(
                    "sort.by",
                    format!(
                        "unknown value {}; allowed: a metric ({}) or a grouped dimension ({})",
                        crate::input::quote(by),
                        names::all::<Metric>().join(", "),
                        names::all::<Dimension>().join(", ")
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
        Some(o) => args::pick::<SortOrder>("sort.order", o)?,
    };
    Ok(Sort { key, order })
}

/// The report request, and the time series' bucket (which only `dns_timeseries`'s schema
/// admits).
fn report_request(args: &Arguments) -> Result<(ReportRequest, Option<Bucket>), Error> {
    let dimensions = args::strings(args, "dimensions")?
        .iter()
        .map(|d| args::pick::<Dimension>("dimensions", d))
        .collect::<Result<Vec<_>, _>>()?;
    let metrics = args::strings(args, "metrics")?
        .iter()
        .map(|m| args::pick::<Metric>("metrics", m))
        .collect::<Result<Vec<_>, _>>()?;
    let filters = match args.get("filters") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().map(filter).collect::<Result<_, _>>()?,
        Some(_) => return Err(invalid("filters", "must be a list of filters")),
    };
    let source = args::string(args, "source")?
        .map(|s| args::pick::<ReportSource>("source", &s))
        .transpose()?;
    let bucket = args::string(args, "bucket")?
        .filter(|b| args::fold(b) != "auto")
        .map(|b| args::pick::<Bucket>("bucket", &b))
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
