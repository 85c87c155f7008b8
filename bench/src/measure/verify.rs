//! `verify`: sandboxed against a native client sending the same requests, and `cf-harness
//! verify` as a whole process.

use super::Bench;
use crate::replay::{Replay, replay, request_line};
use crate::report::{Row, Unit, at_most, below, median, median_seconds};
use crate::setup::{ENABLED_SERVICES, TempDir, connected, verify};
use anyhow::{Context as _, bail};
use cf_fake::{ACCOUNT_ID, FakeCloudflare, TOKEN};
use host_harness::outbound::policy::{API_HOST, DOCS_HOST};
use host_harness::{Harness, SandboxConfig};
use serde_json::{Value, json};
use std::process::Command;
use std::time::{Duration, Instant};

impl Bench {
    /// Measurement 4: `verify` in the sandbox, and the same requests from a native client.
    pub(crate) async fn verify(
        &mut self,
        harness: &Harness,
        config: &SandboxConfig,
        fake: &FakeCloudflare,
    ) -> anyhow::Result<()> {
        // The first GraphQL request builds the fake's schema: not part of any run. This verify's
        // requests are the ones the native client sends.
        let mut instance = connected(harness, config).await?;
        fake.clear_requests();
        verify(&mut instance).await?;
        let recorded = fake.requests();
        let requests = recorded
            .iter()
            .map(Replay::from_recorded)
            .collect::<anyhow::Result<Vec<_>>>()?;
        let summary: Vec<String> = recorded.iter().map(request_line).collect();
        replay(fake.addr(), &requests, false).await?;

        // Sandboxed and native runs alternate, so a change in the machine's load affects both.
        let (mut times, mut peaks) = (Vec::new(), Vec::new());
        let (mut fresh, mut pooled) = (Vec::new(), Vec::new());
        for _ in 0..self.runs.verify {
            let mut instance = connected(harness, config).await?;
            fake.clear_requests();
            let started = Instant::now();
            verify(&mut instance).await?;
            times.push(started.elapsed());
            peaks.push(instance.peak_memory_bytes() as f64);
            let sent: Vec<String> = fake.requests().iter().map(request_line).collect();
            if sent != summary {
                bail!("verify sent other requests than the first time: {sent:?}");
            }
            fresh.push(replay(fake.addr(), &requests, false).await?);
            pooled.push(replay(fake.addr(), &requests, true).await?);
        }
        let sandboxed = median_seconds(&times);
        self.push(Row::new(
            "verify, sandboxed",
            Unit::Seconds,
            sandboxed,
            times.len(),
            None,
        ));
        let native = median_seconds(&pooled);
        let fresh_median = median_seconds(&fresh);
        self.push(Row::new(
            "verify, native client (same requests)",
            Unit::Seconds,
            native,
            self.runs.verify,
            None,
        ));
        self.push(Row::new(
            "verify, sandboxed / native",
            Unit::Ratio,
            sandboxed / native,
            self.runs.verify,
            at_most(1.2),
        ));
        self.push(Row::new(
            "verify, native, a connection each (info)",
            Unit::Seconds,
            fresh_median,
            self.runs.verify,
            None,
        ));
        self.push(Row::new(
            "verify, peak linear memory",
            Unit::Bytes,
            median(&mut peaks),
            self.runs.verify,
            None,
        ));
        self.note(format!(
            "verify sends {} requests, in order: {}",
            recorded.len(),
            summary.join(", ")
        ));
        self.note(format!(
            "native client: hyper http1 keeping its connection alive, as the sandbox's host \
             does (the ratio's denominator); with a new connection per request it takes {}",
            Unit::Seconds.format(fresh_median),
        ));
        Ok(())
    }

    /// Measurement 5: `cf-harness verify --json` as a whole process, compile cache warm.
    pub(crate) fn process(&mut self, fake: &FakeCloudflare) -> anyhow::Result<()> {
        if !self.cf_harness.exists() {
            bail!(
                "no {} (run `cargo build --release -p host-harness`)",
                self.cf_harness.display()
            );
        }
        let cache = TempDir::new("process-cache")?;
        let run = || -> anyhow::Result<Duration> {
            let started = Instant::now();
            let output = Command::new(&self.cf_harness)
                .env("CLOUDFLARE_API_TOKEN", TOKEN)
                .env("CLOUDFLARE_ACCOUNT_ID", ACCOUNT_ID)
                .env("ENABLED_SERVICES", ENABLED_SERVICES)
                .env("CF_HARNESS_CACHE_DIR", &cache.0)
                .arg("--plugin")
                .arg(&self.plugin)
                .arg("--upstream")
                .arg(format!("{API_HOST}={}", fake.url()))
                .arg("--upstream")
                .arg(format!("{DOCS_HOST}={}", fake.url()))
                .args(["verify", "--json"])
                .output()?;
            let elapsed = started.elapsed();
            if !output.status.success() {
                bail!(
                    "cf-harness verify exited with {}: {}{}",
                    output.status,
                    String::from_utf8_lossy(&output.stdout),
                    String::from_utf8_lossy(&output.stderr)
                );
            }
            let report: Value = serde_json::from_slice(&output.stdout)
                .context("cf-harness verify --json printed no JSON")?;
            if report["ready"] != json!(true) {
                bail!("cf-harness verify: not ready");
            }
            Ok(elapsed)
        };
        let primed = run()?;
        let cached = std::fs::read_dir(&cache.0)?.filter_map(Result::ok).count();
        if cached == 0 {
            bail!("cf-harness wrote nothing to CF_HARNESS_CACHE_DIR (does it read that variable?)");
        }
        let mut times = Vec::new();
        for _ in 0..self.runs.process {
            times.push(run()?);
        }
        self.push(Row::new(
            "cf-harness verify process, cache warm",
            Unit::Seconds,
            median_seconds(&times),
            times.len(),
            below(50e-3),
        ));
        self.note(format!(
            "cf-harness verify process, first run (compiling into an empty cache): {}",
            Unit::Seconds.format(primed.as_secs_f64())
        ));
        Ok(())
    }
}
