//! The plugin's typed values for people and programs: JSON (`--json`, MCP) with the names the
//! tools' JSON uses (snake_case fields, enums in the contract's kebab-case), and text for a
//! terminal. One encoding of the WIT `error`, shared by the CLI and MCP.

use crate::{
    ApiFailure, Check, CheckStatus, ConnectionInfo, Permission, PluginError, RateLimit,
    RateLimiter, Service, TokenState, ToolSpec, VerifyReport,
};
use serde_json::{Value, json};
use std::fmt::Write as _;

pub use crate::sandbox::{SERVICES, parse_service, service_names};

pub fn display_name(service: Service) -> &'static str {
    service_names(service).0
}

pub fn slug(service: Service) -> &'static str {
    service_names(service).1
}

/// A comma-separated list (`--services`, `ENABLED_SERVICES`); an unknown name is
/// `invalid-input` on `enabled-services`, as the plugin's `connect` names the field. Blank
/// entries are skipped; an empty list is left for `connect` to refuse.
pub fn parse_services(list: &str) -> Result<Vec<Service>, PluginError> {
    let mut services = Vec::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        match parse_service(name) {
            Some(service) => services.push(service),
            None => {
                return Err(PluginError::InvalidInput(crate::InputProblem {
                    field: "enabled-services".to_string(),
                    message: format!(
                        "unknown service \"{name}\"; accepted: {}",
                        accepted_services()
                    ),
                }));
            }
        }
    }
    Ok(services)
}

/// `Documentation (documentation), DNS Analytics (dns-analytics), ...`, for messages.
pub fn accepted_services() -> String {
    SERVICES
        .iter()
        .map(|s| format!("{} ({})", display_name(*s), slug(*s)))
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn permission_slug(permission: Permission) -> &'static str {
    match permission {
        Permission::ZoneRead => "zone-read",
        Permission::ZoneAnalyticsRead => "zone-analytics-read",
        Permission::DnsRead => "dns-read",
        Permission::AccountSettingsRead => "account-settings-read",
        Permission::AccountAnalyticsRead => "account-analytics-read",
    }
}

pub fn check_status(status: CheckStatus) -> &'static str {
    match status {
        CheckStatus::Ok => "ok",
        CheckStatus::Warning => "warning",
        CheckStatus::Failed => "failed",
        CheckStatus::Skipped => "skipped",
        CheckStatus::RateLimited => "rate-limited",
    }
}

pub fn token_state(state: TokenState) -> &'static str {
    match state {
        TokenState::Active => "active",
        TokenState::Disabled => "disabled",
        TokenState::Expired => "expired",
        TokenState::Invalid => "invalid",
        TokenState::Unknown => "unknown",
    }
}

fn status_mark(status: CheckStatus) -> &'static str {
    match status {
        CheckStatus::Ok => "[ok]     ",
        CheckStatus::Warning => "[warning]",
        CheckStatus::Failed => "[FAILED] ",
        CheckStatus::Skipped => "[skipped]",
        CheckStatus::RateLimited => "[limited]",
    }
}

/// The `connect` result as the `connect` tool returns it.
pub fn connection_json(info: &ConnectionInfo) -> Value {
    let services: Vec<Value> = info
        .services
        .iter()
        .map(|s| {
            let permissions: Vec<Value> = s
                .permissions
                .iter()
                .map(|p| {
                    json!({
                        "permission": permission_slug(p.permission),
                        "dashboard_name": p.dashboard_name,
                        "reason": p.reason,
                    })
                })
                .collect();
            json!({
                "service": slug(s.service),
                "display_name": s.display_name,
                "hosts": s.hosts,
                "permissions": permissions,
            })
        })
        .collect();
    json!({
        "account_id": info.account_id,
        "source": info.source,
        "hosts": info.hosts,
        "services": services,
    })
}

/// The `connect` result for a terminal: services, what each needs, hosts.
pub fn connection_text(info: &ConnectionInfo) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Account: {}", info.account_id);
    for service in &info.services {
        let _ = writeln!(out, "\n{}", service.display_name);
        if service.permissions.is_empty() {
            let _ = writeln!(out, "  needs no permission");
        }
        for p in &service.permissions {
            let _ = writeln!(out, "  needs {:<40} to {}", p.dashboard_name, p.reason);
        }
    }
    let _ = writeln!(out, "\nThe plugin will call: {}", info.hosts.join(", "));
    out
}

fn check_json(c: &Check) -> Value {
    json!({
        "id": c.id,
        "service": c.service.map(slug),
        "permission": c.permission.map(permission_slug),
        "title": c.title,
        "status": check_status(c.status),
        "detail": c.detail,
        "hint": c.hint,
        "evidence": c.evidence.as_ref().map(|e| json!({
            "request": e.request,
            "status": e.status,
            "codes": e.codes,
        })),
        "error": c.error.as_ref().map(error_body),
        "retry_after_seconds": c.retry_after_seconds,
    })
}

/// The `verify` report as the `verify` tool returns it.
pub fn verify_json(r: &VerifyReport) -> Value {
    let services: Vec<Value> = r
        .services
        .iter()
        .map(|s| json!({ "service": slug(s.service), "ready": s.ready, "summary": s.summary }))
        .collect();
    let security: Vec<Value> = r
        .security
        .iter()
        .map(|f| json!({ "id": f.id, "detail": f.detail, "hint": f.hint }))
        .collect();
    json!({
        "ready": r.ready,
        "account_id": r.account_id,
        "token": {
            "state": token_state(r.token.state),
            "id": r.token.id,
            "owner": r.token.owner,
            "expires_on": r.token.expires_on,
            "not_before": r.token.not_before,
        },
        "services": services,
        "checks": r.checks.iter().map(check_json).collect::<Vec<_>>(),
        "security_reviewed": r.security_reviewed,
        "security": security,
    })
}

/// The `verify` report for a terminal: one line per check, with the hint under each one that
/// is not ok.
pub fn verify_text(report: &VerifyReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Cloudflare connection for account {}",
        report.account_id
    );
    let token = &report.token;
    if token.state != TokenState::Unknown {
        let mut line = format!("Token: {}", token_state(token.state));
        if let Some(owner) = &token.owner {
            let _ = write!(line, ", {owner}-owned");
        }
        if let Some(expires) = &token.expires_on {
            let _ = write!(line, ", expires {expires}");
        }
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(out);
    for check in report.checks.iter().filter(|c| c.service.is_none()) {
        write_check(&mut out, check);
    }
    for service in &report.services {
        let _ = writeln!(out, "\n{}", display_name(service.service));
        for check in report
            .checks
            .iter()
            .filter(|c| c.service == Some(service.service))
        {
            write_check(&mut out, check);
        }
    }
    if !report.security.is_empty() {
        let _ = writeln!(out, "\nSecurity review of the token:");
        for f in &report.security {
            let _ = writeln!(out, "  - {}\n    {}", f.detail, f.hint);
        }
    }
    let _ = writeln!(out);
    for service in &report.services {
        let _ = writeln!(
            out,
            "{:<18} {}",
            display_name(service.service),
            service.summary
        );
    }
    let ready = if report.ready { "READY" } else { "NOT READY" };
    let _ = writeln!(out, "\n{ready}");
    out
}

fn write_check(out: &mut String, check: &Check) {
    let _ = writeln!(out, "{} {}", status_mark(check.status), check.title);
    let _ = writeln!(out, "          {}", check.detail);
    if let Some(hint) = &check.hint
        && check.status != CheckStatus::Ok
    {
        let _ = writeln!(out, "          fix: {hint}");
    }
    if let Some(after) = check.retry_after_seconds {
        let _ = writeln!(out, "          retry after {after} s");
    }
}

/// The tool list: name, description and the arguments' JSON Schema.
pub fn tools_json(tools: &[ToolSpec]) -> Value {
    tools
        .iter()
        .map(|t| {
            json!({
                "name": t.name,
                "title": t.title,
                "service": t.service.map(slug),
                "description": t.description,
                "input_schema": serde_json::from_str::<Value>(&t.input_schema).unwrap_or(Value::Null),
                "output_schema": serde_json::from_str::<Value>(&t.output_schema).unwrap_or(Value::Null),
                "read_only": t.read_only,
                "idempotent": t.idempotent,
                "open_world": t.open_world,
            })
        })
        .collect()
}

pub fn tools_text(tools: &[ToolSpec]) -> String {
    tools
        .iter()
        .map(|t| format!("{:<16} {}\n", t.name, t.description))
        .collect()
}

/// Kind (the contract's kebab-case name), message in words, and a hint where the user can act.
pub fn error_parts(error: &PluginError) -> (&'static str, String, Option<String>) {
    use PluginError as E;
    match error {
        E::InvalidInput(p) => ("invalid-input", format!("{}: {}", p.field, p.message), None),
        E::NotConnected(m) => (
            "not-connected",
            m.clone(),
            Some(
                "Give the account ID and the services: CLOUDFLARE_ACCOUNT_ID and \
                 ENABLED_SERVICES, or --account-id and --services; over MCP, call the connect \
                 tool first."
                    .to_string(),
            ),
        ),
        E::ServiceDisabled(s) => {
            let (name, slug) = service_names(*s);
            (
                "service-disabled",
                format!("the service {name} ({slug}) is not enabled on this connection"),
                Some(format!(
                    "Enable {name}: add \"{name}\" to ENABLED_SERVICES or --services (for \
                     example --services \"Documentation,{name}\"; over cf-harness serve, to \
                     the X-Cloudflare-Enabled-Services header), or call the connect tool with \
                     \"{slug}\" in enabled_services when the host enabled it."
                )),
            )
        }
        E::Unauthorized(f) => ("unauthorized", api_failure(f), f.hint.clone()),
        E::Forbidden(f) => ("forbidden", api_failure(f), f.hint.clone()),
        E::NotFound(f) => ("not-found", api_failure(f), f.hint.clone()),
        E::PlanLimit(f) => ("plan-limit", api_failure(f), f.hint.clone()),
        E::Upstream(f) => ("upstream", api_failure(f), f.hint.clone()),
        E::RateLimited(limit) => {
            let (message, hint) = rate_limit_words(limit);
            ("rate-limited", message, Some(hint))
        }
        E::QueryRejected(problems) => {
            let hints: Vec<&str> = problems.iter().filter_map(|p| p.hint.as_deref()).collect();
            (
                "query-rejected",
                problems
                    .iter()
                    .map(|p| p.message.as_str())
                    .collect::<Vec<_>>()
                    .join("; "),
                (!hints.is_empty()).then(|| hints.join(" ")),
            )
        }
        E::DeniedByHost(m) => (
            "denied-by-host",
            m.clone(),
            Some(
                "The host's policy decides what the plugin may reach and which services a \
                 connection may enable: `cf-harness audit` shows it (with --policy FILE, what \
                 that file changes)."
                    .to_string(),
            ),
        ),
        E::Transport(m) => ("transport", m.clone(), Some(HINT_TRANSPORT.to_string())),
        E::Internal(m) => (
            "internal",
            m.clone(),
            Some("This is a bug in the connector: please report it with this message.".into()),
        ),
    }
}

/// What to do when a request did not complete. The plugin's `transport` message says what
/// happened; the host, which knows its network and its flags, says what to do.
pub const HINT_TRANSPORT: &str = "Retry: a connection can break on the way. If it fails again, \
check this machine's network connection and any proxy or firewall between it and Cloudflare \
(with --upstream, that the address given there answers); an answer that is only slow needs a \
longer --read-timeout (seconds).";

/// Whose limit it was (the contract's name, `api`, `graphql`, `docs`) and the host that
/// answered 429.
pub fn limiter_names(limiter: RateLimiter) -> (&'static str, &'static str) {
    match limiter {
        RateLimiter::Api => ("api", "api.cloudflare.com"),
        RateLimiter::Graphql => ("graphql", "api.cloudflare.com"),
        RateLimiter::Docs => ("docs", "developers.cloudflare.com"),
    }
}

/// A rate limit's message and hint, naming whose limit it was: the docs host's 429 is its
/// own, never "Cloudflare's API rate limit".
fn rate_limit_words(limit: &RateLimit) -> (String, String) {
    let (whose, budget) = match limit.limiter {
        RateLimiter::Api => (
            "Cloudflare's API rate limit (api.cloudflare.com)",
            "Cloudflare's API allows 1,200 requests per 5 minutes per user, all of the user's \
             tokens together.",
        ),
        RateLimiter::Graphql => (
            "the GraphQL Analytics API's rate limit (api.cloudflare.com/client/v4/graphql)",
            "the GraphQL Analytics API allows 300 queries per 5 minutes per user; fewer or \
             smaller queries (a shorter range, fewer dimensions) spend less of it.",
        ),
        RateLimiter::Docs => (
            "the documentation site's own rate limit (developers.cloudflare.com)",
            "this is the documentation site's own limit, not the API's; it spends none of the \
             API's 1,200 requests per 5 minutes.",
        ),
    };
    let message = match limit.retry_after {
        Some(s) => format!("{whose} answered HTTP 429; retry after {s} s"),
        None => format!("{whose} answered; retry later"),
    };
    let wait = match limit.retry_after {
        Some(s) => format!("Wait {s} s, then retry: "),
        None => "Wait a minute, then retry: ".to_string(),
    };
    (message, format!("{wait}{budget}"))
}

fn api_failure(f: &ApiFailure) -> String {
    let codes: Vec<String> = f.codes.iter().map(u32::to_string).collect();
    if codes.is_empty() {
        format!("HTTP {}: {}", f.status, f.message)
    } else {
        format!(
            "HTTP {} (code {}): {}",
            f.status,
            codes.join(", "),
            f.message
        )
    }
}

/// The error's fields: kind, message, hint, the page that explains the fix, and the typed
/// details, so a program need not parse the message (`tool-output`'s one shape of an error).
pub fn error_body(error: &PluginError) -> tool_output::ToolError<'_> {
    use PluginError as E;
    let (kind, message, hint) = error_parts(error);
    let mut body = tool_output::ToolError::new(kind, message, hint);
    match error {
        E::InvalidInput(p) => body.field = Some(p.field.clone()),
        E::ServiceDisabled(s) => body.service = Some(slug(*s)),
        E::Unauthorized(f)
        | E::Forbidden(f)
        | E::NotFound(f)
        | E::PlanLimit(f)
        | E::Upstream(f) => {
            body.status = Some(f.status);
            body.codes = Some(&f.codes);
            body.permission = f
                .permission
                .and_then(|p| tool_output::dashboard_name(permission_slug(p)));
        }
        E::RateLimited(limit) => {
            let (limiter, host) = limiter_names(limit.limiter);
            body.limiter = Some(limiter);
            body.host = Some(host);
            body.retry_after_seconds = limit.retry_after;
            body.docs_url = tool_output::docs_url(kind, Some(limiter));
        }
        E::QueryRejected(problems) => {
            body.problems = Some(
                problems
                    .iter()
                    .map(|p| tool_output::GraphqlProblem {
                        message: &p.message,
                        path: &p.path,
                        code: p.code.as_deref(),
                        hint: p.hint.as_deref(),
                    })
                    .collect(),
            );
        }
        E::NotConnected(_) | E::DeniedByHost(_) | E::Transport(_) | E::Internal(_) => {}
    }
    body
}

/// The error as JSON, for `--json` and MCP: `{"error": {...}}`.
pub fn error_json(error: &PluginError) -> Value {
    envelope(error_body(error))
}

fn envelope(error: tool_output::ToolError) -> Value {
    serde_json::to_value(tool_output::ErrorEnvelope { error }).unwrap_or(Value::Null)
}

/// The error for a terminal.
pub fn error_text(error: &PluginError) -> String {
    let (kind, message, hint) = error_parts(error);
    failure_text(kind, &message, hint.as_deref())
}

/// A failure of the host itself (load, instantiate, timeout, a limit) in the same shape.
pub fn host_error_json(kind: &str, message: &str, hint: Option<&str>) -> Value {
    envelope(tool_output::ToolError::new(
        kind,
        message.to_string(),
        hint.map(str::to_string),
    ))
}

/// `error (kind): message`, and `fix: hint` on the next line when there is one.
pub fn failure_text(kind: &str, message: &str, hint: Option<&str>) -> String {
    match hint {
        Some(h) => format!("error ({kind}): {message}\nfix: {h}"),
        None => format!("error ({kind}): {message}"),
    }
}

#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;
