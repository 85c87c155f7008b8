//! Serving: `cf-harness serve` as a process, driven over Streamable HTTP by the official Rust
//! SDK's client, against `cf-harness mcp` over stdio: a verify call's latency both ways, sessions
//! opened per second, resident memory per idle session, and verify's p50 and p99 with 100
//! sessions calling at once.

use super::Bench;
use crate::report::{MIB, Row, Unit, at_most, median_seconds};
use anyhow::Context as _;
use cf_fake::{ACCOUNT_ID, FakeCloudflare, TOKEN};
use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::service::{RoleClient, RunningService};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{ConfigureCommandExt, StreamableHttpClientTransport, TokioChildProcess};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SERVICES: &str = "Documentation,DNS Analytics";
/// Sessions opened for the memory and concurrency figures.
const SESSIONS: usize = 100;

type Client = RunningService<RoleClient, ()>;

/// A `cf-harness serve` process, killed when dropped.
struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(
        cf_harness: &std::path::Path,
        plugin: &std::path::Path,
        fake: &FakeCloudflare,
    ) -> anyhow::Result<Server> {
        let mut child = Command::new(cf_harness)
            .env_remove("CLOUDFLARE_API_TOKEN")
            .arg("--plugin")
            .arg(plugin)
            .arg("--upstream")
            .arg(format!("api.cloudflare.com={}", fake.url()))
            .arg("--upstream")
            .arg(format!("developers.cloudflare.com={}", fake.url()))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(["--max-sessions", "1000", "--max-sessions-per-token", "1000"])
            // The bench makes far more requests than Cloudflare's per-user budget allows.
            .args([
                "--budget-api-requests",
                "1000000",
                "--budget-graphql-queries",
                "1000000",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("starting cf-harness serve")?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().context("stdout")?).read_line(&mut line)?;
        Ok(Server {
            child,
            url: line.trim().to_string(),
        })
    }

    async fn ready(&self) -> anyhow::Result<()> {
        let ready = self.url.trim_end_matches("/mcp").to_string() + "/readyz";
        for _ in 0..600 {
            if reqwest::get(&ready).await.is_ok_and(|r| r.status() == 200) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        anyhow::bail!("serve never became ready")
    }

    async fn session(&self) -> anyhow::Result<Client> {
        let headers = HashMap::from([
            ("x-cloudflare-account-id".parse()?, ACCOUNT_ID.parse()?),
            ("x-cloudflare-enabled-services".parse()?, SERVICES.parse()?),
        ]);
        let config = StreamableHttpClientTransportConfig::with_uri(self.url.as_str())
            .auth_header(TOKEN)
            .custom_headers(headers);
        let transport = StreamableHttpClientTransport::with_client(reqwest::Client::new(), config);
        Ok(().serve(transport).await?)
    }

    /// Resident memory of the process, from /proc.
    fn resident_bytes(&self) -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let kib: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        Some(kib * 1024.0)
    }
}

async fn verify(client: &Client) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let result = client
        .call_tool(CallToolRequestParams::new("verify"))
        .await?;
    anyhow::ensure!(result.is_error != Some(true), "verify failed: {result:?}");
    Ok(started.elapsed())
}

/// The median of `calls` verify calls in one session (after one to warm it), which then ends.
async fn median_verify(client: Client, calls: usize) -> anyhow::Result<f64> {
    verify(&client).await?;
    let mut times = Vec::new();
    for _ in 0..calls {
        times.push(verify(&client).await?);
    }
    client.cancel().await?;
    Ok(median_seconds(&times))
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)].as_secs_f64()
}

impl Bench {
    /// Measurement 8: serving many sessions over HTTP.
    pub(crate) async fn serving(&mut self, fake: &FakeCloudflare) {
        if let Err(error) = self.serving_measured(fake).await {
            self.push(Row::failed(
                "serve: tools/call verify, HTTP / stdio",
                Unit::Ratio,
                &error,
                at_most(1.3),
            ));
        }
    }

    async fn serving_measured(&mut self, fake: &FakeCloudflare) -> anyhow::Result<()> {
        let calls = self.runs.verify;
        // stdio: one `cf-harness mcp` session.
        let stdio = {
            let command = tokio::process::Command::new(&self.cf_harness).configure(|c| {
                c.env("CLOUDFLARE_API_TOKEN", TOKEN)
                    .env("CLOUDFLARE_ACCOUNT_ID", ACCOUNT_ID)
                    .env("ENABLED_SERVICES", SERVICES)
                    .arg("--plugin")
                    .arg(&self.plugin)
                    .arg("--upstream")
                    .arg(format!("api.cloudflare.com={}", fake.url()))
                    .arg("--upstream")
                    .arg(format!("developers.cloudflare.com={}", fake.url()))
                    .arg("mcp");
            });
            let (transport, _) = TokioChildProcess::builder(command)
                .stderr(Stdio::null())
                .spawn()?;
            median_verify(().serve(transport).await?, calls).await?
        };

        let server = Server::start(&self.cf_harness, &self.plugin, fake)?;
        server.ready().await?;
        let http = median_verify(server.session().await?, calls).await?;
        let mut ratio = Row::new(
            "serve: tools/call verify, HTTP / stdio",
            Unit::Ratio,
            http / stdio,
            calls,
            at_most(1.3),
        );
        ratio.remark = Some(format!(
            "({} over HTTP, {} over stdio)",
            Unit::Seconds.format(http),
            Unit::Seconds.format(stdio)
        ));
        self.push(ratio);

        // Sessions opened one after another: initialize, and the first call that makes the
        // session's instance.
        let before = server.resident_bytes();
        let started = Instant::now();
        let mut sessions = Vec::new();
        for _ in 0..SESSIONS {
            let client = server.session().await?;
            client.list_all_tools().await?;
            sessions.push(client);
        }
        let opened = started.elapsed();
        self.push(Row::new(
            "serve: sessions opened (with their instance)",
            Unit::PerSecond,
            SESSIONS as f64 / opened.as_secs_f64(),
            SESSIONS,
            None,
        ));
        // Memory per idle session: what the process grew by, over the sessions it now holds.
        tokio::time::sleep(Duration::from_millis(200)).await;
        match (before, server.resident_bytes()) {
            (Some(before), Some(after)) => self.push(Row::new(
                "serve: resident memory per idle session",
                Unit::Bytes,
                (after - before).max(0.0) / SESSIONS as f64,
                SESSIONS,
                at_most(2.0 * MIB),
            )),
            _ => self.note("serve: no /proc/PID/status here, so no memory figure".to_string()),
        }

        // 100 sessions calling verify at once, a few rounds.
        let rounds = if calls > 10 { 5 } else { 1 };
        let mut latencies = Vec::new();
        let sessions = std::sync::Arc::new(sessions);
        for _ in 0..rounds {
            let tasks: Vec<_> = (0..SESSIONS)
                .map(|i| {
                    let sessions = sessions.clone();
                    tokio::spawn(async move { verify(&sessions[i]).await })
                })
                .collect();
            for task in tasks {
                latencies.push(task.await??);
            }
        }
        latencies.sort();
        let p50 = percentile(&latencies, 0.50);
        let p99 = percentile(&latencies, 0.99);
        let mut row = Row::new(
            "serve: verify p99, 100 sessions at once",
            Unit::Seconds,
            p99,
            latencies.len(),
            None,
        );
        row.remark = Some(format!("(p50 {})", Unit::Seconds.format(p50)));
        self.push(row);
        self.note(format!(
            "serve: cf-harness serve and cf-harness mcp as processes, the official Rust SDK's \
             client over Streamable HTTP and stdio; memory is VmRSS growth over {SESSIONS} \
             sessions that each made one call; p99 over {} verify calls, {SESSIONS} at a time",
            latencies.len()
        ));
        Ok(())
    }
}
