//! `cf-harness mcp`: the sandboxed plugin as an MCP server over stdio, with the official Rust
//! SDK (`rmcp`) for the protocol. `tools/list` is the plugin's `list-tools`, `tools/call` its
//! `call-tool`; the token stays in this process, added by the outbound hook as for every call.
//!
//! One plugin instance (its connection and caches) serves the whole session. A call that traps
//! or runs out of time poisons it: that call answers a tool error, and the next call gets a
//! fresh, reconnected instance. So does a call the client cancels: it is stopped mid-call, not
//! left to run and hold up the next one.

use super::mcp_transport::BoundedStdio;
use super::metrics::Metrics;
use super::prompts;
use super::render;
use crate::{
    ApiToken, CallError, ConnectOptions, Harness, PluginInstance, SandboxConfig, ToolSpec,
};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, GetPromptRequestParams,
    GetPromptResponse, Implementation, ListPromptsResult, ListResourceTemplatesResult,
    ListToolsResult, PaginatedRequestParams, ReadResourceRequestParams, ReadResourceResponse,
    ReadResourceResult, ResourceContents, ResourceTemplate, ServerCapabilities, ServerConfig, Tool,
    ToolAnnotations,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt};
use serde_json::{Map, Value, json};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::Mutex;
use tracing::Instrument as _;

/// The MCP server: the loaded plugin, the sandbox it runs in, and the session's instance.
#[derive(Clone)]
pub struct McpServer {
    inner: Arc<Inner>,
}

struct Inner {
    harness: Harness,
    config: SandboxConfig,
    /// The connection every instance of the session gets, when the host was given the account
    /// and services.
    connect: Option<ConnectOptions>,
    token: Option<ApiToken>,
    instance: Mutex<Option<PluginInstance>>,
    /// The span every call is logged in (`serve` names the session's tenant in it).
    span: tracing::Span,
    /// Where calls are counted (`serve`'s /metrics).
    metrics: Option<Arc<Metrics>>,
}

impl McpServer {
    pub fn new(harness: Harness, config: SandboxConfig, connect: Option<ConnectOptions>) -> Self {
        Self::observed(harness, config, connect, tracing::Span::none(), None)
    }

    /// A server whose calls are logged in `span` and counted in `metrics` (`serve`: the
    /// session's tenant, the server's counters).
    pub fn observed(
        harness: Harness,
        config: SandboxConfig,
        connect: Option<ConnectOptions>,
        span: tracing::Span,
        metrics: Option<Arc<Metrics>>,
    ) -> Self {
        McpServer {
            inner: Arc::new(Inner {
                token: config.token.clone(),
                harness,
                config,
                connect,
                instance: Mutex::new(None),
                span,
                metrics,
            }),
        }
    }

    /// Serves MCP on stdin/stdout until the client closes the session, each message at most
    /// `max_message_bytes`.
    pub async fn serve_stdio(self, max_message_bytes: usize) -> anyhow::Result<()> {
        let running = self
            .serve(BoundedStdio::stdio(max_message_bytes))
            .await
            .map_err(|e| anyhow::anyhow!("MCP initialization failed: {e}"))?;
        let reason = running.waiting().await?;
        tracing::info!(?reason, "MCP session ended");
        Ok(())
    }

    /// The session's instance, created (and connected) on first use and after a failure. A
    /// call the client cancels (`context.ct`) is stopped where it is, and its instance, left
    /// mid-call, is dropped.
    async fn with_instance<T>(
        &self,
        context: &RequestContext<RoleServer>,
        call: impl AsyncFnOnce(&mut PluginInstance) -> Result<T, CallError>,
    ) -> Result<T, HostFailure> {
        let cancelled = || HostFailure {
            kind: "cancelled",
            message: "the client cancelled the call".to_string(),
            hint: None,
        };
        let mut slot = tokio::select! {
            slot = self.inner.instance.lock() => slot,
            () = context.ct.cancelled() => return Err(cancelled()),
        };
        if slot.is_none() {
            *slot = Some(self.fresh_instance().await?);
        }
        let Some(instance) = slot.as_mut() else {
            return Err(HostFailure {
                kind: "start",
                message: "no plugin instance".to_string(),
                hint: None,
            });
        };
        let outcome = tokio::select! {
            biased;
            outcome = call(instance) => Some(outcome),
            () = context.ct.cancelled() => None,
        };
        let Some(outcome) = outcome else {
            *slot = None;
            tracing::info!("call cancelled by the client; the next call gets a fresh instance");
            return Err(cancelled());
        };
        match outcome {
            Ok(value) => Ok(value),
            Err(error @ CallError::ResultTooLarge { .. }) => {
                // The call finished normally; only its result was refused.
                tracing::warn!(%error, "plugin result refused");
                Err(HostFailure {
                    kind: error.kind(),
                    message: error.to_string(),
                    hint: None,
                })
            }
            Err(error) => {
                // The instance may be mid-call or corrupt: the next call starts over.
                *slot = None;
                tracing::warn!(%error, "plugin call failed; the next call gets a fresh instance");
                let kind = error.kind();
                Err(HostFailure {
                    kind,
                    message: error.to_string(),
                    hint: None,
                })
            }
        }
    }

    async fn fresh_instance(&self) -> Result<PluginInstance, HostFailure> {
        let start = |message| HostFailure {
            kind: "start",
            message,
            hint: None,
        };
        let mut instance = self
            .inner
            .harness
            .instantiate(&self.inner.config)
            .await
            .map_err(|e| start(format!("cannot instantiate the plugin: {e:#}")))?;
        if let Some(options) = &self.inner.connect {
            match instance.connect(options).await {
                Ok(Ok(_)) => {}
                // The session's settings are refused (by the plugin, or the host's policy):
                // that error's kind and fix, not a retry.
                Ok(Err(error)) => {
                    let (kind, message, hint) = render::error_parts(&error);
                    return Err(HostFailure {
                        kind,
                        message: format!("the connection settings are refused: {message}"),
                        hint,
                    });
                }
                Err(error) => return Err(start(error.to_string())),
            }
        }
        Ok(instance)
    }

    /// The token removed from text about to leave the process (a last line of defence: the
    /// plugin never has it).
    fn redact(&self, text: String) -> String {
        match &self.inner.token {
            Some(token) => token.redact(&text),
            None => text,
        }
    }

    fn result(&self, value: Value, is_error: bool) -> CallToolResult {
        let text = self.redact(value.to_string());
        // Parse back what was redacted, so text and structured content agree.
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if is_error {
            CallToolResult::structured_error(value)
        } else {
            CallToolResult::structured(value)
        }
    }
}

/// Why the host could not get an answer from the plugin.
struct HostFailure {
    kind: &'static str,
    message: String,
    /// What to do; none: retry (the next call runs in a fresh instance).
    hint: Option<String>,
}

/// A plugin tool as MCP describes it: its title, its annotations and its service (in `_meta`,
/// as `cf-harness/service`), and an output schema that admits its result or a tool error.
fn mcp_tool(spec: ToolSpec) -> Tool {
    let mut tool = Tool::new(
        spec.name,
        spec.description,
        Arc::new(object_schema(&spec.input_schema)),
    )
    .with_annotations(
        ToolAnnotations::new()
            .read_only(spec.read_only)
            .destructive(false)
            .idempotent(spec.idempotent)
            .open_world(spec.open_world),
    );
    tool.title = Some(spec.title);
    tool.output_schema = Some(Arc::new(output_schema(&spec.output_schema)));
    if let Some(service) = spec.service {
        let mut meta = rmcp::model::MetaObject::new();
        meta.insert(SERVICE_META.into(), json!(render::slug(service)));
        tool.meta = Some(meta);
    }
    tool
}

/// The `_meta` key naming the service a tool belongs to.
pub const SERVICE_META: &str = "cf-harness/service";

fn object_schema(text: &str) -> Map<String, Value> {
    match serde_json::from_str(text) {
        Ok(Value::Object(map)) => map,
        _ => {
            let mut map = Map::new();
            map.insert("type".into(), json!("object"));
            map
        }
    }
}

/// A tool's output schema as MCP clients check it: the plugin's schema of its result, or the
/// error envelope an `isError` result carries (the TypeScript SDK 1.x checks those as well).
fn output_schema(result: &str) -> Map<String, Value> {
    static ERROR: std::sync::LazyLock<Value> =
        std::sync::LazyLock::new(tool_output::schema::of::<tool_output::ErrorEnvelope>);
    let mut schema = Map::new();
    schema.insert("$schema".into(), json!(tool_output::schema::DIALECT));
    schema.insert("type".into(), json!("object"));
    schema.insert(
        "anyOf".into(),
        json!([Value::Object(object_schema(result)), *ERROR]),
    );
    schema
}

/// What the server says of itself at `initialize`, over stdio and HTTP alike.
pub fn server_info() -> ServerConfig {
    let mut info = ServerConfig::new(
        ServerCapabilities::builder()
            .enable_tools()
            .enable_tool_list_changed()
            .enable_resources()
            .enable_prompts()
            .build(),
    );
    info.server_info = Implementation::new("cf-harness", env!("CARGO_PKG_VERSION"));
    info.instructions = Some(
        "Cloudflare connector in a WebAssembly sandbox: documentation search, DNS analytics \
         and GraphQL analytics for the configured account. Every tool only reads. Call \
         verify when a call fails with unauthorized or forbidden: it says which permission \
         is missing and how to add it."
            .to_string(),
    );
    info
}

/// The docs pages the plugin reads, as MCP resources: one URI template, since there are
/// thousands of pages.
pub fn docs_template() -> ResourceTemplate {
    ResourceTemplate::new(DOCS_TEMPLATE, "cloudflare-docs-page")
        .with_title("A page of Cloudflare's developer documentation")
        .with_description(
            "Any page of developers.cloudflare.com as Markdown, for example \
             https://developers.cloudflare.com/dns/ ; a #anchor reads one section. Needs the \
             Documentation service.",
        )
        .with_mime_type("text/markdown")
}

const DOCS_TEMPLATE: &str = "https://developers.cloudflare.com/{+path}";

impl McpServer {
    /// A docs page through the plugin's `read-doc`, as a resource's contents.
    async fn read_docs_resource(
        &self,
        uri: &str,
        context: &RequestContext<RoleServer>,
    ) -> Result<ReadResourceResult, ErrorData> {
        if !uri.starts_with("https://developers.cloudflare.com/") {
            return Err(ErrorData::resource_not_found(
                format!("only {DOCS_TEMPLATE} resources are offered"),
                None,
            ));
        }
        let page = self
            .with_instance(context, async |instance| {
                instance.read_doc(uri, None, None).await
            })
            .instrument(self.inner.span.clone())
            .await
            .map_err(|failure| ErrorData::internal_error(self.redact(failure.message), None))?;
        match page {
            Ok(page) => Ok(ReadResourceResult::new(vec![
                ResourceContents::TextResourceContents {
                    uri: uri.to_string(),
                    mime_type: Some("text/markdown".to_string()),
                    text: page.markdown,
                    meta: None,
                },
            ])),
            Err(error) => {
                let text = self.redact(render::error_text(&error));
                Err(match render::error_parts(&error).0 {
                    "not-found" => ErrorData::resource_not_found(text, None),
                    "invalid-input" | "service-disabled" => ErrorData::invalid_params(text, None),
                    _ => ErrorData::internal_error(text, None),
                })
            }
        }
    }
}

impl ServerHandler for McpServer {
    fn get_info(&self) -> ServerConfig {
        server_info()
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        Ok(ListResourceTemplatesResult {
            resource_templates: vec![docs_template()],
            ..Default::default()
        })
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        self.read_docs_resource(&request.uri, &context)
            .await
            .map(Into::into)
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        Ok(ListPromptsResult {
            prompts: prompts::list(),
            ..Default::default()
        })
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        prompts::get(&request).map(Into::into)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let tools = self
            .with_instance(&context, async |instance| instance.list_tools().await)
            .await
            .map_err(|failure| ErrorData::internal_error(self.redact(failure.message), None))?;
        Ok(ListToolsResult {
            tools: tools.into_iter().map(mcp_tool).collect(),
            ..Default::default()
        })
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let name = request.name.to_string();
        // The JSON-RPC id, so each call's log line can be matched with the client's request.
        let request_id = context.id.clone().into_json_value();
        let arguments = Value::Object(request.arguments.unwrap_or_default()).to_string();
        let started = Instant::now();
        let mut requests = Vec::new();
        let outcome = self
            .with_instance(&context, async |instance| {
                let first = instance.outbound_count();
                let answer = instance.call_tool(&name, &arguments).await;
                requests = instance.outbound_since(first);
                answer
            })
            .instrument(self.inner.span.clone())
            .await;
        let _in_session = self.inner.span.enter();
        let elapsed_ms = started.elapsed().as_millis() as u64;
        // A Cloudflare or input failure is a tool error the model can read, never a protocol
        // error; so is a call that trapped or timed out.
        // A connection made or narrowed changes which tools the plugin lists: say so, so the
        // client lists them again.
        if name == "connect"
            && matches!(outcome, Ok(Ok(_)))
            && let Err(error) = context.peer.notify_tool_list_changed().await
        {
            tracing::debug!(%error, "the client did not take the tool list notification");
        }
        if let Some(metrics) = &self.inner.metrics {
            let kind = match &outcome {
                Ok(Ok(_)) => "ok",
                Ok(Err(error)) => render::error_parts(error).0,
                Err(failure) => failure.kind,
            };
            metrics.call(&name, kind, started.elapsed(), &requests);
        }
        let result = match outcome {
            Ok(Ok(text)) => {
                tracing::info!(request = %request_id, tool = %name, elapsed_ms, "ok");
                let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
                self.result(value, false)
            }
            Ok(Err(error)) => {
                let body = render::error_json(&error);
                tracing::info!(request = %request_id, tool = %name, elapsed_ms, kind = %body["error"]["kind"], "tool error");
                self.result(body, true)
            }
            Err(failure) => {
                tracing::warn!(request = %request_id, tool = %name, elapsed_ms, kind = failure.kind, "host error");
                self.result(
                    render::host_error_json(
                        failure.kind,
                        &failure.message,
                        Some(failure.hint.as_deref().unwrap_or(
                            "The next call runs in a fresh plugin instance; retry, or ask for \
                             less (a shorter range, a smaller limit).",
                        )),
                    ),
                    true,
                )
            }
        };
        Ok(result.into())
    }
}
