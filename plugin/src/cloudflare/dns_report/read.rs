//! Reading the rows of an answer: dimension values (raw and as text), metrics, counts.

use super::{field, metric_field, time};
use crate::wit_dns::{Dimension, DimensionValue, DroppedItem, Metric, MetricValue, ReportRow};
use crate::wit_types::GraphqlProblem;
use serde_json::Value;

pub(super) fn as_i64(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// One row as Cloudflare returned it: dimension values both raw (to filter on them again) and
/// as text.
pub(super) struct Group {
    pub(super) raw: Vec<Value>,
    pub(super) row: ReportRow,
    pub(super) count: u64,
}

pub(super) fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

pub(super) fn read_metrics(group: &Value, metrics: &[Metric]) -> Vec<MetricValue> {
    metrics
        .iter()
        .filter_map(|&m| {
            let value = match metric_field(m) {
                ("", f) => group.get(f),
                (g, f) => group.get(g).and_then(|x| x.get(f)),
            };
            let value = match value? {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => s.parse().ok(),
                _ => None,
            }?;
            Some(MetricValue { metric: m, value })
        })
        .collect()
}

pub(super) fn read_group(group: &Value, dimensions: &[Dimension], metrics: &[Metric]) -> Group {
    let raw: Vec<Value> = dimensions
        .iter()
        .map(|d| {
            group
                .pointer(&format!("/dimensions/{}", field(*d)))
                .cloned()
                .unwrap_or(Value::Null)
        })
        .collect();
    Group {
        row: ReportRow {
            dimensions: dimensions
                .iter()
                .zip(&raw)
                .map(|(d, v)| DimensionValue {
                    dimension: *d,
                    value: text_of(v),
                })
                .collect(),
            metrics: read_metrics(group, metrics),
        },
        count: as_i64(group.get("count")).map_or(0, |c| c.max(0) as u64),
        raw,
    }
}

/// The first `max` groups under `alias` (an answer longer than asked for is not read further).
pub(super) fn groups_of(
    node: &Value,
    alias: &str,
    dimensions: &[Dimension],
    metrics: &[Metric],
    max: usize,
) -> Vec<Group> {
    node.get(alias)
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .take(max)
                .map(|g| read_group(g, dimensions, metrics))
                .collect()
        })
        .unwrap_or_default()
}

/// What a grouped GraphQL query gave after any plan retries.
pub(super) struct Grouped {
    pub(super) dimensions: Vec<Dimension>,
    pub(super) groups: Vec<Group>,
    pub(super) totals: Vec<MetricValue>,
    pub(super) total_count: u64,
    pub(super) truncated: bool,
    pub(super) dropped: Vec<DroppedItem>,
}

/// `query-count` zero: the metrics of a range without queries.
pub(super) fn zero_count() -> Vec<MetricValue> {
    vec![MetricValue {
        metric: Metric::QueryCount,
        value: 0.0,
    }]
}

pub(super) fn problem_messages(problems: &[GraphqlProblem]) -> String {
    problems
        .iter()
        .map(|p| p.message.as_str())
        .collect::<Vec<_>>()
        .join("; ")
}

/// A bucket's start from `2026-11-26T15:00:00Z` or `2026-11-26`.
pub(super) fn bucket_start(time: &Value) -> Option<i64> {
    let text = time.as_str()?;
    if text.len() == 10 {
        time::parse_rfc3339(&format!("{text}T00:00:00Z"))
    } else {
        time::parse_rfc3339(text)
    }
}
