//! The wasmtime host for the Cloudflare connector plugin: loads the component, grants it only
//! outbound HTTPS to Cloudflare through a policy, injects the API token on the way out, and
//! limits each call's memory, CPU and wall-clock time.
//!
//! Layers, each using only those below it: the front ends ([`front`]: CLI, MCP, rendering) ->
//! [`audit`] (inspects components) -> [`sandbox`] (engine, limits, instances, calls) ->
//! [`outbound`] (policy, hooks, resolver, TLS, pool, records); [`credentials`] is a leaf.

pub mod audit;
pub mod credentials;
pub mod front;
pub mod outbound;
pub mod sandbox;

pub use audit::{AuditReport, UngrantedImports};
pub use credentials::ApiToken;
pub use outbound::{OutboundPolicy, OutboundRecord, Resolve, Resolver, Verdict};
pub use sandbox::{
    Answer, ApiFailure, AuditLog, CallError, Check, CheckStatus, CompileCache, ConnectOptions,
    ConnectionInfo, GraphqlProblem, Harness, InputProblem, InstancePool, Limits, LoadSource,
    Permission, PluginError, PluginInstance, RateLimit, RateLimiter, SandboxConfig, Service,
    ServiceRule, TokenState, ToolSpec, VerifyReport, dns, docs, graphql,
};

/// Where `make build` puts the plugin, relative to the workspace root.
pub const DEFAULT_PLUGIN: &str = "target/wasm32-wasip2/release/cloudflare_connector.wasm";

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// The host's fuzz targets in `fuzz/` (which builds their files on their own, without the
    /// rest of the host), by the name of their `fuzz/regressions/<name>/` directory.
    type FuzzEntry = fn(&[u8]);
    const FUZZ_TARGETS: &[(&str, FuzzEntry)] = &[
        ("mcp_message", crate::front::mcp_transport::fuzz_entry),
        ("redact", crate::credentials::fuzz_redact),
    ];

    /// Every input kept under `fuzz/regressions/` for a host target goes through it again.
    #[test]
    fn the_kept_fuzz_inputs_of_the_host_pass() {
        let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../fuzz/regressions"));
        for (name, run) in FUZZ_TARGETS {
            let dir = root.join(name);
            let mut files: Vec<_> = std::fs::read_dir(&dir)
                .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .map(|entry| entry.expect("a directory entry").path())
                .collect();
            files.sort();
            assert!(!files.is_empty(), "no inputs in {}", dir.display());
            for file in files {
                run(&std::fs::read(&file).expect("readable"));
            }
        }
    }

    /// Every `crate::<module>` a file names.
    fn crate_paths(text: &str) -> Vec<String> {
        let mut found = Vec::new();
        let mut rest = text;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            let name: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            found.push(name);
            rest = after;
        }
        found
    }

    /// The `.rs` files under `dir`, recursively, with their text.
    fn sources(dir: &Path) -> Vec<(String, String)> {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).expect("a layer's folder") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                files.extend(sources(&path));
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("source");
                files.push((path.display().to_string(), text));
            }
        }
        files
    }

    /// Dependencies point one way: a layer names only itself, the layers below it and the
    /// `credentials` leaf (not even a root re-export, which could hide a higher layer).
    #[test]
    fn no_layer_names_a_layer_above_it() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let layers: [(&str, &[&str]); 3] = [
            ("outbound", &["outbound", "credentials"]),
            ("sandbox", &["sandbox", "outbound", "credentials"]),
            ("audit", &["audit", "sandbox", "outbound", "credentials"]),
        ];
        let mut wrong = Vec::new();
        for (layer, allowed) in layers {
            let files = sources(&src.join(layer));
            assert!(!files.is_empty(), "no sources in {layer}/");
            for (file, text) in files {
                for name in crate_paths(&text) {
                    if !allowed.contains(&name.as_str()) {
                        wrong.push(format!("{file} names crate::{name}"));
                    }
                }
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn the_layer_check_sees_a_higher_layer_named() {
        let names =
            crate_paths("use crate::audit::x;\n/// [`y`](crate::report::y)\ncrate::Harness");
        assert_eq!(names, ["audit", "report", "Harness"]);
    }
}
