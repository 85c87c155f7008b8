//! The rows of the HTTP request and firewall datasets without their dimensions: counts, sums,
//! ratios and the rollups' maps, over the synthetic events of [`crate::http_events`].

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::http_events::{FirewallEvent, HttpEvent};

/// A share between 0 and 1 (0 for no requests).
fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// An `httpRequestsAdaptiveGroups` row without its dimensions.
pub(crate) fn http_adaptive_aggregate(events: &[HttpEvent]) -> Value {
    let mut count = 0;
    let mut bytes = 0;
    let mut visits = 0;
    let mut status4xx = 0;
    let mut status5xx = 0;
    for event in events {
        let g = event.group;
        count += g.count;
        bytes += g.bytes;
        visits += g.visits;
        match g.status {
            400..=499 => status4xx += g.count,
            500..=599 => status5xx += g.count,
            _ => {}
        }
    }
    json!({
        "count": count,
        "sum": { "edgeResponseBytes": bytes, "visits": visits },
        "avg": { "sampleInterval": if count == 0 { 0.0 } else { 1.0 } },
        "ratio": { "status4xx": ratio(status4xx, count), "status5xx": ratio(status5xx, count) },
    })
}

/// An `httpRequests1hGroups` / `httpRequests1dGroups` row without its dimensions.
pub(crate) fn http_rollup_aggregate<'a>(events: impl IntoIterator<Item = &'a HttpEvent>) -> Value {
    let mut requests = 0;
    let mut bytes = 0;
    let mut cached_requests = 0;
    let mut cached_bytes = 0;
    let mut visits = 0;
    let mut statuses: BTreeMap<u16, u64> = BTreeMap::new();
    let mut countries: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    let mut content_types: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    let mut ips: BTreeSet<&str> = BTreeSet::new();
    for event in events {
        let g = event.group;
        requests += g.count;
        bytes += g.bytes;
        visits += g.visits;
        if g.cache_status == "hit" {
            cached_requests += g.count;
            cached_bytes += g.bytes;
        }
        *statuses.entry(g.status).or_default() += g.count;
        let country = countries.entry(g.country).or_default();
        country.0 += g.count;
        country.1 += g.bytes;
        let content_type = content_types.entry(g.content_type).or_default();
        content_type.0 += g.count;
        content_type.1 += g.bytes;
        ips.insert(g.client_ip);
    }
    let status_map: Vec<Value> = statuses
        .iter()
        .map(|(status, n)| json!({ "edgeResponseStatus": status, "requests": n }))
        .collect();
    let country_map: Vec<Value> = countries
        .iter()
        .map(|(country, (n, b))| {
            json!({ "clientCountryName": country, "requests": n, "bytes": b, "threats": 0 })
        })
        .collect();
    let content_type_map: Vec<Value> = content_types
        .iter()
        .map(|(name, (n, b))| json!({ "edgeResponseContentTypeName": name, "requests": n, "bytes": b }))
        .collect();
    json!({
        "sum": {
            "requests": requests,
            "bytes": bytes,
            "cachedRequests": cached_requests,
            "cachedBytes": cached_bytes,
            "encryptedRequests": requests,
            "encryptedBytes": bytes,
            "pageViews": visits,
            "threats": 0,
            "responseStatusMap": status_map,
            "countryMap": country_map,
            "contentTypeMap": content_type_map,
        },
        "uniq": { "uniques": ips.len() },
        "avg": {
            "bytes": ratio(bytes, requests),
            "sampleInterval": if requests == 0 { 0.0 } else { 1.0 },
        },
    })
}

/// A `firewallEventsAdaptiveGroups` row without its dimensions.
pub(crate) fn firewall_aggregate(events: &[FirewallEvent]) -> Value {
    let count: u64 = events.iter().map(|e| e.group.count).sum();
    json!({
        "count": count,
        "avg": { "sampleInterval": if count == 0 { 0.0 } else { 1.0 } },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ZONE_ID;
    use crate::http_events::http_events;

    #[test]
    fn rollup_maps() {
        let events = http_events(1_800_000_000, &[ZONE_ID]);
        let hour: Vec<HttpEvent> = events.into_iter().take(5).collect();
        let row = http_rollup_aggregate(&hour);
        assert_eq!(row["sum"]["requests"], json!(200));
        assert_eq!(row["sum"]["cachedRequests"], json!(100));
        assert_eq!(
            row["sum"]["responseStatusMap"],
            json!([
                { "edgeResponseStatus": 200, "requests": 150 },
                { "edgeResponseStatus": 403, "requests": 20 },
                { "edgeResponseStatus": 404, "requests": 20 },
                { "edgeResponseStatus": 500, "requests": 10 }
            ])
        );
        assert_eq!(row["uniq"]["uniques"], json!(5));
    }
}
