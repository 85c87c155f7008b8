//! `cf-harness`: the commands. Each one loads the plugin, configures the connection once
//! through the typed `connect`, calls the typed export it needs and renders the typed value
//! (`render`); only `call` passes JSON, as a language model would.

use super::mcp::McpServer;
use super::output::{Outcome, Printer, RedactingStderr};
use super::policy_file::{self, PolicyFile, PolicyFileError, capped};
use super::render;
use super::serve;
use crate::{
    ApiToken, AuditLog, CompileCache, ConnectOptions, Harness, Limits, OutboundPolicy, PluginError,
    PluginInstance, SandboxConfig,
};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

mod args;

use args::{AuditLogCommand, Cli, Command, LIMIT_FLAGS, PolicyCommand};

/// A size in MiB as bytes (at least one).
fn mib_bytes(mib: f64) -> u64 {
    ((mib * 1024.0 * 1024.0) as u64).max(1)
}

/// Where the audit log goes and its size limit: the policy file's when it sets one (a flag
/// naming another path or a larger size is refused), else the flags', else none.
fn audit_log_target(
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

/// `audit --policy`: what the file changes against the built-in rules, before the report.
fn policy_changes_text(file: &PolicyFile) -> String {
    let mut text = format!("Policy file {} changes:\n", file.source.display());
    for change in policy_file::changes(file) {
        text.push_str(&format!("  {change}\n"));
    }
    text
}

/// Parses the command line and runs the command; what `cf-harness`'s `main` is.
pub fn main() -> ExitCode {
    use clap::{CommandFactory, FromArgMatches};
    let matches = Cli::command().get_matches();
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    cli.given = LIMIT_FLAGS
        .iter()
        .filter(|id| {
            matches!(
                matches.value_source(id),
                Some(
                    clap::parser::ValueSource::CommandLine | clap::parser::ValueSource::EnvVariable
                )
            )
        })
        .map(|id| id.to_string())
        .collect();
    if cli.token.is_some() {
        eprintln!(
            "error: the token is never taken on the command line (other users can read it); \
             set CLOUDFLARE_API_TOKEN or use --token-file"
        );
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Outcome::Success => ExitCode::SUCCESS,
        Outcome::Failure => ExitCode::from(1),
        Outcome::Usage => ExitCode::from(2),
    }
}

/// Logs go to stderr (stdout may carry the MCP protocol), through a writer that removes the
/// token should it ever appear.
fn init_logging(cli: &Cli, token: Option<ApiToken>) {
    let filter = if cli.verbose {
        "host_harness=debug"
    } else if matches!(cli.command, Command::Mcp { .. } | Command::Serve(_)) {
        // One line per tool call on stderr: the session's log (stdout carries the protocol).
        "host_harness=info"
    } else {
        "host_harness=warn"
    };
    tracing_subscriber::fmt()
        .with_writer(RedactingStderr(token))
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .without_time()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

/// The default plugin path is relative to the repository; when run from elsewhere, look for it
/// beside the executable's `target/` folder.
fn plugin_path(given: &Path) -> PathBuf {
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
fn limits(cli: &Cli, file: Option<&PolicyFile>) -> Result<Limits, PolicyFileError> {
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
fn connect_options(cli: &Cli) -> Result<Option<ConnectOptions>, PluginError> {
    let (Some(account_id), Some(services)) = (&cli.account_id, &cli.services) else {
        return Ok(None);
    };
    Ok(Some(ConnectOptions {
        account_id: account_id.clone(),
        enabled_services: render::parse_services(services)?,
    }))
}

/// `call verify` with no arguments is the `verify` command (typed); any other argument is
/// for the tool to judge.
fn is_verify_without_arguments(tool: &str, arguments: &str) -> bool {
    tool == "verify"
        && matches!(serde_json::from_str::<Value>(arguments), Ok(Value::Object(map)) if map.is_empty())
}

async fn run(cli: Cli) -> Outcome {
    if let Command::AuditLog {
        command: AuditLogCommand::Verify { files },
    } = &cli.command
    {
        return verify_audit_log(cli.json, files);
    }
    let token = match (&cli.command, &cli.token_file) {
        // The audit reads no credentials; `serve` takes each tenant's from its requests, unless
        // it serves one tenant behind a client key.
        (Command::Audit { .. }, _)
        | (
            Command::Serve(serve::ServeArgs {
                client_key_file: None,
                ..
            }),
            _,
        ) => Ok(None),
        (_, Some(path)) => ApiToken::from_file_checked(path).map(|(token, loose)| {
            if let Some(loose) = loose {
                eprintln!("warning: {loose}");
            }
            Some(token)
        }),
        (_, None) => ApiToken::from_env(),
    };
    let token = match token {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return Outcome::Usage;
        }
    };
    init_logging(&cli, token.clone());
    let printer = Printer {
        token: token.clone(),
        json: cli.json,
    };
    let policy_file = match &cli.policy {
        Some(path) => match PolicyFile::read(path) {
            Ok(file) => Some(file),
            Err(e) => {
                printer.err(&format!("error: --policy: {e}"));
                return Outcome::Usage;
            }
        },
        None => None,
    };
    let mut policy = OutboundPolicy::cloudflare();
    for spec in &cli.upstreams {
        policy = match policy.with_upstream(spec) {
            Ok(p) => p,
            Err(e) => {
                printer.err(&format!("error: --upstream: {e}"));
                return Outcome::Usage;
            }
        };
    }
    if let Some(file) = &policy_file {
        policy = match file.narrow(policy) {
            Ok(p) => p,
            Err(e) => {
                printer.err(&format!("error: --policy: {e}"));
                return Outcome::Usage;
            }
        };
    }
    let limits = match limits(&cli, policy_file.as_ref()) {
        Ok(limits) => limits,
        Err(e) => {
            printer.err(&format!("error: --policy: {e}"));
            return Outcome::Usage;
        }
    };
    let (audit_log_path, audit_log_max_bytes) = match audit_log_target(&cli, policy_file.as_ref()) {
        Ok(target) => target,
        Err(e) => {
            printer.err(&format!("error: --policy: {e}"));
            return Outcome::Usage;
        }
    };
    if cli.audit_log_max_mib.is_some() && audit_log_path.is_none() {
        printer
            .err("error: --audit-log-max-mib rotates the log --audit-log PATH writes: give both");
        return Outcome::Usage;
    }
    let audit_log = match &audit_log_path {
        Some(path) => match AuditLog::open_with(path, token.clone(), audit_log_max_bytes) {
            Ok(log) => Some(Arc::new(log)),
            Err(e) => {
                printer.err(&format!(
                    "error: --audit-log: cannot open {}: {e}",
                    path.display()
                ));
                return Outcome::Usage;
            }
        },
        None => None,
    };
    // No guest variables: the connection goes through `connect` only.
    let config = SandboxConfig {
        token: token.clone(),
        policy,
        limits,
        audit_log,
        allowed_services: policy_file.as_ref().and_then(PolicyFile::service_rule),
        ..SandboxConfig::default()
    };
    let plugin = match &cli.command {
        Command::Audit { plugin: Some(p) } => p.clone(),
        _ => plugin_path(&cli.plugin),
    };
    if !plugin.exists() {
        return printer.host_error(
            "usage",
            &format!(
                "no plugin at {}: build it with `make build`, or pass --plugin",
                plugin.display()
            ),
        );
    }
    // The component a policy file pins, and nothing else, is loaded.
    let digest = match &policy_file {
        Some(file)
            if file.component_sha256.is_some() || matches!(cli.command, Command::Policy { .. }) =>
        {
            match std::fs::read(&plugin) {
                Ok(bytes) => Some(crate::audit::sha256_hex(&bytes)),
                Err(e) => {
                    return printer
                        .host_error("load", &format!("cannot read {}: {e}", plugin.display()));
                }
            }
        }
        _ => None,
    };
    if let Command::Policy {
        command: PolicyCommand::Init,
    } = &cli.command
    {
        let sha256 = match digest {
            Some(d) => d,
            None => match std::fs::read(&plugin) {
                Ok(bytes) => crate::audit::sha256_hex(&bytes),
                Err(e) => {
                    return printer
                        .host_error("load", &format!("cannot read {}: {e}", plugin.display()));
                }
            },
        };
        let audit = audit_log_path.as_deref().map(|path| {
            (
                path,
                audit_log_max_bytes.map(|b| b as f64 / (1024.0 * 1024.0)),
            )
        });
        printer.out(&policy_file::init_text(&sha256, &config.limits, audit));
        return Outcome::Success;
    }
    if let (Some(file), Some(digest)) = (&policy_file, &digest)
        && let Err(e) = file.check_component(digest)
    {
        if matches!(cli.command, Command::Audit { .. }) && !printer.json {
            printer.out(&policy_changes_text(file));
        }
        return printer.host_error("policy", &e.to_string());
    }
    let cache = match (&cli.cache_dir, cli.no_cache) {
        (_, true) => None,
        (Some(dir), false) => Some(CompileCache::new(dir)),
        (None, false) => CompileCache::default_dir().map(CompileCache::new),
    };
    if matches!(cli.command, Command::Audit { .. }) {
        return audit(
            &printer,
            &plugin,
            &config,
            policy_file.as_ref(),
            cache.as_ref(),
        );
    }
    if let Command::Serve(_) = &cli.command {
        return run_serve(&cli, &printer, plugin, cache, config).await;
    }
    let options = match connect_options(&cli) {
        Ok(options) => options,
        Err(e) => return printer.plugin_error(&e),
    };
    let needs_connection = !matches!(cli.command, Command::Tools | Command::Mcp { .. });
    if needs_connection && options.is_none() {
        printer.err(
            "error: the account ID and the services are needed: set CLOUDFLARE_ACCOUNT_ID and \
             ENABLED_SERVICES, or pass --account-id and --services",
        );
        return Outcome::Usage;
    }
    let harness = match Harness::load_with(&plugin, cache.as_ref()) {
        Ok(h) => h,
        Err(e) => return printer.host_error("load", &format!("{e:#}")),
    };
    if let Command::Mcp { max_message_mib } = cli.command {
        let max_message_bytes = (max_message_mib * 1024 * 1024) as usize;
        // Without an account and services the plugin offers `connect` and `verify` only.
        return match McpServer::new(harness, config, options)
            .serve_stdio(max_message_bytes)
            .await
        {
            Ok(()) => Outcome::Success,
            Err(e) => printer.host_error("mcp", &format!("{e:#}")),
        };
    }
    let mut instance = match harness.instantiate(&config).await {
        Ok(i) => i,
        Err(e) => {
            return printer.host_error(
                "instantiate",
                &format!("cannot instantiate the plugin: {e:#}"),
            );
        }
    };
    if needs_connection && token.is_none() {
        printer.err("warning: CLOUDFLARE_API_TOKEN is not set: requests to the Cloudflare API will be refused");
    }
    let connected = match &options {
        Some(options) => match instance.connect(options).await {
            Ok(Ok(info)) => Some(info),
            Ok(Err(e)) => return printer.plugin_error(&e),
            Err(e) => return printer.call_error(&e),
        },
        None => None,
    };
    match (&cli.command, connected) {
        (Command::Tools, _) => match instance.list_tools().await {
            Ok(tools) => {
                printer.show(|| render::tools_json(&tools), || render::tools_text(&tools));
                Outcome::Success
            }
            Err(e) => printer.call_error(&e),
        },
        (Command::Connect, Some(info)) => {
            printer.show(
                || render::connection_json(&info),
                || render::connection_text(&info),
            );
            Outcome::Success
        }
        (Command::Verify, Some(_)) => verify(&printer, &mut instance).await,
        (Command::Call { tool, arguments }, Some(_))
            if is_verify_without_arguments(tool, arguments) =>
        {
            verify(&printer, &mut instance).await
        }
        (Command::Call { tool, arguments }, Some(_)) => {
            match instance.call_tool(tool, arguments).await {
                Ok(Ok(json)) => {
                    let value = serde_json::from_str::<Value>(&json).unwrap_or(Value::String(json));
                    printer.json_value(&value);
                    Outcome::Success
                }
                Ok(Err(e)) => printer.plugin_error(&e),
                Err(e) => printer.call_error(&e),
            }
        }
        // Refused above: every other command has a connection.
        (Command::Connect | Command::Verify | Command::Call { .. }, None)
        | (
            Command::Mcp { .. }
            | Command::Audit { .. }
            | Command::AuditLog { .. }
            | Command::Policy { .. }
            | Command::Serve(_),
            _,
        ) => Outcome::Usage,
    }
}

/// `cf-harness serve`: the credentials come with each request, so the host's own are refused
/// rather than silently ignored.
async fn run_serve(
    cli: &Cli,
    printer: &Printer,
    plugin: PathBuf,
    cache: Option<CompileCache>,
    config: SandboxConfig,
) -> Outcome {
    let Command::Serve(args) = &cli.command else {
        return Outcome::Usage;
    };
    let tenancy = match &args.client_key_file {
        None if cli.token_file.is_some() || std::env::var_os("CLOUDFLARE_API_TOKEN").is_some() => {
            printer.err(
                "error: serve takes each tenant's token from its requests (Authorization: \
                 Bearer); unset CLOUDFLARE_API_TOKEN and drop --token-file, or serve one tenant \
                 with --client-key-file",
            );
            return Outcome::Usage;
        }
        None => serve::Tenancy::PerRequest,
        Some(path) => {
            let client_key = match ApiToken::from_file_checked(path) {
                Ok((key, loose)) => {
                    if let Some(loose) = loose {
                        printer.err(&format!("warning: --client-key-file: {loose}"));
                    }
                    key
                }
                Err(e) => {
                    printer.err(&format!("error: --client-key-file: {e}"));
                    return Outcome::Usage;
                }
            };
            let (Some(token), Ok(Some(connect))) = (config.token.clone(), connect_options(cli))
            else {
                printer.err(
                    "error: --client-key-file serves the host's own tenant: set \
                     CLOUDFLARE_API_TOKEN (or --token-file), CLOUDFLARE_ACCOUNT_ID and \
                     ENABLED_SERVICES",
                );
                return Outcome::Usage;
            };
            serve::Tenancy::ClientKey {
                client_key,
                token,
                connect,
            }
        }
    };
    if let Some(refusal) = args.refusal() {
        printer.err(&format!("error: {refusal}"));
        return Outcome::Usage;
    }
    let (options, pool) = args.options(tenancy, config.limits.memory_bytes);
    let load = move || Harness::load_pooled(&plugin, cache.as_ref(), Some(pool));
    match serve::serve(load, config, options).await {
        Ok(()) => Outcome::Success,
        Err(e) => printer.host_error("serve", &format!("{e:#}")),
    }
}

/// `verify`: the typed report; exits 1 when a service is not ready.
async fn verify(printer: &Printer, instance: &mut PluginInstance) -> Outcome {
    match instance.verify().await {
        Ok(Ok(report)) => {
            printer.show(
                || render::verify_json(&report),
                || render::verify_text(&report),
            );
            if report.ready {
                Outcome::Success
            } else {
                Outcome::Failure
            }
        }
        Ok(Err(e)) => printer.plugin_error(&e),
        Err(e) => printer.call_error(&e),
    }
}

/// `cf-harness audit`: the component's own imports and exports against what this harness
/// grants, with the policy and limits `config` holds. 0 when the harness loads it, 1 when not.
fn audit(
    printer: &Printer,
    plugin: &Path,
    config: &SandboxConfig,
    policy: Option<&PolicyFile>,
    cache: Option<&CompileCache>,
) -> Outcome {
    let setup = crate::audit::HostSetup {
        policy: &config.policy,
        limits: &config.limits,
        // The guest is granted no variable: the connection goes through `connect`.
        guest_env: &[],
    };
    let report = match crate::audit::audit_file(plugin, &setup, cache) {
        Ok(r) => r,
        Err(e) => return printer.host_error("load", &format!("{e:#}")),
    };
    if printer.json {
        let mut value = serde_json::to_value(&report).unwrap_or_default();
        if let (Some(file), Value::Object(map)) = (policy, &mut value) {
            map.insert(
                "policy_file".into(),
                serde_json::json!({
                    "path": file.source.display().to_string(),
                    "changes": policy_file::changes(file),
                }),
            );
        }
        printer.out(&serde_json::to_string_pretty(&value).unwrap_or_default());
    } else {
        if let Some(file) = policy {
            printer.out(&policy_changes_text(file));
        }
        printer.out(&crate::audit::render(&report));
    }
    if report.loads {
        Outcome::Success
    } else {
        Outcome::Failure
    }
}

/// `cf-harness audit-log verify FILE…`: 0 when the chain holds, 1 at a break, 2 when a file
/// cannot be read. Reads no credentials; the report holds file names, line numbers and hashes,
/// never a line's content.
fn verify_audit_log(json: bool, files: &[PathBuf]) -> Outcome {
    let printer = Printer { token: None, json };
    let report = match crate::sandbox::audit_log::verify(files) {
        Ok(report) => report,
        Err(e) => return printer.host_error("usage", &e.to_string()),
    };
    printer.show(|| report.to_json(), || report.to_text());
    if report.ok() {
        Outcome::Success
    } else {
        Outcome::Failure
    }
}
