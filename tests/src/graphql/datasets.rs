//! The datasets the fake answers, their fields and their limits, as the `settings` node
//! reports them.

use serde_json::{Value, json};

use super::exec::Scope;
use crate::calendar::DAY;
use crate::http_events::{FIREWALL_FIELDS, HTTP_FIELDS};
use crate::rest::zones::Plan;

/// Per-dataset limits, as the `settings` node reports them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Widest time range of one query, seconds.
    pub max_duration: i64,
    /// How far back a query may reach from now, seconds.
    pub not_older_than: i64,
    pub max_page_size: u64,
    pub max_number_of_fields: usize,
}

impl Limits {
    const fn new(max_duration: i64, not_older_than: i64) -> Limits {
        Limits {
            max_duration,
            not_older_than,
            max_page_size: 10_000,
            max_number_of_fields: 30,
        }
    }
}

/// DNS analytics limits ("DNS analytics history by plan" in the reference README): zones on
/// Free 7 d range / 8 d history, Pro and Business 31 d / 31 d, Enterprise 62 d / 62 d; accounts
/// 7 d / 31 d whatever their zones' plans.
pub(crate) fn dns_limits(scope: &Scope) -> Limits {
    match scope {
        Scope::Account { .. } => Limits::new(7 * DAY, 31 * DAY),
        Scope::Zone { plan, .. } => match plan {
            Plan::Free => Limits::new(7 * DAY, 8 * DAY),
            Plan::Pro | Plan::Business => Limits::new(31 * DAY, 31 * DAY),
            Plan::Enterprise => Limits::new(62 * DAY, 62 * DAY),
        },
    }
}

/// The limits of the adaptive HTTP and firewall datasets (whatever the plan, zone or account):
/// 3 days range, 31 days history, as in the settings documentation's `firewallEventsAdaptive`
/// example (`fixtures/graphql/settings_firewallEventsAdaptive.docs.json`). Also the limits
/// `settings` reports for the datasets the fake does not model.
pub(crate) const ADAPTIVE_LIMITS: Limits = Limits::new(3 * DAY, 31 * DAY);
/// `httpRequests1hGroups`: 7 days range, 31 days history.
pub(crate) const HOURLY_LIMITS: Limits = Limits::new(7 * DAY, 31 * DAY);
/// `httpRequests1dGroups`: 365 days range and history.
pub(crate) const DAILY_LIMITS: Limits = Limits::new(365 * DAY, 365 * DAY);

/// The datasets the fake answers with data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dataset {
    DnsGroups,
    DnsRaw,
    HttpGroups,
    HttpRaw,
    Http1h,
    Http1d,
    FirewallGroups,
    FirewallRaw,
}

impl Dataset {
    const ALL: [Dataset; 8] = [
        Dataset::DnsGroups,
        Dataset::DnsRaw,
        Dataset::HttpGroups,
        Dataset::HttpRaw,
        Dataset::Http1h,
        Dataset::Http1d,
        Dataset::FirewallGroups,
        Dataset::FirewallRaw,
    ];

    /// The GraphQL field (and `settings` field) name.
    pub(super) fn name(self) -> &'static str {
        match self {
            Dataset::DnsGroups => "dnsAnalyticsAdaptiveGroups",
            Dataset::DnsRaw => "dnsAnalyticsAdaptive",
            Dataset::HttpGroups => "httpRequestsAdaptiveGroups",
            Dataset::HttpRaw => "httpRequestsAdaptive",
            Dataset::Http1h => "httpRequests1hGroups",
            Dataset::Http1d => "httpRequests1dGroups",
            Dataset::FirewallGroups => "firewallEventsAdaptiveGroups",
            Dataset::FirewallRaw => "firewallEventsAdaptive",
        }
    }

    pub(super) fn from_name(name: &str) -> Option<Dataset> {
        Dataset::ALL.into_iter().find(|d| d.name() == name)
    }

    /// DNS: per plan ([`dns_limits`]); adaptive HTTP and firewall: [`ADAPTIVE_LIMITS`];
    /// `httpRequests1hGroups`: [`HOURLY_LIMITS`]; `httpRequests1dGroups`: [`DAILY_LIMITS`].
    pub(super) fn limits(self, scope: &Scope) -> Limits {
        match self {
            Dataset::DnsGroups | Dataset::DnsRaw => dns_limits(scope),
            Dataset::HttpGroups
            | Dataset::HttpRaw
            | Dataset::FirewallGroups
            | Dataset::FirewallRaw => ADAPTIVE_LIMITS,
            Dataset::Http1h => HOURLY_LIMITS,
            Dataset::Http1d => DAILY_LIMITS,
        }
    }

    /// The width of one `datetime` value (the hour of `httpRequests1hGroups`).
    pub(super) fn datetime_width(self) -> i64 {
        if self == Dataset::Http1h { 3600 } else { 0 }
    }

    /// `availableFields` of its `settings` (nested fields as `parent_child`, per Cloudflare's
    /// settings documentation), sorted.
    pub(super) fn available_fields(self, scope: &Scope) -> Vec<String> {
        let gated = !plan_allows_response_cached(scope);
        let is_account = matches!(scope, Scope::Account { .. });
        let keep =
            |f: &&&str| (is_account || **f != "zoneTag") && !(gated && **f == PLAN_GATED_FIELD);
        let dimensions = |list: &[&str]| -> Vec<String> {
            list.iter()
                .filter(keep)
                .map(|d| format!("dimensions_{d}"))
                .collect()
        };
        let raw = |list: &[&str]| -> Vec<String> {
            list.iter().filter(keep).map(|f| (*f).to_owned()).collect()
        };
        let metrics =
            |list: &[&str]| -> Vec<String> { list.iter().map(|m| (*m).to_owned()).collect() };
        let mut fields = match self {
            Dataset::DnsGroups => {
                let mut fields = metrics(DNS_GROUP_METRICS);
                fields.extend(dimensions(DNS_GROUP_DIMENSIONS));
                fields
            }
            Dataset::DnsRaw => raw(DNS_RAW_FIELDS),
            Dataset::HttpGroups => {
                let mut fields = metrics(HTTP_GROUP_METRICS);
                fields.extend(dimensions(HTTP_FIELDS));
                fields
            }
            Dataset::HttpRaw => raw(HTTP_FIELDS),
            Dataset::Http1h => {
                let mut fields = metrics(HTTP_ROLLUP_METRICS);
                fields.extend(dimensions(&["date", "datetime"]));
                fields
            }
            Dataset::Http1d => {
                let mut fields = metrics(HTTP_ROLLUP_METRICS);
                fields.extend(dimensions(&["date"]));
                fields
            }
            Dataset::FirewallGroups => {
                let mut fields = metrics(FIREWALL_GROUP_METRICS);
                fields.extend(dimensions(FIREWALL_FIELDS));
                fields
            }
            Dataset::FirewallRaw => raw(FIREWALL_FIELDS),
        };
        fields.sort();
        fields
    }
}

/// Group metrics of `dnsAnalyticsAdaptiveGroups`.
pub(super) const DNS_GROUP_METRICS: &[&str] = &[
    "avg_processingTimeUs",
    "avg_sampleInterval",
    "count",
    "quantiles_processingTimeUsP50",
    "quantiles_processingTimeUsP90",
    "quantiles_processingTimeUsP99",
];

/// Group dimensions of `dnsAnalyticsAdaptiveGroups` (accounts add `zoneTag`).
pub(super) const DNS_GROUP_DIMENSIONS: &[&str] = &[
    "coloName",
    "date",
    "datetime",
    "datetimeFifteenMinutes",
    "datetimeFiveMinutes",
    "datetimeHalfOfHour",
    "datetimeHour",
    "datetimeMinute",
    "destinationIP",
    "ipVersion",
    "protocol",
    "queryName",
    "querySizeBucket",
    "queryType",
    "responseCached",
    "responseCode",
    "responseSizeBucket",
    "responseStale",
    "sourceIP",
    "upstreamIP",
    "zoneTag",
];

/// Raw fields of `dnsAnalyticsAdaptive` (accounts add `zoneTag`).
pub(super) const DNS_RAW_FIELDS: &[&str] = &[
    "coloName",
    "date",
    "datetime",
    "destinationIP",
    "ipVersion",
    "protocol",
    "queryName",
    "querySize",
    "queryType",
    "responseCached",
    "responseCode",
    "responseSize",
    "responseStale",
    "sampleInterval",
    "sourceIP",
    "upstreamIP",
    "zoneTag",
];

/// Group metrics of `httpRequestsAdaptiveGroups` that the fake computes.
pub(super) const HTTP_GROUP_METRICS: &[&str] = &[
    "avg_sampleInterval",
    "count",
    "ratio_status4xx",
    "ratio_status5xx",
    "sum_edgeResponseBytes",
    "sum_visits",
];

/// Metrics of `httpRequests1hGroups` and `httpRequests1dGroups` that the fake computes.
pub(super) const HTTP_ROLLUP_METRICS: &[&str] = &[
    "avg_bytes",
    "avg_sampleInterval",
    "sum_bytes",
    "sum_cachedBytes",
    "sum_cachedRequests",
    "sum_contentTypeMap",
    "sum_countryMap",
    "sum_encryptedBytes",
    "sum_encryptedRequests",
    "sum_pageViews",
    "sum_requests",
    "sum_responseStatusMap",
    "sum_threats",
    "uniq_uniques",
];

/// Group metrics of `firewallEventsAdaptiveGroups`.
pub(super) const FIREWALL_GROUP_METRICS: &[&str] = &["avg_sampleInterval", "count"];

/// The field that Free and Pro zones may not use in DNS analytics.
pub(super) const PLAN_GATED_FIELD: &str = "responseCached";

pub(super) fn plan_allows_response_cached(scope: &Scope) -> bool {
    match scope {
        Scope::Zone { plan, .. } => *plan >= Plan::Business,
        Scope::Account { .. } => true,
    }
}

/// The `settings` subnode of one dataset. Datasets the fake does not model report
/// [`ADAPTIVE_LIMITS`] and no available field.
pub(super) fn dataset_settings(scope: &Scope, name: &str) -> Value {
    let (limits, available) = match Dataset::from_name(name) {
        Some(dataset) => (dataset.limits(scope), dataset.available_fields(scope)),
        None => (ADAPTIVE_LIMITS, Vec::new()),
    };
    json!({
        "enabled": true,
        "maxDuration": limits.max_duration,
        "notOlderThan": limits.not_older_than,
        "maxPageSize": limits.max_page_size,
        "maxNumberOfFields": limits.max_number_of_fields,
        "availableFields": available,
    })
}

/// `604800` → `7d`, `5400` → `90m`.
pub(super) fn human_duration(seconds: i64) -> String {
    if seconds % DAY == 0 {
        format!("{}d", seconds / DAY)
    } else if seconds % 3600 == 0 {
        format!("{}h", seconds / 3600)
    } else if seconds % 60 == 0 {
        format!("{}m", seconds / 60)
    } else {
        format!("{seconds}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graphql_schema;
    use apollo_compiler::schema::ExtendedType;

    #[test]
    pub(super) fn human_durations() {
        assert_eq!(human_duration(604_800), "7d");
        assert_eq!(human_duration(7200), "2h");
        assert_eq!(human_duration(61), "61s");
    }

    #[test]
    pub(super) fn every_dataset_is_in_the_schema_at_both_scopes() {
        let schema = graphql_schema();
        for type_name in ["zone", "account", "ZoneSettings", "AccountSettings"] {
            let Some(ExtendedType::Object(object)) = schema.types.get(type_name) else {
                panic!("{type_name} is an object type");
            };
            for dataset in Dataset::ALL {
                assert!(
                    object.fields.contains_key(dataset.name()),
                    "{type_name}.{}",
                    dataset.name()
                );
            }
        }
    }
}
