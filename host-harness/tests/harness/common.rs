//! Shared set-up: the components `make plugin` builds, and `cf-harness` started as a user would.

use cf_fake::{ACCOUNT_ID, FakeCloudflare, TOKEN, built_component};
use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output};

pub const ALL: &str = "Documentation,DNS Analytics,GraphQL Analytics";

pub fn plugin() -> PathBuf {
    built_component("cloudflare_connector.wasm")
}

/// `cf-harness` with an empty environment, so nothing of the caller's shell leaks in (no
/// CLOUDFLARE_API_TOKEN, CLOUDFLARE_ACCOUNT_ID, ENABLED_SERVICES, CF_PLUGIN or CF_HARNESS_*
/// unless a test sets them), and a compile cache shared by every run (entries are keyed by
/// component and engine, so the folder can outlive a build), so each process does not compile
/// the plugin again.
pub fn cf_harness() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cf-harness"));
    command.env_clear().env(
        "CF_HARNESS_CACHE_DIR",
        std::env::temp_dir().join("cf-harness-cli-tests-cache"),
    );
    command
}

/// `cf-harness` on the real plugin against the fake, the credentials in the environment.
pub fn cf_harness_on(fake: &FakeCloudflare, services: &str) -> Command {
    cf_harness_upstream(&fake.url(), services)
}

/// As [`cf_harness_on`], with both Cloudflare hosts sent to `upstream` (a fake, a closed
/// port, a name that does not resolve).
pub fn cf_harness_upstream(upstream: &str, services: &str) -> Command {
    let mut command = cf_harness();
    command
        .env("CLOUDFLARE_API_TOKEN", TOKEN)
        .env("CLOUDFLARE_ACCOUNT_ID", ACCOUNT_ID)
        .env("ENABLED_SERVICES", services)
        .arg("--plugin")
        .arg(plugin())
        .arg("--upstream")
        .arg(format!("api.cloudflare.com={upstream}"))
        .arg("--upstream")
        .arg(format!("developers.cloudflare.com={upstream}"));
    command
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            stdout(output),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// The JSON a command printed, once it exited 0 (else the test fails with what it printed).
pub fn succeeded(output: &Output) -> Value {
    assert_eq!(
        output.status.code(),
        Some(0),
        "stdout: {}\nstderr: {}",
        stdout(output),
        String::from_utf8_lossy(&output.stderr)
    );
    json(output)
}

/// `cf-harness audit-log verify --json FILE…` (oldest first): its exit code and its report,
/// which never holds the token.
pub fn audit_log_verify(files: &[PathBuf]) -> (Option<i32>, Value) {
    let output = cf_harness()
        .args(["audit-log", "verify", "--json"])
        .args(files)
        .output()
        .expect("cf-harness runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stdout(&output).contains(TOKEN) && !stderr.contains(TOKEN));
    (output.status.code(), json(&output))
}
