//! The `tools` exports: the route table in [`crate::tools`] as MCP-style tools.

use crate::input::{self, Text};
use crate::wit_tools::{Guest, ToolSpec};
use crate::wit_types::Error;
use crate::{Component, tools};

impl Guest for Component {
    fn list_tools() -> Vec<ToolSpec> {
        tools::listed()
            .map(|route| ToolSpec {
                name: route.name.to_string(),
                description: route.description.to_string(),
                input_schema: (route.schema)().to_string(),
                service: route.service,
                read_only: true,
            })
            .collect()
    }

    fn call_tool(name: String, arguments_json: String) -> Result<String, Error> {
        input::within("name", &name, Text::Identifier)?;
        input::within("arguments", &arguments_json, Text::Arguments)?;
        tools::call(&name, &arguments_json).map(|result| result.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_connection_connect_and_verify_are_listed_read_only() {
        let specs = <Component as Guest>::list_tools();
        let names: Vec<&str> = specs.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["connect", "verify"]);
        assert!(specs.iter().all(|t| t.read_only));
    }
}
