//! `--policy FILE`: a reviewed policy file pins the component and narrows the built-in rules,
//! for every command; a rule wider than the built-in rules is refused at start with its line.

use crate::common::{ALL, cf_harness, cf_harness_on, json, plugin, stdout, succeeded};
use crate::mcp::{Session, tool_error};
use cf_fake::{FakeCloudflare, Scenario};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Output;

/// A policy file in a fresh folder (kept for the test's life).
struct PolicyDir {
    dir: PathBuf,
}

impl PolicyDir {
    fn new(name: &str) -> PolicyDir {
        let dir = std::env::temp_dir().join(format!("cf-policy-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a temporary folder");
        PolicyDir { dir }
    }

    fn write(&self, text: &str) -> PathBuf {
        let path = self.dir.join("policy.toml");
        std::fs::write(&path, text).expect("writable");
        path
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

impl Drop for PolicyDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `policy init` as the starting point a security team edits.
fn init() -> String {
    let output = cf_harness()
        .arg("--plugin")
        .arg(plugin())
        .args(["policy", "init"])
        .output()
        .expect("cf-harness runs");
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    stdout(&output)
}

/// The line a refusal on stderr names (`FILE line N: ...`).
fn refused_line(output: &Output) -> Option<usize> {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let (_, rest) = stderr.split_once(" line ")?;
    rest.split(':').next()?.trim().parse().ok()
}

fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle:?} in the policy"))
        + 1
}

#[test]
fn policy_init_writes_a_file_every_command_accepts_and_audit_shows_what_it_changes() {
    let dir = PolicyDir::new("init");
    let text = init();
    let policy = dir.write(&text);
    // The file reads back: it pins this component and narrows nothing else.
    let audit = succeeded(
        &cf_harness()
            .arg("--plugin")
            .arg(plugin())
            .arg("--policy")
            .arg(&policy)
            .args(["--json", "audit"])
            .output()
            .expect("cf-harness runs"),
    );
    let changes = audit["policy_file"]["changes"].as_array().expect("changes");
    assert!(
        changes
            .iter()
            .any(|c| c.as_str().is_some_and(|c| c.starts_with("component:"))),
        "{changes:?}"
    );
    assert_eq!(
        audit["component"]["sha256"]
            .as_str()
            .map(|d| text.contains(d)),
        Some(true)
    );
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let report = cf_harness_on(&fake, ALL)
        .arg("--policy")
        .arg(&policy)
        .args(["--json", "verify"])
        .output()
        .expect("cf-harness runs");
    assert_eq!(succeeded(&report)["ready"], true);
}

#[test]
fn a_component_with_another_digest_is_refused_naming_both_digests() {
    let dir = PolicyDir::new("digest");
    let text = init();
    let pinned = "0".repeat(64);
    let start = text.find("sha256 = \"").expect("a digest") + 10;
    let actual = text[start..start + 64].to_string();
    let policy = dir.write(&text.replace(&actual, &pinned));
    for command in [&["tools"][..], &["mcp"], &["audit"]] {
        let output = cf_harness()
            .arg("--plugin")
            .arg(plugin())
            .arg("--policy")
            .arg(&policy)
            .arg("--json")
            .args(command)
            .output()
            .expect("cf-harness runs");
        assert_eq!(output.status.code(), Some(1), "{command:?}");
        let error = &json(&output)["error"];
        assert_eq!(error["kind"], "policy", "{command:?}: {error}");
        let message = error["message"].as_str().expect("a message");
        assert!(
            message.contains(&actual) && message.contains(&pinned),
            "{message}"
        );
    }
}

/// Each rule wider than the built-in read-only rule, and an unknown key, is refused at start
/// (exit 2) naming the line that asked for it.
#[test]
fn a_rule_wider_than_the_built_in_rules_is_refused_with_its_line() {
    let dir = PolicyDir::new("wide");
    let base = init();
    let cases = [
        (
            "a write method",
            base.replacen(
                "methods = [\"GET\", \"HEAD\"]",
                "methods = [\"GET\", \"PUT\"]",
                1,
            ),
            "methods = [\"GET\", \"PUT\"]",
        ),
        (
            "another host",
            base.replacen(
                "host = \"developers.cloudflare.com\"",
                "host = \"example.com\"",
                1,
            ),
            "example.com",
        ),
        (
            "POST outside GraphQL",
            base.replacen(
                "paths = [\"/client/v4/graphql\"]",
                "paths = [\"/client/v4/zones\"]",
                1,
            ),
            "paths = [\"/client/v4/zones\"]",
        ),
        (
            "an unknown key",
            base.replacen("[limits]\n", "[limits]\nmax_widgets = 3\n", 1),
            "max_widgets",
        ),
        (
            "an unknown service",
            base.replacen("services = [", "services = [\"workers\", ", 1),
            "workers",
        ),
    ];
    for (what, text, needle) in cases {
        assert_ne!(text, base, "{what}: the case changes the file");
        let policy = dir.write(&text);
        let output = cf_harness()
            .arg("--plugin")
            .arg(plugin())
            .arg("--policy")
            .arg(&policy)
            .arg("tools")
            .output()
            .expect("cf-harness runs");
        assert_eq!(output.status.code(), Some(2), "{what}");
        assert_eq!(
            refused_line(&output),
            Some(line_of(&text, needle)),
            "{what}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// Rules narrow what leaves: a GET under the allowed prefix goes out, a path outside it and a
/// POST the file does not list are denied by the host, and Cloudflare never sees them.
#[test]
fn host_rules_narrow_what_the_plugin_may_send() {
    let dir = PolicyDir::new("narrow");
    let policy = dir.write(
        "[[hosts]]\nhost = \"api.cloudflare.com\"\nmethods = [\"GET\"]\npaths = [\"/client/v4/zones\"]\n",
    );
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let run = |tool: &str, arguments: serde_json::Value| {
        cf_harness_on(&fake, ALL)
            .arg("--policy")
            .arg(&policy)
            .args(["--json", "call", tool, &arguments.to_string()])
            .output()
            .expect("cf-harness runs")
    };
    let zones = succeeded(&run("dns_list_zones", json!({})));
    assert!(zones["zones"].as_array().is_some_and(|z| !z.is_empty()));
    let graphql = run("graphql_query", json!({ "query": "{ viewer { budget } }" }));
    assert_eq!(json(&graphql)["error"]["kind"], "denied-by-host");
    let docs = run("docs_search", json!({ "query": "create an API token" }));
    assert_ne!(
        docs.status.code(),
        Some(0),
        "the docs host is not in the file"
    );
    let sent: Vec<String> = fake.requests().iter().map(|r| r.path.clone()).collect();
    assert!(
        sent.iter().any(|p| p.starts_with("/client/v4/zones")),
        "{sent:?}"
    );
    assert!(!sent.iter().any(|p| p.contains("graphql")), "{sent:?}");
    assert!(
        fake.requests()
            .iter()
            .all(|r| r.host == "api.cloudflare.com"),
        "{sent:?}"
    );
}

/// A connection asking for a service the file does not allow is refused before the plugin
/// runs: by the host's own settings, and by an MCP client's `connect`.
#[tokio::test(flavor = "multi_thread")]
async fn a_service_the_policy_does_not_allow_is_refused_over_the_cli_and_mcp() {
    let dir = PolicyDir::new("services");
    let policy = dir.write("services = [\"Documentation\"]\n");
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let output = cf_harness_on(&fake, ALL)
        .arg("--policy")
        .arg(&policy)
        .args(["--json", "connect"])
        .output()
        .expect("cf-harness runs");
    assert_eq!(json(&output)["error"]["kind"], "denied-by-host");

    let mut host = cf_harness_on(&fake, "Documentation");
    host.arg("--policy").arg(&policy);
    let session = Session::spawn(host, &[]).await;
    let widened = session
        .call(
            "connect",
            json!({ "account_id": cf_fake::ACCOUNT_ID, "enabled_services": ["DNS Analytics"] }),
        )
        .await;
    assert_eq!(tool_error(&widened)["kind"], "denied-by-host");
    session.finish().await;
    assert!(fake.requests().is_empty(), "nothing was sent");
}

/// Limits are ceilings: a flag above one is refused with its line, a default above one is
/// lowered to it (what `audit` reports).
#[test]
fn limits_are_ceilings_a_flag_cannot_lift() {
    let dir = PolicyDir::new("limits");
    let policy = dir.write("[limits]\ntimeout_seconds = 10\nmemory_mib = 32\n");
    let over = cf_harness()
        .arg("--plugin")
        .arg(plugin())
        .arg("--policy")
        .arg(&policy)
        .args(["--timeout", "20", "tools"])
        .output()
        .expect("cf-harness runs");
    assert_eq!(over.status.code(), Some(2));
    assert_eq!(refused_line(&over), Some(2));
    let audit = succeeded(
        &cf_harness()
            .arg("--plugin")
            .arg(plugin())
            .arg("--policy")
            .arg(&policy)
            .args(["--json", "--timeout", "5", "audit"])
            .output()
            .expect("cf-harness runs"),
    );
    assert_eq!(
        audit["limits"]["wall_clock_ms"], 5000,
        "a flag under the ceiling stands"
    );
    assert_eq!(
        audit["limits"]["memory_bytes"],
        32 * 1024 * 1024,
        "the default is lowered"
    );
}

/// The file's audit log is written whatever the flags say, and a flag naming another is
/// refused.
#[test]
fn the_policys_audit_log_is_always_written() {
    let dir = PolicyDir::new("audit-log");
    let log = dir.path("audit.jsonl");
    let policy = dir.write(&format!(
        "[audit_log]\npath = {:?}\n",
        log.display().to_string()
    ));
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    succeeded(
        &cf_harness_on(&fake, ALL)
            .arg("--policy")
            .arg(&policy)
            .args(["--json", "call", "docs_products"])
            .output()
            .expect("cf-harness runs"),
    );
    let written = std::fs::read_to_string(&log).expect("the policy's log");
    assert!(
        written.lines().count() >= 2,
        "the call and its request: {written}"
    );
    let other = cf_harness_on(&fake, ALL)
        .arg("--policy")
        .arg(&policy)
        .arg("--audit-log")
        .arg(dir.path("elsewhere.jsonl"))
        .arg("tools")
        .output()
        .expect("cf-harness runs");
    assert_eq!(other.status.code(), Some(2));
    assert_eq!(refused_line(&other), Some(2));
    assert!(!Path::new(&dir.path("elsewhere.jsonl")).exists());
}
