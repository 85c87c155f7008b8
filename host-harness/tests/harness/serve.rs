//! `cf-harness serve` as an agent platform runs it: a process on a loopback port, driven over
//! Streamable HTTP by the official Rust SDK's client (and by plain HTTP for what the gate
//! refuses), each tenant with its own token, account and services, against the fake Cloudflare.

use crate::common::{audit_log_verify, cf_harness, plugin};
use cf_fake::{ACCOUNT_ID, FakeCloudflare, OTHER_ACCOUNT_ID, SECOND_TENANT_TOKEN, Scenario, TOKEN};
use host_harness::front::serve::{ACCOUNT_HEADER, SERVICES_HEADER};
use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::{RoleClient, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running `cf-harness serve`, killed when dropped.
struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT/mcp`.
    url: String,
}

impl Server {
    /// `serve` on a free loopback port, both Cloudflare hosts sent to the fake, once `/readyz`
    /// answers 200.
    async fn start(fake: &FakeCloudflare, extra: &[&str]) -> Server {
        Server::start_with(fake, extra, &[]).await
    }

    /// As [`Server::start`], with these environment variables.
    async fn start_with(fake: &FakeCloudflare, extra: &[&str], env: &[(&str, &str)]) -> Server {
        let mut command = cf_harness();
        command.envs(env.iter().copied());
        command
            .arg("--plugin")
            .arg(plugin())
            .arg("--upstream")
            .arg(format!("api.cloudflare.com={}", fake.url()))
            .arg("--upstream")
            .arg(format!("developers.cloudflare.com={}", fake.url()))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let server = Server::spawn(command).await;
        let ready = server.base() + "/readyz";
        for _ in 0..600 {
            if let Ok(response) = reqwest::get(&ready).await
                && response.status() == 200
            {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("serve never became ready");
    }

    /// `command` (a `serve` with its stdout piped) started, once it has printed its address;
    /// not yet ready.
    async fn spawn(mut command: Command) -> Server {
        let mut child = command.spawn().expect("cf-harness serve starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let url = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            BufReader::new(stdout).read_line(&mut line).map(|_| line)
        })
        .await
        .expect("reader")
        .expect("serve prints its address");
        let url = url.trim().to_string();
        assert!(url.ends_with("/mcp"), "{url}");
        Server { child, url }
    }

    fn base(&self) -> String {
        self.url.trim_end_matches("/mcp").to_string()
    }

    /// An MCP client session for one tenant.
    async fn session(&self, token: &str, account: &str, services: &str) -> Client {
        let headers = HashMap::from([
            (
                ACCOUNT_HEADER.parse().expect("name"),
                account.parse().expect("value"),
            ),
            (
                SERVICES_HEADER.parse().expect("name"),
                services.parse().expect("value"),
            ),
        ]);
        let config = StreamableHttpClientTransportConfig::with_uri(self.url.as_str())
            .auth_header(token)
            .custom_headers(headers);
        let transport = StreamableHttpClientTransport::with_client(reqwest::Client::new(), config);
        Client {
            inner: ().serve(transport).await.expect("initialize over HTTP"),
        }
    }

    /// The server's log so far, once it is stopped.
    fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let mut log = String::new();
        if let Some(mut stderr) = self.child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut stderr, &mut log);
        }
        log
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Client {
    inner: RunningService<RoleClient, ()>,
}

impl Client {
    async fn call(&self, name: &str, arguments: Value) -> CallToolResult {
        let Value::Object(arguments) = arguments else {
            panic!("arguments are an object")
        };
        self.inner
            .call_tool(CallToolRequestParams::new(name.to_string()).with_arguments(arguments))
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    async fn ok(&self, name: &str, arguments: Value) -> Value {
        let result = self.call(name, arguments).await;
        assert_ne!(result.is_error, Some(true), "{name}: {result:?}");
        result.structured_content.expect("structured content")
    }
}

const DOCS_PAGE: &str = "https://developers.cloudflare.com/dns/";

#[tokio::test]
async fn two_tenants_in_parallel_each_get_only_their_own_account_token_and_cache() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let server = Server::start(&fake, &[]).await;
    let services = "Documentation,DNS Analytics";
    let (a, b) = tokio::join!(
        server.session(TOKEN, ACCOUNT_ID, services),
        server.session(SECOND_TENANT_TOKEN, OTHER_ACCOUNT_ID, services),
    );
    let tenants = [(&a, ACCOUNT_ID), (&b, OTHER_ACCOUNT_ID)];
    for _ in 0..3 {
        let (first, second) = tokio::join!(a.ok("verify", json!({})), b.ok("verify", json!({})),);
        for (report, account) in [(first, ACCOUNT_ID), (second, OTHER_ACCOUNT_ID)] {
            assert_eq!(report["account_id"], account, "{report}");
        }
    }
    // The same page through both: each session fetches it into its own cache.
    for (client, _) in tenants {
        let page = client.ok("docs_read", json!({ "url": DOCS_PAGE })).await;
        assert_eq!(page["from_cache"], false, "{page}");
        let again = client.ok("docs_read", json!({ "url": DOCS_PAGE })).await;
        assert_eq!(again["from_cache"], true, "{again}");
    }
    // Every request the fake saw carries one tenant's token with that tenant's account only.
    let mut seen = [0, 0];
    for request in fake.requests() {
        let Some(auth) = request.header("authorization") else {
            continue;
        };
        let (mine, other, n) = if auth == format!("Bearer {TOKEN}") {
            (ACCOUNT_ID, OTHER_ACCOUNT_ID, 0)
        } else if auth == format!("Bearer {SECOND_TENANT_TOKEN}") {
            (OTHER_ACCOUNT_ID, ACCOUNT_ID, 1)
        } else {
            panic!("a request with neither tenant's token: {auth}");
        };
        seen[n] += 1;
        let text = format!(
            "{}?{} {}",
            request.path,
            request.query.as_deref().unwrap_or(""),
            String::from_utf8_lossy(&request.body)
        );
        assert!(
            !text.contains(other),
            "{mine}'s request names {other}: {text}"
        );
    }
    assert!(
        seen[0] > 0 && seen[1] > 0,
        "both tenants reached the fake: {seen:?}"
    );
    let log = server.stop();
    for token in [TOKEN, SECOND_TENANT_TOKEN] {
        assert!(!log.contains(token), "a token in the server's log");
    }
}

/// A raw MCP `initialize` POST with these headers.
async fn initialize(server: &Server, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(&server.url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(
            json!({ "jsonrpc": "2.0", "id": 1, "method": "initialize",
                    "params": { "protocolVersion": "2025-06-18", "capabilities": {},
                                "clientInfo": { "name": "raw", "version": "1" } } })
            .to_string(),
        );
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.expect("an answer")
}

/// A raw `initialize` POST with one tenant's three headers.
async fn initialize_as(
    server: &Server,
    token: &str,
    account: &str,
    services: &str,
) -> reqwest::Response {
    let bearer = format!("Bearer {token}");
    initialize(
        server,
        &[
            ("authorization", bearer.as_str()),
            (ACCOUNT_HEADER, account),
            (SERVICES_HEADER, services),
        ],
    )
    .await
}

#[tokio::test]
async fn without_a_token_or_with_bad_headers_the_gate_answers_what_to_send() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let server = Server::start(&fake, &[]).await;
    let bearer = format!("Bearer {TOKEN}");
    let no_token = initialize(&server, &[]).await;
    assert_eq!(no_token.status(), 401);
    assert!(
        no_token
            .headers()
            .get("www-authenticate")
            .is_some_and(|v| v.to_str().unwrap_or_default().starts_with("Bearer")),
        "{:?}",
        no_token.headers()
    );
    let body: Value = no_token.json().await.expect("a JSON body");
    assert_eq!(body["error"]["kind"], "unauthorized", "{body}");
    let not_bearer = initialize(&server, &[("authorization", "Basic dXNlcjpwYXNz")]).await;
    assert_eq!(not_bearer.status(), 401);
    for (headers, named) in [
        (vec![("authorization", bearer.as_str())], ACCOUNT_HEADER),
        (
            vec![
                ("authorization", bearer.as_str()),
                (ACCOUNT_HEADER, "not-an-id"),
            ],
            ACCOUNT_HEADER,
        ),
        (
            vec![
                ("authorization", bearer.as_str()),
                (ACCOUNT_HEADER, ACCOUNT_ID),
            ],
            SERVICES_HEADER,
        ),
        (
            vec![
                ("authorization", bearer.as_str()),
                (ACCOUNT_HEADER, ACCOUNT_ID),
                (SERVICES_HEADER, "Workers"),
            ],
            SERVICES_HEADER,
        ),
    ] {
        let response = initialize(&server, &headers).await;
        assert_eq!(response.status(), 400, "{headers:?}");
        let body: Value = response.json().await.expect("a JSON body");
        assert_eq!(body["error"]["kind"], "invalid-input", "{body}");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.starts_with(named), "{headers:?}: {message}");
    }
    // A browser page from another site cannot drive the server (DNS rebinding, CSRF).
    let foreign = initialize(
        &server,
        &[
            ("authorization", bearer.as_str()),
            (ACCOUNT_HEADER, ACCOUNT_ID),
            (SERVICES_HEADER, "Documentation"),
            ("origin", "https://evil.example"),
        ],
    )
    .await;
    assert_eq!(foreign.status(), 403);
    assert!(fake.requests().is_empty(), "nothing reached Cloudflare");
}

#[tokio::test]
async fn a_session_replayed_with_another_token_or_none_is_never_served() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let server = Server::start(&fake, &[]).await;
    let opened = initialize_as(&server, TOKEN, ACCOUNT_ID, "Documentation").await;
    assert_eq!(opened.status(), 200);
    let session = opened
        .headers()
        .get("mcp-session-id")
        .expect("a session id")
        .to_str()
        .expect("text")
        .to_string();
    let call = |token: Option<&'static str>| {
        let mut request = reqwest::Client::new()
            .post(&server.url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-session-id", &session)
            .header("mcp-protocol-version", "2025-06-18")
            .header(ACCOUNT_HEADER, OTHER_ACCOUNT_ID)
            .header(SERVICES_HEADER, "Documentation")
            .body(
                json!({ "jsonrpc": "2.0", "id": 2, "method": "tools/call",
                        "params": { "name": "docs_read", "arguments": { "url": DOCS_PAGE } } })
                .to_string(),
            );
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        request.send()
    };
    // Nor may another token end it.
    let delete = |token: &str| {
        reqwest::Client::new()
            .delete(&server.url)
            .header("mcp-session-id", &session)
            .header("mcp-protocol-version", "2025-06-18")
            .header("authorization", format!("Bearer {token}"))
            .header(ACCOUNT_HEADER, ACCOUNT_ID)
            .header(SERVICES_HEADER, "Documentation")
            .send()
    };
    assert_eq!(
        delete(SECOND_TENANT_TOKEN)
            .await
            .expect("an answer")
            .status(),
        404
    );
    let stolen = call(Some(SECOND_TENANT_TOKEN)).await.expect("an answer");
    assert_eq!(stolen.status(), 404);
    let body: Value = stolen.json().await.expect("JSON");
    assert_eq!(body["error"]["kind"], "session-not-found", "{body}");
    let anonymous = call(None).await.expect("an answer");
    assert_eq!(anonymous.status(), 401);
    assert!(
        fake.requests().is_empty(),
        "the first tenant's session made no request for anyone"
    );
    // Its own token ends it, with the 204 every official SDK takes as done.
    assert_eq!(delete(TOKEN).await.expect("an answer").status(), 204);
}

#[tokio::test]
async fn sessions_per_token_are_limited_and_the_limit_is_named() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let server = Server::start(&fake, &["--max-sessions-per-token", "2"]).await;
    let open = || initialize_as(&server, TOKEN, ACCOUNT_ID, "Documentation");
    for _ in 0..2 {
        assert_eq!(open().await.status(), 200);
    }
    let third = open().await;
    assert_eq!(third.status(), 429);
    let body: Value = third.json().await.expect("JSON");
    assert_eq!(body["error"]["kind"], "too-many-sessions", "{body}");
    // Another tenant is not held to this one's sessions.
    let other = initialize_as(
        &server,
        SECOND_TENANT_TOKEN,
        OTHER_ACCOUNT_ID,
        "Documentation",
    );
    assert_eq!(other.await.status(), 200);
}

#[tokio::test]
async fn a_request_larger_than_the_limit_is_refused_with_413() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let server = Server::start(&fake, &["--max-message-mib", "1"]).await;
    let response = reqwest::Client::new()
        .post(&server.url)
        .header("authorization", format!("Bearer {TOKEN}"))
        .header(ACCOUNT_HEADER, ACCOUNT_ID)
        .header(SERVICES_HEADER, "Documentation")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(format!(
            "{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{{\"pad\":\"{}\"}}}}",
            "x".repeat(2 * 1024 * 1024)
        ))
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status(), 413);
}

#[test]
fn plain_http_off_loopback_is_refused_unless_behind_a_proxy() {
    let output = cf_harness()
        .arg("--plugin")
        .arg(plugin())
        .args(["serve", "--listen", "0.0.0.0:0"])
        .output()
        .expect("cf-harness runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--behind-proxy"), "{stderr}");
    let with_token = cf_harness()
        .env("CLOUDFLARE_API_TOKEN", TOKEN)
        .arg("--plugin")
        .arg(plugin())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .output()
        .expect("cf-harness runs");
    assert_eq!(
        with_token.status.code(),
        Some(2),
        "serve refuses a host token"
    );
}

#[tokio::test]
async fn an_idle_session_expires_and_a_new_one_works_at_once() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let server = Server::start(&fake, &["--idle-seconds", "1"]).await;
    let bearer = format!("Bearer {TOKEN}");
    let headers = [
        ("authorization", bearer.as_str()),
        (ACCOUNT_HEADER, ACCOUNT_ID),
        (SERVICES_HEADER, "Documentation"),
    ];
    let opened = initialize(&server, &headers).await;
    assert_eq!(opened.status(), 200);
    let session = opened.headers()["mcp-session-id"]
        .to_str()
        .expect("text")
        .to_string();
    let ping = || {
        let mut request = reqwest::Client::new()
            .post(&server.url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-session-id", &session)
            .header("mcp-protocol-version", "2025-06-18")
            .body(json!({ "jsonrpc": "2.0", "id": 9, "method": "ping" }).to_string());
        for (name, value) in headers {
            request = request.header(name, value);
        }
        request.send()
    };
    assert_eq!(
        ping().await.expect("an answer").status(),
        200,
        "open at first"
    );
    // Waiting past the idle limit is the scenario (each request would restart its clock).
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let expired = ping().await.expect("an answer").status() == 404;
    assert!(expired, "the idle session was never closed");
    assert_eq!(initialize(&server, &headers).await.status(), 200);
}

#[tokio::test]
async fn sigterm_lets_the_call_in_flight_finish_then_exits_zero() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut server = Server::start(&fake, &["--drain-seconds", "20"]).await;
    let client = server.session(TOKEN, ACCOUNT_ID, "Documentation").await;
    fake.set_delay(Duration::from_millis(1500));
    let call =
        tokio::spawn(async move { client.ok("docs_read", json!({ "url": DOCS_PAGE })).await });
    // Until the call has reached the fake, the signal would come before it.
    for _ in 0..100 {
        if !fake.requests().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!fake.requests().is_empty(), "the call reached the fake");
    let pid = server.child.id().to_string();
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    let page = call.await.expect("the call's task");
    assert_eq!(page["from_cache"], false, "{page}");
    let status = tokio::task::spawn_blocking(move || {
        let status = server.child.wait();
        (status, server)
    })
    .await
    .expect("wait");
    assert_eq!(status.0.expect("exit status").code(), Some(0));
}

#[tokio::test]
async fn a_tokens_budget_is_held_across_its_sessions_before_cloudflare_must() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let audit = std::env::temp_dir().join(format!("cf-serve-audit-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&audit);
    let server = Server::start(
        &fake,
        &[
            "--budget-graphql-queries",
            "2",
            "--audit-log",
            audit.to_str().expect("path"),
        ],
    )
    .await;
    let services = "GraphQL Analytics";
    let query = json!({ "query": "{ viewer { budget } }" });
    // Two sessions of one token share its budget.
    let (first, second) = tokio::join!(
        server.session(TOKEN, ACCOUNT_ID, services),
        server.session(TOKEN, ACCOUNT_ID, services),
    );
    first.ok("graphql_query", query.clone()).await;
    second.ok("graphql_query", query.clone()).await;
    let refused = first.call("graphql_query", query.clone()).await;
    assert_eq!(refused.is_error, Some(true), "{refused:?}");
    let error = &refused.structured_content.expect("structured")["error"];
    assert_eq!(error["kind"], "rate-limited", "{error}");
    assert_eq!(error["limiter"], "graphql", "{error}");
    assert!(
        error["retry_after_seconds"].as_u64().unwrap_or(0) > 0,
        "{error}"
    );
    let graphql_of = |token: &str| {
        fake.requests()
            .iter()
            .filter(|r| {
                r.path.ends_with("/graphql")
                    && r.header("authorization") == Some(format!("Bearer {token}").as_str())
            })
            .count()
    };
    assert_eq!(graphql_of(TOKEN), 2, "the third query never left the host");
    // Another tenant has its own budget.
    let other = server
        .session(SECOND_TENANT_TOKEN, OTHER_ACCOUNT_ID, services)
        .await;
    other.ok("graphql_query", query).await;
    assert_eq!(graphql_of(SECOND_TENANT_TOKEN), 1);
    let log = std::fs::read_to_string(&audit).expect("the audit log");
    assert!(log.contains("over_token_budget"), "{log}");
    assert!(!log.contains(TOKEN) && !log.contains(SECOND_TENANT_TOKEN));
    // Its sessions, in parallel and of two tenants, wrote one chain.
    let (code, report) = audit_log_verify(std::slice::from_ref(&audit));
    assert_eq!((code, &report["ok"]), (Some(0), &json!(true)), "{report:#}");
    let _ = std::fs::remove_file(&audit);
}

#[tokio::test]
async fn metrics_count_sessions_calls_requests_and_refusals_never_a_token() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let server = Server::start(&fake, &[]).await;
    let client = server
        .session(TOKEN, ACCOUNT_ID, "Documentation,DNS Analytics")
        .await;
    client.ok("verify", json!({})).await;
    let bad = client
        .call("dns_get_zone", json!({ "zone": "x".repeat(300) }))
        .await;
    assert_eq!(bad.is_error, Some(true));
    assert_eq!(initialize(&server, &[]).await.status(), 401);
    let response = reqwest::get(server.base() + "/metrics")
        .await
        .expect("an answer");
    assert_eq!(response.status(), 200);
    let text = response.text().await.expect("text");
    for series in [
        "cf_harness_sessions_open 1",
        "cf_harness_sessions_created_total 1",
        "cf_harness_tool_calls_total{tool=\"verify\",outcome=\"ok\"} 1",
        "cf_harness_tool_calls_total{tool=\"dns_get_zone\",outcome=\"invalid-input\"} 1",
        "cf_harness_gate_refusals_total{kind=\"unauthorized\"} 1",
        "cf_harness_outbound_requests_total{host=\"api.cloudflare.com\",status=\"200\"}",
        "cf_harness_tool_call_duration_seconds_bucket{",
    ] {
        assert!(text.contains(series), "no {series:?} in:\n{text}");
    }
    assert!(
        !text.contains(TOKEN) && !text.contains(ACCOUNT_ID),
        "{text}"
    );
}

#[tokio::test]
async fn calls_past_a_sessions_limit_are_told_to_wait_not_queued() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let server = Server::start(&fake, &["--max-calls-per-session", "1"]).await;
    let client = server.session(TOKEN, ACCOUNT_ID, "Documentation").await;
    fake.set_delay(Duration::from_millis(800));
    let slow = client.call("docs_read", json!({ "url": DOCS_PAGE }));
    let second = async {
        // Until the first call has reached the fake, the second could take the turn first.
        while fake.requests().is_empty() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        client.call("docs_read", json!({ "url": DOCS_PAGE })).await
    };
    let (first, second) = tokio::join!(slow, second);
    assert_ne!(first.is_error, Some(true), "{first:?}");
    assert_eq!(second.is_error, Some(true), "{second:?}");
    let error = &second.structured_content.expect("structured")["error"];
    assert_eq!(error["kind"], "too-many-calls", "{error}");
    fake.set_delay(Duration::ZERO);
    // The turn is back once the first call is done.
    client.ok("docs_read", json!({ "url": DOCS_PAGE })).await;
}

/// A CA and a certificate for `localhost` it signed, as PEM: (CA, chain, key).
fn localhost_pki() -> (rustls::pki_types::CertificateDer<'static>, String, String) {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, KeyUsagePurpose,
    };
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca = CertificateParams::default();
    ca.distinguished_name
        .push(DnType::CommonName, "cf-harness serve test CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign];
    let ca_cert = ca.self_signed(&ca_key).expect("CA certificate");
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().expect("server key");
    let mut server = CertificateParams::new(vec!["localhost".to_string()]).expect("name");
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let cert = server.signed_by(&key, &issuer).expect("server certificate");
    (ca_cert.der().clone(), cert.pem(), key.serialize_pem())
}

/// One HTTP/1.1 exchange over TLS to `localhost` at `address`, trusting `ca`: the whole answer.
async fn https_exchange(
    address: &str,
    ca: &rustls::pki_types::CertificateDer<'static>,
    request: String,
) -> std::io::Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.clone()).expect("the test CA");
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(address).await?;
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    let mut tls = connector.connect(name, tcp).await?;
    tls.write_all(request.as_bytes()).await?;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(20), tls.read_to_end(&mut answer)).await;
    Ok(String::from_utf8_lossy(&answer).into_owned())
}

#[tokio::test]
async fn with_a_certificate_serve_speaks_https_only() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let (ca, chain, key) = localhost_pki();
    let dir = std::env::temp_dir().join(format!("cf-serve-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a folder");
    let (cert_file, key_file) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_file, chain).expect("cert");
    std::fs::write(&key_file, key).expect("key");
    let mut command = cf_harness();
    command
        .arg("--plugin")
        .arg(plugin())
        .arg("--upstream")
        .arg(format!("api.cloudflare.com={}", fake.url()))
        .args(["serve", "--listen", "127.0.0.1:0", "--tls-cert"])
        .arg(&cert_file)
        .arg("--tls-key")
        .arg(&key_file)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut server = Server::spawn(command).await;
    let address = server
        .url
        .strip_prefix("https://")
        .and_then(|rest| rest.strip_suffix("/mcp"))
        .unwrap_or_else(|| panic!("an https address: {}", server.url))
        .to_string();
    let mut ready = false;
    for _ in 0..600 {
        let get = "GET /readyz HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n";
        if let Ok(answer) = https_exchange(&address, &ca, get.to_string()).await
            && answer.starts_with("HTTP/1.1 200")
        {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "serve over TLS never became ready");
    let body = json!({ "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": { "protocolVersion": "2025-06-18", "capabilities": {},
                    "clientInfo": { "name": "tls", "version": "1" } } })
    .to_string();
    let post = format!(
        "POST /mcp HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\
         authorization: Bearer {TOKEN}\r\n{ACCOUNT_HEADER}: {ACCOUNT_ID}\r\n\
         {SERVICES_HEADER}: Documentation\r\ncontent-type: application/json\r\n\
         accept: application/json, text/event-stream\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    let answer = https_exchange(&address, &ca, post)
        .await
        .expect("an answer");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("mcp-session-id"), "{answer}");
    assert!(answer.contains("\"serverInfo\""), "{answer}");
    // The same port does not answer plain HTTP.
    let plain = reqwest::get(format!("http://{address}/readyz")).await;
    assert!(
        plain.map_or(true, |r| !r.status().is_success()),
        "plain HTTP was served"
    );
    let _ = server.child.kill();
}

#[tokio::test]
async fn one_tenant_behind_a_client_key_never_takes_a_cloudflare_token_from_clients() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let key_file = std::env::temp_dir().join(format!("cf-serve-client-key-{}", std::process::id()));
    const CLIENT_KEY: &str = "platform-client-key-0123456789abcdef";
    std::fs::write(&key_file, CLIENT_KEY).expect("key file");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600))
            .expect("private key file");
    }
    let server = Server::start_with(
        &fake,
        &["--client-key-file", key_file.to_str().expect("path")],
        &[
            ("CLOUDFLARE_API_TOKEN", TOKEN),
            ("CLOUDFLARE_ACCOUNT_ID", ACCOUNT_ID),
            ("ENABLED_SERVICES", "Documentation,DNS Analytics"),
        ],
    )
    .await;
    // The headers a client sends name no account of its own here: the host's tenant is served.
    let client = server
        .session(CLIENT_KEY, OTHER_ACCOUNT_ID, "Documentation")
        .await;
    let report = client.ok("verify", json!({})).await;
    assert_eq!(report["account_id"], ACCOUNT_ID, "{report}");
    let bearer = format!("Bearer {TOKEN}");
    assert!(
        fake.requests()
            .iter()
            .filter_map(|r| r.header("authorization"))
            .all(|auth| auth == bearer),
        "the host's token went out"
    );
    for sent in [TOKEN, "not-the-client-key-0123456789abcdef"] {
        let response = initialize_as(&server, sent, ACCOUNT_ID, "Documentation").await;
        assert_eq!(response.status(), 401, "{sent}");
    }
    let log = server.stop();
    assert!(!log.contains(TOKEN) && !log.contains(CLIENT_KEY), "{log}");
}

#[cfg(unix)]
#[tokio::test]
async fn readyz_says_503_until_the_plugin_is_loaded_and_mcp_waits_with_it() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    // The component comes through a FIFO: the server cannot load it until the test writes it.
    let fifo = std::env::temp_dir().join(format!("cf-serve-plugin-{}.wasm", std::process::id()));
    let _ = std::fs::remove_file(&fifo);
    let made = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    let mut command = cf_harness();
    command
        .arg("--plugin")
        .arg(&fifo)
        .arg("--upstream")
        .arg(format!("api.cloudflare.com={}", fake.url()))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let server = Server::spawn(command).await;
    let readyz = server.base() + "/readyz";
    assert_eq!(
        reqwest::get(&readyz).await.expect("an answer").status(),
        503
    );
    assert_eq!(
        reqwest::get(server.base() + "/healthz")
            .await
            .expect("an answer")
            .status(),
        200,
        "alive while loading"
    );
    let early = initialize_as(&server, TOKEN, ACCOUNT_ID, "Documentation").await;
    assert_eq!(early.status(), 503);
    let body: Value = early.json().await.expect("JSON");
    assert_eq!(body["error"]["kind"], "not-ready", "{body}");
    // Now the component arrives.
    let component = std::fs::read(plugin()).expect("the built component");
    let path = fifo.clone();
    tokio::task::spawn_blocking(move || std::fs::write(&path, component))
        .await
        .expect("writer")
        .expect("written into the FIFO");
    let mut ready = false;
    for _ in 0..600 {
        if reqwest::get(&readyz).await.is_ok_and(|r| r.status() == 200) {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "ready once loaded");
    let _ = std::fs::remove_file(&fifo);
}

#[tokio::test]
async fn a_clients_connect_narrows_its_headers_connection_never_widens_it() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let server = Server::start(&fake, &[]).await;
    let client = server.session(TOKEN, ACCOUNT_ID, "Documentation").await;
    let wider = client
        .call(
            "connect",
            json!({ "account_id": ACCOUNT_ID, "enabled_services": ["Documentation", "DNS Analytics"] }),
        )
        .await;
    assert_eq!(wider.is_error, Some(true), "{wider:?}");
    let error = &wider.structured_content.expect("structured")["error"];
    assert_eq!(error["field"], "enabled_services", "{error}");
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("X-Cloudflare-Enabled-Services")),
        "{error}"
    );
    let other = client
        .call(
            "connect",
            json!({ "account_id": OTHER_ACCOUNT_ID, "enabled_services": ["Documentation"] }),
        )
        .await;
    assert_eq!(
        other.structured_content.expect("structured")["error"]["field"],
        "account_id"
    );
    let refused = client.call("dns_list_zones", json!({})).await;
    assert_eq!(
        refused.structured_content.expect("structured")["error"]["kind"],
        "service-disabled"
    );
}

#[tokio::test]
async fn a_timeout_replaces_only_that_sessions_instance() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let server = Server::start(&fake, &["--timeout", "1"]).await;
    let (slow, other) = tokio::join!(
        server.session(TOKEN, ACCOUNT_ID, "Documentation"),
        server.session(SECOND_TENANT_TOKEN, OTHER_ACCOUNT_ID, "Documentation"),
    );
    // The other session's instance holds a page in its cache.
    let page = other.ok("docs_read", json!({ "url": DOCS_PAGE })).await;
    assert_eq!(page["from_cache"], false);
    fake.set_delay(Duration::from_millis(2500));
    let timed_out = slow.call("docs_read", json!({ "url": DOCS_PAGE })).await;
    assert_eq!(timed_out.is_error, Some(true), "{timed_out:?}");
    assert_eq!(
        timed_out.structured_content.expect("structured")["error"]["kind"],
        "timeout"
    );
    fake.set_delay(Duration::ZERO);
    // The timed-out session goes on in a fresh instance; the other kept its own, cache and all.
    slow.ok("docs_read", json!({ "url": DOCS_PAGE })).await;
    let again = other.ok("docs_read", json!({ "url": DOCS_PAGE })).await;
    assert_eq!(again["from_cache"], true, "{again}");
}

/// `serve --policy FILE` holds every tenant to the file: a session whose headers enable a
/// service it does not allow gets `denied-by-host` and sends nothing; one within it works.
#[tokio::test]
async fn serve_holds_every_tenant_to_the_policy_file() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let policy = std::env::temp_dir().join(format!("cf-serve-policy-{}.toml", std::process::id()));
    std::fs::write(&policy, "services = [\"Documentation\"]\n").expect("writable");
    let server = Server::start(&fake, &["--policy", policy.to_str().expect("path")]).await;
    let allowed = server.session(TOKEN, ACCOUNT_ID, "Documentation").await;
    allowed.ok("docs_products", json!({})).await;
    let before = fake.requests().len();
    let wider = server
        .session(TOKEN, ACCOUNT_ID, "Documentation,DNS Analytics")
        .await;
    let refused = wider.call("dns_list_zones", json!({})).await;
    assert_eq!(refused.is_error, Some(true), "{refused:?}");
    let error = &refused.structured_content.expect("structured content")["error"];
    assert_eq!(error["kind"], "denied-by-host", "{error}");
    assert_eq!(
        fake.requests().len(),
        before,
        "nothing was sent for the refused tenant"
    );
    let _ = std::fs::remove_file(&policy);
}
