//! The Documentation check: the docs host answers.

use super::{Outcome, Verifier};
use crate::error::{message, rate_limit_hint};
use crate::http::{DOCS_HOST, Method, Request};
use crate::wit_connector::{CheckStatus, Evidence};
use crate::wit_types::{Error, RateLimiter, Service};

impl Verifier<'_> {
    /// Documentation needs no permission: its check is that the docs host answers.
    pub(super) fn check_docs(&mut self) {
        let request = Request {
            method: Method::Head,
            host: DOCS_HOST,
            path: "/llms.txt".to_string(),
            body: None,
        };
        let describe = format!("HEAD https://{DOCS_HOST}/llms.txt");
        let outcome = match self.transport.send(&request) {
            Ok(r) if (200..400).contains(&r.status) => Outcome {
                status: CheckStatus::Ok,
                detail: format!("{DOCS_HOST} answers (HTTP {}).", r.status),
                hint: None,
                evidence: Some(Evidence {
                    request: describe,
                    status: Some(r.status),
                    codes: Vec::new(),
                }),
                error: None,
                retry_after: None,
            },
            // The docs host's own limit: it says nothing of the API's.
            Ok(r) if r.status == 429 => Outcome {
                status: CheckStatus::RateLimited,
                detail: format!("{DOCS_HOST} answered with its own rate limit (HTTP 429)."),
                hint: Some(rate_limit_hint(RateLimiter::Docs).to_string()),
                evidence: Some(Evidence {
                    request: describe,
                    status: Some(r.status),
                    codes: Vec::new(),
                }),
                error: Some(Error::RateLimited(request.rate_limit(r.retry_after))),
                retry_after: r.retry_after,
            },
            Ok(r) => Outcome {
                status: CheckStatus::Failed,
                detail: format!("{DOCS_HOST} answered HTTP {}.", r.status),
                hint: Some("Cloudflare's documentation site is failing; retry later.".to_string()),
                evidence: Some(Evidence {
                    request: describe,
                    status: Some(r.status),
                    codes: Vec::new(),
                }),
                error: None,
                retry_after: r.retry_after,
            },
            Err(error) => {
                let hint = match &error {
                    Error::DeniedByHost(_) => format!(
                        "The host that runs the plugin must allow HTTPS requests to {DOCS_HOST}."
                    ),
                    _ => {
                        format!("Check the network path from the host to {DOCS_HOST}, then retry.")
                    }
                };
                Outcome {
                    status: CheckStatus::Failed,
                    detail: format!("{DOCS_HOST} could not be reached: {}.", message(&error)),
                    hint: Some(hint),
                    evidence: Some(Evidence {
                        request: describe,
                        status: None,
                        codes: Vec::new(),
                    }),
                    error: Some(error),
                    retry_after: None,
                }
            }
        };
        self.push(
            "documentation/docs-host".into(),
            Some(Service::Documentation),
            None,
            "developers.cloudflare.com is reachable",
            outcome,
        );
    }
}
