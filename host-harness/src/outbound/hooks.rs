//! The outbound hook (`WasiHttpHooks::send_request`): request count, policy, GraphQL body
//! check, credential injection, then the host's own sender (resolve, vet the addresses,
//! connect, TLS), host timeouts and the response size limit.

use crate::credentials::{ApiToken, ResponseScrub};
use crate::outbound::body::GuardedBody;
use crate::outbound::budget::{OverBudget, Spend, TokenBudget};
use crate::outbound::graphql_guard;
use crate::outbound::policy::{Decision, DenyReason, OutboundPolicy, canonical_host};
use crate::outbound::pool::{ConnectionPool, Target, ready_connection};
use crate::outbound::record::{OutboundRecord, RecordSlot, RequestLog, Verdict};
use crate::outbound::resolve::Resolver;
use bytes::Bytes;
use http_body_util::BodyExt;
use std::sync::Arc;
use std::time::{Duration, Instant};
use wasmtime_wasi_http::p2::bindings::http::types::ErrorCode;
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

/// What the host holds each outbound request to, whatever the guest asks.
#[derive(Clone, Debug)]
pub struct RequestLimits {
    pub connect_timeout: Duration,
    pub first_byte_timeout: Duration,
    pub between_bytes_timeout: Duration,
    /// Bytes of one response body.
    pub max_response_bytes: u64,
    /// Outbound requests in one call; later ones are denied.
    pub max_requests_per_call: u32,
}

/// The outbound hook: request count, policy, GraphQL body check, credential injection, then
/// the host's own sender (resolve, vet the addresses, connect, TLS), host timeouts and the
/// response size limit.
pub struct OutboundHooks {
    policy: Arc<OutboundPolicy>,
    token: Option<ApiToken>,
    limits: RequestLimits,
    resolver: Resolver,
    log: RequestLog,
    /// Requests made in the current call (reset by each call).
    requests_this_call: u32,
    /// This instance's idle connections.
    pool: ConnectionPool,
    /// The token's budget, shared with its other sessions (`serve`).
    budget: Option<Arc<TokenBudget>>,
}

type IoFuture = Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>;
type SendFuture = Box<
    dyn Future<Output = wasmtime_wasi_http::Result<(http::Response<WasiBody>, IoFuture)>> + Send,
>;

impl OutboundHooks {
    /// The hook of one instance: its own request log and connection pool.
    pub fn new(
        policy: OutboundPolicy,
        token: Option<ApiToken>,
        limits: RequestLimits,
        resolver: Resolver,
        log: RequestLog,
        budget: Option<Arc<TokenBudget>>,
    ) -> Self {
        OutboundHooks {
            policy: Arc::new(policy),
            token,
            limits,
            resolver,
            log,
            requests_this_call: 0,
            pool: ConnectionPool::default(),
            budget,
        }
    }

    /// A call begins: its requests are counted from zero.
    pub fn start_call(&mut self) {
        self.requests_this_call = 0;
    }

    fn push(&self, record: OutboundRecord, started: Instant) -> RecordSlot {
        let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        log.push(record);
        RecordSlot {
            log: self.log.clone(),
            index: log.len() - 1,
            started,
        }
    }
}

/// Drains (and discards) the body, then reports the denial: a guest writing a body would
/// otherwise meet a closed stream before it could read why the request failed.
fn deny_after_draining(body: WasiBody) -> SendFuture {
    let mut body = body;
    Box::new(async move {
        while let Some(Ok(_)) = body.frame().await {}
        Err(HttpError::HttpRequestDenied)
    })
}

/// The 429 the host answers in Cloudflare's place when a token's budget is spent, after
/// draining what the guest sent.
fn over_budget_answer(body: WasiBody, over: OverBudget) -> SendFuture {
    let mut body = body;
    Box::new(async move {
        while let Some(Ok(_)) = body.frame().await {}
        let envelope = serde_json::json!({
            "success": false,
            "errors": [{ "code": 971, "message": over.message() }],
            "messages": [],
            "result": null,
        });
        let answer = http::Response::builder()
            .status(http::StatusCode::TOO_MANY_REQUESTS)
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(http::header::RETRY_AFTER, over.retry_after_seconds())
            .body(
                http_body_util::Full::new(Bytes::from(envelope.to_string()))
                    .map_err(|never| match never {})
                    .boxed_unsync(),
            )
            .map_err(|_| HttpError::InternalError(None))?;
        let io: IoFuture = Box::new(async { Ok(()) });
        Ok((answer, io))
    })
}

impl WasiHttpHooks for OutboundHooks {
    fn send_request(
        &mut self,
        mut request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: IoFuture,
    ) -> SendFuture {
        let started = Instant::now();
        let uri = request.uri();
        let record = OutboundRecord {
            method: request.method().to_string(),
            url: format!(
                "{}://{}{}",
                uri.scheme_str().unwrap_or(""),
                uri.authority().map_or("", |a| a.as_str()),
                uri.path()
            ),
            host: uri
                .host()
                .unwrap_or_default()
                .trim_end_matches('.')
                .to_ascii_lowercase(),
            path: uri.path().to_string(),
            query: uri.query().map(str::to_string),
            decision: Verdict::Allowed,
            denied: None,
            deny_code: None,
            upstream: None,
            token_injected: false,
            token_echoed: 0,
            status: None,
            response_bytes: 0,
            duration_ms: 0,
            error: None,
        };
        let slot = self.push(record, started);
        self.requests_this_call = self.requests_this_call.saturating_add(1);
        let decision = if self.requests_this_call > self.limits.max_requests_per_call {
            Decision::Deny(DenyReason::TooManyRequests {
                limit: self.limits.max_requests_per_call,
            })
        } else {
            self.policy.decide(request.method(), request.uri())
        };
        let (inject_token, upstream) = match decision {
            Decision::Allow {
                inject_token,
                upstream,
            } => (inject_token, upstream),
            Decision::Deny(reason) => {
                slot.deny(&reason);
                return deny_after_draining(request.into_body());
            }
        };
        // The policy allows POST for GraphQL only: its body is checked (fail closed should
        // another POST ever be allowed).
        let graphql_body = request.method() == http::Method::POST;
        // A request with the token spends the token's budget; past it, the host answers 429 as
        // Cloudflare would, so the guest reads a rate limit with its wait.
        if inject_token && let Some(budget) = &self.budget {
            let spend = if graphql_body {
                Spend::Graphql
            } else {
                Spend::Api
            };
            if let Err(over) = budget.spend(spend, Instant::now()) {
                let reason = DenyReason::OverTokenBudget(over);
                slot.deny(&reason);
                slot.update(|record| record.status = Some(429));
                return over_budget_answer(request.into_body(), over);
            }
        }
        let host = canonical_host(request.uri().host().unwrap_or_default());
        // The guest never authenticates itself: whatever it set is dropped.
        let headers = request.headers_mut();
        headers.remove(http::header::AUTHORIZATION);
        let mut token_injected = false;
        // An answer to a request carrying the token could carry it back (an upstream echoing
        // the request): it is taken out before the guest reads the answer.
        let mut scrub = None;
        if inject_token && let Some(token) = &self.token {
            headers.insert(http::header::AUTHORIZATION, token.bearer_header());
            token_injected = true;
            scrub = Some(token.response_scrub());
        }
        // The allowed name, as checked: the same one is resolved and verified by TLS.
        match http::HeaderValue::from_str(&host) {
            Ok(value) => {
                headers.insert(http::header::HOST, value);
            }
            Err(_) => return Box::new(async { Err(HttpError::HttpRequestUriInvalid) }),
        }
        let target = match &upstream {
            // An explicit redirect (tests, the demo): sent where the operator said, unvetted.
            Some(upstream) => Target {
                https: upstream.scheme == http::uri::Scheme::HTTPS,
                host: upstream
                    .authority
                    .host()
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .to_string(),
                port: upstream.authority.port_u16().unwrap_or(
                    if upstream.scheme == http::uri::Scheme::HTTPS {
                        443
                    } else {
                        80
                    },
                ),
                vet: false,
            },
            None => Target {
                https: true,
                host: host.clone(),
                port: 443,
                vet: true,
            },
        };
        slot.update(|record| {
            record.token_injected = token_injected;
            record.upstream = upstream
                .as_ref()
                .map(|u| format!("{}://{}", u.scheme, u.authority));
            tracing::debug!(method = %record.method, url = %record.url, token = token_injected, "outbound request");
        });
        let clamp = |asked: Option<Duration>, max: Duration| asked.map_or(max, |d| d.min(max));
        let timeouts = Timeouts {
            connect: clamp(
                options.and_then(|o| o.connect_timeout),
                self.limits.connect_timeout,
            ),
            first_byte: clamp(
                options.and_then(|o| o.first_byte_timeout),
                self.limits.first_byte_timeout,
            ),
            between_bytes: clamp(
                options.and_then(|o| o.between_bytes_timeout),
                self.limits.between_bytes_timeout,
            ),
        };
        let resolver = self.resolver.clone();
        let max_response_bytes = self.limits.max_response_bytes;
        let pool = self.pool.clone();
        Box::new(async move {
            let request = if graphql_body {
                match buffer_graphql_request(request).await {
                    Ok(request) => request,
                    Err(BufferError::Refused(reason)) => {
                        slot.deny(&reason);
                        // Too large is said as a size, so the guest can tell the user the
                        // size rather than "not allowed".
                        return Err(match reason {
                            DenyReason::GraphqlRefused(
                                graphql_guard::GraphqlRefusal::TooLarge { size, .. },
                            ) => HttpError::HttpRequestBodySize(Some(size as u64)),
                            _ => HttpError::HttpRequestDenied,
                        });
                    }
                    Err(BufferError::Body(error)) => {
                        slot.fail(&error);
                        return Err(error);
                    }
                }
            } else {
                request
            };
            let sent = send_vetted(
                request,
                target,
                &resolver,
                &pool,
                timeouts,
                max_response_bytes,
                slot.clone(),
                None,
                scrub,
            )
            .await;
            if let Err(error) = &sent {
                slot.fail(error);
            }
            // The connection's I/O runs in its own task (it outlives this response when
            // pooled); its errors reach the guest through the response body.
            let io: IoFuture = Box::new(async { Ok(()) });
            sent.map(|response| (response, io))
        })
    }

    /// What the guest is told of a failed exchange: wasmtime's default says
    /// `HttpProtocolError` ("malformed") for every hyper error, also for a connection that
    /// closed before or during the answer.
    fn p2_error_from_hyper(&mut self, error: &hyper::Error) -> ErrorCode {
        hyper_error_code(error)
    }
}

/// A hyper error as the WASI code that says what happened: a message cut short by the
/// connection closing is `HttpResponseIncomplete`, a closed or reset connection
/// `ConnectionTerminated`, a timeout `HttpResponseTimeout`; only what hyper could not parse is
/// `HttpProtocolError`.
pub(crate) fn hyper_error_code(error: &hyper::Error) -> ErrorCode {
    use ErrorCode as C;
    let io_kind = std::error::Error::source(error)
        .and_then(|source| source.downcast_ref::<std::io::Error>())
        .map(std::io::Error::kind);
    if error.is_timeout() {
        C::HttpResponseTimeout
    } else if error.is_incomplete_message() {
        C::HttpResponseIncomplete
    } else if error.is_canceled()
        || error.is_closed()
        || matches!(
            io_kind,
            Some(
                std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::ConnectionAborted
                    | std::io::ErrorKind::BrokenPipe
                    | std::io::ErrorKind::UnexpectedEof
            )
        )
    {
        C::ConnectionTerminated
    } else {
        tracing::warn!(%error, "malformed response");
        C::HttpProtocolError
    }
}

#[derive(Clone, Copy)]
pub(crate) struct Timeouts {
    pub(crate) connect: Duration,
    pub(crate) first_byte: Duration,
    pub(crate) between_bytes: Duration,
}

enum BufferError {
    Refused(DenyReason),
    Body(HttpError),
}

/// Reads the whole GraphQL body (up to the guard's limit), checks it, and gives back a
/// request carrying exactly the bytes checked.
async fn buffer_graphql_request(
    request: http::Request<WasiBody>,
) -> Result<http::Request<WasiBody>, BufferError> {
    let (parts, mut body) = request.into_parts();
    let refused = |why| BufferError::Refused(DenyReason::GraphqlRefused(why));
    let mut buffer = Vec::new();
    let mut size = 0;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(BufferError::Body)?;
        if let Ok(data) = frame.into_data() {
            size += data.len();
            // Past the limit the rest is drained, unread, so the guest learns of the denial.
            if size <= graphql_guard::MAX_BODY_BYTES {
                buffer.extend_from_slice(&data);
            }
        }
    }
    if size > graphql_guard::MAX_BODY_BYTES {
        return Err(refused(graphql_guard::GraphqlRefusal::TooLarge {
            size,
            limit: graphql_guard::MAX_BODY_BYTES,
        }));
    }
    graphql_guard::check_headers(&parts.headers).map_err(refused)?;
    graphql_guard::check_body(&buffer).map_err(refused)?;
    let body = http_body_util::Full::new(Bytes::from(buffer))
        .map_err(|never| match never {})
        .boxed_unsync();
    Ok(http::Request::from_parts(parts, body))
}

/// Sends one allowed request, as `wasmtime_wasi_http::default_send_request` does, but to a
/// vetted address, on a pooled connection when one is idle, and with the response body counted
/// and capped. `tls` replaces the Web PKI connector in unit tests. With `scrub` (the request
/// carried the token), the token is taken out of the response's headers and body, and the
/// `Content-Length` of a body that could be rewritten is removed: the guest reads to the end.
#[allow(clippy::too_many_arguments)] // each is one of the host's settings for this request
pub(crate) async fn send_vetted(
    mut request: http::Request<WasiBody>,
    target: Target,
    resolver: &Resolver,
    pool: &ConnectionPool,
    timeouts: Timeouts,
    max_response_bytes: u64,
    slot: RecordSlot,
    tls: Option<&tokio_rustls::TlsConnector>,
    mut scrub: Option<ResponseScrub>,
) -> Result<http::Response<WasiBody>, HttpError> {
    let mut connection = ready_connection(&target, resolver, pool, timeouts, &slot, tls).await?;
    // A HEAD response's length is that of the GET it stands for: no body follows.
    let bodiless = request.method() == http::Method::HEAD;
    // The request line carries the path and query only (no proxy form).
    *request.uri_mut() = http::Uri::builder()
        .path_and_query(request.uri().path_and_query().map_or("/", |p| p.as_str()))
        .build()
        .map_err(|_| HttpError::HttpRequestUriInvalid)?;
    let response =
        tokio::time::timeout(timeouts.first_byte, connection.sender.send_request(request))
            .await
            .map_err(|_| HttpError::ConnectionReadTimeout)?
            .map_err(HttpError::from)?;
    let status = response.status().as_u16();
    slot.update(|record| record.status = Some(status));
    let declared = response
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
        .filter(|_| !bodiless);
    if let Some(length) = declared.filter(|l| *l > max_response_bytes) {
        tracing::warn!(length, limit = max_response_bytes, "response too large");
        return Err(HttpError::HttpResponseBodySize(Some(length)));
    }
    // Tokio panics on a zero interval.
    let between_bytes = timeouts.between_bytes.max(Duration::from_nanos(1));
    let mut between = tokio::time::interval(between_bytes);
    between.reset();
    let (mut parts, incoming) = response.into_parts();
    // A response without a body (HEAD, an empty one) is complete already: its connection goes
    // back now, as the guest may never read the empty body.
    let empty = http_body::Body::is_end_stream(&incoming);
    if let Some(scrub) = &mut scrub {
        let changed = scrub.headers(&mut parts.headers);
        slot.update(|record| record.token_echoed = changed);
        // The body keeps its length (the marker is as long as the token): Content-Length
        // stays, and the guest sizes its buffer from it.
    }
    let reuse = if empty {
        pool.put(target, connection);
        None
    } else {
        Some((pool.clone(), target, connection))
    };
    let body = GuardedBody {
        incoming,
        between_bytes: between,
        limit: max_response_bytes,
        received: 0,
        slot,
        finished: false,
        reuse,
        scrub,
        trailers: None,
    }
    .boxed_unsync();
    Ok(http::Response::from_parts(parts, body))
}
