//! Building the GraphQL query (its text only from this module's fixed field names; values in
//! `variables`), sending it, and what its problems mean, with the plan retries of a grouped
//! query.

use super::read::{Group, Grouped, groups_of, problem_messages, zero_count};
use super::{DATASET, field, is_numeric, metric_field};
use crate::cloudflare::catalog::{grant_hint, lacking};
use crate::cloudflare::graphql::{self, Answer, Keep};
use crate::cloudflare::scope::Scope;
use crate::cloudflare::settings::DatasetLimits;
use crate::http::Transport;
use crate::names::name;
use crate::time::{Range, rfc3339};
use crate::wit_dns::{
    Dimension, DimensionFilter, DroppedItem, FilterOperator, Metric, Sort, SortKey, SortOrder,
};
use crate::wit_types::{ApiFailure, Error, GraphqlProblem, RateLimit, RateLimiter};
use serde_json::{Map, Value, json};

/// The GraphQL filter: the range, then every condition in `AND`.
pub(super) fn graphql_filter(range: &Range, filters: &[DimensionFilter]) -> Value {
    let mut filter = Map::new();
    filter.insert("datetime_geq".into(), json!(rfc3339(range.since)));
    filter.insert("datetime_lt".into(), json!(rfc3339(range.until)));
    let conditions: Vec<Value> = filters.iter().map(graphql_condition).collect();
    if !conditions.is_empty() {
        filter.insert("AND".into(), Value::Array(conditions));
    }
    Value::Object(filter)
}

pub(super) fn typed_value(d: Dimension, value: &str) -> Value {
    if is_numeric(d) {
        value
            .parse::<u8>()
            .map_or_else(|_| json!(value), |n| json!(n))
    } else {
        json!(value)
    }
}

pub(super) fn graphql_condition(f: &DimensionFilter) -> Value {
    let name = field(f.dimension);
    let values: Vec<Value> = f
        .values
        .iter()
        .map(|v| typed_value(f.dimension, v))
        .collect();
    let one = |suffix: &str, v: &Value| {
        let mut m = Map::new();
        m.insert(format!("{name}{suffix}"), v.clone());
        Value::Object(m)
    };
    match f.operator {
        FilterOperator::Equals => one("", &values[0]),
        FilterOperator::NotEquals => one("_neq", &values[0]),
        // The schema types list filters on uint8 fields as `bytes`; spell them out instead.
        FilterOperator::InList if is_numeric(f.dimension) => {
            json!({ "OR": values.iter().map(|v| one("", v)).collect::<Vec<_>>() })
        }
        FilterOperator::NotInList if is_numeric(f.dimension) => {
            json!({ "AND": values.iter().map(|v| one("_neq", v)).collect::<Vec<_>>() })
        }
        FilterOperator::InList => one("_in", &Value::Array(values)),
        FilterOperator::NotInList => one("_notin", &Value::Array(values)),
    }
}

pub(super) fn order_by(sort: &Sort) -> String {
    let direction = match sort.order {
        SortOrder::Ascending => "ASC",
        SortOrder::Descending => "DESC",
    };
    match sort.key {
        SortKey::Metric(m) => match metric_field(m) {
            ("", f) => format!("{f}_{direction}"),
            (group, f) => format!("{group}_{f}_{direction}"),
        },
        SortKey::Dimension(d) => format!("{}_{direction}", field(d)),
    }
}

/// The selection of a group: `count`, the dimensions, and the metric groups.
pub(super) fn group_selection(dimension_fields: &[&str], metrics: &[Metric]) -> String {
    let mut parts = vec!["count".to_string()];
    if !dimension_fields.is_empty() {
        parts.push(format!("dimensions {{ {} }}", dimension_fields.join(" ")));
    }
    for group in ["avg", "quantiles"] {
        let fields: Vec<&str> = metrics
            .iter()
            .map(|m| metric_field(*m))
            .filter(|(g, _)| *g == group)
            .map(|(_, f)| f)
            .collect();
        if !fields.is_empty() {
            parts.push(format!("{group} {{ {} }}", fields.join(" ")));
        }
    }
    parts.join(" ")
}

/// `zones(filter: {zoneTag: $zoneTag})` or the account's equivalent, and the tag's name.
pub(super) fn viewer_field(account_level: bool) -> (&'static str, &'static str) {
    if account_level {
        ("accounts(filter: {accountTag: $accountTag})", "accountTag")
    } else {
        ("zones(filter: {zoneTag: $zoneTag})", "zoneTag")
    }
}

/// The query text. It depends only on the scope kind and the fields chosen from this module's
/// enums; values go in `$filter`, `$limit`, `$orderBy` and the scope tag.
pub fn report_query(
    account_level: bool,
    dimension_fields: &[&str],
    metrics: &[Metric],
    with_total: bool,
) -> String {
    let (viewer_field, tag) = viewer_field(account_level);
    let prefix = if account_level { "Account" } else { "Zone" };
    let total = if with_total {
        format!(
            " total: {DATASET}(filter: $filter, limit: 1) {{ {} }}",
            group_selection(&[], metrics)
        )
    } else {
        String::new()
    };
    format!(
        "query Report(${tag}: string!, $filter: {prefix}DnsAnalyticsAdaptiveGroupsFilter_InputObject!, \
         $limit: uint64!, $orderBy: [{prefix}DnsAnalyticsAdaptiveGroupsOrderBy!]) {{ viewer {{ \
         {viewer_field} {{ rows: {DATASET}(filter: $filter, limit: $limit, orderBy: $orderBy) {{ {} }}{total} }} }} }}",
        group_selection(dimension_fields, metrics)
    )
}

/// Sends a GraphQL query and returns the scope's object (`viewer.zones[0]`), or the error its
/// problems mean. Problems that name the plan come back as `Ok(Err(..))` so the caller can
/// drop what the plan refuses and ask again. No list in the answer is read past `max_rows`
/// items: rows beyond what was asked for are never built.
pub(super) fn run_graphql(
    transport: &dyn Transport,
    scope: &Scope,
    query: &str,
    variables: Value,
    max_rows: usize,
) -> Result<Result<Value, Vec<GraphqlProblem>>, Error> {
    let request = graphql::request(query, &variables);
    let response = transport.send(&request)?;
    let Answer {
        mut data, problems, ..
    } = graphql::parse_kept(&request, response, Keep::FirstItems(max_rows))
        // A REST-envelope refusal from the GraphQL endpoint: say which permission it needs.
        .map_err(lacking(scope.analytics_permission()))?;
    // A report is whole or it is wrong: any problem (a failed `total` beside good `rows`
    // included) fails the call rather than give a partial answer.
    if !problems.is_empty() {
        if problems.iter().any(mentions_plan) {
            return Ok(Err(problems));
        }
        return Err(problems_error(scope, problems));
    }
    match data.pointer_mut(&format!("/viewer/{}/0", scope.list_name())) {
        Some(node) => Ok(Ok(node.take())),
        // The zone was found over REST, so an empty list means its analytics are not readable.
        None => Err(Error::Forbidden(ApiFailure {
            status: 200,
            codes: Vec::new(),
            message: format!("GraphQL returned no analytics for {}", scope.describe()),
            hint: Some(grant_hint(scope.analytics_permission())),
            permission: Some(scope.analytics_permission()),
        })),
    }
}

pub(super) fn mentions_plan(p: &GraphqlProblem) -> bool {
    let m = p.message.to_ascii_lowercase();
    m.contains(" plan") || m.contains("plan ")
}

/// The WIT error GraphQL problems mean, with a hint per known code.
pub(super) fn problems_error(scope: &Scope, problems: Vec<GraphqlProblem>) -> Error {
    let message = problems
        .iter()
        .map(|p| p.message.as_str())
        .collect::<Vec<_>>()
        .join("; ");
    let code = |c: &str| problems.iter().any(|p| p.code.as_deref() == Some(c));
    let failure = |hint: String| ApiFailure {
        status: 200,
        codes: Vec::new(),
        message: message.clone(),
        hint: Some(hint),
        permission: None,
    };
    if problems.iter().any(mentions_plan) {
        Error::PlanLimit(failure(format!(
            "The plan of {} does not include this. DNS analytics history by plan: Free 8 days \
             (7 per query), Pro and Business 31 days, Enterprise 62 days.",
            scope.describe()
        )))
    } else if code("authz") {
        let mut hint = grant_hint(scope.analytics_permission());
        if scope.zone.is_none() {
            hint.push_str(
                " Account-level DNS analytics read account analytics; a report per zone needs \
                 only Zone → Analytics → Read.",
            );
        }
        let mut failure = failure(hint);
        failure.permission = Some(scope.analytics_permission());
        Error::Forbidden(failure)
    } else if code("budget") || code("quota") {
        Error::RateLimited(RateLimit {
            limiter: RateLimiter::Graphql,
            retry_after: None,
        })
    } else {
        Error::QueryRejected(problems)
    }
}

/// One grouped query: what to group, measure and filter, in which order, how many rows.
pub(super) struct Ask<'a> {
    pub(super) dimensions: Vec<Dimension>,
    pub(super) metrics: &'a [Metric],
    /// The GraphQL filter, range included.
    pub(super) filter: &'a Value,
    /// The dimensions the user filtered on: a plan refusal of one of them cannot be dropped.
    pub(super) filtered: Vec<Dimension>,
    pub(super) sort: Sort,
    pub(super) limit: u32,
}

/// Runs a grouped query. When the plan refuses a dimension that is only grouped on (not
/// filtered on), drops it and asks again, saying so: each retry removes one dimension, so the
/// loop ends.
pub(super) fn grouped_query(
    transport: &dyn Transport,
    scope: &Scope,
    limits: &DatasetLimits,
    mut ask: Ask,
) -> Result<Grouped, Error> {
    let mut dropped = Vec::new();
    loop {
        let fields: Vec<&str> = ask.dimensions.iter().map(|d| field(*d)).collect();
        let with_total = !ask.dimensions.is_empty();
        // One row more than asked shows whether the limit cut anything.
        let asked = ask.limit.saturating_add(1).min(limits.max_page_size);
        let (tag, value) = scope.tag();
        let variables = json!({
            tag: value,
            "filter": ask.filter,
            "limit": asked,
            "orderBy": [order_by(&ask.sort)],
        });
        let query = report_query(scope.zone.is_none(), &fields, ask.metrics, with_total);
        let node = match run_graphql(transport, scope, &query, variables, asked as usize)? {
            Ok(node) => node,
            Err(problems) => {
                let refused = ask.dimensions.iter().position(|d| {
                    !ask.filtered.contains(d)
                        && problems
                            .iter()
                            .any(|p| mentions_plan(p) && p.message.contains(field(*d)))
                });
                let Some(index) = refused else {
                    return Err(problems_error(scope, problems));
                };
                let d = ask.dimensions.remove(index);
                dropped.push(DroppedItem {
                    item: format!("dimension {}", name(d)),
                    reason: problem_messages(&problems),
                });
                if ask.sort.key == SortKey::Dimension(d) {
                    ask.sort = Sort {
                        key: SortKey::Metric(Metric::QueryCount),
                        order: SortOrder::Descending,
                    };
                    dropped.push(DroppedItem {
                        item: format!("sort by {}", name(d)),
                        reason: "its dimension was dropped; sorted by query-count instead"
                            .to_string(),
                    });
                }
                continue;
            }
        };
        let mut groups = groups_of(&node, "rows", &ask.dimensions, ask.metrics, asked as usize);
        let totals_group = if with_total {
            groups_of(&node, "total", &[], ask.metrics, 1)
                .into_iter()
                .next()
        } else {
            groups.first().map(|g| Group {
                raw: Vec::new(),
                row: g.row.clone(),
                count: g.count,
            })
        };
        let (totals, total_count) =
            totals_group.map_or_else(|| (zero_count(), 0), |t| (t.row.metrics, t.count));
        let limit = ask.limit as usize;
        let mut truncated = groups.len() > limit;
        groups.truncate(limit);
        if asked == ask.limit && groups.len() == limit {
            let shown: u64 = groups.iter().map(|g| g.count).sum();
            truncated = shown < total_count;
        }
        return Ok(Grouped {
            dimensions: ask.dimensions,
            groups,
            totals,
            total_count,
            truncated,
            dropped,
        });
    }
}

/// The filter narrowed to the given groups (any of their dimension-value combinations).
pub(super) fn only_groups(filter: &Value, dimensions: &[Dimension], groups: &[Group]) -> Value {
    if dimensions.is_empty() {
        return filter.clone();
    }
    let any_of: Vec<Value> = groups
        .iter()
        .map(|g| {
            let key: Map<String, Value> = dimensions
                .iter()
                .zip(&g.raw)
                .map(|(d, v)| (field(*d).to_string(), v.clone()))
                .collect();
            Value::Object(key)
        })
        .collect();
    let mut narrowed = filter.clone();
    match narrowed.get_mut("AND").and_then(Value::as_array_mut) {
        Some(and) => and.push(json!({ "OR": any_of })),
        None => narrowed["AND"] = json!([{ "OR": any_of }]),
    }
    narrowed
}
