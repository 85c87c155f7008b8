//! Synthetic, deterministic DNS analytics events behind the fake's `dnsAnalyticsAdaptive*`
//! GraphQL datasets and the legacy `/dns_analytics/report` endpoints.
//!
//! # Times
//!
//! Events are anchored to the fake's clock (`now`, Unix seconds, read per request): for `k` in
//! `0..=240` there is an event time `t = floor(now / 3600) * 3600 - k * 3600 + 1800` (minute 30
//! of each hour), keeping only `t <= now`. Hence any half-open window `[now - 24h, now)` holds
//! exactly 24 event times, whatever the minute of the hour, and there is no data older than
//! 240 hours (10 days).
//!
//! # Events at each time
//!
//! At each event time, every row of [`DNS_EVENTS_PER_HOUR`] happens once, with `count` queries
//! (the event's weight; `sampleInterval` is 1, so `count` is also the number of raw rows of
//! `dnsAnalyticsAdaptive`). Per hour: github.com 20 queries (NXDOMAIN: `missing.github.com` 2,
//! `old.github.com` 1), github.io 8, bücher.example 5, unit.tests and githubusercontent.com none:
//! 33 for the account. Over 24 hours: github.com 480 (NXDOMAIN `missing.github.com` 48,
//! `old.github.com` 24), github.io 192, bücher.example 120, the account 792.
//!
//! Fields that do not vary: IPv4 events come from `sourceIP` 198.51.100.7 to `destinationIP`
//! 172.64.33.1, IPv6 ones from 2001:db8::7 to 2606:4700:58::1; `upstreamIP` is empty (the legacy
//! `origin` dimension too); `querySize` 40 (`querySizeBucket` "32-47"), `responseSize` 72
//! (`responseSizeBucket` "64-79"); `responseStale` 0; `sampleInterval` 1.
//!
//! # Aggregates
//!
//! `count` is the sum of weights; `avg.processingTimeUs` the weighted mean; quantiles are lower
//! weighted quantiles: the smallest processing time whose cumulative weight reaches `q * count`
//! (github.com per hour: P50 800, P90 2000, P99 2500). The legacy report gives response times in
//! milliseconds: processing time / 1000.

use serde_json::{Value, json};

use crate::analytics::{FieldValue, Record, event_times, time_field};
use crate::calendar;
use crate::{ENTERPRISE_ZONE_ID, IDN_ZONE_ID, ZONE_ID};

/// Hours of history: event times go back `DNS_EVENT_HOURS - 1` hours from the current hour.
pub const DNS_EVENT_HOURS: i64 = crate::analytics::EVENT_HOURS;

/// One group of identical queries that happens once per hour, at minute 30.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HourlyDnsEvent {
    pub zone_id: &'static str,
    /// ASCII (punycode) query name, as DNS carries it.
    pub query_name: &'static str,
    pub query_type: &'static str,
    pub response_code: &'static str,
    /// "UDP" or "TCP".
    pub protocol: &'static str,
    /// 4 or 6; decides `sourceIP` and `destinationIP`.
    pub ip_version: u8,
    pub colo: &'static str,
    /// 1 when answered from cache.
    pub response_cached: u8,
    /// Queries per hour (the event's weight).
    pub count: u64,
    pub processing_time_us: u64,
}

#[expect(
    clippy::too_many_arguments,
    reason = "one positional row per line keeps the table readable"
)]
const fn hourly(
    zone_id: &'static str,
    query_name: &'static str,
    query_type: &'static str,
    response_code: &'static str,
    protocol: &'static str,
    ip_version: u8,
    colo: &'static str,
    response_cached: u8,
    count: u64,
    processing_time_us: u64,
) -> HourlyDnsEvent {
    HourlyDnsEvent {
        zone_id,
        query_name,
        query_type,
        response_code,
        protocol,
        ip_version,
        colo,
        response_cached,
        count,
        processing_time_us,
    }
}

/// Every event group, in a fixed order (the tie-breaker of raw `dnsAnalyticsAdaptive` rows).
/// Zones absent here (unit.tests, githubusercontent.com) have no DNS traffic at all.
#[rustfmt::skip]
pub const DNS_EVENTS_PER_HOUR: &[HourlyDnsEvent] = &[
    hourly(ZONE_ID, "www.github.com", "A", "NOERROR", "UDP", 4, "AMS", 1, 10, 800),
    hourly(ZONE_ID, "www.github.com", "AAAA", "NOERROR", "UDP", 6, "FRA", 0, 4, 1200),
    hourly(ZONE_ID, "api.github.com", "A", "NOERROR", "TCP", 4, "AMS", 0, 3, 1500),
    hourly(ZONE_ID, "missing.github.com", "A", "NXDOMAIN", "UDP", 4, "AMS", 0, 2, 2000),
    hourly(ZONE_ID, "old.github.com", "TXT", "NXDOMAIN", "UDP", 6, "FRA", 0, 1, 2500),
    hourly(ENTERPRISE_ZONE_ID, "github.io", "A", "NOERROR", "UDP", 4, "LHR", 1, 6, 500),
    hourly(ENTERPRISE_ZONE_ID, "docs.github.io", "CNAME", "NOERROR", "UDP", 4, "LHR", 0, 2, 900),
    hourly(IDN_ZONE_ID, "www.xn--bcher-kva.example", "A", "NOERROR", "UDP", 4, "AMS", 0, 5, 700),
];

/// Queries per hour in one zone (0 for a zone without traffic, such as
/// [`EMPTY_ZONE_ID`](crate::EMPTY_ZONE_ID)).
pub fn hourly_query_count(zone_id: &str) -> u64 {
    DNS_EVENTS_PER_HOUR
        .iter()
        .filter(|e| e.zone_id == zone_id)
        .map(|e| e.count)
        .sum()
}

/// Event times for the clock reading `now`, newest first.
pub fn dns_event_times(now: i64) -> Vec<i64> {
    event_times(now)
}

/// One event group at one time.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Event {
    pub group: &'static HourlyDnsEvent,
    pub time: i64,
}

/// Every event of the given zones, oldest first, then in table order.
pub(crate) fn events(now: i64, zone_ids: &[&str]) -> Vec<Event> {
    let mut times = dns_event_times(now);
    times.reverse();
    let mut out = Vec::new();
    for time in times {
        for group in DNS_EVENTS_PER_HOUR {
            if zone_ids.contains(&group.zone_id) {
                out.push(Event { group, time });
            }
        }
    }
    out
}

/// The GraphQL fields an event has (raw dataset fields, group dimensions, `zoneTag`).
pub(crate) const EVENT_FIELDS: &[&str] = &[
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
    "querySize",
    "querySizeBucket",
    "queryType",
    "responseCached",
    "responseCode",
    "responseSize",
    "responseSizeBucket",
    "responseStale",
    "sampleInterval",
    "sourceIP",
    "upstreamIP",
    "zoneTag",
];

impl Event {
    pub fn source_ip(&self) -> &'static str {
        if self.group.ip_version == 6 {
            "2001:db8::7"
        } else {
            "198.51.100.7"
        }
    }

    pub fn destination_ip(&self) -> &'static str {
        if self.group.ip_version == 6 {
            "2606:4700:58::1"
        } else {
            "172.64.33.1"
        }
    }

    /// A GraphQL field of this event (see [`EVENT_FIELDS`]).
    pub fn field(&self, name: &str) -> Option<FieldValue> {
        let g = self.group;
        let str = |s: &str| Some(FieldValue::Str(s.to_owned()));
        match name {
            "coloName" => str(g.colo),
            "destinationIP" => str(self.destination_ip()),
            "ipVersion" => Some(FieldValue::Num(i64::from(g.ip_version))),
            "protocol" => str(g.protocol),
            "queryName" => str(g.query_name),
            "querySize" => Some(FieldValue::Num(40)),
            "querySizeBucket" => str("32-47"),
            "queryType" => str(g.query_type),
            "responseCached" => Some(FieldValue::Num(i64::from(g.response_cached))),
            "responseCode" => str(g.response_code),
            "responseSize" => Some(FieldValue::Num(72)),
            "responseSizeBucket" => str("64-79"),
            "responseStale" => Some(FieldValue::Num(0)),
            "sampleInterval" => Some(FieldValue::Num(1)),
            "sourceIP" => str(self.source_ip()),
            "upstreamIP" => str(""),
            "zoneTag" => str(g.zone_id),
            _ => time_field(self.time, name),
        }
    }

    /// ISO day of week, Monday 1 to Sunday 7.
    pub fn day_of_week(&self) -> i64 {
        calendar::day_of_week(self.time)
    }
}

/// Count, weighted mean and lower weighted quantiles of the processing time of some events.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Aggregate {
    pub count: u64,
    pub uncached: u64,
    pub avg_processing_time_us: f64,
    pub avg_sample_interval: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
}

impl Aggregate {
    /// A `dnsAnalyticsAdaptiveGroups` row without its dimensions.
    pub fn to_json(&self) -> Value {
        json!({
            "count": self.count,
            "avg": {
                "processingTimeUs": self.avg_processing_time_us,
                "sampleInterval": self.avg_sample_interval,
            },
            "quantiles": {
                "processingTimeUsP50": self.p50,
                "processingTimeUsP90": self.p90,
                "processingTimeUsP99": self.p99,
            },
        })
    }

    pub fn of<'a>(events: impl IntoIterator<Item = &'a Event>) -> Aggregate {
        let mut samples: Vec<(u64, u64)> = Vec::new();
        let mut uncached = 0;
        for event in events {
            samples.push((event.group.processing_time_us, event.group.count));
            if event.group.response_cached == 0 {
                uncached += event.group.count;
            }
        }
        let count: u64 = samples.iter().map(|(_, w)| w).sum();
        if count == 0 {
            return Aggregate {
                count: 0,
                uncached: 0,
                avg_processing_time_us: 0.0,
                avg_sample_interval: 0.0,
                p50: 0.0,
                p90: 0.0,
                p99: 0.0,
            };
        }
        let weighted: u64 = samples.iter().map(|(p, w)| p * w).sum();
        samples.sort_unstable();
        let quantile = |q: f64| {
            let target = q * count as f64;
            let mut cumulative = 0u64;
            for (p, w) in &samples {
                cumulative += w;
                if cumulative as f64 >= target {
                    return *p as f64;
                }
            }
            samples.last().map_or(0.0, |(p, _)| *p as f64)
        };
        Aggregate {
            count,
            uncached,
            avg_processing_time_us: weighted as f64 / count as f64,
            // Every event has sampleInterval 1.
            avg_sample_interval: 1.0,
            p50: quantile(0.5),
            p90: quantile(0.9),
            p99: quantile(0.99),
        }
    }
}

impl Record for Event {
    fn field(&self, name: &str) -> Option<FieldValue> {
        Event::field(self, name)
    }
}
