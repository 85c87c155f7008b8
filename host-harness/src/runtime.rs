//! The wasmtime side: engine, linker, store state, the outbound hook, and per-call limits.

use crate::credentials::ApiToken;
use crate::policy::{Decision, OutboundPolicy};
use anyhow::Context as _;
use http_body_util::BodyExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Engine, Store, StoreLimits, StoreLimitsBuilder, UpdateDeadline};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};

wasmtime::component::bindgen!({
    path: "../wit",
    world: "connector-plugin",
    exports: { default: async },
});

pub use cloudflare::connector::types::{
    ApiFailure, ConnectOptions, Error as PluginError, GraphqlProblem, InputProblem, Permission,
    Service,
};
pub use exports::cloudflare::connector::connector::{
    Check, CheckStatus, ConnectionInfo, Evidence, PermissionRequirement, SecurityFinding,
    ServiceInfo, ServiceReadiness, TokenInfo, TokenState, VerifyReport,
};
/// The DNS Analytics interface's types, for hosts that call its functions directly.
pub mod dns {
    pub use super::exports::cloudflare::connector::dns_analytics::*;
}
/// The Documentation interface's types.
pub mod docs {
    pub use super::exports::cloudflare::connector::documentation::*;
}
pub use exports::cloudflare::connector::tools::ToolSpec;

/// How often the epoch ticks: the granularity of the CPU limit.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Limits applied to every call.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Linear memory of the instance.
    pub memory_bytes: usize,
    /// Time spent running guest code in one call.
    pub cpu_time: Duration,
    /// Whole call, including waiting on the network.
    pub wall_time: Duration,
    /// Timeouts the host enforces on outbound requests, whatever the guest asks.
    pub connect_timeout: Duration,
    pub first_byte_timeout: Duration,
    pub between_bytes_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 64 * 1024 * 1024,
            cpu_time: Duration::from_secs(5),
            wall_time: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            first_byte_timeout: Duration::from_secs(30),
            between_bytes_timeout: Duration::from_secs(30),
        }
    }
}

/// What one instance may do and holds: its token, outbound policy, limits and environment.
#[derive(Clone, Debug, Default)]
pub struct SandboxConfig {
    pub token: Option<ApiToken>,
    pub policy: OutboundPolicy,
    pub limits: Limits,
    /// Variables the guest may read (`CLOUDFLARE_ACCOUNT_ID`, `ENABLED_SERVICES`); never the token.
    pub guest_env: Vec<(String, String)>,
}

/// One outbound request as the host saw it (no headers: nothing secret is kept).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboundRecord {
    pub method: String,
    pub url: String,
    /// `None` when allowed, else why it was denied.
    pub denied: Option<String>,
    pub token_injected: bool,
}

/// A call that did not return normally.
#[derive(Debug)]
pub enum CallError {
    /// The guest trapped (a bug, the memory limit, or the CPU limit).
    Trap(anyhow::Error),
    /// The call exceeded the wall-clock limit and was abandoned.
    Timeout(Duration),
    /// An earlier call trapped or timed out: the instance may be inconsistent.
    Poisoned,
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Trap(e) => write!(f, "the plugin trapped: {e:#}"),
            CallError::Timeout(d) => write!(
                f,
                "the call took longer than {} s and was stopped",
                d.as_secs()
            ),
            CallError::Poisoned => {
                f.write_str("the plugin instance failed earlier; create a new one")
            }
        }
    }
}

impl std::error::Error for CallError {}

/// The outbound hook: policy, credential injection, redirect, host timeouts.
struct OutboundHooks {
    policy: Arc<OutboundPolicy>,
    token: Option<ApiToken>,
    limits: Limits,
    log: Arc<Mutex<Vec<OutboundRecord>>>,
}

impl WasiHttpHooks for OutboundHooks {
    fn send_request(
        &mut self,
        mut request: http::Request<wasmtime_wasi_http::WasiBody>,
        options: Option<wasmtime_wasi_http::RequestOptions>,
        _fut: Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
    ) -> Box<
        dyn Future<
                Output = wasmtime_wasi_http::Result<(
                    http::Response<wasmtime_wasi_http::WasiBody>,
                    Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
                )>,
            > + Send,
    > {
        let decision = self.policy.decide(request.method(), request.uri());
        let url = format!(
            "{}://{}{}",
            request.uri().scheme_str().unwrap_or(""),
            request.uri().authority().map_or("", |a| a.as_str()),
            request.uri().path()
        );
        let mut record = OutboundRecord {
            method: request.method().to_string(),
            url,
            denied: None,
            token_injected: false,
        };
        let (inject_token, upstream) = match decision {
            Decision::Allow {
                inject_token,
                upstream,
            } => (inject_token, upstream),
            Decision::Deny(reason) => {
                tracing::warn!(method = %record.method, url = %record.url, %reason, "outbound request denied");
                record.denied = Some(reason.to_string());
                self.log
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(record);
                // Drain (and discard) the body first: a guest writing one would otherwise meet
                // a closed stream before it could read why the request failed.
                let mut body = request.into_body();
                return Box::new(async move {
                    while let Some(Ok(_)) = body.frame().await {}
                    Err(wasmtime_wasi_http::Error::HttpRequestDenied)
                });
            }
        };
        // The guest never authenticates itself: whatever it set is dropped.
        let headers = request.headers_mut();
        headers.remove(http::header::AUTHORIZATION);
        if inject_token && let Some(token) = &self.token {
            headers.insert(http::header::AUTHORIZATION, token.bearer_header());
            record.token_injected = true;
        }
        if let Some(upstream) = upstream {
            let mut parts = request.uri().clone().into_parts();
            parts.scheme = Some(upstream.scheme);
            parts.authority = Some(upstream.authority);
            match http::Uri::from_parts(parts) {
                Ok(uri) => *request.uri_mut() = uri,
                Err(_) => {
                    return Box::new(async {
                        Err(wasmtime_wasi_http::Error::HttpRequestUriInvalid)
                    });
                }
            }
        }
        tracing::debug!(method = %record.method, url = %record.url, token = record.token_injected, "outbound request");
        self.log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(record);
        let clamp =
            |asked: Option<Duration>, max: Duration| Some(asked.map_or(max, |d| d.min(max)));
        let options = wasmtime_wasi_http::RequestOptions {
            connect_timeout: clamp(
                options.and_then(|o| o.connect_timeout),
                self.limits.connect_timeout,
            ),
            first_byte_timeout: clamp(
                options.and_then(|o| o.first_byte_timeout),
                self.limits.first_byte_timeout,
            ),
            between_bytes_timeout: clamp(
                options.and_then(|o| o.between_bytes_timeout),
                self.limits.between_bytes_timeout,
            ),
        };
        Box::new(async move {
            let (response, io) =
                wasmtime_wasi_http::default_send_request(request, Some(options)).await?;
            Ok((
                response.map(BodyExt::boxed_unsync),
                Box::new(io) as Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
            ))
        })
    }
}

/// The store's data: WASI context with no preopens, no environment but what the harness
/// chooses, no sockets and no name lookup; the HTTP context with our hooks; the limits.
pub struct PluginState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    hooks: OutboundHooks,
    limits: StoreLimits,
    cpu_ticks_left: u64,
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
    _ticker: Arc<EpochTicker>,
}

/// Advances the engine's epoch on a thread until dropped.
struct EpochTicker(Arc<AtomicBool>);

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

impl EpochTicker {
    fn start(engine: &Engine) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let (engine, flag) = (engine.clone(), stop.clone());
        std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                std::thread::sleep(EPOCH_TICK);
                engine.increment_epoch();
            }
        });
        EpochTicker(stop)
    }
}

impl Harness {
    /// Compiles the plugin and links it against WASI and WASI HTTP.
    pub fn load(plugin: &Path) -> anyhow::Result<Self> {
        let mut wasm_config = Config::new();
        wasm_config
            .wasm_component_model(true)
            .epoch_interruption(true);
        let engine = Engine::new(&wasm_config)?;
        let component = Component::from_file(&engine, plugin)
            .map_err(anyhow::Error::from)
            .with_context(|| {
                format!(
                    "cannot load the plugin {} (build it with `make build`, or pass --plugin)",
                    plugin.display()
                )
            })?;
        let mut linker = Linker::<PluginState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
        let pre = ConnectorPluginPre::new(linker.instantiate_pre(&component)?)?;
        let ticker = Arc::new(EpochTicker::start(&engine));
        Ok(Harness {
            engine,
            pre,
            _ticker: ticker,
        })
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
        let log = Arc::new(Mutex::new(Vec::new()));
        let state = PluginState {
            wasi: wasi.build(),
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            hooks: OutboundHooks {
                policy: Arc::new(config.policy.clone()),
                token: config.token.clone(),
                limits: limits.clone(),
                log: log.clone(),
            },
            // The component has one linear memory and a few small tables; the counts cap what
            // a hostile one could allocate outside the memory limit.
            limits: StoreLimitsBuilder::new()
                .memory_size(limits.memory_bytes)
                .memories(2)
                .tables(16)
                .table_elements(100_000)
                .instances(16)
                .build(),
            // Instantiation runs guest code too (static initialisers): give it a call's budget.
            cpu_ticks_left: cpu_ticks(limits),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        // The callback runs each tick the guest is running, so counting calls measures guest
        // CPU time; yielding lets the wall-clock timeout fire even in a busy loop.
        store.epoch_deadline_callback(|mut ctx| {
            let left = &mut ctx.data_mut().cpu_ticks_left;
            if *left == 0 {
                return Err(wasmtime::Error::msg("CPU time limit exceeded"));
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
        })
    }
}

/// One plugin instance: its state (connection, caches) lives as long as this value.
pub struct PluginInstance {
    store: Store<PluginState>,
    bindings: ConnectorPlugin,
    limits: Limits,
    poisoned: bool,
    log: Arc<Mutex<Vec<OutboundRecord>>>,
}

/// The CPU limit in epoch ticks.
fn cpu_ticks(limits: &Limits) -> u64 {
    (limits.cpu_time.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64
}

macro_rules! guarded_call {
    ($self:ident, |$store:ident, $b:ident| $call:expr) => {{
        if $self.poisoned {
            return Err(CallError::Poisoned);
        }
        $self.store.data_mut().cpu_ticks_left = cpu_ticks(&$self.limits);
        $self.store.set_epoch_deadline(1);
        let wall = $self.limits.wall_time;
        let $store = &mut $self.store;
        let $b = &$self.bindings;
        let started = Instant::now();
        let outcome = tokio::time::timeout(wall, $call).await;
        tracing::debug!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "plugin call finished"
        );
        match outcome {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(trap)) => {
                $self.poisoned = true;
                Err(CallError::Trap(anyhow::Error::from(trap)))
            }
            Err(_) => {
                $self.poisoned = true;
                Err(CallError::Timeout(wall))
            }
        }
    }};
}

impl PluginInstance {
    pub async fn connect(
        &mut self,
        options: &ConnectOptions,
    ) -> Result<Result<ConnectionInfo, PluginError>, CallError> {
        guarded_call!(self, |store, b| b
            .cloudflare_connector_connector()
            .call_connect(store, options))
    }

    pub async fn verify(&mut self) -> Result<Result<VerifyReport, PluginError>, CallError> {
        guarded_call!(self, |store, b| b
            .cloudflare_connector_connector()
            .call_verify(store))
    }

    pub async fn list_tools(&mut self) -> Result<Vec<ToolSpec>, CallError> {
        guarded_call!(self, |store, b| b
            .cloudflare_connector_tools()
            .call_list_tools(store))
    }

    pub async fn call_tool(
        &mut self,
        name: &str,
        arguments_json: &str,
    ) -> Result<Result<String, PluginError>, CallError> {
        guarded_call!(self, |store, b| b
            .cloudflare_connector_tools()
            .call_call_tool(store, name, arguments_json))
    }

    pub async fn list_products(
        &mut self,
    ) -> Result<Result<docs::ProductList, PluginError>, CallError> {
        guarded_call!(self, |store, b| b
            .cloudflare_connector_documentation()
            .call_list_products(store))
    }

    pub async fn search_docs(
        &mut self,
        query: &str,
        product: Option<&str>,
        limit: Option<u32>,
    ) -> Result<Result<docs::SearchResult, PluginError>, CallError> {
        guarded_call!(self, |store, b| b
            .cloudflare_connector_documentation()
            .call_search_docs(store, query, product, limit))
    }

    pub async fn read_doc(
        &mut self,
        url_or_path: &str,
        section: Option<&str>,
        max_bytes: Option<u32>,
    ) -> Result<Result<docs::DocPage, PluginError>, CallError> {
        guarded_call!(self, |store, b| b
            .cloudflare_connector_documentation()
            .call_read_doc(store, url_or_path, section, max_bytes))
    }

    pub async fn list_zones(
        &mut self,
        query: &dns::ZoneQuery,
    ) -> Result<Result<dns::ZonePage, PluginError>, CallError> {
        guarded_call!(self, |store, b| b
            .cloudflare_connector_dns_analytics()
            .call_list_zones(store, query))
    }

    pub async fn get_zone(
        &mut self,
        zone: &str,
    ) -> Result<Result<dns::Zone, PluginError>, CallError> {
        guarded_call!(self, |store, b| b
            .cloudflare_connector_dns_analytics()
            .call_get_zone(store, zone))
    }

    pub async fn dns_records(
        &mut self,
        query: &dns::RecordQuery,
    ) -> Result<Result<dns::RecordPage, PluginError>, CallError> {
        guarded_call!(self, |store, b| b
            .cloudflare_connector_dns_analytics()
            .call_dns_records(store, query))
    }

    pub async fn dns_report(
        &mut self,
        request: &dns::ReportRequest,
    ) -> Result<Result<dns::Report, PluginError>, CallError> {
        guarded_call!(self, |store, b| b
            .cloudflare_connector_dns_analytics()
            .call_dns_report(store, request))
    }

    pub async fn dns_timeseries(
        &mut self,
        request: &dns::ReportRequest,
        bucket: Option<dns::Bucket>,
    ) -> Result<Result<dns::Timeseries, PluginError>, CallError> {
        guarded_call!(self, |store, b| b
            .cloudflare_connector_dns_analytics()
            .call_dns_timeseries(store, request, bucket))
    }

    /// Every outbound request this instance made, allowed or denied.
    pub fn outbound_log(&self) -> Vec<OutboundRecord> {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}
