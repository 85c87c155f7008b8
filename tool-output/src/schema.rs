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

#[cfg(test)]
mod tests {
    use super::*;

    fn walk(value: &Value, path: &str, found: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (key, inner) in map {
                    if key == "$ref" || (key == "format" && !inner.is_string()) {
                        found.push(format!("{path}.{key}"));
                    }
                    if key == "format" && inner.as_str().is_some_and(|f| f.contains("int")) {
                        found.push(format!("{path}.format"));
                    }
                    walk(inner, &format!("{path}.{key}"), found);
                }
            }
            Value::Array(items) => items.iter().for_each(|i| walk(i, path, found)),
            _ => {}
        }
    }

    /// Every result schema is a self-contained object schema: no `$ref` to resolve, no Rust
    /// number formats, its fields required.
    #[test]
    fn every_result_schema_is_an_inline_object_with_required_fields() {
        let results = results();
        assert_eq!(results.len(), 17, "one per tool");
        for (name, schema) in results
            .iter()
            .chain([&("ERROR", of::<crate::ErrorEnvelope>())])
        {
            assert_eq!(schema["type"], "object", "{name}");
            assert!(
                schema.get("$schema").is_none(),
                "{name}: nested, so no $schema"
            );
            let required = schema["required"].as_array().map_or(0, Vec::len);
            assert!(required > 0, "{name}: {schema}");
            let mut refs = Vec::new();
            walk(schema, name, &mut refs);
            assert!(refs.is_empty(), "{name}: {refs:?}");
        }
    }

    #[test]
    fn the_error_envelope_requires_the_error_and_its_four_fields() {
        let schema = of::<crate::ErrorEnvelope>();
        assert_eq!(schema["required"], serde_json::json!(["error"]));
        let error = &schema["properties"]["error"];
        for field in ["kind", "message", "hint", "docs_url"] {
            assert!(error["properties"][field].is_object(), "{field}: {error}");
        }
        assert!(
            error["required"]
                .as_array()
                .is_some_and(|r| r.contains(&"kind".into()) && r.contains(&"message".into()))
        );
    }

    #[test]
    fn each_limiter_has_its_own_limits_page() {
        let api = crate::docs_url("rate-limited", Some("api"));
        let graphql = crate::docs_url("rate-limited", Some("graphql"));
        assert!(api.is_some_and(|u| u.ends_with("/fundamentals/api/reference/limits/")));
        assert!(graphql.is_some_and(|u| u.ends_with("/analytics/graphql-api/limits/")));
        assert_eq!(crate::docs_url("rate-limited", Some("docs")), None);
        assert_eq!(
            crate::dashboard_name("zone-analytics-read"),
            Some("Zone → Analytics → Read")
        );
    }
}
