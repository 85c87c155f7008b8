//! The ready-made reports (HTTP traffic, top-N, firewall events): fixed queries whose every
//! user value is a variable.

use super::{AnalyticsCache, limits, preflight, report_node, send};
use crate::cloudflare::scope::Scope;
use crate::error::invalid;
use crate::http::Transport;
use crate::time::{self, Range, rfc3339};
use crate::wit_analytics::{
    FirewallDimension, FirewallReport, FirewallRequest, FirewallRow, HttpDimension, StatusClasses,
    TopReport, TopRequest, TopRow, TrafficPoint, TrafficRequest, TrafficSummary,
};
use crate::wit_types::{Error, TimeRange};
use serde_json::{Value, json};

// Ready-made reports

pub(super) fn report_range(range: &TimeRange, now: i64) -> Result<Range, Error> {
    time::resolve_range(range.since.as_deref(), range.until.as_deref(), now)
        .map_err(|p| invalid(p.field, p.message))
}

/// Runs a report's query in the scope; its text holds no user value.
pub(super) fn run_report(
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

pub(super) fn as_u64(v: Option<&Value>) -> u64 {
    v.and_then(Value::as_u64).unwrap_or(0)
}

pub(super) fn status_classes(map: Option<&Value>) -> StatusClasses {
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

pub(super) fn add_classes(total: &mut StatusClasses, more: &StatusClasses) {
    total.informational += more.informational;
    total.success += more.success;
    total.redirection += more.redirection;
    total.client_error += more.client_error;
    total.server_error += more.server_error;
}

/// Hourly points up to three days, daily beyond (the hourly dataset keeps finer buckets but
/// allows narrower ranges).
pub(super) fn traffic_dataset(range: &Range) -> (&'static str, &'static str) {
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

pub(super) fn viewer(account_level: bool) -> (&'static str, &'static str, &'static str) {
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

pub(super) fn upper_first(name: &str) -> String {
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

pub(super) fn http_field(d: HttpDimension) -> &'static str {
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

pub(super) fn range_filter(range: &Range, conditions: Vec<Value>) -> Value {
    let mut filter = json!({
        "datetime_geq": rfc3339(range.since),
        "datetime_lt": rfc3339(range.until),
    });
    if !conditions.is_empty() {
        filter["AND"] = Value::Array(conditions);
    }
    filter
}

pub(super) fn check_limit(limit: Option<u32>, default: u32, max: u32) -> Result<u32, Error> {
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

pub(super) fn text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

pub(super) fn firewall_field(d: FirewallDimension) -> &'static str {
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
