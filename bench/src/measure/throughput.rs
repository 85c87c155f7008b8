//! Throughput: `verify` calls per second with several instances at once.

use super::Bench;
use crate::report::{Row, Unit, median};
use crate::setup::{connected, verify};
use host_harness::{Harness, SandboxConfig};
use std::time::Instant;

impl Bench {
    /// Measurement 7: `verify` calls per second with 1, 2 and 4 instances at once.
    pub(crate) async fn throughput(&mut self, harness: &Harness, config: &SandboxConfig) {
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
