//! `POST /client/v4/graphql`: every query is parsed and validated against Cloudflare's GraphQL
//! Analytics schema (the 2024-06-04 dump plus two extensions, see `fixtures/README.md`), its
//! variables are coerced to their declared input types, and then a small executor walks the
//! selection:
//!
//! - `viewer { zones(filter: {zoneTag | zoneTag_in}) { … } accounts(filter: {accountTag}) { … } }`,
//!   arguments as literals or variables, aliases, fragments, `@skip`/`@include`, `__typename`;
//! - `dnsAnalyticsAdaptiveGroups` and `dnsAnalyticsAdaptive` over the synthetic events of
//!   [`crate::dns_events`], with Cloudflare's per-dataset limits (see [`dns_limits`]);
//! - `settings { <dataset> { enabled maxDuration notOlderThan maxPageSize maxNumberOfFields
//!   availableFields } }`;
//! - `httpRequests1dGroups`: one row, `{ sum { requests: 1234 } }` (what verify probes);
//! - any other list field answers `[]`, any other field `null`.
//!
//! Failures are answered as Cloudflare does: HTTP 200, `data: null`, one error with `message`,
//! `path` (for execution errors) and `extensions { code, timestamp }`.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::sync::OnceLock;

use apollo_compiler::executable::{Field, Operation, Selection, SelectionSet};
use apollo_compiler::response::{JsonMap, JsonValue};
use apollo_compiler::validation::{DiagnosticList, Valid};
use apollo_compiler::{ExecutableDocument, Schema, ast};
use axum::response::Response;
use http::StatusCode;
use serde_json::{Map, Value, json};

use crate::dns_events::{Aggregate, EVENT_FIELDS, Event, FieldValue, events};
use crate::{
    DAY, Permission, Plan, Scenario, json_response, parse_date, parse_rfc3339, permission_missing,
    rfc3339, token_account, unix_now, zone_plan, zones,
};

const BASE_SCHEMA: &str =
    include_str!("../fixtures/graphql/cloudflare-graphql-analytics-schema-2024-06-04.graphql");
const ACCOUNT_DNS_EXTENSION: &str =
    include_str!("../fixtures/graphql/account-dns-analytics.extension.graphql");
const ACCOUNT_SETTINGS_EXTENSION: &str =
    include_str!("../fixtures/graphql/account-settings.extension.graphql");

/// Returned for `viewer { budget }`.
const BUDGET: u64 = 1_000_000;
/// The fixed answer of `httpRequests1dGroups` (any zone, any account, any filter).
const HTTP_REQUESTS_1D_SUM: u64 = 1234;

/// Cloudflare's GraphQL Analytics schema, parsed and validated once (about a second in debug
/// builds): the 2024-06-04 dump, account-level DNS analytics, and their `AccountSettings` fields.
pub fn graphql_schema() -> &'static Valid<Schema> {
    static SCHEMA: OnceLock<Valid<Schema>> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let sdl = format!("{BASE_SCHEMA}\n{ACCOUNT_DNS_EXTENSION}\n{ACCOUNT_SETTINGS_EXTENSION}\n");
        Schema::parse_and_validate(sdl, "cloudflare-graphql-analytics.graphql")
            .expect("the GraphQL Analytics schema and its extensions are valid")
    })
}

/// Checks a query and its variables as the fake does before answering: the document must parse
/// and validate against [`graphql_schema`], have exactly one operation (or be given its name by
/// the request; here: the only one), and `variables` (a JSON object or null) must coerce to the
/// declared variable types, so that, for example, an unknown key in a filter object is an error.
/// The error is the message the fake would send.
pub fn validate_graphql(query: &str, variables: &Value) -> Result<(), String> {
    prepare(query, variables, None).map(|_| ())
}

struct Prepared {
    document: Valid<ExecutableDocument>,
    variables: Map<String, Value>,
}

fn prepare(
    query: &str,
    variables: &Value,
    operation_name: Option<&str>,
) -> Result<Prepared, String> {
    let schema = graphql_schema();
    let document = ExecutableDocument::parse_and_validate(schema, query, "query.graphql")
        .map_err(|with_errors| diagnostics_message(&with_errors.errors))?;
    let operation = document
        .operations
        .get(operation_name)
        .map_err(|error| error.message().to_string())?;
    let raw: JsonMap = match variables {
        Value::Null => JsonMap::new(),
        Value::Object(_) => match JsonValue::from(variables.clone()) {
            JsonValue::Object(map) => map,
            _ => JsonMap::new(),
        },
        _ => return Err("variables must be a JSON object".to_owned()),
    };
    let coerced = apollo_compiler::request::coerce_variable_values(schema, operation, &raw)
        .map_err(|error| error.message().to_string())?;
    let variables = match serde_json::to_value(coerced.into_inner()) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    Ok(Prepared {
        document,
        variables,
    })
}

fn diagnostics_message(errors: &DiagnosticList) -> String {
    errors
        .iter()
        .map(|diagnostic| {
            let message = diagnostic.error.to_string();
            match diagnostic.line_column_range() {
                Some(range) => format!(
                    "{message} (line {}, column {})",
                    range.start.line, range.start.column
                ),
                None => message,
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[derive(serde::Deserialize)]
struct GraphqlRequest {
    query: String,
    #[serde(default)]
    variables: Value,
    #[serde(default, rename = "operationName")]
    operation_name: Option<String>,
}

pub(crate) fn handle(scenario: Scenario, body: &[u8]) -> Response {
    let Ok(request) = serde_json::from_slice::<GraphqlRequest>(body) else {
        return json_response(
            StatusCode::BAD_REQUEST,
            json!({
                "data": null,
                "errors": [{
                    "message": "failed to parse request body",
                    "extensions": { "code": "bad_request" }
                }]
            }),
        );
    };
    let prepared = match prepare(
        &request.query,
        &request.variables,
        request.operation_name.as_deref(),
    ) {
        Ok(prepared) => prepared,
        Err(message) => return graphql_error(&message, None, "bad_request"),
    };
    let Ok(operation) = prepared
        .document
        .operations
        .get(request.operation_name.as_deref())
    else {
        return graphql_error("no operation to run", None, "bad_request");
    };
    let exec = Exec {
        document: &prepared.document,
        variables: &prepared.variables,
        scenario,
        now: unix_now(),
    };
    match exec.run(operation) {
        Ok(data) => json_response(StatusCode::OK, json!({ "data": data, "errors": null })),
        Err(error) => graphql_error(&error.message, Some(Value::Array(error.path)), error.code),
    }
}

/// GraphQL reports query failures with HTTP 200 and `data: null`.
pub(crate) fn graphql_error(message: &str, path: Option<Value>, code: &str) -> Response {
    let mut error = json!({
        "message": message,
        "extensions": { "code": code, "timestamp": rfc3339(unix_now()) }
    });
    if let Some(path) = path {
        error["path"] = path;
    }
    json_response(StatusCode::OK, json!({ "data": null, "errors": [error] }))
}

// ---------------------------------------------------------------------------------------------
// Limits

/// Per-dataset limits of the DNS datasets, as the `settings` node reports them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Widest time range of one query, seconds.
    pub max_duration: i64,
    /// How far back a query may reach from now, seconds.
    pub not_older_than: i64,
    pub max_page_size: u64,
    pub max_number_of_fields: usize,
}

/// DNS analytics limits ("DNS analytics history by plan" in the reference README): zones on
/// Free 7 d range / 8 d history, Pro and Business 31 d / 31 d, Enterprise 62 d / 62 d; accounts
/// 7 d / 31 d whatever their zones' plans.
pub(crate) fn dns_limits(scope: &Scope) -> Limits {
    let (max_duration, not_older_than) = match scope {
        Scope::Account { .. } => (7 * DAY, 31 * DAY),
        Scope::Zone { plan, .. } => match plan {
            Plan::Free => (7 * DAY, 8 * DAY),
            Plan::Pro | Plan::Business => (31 * DAY, 31 * DAY),
            Plan::Enterprise => (62 * DAY, 62 * DAY),
        },
    };
    Limits {
        max_duration,
        not_older_than,
        max_page_size: 10_000,
        max_number_of_fields: 30,
    }
}

/// Group fields of `dnsAnalyticsAdaptiveGroups`, as `availableFields` names them (nested fields
/// as `parent_child`, per Cloudflare's settings documentation).
const GROUP_METRIC_FIELDS: &[&str] = &[
    "avg_processingTimeUs",
    "avg_sampleInterval",
    "count",
    "quantiles_processingTimeUsP50",
    "quantiles_processingTimeUsP90",
    "quantiles_processingTimeUsP99",
];

/// Group dimensions (zone scope; accounts add `zoneTag`).
const GROUP_DIMENSIONS: &[&str] = &[
    "coloName",
    "date",
    "datetime",
    "datetimeFifteenMinutes",
    "datetimeFiveMinutes",
    "datetimeHalfOfHour",
    "datetimeHour",
    "datetimeMinute",
    "destinationIP",
    "ipVersion",
    "protocol",
    "queryName",
    "querySizeBucket",
    "queryType",
    "responseCached",
    "responseCode",
    "responseSizeBucket",
    "responseStale",
    "sourceIP",
    "upstreamIP",
];

/// Raw fields of `dnsAnalyticsAdaptive` (zone scope; accounts add `zoneTag`).
const RAW_FIELDS: &[&str] = &[
    "coloName",
    "date",
    "datetime",
    "destinationIP",
    "ipVersion",
    "protocol",
    "queryName",
    "querySize",
    "queryType",
    "responseCached",
    "responseCode",
    "responseSize",
    "responseStale",
    "sampleInterval",
    "sourceIP",
    "upstreamIP",
];

/// The field that Free and Pro zones may not use in DNS analytics.
const PLAN_GATED_FIELD: &str = "responseCached";

fn plan_allows_response_cached(scope: &Scope) -> bool {
    match scope {
        Scope::Zone { plan, .. } => *plan >= Plan::Business,
        Scope::Account { .. } => true,
    }
}

/// The `settings` subnode of one dataset.
fn dataset_settings(scope: &Scope, dataset: &str) -> Value {
    let gated = !plan_allows_response_cached(scope);
    let is_account = matches!(scope, Scope::Account { .. });
    let available: Option<Vec<String>> = match dataset {
        "dnsAnalyticsAdaptiveGroups" => {
            let mut fields: Vec<String> = GROUP_METRIC_FIELDS
                .iter()
                .map(|f| (*f).to_owned())
                .collect();
            fields.extend(
                GROUP_DIMENSIONS
                    .iter()
                    .chain(is_account.then_some(&"zoneTag"))
                    .filter(|d| !(gated && **d == PLAN_GATED_FIELD))
                    .map(|d| format!("dimensions_{d}")),
            );
            fields.sort();
            Some(fields)
        }
        "dnsAnalyticsAdaptive" => {
            let mut fields: Vec<String> = RAW_FIELDS
                .iter()
                .chain(is_account.then_some(&"zoneTag"))
                .filter(|f| !(gated && **f == PLAN_GATED_FIELD))
                .map(|f| (*f).to_owned())
                .collect();
            fields.sort();
            Some(fields)
        }
        _ => None,
    };
    match available {
        Some(available) => {
            let limits = dns_limits(scope);
            json!({
                "enabled": true,
                "maxDuration": limits.max_duration,
                "notOlderThan": limits.not_older_than,
                "maxPageSize": limits.max_page_size,
                "maxNumberOfFields": limits.max_number_of_fields,
                "availableFields": available,
            })
        }
        // Other datasets: the limits of the settings documentation's example.
        None => json!({
            "enabled": true,
            "maxDuration": 259_200,
            "notOlderThan": 2_678_400,
            "maxPageSize": 10_000,
            "maxNumberOfFields": 30,
            "availableFields": [],
        }),
    }
}

/// `604800` → `7d`, `5400` → `90m`.
fn human_duration(seconds: i64) -> String {
    if seconds % DAY == 0 {
        format!("{}d", seconds / DAY)
    } else if seconds % 3600 == 0 {
        format!("{}h", seconds / 3600)
    } else if seconds % 60 == 0 {
        format!("{}m", seconds / 60)
    } else {
        format!("{seconds}s")
    }
}

// ---------------------------------------------------------------------------------------------
// Execution

pub(crate) enum Scope {
    Zone {
        id: String,
        plan: Plan,
        plan_name: String,
    },
    Account {
        id: String,
        zone_ids: Vec<String>,
    },
}

impl Scope {
    fn id(&self) -> &str {
        match self {
            Scope::Zone { id, .. } | Scope::Account { id, .. } => id,
        }
    }

    fn event_zone_ids(&self) -> Vec<&str> {
        match self {
            Scope::Zone { id, .. } => vec![id.as_str()],
            Scope::Account { zone_ids, .. } => zone_ids.iter().map(String::as_str).collect(),
        }
    }
}

struct GqlError {
    message: String,
    path: Vec<Value>,
    code: &'static str,
}

impl GqlError {
    fn new(message: impl Into<String>, path: &[Value], code: &'static str) -> GqlError {
        GqlError {
            message: message.into(),
            path: path.to_vec(),
            code,
        }
    }
}

type Outcome<T> = Result<T, GqlError>;

fn with_index(path: &[Value], index: usize) -> Vec<Value> {
    let mut path = path.to_vec();
    path.push(json!(index));
    path
}

fn with_key(path: &[Value], field: &Field) -> Vec<Value> {
    let mut path = path.to_vec();
    path.push(json!(field.response_key().as_str()));
    path
}

/// Inserts a field's value; a key selected twice with object values gets both selections.
fn insert_merged(map: &mut Map<String, Value>, key: &str, value: Value) {
    match (map.get_mut(key), value) {
        (Some(Value::Object(existing)), Value::Object(new)) => {
            for (k, v) in new {
                insert_merged(existing, &k, v);
            }
        }
        (Some(Value::Array(existing)), Value::Array(new)) if existing.len() == new.len() => {
            for (old, new) in existing.iter_mut().zip(new) {
                if let (Value::Object(old), Value::Object(new)) = (old, new) {
                    for (k, v) in new {
                        insert_merged(old, &k, v);
                    }
                }
            }
        }
        (_, value) => {
            map.insert(key.to_owned(), value);
        }
    }
}

/// The arguments of a dataset field.
struct DatasetArgs {
    filter: Value,
    limit: u64,
    order_by: Vec<String>,
}

struct Exec<'a> {
    document: &'a ExecutableDocument,
    variables: &'a Map<String, Value>,
    scenario: Scenario,
    now: i64,
}

impl Exec<'_> {
    /// The fields of a selection set, through fragments, honouring `@skip` and `@include`.
    fn fields<'s>(&'s self, set: &'s SelectionSet) -> Vec<&'s Field> {
        let mut out = Vec::new();
        self.collect_fields(set, &mut out);
        out
    }

    fn collect_fields<'s>(&'s self, set: &'s SelectionSet, out: &mut Vec<&'s Field>) {
        for selection in &set.selections {
            match selection {
                Selection::Field(field) => {
                    if self.included(&field.directives) {
                        out.push(field);
                    }
                }
                Selection::FragmentSpread(spread) => {
                    if self.included(&spread.directives)
                        && let Some(fragment) = self.document.fragments.get(&spread.fragment_name)
                    {
                        self.collect_fields(&fragment.selection_set, out);
                    }
                }
                Selection::InlineFragment(inline) => {
                    if self.included(&inline.directives) {
                        self.collect_fields(&inline.selection_set, out);
                    }
                }
            }
        }
    }

    fn included(&self, directives: &ast::DirectiveList) -> bool {
        directives.iter().all(|directive| {
            let condition = directive
                .arguments
                .iter()
                .find(|argument| argument.name == "if")
                .map(|argument| self.value(&argument.value));
            !matches!(
                (directive.name.as_str(), condition),
                ("skip", Some(Value::Bool(true))) | ("include", Some(Value::Bool(false)))
            )
        })
    }

    /// A literal or variable argument value as JSON.
    fn value(&self, value: &ast::Value) -> Value {
        match value {
            ast::Value::Null => Value::Null,
            ast::Value::Enum(name) => json!(name.as_str()),
            ast::Value::Variable(name) => self
                .variables
                .get(name.as_str())
                .cloned()
                .unwrap_or(Value::Null),
            ast::Value::String(s) => json!(s),
            ast::Value::Float(f) => f.try_to_f64().map_or(Value::Null, |f| json!(f)),
            ast::Value::Int(i) => {
                let text = i.as_str();
                text.parse::<i64>()
                    .map(Value::from)
                    .or_else(|_| text.parse::<u64>().map(Value::from))
                    .unwrap_or_else(|_| i.try_to_f64().map_or(Value::Null, |f| json!(f)))
            }
            ast::Value::Boolean(b) => json!(b),
            ast::Value::List(items) => Value::Array(items.iter().map(|i| self.value(i)).collect()),
            ast::Value::Object(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(name, v)| (name.to_string(), self.value(v)))
                    .collect(),
            ),
        }
    }

    fn arg(&self, field: &Field, name: &str) -> Value {
        field
            .arguments
            .iter()
            .find(|argument| argument.name == name)
            .map_or(Value::Null, |argument| self.value(&argument.value))
    }

    /// Copies the selected fields of `value` (GraphQL output: only what was asked for).
    fn project(&self, set: &SelectionSet, value: &Value) -> Value {
        match value {
            Value::Array(items) => {
                Value::Array(items.iter().map(|item| self.project(set, item)).collect())
            }
            Value::Object(object) if !set.selections.is_empty() => {
                let mut out = Map::new();
                for field in self.fields(set) {
                    let selected = if field.name == "__typename" {
                        json!(set.ty.as_str())
                    } else {
                        object
                            .get(field.name.as_str())
                            .map_or(Value::Null, |v| self.project(&field.selection_set, v))
                    };
                    insert_merged(&mut out, field.response_key().as_str(), selected);
                }
                Value::Object(out)
            }
            other => other.clone(),
        }
    }

    fn run(&self, operation: &Operation) -> Outcome<Value> {
        let mut data = Map::new();
        for field in self.fields(&operation.selection_set) {
            let value = match field.name.as_str() {
                "__typename" => json!(operation.selection_set.ty.as_str()),
                "cost" => json!(1),
                "viewer" => self.viewer(field)?,
                _ => Value::Null,
            };
            insert_merged(&mut data, field.response_key().as_str(), value);
        }
        Ok(Value::Object(data))
    }

    fn viewer(&self, viewer: &Field) -> Outcome<Value> {
        let path = [json!(viewer.response_key().as_str())];
        let mut out = Map::new();
        for field in self.fields(&viewer.selection_set) {
            let value = match field.name.as_str() {
                "__typename" => json!(viewer.selection_set.ty.as_str()),
                "budget" => json!(BUDGET),
                "zones" => self.zones(field, &with_key(&path, field))?,
                "accounts" => self.accounts(field, &with_key(&path, field))?,
                _ => Value::Null,
            };
            insert_merged(&mut out, field.response_key().as_str(), value);
        }
        Ok(Value::Object(out))
    }

    fn zones(&self, field: &Field, path: &[Value]) -> Outcome<Value> {
        let denied = |index| {
            GqlError::new(
                "not authorized for that zone",
                &with_index(path, index),
                "authz",
            )
        };
        let filter = self.arg(field, "filter");
        let tag = filter.get("zoneTag").and_then(Value::as_str);
        let tag_in: Option<Vec<&str>> = filter
            .get("zoneTag_in")
            .and_then(Value::as_array)
            .map(|tags| tags.iter().filter_map(Value::as_str).collect());
        let mut tags: Vec<&str> = match (tag, &tag_in) {
            (Some(tag), Some(list)) => list.iter().copied().filter(|t| *t == tag).collect(),
            (Some(tag), None) => vec![tag],
            (None, Some(list)) => list.clone(),
            (None, None) => {
                return Err(GqlError::new(
                    "zones must be filtered by zoneTag or zoneTag_in",
                    path,
                    "bad_request",
                ));
            }
        };
        if let Some(after) = filter.get("zoneTag_gt").and_then(Value::as_str) {
            tags.retain(|t| *t > after);
        }
        if let Some(limit) = self.arg(field, "limit").as_u64() {
            tags.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        }
        if permission_missing(self.scenario, Permission::ZoneAnalyticsRead) {
            return Err(denied(0));
        }
        let visible = zones(self.scenario);
        let mut out = Vec::new();
        for (index, tag) in tags.iter().enumerate() {
            let Some(zone) = visible.iter().find(|z| z["id"].as_str() == Some(tag)) else {
                return Err(denied(index));
            };
            let scope = Scope::Zone {
                id: (*tag).to_owned(),
                plan: zone_plan(zone),
                plan_name: zone
                    .pointer("/plan/name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
            };
            out.push(self.scope_object(&scope, &field.selection_set, &with_index(path, index))?);
        }
        Ok(Value::Array(out))
    }

    fn accounts(&self, field: &Field, path: &[Value]) -> Outcome<Value> {
        let filter = self.arg(field, "filter");
        let tag = filter
            .get("accountTag")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if permission_missing(self.scenario, Permission::AccountAnalyticsRead)
            || tag != token_account(self.scenario)
        {
            return Err(GqlError::new(
                "not authorized for that account",
                &with_index(path, 0),
                "authz",
            ));
        }
        let zone_ids = zones(self.scenario)
            .iter()
            .filter(|z| z.pointer("/account/id").and_then(Value::as_str) == Some(tag))
            .filter_map(|z| z["id"].as_str().map(str::to_owned))
            .collect();
        let scope = Scope::Account {
            id: tag.to_owned(),
            zone_ids,
        };
        let object = self.scope_object(&scope, &field.selection_set, &with_index(path, 0))?;
        Ok(Value::Array(vec![object]))
    }

    /// One `zone` or `account` object.
    fn scope_object(&self, scope: &Scope, set: &SelectionSet, path: &[Value]) -> Outcome<Value> {
        let mut out = Map::new();
        for field in self.fields(set) {
            let field_path = with_key(path, field);
            let value = match field.name.as_str() {
                "__typename" => json!(set.ty.as_str()),
                "zoneTag" | "accountTag" => json!(scope.id()),
                "settings" => self.settings(scope, field),
                "dnsAnalyticsAdaptiveGroups" => self.dns_groups(scope, field, &field_path)?,
                "dnsAnalyticsAdaptive" => self.dns_raw(scope, field, &field_path)?,
                "httpRequests1dGroups" => self.project(
                    &field.selection_set,
                    &json!([{ "sum": { "requests": HTTP_REQUESTS_1D_SUM } }]),
                ),
                _ if field.definition.ty.is_list() => json!([]),
                _ => Value::Null,
            };
            insert_merged(&mut out, field.response_key().as_str(), value);
        }
        Ok(Value::Object(out))
    }

    fn settings(&self, scope: &Scope, field: &Field) -> Value {
        let mut out = Map::new();
        for dataset in self.fields(&field.selection_set) {
            let value = if dataset.name == "__typename" {
                json!(field.selection_set.ty.as_str())
            } else {
                self.project(
                    &dataset.selection_set,
                    &dataset_settings(scope, dataset.name.as_str()),
                )
            };
            insert_merged(&mut out, dataset.response_key().as_str(), value);
        }
        Value::Object(out)
    }

    fn dataset_args(&self, field: &Field, limits: &Limits, path: &[Value]) -> Outcome<DatasetArgs> {
        let filter = self.arg(field, "filter");
        let limit = match self.arg(field, "limit") {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        }
        .ok_or_else(|| {
            GqlError::new(
                "limit must be positive number and not greater than 10000",
                path,
                "bad_request",
            )
        })?;
        if limit > limits.max_page_size {
            return Err(GqlError::new(
                format!(
                    "limit must be less than or equal to {}",
                    limits.max_page_size
                ),
                path,
                "bad_request",
            ));
        }
        let order_by = match self.arg(field, "orderBy") {
            Value::Array(items) => items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            Value::String(one) => vec![one],
            _ => Vec::new(),
        };
        Ok(DatasetArgs {
            filter,
            limit,
            order_by,
        })
    }

    /// Number of fields, plan, time range: the checks both DNS datasets share.
    fn check_dns_query(
        &self,
        scope: &Scope,
        args: &DatasetArgs,
        selected: &[String],
        field_count: usize,
        path: &[Value],
    ) -> Outcome<()> {
        let limits = dns_limits(scope);
        if field_count > limits.max_number_of_fields {
            return Err(GqlError::new(
                format!(
                    "number of fields can't be more than {}",
                    limits.max_number_of_fields
                ),
                path,
                "bad_request",
            ));
        }
        let uses_gated = selected.iter().any(|f| f == PLAN_GATED_FIELD)
            || filter_mentions(&args.filter, PLAN_GATED_FIELD)
            || args
                .order_by
                .iter()
                .any(|o| order_field(o).0 == PLAN_GATED_FIELD);
        if uses_gated
            && !plan_allows_response_cached(scope)
            && let Scope::Zone { id, plan_name, .. } = scope
        {
            return Err(GqlError::new(
                format!(
                    "zone '{id}' does not have access to the field {PLAN_GATED_FIELD} on its plan ({plan_name})"
                ),
                path,
                "authz",
            ));
        }
        let (lower, upper) = time_bounds(&args.filter)
            .map_err(|message| GqlError::new(message, path, "bad_request"))?;
        let too_wide = format!(
            "the time range is too wide: it must be at most {}s ({})",
            limits.max_duration,
            human_duration(limits.max_duration)
        );
        let Some(lower) = lower else {
            return Err(GqlError::new(
                format!("{too_wide}; filter on datetime or date to bound it"),
                path,
                "bad_request",
            ));
        };
        let upper = upper.unwrap_or(self.now);
        if lower < self.now - limits.not_older_than {
            return Err(GqlError::new(
                format!(
                    "cannot request data older than {}s ({})",
                    limits.not_older_than,
                    human_duration(limits.not_older_than)
                ),
                path,
                "bad_request",
            ));
        }
        if upper - lower > limits.max_duration {
            return Err(GqlError::new(too_wide, path, "bad_request"));
        }
        Ok(())
    }

    fn matching_events(
        &self,
        scope: &Scope,
        filter: &Value,
        path: &[Value],
    ) -> Outcome<Vec<Event>> {
        let mut out = Vec::new();
        for event in events(self.now, &scope.event_zone_ids()) {
            if filter_matches(filter, &event)
                .map_err(|message| GqlError::new(message, path, "bad_request"))?
            {
                out.push(event);
            }
        }
        Ok(out)
    }

    fn dns_groups(&self, scope: &Scope, field: &Field, path: &[Value]) -> Outcome<Value> {
        let args = self.dataset_args(field, &dns_limits(scope), path)?;
        let mut dimensions: Vec<String> = Vec::new();
        let mut field_count = 0;
        for selected in self.fields(&field.selection_set) {
            match selected.name.as_str() {
                "__typename" => {}
                "dimensions" => {
                    for dimension in self.fields(&selected.selection_set) {
                        if dimension.name != "__typename" {
                            field_count += 1;
                            if !dimensions.iter().any(|d| *d == dimension.name.as_str()) {
                                dimensions.push(dimension.name.to_string());
                            }
                        }
                    }
                }
                "avg" | "quantiles" => {
                    field_count += self
                        .fields(&selected.selection_set)
                        .iter()
                        .filter(|f| f.name != "__typename")
                        .count();
                }
                _ => field_count += 1,
            }
        }
        self.check_dns_query(scope, &args, &dimensions, field_count, path)?;

        let mut groups: BTreeMap<Vec<FieldValue>, Vec<Event>> = BTreeMap::new();
        for event in self.matching_events(scope, &args.filter, path)? {
            let key = dimensions
                .iter()
                .map(|d| {
                    event
                        .field(d)
                        .unwrap_or_else(|| FieldValue::Str(String::new()))
                })
                .collect();
            groups.entry(key).or_default().push(event);
        }
        let mut rows: Vec<(Vec<FieldValue>, Aggregate)> = groups
            .into_iter()
            .map(|(key, events)| (key, Aggregate::of(&events)))
            .collect();
        // Stable: ties keep the ascending order of the dimension values.
        rows.sort_by(|a, b| {
            args.order_by
                .iter()
                .map(|order| compare_groups(order, &dimensions, a, b))
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
        });
        rows.truncate(usize::try_from(args.limit).unwrap_or(usize::MAX));
        let rows: Vec<Value> = rows
            .iter()
            .map(|(key, aggregate)| {
                let dims: Map<String, Value> = dimensions
                    .iter()
                    .zip(key)
                    .map(|(name, value)| (name.clone(), value.to_json()))
                    .collect();
                json!({
                    "count": aggregate.count,
                    "avg": {
                        "processingTimeUs": aggregate.avg_processing_time_us,
                        "sampleInterval": aggregate.avg_sample_interval,
                    },
                    "quantiles": {
                        "processingTimeUsP50": aggregate.p50,
                        "processingTimeUsP90": aggregate.p90,
                        "processingTimeUsP99": aggregate.p99,
                    },
                    "dimensions": dims,
                })
            })
            .collect();
        Ok(self.project(&field.selection_set, &Value::Array(rows)))
    }

    fn dns_raw(&self, scope: &Scope, field: &Field, path: &[Value]) -> Outcome<Value> {
        let args = self.dataset_args(field, &dns_limits(scope), path)?;
        let selected: Vec<String> = self
            .fields(&field.selection_set)
            .iter()
            .filter(|f| f.name != "__typename")
            .map(|f| f.name.to_string())
            .collect();
        self.check_dns_query(scope, &args, &selected, selected.len(), path)?;

        // One raw row per query (sampleInterval 1), oldest first, then in table order.
        let mut rows: Vec<Event> = Vec::new();
        for event in self.matching_events(scope, &args.filter, path)? {
            for _ in 0..event.group.count {
                rows.push(event);
            }
        }
        rows.sort_by(|a, b| {
            args.order_by
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
        rows.truncate(usize::try_from(args.limit).unwrap_or(usize::MAX));
        let rows: Vec<Value> = rows
            .iter()
            .map(|event| {
                Value::Object(
                    EVENT_FIELDS
                        .iter()
                        .filter_map(|name| {
                            event
                                .field(name)
                                .map(|value| ((*name).to_owned(), value.to_json()))
                        })
                        .collect(),
                )
            })
            .collect();
        Ok(self.project(&field.selection_set, &Value::Array(rows)))
    }
}

/// `count_DESC` → (`count`, true); `queryName_ASC` → (`queryName`, false).
fn order_field(order: &str) -> (&str, bool) {
    if let Some(name) = order.strip_suffix("_DESC") {
        (name, true)
    } else {
        (order.strip_suffix("_ASC").unwrap_or(order), false)
    }
}

fn compare_groups(
    order: &str,
    dimensions: &[String],
    (a_key, a): &(Vec<FieldValue>, Aggregate),
    (b_key, b): &(Vec<FieldValue>, Aggregate),
) -> Ordering {
    let (name, descending) = order_field(order);
    let ordering = match name {
        "count" => a.count.cmp(&b.count),
        "avg_processingTimeUs" => a
            .avg_processing_time_us
            .total_cmp(&b.avg_processing_time_us),
        "avg_sampleInterval" => a.avg_sample_interval.total_cmp(&b.avg_sample_interval),
        "quantiles_processingTimeUsP50" => a.p50.total_cmp(&b.p50),
        "quantiles_processingTimeUsP90" => a.p90.total_cmp(&b.p90),
        "quantiles_processingTimeUsP99" => a.p99.total_cmp(&b.p99),
        // A dimension that is not grouped by has no single value per group: ignored.
        dimension => dimensions
            .iter()
            .position(|d| d == dimension)
            .map_or(Ordering::Equal, |i| a_key[i].cmp(&b_key[i])),
    };
    if descending {
        ordering.reverse()
    } else {
        ordering
    }
}

// ---------------------------------------------------------------------------------------------
// Filters

/// `queryName_like` → (`queryName`, `like`); `queryName` → (`queryName`, ``).
fn split_filter_key(key: &str) -> (&str, &str) {
    key.split_once('_').unwrap_or((key, ""))
}

fn filter_mentions(filter: &Value, field: &str) -> bool {
    match filter {
        Value::Object(map) => map.iter().any(|(key, value)| {
            (!value.is_null() && split_filter_key(key).0 == field) || filter_mentions(value, field)
        }),
        Value::Array(items) => items.iter().any(|item| filter_mentions(item, field)),
        _ => false,
    }
}

/// Whether an event passes a `*_Filter_InputObject` (null entries are ignored).
fn filter_matches(filter: &Value, event: &Event) -> Result<bool, String> {
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
                    all = all && filter_matches(item, event)?;
                }
                all
            }
            "OR" => {
                let items = operand.as_array().map(Vec::as_slice).unwrap_or_default();
                let mut any = items.is_empty();
                for item in items {
                    any = any || filter_matches(item, event)?;
                }
                any
            }
            _ => {
                let (name, op) = split_filter_key(key);
                match event.field(name) {
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
fn like(text: &str, pattern: &str) -> bool {
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
/// and `date` conditions at the top level and inside `AND` (not `OR`).
fn time_bounds(filter: &Value) -> Result<(Option<i64>, Option<i64>), String> {
    let mut bounds = (None, None);
    collect_time_bounds(filter, &mut bounds)?;
    Ok(bounds)
}

fn collect_time_bounds(
    filter: &Value,
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
                collect_time_bounds(item, bounds)?;
            }
            continue;
        }
        let (name, op) = split_filter_key(key);
        // Width of one value of the field; a `datetime` bound is a point in time.
        let (width, is_date) = match name {
            "datetime" => (0, false),
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
    fn human_durations() {
        assert_eq!(human_duration(604_800), "7d");
        assert_eq!(human_duration(7200), "2h");
        assert_eq!(human_duration(61), "61s");
    }

    #[test]
    fn bounds_from_dates_and_times() {
        let filter = json!({
            "date_geq": "2026-11-20",
            "AND": [{ "datetime_lt": "2026-11-26T00:00:00Z" }],
            "OR": [{ "date_leq": "2030-01-01" }]
        });
        let (lower, upper) = time_bounds(&filter).expect("valid bounds");
        assert_eq!(lower.map(rfc3339).as_deref(), Some("2026-11-20T00:00:00Z"));
        assert_eq!(upper.map(rfc3339).as_deref(), Some("2026-11-26T00:00:00Z"));
        let (_, upper) = time_bounds(&json!({ "date_leq": "2026-11-25" })).expect("valid");
        assert_eq!(upper.map(rfc3339).as_deref(), Some("2026-11-26T00:00:00Z"));
        assert!(time_bounds(&json!({ "date_geq": "yesterday" })).is_err());
    }
}
