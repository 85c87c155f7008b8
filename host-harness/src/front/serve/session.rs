//! One MCP session: the tenant's own `McpServer`, its turns for calls, the token's budget it
//! shares with the token's other sessions, and the count of calls a shutdown waits for.

use super::gate::{Fingerprint, Tenant};
use crate::front::mcp::{McpServer, server_info};
use crate::front::metrics::Metrics;
use crate::front::render;
use crate::outbound::budget::TokenBudget;
use crate::{Harness, SandboxConfig};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, GetPromptRequestParams, GetPromptResponse,
    InitializeRequestParams, InitializeResult, ListPromptsResult, ListResourceTemplatesResult,
    ListToolsResult, PaginatedRequestParams, ReadResourceRequestParams, ReadResourceResponse,
    ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, OnceLock};

/// The budget of each token, shared by its sessions.
pub(super) struct Budgets {
    pub(super) api_requests: usize,
    pub(super) graphql_queries: usize,
    pub(super) by_token: Mutex<HashMap<Fingerprint, Arc<TokenBudget>>>,
}

impl Budgets {
    fn of(&self, fingerprint: Fingerprint) -> Arc<TokenBudget> {
        let mut by_token = self.by_token.lock().unwrap_or_else(|e| e.into_inner());
        // A budget no session holds and that counts nothing any more is forgotten.
        let now = std::time::Instant::now();
        by_token.retain(|_, budget| Arc::strong_count(budget) > 1 || !budget.is_idle(now));
        by_token
            .entry(fingerprint)
            .or_insert_with(|| {
                Arc::new(TokenBudget::with_limits(
                    self.api_requests,
                    self.graphql_queries,
                ))
            })
            .clone()
    }
}

/// One MCP session (or one stateless request): the tenant's own [`McpServer`], made on its
/// first request from the credentials the gate read.
pub(super) struct TenantSession {
    pub(super) harness: Arc<OnceLock<Harness>>,
    pub(super) base: SandboxConfig,
    pub(super) budgets: Arc<Budgets>,
    pub(super) metrics: Arc<Metrics>,
    pub(super) server: OnceLock<McpServer>,
    /// Turns for calls in this session: `--max-calls-per-session` of them.
    pub(super) calls: Arc<tokio::sync::Semaphore>,
    pub(super) max_calls: usize,
    pub(super) in_flight: Arc<InFlight>,
}

/// How many calls are running, across sessions: what a shutdown waits for.
#[derive(Default)]
pub(super) struct InFlight(std::sync::atomic::AtomicUsize);

/// One running call, counted until it is dropped.
pub(super) struct Running(Arc<InFlight>);

impl InFlight {
    pub(super) fn start(self: &Arc<Self>) -> Running {
        self.0.fetch_add(1, Ordering::SeqCst);
        Running(self.clone())
    }

    pub(super) fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.0.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl TenantSession {
    fn server(&self, context: &RequestContext<RoleServer>) -> Result<&McpServer, ErrorData> {
        if let Some(server) = self.server.get() {
            return Ok(server);
        }
        let tenant = context
            .extensions
            .get::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<Tenant>())
            .ok_or_else(|| ErrorData::internal_error("no tenant on the request", None))?;
        let harness = self
            .harness
            .get()
            .ok_or_else(|| ErrorData::internal_error("the plugin is not loaded yet", None))?;
        let config = SandboxConfig {
            token: Some(tenant.token.clone()),
            budget: Some(self.budgets.of(tenant.fingerprint)),
            ..self.base.clone()
        };
        let span = tracing::info_span!("session", tenant = %tenant.fingerprint.short());
        Ok(self.server.get_or_init(|| {
            McpServer::observed(
                harness.clone(),
                config,
                Some(tenant.connect.clone()),
                span,
                Some(self.metrics.clone()),
            )
        }))
    }
}

impl ServerHandler for TenantSession {
    fn get_info(&self) -> ServerConfig {
        server_info()
    }

    async fn initialize(
        &self,
        request: InitializeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<InitializeResult, ErrorData> {
        self.server(&context)?;
        context.peer.set_peer_info(request.clone());
        self.negotiate_initialize(&request)
    }

    async fn list_resource_templates(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        self.server(&context)?
            .list_resource_templates(request, context)
            .await
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let _running = self.in_flight.start();
        self.server(&context)?.read_resource(request, context).await
    }

    async fn list_prompts(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        self.server(&context)?.list_prompts(request, context).await
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        self.server(&context)?.get_prompt(request, context).await
    }

    async fn list_tools(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let _running = self.in_flight.start();
        let server = self.server(&context)?;
        server.list_tools(request, context).await
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let _running = self.in_flight.start();
        let server = self.server(&context)?;
        // One instance runs one call at a time; a few more may wait their turn, the rest are
        // told to slow down rather than queue without end.
        let Ok(_turn) = self.calls.clone().try_acquire_owned() else {
            self.metrics.limit_hit("calls_per_session");
            let body = render::host_error_json(
                "too-many-calls",
                &format!(
                    "this session already has {} calls running or waiting, its limit",
                    self.max_calls
                ),
                Some("Wait for the session's calls to finish, or open another session."),
            );
            return Ok(rmcp::model::CallToolResult::structured_error(body).into());
        };
        server.call_tool(request, context).await
    }
}
