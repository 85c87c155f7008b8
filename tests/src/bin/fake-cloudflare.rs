//! Runs the fake Cloudflare server until killed, for manual runs and for tests that drive the
//! host binary as a separate process. Prints exactly one line, the base URL, on stdout.

use std::io::Write;

use anyhow::Context;
use cf_fake::{FakeCloudflare, Scenario};
use clap::Parser;

#[derive(Parser)]
#[command(about = "Fake Cloudflare API and docs server on 127.0.0.1")]
struct Args {
    /// Scenario to start in (see --list-scenarios).
    #[arg(long, default_value = "all-permissions")]
    scenario: Scenario,
    /// Port on 127.0.0.1; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Print the scenario names and exit.
    #[arg(long)]
    list_scenarios: bool,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut stdout = std::io::stdout().lock();
    if args.list_scenarios {
        for name in Scenario::NAMES {
            writeln!(stdout, "{name}")?;
        }
        return Ok(());
    }

    let fake = FakeCloudflare::spawn_on_port(args.scenario, args.port)
        .with_context(|| format!("cannot listen on 127.0.0.1:{}", args.port))?;
    writeln!(stdout, "{}", fake.url())?;
    stdout.flush()?;
    drop(stdout);

    // The server runs on its own thread; SIGTERM and ctrl-c end the process by default.
    loop {
        std::thread::park();
    }
}
