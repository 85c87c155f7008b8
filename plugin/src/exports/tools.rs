//! The `tools` exports: the route table in [`crate::tools`] as MCP-style tools.

use crate::input::{self, Text};
use crate::tools::Effect;
use crate::wit_tools::{Guest, ToolSpec};
use crate::wit_types::Error;
use crate::{Component, tools};

impl Guest for Component {
    fn list_tools() -> Vec<ToolSpec> {
        tools::listed()
            .map(|route| ToolSpec {
                name: route.name.to_string(),
                title: route.title.to_string(),
                description: route.description.to_string(),
                input_schema: (route.schema)().to_string(),
                output_schema: route.output_schema.to_string(),
                service: route.service,
                read_only: route.effect == Effect::Reads,
                // Calling any tool again with the same arguments changes nothing more.
                idempotent: true,
                open_world: route.effect == Effect::Reads,
            })
            .collect()
    }

    fn call_tool(name: String, arguments_json: String) -> Result<String, Error> {
        input::within("name", &name, Text::Identifier)?;
        input::within("arguments", &arguments_json, Text::Arguments)?;
        tools::call(&name, &arguments_json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_connection_connect_and_verify_are_listed_and_only_verify_reads() {
        let specs = <Component as Guest>::list_tools();
        let names: Vec<&str> = specs.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["connect", "verify"]);
        let reads: Vec<(bool, bool)> = specs.iter().map(|t| (t.read_only, t.open_world)).collect();
        assert_eq!(reads, [(false, false), (true, true)]);
    }
}
