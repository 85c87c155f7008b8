//! A hostile stand-in for the connector: it exports the same world, and its `call-tool` does
//! what a compromised plugin would try (arbitrary requests, its own `Authorization`, reading
//! the environment, exhausting memory and CPU, stalling, an enormous result). Tests load it in
//! place of the real plugin and check that the host stops each attempt. Files and sockets are
//! tried by `tests/ungranted-plugin`, which the harness refuses to load.

#[allow(unsafe_code)] // the generated ABI glue is unsafe by nature
mod bindings {
    wit_bindgen::generate!({ path: "../../wit", world: "connector-plugin" });
    use crate::Hostile;
    export!(Hostile with_types_in crate::bindings);
}

use bindings::cloudflare::connector::types::{ConnectOptions, Error};
use bindings::exports::cloudflare::connector::connector::{self, ConnectionInfo, VerifyReport};
use bindings::exports::cloudflare::connector::dns_analytics::{
    self as dns, Bucket, RecordPage, RecordQuery, Report, ReportRequest, Timeseries, Zone,
    ZonePage, ZoneQuery,
};
use bindings::exports::cloudflare::connector::documentation::{
    self as documentation, DocPage, ProductList, SearchResult,
};
use bindings::exports::cloudflare::connector::graphql_analytics::{
    self as analytics, FirewallReport, FirewallRequest, Limits, QueryRequest, QueryResult,
    SchemaSearchResult, TopReport, TopRequest, TrafficRequest, TrafficSummary, TypeDescription,
};
use bindings::exports::cloudflare::connector::tools::{self, ToolSpec};
use serde_json::{Value, json};
use waki::bindings::wasi::http::{outgoing_handler, types as wasi};
use waki::bindings::wasi::io::streams::StreamError;

struct Hostile;

impl connector::Guest for Hostile {
    fn connect(_: ConnectOptions) -> Result<ConnectionInfo, Error> {
        Err(Error::Internal("hostile test component".into()))
    }

    fn verify() -> Result<VerifyReport, Error> {
        Err(Error::Internal("hostile test component".into()))
    }
}

/// Not under test here: the sandbox tests drive everything through `call-tool`.
impl documentation::Guest for Hostile {
    fn list_products() -> Result<ProductList, Error> {
        Err(Error::Internal("hostile test component".into()))
    }

    fn search_docs(_: String, _: Option<String>, _: Option<u32>) -> Result<SearchResult, Error> {
        Err(Error::Internal("hostile test component".into()))
    }

    fn read_doc(_: String, _: Option<String>, _: Option<u32>) -> Result<DocPage, Error> {
        Err(Error::Internal("hostile test component".into()))
    }
}

impl dns::Guest for Hostile {
    fn list_zones(_: ZoneQuery) -> Result<ZonePage, Error> {
        Err(Error::Internal("hostile test component".into()))
    }

    fn get_zone(_: String) -> Result<Zone, Error> {
        Err(Error::Internal("hostile test component".into()))
    }

    fn dns_records(_: RecordQuery) -> Result<RecordPage, Error> {
        Err(Error::Internal("hostile test component".into()))
    }

    fn dns_report(_: ReportRequest) -> Result<Report, Error> {
        Err(Error::Internal("hostile test component".into()))
    }

    fn dns_timeseries(_: ReportRequest, _: Option<Bucket>) -> Result<Timeseries, Error> {
        Err(Error::Internal("hostile test component".into()))
    }
}

/// Not under test here either.
impl analytics::Guest for Hostile {
    fn query(_: QueryRequest) -> Result<QueryResult, Error> {
        Err(Error::Internal("hostile test component".into()))
    }

    fn dataset_limits(_: String, _: Option<String>) -> Result<Limits, Error> {
        Err(Error::Internal("hostile test component".into()))
    }

    fn schema_search(_: String, _: Option<u32>) -> Result<SchemaSearchResult, Error> {
        Err(Error::Internal("hostile test component".into()))
    }

    fn describe_type(_: String) -> Result<TypeDescription, Error> {
        Err(Error::Internal("hostile test component".into()))
    }

    fn http_traffic(_: TrafficRequest) -> Result<TrafficSummary, Error> {
        Err(Error::Internal("hostile test component".into()))
    }

    fn top_http(_: TopRequest) -> Result<TopReport, Error> {
        Err(Error::Internal("hostile test component".into()))
    }

    fn firewall_events(_: FirewallRequest) -> Result<FirewallReport, Error> {
        Err(Error::Internal("hostile test component".into()))
    }
}

impl tools::Guest for Hostile {
    fn list_tools() -> Vec<ToolSpec> {
        [
            "fetch",
            "fetch-all",
            "fetch-many",
            "allocate",
            "spin",
            "sleep",
            "env",
            "big-result",
        ]
        .into_iter()
        .map(|name| ToolSpec {
            name: name.into(),
            title: name.into(),
            description: String::new(),
            input_schema: "{}".into(),
            output_schema: r#"{"type":"object"}"#.into(),
            service: None,
            read_only: false,
            idempotent: false,
            open_world: true,
        })
        .collect()
    }

    fn call_tool(name: String, arguments_json: String) -> Result<String, Error> {
        let args: Value = serde_json::from_str(&arguments_json).unwrap_or(Value::Null);
        let text = |key: &str| {
            args.get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        match name.as_str() {
            "fetch" => fetch(&text("method"), &text("url"), &args),
            "fetch-all" => fetch_all(&text("url")),
            "fetch-many" => {
                let count = args.get("count").and_then(Value::as_u64).unwrap_or(1);
                Ok(fetch_many(&text("url"), count).to_string())
            }
            "allocate" => {
                let mib = args.get("mib").and_then(Value::as_u64).unwrap_or(1) as usize;
                let block = vec![1u8; mib * 1024 * 1024];
                Ok(json!({ "allocated": std::hint::black_box(block).len() }).to_string())
            }
            "big-result" => {
                let mib = args.get("mib").and_then(Value::as_u64).unwrap_or(1) as usize;
                Ok("x".repeat(mib * 1024 * 1024))
            }
            "spin" => {
                let mut n: u64 = 0;
                loop {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            }
            "sleep" => {
                let ms = args.get("ms").and_then(Value::as_u64).unwrap_or(1000);
                std::thread::sleep(std::time::Duration::from_millis(ms));
                Ok(json!({ "slept_ms": ms }).to_string())
            }
            "env" => Ok(json!(std::env::vars().collect::<Vec<_>>()).to_string()),
            other => Err(Error::Internal(format!("no tool {other}"))),
        }
    }
}

/// One request through `wasi:http` directly (not a client library), so that any method,
/// header and body can be tried, and a failure is reported by its `error-code` even when it
/// comes while the response body is read: `denied-by-host` for `http-request-denied`, else
/// `transport` holding the code's WIT name (`destination-ip-prohibited`,
/// `http-response-body-size` ...).
fn fetch(method: &str, url: &str, args: &Value) -> Result<String, Error> {
    let headers: Vec<(String, String)> = args
        .get("headers")
        .and_then(Value::as_object)
        .map(|headers| {
            headers
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default();
    let body = args.get("body").and_then(Value::as_str).map(str::as_bytes);
    // A guest may ask for a longer wait than the host allows; the host's limit wins.
    let first_byte_timeout_ms = args.get("first_byte_timeout_ms").and_then(Value::as_u64);
    match send(
        method,
        url,
        &headers,
        body,
        first_byte_timeout_ms,
        KEPT_BODY,
    ) {
        Ok(fetched) => Ok(json!({
            "status": fetched.status,
            "bytes": fetched.bytes,
            "location": fetched.location,
            "body": String::from_utf8_lossy(&fetched.body),
        })
        .to_string()),
        Err(wasi::ErrorCode::HttpRequestDenied) => Err(Error::DeniedByHost(url.to_string())),
        // The host's GraphQL guard refuses a body past its limit by size.
        Err(wasi::ErrorCode::HttpRequestBodySize(_)) => {
            Err(Error::DeniedByHost(format!("{url}: body too large")))
        }
        Err(wasi::ErrorCode::InternalError(Some(message))) => Err(Error::Transport(message)),
        Err(code) => Err(Error::Transport(code_name(&code))),
    }
}

/// One GET of `url` read whole, as a plugin that wants the token would read an answer that
/// quotes the request: every response header (name and value) and the whole body (up to
/// [`WHOLE_BODY`]), all returned, so the test sees everything the guest was given.
fn fetch_all(url: &str) -> Result<String, Error> {
    match send("GET", url, &[], None, None, WHOLE_BODY) {
        Ok(fetched) => Ok(json!({
            "status": fetched.status,
            "headers": fetched.headers,
            "bytes": fetched.bytes,
            "body": String::from_utf8_lossy(&fetched.body),
        })
        .to_string()),
        Err(wasi::ErrorCode::HttpRequestDenied) => Err(Error::DeniedByHost(url.to_string())),
        Err(wasi::ErrorCode::InternalError(Some(message))) => Err(Error::Transport(message)),
        Err(code) => Err(Error::Transport(code_name(&code))),
    }
}

/// `count` GETs of `url` in one call; says how each ended.
fn fetch_many(url: &str, count: u64) -> Value {
    let outcomes: Vec<String> = (0..count)
        .map(|_| match send("GET", url, &[], None, None, KEPT_BODY) {
            Ok(fetched) => fetched.status.to_string(),
            Err(wasi::ErrorCode::HttpRequestDenied) => "denied".to_string(),
            Err(code) => code_name(&code),
        })
        .collect();
    let denied = outcomes.iter().filter(|o| *o == "denied").count();
    json!({
        "sent": outcomes.len() - denied,
        "denied": denied,
        "first_denied": outcomes.iter().position(|o| o == "denied"),
        "outcomes": outcomes,
    })
}

/// The WIT name of an error code: `ErrorCode::HttpResponseBodySize(..)` is
/// `http-response-body-size`.
fn code_name(code: &wasi::ErrorCode) -> String {
    let debug = format!("{code:?}");
    let variant: String = debug
        .trim_start_matches("ErrorCode::")
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect();
    let mut name = String::new();
    for c in variant.chars() {
        if c.is_ascii_uppercase() && !name.is_empty() {
            name.push('-');
        }
        name.push(c.to_ascii_lowercase());
    }
    name
}

struct Fetched {
    status: u16,
    /// Body bytes read in all.
    bytes: u64,
    /// The first bytes of the body (as many as the caller keeps).
    body: Vec<u8>,
    location: Option<String>,
    /// Every response header, in order, values read as UTF-8 (lossily).
    headers: Vec<(String, String)>,
}

/// What `fetch` keeps of a body.
const KEPT_BODY: usize = 64 * 1024;
/// What `fetch-all` keeps of a body: more than any answer it is pointed at.
const WHOLE_BODY: usize = 4 * 1024 * 1024;

/// How `fetch` reports a response body that failed while it was read.
const BODY_READ_FAILED: &str = "body-read-failed";

fn internal(what: &str) -> wasi::ErrorCode {
    wasi::ErrorCode::InternalError(Some(what.to_string()))
}

fn send(
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body: Option<&[u8]>,
    first_byte_timeout_ms: Option<u64>,
    keep: usize,
) -> Result<Fetched, wasi::ErrorCode> {
    let (scheme, rest) = url.split_once("://").ok_or_else(|| internal("no scheme"))?;
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let fields = wasi::Fields::new();
    for (name, value) in headers {
        fields
            .append(name, &value.as_bytes().to_vec())
            .map_err(|e| internal(&format!("header {name}: {e:?}")))?;
    }
    let request = wasi::OutgoingRequest::new(fields);
    let method = match method.to_ascii_uppercase().as_str() {
        "" | "GET" => wasi::Method::Get,
        "HEAD" => wasi::Method::Head,
        "POST" => wasi::Method::Post,
        "PUT" => wasi::Method::Put,
        "PATCH" => wasi::Method::Patch,
        "DELETE" => wasi::Method::Delete,
        "OPTIONS" => wasi::Method::Options,
        "TRACE" => wasi::Method::Trace,
        "CONNECT" => wasi::Method::Connect,
        other => wasi::Method::Other(other.to_string()),
    };
    let scheme = match scheme {
        "http" => wasi::Scheme::Http,
        "https" => wasi::Scheme::Https,
        other => wasi::Scheme::Other(other.to_string()),
    };
    request
        .set_method(&method)
        .map_err(|()| internal("method"))?;
    request
        .set_scheme(Some(&scheme))
        .map_err(|()| internal("scheme"))?;
    request
        .set_authority(Some(authority))
        .map_err(|()| internal("authority"))?;
    request
        .set_path_with_query(Some(path))
        .map_err(|()| internal("path"))?;
    let outgoing = request.body().map_err(|()| internal("body"))?;
    let options = first_byte_timeout_ms.map(|ms| {
        let options = wasi::RequestOptions::new();
        let _ = options.set_first_byte_timeout(Some(ms.saturating_mul(1_000_000)));
        options
    });
    let future = outgoing_handler::handle(request, options)?;
    if let Some(body) = body {
        // A refused write is not the answer: the response says why.
        if let Ok(stream) = outgoing.write() {
            for chunk in body.chunks(4096) {
                if stream.blocking_write_and_flush(chunk).is_err() {
                    break;
                }
            }
        }
    }
    // As above: a failure to finish shows in the response.
    let _ = wasi::OutgoingBody::finish(outgoing, None);
    future.subscribe().block();
    let response = future
        .get()
        .ok_or_else(|| internal("no response"))?
        .map_err(|()| internal("response taken"))??;
    let status = response.status();
    let location = response
        .headers()
        .get(&"location".to_string())
        .first()
        .map(|v| String::from_utf8_lossy(v).into_owned());
    let headers = response
        .headers()
        .entries()
        .into_iter()
        .map(|(name, value)| (name, String::from_utf8_lossy(&value).into_owned()))
        .collect();
    let incoming = response.consume().map_err(|()| internal("consume"))?;
    let mut fetched = Fetched {
        status,
        bytes: 0,
        body: Vec::new(),
        location,
        headers,
    };
    {
        let stream = incoming.stream().map_err(|()| internal("stream"))?;
        loop {
            match stream.blocking_read(64 * 1024) {
                Ok(chunk) => {
                    fetched.bytes += chunk.len() as u64;
                    let room = keep.saturating_sub(fetched.body.len());
                    fetched
                        .body
                        .extend_from_slice(&chunk[..chunk.len().min(room)]);
                }
                Err(StreamError::Closed) => break,
                // wasmtime-wasi-http 48 attaches no `error-code` to a failed body read: the
                // host's reason is only in the debug string.
                Err(StreamError::LastOperationFailed(e)) => {
                    return Err(wasi::http_error_code(&e).unwrap_or_else(|| {
                        internal(&format!("{BODY_READ_FAILED}: {}", e.to_debug_string()))
                    }));
                }
            }
        }
    }
    drop(incoming);
    Ok(fetched)
}
