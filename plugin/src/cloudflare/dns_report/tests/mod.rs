//! Unit tests of reports over a queued transport, and the fixtures they share (legacy.rs has
//! its own). The queries checked against the schema are in `schema.rs`, time series in
//! `timeseries.rs`.

use super::query::order_by;
use super::timeseries::bucket_count;
use super::*;
use crate::cloudflare::schema_check::assert_valid;
use crate::http::Response;
use crate::http::testing::Queued;
use crate::names::VariantArray;
use crate::wit_dns::{FilterOperator, Series, SortKey, SortOrder};
use crate::wit_types::{GraphqlProblem, TimeRange};
use std::collections::BTreeMap;

mod schema;
mod timeseries;

pub(super) const ACCOUNT: &str = "01a7362d577a6c3019a474fd6f485823";
pub(super) const ZONE: &str = "234234243423aaabb334342aaa343433";
pub(super) const NOW: i64 = 1_795_705_200; // 2026-11-26T15:00:00Z

pub(super) fn zone_body(plan: &str) -> String {
    json!({"success": true, "errors": [], "messages": [], "result": {
        "id": ZONE, "name": "example.com", "status": "active", "paused": false,
        "type": "full", "name_servers": ["ada.ns.cloudflare.com"],
        "plan": {"name": plan}, "account": {"id": ACCOUNT}}})
    .to_string()
}

pub(super) fn settings_body(max_duration: i64, not_older_than: i64) -> String {
    json!({"data": {"viewer": {"zones": [{"settings": {DATASET: {
        "enabled": true, "maxDuration": max_duration, "notOlderThan": not_older_than,
        "maxPageSize": 10000}}}]}}, "errors": null})
    .to_string()
}

pub(super) fn rows_body(rows: Value, total: u64) -> String {
    json!({"data": {"viewer": {"zones": [{"rows": rows, "total": [{"count": total}]}]}},
           "errors": null})
    .to_string()
}

pub(super) fn request(dimensions: Vec<Dimension>, filters: Vec<DimensionFilter>) -> ReportRequest {
    ReportRequest {
        zone: Some(ZONE.into()),
        dimensions,
        metrics: vec![],
        filters,
        range: TimeRange {
            since: Some("24h".into()),
            until: None,
        },
        sort: None,
        limit: Some(2),
        source: None,
    }
}

pub(super) fn nxdomain() -> DimensionFilter {
    DimensionFilter {
        dimension: Dimension::ResponseCode,
        operator: FilterOperator::Equals,
        values: vec!["nxdomain".into()],
    }
}

#[test]
fn a_zone_report_sends_values_as_variables_and_reads_rows() {
    let t = Queued::new(vec![
        Response::ok(&zone_body("Free Website")),
        Response::ok(&settings_body(604_800, 691_200)),
        Response::ok(&rows_body(
            json!([
                {"count": 48, "dimensions": {"queryName": "missing.example.com"}},
                {"count": 24, "dimensions": {"queryName": "old.example.com"}}
            ]),
            72,
        )),
    ]);
    let mut cache = DnsCache::default();
    let hostile = DimensionFilter {
        dimension: Dimension::QueryName,
        operator: FilterOperator::NotEquals,
        values: vec!["\"}) { viewer { __typename } } #".into()],
    };
    let r = report(
        &t,
        &mut cache,
        ACCOUNT,
        &request(vec![Dimension::QueryName], vec![nxdomain(), hostile]),
        NOW,
    )
    .expect("report");
    assert_eq!(r.rows.len(), 2);
    assert_eq!(r.rows[0].dimensions[0].value, "missing.example.com");
    assert_eq!(r.rows[0].metrics[0].value, 48.0);
    assert_eq!(r.totals[0].value, 72.0);
    assert!(!r.truncated, "48 + 24 rows cover the total of 72");
    assert_eq!(r.scope.since, "2026-11-25T15:00:00Z");
    let body = t.body(2);
    let query = body["query"].as_str().expect("query");
    assert!(!query.contains("nxdomain") && !query.contains("NXDOMAIN"));
    assert!(
        !query.contains("__typename"),
        "a value never reaches the text"
    );
    assert_eq!(body["variables"]["zoneTag"], ZONE);
    assert_eq!(body["variables"]["limit"], 3);
    assert_eq!(body["variables"]["orderBy"], json!(["count_DESC"]));
    assert_eq!(
        body["variables"]["filter"]["AND"][0],
        json!({"responseCode": "NXDOMAIN"})
    );
    assert_eq!(
        body["variables"]["filter"]["AND"][1]["queryName_neq"],
        "\"}) { viewer { __typename } } #"
    );
    assert_valid(query, &body["variables"]);
    // The settings are read once per instance.
    let t2 = Queued::new(vec![Response::ok(&rows_body(json!([]), 0))]);
    let r = report(
        &t2,
        &mut cache,
        ACCOUNT,
        &request(vec![Dimension::QueryName], vec![]),
        NOW,
    )
    .expect("cached zone and limits");
    assert!(r.rows.is_empty());
    assert!(r.notes[0].contains("24 hours"), "{:?}", r.notes);
}

#[test]
fn ranges_beyond_the_dataset_limits_fail_before_the_query() {
    let too_long = ReportRequest {
        range: TimeRange {
            since: Some("10d".into()),
            until: None,
        },
        ..request(vec![], vec![])
    };
    let t = Queued::new(vec![
        Response::ok(&zone_body("Free Website")),
        Response::ok(&settings_body(604_800, 691_200)),
    ]);
    let e = report(&t, &mut DnsCache::default(), ACCOUNT, &too_long, NOW);
    let Err(Error::InvalidInput(p)) = e else {
        panic!("expected invalid-input, got {e:?}")
    };
    assert_eq!(p.field, "range");
    assert!(p.message.contains("at most 7d"), "{}", p.message);
    assert!(p.message.contains("2026-11-19T15:00:00Z"), "{}", p.message);
    assert_eq!(t.sent().len(), 2, "no data query was sent");

    let too_old = ReportRequest {
        range: TimeRange {
            since: Some("2026-11-10".into()),
            until: Some("2026-11-12".into()),
        },
        ..request(vec![], vec![])
    };
    let t = Queued::new(vec![
        Response::ok(&zone_body("Free Website")),
        Response::ok(&settings_body(604_800, 691_200)),
    ]);
    let e = report(&t, &mut DnsCache::default(), ACCOUNT, &too_old, NOW);
    assert!(
        matches!(&e, Err(Error::InvalidInput(p)) if p.field == "range.since" && p.message.contains("8d")),
        "{e:?}"
    );
}

#[test]
fn a_dimension_the_plan_refuses_is_dropped_and_said() {
    let refusal = json!({"data": null, "errors": [{
        "message": "zone does not have access to the field responseCached on its plan (Free Website)",
        "path": ["viewer", "zones", 0, "rows"], "extensions": {"code": "authz"}}]})
    .to_string();
    let t = Queued::new(vec![
        Response::ok(&zone_body("Free Website")),
        Response::ok(&settings_body(604_800, 691_200)),
        Response::ok(&refusal),
        Response::ok(&rows_body(
            json!([{"count": 20, "dimensions": {"queryType": "A"}}]),
            20,
        )),
    ]);
    let r = report(
        &t,
        &mut DnsCache::default(),
        ACCOUNT,
        &request(
            vec![Dimension::ResponseCached, Dimension::QueryType],
            vec![],
        ),
        NOW,
    )
    .expect("answered without the dimension");
    assert_eq!(r.dimensions, vec![Dimension::QueryType]);
    assert_eq!(r.dropped[0].item, "dimension response-cached");
    assert!(r.dropped[0].reason.contains("plan"));
    let retried = t.body(3);
    assert!(
        !retried["query"]
            .as_str()
            .unwrap_or_default()
            .contains("responseCached")
    );

    // Filtering on it cannot be dropped without changing the answer: a plan-limit error.
    let cached = DimensionFilter {
        dimension: Dimension::ResponseCached,
        operator: FilterOperator::Equals,
        values: vec!["yes".into()],
    };
    let t = Queued::new(vec![
        Response::ok(&zone_body("Free Website")),
        Response::ok(&settings_body(604_800, 691_200)),
        Response::ok(&refusal),
    ]);
    let e = report(
        &t,
        &mut DnsCache::default(),
        ACCOUNT,
        &request(vec![], vec![cached]),
        NOW,
    );
    assert!(matches!(e, Err(Error::PlanLimit(_))), "{e:?}");
}

#[test]
fn account_limits_fall_back_to_the_documented_minimum() {
    let rejected = json!({"data": null, "errors": [{
        "message": "Cannot query field \"dnsAnalyticsAdaptiveGroups\" on type \"AccountSettings\"",
        "extensions": {"code": "bad_request"}}]})
    .to_string();
    let account_rows = json!({"data": {"viewer": {"accounts": [{"rows": [{"count": 7}]}]}},
                              "errors": null})
    .to_string();
    let t = Queued::new(vec![Response::ok(&rejected), Response::ok(&account_rows)]);
    let request = ReportRequest {
        zone: None,
        ..request(vec![], vec![])
    };
    let r = report(&t, &mut DnsCache::default(), ACCOUNT, &request, NOW).expect("report");
    assert_eq!(r.totals[0].value, 7.0);
    assert!(
        r.notes.iter().any(|n| n.contains("assumed")),
        "{:?}",
        r.notes
    );
    // The assumed limits still apply.
    let t = Queued::new(vec![Response::ok(&rejected)]);
    let long = ReportRequest {
        range: TimeRange {
            since: Some("8d".into()),
            until: None,
        },
        ..request
    };
    let e = report(&t, &mut DnsCache::default(), ACCOUNT, &long, NOW);
    assert!(
        matches!(&e, Err(Error::InvalidInput(p)) if p.field == "range"),
        "{e:?}"
    );
}

#[test]
fn graphql_problems_map_to_typed_errors() {
    let scope = Scope {
        account_id: ACCOUNT.into(),
        zone: None,
    };
    let problem = |code: &str| GraphqlProblem {
        message: "nope".into(),
        path: vec![],
        code: Some(code.into()),
        hint: None,
    };
    let Error::Forbidden(f) = problems_error(&scope, vec![problem("authz")]) else {
        panic!("authz is forbidden")
    };
    assert!(f.hint.unwrap_or_default().contains("Account Analytics"));
    assert!(matches!(
        problems_error(&scope, vec![problem("budget")]),
        Error::RateLimited(crate::wit_types::RateLimit {
            limiter: crate::wit_types::RateLimiter::Graphql,
            retry_after: None
        })
    ));
    assert!(matches!(
        problems_error(&scope, vec![problem("bad_request")]),
        Error::QueryRejected(_)
    ));
}

#[test]
fn a_full_page_is_truncated_when_rows_do_not_cover_the_total() {
    let rows: Vec<Value> = (0..3)
        .map(|i| json!({"count": 10, "dimensions": {"queryName": format!("n{i}")}}))
        .collect();
    let t = Queued::new(vec![
        Response::ok(&zone_body("Enterprise Website")),
        Response::ok(&settings_body(604_800, 691_200)),
        Response::ok(&rows_body(Value::Array(rows), 50)),
    ]);
    let r = report(
        &t,
        &mut DnsCache::default(),
        ACCOUNT,
        &request(vec![Dimension::QueryName], vec![]),
        NOW,
    )
    .expect("report");
    assert_eq!(r.rows.len(), 2);
    assert!(r.truncated);
}

#[test]
fn bad_requests_name_the_field_before_sending() {
    let t = Queued::new(vec![]);
    let mut cache = DnsCache::default();
    let cases = [
        (
            ReportRequest {
                limit: Some(10_001),
                ..request(vec![], vec![])
            },
            "limit",
        ),
        (request(vec![Dimension::ZoneTag], vec![]), "dimensions"),
        (
            request(
                vec![],
                vec![DimensionFilter {
                    dimension: Dimension::IpVersion,
                    operator: FilterOperator::Equals,
                    values: vec!["5".into()],
                }],
            ),
            "filters",
        ),
        (
            ReportRequest {
                range: TimeRange {
                    since: Some("last tuesday".into()),
                    until: None,
                },
                ..request(vec![], vec![])
            },
            "range.since",
        ),
        (
            ReportRequest {
                sort: Some(Sort {
                    key: SortKey::Dimension(Dimension::QueryType),
                    order: SortOrder::Ascending,
                }),
                ..request(vec![], vec![])
            },
            "sort",
        ),
        (
            ReportRequest {
                source: Some(ReportSource::LegacyRest),
                ..request(vec![Dimension::SourceIp], vec![])
            },
            "dimensions",
        ),
    ];
    for (bad, field) in cases {
        let e = report(&t, &mut cache, ACCOUNT, &bad, NOW);
        assert!(
            matches!(&e, Err(Error::InvalidInput(p)) if p.field == field),
            "{field}: {e:?}"
        );
    }
    assert!(t.sent().is_empty());
}

pub(super) fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/../tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture")
}
