//! `cf-harness`: the commands. Each one loads the plugin, configures the connection once
//! through the typed `connect`, calls the typed export it needs and renders the typed value
//! (`render`); only `call` passes JSON, as a language model would.

use super::mcp::McpServer;
use super::output::{Outcome, Printer, RedactingStderr};
use super::policy_file::{self, PolicyFile};
use super::render;
use super::serve;
use crate::{ApiToken, AuditLog, CompileCache, Harness, OutboundPolicy, SandboxConfig};
use serde_json::Value;
use std::process::ExitCode;
use std::sync::Arc;

mod args;
mod commands;
mod settings;

use args::{AuditLogCommand, Cli, Command, LIMIT_FLAGS, PolicyCommand};
use commands::{audit, policy_changes_text, run_serve, verify, verify_audit_log};
use settings::{audit_log_target, connect_options, limits, plugin_path};

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
