//! The query engine shared by every synthetic GraphQL dataset (DNS, HTTP requests, firewall
//! events): typed field values, the clock-anchored event times, `*_Filter_InputObject`
//! filters, the time range a filter asks for, grouping, and `orderBy`.
//!
//! A dataset is a list of records (anything implementing [`Record`]: one field lookup by GraphQL
//! name) plus an aggregate function that turns the records of one group into the JSON of a
//! group row (`{"count": …, "sum": {…}, "avg": {…}, …}`); ordering by a metric reads that JSON,
//! so `sum_edgeResponseBytes_DESC` sorts by `sum.edgeResponseBytes` whatever the dataset.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::calendar::{DAY, date_string, days_from_unix, parse_date, parse_rfc3339, rfc3339};

/// Hours of history of every synthetic dataset: event times go back `EVENT_HOURS - 1` hours
/// from the current hour.
pub(crate) const EVENT_HOURS: i64 = 241;

/// Event times for the clock reading `now`, newest first: minute 30 of the current hour and
/// of each of the 240 hours before it, keeping only times `<= now`. Any half-open window
/// `[now - 24h, now)` holds exactly 24 of them.
pub(crate) fn event_times(now: i64) -> Vec<i64> {
    let hour = now.div_euclid(3600) * 3600;
    (0..EVENT_HOURS)
        .map(|k| hour - k * 3600 + 1800)
        .filter(|t| *t <= now)
        .collect()
}

/// A typed field value, comparable within one field.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum FieldValue {
    Num(i64),
    Str(String),
    /// Unix seconds.
    Time(i64),
    /// Days since 1970-01-01.
    Date(i64),
}

impl FieldValue {
    pub fn to_json(&self) -> Value {
        match self {
            FieldValue::Num(n) => json!(n),
            FieldValue::Str(s) => json!(s),
            FieldValue::Time(t) => json!(rfc3339(*t)),
            FieldValue::Date(d) => json!(date_string(*d)),
        }
    }

    pub fn str(s: &str) -> FieldValue {
        FieldValue::Str(s.to_owned())
    }
}

/// The time fields every dataset has, for an event at `time`: `date`, `datetime` and its
/// truncations (`datetimeMinute`, `…FiveMinutes`, `…FifteenMinutes`, `…HalfOfHour`, `…Hour`).
pub(crate) fn time_field(time: i64, name: &str) -> Option<FieldValue> {
    let truncated = |step: i64| Some(FieldValue::Time(time - time.rem_euclid(step)));
    match name {
        "date" => Some(FieldValue::Date(days_from_unix(time))),
        "datetime" => Some(FieldValue::Time(time)),
        "datetimeMinute" => truncated(60),
        "datetimeFiveMinutes" => truncated(300),
        "datetimeFifteenMinutes" => truncated(900),
        "datetimeHalfOfHour" => truncated(1800),
        "datetimeHour" => truncated(3600),
        _ => None,
    }
}

/// One synthetic event (or group of identical events) of a dataset.
pub(crate) trait Record {
    /// A GraphQL field of the record (raw field, group dimension, filter key), or `None` when
    /// the record does not model it: filters on such a field pass, and the field is answered
    /// with the zero value of its type.
    fn field(&self, name: &str) -> Option<FieldValue>;
}

// ---------------------------------------------------------------------------------------------
// Filters

/// `queryName_like` → (`queryName`, `like`); `queryName` → (`queryName`, ``).
pub(crate) fn split_filter_key(key: &str) -> (&str, &str) {
    key.split_once('_').unwrap_or((key, ""))
}

/// Whether a filter (at any depth, `AND`/`OR` included) has a non-null condition on `field`.
pub(crate) fn filter_mentions(filter: &Value, field: &str) -> bool {
    match filter {
        Value::Object(map) => map.iter().any(|(key, value)| {
            (!value.is_null() && split_filter_key(key).0 == field) || filter_mentions(value, field)
        }),
        Value::Array(items) => items.iter().any(|item| filter_mentions(item, field)),
        _ => false,
    }
}

/// Whether a record passes a `*_Filter_InputObject` (null entries are ignored). Operators:
/// plain (equal), `_neq`, `_gt`, `_geq`, `_lt`, `_leq`, `_in`, `_notin`, `_like`, `_notlike`;
/// `AND` (all of a list) and `OR` (any of a list; an empty list passes).
pub(crate) fn filter_matches(filter: &Value, record: &impl Record) -> Result<bool, String> {
    let Some(map) = filter.as_object() else {
        return Ok(true);
    };
    for (key, operand) in map {
        if operand.is_null() {
            continue;
        }
        let passes = match key.as_str() {
            "AND" => {
                let mut all = true;
                for item in operand.as_array().map(Vec::as_slice).unwrap_or_default() {
                    all = all && filter_matches(item, record)?;
                }
                all
            }
            "OR" => {
                let items = operand.as_array().map(Vec::as_slice).unwrap_or_default();
                let mut any = items.is_empty();
                for item in items {
                    any = any || filter_matches(item, record)?;
                }
                any
            }
            _ => {
                let (name, op) = split_filter_key(key);
                match record.field(name) {
                    Some(value) => compare(&value, op, operand, name)?,
                    None => true,
                }
            }
        };
        if !passes {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Parses a filter operand as the same kind of value as `like`.
fn operand_value(like: &FieldValue, operand: &Value, name: &str) -> Result<FieldValue, String> {
    let bad = || format!("error parsing args: invalid value {operand} for {name}");
    match like {
        FieldValue::Num(_) => match operand {
            Value::Number(n) => n.as_i64().map(FieldValue::Num).ok_or_else(bad),
            Value::String(s) => s.parse().map(FieldValue::Num).map_err(|_| bad()),
            _ => Err(bad()),
        },
        FieldValue::Str(_) => operand
            .as_str()
            .map(|s| FieldValue::Str(s.to_owned()))
            .ok_or_else(bad),
        FieldValue::Time(_) => operand
            .as_str()
            .and_then(parse_rfc3339)
            .map(FieldValue::Time)
            .ok_or_else(bad),
        FieldValue::Date(_) => operand
            .as_str()
            .and_then(parse_date)
            .map(FieldValue::Date)
            .ok_or_else(bad),
    }
}

fn compare(value: &FieldValue, op: &str, operand: &Value, name: &str) -> Result<bool, String> {
    let list = || -> Result<Vec<FieldValue>, String> {
        match operand {
            Value::Array(items) => items
                .iter()
                .map(|item| operand_value(value, item, name))
                .collect(),
            single => Ok(vec![operand_value(value, single, name)?]),
        }
    };
    let text = |v: &FieldValue| match v {
        FieldValue::Str(s) => s.clone(),
        other => other.to_json().to_string(),
    };
    Ok(match op {
        "" => *value == operand_value(value, operand, name)?,
        "neq" => *value != operand_value(value, operand, name)?,
        "gt" => *value > operand_value(value, operand, name)?,
        "geq" => *value >= operand_value(value, operand, name)?,
        "lt" => *value < operand_value(value, operand, name)?,
        "leq" => *value <= operand_value(value, operand, name)?,
        "in" => list()?.contains(value),
        "notin" => !list()?.contains(value),
        "like" | "notlike" => {
            let pattern = operand
                .as_str()
                .ok_or_else(|| format!("error parsing args: invalid value {operand} for {name}"))?;
            like(&text(value), pattern) == (op == "like")
        }
        _ => true,
    })
}

/// SQL `LIKE`: `%` any run of characters, `_` exactly one; case-sensitive.
pub(crate) fn like(text: &str, pattern: &str) -> bool {
    let text: Vec<char> = text.chars().collect();
    let pattern: Vec<char> = pattern.chars().collect();
    // matches[j]: the text consumed so far matches pattern[..j].
    let mut matches = vec![false; pattern.len() + 1];
    matches[0] = true;
    for j in 1..=pattern.len() {
        matches[j] = matches[j - 1] && pattern[j - 1] == '%';
    }
    for c in text {
        let mut next = vec![false; pattern.len() + 1];
        for j in 1..=pattern.len() {
            next[j] = match pattern[j - 1] {
                '%' => next[j - 1] || matches[j],
                '_' => matches[j - 1],
                p => matches[j - 1] && p == c,
            };
        }
        matches = next;
    }
    matches[pattern.len()]
}

/// The time range a filter asks for, `[lower, upper)` in Unix seconds, from its `datetime*`
/// and `date` conditions at the top level and inside `AND` (not `OR`). `datetime_width` is the
/// width of one `datetime` value: 0 for event datasets (a point in time), 3600 for
/// `httpRequests1hGroups`, whose `datetime` is the start of an hour.
pub(crate) fn time_bounds(
    filter: &Value,
    datetime_width: i64,
) -> Result<(Option<i64>, Option<i64>), String> {
    let mut bounds = (None, None);
    collect_time_bounds(filter, datetime_width, &mut bounds)?;
    Ok(bounds)
}

fn collect_time_bounds(
    filter: &Value,
    datetime_width: i64,
    bounds: &mut (Option<i64>, Option<i64>),
) -> Result<(), String> {
    let Some(map) = filter.as_object() else {
        return Ok(());
    };
    for (key, operand) in map {
        if operand.is_null() {
            continue;
        }
        if key == "AND" {
            for item in operand.as_array().map(Vec::as_slice).unwrap_or_default() {
                collect_time_bounds(item, datetime_width, bounds)?;
            }
            continue;
        }
        let (name, op) = split_filter_key(key);
        // Width of one value of the field.
        let (width, is_date) = match name {
            "datetime" => (datetime_width, false),
            "datetimeMinute" => (60, false),
            "datetimeFiveMinutes" => (300, false),
            "datetimeFifteenMinutes" => (900, false),
            "datetimeHalfOfHour" => (1800, false),
            "datetimeHour" => (3600, false),
            "date" => (DAY, true),
            _ => continue,
        };
        let parse = |v: &Value| -> Result<i64, String> {
            let text = v.as_str().unwrap_or_default();
            let parsed = if is_date {
                parse_date(text).map(|d| d * DAY)
            } else {
                parse_rfc3339(text)
            };
            parsed.ok_or_else(|| format!("error parsing args: invalid value {v} for {key}"))
        };
        let (lower, upper) = match op {
            "" => {
                let t = parse(operand)?;
                (Some(t), Some(t + width))
            }
            "geq" => (Some(parse(operand)?), None),
            "gt" => (Some(parse(operand)? + width.max(1)), None),
            "leq" => (None, Some(parse(operand)? + width)),
            "lt" => (None, Some(parse(operand)?)),
            _ => (None, None),
        };
        if let Some(lower) = lower {
            bounds.0 = Some(bounds.0.map_or(lower, |b: i64| b.max(lower)));
        }
        if let Some(upper) = upper {
            bounds.1 = Some(bounds.1.map_or(upper, |b: i64| b.min(upper)));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Grouping and ordering

/// `count_DESC` → (`count`, true); `queryName_ASC` → (`queryName`, false).
pub(crate) fn order_field(order: &str) -> (&str, bool) {
    if let Some(name) = order.strip_suffix("_DESC") {
        (name, true)
    } else {
        (order.strip_suffix("_ASC").unwrap_or(order), false)
    }
}

/// A metric of a group row by its `orderBy` name: `count` → `count`, `sum_bytes` →
/// `sum.bytes`, `quantiles_processingTimeUsP50` → `quantiles.processingTimeUsP50`.
fn metric(aggregate: &Value, name: &str) -> Option<f64> {
    aggregate
        .get(name)
        .or_else(|| {
            let (block, field) = name.split_once('_')?;
            aggregate.get(block)?.get(field)
        })
        .and_then(Value::as_f64)
}

/// One group: its dimension values (in the order of the selected dimensions; `None` for a
/// dimension the records do not model) and the aggregate JSON of its records.
pub(crate) struct Group {
    pub key: Vec<Option<FieldValue>>,
    pub aggregate: Value,
}

impl Group {
    /// The group row: the aggregate with `dimensions` added (modelled dimensions only).
    pub fn to_json(&self, dimensions: &[String]) -> Value {
        let dims: Map<String, Value> = dimensions
            .iter()
            .zip(&self.key)
            .filter_map(|(name, value)| value.as_ref().map(|v| (name.clone(), v.to_json())))
            .collect();
        let mut row = match &self.aggregate {
            Value::Object(map) => map.clone(),
            _ => Map::new(),
        };
        row.insert("dimensions".to_owned(), Value::Object(dims));
        Value::Object(row)
    }
}

/// Groups records by the values of `dimensions`, in ascending order of those values.
pub(crate) fn group_by<R: Record>(
    records: Vec<R>,
    dimensions: &[String],
    aggregate: impl Fn(&[R]) -> Value,
) -> Vec<Group> {
    let mut groups: BTreeMap<Vec<Option<FieldValue>>, Vec<R>> = BTreeMap::new();
    for record in records {
        let key = dimensions.iter().map(|d| record.field(d)).collect();
        groups.entry(key).or_default().push(record);
    }
    groups
        .into_iter()
        .map(|(key, records)| Group {
            key,
            aggregate: aggregate(&records),
        })
        .collect()
}

/// Sorts groups by `orderBy` (metrics or grouped dimensions; a dimension that is not grouped by
/// has no single value per group and is ignored), stable: ties keep the ascending order of the
/// dimension values.
pub(crate) fn sort_groups(groups: &mut [Group], order_by: &[String], dimensions: &[String]) {
    groups.sort_by(|a, b| {
        order_by
            .iter()
            .map(|order| {
                let (name, descending) = order_field(order);
                let ordering = match dimensions.iter().position(|d| d == name) {
                    Some(i) => a.key[i].cmp(&b.key[i]),
                    None => match (metric(&a.aggregate, name), metric(&b.aggregate, name)) {
                        (Some(x), Some(y)) => x.total_cmp(&y),
                        _ => Ordering::Equal,
                    },
                };
                if descending {
                    ordering.reverse()
                } else {
                    ordering
                }
            })
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    });
}

/// Sorts raw records by `orderBy` (field names), stable.
pub(crate) fn sort_records<R: Record>(records: &mut [R], order_by: &[String]) {
    records.sort_by(|a, b| {
        order_by
            .iter()
            .map(|order| {
                let (name, descending) = order_field(order);
                let ordering = a.field(name).cmp(&b.field(name));
                if descending {
                    ordering.reverse()
                } else {
                    ordering
                }
            })
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    });
}

/// A raw row: every listed field the record models.
pub(crate) fn raw_row(record: &impl Record, fields: &[&str]) -> Value {
    Value::Object(
        fields
            .iter()
            .filter_map(|name| {
                record
                    .field(name)
                    .map(|value| ((*name).to_owned(), value.to_json()))
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns() {
        assert!(like("missing.github.com", "%.github.com"));
        assert!(like("missing.github.com", "missing%"));
        assert!(like("abc", "a_c"));
        assert!(!like("abc", "a_"));
        assert!(like("", "%"));
        assert!(!like("abc", "ABC"));
    }

    #[test]
    fn bounds_from_dates_and_times() {
        let filter = json!({
            "date_geq": "2026-11-20",
            "AND": [{ "datetime_lt": "2026-11-26T00:00:00Z" }],
            "OR": [{ "date_leq": "2030-01-01" }]
        });
        let (lower, upper) = time_bounds(&filter, 0).expect("valid bounds");
        assert_eq!(lower.map(rfc3339).as_deref(), Some("2026-11-20T00:00:00Z"));
        assert_eq!(upper.map(rfc3339).as_deref(), Some("2026-11-26T00:00:00Z"));
        let (_, upper) = time_bounds(&json!({ "date_leq": "2026-11-25" }), 0).expect("valid");
        assert_eq!(upper.map(rfc3339).as_deref(), Some("2026-11-26T00:00:00Z"));
        assert!(time_bounds(&json!({ "date_geq": "yesterday" }), 0).is_err());
        // An hour-wide datetime (httpRequests1hGroups): `leq` includes the whole hour.
        let (_, upper) =
            time_bounds(&json!({ "datetime_leq": "2026-11-25T10:00:00Z" }), 3600).expect("valid");
        assert_eq!(upper.map(rfc3339).as_deref(), Some("2026-11-25T11:00:00Z"));
    }

    #[test]
    fn metrics_by_order_name() {
        let row = json!({ "count": 3, "sum": { "edgeResponseBytes": 7 }, "avg": { "x": 1.5 } });
        assert_eq!(metric(&row, "count"), Some(3.0));
        assert_eq!(metric(&row, "sum_edgeResponseBytes"), Some(7.0));
        assert_eq!(metric(&row, "avg_x"), Some(1.5));
        assert_eq!(metric(&row, "sum_visits"), None);
    }
}
