//! Time series: buckets over the range, every bucket filled per group.

use super::*;

#[test]
fn a_timeseries_fills_every_bucket_per_group() {
    let top = rows_body(
        json!([
            {"count": 30, "dimensions": {"queryType": "A"}},
            {"count": 10, "dimensions": {"queryType": "AAAA"}}
        ]),
        40,
    );
    let points = rows_body(
        json!([
            {"count": 20, "dimensions": {"queryType": "A", "datetimeHour": "2026-11-26T12:00:00Z"}},
            {"count": 10, "dimensions": {"queryType": "A", "datetimeHour": "2026-11-26T14:00:00Z"}},
            {"count": 10, "dimensions": {"queryType": "AAAA", "datetimeHour": "2026-11-26T13:00:00Z"}}
        ]),
        0,
    );
    let t = Queued::new(vec![
        Response::ok(&zone_body("Free Website")),
        Response::ok(&settings_body(604_800, 691_200)),
        Response::ok(&top),
        Response::ok(&points),
    ]);
    let r = timeseries(
        &t,
        &mut DnsCache::default(),
        ACCOUNT,
        &ReportRequest {
            range: TimeRange {
                since: Some("12h".into()),
                until: None,
            },
            limit: None,
            ..request(vec![Dimension::QueryType], vec![])
        },
        None,
        NOW,
    )
    .expect("series");
    assert_eq!(r.bucket, Bucket::Hour);
    assert_eq!(r.series.len(), 2);
    assert_eq!(r.series[0].points.len(), 12);
    assert_eq!(r.series[0].query_count, 30);
    let at = |s: &Series, time: &str| {
        s.points
            .iter()
            .find(|p| p.time == time)
            .map(|p| p.metrics[0].value)
    };
    assert_eq!(at(&r.series[0], "2026-11-26T12:00:00Z"), Some(20.0));
    assert_eq!(at(&r.series[0], "2026-11-26T13:00:00Z"), Some(0.0));
    assert_eq!(r.totals[0].value, 40.0);
    let second = t.body(3);
    assert_eq!(
        second["variables"]["filter"]["AND"][0]["OR"],
        json!([{"queryType": "A"}, {"queryType": "AAAA"}])
    );
    assert_valid(
        second["query"].as_str().unwrap_or_default(),
        &second["variables"],
    );
}

#[test]
fn buckets_follow_the_range_and_count_the_partial_first_one() {
    let r = |s: i64| Range { since: 0, until: s };
    assert_eq!(auto_bucket(&r(3600)), Bucket::FiveMinutes);
    assert_eq!(auto_bucket(&r(86_400)), Bucket::Hour);
    assert_eq!(auto_bucket(&r(30 * 86_400)), Bucket::Day);
    let aligned = Range {
        since: NOW - 86_400,
        until: NOW,
    };
    assert_eq!(bucket_count(&aligned, Bucket::Hour), 24);
    let unaligned = Range {
        since: NOW + 1033 - 86_400,
        until: NOW + 1033,
    };
    assert_eq!(bucket_count(&unaligned, Bucket::Hour), 25);
    assert_eq!(
        fill_points(&unaligned, Bucket::Hour, &BTreeMap::new()).len(),
        25
    );
}
