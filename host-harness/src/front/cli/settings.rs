//! What the flags and the policy file set: the limits, the audit log, the connection, the
//! plugin's path.

use super::args::Cli;
use crate::front::policy_file::{PolicyFile, PolicyFileError, capped};
use crate::front::render;
use crate::{ConnectOptions, Limits, PluginError};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A size in MiB as bytes (at least one).
fn mib_bytes(mib: f64) -> u64 {
    ((mib * 1024.0 * 1024.0) as u64).max(1)
}

/// Where the audit log goes and its size limit: the policy file's when it sets one (a flag
/// naming another path or a larger size is refused), else the flags', else none.
pub(super) fn audit_log_target(
    cli: &Cli,
    file: Option<&PolicyFile>,
) -> Result<(Option<PathBuf>, Option<u64>), PolicyFileError> {
    let flags_max = cli.audit_log_max_mib.map(mib_bytes);
    let Some(rule) = file.and_then(|f| f.audit_log.as_ref().map(|rule| (f, rule))) else {
        return Ok((
            cli.audit_log.clone(),
            flags_max.or(crate::sandbox::audit_log::DEFAULT_MAX_BYTES),
        ));
    };
    let (file, rule) = rule;
    if let Some(path) = &cli.audit_log
        && path != &rule.path.value
    {
        return Err(file.error(
            rule.path.line,
            format!(
                "--audit-log {} differs from the policy's audit_log.path = {}",
                path.display(),
                rule.path.value.display()
            ),
        ));
    }
    let file_max = rule.max_mib.as_ref().map(|m| (mib_bytes(m.value), m.line));
    let max = match (flags_max, file_max) {
        (Some(flag), Some((ceiling, line))) if flag > ceiling => {
            return Err(file.error(
                line,
                "--audit-log-max-mib is above the policy's audit_log.max_mib".to_string(),
            ));
        }
        (Some(flag), _) => Some(flag),
        (None, Some((ceiling, _))) => Some(ceiling),
        (None, None) => crate::sandbox::audit_log::DEFAULT_MAX_BYTES,
    };
    Ok((Some(rule.path.value.clone()), max))
}

/// The default plugin path is relative to the repository; when run from elsewhere, look for it
/// beside the executable's `target/` folder.
pub(super) fn plugin_path(given: &Path) -> PathBuf {
    if given.exists() || given != Path::new(crate::DEFAULT_PLUGIN) {
        return given.to_path_buf();
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent()?.parent().map(Path::to_path_buf))
        .map(|target| target.join("wasm32-wasip2/release/cloudflare_connector.wasm"))
        .filter(|p| p.exists())
        .unwrap_or_else(|| given.to_path_buf())
}

/// The limits the flags give, under a policy file's ceilings: a flag given above one is
/// refused, a default above one is lowered to it.
pub(super) fn limits(cli: &Cli, file: Option<&PolicyFile>) -> Result<Limits, PolicyFileError> {
    let mut timeout = cli.timeout.max(1);
    let mut memory_mib = cli.memory_mib;
    let mut cpu_seconds = cli.cpu_seconds;
    let mut read_timeout = cli.read_timeout;
    let mut max_response_mib = cli.max_response_mib;
    let mut max_result_mib = cli.max_result_mib;
    let mut max_requests = cli.max_requests;
    if let Some(file) = file {
        let given = |id: &str| cli.given.iter().any(|g| g == id);
        let c = &file.limits;
        timeout = capped(
            file,
            "timeout",
            "timeout_seconds",
            timeout,
            given("timeout"),
            &c.timeout_seconds,
        )?;
        memory_mib = capped(
            file,
            "memory-mib",
            "memory_mib",
            memory_mib,
            given("memory_mib"),
            &c.memory_mib,
        )?;
        cpu_seconds = capped(
            file,
            "cpu-seconds",
            "cpu_seconds",
            cpu_seconds,
            given("cpu_seconds"),
            &c.cpu_seconds,
        )?;
        read_timeout = capped(
            file,
            "read-timeout",
            "read_timeout_seconds",
            read_timeout,
            given("read_timeout"),
            &c.read_timeout_seconds,
        )?;
        max_response_mib = capped(
            file,
            "max-response-mib",
            "max_response_mib",
            max_response_mib,
            given("max_response_mib"),
            &c.max_response_mib,
        )?;
        max_result_mib = capped(
            file,
            "max-result-mib",
            "max_result_mib",
            max_result_mib,
            given("max_result_mib"),
            &c.max_result_mib,
        )?;
        max_requests = capped(
            file,
            "max-requests",
            "max_requests",
            max_requests,
            given("max_requests"),
            &c.max_requests,
        )?;
    }
    Ok(Limits {
        wall_time: Duration::from_secs(timeout),
        memory_bytes: (memory_mib * 1024 * 1024) as usize,
        cpu_time: Duration::from_secs_f64(cpu_seconds),
        first_byte_timeout: Duration::from_secs_f64(read_timeout),
        between_bytes_timeout: Duration::from_secs_f64(read_timeout),
        max_response_bytes: max_response_mib * 1024 * 1024,
        max_requests_per_call: max_requests,
        max_result_bytes: (max_result_mib * 1024 * 1024) as usize,
        ..Limits::default()
    })
}

/// The connection the host configures, when it has the account and the services: the one
/// place they reach the guest (through `connect`, never as guest variables).
pub(super) fn connect_options(cli: &Cli) -> Result<Option<ConnectOptions>, PluginError> {
    let (Some(account_id), Some(services)) = (&cli.account_id, &cli.services) else {
        return Ok(None);
    };
    Ok(Some(ConnectOptions {
        account_id: account_id.clone(),
        enabled_services: render::parse_services(services)?,
    }))
}
