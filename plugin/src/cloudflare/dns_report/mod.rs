//! DNS query analytics on GraphQL `dnsAnalyticsAdaptiveGroups` (zone or account level), with
//! the deprecated REST report as a fallback for zones where GraphQL is refused.
//!
//! The query text is built only from this module's fixed field names; every value a user gives
//! (zone, filter values, times, limit, order) travels in `variables`.
//!
//! Cut along its seams: [`check`] (the request), [`query`] (the GraphQL query, its filters and
//! problems), [`read`] (the rows of an answer), [`timeseries`], and [`legacy`] (the REST
//! report). This file holds the names, the dataset's limits and `dns-report`.

mod check;
mod legacy;
mod query;
mod read;
mod timeseries;

pub use query::report_query;
pub use timeseries::timeseries;

use crate::cloudflare::scope::Scope;
use crate::cloudflare::settings::{self, DatasetLimits};
use crate::cloudflare::zones::ZoneCache;
use crate::http::Transport;
use crate::time::{self, Range};
use crate::wit_dns::{
    Bucket, Dimension, DimensionFilter, Metric, Report, ReportRequest, ReportSource, Sort,
};
use crate::wit_types::{ApiFailure, Error};
use check::check_request;
use legacy::legacy_report;
use query::{Ask, graphql_filter, grouped_query, problems_error, run_graphql};
use read::{Grouped, text_of};
use serde_json::{Value, json};
use std::collections::HashMap;
use timeseries::fill_points;

pub const DATASET: &str = "dnsAnalyticsAdaptiveGroups";
pub const DEFAULT_ROWS: u32 = 100;
pub const MAX_ROWS: u32 = 10_000;
pub const DEFAULT_SERIES: u32 = 10;
pub const MAX_SERIES: u32 = 100;
/// More points than this per series would not help a reader (or a language model).
pub const MAX_POINTS: i64 = 2_000;
const MAX_FILTER_VALUES: usize = 100;

pub const EMPTY_HINT: &str = "DNS analytics can take up to 24 hours to appear for a new zone, \
and queries are only counted when the zone uses Cloudflare DNS (its registrar lists the \
Cloudflare name servers).";

/// The GraphQL field of a dimension.
pub fn field(d: Dimension) -> &'static str {
    match d {
        Dimension::QueryName => "queryName",
        Dimension::QueryType => "queryType",
        Dimension::ResponseCode => "responseCode",
        Dimension::ResponseCached => "responseCached",
        Dimension::ResponseStale => "responseStale",
        Dimension::ColoName => "coloName",
        Dimension::Protocol => "protocol",
        Dimension::IpVersion => "ipVersion",
        Dimension::SourceIp => "sourceIP",
        Dimension::DestinationIp => "destinationIP",
        Dimension::QuerySizeBucket => "querySizeBucket",
        Dimension::ResponseSizeBucket => "responseSizeBucket",
        Dimension::ZoneTag => "zoneTag",
    }
}

/// The legacy REST report's name for a dimension, where it has one.
fn legacy_field(d: Dimension) -> Option<&'static str> {
    match d {
        Dimension::QueryName => Some("queryName"),
        Dimension::QueryType => Some("queryType"),
        Dimension::ResponseCode => Some("responseCode"),
        Dimension::ResponseCached => Some("responseCached"),
        Dimension::ColoName => Some("coloName"),
        Dimension::Protocol => Some("tcp"),
        Dimension::IpVersion => Some("ipVersion"),
        Dimension::QuerySizeBucket => Some("querySizeBucket"),
        Dimension::ResponseSizeBucket => Some("responseSizeBucket"),
        Dimension::ResponseStale
        | Dimension::SourceIp
        | Dimension::DestinationIp
        | Dimension::ZoneTag => None,
    }
}

/// `(selection, path)` of a metric in a group: `avg { processingTimeUs }` is `("avg",
/// "processingTimeUs")`.
fn metric_field(m: Metric) -> (&'static str, &'static str) {
    match m {
        Metric::QueryCount => ("", "count"),
        Metric::ProcessingTimeAvg => ("avg", "processingTimeUs"),
        Metric::ProcessingTimeP50 => ("quantiles", "processingTimeUsP50"),
        Metric::ProcessingTimeP90 => ("quantiles", "processingTimeUsP90"),
        Metric::ProcessingTimeP99 => ("quantiles", "processingTimeUsP99"),
    }
}

fn legacy_metric(m: Metric) -> &'static str {
    match m {
        Metric::QueryCount => "queryCount",
        Metric::ProcessingTimeAvg => "responseTimeAvg",
        Metric::ProcessingTimeP50 => "responseTimeMedian",
        Metric::ProcessingTimeP90 => "responseTime90th",
        Metric::ProcessingTimeP99 => "responseTime99th",
    }
}

/// Dimensions the schema types as `uint8`: their values are numbers, not strings.
fn is_numeric(d: Dimension) -> bool {
    matches!(
        d,
        Dimension::ResponseCached | Dimension::ResponseStale | Dimension::IpVersion
    )
}

fn bucket_seconds(b: Bucket) -> i64 {
    match b {
        Bucket::FiveMinutes => 300,
        Bucket::Hour => 3600,
        Bucket::Day => 86_400,
    }
}

/// The time dimension a bucket groups by.
fn bucket_field(b: Bucket) -> &'static str {
    match b {
        Bucket::FiveMinutes => "datetimeFiveMinutes",
        Bucket::Hour => "datetimeHour",
        Bucket::Day => "date",
    }
}

/// Five-minute buckets up to 6 hours, hours up to 7 days, then days.
pub fn auto_bucket(range: &Range) -> Bucket {
    match range.seconds() {
        s if s <= 6 * 3600 => Bucket::FiveMinutes,
        s if s <= 7 * 86_400 => Bucket::Hour,
        _ => Bucket::Day,
    }
}

/// Account-level limits when `settings` does not list them: the documented minimum (Free: 7
/// days per query; 8 days of history).
fn account_fallback() -> DatasetLimits {
    DatasetLimits {
        enabled: true,
        max_duration: 7 * 86_400,
        not_older_than: 8 * 86_400,
        max_page_size: MAX_ROWS,
        max_number_of_fields: 0,
        available_fields: Vec::new(),
        assumed: true,
    }
}

const ASSUMED_NOTE: &str = "Cloudflare did not list this dataset's limits for account-level \
queries; the documented minimum was assumed (7 days per query, 8 days back).";

/// What an instance keeps between calls: zones it looked up and dataset limits per scope.
#[derive(Debug, Default)]
pub struct DnsCache {
    pub zones: ZoneCache,
    limits: HashMap<String, DatasetLimits>,
}

/// A request checked before anything is sent.
struct Checked {
    dimensions: Vec<Dimension>,
    metrics: Vec<Metric>,
    filters: Vec<DimensionFilter>,
    range: Range,
    sort: Sort,
    limit: u32,
    source: ReportSource,
}

impl Checked {
    fn filtered(&self) -> Vec<Dimension> {
        self.filters.iter().map(|f| f.dimension).collect()
    }
}

/// The dataset's limits for the scope, asked once per instance.
fn limits(
    transport: &dyn Transport,
    cache: &mut DnsCache,
    scope: &Scope,
) -> Result<DatasetLimits, Error> {
    let key = scope.key();
    if let Some(limits) = cache.limits.get(&key) {
        return Ok(limits.clone());
    }
    let (tag, value) = scope.tag();
    let answer = run_graphql(
        transport,
        scope,
        &settings::query(scope.zone.is_none(), &[DATASET]),
        json!({ tag: value }),
        usize::MAX,
    );
    let limits = match answer {
        Ok(Ok(node)) => match settings::read(&node, DATASET, MAX_ROWS) {
            Some(limits) => limits,
            // The published schema predates account-level DNS analytics; should the
            // account's settings node lack the dataset, use the documented minimum.
            None if scope.zone.is_none() => account_fallback(),
            None => {
                return Err(Error::Upstream(ApiFailure {
                    status: 200,
                    codes: Vec::new(),
                    message: format!(
                        "the settings of {DATASET} for {} came back without limits",
                        scope.describe()
                    ),
                    hint: None,
                    permission: None,
                }));
            }
        },
        Ok(Err(problems)) => return Err(problems_error(scope, problems)),
        Err(Error::QueryRejected(_)) if scope.zone.is_none() => account_fallback(),
        Err(e) => return Err(e),
    };
    cache.limits.insert(key, limits.clone());
    Ok(limits)
}

fn empty_notes(scope: &Scope, filtered: bool, notes: &mut Vec<String>) {
    let what = if filtered {
        "No DNS queries matched these filters in this range."
    } else {
        "No DNS queries in this range."
    };
    notes.push(format!("{what} {EMPTY_HINT}"));
    if let Some(zone) = &scope.zone
        && zone.status != "active"
    {
        notes.push(format!(
            "Zone {} is {}: until its registrar uses the name servers {}, Cloudflare answers no \
             queries for it.",
            zone.name,
            zone.status,
            zone.name_servers.join(", ")
        ));
    }
}

/// `dns-report`.
pub fn report(
    transport: &dyn Transport,
    cache: &mut DnsCache,
    account_id: &str,
    request: &ReportRequest,
    now: i64,
) -> Result<Report, Error> {
    let checked = check_request(request, now, DEFAULT_ROWS, MAX_ROWS)?;
    let scope = Scope::resolve(
        transport,
        &mut cache.zones,
        account_id,
        request.zone.as_deref(),
    )?;
    if checked.source == ReportSource::LegacyRest {
        return legacy_report(transport, &scope, &checked);
    }
    let GraphqlGroups {
        grouped, mut notes, ..
    } = graphql_groups(transport, cache, &scope, &checked, now)?;
    if grouped.total_count == 0 {
        empty_notes(&scope, !checked.filters.is_empty(), &mut notes);
    }
    Ok(Report {
        scope: scope.report_scope(DATASET, &checked.range),
        dimensions: grouped.dimensions,
        metrics: checked.metrics,
        rows: grouped.groups.into_iter().map(|g| g.row).collect(),
        totals: grouped.totals,
        truncated: grouped.truncated,
        dropped: grouped.dropped,
        notes,
    })
}

/// The groups of a GraphQL report, with what they were asked within.
struct GraphqlGroups {
    grouped: Grouped,
    limits: DatasetLimits,
    /// The range and the user's conditions.
    filter: Value,
    notes: Vec<String>,
}

/// What reports and time series share: the dataset's limits checked, then the groups.
fn graphql_groups(
    transport: &dyn Transport,
    cache: &mut DnsCache,
    scope: &Scope,
    checked: &Checked,
    now: i64,
) -> Result<GraphqlGroups, Error> {
    let limits = limits(transport, cache, scope)?;
    check_dataset(scope, &limits, &checked.range, now)?;
    let filter = graphql_filter(&checked.range, &checked.filters);
    let grouped = grouped_query(
        transport,
        scope,
        &limits,
        Ask {
            dimensions: checked.dimensions.clone(),
            metrics: &checked.metrics,
            filter: &filter,
            filtered: checked.filtered(),
            sort: checked.sort,
            limit: checked.limit.min(limits.max_page_size),
        },
    )?;
    Ok(GraphqlGroups {
        grouped,
        notes: limit_notes(&limits, checked.limit),
        limits,
        filter,
    })
}

/// What the report says about the limits it worked within.
fn limit_notes(limits: &DatasetLimits, asked: u32) -> Vec<String> {
    let mut notes = Vec::new();
    if limits.assumed {
        notes.push(ASSUMED_NOTE.to_string());
    }
    if asked > limits.max_page_size {
        notes.push(format!(
            "{DATASET} returns at most {} rows per query here; the limit was lowered to it.",
            limits.max_page_size
        ));
    }
    notes
}

fn check_dataset(
    scope: &Scope,
    limits: &DatasetLimits,
    range: &Range,
    now: i64,
) -> Result<(), Error> {
    if !limits.enabled {
        return Err(Error::PlanLimit(ApiFailure {
            status: 200,
            codes: Vec::new(),
            message: format!("{DATASET} is not enabled for {}", scope.describe()),
            hint: Some(
                "The plan does not include DNS analytics through GraphQL; try the legacy-rest \
                 source for a zone."
                    .to_string(),
            ),
            permission: None,
        }));
    }
    settings::check_range(
        range,
        limits,
        now,
        DATASET,
        &scope.describe(),
        ("range", "range.since"),
    )
}

#[cfg(test)]
mod tests;
