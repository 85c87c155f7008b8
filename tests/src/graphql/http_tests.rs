//! Tests of the HTTP request and firewall datasets, `settings`, introspection and the GraphQL
//! error shapes (the DNS datasets are tested in `dns_tests.rs`).

use serde_json::{Value, json};

use crate::calendar::{DAY, date_string, days_from_unix, rfc3339, unix_now};
use crate::test_client::{gql, last_day, only_error, post_graphql};
use crate::*;

const SETTINGS_FIXTURE: &str =
    include_str!("../../fixtures/graphql/settings_firewallEventsAdaptive.docs.json");
const FIREWALL_RAW_FIXTURE: &str =
    include_str!("../../fixtures/graphql/firewallEventsAdaptive_single_dataset.docs.json");
const HTTP_BY_HOUR_FIXTURE: &str =
    include_str!("../../fixtures/graphql/httpRequestsAdaptiveGroups_by_hour.docs.json");
const ERROR_FIXTURE: &str = include_str!("../../fixtures/graphql/error_data_null.docs.json");

fn fixture(text: &str) -> Value {
    serde_json::from_str(text).expect("fixtures are valid JSON")
}

/// The first zone (or account) object of a successful answer.
fn first_scope<'a>(answer: &'a Value, scope: &str) -> &'a Value {
    assert_eq!(answer["errors"], Value::Null, "{answer}");
    &answer["data"]["viewer"][scope][0]
}

/// The JSON "shape" of a value: objects keep their keys, arrays their first item, leaves
/// become their kind.
fn shape(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), shape(v))).collect())
        }
        Value::Array(items) => Value::Array(items.first().map(shape).into_iter().collect()),
        Value::String(_) => json!("string"),
        Value::Number(_) => json!("number"),
        Value::Bool(_) => json!("bool"),
        Value::Null => json!("null"),
    }
}

const ZONE_HTTP_QUERY: &str = "query Top($zoneTag: string!, $filter: ZoneHttpRequestsAdaptiveGroupsFilter_InputObject!) {
    viewer { zones(filter: {zoneTag: $zoneTag}) {
        countries: httpRequestsAdaptiveGroups(filter: $filter, limit: 10, orderBy: [count_DESC]) {
            count
            sum { edgeResponseBytes visits }
            avg { sampleInterval }
            dimensions { clientCountryName }
        }
        hosts: httpRequestsAdaptiveGroups(filter: $filter, limit: 10, orderBy: [sum_edgeResponseBytes_DESC]) {
            count
            sum { edgeResponseBytes }
            dimensions { clientRequestHTTPHost }
        }
        errors: httpRequestsAdaptiveGroups(filter: {AND: [$filter, {edgeResponseStatus_geq: 400}]}, limit: 10, orderBy: [count_DESC, edgeResponseStatus_ASC]) {
            count
            ratio { status4xx status5xx }
            dimensions { edgeResponseStatus }
        }
        either: httpRequestsAdaptiveGroups(filter: {AND: [$filter], OR: [{clientRequestPath_like: \"/v3%\"}, {clientCountryName: \"GB\"}]}, limit: 1) {
            count
        }
        notUs: httpRequestsAdaptiveGroups(filter: {AND: [$filter], clientCountryName_notin: [\"US\"], userAgent_neq: \"curl/8.5.0\"}, limit: 10, orderBy: [coloCode_DESC]) {
            count
            dimensions { coloCode cacheStatus userAgent }
        }
        hours: httpRequestsAdaptiveGroups(filter: $filter, limit: 100, orderBy: [datetimeHour_ASC]) {
            count
            dimensions { datetimeHour }
        }
        unmodelled: httpRequestsAdaptiveGroups(filter: $filter, limit: 1) {
            sum { edgeTimeToFirstByteMs }
            quantiles { edgeTimeToFirstByteMsP50 }
            dimensions { botScore clientASNDescription }
        }
    } }
}";

#[test]
fn http_requests_top_countries_hosts_and_filters_over_the_last_day() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let answer = gql(
        &fake,
        ZONE_HTTP_QUERY,
        json!({ "zoneTag": ZONE_ID, "filter": last_day() }),
    );
    let zone = first_scope(&answer, "zones");
    assert_eq!(
        zone["countries"],
        json!([
            { "count": 3600, "sum": { "edgeResponseBytes": 3_600_000, "visits": 960 },
              "avg": { "sampleInterval": 1.0 }, "dimensions": { "clientCountryName": "US" } },
            { "count": 720, "sum": { "edgeResponseBytes": 120_000, "visits": 0 },
              "avg": { "sampleInterval": 1.0 }, "dimensions": { "clientCountryName": "DE" } },
            { "count": 480, "sum": { "edgeResponseBytes": 48_000, "visits": 240 },
              "avg": { "sampleInterval": 1.0 }, "dimensions": { "clientCountryName": "GB" } }
        ])
    );
    assert_eq!(
        zone["hosts"],
        json!([
            { "count": 1440, "sum": { "edgeResponseBytes": 2_424_000 },
              "dimensions": { "clientRequestHTTPHost": "api.github.com" } },
            { "count": 3360, "sum": { "edgeResponseBytes": 1_344_000 },
              "dimensions": { "clientRequestHTTPHost": "github.com" } }
        ])
    );
    assert_eq!(
        zone["errors"],
        json!([
            { "count": 480, "ratio": { "status4xx": 1.0, "status5xx": 0.0 }, "dimensions": { "edgeResponseStatus": 403 } },
            { "count": 480, "ratio": { "status4xx": 1.0, "status5xx": 0.0 }, "dimensions": { "edgeResponseStatus": 404 } },
            { "count": 240, "ratio": { "status4xx": 0.0, "status5xx": 1.0 }, "dimensions": { "edgeResponseStatus": 500 } }
        ])
    );
    // /v3 1200 + /v3/search 240 + GB's /old-page 480.
    assert_eq!(zone["either"], json!([{ "count": 1920 }]));
    assert_eq!(
        zone["notUs"],
        json!([
            { "count": 480, "dimensions": { "coloCode": "LHR", "cacheStatus": "miss", "userAgent": "Mozilla/5.0" } },
            { "count": 240, "dimensions": { "coloCode": "FRA", "cacheStatus": "dynamic", "userAgent": "python-requests/2.31" } }
        ])
    );
    let hours = zone["hours"].as_array().expect("hour rows");
    assert_eq!(hours.len(), 24);
    assert!(hours.iter().all(|h| h["count"] == json!(200)), "{hours:?}");
    // Fields the fake does not model answer the zero value of their type, or null when
    // nullable (the `quantiles` block).
    assert_eq!(
        zone["unmodelled"],
        json!([{
            "sum": { "edgeTimeToFirstByteMs": 0 },
            "quantiles": null,
            "dimensions": { "botScore": 0, "clientASNDescription": "" }
        }])
    );
    assert_eq!(hourly_request_count(ZONE_ID) * 24, 4800);

    // The shape of the recorded documentation answer.
    let query =
        "query($zoneTag: string!, $filter: ZoneHttpRequestsAdaptiveGroupsFilter_InputObject!) {
        viewer { zones(filter: {zoneTag: $zoneTag}) {
            httpRequestsAdaptiveGroups(filter: $filter, limit: 10, orderBy: [datetimeHour_DESC]) {
                dimensions { datetimeHour } sum { edgeResponseBytes visits }
            }
        } }
    }";
    let answer = gql(
        &fake,
        query,
        json!({ "zoneTag": ZONE_ID, "filter": last_day() }),
    );
    assert_eq!(shape(&answer), shape(&fixture(HTTP_BY_HOUR_FIXTURE)));
    let rows = answer["data"]["viewer"]["zones"][0]["httpRequestsAdaptiveGroups"]
        .as_array()
        .expect("rows");
    assert_eq!(rows.len(), 10);
    assert_eq!(
        rows[0]["sum"],
        json!({ "edgeResponseBytes": 157_000, "visits": 50 })
    );
}

#[test]
fn http_requests_account_scope_includes_the_long_tail() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let query = "query($accountTag: string!, $filter: AccountHttpRequestsAdaptiveGroupsFilter_InputObject!) {
        viewer { accounts(filter: {accountTag: $accountTag}) {
            countries: httpRequestsAdaptiveGroups(filter: $filter, limit: 10, orderBy: [count_DESC]) {
                count dimensions { clientCountryName }
            }
            zones: httpRequestsAdaptiveGroups(filter: $filter, limit: 10, orderBy: [count_DESC]) {
                count sum { edgeResponseBytes } dimensions { zoneTag }
            }
            noTail: httpRequestsAdaptiveGroups(filter: {AND: [$filter], zoneTag: \"234234243423aaabb334342aaa343434\", clientRequestPath_notlike: \"/docs/page-%\"}, limit: 1) {
                count
            }
        } }
    }";
    let answer = gql(
        &fake,
        query,
        json!({ "accountTag": ACCOUNT_ID, "filter": last_day() }),
    );
    let account = first_scope(&answer, "accounts");
    assert_eq!(
        account["countries"],
        json!([
            { "count": 5000, "dimensions": { "clientCountryName": "BR" } },
            { "count": 4320, "dimensions": { "clientCountryName": "US" } },
            { "count": 720, "dimensions": { "clientCountryName": "DE" } },
            { "count": 480, "dimensions": { "clientCountryName": "GB" } },
            { "count": 480, "dimensions": { "clientCountryName": "JP" } }
        ])
    );
    assert_eq!(
        account["zones"],
        json!([
            { "count": 6200, "sum": { "edgeResponseBytes": 6_680_000 }, "dimensions": { "zoneTag": ENTERPRISE_ZONE_ID } },
            { "count": 4800, "sum": { "edgeResponseBytes": 3_768_000 }, "dimensions": { "zoneTag": ZONE_ID } }
        ])
    );
    assert_eq!(account["noTail"], json!([{ "count": 1200 }]));
}

#[test]
fn long_tail_top_paths_exceed_256_kib() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let query =
        "query($zoneTag: string!, $filter: ZoneHttpRequestsAdaptiveGroupsFilter_InputObject!) {
        viewer { zones(filter: {zoneTag: $zoneTag}) {
            httpRequestsAdaptiveGroups(filter: $filter, limit: 10000, orderBy: [count_DESC]) {
                count dimensions { clientRequestPath }
            }
        } }
    }";
    let body = json!({ "query": query, "variables": { "zoneTag": ENTERPRISE_ZONE_ID, "filter": last_day() } });
    let reply = post_graphql(&fake, &body.to_string());
    assert_eq!(reply.status, 200);
    assert!(reply.body.len() > 256 * 1024, "{} bytes", reply.body.len());
    let answer = reply.json();
    let rows = answer["data"]["viewer"]["zones"][0]["httpRequestsAdaptiveGroups"]
        .as_array()
        .expect("rows");
    assert_eq!(rows.len(), 2 + HTTP_LONG_TAIL_PATHS as usize);
    assert_eq!(
        rows[0],
        json!({ "count": 720, "dimensions": { "clientRequestPath": "/" } })
    );
    assert_eq!(
        rows[1],
        json!({ "count": 480, "dimensions": { "clientRequestPath": "/docs/" } })
    );
    // Ties keep the ascending order of the paths.
    assert_eq!(
        rows[2],
        json!({ "count": 1, "dimensions": { "clientRequestPath": "/docs/page-0000" } })
    );
    assert_eq!(long_tail_path(4999), "/docs/page-4999");
}

#[test]
fn http_requests_1h_and_1d_groups() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let now = unix_now();
    let hour = now.div_euclid(3600) * 3600;
    let query = "query($zoneTag: string!, $filter: ZoneHttpRequests1hGroupsFilter_InputObject!, $days: ZoneHttpRequests1dGroupsFilter_InputObject!) {
        viewer { zones(filter: {zoneTag: $zoneTag}) {
            hourly: httpRequests1hGroups(filter: $filter, limit: 100, orderBy: [datetime_ASC]) {
                dimensions { datetime }
                sum {
                    requests bytes cachedRequests cachedBytes
                    responseStatusMap { edgeResponseStatus requests }
                    countryMap { clientCountryName requests bytes }
                }
                uniq { uniques }
            }
            daily: httpRequests1dGroups(filter: $days, limit: 10, orderBy: [date_ASC]) {
                dimensions { date }
                sum { requests bytes responseStatusMap { edgeResponseStatus requests } }
                uniq { uniques }
            }
        } }
    }";
    let today = days_from_unix(now);
    let answer = gql(
        &fake,
        query,
        json!({
            "zoneTag": ZONE_ID,
            "filter": { "datetime_geq": rfc3339(hour - DAY), "datetime_lt": rfc3339(hour) },
            "days": { "date_geq": date_string(today - 3), "date_lt": date_string(today) }
        }),
    );
    let zone = first_scope(&answer, "zones");
    let hourly = zone["hourly"].as_array().expect("hour rows");
    assert_eq!(hourly.len(), 24);
    for (i, row) in hourly.iter().enumerate() {
        let start = hour - DAY + 3600 * i64::try_from(i).expect("small");
        assert_eq!(
            row,
            &json!({
                "dimensions": { "datetime": rfc3339(start) },
                "sum": {
                    "requests": 200, "bytes": 157_000, "cachedRequests": 100, "cachedBytes": 50_000,
                    "responseStatusMap": [
                        { "edgeResponseStatus": 200, "requests": 150 },
                        { "edgeResponseStatus": 403, "requests": 20 },
                        { "edgeResponseStatus": 404, "requests": 20 },
                        { "edgeResponseStatus": 500, "requests": 10 }
                    ],
                    "countryMap": [
                        { "clientCountryName": "DE", "requests": 30, "bytes": 5_000 },
                        { "clientCountryName": "GB", "requests": 20, "bytes": 2_000 },
                        { "clientCountryName": "US", "requests": 150, "bytes": 150_000 }
                    ]
                },
                "uniq": { "uniques": 5 }
            })
        );
    }
    let daily = zone["daily"].as_array().expect("day rows");
    assert_eq!(daily.len(), 3);
    for (i, row) in daily.iter().enumerate() {
        let day = today - 3 + i64::try_from(i).expect("small");
        assert_eq!(
            row,
            &json!({
                "dimensions": { "date": date_string(day) },
                "sum": {
                    "requests": 4800, "bytes": 3_768_000,
                    "responseStatusMap": [
                        { "edgeResponseStatus": 200, "requests": 3600 },
                        { "edgeResponseStatus": 403, "requests": 480 },
                        { "edgeResponseStatus": 404, "requests": 480 },
                        { "edgeResponseStatus": 500, "requests": 240 }
                    ]
                },
                "uniq": { "uniques": 5 }
            })
        );
    }

    // The verify probe still answers (one row, no error), at zone and account scope.
    let since = date_string(days_from_unix(now - DAY));
    let probe = "query($zoneTag: string!, $since: Date!) { viewer { zones(filter: {zoneTag: $zoneTag}) { httpRequests1dGroups(limit: 1, filter: {date_geq: $since}) { sum { requests } } } } }";
    let answer = gql(&fake, probe, json!({ "zoneTag": ZONE_ID, "since": since }));
    let rows = &first_scope(&answer, "zones")["httpRequests1dGroups"];
    assert_eq!(rows.as_array().map(Vec::len), Some(1), "{rows}");
    let probe = "query($accountTag: string!, $since: Date!) { viewer { accounts(filter: {accountTag: $accountTag}) { httpRequests1dGroups(limit: 1, filter: {date_geq: $since}) { sum { requests } } } } }";
    let answer = gql(
        &fake,
        probe,
        json!({ "accountTag": ACCOUNT_ID, "since": since }),
    );
    assert!(
        first_scope(&answer, "accounts")["httpRequests1dGroups"][0]["sum"]["requests"].as_u64()
            > Some(0)
    );
}

#[test]
fn firewall_events_by_action() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let query = "query($zoneTag: string!, $filter: ZoneFirewallEventsAdaptiveGroupsFilter_InputObject!, $raw: ZoneFirewallEventsAdaptiveFilter_InputObject!) {
        viewer { zones(filter: {zoneTag: $zoneTag}) {
            actions: firewallEventsAdaptiveGroups(filter: $filter, limit: 10, orderBy: [count_DESC]) {
                count dimensions { action source ruleId }
            }
            blocked: firewallEventsAdaptiveGroups(filter: {AND: [$filter], action_in: [\"block\", \"managed_challenge\"]}, limit: 10, orderBy: [clientCountryName_ASC]) {
                count avg { sampleInterval } dimensions { clientCountryName clientIP clientRequestHTTPHost }
            }
            hours: firewallEventsAdaptiveGroups(filter: $filter, limit: 100) { count dimensions { datetimeHour } }
            firewallEventsAdaptive(filter: $raw, limit: 2, orderBy: [datetime_DESC]) {
                action host: clientRequestHTTPHost datetime
            }
        } }
    }";
    let answer = gql(
        &fake,
        query,
        json!({ "zoneTag": ZONE_ID, "filter": last_day(), "raw": last_day() }),
    );
    let zone = first_scope(&answer, "zones");
    assert_eq!(
        zone["actions"],
        json!([
            { "count": 168, "dimensions": { "action": "block", "source": "waf", "ruleId": "r-sqli" } },
            { "count": 72, "dimensions": { "action": "managed_challenge", "source": "firewallManaged", "ruleId": "r-bots" } },
            { "count": 48, "dimensions": { "action": "log", "source": "firewallCustom", "ruleId": "r-log" } }
        ])
    );
    assert_eq!(
        zone["blocked"],
        json!([
            { "count": 168, "avg": { "sampleInterval": 1.0 },
              "dimensions": { "clientCountryName": "CN", "clientIP": "203.0.113.7", "clientRequestHTTPHost": "github.com" } },
            { "count": 72, "avg": { "sampleInterval": 1.0 },
              "dimensions": { "clientCountryName": "RU", "clientIP": "198.51.100.23", "clientRequestHTTPHost": "github.com" } }
        ])
    );
    let hours = zone["hours"].as_array().expect("hour rows");
    assert_eq!(hours.len(), 24);
    assert!(hours.iter().all(|h| h["count"] == json!(12)));
    assert_eq!(hourly_firewall_event_count(ZONE_ID), 12);
    // Raw rows: newest first, the block rule first within its time; the documentation's shape.
    let raw = zone["firewallEventsAdaptive"].as_array().expect("raw rows");
    assert_eq!(raw.len(), 2);
    assert_eq!(raw[0]["action"], json!("block"));
    assert_eq!(raw[0]["host"], json!("github.com"));
    let answer_shape = shape(&json!({
        "data": { "viewer": { "zones": [{ "firewallEventsAdaptive": raw }] } },
        "errors": null
    }));
    assert_eq!(answer_shape, shape(&fixture(FIREWALL_RAW_FIXTURE)));

    let account_query = "query($accountTag: string!, $filter: AccountFirewallEventsAdaptiveGroupsFilter_InputObject!) {
        viewer { accounts(filter: {accountTag: $accountTag}) {
            firewallEventsAdaptiveGroups(filter: $filter, limit: 10, orderBy: [count_DESC]) { count dimensions { action } }
            total: firewallEventsAdaptiveGroups(filter: $filter, limit: 10) { count }
        } }
    }";
    let answer = gql(
        &fake,
        account_query,
        json!({ "accountTag": ACCOUNT_ID, "filter": last_day() }),
    );
    let account = first_scope(&answer, "accounts");
    assert_eq!(
        account["firewallEventsAdaptiveGroups"],
        json!([
            { "count": 192, "dimensions": { "action": "block" } },
            { "count": 72, "dimensions": { "action": "managed_challenge" } },
            { "count": 48, "dimensions": { "action": "log" } }
        ])
    );
    assert_eq!(account["total"], json!([{ "count": 312 }]));
}

#[test]
fn settings_of_the_http_and_firewall_datasets() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let all = "enabled maxDuration notOlderThan maxPageSize maxNumberOfFields availableFields";
    let zone_query = format!(
        "query($zoneTag: string!) {{ viewer {{ zones(filter: {{zoneTag: $zoneTag}}) {{ settings {{
            httpRequestsAdaptiveGroups {{ {all} }}
            httpRequests1hGroups {{ maxDuration notOlderThan }}
            httpRequests1dGroups {{ maxDuration notOlderThan availableFields }}
            firewallEventsAdaptiveGroups {{ maxDuration notOlderThan maxPageSize }}
            workersZoneInvocationsAdaptiveGroups {{ maxDuration availableFields }}
        }} }} }} }}"
    );
    let answer = gql(&fake, &zone_query, json!({ "zoneTag": ZONE_ID }));
    let settings = &first_scope(&answer, "zones")["settings"];
    let http = &settings["httpRequestsAdaptiveGroups"];
    assert_eq!(http["enabled"], json!(true));
    assert_eq!(http["maxDuration"], json!(259_200));
    assert_eq!(http["notOlderThan"], json!(2_678_400));
    assert_eq!(http["maxPageSize"], json!(10_000));
    assert_eq!(http["maxNumberOfFields"], json!(30));
    let fields = http["availableFields"].as_array().expect("fields");
    for field in [
        "count",
        "sum_edgeResponseBytes",
        "dimensions_clientCountryName",
        "dimensions_clientRequestPath",
    ] {
        assert!(fields.contains(&json!(field)), "{field}");
    }
    assert!(!fields.contains(&json!("dimensions_zoneTag")));
    assert_eq!(
        settings["httpRequests1hGroups"],
        json!({ "maxDuration": 604_800, "notOlderThan": 2_678_400 })
    );
    assert_eq!(
        settings["httpRequests1dGroups"]["maxDuration"],
        json!(31_536_000)
    );
    assert_eq!(
        settings["httpRequests1dGroups"]["notOlderThan"],
        json!(31_536_000)
    );
    assert!(
        settings["httpRequests1dGroups"]["availableFields"]
            .as_array()
            .is_some_and(|f| f.contains(&json!("sum_responseStatusMap")))
    );
    assert_eq!(
        settings["firewallEventsAdaptiveGroups"],
        json!({ "maxDuration": 259_200, "notOlderThan": 2_678_400, "maxPageSize": 10_000 })
    );
    assert_eq!(
        settings["workersZoneInvocationsAdaptiveGroups"],
        json!({ "maxDuration": 259_200, "availableFields": [] })
    );

    // Exactly the documentation's answer for firewallEventsAdaptive.
    let docs_query =
        "query($zoneTag: string!) { viewer { zones(filter: {zoneTag: $zoneTag}) { settings {
        firewallEventsAdaptive { enabled maxDuration maxNumberOfFields maxPageSize notOlderThan }
    } } } }";
    let answer = gql(&fake, docs_query, json!({ "zoneTag": ZONE_ID }));
    assert_eq!(answer, fixture(SETTINGS_FIXTURE));

    let account_query = format!(
        "query($accountTag: string!) {{ viewer {{ accounts(filter: {{accountTag: $accountTag}}) {{ settings {{
            httpRequestsAdaptiveGroups {{ {all} }}
            firewallEventsAdaptive {{ maxDuration notOlderThan }}
        }} }} }} }}"
    );
    let answer = gql(&fake, &account_query, json!({ "accountTag": ACCOUNT_ID }));
    let settings = &first_scope(&answer, "accounts")["settings"];
    assert_eq!(
        settings["httpRequestsAdaptiveGroups"]["maxDuration"],
        json!(259_200)
    );
    assert!(
        settings["httpRequestsAdaptiveGroups"]["availableFields"]
            .as_array()
            .is_some_and(|f| f.contains(&json!("dimensions_zoneTag")))
    );
    assert_eq!(
        settings["firewallEventsAdaptive"],
        json!({ "maxDuration": 259_200, "notOlderThan": 2_678_400 })
    );
}

#[test]
fn http_and_firewall_limits_are_enforced() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let now = unix_now();
    let refusal = |dataset: &str, filter_type: &str, filter: Value, limit: u64| {
        let query = format!(
            "query($zoneTag: string!, $filter: {filter_type}!, $limit: uint64!) {{
                viewer {{ zones(filter: {{zoneTag: $zoneTag}}) {{ {dataset}(filter: $filter, limit: $limit) {{ __typename }} }} }}
            }}"
        );
        let answer = gql(
            &fake,
            &query,
            json!({ "zoneTag": ZONE_ID, "filter": filter, "limit": limit }),
        );
        let error = only_error(&answer).clone();
        assert_eq!(error["extensions"]["code"], json!("bad_request"), "{error}");
        assert_eq!(error["path"], json!(["viewer", "zones", 0, dataset]));
        error["message"].as_str().expect("a message").to_owned()
    };
    let http = (
        "httpRequestsAdaptiveGroups",
        "ZoneHttpRequestsAdaptiveGroupsFilter_InputObject",
    );
    let four_days = json!({ "datetime_geq": rfc3339(now - 4 * DAY), "datetime_lt": rfc3339(now) });
    assert_eq!(
        refusal(http.0, http.1, four_days.clone(), 10),
        "the time range is too wide: it must be at most 259200s (3d)"
    );
    let old =
        json!({ "datetime_geq": rfc3339(now - 32 * DAY), "datetime_lt": rfc3339(now - 31 * DAY) });
    assert_eq!(
        refusal(http.0, http.1, old.clone(), 10),
        "cannot request data older than 2678400s (31d)"
    );
    assert_eq!(
        refusal(http.0, http.1, last_day(), 10_001),
        "limit must be less than or equal to 10000"
    );
    assert!(
        refusal(http.0, http.1, json!({ "clientCountryName": "US" }), 10)
            .starts_with("the time range is too wide: it must be at most 259200s (3d)")
    );
    let hourly = (
        "httpRequests1hGroups",
        "ZoneHttpRequests1hGroupsFilter_InputObject",
    );
    let eight_days = json!({ "datetime_geq": rfc3339(now - 8 * DAY), "datetime_lt": rfc3339(now) });
    assert_eq!(
        refusal(hourly.0, hourly.1, eight_days, 10),
        "the time range is too wide: it must be at most 604800s (7d)"
    );
    let today = days_from_unix(now);
    let daily = (
        "httpRequests1dGroups",
        "ZoneHttpRequests1dGroupsFilter_InputObject",
    );
    assert_eq!(
        refusal(
            daily.0,
            daily.1,
            json!({ "date_geq": date_string(today - 400) }),
            10
        ),
        "cannot request data older than 31536000s (365d)"
    );
    let firewall = (
        "firewallEventsAdaptiveGroups",
        "ZoneFirewallEventsAdaptiveGroupsFilter_InputObject",
    );
    assert_eq!(
        refusal(firewall.0, firewall.1, four_days, 10),
        "the time range is too wide: it must be at most 259200s (3d)"
    );
    // The documentation's example refusal, message and path (Cloudflare writes the index as a
    // string; the fake as a number).
    let message = refusal(firewall.0, firewall.1, old, 10);
    let docs = fixture(ERROR_FIXTURE);
    let docs_error = &docs["errors"][0];
    assert!(
        docs_error["message"]
            .as_str()
            .is_some_and(|m| message.starts_with(m)),
        "{message}"
    );
    assert_eq!(
        docs_error["path"],
        json!(["viewer", "zones", "0", "firewallEventsAdaptiveGroups"])
    );
}

#[test]
fn introspection_is_executed_against_the_schema() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let by_name = "query($name: String!) { __type(name: $name) {
        kind name fields { name type { kind name ofType { kind name } } }
    } }";
    let answer = gql(
        &fake,
        by_name,
        json!({ "name": "ZoneHttpRequestsAdaptiveGroupsDimensions" }),
    );
    assert_eq!(answer["errors"], Value::Null, "{answer}");
    let ty = &answer["data"]["__type"];
    assert_eq!(ty["kind"], json!("OBJECT"));
    assert_eq!(
        ty["name"],
        json!("ZoneHttpRequestsAdaptiveGroupsDimensions")
    );
    let country = ty["fields"]
        .as_array()
        .and_then(|fields| {
            fields
                .iter()
                .find(|f| f["name"] == json!("clientCountryName"))
        })
        .expect("clientCountryName");
    assert_eq!(
        country["type"],
        json!({ "kind": "NON_NULL", "name": null, "ofType": { "kind": "SCALAR", "name": "string" } })
    );

    // The trimmed full introspection query the plugin sends: the whole schema, extensions
    // included.
    let schema_query = "query Schema { __schema { types { kind name description
        fields(includeDeprecated: true) { name description args { name description type { ...TypeRef } } type { ...TypeRef } }
        inputFields { name description type { ...TypeRef } }
        enumValues(includeDeprecated: true) { name description } } } }
        fragment TypeRef on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }";
    let answer = gql(&fake, schema_query, Value::Null);
    assert_eq!(answer["errors"], Value::Null);
    let types = answer["data"]["__schema"]["types"]
        .as_array()
        .expect("types");
    assert_eq!(types.len(), graphql_schema().types.len());
    let find = |name: &str| {
        types
            .iter()
            .find(|t| t["name"] == json!(name))
            .unwrap_or_else(|| panic!("type {name}"))
    };
    let field_names = |name: &str| -> Vec<String> {
        find(name)["fields"]
            .as_array()
            .expect("fields")
            .iter()
            .filter_map(|f| f["name"].as_str().map(str::to_owned))
            .collect()
    };
    assert!(field_names("account").contains(&"dnsAnalyticsAdaptiveGroups".to_owned()));
    assert!(field_names("AccountSettings").contains(&"dnsAnalyticsAdaptive".to_owned()));
    assert!(field_names("zone").contains(&"httpRequestsAdaptiveGroups".to_owned()));
    assert!(
        find("AccountDnsAnalyticsAdaptiveGroupsFilter_InputObject")["inputFields"]
            .as_array()
            .is_some_and(|f| f.iter().any(|i| i["name"] == json!("zoneTag_in")))
    );

    // Introspection next to data in one query.
    let mixed = "query($zoneTag: string!) { __typename __type(name: \"Settings\") { name }
        viewer { zones(filter: {zoneTag: $zoneTag}) { zoneTag } } }";
    let answer = gql(&fake, mixed, json!({ "zoneTag": ZONE_ID }));
    assert_eq!(
        answer,
        json!({
            "data": {
                "__typename": "Query",
                "__type": { "name": "Settings" },
                "viewer": { "zones": [{ "zoneTag": ZONE_ID }] }
            },
            "errors": null
        })
    );
    assert_eq!(fake.introspection_requests(), 3);
    assert!(!fake.requests()[0].body.is_empty());
}

#[test]
fn budget_and_quota_refuse_every_query() {
    let fake = FakeCloudflare::spawn(Scenario::GraphqlBudget);
    let query = "{ viewer { budget } }";
    for (scenario, message, code) in [
        (Scenario::GraphqlBudget, BUDGET_EXCEEDED_MESSAGE, "budget"),
        (Scenario::GraphqlQuota, QUOTA_EXCEEDED_MESSAGE, "quota"),
    ] {
        fake.set_scenario(scenario);
        let answer = gql(&fake, query, Value::Null);
        let error = only_error(&answer);
        assert_eq!(error["message"], json!(message));
        assert_eq!(error["path"], Value::Null);
        assert!(error.as_object().is_some_and(|e| e.contains_key("path")));
        assert_eq!(error["extensions"]["code"], json!(code));
        assert!(error["extensions"]["timestamp"].is_string());
        // REST still works.
        let reply = crate::test_client::api_get(&fake, "/zones");
        assert_eq!(reply.status, 200);
    }
    assert_eq!(
        BUDGET_EXCEEDED_MESSAGE,
        "budget exceeded, please retry later"
    );
    assert_eq!(
        "graphql-budget".parse::<Scenario>(),
        Ok(Scenario::GraphqlBudget)
    );
    assert_eq!(
        "graphql-quota".parse::<Scenario>(),
        Ok(Scenario::GraphqlQuota)
    );
}

#[test]
fn invalid_token_gets_the_rest_envelope_from_graphql() {
    let fake = FakeCloudflare::spawn(Scenario::InvalidToken);
    let body = json!({ "query": "{ viewer { budget } }" }).to_string();
    let reply = post_graphql(&fake, &body);
    assert_eq!(reply.status, 401);
    let answer = reply.json();
    assert_eq!(answer["success"], json!(false));
    assert_eq!(answer["errors"][0]["code"], json!(1000));
    assert!(answer.get("data").is_none());
}

#[test]
fn readable_zones_answer_next_to_errors_for_the_others() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let unknown = "00000000000000000000000000000000";
    let query =
        "query($tags: [string!], $filter: ZoneHttpRequestsAdaptiveGroupsFilter_InputObject!) {
        viewer { zones(filter: {zoneTag_in: $tags}) {
            zoneTag
            httpRequestsAdaptiveGroups(filter: $filter, limit: 1) { count }
        } }
    }";
    let answer = gql(
        &fake,
        query,
        json!({ "tags": [ZONE_ID, unknown, ENTERPRISE_ZONE_ID], "filter": last_day() }),
    );
    let zones = answer["data"]["viewer"]["zones"].as_array().expect("zones");
    assert_eq!(zones.len(), 2, "{answer}");
    assert_eq!(zones[0]["zoneTag"], json!(ZONE_ID));
    assert_eq!(
        zones[0]["httpRequestsAdaptiveGroups"],
        json!([{ "count": 4800 }])
    );
    assert_eq!(zones[1]["zoneTag"], json!(ENTERPRISE_ZONE_ID));
    let errors = answer["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["path"], json!(["viewer", "zones", 1]));
    assert_eq!(errors[0]["extensions"]["code"], json!("authz"));
    assert_eq!(
        errors[0]["message"],
        json!(format!("zones [{unknown}] are not authorized"))
    );

    // Only unknown zones: the whole query fails.
    let answer = gql(
        &fake,
        query,
        json!({ "tags": [unknown], "filter": last_day() }),
    );
    let error = only_error(&answer);
    assert_eq!(error["path"], json!(["viewer", "zones", 0]));
    assert_eq!(error["extensions"]["code"], json!("authz"));
}
