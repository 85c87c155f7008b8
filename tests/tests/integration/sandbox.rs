//! What the sandbox lets a plugin do, proven with the real plugin and a hostile component.

use crate::common::{check, connected, hostile_harness, sandbox};
use cf_fake::{BROKEN_BODY_PREFIX, FakeCloudflare, HUGE_RESPONSE_BYTES, Scenario, TOKEN};
use host_harness::outbound::policy::{API_HOST, DOCS_HOST};
use host_harness::{CallError, Limits, OutboundPolicy, PluginInstance, SandboxConfig};
use host_harness::{CheckStatus, PluginError, Resolve, Resolver, Service, Verdict};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

async fn hostile(config: &SandboxConfig) -> PluginInstance {
    hostile_harness()
        .instantiate(config)
        .await
        .expect("instantiates")
}

/// What the guest got back from one request. Whatever it tried, that never holds the token.
async fn fetch(instance: &mut PluginInstance, args: Value) -> Result<Value, PluginError> {
    let result = instance
        .call_tool("fetch", &args.to_string())
        .await
        .expect("no trap");
    let seen = format!("{result:?}");
    assert!(!seen.contains(TOKEN), "the guest saw the token: {seen}");
    result.map(|json| serde_json::from_str(&json).expect("JSON"))
}

/// The `wasi:http` error code the guest saw, when its request failed other than by a denial
/// (the hostile component reports it as `transport` with the code's WIT name).
fn error_code(result: &Result<Value, PluginError>) -> Option<&str> {
    match result {
        Err(PluginError::Transport(code)) => Some(code),
        _ => None,
    }
}

/// The host is still fine: a fresh instance makes an allowed request, and the token reached
/// only the API host (never the docs host, never anything else the fake saw).
async fn assert_survives(fake: &FakeCloudflare) {
    let mut instance = hostile(&sandbox(fake)).await;
    let answer = fetch(
        &mut instance,
        json!({ "url": "https://developers.cloudflare.com/llms.txt" }),
    )
    .await
    .expect("a normal request still works");
    assert_eq!(answer["status"], 200);
    assert_token_only_sent_to_the_api(fake);
}

fn assert_token_only_sent_to_the_api(fake: &FakeCloudflare) {
    for request in fake.requests() {
        if request.host != API_HOST {
            assert_eq!(
                request.header("authorization"),
                None,
                "{} {}{}",
                request.method,
                request.host,
                request.path
            );
        }
    }
}

const GRAPHQL_URL: &str = "https://api.cloudflare.com/client/v4/graphql";

/// Twenty fragments, each spreading the one before ten times.
fn fragment_bomb() -> String {
    let mut query = String::from("query { viewer { ...F19 } } fragment F0 on T { a }");
    for i in 1..20 {
        let spreads = format!(" ...F{}", i - 1).repeat(10);
        query.push_str(&format!(" fragment F{i} on T {{{spreads} }}"));
    }
    query
}

fn graphql_post(body: &str) -> Value {
    json!({
        "method": "POST",
        "url": GRAPHQL_URL,
        "headers": { "content-type": "application/json" },
        "body": body,
    })
}

#[tokio::test]
async fn a_host_off_the_allow_list_is_denied_and_surfaces_as_denied_by_host() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut config = sandbox(&fake);
    config.policy = config.policy.allow_only(&[API_HOST]).expect("a subset");
    let mut instance = connected(&config, &[Service::Documentation]).await;
    let report = instance.verify().await.expect("no trap").expect("report");
    let docs = check(&report, "documentation/docs-host");
    assert_eq!(docs.status, CheckStatus::Failed);
    assert!(
        matches!(docs.error, Some(PluginError::DeniedByHost(_))),
        "{:?}",
        docs.error
    );
    assert!(docs.hint.is_some());
    assert!(
        fake.requests().is_empty(),
        "the denied request never left the host"
    );
    let log = instance.outbound_log();
    assert_eq!(log.len(), 1);
    assert!(log[0].denied.is_some());
    assert_survives(&fake).await;
}

#[tokio::test]
async fn a_guest_set_authorization_header_is_dropped() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut instance = hostile(&sandbox(&fake)).await;
    for url in [
        "https://api.cloudflare.com/client/v4/user/tokens/verify",
        "https://developers.cloudflare.com/llms.txt",
    ] {
        let answer = fetch(
            &mut instance,
            json!({ "method": "GET", "url": url, "headers": { "Authorization": "Bearer stolen-or-forged" } }),
        )
        .await
        .expect("allowed request");
        assert_eq!(answer["status"], 200, "{url}");
    }
    let requests = fake.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        requests[0].header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str()),
        "the host's token replaces the guest's"
    );
    assert_eq!(
        requests[1].header("authorization"),
        None,
        "the docs host gets no Authorization at all"
    );
    assert_survives(&fake).await;
}

#[tokio::test]
async fn writes_other_hosts_and_plain_http_are_denied_before_leaving_the_host() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut instance = hostile(&sandbox(&fake)).await;
    let zone = "https://api.cloudflare.com/client/v4/zones/234234243423aaabb334342aaa343433";
    let attempts = [
        (
            json!({ "method": "DELETE", "url": zone }),
            "method_not_allowed",
        ),
        (
            json!({ "method": "PATCH", "url": zone, "body": "{\"paused\":true}" }),
            "method_not_allowed",
        ),
        (
            json!({ "method": "POST", "url": "https://api.cloudflare.com/client/v4/zones", "body": "{}" }),
            "method_not_allowed",
        ),
        (
            json!({ "method": "PUT", "url": "https://api.cloudflare.com/client/v4/zones/x/dns_records/y", "body": "{}" }),
            "method_not_allowed",
        ),
        (
            json!({ "method": "OPTIONS", "url": zone }),
            "method_not_allowed",
        ),
        (
            json!({ "method": "POST", "url": "https://developers.cloudflare.com/client/v4/graphql", "body": "{}" }),
            "method_not_allowed",
        ),
        (
            json!({ "method": "GET", "url": "https://denied.test/exfiltrate" }),
            "host_not_allowed",
        ),
        (
            json!({ "method": "GET", "url": "https://api.cloudflare.com.denied.test/client/v4/zones" }),
            "host_not_allowed",
        ),
        (
            json!({ "method": "GET", "url": "https://169.254.169.254/latest/meta-data/" }),
            "host_not_allowed",
        ),
        (
            json!({ "method": "GET", "url": "http://api.cloudflare.com/client/v4/zones" }),
            "not_https",
        ),
        (
            json!({ "method": "GET", "url": "http://developers.cloudflare.com/llms.txt" }),
            "not_https",
        ),
        (
            json!({ "method": "GET", "url": format!("{}/client/v4/zones", fake.url()) }),
            "not_https",
        ),
        (
            json!({ "method": "GET", "url": "https://api.cloudflare.com:8443/client/v4/zones" }),
            "port_not_allowed",
        ),
        (
            json!({ "method": "GET", "url": "https://user:pw@api.cloudflare.com/client/v4/zones" }),
            "user_info_in_authority",
        ),
    ];
    for (n, (attempt, code)) in attempts.iter().enumerate() {
        let result = fetch(&mut instance, attempt.clone()).await;
        assert!(
            matches!(result, Err(PluginError::DeniedByHost(_))),
            "{attempt}: {result:?}"
        );
        let log = instance.outbound_log();
        assert_eq!(log.len(), n + 1);
        assert_eq!(log[n].decision, Verdict::Denied, "{attempt}");
        assert!(log[n].denied.is_some(), "{attempt}: the reason is kept");
        assert_eq!(log[n].deny_code.as_deref(), Some(*code), "{attempt}");
        assert!(!log[n].token_injected);
    }
    assert!(fake.requests().is_empty(), "nothing reached the fake");
    assert_survives(&fake).await;
}

#[tokio::test]
async fn the_guest_sees_no_token_and_only_granted_variables() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut config = sandbox(&fake);
    config.guest_env = vec![("ENABLED_SERVICES".into(), "Documentation".into())];
    let mut instance = hostile(&config).await;
    let env = instance
        .call_tool("env", "{}")
        .await
        .expect("no trap")
        .expect("env");
    assert_eq!(env, r#"[["ENABLED_SERVICES","Documentation"]]"#);
    assert!(!env.contains(TOKEN));
    assert_survives(&fake).await;
}

#[tokio::test]
async fn a_call_past_the_memory_limit_traps_poisons_the_instance_and_a_fresh_one_works() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut config = sandbox(&fake);
    config.limits = Limits {
        memory_bytes: 16 * 1024 * 1024,
        ..Limits::default()
    };
    let mut instance = hostile(&config).await;
    let small = instance
        .call_tool("allocate", r#"{"mib": 1}"#)
        .await
        .expect("within the limit");
    assert!(small.is_ok());
    let big = instance.call_tool("allocate", r#"{"mib": 64}"#).await;
    assert!(matches!(big, Err(CallError::MemoryLimit(_))), "{big:?}");
    let after = instance.call_tool("allocate", r#"{"mib": 1}"#).await;
    assert!(matches!(after, Err(CallError::Poisoned)), "{after:?}");
    let mut fresh = hostile(&config).await;
    let small = fresh.call_tool("allocate", r#"{"mib": 1}"#).await;
    assert!(matches!(small, Ok(Ok(_))), "{small:?}");
    assert_survives(&fake).await;
}

#[tokio::test]
async fn an_instance_reports_its_peak_memory() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut instance = hostile(&sandbox(&fake)).await;
    let at_start = instance.peak_memory_bytes();
    assert!(at_start > 0, "the initial memory counts");
    let result = instance.call_tool("allocate", r#"{"mib": 8}"#).await;
    assert!(matches!(result, Ok(Ok(_))), "{result:?}");
    let peak = instance.peak_memory_bytes();
    assert!(peak >= at_start + 8 * 1024 * 1024, "{at_start} -> {peak}");
    assert!(peak <= Limits::default().memory_bytes);
}

#[tokio::test]
async fn a_busy_loop_is_stopped_by_the_cpu_limit_and_a_fresh_instance_works() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut config = sandbox(&fake);
    config.limits = Limits {
        cpu_time: Duration::from_millis(200),
        ..Limits::default()
    };
    let mut instance = hostile(&config).await;
    let result = instance.call_tool("spin", "{}").await;
    assert!(matches!(result, Err(CallError::CpuLimit(_))), "{result:?}");
    let next = instance.call_tool("allocate", r#"{"mib": 1}"#).await;
    assert!(matches!(next, Err(CallError::Poisoned)), "{next:?}");
    assert_survives(&fake).await;
}

#[tokio::test]
async fn a_stalled_call_is_stopped_by_the_wall_clock_limit_and_a_fresh_instance_works() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut config = sandbox(&fake);
    config.limits = Limits {
        wall_time: Duration::from_millis(300),
        ..Limits::default()
    };
    let mut instance = hostile(&config).await;
    let result = instance.call_tool("sleep", r#"{"ms": 60000}"#).await;
    assert!(matches!(result, Err(CallError::Timeout(_))), "{result:?}");
    assert_survives(&fake).await;
}

#[tokio::test]
async fn a_call_blocked_on_the_network_is_ended_by_the_wall_clock_limit() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut config = sandbox(&fake);
    config.limits = Limits {
        wall_time: Duration::from_millis(500),
        ..Limits::default()
    };
    let mut instance = hostile(&config).await;
    // The fake answers after 5 s; the host's first-byte timeout (30 s) is not what ends it.
    fake.set_delay(Duration::from_secs(5));
    let result = instance
        .call_tool(
            "fetch",
            &json!({ "url": "https://api.cloudflare.com/client/v4/zones" }).to_string(),
        )
        .await;
    assert!(matches!(result, Err(CallError::Timeout(_))), "{result:?}");
    fake.set_delay(Duration::ZERO);
    assert_survives(&fake).await;
}

#[tokio::test]
async fn the_host_timeouts_hold_whatever_the_guest_asks() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut config = sandbox(&fake);
    config.limits = Limits {
        first_byte_timeout: Duration::from_millis(300),
        ..Limits::default()
    };
    let mut instance = hostile(&config).await;
    fake.set_delay(Duration::from_secs(3));
    // The guest asks to wait a minute for the first byte; the host gives it 300 ms.
    let result = fetch(
        &mut instance,
        json!({
            "url": "https://api.cloudflare.com/client/v4/zones",
            "first_byte_timeout_ms": 60_000,
        }),
    )
    .await;
    assert_eq!(
        error_code(&result),
        Some("connection-read-timeout"),
        "{result:?}"
    );
    fake.set_delay(Duration::ZERO);
    // The instance is fine: the request failed, not the call.
    let answer = fetch(
        &mut instance,
        json!({ "url": "https://developers.cloudflare.com/llms.txt" }),
    )
    .await
    .expect("the next request works");
    assert_eq!(answer["status"], 200);
    assert_survives(&fake).await;
}

/// An answer that breaks after the fake read the request: a connection closed with nothing
/// sent reaches the guest as `http-response-incomplete` (never `http-protocol-error`, which
/// the plugin words as a malformed answer); a body cut off or stalled past the host's
/// between-bytes timeout fails while it is read, after the status and the bytes that came. The
/// host's record says which, and the instance goes on.
#[tokio::test]
async fn a_dropped_or_stalled_answer_reaches_the_guest_as_what_happened() {
    let fake = FakeCloudflare::spawn(Scenario::DroppedConnection);
    let mut config = sandbox(&fake);
    config.limits = Limits {
        between_bytes_timeout: Duration::from_millis(300),
        ..Limits::default()
    };
    let mut instance = hostile(&config).await;
    let zones = json!({ "url": "https://api.cloudflare.com/client/v4/zones" });
    for (scenario, code, status, received) in [
        (
            Scenario::DroppedConnection,
            "http-response-incomplete",
            None,
            0,
        ),
        (
            Scenario::DroppedMidBody,
            "body-read-failed",
            Some(200),
            BROKEN_BODY_PREFIX.len(),
        ),
        (
            Scenario::TrickledBody,
            "body-read-failed",
            Some(200),
            BROKEN_BODY_PREFIX.len(),
        ),
    ] {
        fake.set_scenario(scenario);
        fake.clear_requests();
        let result = fetch(&mut instance, zones.clone()).await;
        assert!(
            error_code(&result).is_some_and(|c| c.starts_with(code)),
            "{scenario}: {result:?}"
        );
        assert_eq!(fake.requests().len(), 1, "{scenario}: the fake read it");
        let log = instance.outbound_log();
        let record = log.last().expect("a record");
        assert_eq!(record.status, status, "{scenario}: {record:?}");
        assert_eq!(
            record.response_bytes, received as u64,
            "{scenario}: {record:?}"
        );
        let error = record.error.as_deref().unwrap_or_default();
        let timed_out = error.contains("timeout");
        assert_eq!(
            timed_out,
            scenario == Scenario::TrickledBody,
            "{scenario}: {record:?}"
        );
    }
    assert_survives(&fake).await;
}

#[tokio::test]
async fn an_enormous_result_is_refused_by_the_host_and_the_instance_goes_on() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut config = sandbox(&fake);
    config.limits = Limits {
        max_result_bytes: 1024 * 1024,
        ..Limits::default()
    };
    let mut instance = hostile(&config).await;
    let within = instance.call_tool("big-result", r#"{"mib": 1}"#).await;
    assert!(
        matches!(within, Ok(Ok(ref s)) if s.len() == 1024 * 1024),
        "within the limit"
    );
    let over = instance.call_tool("big-result", r#"{"mib": 8}"#).await;
    match over {
        Err(CallError::ResultTooLarge { bytes, limit }) => {
            assert_eq!(bytes, 8 * 1024 * 1024);
            assert_eq!(limit, 1024 * 1024);
        }
        other => panic!("{:?}", other.map(|r| r.map(|s| s.len()))),
    }
    // Only the result was refused: the same instance still answers.
    let answer = fetch(
        &mut instance,
        json!({ "url": "https://developers.cloudflare.com/llms.txt" }),
    )
    .await
    .expect("the instance still works");
    assert_eq!(answer["status"], 200);
    // A result past the memory limit never gets built: the guest traps.
    let past_memory = instance.call_tool("big-result", r#"{"mib": 80}"#).await;
    assert!(
        matches!(past_memory, Err(CallError::MemoryLimit(_))),
        "{past_memory:?}"
    );
    assert_survives(&fake).await;
}

#[tokio::test]
async fn without_a_token_the_api_gets_no_authorization() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let config = SandboxConfig {
        token: None,
        ..sandbox(&fake)
    };
    let mut instance = connected(&config, &[Service::DnsAnalytics]).await;
    let report = instance.verify().await.expect("no trap").expect("report");
    assert!(!report.ready);
    assert!(matches!(
        check(&report, "token").error,
        Some(PluginError::Unauthorized(_))
    ));
    assert!(
        fake.requests()
            .iter()
            .all(|r| r.header("authorization").is_none())
    );
}

#[tokio::test]
async fn graphql_mutations_subscriptions_and_unreadable_bodies_are_refused_by_the_host() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut instance = hostile(&sandbox(&fake)).await;
    let mutation = json!({ "query": "mutation { deleteZone(id: \"x\") { id } }" }).to_string();
    let attempts = [
        (graphql_post(&mutation), "graphql_not_a_query"),
        (
            graphql_post(&json!({ "query": "subscription { events { id } }" }).to_string()),
            "graphql_not_a_query",
        ),
        // The selected operation is a query, but the document carries a mutation.
        (
            graphql_post(
                &json!({
                    "query": "query A { viewer { __typename } } mutation B { purge { id } }",
                    "operationName": "A",
                })
                .to_string(),
            ),
            "graphql_not_a_query",
        ),
        (
            graphql_post(
                &json!({
                    "query": "query A { a } query B { b }",
                    "operationName": "C",
                })
                .to_string(),
            ),
            "graphql_not_a_query",
        ),
        (graphql_post("mutation { purge }"), "graphql_not_a_query"),
        (graphql_post("{\"query\": \"query {\"}"), "graphql_not_a_query"),
        (
            graphql_post(r#"{"query":"mutation { purge }","query":"{ viewer { __typename } }"}"#),
            "graphql_not_a_query",
        ),
        (
            graphql_post(&json!([{ "query": "{ viewer { __typename } }" }]).to_string()),
            "graphql_not_a_query",
        ),
        (
            graphql_post(
                &json!({ "query": "{ viewer { __typename } }", "extensions": { "persistedQuery": { "sha256Hash": "x" } } })
                    .to_string(),
            ),
            "graphql_not_a_query",
        ),
        // A form body a lenient server might read as `query=mutation ...`.
        (
            json!({
                "method": "POST",
                "url": GRAPHQL_URL,
                "headers": { "content-type": "application/x-www-form-urlencoded" },
                "body": json!({ "query": "{ a }", "variables": { "x": "&query=mutation{purge}#" } }).to_string(),
            }),
            "graphql_not_a_query",
        ),
        (
            graphql_post(&format!(
                "{{\"query\": \"{{ a }}\", \"variables\": {{\"pad\": \"{}\"}}}}",
                "x".repeat(1024 * 1024)
            )),
            "graphql_body_too_large",
        ),
        // A query bomb the plugin would have refused: twenty fragments, each spreading the one
        // before ten times (10^20 fields once expanded).
        (graphql_post(&json!({ "query": fragment_bomb() }).to_string()), "graphql_over_bounds"),
        // Nor through the URL.
        (
            json!({ "method": "GET", "url": format!("{GRAPHQL_URL}?query=mutation%7Bpurge%7D") }),
            "method_not_allowed",
        ),
        (
            json!({ "method": "POST", "url": format!("{GRAPHQL_URL}?query=mutation%7Bpurge%7D"), "headers": { "content-type": "application/json" }, "body": json!({ "query": "{ a }" }).to_string() }),
            "method_not_allowed",
        ),
    ];
    for (n, (attempt, code)) in attempts.iter().enumerate() {
        let result = fetch(&mut instance, attempt.clone()).await;
        assert!(
            matches!(result, Err(PluginError::DeniedByHost(_))),
            "{n}: {result:?}"
        );
        let log = instance.outbound_log();
        assert_eq!(log[n].decision, Verdict::Denied, "{n}");
        assert_eq!(
            log[n].deny_code.as_deref(),
            Some(*code),
            "{n}: {:?}",
            log[n]
        );
        assert!(!log[n].token_injected, "{n}: nothing, so no token, left");
    }
    assert!(
        fake.requests().is_empty(),
        "no GraphQL request left the host"
    );

    // A query passes, byte for byte as the guest wrote it, with the host's token.
    let query =
        json!({ "query": "query Q { viewer { __typename } }", "operationName": "Q", "variables": {} })
            .to_string();
    let answer = fetch(&mut instance, graphql_post(&query))
        .await
        .expect("a query is allowed");
    assert_eq!(answer["status"], 200, "{answer}");
    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].body, query.as_bytes());
    assert_eq!(
        requests[0].header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert!(!answer.to_string().contains(TOKEN));
    assert_survives(&fake).await;
}

#[tokio::test]
async fn requests_past_the_per_call_limit_are_denied_and_the_count_resets_each_call() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let config = sandbox(&fake);
    assert_eq!(config.limits.max_requests_per_call, 64, "the default");
    let mut instance = hostile(&config).await;
    let many = |count: u32| {
        json!({ "url": "https://developers.cloudflare.com/llms.txt", "count": count }).to_string()
    };
    let answer: Value = serde_json::from_str(
        &instance
            .call_tool("fetch-many", &many(70))
            .await
            .expect("no trap")
            .expect("answer"),
    )
    .expect("JSON");
    assert_eq!(answer["sent"], 64, "{answer}");
    assert_eq!(answer["denied"], 6);
    assert_eq!(answer["first_denied"], 64, "the 65th is the first denied");
    assert_eq!(fake.requests().len(), 64);
    let log = instance.outbound_log();
    assert_eq!(log.len(), 70);
    assert!(log[..64].iter().all(|r| r.decision == Verdict::Allowed));
    assert_eq!(log[64].deny_code.as_deref(), Some("too_many_requests"));
    assert!(log[64].denied.as_deref().unwrap_or_default().contains("64"));

    // The next call starts from zero.
    let again: Value = serde_json::from_str(
        &instance
            .call_tool("fetch-many", &many(3))
            .await
            .expect("no trap")
            .expect("answer"),
    )
    .expect("JSON");
    assert_eq!(again["sent"], 3, "{again}");

    // The limit is the host's to set.
    let mut config = sandbox(&fake);
    config.limits.max_requests_per_call = 2;
    let mut instance = hostile(&config).await;
    let answer: Value = serde_json::from_str(
        &instance
            .call_tool("fetch-many", &many(3))
            .await
            .expect("no trap")
            .expect("answer"),
    )
    .expect("JSON");
    assert_eq!(answer["first_denied"], 2, "{answer}");
    assert_survives(&fake).await;
}

#[tokio::test]
async fn a_response_past_the_size_limit_ends_with_an_error_and_the_host_survives() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let config = sandbox(&fake);
    let limit = config.limits.max_response_bytes;
    assert_eq!(limit, 16 * 1024 * 1024, "the default");
    assert!(HUGE_RESPONSE_BYTES as u64 > limit);
    let mut instance = hostile(&config).await;
    // Streamed without a length: cut while it streams. The guest's read of the body fails
    // (wasmtime-wasi-http 48 gives a failed body read no `error-code`; the host's record
    // says why).
    let result = fetch(
        &mut instance,
        json!({ "url": "https://api.cloudflare.com/client/v4/test/huge" }),
    )
    .await;
    assert!(
        error_code(&result).is_some_and(|e| e.starts_with("body-read-failed")),
        "{result:?}"
    );
    let record = &instance.outbound_log()[0];
    assert_eq!(record.decision, Verdict::Allowed);
    assert_eq!(record.status, Some(200));
    assert!(record.response_bytes <= limit, "{record:?}");
    assert!(record.response_bytes > limit / 2, "{record:?}");
    assert!(record.error.is_some());
    // Declared too large: refused before the body is read.
    let result = fetch(
        &mut instance,
        json!({ "url": "https://api.cloudflare.com/client/v4/test/huge?declared" }),
    )
    .await;
    assert_eq!(error_code(&result), Some("http-response-body-size"));
    // A HEAD answer declares the GET's length and has no body: not refused.
    let head = fetch(
        &mut instance,
        json!({ "method": "HEAD", "url": "https://api.cloudflare.com/client/v4/test/huge?declared" }),
    )
    .await
    .expect("HEAD is answered");
    assert_eq!(head["status"], 200);
    assert_eq!(head["bytes"], 0);
    // The instance itself is fine.
    let answer = fetch(
        &mut instance,
        json!({ "url": "https://developers.cloudflare.com/llms.txt" }),
    )
    .await
    .expect("the same instance still works");
    assert_eq!(answer["status"], 200);

    // A lower limit is the host's to set.
    let mut config = sandbox(&fake);
    config.limits.max_response_bytes = 1024;
    let mut instance = hostile(&config).await;
    let result = fetch(
        &mut instance,
        json!({ "url": "https://developers.cloudflare.com/llms.txt" }),
    )
    .await;
    assert_eq!(error_code(&result), Some("http-response-body-size"));
    assert_survives(&fake).await;
}

#[tokio::test]
async fn redirects_reach_the_guest_and_are_not_followed() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut instance = hostile(&sandbox(&fake)).await;
    let answer = fetch(
        &mut instance,
        json!({ "url": "https://api.cloudflare.com/client/v4/test/redirect" }),
    )
    .await
    .expect("the 302 itself is the answer");
    assert_eq!(answer["status"], 302);
    assert_eq!(answer["location"], "https://denied.test/stolen");
    assert_eq!(fake.requests().len(), 1, "nothing followed the redirect");
    let log = instance.outbound_log();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].status, Some(302));
    // Following it is the guest's own new request, decided like any other.
    let result = fetch(
        &mut instance,
        json!({ "url": "https://denied.test/stolen" }),
    )
    .await;
    assert!(matches!(result, Err(PluginError::DeniedByHost(_))));
    assert_survives(&fake).await;
}

/// Answers fixed addresses for the allowed names, and remembers what it was asked.
struct SpyResolver {
    answers: Vec<(&'static str, Vec<SocketAddr>)>,
    asked: Arc<Mutex<Vec<String>>>,
}

impl Resolve for SpyResolver {
    fn resolve(
        &self,
        host: &str,
        _port: u16,
    ) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<SocketAddr>>> + Send>> {
        self.asked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(host.to_string());
        let answer = self
            .answers
            .iter()
            .find(|(name, _)| *name == host)
            .map(|(_, addresses)| addresses.clone())
            .ok_or_else(|| std::io::Error::other("unknown name"));
        Box::pin(async move { answer })
    }
}

#[tokio::test]
async fn allowed_names_resolving_to_internal_addresses_are_refused_before_connecting() {
    // A listener that would see any connection: the API name "resolves" to it.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("non-blocking");
    let trap = listener.local_addr().expect("address");
    let cases: [(&str, Vec<SocketAddr>); 6] = [
        (API_HOST, vec![trap]),
        (
            DOCS_HOST,
            vec!["169.254.169.254:443".parse().expect("address")],
        ),
        (
            DOCS_HOST,
            vec!["[fd00:ec2::254]:443".parse().expect("address")],
        ),
        (DOCS_HOST, vec!["100.64.0.1:443".parse().expect("address")]),
        (
            DOCS_HOST,
            vec!["[::ffff:10.0.0.1]:443".parse().expect("address")],
        ),
        // One internal answer among public ones is enough (DNS rebinding).
        (
            API_HOST,
            vec![
                "104.16.132.229:443".parse().expect("address"),
                "192.168.1.1:443".parse().expect("address"),
            ],
        ),
    ];
    for (host, addresses) in cases {
        let asked = Arc::new(Mutex::new(Vec::new()));
        let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
        // No upstream: the policy's real path, where the host resolves the name itself.
        let config = SandboxConfig {
            policy: OutboundPolicy::cloudflare(),
            resolver: Resolver::custom(SpyResolver {
                answers: vec![(host, addresses.clone())],
                asked: asked.clone(),
            }),
            ..sandbox(&fake)
        };
        let mut instance = hostile(&config).await;
        let path = if host == API_HOST {
            "/client/v4/user/tokens/verify"
        } else {
            "/llms.txt"
        };
        let result = fetch(
            &mut instance,
            json!({ "url": format!("https://{host}{path}") }),
        )
        .await;
        assert_eq!(
            error_code(&result),
            Some("destination-ip-prohibited"),
            "{host} -> {addresses:?}: {result:?}"
        );
        assert_eq!(
            *asked.lock().unwrap_or_else(|e| e.into_inner()),
            [host],
            "the host resolved the name itself"
        );
        let log = instance.outbound_log();
        assert_eq!(log[0].deny_code.as_deref(), Some("address_not_allowed"));
        assert!(!log[0].token_injected, "the token did not leave");
        assert!(!format!("{result:?}").contains(TOKEN));
        assert!(fake.requests().is_empty());
        assert_survives(&fake).await;
    }
    assert!(
        listener.accept().is_err(),
        "no connection was made to the internal address"
    );
}

#[tokio::test]
async fn outbound_records_say_what_happened_and_never_hold_the_token() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut instance = hostile(&sandbox(&fake)).await;
    fetch(
        &mut instance,
        json!({
            "url": "https://api.cloudflare.com/client/v4/zones?per_page=5",
            "headers": { "Authorization": "Bearer forged-by-the-guest" },
        }),
    )
    .await
    .expect("allowed");
    let _ = fetch(
        &mut instance,
        json!({ "method": "DELETE", "url": "https://api.cloudflare.com/client/v4/zones/x" }),
    )
    .await;
    let log = instance.outbound_log();
    let allowed = &log[0];
    assert_eq!(allowed.method, "GET");
    assert_eq!(allowed.host, API_HOST);
    assert_eq!(allowed.path, "/client/v4/zones");
    assert_eq!(allowed.query.as_deref(), Some("per_page=5"));
    assert_eq!(allowed.decision, Verdict::Allowed);
    assert_eq!(allowed.status, Some(200));
    assert!(allowed.response_bytes > 0);
    assert!(allowed.token_injected);
    assert_eq!(
        allowed.token_echoed, 0,
        "all-permissions never echoes the token"
    );
    assert_eq!(allowed.upstream.as_deref(), Some(fake.url().as_str()));
    let denied = &log[1];
    assert_eq!(denied.decision, Verdict::Denied);
    assert_eq!(denied.deny_code.as_deref(), Some("method_not_allowed"));
    assert_eq!(denied.status, None);

    let serialized = serde_json::to_value(&log).expect("records serialise");
    let text = serialized.to_string();
    assert!(!text.contains(TOKEN), "{text}");
    assert!(!text.contains("forged-by-the-guest"), "{text}");
    let keys: Vec<&str> = serialized[0]
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    for key in [
        "method",
        "url",
        "host",
        "path",
        "query",
        "decision",
        "denied",
        "deny_code",
        "upstream",
        "token_injected",
        "token_echoed",
        "status",
        "response_bytes",
        "duration_ms",
        "error",
    ] {
        assert!(keys.contains(&key), "{key} in {keys:?}");
    }
    assert_eq!(serialized[0]["decision"], "allowed");
    assert_eq!(serialized[1]["decision"], "denied");
}

fn temp_file(name: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("cf-{name}-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

fn read_lines(path: &std::path::Path) -> (String, Vec<Value>) {
    let text = std::fs::read_to_string(path).expect("the audit log exists");
    let lines = text
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is JSON"))
        .collect();
    (text, lines)
}

#[tokio::test]
async fn the_audit_log_records_each_call_and_its_requests_and_never_the_token() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let path = temp_file("audit-sandbox");
    let token = host_harness::ApiToken::new(TOKEN, "test").expect("token");
    let config = SandboxConfig {
        audit_log: Some(Arc::new(
            host_harness::AuditLog::open(&path, Some(token)).expect("opens"),
        )),
        ..sandbox(&fake)
    };
    let mut instance = hostile(&config).await;
    // A compromised guest hands the token back as an argument and a header of its own.
    fetch(
        &mut instance,
        json!({
            "url": "https://api.cloudflare.com/client/v4/zones?per_page=5",
            "headers": { "Authorization": format!("Bearer {TOKEN}") },
            "api_token": TOKEN,
            "note": format!("leaked {TOKEN} here"),
        }),
    )
    .await
    .expect("allowed");
    let _ = fetch(
        &mut instance,
        json!({ "method": "DELETE", "url": "https://api.cloudflare.com/client/v4/zones/x" }),
    )
    .await;
    let _ = fetch(&mut instance, json!({ "url": "https://example.com/" })).await;
    let spin = instance.call_tool("spin", "{}").await;
    assert!(matches!(spin, Err(CallError::CpuLimit(_))), "{spin:?}");

    let (text, lines) = read_lines(&path);
    assert!(!text.contains(TOKEN), "{text}");
    let calls: Vec<&Value> = lines.iter().filter(|l| l["type"] == "call").collect();
    let requests: Vec<&Value> = lines.iter().filter(|l| l["type"] == "request").collect();
    assert_eq!(calls.len(), 4, "{text}");
    assert_eq!(requests.len(), 3, "{text}");
    for call in &calls {
        assert_eq!(call["function"], "call-tool");
        assert!(call["duration_ms"].is_u64());
    }
    assert_eq!(calls[0]["arguments"]["name"], "fetch");
    assert_eq!(
        calls[0]["arguments"]["arguments"]["api_token"],
        "[REDACTED]"
    );
    assert_eq!(
        calls[0]["arguments"]["arguments"]["note"],
        "leaked [REDACTED] here"
    );
    assert_eq!(
        calls[0]["arguments"]["arguments"]["url"],
        "https://api.cloudflare.com/client/v4/zones?per_page=5"
    );
    assert_eq!(calls[0]["outcome"], "ok");
    assert_eq!(calls[0]["requests"], 1);
    assert_eq!(calls[3]["outcome"], "cpu-limit");
    assert_eq!(calls[3]["requests"], 0);

    // Each request line follows its call's line.
    assert_eq!(lines[1]["type"], "request");
    let allowed = requests[0];
    assert_eq!(allowed["method"], "GET");
    assert_eq!(allowed["host"], API_HOST);
    assert_eq!(allowed["path"], "/client/v4/zones");
    assert_eq!(allowed["query"], "per_page=5");
    assert_eq!(allowed["status"], 200);
    assert_eq!(allowed["decision"], "allowed");
    assert_eq!(allowed["token_injected"], true);
    assert!(allowed["response_bytes"].as_u64().expect("bytes") > 0);
    assert!(allowed["duration_ms"].is_u64());
    assert_eq!(requests[1]["decision"], "denied");
    assert_eq!(requests[1]["deny_code"], "method_not_allowed");
    assert_eq!(requests[2]["decision"], "denied");
    assert_eq!(requests[2]["host"], "example.com");
    assert!(
        requests[2]["denied"]
            .as_str()
            .is_some_and(|why| !why.is_empty())
    );
    assert!(!text.to_lowercase().contains("bearer"), "{text}");
    let _ = std::fs::remove_file(&path);
}

/// The peers (client addresses, one per connection) the fake saw requests from.
fn peers(requests: &[cf_fake::RecordedRequest]) -> std::collections::BTreeSet<SocketAddr> {
    requests
        .iter()
        .map(|r| r.peer.expect("the fake records the peer"))
        .collect()
}

#[tokio::test]
async fn an_instance_reuses_its_connections_and_never_shares_them() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let config = sandbox(&fake);
    let services = crate::common::ALL_SERVICES;
    let mut first = connected(&config, &services).await;
    let report = first.verify().await.expect("no trap").expect("a report");
    assert!(report.ready, "{report:?}");
    let first_call = fake.requests();
    assert!(first_call.len() >= 8, "{}", first_call.len());
    // Both hosts go to the one fake here, so one connection carries the whole call.
    assert_eq!(peers(&first_call).len(), 1, "{:?}", peers(&first_call));
    // Reuse changes nothing per request: the token went to the API only.
    for request in &first_call {
        let authorized = request.header("authorization") == Some(&format!("Bearer {TOKEN}"));
        assert_eq!(authorized, request.host == API_HOST, "{}", request.path);
    }

    // The next call of the instance goes on over the same connection.
    first.verify().await.expect("no trap").expect("a report");
    assert_eq!(peers(&fake.requests()), peers(&first_call));

    // Another instance never gets the first one's connections.
    let mut second = connected(&config, &services).await;
    second.verify().await.expect("no trap").expect("a report");
    let second_call = &fake.requests()[2 * first_call.len()..];
    assert!(
        peers(second_call).is_disjoint(&peers(&first_call)),
        "{:?}",
        peers(second_call)
    );
}

#[tokio::test]
async fn graphql_analytics_has_typed_calls_and_the_audit_log_records_them_as_json() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let path = temp_file("audit-typed");
    let mut config = sandbox(&fake);
    let token = config.token.clone();
    config.audit_log = Some(Arc::new(
        host_harness::AuditLog::open(&path, token).expect("opens"),
    ));
    let mut instance = connected(&config, &[Service::GraphqlAnalytics]).await;
    let found = instance
        .schema_search("country", Some(10))
        .await
        .expect("no trap")
        .expect("hits");
    assert!(
        found.hits.iter().any(|h| h.name == "clientCountryName"),
        "{:?}",
        found.hits.iter().map(|h| &h.name).collect::<Vec<_>>()
    );
    let described = instance
        .describe_type("ZoneHttpRequestsAdaptiveGroupsDimensions")
        .await
        .expect("no trap")
        .expect("type");
    assert!(
        described
            .fields
            .iter()
            .any(|f| f.name == "clientCountryName")
    );
    assert!(described.from_cache, "the schema was fetched once");
    let (text, lines) = read_lines(&path);
    let calls: Vec<&Value> = lines.iter().filter(|l| l["type"] == "call").collect();
    let functions: Vec<&str> = calls
        .iter()
        .filter_map(|c| c["function"].as_str())
        .collect();
    assert_eq!(
        functions,
        ["connect", "schema-search", "describe-type"],
        "{text}"
    );
    assert_eq!(calls[1]["arguments"]["words"], "country");
    assert_eq!(calls[1]["outcome"], "ok");
    assert_eq!(
        calls[0]["arguments"]["enabled_services"],
        json!(["GraphqlAnalytics"])
    );
    for debug in ["::", "{ ", "Some("] {
        assert!(!text.contains(debug), "{text}");
    }
    let _ = std::fs::remove_file(&path);
}

/// `serve`'s harness: instances made in slots reserved at load. Each works like any other; when
/// every slot is taken, instantiating is an error that says so, and a dropped instance frees its
/// slot.
#[tokio::test]
async fn a_pooled_harness_serves_from_its_slots_and_says_when_they_are_full() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let config = sandbox(&fake);
    let pooled = host_harness::Harness::load_pooled(
        &cf_fake::built_component("cloudflare_connector.wasm"),
        None,
        Some(host_harness::InstancePool {
            instances: 2,
            memory_bytes: config.limits.memory_bytes,
        }),
    )
    .expect("the plugin loads into a pool");
    let mut first = pooled.instantiate(&config).await.expect("a first slot");
    let second = pooled.instantiate(&config).await.expect("a second slot");
    let full = pooled.instantiate(&config).await;
    let Err(error) = full else {
        panic!("a third instance in a pool of two");
    };
    assert!(format!("{error:#}").contains("limit"), "{error:#}");
    let tools = first.list_tools().await.expect("a pooled instance runs");
    assert!(!tools.is_empty());
    drop(second);
    pooled
        .instantiate(&config)
        .await
        .expect("a dropped instance frees its slot");
}

/// The value of each response header named `name` the guest read (`fetch-all`'s `headers`).
fn header_values<'a>(read: &'a Value, name: &str) -> Vec<&'a str> {
    read["headers"]
        .as_array()
        .expect("headers")
        .iter()
        .filter(|pair| {
            pair[0]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        })
        .filter_map(|pair| pair[1].as_str())
        .collect()
}

/// An upstream that quotes the request back (scenario `echoes-authorization`: two headers and
/// the JSON body, the verify answer 5 bytes at a time) hands the guest none of the token: every
/// header it read holds `[REDACTED]` where the token was, the body a marker as long as the
/// token (`[REDACTED***…]`), and both still parse.
#[tokio::test]
async fn an_upstream_echoing_the_token_hands_the_guest_none_of_it() {
    let fake = FakeCloudflare::spawn(Scenario::EchoesAuthorization);
    let mut instance = hostile(&sandbox(&fake)).await;
    let bearer = format!("Bearer {TOKEN}");
    let paths = ["/client/v4/user/tokens/verify", "/client/v4/zones"];
    for path in paths {
        let url = format!("https://{API_HOST}{path}");
        let text = instance
            .call_tool("fetch-all", &json!({ "url": url }).to_string())
            .await
            .expect("no trap")
            .expect("allowed");
        // Everything the guest read, as it handed it back.
        for form in [
            TOKEN.to_string(),
            TOKEN.to_ascii_lowercase(),
            "f3b2a9e7d4c6b1a".into(),
        ] {
            assert!(
                !text.contains(&form),
                "{path}: the guest read the token: {text}"
            );
        }
        let read: Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(read["status"], 200, "{path}");
        assert_eq!(
            header_values(&read, cf_fake::ECHO_HEADER),
            ["Bearer [REDACTED]"],
            "{path}"
        );
        let quoted = header_values(&read, cf_fake::REQUEST_HEADERS_HEADER);
        assert_eq!(
            quoted,
            ["host=api.cloudflare.com; authorization=Bearer [REDACTED]; accept=*/*"],
            "{path}"
        );
        // The marker is as long as the token: the body keeps its length, and the Content-Length
        // the upstream declared stays true (the guest sizes its buffer from it).
        let body_text = read["body"].as_str().expect("body");
        assert_eq!(read["bytes"], body_text.len(), "{path}");
        for declared in header_values(&read, "content-length") {
            assert_eq!(declared, body_text.len().to_string(), "{path}");
        }
        let body: Value = serde_json::from_str(body_text).expect("the body is whole JSON");
        let marker =
            String::from_utf8(host_harness::credentials::body_marker(TOKEN.len())).expect("ASCII");
        assert_eq!(
            body[cf_fake::ECHO_KEY]["authorization"],
            format!("Bearer {marker}")
        );
        assert_eq!(body["success"], true, "{path}");
    }
    // The docs host never gets the token, so its answers are not scrubbed.
    let docs = fetch(
        &mut instance,
        json!({ "url": format!("https://{DOCS_HOST}/llms.txt") }),
    )
    .await
    .expect("allowed");
    assert_eq!(docs["status"], 200);

    // The precondition: the fake did receive the token, and echoed it; without the scrub the
    // guest would have read it (the fake's own test shows the echo: `echo.rs`).
    let requests = fake.requests();
    assert_eq!(requests.len(), 3);
    for request in &requests[..2] {
        assert_eq!(request.header("authorization"), Some(bearer.as_str()));
    }
    assert_eq!(requests[2].header("authorization"), None);
    // The host's records say how often it came back (two headers and the body), never what.
    let log = instance.outbound_log();
    for record in &log[..2] {
        assert!(record.token_injected, "{}", record.path);
        assert_eq!(record.token_echoed, 3, "{}", record.path);
        assert_eq!(record.error, None, "{}", record.path);
    }
    assert!(!log[2].token_injected);
    assert_eq!(log[2].token_echoed, 0);
    let serialized = serde_json::to_string(&log).expect("records serialise");
    assert!(!serialized.contains(TOKEN), "{serialized}");
}
