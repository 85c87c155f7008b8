//! Tests of the DNS datasets, the schema checks and the GraphQL scopes.

use serde_json::{Value, json};

use crate::calendar::{DAY, date_string, days_from_unix, parse_rfc3339, rfc3339, unix_now};
use crate::test_client::{NXDOMAIN_QUERY, gql, last_day, only_error, post_graphql};
use crate::*;

#[test]
fn graphql_scopes() {
    let fake = FakeCloudflare::spawn(Scenario::Missing(Permission::ZoneAnalyticsRead));
    let post = |query: &str, variables: Value| {
        let body = json!({ "query": query, "variables": variables }).to_string();
        post_graphql(&fake, &body)
    };
    let zone_query =
        "query($zoneTag: string) { viewer { zones(filter: {zoneTag: $zoneTag}) { zoneTag } } }";
    let account_query = "query($accountTag: string) { viewer { accounts(filter: {accountTag: $accountTag}) { accountTag } } }";

    let denied = post(
        zone_query,
        json!({ "zoneTag": "234234243423aaabb334342aaa343433" }),
    );
    assert_eq!(denied.status, 200);
    assert_eq!(
        denied.json()["errors"][0]["extensions"]["code"],
        json!("authz")
    );

    let allowed = post(account_query, json!({ "accountTag": ACCOUNT_ID })).json();
    assert_eq!(allowed["errors"], Value::Null);
    assert_eq!(
        allowed["data"]["viewer"]["accounts"],
        json!([{ "accountTag": ACCOUNT_ID }])
    );

    let other = post(account_query, json!({ "accountTag": OTHER_ACCOUNT_ID })).json();
    assert_eq!(other["data"], Value::Null);
    assert_eq!(other["errors"][0]["extensions"]["code"], json!("authz"));
    assert_eq!(other["errors"][0]["path"], json!(["viewer", "accounts", 0]));

    let bad = post_graphql(&fake, "{");
    assert_eq!(bad.status, 400);
}

#[test]
fn schema_accepts_dns_queries_and_the_verify_probes() {
    let mut filter = last_day();
    filter["responseCode"] = json!("NXDOMAIN");
    let variables = json!({ "zoneTag": ZONE_ID, "filter": filter, "limit": 10 });
    assert_eq!(validate_graphql(NXDOMAIN_QUERY, &variables), Ok(()));

    let account = "query($accountTag: string!) { viewer { accounts(filter: {accountTag: $accountTag}) {
        dnsAnalyticsAdaptiveGroups(limit: 5, filter: {date_geq: \"2026-11-20\", zoneTag_in: [\"a\"]}) { count dimensions { zoneTag } }
        settings { dnsAnalyticsAdaptiveGroups { maxDuration } }
    } } }";
    assert_eq!(
        validate_graphql(account, &json!({ "accountTag": ACCOUNT_ID })),
        Ok(())
    );
    // The plugin's verify probes (plugin/src/cloudflare/verify.rs).
    let zone_probe = "query ZoneAnalyticsPermissionProbe($zoneTag: string!, $since: Date!) { viewer { zones(filter: {zoneTag: $zoneTag}) { httpRequests1dGroups(limit: 1, filter: {date_geq: $since}) { sum { requests } } } } }";
    let account_probe = "query AccountAnalyticsPermissionProbe($accountTag: string!, $since: Date!) { viewer { accounts(filter: {accountTag: $accountTag}) { httpRequests1dGroups(limit: 1, filter: {date_geq: $since}) { sum { requests } } } } }";
    let since = json!("2026-11-25");
    assert_eq!(
        validate_graphql(zone_probe, &json!({ "zoneTag": ZONE_ID, "since": since })),
        Ok(())
    );
    assert_eq!(
        validate_graphql(
            account_probe,
            &json!({ "accountTag": ACCOUNT_ID, "since": since })
        ),
        Ok(())
    );
}

#[test]
fn schema_rejects_unknown_fields_and_filter_keys() {
    let unknown_field = "{ viewer { zones(filter: {zoneTag: \"x\"}) { dnsAnalyticsAdaptiveGroups(limit: 1, filter: {}) { count bogus } } } }";
    let error = validate_graphql(unknown_field, &Value::Null).expect_err("unknown field");
    assert!(error.contains("bogus"), "{error}");

    let mut filter = last_day();
    filter["responseKode"] = json!("NXDOMAIN");
    let error = validate_graphql(
        NXDOMAIN_QUERY,
        &json!({ "zoneTag": ZONE_ID, "filter": filter, "limit": 10 }),
    )
    .expect_err("unknown filter key");
    assert!(error.contains("responseKode"), "{error}");

    let error = validate_graphql(NXDOMAIN_QUERY, &json!({ "zoneTag": ZONE_ID }))
        .expect_err("missing required variables");
    assert!(error.contains("filter"), "{error}");

    // Over HTTP: 200, data null, code bad_request.
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let answer = gql(&fake, unknown_field, Value::Null);
    let error = only_error(&answer);
    assert_eq!(error["extensions"]["code"], json!("bad_request"));
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("bogus"))
    );
}

#[test]
fn zone_groups_by_query_name_over_the_last_day() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut filter = last_day();
    filter["responseCode"] = json!("NXDOMAIN");
    let answer = gql(
        &fake,
        NXDOMAIN_QUERY,
        json!({ "zoneTag": ZONE_ID, "filter": filter, "limit": 10 }),
    );
    assert_eq!(answer["errors"], Value::Null, "{answer}");
    assert_eq!(
        answer["data"]["viewer"]["zones"][0]["top"],
        json!([
            {
                "count": 48,
                "avg": { "processingTimeUs": 2000.0 },
                "quantiles": { "processingTimeUsP50": 2000.0, "processingTimeUsP90": 2000.0 },
                "dimensions": { "queryName": "missing.github.com" }
            },
            {
                "count": 24,
                "avg": { "processingTimeUs": 2500.0 },
                "quantiles": { "processingTimeUsP50": 2500.0, "processingTimeUsP90": 2500.0 },
                "dimensions": { "queryName": "old.github.com" }
            }
        ])
    );

    // Whole zone, one group; then hourly buckets, oldest first, limited.
    let query = "query($zoneTag: string!, $filter: ZoneDnsAnalyticsAdaptiveGroupsFilter_InputObject!) {
        viewer { zones(filter: {zoneTag: $zoneTag}) {
            all: dnsAnalyticsAdaptiveGroups(filter: $filter, limit: 1) { count avg { processingTimeUs sampleInterval } quantiles { processingTimeUsP50 processingTimeUsP90 processingTimeUsP99 } }
            hours: dnsAnalyticsAdaptiveGroups(filter: $filter, limit: 3, orderBy: [datetimeHour_ASC]) { count dimensions { datetimeHour date ipVersion } }
            nothing: dnsAnalyticsAdaptiveGroups(filter: {AND: [$filter, {queryName_like: \"%.example\"}]}, limit: 3) { count }
            __typename
        } }
    }";
    let answer = gql(
        &fake,
        query,
        json!({ "zoneTag": ZONE_ID, "filter": last_day() }),
    );
    let zone = &answer["data"]["viewer"]["zones"][0];
    assert_eq!(zone["__typename"], json!("zone"));
    assert_eq!(
        zone["all"],
        json!([{
            "count": 480,
            "avg": { "processingTimeUs": 1190.0, "sampleInterval": 1.0 },
            "quantiles": { "processingTimeUsP50": 800.0, "processingTimeUsP90": 2000.0, "processingTimeUsP99": 2500.0 }
        }])
    );
    let hours = zone["hours"].as_array().expect("hour rows");
    assert_eq!(hours.len(), 3);
    let first_hour = (unix_now() - DAY).div_euclid(3600) * 3600;
    for row in hours {
        assert_eq!(
            row["dimensions"]["ipVersion"].as_u64().map(|_| ()),
            Some(())
        );
    }
    // Two rows per hour (IPv4 and IPv6), so the first two rows share an hour.
    let hour0 = hours[0]["dimensions"]["datetimeHour"]
        .as_str()
        .and_then(parse_rfc3339)
        .expect("an hour");
    assert!(
        hour0 == first_hour || hour0 == first_hour + 3600,
        "{hours:?}"
    );
    assert_eq!(
        hours[0]["dimensions"]["datetimeHour"],
        hours[1]["dimensions"]["datetimeHour"]
    );
    assert_eq!(hours[0]["count"], json!(15));
    assert_eq!(hours[1]["count"], json!(5));
    assert_eq!(zone["nothing"], json!([]));

    // The empty zone answers no rows.
    let answer = gql(
        &fake,
        NXDOMAIN_QUERY,
        json!({ "zoneTag": EMPTY_ZONE_ID, "filter": last_day(), "limit": 10 }),
    );
    assert_eq!(answer["data"]["viewer"]["zones"][0]["top"], json!([]));
}

#[test]
fn account_scope_totals_and_zone_filters() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let query = "query($accountTag: string!, $filter: AccountDnsAnalyticsAdaptiveGroupsFilter_InputObject!, $rawFilter: AccountDnsAnalyticsAdaptiveFilter_InputObject!) {
        viewer { accounts(filter: {accountTag: $accountTag}) {
            total: dnsAnalyticsAdaptiveGroups(filter: $filter, limit: 1) { count }
            byZone: dnsAnalyticsAdaptiveGroups(filter: $filter, limit: 10, orderBy: [count_DESC]) { count dimensions { zoneTag } }
            idn: dnsAnalyticsAdaptiveGroups(filter: {AND: [$filter], zoneTag_in: [\"5d1f0c9e8b7a46f3a2e1d0c9b8a7f6e5\"]}, limit: 10) { count dimensions { queryName } }
            raw: dnsAnalyticsAdaptive(filter: $rawFilter, limit: 2, orderBy: [datetime_DESC]) { zoneTag queryName datetime }
        } }
    }";
    let answer = gql(
        &fake,
        query,
        json!({ "accountTag": ACCOUNT_ID, "filter": last_day(), "rawFilter": last_day() }),
    );
    assert_eq!(answer["errors"], Value::Null, "{answer}");
    let account = &answer["data"]["viewer"]["accounts"][0];
    assert_eq!(account["total"], json!([{ "count": 792 }]));
    assert_eq!(
        account["byZone"],
        json!([
            { "count": 480, "dimensions": { "zoneTag": ZONE_ID } },
            { "count": 192, "dimensions": { "zoneTag": ENTERPRISE_ZONE_ID } },
            { "count": 120, "dimensions": { "zoneTag": IDN_ZONE_ID } }
        ])
    );
    assert_eq!(
        account["idn"],
        json!([{ "count": 120, "dimensions": { "queryName": "www.xn--bcher-kva.example" } }])
    );
    let raw = account["raw"].as_array().expect("raw rows");
    assert_eq!(raw.len(), 2);
    assert_eq!(raw[0]["zoneTag"], json!(ZONE_ID));
    assert_eq!(
        raw[0]["datetime"].as_str().map(|t| &t[14..]),
        Some("30:00Z")
    );

    assert_eq!(hourly_query_count(ZONE_ID), 20);
    assert_eq!(hourly_query_count(EMPTY_ZONE_ID), 0);
    let now = unix_now();
    let times = dns_event_times(now);
    // 241 hours, minus the current one before minute 30.
    let expected = if now.rem_euclid(3600) >= 1800 {
        241
    } else {
        240
    };
    assert_eq!(times.len(), expected);
    assert!(
        times
            .iter()
            .all(|t| t.rem_euclid(3600) == 1800 && *t <= now)
    );
    for start in [now - DAY, now - DAY - 1799, now - 3 * DAY] {
        let inside = times.iter().filter(|t| (start..start + DAY).contains(*t));
        assert_eq!(inside.count(), 24);
    }
}

#[test]
fn settings_per_plan() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let zone_query = "query($zoneTag: string!) { viewer { zones(filter: {zoneTag: $zoneTag}) { settings {
        dnsAnalyticsAdaptiveGroups { enabled maxDuration notOlderThan maxPageSize maxNumberOfFields availableFields }
        raw: dnsAnalyticsAdaptive { maxDuration }
    } } } }";
    let settings = |zone: &str| {
        let answer = gql(&fake, zone_query, json!({ "zoneTag": zone }));
        answer["data"]["viewer"]["zones"][0]["settings"].clone()
    };
    let free = settings(ZONE_ID);
    let groups = &free["dnsAnalyticsAdaptiveGroups"];
    assert_eq!(groups["enabled"], json!(true));
    assert_eq!(groups["maxDuration"], json!(604_800));
    assert_eq!(groups["notOlderThan"], json!(691_200));
    assert_eq!(groups["maxPageSize"], json!(10_000));
    assert_eq!(groups["maxNumberOfFields"], json!(30));
    let fields = groups["availableFields"].as_array().expect("fields");
    assert!(fields.contains(&json!("dimensions_queryName")));
    assert!(fields.contains(&json!("count")));
    assert!(!fields.contains(&json!("dimensions_responseCached")));
    assert_eq!(free["raw"], json!({ "maxDuration": 604_800 }));

    for (zone, seconds) in [
        (IDN_ZONE_ID, 2_678_400),
        (ENTERPRISE_ZONE_ID, 5_356_800),
        (BUSINESS_ZONE_ID, 2_678_400),
        (EMPTY_ZONE_ID, 604_800),
    ] {
        let groups = &settings(zone)["dnsAnalyticsAdaptiveGroups"];
        assert_eq!(groups["maxDuration"], json!(seconds), "{zone}");
    }
    let enterprise = settings(ENTERPRISE_ZONE_ID);
    assert!(
        enterprise["dnsAnalyticsAdaptiveGroups"]["availableFields"]
            .as_array()
            .is_some_and(|f| f.contains(&json!("dimensions_responseCached")))
    );

    let account_query = "query($accountTag: string!) { viewer { accounts(filter: {accountTag: $accountTag}) { settings {
        dnsAnalyticsAdaptiveGroups { maxDuration notOlderThan }
    } } } }";
    let answer = gql(&fake, account_query, json!({ "accountTag": ACCOUNT_ID }));
    assert_eq!(
        answer["data"]["viewer"]["accounts"][0]["settings"],
        json!({ "dnsAnalyticsAdaptiveGroups": { "maxDuration": 604_800, "notOlderThan": 2_678_400 } })
    );
}

#[test]
fn response_cached_needs_business_or_higher() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let query = "query($zoneTag: string!, $filter: ZoneDnsAnalyticsAdaptiveGroupsFilter_InputObject!) {
        viewer { zones(filter: {zoneTag: $zoneTag}) {
            cache: dnsAnalyticsAdaptiveGroups(filter: $filter, limit: 5, orderBy: [responseCached_ASC]) { count dimensions { responseCached } }
        } }
    }";
    for zone in [ZONE_ID, IDN_ZONE_ID] {
        let answer = gql(
            &fake,
            query,
            json!({ "zoneTag": zone, "filter": last_day() }),
        );
        let error = only_error(&answer);
        assert_eq!(error["extensions"]["code"], json!("authz"));
        assert_eq!(error["path"], json!(["viewer", "zones", 0, "cache"]));
        let message = error["message"].as_str().expect("a message");
        assert!(
            message.contains("plan") && message.contains("responseCached"),
            "{message}"
        );
        assert!(error["extensions"]["timestamp"].is_string());
    }
    // Filtering on it is refused too.
    let mut filter = last_day();
    filter["responseCached"] = json!(1);
    let answer = gql(
        &fake,
        NXDOMAIN_QUERY,
        json!({ "zoneTag": ZONE_ID, "filter": filter, "limit": 5 }),
    );
    assert_eq!(only_error(&answer)["extensions"]["code"], json!("authz"));

    let business = gql(
        &fake,
        query,
        json!({ "zoneTag": BUSINESS_ZONE_ID, "filter": last_day() }),
    );
    assert_eq!(business["errors"], Value::Null, "{business}");
    assert_eq!(business["data"]["viewer"]["zones"][0]["cache"], json!([]));
    let answer = gql(
        &fake,
        query,
        json!({ "zoneTag": ENTERPRISE_ZONE_ID, "filter": last_day() }),
    );
    assert_eq!(
        answer["data"]["viewer"]["zones"][0]["cache"],
        json!([
            { "count": 48, "dimensions": { "responseCached": 0 } },
            { "count": 144, "dimensions": { "responseCached": 1 } }
        ])
    );
}

#[test]
fn limit_and_time_range_refusals() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let refusal = |zone: &str, filter: Value, limit: u64| {
        let answer = gql(
            &fake,
            NXDOMAIN_QUERY,
            json!({ "zoneTag": zone, "filter": filter, "limit": limit }),
        );
        let error = only_error(&answer).clone();
        assert_eq!(error["extensions"]["code"], json!("bad_request"), "{error}");
        assert_eq!(error["path"], json!(["viewer", "zones", 0, "top"]));
        error["message"].as_str().expect("a message").to_owned()
    };
    assert_eq!(
        refusal(ZONE_ID, last_day(), 10_001),
        "limit must be less than or equal to 10000"
    );
    let now = unix_now();
    let message = refusal(ZONE_ID, json!({ "responseCode": "NXDOMAIN" }), 10);
    assert!(
        message.starts_with("the time range is too wide"),
        "{message}"
    );
    let wide =
        json!({ "datetime_geq": rfc3339(now - 7 * DAY - 3600), "datetime_lt": rfc3339(now) });
    assert_eq!(
        refusal(ZONE_ID, wide.clone(), 10),
        "the time range is too wide: it must be at most 604800s (7d)"
    );
    let old =
        json!({ "datetime_geq": rfc3339(now - 9 * DAY), "datetime_lt": rfc3339(now - 8 * DAY) });
    assert_eq!(
        refusal(ZONE_ID, old.clone(), 10),
        "cannot request data older than 691200s (8d)"
    );
    // A Pro zone may go back 31 days, with a 31-day range.
    let answer = gql(
        &fake,
        NXDOMAIN_QUERY,
        json!({ "zoneTag": IDN_ZONE_ID, "filter": wide, "limit": 10 }),
    );
    assert_eq!(answer["errors"], Value::Null, "{answer}");
    let answer = gql(
        &fake,
        NXDOMAIN_QUERY,
        json!({ "zoneTag": IDN_ZONE_ID, "filter": old, "limit": 10 }),
    );
    assert_eq!(answer["errors"], Value::Null, "{answer}");
    // A date range of 7 days is fine on Free; 8 is too wide.
    let today = days_from_unix(now);
    let dates = |from: i64| json!({ "date_geq": date_string(today - from), "date_leq": date_string(today) });
    let answer = gql(
        &fake,
        NXDOMAIN_QUERY,
        json!({ "zoneTag": ZONE_ID, "filter": dates(6), "limit": 10 }),
    );
    assert_eq!(answer["errors"], Value::Null, "{answer}");
    assert!(refusal(ZONE_ID, dates(7), 10).starts_with("the time range is too wide"));
}

#[test]
fn graphql_zone_permission_and_unknown_zone() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let answer = gql(
        &fake,
        NXDOMAIN_QUERY,
        json!({ "zoneTag": "00000000000000000000000000000000", "filter": last_day(), "limit": 1 }),
    );
    let error = only_error(&answer);
    assert_eq!(error["extensions"]["code"], json!("authz"));
    assert_eq!(error["path"], json!(["viewer", "zones", 0]));

    fake.set_scenario(Scenario::Missing(Permission::ZoneAnalyticsRead));
    let answer = gql(
        &fake,
        NXDOMAIN_QUERY,
        json!({ "zoneTag": ZONE_ID, "filter": last_day(), "limit": 1 }),
    );
    assert_eq!(only_error(&answer)["extensions"]["code"], json!("authz"));
}
