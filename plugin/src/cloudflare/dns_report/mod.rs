//! DNS query analytics on GraphQL `dnsAnalyticsAdaptiveGroups` (zone or account level), with
//! the deprecated REST report as a fallback for zones where GraphQL is refused.
//!
//! The query text is built only from this module's fixed field names; every value a user gives
//! (zone, filter values, times, limit, order) travels in `variables`.

use crate::cloudflare::catalog::grant_hint;
use crate::cloudflare::graphql::{self, Answer};
use crate::cloudflare::scope::Scope;
use crate::cloudflare::settings::{self, DatasetLimits};
use crate::cloudflare::zones::ZoneCache;
use crate::error::invalid;
use crate::http::Transport;
use crate::time::{self, Range, human_duration, rfc3339};
use crate::wit_dns::{
    Bucket, Dimension, DimensionFilter, DimensionValue, DroppedItem, FilterOperator, Metric,
    MetricValue, Point, Report, ReportRequest, ReportRow, ReportSource, Series, Sort, SortKey,
    SortOrder, Timeseries,
};
use crate::wit_types::{ApiFailure, Error, GraphqlProblem};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap};

mod legacy;

use legacy::{legacy_filter, legacy_report, legacy_timeseries};

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

/// Every dimension, in the order tools list them.
pub const DIMENSIONS: [Dimension; 13] = [
    Dimension::QueryName,
    Dimension::QueryType,
    Dimension::ResponseCode,
    Dimension::ResponseCached,
    Dimension::ResponseStale,
    Dimension::ColoName,
    Dimension::Protocol,
    Dimension::IpVersion,
    Dimension::SourceIp,
    Dimension::DestinationIp,
    Dimension::QuerySizeBucket,
    Dimension::ResponseSizeBucket,
    Dimension::ZoneTag,
];

pub const METRICS: [Metric; 5] = [
    Metric::QueryCount,
    Metric::ProcessingTimeAvg,
    Metric::ProcessingTimeP50,
    Metric::ProcessingTimeP90,
    Metric::ProcessingTimeP99,
];

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

/// The name used in tool arguments and results.
pub fn dimension_name(d: Dimension) -> &'static str {
    match d {
        Dimension::QueryName => "query-name",
        Dimension::QueryType => "query-type",
        Dimension::ResponseCode => "response-code",
        Dimension::ResponseCached => "response-cached",
        Dimension::ResponseStale => "response-stale",
        Dimension::ColoName => "colo-name",
        Dimension::Protocol => "protocol",
        Dimension::IpVersion => "ip-version",
        Dimension::SourceIp => "source-ip",
        Dimension::DestinationIp => "destination-ip",
        Dimension::QuerySizeBucket => "query-size-bucket",
        Dimension::ResponseSizeBucket => "response-size-bucket",
        Dimension::ZoneTag => "zone-tag",
    }
}

pub fn metric_name(m: Metric) -> &'static str {
    match m {
        Metric::QueryCount => "query-count",
        Metric::ProcessingTimeAvg => "processing-time-avg",
        Metric::ProcessingTimeP50 => "processing-time-p50",
        Metric::ProcessingTimeP90 => "processing-time-p90",
        Metric::ProcessingTimeP99 => "processing-time-p99",
    }
}

pub fn bucket_name(b: Bucket) -> &'static str {
    match b {
        Bucket::FiveMinutes => "five-minutes",
        Bucket::Hour => "hour",
        Bucket::Day => "day",
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

fn check_request(
    request: &ReportRequest,
    now: i64,
    default_limit: u32,
    max_limit: u32,
) -> Result<Checked, Error> {
    let account_level = request.zone.as_deref().is_none_or(|z| z.trim().is_empty());
    let source = request.source.unwrap_or(ReportSource::Graphql);
    let mut dimensions = Vec::new();
    for &d in &request.dimensions {
        if d == Dimension::ZoneTag && !account_level {
            return Err(invalid(
                "dimensions",
                "zone-tag groups an account-level report by zone; leave out `zone` to use it",
            ));
        }
        if !dimensions.contains(&d) {
            dimensions.push(d);
        }
    }
    let mut metrics = Vec::new();
    for &m in &request.metrics {
        if !metrics.contains(&m) {
            metrics.push(m);
        }
    }
    if metrics.is_empty() {
        metrics.push(Metric::QueryCount);
    }
    let mut filters = Vec::new();
    for f in &request.filters {
        filters.push(check_filter(f, account_level)?);
    }
    let range = time::resolve_range(
        request.range.since.as_deref(),
        request.range.until.as_deref(),
        now,
    )
    .map_err(|p| invalid(p.field, p.message))?;
    let sort = request.sort.unwrap_or(Sort {
        key: SortKey::Metric(Metric::QueryCount),
        order: SortOrder::Descending,
    });
    if let SortKey::Dimension(d) = sort.key
        && !dimensions.contains(&d)
    {
        return Err(invalid(
            "sort",
            format!(
                "sort by {} needs it among the dimensions, or sort by a metric",
                dimension_name(d)
            ),
        ));
    }
    let limit = request.limit.unwrap_or(default_limit);
    if !(1..=max_limit).contains(&limit) {
        return Err(invalid(
            "limit",
            format!("must be between 1 and {max_limit}"),
        ));
    }
    if source == ReportSource::LegacyRest {
        if account_level {
            return Err(invalid(
                "source",
                "the legacy REST report is per zone: give a zone, or use the graphql source",
            ));
        }
        let unsupported: Vec<&str> = dimensions
            .iter()
            .chain(filters.iter().map(|f| &f.dimension))
            .filter(|d| legacy_field(**d).is_none())
            .map(|d| dimension_name(*d))
            .collect();
        if !unsupported.is_empty() {
            return Err(invalid(
                "dimensions",
                format!(
                    "the legacy REST report has no {}; it has {}",
                    unsupported.join(", "),
                    DIMENSIONS
                        .iter()
                        .filter(|d| legacy_field(**d).is_some())
                        .map(|d| dimension_name(*d))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        for f in &filters {
            legacy_filter(f, filters.len() == 1)?;
        }
    }
    Ok(Checked {
        dimensions,
        metrics,
        filters,
        range,
        sort,
        limit,
        source,
    })
}

/// Checks a filter's values and writes numeric dimensions' values the way the schema wants.
fn check_filter(f: &DimensionFilter, account_level: bool) -> Result<DimensionFilter, Error> {
    let name = dimension_name(f.dimension);
    if f.dimension == Dimension::ZoneTag && !account_level {
        return Err(invalid(
            "filters",
            "a zone-tag filter only applies to an account-level report",
        ));
    }
    let single = matches!(
        f.operator,
        FilterOperator::Equals | FilterOperator::NotEquals
    );
    if f.values.is_empty() || (single && f.values.len() != 1) {
        return Err(invalid(
            "filters",
            format!(
                "the filter on {name} needs {}",
                if single {
                    "exactly one value"
                } else {
                    "at least one value"
                }
            ),
        ));
    }
    if f.values.len() > MAX_FILTER_VALUES {
        return Err(invalid(
            "filters",
            format!("at most {MAX_FILTER_VALUES} values per filter"),
        ));
    }
    let mut values = Vec::new();
    for raw in &f.values {
        let value = raw.trim();
        let normalized = match f.dimension {
            Dimension::ResponseCached | Dimension::ResponseStale => {
                match value.to_ascii_lowercase().as_str() {
                    "1" | "true" | "yes" | "cached" | "stale" => "1".to_string(),
                    "0" | "false" | "no" | "uncached" => "0".to_string(),
                    _ => {
                        return Err(invalid(
                            "filters",
                            format!("{name} is 1 (yes) or 0 (no), not {value:?}"),
                        ));
                    }
                }
            }
            Dimension::IpVersion => match value {
                "4" | "ipv4" | "IPv4" => "4".to_string(),
                "6" | "ipv6" | "IPv6" => "6".to_string(),
                _ => {
                    return Err(invalid(
                        "filters",
                        format!("ip-version is 4 or 6, not {value:?}"),
                    ));
                }
            },
            Dimension::Protocol => match value.to_ascii_uppercase().as_str() {
                p @ ("UDP" | "TCP") => p.to_string(),
                _ => {
                    return Err(invalid(
                        "filters",
                        format!("protocol is UDP or TCP, not {value:?}"),
                    ));
                }
            },
            // Cloudflare stores these upper-case (NXDOMAIN, AAAA).
            Dimension::ResponseCode | Dimension::QueryType => value.to_ascii_uppercase(),
            // Cloudflare counts names as DNS carries them: internationalized ones in ASCII.
            Dimension::QueryName => crate::punycode::to_ascii(value.trim_end_matches('.'))
                .ok_or_else(|| invalid("filters", format!("{value:?} is not a valid name")))?,
            _ => value.to_string(),
        };
        if normalized.is_empty() {
            return Err(invalid(
                "filters",
                format!("the filter on {name} has an empty value"),
            ));
        }
        values.push(normalized);
    }
    Ok(DimensionFilter {
        dimension: f.dimension,
        operator: f.operator,
        values,
    })
}

/// The GraphQL filter: the range, then every condition in `AND`.
fn graphql_filter(range: &Range, filters: &[DimensionFilter]) -> Value {
    let mut filter = Map::new();
    filter.insert("datetime_geq".into(), json!(rfc3339(range.since)));
    filter.insert("datetime_lt".into(), json!(rfc3339(range.until)));
    let conditions: Vec<Value> = filters.iter().map(graphql_condition).collect();
    if !conditions.is_empty() {
        filter.insert("AND".into(), Value::Array(conditions));
    }
    Value::Object(filter)
}

fn typed_value(d: Dimension, value: &str) -> Value {
    if is_numeric(d) {
        value
            .parse::<u8>()
            .map_or_else(|_| json!(value), |n| json!(n))
    } else {
        json!(value)
    }
}

fn graphql_condition(f: &DimensionFilter) -> Value {
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

fn order_by(sort: &Sort) -> String {
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
fn group_selection(dimension_fields: &[&str], metrics: &[Metric]) -> String {
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
fn viewer_field(account_level: bool) -> (&'static str, &'static str) {
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
fn run_graphql(
    transport: &dyn Transport,
    scope: &Scope,
    query: &str,
    variables: Value,
    max_rows: usize,
) -> Result<Result<Value, Vec<GraphqlProblem>>, Error> {
    let request = graphql::request(query, &variables);
    let response = transport.send(&request)?;
    let Answer { mut data, problems } = graphql::parse_capped(&request, response, max_rows)
        .map_err(|e| match e {
            // A REST-envelope refusal from the GraphQL endpoint: say which permission it needs.
            Error::Forbidden(mut failure) => {
                failure.hint = Some(grant_hint(scope.analytics_permission()));
                Error::Forbidden(failure)
            }
            other => other,
        })?;
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
        })),
    }
}

fn mentions_plan(p: &GraphqlProblem) -> bool {
    let m = p.message.to_ascii_lowercase();
    m.contains(" plan") || m.contains("plan ")
}

/// The WIT error GraphQL problems mean, with a hint per known code.
fn problems_error(scope: &Scope, problems: Vec<GraphqlProblem>) -> Error {
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
        Error::Forbidden(failure(hint))
    } else if code("budget") || code("quota") {
        Error::RateLimited(None)
    } else {
        Error::QueryRejected(problems)
    }
}

fn as_i64(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
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

/// One row as Cloudflare returned it: dimension values both raw (to filter on them again) and
/// as text.
struct Group {
    raw: Vec<Value>,
    row: ReportRow,
    count: u64,
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn read_metrics(group: &Value, metrics: &[Metric]) -> Vec<MetricValue> {
    metrics
        .iter()
        .filter_map(|&m| {
            let value = match metric_field(m) {
                ("", f) => group.get(f),
                (g, f) => group.get(g).and_then(|x| x.get(f)),
            };
            let value = match value? {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => s.parse().ok(),
                _ => None,
            }?;
            Some(MetricValue { metric: m, value })
        })
        .collect()
}

fn read_group(group: &Value, dimensions: &[Dimension], metrics: &[Metric]) -> Group {
    let raw: Vec<Value> = dimensions
        .iter()
        .map(|d| {
            group
                .pointer(&format!("/dimensions/{}", field(*d)))
                .cloned()
                .unwrap_or(Value::Null)
        })
        .collect();
    Group {
        row: ReportRow {
            dimensions: dimensions
                .iter()
                .zip(&raw)
                .map(|(d, v)| DimensionValue {
                    dimension: *d,
                    value: text_of(v),
                })
                .collect(),
            metrics: read_metrics(group, metrics),
        },
        count: as_i64(group.get("count")).map_or(0, |c| c.max(0) as u64),
        raw,
    }
}

/// The first `max` groups under `alias` (an answer longer than asked for is not read further).
fn groups_of(
    node: &Value,
    alias: &str,
    dimensions: &[Dimension],
    metrics: &[Metric],
    max: usize,
) -> Vec<Group> {
    node.get(alias)
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .take(max)
                .map(|g| read_group(g, dimensions, metrics))
                .collect()
        })
        .unwrap_or_default()
}

/// What a grouped GraphQL query gave after any plan retries.
struct Grouped {
    dimensions: Vec<Dimension>,
    groups: Vec<Group>,
    totals: Vec<MetricValue>,
    total_count: u64,
    truncated: bool,
    dropped: Vec<DroppedItem>,
}

/// One grouped query: what to group, measure and filter, in which order, how many rows.
struct Ask<'a> {
    dimensions: Vec<Dimension>,
    metrics: &'a [Metric],
    /// The GraphQL filter, range included.
    filter: &'a Value,
    /// The dimensions the user filtered on: a plan refusal of one of them cannot be dropped.
    filtered: Vec<Dimension>,
    sort: Sort,
    limit: u32,
}

/// `query-count` zero: the metrics of a range without queries.
fn zero_count() -> Vec<MetricValue> {
    vec![MetricValue {
        metric: Metric::QueryCount,
        value: 0.0,
    }]
}

fn problem_messages(problems: &[GraphqlProblem]) -> String {
    problems
        .iter()
        .map(|p| p.message.as_str())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Runs a grouped query. When the plan refuses a dimension that is only grouped on (not
/// filtered on), drops it and asks again, saying so: each retry removes one dimension, so the
/// loop ends.
fn grouped_query(
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
                    item: format!("dimension {}", dimension_name(d)),
                    reason: problem_messages(&problems),
                });
                if ask.sort.key == SortKey::Dimension(d) {
                    ask.sort = Sort {
                        key: SortKey::Metric(Metric::QueryCount),
                        order: SortOrder::Descending,
                    };
                    dropped.push(DroppedItem {
                        item: format!("sort by {}", dimension_name(d)),
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

/// How many buckets cover the range, counting the partial first one.
fn bucket_count(range: &Range, bucket: Bucket) -> i64 {
    let step = bucket_seconds(bucket);
    let first = range.since.div_euclid(step) * step;
    (range.until - first + step - 1) / step
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
                bucket_name(bucket)
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

/// The filter narrowed to the given groups (any of their dimension-value combinations).
fn only_groups(filter: &Value, dimensions: &[Dimension], groups: &[Group]) -> Value {
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

/// A bucket's start from `2026-11-26T15:00:00Z` or `2026-11-26`.
fn bucket_start(time: &Value) -> Option<i64> {
    let text = time.as_str()?;
    if text.len() == 10 {
        time::parse_rfc3339(&format!("{text}T00:00:00Z"))
    } else {
        time::parse_rfc3339(text)
    }
}

/// Every bucket of the range, those without queries at zero.
fn fill_points(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloudflare::schema_check::assert_valid;
    use crate::http::Response;
    use crate::http::testing::Queued;
    use crate::wit_types::TimeRange;

    pub(super) const ACCOUNT: &str = "01a7362d577a6c3019a474fd6f485823";
    pub(super) const ZONE: &str = "234234243423aaabb334342aaa343433";
    pub(super) const NOW: i64 = 1_795_705_200; // 2026-11-26T15:00:00Z

    fn every_filter() -> Vec<DimensionFilter> {
        let mut filters = Vec::new();
        for d in DIMENSIONS {
            let value = match d {
                Dimension::IpVersion => "6",
                Dimension::ResponseCached | Dimension::ResponseStale => "1",
                _ => "x",
            };
            for operator in [
                FilterOperator::Equals,
                FilterOperator::NotEquals,
                FilterOperator::InList,
                FilterOperator::NotInList,
            ] {
                let values = match operator {
                    FilterOperator::Equals | FilterOperator::NotEquals => vec![value.into()],
                    _ => vec![value.into(), value.into()],
                };
                filters.push(DimensionFilter {
                    dimension: d,
                    operator,
                    values,
                });
            }
        }
        filters
    }

    #[test]
    fn every_query_the_plugin_can_send_validates_against_the_schema() {
        let range = Range {
            since: NOW - 3600,
            until: NOW,
        };
        for account_level in [false, true] {
            let (tag, value) = if account_level {
                ("accountTag", ACCOUNT)
            } else {
                ("zoneTag", ZONE)
            };
            assert_valid(
                &settings::query(account_level, &[DATASET]),
                &json!({ tag: value }),
            );
            let dimensions: Vec<Dimension> = DIMENSIONS
                .into_iter()
                .filter(|d| account_level || *d != Dimension::ZoneTag)
                .collect();
            let filters: Vec<DimensionFilter> = every_filter()
                .into_iter()
                .filter(|f| account_level || f.dimension != Dimension::ZoneTag)
                .collect();
            let mut shapes: Vec<Vec<&str>> = vec![vec![]];
            shapes.extend(dimensions.iter().map(|d| vec![field(*d)]));
            shapes.push(dimensions.iter().map(|d| field(*d)).collect());
            for b in [Bucket::FiveMinutes, Bucket::Hour, Bucket::Day] {
                shapes.push(vec![bucket_field(b)]);
                shapes.push(vec![field(Dimension::QueryType), bucket_field(b)]);
            }
            let mut orders: Vec<Sort> = METRICS
                .iter()
                .map(|m| Sort {
                    key: SortKey::Metric(*m),
                    order: SortOrder::Descending,
                })
                .collect();
            orders.extend(dimensions.iter().map(|d| Sort {
                key: SortKey::Dimension(*d),
                order: SortOrder::Ascending,
            }));
            for fields in &shapes {
                for metrics in [&METRICS[..1], &METRICS[..]] {
                    for with_total in [false, true] {
                        let query = report_query(account_level, fields, metrics, with_total);
                        for sort in &orders {
                            let variables = json!({
                                tag: value,
                                "filter": graphql_filter(&range, &filters),
                                "limit": 101,
                                "orderBy": [order_by(sort)],
                            });
                            assert_valid(&query, &variables);
                        }
                    }
                }
            }
            for b in [Bucket::FiveMinutes, Bucket::Hour, Bucket::Day] {
                let query = report_query(account_level, &[bucket_field(b)], &METRICS, false);
                assert_valid(
                    &query,
                    &json!({ tag: value, "filter": graphql_filter(&range, &[]), "limit": 10,
                             "orderBy": [format!("{}_ASC", bucket_field(b))] }),
                );
            }
        }
    }

    pub(super) fn zone_body(plan: &str) -> String {
        json!({"success": true, "errors": [], "messages": [], "result": {
            "id": ZONE, "name": "example.com", "status": "active", "paused": false,
            "type": "full", "name_servers": ["ada.ns.cloudflare.com"],
            "plan": {"name": plan}, "account": {"id": ACCOUNT}}})
        .to_string()
    }

    pub(super) fn settings_body(max_duration: i64, not_older_than: i64) -> String {
        json!({"data": {"viewer": {"zones": [{"settings": {DATASET: {
            "enabled": true, "maxDuration": max_duration, "notOlderThan": not_older_than,
            "maxPageSize": 10000}}}]}}, "errors": null})
        .to_string()
    }

    pub(super) fn rows_body(rows: Value, total: u64) -> String {
        json!({"data": {"viewer": {"zones": [{"rows": rows, "total": [{"count": total}]}]}},
               "errors": null})
        .to_string()
    }

    pub(super) fn request(
        dimensions: Vec<Dimension>,
        filters: Vec<DimensionFilter>,
    ) -> ReportRequest {
        ReportRequest {
            zone: Some(ZONE.into()),
            dimensions,
            metrics: vec![],
            filters,
            range: TimeRange {
                since: Some("24h".into()),
                until: None,
            },
            sort: None,
            limit: Some(2),
            source: None,
        }
    }

    pub(super) fn nxdomain() -> DimensionFilter {
        DimensionFilter {
            dimension: Dimension::ResponseCode,
            operator: FilterOperator::Equals,
            values: vec!["nxdomain".into()],
        }
    }

    #[test]
    fn a_zone_report_sends_values_as_variables_and_reads_rows() {
        let t = Queued::new(vec![
            Response::ok(&zone_body("Free Website")),
            Response::ok(&settings_body(604_800, 691_200)),
            Response::ok(&rows_body(
                json!([
                    {"count": 48, "dimensions": {"queryName": "missing.example.com"}},
                    {"count": 24, "dimensions": {"queryName": "old.example.com"}}
                ]),
                72,
            )),
        ]);
        let mut cache = DnsCache::default();
        let hostile = DimensionFilter {
            dimension: Dimension::QueryName,
            operator: FilterOperator::NotEquals,
            values: vec!["\"}) { viewer { __typename } } #".into()],
        };
        let r = report(
            &t,
            &mut cache,
            ACCOUNT,
            &request(vec![Dimension::QueryName], vec![nxdomain(), hostile]),
            NOW,
        )
        .expect("report");
        assert_eq!(r.rows.len(), 2);
        assert_eq!(r.rows[0].dimensions[0].value, "missing.example.com");
        assert_eq!(r.rows[0].metrics[0].value, 48.0);
        assert_eq!(r.totals[0].value, 72.0);
        assert!(!r.truncated, "48 + 24 rows cover the total of 72");
        assert_eq!(r.scope.since, "2026-11-25T15:00:00Z");
        let body = t.body(2);
        let query = body["query"].as_str().expect("query");
        assert!(!query.contains("nxdomain") && !query.contains("NXDOMAIN"));
        assert!(
            !query.contains("__typename"),
            "a value never reaches the text"
        );
        assert_eq!(body["variables"]["zoneTag"], ZONE);
        assert_eq!(body["variables"]["limit"], 3);
        assert_eq!(body["variables"]["orderBy"], json!(["count_DESC"]));
        assert_eq!(
            body["variables"]["filter"]["AND"][0],
            json!({"responseCode": "NXDOMAIN"})
        );
        assert_eq!(
            body["variables"]["filter"]["AND"][1]["queryName_neq"],
            "\"}) { viewer { __typename } } #"
        );
        assert_valid(query, &body["variables"]);
        // The settings are read once per instance.
        let t2 = Queued::new(vec![Response::ok(&rows_body(json!([]), 0))]);
        let r = report(
            &t2,
            &mut cache,
            ACCOUNT,
            &request(vec![Dimension::QueryName], vec![]),
            NOW,
        )
        .expect("cached zone and limits");
        assert!(r.rows.is_empty());
        assert!(r.notes[0].contains("24 hours"), "{:?}", r.notes);
    }

    #[test]
    fn ranges_beyond_the_dataset_limits_fail_before_the_query() {
        let too_long = ReportRequest {
            range: TimeRange {
                since: Some("10d".into()),
                until: None,
            },
            ..request(vec![], vec![])
        };
        let t = Queued::new(vec![
            Response::ok(&zone_body("Free Website")),
            Response::ok(&settings_body(604_800, 691_200)),
        ]);
        let e = report(&t, &mut DnsCache::default(), ACCOUNT, &too_long, NOW);
        let Err(Error::InvalidInput(p)) = e else {
            panic!("expected invalid-input, got {e:?}")
        };
        assert_eq!(p.field, "range");
        assert!(p.message.contains("at most 7d"), "{}", p.message);
        assert!(p.message.contains("2026-11-19T15:00:00Z"), "{}", p.message);
        assert_eq!(t.sent().len(), 2, "no data query was sent");

        let too_old = ReportRequest {
            range: TimeRange {
                since: Some("2026-11-10".into()),
                until: Some("2026-11-12".into()),
            },
            ..request(vec![], vec![])
        };
        let t = Queued::new(vec![
            Response::ok(&zone_body("Free Website")),
            Response::ok(&settings_body(604_800, 691_200)),
        ]);
        let e = report(&t, &mut DnsCache::default(), ACCOUNT, &too_old, NOW);
        assert!(
            matches!(&e, Err(Error::InvalidInput(p)) if p.field == "range.since" && p.message.contains("8d")),
            "{e:?}"
        );
    }

    #[test]
    fn a_dimension_the_plan_refuses_is_dropped_and_said() {
        let refusal = json!({"data": null, "errors": [{
            "message": "zone does not have access to the field responseCached on its plan (Free Website)",
            "path": ["viewer", "zones", 0, "rows"], "extensions": {"code": "authz"}}]})
        .to_string();
        let t = Queued::new(vec![
            Response::ok(&zone_body("Free Website")),
            Response::ok(&settings_body(604_800, 691_200)),
            Response::ok(&refusal),
            Response::ok(&rows_body(
                json!([{"count": 20, "dimensions": {"queryType": "A"}}]),
                20,
            )),
        ]);
        let r = report(
            &t,
            &mut DnsCache::default(),
            ACCOUNT,
            &request(
                vec![Dimension::ResponseCached, Dimension::QueryType],
                vec![],
            ),
            NOW,
        )
        .expect("answered without the dimension");
        assert_eq!(r.dimensions, vec![Dimension::QueryType]);
        assert_eq!(r.dropped[0].item, "dimension response-cached");
        assert!(r.dropped[0].reason.contains("plan"));
        let retried = t.body(3);
        assert!(
            !retried["query"]
                .as_str()
                .unwrap_or_default()
                .contains("responseCached")
        );

        // Filtering on it cannot be dropped without changing the answer: a plan-limit error.
        let cached = DimensionFilter {
            dimension: Dimension::ResponseCached,
            operator: FilterOperator::Equals,
            values: vec!["yes".into()],
        };
        let t = Queued::new(vec![
            Response::ok(&zone_body("Free Website")),
            Response::ok(&settings_body(604_800, 691_200)),
            Response::ok(&refusal),
        ]);
        let e = report(
            &t,
            &mut DnsCache::default(),
            ACCOUNT,
            &request(vec![], vec![cached]),
            NOW,
        );
        assert!(matches!(e, Err(Error::PlanLimit(_))), "{e:?}");
    }

    #[test]
    fn account_limits_fall_back_to_the_documented_minimum() {
        let rejected = json!({"data": null, "errors": [{
            "message": "Cannot query field \"dnsAnalyticsAdaptiveGroups\" on type \"AccountSettings\"",
            "extensions": {"code": "bad_request"}}]})
        .to_string();
        let account_rows = json!({"data": {"viewer": {"accounts": [{"rows": [{"count": 7}]}]}},
                                  "errors": null})
        .to_string();
        let t = Queued::new(vec![Response::ok(&rejected), Response::ok(&account_rows)]);
        let request = ReportRequest {
            zone: None,
            ..request(vec![], vec![])
        };
        let r = report(&t, &mut DnsCache::default(), ACCOUNT, &request, NOW).expect("report");
        assert_eq!(r.totals[0].value, 7.0);
        assert!(
            r.notes.iter().any(|n| n.contains("assumed")),
            "{:?}",
            r.notes
        );
        // The assumed limits still apply.
        let t = Queued::new(vec![Response::ok(&rejected)]);
        let long = ReportRequest {
            range: TimeRange {
                since: Some("8d".into()),
                until: None,
            },
            ..request
        };
        let e = report(&t, &mut DnsCache::default(), ACCOUNT, &long, NOW);
        assert!(
            matches!(&e, Err(Error::InvalidInput(p)) if p.field == "range"),
            "{e:?}"
        );
    }

    #[test]
    fn graphql_problems_map_to_typed_errors() {
        let scope = Scope {
            account_id: ACCOUNT.into(),
            zone: None,
        };
        let problem = |code: &str| GraphqlProblem {
            message: "nope".into(),
            path: vec![],
            code: Some(code.into()),
            hint: None,
        };
        let Error::Forbidden(f) = problems_error(&scope, vec![problem("authz")]) else {
            panic!("authz is forbidden")
        };
        assert!(f.hint.unwrap_or_default().contains("Account Analytics"));
        assert!(matches!(
            problems_error(&scope, vec![problem("budget")]),
            Error::RateLimited(None)
        ));
        assert!(matches!(
            problems_error(&scope, vec![problem("bad_request")]),
            Error::QueryRejected(_)
        ));
    }

    #[test]
    fn a_full_page_is_truncated_when_rows_do_not_cover_the_total() {
        let rows: Vec<Value> = (0..3)
            .map(|i| json!({"count": 10, "dimensions": {"queryName": format!("n{i}")}}))
            .collect();
        let t = Queued::new(vec![
            Response::ok(&zone_body("Enterprise Website")),
            Response::ok(&settings_body(604_800, 691_200)),
            Response::ok(&rows_body(Value::Array(rows), 50)),
        ]);
        let r = report(
            &t,
            &mut DnsCache::default(),
            ACCOUNT,
            &request(vec![Dimension::QueryName], vec![]),
            NOW,
        )
        .expect("report");
        assert_eq!(r.rows.len(), 2);
        assert!(r.truncated);
    }

    #[test]
    fn bad_requests_name_the_field_before_sending() {
        let t = Queued::new(vec![]);
        let mut cache = DnsCache::default();
        let cases = [
            (
                ReportRequest {
                    limit: Some(10_001),
                    ..request(vec![], vec![])
                },
                "limit",
            ),
            (request(vec![Dimension::ZoneTag], vec![]), "dimensions"),
            (
                request(
                    vec![],
                    vec![DimensionFilter {
                        dimension: Dimension::IpVersion,
                        operator: FilterOperator::Equals,
                        values: vec!["5".into()],
                    }],
                ),
                "filters",
            ),
            (
                ReportRequest {
                    range: TimeRange {
                        since: Some("last tuesday".into()),
                        until: None,
                    },
                    ..request(vec![], vec![])
                },
                "range.since",
            ),
            (
                ReportRequest {
                    sort: Some(Sort {
                        key: SortKey::Dimension(Dimension::QueryType),
                        order: SortOrder::Ascending,
                    }),
                    ..request(vec![], vec![])
                },
                "sort",
            ),
            (
                ReportRequest {
                    source: Some(ReportSource::LegacyRest),
                    ..request(vec![Dimension::SourceIp], vec![])
                },
                "dimensions",
            ),
        ];
        for (bad, field) in cases {
            let e = report(&t, &mut cache, ACCOUNT, &bad, NOW);
            assert!(
                matches!(&e, Err(Error::InvalidInput(p)) if p.field == field),
                "{field}: {e:?}"
            );
        }
        assert!(t.sent().is_empty());
    }

    pub(super) fn fixture(name: &str) -> String {
        std::fs::read_to_string(format!(
            "{}/../tests/fixtures/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .expect("fixture")
    }

    #[test]
    fn a_timeseries_fills_every_bucket_per_group() {
        let top = rows_body(
            json!([
                {"count": 30, "dimensions": {"queryType": "A"}},
                {"count": 10, "dimensions": {"queryType": "AAAA"}}
            ]),
            40,
        );
        let points = rows_body(
            json!([
                {"count": 20, "dimensions": {"queryType": "A", "datetimeHour": "2026-11-26T12:00:00Z"}},
                {"count": 10, "dimensions": {"queryType": "A", "datetimeHour": "2026-11-26T14:00:00Z"}},
                {"count": 10, "dimensions": {"queryType": "AAAA", "datetimeHour": "2026-11-26T13:00:00Z"}}
            ]),
            0,
        );
        let t = Queued::new(vec![
            Response::ok(&zone_body("Free Website")),
            Response::ok(&settings_body(604_800, 691_200)),
            Response::ok(&top),
            Response::ok(&points),
        ]);
        let r = timeseries(
            &t,
            &mut DnsCache::default(),
            ACCOUNT,
            &ReportRequest {
                range: TimeRange {
                    since: Some("12h".into()),
                    until: None,
                },
                limit: None,
                ..request(vec![Dimension::QueryType], vec![])
            },
            None,
            NOW,
        )
        .expect("series");
        assert_eq!(r.bucket, Bucket::Hour);
        assert_eq!(r.series.len(), 2);
        assert_eq!(r.series[0].points.len(), 12);
        assert_eq!(r.series[0].query_count, 30);
        let at = |s: &Series, time: &str| {
            s.points
                .iter()
                .find(|p| p.time == time)
                .map(|p| p.metrics[0].value)
        };
        assert_eq!(at(&r.series[0], "2026-11-26T12:00:00Z"), Some(20.0));
        assert_eq!(at(&r.series[0], "2026-11-26T13:00:00Z"), Some(0.0));
        assert_eq!(r.totals[0].value, 40.0);
        let second = t.body(3);
        assert_eq!(
            second["variables"]["filter"]["AND"][0]["OR"],
            json!([{"queryType": "A"}, {"queryType": "AAAA"}])
        );
        assert_valid(
            second["query"].as_str().unwrap_or_default(),
            &second["variables"],
        );
    }

    #[test]
    fn buckets_follow_the_range_and_count_the_partial_first_one() {
        let r = |s: i64| Range { since: 0, until: s };
        assert_eq!(auto_bucket(&r(3600)), Bucket::FiveMinutes);
        assert_eq!(auto_bucket(&r(86_400)), Bucket::Hour);
        assert_eq!(auto_bucket(&r(30 * 86_400)), Bucket::Day);
        let aligned = Range {
            since: NOW - 86_400,
            until: NOW,
        };
        assert_eq!(bucket_count(&aligned, Bucket::Hour), 24);
        let unaligned = Range {
            since: NOW + 1033 - 86_400,
            until: NOW + 1033,
        };
        assert_eq!(bucket_count(&unaligned, Bucket::Hour), 25);
        assert_eq!(
            fill_points(&unaligned, Bucket::Hour, &BTreeMap::new()).len(),
            25
        );
    }
}
