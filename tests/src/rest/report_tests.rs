//! The legacy `/dns_analytics/report` endpoints over HTTP.

use serde_json::{Value, json};

use super::envelope::{AUTH_ERROR_FIXTURE, parse_fixture};
use crate::calendar::{DAY, rfc3339, unix_now};
use crate::test_client::api_get;
use crate::*;

fn report_path(zone: &str, by_time: bool, query: &str) -> String {
    let now = unix_now();
    let suffix = if by_time { "/bytime" } else { "" };
    format!(
        "/zones/{zone}/dns_analytics/report{suffix}?since={}&until={}&{query}",
        rfc3339(now - DAY),
        rfc3339(now - 1)
    )
}

#[test]
fn legacy_report_shape() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let reply = api_get(
        &fake,
        &report_path(
            ZONE_ID,
            false,
            "metrics=queryCount,responseTimeAvg&dimensions=queryName,responseCode&filters=responseCode==NXDOMAIN&sort=-queryCount&limit=100",
        ),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["success"], json!(true));
    let result = &body["result"];
    assert_eq!(result["rows"], json!(2));
    assert_eq!(
        result["data"],
        json!([
            { "dimensions": ["missing.github.com", "NXDOMAIN"], "metrics": [48, 2.0] },
            { "dimensions": ["old.github.com", "NXDOMAIN"], "metrics": [24, 2.5] }
        ])
    );
    assert_eq!(
        result["totals"],
        json!({ "queryCount": 72, "responseTimeAvg": 2.1666666666666665 })
    );
    assert_eq!(result["data_lag"], json!(0));
    assert_eq!(result["min"], json!({}));
    assert_eq!(result["max"], json!({}));
    let query = &result["query"];
    assert_eq!(query["sort"], json!([{ "Id": "queryCount", "Desc": true }]));
    assert_eq!(query["dimensions"], json!(["queryName", "responseCode"]));
    assert_eq!(query["metrics"], json!(["queryCount", "responseTimeAvg"]));
    assert_eq!(query["filters"], json!("responseCode==NXDOMAIN"));
    assert_eq!(query["limit"], json!(100));
    assert!(query["since"].is_string() && query["until"].is_string());
    assert!(result.get("time_intervals").is_none());

    // Same keys as the recorded body.
    let recorded = parse_fixture(include_str!(
        "../../fixtures/dns_analytics_report.cloudflare-php.json"
    ));
    let keys = |v: &Value| {
        v.as_object().map(|o| {
            let mut k: Vec<String> = o.keys().cloned().collect();
            k.sort();
            k
        })
    };
    assert_eq!(keys(result), keys(&recorded["result"]));
    assert_eq!(keys(query), keys(&recorded["result"]["query"]));
    assert_eq!(
        keys(&result["data"][0]),
        keys(&recorded["result"]["data"][0])
    );

    let types = api_get(
        &fake,
        &report_path(ZONE_ID, false, "dimensions=queryType,tcp,ipVersion&sort=+queryType,-queryCount&filters=queryType!=TXT%3BcoloName==AMS,coloName==FRA"),
    )
    .json();
    assert_eq!(
        types["result"]["data"],
        json!([
            { "dimensions": ["A", "0", "4"], "metrics": [288] },
            { "dimensions": ["A", "1", "4"], "metrics": [72] },
            { "dimensions": ["AAAA", "0", "6"], "metrics": [96] },
            { "dimensions": ["TXT", "0", "6"], "metrics": [24] }
        ])
    );
}

#[test]
fn legacy_report_bytime_shape() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let body = api_get(
        &fake,
        &report_path(
            ZONE_ID,
            true,
            "metrics=queryCount,uncachedCount&time_delta=hour",
        ),
    )
    .json();
    let result = &body["result"];
    let intervals = result["time_intervals"].as_array().expect("intervals");
    assert!(
        intervals.len() == 24 || intervals.len() == 25,
        "{intervals:?}"
    );
    let first_end = intervals[0][1].as_str().expect("an end");
    assert!(first_end.ends_with(":59:59Z"), "{first_end}");
    assert_eq!(result["rows"], json!(1));
    let item = &result["data"][0];
    assert!(item.get("dimensions").is_none(), "{item}");
    let counts = item["metrics"][0].as_array().expect("per-interval counts");
    assert_eq!(counts.len(), intervals.len());
    assert_eq!(counts.iter().filter_map(Value::as_u64).sum::<u64>(), 480);
    assert!(counts.iter().all(|c| *c == json!(20) || *c == json!(0)));
    assert_eq!(
        item["metrics"][1]
            .as_array()
            .map(|v| v.iter().filter_map(Value::as_u64).sum::<u64>()),
        Some(240)
    );
    assert_eq!(
        result["totals"],
        json!({ "queryCount": 480, "uncachedCount": 240 })
    );
    assert_eq!(result["query"]["time_delta"], json!("hour"));
    assert!(result["query"].get("sort").is_none());

    let recorded = parse_fixture(include_str!(
        "../../fixtures/dns_analytics_report_bytime.cloudflare-php.json"
    ));
    let keys = |v: &Value| {
        v.as_object().map(|o| {
            let mut k: Vec<String> = o.keys().cloned().collect();
            k.sort();
            k
        })
    };
    assert_eq!(keys(result), keys(&recorded["result"]));
    assert_eq!(keys(&result["query"]), keys(&recorded["result"]["query"]));
    assert_eq!(keys(item), keys(&recorded["result"]["data"][0]));

    let days = api_get(
        &fake,
        &report_path(
            ZONE_ID,
            true,
            "dimensions=queryName&time_delta=all&sort=%2BqueryName",
        ),
    )
    .json();
    assert_eq!(
        days["result"]["time_intervals"].as_array().map(Vec::len),
        Some(1)
    );
    assert_eq!(
        days["result"]["data"][0]["dimensions"],
        json!(["api.github.com"])
    );
    assert_eq!(days["result"]["data"][0]["metrics"], json!([[72]]));
}

#[test]
fn legacy_report_refusals() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    for zone in [ZONE_ID, IDN_ZONE_ID] {
        let reply = api_get(
            &fake,
            &report_path(zone, false, "dimensions=responseCached"),
        );
        assert_eq!(reply.status, 403);
        let body = reply.json();
        assert_eq!(body["success"], json!(false));
        assert_eq!(body["result"], Value::Null);
        assert_eq!(body["errors"][0]["code"], json!(1034));
        assert_eq!(
            body["errors"][0]["message"],
            json!(RESPONSE_CACHED_PLAN_MESSAGE)
        );
    }
    let reply = api_get(
        &fake,
        &report_path(ZONE_ID, true, "filters=responseCached==Cached"),
    );
    assert_eq!(reply.status, 403);
    let allowed = api_get(
        &fake,
        &report_path(ENTERPRISE_ZONE_ID, false, "dimensions=responseCached"),
    )
    .json();
    assert_eq!(
        allowed["result"]["data"],
        json!([
            { "dimensions": ["Cached"], "metrics": [144] },
            { "dimensions": ["Uncached"], "metrics": [48] }
        ])
    );

    for bad in [
        "metrics=queries",
        "dimensions=country",
        "time_delta=fortnight",
        "filters=bogus==1",
        "sort=-queryName",
    ] {
        let reply = api_get(&fake, &report_path(ZONE_ID, true, bad));
        assert_eq!(reply.status, 400, "{bad}: {}", reply.body);
        assert_eq!(reply.json()["success"], json!(false));
    }
    for bad in [
        "since=yesterday",
        "until=2026-11-26",
        "since=2026-11-26T10:00:00Z&until=2026-11-26T09:00:00Z",
    ] {
        let reply = api_get(
            &fake,
            &format!("/zones/{ZONE_ID}/dns_analytics/report?{bad}"),
        );
        assert_eq!(reply.status, 400, "{bad}: {}", reply.body);
    }
    let missing = api_get(
        &fake,
        "/zones/00000000000000000000000000000000/dns_analytics/report",
    );
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["errors"][0]["code"], json!(7003));

    fake.set_scenario(Scenario::Missing(Permission::ZoneAnalyticsRead));
    let denied = api_get(&fake, &report_path(ZONE_ID, false, ""));
    assert_eq!(denied.status, 403);
    assert_eq!(denied.body, AUTH_ERROR_FIXTURE);
}
