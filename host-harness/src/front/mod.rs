//! The front ends: the `cf-harness` command line, the MCP server over stdio, and the rendering
//! of the plugin's typed values and errors they share. They use the library only through the
//! crate root, so the layers below can move without touching them.

pub mod cli;
pub mod mcp;
pub mod mcp_transport;
pub mod metrics;
mod output;
pub mod policy_file;
mod prompts;
pub mod render;
pub mod serve;
