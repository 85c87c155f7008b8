use crate::cloudflare::{catalog, verify};
use crate::connection;
use crate::error::invalid;
use crate::exports::connector::connection_info;
use crate::exports::{args, dns, docs, graphql};
use crate::http::WasiTransport;
use crate::wit_tools::{Guest, ToolSpec};
use crate::wit_types::Error;
use crate::{Component, json, time};
use serde_json::{Value, json};

impl Guest for Component {
    fn list_tools() -> Vec<ToolSpec> {
        catalog_of_tools()
            .into_iter()
            .map(|(name, description, schema)| ToolSpec {
                name: name.to_string(),
                description: description.to_string(),
                input_schema: schema.to_string(),
            })
            .collect()
    }

    fn call_tool(name: String, arguments_json: String) -> Result<String, Error> {
        let arguments = args::parse(&arguments_json)?;
        let result = match name.as_str() {
            "connect" => {
                args::only(&arguments, &["account_id", "enabled_services"])?;
                let account_id = args::required_string(&arguments, "account_id")?;
                let names = match arguments.get("enabled_services") {
                    Some(Value::Array(items)) => items
                        .iter()
                        .map(|v| {
                            v.as_str().ok_or_else(|| {
                                invalid("enabled_services", "each service is a string")
                            })
                        })
                        .collect::<Result<Vec<&str>, Error>>()?,
                    Some(Value::String(list)) => list.split(',').collect(),
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
                json::connection_info(&info)
            }
            "verify" => {
                args::only(&arguments, &[])?;
                let connection = connection::current()?;
                json::verify_report(&verify::verify(
                    &connection,
                    &WasiTransport,
                    time::now_unix(),
                ))
            }
            other => match docs::call_tool(other, &arguments)
                .or_else(|| dns::call_tool(other, &arguments))
                .or_else(|| graphql::call_tool(other, &arguments))
            {
                Some(result) => result?,
                None => {
                    let known: Vec<&str> = catalog_of_tools().iter().map(|t| t.0).collect();
                    return Err(invalid(
                        "name",
                        format!("unknown tool {other:?}; available: {}", known.join(", ")),
                    ));
                }
            },
        };
        Ok(result.to_string())
    }
}

/// Name, description for a language model, and JSON Schema of each tool.
fn catalog_of_tools() -> Vec<(&'static str, &'static str, Value)> {
    let service_names: Vec<String> = catalog::SERVICES
        .iter()
        .flat_map(|s| {
            [
                catalog::display_name(*s).to_string(),
                catalog::slug(*s).to_string(),
            ]
        })
        .collect();
    let mut tools = vec![
        (
            "connect",
            "Set the Cloudflare account and the services this connection uses. Call it first \
             when the host has not configured the connection. Returns each service's required \
             token permissions and the hosts the plugin will call. Sends no request.",
            json!({
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
                        "items": { "type": "string", "enum": service_names },
                        "minItems": 1
                    }
                },
                "required": ["account_id", "enabled_services"],
                "additionalProperties": false
            }),
        ),
        (
            "verify",
            "Check that the API token is valid and active, that the account ID matches it, and \
             that it has every permission the enabled services need. Each check has a status \
             (ok, warning, failed, skipped, rate-limited) and, when not ok, a hint saying what \
             to fix. Use it when a call fails with unauthorized or forbidden, or before first \
             use. Read-only.",
            json!({ "type": "object", "properties": {}, "additionalProperties": false }),
        ),
    ];
    tools.extend(docs::tool_specs());
    tools.extend(dns::tool_specs());
    tools.extend(graphql::tool_specs());
    tools
}
