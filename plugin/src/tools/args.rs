//! Reading a tool's JSON arguments: each helper names the field it refuses and says what is
//! accepted.

use crate::error::invalid;
use crate::names::{self, VariantArray, name};
use crate::wit_types::Error;
use serde_json::{Map, Value};

pub fn parse(text: &str) -> Result<Map<String, Value>, Error> {
    let text = if text.trim().is_empty() { "{}" } else { text };
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(invalid("arguments", "the arguments must be a JSON object")),
        Err(e) => Err(invalid(
            "arguments",
            format!("the arguments are not valid JSON: {e}"),
        )),
    }
}

/// Refuses any argument not in `allowed`, naming it.
pub fn only(arguments: &Map<String, Value>, allowed: &[&str]) -> Result<(), Error> {
    match arguments.keys().find(|k| !allowed.contains(&k.as_str())) {
        None => Ok(()),
        Some(unknown) => Err(invalid(
            unknown,
            if allowed.is_empty() {
                "this tool takes no arguments".to_string()
            } else {
                format!("unknown argument; accepted: {}", allowed.join(", "))
            },
        )),
    }
}

pub fn required_string(arguments: &Map<String, Value>, field: &str) -> Result<String, Error> {
    match arguments.get(field) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(invalid(field, "must be a string")),
        None => Err(invalid(field, "is required")),
    }
}

/// An optional string; `null` counts as absent.
pub fn string(args: &Map<String, Value>, field: &str) -> Result<Option<String>, Error> {
    match args.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(invalid(field, "must be a string")),
    }
}

pub fn integer(args: &Map<String, Value>, field: &str) -> Result<Option<u32>, Error> {
    match args.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| invalid(field, "must be a positive whole number")),
    }
}

pub fn strings(args: &Map<String, Value>, field: &str) -> Result<Vec<String>, Error> {
    match args.get(field) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                Value::Number(n) => Ok(n.to_string()),
                _ => Err(invalid(field, "each item is a string")),
            })
            .collect(),
        Some(Value::String(s)) => Ok(s.split(',').map(|p| p.trim().to_string()).collect()),
        Some(_) => Err(invalid(field, "must be a list of strings")),
    }
}

/// Normalizes a name for lenient matching: `query-name`, `query_name` and `queryName` agree.
pub fn fold(name: &str) -> String {
    name.chars()
        .filter(|c| *c != '-' && *c != '_' && !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The case of a WIT enum that `text` names, matched leniently ([`fold`]); refused naming the
/// field and the accepted names.
pub fn pick<T: VariantArray + Copy + Into<&'static str>>(
    field: &str,
    text: &str,
) -> Result<T, Error> {
    T::VARIANTS
        .iter()
        .copied()
        .find(|case| fold(name(*case)) == fold(text))
        .ok_or_else(|| {
            invalid(
                field,
                format!(
                    "unknown value {}; allowed: {}",
                    crate::input::quote(text),
                    names::all::<T>().join(", ")
                ),
            )
        })
}
