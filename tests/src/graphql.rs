//! `POST /client/v4/graphql`: every query is parsed and validated against Cloudflare's GraphQL
//! Analytics schema (the 2024-06-04 dump plus two extensions, see `fixtures/README.md`), its
//! variables are coerced to their declared input types, and then a small executor walks the
//! selection:
//!
//! - `viewer { zones(filter: {zoneTag | zoneTag_in}) { … } accounts(filter: {accountTag}) { … } }`,
//!   arguments as literals or variables, aliases, fragments, `@skip`/`@include`, `__typename`;
//! - the datasets of [`Dataset`], over the synthetic events of [`crate::dns_events`] and
//!   [`crate::http_events`], with filters, grouping, `orderBy` and `limit` shared by all of them
//!   ([`crate::analytics`]) and each dataset's limits enforced (see [`Dataset::limits`]);
//! - `settings { <any dataset> { enabled maxDuration notOlderThan maxPageSize
//!   maxNumberOfFields availableFields } }`;
//! - schema introspection (`__schema`, `__type`), executed by apollo-compiler
//!   ([`apollo_compiler::introspection::partial_execute`]) against the same schema;
//! - any other list field answers `[]`; any other field `null`, or the zero value of its type
//!   when it is non-null (`0`, `""`, `false`, `[]`, an object of zero values).
//!
//! Failures are answered as Cloudflare does: HTTP 200, `data: null`, one error with `message`,
//! `path` (for execution errors) and `extensions { code, timestamp }`. Exceptions: the
//! scenarios [`Scenario::GraphqlBudget`] and [`Scenario::GraphqlQuota`] refuse every query with
//! `path: null`; and a zone-scope query over several zones (`zoneTag_in`) of which only some are
//! readable answers the readable zones' data *and* one `authz` error per other zone (see
//! [`Exec::zones`]).

use std::cell::RefCell;
use std::sync::OnceLock;

use apollo_compiler::collections::HashMap;
use apollo_compiler::executable::{Field, Operation, Selection, SelectionSet};
use apollo_compiler::response::{JsonMap, JsonValue};
use apollo_compiler::schema::Implementers;
use apollo_compiler::validation::{DiagnosticList, Valid};
use apollo_compiler::{ExecutableDocument, Name, Schema, ast};
use axum::response::Response;
use http::StatusCode;
use serde_json::{Map, Value, json};

use crate::analytics::{
    Record, filter_matches, filter_mentions, group_by, order_field, raw_row, sort_groups,
    sort_records, time_bounds,
};
use crate::dns_events::{Aggregate, EVENT_FIELDS, events};
use crate::http_events::{
    FIREWALL_FIELDS, HTTP_FIELDS, HourRollup, firewall_aggregate, firewall_events,
    http_adaptive_aggregate, http_events, http_rollup_aggregate,
};
use crate::{
    DAY, Permission, Plan, Scenario, json_response, permission_missing, rfc3339, token_account,
    unix_now, zone_plan, zones,
};

const BASE_SCHEMA: &str =
    include_str!("../fixtures/graphql/cloudflare-graphql-analytics-schema-2024-06-04.graphql");
const ACCOUNT_DNS_EXTENSION: &str =
    include_str!("../fixtures/graphql/account-dns-analytics.extension.graphql");
const ACCOUNT_SETTINGS_EXTENSION: &str =
    include_str!("../fixtures/graphql/account-settings.extension.graphql");

/// Returned for `viewer { budget }`.
const BUDGET: u64 = 1_000_000;

/// The message of every GraphQL answer in [`Scenario::GraphqlBudget`] (code `budget`).
pub const BUDGET_EXCEEDED_MESSAGE: &str = "budget exceeded, please retry later";
/// The message of every GraphQL answer in [`Scenario::GraphqlQuota`] (code `quota`).
pub const QUOTA_EXCEEDED_MESSAGE: &str = "quota exceeded, please retry later";

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

/// Which types implement each interface (introspection's `possibleTypes`), computed once.
fn implementers_map() -> &'static HashMap<Name, Implementers> {
    static MAP: OnceLock<HashMap<Name, Implementers>> = OnceLock::new();
    MAP.get_or_init(|| graphql_schema().implementers_map())
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
    /// The coerced variables, as apollo-compiler's introspection wants them.
    coerced: Valid<JsonMap>,
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
    let variables = match serde_json::to_value(coerced.clone().into_inner()) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    Ok(Prepared {
        document,
        coerced,
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
    // Budget and quota refusals come before the query is even looked at.
    let exhausted = match scenario {
        Scenario::GraphqlBudget => Some((BUDGET_EXCEEDED_MESSAGE, "budget")),
        Scenario::GraphqlQuota => Some((QUOTA_EXCEEDED_MESSAGE, "quota")),
        _ => None,
    };
    if let Some((message, code)) = exhausted {
        return graphql_error(message, Some(Value::Null), code);
    }
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
    let introspection = match introspect(&prepared, operation) {
        Ok(data) => data,
        Err(message) => return graphql_error(&message, None, "bad_request"),
    };
    let exec = Exec {
        document: &prepared.document,
        variables: &prepared.variables,
        scenario,
        now: unix_now(),
        partial_errors: RefCell::new(Vec::new()),
    };
    match exec.run(operation) {
        Ok(mut data) => {
            if let (Value::Object(data), Some(Value::Object(introspected))) =
                (&mut data, introspection)
            {
                for (key, value) in introspected {
                    insert_merged(data, &key, value);
                }
            }
            let errors: Vec<Value> = exec
                .partial_errors
                .take()
                .into_iter()
                .map(|error| error.to_json())
                .collect();
            let errors = if errors.is_empty() {
                Value::Null
            } else {
                Value::Array(errors)
            };
            json_response(StatusCode::OK, json!({ "data": data, "errors": errors }))
        }
        Err(error) => graphql_error(&error.message, Some(Value::Array(error.path)), error.code),
    }
}

/// Executes the `__schema` / `__type` root fields of a query with apollo-compiler's
/// introspection (the whole schema: the dump and both extensions); `None` when the query has
/// none.
fn introspect(prepared: &Prepared, operation: &Operation) -> Result<Option<Value>, String> {
    let wanted = operation
        .root_fields(&prepared.document)
        .any(|field| field.name == "__schema" || field.name == "__type");
    if !wanted {
        return Ok(None);
    }
    apollo_compiler::introspection::check_max_depth(&prepared.document, operation)
        .map_err(|error| error.message().to_string())?;
    let response = apollo_compiler::introspection::partial_execute(
        graphql_schema(),
        implementers_map(),
        &prepared.document,
        operation,
        &prepared.coerced,
    )
    .map_err(|error| error.message().to_string())?;
    if let Some(error) = response.errors.first() {
        return Err(error.message.clone());
    }
    Ok(response
        .data
        .and_then(|data| serde_json::to_value(data).ok()))
}

/// GraphQL reports query failures with HTTP 200 and `data: null`. `path: Some(Value::Null)`
/// sends `"path": null`; `None` leaves the key out.
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
// Datasets and their limits

/// Per-dataset limits, as the `settings` node reports them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Widest time range of one query, seconds.
    pub max_duration: i64,
    /// How far back a query may reach from now, seconds.
    pub not_older_than: i64,
    pub max_page_size: u64,
    pub max_number_of_fields: usize,
}

impl Limits {
    const fn new(max_duration: i64, not_older_than: i64) -> Limits {
        Limits {
            max_duration,
            not_older_than,
            max_page_size: 10_000,
            max_number_of_fields: 30,
        }
    }
}

/// DNS analytics limits ("DNS analytics history by plan" in the reference README): zones on
/// Free 7 d range / 8 d history, Pro and Business 31 d / 31 d, Enterprise 62 d / 62 d; accounts
/// 7 d / 31 d whatever their zones' plans.
pub(crate) fn dns_limits(scope: &Scope) -> Limits {
    match scope {
        Scope::Account { .. } => Limits::new(7 * DAY, 31 * DAY),
        Scope::Zone { plan, .. } => match plan {
            Plan::Free => Limits::new(7 * DAY, 8 * DAY),
            Plan::Pro | Plan::Business => Limits::new(31 * DAY, 31 * DAY),
            Plan::Enterprise => Limits::new(62 * DAY, 62 * DAY),
        },
    }
}

/// The limits of the adaptive HTTP and firewall datasets (whatever the plan, zone or account):
/// 3 days range, 31 days history, as in the settings documentation's `firewallEventsAdaptive`
/// example (`fixtures/graphql/settings_firewallEventsAdaptive.docs.json`). Also the limits
/// `settings` reports for the datasets the fake does not model.
pub(crate) const ADAPTIVE_LIMITS: Limits = Limits::new(3 * DAY, 31 * DAY);
/// `httpRequests1hGroups`: 7 days range, 31 days history.
pub(crate) const HOURLY_LIMITS: Limits = Limits::new(7 * DAY, 31 * DAY);
/// `httpRequests1dGroups`: 365 days range and history.
pub(crate) const DAILY_LIMITS: Limits = Limits::new(365 * DAY, 365 * DAY);

/// The datasets the fake answers with data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dataset {
    DnsGroups,
    DnsRaw,
    HttpGroups,
    HttpRaw,
    Http1h,
    Http1d,
    FirewallGroups,
    FirewallRaw,
}

impl Dataset {
    const ALL: [Dataset; 8] = [
        Dataset::DnsGroups,
        Dataset::DnsRaw,
        Dataset::HttpGroups,
        Dataset::HttpRaw,
        Dataset::Http1h,
        Dataset::Http1d,
        Dataset::FirewallGroups,
        Dataset::FirewallRaw,
    ];

    /// The GraphQL field (and `settings` field) name.
    fn name(self) -> &'static str {
        match self {
            Dataset::DnsGroups => "dnsAnalyticsAdaptiveGroups",
            Dataset::DnsRaw => "dnsAnalyticsAdaptive",
            Dataset::HttpGroups => "httpRequestsAdaptiveGroups",
            Dataset::HttpRaw => "httpRequestsAdaptive",
            Dataset::Http1h => "httpRequests1hGroups",
            Dataset::Http1d => "httpRequests1dGroups",
            Dataset::FirewallGroups => "firewallEventsAdaptiveGroups",
            Dataset::FirewallRaw => "firewallEventsAdaptive",
        }
    }

    fn from_name(name: &str) -> Option<Dataset> {
        Dataset::ALL.into_iter().find(|d| d.name() == name)
    }

    /// DNS: per plan ([`dns_limits`]); adaptive HTTP and firewall: [`ADAPTIVE_LIMITS`];
    /// `httpRequests1hGroups`: [`HOURLY_LIMITS`]; `httpRequests1dGroups`: [`DAILY_LIMITS`].
    fn limits(self, scope: &Scope) -> Limits {
        match self {
            Dataset::DnsGroups | Dataset::DnsRaw => dns_limits(scope),
            Dataset::HttpGroups
            | Dataset::HttpRaw
            | Dataset::FirewallGroups
            | Dataset::FirewallRaw => ADAPTIVE_LIMITS,
            Dataset::Http1h => HOURLY_LIMITS,
            Dataset::Http1d => DAILY_LIMITS,
        }
    }

    /// The width of one `datetime` value (the hour of `httpRequests1hGroups`).
    fn datetime_width(self) -> i64 {
        if self == Dataset::Http1h { 3600 } else { 0 }
    }

    /// `availableFields` of its `settings` (nested fields as `parent_child`, per Cloudflare's
    /// settings documentation), sorted.
    fn available_fields(self, scope: &Scope) -> Vec<String> {
        let gated = !plan_allows_response_cached(scope);
        let is_account = matches!(scope, Scope::Account { .. });
        let keep =
            |f: &&&str| (is_account || **f != "zoneTag") && !(gated && **f == PLAN_GATED_FIELD);
        let dimensions = |list: &[&str]| -> Vec<String> {
            list.iter()
                .filter(keep)
                .map(|d| format!("dimensions_{d}"))
                .collect()
        };
        let raw = |list: &[&str]| -> Vec<String> {
            list.iter().filter(keep).map(|f| (*f).to_owned()).collect()
        };
        let metrics =
            |list: &[&str]| -> Vec<String> { list.iter().map(|m| (*m).to_owned()).collect() };
        let mut fields = match self {
            Dataset::DnsGroups => {
                let mut fields = metrics(DNS_GROUP_METRICS);
                fields.extend(dimensions(DNS_GROUP_DIMENSIONS));
                fields
            }
            Dataset::DnsRaw => raw(DNS_RAW_FIELDS),
            Dataset::HttpGroups => {
                let mut fields = metrics(HTTP_GROUP_METRICS);
                fields.extend(dimensions(HTTP_FIELDS));
                fields
            }
            Dataset::HttpRaw => raw(HTTP_FIELDS),
            Dataset::Http1h => {
                let mut fields = metrics(HTTP_ROLLUP_METRICS);
                fields.extend(dimensions(&["date", "datetime"]));
                fields
            }
            Dataset::Http1d => {
                let mut fields = metrics(HTTP_ROLLUP_METRICS);
                fields.extend(dimensions(&["date"]));
                fields
            }
            Dataset::FirewallGroups => {
                let mut fields = metrics(FIREWALL_GROUP_METRICS);
                fields.extend(dimensions(FIREWALL_FIELDS));
                fields
            }
            Dataset::FirewallRaw => raw(FIREWALL_FIELDS),
        };
        fields.sort();
        fields
    }
}

/// Group metrics of `dnsAnalyticsAdaptiveGroups`.
const DNS_GROUP_METRICS: &[&str] = &[
    "avg_processingTimeUs",
    "avg_sampleInterval",
    "count",
    "quantiles_processingTimeUsP50",
    "quantiles_processingTimeUsP90",
    "quantiles_processingTimeUsP99",
];

/// Group dimensions of `dnsAnalyticsAdaptiveGroups` (accounts add `zoneTag`).
const DNS_GROUP_DIMENSIONS: &[&str] = &[
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
    "zoneTag",
];

/// Raw fields of `dnsAnalyticsAdaptive` (accounts add `zoneTag`).
const DNS_RAW_FIELDS: &[&str] = &[
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
    "zoneTag",
];

/// Group metrics of `httpRequestsAdaptiveGroups` that the fake computes.
const HTTP_GROUP_METRICS: &[&str] = &[
    "avg_sampleInterval",
    "count",
    "ratio_status4xx",
    "ratio_status5xx",
    "sum_edgeResponseBytes",
    "sum_visits",
];

/// Metrics of `httpRequests1hGroups` and `httpRequests1dGroups` that the fake computes.
const HTTP_ROLLUP_METRICS: &[&str] = &[
    "avg_bytes",
    "avg_sampleInterval",
    "sum_bytes",
    "sum_cachedBytes",
    "sum_cachedRequests",
    "sum_contentTypeMap",
    "sum_countryMap",
    "sum_encryptedBytes",
    "sum_encryptedRequests",
    "sum_pageViews",
    "sum_requests",
    "sum_responseStatusMap",
    "sum_threats",
    "uniq_uniques",
];

/// Group metrics of `firewallEventsAdaptiveGroups`.
const FIREWALL_GROUP_METRICS: &[&str] = &["avg_sampleInterval", "count"];

/// The field that Free and Pro zones may not use in DNS analytics.
const PLAN_GATED_FIELD: &str = "responseCached";

fn plan_allows_response_cached(scope: &Scope) -> bool {
    match scope {
        Scope::Zone { plan, .. } => *plan >= Plan::Business,
        Scope::Account { .. } => true,
    }
}

/// The `settings` subnode of one dataset. Datasets the fake does not model report
/// [`ADAPTIVE_LIMITS`] and no available field.
fn dataset_settings(scope: &Scope, name: &str) -> Value {
    let (limits, available) = match Dataset::from_name(name) {
        Some(dataset) => (dataset.limits(scope), dataset.available_fields(scope)),
        None => (ADAPTIVE_LIMITS, Vec::new()),
    };
    json!({
        "enabled": true,
        "maxDuration": limits.max_duration,
        "notOlderThan": limits.not_older_than,
        "maxPageSize": limits.max_page_size,
        "maxNumberOfFields": limits.max_number_of_fields,
        "availableFields": available,
    })
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

    fn to_json(&self) -> Value {
        json!({
            "message": self.message,
            "path": self.path,
            "extensions": { "code": self.code, "timestamp": rfc3339(unix_now()) }
        })
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

/// The zero value of a non-null scalar type, for a field the fake does not model.
fn zero_value(type_name: &str) -> Value {
    match type_name {
        "string" | "String" | "ID" => json!(""),
        "bool" | "Boolean" => json!(false),
        "float32" | "float64" | "Float" => json!(0.0),
        "Date" => json!("1970-01-01"),
        "Time" => json!("1970-01-01T00:00:00Z"),
        _ => json!(0),
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
    /// Errors of a partial answer (data for some zones, errors for the others).
    partial_errors: RefCell<Vec<GqlError>>,
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

    /// Copies the selected fields of `value` (GraphQL output: only what was asked for). A
    /// selected field that `value` lacks is `null` if its type is nullable, else the zero value
    /// of its type (`[]` for lists, an object of zero values for objects).
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
                        match object.get(field.name.as_str()) {
                            Some(v) => self.project(&field.selection_set, v),
                            None => self.missing(field),
                        }
                    };
                    insert_merged(&mut out, field.response_key().as_str(), selected);
                }
                Value::Object(out)
            }
            other => other.clone(),
        }
    }

    /// The answer for a selected field that the fake has no value for.
    fn missing(&self, field: &Field) -> Value {
        let ty = &field.definition.ty;
        if !ty.is_non_null() {
            Value::Null
        } else if ty.is_list() {
            json!([])
        } else if field.selection_set.selections.is_empty() {
            zero_value(ty.inner_named_type().as_str())
        } else {
            self.project(&field.selection_set, &json!({}))
        }
    }

    fn run(&self, operation: &Operation) -> Outcome<Value> {
        let mut data = Map::new();
        for field in self.fields(&operation.selection_set) {
            let value = match field.name.as_str() {
                // Executed by apollo-compiler (see `introspect`).
                "__schema" | "__type" => continue,
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

    /// `viewer.zones(filter: {zoneTag | zoneTag_in | zoneTag_gt}, limit)`. Without Zone
    /// Analytics Read, or when none of the asked zones is readable (unknown to the token), the
    /// whole query fails: `not authorized for that zone`, code `authz`, path
    /// `["viewer", "zones", <index of the first zone>]`. When some are readable, the answer
    /// lists only those (in the asked order) and adds, per other zone, an error
    /// `zones [<tag>] are not authorized` (code `authz`, path `["viewer", "zones", <its index
    /// in the asked list>]`) to the `errors` of a successful answer.
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
        let found: Vec<Option<&Value>> = tags
            .iter()
            .map(|tag| visible.iter().find(|z| z["id"].as_str() == Some(tag)))
            .collect();
        if let Some(first_unknown) = found.iter().position(Option::is_none)
            && found.iter().all(Option::is_none)
        {
            return Err(denied(first_unknown));
        }
        let mut out = Vec::new();
        for (index, (tag, zone)) in tags.iter().zip(found).enumerate() {
            let Some(zone) = zone else {
                self.partial_errors.borrow_mut().push(GqlError::new(
                    format!("zones [{tag}] are not authorized"),
                    &with_index(path, index),
                    "authz",
                ));
                continue;
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
                name => match Dataset::from_name(name) {
                    Some(dataset) => self.dataset(scope, dataset, field, &field_path)?,
                    None if field.definition.ty.is_list() => json!([]),
                    None => Value::Null,
                },
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

    fn dataset(
        &self,
        scope: &Scope,
        dataset: Dataset,
        field: &Field,
        path: &[Value],
    ) -> Outcome<Value> {
        let zone_ids = scope.event_zone_ids();
        let now = self.now;
        match dataset {
            Dataset::DnsGroups => {
                self.groups(scope, dataset, field, path, events(now, &zone_ids), |e| {
                    Aggregate::of(e).to_json()
                })
            }
            Dataset::DnsRaw => self.raw(
                scope,
                dataset,
                field,
                path,
                events(now, &zone_ids),
                |e| e.group.count,
                EVENT_FIELDS,
            ),
            Dataset::HttpGroups => self.groups(
                scope,
                dataset,
                field,
                path,
                http_events(now, &zone_ids),
                http_adaptive_aggregate,
            ),
            Dataset::HttpRaw => self.raw(
                scope,
                dataset,
                field,
                path,
                http_events(now, &zone_ids),
                |e| e.group.count,
                HTTP_FIELDS,
            ),
            Dataset::Http1h => {
                let rollups = http_events(now, &zone_ids)
                    .into_iter()
                    .map(HourRollup)
                    .collect();
                self.groups(
                    scope,
                    dataset,
                    field,
                    path,
                    rollups,
                    |rows: &[HourRollup]| http_rollup_aggregate(rows.iter().map(|r| &r.0)),
                )
            }
            Dataset::Http1d => self.groups(
                scope,
                dataset,
                field,
                path,
                http_events(now, &zone_ids),
                |rows| http_rollup_aggregate(rows),
            ),
            Dataset::FirewallGroups => self.groups(
                scope,
                dataset,
                field,
                path,
                firewall_events(now, &zone_ids),
                firewall_aggregate,
            ),
            Dataset::FirewallRaw => self.raw(
                scope,
                dataset,
                field,
                path,
                firewall_events(now, &zone_ids),
                |e| e.group.count,
                FIREWALL_FIELDS,
            ),
        }
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

    /// The checks every dataset query goes through, in this order: number of fields, the plan
    /// (DNS `responseCached`), the time range (a lower bound is required; not older than
    /// `notOlderThan`; not wider than `maxDuration`).
    fn check_query(
        &self,
        scope: &Scope,
        dataset: Dataset,
        args: &DatasetArgs,
        selected: &[String],
        field_count: usize,
        path: &[Value],
    ) -> Outcome<()> {
        let limits = dataset.limits(scope);
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
        let is_dns = matches!(dataset, Dataset::DnsGroups | Dataset::DnsRaw);
        let uses_gated = selected.iter().any(|f| f == PLAN_GATED_FIELD)
            || filter_mentions(&args.filter, PLAN_GATED_FIELD)
            || args
                .order_by
                .iter()
                .any(|o| order_field(o).0 == PLAN_GATED_FIELD);
        if is_dns
            && uses_gated
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
        let (lower, upper) = time_bounds(&args.filter, dataset.datetime_width())
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

    fn matching<R: Record>(
        &self,
        records: Vec<R>,
        filter: &Value,
        path: &[Value],
    ) -> Outcome<Vec<R>> {
        let mut out = Vec::new();
        for record in records {
            if filter_matches(filter, &record)
                .map_err(|message| GqlError::new(message, path, "bad_request"))?
            {
                out.push(record);
            }
        }
        Ok(out)
    }

    /// A `…Groups` dataset: filter the records, group them by the selected dimensions, aggregate
    /// each group, order, limit.
    fn groups<R: Record>(
        &self,
        scope: &Scope,
        dataset: Dataset,
        field: &Field,
        path: &[Value],
        records: Vec<R>,
        aggregate: impl Fn(&[R]) -> Value,
    ) -> Outcome<Value> {
        let args = self.dataset_args(field, &dataset.limits(scope), path)?;
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
                "avg" | "sum" | "uniq" | "quantiles" | "ratio" | "max" | "min" => {
                    field_count += self
                        .fields(&selected.selection_set)
                        .iter()
                        .filter(|f| f.name != "__typename")
                        .count();
                }
                _ => field_count += 1,
            }
        }
        self.check_query(scope, dataset, &args, &dimensions, field_count, path)?;

        let records = self.matching(records, &args.filter, path)?;
        let mut groups = group_by(records, &dimensions, aggregate);
        sort_groups(&mut groups, &args.order_by, &dimensions);
        groups.truncate(usize::try_from(args.limit).unwrap_or(usize::MAX));
        let rows: Vec<Value> = groups.iter().map(|g| g.to_json(&dimensions)).collect();
        Ok(self.project(&field.selection_set, &Value::Array(rows)))
    }

    /// A raw dataset: one row per event (a record of weight n is n identical rows), oldest first,
    /// then in table order, unless ordered otherwise.
    #[expect(
        clippy::too_many_arguments,
        reason = "the dataset's records, weights and fields are what varies"
    )]
    fn raw<R: Record + Clone>(
        &self,
        scope: &Scope,
        dataset: Dataset,
        field: &Field,
        path: &[Value],
        records: Vec<R>,
        weight: impl Fn(&R) -> u64,
        fields: &[&str],
    ) -> Outcome<Value> {
        let args = self.dataset_args(field, &dataset.limits(scope), path)?;
        let selected: Vec<String> = self
            .fields(&field.selection_set)
            .iter()
            .filter(|f| f.name != "__typename")
            .map(|f| f.name.to_string())
            .collect();
        self.check_query(scope, dataset, &args, &selected, selected.len(), path)?;

        let limit = usize::try_from(args.limit).unwrap_or(usize::MAX);
        let mut rows: Vec<R> = Vec::new();
        for record in self.matching(records, &args.filter, path)? {
            for _ in 0..weight(&record) {
                rows.push(record.clone());
            }
        }
        sort_records(&mut rows, &args.order_by);
        rows.truncate(limit);
        let rows: Vec<Value> = rows.iter().map(|r| raw_row(r, fields)).collect();
        Ok(self.project(&field.selection_set, &Value::Array(rows)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use apollo_compiler::schema::ExtendedType;

    #[test]
    fn human_durations() {
        assert_eq!(human_duration(604_800), "7d");
        assert_eq!(human_duration(7200), "2h");
        assert_eq!(human_duration(61), "61s");
    }

    #[test]
    fn every_dataset_is_in_the_schema_at_both_scopes() {
        let schema = graphql_schema();
        for type_name in ["zone", "account", "ZoneSettings", "AccountSettings"] {
            let Some(ExtendedType::Object(object)) = schema.types.get(type_name) else {
                panic!("{type_name} is an object type");
            };
            for dataset in Dataset::ALL {
                assert!(
                    object.fields.contains_key(dataset.name()),
                    "{type_name}.{}",
                    dataset.name()
                );
            }
        }
    }
}
