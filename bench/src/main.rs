//! `cf-bench` (`make bench`): how fast the connector is in its sandbox, offline, against the
//! fake Cloudflare on loopback, in-process. Prints the machine, then one table: each
//! measurement's median over repeated runs, its target and whether it was met; writes the same
//! as JSON to `target/bench.json`. Exits 0 when targets are missed (the table says so); only a
//! broken set-up (no component, no fake) is an error.

mod calls;
mod cli;
mod machine;
mod replay;
mod report;
mod setup;

use anyhow::{Context as _, anyhow, bail};
use calls::Call;
use cf_fake::{ACCOUNT_ID, FakeCloudflare, Scenario, TOKEN};
use clap::Parser;
use cli::{Cli, Runs};
use host_harness::policy::{API_HOST, DOCS_HOST};
use host_harness::{CompileCache, Harness, LoadSource, SandboxConfig};
use machine::Machine;
use replay::{Replay, replay, request_line};
use report::{KIB, MIB, Row, Target, Unit, at_most, below, median, median_seconds, table};
use serde_json::{Value, json};
use setup::{ENABLED_SERVICES, TempDir, connected, sandbox, verify};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// What the fake's GraphQL answers are inflated to for the large-answer measurements.
const LARGE_ANSWER_BYTES: usize = 5 * 1024 * 1024;
/// The memory limit of the re-run, when a large answer exhausted the default one.
const ROOMY_MEMORY: usize = 512 * 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Measurements

struct Bench {
    plugin: PathBuf,
    cf_harness: PathBuf,
    runs: Runs,
    rows: Vec<Row>,
    notes: Vec<String>,
}

impl Bench {
    fn push(&mut self, row: Row) {
        self.rows.push(row);
    }

    fn note(&mut self, note: String) {
        self.notes.push(note);
    }

    /// Measurement 1: the component's size.
    fn size(&mut self) -> anyhow::Result<()> {
        let bytes = std::fs::metadata(&self.plugin)
            .with_context(|| {
                format!(
                    "no component at {} (run `make plugin`)",
                    self.plugin.display()
                )
            })?
            .len();
        self.push(Row::new(
            "component size",
            Unit::Bytes,
            bytes as f64,
            1,
            Some(Target {
                limit: MIB,
                inclusive: false,
                aim: Some(500.0 * KIB),
            }),
        ));
        Ok(())
    }

    /// Measurement 2: loading, compiled from scratch and from a warm compile cache (then
    /// instantiated).
    async fn load(&mut self, config: &SandboxConfig) -> anyhow::Result<Harness> {
        let mut compiled = Vec::new();
        for _ in 0..self.runs.compile {
            let started = Instant::now();
            let harness = Harness::load_with(&self.plugin, None)?;
            compiled.push(started.elapsed());
            drop(harness);
        }
        self.push(Row::new(
            "load, compiled (no cache)",
            Unit::Seconds,
            median_seconds(&compiled),
            compiled.len(),
            None,
        ));

        let dir = TempDir::new("cache")?;
        let cache = CompileCache::new(&dir.0);
        let primed = Harness::load_with(&self.plugin, Some(&cache))?;
        if primed.loaded_from() != LoadSource::CompiledAndCached {
            bail!(
                "priming the compile cache: loaded from {:?}",
                primed.loaded_from()
            );
        }
        drop(primed);
        let (mut loads, mut totals) = (Vec::new(), Vec::new());
        let mut harness = None;
        for _ in 0..self.runs.cached_load {
            let started = Instant::now();
            let loaded = Harness::load_with(&self.plugin, Some(&cache))?;
            let load = started.elapsed();
            let instance = loaded.instantiate(config).await?;
            let total = started.elapsed();
            if loaded.loaded_from() != LoadSource::Cache {
                bail!(
                    "a warm load came from {:?}, not the cache",
                    loaded.loaded_from()
                );
            }
            drop(instance);
            loads.push(load);
            totals.push(total);
            harness = Some(loaded);
        }
        let harness = harness.context("no cached load ran")?;
        self.push(Row::new(
            "load, from cache",
            Unit::Seconds,
            median_seconds(&loads),
            loads.len(),
            None,
        ));
        self.push(Row::new(
            "load from cache + instantiate",
            Unit::Seconds,
            median_seconds(&totals),
            totals.len(),
            below(5e-3),
        ));
        let entry = std::fs::read_dir(&dir.0)?
            .filter_map(Result::ok)
            .filter_map(|e| e.metadata().ok())
            .filter(|m| m.is_file())
            .map(|m| m.len())
            .max()
            .unwrap_or(0);
        self.note(format!(
            "compile cache entry: {} (every warm load checked: LoadSource::Cache)",
            Unit::Bytes.format(entry as f64)
        ));
        Ok(harness)
    }

    /// Measurement 3: instantiating from the prepared component.
    async fn instantiate(
        &mut self,
        harness: &Harness,
        config: &SandboxConfig,
    ) -> anyhow::Result<()> {
        for _ in 0..5 {
            drop(harness.instantiate(config).await?);
        }
        let mut times = Vec::new();
        for _ in 0..self.runs.instantiate {
            let started = Instant::now();
            let instance = harness.instantiate(config).await?;
            times.push(started.elapsed());
            drop(instance);
        }
        self.push(Row::new(
            "instantiate",
            Unit::Seconds,
            median_seconds(&times),
            times.len(),
            below(100e-6),
        ));
        Ok(())
    }

    /// Measurement 4: `verify` in the sandbox, and the same requests from a native client.
    async fn verify(
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
            at_most(1.5),
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
    fn process(&mut self, fake: &FakeCloudflare) -> anyhow::Result<()> {
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

    /// Measurement 6: one call answered with ~5 MiB of GraphQL: time, peak memory, what the fake
    /// sent. A call that fails is reported in the table, with the memory it had reached; when it
    /// ran out of memory, it runs once more with [`ROOMY_MEMORY`] to show what it needs.
    async fn large_answer(
        &mut self,
        name: &str,
        harness: &Harness,
        config: &SandboxConfig,
        fake: &FakeCloudflare,
        call: Call,
    ) {
        let runs = self.runs.large;
        fake.set_graphql_inflation(Some(LARGE_ANSWER_BYTES));
        let (mut times, mut peaks, mut sizes) = (Vec::new(), Vec::new(), Vec::new());
        let mut details = String::new();
        let mut failure = None;
        let mut out_of_memory = false;
        for _ in 0..runs {
            let mut instance = match connected(harness, config).await {
                Ok(instance) => instance,
                Err(error) => {
                    failure = Some(error);
                    break;
                }
            };
            let started = Instant::now();
            let outcome = call.run(&mut instance).await;
            let elapsed = started.elapsed();
            let log = instance.outbound_log();
            let graphql: Vec<_> = log
                .iter()
                .filter(|r| r.path.ends_with("/graphql"))
                .collect();
            let largest = graphql.iter().map(|r| r.response_bytes).max().unwrap_or(0);
            let peak = instance.peak_memory_bytes();
            // A guest that cannot grow its memory aborts (`unreachable`): say which limit it hit.
            let limit = config.limits.memory_bytes;
            let at_limit = peak + 64 * 1024 > limit;
            let outcome = outcome.map_err(|error| {
                if at_limit {
                    anyhow!(
                        "{error:#}, its memory at the instance's {} limit (an allocation failed)",
                        Unit::Bytes.format(limit as f64)
                    )
                } else {
                    error
                }
            });
            out_of_memory = outcome.is_err() && at_limit;
            peaks.push(peak as f64);
            sizes.push(largest as f64);
            details = format!(
                "{name}: GraphQL answers of {}; {}",
                graphql
                    .iter()
                    .map(|r| Unit::Bytes.format(r.response_bytes as f64))
                    .collect::<Vec<_>>()
                    .join(", "),
                match &outcome {
                    Ok(result) => result.clone(),
                    Err(e) => format!(
                        "FAILED after {}: {e:#}",
                        Unit::Seconds.format(elapsed.as_secs_f64())
                    ),
                }
            );
            match outcome {
                Ok(_) => times.push(elapsed),
                Err(error) => {
                    failure = Some(error);
                    break;
                }
            }
        }
        // What the call needs when memory is not the limit: for whoever fixes it.
        let unlimited = if out_of_memory {
            let mut roomy = config.clone();
            roomy.limits.memory_bytes = ROOMY_MEMORY;
            let measured = async {
                let mut instance = connected(harness, &roomy).await?;
                let started = Instant::now();
                call.run(&mut instance).await?;
                anyhow::Ok((started.elapsed(), instance.peak_memory_bytes()))
            }
            .await;
            Some(measured)
        } else {
            None
        };
        fake.set_graphql_inflation(None);
        let time = format!("{name}: time");
        let memory = format!("{name}: peak linear memory");
        let memory_target = below(48.0 * MIB);
        match &failure {
            Some(error) => self.push(Row::failed(&time, Unit::Seconds, error, None)),
            None => self.push(Row::new(
                &time,
                Unit::Seconds,
                median_seconds(&times),
                times.len(),
                None,
            )),
        }
        if peaks.is_empty() {
            let error = failure.unwrap_or_else(|| anyhow!("no run"));
            self.push(Row::failed(&memory, Unit::Bytes, &error, memory_target));
            return;
        }
        let mut row = Row::new(
            &memory,
            Unit::Bytes,
            median(&mut peaks),
            peaks.len(),
            memory_target,
        );
        if failure.is_some() {
            row.remark = Some("(reached by the failed call)".to_owned());
        }
        self.push(row);
        self.push(Row::new(
            &format!("{name}: answer the fake sent"),
            Unit::Bytes,
            median(&mut sizes),
            sizes.len(),
            None,
        ));
        let roomy = Unit::Bytes.format(ROOMY_MEMORY as f64);
        match unlimited {
            Some(Ok((elapsed, peak))) => {
                self.push(Row::new(
                    &format!("{name}: time, {roomy} memory limit (info)"),
                    Unit::Seconds,
                    elapsed.as_secs_f64(),
                    1,
                    None,
                ));
                self.push(Row::new(
                    &format!("{name}: peak, {roomy} memory limit (info)"),
                    Unit::Bytes,
                    peak as f64,
                    1,
                    None,
                ));
            }
            Some(Err(error)) => self.push(Row::failed(
                &format!("{name}: {roomy} memory limit (info)"),
                Unit::Bytes,
                &error,
                None,
            )),
            None => {}
        }
        self.note(details);
    }

    /// Measurement 7: `verify` calls per second with 1, 2 and 4 instances at once.
    async fn throughput(&mut self, harness: &Harness, config: &SandboxConfig) {
        for instances in [1usize, 2, 4] {
            let measured = async {
                let mut rates = Vec::new();
                let mut calls = 0;
                for _ in 0..self.runs.throughput_rounds {
                    let mut ready = Vec::new();
                    for _ in 0..instances {
                        ready.push(connected(harness, config).await?);
                    }
                    let round = self.runs.throughput_round;
                    let started = Instant::now();
                    let tasks: Vec<_> = ready
                        .into_iter()
                        .map(|mut instance| {
                            tokio::spawn(async move {
                                let mut calls = 0u64;
                                while started.elapsed() < round {
                                    verify(&mut instance).await?;
                                    calls += 1;
                                }
                                anyhow::Ok(calls)
                            })
                        })
                        .collect();
                    let mut round_calls = 0;
                    for task in tasks {
                        round_calls += task.await??;
                    }
                    rates.push(round_calls as f64 / started.elapsed().as_secs_f64());
                    calls += round_calls;
                }
                anyhow::Ok((median(&mut rates), calls))
            }
            .await;
            let name = format!(
                "throughput, verify calls, {instances} instance{}",
                if instances == 1 { "" } else { "s" }
            );
            match measured {
                Ok((rate, calls)) => {
                    self.push(Row::new(&name, Unit::PerSecond, rate, calls as usize, None));
                }
                Err(error) => self.push(Row::failed(&name, Unit::PerSecond, &error, None)),
            }
        }
        self.note(format!(
            "throughput: {} round(s) of {} per instance count, the median round; runs = verify \
             calls in all rounds; tokio multi-thread runtime, {} workers; the fake serves on \
             the same machine",
            self.runs.throughput_rounds,
            Unit::Seconds.format(self.runs.throughput_round.as_secs_f64()),
            std::thread::available_parallelism().map_or(1, |n| n.get())
        ));
    }
}

// ---------------------------------------------------------------------------------------------

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .context("the workspace root")?;
    let plugin = cli
        .plugin
        .unwrap_or_else(|| root.join(host_harness::DEFAULT_PLUGIN));
    let cf_harness = cli
        .cf_harness
        .unwrap_or_else(|| root.join("target/release/cf-harness"));
    let json_path = cli.json.unwrap_or_else(|| root.join("target/bench.json"));
    let machine = Machine::detect(&root);
    println!(
        "machine: {}, {} cores (available_parallelism)",
        machine.cpu, machine.cores
    );
    println!(
        "{}, wasmtime {}, {} profile{}",
        machine.rustc,
        machine.wasmtime,
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        if cli.quick { ", --quick" } else { "" }
    );
    // Named from the workspace root, as in the JSON: the output shows no machine's directories.
    let component = plugin.strip_prefix(&root).unwrap_or(&plugin).to_path_buf();
    println!("component: {}", component.display());
    println!();

    let started = Instant::now();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut bench = Bench {
        plugin,
        cf_harness,
        runs: Runs::new(cli.quick),
        rows: Vec::new(),
        notes: Vec::new(),
    };
    runtime.block_on(run(&mut bench))?;
    let elapsed = started.elapsed();

    print!("{}", table(&bench.rows));
    println!();
    for note in &bench.notes {
        println!("- {note}");
    }
    println!("- the whole bench took {:.1} s", elapsed.as_secs_f64());

    let report = json!({
        "machine": {
            "cpu": machine.cpu,
            "cores": machine.cores,
            "rustc": machine.rustc,
            "wasmtime": machine.wasmtime,
        },
        "quick": cli.quick,
        "component": component,
        "results": bench.rows.iter().map(Row::json).collect::<Vec<_>>(),
        "notes": bench.notes,
        "elapsed_seconds": elapsed.as_secs_f64(),
    });
    if let Some(parent) = json_path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&json_path, serde_json::to_string_pretty(&report)? + "\n")
        .with_context(|| format!("cannot write {}", json_path.display()))?;
    println!("- written to {}", json_path.display());
    Ok(())
}

async fn run(bench: &mut Bench) -> anyhow::Result<()> {
    bench.size()?;
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let config = sandbox(&fake)?;
    let harness = bench.load(&config).await?;
    bench.instantiate(&harness, &config).await?;
    bench.verify(&harness, &config, &fake).await?;
    if let Err(error) = bench.process(&fake) {
        bench.push(Row::failed(
            "cf-harness verify process, cache warm",
            Unit::Seconds,
            &error,
            below(50e-3),
        ));
    }
    bench
        .large_answer(
            "dns report, 5 MiB answer",
            &harness,
            &config,
            &fake,
            Call::DnsReport,
        )
        .await;
    bench
        .large_answer(
            "graphql query, 5 MiB answer",
            &harness,
            &config,
            &fake,
            Call::GraphqlQuery,
        )
        .await;
    bench.throughput(&harness, &config).await;
    Ok(())
}
