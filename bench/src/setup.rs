//! Set-up, as tests/tests/integration/common.rs does it: the sandbox sent to the fake, a
//! connected instance, one `verify`, a temporary directory.

use anyhow::{Context as _, anyhow, bail};
use cf_fake::{ACCOUNT_ID, FakeCloudflare, TOKEN};
use host_harness::outbound::policy::{API_HOST, DOCS_HOST};
use host_harness::{
    ApiToken, CallError, ConnectOptions, Harness, OutboundPolicy, PluginInstance, SandboxConfig,
    Service,
};
use std::path::PathBuf;

const ALL_SERVICES: [Service; 3] = [
    Service::Documentation,
    Service::DnsAnalytics,
    Service::GraphqlAnalytics,
];
pub(crate) const ENABLED_SERVICES: &str = "Documentation,DNS Analytics,GraphQL Analytics";

/// The sandbox as `cf-harness` sets it up, with both Cloudflare hosts sent to the fake.
pub(crate) fn sandbox(fake: &FakeCloudflare) -> anyhow::Result<SandboxConfig> {
    let policy = OutboundPolicy::cloudflare()
        .with_upstream(&format!("{API_HOST}={}", fake.url()))
        .and_then(|p| p.with_upstream(&format!("{DOCS_HOST}={}", fake.url())))
        .map_err(|e| anyhow!("upstream: {e}"))?;
    Ok(SandboxConfig {
        token: Some(ApiToken::new(TOKEN, "bench").map_err(|e| anyhow!("token: {e}"))?),
        policy,
        ..SandboxConfig::default()
    })
}

pub(crate) async fn connected(
    harness: &Harness,
    config: &SandboxConfig,
) -> anyhow::Result<PluginInstance> {
    let mut instance = harness.instantiate(config).await?;
    instance
        .connect(&ConnectOptions {
            account_id: ACCOUNT_ID.to_owned(),
            enabled_services: ALL_SERVICES.to_vec(),
        })
        .await
        .map_err(|e| call_error(e).context("connect"))?
        .map_err(|e| anyhow!("connect: {}", host_harness::front::render::error_text(&e)))?;
    Ok(instance)
}

/// A call that did not return, in one line: its typed error says the limit or the trap's cause
/// (never the backtrace).
pub(crate) fn call_error(error: CallError) -> anyhow::Error {
    anyhow!("{error}")
}

/// One `verify`, which must find the fake's account ready.
pub(crate) async fn verify(instance: &mut PluginInstance) -> anyhow::Result<()> {
    let report = instance
        .verify()
        .await
        .map_err(|e| call_error(e).context("verify"))?
        .map_err(|e| anyhow!("verify: {}", host_harness::front::render::error_text(&e)))?;
    if !report.ready {
        bail!("verify did not find the fake account ready");
    }
    Ok(())
}

/// A directory under the system's temporary folder, removed when dropped.
pub(crate) struct TempDir(pub(crate) PathBuf);

impl TempDir {
    pub(crate) fn new(name: &str) -> anyhow::Result<Self> {
        let path = std::env::temp_dir().join(format!("cf-bench-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        Ok(TempDir(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
