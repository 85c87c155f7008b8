//! The JSON that `call-tool` returns: snake_case fields, enums as their WIT names.

use crate::cloudflare::catalog;
use crate::error;
use crate::wit_connector::{
    Check, CheckStatus, ConnectionInfo, Evidence, TokenState, VerifyReport,
};
use crate::wit_types::{Error, GraphqlProblem, Permission, ReportScope, Service};
use serde_json::{Value, json};

pub fn service(s: Service) -> Value {
    json!(catalog::slug(s))
}

pub fn permission(p: Permission) -> Value {
    json!(catalog::slug_of_permission(p))
}

pub fn check_status(s: CheckStatus) -> &'static str {
    match s {
        CheckStatus::Ok => "ok",
        CheckStatus::Warning => "warning",
        CheckStatus::Failed => "failed",
        CheckStatus::Skipped => "skipped",
        CheckStatus::RateLimited => "rate-limited",
    }
}

fn token_state(s: TokenState) -> &'static str {
    match s {
        TokenState::Active => "active",
        TokenState::Disabled => "disabled",
        TokenState::Expired => "expired",
        TokenState::Invalid => "invalid",
        TokenState::Unknown => "unknown",
    }
}

/// An error as `{kind, message, ...details}`.
pub fn error(e: &Error) -> Value {
    let mut v = json!({ "kind": error::kind(e), "message": error::message(e) });
    match e {
        Error::InvalidInput(p) => v["field"] = json!(p.field),
        Error::ServiceDisabled(s) => v["service"] = service(*s),
        Error::Unauthorized(f)
        | Error::Forbidden(f)
        | Error::NotFound(f)
        | Error::PlanLimit(f)
        | Error::Upstream(f) => {
            v["status"] = json!(f.status);
            v["codes"] = json!(f.codes);
            v["hint"] = json!(f.hint);
        }
        Error::RateLimited(after) => v["retry_after_seconds"] = json!(after),
        Error::QueryRejected(problems) => {
            v["problems"] = problems.iter().map(graphql_problem).collect();
        }
        Error::NotConnected(_)
        | Error::DeniedByHost(_)
        | Error::Transport(_)
        | Error::Internal(_) => {}
    }
    v
}

/// What a report covered.
pub fn report_scope(s: &ReportScope) -> Value {
    json!({
        "account_id": s.account_id,
        "zone": s.zone.as_ref().map(|z| json!({ "id": z.id, "name": z.name, "plan": z.plan })),
        "level": if s.zone.is_some() { "zone" } else { "account" },
        "dataset": s.dataset,
        "since": s.since,
        "until": s.until,
    })
}

pub fn graphql_problem(p: &GraphqlProblem) -> Value {
    json!({ "message": p.message, "path": p.path, "code": p.code, "hint": p.hint })
}

pub fn connection_info(info: &ConnectionInfo) -> Value {
    json!({
        "account_id": info.account_id,
        "source": info.source,
        "hosts": info.hosts,
        "services": info.services.iter().map(|s| json!({
            "service": service(s.service),
            "display_name": s.display_name,
            "hosts": s.hosts,
            "permissions": s.permissions.iter().map(|p| json!({
                "permission": permission(p.permission),
                "dashboard_name": p.dashboard_name,
                "reason": p.reason,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

fn evidence(e: &Evidence) -> Value {
    json!({ "request": e.request, "status": e.status, "codes": e.codes })
}

fn check(c: &Check) -> Value {
    json!({
        "id": c.id,
        "service": c.service.map(service),
        "permission": c.permission.map(permission),
        "title": c.title,
        "status": check_status(c.status),
        "detail": c.detail,
        "hint": c.hint,
        "evidence": c.evidence.as_ref().map(evidence),
        "error": c.error.as_ref().map(error),
        "retry_after_seconds": c.retry_after_seconds,
    })
}

pub fn verify_report(r: &VerifyReport) -> Value {
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
        "services": r.services.iter().map(|s| json!({
            "service": service(s.service),
            "ready": s.ready,
            "summary": s.summary,
        })).collect::<Vec<_>>(),
        "checks": r.checks.iter().map(check).collect::<Vec<_>>(),
        "security_reviewed": r.security_reviewed,
        "security": r.security.iter().map(|f| json!({
            "id": f.id, "detail": f.detail, "hint": f.hint,
        })).collect::<Vec<_>>(),
    })
}
