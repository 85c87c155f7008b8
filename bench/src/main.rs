//! `cf-bench` (`make bench`): how fast the connector is in its sandbox, offline, against the
//! fake Cloudflare on loopback, in-process. Prints the machine, then one table: each
//! measurement's median over repeated runs, its target and whether it was met; writes the same
//! as JSON to `target/bench.json`. Exits 0 when targets are missed (the table says so); only a
//! broken set-up (no component, no fake) is an error.

mod calls;
mod cli;
mod machine;
mod measure;
mod replay;
mod report;
mod setup;

use anyhow::Context as _;
use calls::Call;
use cf_fake::{FakeCloudflare, Scenario};
use clap::Parser;
use cli::{Cli, Runs};
use machine::Machine;
use measure::Bench;
use report::{Row, Unit, below, table};
use serde_json::json;
use setup::sandbox;
use std::path::{Path, PathBuf};
use std::time::Instant;

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

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    if let Some(seconds) = cli.verify_loop {
        return runtime.block_on(verify_loop(&plugin, seconds));
    }
    let started = Instant::now();
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

/// `verify` over and over for `seconds`, for a profiler to watch.
async fn verify_loop(plugin: &Path, seconds: f64) -> anyhow::Result<()> {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let config = sandbox(&fake)?;
    let harness = host_harness::Harness::load_with(plugin, None)?;
    let (started, mut calls) = (Instant::now(), 0u64);
    while started.elapsed().as_secs_f64() < seconds {
        let mut instance = setup::connected(&harness, &config).await?;
        setup::verify(&mut instance).await?;
        calls += 1;
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "{calls} verify calls in {elapsed:.1} s: {:.1}/s",
        calls as f64 / elapsed
    );
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
    bench.serving(&fake).await;
    Ok(())
}
