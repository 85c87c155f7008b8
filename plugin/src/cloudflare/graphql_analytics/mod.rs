//! GraphQL Analytics: custom read-only queries (checked, scope tags filled, ranges checked
//! against the datasets' limits, large results cut to size), dataset limits, and ready-made
//! reports whose queries pass every user value as a variable.
//!
//! Cut along its seams: [`query`] (custom queries, their results cut to size while read, see
//! `graphql::Keep`) and [`reports`] (the ready-made reports). This file holds what they share: hints for GraphQL
//! problems, sending, the schema and the datasets' limits.

mod query;
mod reports;

pub use query::query;
pub use reports::{firewall_events, grouped_query, http_traffic, top_http, traffic_query};

use crate::cloudflare::catalog::{grant_hint, lacking};
use crate::cloudflare::graphql::{self, Answer, Keep};
use crate::cloudflare::schema_index::{self, SchemaIndex};
use crate::cloudflare::scope::Scope;
use crate::cloudflare::settings::{self, DatasetLimits};
use crate::cloudflare::zones::{ZoneCache, zone_ref};
use crate::error::invalid;
use crate::http::Transport;
use crate::names::name;
use crate::time::Range;
use crate::wit_analytics::Level;
use crate::wit_types::{Error, GraphqlProblem, Permission};
use serde_json::{Map, Value, json};
use std::collections::HashMap;

pub const DEFAULT_MAX_BYTES: u32 = 256 * 1024;
const MAX_ROWS: u32 = 10_000;

/// What an instance keeps: zones it resolved and dataset limits per scope.
#[derive(Debug, Default)]
pub struct AnalyticsCache {
    pub zones: ZoneCache,
    limits: HashMap<(String, String), DatasetLimits>,
}

/// Zone or account level, as the WIT says it.
fn level(scope: &Scope) -> Level {
    if scope.zone.is_some() {
        Level::Zone
    } else {
        Level::Account
    }
}

// ---------------------------------------------------------------------------------------------
// Errors with hints

const HINT_BUDGET: &str = "Cloudflare's GraphQL API allows about 300 queries per 5 minutes per \
user, and each query spends part of a budget: wait a few minutes, then retry with fewer or \
smaller queries.";

/// A hint for each problem Cloudflare's GraphQL API is known to report.
fn hint_for(problem: &GraphqlProblem, permission: Permission) -> Option<String> {
    let message = problem.message.to_ascii_lowercase();
    match problem.code.as_deref() {
        Some("authz") if message.contains("plan") => Some(
            "The plan of this zone or account does not include this dataset or field; \
             dataset-limits says what is enabled."
                .to_string(),
        ),
        Some("authz") => Some(format!(
            "{} (Zone → Analytics → Read for viewer.zones, Account → Account Analytics → Read \
             for viewer.accounts). If the token has it, the plan may not include this dataset.",
            grant_hint(permission)
        )),
        Some("budget" | "quota") => Some(HINT_BUDGET.to_string()),
        _ if message.contains("time range")
            || message.contains("older than")
            || message.contains("duration") =>
        {
            Some(
                "The range is outside the dataset's limits: dataset-limits gives the widest \
                 range (maxDuration) and how far back data is kept (notOlderThan)."
                    .to_string(),
            )
        }
        _ if names_an_unknown_field(problem) => Some(
            "A name is not in the schema: schema-search finds datasets, fields and filter keys, \
             describe-type lists a type's fields."
                .to_string(),
        ),
        _ => None,
    }
}

/// A validation error about a name the schema does not have (gqlgen: `Cannot query field`;
/// others: `does not have a field`, `unknown`).
fn names_an_unknown_field(problem: &GraphqlProblem) -> bool {
    let message = problem.message.to_ascii_lowercase();
    [
        "cannot query field",
        "does not have a field",
        "unknown field",
        "unknown argument",
    ]
    .iter()
    .any(|m| message.contains(m))
}

fn with_hints(problems: Vec<GraphqlProblem>, permission: Permission) -> Vec<GraphqlProblem> {
    problems
        .into_iter()
        .map(|mut p| {
            p.hint = hint_for(&p, permission);
            p
        })
        .collect()
}

/// Sends a query with its variables.
fn send(
    transport: &dyn Transport,
    query: &str,
    variables: &Value,
    permission: Permission,
) -> Result<Answer, Error> {
    // Built by hand, not with `json!`: its generic serialization costs component bytes.
    let mut body = Map::new();
    body.insert("query".into(), Value::from(query));
    body.insert("variables".into(), variables.clone());
    send_body(
        transport,
        &Value::Object(body),
        permission,
        Keep::FirstItems(usize::MAX),
    )
}

/// The scope's node of a report answer; any problem fails the report.
fn report_node(scope: &Scope, answer: Answer) -> Result<Value, Error> {
    if !answer.problems.is_empty() {
        return Err(Error::QueryRejected(answer.problems));
    }
    answer
        .data
        .pointer(&format!("/viewer/{}/0", scope.list_name()))
        .cloned()
        .ok_or_else(|| {
            Error::Forbidden(crate::wit_types::ApiFailure {
                status: 200,
                codes: Vec::new(),
                message: format!("GraphQL returned no analytics for {}", scope.describe()),
                hint: Some(grant_hint(scope.analytics_permission())),
                permission: Some(scope.analytics_permission()),
            })
        })
}

// ---------------------------------------------------------------------------------------------
// The schema

/// Fetches the schema by introspection and indexes it. The body goes straight into the index's
/// compact types (no JSON tree of several MiB); only a failed answer is read as GraphQL.
pub fn fetch_schema(transport: &dyn Transport) -> Result<SchemaIndex, Error> {
    let request = graphql::request(schema_index::INTROSPECTION_QUERY, &json!({}));
    let response = transport.send(&request)?;
    if (200..300).contains(&response.status)
        && let Ok(index) = SchemaIndex::from_response(&response.body)
    {
        return Ok(index);
    }
    let answer = graphql::parse(&request, response)?;
    if answer.problems.is_empty() {
        return Err(Error::Transport(
            "the schema's introspection came back in an unexpected shape".to_string(),
        ));
    }
    Err(Error::QueryRejected(with_hints(
        answer.problems,
        Permission::AccountAnalyticsRead,
    )))
}

// ---------------------------------------------------------------------------------------------
// Dataset limits

/// The limits of `dataset` for the scope, asked once per instance.
fn limits(
    transport: &dyn Transport,
    cache: &mut AnalyticsCache,
    scope: &Scope,
    dataset: &str,
) -> Result<DatasetLimits, Error> {
    if !settings::is_name(dataset) {
        return Err(invalid(
            "dataset",
            format!(
                "{} is not a dataset name; schema-search lists them",
                crate::input::quote(dataset)
            ),
        ));
    }
    let key = (scope.key(), dataset.to_string());
    if let Some(limits) = cache.limits.get(&key) {
        return Ok(limits.clone());
    }
    let (tag, value) = scope.tag();
    let answer = send(
        transport,
        &settings::query(scope.zone.is_none(), &[dataset]),
        &json!({ tag: value }),
        scope.analytics_permission(),
    )?;
    if !answer.problems.is_empty() {
        let unknown = answer.problems.iter().any(names_an_unknown_field);
        return Err(if unknown {
            invalid(
                "dataset",
                format!(
                    "{dataset} is not a dataset at {} level; schema-search lists them",
                    name(level(scope))
                ),
            )
        } else {
            Error::QueryRejected(answer.problems)
        });
    }
    let node = answer
        .data
        .pointer(&format!("/viewer/{}/0", scope.list_name()))
        .cloned()
        .unwrap_or(Value::Null);
    let limits = settings::read(&node, dataset, MAX_ROWS).ok_or_else(|| {
        Error::Upstream(crate::wit_types::ApiFailure {
            status: 200,
            codes: Vec::new(),
            message: format!("the settings of {dataset} came back without limits"),
            hint: None,
            permission: None,
        })
    })?;
    cache.limits.insert(key, limits.clone());
    Ok(limits)
}

/// `dataset-limits`.
pub fn dataset_limits(
    transport: &dyn Transport,
    cache: &mut AnalyticsCache,
    account_id: &str,
    dataset: &str,
    zone: Option<&str>,
) -> Result<crate::wit_analytics::Limits, Error> {
    let scope = Scope::resolve(transport, &mut cache.zones, account_id, zone)?;
    let dataset = dataset.trim();
    let l = limits(transport, cache, &scope, dataset)?;
    Ok(crate::wit_analytics::Limits {
        dataset: dataset.to_string(),
        level: level(&scope),
        zone: scope.zone.as_ref().map(zone_ref),
        enabled: l.enabled,
        max_duration_seconds: l.max_duration,
        not_older_than_seconds: l.not_older_than,
        max_page_size: l.max_page_size,
        max_number_of_fields: l.max_number_of_fields,
        available_fields: l.available_fields,
    })
}

/// Refuses a range (or a disabled dataset) before the query is sent.
fn preflight(
    limits: &DatasetLimits,
    scope: &Scope,
    dataset: &str,
    range: &Range,
    now: i64,
    fields: (&str, &str),
) -> Result<(), Error> {
    if !limits.enabled {
        return Err(Error::PlanLimit(crate::wit_types::ApiFailure {
            status: 200,
            codes: Vec::new(),
            message: format!("{dataset} is not enabled for {}", scope.describe()),
            hint: Some("The plan does not include this dataset.".to_string()),
            permission: None,
        }));
    }
    settings::check_range(range, limits, now, dataset, &scope.describe(), fields)
}

/// Sends a prepared body. A REST-envelope refusal is the matching API error with the
/// permission to add; GraphQL problems get their hints. The answer holds what `keep` keeps.
fn send_body(
    transport: &dyn Transport,
    body: &Value,
    permission: Permission,
    keep: Keep,
) -> Result<Answer, Error> {
    let request = crate::http::Request::graphql(body.to_string().into_bytes());
    let response = transport.send(&request)?;
    let mut answer = graphql::parse_kept(&request, response, keep).map_err(lacking(permission))?;
    answer.problems = with_hints(answer.problems, permission);
    Ok(answer)
}

#[cfg(test)]
mod tests;
