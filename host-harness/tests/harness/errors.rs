//! Every kind of failure a user meets, through the CLI (`--json` and text) and MCP: the kind is
//! the contract's kebab-case name, the message and the hint are words, never Rust `Debug` text.

use crate::common::{ALL, cf_harness_upstream, json};
use crate::mcp::{Session, tool_error};
use cf_fake::{FakeCloudflare, Scenario};
use serde_json::{Value, json};
use std::time::Duration;

/// What gives away Rust `Debug` output in text meant for a person.
const DEBUG_MARKS: [&str; 3] = ["::", "{ ", "Some("];

fn assert_words(case: &str, what: &str, text: &str) {
    for mark in DEBUG_MARKS {
        assert!(
            !text.contains(mark),
            "{case}: the {what} has Rust Debug text ({mark:?}): {text}"
        );
    }
}

/// One failure: how to provoke it, and the kind it must have.
struct Case {
    name: &'static str,
    scenario: Scenario,
    services: &'static str,
    /// Where both Cloudflare hosts go; `None` for the fake.
    upstream: Option<String>,
    flags: &'static [&'static str],
    /// A delay the fake waits before each answer.
    delay: Duration,
    tool: &'static str,
    arguments: Value,
    kind: &'static str,
    /// The host whose request the fake must have received: the failure's precondition.
    received: Option<&'static str>,
}

impl Case {
    fn new(name: &'static str, kind: &'static str, tool: &'static str, arguments: Value) -> Self {
        Case {
            name,
            scenario: Scenario::AllPermissions,
            services: ALL,
            upstream: None,
            flags: &[],
            delay: Duration::ZERO,
            tool,
            arguments,
            kind,
            received: None,
        }
    }
}

const API: &str = "api.cloudflare.com";
const DOCS: &str = "developers.cloudflare.com";

/// A local port nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("address").port()
}

/// The failures whose every word the host and the plugin already write.
fn cases() -> Vec<Case> {
    vec![
        Case {
            services: "Documentation",
            ..Case::new(
                "disabled service",
                "service-disabled",
                "dns_list_zones",
                json!({}),
            )
        },
        Case::new(
            "bad argument",
            "invalid-input",
            "dns_report",
            json!({ "dimensions": ["colour"] }),
        ),
        Case::new("unknown tool", "invalid-input", "delete_zone", json!({})),
        Case {
            scenario: Scenario::InvalidToken,
            ..Case::new(
                "rejected token",
                "unauthorized",
                "dns_list_zones",
                json!({}),
            )
        },
        Case {
            scenario: Scenario::RateLimited,
            received: Some(API),
            ..Case::new("rate limit", "rate-limited", "dns_list_zones", json!({}))
        },
        Case {
            flags: &["--timeout", "1"],
            delay: Duration::from_secs(3),
            ..Case::new("timeout", "timeout", "dns_list_zones", json!({}))
        },
        // A proxy's HTML page with HTTP 200 is no answer, not an empty list.
        Case {
            scenario: Scenario::HtmlInsteadOfJson,
            ..Case::new(
                "html instead of json",
                "upstream",
                "dns_list_zones",
                json!({}),
            )
        },
        Case {
            scenario: Scenario::HtmlInsteadOfJson,
            ..Case::new(
                "html instead of json, records",
                "upstream",
                "dns_records",
                json!({ "zone": cf_fake::ZONE_ID }),
            )
        },
        // A load balancer's 502 page says what came back, never "HTTP 502: HTTP 502".
        Case {
            scenario: Scenario::HtmlBadGateway,
            ..Case::new("html bad gateway", "upstream", "dns_list_zones", json!({}))
        },
        // A 5xx is Cloudflare's failure whatever code it carries: not a missing permission.
        Case {
            scenario: Scenario::ServerErrorWithCodes,
            ..Case::new(
                "server error with codes",
                "upstream",
                "dns_list_zones",
                json!({}),
            )
        },
        Case {
            scenario: Scenario::CutOffJson,
            ..Case::new("cut-off json", "upstream", "dns_list_zones", json!({}))
        },
        Case {
            scenario: Scenario::CutOffJson,
            ..Case::new(
                "cut-off json, graphql",
                "upstream",
                "graphql_query",
                json!({ "query": "{ viewer { budget } }" }),
            )
        },
        // A Retry-After too large for the type is clamped, not dropped.
        Case {
            scenario: Scenario::HugeRetryAfter,
            ..Case::new(
                "huge retry-after",
                "rate-limited",
                "dns_list_zones",
                json!({}),
            )
        },
    ]
}

/// The kinds where the user can act: their errors always carry a hint.
const HINTED: [&str; 5] = [
    "service-disabled",
    "timeout",
    "upstream",
    "rate-limited",
    "transport",
];

/// Kind, message and hint of an error object, checked for words.
fn check_error(case: &Case, via: &str, error: &Value) {
    let name = format!("{} ({via})", case.name);
    assert_eq!(error["kind"], case.kind, "{name}: {error}");
    let message = error["message"].as_str().unwrap_or_default();
    assert!(!message.is_empty(), "{name}: no message: {error}");
    assert_words(&name, "message", message);
    if let Some(hint) = error["hint"].as_str() {
        assert_words(&name, "hint", hint);
    }
    if HINTED.contains(&case.kind) {
        let hint = error["hint"].as_str().unwrap_or_default();
        assert!(
            !hint.is_empty(),
            "{name}: an error the user can act on has a hint: {error}"
        );
    }
    if case.kind == "service-disabled" {
        assert_eq!(error["service"], "dns-analytics", "{name}: {error}");
    }
    match case.scenario {
        Scenario::HtmlInsteadOfJson => assert!(message.contains("text/html"), "{name}: {error}"),
        Scenario::HtmlBadGateway => {
            assert_eq!(error["status"], 502, "{name}: {error}");
            assert!(message.contains("text/html"), "{name}: {error}");
            assert!(message.contains("bad gateway"), "{name}: {error}");
            assert_eq!(message.matches("HTTP 502").count(), 1, "{name}: {error}");
        }
        Scenario::ServerErrorWithCodes => {
            assert_eq!(error["status"], 500, "{name}: {error}");
            assert_eq!(error["codes"], json!([10000, 7000]), "{name}: {error}");
        }
        Scenario::CutOffJson => assert_eq!(error["status"], 200, "{name}: {error}"),
        Scenario::HugeRetryAfter => {
            assert_eq!(error["retry_after_seconds"], u32::MAX, "{name}: {error}");
            assert_eq!(error["limiter"], "api", "{name}: {error}");
        }
        // Whose limit it was, by the endpoint the 429 came from.
        Scenario::RateLimited => {
            let limiter = if case.tool.starts_with("graphql_") {
                "graphql"
            } else {
                "api"
            };
            assert_eq!(error["limiter"], limiter, "{name}: {error}");
            assert_eq!(error["host"], API, "{name}: {error}");
            assert_eq!(error["retry_after_seconds"], 30, "{name}: {error}");
        }
        Scenario::DocsRateLimited => {
            assert_eq!(error["limiter"], "docs", "{name}: {error}");
            assert_eq!(error["host"], DOCS, "{name}: {error}");
            assert_eq!(
                error["retry_after_seconds"],
                cf_fake::DOCS_RETRY_AFTER.parse::<u32>().expect("a number"),
                "{name}: {error}"
            );
        }
        // A connection that broke off is not a malformed answer.
        Scenario::DroppedConnection | Scenario::DroppedMidBody | Scenario::TrickledBody => {
            assert!(!message.contains("malformed"), "{name}: {error}")
        }
        _ => {}
    }
}

/// No network: the plugin describes the transport failure (`plugin/src/http.rs`).
fn transport_cases() -> Vec<Case> {
    vec![
        Case {
            upstream: Some(format!("http://127.0.0.1:{}", closed_port())),
            ..Case::new("closed port", "transport", "dns_list_zones", json!({}))
        },
        Case {
            // A name that never resolves: what a machine without network sees.
            upstream: Some("https://unreachable.invalid".to_string()),
            ..Case::new("no network", "transport", "dns_list_zones", json!({}))
        },
    ]
}

/// The API's limit, GraphQL's and the docs host's own: each 429 names whose limit it was.
fn rate_limit_cases() -> Vec<Case> {
    vec![
        Case {
            scenario: Scenario::RateLimited,
            received: Some(API),
            ..Case::new(
                "graphql rate limit",
                "rate-limited",
                "graphql_query",
                json!({ "query": "{ viewer { budget } }" }),
            )
        },
        Case {
            scenario: Scenario::DocsRateLimited,
            received: Some(DOCS),
            ..Case::new(
                "docs rate limit",
                "rate-limited",
                "docs_search",
                json!({ "query": "create an API token" }),
            )
        },
    ]
}

/// The fake reads the request, then breaks: the connection closes with no answer, or mid-body,
/// or the body stalls past the host's read timeout (`--read-timeout`, short here; the wall
/// clock stays at its 60 s, so the failure is the host's read timeout, not the call's).
fn broken_connection_cases() -> Vec<Case> {
    vec![
        Case {
            scenario: Scenario::DroppedConnection,
            received: Some(API),
            ..Case::new(
                "dropped connection",
                "transport",
                "dns_list_zones",
                json!({}),
            )
        },
        Case {
            scenario: Scenario::DroppedConnection,
            received: Some(API),
            ..Case::new(
                "dropped connection, graphql",
                "transport",
                "graphql_query",
                json!({ "query": "{ viewer { budget } }" }),
            )
        },
        Case {
            scenario: Scenario::DroppedMidBody,
            received: Some(API),
            ..Case::new("dropped mid-body", "transport", "dns_list_zones", json!({}))
        },
        Case {
            scenario: Scenario::TrickledBody,
            received: Some(API),
            flags: &["--read-timeout", "0.5"],
            ..Case::new("trickled body", "transport", "dns_list_zones", json!({}))
        },
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn every_rate_limit_names_whose_limit_it_was() {
    run_cases(rate_limit_cases()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dropped_or_stalled_answer_is_a_transport_error_with_a_hint() {
    run_cases(broken_connection_cases()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_error_says_its_kind_and_what_happened_in_words() {
    run_cases(cases()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_transport_error_says_what_happened_in_words() {
    run_cases(transport_cases()).await;
}

/// Each case through `--json`, the terminal text and MCP.
async fn run_cases(cases: Vec<Case>) {
    for case in cases {
        let fake = FakeCloudflare::spawn(case.scenario);
        fake.set_delay(case.delay);
        let upstream = case.upstream.clone().unwrap_or_else(|| fake.url());
        let command = || {
            let mut command = cf_harness_upstream(&upstream, case.services);
            command.args(case.flags);
            command
        };
        let arguments = case.arguments.to_string();

        let output = command()
            .args(["--json", "call", case.tool, &arguments])
            .output()
            .expect("cf-harness runs");
        assert_ne!(output.status.code(), Some(0), "{}: it failed", case.name);
        check_error(&case, "--json", &json(&output)["error"]);

        let output = command()
            .args(["call", case.tool, &arguments])
            .output()
            .expect("cf-harness runs");
        let text = String::from_utf8_lossy(&output.stderr);
        assert!(
            text.starts_with(&format!("error ({}): ", case.kind)),
            "{}: {text}",
            case.name
        );
        assert_words(case.name, "text", &text);
        if HINTED.contains(&case.kind) {
            assert!(text.contains("\nfix: "), "{}: no hint: {text}", case.name);
        }

        let session = Session::spawn(command(), &[]).await;
        let result = session.call(case.tool, case.arguments.clone()).await;
        check_error(&case, "MCP", tool_error(&result));
        session.finish().await;

        if let Some(host) = case.received {
            assert!(
                fake.requests().iter().any(|r| r.host == host),
                "{}: the fake received no request for {host}",
                case.name
            );
        }
    }
}

/// With no network, `verify` answers a report: what each check says is words too.
#[test]
fn verify_without_network_says_what_failed_in_words() {
    for upstream in [
        format!("http://127.0.0.1:{}", closed_port()),
        "https://unreachable.invalid".to_string(),
    ] {
        let output = cf_harness_upstream(&upstream, ALL)
            .args(["--json", "verify"])
            .output()
            .expect("cf-harness runs");
        assert_eq!(output.status.code(), Some(1), "{upstream}: not ready");
        let report = json(&output);
        assert_eq!(report["ready"], false);
        for check in report["checks"].as_array().expect("checks") {
            let name = format!("{upstream} {}", check["id"]);
            for field in ["detail", "hint"] {
                assert_words(&name, field, check[field].as_str().unwrap_or_default());
            }
            for field in ["message", "hint"] {
                assert_words(
                    &name,
                    field,
                    check["error"][field].as_str().unwrap_or_default(),
                );
            }
        }
        let text = cf_harness_upstream(&upstream, ALL)
            .arg("verify")
            .output()
            .expect("cf-harness runs");
        assert_words(&upstream, "text", &String::from_utf8_lossy(&text.stdout));
    }
}

/// A GraphQL body past the host's 1 MiB guard is refused by size, in words that say the size
/// and that the host allows less, never "does not allow POST". (Over MCP: a command line
/// cannot carry a megabyte.)
#[tokio::test(flavor = "multi_thread")]
async fn a_graphql_body_past_the_hosts_limit_says_its_size() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let session = Session::spawn(crate::common::cf_harness_on(&fake, ALL), &[]).await;
    // The query and its variables are each within the plugin's bounds (64 KiB, 1 MiB);
    // together they take the body past the host's 1 MiB.
    let query = format!(
        "query Q($pad: String) {{ viewer {{ budget }} }}\n#{}\n",
        "x".repeat(40_000)
    );
    let result = session
        .call(
            "graphql_query",
            json!({ "query": query, "variables": { "pad": "x".repeat(1_040_000) } }),
        )
        .await;
    let error = tool_error(&result);
    assert_eq!(error["kind"], "denied-by-host", "{error}");
    let message = error["message"].as_str().unwrap_or_default();
    assert!(message.contains("larger than it allows"), "{message}");
    assert!(message.contains("bytes"), "{message}");
    assert!(!message.contains("does not allow"), "{message}");
    assert!(
        fake.requests()
            .iter()
            .all(|r| !r.path.ends_with("/graphql")),
        "the refused body never reached the fake"
    );
    session.finish().await;
}

#[tokio::test]
async fn a_graphql_fragment_bomb_is_refused_before_it_is_sent_naming_its_bound() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let session = Session::spawn(crate::common::cf_harness_on(&fake, ALL), &[]).await;
    // Twenty fragments, each spreading the one before ten times: 10^20 fields once expanded.
    let mut bomb = String::from("query { viewer { ...F19 } } fragment F0 on T { a }");
    for i in 1..20 {
        let spreads = format!(" ...F{}", i - 1).repeat(10);
        bomb.push_str(&format!(" fragment F{i} on T {{{spreads} }}"));
    }
    let too_deep = format!("{{ {}x{} }}", "a { ".repeat(16), " }".repeat(16));
    for (query, bound, value) in [(bomb, "selections", "2001"), (too_deep, "depth", "17")] {
        let result = session
            .call("graphql_query", json!({ "query": query }))
            .await;
        let error = tool_error(&result);
        assert_eq!(error["kind"], "invalid-input", "{error}");
        assert_eq!(error["field"], "query", "{error}");
        let message = error["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(bound) && message.contains(value),
            "{message}"
        );
    }
    assert!(
        fake.requests()
            .iter()
            .all(|r| !r.path.ends_with("/graphql")),
        "no refused query reached the fake"
    );
    session.finish().await;
}

/// A network failure names the host that could not be reached or resolved, in words, as an
/// MCP tool error of kind `transport` with the shape every error has.
#[tokio::test(flavor = "multi_thread")]
async fn a_network_failure_names_the_host_it_could_not_reach_or_resolve() {
    for (upstream, words) in [
        (
            format!("http://127.0.0.1:{}", closed_port()),
            "api.cloudflare.com refused the connection",
        ),
        (
            "https://unreachable.invalid".to_string(),
            "api.cloudflare.com could not be resolved",
        ),
    ] {
        let session = Session::spawn(cf_harness_upstream(&upstream, ALL), &[]).await;
        let result = session.call("dns_list_zones", json!({})).await;
        let error = tool_error(&result);
        assert_eq!(error["kind"], "transport", "{upstream}: {error}");
        let message = error["message"].as_str().expect("a message");
        assert!(message.contains(words), "{upstream}: {message}");
        assert!(error["hint"].is_string(), "{upstream}: {error}");
        assert!(error.get("docs_url").is_some(), "{upstream}: {error}");
        session.finish().await;
    }
}
