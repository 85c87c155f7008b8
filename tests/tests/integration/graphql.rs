//! The GraphQL Analytics service end to end: the real component in the harness, against the
//! fake Cloudflare, which validates every query against Cloudflare's schema and answers from
//! deterministic HTTP and firewall events (see `tests/fixtures/README.md`).

use crate::common::{connected, sandbox, tool};
use cf_fake::{
    ACCOUNT_ID, ENTERPRISE_ZONE_ID, FakeCloudflare, Scenario, ZONE_ID, ZONE_NAME, long_tail_time,
    rfc3339, unix_now,
};
use host_harness::PluginInstance;
use host_harness::{PluginError, Service};
use serde_json::{Value, json};

async fn instance(fake: &FakeCloudflare) -> PluginInstance {
    connected(&sandbox(fake), &[Service::GraphqlAnalytics]).await
}

/// The bodies of the GraphQL requests that were not `settings` lookups.
fn data_queries(fake: &FakeCloudflare) -> Vec<Value> {
    fake.requests()
        .iter()
        .filter(|r| r.path.ends_with("/graphql"))
        .map(|r| serde_json::from_slice::<Value>(&r.body).expect("JSON body"))
        .filter(|b| {
            !b["query"]
                .as_str()
                .unwrap_or_default()
                .contains("settings {")
        })
        .collect()
}

/// `[H-24h, H)` for the last whole hour H: exactly 24 hourly buckets of the fake's events.
fn last_whole_day() -> (String, String) {
    let until = unix_now() / 3600 * 3600;
    (rfc3339(until - 86_400), rfc3339(until))
}

const TOP_COUNTRIES: &str = "query Top($accountTag: string!, $since: Time!, $until: Time!) { \
    viewer { accounts(filter: {accountTag: $accountTag}) { httpRequestsAdaptiveGroups(limit: 3, \
    filter: {datetime_geq: $since, datetime_lt: $until}, orderBy: [count_DESC]) { count \
    dimensions { clientCountryName } } } } }";

#[tokio::test]
async fn a_custom_query_gets_its_variables_and_the_account_tag() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut instance = instance(&fake).await;
    // 24 event times ending with the long tail's, so its 5000 BR requests always count,
    // whichever half of the hour the test runs in.
    let until_unix = long_tail_time(unix_now()) + 1;
    let (since, until) = (rfc3339(until_unix - 86_400), rfc3339(until_unix));
    let result = tool(
        &mut instance,
        "graphql_query",
        json!({ "query": TOP_COUNTRIES, "variables": { "since": since, "until": until } }),
    )
    .await
    .expect("result");
    assert_eq!(result["filled"], json!(["accountTag"]));
    let rows = &result["data"]["viewer"]["accounts"][0]["httpRequestsAdaptiveGroups"];
    assert_eq!(rows[0]["dimensions"]["clientCountryName"], "BR");
    assert_eq!(rows[1]["dimensions"]["clientCountryName"], "US");
    assert_eq!(rows[1]["count"], 4320);
    let body = &data_queries(&fake)[0];
    assert_eq!(body["query"], TOP_COUNTRIES, "the query is sent as written");
    assert_eq!(body["variables"]["accountTag"], ACCOUNT_ID);
    assert_eq!(body["variables"]["since"], since);
}

#[tokio::test]
async fn a_mutation_is_refused_before_any_request() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut instance = instance(&fake).await;
    let e = tool(
        &mut instance,
        "graphql_query",
        json!({ "query": "mutation { deleteZone(id: \"x\") { id } }" }),
    )
    .await
    .expect_err("refused");
    assert!(
        matches!(&e, PluginError::InvalidInput(p) if p.field == "query"),
        "{e:?}"
    );
    assert!(fake.requests().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn ranges_beyond_the_dataset_limits_are_refused_before_the_query() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut instance = instance(&fake).await;
    let e = tool(
        &mut instance,
        "graphql_query",
        json!({ "query": TOP_COUNTRIES,
                "variables": { "since": "2026-01-01T00:00:00Z", "until": "2026-01-05T00:00:00Z" } }),
    )
    .await
    .expect_err("too long and too old");
    let PluginError::InvalidInput(p) = &e else {
        panic!("expected invalid-input, got {e:?}")
    };
    assert!(p.message.contains("at most 3d"), "{}", p.message);
    assert!(
        data_queries(&fake).is_empty(),
        "only the settings were asked"
    );

    // A ready-made report says the same with its own fields.
    let e = tool(
        &mut instance,
        "graphql_top_http",
        json!({ "zone": ZONE_NAME, "by": "country", "since": "4d" }),
    )
    .await
    .expect_err("too long");
    assert!(
        matches!(&e, PluginError::InvalidInput(p) if p.field == "range"),
        "{e:?}"
    );
    let limits = tool(
        &mut instance,
        "graphql_dataset_limits",
        json!({ "dataset": "httpRequestsAdaptiveGroups", "zone": ZONE_ID }),
    )
    .await
    .expect("limits");
    assert_eq!(limits["max_duration_seconds"], 259_200);
    assert_eq!(limits["not_older_than_seconds"], 2_678_400);
    assert_eq!(limits["level"], "zone");
    let e = tool(
        &mut instance,
        "graphql_dataset_limits",
        json!({ "dataset": "noSuchDataset" }),
    )
    .await
    .expect_err("unknown dataset");
    assert!(
        matches!(&e, PluginError::InvalidInput(p) if p.field == "dataset"),
        "{e:?}"
    );
}

#[tokio::test]
async fn a_large_result_is_cut_and_says_how_to_narrow_it() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut instance = instance(&fake).await;
    let query = "query Paths($zoneTag: string!, $since: Time!) { viewer { zones(filter: \
        {zoneTag: $zoneTag}) { httpRequestsAdaptiveGroups(limit: 10000, filter: \
        {datetime_geq: $since}, orderBy: [count_DESC]) { count dimensions { clientRequestPath } } } } }";
    let result = tool(
        &mut instance,
        "graphql_query",
        json!({ "query": query, "zone": ENTERPRISE_ZONE_ID,
                "variables": { "since": rfc3339(unix_now() - 86_400) } }),
    )
    .await
    .expect("a cut result, not a refusal");
    assert_eq!(result["filled"], json!(["zoneTag"]));
    let cut = &result["cuts"][0];
    assert!(cut["rows_received"].as_u64() > cut["rows_returned"].as_u64());
    assert!(cut["advice"].as_str().unwrap_or_default().contains("limit"));
    assert!(result["data"].to_string().len() <= 256 * 1024);
}

#[tokio::test]
async fn schema_search_finds_a_field_in_one_call_and_fetches_the_schema_once() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut instance = instance(&fake).await;
    let first = tool(
        &mut instance,
        "graphql_schema_search",
        json!({ "words": "country", "limit": 10 }),
    )
    .await
    .expect("hits");
    assert_eq!(first["from_cache"], false);
    assert!(
        first["hits"]
            .as_array()
            .expect("hits")
            .iter()
            .any(|h| h["name"] == "clientCountryName"),
        "{first}"
    );
    let second = tool(
        &mut instance,
        "graphql_schema_search",
        json!({ "words": "firewall" }),
    )
    .await
    .expect("hits");
    assert_eq!(second["from_cache"], true);
    assert_eq!(second["hits"][0]["kind"], "dataset");
    let described = tool(
        &mut instance,
        "graphql_describe_type",
        json!({ "name": "ZoneHttpRequestsAdaptiveGroupsDimensions" }),
    )
    .await
    .expect("type");
    assert!(
        described["fields"]
            .as_array()
            .expect("fields")
            .iter()
            .any(|f| f["name"] == "clientCountryName" && f["type"] == "string!")
    );
    assert_eq!(
        fake.introspection_requests(),
        1,
        "the schema is fetched once"
    );
    let e = tool(
        &mut instance,
        "graphql_describe_type",
        json!({ "name": "ZoneHttpRequestAdaptiveGroupsDimension" }),
    )
    .await
    .expect_err("no such type");
    assert!(
        matches!(&e, PluginError::InvalidInput(p) if p.message.contains("ZoneHttpRequestsAdaptiveGroupsDimensions")),
        "{e:?}"
    );
}

#[tokio::test]
async fn ready_made_reports_answer_the_common_questions() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut instance = instance(&fake).await;
    let (since, until) = last_whole_day();
    let traffic = tool(
        &mut instance,
        "graphql_http_traffic",
        json!({ "zone": ZONE_NAME, "since": since, "until": until }),
    )
    .await
    .expect("traffic");
    assert_eq!(traffic["requests"], 200 * 24);
    assert_eq!(traffic["cached_share"], 0.5);
    assert_eq!(traffic["statuses"]["2xx"], 150 * 24);
    assert_eq!(traffic["statuses"]["4xx"], 40 * 24);
    assert_eq!(traffic["statuses"]["5xx"], 10 * 24);
    assert_eq!(traffic["points"].as_array().map(Vec::len), Some(24));

    let top = tool(
        &mut instance,
        "graphql_top_http",
        json!({ "zone": ZONE_NAME, "by": "country", "since": since, "until": until, "limit": 2 }),
    )
    .await
    .expect("top");
    assert_eq!(top["rows"][0]["value"], "US");
    assert_eq!(top["rows"][0]["requests"], 150 * 24);
    assert_eq!(top["rows"][0]["share"], 0.75);
    assert_eq!(top["total_requests"], 200 * 24);
    assert_eq!(top["truncated"], true, "GB was cut by the limit");

    let firewall = tool(
        &mut instance,
        "graphql_firewall_events",
        json!({ "zone": ZONE_ID, "by": ["action", "rule"], "since": since, "until": until }),
    )
    .await
    .expect("firewall");
    assert_eq!(firewall["rows"][0]["action"], "block");
    assert_eq!(firewall["rows"][0]["rule"], "r-sqli");
    assert_eq!(firewall["rows"][0]["events"], 7 * 24);
    assert_eq!(firewall["total_events"], 12 * 24);
    // Every value reached the request as a variable.
    for body in data_queries(&fake) {
        let query = body["query"].as_str().unwrap_or_default();
        assert!(
            !query.contains(&since) && !query.contains(ZONE_ID),
            "{query}"
        );
    }
}

#[tokio::test]
async fn each_error_shape_maps_to_a_typed_error_with_a_hint() {
    let fake = FakeCloudflare::spawn(Scenario::GraphqlBudget);
    let mut instance = instance(&fake).await;
    let e = tool(
        &mut instance,
        "graphql_query",
        json!({ "query": "{ viewer { budget } }" }),
    )
    .await
    .expect_err("budget");
    let PluginError::QueryRejected(problems) = &e else {
        panic!("expected query-rejected, got {e:?}")
    };
    assert_eq!(problems[0].code.as_deref(), Some("budget"));
    assert!(problems[0].hint.is_some());

    fake.set_scenario(Scenario::InvalidToken);
    let e = tool(
        &mut instance,
        "graphql_query",
        json!({ "query": "{ viewer { budget } }" }),
    )
    .await
    .expect_err("REST envelope");
    assert!(matches!(e, PluginError::Unauthorized(_)), "{e:?}");

    // Data and errors together: the readable zone's data, and the other zone's problem.
    fake.set_scenario(Scenario::AllPermissions);
    let query = "query($tags: [string!], $since: Time!) { viewer { zones(filter: {zoneTag_in: \
        $tags}) { firewallEventsAdaptiveGroups(limit: 1, filter: {datetime_geq: $since}) { count } } } }";
    let result = tool(
        &mut instance,
        "graphql_query",
        json!({ "query": query, "variables": {
            "tags": [ZONE_ID, "ffffffffffffffffffffffffffffffff"],
            "since": rfc3339(unix_now() - 3600),
        } }),
    )
    .await
    .expect("a partial answer");
    assert_eq!(result["problems"][0]["code"], "authz");
    assert!(result["problems"][0]["hint"].is_string());
    assert_eq!(
        result["data"]["viewer"]["zones"].as_array().map(Vec::len),
        Some(1)
    );

    let mut dns_only = connected(&sandbox(&fake), &[Service::DnsAnalytics]).await;
    let e = tool(
        &mut dns_only,
        "graphql_query",
        json!({ "query": "{ viewer { budget } }" }),
    )
    .await
    .expect_err("service disabled");
    assert!(
        matches!(e, PluginError::ServiceDisabled(Service::GraphqlAnalytics)),
        "{e:?}"
    );
}
