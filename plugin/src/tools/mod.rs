//! The tool catalog as one route table: each tool's name, service, description for a language
//! model, JSON Schema and runner sit in one [`Route`], so `list-tools` and `call-tool` read the
//! same entry. A runner reads the JSON arguments into the WIT request the typed export takes,
//! runs the same code, and renders the result as snake_case JSON.

pub(crate) mod args;
mod dns;
mod docs;
mod general;
mod graphql;
pub(crate) mod schema;

use crate::connection;
use crate::error::invalid;
use crate::wit_types::{Error, Service};
use serde_json::{Map, Value};

/// A tool's JSON arguments, once parsed as an object.
pub type Arguments = Map<String, Value>;

/// Each result type's JSON Schema, written by the build script from the [`tool_output`] types.
pub mod output_schemas {
    include!(concat!(env!("OUT_DIR"), "/output_schemas.rs"));
}

/// What a tool does besides answering.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Effect {
    /// Reads Cloudflare (the API or the docs site) and changes nothing.
    Reads,
    /// Sets this session's connection; sends no request.
    SetsConnection,
}

/// One tool: what `list-tools` shows and what `call-tool` runs.
pub struct Route {
    pub name: &'static str,
    /// A short name for people (MCP's `title`).
    pub title: &'static str,
    /// The JSON Schema of its result: the schema of the [`tool_output`] type `run` writes.
    pub output_schema: &'static str,
    pub effect: Effect,
    /// `None` for the tools every connection has (`connect`, `verify`).
    pub service: Option<Service>,
    pub description: &'static str,
    /// The arguments' JSON Schema; `call-tool` checks the arguments against it first.
    pub schema: fn() -> Value,
    /// Reads the checked arguments, runs the tool and writes its result as JSON text.
    pub run: fn(&Arguments) -> Result<String, Error>,
}

/// Every tool, in the order `list-tools` gives them.
pub fn routes() -> impl Iterator<Item = &'static Route> {
    general::ROUTES
        .iter()
        .chain(docs::ROUTES)
        .chain(dns::ROUTES)
        .chain(graphql::ROUTES)
}

/// The tools this connection offers: its services' tools and `verify`; only `connect` and
/// `verify` before anything is configured.
pub fn listed() -> impl Iterator<Item = &'static Route> {
    let connection = connection::current().ok();
    routes().filter(move |route| match (&connection, route.service) {
        (Some(c), Some(service)) => c.has(service),
        (Some(_), None) => route.name != "connect",
        (None, service) => service.is_none(),
    })
}

/// `call-tool`: the arguments checked against the tool's schema, then its runner.
pub fn call(name: &str, arguments_json: &str) -> Result<String, Error> {
    let arguments = args::parse(arguments_json)?;
    let Some(route) = routes().find(|r| r.name == name) else {
        let known: Vec<&str> = listed().map(|r| r.name).collect();
        return Err(invalid(
            "name",
            format!(
                "unknown tool {}; available: {}",
                crate::input::quote(name),
                known.join(", ")
            ),
        ));
    };
    if let (Some(service), Ok(connection)) = (route.service, connection::current())
        && !connection.has(service)
    {
        return Err(Error::ServiceDisabled(service));
    }
    schema::validate(&(route.schema)(), &arguments)?;
    (route.run)(&arguments)
}

/// Runs a service's tool by name without the schema check, or `None` when no service has it
/// (for the fuzzer and the schema/parser drift test).
pub fn run_service_tool(name: &str, arguments: &Arguments) -> Option<Result<String, Error>> {
    routes()
        .find(|r| r.name == name && r.service.is_some())
        .map(|r| (r.run)(arguments))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wit_types::InputProblem;
    use serde_json::json;

    /// Every keyword a schema uses, at any depth, with its path.
    fn keywords(schema: &Value, path: &str, out: &mut Vec<(String, String)>) {
        let Some(map) = schema.as_object() else {
            return;
        };
        for (key, value) in map {
            out.push((path.to_string(), key.clone()));
            match key.as_str() {
                "properties" => {
                    for (name, property) in value.as_object().into_iter().flatten() {
                        keywords(property, &format!("{path}.{name}"), out);
                    }
                }
                "items" => keywords(value, &format!("{path}[]"), out),
                _ => {}
            }
        }
    }

    /// Every string schema at any depth: its path, and whether it lists its values or bounds
    /// its length.
    fn strings(schema: &Value, path: &str, out: &mut Vec<(String, bool)>) {
        let is_string = match &schema["type"] {
            Value::String(t) => t == "string",
            Value::Array(types) => types.iter().any(|t| t == "string"),
            _ => false,
        };
        if is_string {
            let bounded = schema["enum"].is_array() || schema["maxLength"].is_u64();
            out.push((path.to_string(), bounded));
        }
        for (name, property) in schema["properties"].as_object().into_iter().flatten() {
            strings(property, &format!("{path}.{name}"), out);
        }
        if schema["items"].is_object() {
            strings(&schema["items"], &format!("{path}[]"), out);
        }
    }

    #[test]
    fn every_string_argument_has_a_maximum_length() {
        let mut found = Vec::new();
        for tool in routes() {
            strings(&(tool.schema)(), tool.name, &mut found);
        }
        assert!(found.len() > 30, "the walk reaches the strings: {found:?}");
        let unbounded: Vec<&String> = found
            .iter()
            .filter(|(_, bounded)| !bounded)
            .map(|(path, _)| path)
            .collect();
        assert!(unbounded.is_empty(), "no maxLength or enum: {unbounded:?}");
    }

    #[test]
    fn every_schema_is_strict_documented_and_checkable() {
        let mut missing = Vec::new();
        for tool in routes() {
            let schema = (tool.schema)();
            assert_eq!(schema["type"], "object", "{}", tool.name);
            assert_eq!(schema["additionalProperties"], false, "{}", tool.name);
            let mut found = Vec::new();
            keywords(&schema, tool.name, &mut found);
            for (path, keyword) in &found {
                assert!(
                    schema::KEYWORDS.contains(&keyword.as_str()),
                    "{path} uses {keyword}, which call-tool's validator does not check"
                );
            }
            let undocumented: Vec<&String> = schema["properties"]
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(_, p)| !p["description"].is_string() || p["type"].is_null())
                .map(|(name, _)| name)
                .collect();
            if !undocumented.is_empty() {
                missing.push(format!("{}: {undocumented:?}", tool.name));
            }
            let names: Vec<&str> = tool.name.split('_').collect();
            assert!(
                names
                    .iter()
                    .all(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_lowercase()))
            );
        }
        assert!(
            missing.is_empty(),
            "need a type and a description: {missing:?}"
        );
    }

    /// A value the schema accepts; strings get a realistic sample by field name.
    fn example(schema: &Value, name: &str) -> Value {
        if let Some(first) = schema["enum"].as_array().and_then(|e| e.first()) {
            return first.clone();
        }
        let kind = match &schema["type"] {
            Value::Array(types) => types[0].as_str().unwrap_or_default(),
            other => other.as_str().unwrap_or_default(),
        };
        match kind {
            "string" => json!(match name {
                "zone" | "host" => "example.com",
                "since" => "24h",
                "until" => "1h",
                "query" if schema["maxLength"] == crate::input::Text::Words.max_chars() => {
                    "create an API token"
                }
                "query" => "query { viewer { zones { zoneTag } } }",
                "dataset" => "httpRequestsAdaptiveGroups",
                "name" => "ZoneHttpRequestsAdaptiveGroups",
                "url" => "/dns/zone-setups/",
                "account_id" => "0123456789abcdef0123456789abcdef",
                "product" => "dns",
                "value" => "NXDOMAIN",
                "operation_name" => "Q",
                _ => "sample",
            }),
            "integer" | "number" => schema
                .get("default")
                .or_else(|| schema.get("minimum"))
                .cloned()
                .unwrap_or(json!(1)),
            "boolean" => json!(false),
            "array" => json!([example(&schema["items"], name)]),
            "object" => Value::Object(
                schema["properties"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(key, property)| (key.clone(), example(property, key)))
                    .collect(),
            ),
            _ => Value::Null,
        }
    }

    /// Runs a service tool natively without a connection: the arguments are parsed into the
    /// typed request, then the service answers `not-connected` before any request. So
    /// `not-connected` means the parser accepted what the schema allows.
    fn parser_accepts(name: &str, arguments: &Value) -> Result<(), String> {
        let Value::Object(map) = arguments else {
            return Err("not an object".into());
        };
        match run_service_tool(name, map) {
            Some(Err(Error::NotConnected(_))) => Ok(()),
            Some(Err(Error::InvalidInput(InputProblem { field, message }))) => {
                Err(format!("{field}: {message}"))
            }
            other => Err(format!("{other:?}")),
        }
    }

    /// The schemas and the Rust parsers cannot drift: a full example of every tool's schema,
    /// and each enum value in it, is accepted by the parser behind the tool.
    #[test]
    fn the_parsers_accept_what_the_schemas_allow() {
        let mut drift = Vec::new();
        for tool in routes().filter(|t| t.service.is_some()) {
            let schema = (tool.schema)();
            let full = example(&schema, tool.name);
            assert_eq!(
                schema::validate(&schema, full.as_object().unwrap_or(&Map::new())),
                Ok(()),
                "{}",
                tool.name
            );
            if let Err(e) = parser_accepts(tool.name, &full) {
                drift.push(format!("{} {full}: {e}", tool.name));
            }
            for (key, property) in schema["properties"].as_object().into_iter().flatten() {
                let (choices, in_list) = match (&property["enum"], &property["items"]["enum"]) {
                    (Value::Array(choices), _) => (choices.clone(), false),
                    (_, Value::Array(choices)) => (choices.clone(), true),
                    _ => continue,
                };
                for choice in choices {
                    let mut arguments = full.clone();
                    arguments[key] = if in_list {
                        json!([choice])
                    } else {
                        choice.clone()
                    };
                    if let Err(e) = parser_accepts(tool.name, &arguments) {
                        drift.push(format!("{} {key}={choice}: {e}", tool.name));
                    }
                }
            }
        }
        assert!(drift.is_empty(), "{}", drift.join("\n"));
    }

    /// Every `"$name"` placeholder of the schemas' JSON text was filled.
    #[test]
    fn no_schema_keeps_a_placeholder() {
        fn strings<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
            match value {
                Value::String(s) => out.push(s),
                Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
                Value::Object(map) => map.values().for_each(|v| strings(v, out)),
                _ => {}
            }
        }
        for tool in routes() {
            let schema = (tool.schema)();
            let mut found = Vec::new();
            strings(&schema, &mut found);
            let left: Vec<&&str> = found.iter().filter(|s| s.starts_with('$')).collect();
            assert!(left.is_empty(), "{}: {left:?}", tool.name);
        }
    }

    #[test]
    fn without_a_connection_only_connect_and_verify_are_listed() {
        let names: Vec<&str> = listed().map(|t| t.name).collect();
        assert_eq!(names, ["connect", "verify"]);
    }
}
