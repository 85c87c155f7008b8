//! The command line, and how many runs it asks of each measurement.

use clap::Parser;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(
    name = "cf-bench",
    about = "Benchmark the Cloudflare connector in its sandbox against the fake Cloudflare"
)]
pub(crate) struct Cli {
    /// Fewer runs of each measurement (a few seconds instead of half a minute).
    #[arg(long)]
    pub(crate) quick: bool,
    /// The component (default: the workspace's release build).
    #[arg(long)]
    pub(crate) plugin: Option<PathBuf>,
    /// The `cf-harness` executable timed as a whole process (default: target/release/cf-harness).
    #[arg(long)]
    pub(crate) cf_harness: Option<PathBuf>,
    /// Where to write the results as JSON (default: target/bench.json).
    #[arg(long)]
    pub(crate) json: Option<PathBuf>,
    /// Instead of the bench: call `verify` in the sandbox, on a fresh connected instance each
    /// time, for this many seconds, and print the calls per second (a loop to profile, see
    /// docs/performance.md).
    #[arg(long, value_name = "SECONDS")]
    pub(crate) verify_loop: Option<f64>,
}

/// How many times each measurement runs.
pub(crate) struct Runs {
    pub(crate) compile: usize,
    pub(crate) cached_load: usize,
    pub(crate) instantiate: usize,
    pub(crate) verify: usize,
    pub(crate) process: usize,
    pub(crate) large: usize,
    /// Rounds of the throughput measurement, and the length of each.
    pub(crate) throughput_rounds: usize,
    pub(crate) throughput_round: Duration,
}

impl Runs {
    pub(crate) fn new(quick: bool) -> Self {
        if quick {
            Runs {
                compile: 1,
                cached_load: 5,
                instantiate: 30,
                verify: 5,
                process: 3,
                large: 1,
                throughput_rounds: 1,
                throughput_round: Duration::from_millis(500),
            }
        } else {
            Runs {
                compile: 3,
                cached_load: 30,
                instantiate: 500,
                verify: 40,
                process: 20,
                large: 5,
                throughput_rounds: 3,
                throughput_round: Duration::from_millis(700),
            }
        }
    }
}
