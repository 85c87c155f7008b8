//! The GraphQL Analytics tools: custom queries, the schema's search and types, dataset
//! limits, and the ready-made HTTP and firewall reports.

mod render;
mod schema;

use crate::Component;
use crate::error::invalid;
use crate::json;
use crate::tools::{Arguments, Effect, Route, args, output_schemas};
use crate::wit_analytics::{
    FirewallDimension, FirewallRequest, Guest, HttpDimension, QueryRequest, TopRequest,
    TrafficRequest,
};
use crate::wit_types::{Error, Service, TimeRange};
use serde_json::Value;

const SERVICE: Option<Service> = Some(Service::GraphqlAnalytics);

pub const ROUTES: &[Route] = &[
    Route {
        name: "graphql_query",
        title: "Run a GraphQL Analytics query",
        output_schema: output_schemas::QUERY_RESULT,
        effect: Effect::Reads,
        service: SERVICE,
        description: "Run a custom read-only query on Cloudflare's GraphQL Analytics API when no \
            ready-made report answers the question. Only query operations are accepted. \
            $accountTag is filled from the connection and $zoneTag from `zone` when declared and \
            not given. Time ranges are checked against the dataset's limits first; results over \
            max_bytes (default 256 KiB) are cut at a row boundary and `cuts` says so. Use \
            graphql_schema_search first to find dataset and field names.",
        schema: schema::query,
        run: |a| {
            query_request(a)
                .and_then(<Component as Guest>::query)
                .and_then(|r| json::text(&render::query(&r)))
        },
    },
    Route {
        name: "graphql_dataset_limits",
        title: "A dataset's limits",
        output_schema: output_schemas::LIMITS,
        effect: Effect::Reads,
        service: SERVICE,
        description: "A dataset's limits at zone level (give a zone: they depend on its plan) or account \
            level: enabled, widest range per query, how far back data is kept, largest limit, \
            number of fields, available fields. Use it before writing a query over a long \
            range.",
        schema: schema::dataset_limits,
        run: |a| {
            <Component as Guest>::dataset_limits(
                args::required_string(a, "dataset")?,
                args::string(a, "zone")?,
            )
            .and_then(|l| json::text(&render::limits(&l)))
        },
    },
    Route {
        name: "graphql_schema_search",
        title: "Search the GraphQL Analytics schema",
        output_schema: output_schemas::SCHEMA_SEARCH,
        effect: Effect::Reads,
        service: SERVICE,
        description: "Find datasets, fields, arguments and filter keys of the GraphQL Analytics schema by \
            words (\"country\", \"firewall action\", \"cache\"). One call usually finds the \
            name to use; the schema is fetched once per session.",
        schema: schema::schema_search,
        run: |a| {
            <Component as Guest>::schema_search(
                args::required_string(a, "words")?,
                args::integer(a, "limit")?,
            )
            .and_then(|r| json::text(&render::search(&r)))
        },
    },
    Route {
        name: "graphql_describe_type",
        title: "Describe a GraphQL type",
        output_schema: output_schemas::TYPE_DESCRIPTION,
        effect: Effect::Reads,
        service: SERVICE,
        description: "A GraphQL type's fields with their types and descriptions (or an input type's \
            filter keys, or an enum's values), e.g. ZoneHttpRequestsAdaptiveGroupsDimensions.",
        schema: schema::describe_type,
        run: |a| {
            <Component as Guest>::describe_type(args::required_string(a, "name")?)
                .and_then(|t| json::text(&render::type_description(&t)))
        },
    },
    Route {
        name: "graphql_http_traffic",
        title: "HTTP traffic summary",
        output_schema: output_schemas::TRAFFIC_SUMMARY,
        effect: Effect::Reads,
        service: SERVICE,
        description: "HTTP traffic summary for a zone or the account: requests, bytes, cached share and \
            status classes (2xx..5xx), hourly up to 3 days, daily beyond.",
        schema: schema::http_traffic,
        run: |a| {
            <Component as Guest>::http_traffic(TrafficRequest {
                zone: args::string(a, "zone")?,
                range: range(a)?,
            })
            .and_then(|r| json::text(&render::traffic(&r)))
        },
    },
    Route {
        name: "graphql_top_http",
        title: "Top HTTP values",
        output_schema: output_schemas::TOP_REPORT,
        effect: Effect::Reads,
        service: SERVICE,
        description: "Top N values of one dimension of HTTP requests (country, host, path, status, \
            user-agent, colo) with requests, bytes and share of all requests. Answers \"top 10 \
            countries by requests to shop.example.com in the last 6 hours\".",
        schema: schema::top_http,
        run: |a| {
            top_request(a)
                .and_then(<Component as Guest>::top_http)
                .and_then(|r| json::text(&render::top(&r)))
        },
    },
    Route {
        name: "graphql_firewall_events",
        title: "Firewall events",
        output_schema: output_schemas::FIREWALL_REPORT,
        effect: Effect::Reads,
        service: SERVICE,
        description: "Firewall and security events grouped by action, rule, source and/or country, for a \
            zone or the account. Answers \"firewall events by action and rule today\".",
        schema: schema::firewall_events,
        run: |a| {
            firewall_request(a)
                .and_then(<Component as Guest>::firewall_events)
                .and_then(|r| json::text(&render::firewall(&r)))
        },
    },
];

fn range(a: &Arguments) -> Result<TimeRange, Error> {
    Ok(TimeRange {
        since: args::string(a, "since")?,
        until: args::string(a, "until")?,
    })
}

fn query_request(a: &Arguments) -> Result<QueryRequest, Error> {
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

fn top_request(a: &Arguments) -> Result<TopRequest, Error> {
    let by = args::required_string(a, "by")?;
    Ok(TopRequest {
        zone: args::string(a, "zone")?,
        range: range(a)?,
        by: args::pick::<HttpDimension>("by", &by)?,
        limit: args::integer(a, "limit")?,
        host: args::string(a, "host")?,
    })
}

fn firewall_request(a: &Arguments) -> Result<FirewallRequest, Error> {
    let by = args::strings(a, "by")?
        .iter()
        .map(|d| args::pick::<FirewallDimension>("by", d))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(FirewallRequest {
        zone: args::string(a, "zone")?,
        range: range(a)?,
        by,
        action: args::string(a, "action")?,
        limit: args::integer(a, "limit")?,
    })
}
