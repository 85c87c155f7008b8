//! The one guarded call every export goes through: the per-call limits, the poisoning of an
//! instance that trapped or timed out, and the audit log's record of the call.

use crate::sandbox::bindings::{ConnectorPlugin, PluginError, ToolSpec};
use crate::sandbox::error::{CallError, plugin_error_kind};
use crate::sandbox::instance::{PluginInstance, PluginState, lock};
use serde_json::Value;
use std::time::Instant;
use wasmtime::Store;

/// How a call ended, as the audit log says it: `ok`, `error:<kind>` for an error the plugin
/// returned, or the [`CallError::kind`] of a call that did not return.
pub(crate) trait AuditOutcome {
    fn audit_outcome(&self) -> String;
}

impl<T> AuditOutcome for Result<T, PluginError> {
    fn audit_outcome(&self) -> String {
        match self {
            Ok(_) => "ok".into(),
            Err(e) => format!("error:{}", plugin_error_kind(e)),
        }
    }
}

impl AuditOutcome for Vec<ToolSpec> {
    fn audit_outcome(&self) -> String {
        "ok".into()
    }
}

impl<T: AuditOutcome> AuditOutcome for Result<T, CallError> {
    fn audit_outcome(&self) -> String {
        match self {
            Ok(value) => value.audit_outcome(),
            Err(error) => error.kind().into(),
        }
    }
}

/// A typed argument for the audit log, as JSON (the log redacts token-like words in it).
pub(crate) fn json_argument(value: &impl serde::Serialize) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

impl PluginInstance {
    /// Runs one export under the per-call limits and records the call in the audit log when
    /// there is one (`arguments` is only evaluated then). `result_bytes` measures a result held
    /// to `Limits::max_result_bytes` (0 for results that are not).
    pub(crate) async fn guarded<T: AuditOutcome>(
        &mut self,
        function: &'static str,
        arguments: impl FnOnce() -> Value,
        result_bytes: impl FnOnce(&T) -> usize,
        call: impl AsyncFnOnce(&mut Store<PluginState>, &ConnectorPlugin) -> wasmtime::Result<T>,
    ) -> Result<T, CallError> {
        if self.poisoned {
            return Err(CallError::Poisoned);
        }
        let data = self.store.data_mut();
        data.cpu_ticks_left = self.limits.cpu_ticks();
        data.hooks.start_call();
        data.limits.memory_refused = false;
        self.store.set_epoch_deadline(1);
        let first_request = lock(&self.log).len();
        let wall = self.limits.wall_time;
        let started = Instant::now();
        let outcome = tokio::time::timeout(wall, call(&mut self.store, &self.bindings)).await;
        tracing::debug!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "plugin call finished"
        );
        let limit = self.limits.max_result_bytes;
        let result = match outcome {
            Ok(Ok(value)) => match result_bytes(&value) {
                bytes if bytes > limit => Err(CallError::ResultTooLarge { bytes, limit }),
                _ => Ok(value),
            },
            Ok(Err(trap)) => {
                self.poisoned = true;
                Err(CallError::from_trap(
                    trap,
                    self.limits.cpu_time,
                    self.store.data().limits.memory_refused,
                    self.limits.memory_bytes,
                ))
            }
            Err(_) => {
                self.poisoned = true;
                Err(CallError::Timeout(wall))
            }
        };
        if let Some(audit_log) = &self.audit_log {
            let requests = lock(&self.log)[first_request..].to_vec();
            audit_log.record_call(
                function,
                &arguments(),
                &result.audit_outcome(),
                started.elapsed(),
                &requests,
            );
        }
        result
    }
}
