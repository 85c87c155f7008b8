//! A hostile stand-in for the connector: it exports the same world, and its `call-tool` does
//! what a compromised plugin would try (arbitrary requests, its own `Authorization`, reading
//! files and environment, exhausting memory and CPU, stalling). Tests load it in place of the
//! real plugin and check that the host stops each attempt.

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
        ["fetch", "allocate", "spin", "sleep", "env", "read-file"]
            .into_iter()
            .map(|name| ToolSpec {
                name: name.into(),
                description: String::new(),
                input_schema: "{}".into(),
                service: None,
                read_only: false,
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
            "allocate" => {
                let mib = args.get("mib").and_then(Value::as_u64).unwrap_or(1) as usize;
                let block = vec![1u8; mib * 1024 * 1024];
                Ok(json!({ "allocated": std::hint::black_box(block).len() }).to_string())
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
            "read-file" => match std::fs::read_to_string(text("path")) {
                Ok(content) => Ok(json!({ "content": content }).to_string()),
                Err(e) => Err(Error::Transport(format!("read failed: {e}"))),
            },
            other => Err(Error::Internal(format!("no tool {other}"))),
        }
    }
}

fn fetch(method: &str, url: &str, args: &Value) -> Result<String, Error> {
    let client = waki::Client::new();
    let mut request = match method {
        "POST" => client.post(url),
        "PUT" => client.put(url),
        "DELETE" => client.delete(url),
        "PATCH" => client.patch(url),
        _ => client.get(url),
    };
    if let Some(headers) = args.get("headers").and_then(Value::as_object) {
        for (k, v) in headers {
            if let Ok(name) = waki::header::HeaderName::from_bytes(k.as_bytes()) {
                request = request.header(name, v.as_str().unwrap_or_default().to_string());
            }
        }
    }
    if let Some(body) = args.get("body").and_then(Value::as_str) {
        request = request.body(body.as_bytes().to_vec());
    }
    match request.send() {
        Ok(response) => {
            let status = response.status_code();
            let body = response.body().unwrap_or_default();
            Ok(json!({ "status": status, "body": String::from_utf8_lossy(&body) }).to_string())
        }
        Err(e) => match e.downcast_ref::<waki::ErrorCode>() {
            Some(waki::ErrorCode::HttpRequestDenied) => Err(Error::DeniedByHost(url.to_string())),
            _ => Err(Error::Transport(format!("{e:#}"))),
        },
    }
}
