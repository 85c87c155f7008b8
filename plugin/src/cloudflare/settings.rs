//! The GraphQL `settings` node: each dataset's limits (enabled, widest range, history, page
//! size, fields), and the range check every analytics query makes before it is sent, so a
//! refusal names the limit and the largest range that would pass.

use crate::error::invalid;
use crate::time::{Range, human_duration, rfc3339};
use crate::wit_types::Error;
use serde_json::Value;

/// A dataset's limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatasetLimits {
    pub enabled: bool,
    /// Seconds one query may span.
    pub max_duration: i64,
    /// Seconds of history kept.
    pub not_older_than: i64,
    pub max_page_size: u32,
    pub max_number_of_fields: u32,
    pub available_fields: Vec<String>,
    /// Not read from Cloudflare but taken from its documentation.
    pub assumed: bool,
}

/// Whether a string is a GraphQL name, and so safe to write into query text as a field.
pub fn is_name(text: &str) -> bool {
    let mut chars = text.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && text.len() <= 128
}

/// The query for the limits of `datasets` (each checked with [`is_name`] by the caller) at
/// zone or account level; the scope tag is the variable `$zoneTag` or `$accountTag`.
pub fn query(account_level: bool, datasets: &[&str]) -> String {
    let (viewer_field, tag) = if account_level {
        ("accounts(filter: {accountTag: $accountTag})", "accountTag")
    } else {
        ("zones(filter: {zoneTag: $zoneTag})", "zoneTag")
    };
    let selections: Vec<String> = datasets
        .iter()
        .map(|d| {
            format!(
                "{d} {{ enabled maxDuration notOlderThan maxPageSize maxNumberOfFields \
                 availableFields }}"
            )
        })
        .collect();
    format!(
        "query Settings(${tag}: string!) {{ viewer {{ {viewer_field} {{ settings {{ {} }} }} }} }}",
        selections.join(" ")
    )
}

fn as_i64(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// One dataset's limits from the scope's node (`viewer.zones[0]`); `None` without the two
/// that matter (widest range and history). Page sizes are kept within `1..=max_rows`.
pub fn read(node: &Value, dataset: &str, max_rows: u32) -> Option<DatasetLimits> {
    let settings = node.get("settings")?.get(dataset)?;
    let number = |name: &str| as_i64(settings.get(name));
    let small = |name: &str, default: u32| {
        number(name)
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(default)
    };
    Some(DatasetLimits {
        enabled: settings
            .get("enabled")
            .and_then(Value::as_bool)
            .unwrap_or(true),
        max_duration: number("maxDuration")?,
        not_older_than: number("notOlderThan")?,
        max_page_size: small("maxPageSize", max_rows).clamp(1, max_rows),
        max_number_of_fields: small("maxNumberOfFields", 0),
        available_fields: settings
            .get("availableFields")
            .and_then(Value::as_array)
            .map(|fields| {
                fields
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
        assumed: false,
    })
}

/// Refuses a range the dataset would refuse, saying the limit and the largest range allowed.
/// `fields` names the range and its start in the caller's arguments.
pub fn check_range(
    range: &Range,
    limits: &DatasetLimits,
    now: i64,
    dataset: &str,
    what: &str,
    fields: (&str, &str),
) -> Result<(), Error> {
    if range.seconds() > limits.max_duration {
        return Err(invalid(
            fields.0,
            format!(
                "the range is {} long; {dataset} allows at most {} per query for {what}. The \
                 largest range ending at {} starts at {}; split longer periods into several calls",
                human_duration(range.seconds()),
                human_duration(limits.max_duration),
                rfc3339(range.until),
                rfc3339(range.until - limits.max_duration)
            ),
        ));
    }
    // A minute of margin: Cloudflare measures from its own clock, a moment later.
    let earliest = now - limits.not_older_than + 60;
    if range.since < earliest {
        return Err(invalid(
            fields.1,
            format!(
                "{dataset} keeps {} of history for {what}: since must be at or after {}. The \
                 largest allowed range is since {} until {}",
                human_duration(limits.not_older_than),
                rfc3339(earliest),
                rfc3339(earliest),
                rfc3339((earliest + limits.max_duration).min(now))
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_are_checked_before_they_reach_query_text() {
        assert!(is_name("httpRequestsAdaptiveGroups"));
        assert!(!is_name("x { evil }"));
        assert!(!is_name("1abc"));
        assert!(!is_name(""));
    }

    #[test]
    fn reads_limits_and_tolerates_missing_extras() {
        let node = json!({"settings": {"firewallEventsAdaptive": {
            "enabled": true, "maxDuration": 259200, "maxNumberOfFields": 30,
            "maxPageSize": 10000, "notOlderThan": 2678400}}});
        let limits = read(&node, "firewallEventsAdaptive", 10_000).expect("limits");
        assert_eq!(limits.max_duration, 259_200);
        assert_eq!(limits.max_number_of_fields, 30);
        assert!(limits.available_fields.is_empty());
        assert_eq!(read(&node, "other", 10_000), None);
    }
}
