//! The one outbound client. Everything above it talks to the [`Transport`] trait, so request
//! building and response handling are tested natively with a scripted transport.

use crate::wit_types::{Error, RateLimit, RateLimiter};

/// The Cloudflare API host. The host harness adds the token to requests for it, and only it.
pub const API_HOST: &str = "api.cloudflare.com";
/// The documentation host. Never receives the token.
pub const DOCS_HOST: &str = "developers.cloudflare.com";
/// The v4 API's path prefix.
pub const API_PREFIX: &str = "/client/v4";
/// The GraphQL Analytics endpoint, under [`API_PREFIX`].
pub const GRAPHQL_PATH: &str = "/client/v4/graphql";

/// Responses larger than this are refused rather than buffered: below the host's 64 MiB memory
/// limit with room to parse, so an oversized answer is an error, not a trap.
const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;
const USER_AGENT: &str = concat!("cloudflare-connector/", env!("CARGO_PKG_VERSION"));

/// The methods the connector uses: it only ever reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    /// Only for GraphQL queries, which read.
    Post,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
        }
    }
}

/// One outbound request. `path` includes the query string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub method: Method,
    pub host: &'static str,
    pub path: String,
    pub body: Option<Vec<u8>>,
}

impl Request {
    pub fn get(host: &'static str, path: String) -> Self {
        Request {
            method: Method::Get,
            host,
            path,
            body: None,
        }
    }

    /// `GET /client/v4/...` on the API host.
    pub fn api_get(path: &str) -> Self {
        Request::get(API_HOST, format!("{API_PREFIX}{path}"))
    }

    /// `POST /client/v4/graphql` with a JSON body.
    pub fn graphql(body: Vec<u8>) -> Self {
        Request {
            method: Method::Post,
            host: API_HOST,
            path: GRAPHQL_PATH.to_string(),
            body: Some(body),
        }
    }

    /// Whose rate limit answers this request: the docs host has its own, GraphQL its own, the
    /// rest of the API the global one.
    pub fn limiter(&self) -> RateLimiter {
        if self.host == DOCS_HOST {
            RateLimiter::Docs
        } else if self.path.split('?').next() == Some(GRAPHQL_PATH) {
            RateLimiter::Graphql
        } else {
            RateLimiter::Api
        }
    }

    /// The rate limit a 429 to this request means, with the answer's `Retry-After`.
    pub fn rate_limit(&self, retry_after: Option<u32>) -> RateLimit {
        RateLimit {
            limiter: self.limiter(),
            retry_after,
        }
    }

    /// How the request is shown in evidence and errors: method and path, never credentials
    /// (the plugin has none to show).
    pub fn describe(&self) -> String {
        format!("{} {}", self.method.as_str(), self.path)
    }
}

/// What came back.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    /// `retry-after` in seconds, when given as a number.
    pub retry_after: Option<u32>,
    /// The media type of `content-type`, lowercased and without parameters (`text/html`).
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

/// Sends a request. An `Err` means no HTTP response arrived (denied by the host, transport).
pub trait Transport {
    fn send(&self, request: &Request) -> Result<Response, Error>;
}

/// The WASI HTTP transport, through `waki`.
pub struct WasiTransport;

impl Transport for WasiTransport {
    fn send(&self, request: &Request) -> Result<Response, Error> {
        let url = format!("https://{}{}", request.host, request.path);
        let client = waki::Client::new();
        let builder = match request.method {
            Method::Get => client.get(&url),
            Method::Head => client.head(&url),
            Method::Post => client.post(&url),
        };
        let mut builder = builder
            .header("user-agent", USER_AGENT)
            .header("accept", "application/json, text/plain, text/markdown")
            .connect_timeout(std::time::Duration::from_secs(10));
        if let Some(body) = &request.body {
            builder = builder
                .header("content-type", "application/json")
                .body(body.clone());
        }
        let response = builder.send().map_err(|e| transport_error(request, &e))?;
        let status = response.status_code();
        let retry_after = response
            .header("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(retry_after_seconds);
        let content_type = response
            .header("content-type")
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_ascii_lowercase()
            });
        // Sized from Content-Length when given, so a large body is not copied as it doubles.
        let declared = response
            .header("content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|&n| n <= MAX_RESPONSE_BYTES)
            .unwrap_or(0);
        let mut body = Vec::with_capacity(declared);
        if request.method != Method::Head {
            while let Some(chunk) = response.chunk(64 * 1024).map_err(|_| read_error(request))? {
                body.extend_from_slice(&chunk);
                if body.len() > MAX_RESPONSE_BYTES {
                    return Err(Error::Transport(format!(
                        "{}: response larger than {} MiB",
                        request.describe(),
                        MAX_RESPONSE_BYTES / (1024 * 1024)
                    )));
                }
            }
        }
        Ok(Response {
            status,
            retry_after,
            content_type,
            body,
        })
    }
}

/// `Retry-After` in seconds: a number too large for the type is clamped, not dropped, and a
/// fraction rounds up. (An HTTP date is not read: Cloudflare sends seconds.)
fn retry_after_seconds(value: &str) -> Option<u32> {
    let value = value.trim();
    if let Ok(whole) = value.parse::<u64>() {
        return Some(u32::try_from(whole).unwrap_or(u32::MAX));
    }
    if !value.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    let seconds = value.parse::<f64>().ok().filter(|s| s.is_finite())?;
    Some(seconds.ceil().min(f64::from(u32::MAX)) as u32)
}

/// A host denial is its own error variant: the plugin cannot fix it, the host's policy can.
fn transport_error(request: &Request, error: &anyhow::Error) -> Error {
    match error.downcast_ref::<waki::ErrorCode>() {
        Some(waki::ErrorCode::HttpRequestDenied) => Error::DeniedByHost(format!(
            "the host does not allow {} {}{}",
            request.method.as_str(),
            request.host,
            request.path.split('?').next().unwrap_or_default()
        )),
        // The host's GraphQL guard refuses a body past its limit by size, not as a denial.
        Some(waki::ErrorCode::HttpRequestBodySize(size)) => Error::DeniedByHost(format!(
            "the host refused the {} {}{} request body{}: larger than it allows; send a \
             shorter query",
            request.method.as_str(),
            request.host,
            request.path.split('?').next().unwrap_or_default(),
            size.map(|bytes| format!(" of {bytes} bytes"))
                .unwrap_or_default()
        )),
        Some(code) => unreachable_host(request, describe_code(code)),
        None => Error::Transport(format!("{}: {error}", request.describe())),
    }
}

/// waki words a failed body read with the stream error's Debug text and keeps no error code,
/// so a connection closed mid-body and a body that stalled past the host's read timeout read
/// alike: both are said, in words.
fn read_error(request: &Request) -> Error {
    unreachable_host(
        request,
        "stopped sending its answer before the end: the connection closed, or went silent for \
         longer than the host waits",
    )
}

/// `GET /client/v4/...: api.cloudflare.com refused the connection`.
fn unreachable_host(request: &Request, what: &str) -> Error {
    Error::Transport(format!("{}: {} {what}", request.describe(), request.host))
}

/// What a WASI HTTP error code says about the host, in words, to follow its name. Exhaustive on
/// purpose: a new code in a later WASI must be worded here, not fall back to its Rust name.
/// Fixed phrases and no formatting here: every byte ships in the component.
fn describe_code(code: &waki::ErrorCode) -> &'static str {
    use waki::ErrorCode as C;
    match code {
        C::DnsTimeout | C::DnsError(_) => {
            "could not be resolved (DNS error); check the network or the host's --upstream"
        }
        C::DestinationNotFound | C::DestinationUnavailable | C::DestinationIpUnroutable => {
            "cannot be reached"
        }
        C::ConnectionRefused => "refused the connection",
        C::ConnectionTerminated | C::HttpResponseIncomplete => {
            "closed the connection before its answer was complete"
        }
        C::ConnectionTimeout
        | C::ConnectionReadTimeout
        | C::ConnectionWriteTimeout
        | C::HttpResponseTimeout => "did not answer within the time limit",
        C::TlsProtocolError | C::TlsAlertReceived(_) | C::TlsCertificateError => {
            "failed the TLS handshake"
        }
        C::DestinationIpProhibited | C::HttpRequestDenied => "is not allowed by the host",
        C::HttpRequestLengthRequired
        | C::HttpRequestBodySize(_)
        | C::HttpRequestMethodInvalid
        | C::HttpRequestUriInvalid
        | C::HttpRequestUriTooLong
        | C::HttpRequestHeaderSectionSize(_)
        | C::HttpRequestHeaderSize(_)
        | C::HttpRequestTrailerSectionSize(_)
        | C::HttpRequestTrailerSize(_) => "refused the request as malformed or too large",
        C::HttpResponseHeaderSectionSize(_)
        | C::HttpResponseHeaderSize(_)
        | C::HttpResponseBodySize(_)
        | C::HttpResponseTrailerSectionSize(_)
        | C::HttpResponseTrailerSize(_) => "sent a response larger than the host allows",
        C::HttpResponseTransferCoding(_)
        | C::HttpResponseContentCoding(_)
        | C::HttpUpgradeFailed
        | C::HttpProtocolError
        | C::LoopDetected => "sent a malformed HTTP response",
        C::ConnectionLimitReached | C::ConfigurationError | C::InternalError(_) => {
            "could not be called: the host's HTTP client failed"
        }
    }
}

/// Percent-encodes a query value (RFC 3986 unreserved characters pass through).
pub fn encode_query_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(byte as char)
            }
            // By hand: a `format!` per byte costs more component bytes than this.
            _ => {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                out.push('%');
                out.push(HEX[usize::from(byte >> 4)] as char);
                out.push(HEX[usize::from(byte & 15)] as char);
            }
        }
    }
    out
}

/// `path?k=v&...` with every value encoded.
pub fn with_query(path: &str, query: &[(&str, &str)]) -> String {
    if query.is_empty() {
        return path.to_string();
    }
    let pairs: Vec<String> = query
        .iter()
        .map(|(k, v)| format!("{k}={}", encode_query_value(v)))
        .collect();
    format!("{path}?{}", pairs.join("&"))
}

/// A transport that answers from a queue, for unit tests.
#[cfg(test)]
pub mod testing {
    use super::{Request, Response, Transport};
    use crate::wit_types::Error;
    use std::cell::RefCell;
    use std::collections::VecDeque;

    pub struct Queued {
        answers: RefCell<VecDeque<Response>>,
        sent: RefCell<Vec<Request>>,
    }

    impl Queued {
        pub fn new(answers: Vec<Response>) -> Self {
            Queued {
                answers: RefCell::new(answers.into()),
                sent: RefCell::new(Vec::new()),
            }
        }

        pub fn sent(&self) -> Vec<Request> {
            self.sent.borrow().clone()
        }

        /// The JSON body of the n-th request sent.
        pub fn body(&self, n: usize) -> serde_json::Value {
            let sent = self.sent.borrow();
            serde_json::from_slice(sent[n].body.as_deref().unwrap_or_default())
                .expect("a JSON body")
        }
    }

    impl Transport for Queued {
        fn send(&self, request: &Request) -> Result<Response, Error> {
            self.sent.borrow_mut().push(request.clone());
            self.answers
                .borrow_mut()
                .pop_front()
                .ok_or_else(|| Error::Transport(format!("unexpected {}", request.describe())))
        }
    }

    impl Response {
        pub fn ok(body: &str) -> Response {
            Response {
                status: 200,
                retry_after: None,
                body: body.as_bytes().to_vec(),
                content_type: None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_clamped_and_rounded_up_never_dropped() {
        assert_eq!(retry_after_seconds("30"), Some(30));
        assert_eq!(retry_after_seconds(" 99999999999999 "), Some(u32::MAX));
        assert_eq!(
            retry_after_seconds("99999999999999999999999"),
            Some(u32::MAX)
        );
        assert_eq!(retry_after_seconds("1.5"), Some(2));
        assert_eq!(retry_after_seconds("-1"), None);
        assert_eq!(retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }

    /// Every code, with and without its payload, reads as words: no Rust names or Debug text.
    #[test]
    fn every_transport_error_code_is_described_in_words() {
        use waki::ErrorCode as C;
        use waki::bindings::wasi::http::types::{
            DnsErrorPayload, FieldSizePayload, TlsAlertReceivedPayload,
        };
        let field = |name: Option<&str>| FieldSizePayload {
            field_name: name.map(str::to_string),
            field_size: Some(9000),
        };
        let codes = vec![
            C::DnsTimeout,
            C::DnsError(DnsErrorPayload {
                rcode: None,
                info_code: None,
            }),
            C::DnsError(DnsErrorPayload {
                rcode: Some("NXDOMAIN".into()),
                info_code: Some(3),
            }),
            C::DestinationNotFound,
            C::DestinationUnavailable,
            C::DestinationIpProhibited,
            C::DestinationIpUnroutable,
            C::ConnectionRefused,
            C::ConnectionTerminated,
            C::ConnectionTimeout,
            C::ConnectionReadTimeout,
            C::ConnectionWriteTimeout,
            C::ConnectionLimitReached,
            C::TlsProtocolError,
            C::TlsCertificateError,
            C::TlsAlertReceived(TlsAlertReceivedPayload {
                alert_id: None,
                alert_message: None,
            }),
            C::TlsAlertReceived(TlsAlertReceivedPayload {
                alert_id: Some(40),
                alert_message: Some("handshake failure".into()),
            }),
            C::HttpRequestDenied,
            C::HttpRequestLengthRequired,
            C::HttpRequestBodySize(None),
            C::HttpRequestBodySize(Some(10)),
            C::HttpRequestMethodInvalid,
            C::HttpRequestUriInvalid,
            C::HttpRequestUriTooLong,
            C::HttpRequestHeaderSectionSize(None),
            C::HttpRequestHeaderSectionSize(Some(10)),
            C::HttpRequestHeaderSize(None),
            C::HttpRequestHeaderSize(Some(field(Some("x-big")))),
            C::HttpRequestTrailerSectionSize(Some(10)),
            C::HttpRequestTrailerSize(field(None)),
            C::HttpResponseIncomplete,
            C::HttpResponseHeaderSectionSize(Some(10)),
            C::HttpResponseHeaderSize(field(Some("set-cookie"))),
            C::HttpResponseHeaderSize(field(None)),
            C::HttpResponseBodySize(None),
            C::HttpResponseBodySize(Some(10)),
            C::HttpResponseTrailerSectionSize(None),
            C::HttpResponseTrailerSize(field(Some("x-trailer"))),
            C::HttpResponseTransferCoding(Some("gzip".into())),
            C::HttpResponseContentCoding(None),
            C::HttpResponseTimeout,
            C::HttpUpgradeFailed,
            C::HttpProtocolError,
            C::LoopDetected,
            C::ConfigurationError,
            C::InternalError(None),
            C::InternalError(Some("connection pool closed".into())),
        ];
        let request = Request::api_get("/user/tokens/verify");
        for code in codes {
            let error = transport_error(&request, &anyhow::Error::new(code.clone()));
            let text = match &error {
                Error::Transport(text) | Error::DeniedByHost(text) => text.clone(),
                other => panic!("{code:?} became {other:?}"),
            };
            for debris in ["::", "{ ", "Some(", "ErrorCode", "Payload"] {
                assert!(!text.contains(debris), "{code:?} reads {text:?}");
            }
            assert!(
                text.contains(API_HOST),
                "{code:?} does not name the host: {text:?}"
            );
        }
        // A failed body read: waki's own wording of it carries Debug text and is not passed on.
        let read = read_error(&request);
        assert_eq!(
            read,
            Error::Transport(
                "GET /client/v4/user/tokens/verify: api.cloudflare.com stopped sending its \
                 answer before the end: the connection closed, or went silent for longer than \
                 the host waits"
                    .into()
            )
        );
        let dns = transport_error(
            &request,
            &anyhow::Error::new(C::DnsError(DnsErrorPayload {
                rcode: None,
                info_code: None,
            })),
        );
        assert_eq!(
            dns,
            Error::Transport(
                "GET /client/v4/user/tokens/verify: api.cloudflare.com could not be resolved \
                 (DNS error); check the network or the host's --upstream"
                    .into()
            )
        );
    }

    /// A 429's limiter is the endpoint's: the docs host's own, GraphQL's, or the API's.
    #[test]
    fn each_endpoint_has_its_own_rate_limiter() {
        assert_eq!(Request::api_get("/zones").limiter(), RateLimiter::Api);
        assert_eq!(Request::graphql(Vec::new()).limiter(), RateLimiter::Graphql);
        let docs = Request::get(DOCS_HOST, "/llms.txt".to_string());
        assert_eq!(docs.limiter(), RateLimiter::Docs);
        assert_eq!(
            docs.rate_limit(Some(12)),
            RateLimit {
                limiter: RateLimiter::Docs,
                retry_after: Some(12)
            }
        );
    }

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(
            with_query("/zones", &[("name", "exämple.com"), ("per_page", "5")]),
            "/zones?name=ex%C3%A4mple.com&per_page=5"
        );
        assert_eq!(encode_query_value("a b&c=d"), "a%20b%26c%3Dd");
    }
}
