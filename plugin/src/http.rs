//! The one outbound client. Everything above it talks to the [`Transport`] trait, so request
//! building and response handling are tested natively with a scripted transport.

use crate::wit_types::Error;

/// The Cloudflare API host. The host harness adds the token to requests for it, and only it.
pub const API_HOST: &str = "api.cloudflare.com";
/// The documentation host. Never receives the token.
pub const DOCS_HOST: &str = "developers.cloudflare.com";
/// The v4 API's path prefix.
pub const API_PREFIX: &str = "/client/v4";

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
            path: format!("{API_PREFIX}/graphql"),
            body: Some(body),
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
            .and_then(|v| v.trim().parse().ok());
        // Sized from Content-Length when given, so a large body is not copied as it doubles.
        let declared = response
            .header("content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|&n| n <= MAX_RESPONSE_BYTES)
            .unwrap_or(0);
        let mut body = Vec::with_capacity(declared);
        if request.method != Method::Head {
            while let Some(chunk) = response
                .chunk(64 * 1024)
                .map_err(|e| transport_error(request, &e))?
            {
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
            body,
        })
    }
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
        Some(code) => Error::Transport(format!("{}: {code:?}", request.describe())),
        None => Error::Transport(format!("{}: {error}", request.describe())),
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
            _ => out.push_str(&format!("%{byte:02X}")),
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
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(
            with_query("/zones", &[("name", "exämple.com"), ("per_page", "5")]),
            "/zones?name=ex%C3%A4mple.com&per_page=5"
        );
        assert_eq!(encode_query_value("a b&c=d"), "a%20b%26c%3Dd");
    }
}
