//! The legacy (deprecated) DNS analytics REST endpoints, computed from the synthetic events of
//! [`crate::dns_events`]:
//!
//! - `GET /zones/{id}/dns_analytics/report`: `result { rows, data: [{dimensions, metrics}],
//!   data_lag: 0, min: {}, max: {}, totals, query }`;
//! - `GET /zones/{id}/dns_analytics/report/bytime`: the same, with `data[].metrics` a list per
//!   metric of per-interval values and `time_intervals: [[start, end], …]`.
//!
//! Shapes follow the recorded bodies `fixtures/dns_analytics_report*.cloudflare-php.json`:
//! `query.sort` echoes as `[{"Id": "queryCount", "Desc": true}]`, and data items have no
//! `dimensions` key when no dimension was asked for. `rows` is the number of `data` items.
//!
//! Parameters: `metrics` (default `queryCount`), `dimensions` (default none), `since`/`until`
//! (RFC 3339; default the 6 hours up to now; both ends inclusive), `limit` (default 100000),
//! `sort` (`-queryCount,+queryName`; default: the first metric, descending; ties by dimension
//! values ascending), `filters` (`responseCode==NXDOMAIN;queryType==A`: `;` or ` AND ` binds
//! tighter than `,` or ` OR `; operators `==`, `!=`, `>`, `<`, `>=`, `<=`, `=@` contains, `!@`
//! does not contain; as documented, the expression of `==`, `!=`, `=@` and `!@` is a regular
//! expression, whole for `==` / `!=`; the others compare as text or numbers), `time_delta` (bytime: `all`,
//! `auto`, `year`, `quarter`, `month`, `week` (Monday), `day`, `hour`, `dekaminute`, `minute`;
//! default `auto`, echoed as the unit chosen).

mod filters;

use std::cmp::Ordering;
use std::collections::BTreeMap;

use axum::response::Response;
use http::StatusCode;
use serde_json::{Map, Value, json};

use super::envelope::{
    AUTH_ERROR_FIXTURE, QueryParams, bad_request, json_response, raw_json_response, success,
    zone_not_found,
};
use super::zones::{Plan, find_zone, zone_plan};
use crate::calendar::{self, DAY, parse_rfc3339, rfc3339, unix_now};
use crate::dns_events::{Aggregate, Event, events};
use crate::scenarios::{Permission, Scenario, permission_missing};
use filters::{Condition, parse_filters};

const METRICS: &[&str] = &[
    "queryCount",
    "uncachedCount",
    "staleCount",
    "responseTimeAvg",
    "responseTimeMedian",
    "responseTime90th",
    "responseTime99th",
];

pub(super) const DIMENSIONS: &[&str] = &[
    "queryName",
    "queryType",
    "responseCode",
    "responseCached",
    "coloName",
    "origin",
    "dayOfWeek",
    "tcp",
    "ipVersion",
    "querySizeBucket",
    "responseSizeBucket",
];

const TIME_DELTAS: &[&str] = &[
    "all",
    "auto",
    "year",
    "quarter",
    "month",
    "week",
    "day",
    "hour",
    "dekaminute",
    "minute",
];

/// Most time intervals one bytime answer may have.
const MAX_INTERVALS: usize = 10_000;
const DEFAULT_LIMIT: u64 = 100_000;
const DEFAULT_RANGE: i64 = 6 * 3600;

/// The message of the HTTP 403, code 1034 answer for `responseCached` on a Free or Pro zone.
pub const RESPONSE_CACHED_PLAN_MESSAGE: &str = "The responseCached dimension is not available on this zone's plan: DNS analytics by responseCached need a Business plan or higher.";

/// A legacy dimension's value for one event, as the text the report shows.
pub(super) fn dimension_value(event: &Event, dimension: &str) -> String {
    let g = event.group;
    match dimension {
        "queryName" => g.query_name.to_owned(),
        "queryType" => g.query_type.to_owned(),
        "responseCode" => g.response_code.to_owned(),
        "responseCached" => if g.response_cached == 1 {
            "Cached"
        } else {
            "Uncached"
        }
        .to_owned(),
        "coloName" => g.colo.to_owned(),
        // The upstream used to resolve the query: none for these events.
        "origin" => String::new(),
        "dayOfWeek" => event.day_of_week().to_string(),
        "tcp" => u8::from(g.protocol == "TCP").to_string(),
        "ipVersion" => g.ip_version.to_string(),
        "querySizeBucket" => "32-47".to_owned(),
        "responseSizeBucket" => "64-79".to_owned(),
        _ => String::new(),
    }
}

fn metric_value(aggregate: &Aggregate, metric: &str) -> Value {
    let ms = |us: f64| json!(us / 1000.0);
    match metric {
        "queryCount" => json!(aggregate.count),
        "uncachedCount" => json!(aggregate.uncached),
        "staleCount" => json!(0),
        "responseTimeAvg" => ms(aggregate.avg_processing_time_us),
        "responseTimeMedian" => ms(aggregate.p50),
        "responseTime90th" => ms(aggregate.p90),
        "responseTime99th" => ms(aggregate.p99),
        _ => Value::Null,
    }
}

fn metric_number(aggregate: &Aggregate, metric: &str) -> f64 {
    metric_value(aggregate, metric).as_f64().unwrap_or(0.0)
}

fn comma_list(raw: Option<&str>) -> Vec<String> {
    raw.unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn parse_time(query: &QueryParams, name: &str, default: i64) -> Result<i64, String> {
    match query.get(name) {
        None => Ok(default),
        Some(raw) => parse_rfc3339(raw).ok_or_else(|| format!("Invalid {name}: {raw}")),
    }
}

struct Request {
    metrics: Vec<String>,
    dimensions: Vec<String>,
    since: i64,
    until: i64,
    limit: u64,
    sort: Vec<(String, bool)>,
    filters: Option<(String, Vec<Vec<Condition>>)>,
}

fn parse_request(query: &QueryParams, now: i64) -> Result<Request, String> {
    let mut metrics = comma_list(query.get("metrics"));
    if metrics.is_empty() {
        metrics.push("queryCount".to_owned());
    }
    if let Some(unknown) = metrics.iter().find(|m| !METRICS.contains(&m.as_str())) {
        return Err(format!("Unknown metric: {unknown}"));
    }
    let dimensions = comma_list(query.get("dimensions"));
    if let Some(unknown) = dimensions
        .iter()
        .find(|d| !DIMENSIONS.contains(&d.as_str()))
    {
        return Err(format!("Unknown dimension: {unknown}"));
    }
    let until = parse_time(query, "until", now)?;
    let since = parse_time(query, "since", until - DEFAULT_RANGE)?;
    if since > until {
        return Err("since must be before until".to_owned());
    }
    let limit = match query.get("limit") {
        None => DEFAULT_LIMIT,
        Some(raw) => raw.parse().map_err(|_| format!("Invalid limit: {raw}"))?,
    };
    let mut sort = Vec::new();
    for item in comma_list(query.get("sort")) {
        let (name, descending) = match item.strip_prefix('-') {
            Some(name) => (name, true),
            None => (item.strip_prefix('+').unwrap_or(&item), false),
        };
        if !metrics.iter().any(|m| m == name) && !dimensions.iter().any(|d| d == name) {
            return Err(format!(
                "Cannot sort by {name}: not among the requested metrics or dimensions"
            ));
        }
        sort.push((name.to_owned(), descending));
    }
    let filters = match query.get("filters") {
        None | Some("") => None,
        Some(raw) => Some((raw.to_owned(), parse_filters(raw)?)),
    };
    Ok(Request {
        metrics,
        dimensions,
        since,
        until,
        limit,
        sort,
        filters,
    })
}

/// Whether the request touches `responseCached` (as a dimension, in filters or in sort).
fn uses_response_cached(request: &Request) -> bool {
    request.dimensions.iter().any(|d| d == "responseCached")
        || request.filters.as_ref().is_some_and(|(_, any)| {
            any.iter()
                .flatten()
                .any(|c| c.dimension == "responseCached")
        })
}

/// Start of the interval holding `t`, and the start of the next one.
fn interval(t: i64, unit: &str) -> (i64, i64) {
    let fixed = |step: i64| {
        let start = t - t.rem_euclid(step);
        (start, start + step)
    };
    match unit {
        "minute" => fixed(60),
        "dekaminute" => fixed(600),
        "hour" => fixed(3600),
        "day" => fixed(DAY),
        "week" => calendar::week(t),
        "month" => calendar::months(t, 1),
        "quarter" => calendar::months(t, 3),
        _ => calendar::months(t, 12),
    }
}

fn auto_unit(since: i64, until: i64) -> &'static str {
    let range = until - since;
    if range <= 3600 {
        "minute"
    } else if range <= 12 * 3600 {
        "dekaminute"
    } else if range <= 14 * DAY {
        "hour"
    } else {
        "day"
    }
}

/// `[[start, end], …]` covering `[since, until]`, ends inclusive (`…:59`).
fn time_intervals(since: i64, until: i64, unit: &str) -> Result<Vec<(i64, i64)>, String> {
    if unit == "all" {
        return Ok(vec![(since, until)]);
    }
    let mut out = Vec::new();
    let mut t = since;
    while t <= until {
        let (start, next) = interval(t, unit);
        out.push((start, next - 1));
        if out.len() > MAX_INTERVALS {
            return Err(format!(
                "Too many time intervals: at most {MAX_INTERVALS}; choose a coarser time_delta"
            ));
        }
        t = next;
    }
    Ok(out)
}

pub(crate) fn report(
    scenario: Scenario,
    zone_id: &str,
    path: &str,
    query: &QueryParams,
    by_time: bool,
) -> Response {
    if permission_missing(scenario, Permission::ZoneAnalyticsRead) {
        // What Cloudflare sends for a token lacking the permission.
        return raw_json_response(StatusCode::FORBIDDEN, AUTH_ERROR_FIXTURE);
    }
    let Some(zone) = find_zone(scenario, zone_id) else {
        return zone_not_found(path);
    };
    let now = unix_now();
    let request = match parse_request(query, now) {
        Ok(request) => request,
        Err(message) => return bad_request(&message),
    };
    if uses_response_cached(&request) && zone_plan(&zone) < Plan::Business {
        return json_response(
            StatusCode::FORBIDDEN,
            json!({
                "result": null,
                "success": false,
                "errors": [{ "code": 1034, "message": RESPONSE_CACHED_PLAN_MESSAGE }]
            }),
        );
    }
    // Only bytime has time intervals.
    let (time_delta, intervals) = if by_time {
        let time_delta = match query.get("time_delta").unwrap_or("auto") {
            "auto" => auto_unit(request.since, request.until),
            other => match TIME_DELTAS.iter().find(|d| **d == other) {
                Some(delta) => delta,
                None => return bad_request(&format!("Invalid time_delta: {other}")),
            },
        };
        match time_intervals(request.since, request.until, time_delta) {
            Ok(intervals) => (time_delta, intervals),
            Err(message) => return bad_request(&message),
        }
    } else {
        ("all", Vec::new())
    };

    let selected: Vec<Event> = events(now, &[zone_id])
        .into_iter()
        .filter(|e| e.time >= request.since && e.time <= request.until)
        .filter(|e| {
            request
                .filters
                .as_ref()
                .is_none_or(|(_, any)| any.iter().any(|all| all.iter().all(|c| c.matches(e))))
        })
        .collect();
    let totals_aggregate = Aggregate::of(&selected);
    let mut groups: BTreeMap<Vec<String>, Vec<Event>> = BTreeMap::new();
    for event in &selected {
        let key = request
            .dimensions
            .iter()
            .map(|d| dimension_value(event, d))
            .collect();
        groups.entry(key).or_default().push(*event);
    }
    let mut rows: Vec<(Vec<String>, Vec<Event>, Aggregate)> = groups
        .into_iter()
        .map(|(key, events)| {
            let aggregate = Aggregate::of(&events);
            (key, events, aggregate)
        })
        .collect();
    let default_sort = [(request.metrics[0].clone(), true)];
    let sort = if request.sort.is_empty() {
        &default_sort[..]
    } else {
        &request.sort[..]
    };
    rows.sort_by(|(a_key, _, a), (b_key, _, b)| {
        sort.iter()
            .map(|(name, descending)| {
                let ordering = match request.dimensions.iter().position(|d| d == name) {
                    Some(i) => a_key[i].cmp(&b_key[i]),
                    None => metric_number(a, name).total_cmp(&metric_number(b, name)),
                };
                if *descending {
                    ordering.reverse()
                } else {
                    ordering
                }
            })
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    });
    rows.truncate(usize::try_from(request.limit).unwrap_or(usize::MAX));

    let data: Vec<Value> = rows
        .iter()
        .map(|(key, events, aggregate)| {
            let metrics: Vec<Value> = if by_time {
                request
                    .metrics
                    .iter()
                    .map(|metric| {
                        Value::Array(
                            intervals
                                .iter()
                                .map(|(start, end)| {
                                    let inside: Vec<&Event> = events
                                        .iter()
                                        .filter(|e| e.time >= *start && e.time <= *end)
                                        .collect();
                                    metric_value(&Aggregate::of(inside), metric)
                                })
                                .collect(),
                        )
                    })
                    .collect()
            } else {
                request
                    .metrics
                    .iter()
                    .map(|metric| metric_value(aggregate, metric))
                    .collect()
            };
            let mut item = Map::new();
            if !request.dimensions.is_empty() {
                item.insert("dimensions".to_owned(), json!(key));
            }
            item.insert("metrics".to_owned(), Value::Array(metrics));
            Value::Object(item)
        })
        .collect();
    let totals: Map<String, Value> = request
        .metrics
        .iter()
        .map(|metric| (metric.clone(), metric_value(&totals_aggregate, metric)))
        .collect();

    let mut echo = json!({
        "dimensions": request.dimensions,
        "metrics": request.metrics,
        "since": rfc3339(request.since),
        "until": rfc3339(request.until),
        "limit": request.limit,
    });
    if let Some((raw, _)) = &request.filters {
        echo["filters"] = json!(raw);
    }
    if !request.sort.is_empty() {
        echo["sort"] = Value::Array(
            request
                .sort
                .iter()
                .map(|(name, descending)| json!({ "Id": name, "Desc": descending }))
                .collect(),
        );
    }
    let mut result = json!({
        "rows": data.len(),
        "data": data,
        "data_lag": 0,
        "min": {},
        "max": {},
        "totals": totals,
    });
    if by_time {
        echo["time_delta"] = json!(time_delta);
        result["time_intervals"] = intervals
            .iter()
            .map(|(start, end)| json!([rfc3339(*start), rfc3339(*end)]))
            .collect();
    }
    result["query"] = echo;
    success(result, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_intervals() {
        let t = parse_rfc3339("2026-11-26T15:31:12Z").expect("valid time");
        let show = |(a, b): (i64, i64)| (rfc3339(a), rfc3339(b));
        assert_eq!(
            show(interval(t, "dekaminute")),
            ("2026-11-26T15:30:00Z".into(), "2026-11-26T15:40:00Z".into())
        );
        assert_eq!(
            show(interval(t, "week")),
            ("2026-11-23T00:00:00Z".into(), "2026-11-30T00:00:00Z".into())
        );
        assert_eq!(
            show(interval(t, "quarter")),
            ("2026-10-01T00:00:00Z".into(), "2027-01-01T00:00:00Z".into())
        );
        assert_eq!(
            show(interval(t, "year")),
            ("2026-01-01T00:00:00Z".into(), "2027-01-01T00:00:00Z".into())
        );
    }
}
