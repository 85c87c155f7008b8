//! What the sandbox lets a plugin do, proven with the real plugin and a hostile component.

mod common;

use cf_fake::{FakeCloudflare, Scenario, TOKEN};
use common::{check, connected, hostile_harness, sandbox};
use host_harness::policy::API_HOST;
use host_harness::runtime::{CheckStatus, PluginError, Service};
use host_harness::{CallError, Limits, PluginInstance, SandboxConfig};
use serde_json::{Value, json};
use std::time::Duration;

async fn hostile(config: &SandboxConfig) -> PluginInstance {
    hostile_harness()
        .instantiate(config)
        .await
        .expect("instantiates")
}

async fn fetch(instance: &mut PluginInstance, args: Value) -> Result<Value, PluginError> {
    let result = instance
        .call_tool("fetch", &args.to_string())
        .await
        .expect("no trap");
    result.map(|json| serde_json::from_str(&json).expect("JSON"))
}

#[tokio::test]
async fn a_host_off_the_allow_list_is_denied_and_surfaces_as_denied_by_host() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut config = sandbox(&fake);
    config.policy = config.policy.allow_only(&[API_HOST]);
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
}

#[tokio::test]
async fn writes_other_hosts_and_plain_http_are_denied_before_leaving_the_host() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut instance = hostile(&sandbox(&fake)).await;
    let attempts = [
        json!({ "method": "DELETE", "url": "https://api.cloudflare.com/client/v4/zones/234234243423aaabb334342aaa343433" }),
        json!({ "method": "POST", "url": "https://api.cloudflare.com/client/v4/zones", "body": "{}" }),
        json!({ "method": "PUT", "url": "https://api.cloudflare.com/client/v4/zones/x/dns_records/y", "body": "{}" }),
        json!({ "method": "GET", "url": "https://denied.test/exfiltrate" }),
        json!({ "method": "GET", "url": "https://api.cloudflare.com.denied.test/client/v4/zones" }),
        json!({ "method": "GET", "url": "http://api.cloudflare.com/client/v4/zones" }),
        json!({ "method": "GET", "url": format!("{}/client/v4/zones", fake.url()) }),
        json!({ "method": "GET", "url": "https://api.cloudflare.com:8443/client/v4/zones" }),
    ];
    for (n, attempt) in attempts.iter().enumerate() {
        let result = fetch(&mut instance, attempt.clone()).await;
        assert!(
            matches!(result, Err(PluginError::DeniedByHost(_))),
            "{attempt}: {result:?}"
        );
        let log = instance.outbound_log();
        assert_eq!(log.len(), n + 1);
        assert!(
            log[n].denied.is_some(),
            "{attempt}: the host decided to deny it"
        );
        assert!(!log[n].token_injected);
    }
    assert!(fake.requests().is_empty(), "nothing reached the fake");
}

#[tokio::test]
async fn the_guest_sees_no_token_no_files_and_only_granted_variables() {
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
    for path in ["/etc/passwd", "Cargo.toml", "."] {
        let result = instance
            .call_tool("read-file", &json!({ "path": path }).to_string())
            .await
            .expect("no trap");
        assert!(result.is_err(), "{path} must not be readable: {result:?}");
    }
}

#[tokio::test]
async fn a_call_past_the_memory_limit_traps_and_poisons_the_instance() {
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
    assert!(matches!(big, Err(CallError::Trap(_))), "{big:?}");
    let after = instance.call_tool("allocate", r#"{"mib": 1}"#).await;
    assert!(matches!(after, Err(CallError::Poisoned)), "{after:?}");
}

#[tokio::test]
async fn a_busy_loop_is_stopped_by_the_cpu_limit() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut config = sandbox(&fake);
    config.limits = Limits {
        cpu_time: Duration::from_millis(200),
        ..Limits::default()
    };
    let mut instance = hostile(&config).await;
    let result = instance.call_tool("spin", "{}").await;
    assert!(matches!(result, Err(CallError::Trap(_))), "{result:?}");
}

#[tokio::test]
async fn a_stalled_call_is_stopped_by_the_wall_clock_limit() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut config = sandbox(&fake);
    config.limits = Limits {
        wall_time: Duration::from_millis(300),
        ..Limits::default()
    };
    let mut instance = hostile(&config).await;
    let result = instance.call_tool("sleep", r#"{"ms": 60000}"#).await;
    assert!(matches!(result, Err(CallError::Timeout(_))), "{result:?}");
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
