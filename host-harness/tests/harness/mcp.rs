//! `cf-harness mcp` as an MCP client runs it: a stdio session through the official Rust SDK's
//! client, against the fake Cloudflare.

use crate::common::{ALL, audit_log_verify, cf_harness_on};
use cf_fake::{ACCOUNT_ID, FakeCloudflare, Permission, Scenario, TOKEN};
use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::{RoleClient, RunningService};
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
use serde_json::{Value, json};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::process::ChildStderr;

/// A client session with `cf-harness mcp` (the error scenarios use it too).
pub struct Session {
    pub client: RunningService<RoleClient, ()>,
    stderr: ChildStderr,
}

impl Session {
    async fn start(fake: &FakeCloudflare, services: &str, extra: &[&str]) -> Session {
        Session::spawn(cf_harness_on(fake, services), extra).await
    }

    /// `command mcp`, with `extra` flags before `mcp`.
    pub async fn spawn(command: std::process::Command, extra: &[&str]) -> Session {
        let command = tokio::process::Command::from(command).configure(|c| {
            c.args(extra).arg("mcp");
        });
        let (transport, stderr) = TokioChildProcess::builder(command)
            .stderr(Stdio::piped())
            .spawn()
            .expect("cf-harness starts");
        let client = ().serve(transport).await.expect("initialize");
        Session {
            client,
            stderr: stderr.expect("stderr is piped"),
        }
    }

    pub async fn call(&self, name: &str, arguments: Value) -> CallToolResult {
        let Value::Object(arguments) = arguments else {
            panic!("arguments are an object")
        };
        self.client
            .call_tool(CallToolRequestParams::new(name.to_string()).with_arguments(arguments))
            .await
            .unwrap_or_else(|e| panic!("{name}: a tool error, never a protocol error: {e}"))
    }

    /// Ends the session and returns what the server logged.
    pub async fn finish(mut self) -> String {
        self.client.cancel().await.expect("session ends");
        let mut log = String::new();
        let _ = tokio::time::timeout(
            Duration::from_secs(10),
            self.stderr.read_to_string(&mut log),
        )
        .await;
        log
    }
}

/// The structured content of a successful call (its text content says the same).
fn ok(result: &CallToolResult) -> &Value {
    assert_ne!(result.is_error, Some(true), "{result:?}");
    let structured = result
        .structured_content
        .as_ref()
        .expect("structured content");
    let text = result.content[0].as_text().expect("text content");
    assert_eq!(
        &serde_json::from_str::<Value>(&text.text).expect("JSON text"),
        structured
    );
    structured
}

/// The error of a failed call.
pub fn tool_error(result: &CallToolResult) -> &Value {
    assert_eq!(result.is_error, Some(true), "{result:?}");
    &result
        .structured_content
        .as_ref()
        .expect("structured content")["error"]
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_lists_the_catalog_and_calls_each_kind_of_tool() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let session = Session::start(&fake, ALL, &[]).await;

    let info = session.client.peer_info().expect("initialized");
    let server = info.server_info.as_ref().expect("server info");
    assert_eq!(server.name, "cf-harness");
    assert!(info.capabilities.tools.is_some());

    let tools = session.client.list_all_tools().await.expect("tools/list");
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    assert_eq!(
        names,
        [
            "verify",
            "docs_search",
            "docs_read",
            "docs_products",
            "dns_list_zones",
            "dns_get_zone",
            "dns_records",
            "dns_report",
            "dns_timeseries",
            "graphql_query",
            "graphql_dataset_limits",
            "graphql_schema_search",
            "graphql_describe_type",
            "graphql_http_traffic",
            "graphql_top_http",
            "graphql_firewall_events",
        ]
    );
    for tool in &tools {
        let annotations = tool.annotations.as_ref().expect("annotations");
        assert_eq!(annotations.read_only_hint, Some(true), "{}", tool.name);
        assert_eq!(annotations.destructive_hint, Some(false), "{}", tool.name);
        assert_eq!(annotations.idempotent_hint, Some(true), "{}", tool.name);
        assert_eq!(annotations.open_world_hint, Some(true), "{}", tool.name);
        assert!(
            tool.title.as_ref().is_some_and(|t| !t.is_empty()),
            "{}",
            tool.name
        );
        // The result's schema, or the error envelope an isError result carries.
        let output = tool.output_schema.as_ref().expect("an output schema");
        assert_eq!(output["type"], "object", "{}", tool.name);
        let branches = output["anyOf"].as_array().expect("anyOf");
        assert_eq!(branches.len(), 2, "{}", tool.name);
        assert_eq!(branches[1]["required"], json!(["error"]), "{}", tool.name);
        let service = tool.meta.as_ref().and_then(|m| m.get("cf-harness/service"));
        let want = ["docs_", "dns_", "graphql_"]
            .iter()
            .zip(["documentation", "dns-analytics", "graphql-analytics"])
            .find(|(prefix, _)| tool.name.starts_with(*prefix))
            .map(|(_, service)| json!(service));
        assert_eq!(service, want.as_ref(), "{}", tool.name);
        assert_eq!(
            tool.input_schema.get("additionalProperties"),
            Some(&json!(false))
        );
        assert!(tool.description.as_ref().is_some_and(|d| d.len() > 40));
    }

    let report = session.call("verify", json!({})).await;
    assert_eq!(ok(&report)["ready"], true);

    let docs = session
        .call(
            "docs_search",
            json!({ "query": "create an API token", "limit": 1 }),
        )
        .await;
    assert_eq!(
        ok(&docs)["hits"][0]["url"],
        "https://developers.cloudflare.com/fundamentals/api/get-started/create-token/"
    );

    let zones = session
        .call("dns_list_zones", json!({ "per_page": 5 }))
        .await;
    assert!(ok(&zones)["page"]["total_count"].as_u64() > Some(0));

    let top = session
        .call(
            "graphql_top_http",
            json!({ "zone": "github.com", "by": "country", "since": "6h", "limit": 3 }),
        )
        .await;
    assert_eq!(ok(&top)["rows"][0]["value"], "US");

    let bad = session
        .call("docs_search", json!({ "query": "x", "limit": 0 }))
        .await;
    let error = tool_error(&bad);
    assert_eq!(error["kind"], "invalid-input");
    assert_eq!(error["field"], "limit");

    let unknown = session.call("delete_zone", json!({})).await;
    assert_eq!(tool_error(&unknown)["kind"], "invalid-input");

    let log = session.finish().await;
    assert!(log.contains("tool=verify"), "one log line per call: {log}");
    assert!(
        log.lines()
            .filter(|l| l.contains("tool="))
            .all(|l| l.contains("request=")),
        "each call's line names its JSON-RPC id: {log}"
    );
    assert!(!log.contains(TOKEN), "the token is never logged");
    let sent_token = fake
        .requests()
        .iter()
        .filter(|r| r.header("authorization").is_some())
        .all(|r| r.host == "api.cloudflare.com");
    assert!(sent_token, "only the API host receives the token");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cloudflare_failure_is_a_tool_error_and_the_session_goes_on() {
    let fake = FakeCloudflare::spawn(Scenario::Missing(Permission::ZoneRead));
    let session = Session::start(&fake, ALL, &[]).await;
    let refused = session.call("dns_list_zones", json!({})).await;
    let error = tool_error(&refused);
    assert_eq!(error["kind"], "forbidden");
    assert_eq!(error["status"], 403);
    let hint = error["hint"].as_str().expect("a hint");
    assert!(
        hint.contains("Zone") && hint.contains("https://developers.cloudflare.com/"),
        "{hint}"
    );

    fake.set_scenario(Scenario::AllPermissions);
    let zones = session.call("dns_list_zones", json!({})).await;
    assert!(
        ok(&zones)["zones"]
            .as_array()
            .is_some_and(|z| !z.is_empty())
    );
    session.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_call_that_times_out_gets_a_fresh_instance_for_the_next() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let audit_path =
        std::env::temp_dir().join(format!("cf-audit-mcp-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&audit_path);
    let audit_flag = audit_path.to_str().expect("UTF-8 temp path");
    let session = Session::start(&fake, ALL, &["--timeout", "1", "--audit-log", audit_flag]).await;
    // Warm the instance's caches first, so a fresh instance is visible by what it refetches.
    ok(&session.call("dns_list_zones", json!({})).await);

    fake.set_delay(Duration::from_secs(3));
    let slow = session
        .call("dns_list_zones", json!({ "name": "github.com" }))
        .await;
    let error = tool_error(&slow);
    assert_eq!(error["kind"], "timeout", "{error}");

    fake.set_delay(Duration::ZERO);
    let again = session.call("dns_list_zones", json!({})).await;
    assert!(
        ok(&again)["zones"]
            .as_array()
            .is_some_and(|z| !z.is_empty())
    );
    let log = session.finish().await;
    assert!(log.contains("fresh instance"), "{log}");

    // The session's instances, the fresh one included, write one audit log.
    let audit = std::fs::read_to_string(&audit_path).expect("the audit log is written");
    let calls: Vec<(String, String)> = audit
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("JSON line"))
        .filter(|l| l["type"] == "call" && l["function"] == "call-tool")
        .map(|l| {
            (
                l["arguments"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                l["outcome"].as_str().unwrap_or_default().to_string(),
            )
        })
        .filter(|(name, _)| name == "dns_list_zones")
        .collect();
    let outcomes: Vec<&str> = calls.iter().map(|(_, o)| o.as_str()).collect();
    assert_eq!(outcomes, ["ok", "timeout", "ok"], "{audit}");
    // One chain through the lines of both instances.
    let (code, report) = audit_log_verify(std::slice::from_ref(&audit_path));
    assert_eq!((code, &report["ok"]), (Some(0), &json!(true)), "{report:#}");
    let _ = std::fs::remove_file(&audit_path);
}

#[tokio::test(flavor = "multi_thread")]
async fn tools_of_disabled_services_are_not_listed_and_refused() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let session = Session::start(&fake, "Documentation", &[]).await;
    let tools = session.client.list_all_tools().await.expect("tools/list");
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    assert_eq!(
        names,
        ["verify", "docs_search", "docs_read", "docs_products"]
    );
    let refused = session
        .call("dns_report", json!({ "zone": "github.com" }))
        .await;
    let error = tool_error(&refused);
    assert_eq!(error["kind"], "service-disabled");
    assert_eq!(error["service"], "dns-analytics");
    let message = error["message"].as_str().expect("a message");
    assert!(
        message.contains("DNS Analytics"),
        "names itself in words: {message}"
    );
    let hint = error["hint"].as_str().expect("a hint");
    assert!(
        hint.contains("ENABLED_SERVICES") && hint.contains("X-Cloudflare-Enabled-Services"),
        "says how to enable it: {hint}"
    );
    session.finish().await;
}

/// A permission failure names the permission as the dashboard's token form does, links the
/// permissions page, and its hint links the dashboard's API Tokens page.
#[tokio::test(flavor = "multi_thread")]
async fn a_permission_failure_names_the_dashboard_permission_and_links_the_page() {
    let fake = FakeCloudflare::spawn(Scenario::Missing(Permission::ZoneAnalyticsRead));
    let session = Session::start(&fake, ALL, &[]).await;
    let refused = session
        .call("dns_report", json!({ "zone": "github.com" }))
        .await;
    let error = tool_error(&refused);
    assert_eq!(error["kind"], "forbidden", "{error}");
    assert_eq!(error["permission"], "Zone → Analytics → Read", "{error}");
    assert_eq!(
        error["docs_url"],
        "https://developers.cloudflare.com/fundamentals/api/reference/permissions/"
    );
    let hint = error["hint"].as_str().expect("a hint");
    assert!(
        hint.contains("Zone → Analytics → Read")
            && hint.contains("https://dash.cloudflare.com/profile/api-tokens"),
        "{hint}"
    );
    session.finish().await;
}

/// What the host configured is a ceiling: an MCP client's `connect` may narrow the services,
/// never add one or switch the account, and a refusal names the host's setting.
#[tokio::test(flavor = "multi_thread")]
async fn a_clients_connect_narrows_the_hosts_connection_never_widens_it() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let session = Session::start(&fake, "Documentation", &[]).await;
    let wider = session
        .call(
            "connect",
            json!({ "account_id": ACCOUNT_ID, "enabled_services": ["Documentation", "DNS Analytics"] }),
        )
        .await;
    let error = tool_error(&wider);
    assert_eq!(error["kind"], "invalid-input");
    assert_eq!(error["field"], "enabled_services");
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("ENABLED_SERVICES")),
        "{error}"
    );
    let other_account = session
        .call(
            "connect",
            json!({ "account_id": "ab".repeat(16), "enabled_services": ["Documentation"] }),
        )
        .await;
    assert_eq!(tool_error(&other_account)["field"], "account_id");
    // Refused, so nothing changed: DNS Analytics is still off.
    let refused = session.call("dns_list_zones", json!({})).await;
    assert_eq!(tool_error(&refused)["kind"], "service-disabled");
    session.finish().await;

    let session = Session::start(&fake, ALL, &[]).await;
    let narrower = session
        .call(
            "connect",
            json!({ "account_id": ACCOUNT_ID, "enabled_services": ["Documentation"] }),
        )
        .await;
    let services = ok(&narrower)["services"].as_array().expect("services");
    assert_eq!(services.len(), 1);
    assert_eq!(services[0]["service"], "documentation");
    let refused = session.call("dns_list_zones", json!({})).await;
    assert_eq!(tool_error(&refused)["kind"], "service-disabled");
    session.finish().await;
}

/// `cf-harness mcp` spoken to line by line, as a client that sends what it likes would: the
/// tests of what a bad line gets.
struct Raw {
    _child: tokio::process::Child,
    stdin: tokio::process::ChildStdin,
    stdout: tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
    stderr: ChildStderr,
}

impl Raw {
    /// Started and initialized, `extra` flags after `mcp`.
    async fn start(fake: &FakeCloudflare, extra: &[&str]) -> Raw {
        Raw::start_with(cf_harness_on(fake, ALL), extra).await
    }

    async fn start_with(command: std::process::Command, extra: &[&str]) -> Raw {
        use tokio::io::AsyncBufReadExt as _;
        let mut child = tokio::process::Command::from(command)
            .arg("mcp")
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("cf-harness starts");
        let mut raw = Raw {
            stdin: child.stdin.take().expect("stdin"),
            stdout: tokio::io::BufReader::new(child.stdout.take().expect("stdout")).lines(),
            stderr: child.stderr.take().expect("stderr"),
            _child: child,
        };
        raw.send_json(json!({
            "jsonrpc": "2.0", "id": 0, "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": { "name": "raw", "version": "0" }
            }
        }))
        .await;
        assert!(raw.reply().await["result"]["serverInfo"].is_object());
        raw.send_json(json!({ "jsonrpc": "2.0", "method": "notifications/initialized" }))
            .await;
        raw
    }

    async fn send(&mut self, line: &[u8]) {
        use tokio::io::AsyncWriteExt as _;
        self.stdin.write_all(line).await.expect("written");
        self.stdin.write_all(b"\n").await.expect("written");
        self.stdin.flush().await.expect("flushed");
    }

    async fn send_json(&mut self, message: Value) {
        self.send(message.to_string().as_bytes()).await;
    }

    /// The next line the server writes. The bound only keeps a broken server from hanging the
    /// suite: a server that answers never gets near it.
    async fn reply(&mut self) -> Value {
        let line = tokio::time::timeout(Duration::from_secs(120), self.stdout.next_line())
            .await
            .expect("the server answers")
            .expect("stdout is readable")
            .expect("the server is still running");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
    }

    /// The error of the next reply, checked to be `code`, with `id`.
    async fn error(&mut self, code: i64, id: Value) -> Value {
        let reply = self.reply().await;
        assert_eq!(reply["error"]["code"], code, "{reply}");
        assert_eq!(reply.get("id"), Some(&id), "{reply}");
        reply["error"].clone()
    }

    /// The session still answers a good request.
    async fn answers(&mut self) {
        self.send_json(json!({ "jsonrpc": "2.0", "id": "after", "method": "tools/list" }))
            .await;
        let reply = self.reply().await;
        assert_eq!(reply["id"], "after", "{reply}");
        assert!(
            reply["result"]["tools"]
                .as_array()
                .is_some_and(|t| !t.is_empty()),
            "{reply}"
        );
    }

    /// Closes stdin and returns what the server logged.
    async fn finish(self) -> String {
        let Raw {
            stdin, mut stderr, ..
        } = self;
        drop(stdin);
        let mut log = String::new();
        let _ =
            tokio::time::timeout(Duration::from_secs(30), stderr.read_to_string(&mut log)).await;
        log
    }
}

const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;
const INVALID_PARAMS: i64 = -32602;

#[tokio::test(flavor = "multi_thread")]
async fn a_line_that_is_not_json_gets_a_parse_error_and_is_logged_briefly() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut raw = Raw::start(&fake, &[]).await;
    let tail = "never-logged-".repeat(100);
    raw.send(format!("{{not json {tail}").as_bytes()).await;
    raw.error(PARSE_ERROR, Value::Null).await;
    raw.answers().await;
    let log = raw.finish().await;
    assert!(log.contains("code=-32700"), "the refusal is logged: {log}");
    assert!(
        !log.contains(&tail),
        "only a short excerpt is logged: {log}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_line_that_is_not_utf8_gets_a_parse_error() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut raw = Raw::start(&fake, &[]).await;
    raw.send(b"{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/list\xff\"}")
        .await;
    raw.error(PARSE_ERROR, Value::Null).await;
    raw.answers().await;
    raw.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_raw_nul_gets_a_parse_error() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut raw = Raw::start(&fake, &[]).await;
    raw.send(b"{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/\0list\"}")
        .await;
    raw.error(PARSE_ERROR, Value::Null).await;
    raw.answers().await;
    raw.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_id_out_of_any_numbers_range_gets_a_parse_error() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut raw = Raw::start(&fake, &[]).await;
    raw.send(br#"{"jsonrpc":"2.0","id":1e400,"method":"tools/list"}"#)
        .await;
    raw.error(PARSE_ERROR, Value::Null).await;
    raw.answers().await;
    raw.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn arguments_nested_100000_deep_get_a_parse_error() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut raw = Raw::start(&fake, &[]).await;
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let line = format!(
        r#"{{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{{"name":"docs_search","arguments":{{"query":{deep}}}}}}}"#
    );
    raw.send(line.as_bytes()).await;
    raw.error(PARSE_ERROR, Value::Null).await;
    raw.answers().await;
    raw.finish().await;
}

/// A 16 MiB line (rmcp's own limit, past which it answered nothing and logged nothing) is
/// refused by the 4 MiB default, naming the limit, and skipped without being kept.
#[tokio::test(flavor = "multi_thread")]
async fn a_line_over_the_message_limit_is_answered_naming_the_limit_and_skipped() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut raw = Raw::start(&fake, &[]).await;
    let huge = format!(
        r#"{{"jsonrpc":"2.0","id":9,"method":"tools/list","params":{{"cursor":"{}"}}}}"#,
        "x".repeat(16 * 1024 * 1024)
    );
    raw.send(huge.as_bytes()).await;
    let error = raw.error(INVALID_REQUEST, Value::Null).await;
    assert_eq!(error["data"]["max_bytes"], 4 * 1024 * 1024, "{error}");
    raw.answers().await;
    let log = raw.finish().await;
    assert!(log.contains("code=-32600"), "the refusal is logged: {log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn max_message_mib_sets_the_limit() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut raw = Raw::start(&fake, &["--max-message-mib", "1"]).await;
    let list = |size: usize| {
        json!({
            "jsonrpc": "2.0", "id": size, "method": "tools/list",
            "params": { "cursor": "x".repeat(size) }
        })
    };
    raw.send_json(list(1024 * 1024)).await;
    let error = raw.error(INVALID_REQUEST, Value::Null).await;
    assert_eq!(error["data"]["max_bytes"], 1024 * 1024, "{error}");
    // Under the limit, the same request is served.
    raw.send_json(list(512 * 1024)).await;
    let reply = raw.reply().await;
    assert_eq!(reply["id"], 512 * 1024);
    assert!(reply["result"]["tools"].is_array(), "{reply}");
    raw.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn params_that_are_not_an_object_get_invalid_params_with_the_id() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut raw = Raw::start(&fake, &[]).await;
    raw.send_json(json!({ "jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": "x" }))
        .await;
    raw.error(INVALID_PARAMS, json!(7)).await;
    raw.answers().await;
    raw.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tool_call_with_a_wrong_argument_type_gets_invalid_params_with_the_id() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut raw = Raw::start(&fake, &[]).await;
    raw.send_json(json!({
        "jsonrpc": "2.0", "id": 11, "method": "tools/call",
        "params": { "name": "docs_search", "arguments": 5 }
    }))
    .await;
    raw.error(INVALID_PARAMS, json!(11)).await;
    raw.send_json(json!({
        "jsonrpc": "2.0", "id": "twelve", "method": "tools/call",
        "params": { "name": 3, "arguments": {} }
    }))
    .await;
    raw.error(INVALID_PARAMS, json!("twelve")).await;
    raw.answers().await;
    raw.finish().await;
}

/// A cancelled call is stopped, not left to run: the next call is answered while the fake
/// still holds the cancelled call's request (an hour's delay, under an hour's --timeout), and
/// the cancelled call gets no reply.
#[tokio::test(flavor = "multi_thread")]
async fn a_cancelled_call_is_stopped_and_the_next_call_does_not_wait_for_it() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut command = cf_harness_on(&fake, ALL);
    command.args(["--timeout", "3600"]);
    let mut raw = Raw::start_with(command, &[]).await;

    fake.set_delay(Duration::from_secs(3600));
    raw.send_json(json!({
        "jsonrpc": "2.0", "id": 21, "method": "tools/call",
        "params": { "name": "dns_list_zones", "arguments": {} }
    }))
    .await;
    // Wait until the fake holds the request: the call is running in the plugin.
    for _ in 0..6000 {
        if fake.requests().iter().any(|r| r.path == "/client/v4/zones") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        fake.requests().iter().any(|r| r.path == "/client/v4/zones"),
        "the call reached the fake"
    );
    fake.set_delay(Duration::ZERO);
    raw.send_json(json!({
        "jsonrpc": "2.0", "method": "notifications/cancelled",
        "params": { "requestId": 21, "reason": "the user gave up" }
    }))
    .await;
    raw.send_json(json!({
        "jsonrpc": "2.0", "id": 22, "method": "tools/call",
        "params": { "name": "dns_list_zones", "arguments": {} }
    }))
    .await;
    let reply = raw.reply().await;
    assert_eq!(reply["id"], 22, "the cancelled call gets no reply: {reply}");
    assert_ne!(reply["result"]["isError"], true, "{reply}");
    assert!(
        reply["result"]["structuredContent"]["zones"].is_array(),
        "{reply}"
    );
    raw.finish().await;
}

/// Counts the server's `notifications/tools/list_changed`.
#[derive(Clone, Default)]
struct ListWatcher(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl rmcp::ClientHandler for ListWatcher {
    async fn on_tool_list_changed(&self, _context: rmcp::service::NotificationContext<RoleClient>) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

#[tokio::test]
async fn connect_tells_the_client_the_tool_list_changed() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut command = cf_harness_on(&fake, ALL);
    command
        .env_remove("CLOUDFLARE_ACCOUNT_ID")
        .env_remove("ENABLED_SERVICES");
    let command = tokio::process::Command::from(command).configure(|c| {
        c.arg("mcp");
    });
    let (transport, _) = TokioChildProcess::builder(command)
        .stderr(Stdio::null())
        .spawn()
        .expect("cf-harness starts");
    let watcher = ListWatcher::default();
    let client = watcher.clone().serve(transport).await.expect("initialize");
    let capabilities = client
        .peer_info()
        .and_then(|i| i.capabilities.tools.clone());
    assert_eq!(
        capabilities.and_then(|t| t.list_changed),
        Some(true),
        "the server says it sends list_changed"
    );
    let names = |tools: Vec<rmcp::model::Tool>| -> Vec<String> {
        tools.into_iter().map(|t| t.name.to_string()).collect()
    };
    let before = names(client.list_all_tools().await.expect("tools"));
    assert_eq!(before, ["connect", "verify"]);
    assert_eq!(watcher.0.load(std::sync::atomic::Ordering::SeqCst), 0);
    let Value::Object(arguments) =
        json!({ "account_id": ACCOUNT_ID, "enabled_services": ["Documentation"] })
    else {
        unreachable!()
    };
    let connected = client
        .call_tool(CallToolRequestParams::new("connect").with_arguments(arguments))
        .await
        .expect("connect answers");
    assert_ne!(connected.is_error, Some(true), "{connected:?}");
    let mut told = false;
    for _ in 0..100 {
        if watcher.0.load(std::sync::atomic::Ordering::SeqCst) == 1 {
            told = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(told, "no tools/list_changed after connect");
    let after = names(client.list_all_tools().await.expect("tools"));
    assert!(after.iter().any(|n| n == "docs_search"), "{after:?}");
    client.cancel().await.expect("session ends");
}

#[tokio::test]
async fn docs_pages_are_resources_and_troubleshooting_is_a_prompt() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let session = Session::start(&fake, ALL, &[]).await;
    let client = &session.client;
    let templates = client
        .list_all_resource_templates()
        .await
        .expect("templates");
    assert_eq!(templates.len(), 1);
    assert_eq!(
        templates[0].uri_template,
        "https://developers.cloudflare.com/{+path}"
    );
    let uri = "https://developers.cloudflare.com/dns/";
    let read = client
        .read_resource(rmcp::model::ReadResourceRequestParams::new(uri))
        .await
        .expect("the page as a resource");
    let Some(rmcp::model::ResourceContents::TextResourceContents {
        uri: read_uri,
        mime_type,
        text,
        ..
    }) = read.contents.first()
    else {
        panic!("text contents: {read:?}");
    };
    assert_eq!(read_uri, uri);
    assert_eq!(mime_type.as_deref(), Some("text/markdown"));
    assert!(text.contains('#'), "Markdown: {text}");
    assert!(
        fake.requests().iter().any(|r| r.path.starts_with("/dns/")),
        "the page came from the docs site"
    );
    let elsewhere = client
        .read_resource(rmcp::model::ReadResourceRequestParams::new(
            "https://example.com/secret",
        ))
        .await;
    assert!(elsewhere.is_err(), "{elsewhere:?}");
    let prompts = client.list_all_prompts().await.expect("prompts");
    assert_eq!(prompts.len(), 1);
    assert_eq!(prompts[0].name, "troubleshoot-connection");
    let prompt = client
        .get_prompt(rmcp::model::GetPromptRequestParams::new(
            "troubleshoot-connection",
        ))
        .await
        .expect("the prompt");
    let words = serde_json::to_string(&prompt.messages).expect("JSON");
    assert!(
        words.contains("verify") && words.contains("Account ID"),
        "{words}"
    );
    session.finish().await;
}
