//! Unit tests of custom queries, cuts and reports over a queued transport.

use super::reports::{firewall_field, http_field, range_filter};
use super::*;
use crate::cloudflare::schema_check::assert_valid;
use crate::http::Response;
use crate::http::testing::Queued;
use crate::time::rfc3339;
use crate::wit_analytics::{FirewallDimension, HttpDimension, QueryRequest};
use serde_json::Map;

const ACCOUNT: &str = "01a7362d577a6c3019a474fd6f485823";
const ZONE: &str = "234234243423aaabb334342aaa343433";
const NOW: i64 = 1_795_705_200; // 2026-11-26T15:00:00Z

fn zone_body() -> String {
    json!({"success": true, "errors": [], "messages": [], "result": {
        "id": ZONE, "name": "example.com", "status": "active", "paused": false,
        "type": "full", "name_servers": [], "plan": {"name": "Free Website"},
        "account": {"id": ACCOUNT}}})
    .to_string()
}

fn settings_body(level: &str, dataset: &str, max_duration: i64) -> String {
    json!({"data": {"viewer": {level: [{"settings": {dataset: {
        "enabled": true, "maxDuration": max_duration, "notOlderThan": 2_678_400,
        "maxPageSize": 10000, "maxNumberOfFields": 30, "availableFields": []}}}]}},
        "errors": null})
    .to_string()
}

fn custom(query: &str, variables: Value) -> QueryRequest {
    QueryRequest {
        query: query.to_string(),
        variables: Some(variables.to_string()),
        operation_name: None,
        zone: None,
        max_bytes: None,
    }
}

const ACCOUNT_TOP: &str = "query Top($accountTag: string!, $since: Time!, $until: Time!) { \
    viewer { accounts(filter: {accountTag: $accountTag}) { httpRequestsAdaptiveGroups(\
    limit: 10, filter: {datetime_geq: $since, datetime_lt: $until}, orderBy: [count_DESC]) { \
    count dimensions { clientCountryName } } } } }";

#[test]
fn a_mutation_is_refused_before_any_request() {
    let t = Queued::new(vec![]);
    let e = query(
        &t,
        &mut AnalyticsCache::default(),
        ACCOUNT,
        &custom("mutation { purgeEverything }", json!({})),
        NOW,
    );
    assert!(matches!(e, Err(Error::InvalidInput(p)) if p.field == "query"));
    assert!(t.sent().is_empty());
}

#[test]
fn the_account_tag_is_filled_and_the_range_checked_first() {
    let data = json!({"data": {"viewer": {"accounts": [{"httpRequestsAdaptiveGroups": [
        {"count": 5, "dimensions": {"clientCountryName": "US"}}]}]}}, "errors": null});
    let t = Queued::new(vec![
        Response::ok(&settings_body(
            "accounts",
            "httpRequestsAdaptiveGroups",
            259_200,
        )),
        Response::ok(&data.to_string()),
    ]);
    let vars = json!({"since": "2026-11-26T09:00:00Z", "until": "2026-11-26T15:00:00Z"});
    let r = query(
        &t,
        &mut AnalyticsCache::default(),
        ACCOUNT,
        &custom(ACCOUNT_TOP, vars),
        NOW,
    )
    .expect("result");
    assert_eq!(r.filled, vec!["accountTag"]);
    let sent = t.body(1);
    assert_eq!(sent["variables"]["accountTag"], ACCOUNT);
    assert_eq!(sent["variables"]["since"], "2026-11-26T09:00:00Z");
    assert_eq!(sent["query"], ACCOUNT_TOP);
    assert!(r.data.contains("\"US\""));

    // Four days is over the 3-day limit: refused, and only the (cached) settings asked.
    let t = Queued::new(vec![Response::ok(&settings_body(
        "accounts",
        "httpRequestsAdaptiveGroups",
        259_200,
    ))]);
    let vars = json!({"since": "2026-11-22T15:00:00Z", "until": "2026-11-26T15:00:00Z"});
    let e = query(
        &t,
        &mut AnalyticsCache::default(),
        ACCOUNT,
        &custom(ACCOUNT_TOP, vars),
        NOW,
    );
    let Err(Error::InvalidInput(p)) = e else {
        panic!("expected invalid-input, got {e:?}")
    };
    assert!(p.message.contains("at most 3d"), "{}", p.message);
    assert_eq!(t.sent().len(), 1);
}

#[test]
fn errors_keep_message_path_and_code_with_hints_and_data_stays() {
    let body = json!({"data": {"viewer": {"accounts": [{"httpRequestsAdaptiveGroups": []}]}},
        "errors": [{"message": "not authorized", "path": ["viewer", "zones", 1],
                    "extensions": {"code": "authz"}}]});
    let t = Queued::new(vec![
        Response::ok(&settings_body(
            "accounts",
            "httpRequestsAdaptiveGroups",
            259_200,
        )),
        Response::ok(&body.to_string()),
    ]);
    let vars = json!({"since": "2026-11-26T09:00:00Z", "until": "2026-11-26T15:00:00Z"});
    let r = query(
        &t,
        &mut AnalyticsCache::default(),
        ACCOUNT,
        &custom(ACCOUNT_TOP, vars),
        NOW,
    )
    .expect("data with errors");
    assert_eq!(r.problems[0].code.as_deref(), Some("authz"));
    assert_eq!(r.problems[0].path, vec!["viewer", "zones", "1"]);
    assert!(
        r.problems[0]
            .hint
            .as_deref()
            .unwrap_or_default()
            .contains("Analytics")
    );

    let budget = json!({"data": null, "errors": [{"message": "budget exceeded",
        "extensions": {"code": "budget"}}]});
    let t = Queued::new(vec![Response::ok(&budget.to_string())]);
    let e = query(
        &t,
        &mut AnalyticsCache::default(),
        ACCOUNT,
        &custom("{ viewer { budget } }", json!({})),
        NOW,
    );
    let Err(Error::QueryRejected(problems)) = e else {
        panic!("expected query-rejected, got {e:?}")
    };
    assert!(
        problems[0]
            .hint
            .as_deref()
            .unwrap_or_default()
            .contains("5 minutes")
    );
}

#[test]
fn a_large_result_is_cut_at_a_row_boundary() {
    let rows: Vec<Value> = (0..2000)
        .map(|i| json!({"count": 1, "dimensions": {"clientRequestPath": format!("/p/{i:05}")}}))
        .collect();
    let mut data = json!({"viewer": {"zones": [{"top": rows}]}});
    let cuts = cut_as_read(&mut data, 16 * 1024);
    assert!(data.to_string().len() <= 16 * 1024);
    assert_eq!(cuts.len(), 1);
    assert_eq!(cuts[0].path, "viewer.zones[0].top");
    assert_eq!(cuts[0].rows_received, 2000);
    let kept = data
        .pointer("/viewer/zones/0/top")
        .and_then(Value::as_array)
        .map(Vec::len);
    assert_eq!(kept, Some(cuts[0].rows_returned as usize));
    assert!(cuts[0].rows_returned > 100, "as many rows as fit are kept");
}

/// Cuts `data` as the query tool does: while reading the bytes of an answer that holds it.
fn cut_as_read(data: &mut Value, max_bytes: usize) -> Vec<crate::wit_analytics::Cut> {
    let body = json!({ "data": data.take() }).to_string().into_bytes();
    let answer = cut_body(&body, max_bytes).expect("a GraphQL answer");
    *data = answer.data;
    query::described(&answer.cuts, max_bytes)
}

fn cut_body(body: &[u8], max_bytes: usize) -> Result<Answer, Error> {
    let response = Response {
        status: 200,
        retry_after: None,
        body: body.to_vec(),
        content_type: None,
    };
    graphql::parse_kept(
        &graphql::request("{ x }", &json!({})),
        response,
        Keep::DataFitting(max_bytes),
    )
}

/// The cut as it was before it ran while reading: every cut serialized the whole again: every cut serialized the whole again.
fn cut_by_reserializing(data: &mut Value, max_bytes: usize) -> Vec<(String, u32, u32)> {
    fn lists(value: &Value, path: String, out: &mut Vec<(String, usize)>) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    lists(v, p, out);
                }
            }
            Value::Array(items) => {
                if items.len() > 1 && items.iter().all(Value::is_object) {
                    out.push((path.clone(), value.to_string().len()));
                }
                for (i, item) in items.iter().enumerate() {
                    lists(item, format!("{path}[{i}]"), out);
                }
            }
            _ => {}
        }
    }
    let mut cuts: Vec<(String, u32, u32)> = Vec::new();
    let mut size = data.to_string().len();
    while size > max_bytes {
        let mut found = Vec::new();
        lists(data, String::new(), &mut found);
        let Some((path, _)) = found
            .into_iter()
            .filter(|(p, _)| !cuts.iter().any(|c| &c.0 == p))
            .max_by_key(|(_, bytes)| *bytes)
        else {
            break;
        };
        let pointer = format!("/{}", path.replace(['.', '['], "/").replace(']', ""));
        let Some(list) = data.pointer_mut(&pointer).and_then(Value::as_array_mut) else {
            break;
        };
        let received = list.len();
        let mut keep = received;
        while keep > 0 && size > max_bytes {
            keep -= 1;
            size -= list[keep].to_string().len() + usize::from(keep > 0);
        }
        list.truncate(keep);
        cuts.push((path, keep as u32, received as u32));
        size = data.to_string().len();
    }
    cuts
}

#[test]
fn cuts_are_the_same_as_when_each_cut_serialized_the_whole() {
    // Lists of distinct sizes (ties may be broken either way), nested lists, lists inside
    // rows that a cut drops, and text that JSON escapes.
    let nested: Vec<Value> = (0..6)
        .map(|i| json!({"row": i, "in": (0..i + 2).map(|j| json!({"v": j})).collect::<Vec<_>>()}))
        .collect();
    let siblings: Map<String, Value> = (0..8)
        .map(|i| {
            let rows: Vec<Value> = (0..i + 2).map(|j| json!({"n": j})).collect();
            (format!("s{i}"), Value::Array(rows))
        })
        .collect();
    let escaped: Vec<Value> = (0..5)
        .map(|i| json!({"t\"é\n": format!("{}\u{1}\\\t\u{7f}€{i}", "\"".repeat(i))}))
        .collect();
    let shapes = [
        json!({"viewer": {"zones": [{"top": nested, "others": siblings}]}}),
        json!({"a": escaped, "b": [{"x": [{"y": 1}, {"y": 22}]}, {"x": 3}], "c": [1, 2, 3]}),
        json!({"o": [{"in": [{"p": "x".repeat(500)}, {"p": "y".repeat(500)}]},
                     {"in": [{"p": "z".repeat(400)}, {"p": 1}]}],
               "s": [{"q": "w".repeat(200)}, {"q": 2}]}),
        json!({"kinds": [{"f": 1.5e-7, "g": 1e21, "h": -0.0, "i": u64::MAX, "j": i64::MIN},
                         {"f": 0.1, "g": null, "h": true, "i": false, "j": [], "k": {}},
                         {"f": -12.25, "g": [1, "two", 3.5], "h": 0, "i": -1}],
               "flat": [1, 2, 3], "one": [{"only": "x"}]}),
    ];
    for shape in shapes {
        let whole = shape.to_string().len();
        for max_bytes in [0, 10, 100, 300, 700, whole / 2, whole - 1, whole] {
            let (mut ours, mut theirs) = (shape.clone(), shape.clone());
            let cuts: Vec<(String, u32, u32)> = cut_as_read(&mut ours, max_bytes)
                .into_iter()
                .map(|c| (c.path, c.rows_returned, c.rows_received))
                .collect();
            assert_eq!(
                cuts,
                cut_by_reserializing(&mut theirs, max_bytes),
                "{max_bytes}"
            );
            assert_eq!(ours, theirs, "{max_bytes}");
        }
    }
}

/// At every `max_bytes` up to the whole, the answer in `body` is cut as the oracle cuts the tree
/// serde_json reads from it: the same cuts, the same data.
fn cuts_every_size_as_its_tree_would(body: &[u8]) {
    let tree: Value = serde_json::from_slice(body).expect("valid JSON");
    let whole = tree["data"].to_string().len();
    for max_bytes in 0..=whole {
        let mut theirs = tree["data"].clone();
        let expected = cut_by_reserializing(&mut theirs, max_bytes);
        let answer = cut_body(body, max_bytes).expect("a GraphQL answer");
        let cuts: Vec<(String, u32, u32)> = query::described(&answer.cuts, max_bytes)
            .into_iter()
            .map(|c| (c.path, c.rows_returned, c.rows_received))
            .collect();
        assert_eq!(cuts, expected, "{max_bytes}");
        assert_eq!(answer.data, theirs, "{max_bytes}");
    }
}

/// Sizes come from what the tree would hold, not from the bytes: spacing, escapes and number
/// forms that serde_json writes differently are sized as it writes them.
#[test]
fn an_answer_is_sized_as_its_tree_serializes() {
    let body = br#" { "data" : { "rows" : [ { "n" : 1E3 , "m" : 1.50, "z": -0, "e": 0e0 },
        {"s": "\u0041\/\u00e9\ud83d\ude00", "t": "tab\there"}, {"big": 123456789012345678901234567890},
        {"neg": -9223372036854775808, "u": 18446744073709551615} ] }, "errors": [] } "#;
    cuts_every_size_as_its_tree_would(body);
}

/// JSON lets an object repeat a key and the tree keeps the last value: such an answer is cut
/// as its tree reads, not as its bytes do. (No two lists tie: the oracle breaks ties otherwise.)
#[test]
fn an_answer_that_repeats_a_key_is_cut_as_its_tree_reads() {
    let long = "x".repeat(300);
    let body = format!(
        r#"{{"data":{{"a":[{{"x":"{long}"}},{{"x":"{long}"}}],"b":[{{"v":"{long}","v":10}},{{"v":2}},{{"v":3}}],"a":[{{"y":1}},{{"y":2}},{{"y":3}}]}}}}"#
    );
    let tree: Value = serde_json::from_str(&body).expect("valid JSON");
    assert_eq!(tree["data"]["a"], json!([{"y": 1}, {"y": 2}, {"y": 3}]));
    cuts_every_size_as_its_tree_would(body.as_bytes());
}

/// Rows that the cut drops are never built, but they are read as strictly as kept ones: an
/// answer with invalid UTF-8 or an out-of-range number in its last row is no answer at any size.
#[test]
fn rows_past_the_cut_are_read_as_strictly_as_kept_ones() {
    let good = br#"{"data":{"rows":[{"a":"first row, kept"},{"a":"last row, dropped"}]}}"#;
    assert!(cut_body(good, 1024).is_ok());
    let bad_text = [
        &br#"{"data":{"rows":[{"a":"first row, kept"},{"a":""#[..],
        b"\xff\xfe",
        br#""}]}}"#,
    ]
    .concat();
    let bad_number = br#"{"data":{"rows":[{"a":"first row, kept"},{"a":1e400}]}}"#;
    for body in [&bad_text[..], &bad_number[..]] {
        for max_bytes in [0, 30, 1024, usize::MAX] {
            assert!(
                matches!(cut_body(body, max_bytes), Err(Error::Upstream(_))),
                "{max_bytes}"
            );
        }
    }
}

/// Found by timing what the `graphql_response` fuzzer runs on large inputs: 2000 sibling
/// lists took 5 s to cut (each cut serialized the whole result and every list again).
#[test]
fn many_small_lists_are_cut_in_one_pass() {
    let data: Map<String, Value> = (0..20_000)
        .map(|i| (format!("a{i:05}"), json!([{"x": 1}, {"x": 2}])))
        .collect();
    let mut data = Value::Object(data);
    let cuts = cut_as_read(&mut data, 1024);
    assert_eq!(cuts.len(), 20_000);
    assert_eq!(cuts[0].path, "a00000");
    assert!(cuts.iter().all(|c| c.rows_returned == 0));
    assert_eq!(data["a19999"], json!([]));
}

#[test]
fn a_zone_tag_comes_from_the_zone_argument() {
    let doc = "query($zoneTag: string!) { viewer { zones(filter: {zoneTag: $zoneTag}) { \
               firewallEventsAdaptiveGroups(limit: 5, filter: {datetime_geq: \"2026-11-26T14:00:00Z\"}) { count } } } }";
    let data = json!({"data": {"viewer": {"zones": [{"firewallEventsAdaptiveGroups": []}]}}});
    let t = Queued::new(vec![
        Response::ok(&zone_body()),
        Response::ok(&settings_body(
            "zones",
            "firewallEventsAdaptiveGroups",
            259_200,
        )),
        Response::ok(&data.to_string()),
    ]);
    let request = QueryRequest {
        zone: Some(ZONE.into()),
        ..custom(doc, json!({}))
    };
    let r = query(&t, &mut AnalyticsCache::default(), ACCOUNT, &request, NOW).expect("result");
    assert_eq!(r.filled, vec!["zoneTag"]);
    assert_eq!(t.body(2)["variables"]["zoneTag"], ZONE);
}

#[test]
fn every_ready_made_report_query_validates_against_the_schema() {
    let range = Range {
        since: NOW - 3600,
        until: NOW,
    };
    for account_level in [false, true] {
        let tag = if account_level {
            json!({"accountTag": ACCOUNT})
        } else {
            json!({"zoneTag": ZONE})
        };
        let with = |extra: Value| {
            let mut v = tag.clone();
            for (k, x) in extra.as_object().into_iter().flatten() {
                v[k] = x.clone();
            }
            v
        };
        for (dataset, time_field, filter) in [
            (
                "httpRequests1hGroups",
                "datetime",
                json!({"datetime_geq": rfc3339(range.since), "datetime_lt": rfc3339(range.until)}),
            ),
            (
                "httpRequests1dGroups",
                "date",
                json!({"date_geq": "2026-11-20", "date_leq": "2026-11-26"}),
            ),
        ] {
            assert_valid(
                &traffic_query(account_level, dataset, time_field),
                &with(json!({"filter": filter, "limit": 10000})),
            );
        }
        let host = vec![json!({"clientRequestHTTPHost": "example.com"})];
        for by in [
            HttpDimension::Country,
            HttpDimension::Host,
            HttpDimension::Path,
            HttpDimension::Status,
            HttpDimension::UserAgent,
            HttpDimension::Colo,
        ] {
            assert_valid(
                &grouped_query(
                    account_level,
                    "httpRequestsAdaptiveGroups",
                    &[http_field(by)],
                    &["edgeResponseBytes"],
                ),
                &with(json!({"filter": range_filter(&range, host.clone()), "limit": 11})),
            );
        }
        let all: Vec<&str> = [
            FirewallDimension::Action,
            FirewallDimension::Rule,
            FirewallDimension::Source,
            FirewallDimension::Country,
        ]
        .iter()
        .map(|d| firewall_field(*d))
        .collect();
        for fields in [vec![all[0]], all.clone()] {
            assert_valid(
                &grouped_query(account_level, "firewallEventsAdaptiveGroups", &fields, &[]),
                &with(json!({
                    "filter": range_filter(&range, vec![json!({"action": "block"})]),
                    "limit": 21
                })),
            );
        }
        for dataset in ["httpRequestsAdaptiveGroups", "firewallEventsAdaptiveGroups"] {
            assert_valid(&settings::query(account_level, &[dataset]), &tag);
        }
    }
    assert_valid(
        crate::cloudflare::schema_index::INTROSPECTION_QUERY,
        &json!({}),
    );
}
