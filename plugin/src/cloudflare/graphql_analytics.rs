//! GraphQL Analytics: custom read-only queries (checked, scope tags filled, ranges checked
//! against the datasets' limits, large results cut to size), dataset limits, and ready-made
//! reports whose queries pass every user value as a variable.

use crate::cloudflare::catalog::grant_hint;
use crate::cloudflare::graphql::{self, Answer};
use crate::cloudflare::graphql_query;
use crate::cloudflare::schema_index::{self, SchemaIndex};
use crate::cloudflare::scope::Scope;
use crate::cloudflare::settings::{self, DatasetLimits};
use crate::cloudflare::zones::{self, ZoneCache, zone_ref};
use crate::error::invalid;
use crate::http::Transport;
use crate::time::{self, Range, rfc3339};
use crate::wit_analytics::{
    Cut, FirewallDimension, FirewallReport, FirewallRequest, FirewallRow, HttpDimension, Level,
    QueryRequest, QueryResult, StatusClasses, TopReport, TopRequest, TopRow, TrafficPoint,
    TrafficRequest, TrafficSummary,
};
use crate::wit_types::{Error, GraphqlProblem, Permission, TimeRange};
use serde_json::{Map, Value, json};
use std::collections::HashMap;

pub const DEFAULT_MAX_BYTES: u32 = 256 * 1024;
const MAX_ROWS: u32 = 10_000;

/// What an instance keeps: zones it resolved and dataset limits per scope.
#[derive(Debug, Default)]
pub struct AnalyticsCache {
    pub zones: ZoneCache,
    limits: HashMap<(String, String), DatasetLimits>,
}

/// Zone or account level, as the WIT says it.
fn level(scope: &Scope) -> Level {
    if scope.zone.is_some() {
        Level::Zone
    } else {
        Level::Account
    }
}

// ---------------------------------------------------------------------------------------------
// Errors with hints

const HINT_BUDGET: &str = "Cloudflare's GraphQL API allows about 300 queries per 5 minutes per \
user, and each query spends part of a budget: wait a few minutes, then retry with fewer or \
smaller queries.";

/// A hint for each problem Cloudflare's GraphQL API is known to report.
fn hint_for(problem: &GraphqlProblem, permission: Permission) -> Option<String> {
    let message = problem.message.to_ascii_lowercase();
    match problem.code.as_deref() {
        Some("authz") if message.contains("plan") => Some(
            "The plan of this zone or account does not include this dataset or field; \
             dataset-limits says what is enabled."
                .to_string(),
        ),
        Some("authz") => Some(format!(
            "{} (Zone → Analytics → Read for viewer.zones, Account → Account Analytics → Read \
             for viewer.accounts). If the token has it, the plan may not include this dataset.",
            grant_hint(permission)
        )),
        Some("budget" | "quota") => Some(HINT_BUDGET.to_string()),
        _ if message.contains("time range")
            || message.contains("older than")
            || message.contains("duration") =>
        {
            Some(
                "The range is outside the dataset's limits: dataset-limits gives the widest \
                 range (maxDuration) and how far back data is kept (notOlderThan)."
                    .to_string(),
            )
        }
        _ if names_an_unknown_field(problem) => Some(
            "A name is not in the schema: schema-search finds datasets, fields and filter keys, \
             describe-type lists a type's fields."
                .to_string(),
        ),
        _ => None,
    }
}

/// A validation error about a name the schema does not have (gqlgen: `Cannot query field`;
/// others: `does not have a field`, `unknown`).
fn names_an_unknown_field(problem: &GraphqlProblem) -> bool {
    let message = problem.message.to_ascii_lowercase();
    [
        "cannot query field",
        "does not have a field",
        "unknown field",
        "unknown argument",
    ]
    .iter()
    .any(|m| message.contains(m))
}

fn with_hints(problems: Vec<GraphqlProblem>, permission: Permission) -> Vec<GraphqlProblem> {
    problems
        .into_iter()
        .map(|mut p| {
            p.hint = hint_for(&p, permission);
            p
        })
        .collect()
}

/// Sends a query with its variables.
fn send(
    transport: &dyn Transport,
    query: &str,
    variables: &Value,
    permission: Permission,
) -> Result<Answer, Error> {
    send_body(
        transport,
        &json!({ "query": query, "variables": variables }),
        permission,
    )
}

/// The scope's node of a report answer; any problem fails the report.
fn report_node(scope: &Scope, answer: Answer) -> Result<Value, Error> {
    if !answer.problems.is_empty() {
        return Err(Error::QueryRejected(answer.problems));
    }
    answer
        .data
        .pointer(&format!("/viewer/{}/0", scope.list_name()))
        .cloned()
        .ok_or_else(|| {
            Error::Forbidden(crate::wit_types::ApiFailure {
                status: 200,
                codes: Vec::new(),
                message: format!("GraphQL returned no analytics for {}", scope.describe()),
                hint: Some(grant_hint(scope.analytics_permission())),
            })
        })
}

// ---------------------------------------------------------------------------------------------
// The schema

/// Fetches the schema by introspection and indexes it. The body goes straight into the index's
/// compact types (no JSON tree of several MiB); only a failed answer is read as GraphQL.
pub fn fetch_schema(transport: &dyn Transport) -> Result<SchemaIndex, Error> {
    let request = graphql::request(schema_index::INTROSPECTION_QUERY, &json!({}));
    let response = transport.send(&request)?;
    if (200..300).contains(&response.status)
        && let Ok(index) = SchemaIndex::from_response(&response.body)
    {
        return Ok(index);
    }
    let answer = graphql::parse(&request, response)?;
    if answer.problems.is_empty() {
        return Err(Error::Transport(
            "the schema's introspection came back in an unexpected shape".to_string(),
        ));
    }
    Err(Error::QueryRejected(with_hints(
        answer.problems,
        Permission::AccountAnalyticsRead,
    )))
}

// ---------------------------------------------------------------------------------------------
// Dataset limits

/// The limits of `dataset` for the scope, asked once per instance.
fn limits(
    transport: &dyn Transport,
    cache: &mut AnalyticsCache,
    scope: &Scope,
    dataset: &str,
) -> Result<DatasetLimits, Error> {
    if !settings::is_name(dataset) {
        return Err(invalid(
            "dataset",
            format!("{dataset:?} is not a dataset name; schema-search lists them"),
        ));
    }
    let key = (scope.key(), dataset.to_string());
    if let Some(limits) = cache.limits.get(&key) {
        return Ok(limits.clone());
    }
    let (tag, value) = scope.tag();
    let answer = send(
        transport,
        &settings::query(scope.zone.is_none(), &[dataset]),
        &json!({ tag: value }),
        scope.analytics_permission(),
    )?;
    if !answer.problems.is_empty() {
        let unknown = answer.problems.iter().any(names_an_unknown_field);
        return Err(if unknown {
            invalid(
                "dataset",
                format!(
                    "{dataset} is not a dataset at {} level; schema-search lists them",
                    level_name(level(scope))
                ),
            )
        } else {
            Error::QueryRejected(answer.problems)
        });
    }
    let node = answer
        .data
        .pointer(&format!("/viewer/{}/0", scope.list_name()))
        .cloned()
        .unwrap_or(Value::Null);
    let limits = settings::read(&node, dataset, MAX_ROWS).ok_or_else(|| {
        Error::Upstream(crate::wit_types::ApiFailure {
            status: 200,
            codes: Vec::new(),
            message: format!("the settings of {dataset} came back without limits"),
            hint: None,
        })
    })?;
    cache.limits.insert(key, limits.clone());
    Ok(limits)
}

pub fn level_name(level: Level) -> &'static str {
    match level {
        Level::Zone => "zone",
        Level::Account => "account",
    }
}

/// `dataset-limits`.
pub fn dataset_limits(
    transport: &dyn Transport,
    cache: &mut AnalyticsCache,
    account_id: &str,
    dataset: &str,
    zone: Option<&str>,
) -> Result<crate::wit_analytics::Limits, Error> {
    let scope = Scope::resolve(transport, &mut cache.zones, account_id, zone)?;
    let dataset = dataset.trim();
    let l = limits(transport, cache, &scope, dataset)?;
    Ok(crate::wit_analytics::Limits {
        dataset: dataset.to_string(),
        level: level(&scope),
        zone: scope.zone.as_ref().map(zone_ref),
        enabled: l.enabled,
        max_duration_seconds: l.max_duration,
        not_older_than_seconds: l.not_older_than,
        max_page_size: l.max_page_size,
        max_number_of_fields: l.max_number_of_fields,
        available_fields: l.available_fields,
    })
}

/// Refuses a range (or a disabled dataset) before the query is sent.
fn preflight(
    limits: &DatasetLimits,
    scope: &Scope,
    dataset: &str,
    range: &Range,
    now: i64,
    fields: (&str, &str),
) -> Result<(), Error> {
    if !limits.enabled {
        return Err(Error::PlanLimit(crate::wit_types::ApiFailure {
            status: 200,
            codes: Vec::new(),
            message: format!("{dataset} is not enabled for {}", scope.describe()),
            hint: Some("The plan does not include this dataset.".to_string()),
        }));
    }
    settings::check_range(range, limits, now, dataset, &scope.describe(), fields)
}

// ---------------------------------------------------------------------------------------------
// Custom queries

fn parse_variables(text: Option<&str>) -> Result<Map<String, Value>, Error> {
    let text = text
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .unwrap_or("{}");
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(invalid("variables", "must be a JSON object")),
        Err(e) => Err(invalid("variables", format!("not valid JSON: {e}"))),
    }
}

/// `query`.
pub fn query(
    transport: &dyn Transport,
    cache: &mut AnalyticsCache,
    account_id: &str,
    request: &QueryRequest,
    now: i64,
) -> Result<QueryResult, Error> {
    let mut variables = parse_variables(request.variables.as_deref())?;
    let checked = graphql_query::check(
        &request.query,
        request.operation_name.as_deref(),
        &variables,
    )?;
    let declares = |name: &str| checked.declared.iter().any(|d| d == name);
    let mut filled = Vec::new();
    if declares("accountTag") && !variables.contains_key("accountTag") {
        variables.insert("accountTag".into(), json!(account_id));
        filled.push("accountTag".to_string());
    }
    if declares("zoneTag") && !variables.contains_key("zoneTag") {
        let Some(zone) = request.zone.as_deref().filter(|z| !z.trim().is_empty()) else {
            return Err(invalid(
                "zone",
                "the query declares $zoneTag: give a zone (ID or name), or zoneTag in variables",
            ));
        };
        let zone = zones::get_zone(transport, &mut cache.zones, account_id, zone)?;
        variables.insert("zoneTag".into(), json!(zone.id));
        filled.push("zoneTag".to_string());
    }
    // Tags filled in may carry the ranges' scope: read the datasets again with them.
    let checked = graphql_query::check(
        &request.query,
        request.operation_name.as_deref(),
        &variables,
    )?;
    let mut notes = Vec::new();
    let mut datasets = Vec::new();
    for used in &checked.datasets {
        let scope = match (&used.zone_tag, used.account_level) {
            (_, true) => Scope {
                account_id: account_id.to_string(),
                zone: None,
            },
            (Some(tag), false) if zones::is_zone_id(tag) => Scope {
                account_id: account_id.to_string(),
                zone: Some(zones::get_zone(
                    transport,
                    &mut cache.zones,
                    account_id,
                    tag,
                )?),
            },
            _ => {
                datasets.push(used.dataset.clone());
                continue;
            }
        };
        let Some(since) = used.since else {
            notes.push(format!(
                "{}: no start of range found in its filter, so its limits were not checked",
                used.dataset
            ));
            datasets.push(used.dataset.clone());
            continue;
        };
        let range = Range {
            since,
            until: used.until.unwrap_or(now).min(now),
        };
        let limits = limits(transport, cache, &scope, &used.dataset)?;
        preflight(
            &limits,
            &scope,
            &used.dataset,
            &range,
            now,
            ("query", "query"),
        )?;
        datasets.push(format!(
            "{} ({} to {})",
            used.dataset,
            rfc3339(range.since),
            rfc3339(range.until)
        ));
    }
    let permission = if checked.datasets.iter().any(|d| d.account_level) {
        Permission::AccountAnalyticsRead
    } else {
        Permission::ZoneAnalyticsRead
    };
    let mut body = json!({ "query": request.query, "variables": variables });
    if let Some(name) = &request.operation_name {
        body["operationName"] = json!(name);
    }
    let answer = send_body(transport, &body, permission)?;
    if answer.data.is_null() && !answer.problems.is_empty() {
        return Err(Error::QueryRejected(answer.problems));
    }
    let max_bytes = request.max_bytes.unwrap_or(DEFAULT_MAX_BYTES).max(1024) as usize;
    let mut data = answer.data;
    let cuts = cut_to_size(&mut data, max_bytes);
    Ok(QueryResult {
        data: data.to_string(),
        problems: answer.problems,
        filled,
        datasets,
        cuts,
        notes,
    })
}

/// Sends a prepared body. A REST-envelope refusal is the matching API error with the
/// permission to add; GraphQL problems get their hints.
fn send_body(
    transport: &dyn Transport,
    body: &Value,
    permission: Permission,
) -> Result<Answer, Error> {
    let request = crate::http::Request::graphql(body.to_string().into_bytes());
    let response = transport.send(&request)?;
    let mut answer = graphql::parse(&request, response).map_err(|e| match e {
        Error::Forbidden(mut failure) => {
            failure.hint = Some(grant_hint(permission));
            Error::Forbidden(failure)
        }
        other => other,
    })?;
    answer.problems = with_hints(answer.problems, permission);
    Ok(answer)
}

/// Cuts the largest lists of `data` at a row boundary until its JSON fits `max_bytes`, and
/// says what was cut and how to ask for less.
///
/// The lists (of two or more objects) are found and sized in one pass, then cut largest first:
/// a list is larger than any list in its rows, so its size is still exact when its turn comes,
/// and dropping rows shrinks the whole by exactly their JSON and commas. Nothing is serialized
/// again per cut, which made a result of many small lists quadratic.
pub fn cut_to_size(data: &mut Value, max_bytes: usize) -> Vec<Cut> {
    let mut lists = Vec::new();
    let mut size = json_size(data, &mut Vec::new(), &mut lists);
    debug_assert_eq!(size, data.to_string().len());
    let mut cuts = Vec::new();
    // Largest first; among equal sizes, the first in the document.
    lists.sort_by_key(|(_, size)| std::cmp::Reverse(*size));
    for (steps, _) in lists {
        if size <= max_bytes {
            break;
        }
        // A list inside rows that an earlier cut dropped is gone.
        let Some(list) = at_steps(data, &steps).and_then(Value::as_array_mut) else {
            continue;
        };
        let received = list.len();
        // Each row costs its JSON and a comma; drop from the end until the whole fits.
        let mut keep = received;
        while keep > 0 && size > max_bytes {
            keep -= 1;
            size -= list[keep].to_string().len() + usize::from(keep > 0);
        }
        list.truncate(keep);
        cuts.push(Cut {
            path: path_text(&steps),
            rows_returned: keep as u32,
            rows_received: received as u32,
            advice: format!(
                "{keep} of {received} rows fit in {max_bytes} bytes; ask for fewer rows (a \
                 smaller limit), a shorter range, or add a filter; or raise max-bytes"
            ),
        });
    }
    debug_assert_eq!(size, data.to_string().len());
    cuts
}

/// One step of a path into a JSON value.
#[derive(Clone, Debug, PartialEq)]
enum Step<K> {
    Key(K),
    Index(usize),
}

/// The length of `value`'s compact JSON, added up from its parts; every list of two or more
/// objects is recorded in `lists` with its path and its length.
fn json_size<'a>(
    value: &'a Value,
    steps: &mut Vec<Step<&'a str>>,
    lists: &mut Vec<(Vec<Step<String>>, usize)>,
) -> usize {
    match value {
        Value::Object(map) => {
            let mut size = 2 + map.len().saturating_sub(1);
            for (key, item) in map {
                steps.push(Step::Key(key.as_str()));
                size += json_string_len(key) + 1 + json_size(item, steps, lists);
                steps.pop();
            }
            size
        }
        Value::Array(items) => {
            let mut size = 2 + items.len().saturating_sub(1);
            for (i, item) in items.iter().enumerate() {
                steps.push(Step::Index(i));
                size += json_size(item, steps, lists);
                steps.pop();
            }
            if items.len() > 1 && items.iter().all(Value::is_object) {
                let owned = steps
                    .iter()
                    .map(|step| match step {
                        Step::Key(key) => Step::Key(key.to_string()),
                        Step::Index(i) => Step::Index(*i),
                    })
                    .collect();
                lists.push((owned, size));
            }
            size
        }
        Value::String(text) => json_string_len(text),
        scalar => scalar.to_string().len(),
    }
}

/// The length of a string as JSON, quotes and escapes included (as serde_json writes it).
fn json_string_len(text: &str) -> usize {
    2 + text
        .chars()
        .map(|c| match c {
            '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
            c if c < ' ' => 6,
            c => c.len_utf8(),
        })
        .sum::<usize>()
}

fn at_steps<'a>(value: &'a mut Value, steps: &[Step<String>]) -> Option<&'a mut Value> {
    steps.iter().try_fold(value, |current, step| match step {
        Step::Key(key) => current.get_mut(key.as_str()),
        Step::Index(i) => current.get_mut(*i),
    })
}

/// A path as the result shows it: `viewer.zones[0].top`.
fn path_text(steps: &[Step<String>]) -> String {
    let mut text = String::new();
    for step in steps {
        match step {
            Step::Key(key) => {
                if !text.is_empty() {
                    text.push('.');
                }
                text.push_str(key);
            }
            Step::Index(i) => text.push_str(&format!("[{i}]")),
        }
    }
    text
}

// ---------------------------------------------------------------------------------------------
// Ready-made reports

fn report_range(range: &TimeRange, now: i64) -> Result<Range, Error> {
    time::resolve_range(range.since.as_deref(), range.until.as_deref(), now)
        .map_err(|p| invalid(p.field, p.message))
}

/// Runs a report's query in the scope; its text holds no user value.
fn run_report(
    transport: &dyn Transport,
    scope: &Scope,
    query: &str,
    mut variables: Value,
) -> Result<Value, Error> {
    let (tag, value) = scope.tag();
    variables[tag] = json!(value);
    let answer = send(transport, query, &variables, scope.analytics_permission())?;
    report_node(scope, answer)
}

fn as_u64(v: Option<&Value>) -> u64 {
    v.and_then(Value::as_u64).unwrap_or(0)
}

fn status_classes(map: Option<&Value>) -> StatusClasses {
    let mut classes = StatusClasses {
        informational: 0,
        success: 0,
        redirection: 0,
        client_error: 0,
        server_error: 0,
    };
    for entry in map.and_then(Value::as_array).into_iter().flatten() {
        let requests = as_u64(entry.get("requests"));
        match entry.get("edgeResponseStatus").and_then(Value::as_u64) {
            Some(100..=199) => classes.informational += requests,
            Some(200..=299) => classes.success += requests,
            Some(300..=399) => classes.redirection += requests,
            Some(400..=499) => classes.client_error += requests,
            Some(500..=599) => classes.server_error += requests,
            _ => {}
        }
    }
    classes
}

fn add_classes(total: &mut StatusClasses, more: &StatusClasses) {
    total.informational += more.informational;
    total.success += more.success;
    total.redirection += more.redirection;
    total.client_error += more.client_error;
    total.server_error += more.server_error;
}

/// Hourly points up to three days, daily beyond (the hourly dataset keeps finer buckets but
/// allows narrower ranges).
fn traffic_dataset(range: &Range) -> (&'static str, &'static str) {
    if range.seconds() <= 3 * 86_400 {
        ("httpRequests1hGroups", "datetime")
    } else {
        ("httpRequests1dGroups", "date")
    }
}

pub fn traffic_query(account_level: bool, dataset: &str, time_field: &str) -> String {
    let (viewer_field, prefix, tag) = viewer(account_level);
    let type_name = format!("{prefix}{}", upper_first(dataset));
    format!(
        "query HttpTraffic(${tag}: string!, $filter: {type_name}Filter_InputObject!, $limit: uint64!) \
         {{ viewer {{ {viewer_field} {{ series: {dataset}(filter: $filter, limit: $limit, \
         orderBy: [{time_field}_ASC]) {{ dimensions {{ {time_field} }} sum {{ requests bytes \
         cachedRequests cachedBytes responseStatusMap {{ edgeResponseStatus requests }} }} }} }} }} }}"
    )
}

fn viewer(account_level: bool) -> (&'static str, &'static str, &'static str) {
    if account_level {
        (
            "accounts(filter: {accountTag: $accountTag})",
            "Account",
            "accountTag",
        )
    } else {
        ("zones(filter: {zoneTag: $zoneTag})", "Zone", "zoneTag")
    }
}

fn upper_first(name: &str) -> String {
    let mut chars = name.chars();
    chars
        .next()
        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

/// `http-traffic`.
pub fn http_traffic(
    transport: &dyn Transport,
    cache: &mut AnalyticsCache,
    account_id: &str,
    request: &TrafficRequest,
    now: i64,
) -> Result<TrafficSummary, Error> {
    let range = report_range(&request.range, now)?;
    let scope = Scope::resolve(
        transport,
        &mut cache.zones,
        account_id,
        request.zone.as_deref(),
    )?;
    let (dataset, time_field) = traffic_dataset(&range);
    let limits = limits(transport, cache, &scope, dataset)?;
    preflight(
        &limits,
        &scope,
        dataset,
        &range,
        now,
        ("range", "range.since"),
    )?;
    let filter = if time_field == "date" {
        json!({ "date_geq": time::date_string(range.since), "date_leq": time::date_string(range.until - 1) })
    } else {
        json!({ "datetime_geq": rfc3339(range.since), "datetime_lt": rfc3339(range.until) })
    };
    let node = run_report(
        transport,
        &scope,
        &traffic_query(scope.zone.is_none(), dataset, time_field),
        json!({ "filter": filter, "limit": limits.max_page_size }),
    )?;
    let mut summary = TrafficSummary {
        scope: scope.report_scope(dataset, &range),
        requests: 0,
        bytes: 0,
        cached_requests: 0,
        cached_bytes: 0,
        cached_share: 0.0,
        statuses: status_classes(None),
        points: Vec::new(),
        notes: Vec::new(),
    };
    for group in node
        .get("series")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let sum = group.get("sum");
        let point = TrafficPoint {
            time: group
                .pointer(&format!("/dimensions/{time_field}"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            requests: as_u64(sum.and_then(|s| s.get("requests"))),
            bytes: as_u64(sum.and_then(|s| s.get("bytes"))),
            cached_requests: as_u64(sum.and_then(|s| s.get("cachedRequests"))),
            cached_bytes: as_u64(sum.and_then(|s| s.get("cachedBytes"))),
            statuses: status_classes(sum.and_then(|s| s.get("responseStatusMap"))),
        };
        summary.requests += point.requests;
        summary.bytes += point.bytes;
        summary.cached_requests += point.cached_requests;
        summary.cached_bytes += point.cached_bytes;
        add_classes(&mut summary.statuses, &point.statuses);
        summary.points.push(point);
    }
    if summary.requests > 0 {
        summary.cached_share = summary.cached_requests as f64 / summary.requests as f64;
    } else {
        summary.notes.push(
            "No requests in this range. Traffic is counted only for proxied (orange-cloud) \
             records, and analytics can take a few minutes to appear."
                .to_string(),
        );
    }
    Ok(summary)
}

fn http_field(d: HttpDimension) -> &'static str {
    match d {
        HttpDimension::Country => "clientCountryName",
        HttpDimension::Host => "clientRequestHTTPHost",
        HttpDimension::Path => "clientRequestPath",
        HttpDimension::Status => "edgeResponseStatus",
        HttpDimension::UserAgent => "userAgent",
        HttpDimension::Colo => "coloCode",
    }
}

/// A grouped query with the rows and an aliased total; fixed text, values in variables.
pub fn grouped_query(
    account_level: bool,
    dataset: &str,
    dimension_fields: &[&str],
    sum_fields: &[&str],
) -> String {
    let (viewer_field, prefix, tag) = viewer(account_level);
    let type_name = format!("{prefix}{}", upper_first(dataset));
    let sums = if sum_fields.is_empty() {
        String::new()
    } else {
        format!(" sum {{ {} }}", sum_fields.join(" "))
    };
    format!(
        "query Top(${tag}: string!, $filter: {type_name}Filter_InputObject!, $limit: uint64!) \
         {{ viewer {{ {viewer_field} {{ rows: {dataset}(filter: $filter, limit: $limit, \
         orderBy: [count_DESC]) {{ count dimensions {{ {} }}{sums} }} total: {dataset}(filter: \
         $filter, limit: 1) {{ count{sums} }} }} }} }}",
        dimension_fields.join(" ")
    )
}

fn range_filter(range: &Range, conditions: Vec<Value>) -> Value {
    let mut filter = json!({
        "datetime_geq": rfc3339(range.since),
        "datetime_lt": rfc3339(range.until),
    });
    if !conditions.is_empty() {
        filter["AND"] = Value::Array(conditions);
    }
    filter
}

fn check_limit(limit: Option<u32>, default: u32, max: u32) -> Result<u32, Error> {
    let limit = limit.unwrap_or(default);
    if (1..=max).contains(&limit) {
        Ok(limit)
    } else {
        Err(invalid("limit", format!("must be between 1 and {max}")))
    }
}

/// `top-http`.
pub fn top_http(
    transport: &dyn Transport,
    cache: &mut AnalyticsCache,
    account_id: &str,
    request: &TopRequest,
    now: i64,
) -> Result<TopReport, Error> {
    const DATASET: &str = "httpRequestsAdaptiveGroups";
    let range = report_range(&request.range, now)?;
    let limit = check_limit(request.limit, 10, 1000)?;
    let scope = Scope::resolve(
        transport,
        &mut cache.zones,
        account_id,
        request.zone.as_deref(),
    )?;
    let limits = limits(transport, cache, &scope, DATASET)?;
    preflight(
        &limits,
        &scope,
        DATASET,
        &range,
        now,
        ("range", "range.since"),
    )?;
    let field = http_field(request.by);
    let mut conditions = Vec::new();
    if let Some(host) = request
        .host
        .as_deref()
        .map(str::trim)
        .filter(|h| !h.is_empty())
    {
        conditions.push(json!({ "clientRequestHTTPHost": host.to_ascii_lowercase() }));
    }
    let node = run_report(
        transport,
        &scope,
        &grouped_query(
            scope.zone.is_none(),
            DATASET,
            &[field],
            &["edgeResponseBytes"],
        ),
        json!({
            "filter": range_filter(&range, conditions),
            "limit": (limit + 1).min(limits.max_page_size),
        }),
    )?;
    let total = as_u64(node.pointer("/total/0/count"));
    let mut rows: Vec<TopRow> = node
        .get("rows")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|g| {
            let requests = as_u64(g.get("count"));
            TopRow {
                value: text(g.pointer(&format!("/dimensions/{field}"))),
                requests,
                bytes: as_u64(g.pointer("/sum/edgeResponseBytes")),
                share: if total > 0 {
                    requests as f64 / total as f64
                } else {
                    0.0
                },
            }
        })
        .collect();
    let truncated = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let mut notes = Vec::new();
    if total == 0 {
        notes.push(
            "No requests in this range. Traffic is counted only for proxied (orange-cloud) \
             records."
                .to_string(),
        );
    }
    Ok(TopReport {
        scope: scope.report_scope(DATASET, &range),
        by: request.by,
        rows,
        total_requests: total,
        truncated,
        notes,
    })
}

fn text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn firewall_field(d: FirewallDimension) -> &'static str {
    match d {
        FirewallDimension::Action => "action",
        FirewallDimension::Rule => "ruleId",
        FirewallDimension::Source => "source",
        FirewallDimension::Country => "clientCountryName",
    }
}

/// `firewall-events`.
pub fn firewall_events(
    transport: &dyn Transport,
    cache: &mut AnalyticsCache,
    account_id: &str,
    request: &FirewallRequest,
    now: i64,
) -> Result<FirewallReport, Error> {
    const DATASET: &str = "firewallEventsAdaptiveGroups";
    let range = report_range(&request.range, now)?;
    let limit = check_limit(request.limit, 20, 1000)?;
    let mut by = Vec::new();
    for d in &request.by {
        if !by.contains(d) {
            by.push(*d);
        }
    }
    if by.is_empty() {
        by.push(FirewallDimension::Action);
    }
    let scope = Scope::resolve(
        transport,
        &mut cache.zones,
        account_id,
        request.zone.as_deref(),
    )?;
    let limits = limits(transport, cache, &scope, DATASET)?;
    preflight(
        &limits,
        &scope,
        DATASET,
        &range,
        now,
        ("range", "range.since"),
    )?;
    let fields: Vec<&str> = by.iter().map(|d| firewall_field(*d)).collect();
    let mut conditions = Vec::new();
    if let Some(action) = request
        .action
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
    {
        conditions.push(json!({ "action": action }));
    }
    let node = run_report(
        transport,
        &scope,
        &grouped_query(scope.zone.is_none(), DATASET, &fields, &[]),
        json!({
            "filter": range_filter(&range, conditions),
            "limit": (limit + 1).min(limits.max_page_size),
        }),
    )?;
    let total = as_u64(node.pointer("/total/0/count"));
    let mut rows: Vec<FirewallRow> = node
        .get("rows")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|g| FirewallRow {
            values: fields
                .iter()
                .map(|f| text(g.pointer(&format!("/dimensions/{f}"))))
                .collect(),
            events: as_u64(g.get("count")),
        })
        .collect();
    let truncated = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let mut notes = Vec::new();
    if total == 0 {
        notes.push("No firewall or security events in this range.".to_string());
    }
    Ok(FirewallReport {
        scope: scope.report_scope(DATASET, &range),
        by,
        rows,
        total_events: total,
        truncated,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloudflare::schema_check::assert_valid;
    use crate::http::Response;
    use crate::http::testing::Queued;

    const ACCOUNT: &str = "01a7362d577a6c3019a474fd6f485823";
    const ZONE: &str = "234234243423aaabb334342aaa343433";
    const NOW: i64 = 1_795_705_200; // 2026-11-26T15:00:00Z

    fn zone_body() -> String {
        json!({"success": true, "errors": [], "messages": [], "result": {
            "id": ZONE, "name": "example.com", "status": "active", "paused": false,
            "type": "full", "name_servers": [], "plan": {"name": "Free Website"},
            "account": {"id": ACCOUNT}}})
        .to_string()
    }

    fn settings_body(level: &str, dataset: &str, max_duration: i64) -> String {
        json!({"data": {"viewer": {level: [{"settings": {dataset: {
            "enabled": true, "maxDuration": max_duration, "notOlderThan": 2_678_400,
            "maxPageSize": 10000, "maxNumberOfFields": 30, "availableFields": []}}}]}},
            "errors": null})
        .to_string()
    }

    fn custom(query: &str, variables: Value) -> QueryRequest {
        QueryRequest {
            query: query.to_string(),
            variables: Some(variables.to_string()),
            operation_name: None,
            zone: None,
            max_bytes: None,
        }
    }

    const ACCOUNT_TOP: &str = "query Top($accountTag: string!, $since: Time!, $until: Time!) { \
        viewer { accounts(filter: {accountTag: $accountTag}) { httpRequestsAdaptiveGroups(\
        limit: 10, filter: {datetime_geq: $since, datetime_lt: $until}, orderBy: [count_DESC]) { \
        count dimensions { clientCountryName } } } } }";

    #[test]
    fn a_mutation_is_refused_before_any_request() {
        let t = Queued::new(vec![]);
        let e = query(
            &t,
            &mut AnalyticsCache::default(),
            ACCOUNT,
            &custom("mutation { purgeEverything }", json!({})),
            NOW,
        );
        assert!(matches!(e, Err(Error::InvalidInput(p)) if p.field == "query"));
        assert!(t.sent().is_empty());
    }

    #[test]
    fn the_account_tag_is_filled_and_the_range_checked_first() {
        let data = json!({"data": {"viewer": {"accounts": [{"httpRequestsAdaptiveGroups": [
            {"count": 5, "dimensions": {"clientCountryName": "US"}}]}]}}, "errors": null});
        let t = Queued::new(vec![
            Response::ok(&settings_body(
                "accounts",
                "httpRequestsAdaptiveGroups",
                259_200,
            )),
            Response::ok(&data.to_string()),
        ]);
        let vars = json!({"since": "2026-11-26T09:00:00Z", "until": "2026-11-26T15:00:00Z"});
        let r = query(
            &t,
            &mut AnalyticsCache::default(),
            ACCOUNT,
            &custom(ACCOUNT_TOP, vars),
            NOW,
        )
        .expect("result");
        assert_eq!(r.filled, vec!["accountTag"]);
        let sent = t.body(1);
        assert_eq!(sent["variables"]["accountTag"], ACCOUNT);
        assert_eq!(sent["variables"]["since"], "2026-11-26T09:00:00Z");
        assert_eq!(sent["query"], ACCOUNT_TOP);
        assert!(r.data.contains("\"US\""));

        // Four days is over the 3-day limit: refused, and only the (cached) settings asked.
        let t = Queued::new(vec![Response::ok(&settings_body(
            "accounts",
            "httpRequestsAdaptiveGroups",
            259_200,
        ))]);
        let vars = json!({"since": "2026-11-22T15:00:00Z", "until": "2026-11-26T15:00:00Z"});
        let e = query(
            &t,
            &mut AnalyticsCache::default(),
            ACCOUNT,
            &custom(ACCOUNT_TOP, vars),
            NOW,
        );
        let Err(Error::InvalidInput(p)) = e else {
            panic!("expected invalid-input, got {e:?}")
        };
        assert!(p.message.contains("at most 3d"), "{}", p.message);
        assert_eq!(t.sent().len(), 1);
    }

    #[test]
    fn errors_keep_message_path_and_code_with_hints_and_data_stays() {
        let body = json!({"data": {"viewer": {"accounts": [{"httpRequestsAdaptiveGroups": []}]}},
            "errors": [{"message": "not authorized", "path": ["viewer", "zones", 1],
                        "extensions": {"code": "authz"}}]});
        let t = Queued::new(vec![
            Response::ok(&settings_body(
                "accounts",
                "httpRequestsAdaptiveGroups",
                259_200,
            )),
            Response::ok(&body.to_string()),
        ]);
        let vars = json!({"since": "2026-11-26T09:00:00Z", "until": "2026-11-26T15:00:00Z"});
        let r = query(
            &t,
            &mut AnalyticsCache::default(),
            ACCOUNT,
            &custom(ACCOUNT_TOP, vars),
            NOW,
        )
        .expect("data with errors");
        assert_eq!(r.problems[0].code.as_deref(), Some("authz"));
        assert_eq!(r.problems[0].path, vec!["viewer", "zones", "1"]);
        assert!(
            r.problems[0]
                .hint
                .as_deref()
                .unwrap_or_default()
                .contains("Analytics")
        );

        let budget = json!({"data": null, "errors": [{"message": "budget exceeded",
            "extensions": {"code": "budget"}}]});
        let t = Queued::new(vec![Response::ok(&budget.to_string())]);
        let e = query(
            &t,
            &mut AnalyticsCache::default(),
            ACCOUNT,
            &custom("{ viewer { budget } }", json!({})),
            NOW,
        );
        let Err(Error::QueryRejected(problems)) = e else {
            panic!("expected query-rejected, got {e:?}")
        };
        assert!(
            problems[0]
                .hint
                .as_deref()
                .unwrap_or_default()
                .contains("5 minutes")
        );
    }

    #[test]
    fn a_large_result_is_cut_at_a_row_boundary() {
        let rows: Vec<Value> = (0..2000)
            .map(|i| json!({"count": 1, "dimensions": {"clientRequestPath": format!("/p/{i:05}")}}))
            .collect();
        let mut data = json!({"viewer": {"zones": [{"top": rows}]}});
        let cuts = cut_to_size(&mut data, 16 * 1024);
        assert!(data.to_string().len() <= 16 * 1024);
        assert_eq!(cuts.len(), 1);
        assert_eq!(cuts[0].path, "viewer.zones[0].top");
        assert_eq!(cuts[0].rows_received, 2000);
        let kept = data
            .pointer("/viewer/zones/0/top")
            .and_then(Value::as_array)
            .map(Vec::len);
        assert_eq!(kept, Some(cuts[0].rows_returned as usize));
        assert!(cuts[0].rows_returned > 100, "as many rows as fit are kept");
    }

    /// `cut_to_size` before it sized the lists once: every cut serialized the whole again.
    fn cut_by_reserializing(data: &mut Value, max_bytes: usize) -> Vec<(String, u32, u32)> {
        fn lists(value: &Value, path: String, out: &mut Vec<(String, usize)>) {
            match value {
                Value::Object(map) => {
                    for (k, v) in map {
                        let p = if path.is_empty() {
                            k.clone()
                        } else {
                            format!("{path}.{k}")
                        };
                        lists(v, p, out);
                    }
                }
                Value::Array(items) => {
                    if items.len() > 1 && items.iter().all(Value::is_object) {
                        out.push((path.clone(), value.to_string().len()));
                    }
                    for (i, item) in items.iter().enumerate() {
                        lists(item, format!("{path}[{i}]"), out);
                    }
                }
                _ => {}
            }
        }
        let mut cuts: Vec<(String, u32, u32)> = Vec::new();
        let mut size = data.to_string().len();
        while size > max_bytes {
            let mut found = Vec::new();
            lists(data, String::new(), &mut found);
            let Some((path, _)) = found
                .into_iter()
                .filter(|(p, _)| !cuts.iter().any(|c| &c.0 == p))
                .max_by_key(|(_, bytes)| *bytes)
            else {
                break;
            };
            let pointer = format!("/{}", path.replace(['.', '['], "/").replace(']', ""));
            let Some(list) = data.pointer_mut(&pointer).and_then(Value::as_array_mut) else {
                break;
            };
            let received = list.len();
            let mut keep = received;
            while keep > 0 && size > max_bytes {
                keep -= 1;
                size -= list[keep].to_string().len() + usize::from(keep > 0);
            }
            list.truncate(keep);
            cuts.push((path, keep as u32, received as u32));
            size = data.to_string().len();
        }
        cuts
    }

    #[test]
    fn cuts_are_the_same_as_when_each_cut_serialized_the_whole() {
        // Lists of distinct sizes (ties may be broken either way), nested lists, lists inside
        // rows that a cut drops, and text that JSON escapes.
        let nested: Vec<Value> = (0..6)
            .map(|i| json!({"row": i, "in": (0..i + 2).map(|j| json!({"v": j})).collect::<Vec<_>>()}))
            .collect();
        let siblings: Map<String, Value> = (0..8)
            .map(|i| {
                let rows: Vec<Value> = (0..i + 2).map(|j| json!({"n": j})).collect();
                (format!("s{i}"), Value::Array(rows))
            })
            .collect();
        let escaped: Vec<Value> = (0..5)
            .map(|i| json!({"t\"é\n": format!("{}\u{1}\\\t\u{7f}€{i}", "\"".repeat(i))}))
            .collect();
        let shapes = [
            json!({"viewer": {"zones": [{"top": nested, "others": siblings}]}}),
            json!({"a": escaped, "b": [{"x": [{"y": 1}, {"y": 22}]}, {"x": 3}], "c": [1, 2, 3]}),
            json!({"o": [{"in": [{"p": "x".repeat(500)}, {"p": "y".repeat(500)}]},
                         {"in": [{"p": "z".repeat(400)}, {"p": 1}]}],
                   "s": [{"q": "w".repeat(200)}, {"q": 2}]}),
        ];
        for shape in shapes {
            let whole = shape.to_string().len();
            for max_bytes in [0, 10, 100, 300, 700, whole / 2, whole - 1, whole] {
                let (mut ours, mut theirs) = (shape.clone(), shape.clone());
                let cuts: Vec<(String, u32, u32)> = cut_to_size(&mut ours, max_bytes)
                    .into_iter()
                    .map(|c| (c.path, c.rows_returned, c.rows_received))
                    .collect();
                assert_eq!(
                    cuts,
                    cut_by_reserializing(&mut theirs, max_bytes),
                    "{max_bytes}"
                );
                assert_eq!(ours, theirs, "{max_bytes}");
            }
        }
    }

    /// Found by timing what the `graphql_response` fuzzer runs on large inputs: 2000 sibling
    /// lists took 5 s to cut (each cut serialized the whole result and every list again).
    #[test]
    fn many_small_lists_are_cut_in_one_pass() {
        let data: Map<String, Value> = (0..20_000)
            .map(|i| (format!("a{i:05}"), json!([{"x": 1}, {"x": 2}])))
            .collect();
        let mut data = Value::Object(data);
        let cuts = cut_to_size(&mut data, 1024);
        assert_eq!(cuts.len(), 20_000);
        assert_eq!(cuts[0].path, "a00000");
        assert!(cuts.iter().all(|c| c.rows_returned == 0));
        assert_eq!(data["a19999"], json!([]));
    }

    #[test]
    fn a_zone_tag_comes_from_the_zone_argument() {
        let doc = "query($zoneTag: string!) { viewer { zones(filter: {zoneTag: $zoneTag}) { \
                   firewallEventsAdaptiveGroups(limit: 5, filter: {datetime_geq: \"2026-11-26T14:00:00Z\"}) { count } } } }";
        let data = json!({"data": {"viewer": {"zones": [{"firewallEventsAdaptiveGroups": []}]}}});
        let t = Queued::new(vec![
            Response::ok(&zone_body()),
            Response::ok(&settings_body(
                "zones",
                "firewallEventsAdaptiveGroups",
                259_200,
            )),
            Response::ok(&data.to_string()),
        ]);
        let request = QueryRequest {
            zone: Some(ZONE.into()),
            ..custom(doc, json!({}))
        };
        let r = query(&t, &mut AnalyticsCache::default(), ACCOUNT, &request, NOW).expect("result");
        assert_eq!(r.filled, vec!["zoneTag"]);
        assert_eq!(t.body(2)["variables"]["zoneTag"], ZONE);
    }

    #[test]
    fn every_ready_made_report_query_validates_against_the_schema() {
        let range = Range {
            since: NOW - 3600,
            until: NOW,
        };
        for account_level in [false, true] {
            let tag = if account_level {
                json!({"accountTag": ACCOUNT})
            } else {
                json!({"zoneTag": ZONE})
            };
            let with = |extra: Value| {
                let mut v = tag.clone();
                for (k, x) in extra.as_object().into_iter().flatten() {
                    v[k] = x.clone();
                }
                v
            };
            for (dataset, time_field, filter) in [
                (
                    "httpRequests1hGroups",
                    "datetime",
                    json!({"datetime_geq": rfc3339(range.since), "datetime_lt": rfc3339(range.until)}),
                ),
                (
                    "httpRequests1dGroups",
                    "date",
                    json!({"date_geq": "2026-11-20", "date_leq": "2026-11-26"}),
                ),
            ] {
                assert_valid(
                    &traffic_query(account_level, dataset, time_field),
                    &with(json!({"filter": filter, "limit": 10000})),
                );
            }
            let host = vec![json!({"clientRequestHTTPHost": "example.com"})];
            for by in [
                HttpDimension::Country,
                HttpDimension::Host,
                HttpDimension::Path,
                HttpDimension::Status,
                HttpDimension::UserAgent,
                HttpDimension::Colo,
            ] {
                assert_valid(
                    &grouped_query(
                        account_level,
                        "httpRequestsAdaptiveGroups",
                        &[http_field(by)],
                        &["edgeResponseBytes"],
                    ),
                    &with(json!({"filter": range_filter(&range, host.clone()), "limit": 11})),
                );
            }
            let all: Vec<&str> = [
                FirewallDimension::Action,
                FirewallDimension::Rule,
                FirewallDimension::Source,
                FirewallDimension::Country,
            ]
            .iter()
            .map(|d| firewall_field(*d))
            .collect();
            for fields in [vec![all[0]], all.clone()] {
                assert_valid(
                    &grouped_query(account_level, "firewallEventsAdaptiveGroups", &fields, &[]),
                    &with(json!({
                        "filter": range_filter(&range, vec![json!({"action": "block"})]),
                        "limit": 21
                    })),
                );
            }
            for dataset in ["httpRequestsAdaptiveGroups", "firewallEventsAdaptiveGroups"] {
                assert_valid(&settings::query(account_level, &[dataset]), &tag);
            }
        }
        assert_valid(
            crate::cloudflare::schema_index::INTROSPECTION_QUERY,
            &json!({}),
        );
    }
}
