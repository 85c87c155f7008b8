//! The commands `run` hands off whole: `serve`, `verify`, `audit` and `audit-log verify`.

use super::args::{Cli, Command};
use super::settings::connect_options;
use crate::front::output::{Outcome, Printer};
use crate::front::policy_file::{self, PolicyFile};
use crate::front::render;
use crate::front::serve;
use crate::{ApiToken, CompileCache, Harness, PluginInstance, SandboxConfig};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// `cf-harness serve`: the credentials come with each request, so the host's own are refused
/// rather than silently ignored.
pub(super) async fn run_serve(
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
pub(super) async fn verify(printer: &Printer, instance: &mut PluginInstance) -> Outcome {
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
pub(super) fn audit(
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
pub(super) fn verify_audit_log(json: bool, files: &[PathBuf]) -> Outcome {
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

/// `audit --policy`: what the file changes against the built-in rules, before the report.
pub(super) fn policy_changes_text(file: &PolicyFile) -> String {
    let mut text = format!("Policy file {} changes:\n", file.source.display());
    for change in policy_file::changes(file) {
        text.push_str(&format!("  {change}\n"));
    }
    text
}
