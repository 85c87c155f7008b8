//! The DNS Analytics service end to end: the real component in the harness, against the fake
//! Cloudflare, which validates every GraphQL query against Cloudflare's schema and answers
//! from a deterministic set of DNS events (see `tests/fixtures/README.md`).

use crate::common::{connected, sandbox, tool};
use cf_fake::{
    EMPTY_ZONE_ID, ENTERPRISE_ZONE_ID, FakeCloudflare, IDN_ZONE_ID, IDN_ZONE_NAME,
    PENDING_ZONE_NAME, Permission as FakePermission, RecordedRequest, Scenario, ZONE_ID, ZONE_NAME,
};
use host_harness::PluginInstance;
use host_harness::dns::{self, Dimension, ZoneQuery};
use host_harness::{PluginError, RateLimit, RateLimiter, Service};
use serde_json::{Value, json};

async fn dns_instance(fake: &FakeCloudflare) -> PluginInstance {
    connected(&sandbox(fake), &[Service::DnsAnalytics]).await
}

fn graphql_bodies(fake: &FakeCloudflare) -> Vec<Value> {
    fake.requests()
        .iter()
        .filter(|r| r.path.ends_with("/graphql"))
        .map(|r| serde_json::from_slice(&r.body).expect("JSON body"))
        .collect()
}

/// The data queries (not the `settings` lookups) the fake received.
fn report_bodies(fake: &FakeCloudflare) -> Vec<Value> {
    graphql_bodies(fake)
        .into_iter()
        .filter(|b| b["query"].as_str().unwrap_or_default().contains("rows:"))
        .collect()
}

fn invalid_field(e: &PluginError) -> Option<&str> {
    match e {
        PluginError::InvalidInput(p) => Some(p.field.as_str()),
        _ => None,
    }
}

fn rows(result: &Value) -> &Vec<Value> {
    result["rows"].as_array().expect("rows")
}

#[tokio::test]
async fn zones_are_listed_filtered_and_paginated() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut instance = dns_instance(&fake).await;
    let mut seen = Vec::new();
    let mut page = 1;
    loop {
        let result = tool(
            &mut instance,
            "dns_list_zones",
            json!({ "page": page, "per_page": 5 }),
        )
        .await
        .expect("zones");
        for zone in result["zones"].as_array().expect("zones") {
            seen.push(zone["name"].as_str().expect("name").to_string());
        }
        assert_eq!(result["page"]["page"], page);
        if result["page"]["more"] != true {
            assert_eq!(result["page"]["total_count"], seen.len());
            break;
        }
        page += 1;
    }
    assert!(page >= 2, "the fake's zones span several pages of 5");
    assert!(
        seen.contains(&IDN_ZONE_NAME.to_string()),
        "IDN names as given"
    );
    for request in fake
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/zones"))
    {
        assert!(
            request
                .query
                .as_deref()
                .is_some_and(|q| q.contains(&format!("account.id={}", cf_fake::ACCOUNT_ID))),
            "zones are always those of the connected account"
        );
    }

    let page = instance
        .list_zones(&ZoneQuery {
            name: Some("GITHUB".into()),
            name_match: Some(dns::NameMatch::Contains),
            status: Some(dns::ZoneStatus::Active),
            page: None,
            per_page: None,
        })
        .await
        .expect("no trap")
        .expect("zones");
    assert!(!page.zones.is_empty());
    assert!(
        page.zones
            .iter()
            .all(|z| z.name.contains("github") && z.status == "active"),
        "{:?}",
        page.zones
    );
    let e = tool(&mut instance, "dns_list_zones", json!({ "per_page": 51 }))
        .await
        .expect_err("out of Cloudflare's bounds");
    // The tool's schema names the argument as the tool spells it.
    assert_eq!(invalid_field(&e), Some("per_page"));
}

#[tokio::test]
async fn zones_resolve_by_id_or_name_including_internationalized_names() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut instance = dns_instance(&fake).await;
    let by_name = instance
        .get_zone(ZONE_NAME)
        .await
        .expect("no trap")
        .expect("zone");
    assert_eq!(by_name.id, ZONE_ID);
    assert_eq!(by_name.plan.as_deref(), Some("Free Website"));
    let by_id = instance
        .get_zone(ZONE_ID)
        .await
        .expect("no trap")
        .expect("zone");
    assert_eq!(by_id.name, ZONE_NAME);
    let idn = tool(
        &mut instance,
        "dns_get_zone",
        json!({ "zone": IDN_ZONE_NAME }),
    )
    .await
    .expect("IDN zone");
    assert_eq!(idn["id"], IDN_ZONE_ID);
    let ascii = instance
        .get_zone(cf_fake::IDN_ZONE_ASCII_NAME)
        .await
        .expect("no trap")
        .expect("the ASCII form finds the same zone");
    assert_eq!(ascii.name, IDN_ZONE_NAME);
    // Query names are counted in their ASCII form; a Unicode filter value is converted.
    let report = tool(
        &mut instance,
        "dns_report",
        json!({ "zone": IDN_ZONE_NAME, "since": "24h",
                "filters": [{ "dimension": "query-name", "value": "www.Bücher.example" }] }),
    )
    .await
    .expect("report");
    assert_eq!(report["totals"]["query_count"], 5 * 24);
    let e = instance
        .get_zone("not-mine.example")
        .await
        .expect("no trap")
        .expect_err("unknown zone");
    let PluginError::NotFound(failure) = e else {
        panic!("expected not-found, got {e:?}")
    };
    assert!(failure.message.contains("not-mine.example"));
    assert!(failure.hint.is_some());
}

#[tokio::test]
async fn a_zone_report_answers_which_names_got_the_most_nxdomain() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut instance = dns_instance(&fake).await;
    let result = tool(
        &mut instance,
        "dns_report",
        json!({
            "zone": ZONE_NAME,
            "dimensions": ["query-name"],
            "filters": [{ "dimension": "response-code", "value": "NXDOMAIN" }],
            "since": "24h"
        }),
    )
    .await
    .expect("report");
    assert_eq!(
        rows(&result),
        &vec![
            json!({ "query_name": "missing.github.com", "query_count": 48 }),
            json!({ "query_name": "old.github.com", "query_count": 24 }),
        ]
    );
    assert_eq!(result["totals"]["query_count"], 72);
    assert_eq!(result["truncated"], false);
    assert_eq!(result["scope"]["dataset"], "dnsAnalyticsAdaptiveGroups");
    assert_eq!(result["scope"]["zone"]["id"], ZONE_ID);

    let bodies = report_bodies(&fake);
    assert_eq!(bodies.len(), 1);
    let body = &bodies[0];
    let query = body["query"].as_str().expect("query");
    assert!(!query.contains("NXDOMAIN") && !query.contains(ZONE_ID));
    assert_eq!(body["variables"]["zoneTag"], ZONE_ID);
    assert_eq!(
        body["variables"]["filter"]["AND"],
        json!([{ "responseCode": "NXDOMAIN" }])
    );
    assert_eq!(body["variables"]["orderBy"], json!(["count_DESC"]));
}

#[tokio::test]
async fn sort_limit_and_metrics_reach_the_query_as_variables() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut instance = dns_instance(&fake).await;
    let result = tool(
        &mut instance,
        "dns_report",
        json!({
            "zone": ZONE_ID,
            "dimensions": ["query-type"],
            "metrics": ["query-count", "processing-time-avg", "processing-time-p90"],
            "sort": { "by": "query-type", "order": "ascending" },
            "limit": 2
        }),
    )
    .await
    .expect("report");
    let rows = rows(&result);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["query_type"], "A");
    assert_eq!(rows[1]["query_type"], "AAAA");
    assert_eq!(rows[0]["query_count"], 15 * 24);
    assert!(rows[0]["processing_time_avg"].as_f64().is_some());
    assert_eq!(result["truncated"], true, "TXT was cut by the limit");
    let body = &report_bodies(&fake)[0];
    assert_eq!(body["variables"]["orderBy"], json!(["queryType_ASC"]));
    assert_eq!(body["variables"]["limit"], 3);
}

#[tokio::test]
async fn a_value_with_quotes_or_braces_cannot_alter_the_query() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut instance = dns_instance(&fake).await;
    let hostile = "x\"}) { viewer { accounts { settings } } } # {";
    for value in ["www.github.com", hostile] {
        tool(
            &mut instance,
            "dns_report",
            json!({
                "zone": ZONE_NAME,
                "dimensions": ["query-type"],
                "filters": [{ "dimension": "query-name", "value": value }]
            }),
        )
        .await
        .expect("the value is data, whatever it contains");
    }
    let bodies = report_bodies(&fake);
    assert_eq!(bodies.len(), 2);
    assert_eq!(
        bodies[0]["query"], bodies[1]["query"],
        "the query text does not depend on the value"
    );
    assert_eq!(
        bodies[1]["variables"]["filter"]["AND"][0]["queryName"],
        hostile
    );
}

#[tokio::test]
async fn an_account_report_covers_every_zone() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut instance = dns_instance(&fake).await;
    let result = tool(
        &mut instance,
        "dns_report",
        json!({ "dimensions": ["zone-tag"], "since": "24h" }),
    )
    .await
    .expect("account report");
    assert_eq!(result["scope"]["level"], "account");
    let count_of = |zone: &str| {
        rows(&result)
            .iter()
            .find(|r| r["zone_tag"] == zone)
            .map(|r| r["query_count"].clone())
    };
    assert_eq!(count_of(ZONE_ID), Some(json!(20 * 24)));
    assert_eq!(count_of(ENTERPRISE_ZONE_ID), Some(json!(8 * 24)));
    assert_eq!(count_of(IDN_ZONE_ID), Some(json!(5 * 24)));
    assert_eq!(result["totals"]["query_count"], 33 * 24);
    let body = &report_bodies(&fake)[0];
    assert_eq!(body["variables"]["accountTag"], cf_fake::ACCOUNT_ID);
    assert!(
        body["query"]
            .as_str()
            .unwrap_or_default()
            .contains("accounts(")
    );
}

#[tokio::test]
async fn ranges_are_checked_against_the_settings_limits_before_sending() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut instance = dns_instance(&fake).await;
    // Free plan: 7 days per query.
    let e = tool(
        &mut instance,
        "dns_report",
        json!({ "zone": ZONE_NAME, "since": "10d" }),
    )
    .await
    .expect_err("too long");
    assert_eq!(invalid_field(&e), Some("range"));
    let PluginError::InvalidInput(problem) = &e else {
        unreachable!()
    };
    assert!(problem.message.contains("7d"), "{}", problem.message);
    // ... and 8 days back (a relative since counts back from until: 9 to 10 days ago).
    let e = tool(
        &mut instance,
        "dns_report",
        json!({ "zone": ZONE_NAME, "since": "1d", "until": "9d" }),
    )
    .await
    .expect_err("too old");
    assert_eq!(invalid_field(&e), Some("range.since"));
    // Enterprise keeps 62 days: the same range is fine there.
    tool(
        &mut instance,
        "dns_report",
        json!({ "zone": ENTERPRISE_ZONE_ID, "since": "10d" }),
    )
    .await
    .expect("within the Enterprise limits");
    assert_eq!(
        report_bodies(&fake).len(),
        1,
        "refused ranges were never sent"
    );
    let settings: Vec<Value> = graphql_bodies(&fake)
        .into_iter()
        .filter(|b| b["query"].as_str().unwrap_or_default().contains("settings"))
        .collect();
    assert_eq!(
        settings.len(),
        2,
        "limits are read once per zone and cached"
    );
    let e = tool(
        &mut instance,
        "dns_report",
        json!({ "zone": ZONE_NAME, "since": "yesterday-ish" }),
    )
    .await
    .expect_err("not a time");
    assert_eq!(invalid_field(&e), Some("range.since"));
}

#[tokio::test]
async fn a_dimension_the_plan_refuses_is_dropped_and_the_report_says_so() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut instance = dns_instance(&fake).await;
    let result = tool(
        &mut instance,
        "dns_report",
        json!({ "zone": ZONE_NAME, "dimensions": ["response-cached", "query-type"] }),
    )
    .await
    .expect("answered without response-cached");
    assert_eq!(result["dimensions"], json!(["query-type"]));
    assert_eq!(result["dropped"][0]["item"], "dimension response-cached");
    assert!(
        result["dropped"][0]["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("plan")
    );
    assert_eq!(rows(&result)[0]["query_type"], "A");
    // An Enterprise zone may group by it.
    let result = tool(
        &mut instance,
        "dns_report",
        json!({ "zone": ENTERPRISE_ZONE_ID, "dimensions": ["response-cached"] }),
    )
    .await
    .expect("enterprise report");
    assert_eq!(result["dropped"], json!([]));
    assert_eq!(rows(&result)[0]["response_cached"], "1");
    // Filtering on it cannot be dropped without changing the question.
    let e = tool(
        &mut instance,
        "dns_report",
        json!({ "zone": ZONE_NAME,
                "filters": [{ "dimension": "response-cached", "value": "yes" }] }),
    )
    .await
    .expect_err("plan limit");
    assert!(matches!(e, PluginError::PlanLimit(_)), "{e:?}");
}

#[tokio::test]
async fn the_legacy_rest_report_is_a_fallback_with_its_real_shapes() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut instance = dns_instance(&fake).await;
    let result = tool(
        &mut instance,
        "dns_report",
        json!({
            "zone": ZONE_NAME,
            "source": "legacy-rest",
            "dimensions": ["query-name", "response-cached"],
            "filters": [{ "dimension": "response-code", "value": "NXDOMAIN" }]
        }),
    )
    .await
    .expect("legacy report");
    assert_eq!(
        rows(&result)[0],
        json!({ "query_name": "missing.github.com", "query_count": 48 })
    );
    assert_eq!(result["totals"]["query_count"], 72);
    assert_eq!(
        result["dropped"][0]["item"], "dimension response-cached",
        "code 1034 on a Free zone drops the dimension"
    );
    assert!(
        result["scope"]["dataset"]
            .as_str()
            .unwrap_or_default()
            .contains("legacy")
    );
    let legacy: Vec<RecordedRequest> = fake
        .requests()
        .into_iter()
        .filter(|r| r.path.contains("dns_analytics/report"))
        .collect();
    assert_eq!(legacy.len(), 2, "the refused request, then the retry");
    assert!(
        legacy[1]
            .query
            .as_deref()
            .is_some_and(|q| q.contains("filters=responseCode%3D%3DNXDOMAIN"))
    );

    // Legacy filter expressions are regular expressions: the dots of a name are escaped.
    let one_name = tool(
        &mut instance,
        "dns_report",
        json!({ "zone": ZONE_NAME, "source": "legacy-rest", "since": "24h",
                "filters": [{ "dimension": "query-name", "value": "missing.github.com" }] }),
    )
    .await
    .expect("legacy report");
    assert_eq!(one_name["totals"]["query_count"], 48);

    let series = tool(
        &mut instance,
        "dns_timeseries",
        json!({ "zone": ZONE_NAME, "source": "legacy-rest", "since": "6h", "bucket": "hour" }),
    )
    .await
    .expect("legacy bytime");
    let points = series["series"][0]["points"].as_array().expect("points");
    assert!(points.len() >= 6);
    assert_eq!(series["series"][0]["query_count"], 20 * 6);
}

#[tokio::test]
async fn a_timeseries_has_one_series_per_group_and_every_bucket() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut instance = dns_instance(&fake).await;
    let request = dns::ReportRequest {
        zone: Some(ZONE_NAME.into()),
        dimensions: vec![Dimension::QueryType],
        metrics: vec![],
        filters: vec![],
        range: dns::TimeRange {
            since: Some("24h".into()),
            until: None,
        },
        sort: None,
        limit: Some(2),
        source: None,
    };
    let series = instance
        .dns_timeseries(&request, None)
        .await
        .expect("no trap")
        .expect("series");
    assert_eq!(series.bucket, dns::Bucket::Hour);
    assert_eq!(series.series.len(), 2);
    assert!(series.truncated, "TXT is a third group");
    let a = &series.series[0];
    assert_eq!(a.key[0].value, "A");
    assert_eq!(a.query_count, 15 * 24);
    assert!(a.points.len() >= 24, "every hour of the range is present");
    let sum: f64 = a
        .points
        .iter()
        .flat_map(|p| p.metrics.iter())
        .filter(|m| m.metric == dns::Metric::QueryCount)
        .map(|m| m.value)
        .sum();
    assert_eq!(sum, (15 * 24) as f64);
    let bodies = report_bodies(&fake);
    assert_eq!(bodies.len(), 2, "the top groups, then their points");
    assert!(
        bodies[1]["query"]
            .as_str()
            .unwrap_or_default()
            .contains("datetimeHour")
    );

    // Without dimensions: one series, five-minute buckets for a short range.
    let result = tool(
        &mut instance,
        "dns_timeseries",
        json!({ "zone": ZONE_NAME, "since": "2h" }),
    )
    .await
    .expect("series");
    assert_eq!(result["bucket"], "five-minutes");
    assert_eq!(result["series"].as_array().map(Vec::len), Some(1));
    assert_eq!(result["totals"]["query_count"], 40);
}

#[tokio::test]
async fn empty_results_are_an_answer_with_the_hints_users_need() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut instance = dns_instance(&fake).await;
    let result = tool(
        &mut instance,
        "dns_report",
        json!({ "zone": EMPTY_ZONE_ID, "dimensions": ["query-name"] }),
    )
    .await
    .expect("an empty report is not an error");
    assert_eq!(rows(&result), &Vec::<Value>::new());
    assert_eq!(result["totals"]["query_count"], 0);
    let notes = result["notes"].to_string();
    assert!(
        notes.contains("24 hours") && notes.contains("Cloudflare DNS"),
        "{notes}"
    );
    let result = tool(
        &mut instance,
        "dns_report",
        json!({ "zone": PENDING_ZONE_NAME }),
    )
    .await
    .expect("report");
    assert!(
        result["notes"].to_string().contains("pending"),
        "{}",
        result["notes"]
    );
}

#[tokio::test]
async fn dns_records_answer_is_it_proxied() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut instance = dns_instance(&fake).await;
    let first = tool(
        &mut instance,
        "dns_records",
        json!({ "zone": ZONE_NAME, "per_page": 5 }),
    )
    .await
    .expect("records");
    assert_eq!(first["records"].as_array().map(Vec::len), Some(5));
    assert_eq!(first["page"]["total_count"], cf_fake::DNS_RECORDS_PER_ZONE);
    assert_eq!(first["page"]["more"], true);
    let last_page = first["page"]["total_pages"].as_u64().expect("pages");
    let last = tool(
        &mut instance,
        "dns_records",
        json!({ "zone": ZONE_NAME, "per_page": 5, "page": last_page }),
    )
    .await
    .expect("last page");
    assert_eq!(last["page"]["more"], false);
    let record = &first["records"][0];
    for field in ["type", "name", "content", "proxied", "ttl"] {
        assert!(record.get(field).is_some(), "{field} in {record}");
    }
    let typed = instance
        .dns_records(&dns::RecordQuery {
            zone: ZONE_ID.into(),
            record_type: Some("a".into()),
            name: None,
            page: None,
            per_page: None,
        })
        .await
        .expect("no trap")
        .expect("A records");
    assert!(!typed.records.is_empty());
    assert!(typed.records.iter().all(|r| r.record_type == "A"));
}

#[tokio::test]
async fn each_failure_maps_to_its_error() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut instance = dns_instance(&fake).await;
    // Each missing permission is `forbidden`, and the hint names the permission to add.
    for (missing, tool_name, permission) in [
        (
            FakePermission::ZoneRead,
            "dns_list_zones",
            "Zone → Zone → Read",
        ),
        (
            FakePermission::ZoneAnalyticsRead,
            "dns_report",
            "Zone → Analytics → Read",
        ),
        (FakePermission::DnsRead, "dns_records", "Zone → DNS → Read"),
    ] {
        fake.set_scenario(Scenario::Missing(missing));
        let args = if tool_name == "dns_list_zones" {
            json!({})
        } else {
            json!({ "zone": ZONE_ID })
        };
        let e = tool(&mut instance, tool_name, args)
            .await
            .expect_err(permission);
        let PluginError::Forbidden(f) = &e else {
            panic!("{tool_name}: expected forbidden, got {e:?}")
        };
        let hint = f.hint.as_deref().unwrap_or_default();
        assert!(hint.contains(permission), "{tool_name}: {hint}");
    }

    fake.set_scenario(Scenario::RateLimited);
    let e = tool(
        &mut instance,
        "dns_report",
        json!({ "zone": ZONE_ID, "since": "1h" }),
    )
    .await
    .expect_err("rate limited");
    // A GraphQL report: GraphQL's limit, with its Retry-After.
    assert!(
        matches!(
            e,
            PluginError::RateLimited(RateLimit {
                limiter: RateLimiter::Graphql,
                retry_after: Some(_)
            })
        ),
        "{e:?}"
    );

    fake.set_scenario(Scenario::AllPermissions);
    let e = tool(
        &mut instance,
        "dns_report",
        json!({ "zone": ZONE_ID, "dimensions": ["country"] }),
    )
    .await
    .expect_err("unknown dimension");
    let PluginError::InvalidInput(p) = &e else {
        panic!("expected invalid-input, got {e:?}")
    };
    assert_eq!(p.field, "dimensions[0]");
    assert!(p.message.contains("query-name") && p.message.contains("response-code"));
    let e = tool(
        &mut instance,
        "dns_report",
        json!({ "zone": "0123456789abcdef0123456789abcdef" }),
    )
    .await
    .expect_err("not a zone");
    assert!(matches!(e, PluginError::NotFound(_)), "{e:?}");
    let e = tool(&mut instance, "dns_report", json!({ "zonee": ZONE_ID }))
        .await
        .expect_err("unknown argument");
    assert_eq!(invalid_field(&e), Some("zonee"));

    // A connection without the service refuses its tools.
    let mut docs_only = connected(&sandbox(&fake), &[Service::Documentation]).await;
    let e = tool(&mut docs_only, "dns_list_zones", json!({}))
        .await
        .expect_err("service disabled");
    assert!(
        matches!(e, PluginError::ServiceDisabled(Service::DnsAnalytics)),
        "{e:?}"
    );
}

/// A name far past any DNS name is refused before anything is sent, through the typed exports
/// and the tools alike, and the refusal does not quote it back whole.
#[tokio::test]
async fn a_name_past_its_documented_maximum_is_refused_unsent_and_unechoed() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut instance = dns_instance(&fake).await;
    let long = "a".repeat(70_000);
    let e = instance
        .get_zone(&long)
        .await
        .expect("no trap")
        .expect_err("refused");
    assert_eq!(invalid_field(&e), Some("zone"), "{e:?}");
    let e = instance
        .dns_records(&dns::RecordQuery {
            zone: ZONE_ID.into(),
            record_type: None,
            name: Some(long.clone()),
            page: None,
            per_page: None,
        })
        .await
        .expect("no trap")
        .expect_err("refused");
    assert_eq!(invalid_field(&e), Some("name"), "{e:?}");
    for (name, args, field) in [
        ("dns_get_zone", json!({ "zone": long }), "zone"),
        (
            "dns_records",
            json!({ "zone": ZONE_NAME, "name": long }),
            "name",
        ),
        ("dns_report", json!({ "zone": long }), "zone"),
        ("dns_list_zones", json!({ "status": long }), "status"),
    ] {
        let e = tool(&mut instance, name, args).await.expect_err("refused");
        assert_eq!(invalid_field(&e), Some(field), "{name}: {e:?}");
        let PluginError::InvalidInput(problem) = &e else {
            unreachable!()
        };
        assert!(problem.message.len() < 400, "{name}: {}", problem.message);
    }
    assert!(fake.requests().is_empty(), "nothing was sent");
}

/// The token reads the zone, but in another account than the connected one: the error names
/// both accounts and carries the status Cloudflare really answered (200, no zone in this account).
#[tokio::test]
async fn a_zone_of_another_account_names_the_owner_and_the_connected_account() {
    let fake = FakeCloudflare::spawn(Scenario::OtherAccount);
    let mut instance = dns_instance(&fake).await;
    for zone in [ZONE_NAME, ZONE_ID] {
        let e = instance
            .get_zone(zone)
            .await
            .expect("no trap")
            .expect_err("not the connected account's zone");
        let PluginError::NotFound(failure) = &e else {
            panic!("expected not-found, got {e:?}")
        };
        assert_eq!(failure.status, 200, "{zone}: {failure:?}");
        assert!(
            failure.message.contains(cf_fake::OTHER_ACCOUNT_ID)
                && failure.message.contains(cf_fake::ACCOUNT_ID),
            "{zone}: {}",
            failure.message
        );
    }
}
