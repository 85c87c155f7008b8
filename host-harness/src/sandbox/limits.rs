//! Per-call limits: memory (the store's resource limiter), CPU time (epoch ticks while guest
//! code runs) and the wall clock (a timeout around the call), plus the store's fixed caps.

use crate::outbound::RequestLimits;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use wasmtime::{Engine, ResourceLimiter, StoreLimits, StoreLimitsBuilder};

/// How often the epoch ticks: the granularity of the CPU limit.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

// Store limits besides `Limits` (the audit reports them): the component has one linear memory
// and a few small tables; the counts cap what a hostile one could allocate outside the memory
// limit.
pub const MAX_MEMORIES: u32 = 2;
pub const MAX_TABLES: u32 = 16;
pub const MAX_TABLE_ELEMENTS: u64 = 100_000;
pub const MAX_INSTANCES: u32 = 16;

/// Limits applied to every call.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Linear memory of the instance.
    pub memory_bytes: usize,
    /// Time spent running guest code in one call.
    pub cpu_time: Duration,
    /// Whole call, including waiting on the network.
    pub wall_time: Duration,
    /// Timeouts the host enforces on outbound requests, whatever the guest asks.
    pub connect_timeout: Duration,
    pub first_byte_timeout: Duration,
    pub between_bytes_timeout: Duration,
    /// Bytes of one response body; past it the body ends with an error the guest sees
    /// (`HttpResponseBodySize`).
    pub max_response_bytes: u64,
    /// Outbound requests in one call; later ones are denied (`HttpRequestDenied`).
    pub max_requests_per_call: u32,
    /// Bytes of one `call-tool` result; a larger one is refused ([`CallError::ResultTooLarge`](crate::sandbox::CallError)).
    /// Until the check, the result is bounded by the instance's memory.
    pub max_result_bytes: usize,
}

/// The built-in limits in the units their flags and the policy file give them: the one place
/// their defaults live (`Limits::default`, the flags' defaults and `policy init` read them).
pub mod defaults {
    pub const TIMEOUT_SECONDS: u64 = 60;
    pub const MEMORY_MIB: u64 = 64;
    pub const CPU_SECONDS: f64 = 5.0;
    pub const READ_TIMEOUT_SECONDS: f64 = 30.0;
    pub const MAX_RESPONSE_MIB: u64 = 16;
    pub const MAX_RESULT_MIB: u64 = 16;
    pub const MAX_REQUESTS: u32 = 64;
}

const MIB: u64 = 1024 * 1024;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: (defaults::MEMORY_MIB * MIB) as usize,
            cpu_time: Duration::from_secs_f64(defaults::CPU_SECONDS),
            wall_time: Duration::from_secs(defaults::TIMEOUT_SECONDS),
            connect_timeout: Duration::from_secs(10),
            first_byte_timeout: Duration::from_secs_f64(defaults::READ_TIMEOUT_SECONDS),
            between_bytes_timeout: Duration::from_secs_f64(defaults::READ_TIMEOUT_SECONDS),
            max_response_bytes: defaults::MAX_RESPONSE_MIB * MIB,
            max_requests_per_call: defaults::MAX_REQUESTS,
            max_result_bytes: (defaults::MAX_RESULT_MIB * MIB) as usize,
        }
    }
}

impl Limits {
    /// What the outbound layer holds each request to.
    pub fn requests(&self) -> RequestLimits {
        RequestLimits {
            connect_timeout: self.connect_timeout,
            first_byte_timeout: self.first_byte_timeout,
            between_bytes_timeout: self.between_bytes_timeout,
            max_response_bytes: self.max_response_bytes,
            max_requests_per_call: self.max_requests_per_call,
        }
    }

    /// The CPU limit in epoch ticks.
    pub(crate) fn cpu_ticks(&self) -> u64 {
        (self.cpu_time.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64
    }
}

/// The epoch callback's error when a call has used up its CPU time: typed, so the call's error
/// says CPU limit rather than a trap of unknown cause.
#[derive(Debug)]
pub(crate) struct CpuLimitExceeded;

impl std::fmt::Display for CpuLimitExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CPU time limit exceeded")
    }
}

impl std::error::Error for CpuLimitExceeded {}

/// The store limits, remembering the largest linear memory granted (for benchmarks and
/// host developers sizing `Limits::memory_bytes`) and whether a growth past the memory limit
/// was refused (a trap after that is the memory limit, not a guest bug).
pub(crate) struct PeakTrackingLimits {
    limits: StoreLimits,
    memory_limit: usize,
    pub(crate) peak_memory_bytes: usize,
    pub(crate) memory_refused: bool,
}

impl PeakTrackingLimits {
    pub(crate) fn new(limits: &Limits) -> Self {
        PeakTrackingLimits {
            limits: StoreLimitsBuilder::new()
                .memory_size(limits.memory_bytes)
                .memories(MAX_MEMORIES as usize)
                .tables(MAX_TABLES as usize)
                .table_elements(MAX_TABLE_ELEMENTS as usize)
                .instances(MAX_INSTANCES as usize)
                .build(),
            memory_limit: limits.memory_bytes,
            peak_memory_bytes: 0,
            memory_refused: false,
        }
    }
}

impl ResourceLimiter for PeakTrackingLimits {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let granted = self.limits.memory_growing(current, desired, maximum)?;
        if granted {
            self.peak_memory_bytes = self.peak_memory_bytes.max(desired);
        } else if desired > self.memory_limit {
            self.memory_refused = true;
        }
        Ok(granted)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.limits.table_growing(current, desired, maximum)
    }

    fn instances(&self) -> usize {
        self.limits.instances()
    }

    fn tables(&self) -> usize {
        self.limits.tables()
    }

    fn memories(&self) -> usize {
        self.limits.memories()
    }
}

/// Advances the engine's epoch on a thread until dropped.
pub(crate) struct EpochTicker(Arc<AtomicBool>);

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

impl EpochTicker {
    pub(crate) fn start(engine: &Engine) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let (engine, flag) = (engine.clone(), stop.clone());
        std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                std::thread::sleep(EPOCH_TICK);
                engine.increment_epoch();
            }
        });
        EpochTicker(stop)
    }
}
