//! The legacy REST DNS analytics report (`/zones/{id}/dns_analytics/report` and `/bytime`),
//! deprecated by Cloudflare but still the way in for zones where GraphQL is refused. Its
//! shapes are those of the recorded bodies: `metrics` per interval as nested lists,
//! `time_intervals`, no `dimensions` key when none were asked, `sort` echoed as objects.

use super::{
    Checked, bucket_seconds, empty_notes, fill_points, legacy_field, legacy_metric, text_of,
};
use crate::cloudflare::catalog::lacking;
use crate::cloudflare::envelope;
use crate::cloudflare::scope::Scope;
use crate::error::invalid;
use crate::http::{Request, Transport, with_query};
use crate::time::{self, rfc3339};
use crate::wit_dns::{
    Bucket, Dimension, DimensionFilter, DimensionValue, DroppedItem, FilterOperator, Metric,
    MetricValue, Report, ReportRow, Series, SortKey, SortOrder, Timeseries,
};
use crate::wit_types::{Error, Permission};
use serde_json::Value;
use std::collections::BTreeMap;

const LEGACY_NOTE: &str = "From the legacy REST DNS analytics report, which Cloudflare \
deprecated (notice of 2025-12-09); its response times, in milliseconds, are given here as \
processing times in microseconds.";

/// A legacy filter expression. Its values are regular expressions, so metacharacters are
/// escaped (`www.example.com` must not match `wwwxexample.com`), and characters of the filter
/// syntax itself are refused. Several values joined by `,` (OR) only when the filter is the only
/// one, since the documentation does not say how `,` and `;` combine.
pub(super) fn legacy_filter(f: &DimensionFilter, only_filter: bool) -> Result<String, Error> {
    let name = legacy_field(f.dimension).unwrap_or_default();
    let mut values = Vec::new();
    for v in &f.values {
        if v.contains([';', ',', '=', '!', '<', '>', '@']) || v.contains(char::is_whitespace) {
            return Err(invalid(
                "filters",
                format!(
                    "the legacy REST report cannot filter on {v} (it contains filter syntax); \
                     use the graphql source",
                    v = crate::input::quote(v)
                ),
            ));
        }
        values.push(match (f.dimension, v.as_str()) {
            (Dimension::Protocol, "TCP") => "1".to_string(),
            (Dimension::Protocol, _) => "0".to_string(),
            (Dimension::ResponseCached, "1") => "Cached".to_string(),
            (Dimension::ResponseCached, _) => "Uncached".to_string(),
            _ => escape_regex(v),
        });
    }
    let joined = |operator: &str, separator: &str| {
        values
            .iter()
            .map(|v| format!("{name}{operator}{v}"))
            .collect::<Vec<_>>()
            .join(separator)
    };
    Ok(match f.operator {
        FilterOperator::Equals | FilterOperator::InList if values.len() == 1 || only_filter => {
            joined("==", ",")
        }
        FilterOperator::NotEquals | FilterOperator::NotInList => joined("!=", ";"),
        _ => {
            return Err(invalid(
                "filters",
                "the legacy REST report can combine several values with OR only in a single \
                 filter; use the graphql source",
            ));
        }
    })
}

fn escape_regex(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if "\\.^$*+?()[]{}|".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The metrics sent to the legacy report: those asked and, even when not asked, the query
/// count, which tells an empty range and sizes each series.
fn legacy_metrics(checked: &Checked) -> Vec<Metric> {
    let mut metrics = checked.metrics.clone();
    if !metrics.contains(&Metric::QueryCount) {
        metrics.push(Metric::QueryCount);
    }
    metrics
}

/// The values of the metrics asked for, out of the list sent (`values(i)` is the i-th sent).
fn asked_metrics<'a>(
    checked: &Checked,
    values: impl Fn(usize) -> Option<&'a Value>,
) -> Vec<MetricValue> {
    legacy_metrics(checked)
        .into_iter()
        .enumerate()
        .filter(|(_, m)| checked.metrics.contains(m))
        .filter_map(|(i, m)| {
            Some(MetricValue {
                metric: m,
                value: legacy_value(m, values(i)?)?,
            })
        })
        .collect()
}

fn legacy_params(
    checked: &Checked,
    dimensions: &[Dimension],
    limit: u32,
) -> Vec<(&'static str, String)> {
    let mut params = vec![
        (
            "metrics",
            legacy_metrics(checked)
                .iter()
                .map(|m| legacy_metric(*m))
                .collect::<Vec<_>>()
                .join(","),
        ),
        ("since", rfc3339(checked.range.since)),
        ("until", rfc3339(checked.range.until)),
        ("limit", limit.to_string()),
    ];
    if !dimensions.is_empty() {
        params.push((
            "dimensions",
            dimensions
                .iter()
                .filter_map(|d| legacy_field(*d))
                .collect::<Vec<_>>()
                .join(","),
        ));
    }
    let sort = match checked.sort.key {
        SortKey::Metric(m) => Some(legacy_metric(m)),
        SortKey::Dimension(d) if dimensions.contains(&d) => legacy_field(d),
        SortKey::Dimension(_) => None,
    };
    if let Some(sort) = sort {
        let sign = match checked.sort.order {
            SortOrder::Ascending => "+",
            SortOrder::Descending => "-",
        };
        params.push(("sort", format!("{sign}{sort}")));
    }
    let only_filter = checked.filters.len() == 1;
    let filters: Vec<String> = checked
        .filters
        .iter()
        .filter_map(|f| legacy_filter(f, only_filter).ok())
        .collect();
    if !filters.is_empty() {
        params.push(("filters", filters.join(";")));
    }
    params
}

/// Legacy values in ms become µs; counts stay.
fn legacy_value(m: Metric, v: &Value) -> Option<f64> {
    let n = match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }?;
    Some(if m == Metric::QueryCount {
        n
    } else {
        n * 1000.0
    })
}

/// Legacy values written as GraphQL writes them: `tcp` 1/0 is TCP/UDP, `Cached` is 1.
fn legacy_dimension_value(d: Dimension, v: &Value) -> String {
    let text = text_of(v);
    let same = match (d, text.as_str()) {
        (Dimension::Protocol, "1" | "true") => "TCP",
        (Dimension::Protocol, "0" | "false") => "UDP",
        (Dimension::ResponseCached, "Cached") => "1",
        (Dimension::ResponseCached, "Uncached") => "0",
        _ => return text,
    };
    same.to_string()
}

/// Sends a legacy request; a plan refusal (1034) of `response-cached` drops it and asks again.
fn legacy_fetch(
    transport: &dyn Transport,
    scope: &Scope,
    checked: &Checked,
    path_suffix: &str,
    extra: &[(&'static str, String)],
    limit: u32,
) -> Result<(Value, Vec<Dimension>, Vec<DroppedItem>), Error> {
    let mut dimensions = checked.dimensions.clone();
    let mut dropped = Vec::new();
    loop {
        let mut params = legacy_params(checked, &dimensions, limit);
        params.extend(extra.iter().cloned());
        let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let path = with_query(&legacy_path(scope, path_suffix), &pairs);
        let reply = envelope::send(transport, &Request::api_get(&path))?;
        match reply
            .into_result(None)
            .map_err(lacking(Permission::ZoneAnalyticsRead))
        {
            Ok(result) => return Ok((result, dimensions, dropped)),
            Err(Error::PlanLimit(failure))
                if dimensions.contains(&Dimension::ResponseCached)
                    && !checked
                        .filters
                        .iter()
                        .any(|f| f.dimension == Dimension::ResponseCached) =>
            {
                dimensions.retain(|d| *d != Dimension::ResponseCached);
                dropped.push(DroppedItem {
                    item: "dimension response-cached".to_string(),
                    reason: format!(
                        "{} (code 1034: the zone's plan does not include it)",
                        failure.message
                    ),
                });
            }
            Err(e) => return Err(e),
        }
    }
}

/// `/zones/{id}/dns_analytics/report` plus `suffix`; legacy reports always have a zone.
fn legacy_path(scope: &Scope, suffix: &str) -> String {
    let zone = scope
        .zone
        .as_ref()
        .map(|z| z.id.as_str())
        .unwrap_or_default();
    format!("/zones/{zone}/dns_analytics/report{suffix}")
}

fn legacy_dataset(scope: &Scope, suffix: &str) -> String {
    format!("GET {} (legacy)", legacy_path(scope, suffix))
}

pub(super) fn legacy_report(
    transport: &dyn Transport,
    scope: &Scope,
    checked: &Checked,
) -> Result<Report, Error> {
    let (result, dimensions, dropped) =
        legacy_fetch(transport, scope, checked, "", &[], checked.limit + 1)?;
    let mut rows: Vec<ReportRow> = result
        .get("data")
        .and_then(Value::as_array)
        .map(|data| {
            data.iter()
                .map(|item| ReportRow {
                    dimensions: legacy_dimensions(item, &dimensions),
                    metrics: asked_metrics(checked, |i| item.pointer(&format!("/metrics/{i}"))),
                })
                .collect()
        })
        .unwrap_or_default();
    let truncated = rows.len() > checked.limit as usize;
    rows.truncate(checked.limit as usize);
    let totals = legacy_totals(&result, checked);
    let mut notes = vec![LEGACY_NOTE.to_string()];
    if legacy_query_count(&result) == 0.0 || rows.is_empty() {
        empty_notes(scope, !checked.filters.is_empty(), &mut notes);
    }
    Ok(Report {
        scope: scope.report_scope(&legacy_dataset(scope, ""), &checked.range),
        dimensions,
        metrics: checked.metrics.clone(),
        rows,
        totals,
        truncated,
        dropped,
        notes,
    })
}

fn legacy_dimensions(item: &Value, dimensions: &[Dimension]) -> Vec<DimensionValue> {
    dimensions
        .iter()
        .enumerate()
        .map(|(i, &d)| DimensionValue {
            dimension: d,
            value: item
                .get("dimensions")
                .and_then(|ds| ds.get(i))
                .map(|v| legacy_dimension_value(d, v))
                .unwrap_or_default(),
        })
        .collect()
}

fn legacy_totals(result: &Value, checked: &Checked) -> Vec<MetricValue> {
    let sent = legacy_metrics(checked);
    asked_metrics(checked, |i| {
        result.pointer(&format!("/totals/{}", legacy_metric(sent[i])))
    })
}

fn legacy_query_count(result: &Value) -> f64 {
    result
        .pointer("/totals/queryCount")
        .and_then(|v| legacy_value(Metric::QueryCount, v))
        .unwrap_or(0.0)
}

pub(super) fn legacy_timeseries(
    transport: &dyn Transport,
    scope: &Scope,
    checked: &Checked,
    bucket: Bucket,
) -> Result<Timeseries, Error> {
    let delta = match bucket {
        Bucket::Day => "day",
        _ => "hour",
    };
    let (result, dimensions, dropped) = legacy_fetch(
        transport,
        scope,
        checked,
        "/bytime",
        &[("time_delta", delta.to_string())],
        checked.limit + 1,
    )?;
    // `time_intervals` are [start, end] pairs; `data[].metrics` is one list per metric with a
    // value per interval; `dimensions` is absent when none were asked.
    let starts: Vec<Option<i64>> = result
        .get("time_intervals")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .map(|pair| {
                    pair.get(0)
                        .and_then(Value::as_str)
                        .and_then(time::parse_rfc3339)
                })
                .collect()
        })
        .unwrap_or_default();
    let step = bucket_seconds(bucket);
    let data = result
        .get("data")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let truncated = data.len() > checked.limit as usize;
    let sent = legacy_metrics(checked);
    let mut series = Vec::new();
    for item in data.iter().take(checked.limit as usize) {
        let mut by_time: BTreeMap<i64, Vec<MetricValue>> = BTreeMap::new();
        let mut count = 0.0;
        let count_index = sent.iter().position(|m| *m == Metric::QueryCount);
        for (i, start) in starts.iter().enumerate() {
            let Some(start) = start else { continue };
            count += count_index
                .and_then(|c| item.pointer(&format!("/metrics/{c}/{i}")))
                .and_then(|v| legacy_value(Metric::QueryCount, v))
                .unwrap_or(0.0);
            let metrics = asked_metrics(checked, |m| item.pointer(&format!("/metrics/{m}/{i}")));
            // Finer intervals than the bucket add up; only counts can be summed.
            let slot = by_time.entry(start.div_euclid(step) * step).or_default();
            for m in metrics {
                match slot.iter_mut().find(|v| v.metric == m.metric) {
                    Some(v) if m.metric == Metric::QueryCount => v.value += m.value,
                    Some(v) => *v = m,
                    None => slot.push(m),
                }
            }
        }
        series.push(Series {
            key: legacy_dimensions(item, &dimensions),
            points: fill_points(&checked.range, bucket, &by_time),
            query_count: count as u64,
        });
    }
    let totals = legacy_totals(&result, checked);
    let mut notes = vec![LEGACY_NOTE.to_string()];
    if series.iter().all(|s| s.query_count == 0) {
        series.clear();
        empty_notes(scope, !checked.filters.is_empty(), &mut notes);
    }
    Ok(Timeseries {
        scope: scope.report_scope(&legacy_dataset(scope, "/bytime"), &checked.range),
        bucket,
        dimensions,
        metrics: checked.metrics.clone(),
        series,
        totals,
        truncated,
        dropped,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::{ACCOUNT, NOW, fixture, nxdomain, request, zone_body};
    use super::super::{DnsCache, report, timeseries};
    use super::*;
    use crate::http::Response;
    use crate::http::testing::Queued;
    use crate::wit_dns::{ReportRequest, ReportSource};
    use crate::wit_types::TimeRange;
    use serde_json::json;

    #[test]
    fn the_legacy_report_parses_cloudflares_recorded_body() {
        let t = Queued::new(vec![
            Response::ok(&zone_body("Free Website")),
            Response::ok(&fixture("dns_analytics_report.cloudflare-php.json")),
        ]);
        let r = report(
            &t,
            &mut DnsCache::default(),
            ACCOUNT,
            &ReportRequest {
                source: Some(ReportSource::LegacyRest),
                filters: vec![nxdomain()],
                ..request(
                    vec![
                        Dimension::QueryName,
                        Dimension::QueryType,
                        Dimension::ResponseCode,
                    ],
                    vec![],
                )
            },
            NOW,
        )
        .expect("legacy report");
        assert_eq!(r.rows[0].dimensions[0].value, "thrdld.sld.tld");
        assert_eq!(r.rows[0].dimensions[1].value, "TXT");
        assert_eq!(r.rows[0].metrics[0].value, 2.0);
        assert_eq!(r.totals[0].value, 2.0);
        assert!(r.scope.dataset.contains("legacy"));
        let path = &t.sent()[1].path;
        assert!(
            path.contains("dimensions=queryName%2CqueryType%2CresponseCode"),
            "{path}"
        );
        assert!(
            path.contains("filters=responseCode%3D%3DNXDOMAIN"),
            "{path}"
        );
        assert!(path.contains("sort=-queryCount"), "{path}");
    }

    #[test]
    fn the_legacy_bytime_report_reads_metrics_per_interval() {
        let t = Queued::new(vec![
            Response::ok(&zone_body("Free Website")),
            Response::ok(&fixture("dns_analytics_report_bytime.cloudflare-php.json")),
        ]);
        let r = timeseries(
            &t,
            &mut DnsCache::default(),
            ACCOUNT,
            &ReportRequest {
                source: Some(ReportSource::LegacyRest),
                range: TimeRange {
                    since: Some("2020-02-10T11:00:00Z".into()),
                    until: Some("2020-02-10T13:00:00Z".into()),
                },
                ..request(vec![], vec![])
            },
            Some(Bucket::Hour),
            1_581_400_000,
        )
        .expect("legacy series");
        assert_eq!(r.series.len(), 1);
        // The two recorded minutes fall in the 11:00 hour, and add up there.
        assert_eq!(r.series[0].points.len(), 2);
        assert_eq!(r.series[0].points[0].time, "2020-02-10T11:00:00Z");
        assert_eq!(r.series[0].points[0].metrics[0].value, 911.0 + 993.0);
        assert_eq!(r.series[0].query_count, 911 + 993);
        assert_eq!(r.totals[0].value, 455_312.0);
        assert!(t.sent()[1].path.contains("time_delta=hour"));
    }

    #[test]
    fn legacy_filters_escape_regular_expressions_and_map_values() {
        let f = |dimension, operator, values: &[&str]| DimensionFilter {
            dimension,
            operator,
            values: values.iter().map(|v| v.to_string()).collect(),
        };
        assert_eq!(
            legacy_filter(
                &f(Dimension::QueryName, FilterOperator::Equals, &["www.a.com"]),
                true
            ),
            Ok("queryName==www\\.a\\.com".to_string())
        );
        assert_eq!(
            legacy_filter(
                &f(Dimension::ResponseCached, FilterOperator::Equals, &["1"]),
                true
            ),
            Ok("responseCached==Cached".to_string())
        );
        assert_eq!(
            legacy_filter(
                &f(Dimension::Protocol, FilterOperator::NotEquals, &["TCP"]),
                true
            ),
            Ok("tcp!=1".to_string())
        );
        assert_eq!(
            legacy_filter(
                &f(
                    Dimension::ResponseCode,
                    FilterOperator::InList,
                    &["NOERROR", "NXDOMAIN"]
                ),
                true
            ),
            Ok("responseCode==NOERROR,responseCode==NXDOMAIN".to_string())
        );
        for (values, only) in [
            (&["a;b"][..], true),
            (&["a b"][..], true),
            (&["a", "b"][..], false),
        ] {
            assert!(
                legacy_filter(
                    &f(Dimension::QueryName, FilterOperator::InList, values),
                    only
                )
                .is_err(),
                "{values:?}"
            );
        }
        assert_eq!(
            legacy_dimension_value(Dimension::ResponseCached, &json!("Uncached")),
            "0"
        );
    }

    #[test]
    fn a_legacy_series_without_the_count_metric_still_counts() {
        let body = json!({"success": true, "errors": [], "messages": [], "result": {
            "rows": 1, "data": [{"metrics": [[1.5, 2.5], [10, 20]]}],
            "totals": {"responseTimeAvg": 2.0, "queryCount": 30},
            "time_intervals": [["2026-11-26T13:00:00Z", "2026-11-26T13:59:59Z"],
                               ["2026-11-26T14:00:00Z", "2026-11-26T14:59:59Z"]],
            "query": {}}})
        .to_string();
        let t = Queued::new(vec![
            Response::ok(&zone_body("Free Website")),
            Response::ok(&body),
        ]);
        let r = timeseries(
            &t,
            &mut DnsCache::default(),
            ACCOUNT,
            &ReportRequest {
                source: Some(ReportSource::LegacyRest),
                metrics: vec![Metric::ProcessingTimeAvg],
                range: TimeRange {
                    since: Some("2h".into()),
                    until: None,
                },
                ..request(vec![], vec![])
            },
            None,
            NOW,
        )
        .expect("series");
        assert_eq!(r.series.len(), 1, "not mistaken for an empty range");
        assert_eq!(r.series[0].query_count, 30);
        assert_eq!(
            r.series[0].points[0].metrics[0].metric,
            Metric::ProcessingTimeAvg
        );
        assert_eq!(r.series[0].points[0].metrics[0].value, 1500.0);
        assert_eq!(
            r.totals,
            vec![MetricValue {
                metric: Metric::ProcessingTimeAvg,
                value: 2000.0
            }]
        );
        assert!(
            t.sent()[1]
                .path
                .contains("metrics=responseTimeAvg%2CqueryCount")
        );
    }
}
