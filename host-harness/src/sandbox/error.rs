//! How a call can fail besides the plugin's own error: the limits, a guest trap, a poisoned
//! instance, a result too large. Each has a stable kebab-case kind and a message in words.

use crate::sandbox::bindings::PluginError;
use crate::sandbox::limits::CpuLimitExceeded;
use std::time::Duration;

/// A call that did not return normally.
#[derive(Debug)]
pub enum CallError {
    /// The guest ran out of CPU time ([`Limits::cpu_time`](crate::sandbox::Limits)).
    CpuLimit(Duration),
    /// The guest trapped after the host refused it memory past
    /// [`Limits::memory_bytes`](crate::sandbox::Limits) (the limit, in bytes).
    MemoryLimit(usize),
    /// The call exceeded the wall-clock limit and was abandoned.
    Timeout(Duration),
    /// The guest trapped for a reason of its own (a bug, an abort, `exit`).
    GuestTrap(anyhow::Error),
    /// An earlier call trapped or timed out: the instance may be inconsistent.
    Poisoned,
    /// The result was larger than [`Limits::max_result_bytes`](crate::sandbox::Limits); the
    /// instance is still usable.
    ResultTooLarge { bytes: usize, limit: usize },
}

impl CallError {
    /// A stable kebab-case name for reports and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            CallError::CpuLimit(_) => "cpu-limit",
            CallError::MemoryLimit(_) => "memory-limit",
            CallError::Timeout(_) => "timeout",
            CallError::GuestTrap(_) => "guest-trap",
            CallError::Poisoned => "poisoned",
            CallError::ResultTooLarge { .. } => "result-too-large",
        }
    }

    /// Whether the instance must be replaced (every error but a refused result).
    pub fn poisons(&self) -> bool {
        !matches!(self, CallError::ResultTooLarge { .. })
    }

    /// The error of a call that trapped: the CPU limit when the epoch callback said so, the
    /// memory limit when the store refused a growth past it during the call, else the guest's.
    pub(crate) fn from_trap(
        trap: wasmtime::Error,
        cpu_time: Duration,
        memory_refused: bool,
        memory_limit: usize,
    ) -> Self {
        if trap.is::<CpuLimitExceeded>() {
            CallError::CpuLimit(cpu_time)
        } else if memory_refused {
            CallError::MemoryLimit(memory_limit)
        } else {
            CallError::GuestTrap(anyhow::Error::from(trap))
        }
    }
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::CpuLimit(d) => write!(
                f,
                "the plugin used more than {} ms of CPU time in one call and was stopped",
                d.as_millis()
            ),
            CallError::MemoryLimit(limit) => write!(
                f,
                "the plugin needed more than {} of memory and was stopped",
                mib(*limit)
            ),
            CallError::Timeout(d) => write!(
                f,
                "the call took longer than {} s and was stopped",
                d.as_secs()
            ),
            CallError::GuestTrap(e) => write!(f, "the plugin trapped: {}", trap_cause(e)),
            CallError::Poisoned => {
                f.write_str("the plugin instance failed earlier; create a new one")
            }
            CallError::ResultTooLarge { bytes, limit } => write!(
                f,
                "the plugin returned {bytes} bytes, more than the host's limit of {limit} \
                 (ask for less, e.g. a smaller max_bytes or range)"
            ),
        }
    }
}

impl std::error::Error for CallError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CallError::GuestTrap(e) => Some(e.as_ref()),
            _ => None,
        }
    }
}

/// `n` bytes in MiB when whole, else in bytes.
fn mib(n: usize) -> String {
    if n >= 1 << 20 && n.is_multiple_of(1 << 20) {
        format!("{} MiB", n >> 20)
    } else {
        format!("{n} bytes")
    }
}

/// What made the guest trap, in wasmtime's words (`wasm unreachable instruction executed`),
/// without the backtrace and its Rust paths.
fn trap_cause(error: &anyhow::Error) -> String {
    match error.downcast_ref::<wasmtime::Trap>() {
        Some(trap) => trap.to_string(),
        None => error.root_cause().to_string(),
    }
}

/// The bytes of text an error the plugin returned carries: an error result is held to
/// `Limits::max_result_bytes` as a successful one is (50 GraphQL problems of 100 KB each must
/// not pass a 1 MiB limit).
pub fn plugin_error_bytes(error: &PluginError) -> usize {
    use PluginError as E;
    let failure = |f: &crate::sandbox::bindings::ApiFailure| {
        f.message.len() + f.hint.as_ref().map_or(0, String::len) + f.codes.len() * 4
    };
    match error {
        E::InvalidInput(p) => p.field.len() + p.message.len(),
        E::NotConnected(m) | E::DeniedByHost(m) | E::Transport(m) | E::Internal(m) => m.len(),
        E::Unauthorized(f)
        | E::Forbidden(f)
        | E::NotFound(f)
        | E::PlanLimit(f)
        | E::Upstream(f) => failure(f),
        E::QueryRejected(problems) => problems
            .iter()
            .map(|p| {
                p.message.len()
                    + p.path.iter().map(String::len).sum::<usize>()
                    + p.code.as_ref().map_or(0, String::len)
                    + p.hint.as_ref().map_or(0, String::len)
            })
            .sum(),
        E::ServiceDisabled(_) | E::RateLimited(_) => 0,
    }
}

/// The kebab-case kind of an error the plugin returned, as the contract names its variants.
pub fn plugin_error_kind(error: &PluginError) -> &'static str {
    use PluginError as E;
    match error {
        E::InvalidInput(_) => "invalid-input",
        E::NotConnected(_) => "not-connected",
        E::ServiceDisabled(_) => "service-disabled",
        E::Unauthorized(_) => "unauthorized",
        E::Forbidden(_) => "forbidden",
        E::NotFound(_) => "not-found",
        E::PlanLimit(_) => "plan-limit",
        E::Upstream(_) => "upstream",
        E::RateLimited(_) => "rate-limited",
        E::QueryRejected(_) => "query-rejected",
        E::DeniedByHost(_) => "denied-by-host",
        E::Transport(_) => "transport",
        E::Internal(_) => "internal",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 50 GraphQL problems of 100 KB are counted as the 5 MB they are, so the result limit
    /// refuses them as it refuses a 5 MB answer.
    #[test]
    fn an_error_results_size_counts_every_problem() {
        let problem = crate::sandbox::bindings::GraphqlProblem {
            message: "x".repeat(100_000),
            path: vec!["viewer".into()],
            code: Some("bad".into()),
            hint: None,
        };
        let error = PluginError::QueryRejected(vec![problem; 50]);
        assert!(plugin_error_bytes(&error) > 5_000_000);
        assert_eq!(plugin_error_bytes(&PluginError::Transport("abc".into())), 3);
    }

    #[test]
    fn kinds_are_kebab_case_and_messages_are_words() {
        let errors = [
            CallError::CpuLimit(Duration::from_millis(200)),
            CallError::MemoryLimit(16 << 20),
            CallError::Timeout(Duration::from_secs(60)),
            CallError::GuestTrap(anyhow::Error::msg("wasm trap: unreachable")),
            CallError::Poisoned,
            CallError::ResultTooLarge {
                bytes: 10,
                limit: 5,
            },
        ];
        let kinds: Vec<&str> = errors.iter().map(CallError::kind).collect();
        assert_eq!(
            kinds,
            [
                "cpu-limit",
                "memory-limit",
                "timeout",
                "guest-trap",
                "poisoned",
                "result-too-large"
            ]
        );
        for error in &errors {
            let text = error.to_string();
            for debug in ["::", "{ ", "Some("] {
                assert!(!text.contains(debug), "{text}");
            }
        }
        assert!(errors[1].to_string().contains("16 MiB"));
        assert!(!errors[5].poisons() && errors[0].poisons());
    }

    #[test]
    fn a_trap_is_told_apart_by_its_cause() {
        let d = Duration::from_secs(1);
        let cpu = wasmtime::Error::new(CpuLimitExceeded).context("error while executing");
        assert!(matches!(
            CallError::from_trap(cpu, d, false, 1),
            CallError::CpuLimit(_)
        ));
        let trap = wasmtime::Error::new(wasmtime::Trap::UnreachableCodeReached);
        assert!(matches!(
            CallError::from_trap(trap, d, true, 1),
            CallError::MemoryLimit(1)
        ));
        let trap = wasmtime::Error::new(wasmtime::Trap::UnreachableCodeReached);
        let error = CallError::from_trap(trap, d, false, 1);
        assert!(matches!(error, CallError::GuestTrap(_)));
        assert_eq!(
            error.to_string(),
            format!(
                "the plugin trapped: {}",
                wasmtime::Trap::UnreachableCodeReached
            )
        );
    }
}
