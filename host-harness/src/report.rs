//! Readable renderings of the plugin's JSON results and errors, for people at a terminal.

use crate::runtime::PluginError;
use serde_json::Value;
use std::fmt::Write as _;

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// The elements of an array field, or none.
fn items<'a>(v: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    v.get(key).and_then(Value::as_array).into_iter().flatten()
}

fn status_mark(status: &str) -> &'static str {
    match status {
        "ok" => "[ok]     ",
        "warning" => "[warning]",
        "failed" => "[FAILED] ",
        "skipped" => "[skipped]",
        "rate-limited" => "[limited]",
        _ => "[?]      ",
    }
}

/// The `connect` result: services, what each needs, hosts.
pub fn connection(info: &Value) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Account: {}", text(info, "account_id"));
    for service in items(info, "services") {
        let _ = writeln!(out, "\n{}", text(service, "display_name"));
        let permissions = service.get("permissions").and_then(Value::as_array);
        match permissions {
            Some(list) if !list.is_empty() => {
                for p in list {
                    let _ = writeln!(
                        out,
                        "  needs {:<40} to {}",
                        text(p, "dashboard_name"),
                        text(p, "reason")
                    );
                }
            }
            _ => {
                let _ = writeln!(out, "  needs no permission");
            }
        }
    }
    let hosts: Vec<&str> = items(info, "hosts").filter_map(Value::as_str).collect();
    let _ = writeln!(out, "\nThe plugin will call: {}", hosts.join(", "));
    out
}

/// The `verify` report: one line per check, with the hint under each one that is not ok.
pub fn verify(report: &Value) -> String {
    let mut out = String::new();
    let ready = report
        .get("ready")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let _ = writeln!(
        out,
        "Cloudflare connection for account {}",
        text(report, "account_id")
    );
    let token = &report["token"];
    if !text(token, "state").is_empty() && text(token, "state") != "unknown" {
        let mut line = format!("Token: {}", text(token, "state"));
        if let Some(owner) = token.get("owner").and_then(Value::as_str) {
            let _ = write!(line, ", {owner}-owned");
        }
        if let Some(exp) = token.get("expires_on").and_then(Value::as_str) {
            let _ = write!(line, ", expires {exp}");
        }
        let _ = writeln!(out, "{line}");
    }
    let checks: Vec<&Value> = items(report, "checks").collect();
    let _ = writeln!(out);
    for check in checks.iter().filter(|c| c["service"].is_null()) {
        write_check(&mut out, check);
    }
    for service in items(report, "services") {
        let slug = text(service, "service");
        let _ = writeln!(out, "\n{}", display_name(slug));
        for check in checks
            .iter()
            .filter(|c| c["service"].as_str() == Some(slug))
        {
            write_check(&mut out, check);
        }
    }
    let security = report.get("security").and_then(Value::as_array);
    if let Some(findings) = security.filter(|f| !f.is_empty()) {
        let _ = writeln!(out, "\nSecurity review of the token:");
        for f in findings {
            let _ = writeln!(out, "  - {}\n    {}", text(f, "detail"), text(f, "hint"));
        }
    }
    let _ = writeln!(out);
    for service in items(report, "services") {
        let _ = writeln!(
            out,
            "{:<18} {}",
            display_name(text(service, "service")),
            text(service, "summary")
        );
    }
    let _ = writeln!(out, "\n{}", if ready { "READY" } else { "NOT READY" });
    out
}

fn display_name(slug: &str) -> &str {
    match slug {
        "documentation" => "Documentation",
        "dns-analytics" => "DNS Analytics",
        "graphql-analytics" => "GraphQL Analytics",
        other => other,
    }
}

fn write_check(out: &mut String, check: &Value) {
    let status = text(check, "status");
    let _ = writeln!(out, "{} {}", status_mark(status), text(check, "title"));
    let _ = writeln!(out, "          {}", text(check, "detail"));
    if let Some(hint) = check.get("hint").and_then(Value::as_str)
        && status != "ok"
    {
        let _ = writeln!(out, "          fix: {hint}");
    }
    if let Some(after) = check.get("retry_after_seconds").and_then(Value::as_u64) {
        let _ = writeln!(out, "          retry after {after} s");
    }
}

/// Kind, message and hint of a plugin error.
pub fn error_parts(error: &PluginError) -> (&'static str, String, Option<String>) {
    use PluginError as E;
    match error {
        E::InvalidInput(p) => ("invalid-input", format!("{}: {}", p.field, p.message), None),
        E::NotConnected(m) => ("not-connected", m.clone(), None),
        E::ServiceDisabled(s) => (
            "service-disabled",
            format!("the service {s:?} is not enabled"),
            None,
        ),
        E::Unauthorized(f) => ("unauthorized", api_failure(f), f.hint.clone()),
        E::Forbidden(f) => ("forbidden", api_failure(f), f.hint.clone()),
        E::NotFound(f) => ("not-found", api_failure(f), f.hint.clone()),
        E::PlanLimit(f) => ("plan-limit", api_failure(f), f.hint.clone()),
        E::Upstream(f) => ("upstream", api_failure(f), f.hint.clone()),
        E::RateLimited(after) => (
            "rate-limited",
            match after {
                Some(s) => format!("Cloudflare's rate limit answered; retry after {s} s"),
                None => "Cloudflare's rate limit answered; retry later".to_string(),
            },
            None,
        ),
        E::QueryRejected(problems) => (
            "query-rejected",
            problems
                .iter()
                .map(|p| p.message.as_str())
                .collect::<Vec<_>>()
                .join("; "),
            None,
        ),
        E::DeniedByHost(m) => ("denied-by-host", m.clone(), None),
        E::Transport(m) => ("transport", m.clone(), None),
        E::Internal(m) => ("internal", m.clone(), None),
    }
}

fn api_failure(f: &crate::runtime::ApiFailure) -> String {
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

/// The error as JSON, for `--json`.
pub fn error_json(error: &PluginError) -> Value {
    use PluginError as E;
    let (kind, message, hint) = error_parts(error);
    let mut body = serde_json::json!({ "kind": kind, "message": message, "hint": hint });
    // The typed details, so a program need not parse the message.
    match error {
        E::InvalidInput(p) => body["field"] = Value::String(p.field.clone()),
        E::ServiceDisabled(s) => body["service"] = serde_json::json!(format!("{s:?}")),
        E::Unauthorized(f)
        | E::Forbidden(f)
        | E::NotFound(f)
        | E::PlanLimit(f)
        | E::Upstream(f) => {
            body["status"] = serde_json::json!(f.status);
            body["codes"] = serde_json::json!(f.codes);
        }
        E::RateLimited(after) => body["retry_after_seconds"] = serde_json::json!(after),
        E::QueryRejected(problems) => {
            body["problems"] = problems
                .iter()
                .map(|p| {
                    serde_json::json!({
                        "message": p.message,
                        "path": p.path,
                        "code": p.code,
                        "hint": p.hint,
                    })
                })
                .collect();
        }
        E::NotConnected(_) | E::DeniedByHost(_) | E::Transport(_) | E::Internal(_) => {}
    }
    serde_json::json!({ "error": body })
}

/// The error for a terminal.
pub fn error_text(error: &PluginError) -> String {
    let (kind, message, hint) = error_parts(error);
    match hint {
        Some(h) => format!("error ({kind}): {message}\nfix: {h}"),
        None => format!("error ({kind}): {message}"),
    }
}
