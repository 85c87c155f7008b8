//! The results `call-tool` returns, as the [`tool_output`] types (snake_case fields, enums as
//! their WIT names), built from the WIT records; the types' schemas are each tool's
//! `output-schema`.

use crate::error;
use crate::names::name;
use crate::wit_connector::{Check, ConnectionInfo, Evidence, VerifyReport};
use crate::wit_types::{Error, GraphqlProblem, ReportScope, ZoneRef};
use serde::Serialize;
use tool_output as out;

/// A result as `call-tool`'s JSON text.
pub fn text<T: Serialize>(result: &T) -> Result<String, Error> {
    serde_json::to_string(result)
        .map_err(|e| Error::Internal(format!("the result could not be written as JSON: {e}")))
}

/// An error as a verify check carries it: the same shape as the host's tool errors.
pub fn error(e: &Error) -> out::ToolError<'_> {
    let mut body = out::ToolError::new(error::kind(e), error::message(e), None);
    match e {
        Error::InvalidInput(p) => body.field = Some(p.field.clone()),
        Error::ServiceDisabled(s) => body.service = Some(name(*s)),
        Error::Unauthorized(f)
        | Error::Forbidden(f)
        | Error::NotFound(f)
        | Error::PlanLimit(f)
        | Error::Upstream(f) => {
            body.status = Some(f.status);
            body.codes = Some(&f.codes);
            body.hint.clone_from(&f.hint);
            body.permission = f.permission.map(crate::cloudflare::catalog::dashboard_name);
        }
        Error::RateLimited(limit) => {
            body.limiter = Some(name(limit.limiter));
            body.host = Some(error::limiter_host(limit.limiter));
            body.retry_after_seconds = limit.retry_after;
            body.docs_url = out::docs_url(body.kind, body.limiter);
        }
        Error::QueryRejected(problems) => {
            body.problems = Some(problems.iter().map(graphql_problem).collect())
        }
        Error::NotConnected(_)
        | Error::DeniedByHost(_)
        | Error::Transport(_)
        | Error::Internal(_) => {}
    }
    body
}

pub fn zone_ref(z: &ZoneRef) -> out::ZoneRef<'_> {
    out::ZoneRef {
        id: &z.id,
        name: &z.name,
        plan: z.plan.as_deref(),
    }
}

/// What a report covered.
pub fn report_scope(s: &ReportScope) -> out::Scope<'_> {
    out::Scope {
        account_id: &s.account_id,
        zone: s.zone.as_ref().map(zone_ref),
        level: if s.zone.is_some() { "zone" } else { "account" },
        dataset: &s.dataset,
        since: &s.since,
        until: &s.until,
    }
}

pub fn graphql_problem(p: &GraphqlProblem) -> out::GraphqlProblem<'_> {
    out::GraphqlProblem {
        message: &p.message,
        path: &p.path,
        code: p.code.as_deref(),
        hint: p.hint.as_deref(),
    }
}

pub fn connection_info(info: &ConnectionInfo) -> out::ConnectionInfo<'_> {
    let services = info.services.iter().map(|s| out::ServiceInfo {
        service: name(s.service),
        display_name: &s.display_name,
        hosts: &s.hosts,
        permissions: s
            .permissions
            .iter()
            .map(|p| out::PermissionRequirement {
                permission: name(p.permission),
                dashboard_name: &p.dashboard_name,
                reason: &p.reason,
            })
            .collect(),
    });
    out::ConnectionInfo {
        account_id: &info.account_id,
        source: &info.source,
        hosts: &info.hosts,
        services: services.collect(),
    }
}

fn evidence(e: &Evidence) -> out::Evidence<'_> {
    out::Evidence {
        request: &e.request,
        status: e.status,
        codes: &e.codes,
    }
}

fn check(c: &Check) -> out::Check<'_> {
    out::Check {
        id: &c.id,
        service: c.service.map(name),
        permission: c.permission.map(name),
        title: &c.title,
        status: name(c.status),
        detail: &c.detail,
        hint: c.hint.as_deref(),
        evidence: c.evidence.as_ref().map(evidence),
        error: c.error.as_ref().map(error),
        retry_after_seconds: c.retry_after_seconds,
    }
}

pub fn verify_report(r: &VerifyReport) -> out::VerifyReport<'_> {
    out::VerifyReport {
        ready: r.ready,
        account_id: &r.account_id,
        token: out::TokenInfo {
            state: name(r.token.state),
            id: r.token.id.as_deref(),
            owner: r.token.owner.as_deref(),
            expires_on: r.token.expires_on.as_deref(),
            not_before: r.token.not_before.as_deref(),
        },
        services: r
            .services
            .iter()
            .map(|s| out::ServiceReadiness {
                service: name(s.service),
                ready: s.ready,
                summary: &s.summary,
            })
            .collect(),
        checks: r.checks.iter().map(check).collect(),
        security_reviewed: r.security_reviewed,
        security: r
            .security
            .iter()
            .map(|f| out::SecurityFinding {
                id: &f.id,
                detail: &f.detail,
                hint: &f.hint,
            })
            .collect(),
    }
}
