//! Size and start-up: the component's size, loading it (compiled, or from the compile cache),
//! instantiating it.

use super::Bench;
use crate::report::{KIB, Row, Target, Unit, below, median_seconds};
use crate::setup::TempDir;
use anyhow::{Context as _, bail};
use host_harness::{CompileCache, Harness, LoadSource, SandboxConfig};
use std::time::Instant;

impl Bench {
    /// Measurement 1: the component's size.
    pub(crate) fn size(&mut self) -> anyhow::Result<()> {
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
                limit: 600.0 * KIB,
                inclusive: true,
                aim: Some(500.0 * KIB),
            }),
        ));
        Ok(())
    }

    /// Measurement 2: loading, compiled from scratch and from a warm compile cache (then
    /// instantiated).
    pub(crate) async fn load(&mut self, config: &SandboxConfig) -> anyhow::Result<Harness> {
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
    pub(crate) async fn instantiate(
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
}
