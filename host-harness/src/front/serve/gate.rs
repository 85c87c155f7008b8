//! The gate in front of rmcp's service: who each request is for (its headers), the session it
//! may use (bound to its token's fingerprint), and the server's session limits.

use super::{ACCOUNT_HEADER, SERVICES_HEADER, SESSION_HEADER, ServeOptions};
use crate::front::metrics::Metrics;
use crate::front::render;
use crate::{ApiToken, ConnectOptions, Harness, Service};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use tracing::Instrument as _;

/// What a request says about who it is for, from its headers.
#[derive(Clone)]
pub struct Tenant {
    pub(super) token: ApiToken,
    pub(super) fingerprint: Fingerprint,
    pub(super) connect: ConnectOptions,
}

/// A keyed hash of a token (the key is this process's own, random): what sessions are bound to
/// and logs name, never the token. Compared in constant time (`blake3::Hash`'s `Eq`).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct Fingerprint(pub(super) blake3::Hash);

impl Fingerprint {
    /// A short form for logs.
    pub(super) fn short(&self) -> String {
        self.0.to_hex()[..12].to_string()
    }
}

/// Why the gate refused a request: its status, and the error body a client (or its user) reads.
#[derive(Debug)]
struct Refusal {
    status: StatusCode,
    kind: &'static str,
    message: String,
    hint: String,
}

fn refusal(status: StatusCode, kind: &'static str, message: &str, hint: &str) -> Refusal {
    Refusal {
        status,
        kind,
        message: message.to_string(),
        hint: hint.to_string(),
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let body = render::host_error_json(self.kind, &self.message, Some(&self.hint)).to_string();
        let mut response = (self.status, body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"cf-harness\""),
            );
        }
        response
    }
}

fn unauthorized(message: &str) -> Refusal {
    refusal(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        message,
        "Send your Cloudflare API token as `Authorization: Bearer <token>` on every request \
         (create one at https://dash.cloudflare.com/profile/api-tokens).",
    )
}

fn bad_header(name: &str, message: &str) -> Refusal {
    refusal(
        StatusCode::BAD_REQUEST,
        "invalid-input",
        &format!("{name}: {message}"),
        &format!(
            "Send {ACCOUNT_HEADER}: <the account ID, 32 hexadecimal characters, from the \
             dashboard's sidebar> and {SERVICES_HEADER}: <Documentation, DNS Analytics, GraphQL \
             Analytics, comma-separated> on every request."
        ),
    )
}

/// The one header of that name, as text.
fn single<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, String> {
    let mut values = headers.get_all(name).iter();
    match (values.next(), values.next()) {
        (None, _) => Ok(None),
        (Some(value), None) => value
            .to_str()
            .map(|v| Some(v.trim()))
            .map_err(|_| "must be plain text".to_string()),
        (Some(_), Some(_)) => Err("must be sent once".to_string()),
    }
}

fn is_account_id(text: &str) -> bool {
    text.len() == 32 && text.chars().all(|c| c.is_ascii_hexdigit())
}

/// Who the server serves: each request's own tenant, or the one tenant the host was given.
#[derive(Clone)]
pub enum Tenancy {
    /// Every request carries its tenant's token, account and services.
    PerRequest,
    /// The host holds one tenant's token, account and services; clients authenticate with a
    /// separate key (`--client-key-file`), and a Cloudflare token sent by a client is refused.
    ClientKey {
        client_key: ApiToken,
        token: ApiToken,
        connect: ConnectOptions,
    },
}

/// The bearer value of the Authorization header, or the refusal saying what to send.
fn bearer(headers: &HeaderMap, what: &str) -> Result<ApiToken, Refusal> {
    let authorization = single(headers, header::AUTHORIZATION.as_str())
        .map_err(|why| unauthorized(&format!("the Authorization header {why}")))?
        .ok_or_else(|| unauthorized(&format!("no Authorization header: {what} is needed")))?;
    let value = match authorization.split_once(' ') {
        Some((scheme, value)) if scheme.eq_ignore_ascii_case("bearer") => value,
        _ => {
            return Err(unauthorized(
                "the Authorization header must be `Bearer <token>`",
            ));
        }
    };
    ApiToken::new(value, "the Authorization header").map_err(|e| unauthorized(&e.to_string()))
}

/// The tenant a request is for, or the refusal that says which header to fix.
fn tenant_of(headers: &HeaderMap, key: &[u8; 32], tenancy: &Tenancy) -> Result<Tenant, Refusal> {
    if let Tenancy::ClientKey {
        client_key,
        token,
        connect,
    } = tenancy
    {
        let sent = bearer(headers, "the client key")?.fingerprint(key);
        if sent == token.fingerprint(key) {
            return Err(unauthorized(
                "this server holds the Cloudflare token itself: send the client key, never the \
                 Cloudflare token",
            ));
        }
        if sent != client_key.fingerprint(key) {
            return Err(unauthorized("the client key is not this server's"));
        }
        return Ok(Tenant {
            token: token.clone(),
            fingerprint: Fingerprint(sent),
            connect: connect.clone(),
        });
    }
    let token = bearer(headers, "the Cloudflare API token")?;
    let account_id = single(headers, ACCOUNT_HEADER)
        .map_err(|why| bad_header(ACCOUNT_HEADER, &why))?
        .ok_or_else(|| bad_header(ACCOUNT_HEADER, "missing"))?;
    if !is_account_id(account_id) {
        return Err(bad_header(
            ACCOUNT_HEADER,
            "must be 32 hexadecimal characters",
        ));
    }
    let services = single(headers, SERVICES_HEADER)
        .map_err(|why| bad_header(SERVICES_HEADER, &why))?
        .ok_or_else(|| bad_header(SERVICES_HEADER, "missing"))?;
    let enabled_services: Vec<Service> = render::parse_services(services)
        .map_err(|e| bad_header(SERVICES_HEADER, &render::error_text(&e)))?;
    if enabled_services.is_empty() {
        return Err(bad_header(SERVICES_HEADER, "names no service"));
    }
    let fingerprint = Fingerprint(token.fingerprint(key));
    Ok(Tenant {
        token,
        fingerprint,
        connect: ConnectOptions {
            account_id: account_id.to_ascii_lowercase(),
            enabled_services,
        },
    })
}

/// What the gate shares across requests.
pub(super) struct Gate {
    /// The fingerprint key, random for this process.
    pub(super) key: [u8; 32],
    /// The token each open session was opened with.
    pub(super) sessions: Mutex<HashMap<String, Fingerprint>>,
    pub(super) manager: Arc<LocalSessionManager>,
    pub(super) options: ServeOptions,
    /// Set once the component is loaded and compiled.
    pub(super) harness: Arc<OnceLock<Harness>>,
    pub(super) requests: AtomicU64,
    pub(super) metrics: Arc<Metrics>,
}

impl Gate {
    /// Forgets the sessions rmcp has closed (idle, deleted, or ended), then counts the open ones:
    /// in all, and those of `fingerprint`.
    async fn open_sessions(&self, fingerprint: Fingerprint) -> (usize, usize) {
        let open: Vec<String> = self
            .manager
            .sessions
            .read()
            .await
            .keys()
            .map(ToString::to_string)
            .collect();
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        sessions.retain(|id, _| open.contains(id));
        let of_token = sessions.values().filter(|f| **f == fingerprint).count();
        (open.len().max(sessions.len()), of_token)
    }
}

pub(super) async fn gate(
    State(gate): State<Arc<Gate>>,
    mut request: Request,
    next: Next,
) -> Response {
    let number = gate.requests.fetch_add(1, Ordering::Relaxed) + 1;
    if gate.harness.get().is_none() {
        return refusal(
            StatusCode::SERVICE_UNAVAILABLE,
            "not-ready",
            "the server is still loading the plugin",
            "Retry in a few seconds (GET /readyz says when it is ready).",
        )
        .into_response();
    }
    let tenant = match tenant_of(request.headers(), &gate.key, &gate.options.tenancy) {
        Ok(tenant) => tenant,
        Err(refused) => {
            gate.metrics.gate_refused(refused.kind);
            tracing::info!(request = number, status = %refused.status, kind = refused.kind, "refused at the gate");
            return refused.into_response();
        }
    };
    let session = request
        .headers()
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let span = tracing::info_span!(
        "request",
        request = number,
        session = session.as_deref().unwrap_or("-"),
        tenant = %tenant.fingerprint.short(),
    );
    if let Some(id) = &session {
        let owner = gate
            .sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .copied();
        if owner.is_some_and(|owner| owner != tenant.fingerprint) {
            span.in_scope(|| tracing::warn!("a session presented with another token: refused"));
            gate.metrics.gate_refused("session-not-found");
            return refusal(
                StatusCode::NOT_FOUND,
                "session-not-found",
                "no such session for this token",
                "Start a new session (initialize) with your own token.",
            )
            .into_response();
        }
    } else if request.method() == http::Method::POST {
        // A request without a session may open one: hold the limits first.
        let (open, of_token) = gate.open_sessions(tenant.fingerprint).await;
        let limits = &gate.options;
        if open >= limits.max_sessions {
            gate.metrics.gate_refused("too-many-sessions");
            return refusal(
                StatusCode::SERVICE_UNAVAILABLE,
                "too-many-sessions",
                &format!("the server has {open} sessions open, its limit"),
                "Retry later, or close sessions you no longer use (DELETE /mcp).",
            )
            .into_response();
        }
        if of_token >= limits.max_sessions_per_token {
            gate.metrics.gate_refused("too-many-sessions");
            return refusal(
                StatusCode::TOO_MANY_REQUESTS,
                "too-many-sessions",
                &format!("this token has {of_token} sessions open, the most one token may have"),
                "Close sessions you no longer use (DELETE /mcp), or wait for idle ones to expire.",
            )
            .into_response();
        }
    }
    let fingerprint = tenant.fingerprint;
    let deleting = request.method() == http::Method::DELETE;
    request.extensions_mut().insert(tenant);
    let mut response = next.run(request).instrument(span.clone()).await;
    // rmcp answers a session's DELETE 202; the official Python SDK takes only 200 or 204 as
    // done (and warns otherwise). 204 is what a finished DELETE is (RFC 9110).
    if deleting && response.status() == StatusCode::ACCEPTED {
        *response.status_mut() = StatusCode::NO_CONTENT;
        if let Some(id) = &session {
            gate.sessions
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(id);
        }
    }
    if session.is_none()
        && let Some(opened) = response
            .headers()
            .get(SESSION_HEADER)
            .and_then(|v| v.to_str().ok())
    {
        span.in_scope(|| tracing::info!(opened, "session opened"));
        gate.metrics.session_created();
        gate.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(opened.to_string(), fingerprint);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                http::HeaderName::from_bytes(name.as_bytes()).expect("name"),
                HeaderValue::from_str(value).expect("value"),
            );
        }
        map
    }

    const TOKEN: &str = "cfut_fake0token0never0print0me0f3b2a9e7d4c6b1a";
    const ACCOUNT: &str = "01a7362d577a6c3019a474fd6f485823";

    #[test]
    fn the_gate_names_what_to_send() {
        let bearer = format!("Bearer {TOKEN}");
        let key = [7u8; 32];
        let Ok(ok) = tenant_of(
            &headers(&[
                ("authorization", &bearer),
                (ACCOUNT_HEADER, ACCOUNT),
                (SERVICES_HEADER, "DNS Analytics, Documentation"),
            ]),
            &key,
            &Tenancy::PerRequest,
        ) else {
            panic!("a tenant");
        };
        assert_eq!(ok.connect.account_id, ACCOUNT);
        assert_eq!(
            ok.connect.enabled_services,
            [Service::DnsAnalytics, Service::Documentation]
        );
        for (pairs, status) in [
            (&[][..], StatusCode::UNAUTHORIZED),
            (
                &[("authorization", "Basic abc")][..],
                StatusCode::UNAUTHORIZED,
            ),
            (
                &[("authorization", "Bearer not a token")][..],
                StatusCode::UNAUTHORIZED,
            ),
            (
                &[("authorization", bearer.as_str())][..],
                StatusCode::BAD_REQUEST,
            ),
            (
                &[("authorization", bearer.as_str()), (ACCOUNT_HEADER, "xyz")][..],
                StatusCode::BAD_REQUEST,
            ),
            (
                &[
                    ("authorization", bearer.as_str()),
                    (ACCOUNT_HEADER, ACCOUNT),
                    (SERVICES_HEADER, "Workers"),
                ][..],
                StatusCode::BAD_REQUEST,
            ),
        ] {
            let Err(refused) = tenant_of(&headers(pairs), &key, &Tenancy::PerRequest) else {
                panic!("{pairs:?} passed");
            };
            assert_eq!(refused.status, status, "{pairs:?}");
            let response = refused.into_response();
            if status == StatusCode::UNAUTHORIZED {
                assert!(response.headers().contains_key(header::WWW_AUTHENTICATE));
            }
        }
    }

    #[test]
    fn fingerprints_are_keyed_and_never_the_token() {
        let token = ApiToken::new(TOKEN, "test").expect("token");
        let a = Fingerprint(token.fingerprint(&[1; 32]));
        let b = Fingerprint(token.fingerprint(&[2; 32]));
        assert!(a != b);
        assert!(!a.short().contains(&TOKEN[..8]));
    }
}
