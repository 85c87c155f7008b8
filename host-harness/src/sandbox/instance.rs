//! A loaded plugin ([`Harness`]) and its instances ([`PluginInstance`]): each with its own
//! store, WASI context, outbound hook, limits and request log.

use crate::credentials::ApiToken;
use crate::outbound::budget::TokenBudget;
use crate::outbound::{OutboundHooks, OutboundPolicy, OutboundRecord, RequestLog, Resolver};
use crate::sandbox::audit_log::AuditLog;
use crate::sandbox::bindings::{ConnectorPlugin, ConnectorPluginPre};
use crate::sandbox::compile_cache::{CompileCache, LoadSource};
use crate::sandbox::engine::{InstancePool, compile, link};
use crate::sandbox::limits::{CpuLimitExceeded, EpochTicker, Limits, PeakTrackingLimits};
use crate::sandbox::services::ServiceRule;
use anyhow::Context as _;
use std::path::Path;
use std::sync::Arc;
use wasmtime::component::ResourceTable;
use wasmtime::{Engine, Store, UpdateDeadline};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

/// What one instance may do and holds: its token, outbound policy, limits and environment.
#[derive(Clone, Debug, Default)]
pub struct SandboxConfig {
    pub token: Option<ApiToken>,
    pub policy: OutboundPolicy,
    pub limits: Limits,
    /// Variables the guest may read (`CLOUDFLARE_ACCOUNT_ID`, `ENABLED_SERVICES`); never the token.
    pub guest_env: Vec<(String, String)>,
    /// How the host resolves allowed names before vetting their addresses (the system's;
    /// tests give fixed answers).
    pub resolver: Resolver,
    /// Where each call and its outbound requests are recorded (`--audit-log`).
    pub audit_log: Option<Arc<AuditLog>>,
    /// The token's outbound budget, shared by the sessions that use it (`serve`); none: only
    /// Cloudflare's own limits apply.
    pub budget: Option<Arc<TokenBudget>>,
    /// The services a connection may enable (a policy file's `services`): a `connect` asking
    /// for another is refused before the plugin runs. None: every service.
    pub allowed_services: Option<ServiceRule>,
}

/// The store's data: WASI context with no preopens, no environment but what the harness
/// chooses, no sockets and no name lookup; the HTTP context with our hooks; the limits.
pub struct PluginState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    pub(crate) hooks: OutboundHooks,
    pub(crate) limits: PeakTrackingLimits,
    pub(crate) cpu_ticks_left: u64,
}

impl WasiView for PluginState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for PluginState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

/// A loaded plugin, ready to create instances. Cheap to clone.
#[derive(Clone)]
pub struct Harness {
    engine: Engine,
    pre: ConnectorPluginPre<PluginState>,
    loaded_from: LoadSource,
    _ticker: Arc<EpochTicker>,
}

impl Harness {
    /// Compiles the plugin and links it against WASI and WASI HTTP.
    pub fn load(plugin: &Path) -> anyhow::Result<Self> {
        Self::load_with(plugin, None)
    }

    /// As [`Harness::load`], taking the compiled component from `cache` when it holds a valid
    /// entry for these bytes and this engine (and storing it there otherwise).
    pub fn load_with(plugin: &Path, cache: Option<&CompileCache>) -> anyhow::Result<Self> {
        Self::load_pooled(plugin, cache, None)
    }

    /// As [`Harness::load_with`], its instances made in the slots of `pool` when given.
    pub fn load_pooled(
        plugin: &Path,
        cache: Option<&CompileCache>,
        pool: Option<InstancePool>,
    ) -> anyhow::Result<Self> {
        let context = || {
            format!(
                "cannot load the plugin {} (build it with `make build`, or pass --plugin)",
                plugin.display()
            )
        };
        let wasm = std::fs::read(plugin).with_context(context)?;
        let (engine, component, loaded_from) = compile(&wasm, cache, pool).with_context(context)?;
        tracing::debug!(source = ?loaded_from, plugin = %plugin.display(), "plugin loaded");
        // Refused before linking: an import the harness does not grant (wasi:sockets, ...).
        let pre = link(&engine, &component)
            .with_context(|| format!("refusing the plugin {}", plugin.display()))?;
        let ticker = Arc::new(EpochTicker::start(&engine));
        Ok(Harness {
            engine,
            pre,
            loaded_from,
            _ticker: ticker,
        })
    }

    /// Whether the component was compiled now or came from the compile cache.
    pub fn loaded_from(&self) -> LoadSource {
        self.loaded_from
    }

    /// A fresh instance with its own store, limits and request log.
    pub async fn instantiate(&self, config: &SandboxConfig) -> anyhow::Result<PluginInstance> {
        let limits = &config.limits;
        let mut wasi = WasiCtx::builder();
        wasi.allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false);
        for (k, v) in &config.guest_env {
            wasi.env(k, v);
        }
        let log = RequestLog::default();
        let state = PluginState {
            wasi: wasi.build(),
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            hooks: OutboundHooks::new(
                config.policy.clone(),
                config.token.clone(),
                limits.requests(),
                config.resolver.clone(),
                log.clone(),
                config.budget.clone(),
            ),
            limits: PeakTrackingLimits::new(limits),
            // Instantiation runs guest code too (static initialisers): give it a call's budget.
            cpu_ticks_left: limits.cpu_ticks(),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        // The callback runs each tick the guest is running, so counting calls measures guest
        // CPU time; yielding lets the wall-clock timeout fire even in a busy loop. Out of time
        // is a typed error, so the call's error can say so.
        store.epoch_deadline_callback(|mut ctx| {
            let left = &mut ctx.data_mut().cpu_ticks_left;
            if *left == 0 {
                return Err(wasmtime::Error::new(CpuLimitExceeded));
            }
            *left -= 1;
            Ok(UpdateDeadline::Yield(1))
        });
        store.set_epoch_deadline(1);
        let bindings = self.pre.instantiate_async(&mut store).await?;
        Ok(PluginInstance {
            store,
            bindings,
            limits: limits.clone(),
            poisoned: false,
            log,
            audit_log: config.audit_log.clone(),
            allowed_services: config.allowed_services.clone(),
        })
    }
}

/// One plugin instance: its state (connection, caches) lives as long as this value. Its typed
/// calls, one per export, are in `typed_calls.rs`; each goes through the one guarded call.
pub struct PluginInstance {
    pub(crate) store: Store<PluginState>,
    pub(crate) bindings: ConnectorPlugin,
    pub(crate) limits: Limits,
    pub(crate) poisoned: bool,
    pub(crate) log: RequestLog,
    pub(crate) audit_log: Option<Arc<AuditLog>>,
    pub(crate) allowed_services: Option<ServiceRule>,
}

impl PluginInstance {
    /// The largest linear memory this instance has been granted, in bytes (memory only grows,
    /// so this is also its current size).
    pub fn peak_memory_bytes(&self) -> usize {
        self.store.data().limits.peak_memory_bytes
    }

    /// Every outbound request this instance made, allowed or denied.
    pub fn outbound_log(&self) -> Vec<OutboundRecord> {
        lock(&self.log).clone()
    }

    /// How many outbound requests the instance has recorded: where the next call's begin.
    pub fn outbound_count(&self) -> usize {
        lock(&self.log).len()
    }

    /// The outbound requests recorded from the `from`th on.
    pub fn outbound_since(&self, from: usize) -> Vec<OutboundRecord> {
        lock(&self.log)
            .get(from..)
            .map(<[_]>::to_vec)
            .unwrap_or_default()
    }
}

/// The log, even if a thread panicked while holding it (records are plain data).
pub(crate) fn lock(log: &RequestLog) -> std::sync::MutexGuard<'_, Vec<OutboundRecord>> {
    log.lock().unwrap_or_else(|e| e.into_inner())
}
