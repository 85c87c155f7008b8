//! What `cf-harness serve` counts, in the Prometheus text format (`GET /metrics`), with the
//! Prometheus project's own Rust client. No label ever carries what a caller chose freely (a
//! token, an account, an argument): tools are named only once known to the catalog, hosts only
//! when the policy allows them, everything else is `other`.

use crate::{OutboundRecord, Verdict};
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

type Labels = Vec<(&'static str, String)>;

/// How many distinct tool names are labelled; past it, new names count as `other` (a client may
/// call tools that do not exist).
const MAX_TOOL_LABELS: usize = 64;

/// The hosts a label may name: the ones the plugin is allowed to reach.
const KNOWN_HOSTS: [&str; 2] = ["api.cloudflare.com", "developers.cloudflare.com"];

pub struct Metrics {
    registry: Registry,
    pub sessions_open: Gauge,
    sessions_created: Counter,
    calls: Family<Labels, Counter>,
    call_seconds: Family<Labels, Histogram, fn() -> Histogram>,
    outbound: Family<Labels, Counter>,
    denials: Family<Labels, Counter>,
    limit_hits: Family<Labels, Counter>,
    gate_refusals: Family<Labels, Counter>,
    tools_seen: Mutex<HashSet<String>>,
}

fn call_histogram() -> Histogram {
    // 5 ms to about 40 s.
    Histogram::new(exponential_buckets(0.005, 2.0, 14))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("cf_harness");
        let sessions_open = Gauge::default();
        let sessions_created = Counter::default();
        let calls = Family::<Labels, Counter>::default();
        let call_seconds =
            Family::<Labels, Histogram, fn() -> Histogram>::new_with_constructor(call_histogram);
        let outbound = Family::<Labels, Counter>::default();
        let denials = Family::<Labels, Counter>::default();
        let limit_hits = Family::<Labels, Counter>::default();
        let gate_refusals = Family::<Labels, Counter>::default();
        registry.register("sessions_open", "MCP sessions open", sessions_open.clone());
        registry.register(
            "sessions_created",
            "MCP sessions opened since start",
            sessions_created.clone(),
        );
        registry.register(
            "tool_calls",
            "Tool calls by tool and outcome (ok, or the error's kind)",
            calls.clone(),
        );
        registry.register(
            "tool_call_duration_seconds",
            "Tool call latency, by tool",
            call_seconds.clone(),
        );
        registry.register(
            "outbound_requests",
            "The plugin's outbound requests by host and status (denied, failed, or the HTTP status)",
            outbound.clone(),
        );
        registry.register(
            "denials",
            "Outbound requests the host refused, by the denial's code",
            denials.clone(),
        );
        registry.register(
            "limit_hits",
            "Times a limit stopped something, by limit",
            limit_hits.clone(),
        );
        registry.register(
            "gate_refusals",
            "HTTP requests refused before MCP, by kind",
            gate_refusals.clone(),
        );
        Metrics {
            registry,
            sessions_open,
            sessions_created,
            calls,
            call_seconds,
            outbound,
            denials,
            limit_hits,
            gate_refusals,
            tools_seen: Mutex::new(HashSet::new()),
        }
    }
}

/// The error kinds that are a limit of the host or the server.
fn limit_of(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "cpu-limit" => "cpu",
        "memory-limit" => "memory",
        "timeout" => "wall_time",
        "result-too-large" => "result_size",
        _ => return None,
    })
}

impl Metrics {
    pub fn session_created(&self) {
        self.sessions_created.inc();
    }

    pub fn gate_refused(&self, kind: &'static str) {
        self.gate_refusals
            .get_or_create(&vec![("kind", kind.to_string())])
            .inc();
        if kind == "too-many-sessions" {
            self.limit_hit("sessions");
        }
    }

    pub fn limit_hit(&self, limit: &'static str) {
        self.limit_hits
            .get_or_create(&vec![("limit", limit.to_string())])
            .inc();
    }

    fn tool_label(&self, tool: &str) -> String {
        let mut seen = self.tools_seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.contains(tool) {
            return tool.to_string();
        }
        let plain = !tool.is_empty()
            && tool.len() <= 64
            && tool.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
        if plain && seen.len() < MAX_TOOL_LABELS {
            seen.insert(tool.to_string());
            return tool.to_string();
        }
        "other".to_string()
    }

    /// One tool call: its outcome (`ok` or the error's kind), latency and outbound requests.
    pub fn call(&self, tool: &str, outcome: &str, elapsed: Duration, requests: &[OutboundRecord]) {
        let tool = self.tool_label(tool);
        self.calls
            .get_or_create(&vec![
                ("tool", tool.clone()),
                ("outcome", outcome.to_string()),
            ])
            .inc();
        self.call_seconds
            .get_or_create(&vec![("tool", tool)])
            .observe(elapsed.as_secs_f64());
        if let Some(limit) = limit_of(outcome) {
            self.limit_hit(limit);
        }
        for record in requests {
            let host = KNOWN_HOSTS
                .iter()
                .find(|h| **h == record.host)
                .map_or("other", |h| h);
            let status = match (record.decision, record.status, &record.error) {
                (Verdict::Denied, _, _) => "denied".to_string(),
                (_, Some(status), _) => status.to_string(),
                (_, None, _) => "failed".to_string(),
            };
            self.outbound
                .get_or_create(&vec![("host", host.to_string()), ("status", status)])
                .inc();
            if let Some(code) = &record.deny_code {
                self.denials
                    .get_or_create(&vec![("code", code.clone())])
                    .inc();
                if code == "over_token_budget" {
                    self.limit_hit("token_budget");
                }
                if code == "too_many_requests" {
                    self.limit_hit("requests_per_call");
                }
            }
        }
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_never_take_a_free_string() {
        let metrics = Metrics::default();
        metrics.call("docs_search", "ok", Duration::from_millis(12), &[]);
        for i in 0..100 {
            metrics.call(
                &format!("made_up_{i}"),
                "invalid-input",
                Duration::ZERO,
                &[],
            );
        }
        metrics.call(
            "cfut_Token-Like.Value",
            "invalid-input",
            Duration::ZERO,
            &[],
        );
        let text = metrics.render();
        assert!(text.contains("tool=\"docs_search\""), "{text}");
        assert!(text.contains("tool=\"other\""), "{text}");
        assert!(!text.contains("Token-Like"), "{text}");
        let tools = text.matches("cf_harness_tool_calls_total{").count();
        assert!(tools <= MAX_TOOL_LABELS + 1, "{tools} tool series");
    }

    #[test]
    fn a_limit_outcome_counts_as_a_limit_hit() {
        let metrics = Metrics::default();
        metrics.call("verify", "cpu-limit", Duration::from_secs(5), &[]);
        metrics.gate_refused("too-many-sessions");
        let text = metrics.render();
        assert!(
            text.contains("cf_harness_limit_hits_total{limit=\"cpu\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("cf_harness_limit_hits_total{limit=\"sessions\"} 1"),
            "{text}"
        );
    }
}
