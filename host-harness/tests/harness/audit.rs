//! `cf-harness audit` and the load-time refusal of ungranted imports: the real plugin and the
//! hostile component load, a component that imports `wasi:sockets` and `wasi:filesystem` is refused,
//! naming the imports, both by the CLI and by `Harness::load`.

use crate::common::{
    ALL, audit_log_verify, cf_harness, cf_harness_on, json, plugin, stdout, succeeded,
};
use cf_fake::{FakeCloudflare, Scenario, built_component};
use host_harness::audit::{Access, UngrantedImports, ungranted_imports};
use host_harness::{Harness, Limits};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Output;

/// Imports wasi:sockets and wasi:filesystem.
fn ungranted_plugin() -> PathBuf {
    built_component("ungranted_plugin.wasm")
}

fn hostile_plugin() -> PathBuf {
    built_component("hostile_plugin.wasm")
}

/// `cf-harness audit`, with an empty environment: no token, no account, no services.
fn audit(args: &[&str]) -> Output {
    cf_harness()
        .arg("audit")
        .args(args)
        .output()
        .expect("cf-harness runs")
}

fn sha256_hex(path: &Path) -> String {
    let bytes = std::fs::read(path).expect("readable");
    Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn import<'a>(report: &'a Value, prefix: &str) -> &'a Value {
    report["imports"]
        .as_array()
        .expect("imports")
        .iter()
        .find(|i| i["name"].as_str().is_some_and(|n| n.starts_with(prefix)))
        .unwrap_or_else(|| panic!("no import {prefix}* in {:#}", report["imports"]))
}

#[test]
fn audit_of_the_real_plugin_is_readable_and_exits_0() {
    let plugin = plugin();
    let output = audit(&[plugin.to_str().expect("UTF-8 path")]);
    let text = stdout(&output);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{text}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for needle in [
        "verdict loads",
        // Imports with their status, by their full names.
        "granted wasi:http/outgoing-handler@0.2.",
        "granted wasi:http/types@0.2.",
        "granted wasi:cli/environment@0.2.",
        "stubbed wasi:cli/stdin@0.2.",
        "stubbed wasi:cli/stdout@0.2.",
        // Exports with their functions.
        "cloudflare:connector/tools@0.1.0",
        "call-tool: func(name: string, arguments-json: string) -> result<string, error>",
        "connect: func(options: connect-options) -> result<connection-info, error>",
        // The policy.
        "api.cloudflare.com",
        "developers.cloudflare.com",
        "GET, HEAD  any path",
        "POST       /client/v4/graphql only",
        "token      injected by the host",
        "token      never sent",
        "--upstream: none",
        // The limits.
        "memory          64 MiB",
        "CPU time        5 s",
        "wall clock      60 s",
        "connect         10 s",
        "first byte      30 s",
        "between bytes   30 s",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    assert!(
        !text.contains("denied wasi:"),
        "the real plugin imports nothing denied:\n{text}"
    );
    assert!(
        text.contains(&format!("sha256  {}", sha256_hex(&plugin))),
        "{text}"
    );
    let size = std::fs::metadata(&plugin).expect("metadata").len();
    assert!(text.contains(&format!("size    {size} bytes")), "{text}");
}

#[test]
fn audit_json_has_imports_exports_policy_limits_and_the_hash() {
    let plugin = plugin();
    let output = audit(&[
        plugin.to_str().expect("UTF-8 path"),
        "--json",
        "--timeout",
        "7",
        "--upstream",
        "api.cloudflare.com=http://127.0.0.1:9",
    ]);
    let report = succeeded(&output);

    assert_eq!(report["loads"], true);
    assert_eq!(report["refused_imports"], Value::Array(Vec::new()));
    assert_eq!(report["component"]["sha256"], sha256_hex(&plugin));
    assert_eq!(
        report["component"]["size_bytes"],
        std::fs::metadata(&plugin).expect("metadata").len()
    );

    let handler = import(&report, "wasi:http/outgoing-handler@0.2.");
    assert_eq!(handler["access"], "granted");
    assert_eq!(handler["kind"], "interface");
    assert!(
        handler["functions"]
            .as_array()
            .expect("functions")
            .iter()
            .any(|f| f["name"] == "handle"),
        "{handler:#}"
    );
    assert_eq!(import(&report, "wasi:cli/stdin@0.2.")["access"], "stubbed");
    assert_eq!(
        import(&report, "wasi:clocks/wall-clock@0.2.")["access"],
        "granted"
    );
    for i in report["imports"].as_array().expect("imports") {
        assert_ne!(i["access"], "denied", "{i:#}");
        assert!(
            !i["name"]
                .as_str()
                .expect("name")
                .starts_with("wasi:sockets")
        );
    }

    let tools = report["exports"]
        .as_array()
        .expect("exports")
        .iter()
        .find(|e| e["name"] == "cloudflare:connector/tools@0.1.0")
        .expect("the tools interface is exported");
    let names: Vec<&str> = tools["functions"]
        .as_array()
        .expect("functions")
        .iter()
        .filter_map(|f| f["name"].as_str())
        .collect();
    assert_eq!(names, ["list-tools", "call-tool"]);

    let outbound = &report["outbound"];
    assert_eq!(outbound["through"], "wasi:http/outgoing-handler");
    assert_eq!(outbound["schemes"], serde_json::json!(["https"]));
    assert_eq!(outbound["ports"], serde_json::json!([443]));
    assert_eq!(
        outbound["token_sent_to"],
        serde_json::json!(["api.cloudflare.com"])
    );
    assert_eq!(
        outbound["token_never_sent_to"],
        serde_json::json!(["developers.cloudflare.com"])
    );
    assert!(
        outbound["token_in_answers"]
            .as_str()
            .is_some_and(|t| t.starts_with("replaced by [REDACTED]")),
        "{outbound}"
    );
    let hosts = outbound["hosts"].as_array().expect("hosts");
    let api = &hosts[0];
    assert_eq!(api["host"], "api.cloudflare.com");
    assert_eq!(api["token_injected"], true);
    assert_eq!(api["upstream"], "http://127.0.0.1:9");
    let post = api["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .find(|r| r["methods"] == serde_json::json!(["POST"]))
        .expect("a POST rule");
    assert_eq!(post["paths"], serde_json::json!(["/client/v4/graphql"]));
    let docs = &hosts[1];
    assert_eq!(docs["host"], "developers.cloudflare.com");
    assert_eq!(docs["token_injected"], false);
    assert_eq!(
        docs["rules"],
        serde_json::json!([{ "methods": ["GET", "HEAD"], "paths": ["*"], "except": [], "conditions": [] }])
    );
    assert_eq!(
        outbound["upstreams"],
        serde_json::json!([{ "host": "api.cloudflare.com", "url": "http://127.0.0.1:9", "token_sent": true }])
    );

    let defaults = Limits::default();
    let limits = &report["limits"];
    assert_eq!(limits["wall_clock_ms"], 7000, "--timeout is reported");
    assert_eq!(limits["memory_bytes"], defaults.memory_bytes as u64);
    assert_eq!(limits["cpu_time_ms"], defaults.cpu_time.as_millis() as u64);
    assert_eq!(
        limits["connect_timeout_ms"],
        defaults.connect_timeout.as_millis() as u64
    );
    assert_eq!(
        limits["first_byte_timeout_ms"],
        defaults.first_byte_timeout.as_millis() as u64
    );
    assert_eq!(
        limits["between_bytes_timeout_ms"],
        defaults.between_bytes_timeout.as_millis() as u64
    );
    assert_eq!(limits["max_response_bytes"], defaults.max_response_bytes);
    assert_eq!(
        limits["max_requests_per_call"],
        defaults.max_requests_per_call
    );
    assert_eq!(limits["max_memories"], 2);
    assert_eq!(limits["max_tables"], 16);
}

/// The producers' names of one field of `component.metadata.producers`, with their versions.
fn producers<'a>(report: &'a Value, field: &str) -> Vec<(&'a str, &'a str)> {
    report["component"]["metadata"]["producers"]
        .as_array()
        .expect("producers")
        .iter()
        .filter(|f| f["field"] == field)
        .flat_map(|f| f["values"].as_array().expect("values"))
        .map(|v| {
            (
                v["name"].as_str().expect("name"),
                v["version"].as_str().expect("version"),
            )
        })
        .collect()
}

#[test]
fn audit_shows_what_the_component_says_of_its_build() {
    let plugin = plugin();
    let path = plugin.to_str().expect("UTF-8 path");
    let report = succeeded(&audit(&[path, "--json"]));
    let metadata = &report["component"]["metadata"];
    assert_eq!(metadata["package"], "cloudflare:connector@0.1.0");
    assert_eq!(
        metadata["world"],
        "cloudflare:connector/connector-plugin@0.1.0"
    );
    assert_eq!(metadata["world_matches_exports"], true);
    assert_eq!(metadata["unreadable"], Value::Null);
    assert!(
        producers(&report, "language").contains(&("Rust", "")),
        "{metadata:#}"
    );
    let tools = producers(&report, "processed-by");
    for tool in ["rustc", "wit-component"] {
        let version = tools
            .iter()
            .find(|(name, _)| *name == tool)
            .map(|(_, version)| *version)
            .unwrap_or_else(|| panic!("no {tool} in {metadata:#}"));
        assert!(
            version.starts_with(|c: char| c.is_ascii_digit()),
            "{tool} {version}"
        );
    }

    let text = stdout(&audit(&[path]));
    for needle in [
        "package cloudflare:connector@0.1.0",
        "world   cloudflare:connector/connector-plugin@0.1.0",
        "language",
        "processed-by",
        "Rust",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }

    // A component that declares no world says so, rather than guessing one.
    let hostile = hostile_plugin();
    let report = succeeded(&audit(&[hostile.to_str().expect("UTF-8 path"), "--json"]));
    assert_eq!(report["component"]["metadata"]["world"], Value::Null);
    assert_eq!(
        report["component"]["metadata"]["world_matches_exports"],
        false
    );
    let text = stdout(&audit(&[hostile.to_str().expect("UTF-8 path")]));
    assert!(text.contains("world   (not declared"), "{text}");
}

#[test]
fn audit_needs_no_credentials() {
    // A malformed token in the environment and an unreadable token file stop every other
    // command; the audit reads neither.
    let output = cf_harness()
        .env("CLOUDFLARE_API_TOKEN", "not a token")
        .args(["--token-file", "/nonexistent/token", "--plugin"])
        .arg(plugin())
        .arg("audit")
        .output()
        .expect("cf-harness runs");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout(&output).contains("verdict loads"));
}

#[test]
fn audit_refuses_a_plugin_importing_sockets_or_files_naming_the_imports() {
    let plugin = ungranted_plugin();
    let output = audit(&[plugin.to_str().expect("UTF-8 path")]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(
        text.contains("verdict REFUSED: imports ")
            && text.contains("wasi:filesystem/preopens@0.2."),
        "{text}"
    );
    assert!(text.contains("denied  wasi:sockets/tcp@0.2."), "{text}");

    let output = audit(&[plugin.to_str().expect("UTF-8 path"), "--json"]);
    assert_eq!(output.status.code(), Some(1));
    let report = json(&output);
    assert_eq!(report["loads"], false);
    assert!(
        report["load_error"]
            .as_str()
            .expect("load_error")
            .contains("wasi:sockets/tcp@0.2."),
        "{report:#}"
    );
    let refused: Vec<&str> = report["refused_imports"]
        .as_array()
        .expect("refused_imports")
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert!(
        refused
            .iter()
            .any(|n| n.starts_with("wasi:sockets/tcp@0.2.")),
        "{refused:?}"
    );
    assert!(
        refused
            .iter()
            .any(|n| n.starts_with("wasi:filesystem/preopens@0.2.")),
        "{refused:?}"
    );
    assert!(
        refused
            .iter()
            .all(|n| n.starts_with("wasi:sockets/") || n.starts_with("wasi:filesystem/")),
        "{refused:?}"
    );
    assert_eq!(import(&report, "wasi:sockets/tcp@")["access"], "denied");
    assert_eq!(
        import(&report, "wasi:filesystem/types@")["access"],
        "denied"
    );
    assert_eq!(report["component"]["sha256"], sha256_hex(&plugin));
}

#[test]
fn other_commands_refuse_a_plugin_importing_sockets_or_files_at_load() {
    let output = cf_harness()
        .arg("--plugin")
        .arg(ungranted_plugin())
        .arg("tools")
        .output()
        .expect("cf-harness runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("wasi:sockets/tcp@0.2."), "{stderr}");
    assert!(output.stdout.is_empty());
}

#[test]
fn the_audit_takes_the_component_from_the_compile_cache() {
    let dir = std::env::temp_dir().join(format!("cf-harness-audit-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let cache_flag = dir.to_str().expect("UTF-8 temp path");
    let plugin = plugin();
    let plugin = plugin.to_str().expect("UTF-8 plugin path");
    let run = || {
        let output = audit(&[plugin, "-v", "--cache-dir", cache_flag, "--json"]);
        (
            succeeded(&output),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let (cold, log) = run();
    assert!(log.contains("CompiledAndCached"), "{log}");
    let (warm, log) = run();
    assert!(log.contains("source=Cache"), "{log}");
    assert_eq!(warm, cold, "the same audit either way");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn audit_of_a_missing_file_is_a_usage_error() {
    let output = audit(&["/nonexistent/plugin.wasm"]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn harness_load_refuses_a_plugin_importing_sockets_or_files_naming_each_import() {
    let error = match Harness::load(&ungranted_plugin()) {
        Ok(_) => panic!("a component importing wasi:sockets and wasi:filesystem was loaded"),
        Err(e) => e,
    };
    let refused = error
        .downcast_ref::<UngrantedImports>()
        .unwrap_or_else(|| panic!("not an UngrantedImports error: {error:#}"));
    let names: Vec<&str> = refused.0.iter().map(|r| r.name.as_str()).collect();
    assert!(
        names.iter().any(|n| n.starts_with("wasi:sockets/tcp@0.2.")),
        "{names:?}"
    );
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("wasi:filesystem/types@0.2.")),
        "{names:?}"
    );
    assert!(
        names
            .iter()
            .all(|n| n.starts_with("wasi:sockets/") || n.starts_with("wasi:filesystem/")),
        "{names:?}"
    );
    let message = format!("{error:#}");
    for name in &names {
        assert!(message.contains(name), "{name} not named in: {message}");
    }
}

#[test]
fn harness_load_accepts_the_real_and_the_hostile_plugins() {
    for plugin in [plugin(), hostile_plugin()] {
        if let Err(e) = Harness::load(&plugin) {
            panic!("{} refused: {e:#}", plugin.display());
        }
    }
}

#[test]
fn the_library_classifies_what_the_components_import() {
    let engine = wasmtime::Engine::default();
    let ungranted =
        wasmtime::component::Component::from_file(&engine, ungranted_plugin()).expect("compiles");
    let refused = ungranted_imports(&engine, &ungranted);
    assert!(
        refused
            .iter()
            .any(|r| r.name.starts_with("wasi:sockets/tcp-create-socket@0.2.")),
        "{refused:?}"
    );
    assert!(
        refused
            .iter()
            .any(|r| r.name.starts_with("wasi:filesystem/types@0.2.")),
        "{refused:?}"
    );
    // Neither the real nor the hostile component imports anything refused, files included.
    for plugin in [plugin(), hostile_plugin()] {
        let report = host_harness::audit::audit_file(
            &plugin,
            &host_harness::audit::HostSetup {
                policy: &host_harness::OutboundPolicy::cloudflare(),
                limits: &Limits::default(),
                guest_env: &[],
            },
            None,
        )
        .expect("audits");
        assert!(report.loads, "{:?}", report.load_error);
        assert!(
            report.imports.iter().all(|i| i.access != Access::Denied
                && !i.item.name.starts_with("wasi:filesystem/")
                && !i.item.name.starts_with("wasi:sockets/")),
            "{}",
            plugin.display()
        );
    }
}

#[test]
fn every_limit_flag_reaches_the_sandbox_the_audit_describes() {
    let plugin = plugin();
    let output = audit(&[
        plugin.to_str().expect("UTF-8 path"),
        "--json",
        "--memory-mib",
        "32",
        "--cpu-seconds",
        "0.5",
        "--timeout",
        "9",
        "--read-timeout",
        "1.5",
        "--max-response-mib",
        "2",
        "--max-requests",
        "5",
        "--max-result-mib",
        "3",
    ]);
    let limits = &succeeded(&output)["limits"];
    assert_eq!(limits["memory_bytes"], 32 * 1024 * 1024);
    assert_eq!(limits["cpu_time_ms"], 500);
    assert_eq!(limits["wall_clock_ms"], 9000);
    assert_eq!(limits["first_byte_timeout_ms"], 1500);
    assert_eq!(limits["between_bytes_timeout_ms"], 1500);
    assert_eq!(limits["max_response_bytes"], 2 * 1024 * 1024);
    assert_eq!(limits["max_requests_per_call"], 5);
    assert_eq!(limits["max_result_bytes"], 3 * 1024 * 1024);
    // Out-of-range values are usage errors, not silently clamped.
    for bad in [
        ["--memory-mib", "0"],
        ["--cpu-seconds", "-1"],
        ["--read-timeout", "0"],
        ["--max-requests", "0"],
        ["--max-result-mib", "0"],
    ] {
        let refused = audit(&[plugin.to_str().expect("UTF-8 path"), bad[0], bad[1]]);
        assert_eq!(refused.status.code(), Some(2), "{bad:?}");
    }
}

/// A folder of its own for one test's audit logs.
fn log_folder(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cf-audit-chain-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp folder");
    dir
}

/// `PATH.n`.
fn rotated(path: &Path, n: u32) -> PathBuf {
    PathBuf::from(format!("{}.{n}", path.display()))
}

fn log_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .expect("readable")
        .lines()
        .map(str::to_string)
        .collect()
}

fn write_log(path: &Path, lines: &[String]) {
    std::fs::write(path, lines.join("\n") + "\n").expect("written");
}

fn sha256_line(line: &str) -> String {
    Sha256::digest(line.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The break `verify` reported, once it exited 1.
fn break_of(files: &[PathBuf]) -> Value {
    let (code, report) = audit_log_verify(files);
    assert_eq!(code, Some(1), "{report:#}");
    assert_eq!(report["ok"], false, "{report:#}");
    report["break"].clone()
}

#[test]
fn audit_log_verify_names_the_line_edited_removed_swapped_or_cut_short() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let dir = log_folder("tamper");
    let path = dir.join("audit.jsonl");
    let flag = path.to_str().expect("UTF-8 temp path");
    let run = |args: &[&str]| {
        let output = cf_harness_on(&fake, ALL)
            .args(["--audit-log", flag])
            .args(args)
            .output()
            .expect("cf-harness runs");
        assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    };
    // Two processes: the second goes on with the chain the first left.
    run(&["verify", "--json"]);
    run(&["connect"]);
    let lines = log_lines(&path);
    assert!(
        lines.len() >= 8,
        "connect, verify and its requests, connect"
    );
    let first: Value = serde_json::from_str(&lines[0]).expect("JSON line");
    assert_eq!(first["prev"], "0".repeat(64));

    let (code, report) = audit_log_verify(std::slice::from_ref(&path));
    assert_eq!(code, Some(0), "{report:#}");
    assert_eq!(report["ok"], true);
    assert_eq!(report["lines"], lines.len());
    assert_eq!(report["begins_chain"], true);
    assert_eq!(report["last_hash"], sha256_line(&lines[lines.len() - 1]));
    assert_eq!(report["break"], Value::Null);

    let copy = dir.join("tampered.jsonl");
    let name = copy.display().to_string();
    let tampered = |change: &dyn Fn(&mut Vec<String>)| {
        let mut changed = lines.clone();
        change(&mut changed);
        write_log(&copy, &changed);
        break_of(std::slice::from_ref(&copy))
    };

    // Line 3 edited: line 4 no longer follows it.
    let found = tampered(&|l| l[2] = l[2].replacen("\"type\":\"", "\"type\":\"x", 1));
    assert_eq!(
        (&found["kind"], &found["file"], &found["line"]),
        (&json!("prev_mismatch"), &json!(name), &json!(4))
    );
    assert_eq!(found["previous"]["line"], 3);
    assert!(
        found["message"]
            .as_str()
            .is_some_and(|m| m.contains("line 4: its `prev` does not match line 3")),
        "{found}"
    );
    // Line 3 removed: the old line 4, now 3, does not follow line 2.
    let found = tampered(&|l| {
        l.remove(2);
    });
    assert_eq!(
        (&found["kind"], &found["line"]),
        (&json!("prev_mismatch"), &json!(3))
    );
    // Lines 5 and 6 swapped: the first out of place is line 5.
    let found = tampered(&|l| l.swap(4, 5));
    assert_eq!(
        (&found["kind"], &found["line"]),
        (&json!("prev_mismatch"), &json!(5))
    );
    // The last line cut short.
    let mut cut = lines.join("\n");
    cut.truncate(cut.len() - 20);
    std::fs::write(&copy, cut).expect("written");
    let found = break_of(std::slice::from_ref(&copy));
    assert_eq!(
        (&found["kind"], &found["line"]),
        (&json!("truncated"), &json!(lines.len()))
    );

    // A file that is not there is a usage error.
    let (code, report) = audit_log_verify(&[dir.join("nothing.jsonl")]);
    assert_eq!(code, Some(2), "{report:#}");
    assert_eq!(report["error"]["kind"], "usage", "{report:#}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn audit_log_rotation_keeps_one_chain_across_files_and_verify_finds_one_removed() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let dir = log_folder("rotation");
    let path = dir.join("audit.jsonl");
    let flag = path.to_str().expect("UTF-8 temp path");
    // 0.001 MiB: 1,048 bytes, two or three lines a file.
    let output = cf_harness_on(&fake, ALL)
        .args([
            "--audit-log",
            flag,
            "--audit-log-max-mib",
            "0.001",
            "verify",
            "--json",
        ])
        .output()
        .expect("cf-harness runs");
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    let mut files: Vec<PathBuf> = (1..)
        .map(|n| rotated(&path, n))
        .take_while(|p| p.exists())
        .collect();
    assert!(files.len() >= 2, "{} rotated files", files.len());
    files.reverse();
    files.push(path.clone());
    let mut total = 0;
    for (older, newer) in files.iter().zip(&files[1..]) {
        let last = log_lines(older).pop().expect("a line");
        let first: Value = serde_json::from_str(&log_lines(newer)[0]).expect("JSON line");
        assert_eq!(
            first["prev"],
            sha256_line(&last),
            "{} follows {}",
            newer.display(),
            older.display()
        );
    }
    for file in &files {
        let size = std::fs::metadata(file).expect("exists").len();
        let lines = log_lines(file).len();
        assert!(
            size <= 1_048 || lines == 1,
            "{} is {size} bytes",
            file.display()
        );
        total += lines;
    }
    let (code, report) = audit_log_verify(&files);
    assert_eq!(code, Some(0), "{report:#}");
    assert_eq!(report["lines"], total);
    assert_eq!(report["begins_chain"], true);
    assert_eq!(report["files"].as_array().map(Vec::len), Some(files.len()));

    // A file removed from the middle: the one after it does not continue the one before.
    let mut gapped = files.clone();
    gapped.remove(1);
    let found = break_of(&gapped);
    assert_eq!(found["kind"], "file_gap", "{found}");
    assert_eq!(found["file"], files[2].display().to_string());
    assert_eq!(found["line"], 1);
    assert_eq!(found["previous"]["file"], files[0].display().to_string());

    // The limit without a log, or not a positive number of MiB, is a usage error.
    for args in [
        &["--audit-log-max-mib", "1", "connect"][..],
        &["--audit-log", flag, "--audit-log-max-mib", "0", "connect"],
        &[
            "--audit-log",
            flag,
            "--audit-log-max-mib",
            "lots",
            "connect",
        ],
    ] {
        let output = cf_harness_on(&fake, ALL).args(args).output().expect("runs");
        assert_eq!(output.status.code(), Some(2), "{args:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
