//! Sending one probe, the halt that stops the ones after it, and what an answer that says
//! nothing about permissions means.

use super::{Halt, Outcome, Probe, Verifier};
use crate::cloudflare::envelope::ApiReply;
use crate::cloudflare::graphql;
use crate::error::{HINT_TOKEN, limiter_words, message, rate_limit_hint};
use crate::http::{API_HOST, Method, Request};
use crate::wit_connector::{CheckStatus, Evidence};
use crate::wit_types::Error;
use serde_json::Value;

/// The hint an API error carries, or a generic one: every check that is not ok says what to do.
fn failure_hint(error: &Error) -> String {
    let carried = match error {
        Error::Unauthorized(f)
        | Error::Forbidden(f)
        | Error::NotFound(f)
        | Error::PlanLimit(f)
        | Error::Upstream(f) => f.hint.clone(),
        _ => None,
    };
    carried.unwrap_or_else(|| {
        "Cloudflare answered with an error; retry later, and check www.cloudflarestatus.com if \
         it persists."
            .to_string()
    })
}

/// Whether a verify endpoint's error says the token itself is not accepted (as opposed to a
/// rate limit, an outage or a host denial, which say nothing about it).
pub(super) fn rejects_token(error: Option<&Error>) -> bool {
    matches!(
        error,
        Some(Error::Unauthorized(_) | Error::Forbidden(_) | Error::NotFound(_))
    )
}

fn evidence_of(reply: &ApiReply) -> Evidence {
    Evidence {
        request: reply.request.clone(),
        status: Some(reply.status),
        codes: reply.codes(),
    }
}

impl Verifier<'_> {
    /// Sends one API request unless a halt says its answer is already known.
    pub(super) fn probe(&mut self, request: Request, forbidden_hint: Option<&str>) -> Probe {
        if let Some(halt) = &self.halt {
            let error = match halt {
                Halt::RateLimited(limit) => Error::RateLimited(*limit),
                Halt::Unreachable(e) | Halt::TokenRejected(e) => e.clone(),
            };
            return Probe {
                evidence: Evidence {
                    request: format!("{} (not sent)", request.describe()),
                    status: None,
                    codes: Vec::new(),
                },
                result: Value::Null,
                error: Some(error),
                sent: false,
            };
        }
        let is_graphql = request.method == Method::Post;
        let probe = match self.transport.send(&request) {
            Err(error) => Probe {
                evidence: Evidence {
                    request: request.describe(),
                    status: None,
                    codes: Vec::new(),
                },
                result: Value::Null,
                error: Some(error),
                sent: true,
            },
            Ok(response) if is_graphql => {
                let status = response.status;
                let evidence = Evidence {
                    request: request.describe(),
                    status: Some(status),
                    codes: Vec::new(),
                };
                match graphql::parse(&request, response) {
                    Ok(answer) if answer.problems.is_empty() => Probe {
                        evidence,
                        result: answer.data,
                        error: None,
                        sent: true,
                    },
                    Ok(answer) => Probe {
                        evidence,
                        result: answer.data,
                        error: Some(Error::QueryRejected(answer.problems)),
                        sent: true,
                    },
                    Err(error) => Probe {
                        evidence,
                        result: Value::Null,
                        error: Some(error),
                        sent: true,
                    },
                }
            }
            Ok(response) => {
                let reply = ApiReply::from_response(&request, response);
                let evidence = evidence_of(&reply);
                let error = reply.error(forbidden_hint);
                Probe {
                    evidence,
                    result: reply.envelope.result,
                    error,
                    sent: true,
                }
            }
        };
        match &probe.error {
            Some(Error::RateLimited(limit)) => self.halt = Some(Halt::RateLimited(*limit)),
            Some(e @ (Error::DeniedByHost(_) | Error::Transport(_))) => {
                self.halt = Some(Halt::Unreachable(e.clone()))
            }
            _ => {}
        }
        probe
    }

    /// The outcome of a probe whose answer says nothing about permissions (rate limit, host
    /// denial, network, rejected token).
    pub(super) fn unusable_outcome(&self, probe: &Probe, what: &str) -> Outcome {
        let error = probe.error.clone();
        let prefix = if probe.sent {
            what.to_string()
        } else {
            format!("{what} (not sent)")
        };
        let (status, detail, hint, retry_after) = match &error {
            Some(Error::RateLimited(limit)) => (
                CheckStatus::RateLimited,
                format!(
                    "{prefix}: {} answered with its rate limit (HTTP 429).",
                    limiter_words(limit.limiter)
                ),
                Some(rate_limit_hint(limit.limiter).to_string()),
                limit.retry_after,
            ),
            Some(Error::DeniedByHost(m)) => (
                CheckStatus::Failed,
                format!("{prefix}: {m}."),
                Some(format!(
                    "The host that runs the plugin must allow HTTPS requests to {API_HOST}."
                )),
                None,
            ),
            Some(Error::Transport(m)) => (
                CheckStatus::Failed,
                format!("{prefix}: {m}."),
                Some("Check the network path from the host to Cloudflare, then retry.".to_string()),
                None,
            ),
            Some(Error::Unauthorized(f)) => (
                CheckStatus::Failed,
                format!("{prefix}: the token is not accepted ({}).", f.message),
                Some(HINT_TOKEN.to_string()),
                None,
            ),
            Some(other) => (
                CheckStatus::Failed,
                format!("{prefix}: {}.", message(other)),
                Some(failure_hint(other)),
                None,
            ),
            None => (CheckStatus::Ok, what.to_string(), None, None),
        };
        Outcome {
            status,
            detail,
            hint,
            evidence: Some(probe.evidence.clone()),
            error,
            retry_after,
        }
    }
}
