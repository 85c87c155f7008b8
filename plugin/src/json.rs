//! The JSON that `call-tool` returns: snake_case fields, enums as their WIT names.

use crate::error;
use crate::names::name;
use crate::wit_connector::{Check, ConnectionInfo, Evidence, VerifyReport};
use crate::wit_types::{Error, GraphqlProblem, Permission, ReportScope, Service};
use serde::Serialize;
use serde_json::{Map, Value};
use std::cell::Cell;

/// A field's value in an [`object`]: anything serde serializes, as `json!` would take it, or
/// an [`Owned`] value.
pub trait ToJson {
    fn to_json(&self) -> Value;
}

impl<T: Serialize + ?Sized> ToJson for T {
    fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// A value moved into an [`object`] as it is, rather than serialized again: nested objects,
/// rows, parsed data.
pub struct Owned(Cell<Value>);

pub fn owned(value: impl Into<Value>) -> Owned {
    Owned(Cell::new(value.into()))
}

impl ToJson for Owned {
    fn to_json(&self) -> Value {
        self.0.take()
    }
}

/// `object(&[("a", &x), ("b", &owned(y))])` is `json!({ "a": x, "b": y })`: the same object,
/// built by one loop instead of the code `json!` expands to for every key (the component's
/// size).
pub fn object(fields: &[(&str, &dyn ToJson)]) -> Value {
    let mut map = Map::new();
    for (key, value) in fields {
        map.insert((*key).to_string(), value.to_json());
    }
    Value::Object(map)
}

pub fn service(s: Service) -> Value {
    Value::from(name(s))
}

pub fn permission(p: Permission) -> Value {
    Value::from(name(p))
}

/// An error as `{kind, message, ...details}`.
pub fn error(e: &Error) -> Value {
    let kind = error::kind(e);
    let message = error::message(e);
    let common: [(&str, &dyn ToJson); 2] = [("kind", &kind), ("message", &message)];
    match e {
        Error::InvalidInput(p) => object(&[common[0], common[1], ("field", &p.field)]),
        Error::ServiceDisabled(s) => {
            object(&[common[0], common[1], ("service", &owned(service(*s)))])
        }
        Error::Unauthorized(f)
        | Error::Forbidden(f)
        | Error::NotFound(f)
        | Error::PlanLimit(f)
        | Error::Upstream(f) => object(&[
            common[0],
            common[1],
            ("status", &f.status),
            ("codes", &f.codes),
            ("hint", &f.hint),
        ]),
        Error::RateLimited(limit) => object(&[
            common[0],
            common[1],
            ("limiter", &name(limit.limiter)),
            ("host", &error::limiter_host(limit.limiter)),
            ("retry_after_seconds", &limit.retry_after),
        ]),
        Error::QueryRejected(problems) => object(&[
            common[0],
            common[1],
            (
                "problems",
                &owned(problems.iter().map(graphql_problem).collect::<Value>()),
            ),
        ]),
        Error::NotConnected(_)
        | Error::DeniedByHost(_)
        | Error::Transport(_)
        | Error::Internal(_) => object(&common),
    }
}

/// What a report covered.
pub fn report_scope(s: &ReportScope) -> Value {
    object(&[
        ("account_id", &s.account_id),
        (
            "zone",
            &owned(
                s.zone
                    .as_ref()
                    .map(|z| object(&[("id", &z.id), ("name", &z.name), ("plan", &z.plan)])),
            ),
        ),
        ("level", &if s.zone.is_some() { "zone" } else { "account" }),
        ("dataset", &s.dataset),
        ("since", &s.since),
        ("until", &s.until),
    ])
}

pub fn graphql_problem(p: &GraphqlProblem) -> Value {
    object(&[
        ("message", &p.message),
        ("path", &p.path),
        ("code", &p.code),
        ("hint", &p.hint),
    ])
}

pub fn connection_info(info: &ConnectionInfo) -> Value {
    let services = info.services.iter().map(|s| {
        let permissions = s.permissions.iter().map(|p| {
            object(&[
                ("permission", &owned(permission(p.permission))),
                ("dashboard_name", &p.dashboard_name),
                ("reason", &p.reason),
            ])
        });
        object(&[
            ("service", &owned(service(s.service))),
            ("display_name", &s.display_name),
            ("hosts", &s.hosts),
            ("permissions", &owned(permissions.collect::<Value>())),
        ])
    });
    object(&[
        ("account_id", &info.account_id),
        ("source", &info.source),
        ("hosts", &info.hosts),
        ("services", &owned(services.collect::<Value>())),
    ])
}

fn evidence(e: &Evidence) -> Value {
    object(&[
        ("request", &e.request),
        ("status", &e.status),
        ("codes", &e.codes),
    ])
}

fn check(c: &Check) -> Value {
    object(&[
        ("id", &c.id),
        ("service", &owned(c.service.map(service))),
        ("permission", &owned(c.permission.map(permission))),
        ("title", &c.title),
        ("status", &name(c.status)),
        ("detail", &c.detail),
        ("hint", &c.hint),
        ("evidence", &owned(c.evidence.as_ref().map(evidence))),
        ("error", &owned(c.error.as_ref().map(error))),
        ("retry_after_seconds", &c.retry_after_seconds),
    ])
}

pub fn verify_report(r: &VerifyReport) -> Value {
    let token = object(&[
        ("state", &name(r.token.state)),
        ("id", &r.token.id),
        ("owner", &r.token.owner),
        ("expires_on", &r.token.expires_on),
        ("not_before", &r.token.not_before),
    ]);
    let services = r.services.iter().map(|s| {
        object(&[
            ("service", &owned(service(s.service))),
            ("ready", &s.ready),
            ("summary", &s.summary),
        ])
    });
    let security = r
        .security
        .iter()
        .map(|f| object(&[("id", &f.id), ("detail", &f.detail), ("hint", &f.hint)]));
    object(&[
        ("ready", &r.ready),
        ("account_id", &r.account_id),
        ("token", &owned(token)),
        ("services", &owned(services.collect::<Value>())),
        (
            "checks",
            &owned(r.checks.iter().map(check).collect::<Value>()),
        ),
        ("security_reviewed", &r.security_reviewed),
        ("security", &owned(security.collect::<Value>())),
    ])
}
