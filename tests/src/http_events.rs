//! Synthetic, deterministic HTTP request and firewall events behind the fake's
//! `httpRequestsAdaptiveGroups`, `httpRequestsAdaptive`, `httpRequests1hGroups`,
//! `httpRequests1dGroups`, `firewallEventsAdaptiveGroups` and `firewallEventsAdaptive`
//! GraphQL datasets.
//!
//! # Times
//!
//! The same times as the DNS events ([`crate::dns_event_times`]): minute 30 of the current hour
//! (once it has passed) and of each of the 240 hours before, so any half-open window
//! `[now - 24h, now)` holds exactly 24 event times.
//!
//! # HTTP requests at each time ([`HTTP_REQUESTS_PER_HOUR`])
//!
//! | # | zone | host | path | country | status | colo | userAgent | cacheStatus | method | clientIP | content type | count | bytes | visits |
//! |---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
//! | 1 | github.com | github.com | `/` | US | 200 | AMS | `Mozilla/5.0` | hit | GET | 203.0.113.10 | html | 100 | 50000 | 40 |
//! | 2 | github.com | github.com | `/login` | DE | 403 | FRA | `curl/8.5.0` | dynamic | POST | 198.51.100.20 | html | 20 | 4000 | 0 |
//! | 3 | github.com | api.github.com | `/v3` | US | 200 | AMS | `python-requests/2.31` | miss | GET | 203.0.113.30 | json | 50 | 100000 | 0 |
//! | 4 | github.com | github.com | `/old-page` | GB | 404 | LHR | `Mozilla/5.0` | miss | GET | 192.0.2.40 | html | 20 | 2000 | 10 |
//! | 5 | github.com | api.github.com | `/v3/search` | DE | 500 | FRA | `python-requests/2.31` | dynamic | GET | 198.51.100.50 | json | 10 | 1000 | 0 |
//! | 6 | github.io | github.io | `/` | US | 200 | LHR | `Mozilla/5.0` | hit | GET | 203.0.113.60 | html | 30 | 30000 | 12 |
//! | 7 | github.io | docs.github.io | `/docs/` | JP | 200 | NRT | `Mozilla/5.0` | miss | GET | 192.0.2.70 | html | 20 | 40000 | 8 |
//!
//! `count` is the number of requests of the group per hour, `bytes` their total
//! `edgeResponseBytes` (`bytes / count` each), `visits` their total visits. Other zones have
//! no HTTP traffic.
//!
//! Per hour, github.com: 200 requests, 157000 bytes, 50 visits; countries US 150 (150000
//! bytes), DE 30 (5000), GB 20 (2000); statuses 200: 150, 403: 20, 404: 20, 500: 10; cached
//! (cacheStatus `hit`) 100 requests, 50000 bytes; 5 distinct client IPs. github.io: 50
//! requests, 70000 bytes, 20 visits; US 30, JP 20; cached 30 requests, 30000 bytes.
//!
//! Per 24 hours (24 event times), github.com: 4800 requests, 3768000 bytes, 1200 visits; US
//! 3600, DE 720, GB 480; 200: 3600, 403: 480, 404: 480, 500: 240. github.io (without the long
//! tail): 1200 requests, 1680000 bytes; US 720, JP 480.
//!
//! # The long tail ([`HTTP_LONG_TAIL`])
//!
//! github.io also gets, at the newest event time only ([`long_tail_time`]), one request to
//! each of [`HTTP_LONG_TAIL_PATHS`] (5000) distinct paths `/docs/page-0000` …
//! `/docs/page-4999` on docs.github.io (country BR, status 200, colo GRU, `Mozilla/5.0`,
//! cacheStatus hit, GET, clientIP 192.0.2.80, html, 1000 bytes, no visit). So github.io over
//! `[now - 24h, now)` has 6200 requests and 6680000 bytes, and a top-paths query of it with
//! `limit: 10000` answers 5002 rows: far more than 256 KiB of JSON even with only
//! `count dimensions { clientRequestPath }` selected.
//!
//! # Firewall events at each time ([`FIREWALL_EVENTS_PER_HOUR`])
//!
//! | zone | action | ruleId | source | country | clientIP | host | path | method | count |
//! |---|---|---|---|---|---|---|---|---|---|
//! | github.com | block | `r-sqli` | waf | CN | 203.0.113.7 | github.com | `/login` | POST | 7 |
//! | github.com | managed_challenge | `r-bots` | firewallManaged | RU | 198.51.100.23 | github.com | `/` | GET | 3 |
//! | github.com | log | `r-log` | firewallCustom | US | 192.0.2.10 | api.github.com | `/v3` | GET | 2 |
//! | github.io | block | `r-rate` | ratelimit | CN | 203.0.113.7 | docs.github.io | `/docs/` | GET | 1 |
//!
//! Per hour github.com 12, github.io 1; per 24 hours github.com 288 (block 168,
//! managed_challenge 72, log 48), github.io 24, the account 312 (block 192).
//!
//! Fields that do not vary: `clientRequestScheme` https, `clientRequestHTTPProtocol` HTTP/2,
//! `clientDeviceType` desktop, `requestSource` eyeball, `sampleInterval` 1 (so `count` is also
//! the number of raw rows); firewall `kind` firewall, `edgeColoName` AMS (github.com) / LHR
//! (github.io), `edgeResponseStatus` 403 (block, managed_challenge) or 200 (log).
//!
//! # Aggregates (computed in [`crate::http_aggregates`])
//!
//! `httpRequestsAdaptiveGroups`: `count`, `sum { edgeResponseBytes visits }`,
//! `avg { sampleInterval }` (1), `ratio { status4xx status5xx }` (share of requests).
//! `httpRequests1hGroups` (`dimensions { datetime }`: the start of the hour) and
//! `httpRequests1dGroups` (`dimensions { date }`): `sum { requests bytes cachedRequests
//! cachedBytes encryptedRequests encryptedBytes (= requests, bytes: all HTTPS) pageViews (=
//! visits) threats (0) responseStatusMap { edgeResponseStatus requests } countryMap {
//! clientCountryName requests bytes threats } contentTypeMap { edgeResponseContentTypeName
//! requests bytes } }` (maps in ascending order of their key), `uniq { uniques }` (distinct
//! client IPs), `avg { bytes sampleInterval }`. `firewallEventsAdaptiveGroups`: `count`,
//! `avg { sampleInterval }`.

use crate::analytics::{FieldValue, Record, event_times, time_field};
use crate::{ENTERPRISE_ZONE_ID, ZONE_ID};

/// One group of identical HTTP requests that happens once per hour, at minute 30.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HourlyHttpRequests {
    pub zone_id: &'static str,
    /// `clientRequestHTTPHost`.
    pub host: &'static str,
    /// `clientRequestPath` (for [`HTTP_LONG_TAIL`], the prefix of the numbered paths).
    pub path: &'static str,
    /// `clientCountryName` (ISO 3166 alpha-2, as Cloudflare answers it).
    pub country: &'static str,
    /// `edgeResponseStatus`.
    pub status: u16,
    /// `coloCode`.
    pub colo: &'static str,
    pub user_agent: &'static str,
    /// `cacheStatus`: `hit` counts as cached in the 1h/1d rollups.
    pub cache_status: &'static str,
    /// `clientRequestHTTPMethodName`.
    pub method: &'static str,
    pub client_ip: &'static str,
    /// `edgeResponseContentTypeName`.
    pub content_type: &'static str,
    /// Requests per hour.
    pub count: u64,
    /// Total `edgeResponseBytes` of the group per hour.
    pub bytes: u64,
    /// Total visits of the group per hour.
    pub visits: u64,
}

#[expect(
    clippy::too_many_arguments,
    reason = "one positional row per line keeps the table readable"
)]
const fn http(
    zone_id: &'static str,
    host: &'static str,
    path: &'static str,
    country: &'static str,
    status: u16,
    colo: &'static str,
    user_agent: &'static str,
    cache_status: &'static str,
    method: &'static str,
    client_ip: &'static str,
    content_type: &'static str,
    count: u64,
    bytes: u64,
    visits: u64,
) -> HourlyHttpRequests {
    HourlyHttpRequests {
        zone_id,
        host,
        path,
        country,
        status,
        colo,
        user_agent,
        cache_status,
        method,
        client_ip,
        content_type,
        count,
        bytes,
        visits,
    }
}

/// Every hourly HTTP request group, in a fixed order (the tie-breaker of raw rows).
#[rustfmt::skip]
pub const HTTP_REQUESTS_PER_HOUR: &[HourlyHttpRequests] = &[
    http(ZONE_ID, "github.com", "/", "US", 200, "AMS", "Mozilla/5.0", "hit", "GET", "203.0.113.10", "html", 100, 50_000, 40),
    http(ZONE_ID, "github.com", "/login", "DE", 403, "FRA", "curl/8.5.0", "dynamic", "POST", "198.51.100.20", "html", 20, 4_000, 0),
    http(ZONE_ID, "api.github.com", "/v3", "US", 200, "AMS", "python-requests/2.31", "miss", "GET", "203.0.113.30", "json", 50, 100_000, 0),
    http(ZONE_ID, "github.com", "/old-page", "GB", 404, "LHR", "Mozilla/5.0", "miss", "GET", "192.0.2.40", "html", 20, 2_000, 10),
    http(ZONE_ID, "api.github.com", "/v3/search", "DE", 500, "FRA", "python-requests/2.31", "dynamic", "GET", "198.51.100.50", "json", 10, 1_000, 0),
    http(ENTERPRISE_ZONE_ID, "github.io", "/", "US", 200, "LHR", "Mozilla/5.0", "hit", "GET", "203.0.113.60", "html", 30, 30_000, 12),
    http(ENTERPRISE_ZONE_ID, "docs.github.io", "/docs/", "JP", 200, "NRT", "Mozilla/5.0", "miss", "GET", "192.0.2.70", "html", 20, 40_000, 8),
];

/// Number of distinct long-tail paths (one request each) at the newest event time.
pub const HTTP_LONG_TAIL_PATHS: u32 = 5000;

/// The template of the long tail: github.io, one request (1000 bytes) to each of
/// [`HTTP_LONG_TAIL_PATHS`] paths [`long_tail_path`]`(i)`, at [`long_tail_time`] only.
pub const HTTP_LONG_TAIL: HourlyHttpRequests = http(
    ENTERPRISE_ZONE_ID,
    "docs.github.io",
    "/docs/page-",
    "BR",
    200,
    "GRU",
    "Mozilla/5.0",
    "hit",
    "GET",
    "192.0.2.80",
    "html",
    1,
    1_000,
    0,
);

/// `/docs/page-0042` for `i = 42`.
pub fn long_tail_path(i: u32) -> String {
    format!("{}{i:04}", HTTP_LONG_TAIL.path)
}

/// The time of the long tail: the newest event time (minute 30 of the current hour once it
/// has passed, else of the previous hour).
pub fn long_tail_time(now: i64) -> i64 {
    let hour = now.div_euclid(3600) * 3600;
    if now - hour >= 1800 {
        hour + 1800
    } else {
        hour - 1800
    }
}

/// HTTP requests per hour in one zone, without the long tail (0 for a zone without traffic).
pub fn hourly_request_count(zone_id: &str) -> u64 {
    HTTP_REQUESTS_PER_HOUR
        .iter()
        .filter(|g| g.zone_id == zone_id)
        .map(|g| g.count)
        .sum()
}

/// `edgeResponseBytes` per hour in one zone, without the long tail.
pub fn hourly_request_bytes(zone_id: &str) -> u64 {
    HTTP_REQUESTS_PER_HOUR
        .iter()
        .filter(|g| g.zone_id == zone_id)
        .map(|g| g.bytes)
        .sum()
}

/// One group of identical firewall events that happens once per hour, at minute 30.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HourlyFirewallEvents {
    pub zone_id: &'static str,
    /// `block`, `managed_challenge`, `log`, …
    pub action: &'static str,
    pub rule_id: &'static str,
    /// `waf`, `firewallManaged`, `firewallCustom`, `ratelimit`, …
    pub source: &'static str,
    /// `clientCountryName`.
    pub country: &'static str,
    pub client_ip: &'static str,
    /// `clientRequestHTTPHost`.
    pub host: &'static str,
    /// `clientRequestPath`.
    pub path: &'static str,
    /// `clientRequestHTTPMethodName`.
    pub method: &'static str,
    /// `description` of the rule.
    pub description: &'static str,
    /// Events per hour.
    pub count: u64,
}

#[expect(
    clippy::too_many_arguments,
    reason = "one positional row per line keeps the table readable"
)]
const fn firewall(
    zone_id: &'static str,
    action: &'static str,
    rule_id: &'static str,
    source: &'static str,
    country: &'static str,
    client_ip: &'static str,
    host: &'static str,
    path: &'static str,
    method: &'static str,
    description: &'static str,
    count: u64,
) -> HourlyFirewallEvents {
    HourlyFirewallEvents {
        zone_id,
        action,
        rule_id,
        source,
        country,
        client_ip,
        host,
        path,
        method,
        description,
        count,
    }
}

/// Every hourly firewall event group, in a fixed order (the tie-breaker of raw rows).
#[rustfmt::skip]
pub const FIREWALL_EVENTS_PER_HOUR: &[HourlyFirewallEvents] = &[
    firewall(ZONE_ID, "block", "r-sqli", "waf", "CN", "203.0.113.7", "github.com", "/login", "POST", "SQL injection attempt", 7),
    firewall(ZONE_ID, "managed_challenge", "r-bots", "firewallManaged", "RU", "198.51.100.23", "github.com", "/", "GET", "Likely bots", 3),
    firewall(ZONE_ID, "log", "r-log", "firewallCustom", "US", "192.0.2.10", "api.github.com", "/v3", "GET", "Log API calls", 2),
    firewall(ENTERPRISE_ZONE_ID, "block", "r-rate", "ratelimit", "CN", "203.0.113.7", "docs.github.io", "/docs/", "GET", "Docs rate limit", 1),
];

/// Firewall events per hour in one zone.
pub fn hourly_firewall_event_count(zone_id: &str) -> u64 {
    FIREWALL_EVENTS_PER_HOUR
        .iter()
        .filter(|g| g.zone_id == zone_id)
        .map(|g| g.count)
        .sum()
}

// ---------------------------------------------------------------------------------------------
// Records

/// One HTTP request group at one time (`long_tail`: the index of a long-tail path).
#[derive(Clone, Copy, Debug)]
pub(crate) struct HttpEvent {
    pub group: &'static HourlyHttpRequests,
    pub time: i64,
    pub long_tail: Option<u32>,
}

/// Every HTTP event of the given zones, oldest first, then in table order (the long tail
/// last).
pub(crate) fn http_events(now: i64, zone_ids: &[&str]) -> Vec<HttpEvent> {
    let mut times = event_times(now);
    times.reverse();
    let mut out = Vec::new();
    for time in times {
        for group in HTTP_REQUESTS_PER_HOUR {
            if zone_ids.contains(&group.zone_id) {
                out.push(HttpEvent {
                    group,
                    time,
                    long_tail: None,
                });
            }
        }
    }
    if zone_ids.contains(&HTTP_LONG_TAIL.zone_id) {
        let time = long_tail_time(now);
        out.extend((0..HTTP_LONG_TAIL_PATHS).map(|i| HttpEvent {
            group: &HTTP_LONG_TAIL,
            time,
            long_tail: Some(i),
        }));
    }
    out
}

/// Raw fields of `httpRequestsAdaptive` that the events model (accounts add `zoneTag`).
pub(crate) const HTTP_FIELDS: &[&str] = &[
    "cacheStatus",
    "clientCountryName",
    "clientDeviceType",
    "clientIP",
    "clientRequestHTTPHost",
    "clientRequestHTTPMethodName",
    "clientRequestHTTPProtocol",
    "clientRequestPath",
    "clientRequestQuery",
    "clientRequestScheme",
    "coloCode",
    "date",
    "datetime",
    "datetimeFifteenMinutes",
    "datetimeFiveMinutes",
    "datetimeHour",
    "datetimeMinute",
    "edgeResponseContentTypeName",
    "edgeResponseStatus",
    "originResponseStatus",
    "requestSource",
    "sampleInterval",
    "userAgent",
    "zoneTag",
];

impl Record for HttpEvent {
    fn field(&self, name: &str) -> Option<FieldValue> {
        let g = self.group;
        let str = |s: &str| Some(FieldValue::str(s));
        match name {
            "cacheStatus" => str(g.cache_status),
            "clientCountryName" => str(g.country),
            "clientDeviceType" => str("desktop"),
            "clientIP" => str(g.client_ip),
            "clientRequestHTTPHost" => str(g.host),
            "clientRequestHTTPMethodName" => str(g.method),
            "clientRequestHTTPProtocol" => str("HTTP/2"),
            "clientRequestPath" => match self.long_tail {
                Some(i) => Some(FieldValue::Str(long_tail_path(i))),
                None => str(g.path),
            },
            "clientRequestQuery" => str(""),
            "clientRequestScheme" => str("https"),
            "coloCode" => str(g.colo),
            "edgeResponseContentTypeName" => str(g.content_type),
            "edgeResponseStatus" => Some(FieldValue::Num(i64::from(g.status))),
            // A cache hit never reached the origin.
            "originResponseStatus" => Some(FieldValue::Num(if g.cache_status == "hit" {
                0
            } else {
                i64::from(g.status)
            })),
            "requestSource" => str("eyeball"),
            "sampleInterval" => Some(FieldValue::Num(1)),
            "userAgent" => str(g.user_agent),
            "zoneTag" => str(g.zone_id),
            _ => time_field(self.time, name),
        }
    }
}

/// An HTTP event as `httpRequests1hGroups` sees it: `datetime` is the start of its hour.
#[derive(Clone, Copy, Debug)]
pub(crate) struct HourRollup(pub HttpEvent);

impl Record for HourRollup {
    fn field(&self, name: &str) -> Option<FieldValue> {
        match name {
            "datetime" => time_field(self.0.time, "datetimeHour"),
            _ => self.0.field(name),
        }
    }
}

/// One firewall event group at one time.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FirewallEvent {
    pub group: &'static HourlyFirewallEvents,
    pub time: i64,
}

/// Every firewall event of the given zones, oldest first, then in table order.
pub(crate) fn firewall_events(now: i64, zone_ids: &[&str]) -> Vec<FirewallEvent> {
    let mut times = event_times(now);
    times.reverse();
    let mut out = Vec::new();
    for time in times {
        for group in FIREWALL_EVENTS_PER_HOUR {
            if zone_ids.contains(&group.zone_id) {
                out.push(FirewallEvent { group, time });
            }
        }
    }
    out
}

/// Raw fields of `firewallEventsAdaptive` that the events model (accounts add `zoneTag`).
pub(crate) const FIREWALL_FIELDS: &[&str] = &[
    "action",
    "clientCountryName",
    "clientIP",
    "clientRequestHTTPHost",
    "clientRequestHTTPMethodName",
    "clientRequestPath",
    "clientRequestScheme",
    "date",
    "datetime",
    "datetimeFifteenMinutes",
    "datetimeFiveMinutes",
    "datetimeHour",
    "datetimeMinute",
    "description",
    "edgeColoName",
    "edgeResponseStatus",
    "kind",
    "ruleId",
    "sampleInterval",
    "source",
    "userAgent",
    "zoneTag",
];

impl Record for FirewallEvent {
    fn field(&self, name: &str) -> Option<FieldValue> {
        let g = self.group;
        let str = |s: &str| Some(FieldValue::str(s));
        match name {
            "action" => str(g.action),
            "clientCountryName" => str(g.country),
            "clientIP" => str(g.client_ip),
            "clientRequestHTTPHost" => str(g.host),
            "clientRequestHTTPMethodName" => str(g.method),
            "clientRequestPath" => str(g.path),
            "clientRequestScheme" => str("https"),
            "description" => str(g.description),
            "edgeColoName" => str(if g.zone_id == ZONE_ID { "AMS" } else { "LHR" }),
            "edgeResponseStatus" => {
                Some(FieldValue::Num(if g.action == "log" { 200 } else { 403 }))
            }
            "kind" => str("firewall"),
            "ruleId" => str(g.rule_id),
            "sampleInterval" => Some(FieldValue::Num(1)),
            "source" => str(g.source),
            "userAgent" => str("Mozilla/5.0"),
            "zoneTag" => str(g.zone_id),
            _ => time_field(self.time, name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EMPTY_ZONE_ID, IDN_ZONE_ID};

    #[test]
    fn hourly_totals() {
        assert_eq!(hourly_request_count(ZONE_ID), 200);
        assert_eq!(hourly_request_bytes(ZONE_ID), 157_000);
        assert_eq!(hourly_request_count(ENTERPRISE_ZONE_ID), 50);
        assert_eq!(hourly_request_bytes(ENTERPRISE_ZONE_ID), 70_000);
        assert_eq!(hourly_request_count(EMPTY_ZONE_ID), 0);
        assert_eq!(hourly_firewall_event_count(ZONE_ID), 12);
        assert_eq!(hourly_firewall_event_count(ENTERPRISE_ZONE_ID), 1);
        assert_eq!(hourly_firewall_event_count(IDN_ZONE_ID), 0);
        assert_eq!(long_tail_path(7), "/docs/page-0007");
    }

    #[test]
    fn long_tail_is_the_newest_event_time() {
        for now in [
            1_800_000_000,
            1_800_000_000 + 1799,
            1_800_000_000 + 1800,
            1_800_003_599,
        ] {
            assert_eq!(
                Some(&long_tail_time(now)),
                event_times(now).first(),
                "{now}"
            );
        }
        let events = http_events(1_800_000_000, &[ENTERPRISE_ZONE_ID]);
        let tail = events.iter().filter(|e| e.long_tail.is_some()).count();
        assert_eq!(tail, 5000);
    }
}
