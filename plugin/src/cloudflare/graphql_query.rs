//! Reading a user's GraphQL document before it is sent: only query operations within
//! `graphql_bounds`'s bounds pass (the host's guard applies the same), the scope tags it declares
//! are found, and the datasets it reads are listed with their time ranges so
//! they can be checked against the datasets' limits.

use crate::error::invalid;
use crate::time;
use crate::wit_types::Error;
use apollo_parser::cst;
use serde_json::{Map, Value};

/// What a query reads: one entry per dataset selected under `viewer.zones` / `viewer.accounts`.
#[derive(Debug, PartialEq)]
pub struct DatasetUse {
    pub dataset: String,
    pub account_level: bool,
    /// The zone tag, when the query names one (literal or variable).
    pub zone_tag: Option<String>,
    /// Unix seconds, from `datetime*` / `date*` filter bounds; `None` when not given.
    pub since: Option<i64>,
    pub until: Option<i64>,
}

/// A document that may be sent.
#[derive(Debug, PartialEq)]
pub struct Checked {
    /// The variables the chosen operation declares.
    pub declared: Vec<String>,
    pub datasets: Vec<DatasetUse>,
}

/// Parses the document and refuses anything but query operations; picks the operation to run.
/// `variables` are used to read ranges and tags given as variables.
pub fn check(
    query: &str,
    operation_name: Option<&str>,
    variables: &Map<String, Value>,
) -> Result<Checked, Error> {
    let tree =
        graphql_bounds::parse(query).map_err(|refusal| invalid("query", refusal.to_string()))?;
    if let Some(e) = tree.errors().next() {
        return Err(invalid(
            "query",
            format!(
                "not valid GraphQL: {} at character {}",
                e.message(),
                e.index()
            ),
        ));
    }
    let mut operations = Vec::new();
    for definition in tree.document().definitions() {
        match definition {
            cst::Definition::OperationDefinition(op) => {
                if let Some(kind) = op.operation_type()
                    && kind.query_token().is_none()
                {
                    let what = if kind.mutation_token().is_some() {
                        "a mutation"
                    } else {
                        "a subscription"
                    };
                    return Err(invalid(
                        "query",
                        format!(
                            "the document contains {what}: only query operations are allowed \
                             (analytics are read-only)"
                        ),
                    ));
                }
                operations.push(op);
            }
            cst::Definition::FragmentDefinition(_) => {}
            _ => {
                return Err(invalid(
                    "query",
                    "only query operations and fragments are allowed, not type definitions",
                ));
            }
        }
    }
    graphql_bounds::check(&tree.document())
        .map_err(|refusal| invalid("query", refusal.to_string()))?;
    let name_of = |op: &cst::OperationDefinition| op.name().map(|n| n.text().to_string());
    let op = match operation_name {
        Some(wanted) => operations
            .into_iter()
            .find(|op| name_of(op).as_deref() == Some(wanted))
            .ok_or_else(|| {
                invalid(
                    "operation-name",
                    format!(
                        "no operation named {} in the document",
                        crate::input::quote(wanted)
                    ),
                )
            })?,
        None if operations.len() == 1 => operations.remove(0),
        None if operations.is_empty() => {
            return Err(invalid("query", "the document has no query operation"));
        }
        None => {
            return Err(invalid(
                "operation-name",
                "the document has several operations: say which one to run",
            ));
        }
    };
    let declared = op
        .variable_definitions()
        .map(|defs| {
            defs.variable_definitions()
                .filter_map(|d| d.variable()?.name().map(|n| n.text().to_string()))
                .collect()
        })
        .unwrap_or_default();
    let mut datasets = Vec::new();
    for viewer in fields(op.selection_set()).filter(|f| field_name(f) == "viewer") {
        for scope in fields(viewer.selection_set()) {
            let account_level = match field_name(&scope).as_str() {
                "zones" => false,
                "accounts" => true,
                _ => continue,
            };
            let zone_tag = argument(&scope, "filter")
                .map(|filter| resolve(&filter, variables))
                .and_then(|filter| {
                    let tag = filter.get("zoneTag").or_else(|| {
                        filter
                            .get("zoneTag_in")
                            .and_then(|list| list.as_array()?.first())
                    })?;
                    tag.as_str().map(str::to_string)
                });
            for dataset in fields(scope.selection_set()) {
                let name = field_name(&dataset);
                if name == "settings" || name.starts_with("__") {
                    continue;
                }
                let filter = argument(&dataset, "filter")
                    .map(|f| resolve(&f, variables))
                    .unwrap_or(Value::Null);
                let (since, until) = bounds(&filter);
                datasets.push(DatasetUse {
                    dataset: name,
                    account_level,
                    zone_tag: zone_tag.clone(),
                    since,
                    until,
                });
            }
        }
    }
    Ok(Checked { declared, datasets })
}

fn fields(set: Option<cst::SelectionSet>) -> impl Iterator<Item = cst::Field> {
    set.into_iter()
        .flat_map(|s| s.selections())
        .filter_map(|s| match s {
            cst::Selection::Field(f) => Some(f),
            _ => None,
        })
}

fn field_name(field: &cst::Field) -> String {
    field
        .name()
        .map(|n| n.text().to_string())
        .unwrap_or_default()
}

fn argument(field: &cst::Field, name: &str) -> Option<cst::Value> {
    field
        .arguments()?
        .arguments()
        .find(|a| a.name().is_some_and(|n| n.text() == name))?
        .value()
}

/// A literal as JSON, with variables replaced by their values.
fn resolve(value: &cst::Value, variables: &Map<String, Value>) -> Value {
    match value {
        cst::Value::Variable(v) => v
            .name()
            .and_then(|n| variables.get(n.text().as_str()).cloned())
            .unwrap_or(Value::Null),
        cst::Value::StringValue(s) => Value::String(String::from(s)),
        cst::Value::IntValue(i) => i32::try_from(i).map_or(Value::Null, Value::from),
        cst::Value::BooleanValue(b) => Value::Bool(b.true_token().is_some()),
        cst::Value::EnumValue(e) => Value::String(e.text().to_string()),
        cst::Value::ListValue(list) => list.values().map(|v| resolve(&v, variables)).collect(),
        cst::Value::ObjectValue(object) => Value::Object(
            object
                .object_fields()
                .filter_map(|f| {
                    Some((
                        f.name()?.text().to_string(),
                        resolve(&f.value()?, variables),
                    ))
                })
                .collect(),
        ),
        _ => Value::Null,
    }
}

/// The widest `since` and `until` a filter states (in `AND` lists too): `datetime*_geq/_gt`
/// and `date*_geq/_gt` start it, `_leq/_lt` end it; a date as an end covers its whole day.
fn bounds(filter: &Value) -> (Option<i64>, Option<i64>) {
    let mut since: Option<i64> = None;
    let mut until: Option<i64> = None;
    let Some(object) = filter.as_object() else {
        return (None, None);
    };
    for (key, value) in object {
        if key == "AND" {
            for inner in value.as_array().into_iter().flatten() {
                let (s, u) = bounds(inner);
                since = since.max(s);
                until = match (until, u) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
            continue;
        }
        if !key.starts_with("date") {
            continue;
        }
        let Some(text) = value.as_str() else { continue };
        let is_date = text.len() == 10;
        let Some(at) = (if is_date {
            time::parse_rfc3339(&format!("{text}T00:00:00Z"))
        } else {
            time::parse_rfc3339(text)
        }) else {
            continue;
        };
        let (start, end) = (at, if is_date { at + 86_400 } else { at });
        if key.ends_with("_geq") || key.ends_with("_gt") {
            since = Some(since.map_or(start, |s| s.max(start)));
        } else if key.ends_with("_leq") || key.ends_with("_lt") {
            until = Some(until.map_or(end, |u| u.min(end)));
        } else if !key.contains('_') {
            // Equality: one instant or one day.
            since = Some(start);
            until = Some(if is_date { end } else { start + 1 });
        }
    }
    (since, until)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn mutations_and_subscriptions_are_refused() {
        for doc in [
            "mutation { deleteEverything }",
            "query A { viewer { budget } } mutation B { x }",
            "subscription { events }",
            "type Query { x: Int }",
            "{ viewer { ",
        ] {
            let e = check(doc, None, &Map::new());
            assert!(
                matches!(&e, Err(Error::InvalidInput(p)) if p.field == "query"),
                "{doc}: {e:?}"
            );
        }
    }

    #[test]
    fn finds_datasets_tags_and_ranges_in_literals_and_variables() {
        let doc = r#"query Top($zoneTag: string!, $since: Time!) {
            viewer { zones(filter: {zoneTag: $zoneTag}) {
                top: httpRequestsAdaptiveGroups(limit: 10,
                    filter: {datetime_geq: $since, datetime_lt: "2026-11-26T12:00:00Z"}) { count }
                firewallEventsAdaptiveGroups(limit: 5, filter: {AND: [{date_geq: "2026-11-20"}, {date_leq: "2026-11-21"}]}) { count }
                settings { httpRequestsAdaptiveGroups { maxDuration } }
            } } }"#;
        let checked = check(
            doc,
            None,
            &vars(json!({"zoneTag": "abc", "since": "2026-11-26T00:00:00Z"})),
        )
        .expect("a query");
        assert_eq!(checked.declared, vec!["zoneTag", "since"]);
        assert_eq!(checked.datasets.len(), 2);
        let http = &checked.datasets[0];
        assert_eq!(http.dataset, "httpRequestsAdaptiveGroups");
        assert_eq!(http.zone_tag.as_deref(), Some("abc"));
        assert_eq!(http.since, time::parse_rfc3339("2026-11-26T00:00:00Z"));
        assert_eq!(http.until, time::parse_rfc3339("2026-11-26T12:00:00Z"));
        let fw = &checked.datasets[1];
        assert_eq!(fw.since, time::parse_rfc3339("2026-11-20T00:00:00Z"));
        assert_eq!(fw.until, time::parse_rfc3339("2026-11-22T00:00:00Z"));
    }

    #[test]
    fn several_operations_need_a_name() {
        let doc = "query A { viewer { budget } } query B { viewer { budget } }";
        assert!(matches!(
            check(doc, None, &Map::new()),
            Err(Error::InvalidInput(p)) if p.field == "operation-name"
        ));
        assert!(check(doc, Some("B"), &Map::new()).is_ok());
    }
}
