//! The engine every plugin runs on, the linker, and what the harness grants: a component that
//! imports anything else is refused at load, before linking, with each such import named.

use crate::sandbox::bindings::ConnectorPluginPre;
use crate::sandbox::compile_cache::{CompileCache, LoadSource};
use crate::sandbox::instance::PluginState;
use crate::sandbox::limits::{MAX_INSTANCES, MAX_MEMORIES, MAX_TABLE_ELEMENTS, MAX_TABLES};
use serde::Serialize;
use std::fmt;
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, Linker};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, ProfilingStrategy,
};

/// The engine every plugin runs on (and the audit inspects them with); part of the compile
/// cache's key.
pub(crate) fn engine_config(pool: Option<InstancePool>) -> Config {
    let mut config = Config::new();
    config.wasm_component_model(true).epoch_interruption(true);
    // For `perf`: names the compiled functions in /tmp/perf-<pid>.map (docs/performance.md).
    if std::env::var_os("CF_HARNESS_PERF_MAP").is_some() {
        config.profiler(ProfilingStrategy::PerfMap);
    }
    if let Some(pool) = pool {
        // Slots sized by the store's own limits (`limits.rs`), so a slot holds any instance
        // the limiter lets grow.
        let mut pooling = PoolingAllocationConfig::default();
        pooling
            .total_component_instances(pool.instances)
            .total_core_instances(pool.instances.saturating_mul(MAX_INSTANCES))
            .total_memories(pool.instances.saturating_mul(MAX_MEMORIES))
            .total_tables(pool.instances.saturating_mul(MAX_TABLES))
            .total_stacks(pool.instances)
            .max_core_instances_per_component(MAX_INSTANCES)
            .max_memories_per_component(MAX_MEMORIES)
            .max_tables_per_component(MAX_TABLES)
            .table_elements(MAX_TABLE_ELEMENTS as usize)
            .max_memory_size(pool.memory_bytes);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling));
    }
    config
}

/// Instances made from slots reserved once (`serve`: one per session) rather than allocated
/// for each: how many, and the linear memory each may reach.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InstancePool {
    pub instances: u32,
    pub memory_bytes: usize,
}

/// A new engine and the component compiled on it (or taken from `cache`, when it holds a valid
/// entry for these bytes and this engine, and stored there otherwise).
pub fn compile(
    wasm: &[u8],
    cache: Option<&CompileCache>,
    pool: Option<InstancePool>,
) -> anyhow::Result<(Engine, Component, LoadSource)> {
    let engine = Engine::new(&engine_config(pool))?;
    let (component, source) = CompileCache::load_or_compile(cache, &engine, wasm)?;
    Ok((engine, component, source))
}

/// Links what the harness grants or stubs: WASI 0.2 (its `WasiCtx`, set up in
/// `Harness::instantiate`, decides what is behind each interface) and WASI HTTP's outgoing side.
/// `Harness::load` and the audit both use it, so the audit describes what is really linked.
fn link_grants(linker: &mut Linker<PluginState>) -> anyhow::Result<()> {
    wasmtime_wasi::p2::add_to_linker_async(linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(linker)?;
    Ok(())
}

/// What `Harness::load` does after compiling: refuse ungranted imports, link, and type-check
/// the exports against the `connector-plugin` world. The audit calls it too, to say whether a
/// component loads.
pub fn link(
    engine: &Engine,
    component: &Component,
) -> anyhow::Result<ConnectorPluginPre<PluginState>> {
    let refused = ungranted_imports(engine, component);
    if !refused.is_empty() {
        return Err(UngrantedImports(refused).into());
    }
    let mut linker = Linker::<PluginState>::new(engine);
    link_grants(&mut linker)?;
    Ok(ConnectorPluginPre::new(linker.instantiate_pre(component)?)?)
}

/// What the harness does with one import.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    /// Linked and usable (within the policy and limits).
    Granted,
    /// Linked, but there is nothing behind it (no directory, empty stdin, discarded output).
    Stubbed,
    /// Not granted: a component importing it is refused at load.
    Denied,
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Access::Granted => "granted",
            Access::Stubbed => "stubbed",
            Access::Denied => "denied",
        })
    }
}

/// An import `Harness::load` refuses, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RefusedImport {
    pub name: String,
    pub reason: String,
}

/// `Harness::load`'s error when the component imports an interface the harness does not grant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UngrantedImports(pub Vec<RefusedImport>);

impl fmt::Display for UngrantedImports {
    /// Each refused import by name; imports refused for the same reason share it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the component imports what this harness does not grant: ")?;
        let mut reasons: Vec<&str> = Vec::new();
        for import in &self.0 {
            if !reasons.contains(&import.reason.as_str()) {
                reasons.push(&import.reason);
            }
        }
        for (i, reason) in reasons.iter().enumerate() {
            let names: Vec<&str> = self
                .0
                .iter()
                .filter(|r| r.reason == *reason)
                .map(|r| r.name.as_str())
                .collect();
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{} ({reason})", names.join(", "))?;
        }
        f.write_str(". Run `cf-harness audit` on the component to see every import")
    }
}

impl std::error::Error for UngrantedImports {}

/// The imports the harness refuses: everything [`classify`] denies.
pub fn ungranted_imports(engine: &Engine, component: &Component) -> Vec<RefusedImport> {
    let ty = component.component_type();
    ty.imports(engine)
        .filter_map(|(name, ext)| {
            let (access, reason) = classify(name, &ext.ty, engine, &[]);
            (access == Access::Denied).then(|| RefusedImport {
                name: name.to_string(),
                reason,
            })
        })
        .collect()
}

/// `wasi:http/outgoing-handler@0.2.4` → (`wasi:http`, `outgoing-handler`, `0.2.4`).
fn split_name(name: &str) -> (&str, &str, &str) {
    let (path, version) = name.split_once('@').unwrap_or((name, ""));
    let (package, interface) = path.split_once('/').unwrap_or((path, ""));
    (package, interface, version)
}

/// What the harness does with one import, and why. Only WASI 0.2.x is linked.
pub fn classify(
    name: &str,
    ty: &ComponentItem,
    engine: &Engine,
    guest_env: &[&str],
) -> (Access, String) {
    use Access::*;
    let (package, interface, version) = split_name(name);
    let ComponentItem::ComponentInstance(instance) = ty else {
        return (
            Denied,
            "not an interface: the harness links no top-level function, resource or component"
                .into(),
        );
    };
    if !package.starts_with("wasi:") {
        // An interface that only defines types (the contract's own `types`) gives nothing
        // to call: it needs no grant. Anything callable from another package is not linked.
        let callable = instance.exports(engine).any(|(_, e)| {
            matches!(
                e.ty,
                ComponentItem::ComponentFunc(_)
                    | ComponentItem::CoreFunc(_)
                    | ComponentItem::Resource(_)
                    | ComponentItem::ComponentInstance(_)
                    | ComponentItem::Component(_)
                    | ComponentItem::Module(_)
            )
        });
        return if callable {
            (
                Denied,
                "not linked: the harness provides no such interface".into(),
            )
        } else {
            (Granted, "types only: nothing to call".into())
        };
    }
    if !version.starts_with("0.2.") {
        return (
            Denied,
            format!("not linked: the harness links WASI 0.2.x, not {version:?}"),
        );
    }
    let env = if guest_env.is_empty() {
        "no variable".to_string()
    } else {
        guest_env.join(" and ")
    };
    let (access, reason): (Access, String) = match (package, interface) {
        ("wasi:http", "outgoing-handler") => (
            Granted,
            "every request is decided by the outbound policy below; the host drops the guest's \
             Authorization and adds the token itself, and enforces its own timeouts"
                .into(),
        ),
        ("wasi:http", "types") => (
            Granted,
            "requests, responses, headers and bodies for the outgoing handler; nothing can be \
             served (wasi:http/incoming-handler is not linked)"
                .into(),
        ),
        ("wasi:io", "error" | "poll" | "streams") => (
            Granted,
            "streams and polling: HTTP bodies, timers and the stubbed stdio; no stream of its \
             own"
            .into(),
        ),
        ("wasi:clocks", "wall-clock" | "monotonic-clock") => {
            (Granted, "the host's clocks, read-only".into())
        }
        ("wasi:random", "random" | "insecure" | "insecure-seed") => {
            (Granted, "random numbers from the host's generators".into())
        }
        ("wasi:cli", "environment") => (
            Granted,
            format!(
                "get-environment returns only what the host chooses ({env}); never the token; \
                 no arguments, no working directory"
            ),
        ),
        ("wasi:cli", "exit") => (
            Granted,
            "the guest may end its own call: the host sees a trap and the instance is \
             poisoned"
                .into(),
        ),
        ("wasi:cli", "stdin") => (Stubbed, "closed: reads end at once".into()),
        ("wasi:cli", "stdout" | "stderr") => (Stubbed, "output is discarded".into()),
        (
            "wasi:cli",
            "terminal-input" | "terminal-output" | "terminal-stdin" | "terminal-stdout"
            | "terminal-stderr",
        ) => (Stubbed, "no terminal".into()),
        ("wasi:filesystem", _) => (
            Denied,
            "no files: the connector reads nothing from disk, and a plugin that could open \
             files could read the host's secrets"
                .into(),
        ),
        ("wasi:sockets", _) => (
            Denied,
            "no sockets and no name lookups: the plugin reaches the network only through \
             wasi:http/outgoing-handler"
                .into(),
        ),
        _ => (Denied, "not linked by this harness".into()),
    };
    (access, reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_into_package_interface_version() {
        assert_eq!(
            split_name("wasi:http/outgoing-handler@0.2.4"),
            ("wasi:http", "outgoing-handler", "0.2.4")
        );
        assert_eq!(split_name("plain"), ("plain", "", ""));
    }
}
