//! Custom read-only queries: checked, scope tags filled, ranges checked against the datasets'
//! limits, large results cut to size.

use super::{AnalyticsCache, DEFAULT_MAX_BYTES, limits, preflight, send_body};
use crate::cloudflare::graphql::{Keep, ListCut};
use crate::cloudflare::graphql_query;
use crate::cloudflare::scope::Scope;
use crate::cloudflare::zones;
use crate::error::invalid;
use crate::http::Transport;
use crate::time::{Range, rfc3339};
use crate::wit_analytics::{Cut, QueryRequest, QueryResult};
use crate::wit_types::{Error, Permission};
use serde_json::{Map, Value};

pub(super) fn parse_variables(text: Option<&str>) -> Result<Map<String, Value>, Error> {
    let text = text
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .unwrap_or("{}");
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(invalid("variables", "must be a JSON object")),
        Err(e) => Err(invalid("variables", format!("not valid JSON: {e}"))),
    }
}

/// `query`.
pub fn query(
    transport: &dyn Transport,
    cache: &mut AnalyticsCache,
    account_id: &str,
    request: &QueryRequest,
    now: i64,
) -> Result<QueryResult, Error> {
    let mut variables = parse_variables(request.variables.as_deref())?;
    let checked = graphql_query::check(
        &request.query,
        request.operation_name.as_deref(),
        &variables,
    )?;
    let declares = |name: &str| checked.declared.iter().any(|d| d == name);
    let mut filled = Vec::new();
    if declares("accountTag") && !variables.contains_key("accountTag") {
        variables.insert("accountTag".into(), Value::from(account_id));
        filled.push("accountTag".to_string());
    }
    if declares("zoneTag") && !variables.contains_key("zoneTag") {
        let Some(zone) = request.zone.as_deref().filter(|z| !z.trim().is_empty()) else {
            return Err(invalid(
                "zone",
                "the query declares $zoneTag: give a zone (ID or name), or zoneTag in variables",
            ));
        };
        let zone = zones::get_zone(transport, &mut cache.zones, account_id, zone)?;
        variables.insert("zoneTag".into(), Value::String(zone.id.clone()));
        filled.push("zoneTag".to_string());
    }
    // Tags filled in may carry the ranges' scope: read the datasets again with them.
    let checked = graphql_query::check(
        &request.query,
        request.operation_name.as_deref(),
        &variables,
    )?;
    let mut notes = Vec::new();
    let mut datasets = Vec::new();
    for used in &checked.datasets {
        let scope = match (&used.zone_tag, used.account_level) {
            (_, true) => Scope {
                account_id: account_id.to_string(),
                zone: None,
            },
            (Some(tag), false) if zones::is_zone_id(tag) => Scope {
                account_id: account_id.to_string(),
                zone: Some(zones::get_zone(
                    transport,
                    &mut cache.zones,
                    account_id,
                    tag,
                )?),
            },
            _ => {
                datasets.push(used.dataset.clone());
                continue;
            }
        };
        let Some(since) = used.since else {
            notes.push(format!(
                "{}: no start of range found in its filter, so its limits were not checked",
                used.dataset
            ));
            datasets.push(used.dataset.clone());
            continue;
        };
        let range = Range {
            since,
            until: used.until.unwrap_or(now).min(now),
        };
        let limits = limits(transport, cache, &scope, &used.dataset)?;
        preflight(
            &limits,
            &scope,
            &used.dataset,
            &range,
            now,
            ("query", "query"),
        )?;
        datasets.push(format!(
            "{} ({} to {})",
            used.dataset,
            rfc3339(range.since),
            rfc3339(range.until)
        ));
    }
    let permission = if checked.datasets.iter().any(|d| d.account_level) {
        Permission::AccountAnalyticsRead
    } else {
        Permission::ZoneAnalyticsRead
    };
    // Built by hand, not with `json!`: its unwraps and indexing cost component bytes.
    let mut body = Map::new();
    body.insert("query".into(), Value::from(request.query.as_str()));
    body.insert("variables".into(), Value::Object(variables));
    if let Some(name) = &request.operation_name {
        body.insert("operationName".into(), Value::from(name.as_str()));
    }
    let body = Value::Object(body);
    let max_bytes = request.max_bytes.unwrap_or(DEFAULT_MAX_BYTES).max(1024) as usize;
    // Cut while read: rows past `max_bytes` are never built.
    let answer = send_body(transport, &body, permission, Keep::DataFitting(max_bytes))?;
    if answer.data.is_null() && !answer.problems.is_empty() {
        return Err(Error::QueryRejected(answer.problems));
    }
    Ok(QueryResult {
        data: answer.data.to_string(),
        problems: answer.problems,
        filled,
        datasets,
        cuts: described(&answer.cuts, max_bytes),
        notes,
    })
}

/// The cuts as the result says them, with how to ask for less.
pub(super) fn described(cuts: &[ListCut], max_bytes: usize) -> Vec<Cut> {
    cuts.iter()
        .map(|cut| Cut {
            path: cut.path_text(),
            rows_returned: cut.kept as u32,
            rows_received: cut.received as u32,
            advice: format!(
                "{} of {} rows fit in {max_bytes} bytes; ask for fewer rows (a smaller limit), a \
                 shorter range, or add a filter; or raise max-bytes",
                cut.kept, cut.received
            ),
        })
        .collect()
}
