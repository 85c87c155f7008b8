//! Checks a tool's JSON arguments against the tool's own JSON Schema before anything runs, so
//! the schema an agent reads is the rule `call-tool` applies, and a bad argument is refused with
//! the field's path and what it allows.
//!
//! Only the keywords the tool schemas use are implemented (a test keeps it so); a full JSON
//! Schema validator would bring a regex engine and more into the component for none of the
//! cases here. `pattern` is left to the parsers, which check those values themselves.

use crate::error::invalid;
use crate::input::{self, Text};
use crate::tools::args::fold;
use crate::wit_types::Error;
use serde_json::{Map, Value};

/// The keywords [`check`] understands; anything else in a tool schema fails a unit test.
#[cfg(test)]
pub const KEYWORDS: &[&str] = &[
    "type",
    "enum",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "pattern",
    "items",
    "minItems",
    "maxItems",
    "uniqueItems",
    "properties",
    "required",
    "additionalProperties",
    "description",
    "default",
];

/// A tool schema written as JSON text (kept as data rather than as the code `json!` expands
/// to), with each string value `"$name"` replaced by the value `fill` gives for it: the parts
/// computed from the code's own constants, such as enum lists and limits. The strings' maximum
/// lengths (`"$name_chars"`, …: [`Text::placeholder`]) are filled in every schema.
pub fn from_text(text: &str, fill: &[(&str, Value)]) -> Value {
    fn substitute(value: &mut Value, fill: &[(&str, Value)]) {
        match value {
            Value::String(s) if s.starts_with('$') => {
                if let Some((_, v)) = fill.iter().find(|(name, _)| *name == s.as_str()) {
                    *value = v.clone();
                } else if let Some(text) = Text::ALL.iter().find(|t| t.placeholder() == s) {
                    *value = Value::from(text.max_chars());
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| substitute(v, fill)),
            Value::Object(map) => map.values_mut().for_each(|v| substitute(v, fill)),
            _ => {}
        }
    }
    let mut value = serde_json::from_str(text).expect("a tool schema is valid JSON");
    substitute(&mut value, fill);
    value
}

/// The schema of a tool that takes no arguments.
pub fn no_arguments() -> Value {
    from_text(
        r#"{ "type": "object", "properties": {}, "additionalProperties": false }"#,
        &[],
    )
}

/// Validates the arguments object against its schema.
pub fn validate(schema: &Value, arguments: &Map<String, Value>) -> Result<(), Error> {
    check(schema, &Value::Object(arguments.clone()), "")
}

fn field_name(path: &str) -> String {
    if path.is_empty() {
        "arguments".to_string()
    } else {
        path.to_string()
    }
}

fn check(schema: &Value, value: &Value, path: &str) -> Result<(), Error> {
    let Some(schema) = schema.as_object() else {
        return Ok(());
    };
    if let Some(types) = schema.get("type") {
        let allowed: Vec<&str> = match types {
            Value::String(t) => vec![t.as_str()],
            Value::Array(list) => list.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if !allowed.is_empty() && !allowed.iter().any(|t| has_type(value, t)) {
            return Err(invalid(
                &field_name(path),
                format!("must be {}, not {}", with_article(&allowed), type_of(value)),
            ));
        }
    }
    if let Some(Value::Array(options)) = schema.get("enum")
        && !options.iter().any(|o| same_choice(o, value))
    {
        let names: Vec<String> = options
            .iter()
            .map(|o| o.as_str().map_or_else(|| o.to_string(), str::to_string))
            .collect();
        return Err(invalid(
            &field_name(path),
            format!(
                "unknown value {}; allowed: {}",
                value
                    .as_str()
                    .map_or_else(|| input::quote(&value.to_string()), input::quote),
                names.join(", ")
            ),
        ));
    }
    match value {
        Value::Number(n) => check_number(schema, n.as_f64().unwrap_or_default(), path)?,
        Value::String(s) => check_length(schema, s.chars().count(), path)?,
        Value::Array(items) => check_array(schema, items, path)?,
        Value::Object(map) => check_object(schema, map, path)?,
        Value::Null | Value::Bool(_) => {}
    }
    Ok(())
}

fn has_type(value: &Value, name: &str) -> bool {
    match name {
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        "null" => value.is_null(),
        _ => true,
    }
}

fn with_article(types: &[&str]) -> String {
    types
        .iter()
        .map(|t| match *t {
            "integer" => "a whole number".to_string(),
            "array" => "a list".to_string(),
            "object" => "an object".to_string(),
            "null" => "null".to_string(),
            other => format!("a {other}"),
        })
        .collect::<Vec<_>>()
        .join(" or ")
}

fn type_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        // serde_json keeps a whole number past 64 bits as a float: say which it is.
        Value::Number(n)
            if n.as_f64()
                .is_some_and(|f| f.fract() == 0.0 && f.abs() >= 9.2e18) =>
        {
            "a whole number too large for any limit"
        }
        Value::Number(n) if n.as_f64().is_some_and(|f| f.fract() == 0.0) => {
            "a number written with a decimal point"
        }
        Value::Number(n) if n.is_f64() => "a fractional number",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Enum strings match as the parsers do: case, `-`, `_` and spaces aside
/// (`query-name` = `queryName`).
fn same_choice(option: &Value, value: &Value) -> bool {
    match (option, value) {
        (Value::String(a), Value::String(b)) => fold(a) == fold(b),
        _ => option == value,
    }
}

fn check_number(schema: &Map<String, Value>, n: f64, path: &str) -> Result<(), Error> {
    let minimum = schema.get("minimum").and_then(Value::as_f64);
    let maximum = schema.get("maximum").and_then(Value::as_f64);
    let out_of_range = minimum.is_some_and(|m| n < m) || maximum.is_some_and(|m| n > m);
    if out_of_range {
        let range = match (minimum, maximum) {
            (Some(lo), Some(hi)) => format!("between {lo} and {hi}"),
            (Some(lo), None) => format!("at least {lo}"),
            (None, Some(hi)) => format!("at most {hi}"),
            (None, None) => String::new(),
        };
        return Err(invalid(&field_name(path), format!("must be {range}")));
    }
    Ok(())
}

fn check_length(schema: &Map<String, Value>, length: usize, path: &str) -> Result<(), Error> {
    if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
        && (length as u64) < min
    {
        return Err(invalid(
            &field_name(path),
            if min == 1 {
                "must not be empty".to_string()
            } else {
                format!("must have at least {min} characters")
            },
        ));
    }
    if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
        && (length as u64) > max
    {
        return Err(invalid(
            &field_name(path),
            format!("must have at most {max} characters"),
        ));
    }
    Ok(())
}

fn check_array(schema: &Map<String, Value>, items: &[Value], path: &str) -> Result<(), Error> {
    let count = items.len() as u64;
    if let Some(min) = schema.get("minItems").and_then(Value::as_u64)
        && count < min
    {
        return Err(invalid(
            &field_name(path),
            format!("must have at least {min} item(s)"),
        ));
    }
    if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
        && count > max
    {
        return Err(invalid(
            &field_name(path),
            format!("must have at most {max} items"),
        ));
    }
    if let Some(item_schema) = schema.get("items") {
        for (i, item) in items.iter().enumerate() {
            check(item_schema, item, &format!("{}[{i}]", field_name(path)))?;
        }
    }
    if schema.get("uniqueItems") == Some(&Value::Bool(true)) {
        for (i, item) in items.iter().enumerate() {
            if items[..i].iter().any(|earlier| same_choice(earlier, item)) {
                return Err(invalid(&field_name(path), format!("lists {item} twice")));
            }
        }
    }
    Ok(())
}

fn check_object(
    schema: &Map<String, Value>,
    map: &Map<String, Value>,
    path: &str,
) -> Result<(), Error> {
    let properties = schema.get("properties").and_then(Value::as_object);
    let join = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    // Unknown names first: `path` given for `url` is better answered with the accepted names
    // than with "url is required".
    for (key, value) in map {
        match properties.and_then(|p| p.get(key)) {
            // `null` stands for "not given" for an optional field, as the parsers read it.
            Some(_) if value.is_null() => {}
            Some(property) => check(property, value, &join(key))?,
            None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                let known: Vec<&str> = properties
                    .map(|p| p.keys().map(String::as_str).collect())
                    .unwrap_or_default();
                return Err(invalid(
                    &join(key),
                    if known.is_empty() {
                        "this tool takes no arguments".to_string()
                    } else {
                        format!("unknown argument; accepted: {}", known.join(", "))
                    },
                ));
            }
            None => {}
        }
    }
    if let Some(Value::Array(required)) = schema.get("required") {
        for key in required.iter().filter_map(Value::as_str) {
            if !map.contains_key(key) {
                return Err(invalid(&join(key), "is required"));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wit_types::InputProblem;
    use serde_json::json;

    fn refused(schema: &Value, args: Value) -> (String, String) {
        let Value::Object(map) = args else {
            panic!("an object")
        };
        match validate(schema, &map) {
            Err(Error::InvalidInput(InputProblem { field, message })) => (field, message),
            other => panic!("expected invalid-input, got {other:?}"),
        }
    }

    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "query": { "type": "string", "minLength": 1, "maxLength": 5 },
                "limit": { "type": "integer", "minimum": 1, "maximum": 20 },
                "by": { "type": "string", "enum": ["query-name", "colo"] },
                "value": { "type": ["string", "number"] },
                "dims": { "type": "array", "items": { "type": "string", "enum": ["a", "b"] }, "uniqueItems": true, "maxItems": 2 },
                "filters": { "type": "array", "items": {
                    "type": "object",
                    "properties": { "dimension": { "type": "string" } },
                    "required": ["dimension"],
                    "additionalProperties": false
                } }
            },
            "required": ["query"],
            "additionalProperties": false
        })
    }

    /// A whole number past 64 bits is called too large, never "a fractional number".
    #[test]
    fn a_whole_number_too_large_is_not_called_fractional() {
        let value: Value = serde_json::from_str("100000000000000000000").expect("json");
        assert_eq!(type_of(&value), "a whole number too large for any limit");
        assert_eq!(type_of(&json!(2.5)), "a fractional number");
        assert_eq!(
            type_of(&json!(3.0)),
            "a number written with a decimal point"
        );
    }

    #[test]
    fn schema_text_placeholders_are_filled() {
        let filled = from_text(
            r#"{ "type": "object", "properties": { "by": { "type": "string", "enum": "$names", "default": "$default" }, "other": { "description": "$unknown" } } }"#,
            &[("$names", json!(["a", "b"])), ("$default", json!(5))],
        );
        assert_eq!(
            filled,
            json!({ "type": "object", "properties": {
                "by": { "type": "string", "enum": ["a", "b"], "default": 5 },
                "other": { "description": "$unknown" }
            } })
        );
    }

    #[test]
    fn good_arguments_pass() {
        let s = schema();
        let args = json!({ "query": "abc", "limit": 20, "by": "queryName", "value": 5,
            "dims": ["a", "b"], "filters": [{ "dimension": "x" }], "zone": null });
        let Value::Object(map) = args else { panic!() };
        // `zone` is not a property: refused even when null.
        assert!(validate(&s, &map).is_err());
        let args = json!({ "query": "abc", "limit": null, "by": "COLO", "value": "x" });
        let Value::Object(map) = args else { panic!() };
        assert_eq!(validate(&s, &map), Ok(()));
    }

    #[test]
    fn each_bad_argument_names_its_path_and_what_is_allowed() {
        let s = schema();
        let cases = [
            (json!({}), "query", "is required"),
            (json!({ "query": "" }), "query", "must not be empty"),
            (json!({ "query": "abcdef" }), "query", "at most 5"),
            (
                json!({ "query": 5 }),
                "query",
                "must be a string, not a number",
            ),
            (
                json!({ "query": "a", "limit": 0 }),
                "limit",
                "between 1 and 20",
            ),
            (
                json!({ "query": "a", "limit": 1.5 }),
                "limit",
                "a whole number",
            ),
            (
                json!({ "query": "a", "by": "x" }),
                "by",
                "allowed: query-name, colo",
            ),
            (
                json!({ "query": "a", "value": true }),
                "value",
                "a string or a number",
            ),
            (
                json!({ "query": "a", "dims": ["c"] }),
                "dims[0]",
                "allowed: a, b",
            ),
            (json!({ "query": "a", "dims": ["a", "A"] }), "dims", "twice"),
            (
                json!({ "query": "a", "dims": ["a", "b", "a"] }),
                "dims",
                "at most 2",
            ),
            (
                json!({ "query": "a", "filters": [{}] }),
                "filters[0].dimension",
                "is required",
            ),
            (
                json!({ "query": "a", "filters": [{ "dimension": "x", "op": 1 }] }),
                "filters[0].op",
                "accepted: dimension",
            ),
            (
                json!({ "query": "a", "zone": "x" }),
                "zone",
                "accepted: query, limit, by, value, dims, filters",
            ),
        ];
        for (args, field, message) in cases {
            let (got_field, got_message) = refused(&s, args.clone());
            assert_eq!(got_field, field, "{args}");
            assert!(got_message.contains(message), "{args}: {got_message}");
        }
        let empty = json!({ "type": "object", "properties": {}, "additionalProperties": false });
        assert_eq!(
            refused(&empty, json!({ "x": 1 })),
            ("x".to_string(), "this tool takes no arguments".to_string())
        );
    }
}
