//! `cf-harness` as a user runs it: exit codes, JSON, and the token never printed.

use crate::common::{ALL, cf_harness, cf_harness_on, json, plugin, stdout, succeeded};
use cf_fake::{ACCOUNT_ID, FakeCloudflare, Scenario, TOKEN};
use serde_json::Value;
use std::path::PathBuf;
use std::process::Output;

/// Runs the CLI against the fake with the token in the environment, as a user would.
fn run(fake: &FakeCloudflare, services: &str, args: &[&str]) -> Output {
    cf_harness_on(fake, services)
        .args(args)
        .output()
        .expect("cf-harness runs")
}

#[test]
fn verify_json_says_ready_and_lists_every_check() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let output = run(&fake, ALL, &["verify", "--json"]);
    let report = succeeded(&output);
    assert_eq!(report["ready"], true);
    let checks = report["checks"].as_array().expect("checks");
    assert!(checks.len() >= 9);
    for c in checks {
        for key in ["service", "permission", "status", "hint"] {
            assert!(c.get(key).is_some(), "check {} has {key}", c["id"]);
        }
    }
}

#[test]
fn verify_exits_1_and_names_the_missing_permission() {
    let fake = FakeCloudflare::spawn(Scenario::Missing(cf_fake::Permission::DnsRead));
    let output = run(&fake, ALL, &["verify", "--json"]);
    assert_eq!(output.status.code(), Some(1));
    let report = json(&output);
    assert_eq!(report["ready"], false);
    let failed: Vec<&Value> = report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|c| c["status"] == "failed")
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["permission"], "dns-read");
    assert_eq!(failed[0]["service"], "dns-analytics");
    assert!(failed[0]["hint"].is_string());
    let readable = run(&fake, ALL, &["verify"]);
    assert_eq!(readable.status.code(), Some(1));
    let text = String::from_utf8_lossy(&readable.stdout);
    assert!(
        text.contains("Zone → DNS → Read") && text.contains("NOT READY"),
        "{text}"
    );
}

#[test]
fn usage_errors_exit_2() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    for args in [
        vec!["verify", "--account-id", "not-an-account"],
        vec!["verify", "--services", "DNS,Docs"],
        vec!["verify", "--upstream", "evil.test=http://127.0.0.1:1"],
        vec!["call", "verify", "{not json"],
        vec!["frobnicate"],
    ] {
        let output = run(&fake, ALL, &args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let output = cf_harness()
        .args(["--plugin"])
        .arg(plugin())
        .arg("verify")
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2), "no account ID or services");
    let output = cf_harness()
        .args(["--plugin", "/nonexistent/plugin.wasm", "--json", "tools"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2), "no plugin at that path");
    assert!(
        json(&output)["error"]["message"].is_string(),
        "--json errors are JSON"
    );
}

#[test]
fn a_token_on_the_command_line_is_refused_and_not_echoed() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let secret = "cfut_typed_on_the_command_line_0123456789";
    let output = run(&fake, ALL, &["verify", "--token", secret]);
    assert_eq!(output.status.code(), Some(2));
    let all = [output.stdout, output.stderr].concat();
    assert!(!String::from_utf8_lossy(&all).contains(secret));
}

/// Whether `verify` finds every service ready in a scenario, with all services enabled.
fn ready_in(scenario: Scenario) -> bool {
    matches!(
        scenario,
        Scenario::AllPermissions
            | Scenario::AccountOwnedToken
            | Scenario::ExpiringSoon
            | Scenario::TokenDetailsReadable
            | Scenario::EchoesAuthorization
    )
}

#[test]
fn the_token_is_never_printed_in_any_scenario() {
    let dir = std::env::temp_dir().join(format!("cf-harness-token-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let token_file = dir.join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).expect("token file");
    let token_file = token_file.to_string_lossy().to_string();
    let bearer = format!("Bearer {TOKEN}");
    for &scenario in Scenario::ALL {
        let fake = FakeCloudflare::spawn(scenario);
        let verify_exit = if ready_in(scenario) { 0 } else { 1 };
        // Each command, its exit code, and whether it sends requests (connect sends none).
        for (args, exit, sends) in [
            (vec!["verify"], verify_exit, true),
            (vec!["verify", "--json", "-v"], verify_exit, true),
            (vec!["connect"], 0, false),
            (vec!["call", "verify"], verify_exit, true),
            (
                vec!["verify", "--token-file", token_file.as_str()],
                verify_exit,
                true,
            ),
        ] {
            fake.clear_requests();
            let mut command = cf_harness_on(&fake, ALL);
            // The stalling scenarios would each wait out the default 30 s read timeout.
            command.args(["--read-timeout", "2"]);
            if args.contains(&"--token-file") {
                // The file is the only source: the token the fake receives came from it.
                command.env_remove("CLOUDFLARE_API_TOKEN");
            }
            let output = command.args(&args).output().expect("cf-harness runs");
            assert_eq!(
                output.status.code(),
                Some(exit),
                "{scenario:?} {args:?}: stderr {}",
                String::from_utf8_lossy(&output.stderr)
            );
            for (stream, bytes) in [("stdout", &output.stdout), ("stderr", &output.stderr)] {
                let text = String::from_utf8_lossy(bytes);
                assert!(
                    !text.contains(TOKEN),
                    "{scenario:?} {args:?}: the token is in {stream}"
                );
                assert!(
                    !text.contains("f3b2a9e7d4c6b1a"),
                    "{scenario:?} {args:?}: part of the token is in {stream}"
                );
            }
            let requests = fake.requests();
            if sends {
                assert!(
                    requests.iter().any(|r| r.host == "api.cloudflare.com"
                        && r.header("authorization") == Some(bearer.as_str())),
                    "{scenario:?} {args:?}: the fake never received the token"
                );
            } else {
                assert!(requests.is_empty(), "{scenario:?} {args:?}: {requests:?}");
            }
        }
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// Against an upstream quoting the request back (`echoes-authorization`), `cf-harness call`
/// prints whole answers without the token, and the audit log says how often each answer carried
/// it back, never the token: the plugin was handed `[REDACTED]`, not the token.
#[test]
fn an_upstream_echoing_the_token_is_scrubbed_and_the_audit_log_says_so() {
    let fake = FakeCloudflare::spawn(Scenario::EchoesAuthorization);
    let path = std::env::temp_dir().join(format!("cf-audit-echo-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let log_flag = path.to_str().expect("UTF-8 temp path");
    for (tool, check) in [("verify", "ready"), ("dns_list_zones", "zones")] {
        let output = run(
            &fake,
            ALL,
            &["--audit-log", log_flag, "--json", "call", tool],
        );
        let result = succeeded(&output);
        assert!(!result[check].is_null(), "{tool}: {result}");
        for bytes in [&output.stdout, &output.stderr] {
            let text = String::from_utf8_lossy(bytes);
            assert!(
                !text.contains(TOKEN) && !text.contains("f3b2a9e7d4c6b1a"),
                "{tool}"
            );
            assert!(
                !text.contains("[REDACTED]"),
                "{tool}: the plugin never quotes the echo"
            );
        }
    }
    assert_eq!(
        succeeded(&run(&fake, ALL, &["--json", "call", "verify"]))["ready"],
        true
    );
    let text = std::fs::read_to_string(&path).expect("the log is written");
    assert!(!text.contains(TOKEN));
    let requests: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("JSON line"))
        .filter(|l| l["type"] == "request")
        .collect();
    assert!(requests.len() >= 5, "{text}");
    for request in &requests {
        let echoed = if request["token_injected"] == true {
            3
        } else {
            0
        };
        assert_eq!(request["token_echoed"], echoed, "{request}");
    }
    assert!(
        fake.requests()
            .iter()
            .any(|r| r.header("authorization") == Some(format!("Bearer {TOKEN}").as_str())),
        "the fake received the token, and echoed it"
    );
    let _ = std::fs::remove_file(&path);
}

#[test]
fn tools_and_connect_print_what_the_plugin_offers() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let output = run(&fake, ALL, &["tools", "--json"]);
    assert_eq!(output.status.code(), Some(0));
    let names: Vec<String> = json(&output)
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|t| t["name"].as_str().map(String::from))
        .collect();
    // The host configured the connection: `verify` and the enabled services' tools.
    assert!(names.starts_with(&["verify".to_string(), "docs_search".to_string()]));
    assert!(names.contains(&"dns_report".to_string()), "{names:?}");
    assert!(!names.contains(&"connect".to_string()), "{names:?}");
    let output = run(&fake, "dns-analytics", &["connect", "--json"]);
    assert_eq!(output.status.code(), Some(0));
    let info = json(&output);
    assert_eq!(info["account_id"], ACCOUNT_ID);
    assert_eq!(
        info["services"][0]["permissions"].as_array().map(Vec::len),
        Some(4)
    );
    assert!(fake.requests().is_empty(), "connect and tools send nothing");
}

#[test]
fn a_dns_report_runs_from_the_command_line() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let args = r#"{"zone": "github.com", "dimensions": ["query-name"],
        "filters": [{"dimension": "response-code", "value": "NXDOMAIN"}], "since": "24h"}"#;
    let output = run(&fake, ALL, &["call", "dns_report", args]);
    let report = succeeded(&output);
    assert_eq!(report["rows"][0]["query_name"], "missing.github.com");
    assert_eq!(report["totals"]["query_count"], 72);
    // A bad argument is a usage error naming the field.
    let output = run(
        &fake,
        ALL,
        &["call", "dns_report", r#"{"dimensions": ["colour"]}"#],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("dimensions"));
}

#[test]
fn audit_log_holds_each_call_and_request_in_a_private_file_without_the_token() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let path = std::env::temp_dir().join(format!("cf-audit-cli-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let log_flag = path.to_str().expect("UTF-8 temp path");
    let output = run(&fake, ALL, &["--audit-log", log_flag, "verify", "--json"]);
    assert_eq!(output.status.code(), Some(0));
    let text = std::fs::read_to_string(&path).expect("the log is written");
    assert!(!text.contains(TOKEN));
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    let calls: Vec<&Value> = lines.iter().filter(|l| l["type"] == "call").collect();
    // The typed exports, not their tools: the CLI passes no JSON to itself.
    let names: Vec<&str> = calls
        .iter()
        .map(|c| c["function"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(names, ["connect", "verify"]);
    assert!(calls.iter().all(|c| c["outcome"] == "ok"));
    let requests: Vec<&Value> = lines.iter().filter(|l| l["type"] == "request").collect();
    assert_eq!(
        calls[1]["requests"].as_u64(),
        Some(requests.len() as u64),
        "connect makes no request; verify's all follow it"
    );
    assert!(requests.len() >= 5);
    for request in &requests {
        assert_eq!(request["decision"], "allowed", "{request}");
        assert!(request["status"].is_u64(), "{request}");
        assert!(
            ["api.cloudflare.com", "developers.cloudflare.com"]
                .contains(&request["host"].as_str().unwrap_or_default()),
            "{request}"
        );
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path)
            .expect("exists")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // A second run appends.
    let again = run(&fake, ALL, &["--audit-log", log_flag, "connect"]);
    assert_eq!(again.status.code(), Some(0));
    let longer = std::fs::read_to_string(&path).expect("still there");
    assert!(longer.starts_with(&text) && longer.len() > text.len());
    let _ = std::fs::remove_file(&path);
}

#[test]
fn limit_flags_hold_for_the_real_plugin_and_fail_with_a_typed_error() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    // One request per call: verify's second request is denied by the host, so it cannot
    // confirm the permissions (and says so) instead of failing silently.
    let output = run(&fake, ALL, &["--max-requests", "1", "verify", "--json"]);
    assert_eq!(output.status.code(), Some(1));
    let report = json(&output);
    assert_eq!(report["ready"], false);
    assert_eq!(
        fake.requests().len(),
        1,
        "connect makes none, verify only one"
    );

    // Too little memory to start: a typed host error, not a crash.
    let output = run(&fake, ALL, &["--memory-mib", "1", "connect", "--json"]);
    assert_eq!(output.status.code(), Some(1));
    let error = json(&output);
    assert!(
        ["instantiate", "memory-limit"]
            .contains(&error["error"]["kind"].as_str().unwrap_or_default()),
        "{error}"
    );
}

/// The compiled plugin's cache entries, by name.
fn cache_entries(dir: &std::path::Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "cwasm"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn the_compile_cache_is_used_when_warm_rebuilt_when_corrupt_and_skipped_with_no_cache() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let dir = std::env::temp_dir().join(format!("cf-harness-cache-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let cache_flag = dir.to_str().expect("UTF-8 temp path");
    let tools = |extra: &[&str]| {
        let mut args = vec!["-v", "--cache-dir", cache_flag];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["tools", "--json"]);
        let output = run(&fake, ALL, &args);
        (
            succeeded(&output),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };

    let (cold, log) = tools(&[]);
    assert!(log.contains("CompiledAndCached"), "{log}");
    let entries = cache_entries(&dir);
    assert_eq!(entries.len(), 1, "one entry for the plugin");
    let (warm, log) = tools(&[]);
    assert!(log.contains("source=Cache"), "{log}");
    assert_eq!(warm, cold, "the cached component behaves the same");

    // A damaged entry is compiled again and replaced, never loaded.
    let good = std::fs::read(&entries[0]).expect("entry");
    let mut damaged = good.clone();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 0x55;
    std::fs::write(&entries[0], &damaged).expect("damage");
    let (rebuilt, log) = tools(&[]);
    assert!(log.contains("Rebuilt"), "{log}");
    assert_eq!(rebuilt, cold);
    assert_eq!(std::fs::read(&entries[0]).expect("entry"), good);

    // --no-cache neither reads nor writes it.
    std::fs::remove_dir_all(&dir).expect("clear");
    let (uncached, log) = tools(&["--no-cache"]);
    assert!(log.contains("source=Compiled"), "{log}");
    assert_eq!(uncached, cold);
    assert!(!dir.exists(), "nothing written with --no-cache");
}

/// A token no Cloudflare token looks like is refused before any request, not sent to come back
/// as an HTTP 431.
#[test]
fn a_token_longer_than_any_cloudflare_token_is_refused_before_sending() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let long = "a".repeat(host_harness::credentials::TOKEN_MAX_CHARS + 1);
    let output = cf_harness_on(&fake, ALL)
        .env("CLOUDFLARE_API_TOKEN", &long)
        .arg("verify")
        .output()
        .expect("cf-harness runs");
    assert_eq!(output.status.code(), Some(2));
    let all = [output.stdout, output.stderr].concat();
    assert!(!String::from_utf8_lossy(&all).contains(&long));
    assert!(fake.requests().is_empty(), "nothing was sent");
}

/// `--token-file` reads a regular file only, and a bounded amount of it: `/dev/zero`, a FIFO
/// (which would block) and a 1 MiB file are usage errors naming the file; a file others can read
/// is taken with a warning naming it.
#[cfg(unix)]
#[test]
fn token_files_that_could_block_or_never_end_are_refused() {
    use std::os::unix::fs::PermissionsExt as _;
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let dir = std::env::temp_dir().join(format!("cf-harness-token-files-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let fifo = dir.join("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    let large = dir.join("large");
    std::fs::write(&large, vec![b'a'; 1024 * 1024]).expect("written");
    for path in [PathBuf::from("/dev/zero"), fifo, large] {
        let output = cf_harness_on(&fake, ALL)
            .env_remove("CLOUDFLARE_API_TOKEN")
            .arg("--token-file")
            .arg(&path)
            .arg("verify")
            .output()
            .expect("cf-harness runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{}: {stderr}",
            path.display()
        );
        assert!(stderr.contains(&path.display().to_string()), "{stderr}");
    }
    assert!(fake.requests().is_empty(), "nothing was sent");

    let loose = dir.join("loose");
    std::fs::write(&loose, TOKEN).expect("written");
    std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let output = cf_harness_on(&fake, ALL)
        .env_remove("CLOUDFLARE_API_TOKEN")
        .arg("--token-file")
        .arg(&loose)
        .arg("connect")
        .output()
        .expect("cf-harness runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(&loose.display().to_string()),
        "a warning: {stderr}"
    );
    std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let output = cf_harness_on(&fake, ALL)
        .env_remove("CLOUDFLARE_API_TOKEN")
        .arg("--token-file")
        .arg(&loose)
        .arg("connect")
        .output()
        .expect("cf-harness runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        !stderr.contains(&loose.display().to_string()),
        "no warning: {stderr}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// Every tool's result, `connect` included, validates against the output schema `tools` lists
/// for it, checked with the jsonschema crate (the three SDK clients check the same over MCP).
#[test]
fn every_tools_result_validates_against_its_output_schema() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let calls: serde_json::Map<String, Value> =
        serde_json::from_str(include_str!("../../../tests/mcp-client/tool_calls.json"))
            .expect("tool_calls.json is a JSON object");
    let mut schemas = std::collections::BTreeMap::new();
    // Without an account only connect and verify are listed; with one, every other tool.
    let unconnected = cf_harness()
        .arg("--plugin")
        .arg(plugin())
        .args(["--json", "tools"])
        .output();
    let connected = cf_harness_on(&fake, ALL).args(["--json", "tools"]).output();
    for output in [unconnected, connected] {
        for tool in json(&output.expect("cf-harness runs"))
            .as_array()
            .expect("a list")
        {
            let name = tool["name"].as_str().expect("a name").to_string();
            schemas.insert(name, tool["output_schema"].clone());
        }
    }
    assert_eq!(schemas.len(), 17, "every tool: {:?}", schemas.keys());
    for (name, schema) in &schemas {
        let arguments = calls
            .get(name)
            .unwrap_or_else(|| panic!("tool_calls.json has {name}"));
        let validator = jsonschema::validator_for(schema)
            .unwrap_or_else(|e| panic!("{name}: the output schema does not compile: {e}"));
        assert!(
            !validator.is_valid(&serde_json::json!({})),
            "{name}: the schema requires its fields"
        );
        let output = cf_harness_on(&fake, ALL)
            .args(["--json", "call", name, &arguments.to_string()])
            .output()
            .expect("cf-harness runs");
        assert_eq!(output.status.code(), Some(0), "{name}: {}", stdout(&output));
        let result = json(&output);
        let problems: Vec<String> = validator
            .iter_errors(&result)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(problems.is_empty(), "{name}: {problems:?}");
    }
}
