//! Large answers: one call answered with ~5 MiB of GraphQL, its time and peak memory.

use super::Bench;
use crate::calls::Call;
use crate::report::{MIB, Row, Unit, at_most, median, median_seconds};
use crate::setup::connected;
use anyhow::anyhow;
use cf_fake::FakeCloudflare;
use host_harness::{Harness, SandboxConfig};
use std::time::Instant;

/// What the fake's GraphQL answers are inflated to for the large-answer measurements.
const LARGE_ANSWER_BYTES: usize = 5 * 1024 * 1024;
/// The memory limit of the re-run, when a large answer exhausted the default one.
const ROOMY_MEMORY: usize = 512 * 1024 * 1024;

impl Bench {
    /// Measurement 6: one call answered with ~5 MiB of GraphQL: time, peak memory, what the fake
    /// sent. A call that fails is reported in the table, with the memory it had reached; when it
    /// ran out of memory, it runs once more with [`ROOMY_MEMORY`] to show what it needs.
    pub(crate) async fn large_answer(
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
        let memory_target = at_most(32.0 * MIB);
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
}
