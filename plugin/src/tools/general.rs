//! The tools every connection has: `connect` and `verify`.

use crate::cloudflare::{catalog, verify};
use crate::connection;
use crate::error::invalid;
use crate::exports::connection_info;
use crate::http::WasiTransport;
use crate::names::{VariantArray, name};
use crate::tools::{Arguments, Effect, Route, args, output_schemas, schema};
use crate::wit_types::{Error, Service};
use crate::{json, time};
use serde_json::Value;

pub const ROUTES: &[Route] = &[
    Route {
        name: "connect",
        title: "Connect an account",
        output_schema: output_schemas::CONNECTION_INFO,
        effect: Effect::SetsConnection,
        service: None,
        description: "Set the Cloudflare account and the services this connection uses. Call it \
            first when the host has not configured the connection; when it has, connect can \
            only narrow the host's services, never add one or switch the account. Returns each \
            service's required token permissions and the hosts the plugin will call. Sends no \
            request.",
        schema: connect_schema,
        run: connect,
    },
    Route {
        name: "verify",
        title: "Verify the token and its permissions",
        output_schema: output_schemas::VERIFY_REPORT,
        effect: Effect::Reads,
        service: None,
        description: "Check that the API token is valid and active, that the account ID \
            matches it, and that it has every permission the enabled services need. Each check \
            has a status (ok, warning, failed, skipped, rate-limited) and, when not ok, a hint \
            saying what to fix. Use it when a call fails with unauthorized or forbidden, or \
            before first use. Read-only.",
        schema: schema::no_arguments,
        run: run_verify,
    },
];

fn connect(arguments: &Arguments) -> Result<String, Error> {
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
    let connection = connection::narrowed(connection::from_options(&account_id, &services)?)?;
    let info = connection_info(&connection);
    connection::store(connection);
    json::text(&json::connection_info(&info))
}

fn run_verify(_: &Arguments) -> Result<String, Error> {
    let connection = connection::current()?;
    let report = verify::verify(&connection, &WasiTransport, time::now_unix());
    json::text(&json::verify_report(&report))
}

fn connect_schema() -> Value {
    let service_names: Vec<String> = Service::VARIANTS
        .iter()
        .flat_map(|s| [catalog::display_name(*s).to_string(), name(*s).to_string()])
        .collect();
    schema::from_text(
        r#"{
            "type": "object",
            "properties": {
                "account_id": {
                    "type": "string",
                    "description": "The Cloudflare account ID: 32 hexadecimal characters.",
                    "maxLength": "$identifier_chars",
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
    )
}
