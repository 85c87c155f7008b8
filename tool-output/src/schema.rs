//! The JSON Schemas of the result types (feature `schema`): draft-07, every subschema inline,
//! so a client needs no `$ref` resolution; Rust-only `format`s (`uint32`, `double`) removed.

use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde_json::Value;

/// The draft the schemas are written in.
pub const DIALECT: &str = "http://json-schema.org/draft-07/schema#";

/// `T`'s schema, without `$schema` (it is nested in the tool's output schema).
pub fn of<T: JsonSchema>() -> Value {
    let generator = SchemaSettings::draft07()
        .with(|settings| settings.inline_subschemas = true)
        .into_generator();
    let mut schema = generator.into_root_schema_for::<T>().to_value();
    if let Value::Object(map) = &mut schema {
        map.remove("$schema");
    }
    strip_rust_formats(&mut schema);
    schema
}

/// Every result type by the name of the constant the plugin's build script writes.
pub fn results() -> Vec<(&'static str, Value)> {
    use crate::*;
    vec![
        ("CONNECTION_INFO", of::<ConnectionInfo>()),
        ("VERIFY_REPORT", of::<VerifyReport>()),
        ("SEARCH_RESULT", of::<SearchResult>()),
        ("DOC_PAGE", of::<DocPage>()),
        ("PRODUCT_LIST", of::<ProductList>()),
        ("ZONE_PAGE", of::<ZonePage>()),
        ("ZONE", of::<Zone>()),
        ("RECORD_PAGE", of::<RecordPage>()),
        ("REPORT", of::<Report>()),
        ("TIMESERIES", of::<Timeseries>()),
        ("QUERY_RESULT", of::<QueryResult>()),
        ("LIMITS", of::<Limits>()),
        ("SCHEMA_SEARCH", of::<SchemaSearch>()),
        ("TYPE_DESCRIPTION", of::<TypeDescription>()),
        ("TRAFFIC_SUMMARY", of::<TrafficSummary>()),
        ("TOP_REPORT", of::<TopReport>()),
        ("FIREWALL_REPORT", of::<FirewallReport>()),
    ]
}

/// JSON Schema's own formats stay; schemars' names of Rust's number types go.
fn strip_rust_formats(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            let rust_format = map.get("format").and_then(Value::as_str).is_some_and(|f| {
                f.starts_with("int") || f.starts_with("uint") || f == "double" || f == "float"
            });
            if rust_format {
                map.remove("format");
            }
            map.values_mut().for_each(strip_rust_formats);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_rust_formats),
        _ => {}
    }
}
