//! Shared set-up: the real component under the real harness, against the fake Cloudflare.

use cf_fake::{ACCOUNT_ID, FakeCloudflare, RecordedRequest, Scenario, TOKEN, built_component};
use host_harness::outbound::policy::{API_HOST, DOCS_HOST};
use host_harness::{ApiToken, Harness, OutboundPolicy, PluginInstance, SandboxConfig};
use host_harness::{Check, ConnectOptions, PluginError, Service, VerifyReport};
use serde_json::Value;
use std::sync::OnceLock;

pub const ALL_SERVICES: [Service; 3] = [
    Service::Documentation,
    Service::DnsAnalytics,
    Service::GraphqlAnalytics,
];

/// The connector plugin, compiled once for the whole test binary.
pub fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        Harness::load(&built_component("cloudflare_connector.wasm")).expect("plugin loads")
    })
}

/// The hostile test component, compiled once for the whole test binary.
pub fn hostile_harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        Harness::load(&built_component("hostile_plugin.wasm")).expect("hostile component loads")
    })
}

/// The sandbox as `cf-harness` sets it up, with both Cloudflare hosts sent to the fake.
pub fn sandbox(fake: &FakeCloudflare) -> SandboxConfig {
    let policy = OutboundPolicy::cloudflare()
        .with_upstream(&format!("{API_HOST}={}", fake.url()))
        .and_then(|p| p.with_upstream(&format!("{DOCS_HOST}={}", fake.url())))
        .expect("valid upstreams");
    SandboxConfig {
        token: Some(ApiToken::new(TOKEN, "test").expect("valid token")),
        policy,
        ..SandboxConfig::default()
    }
}

pub async fn connected(config: &SandboxConfig, services: &[Service]) -> PluginInstance {
    let mut instance = harness().instantiate(config).await.expect("instantiates");
    instance
        .connect(&ConnectOptions {
            account_id: ACCOUNT_ID.to_string(),
            enabled_services: services.to_vec(),
        })
        .await
        .expect("no trap")
        .expect("valid options");
    instance
}

/// Runs `verify` on a scenario; returns the report and what the fake received.
pub async fn verify_on(
    scenario: Scenario,
    services: &[Service],
) -> (VerifyReport, Vec<RecordedRequest>) {
    let fake = FakeCloudflare::spawn(scenario);
    let mut instance = connected(&sandbox(&fake), services).await;
    let report = instance
        .verify()
        .await
        .expect("no trap")
        .expect("verify returns a report");
    (report, fake.requests())
}

pub fn check<'a>(report: &'a VerifyReport, id: &str) -> &'a Check {
    report
        .checks
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| {
            panic!(
                "no check {id} in {:?}",
                report.checks.iter().map(|c| &c.id).collect::<Vec<_>>()
            )
        })
}

pub fn api_requests(requests: &[RecordedRequest]) -> Vec<&RecordedRequest> {
    requests.iter().filter(|r| r.host == API_HOST).collect()
}

/// Calls a tool and parses its JSON result; a trap fails the test.
pub async fn tool(
    instance: &mut PluginInstance,
    name: &str,
    args: Value,
) -> Result<Value, PluginError> {
    instance
        .call_tool(name, &args.to_string())
        .await
        .expect("no trap")
        .map(|text| serde_json::from_str(&text).expect("tool results are JSON"))
}
