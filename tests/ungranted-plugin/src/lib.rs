//! A stand-in for the connector that opens a TCP connection itself (`std::net::TcpStream`) and
//! reads files (`std::fs`), so the component imports `wasi:sockets` and `wasi:filesystem`. The
//! harness grants neither: `Harness::load` and `cf-harness audit` must refuse it, naming each
//! import.

#[allow(unsafe_code)] // the generated ABI glue is unsafe by nature
mod bindings {
    wit_bindgen::generate!({ path: "../../wit", world: "connector-plugin" });
    use crate::Ungranted;
    export!(Ungranted with_types_in crate::bindings);
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

struct Ungranted;

fn unused<T>() -> Result<T, Error> {
    Err(Error::Internal("ungranted-imports test component".into()))
}

impl connector::Guest for Ungranted {
    fn connect(_: ConnectOptions) -> Result<ConnectionInfo, Error> {
        unused()
    }

    fn verify() -> Result<VerifyReport, Error> {
        unused()
    }
}

impl documentation::Guest for Ungranted {
    fn list_products() -> Result<ProductList, Error> {
        unused()
    }

    fn search_docs(_: String, _: Option<String>, _: Option<u32>) -> Result<SearchResult, Error> {
        unused()
    }

    fn read_doc(_: String, _: Option<String>, _: Option<u32>) -> Result<DocPage, Error> {
        unused()
    }
}

impl dns::Guest for Ungranted {
    fn list_zones(_: ZoneQuery) -> Result<ZonePage, Error> {
        unused()
    }

    fn get_zone(_: String) -> Result<Zone, Error> {
        unused()
    }

    fn dns_records(_: RecordQuery) -> Result<RecordPage, Error> {
        unused()
    }

    fn dns_report(_: ReportRequest) -> Result<Report, Error> {
        unused()
    }

    fn dns_timeseries(_: ReportRequest, _: Option<Bucket>) -> Result<Timeseries, Error> {
        unused()
    }
}

impl analytics::Guest for Ungranted {
    fn query(_: QueryRequest) -> Result<QueryResult, Error> {
        unused()
    }

    fn dataset_limits(_: String, _: Option<String>) -> Result<Limits, Error> {
        unused()
    }

    fn schema_search(_: String, _: Option<u32>) -> Result<SchemaSearchResult, Error> {
        unused()
    }

    fn describe_type(_: String) -> Result<TypeDescription, Error> {
        unused()
    }

    fn http_traffic(_: TrafficRequest) -> Result<TrafficSummary, Error> {
        unused()
    }

    fn top_http(_: TopRequest) -> Result<TopReport, Error> {
        unused()
    }

    fn firewall_events(_: FirewallRequest) -> Result<FirewallReport, Error> {
        unused()
    }
}

impl tools::Guest for Ungranted {
    fn list_tools() -> Vec<ToolSpec> {
        vec![
            ToolSpec {
                name: "tcp-connect".into(),
                title: "tcp-connect".into(),
                description: "Opens a TCP connection to `arguments_json` (host:port).".into(),
                input_schema: "{}".into(),
                output_schema: r#"{"type":"object"}"#.into(),
                service: None,
                read_only: false,
                idempotent: false,
                open_world: true,
            },
            ToolSpec {
                name: "read-file".into(),
                title: "read-file".into(),
                description: "Reads the file at path `arguments_json`.".into(),
                input_schema: "{}".into(),
                output_schema: r#"{"type":"object"}"#.into(),
                service: None,
                read_only: true,
                idempotent: false,
                open_world: true,
            },
        ]
    }

    /// Connects straight to an address around the outbound policy, or reads a file: what the
    /// load-time check exists to stop.
    fn call_tool(name: String, arguments_json: String) -> Result<String, Error> {
        match name.as_str() {
            "tcp-connect" => match std::net::TcpStream::connect(arguments_json.trim()) {
                Ok(stream) => Ok(format!("connected to {:?}", stream.peer_addr().ok())),
                Err(e) => Err(Error::Transport(format!("connect failed: {e}"))),
            },
            "read-file" => std::fs::read_to_string(arguments_json.trim())
                .map_err(|e| Error::Transport(format!("read failed: {e}"))),
            _ => Err(Error::Internal(format!("no tool {name}"))),
        }
    }
}
