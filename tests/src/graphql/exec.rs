//! The executor: walks an operation's selection through `viewer`, its zones and accounts,
//! down to the datasets (answered in `answer.rs`).

use std::cell::RefCell;

use apollo_compiler::executable::{Field, Operation, Selection, SelectionSet};
use apollo_compiler::{ExecutableDocument, ast};
use serde_json::{Map, Value, json};

use super::BUDGET;
use super::datasets::{Dataset, dataset_settings};
use crate::calendar::{rfc3339, unix_now};
use crate::rest::zones::zones;
use crate::rest::zones::{Plan, zone_plan};
use crate::scenarios::{Permission, Scenario, permission_missing, token_account};

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
    pub(super) fn id(&self) -> &str {
        match self {
            Scope::Zone { id, .. } | Scope::Account { id, .. } => id,
        }
    }

    pub(super) fn event_zone_ids(&self) -> Vec<&str> {
        match self {
            Scope::Zone { id, .. } => vec![id.as_str()],
            Scope::Account { zone_ids, .. } => zone_ids.iter().map(String::as_str).collect(),
        }
    }
}

pub(super) struct GqlError {
    pub(super) message: String,
    pub(super) path: Vec<Value>,
    pub(super) code: &'static str,
}

impl GqlError {
    pub(super) fn new(message: impl Into<String>, path: &[Value], code: &'static str) -> GqlError {
        GqlError {
            message: message.into(),
            path: path.to_vec(),
            code,
        }
    }

    pub(super) fn to_json(&self) -> Value {
        json!({
            "message": self.message,
            "path": self.path,
            "extensions": { "code": self.code, "timestamp": rfc3339(unix_now()) }
        })
    }
}

pub(super) type Outcome<T> = Result<T, GqlError>;

pub(super) fn with_index(path: &[Value], index: usize) -> Vec<Value> {
    let mut path = path.to_vec();
    path.push(json!(index));
    path
}

pub(super) fn with_key(path: &[Value], field: &Field) -> Vec<Value> {
    let mut path = path.to_vec();
    path.push(json!(field.response_key().as_str()));
    path
}

/// Inserts a field's value; a key selected twice with object values gets both selections.
pub(super) fn insert_merged(map: &mut Map<String, Value>, key: &str, value: Value) {
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
pub(super) fn zero_value(type_name: &str) -> Value {
    match type_name {
        "string" | "String" | "ID" => json!(""),
        "bool" | "Boolean" => json!(false),
        "float32" | "float64" | "Float" => json!(0.0),
        "Date" => json!("1970-01-01"),
        "Time" => json!("1970-01-01T00:00:00Z"),
        _ => json!(0),
    }
}

pub(super) struct Exec<'a> {
    pub(super) document: &'a ExecutableDocument,
    pub(super) variables: &'a Map<String, Value>,
    pub(super) scenario: Scenario,
    pub(super) now: i64,
    /// Errors of a partial answer (data for some zones, errors for the others).
    pub(super) partial_errors: RefCell<Vec<GqlError>>,
}

impl Exec<'_> {
    /// The fields of a selection set, through fragments, honouring `@skip` and `@include`.
    pub(super) fn fields<'s>(&'s self, set: &'s SelectionSet) -> Vec<&'s Field> {
        let mut out = Vec::new();
        self.collect_fields(set, &mut out);
        out
    }

    pub(super) fn collect_fields<'s>(&'s self, set: &'s SelectionSet, out: &mut Vec<&'s Field>) {
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

    pub(super) fn included(&self, directives: &ast::DirectiveList) -> bool {
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
    pub(super) fn value(&self, value: &ast::Value) -> Value {
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

    pub(super) fn arg(&self, field: &Field, name: &str) -> Value {
        field
            .arguments
            .iter()
            .find(|argument| argument.name == name)
            .map_or(Value::Null, |argument| self.value(&argument.value))
    }

    /// Copies the selected fields of `value` (GraphQL output: only what was asked for). A
    /// selected field that `value` lacks is `null` if its type is nullable, else the zero value
    /// of its type (`[]` for lists, an object of zero values for objects).
    pub(super) fn project(&self, set: &SelectionSet, value: &Value) -> Value {
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
    pub(super) fn missing(&self, field: &Field) -> Value {
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

    pub(super) fn run(&self, operation: &Operation) -> Outcome<Value> {
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

    pub(super) fn viewer(&self, viewer: &Field) -> Outcome<Value> {
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
    pub(super) fn zones(&self, field: &Field, path: &[Value]) -> Outcome<Value> {
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

    pub(super) fn accounts(&self, field: &Field, path: &[Value]) -> Outcome<Value> {
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
    pub(super) fn scope_object(
        &self,
        scope: &Scope,
        set: &SelectionSet,
        path: &[Value],
    ) -> Outcome<Value> {
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

    pub(super) fn settings(&self, scope: &Scope, field: &Field) -> Value {
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
}
