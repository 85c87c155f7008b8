use crate::cloudflare::{catalog, verify};
use crate::connection;
use crate::error::invalid;
use crate::exports::connector::connection_info;
use crate::exports::{args, dns, docs, graphql, schema};
use crate::http::WasiTransport;
use crate::wit_tools::{Guest, ToolSpec};
use crate::wit_types::{Error, Service};
use crate::{Component, json, time};
use serde_json::{Map, Value};

/// One tool of the catalog.
pub struct Tool {
    pub name: &'static str,
    pub description: &'static str,
    pub schema: Value,
    pub service: Option<Service>,
}

impl Guest for Component {
    fn list_tools() -> Vec<ToolSpec> {
        let connection = connection::current().ok();
        catalog()
            .into_iter()
            .filter(|tool| match (&connection, tool.service) {
                // Configured by the host (or by `connect`): the enabled services' tools.
                (Some(c), Some(service)) => c.has(service),
                (Some(_), None) => tool.name != "connect",
                // Not configured yet: `connect` first.
                (None, service) => service.is_none(),
            })
            .map(|tool| ToolSpec {
                name: tool.name.to_string(),
                description: tool.description.to_string(),
                input_schema: tool.schema.to_string(),
                service: tool.service,
                read_only: true,
            })
            .collect()
    }

    fn call_tool(name: String, arguments_json: String) -> Result<String, Error> {
        let arguments = args::parse(&arguments_json)?;
        let tools = catalog();
        let Some(tool) = tools.iter().find(|t| t.name == name) else {
            let known: Vec<String> = <Component as Guest>::list_tools()
                .into_iter()
                .map(|t| t.name)
                .collect();
            return Err(invalid(
                "name",
                format!("unknown tool {name:?}; available: {}", known.join(", ")),
            ));
        };
        if let (Some(service), Ok(connection)) = (tool.service, connection::current())
            && !connection.has(service)
        {
            return Err(Error::ServiceDisabled(service));
        }
        schema::validate(&tool.schema, &arguments)?;
        let result = match name.as_str() {
            "connect" => connect(&arguments)?,
            "verify" => {
                let connection = connection::current()?;
                json::verify_report(&verify::verify(
                    &connection,
                    &WasiTransport,
                    time::now_unix(),
                ))
            }
            other => match run_service_tool(other, &arguments) {
                Some(result) => result?,
                None => return Err(Error::Internal(format!("tool {other} has no runner"))),
            },
        };
        Ok(result.to_string())
    }
}

/// Runs a service's tool by name, or `None` when no service has it.
pub fn run_service_tool(
    name: &str,
    arguments: &Map<String, Value>,
) -> Option<Result<Value, Error>> {
    docs::call_tool(name, arguments)
        .or_else(|| dns::call_tool(name, arguments))
        .or_else(|| graphql::call_tool(name, arguments))
}

fn connect(arguments: &Map<String, Value>) -> Result<Value, Error> {
    let account_id = args::required_string(arguments, "account_id")?;
    let names = match arguments.get("enabled_services") {
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .ok_or_else(|| invalid("enabled_services", "each service is a string"))
            })
            .collect::<Result<Vec<&str>, Error>>()?,
        _ => {
            return Err(invalid(
                "enabled_services",
                format!("a list of services: {}", catalog::accepted_service_names()),
            ));
        }
    };
    let services = connection::parse_services("enabled_services", names)?;
    let connection = connection::from_options(&account_id, &services)?;
    let info = connection_info(&connection);
    connection::store(connection);
    Ok(json::connection_info(&info))
}

/// Every tool: name, description for a language model, JSON Schema, service.
pub fn catalog() -> Vec<Tool> {
    let service_names: Vec<String> = catalog::SERVICES
        .iter()
        .flat_map(|s| {
            [
                catalog::display_name(*s).to_string(),
                catalog::slug(*s).to_string(),
            ]
        })
        .collect();
    let general = vec![
        (
            "connect",
            "Set the Cloudflare account and the services this connection uses. Call it first \
             when the host has not configured the connection. Returns each service's required \
             token permissions and the hosts the plugin will call. Sends no request.",
            schema::from_text(
                r#"{
                    "type": "object",
                    "properties": {
                        "account_id": {
                            "type": "string",
                            "description": "The Cloudflare account ID: 32 hexadecimal characters.",
                            "pattern": "^\\s*[0-9a-fA-F]{32}\\s*$"
                        },
                        "enabled_services": {
                            "type": "array",
                            "description": "Services to enable (case-insensitive).",
                            "items": { "type": "string", "enum": "$services" },
                            "minItems": 1
                        }
                    },
                    "required": ["account_id", "enabled_services"],
                    "additionalProperties": false
                }"#,
                &[("$services", service_names.into())],
            ),
        ),
        (
            "verify",
            "Check that the API token is valid and active, that the account ID matches it, and \
             that it has every permission the enabled services need. Each check has a status \
             (ok, warning, failed, skipped, rate-limited) and, when not ok, a hint saying what \
             to fix. Use it when a call fails with unauthorized or forbidden, or before first \
             use. Read-only.",
            schema::from_text(
                r#"{ "type": "object", "properties": {}, "additionalProperties": false }"#,
                &[],
            ),
        ),
    ];
    let mut tools: Vec<Tool> = general
        .into_iter()
        .map(|(name, description, schema)| Tool {
            name,
            description,
            schema,
            service: None,
        })
        .collect();
    for (service, specs) in [
        (Service::Documentation, docs::tool_specs()),
        (Service::DnsAnalytics, dns::tool_specs()),
        (Service::GraphqlAnalytics, graphql::tool_specs()),
    ] {
        tools.extend(specs.into_iter().map(|(name, description, schema)| Tool {
            name,
            description,
            schema,
            service: Some(service),
        }));
    }
    tools
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

    #[test]
    fn every_schema_is_strict_documented_and_checkable() {
        let mut missing = Vec::new();
        for tool in catalog() {
            assert_eq!(tool.schema["type"], "object", "{}", tool.name);
            assert_eq!(tool.schema["additionalProperties"], false, "{}", tool.name);
            let mut found = Vec::new();
            keywords(&tool.schema, tool.name, &mut found);
            for (path, keyword) in &found {
                assert!(
                    schema::KEYWORDS.contains(&keyword.as_str()),
                    "{path} uses {keyword}, which call-tool's validator does not check"
                );
            }
            let undocumented: Vec<&String> = tool.schema["properties"]
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
                "query" if schema["maxLength"].is_u64() => "create an API token",
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
        for tool in catalog().into_iter().filter(|t| t.service.is_some()) {
            let full = example(&tool.schema, tool.name);
            assert_eq!(
                schema::validate(&tool.schema, full.as_object().unwrap_or(&Map::new())),
                Ok(()),
                "{}",
                tool.name
            );
            if let Err(e) = parser_accepts(tool.name, &full) {
                drift.push(format!("{} {full}: {e}", tool.name));
            }
            for (key, property) in tool.schema["properties"].as_object().into_iter().flatten() {
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
        for tool in catalog() {
            let mut found = Vec::new();
            strings(&tool.schema, &mut found);
            let left: Vec<&&str> = found.iter().filter(|s| s.starts_with('$')).collect();
            assert!(left.is_empty(), "{}: {left:?}", tool.name);
        }
    }

    #[test]
    fn without_a_connection_only_connect_and_verify_are_listed() {
        let names: Vec<String> = <Component as Guest>::list_tools()
            .into_iter()
            .map(|t| t.name)
            .collect();
        assert_eq!(names, ["connect", "verify"]);
        assert!(
            <Component as Guest>::list_tools()
                .iter()
                .all(|t| t.read_only)
        );
    }
}
