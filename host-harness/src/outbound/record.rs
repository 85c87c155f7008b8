//! What the host saw of each outbound request: the records the audit log and tests read.

use crate::outbound::policy::DenyReason;
use serde::Serialize;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use wasmtime_wasi_http::Error as HttpError;

/// An instance's outbound requests, in the order they were made.
pub type RequestLog = Arc<Mutex<Vec<OutboundRecord>>>;

/// Whether the policy let a request leave the host.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Allowed,
    Denied,
}

/// One outbound request as the host saw it. No header is kept: never an `Authorization`
/// value, only whether the host added its token. Serialises with stable snake_case names
/// (for the audit log). The status, byte count, duration and error fill in as the response
/// arrives and its body streams.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OutboundRecord {
    pub method: String,
    /// `scheme://authority/path` as the guest asked, without the query.
    pub url: String,
    /// The host the guest asked for: lowercased, without port or trailing dot.
    pub host: String,
    pub path: String,
    pub query: Option<String>,
    pub decision: Verdict,
    /// Why it was denied; `None` when allowed.
    pub denied: Option<String>,
    /// The denial's stable code ([`DenyReason::code`]), e.g. `method_not_allowed`.
    pub deny_code: Option<String>,
    /// Where an `--upstream` redirect sent it (`scheme://authority`).
    pub upstream: Option<String>,
    pub token_injected: bool,
    /// How often the answer carried the token back (an upstream echoing the request): header
    /// names and values changed or removed, and occurrences in the body, each replaced by
    /// `[REDACTED]` before the guest read it. Counted as the body streams; `0` when it never
    /// did, and for answers to requests the token was not added to (they are not scrubbed).
    pub token_echoed: u64,
    /// The response's status, when one came.
    pub status: Option<u16>,
    /// Response body bytes received so far (counted as the body streams).
    pub response_bytes: u64,
    /// From the guest's request to the end of the response body (or the failure).
    pub duration_ms: u64,
    /// Why an allowed request failed: connection, TLS, timeout, size limit.
    pub error: Option<String>,
}

/// Where a record lives in the instance's log, to fill in as the request goes on.
#[derive(Clone)]
pub(crate) struct RecordSlot {
    pub(crate) log: RequestLog,
    pub(crate) index: usize,
    pub(crate) started: Instant,
}

impl RecordSlot {
    pub(crate) fn update(&self, change: impl FnOnce(&mut OutboundRecord)) {
        let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(record) = log.get_mut(self.index) {
            change(record);
            record.duration_ms = self.started.elapsed().as_millis() as u64;
        }
    }

    pub(crate) fn deny(&self, reason: &DenyReason) {
        self.update(|record| {
            tracing::warn!(
                method = %record.method,
                url = %record.url,
                code = reason.code(),
                %reason,
                "outbound request denied"
            );
            record.decision = Verdict::Denied;
            // Nothing left the host, so neither did the token.
            record.token_injected = false;
            record.denied = Some(reason.to_string());
            record.deny_code = Some(reason.code().to_string());
        });
    }

    pub(crate) fn fail(&self, error: &HttpError) {
        self.update(|record| {
            if record.decision == Verdict::Allowed && record.error.is_none() {
                tracing::debug!(url = %record.url, %error, "outbound request failed");
                record.error = Some(error.to_string());
            }
        });
    }
}
