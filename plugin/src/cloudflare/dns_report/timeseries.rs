//! `dns-timeseries`: the largest groups over the whole range, then the points of just those
//! groups, one series per group, every bucket filled.

use super::query::{only_groups, problems_error, report_query, run_graphql};
use super::read::{Group, bucket_start, read_group, zero_count};
use super::{
    DATASET, DEFAULT_SERIES, DnsCache, GraphqlGroups, MAX_POINTS, MAX_SERIES, auto_bucket,
    bucket_field, bucket_seconds, check::check_request, empty_notes, field, graphql_groups,
    legacy::legacy_timeseries,
};
use crate::cloudflare::scope::Scope;
use crate::error::invalid;
use crate::http::Transport;
use crate::names::name;
use crate::time::{self, Range, human_duration, rfc3339};
use crate::wit_dns::{Bucket, MetricValue, Point, ReportRequest, ReportSource, Series, Timeseries};
use crate::wit_types::Error;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// How many buckets cover the range, counting the partial first one.
pub(super) fn bucket_count(range: &Range, bucket: Bucket) -> i64 {
    let step = bucket_seconds(bucket);
    let first = range.since.div_euclid(step) * step;
    (range.until - first + step - 1) / step
}

/// `dns-timeseries`.
pub fn timeseries(
    transport: &dyn Transport,
    cache: &mut DnsCache,
    account_id: &str,
    request: &ReportRequest,
    bucket: Option<Bucket>,
    now: i64,
) -> Result<Timeseries, Error> {
    let checked = check_request(request, now, DEFAULT_SERIES, MAX_SERIES)?;
    let bucket = bucket.unwrap_or_else(|| match auto_bucket(&checked.range) {
        // The legacy report has no five-minute buckets.
        Bucket::FiveMinutes if checked.source == ReportSource::LegacyRest => Bucket::Hour,
        b => b,
    });
    let points = bucket_count(&checked.range, bucket);
    if points > MAX_POINTS {
        return Err(invalid(
            "bucket",
            format!(
                "{} buckets of {} would make {points} points per series (at most {MAX_POINTS}); \
                 choose a wider bucket or a shorter range",
                human_duration(checked.range.seconds()),
                name(bucket)
            ),
        ));
    }
    if checked.source == ReportSource::LegacyRest && bucket == Bucket::FiveMinutes {
        return Err(invalid(
            "bucket",
            "the legacy REST report has no five-minute buckets; use hour or day",
        ));
    }
    let scope = Scope::resolve(
        transport,
        &mut cache.zones,
        account_id,
        request.zone.as_deref(),
    )?;
    if checked.source == ReportSource::LegacyRest {
        return legacy_timeseries(transport, &scope, &checked, bucket);
    }
    // First the groups (the largest over the whole range; without dimensions, the range as a
    // whole) with their totals, then the points of just those groups: one series per group.
    let GraphqlGroups {
        grouped: top,
        limits,
        filter,
        mut notes,
    } = graphql_groups(transport, cache, &scope, &checked, now)?;
    let mut truncated = top.truncated;
    let mut series = Vec::new();
    if top.total_count > 0 && !top.groups.is_empty() {
        let wanted_rows = points.saturating_mul(top.groups.len() as i64);
        let asked = wanted_rows.min(i64::from(limits.max_page_size));
        if wanted_rows > asked {
            truncated = true;
            notes.push(format!(
                "{} series × {points} points exceed the {} rows a query may return; later \
                 points may be missing: narrow the range or widen the bucket.",
                top.groups.len(),
                limits.max_page_size
            ));
        }
        let mut fields: Vec<&str> = top.dimensions.iter().map(|d| field(*d)).collect();
        fields.push(bucket_field(bucket));
        let (tag, value) = scope.tag();
        let variables = json!({
            tag: value,
            "filter": only_groups(&filter, &top.dimensions, &top.groups),
            "limit": asked,
            "orderBy": [format!("{}_ASC", bucket_field(bucket))],
        });
        let query = report_query(scope.zone.is_none(), &fields, &checked.metrics, false);
        let node = match run_graphql(transport, &scope, &query, variables, asked as usize)? {
            Ok(node) => node,
            Err(problems) => return Err(problems_error(&scope, problems)),
        };
        let rows: Vec<(Group, Option<i64>)> = node
            .get("rows")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .map(|g| {
                        let time = g.pointer(&format!("/dimensions/{}", bucket_field(bucket)));
                        (
                            read_group(g, &top.dimensions, &checked.metrics),
                            time.and_then(bucket_start),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        for group in &top.groups {
            let mut by_time = BTreeMap::new();
            let mut count = 0;
            for (row, start) in &rows {
                if row.raw == group.raw
                    && let Some(start) = start
                {
                    by_time.insert(*start, row.row.metrics.clone());
                    count += row.count;
                }
            }
            series.push(Series {
                key: group.row.dimensions.clone(),
                points: fill_points(&checked.range, bucket, &by_time),
                query_count: count,
            });
        }
    } else {
        empty_notes(&scope, !checked.filters.is_empty(), &mut notes);
    }
    Ok(Timeseries {
        scope: scope.report_scope(DATASET, &checked.range),
        bucket,
        dimensions: top.dimensions,
        metrics: checked.metrics,
        series,
        totals: top.totals,
        truncated,
        dropped: top.dropped,
        notes,
    })
}

/// Every bucket of the range, those without queries at zero.
pub(super) fn fill_points(
    range: &Range,
    bucket: Bucket,
    by_time: &BTreeMap<i64, Vec<MetricValue>>,
) -> Vec<Point> {
    let step = bucket_seconds(bucket);
    let mut start = range.since.div_euclid(step) * step;
    let mut points = Vec::new();
    while start < range.until {
        let metrics = by_time.get(&start).cloned().unwrap_or_else(zero_count);
        points.push(Point {
            time: if bucket == Bucket::Day {
                time::date_string(start)
            } else {
                rfc3339(start)
            },
            metrics,
        });
        start += step;
    }
    points
}
