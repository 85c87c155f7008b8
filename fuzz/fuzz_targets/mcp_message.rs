#![no_main]

// The host's bounded MCP reader, built from its own file.
#[path = "../../host-harness/src/front/mcp_transport.rs"]
#[allow(dead_code)]
mod mcp_transport;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| mcp_transport::fuzz_entry(data));
