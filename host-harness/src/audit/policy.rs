//! The outbound policy and the limits, described by asking them.

use crate::audit::render::bytes;
use crate::audit::{HostRules, LimitsReport, MethodRule, OutboundReport, UpstreamReport};
use crate::outbound::policy::{Decision, GRAPHQL_PATH, OutboundPolicy};
use crate::sandbox::{
    EPOCH_TICK, Limits, MAX_INSTANCES, MAX_MEMORIES, MAX_TABLE_ELEMENTS, MAX_TABLES,
};
use http::{Method, Uri};

/// The outbound policy, asked about representative requests: each allowed host with each
/// method, on the root, a REST path and the GraphQL path; plain HTTP, other ports and
/// credentials in the URL.
pub fn describe_policy(policy: &OutboundPolicy) -> OutboundReport {
    const METHODS: [Method; 9] = [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::OPTIONS,
        Method::TRACE,
        Method::CONNECT,
    ];
    // Ordinary paths, then the one the policy treats apart.
    const ORDINARY: [&str; 2] = ["/", "/client/v4/zones"];
    const SPECIAL: [&str; 1] = [GRAPHQL_PATH];
    let decide = |method: &Method, url: &str| -> Option<Decision> {
        let uri: Uri = url.parse().ok()?;
        Some(policy.decide(method, &uri))
    };
    let allowed =
        |method: &Method, url: &str| matches!(decide(method, url), Some(Decision::Allow { .. }));
    let mut hosts = Vec::new();
    for host in policy.allowed_hosts() {
        let (token_injected, upstream) = match decide(&Method::GET, &format!("https://{host}/")) {
            Some(Decision::Allow {
                inject_token,
                upstream,
            }) => (
                inject_token,
                upstream.map(|u| format!("{}://{}", u.scheme, u.authority)),
            ),
            _ => (false, None),
        };
        let mut rules: Vec<MethodRule> = Vec::new();
        for method in &METHODS {
            let ok = |path: &&str| allowed(method, &format!("https://{host}{path}"));
            let (paths, except): (Vec<String>, Vec<String>) = if ORDINARY.iter().all(ok) {
                let except = SPECIAL.iter().filter(|p| !ok(p));
                (vec!["*".into()], except.map(|p| p.to_string()).collect())
            } else {
                let only = ORDINARY.iter().chain(&SPECIAL).filter(|p| ok(p));
                (only.map(|p| p.to_string()).collect(), Vec::new())
            };
            if paths.is_empty() {
                continue;
            }
            let mut conditions = Vec::new();
            if paths == [GRAPHQL_PATH] {
                if !allowed(method, &format!("https://{host}{GRAPHQL_PATH}?a=b")) {
                    conditions.push("no query string".to_string());
                }
                if *method == Method::POST {
                    conditions.extend(graphql_body_rule());
                }
            }
            match rules
                .iter_mut()
                .find(|r| r.paths == paths && r.except == except && r.conditions == conditions)
            {
                Some(rule) => rule.methods.push(method.to_string()),
                None => rules.push(MethodRule {
                    methods: vec![method.to_string()],
                    paths,
                    except,
                    conditions,
                }),
            }
        }
        hosts.push(HostRules {
            host: host.clone(),
            rules,
            token_injected,
            upstream,
        });
    }
    let probe_host = policy
        .allowed_hosts()
        .first()
        .cloned()
        .unwrap_or_else(|| crate::outbound::policy::API_HOST.to_string());
    let schemes = ["https", "http"]
        .into_iter()
        .filter(|s| allowed(&Method::GET, &format!("{s}://{probe_host}/")))
        .map(String::from)
        .collect();
    let ports = [443, 80, 8080, 8443]
        .into_iter()
        .filter(|p| allowed(&Method::GET, &format!("https://{probe_host}:{p}/")))
        .collect();
    let credentials_in_url = allowed(&Method::GET, &format!("https://user:pw@{probe_host}/"));
    let token_sent_to = hosts
        .iter()
        .filter(|h| h.token_injected)
        .map(|h| h.host.clone())
        .collect();
    let token_never_sent_to = hosts
        .iter()
        .filter(|h| !h.token_injected)
        .map(|h| h.host.clone())
        .collect();
    let upstreams = policy
        .upstreams()
        .iter()
        .map(|u| UpstreamReport {
            host: u.host.clone(),
            url: format!("{}://{}", u.scheme, u.authority),
            token_sent: hosts.iter().any(|h| h.host == u.host && h.token_injected),
        })
        .collect();
    let off_list_denied = !allowed(&Method::GET, "https://example.com/");
    let mut denied = Vec::new();
    if off_list_denied {
        denied.push("every other host (exact match, case-insensitive; no subdomains)".to_string());
    }
    denied.extend([
        "any method or path not listed above".to_string(),
        "plain http, other ports and credentials in the URL".to_string(),
    ]);
    let vetted = ["127.0.0.1", "10.0.0.1", "169.254.169.254", "::1"]
        .iter()
        .filter_map(|a| a.parse().ok())
        .all(|a| crate::outbound::policy::forbidden_address(a).is_some());
    if vetted {
        denied.push(
            "connections to loopback, private, link-local (cloud metadata) and other \
             non-public addresses, whatever an allowed name resolves to (--upstream targets \
             aside)"
                .to_string(),
        );
    }
    denied.push("sockets and name lookups by the guest (wasi:sockets is not granted)".to_string());
    OutboundReport {
        through: "wasi:http/outgoing-handler",
        schemes,
        ports,
        credentials_in_url,
        hosts,
        token_sent_to,
        token_never_sent_to,
        guest_authorization: "dropped: the guest never authenticates itself",
        token_in_answers: "replaced by [REDACTED] in the headers, and by a marker as long as \
                           the token in the body, of each answer to a request that carried it, \
                           before the guest reads them",
        upstreams,
        denied,
    }
}

/// The body rule of GraphQL `POST`s, as the host's guard answers: it must pass a query and
/// refuse a mutation, else there is no body rule to report.
fn graphql_body_rule() -> Option<String> {
    use crate::outbound::graphql_guard::{MAX_BODY_BYTES, check_body};
    let query = check_body(br#"{"query": "query { viewer { zones { zoneTag } } }"}"#);
    let mutation = check_body(br#"{"query": "mutation { deleteZone(id: 1) { id } }"}"#);
    (query.is_ok() && mutation.is_err()).then(|| {
        format!(
            "body checked by the host: one JSON object whose query is a GraphQL query \
             (mutations, subscriptions, batches and persisted queries refused), at most {}",
            bytes(MAX_BODY_BYTES as u64)
        )
    })
}

pub fn describe_limits(limits: &Limits) -> LimitsReport {
    let ms = |d: std::time::Duration| d.as_millis() as u64;
    LimitsReport {
        memory_bytes: limits.memory_bytes as u64,
        max_memories: MAX_MEMORIES,
        max_tables: MAX_TABLES,
        max_table_elements: MAX_TABLE_ELEMENTS,
        max_instances: MAX_INSTANCES,
        cpu_time_ms: ms(limits.cpu_time),
        cpu_tick_ms: ms(EPOCH_TICK),
        wall_clock_ms: ms(limits.wall_time),
        connect_timeout_ms: ms(limits.connect_timeout),
        first_byte_timeout_ms: ms(limits.first_byte_timeout),
        between_bytes_timeout_ms: ms(limits.between_bytes_timeout),
        max_response_bytes: limits.max_response_bytes,
        max_requests_per_call: limits.max_requests_per_call,
        max_result_bytes: limits.max_result_bytes as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_is_described_as_it_decides() {
        let report = describe_policy(
            &OutboundPolicy::cloudflare()
                .with_upstream("api.cloudflare.com=http://127.0.0.1:8787")
                .expect("valid upstream"),
        );
        assert_eq!(report.schemes, ["https"]);
        assert_eq!(report.ports, [443]);
        assert!(!report.credentials_in_url);
        assert_eq!(report.token_sent_to, [crate::outbound::policy::API_HOST]);
        assert!(
            report
                .token_in_answers
                .starts_with("replaced by [REDACTED]")
        );
        assert_eq!(
            report.token_never_sent_to,
            [crate::outbound::policy::DOCS_HOST]
        );
        let api = &report.hosts[0];
        assert_eq!(api.rules[0].methods, ["GET", "HEAD"]);
        assert_eq!(api.rules[0].paths, ["*"]);
        assert_eq!(api.rules[0].except, [GRAPHQL_PATH]);
        assert_eq!(api.rules[1].methods, ["POST"]);
        assert_eq!(api.rules[1].paths, [GRAPHQL_PATH]);
        assert!(
            api.rules[1]
                .conditions
                .iter()
                .any(|c| c.contains("GraphQL query"))
        );
        assert_eq!(api.rules.len(), 2);
        let docs = &report.hosts[1];
        assert_eq!(docs.rules.len(), 1);
        assert_eq!(docs.rules[0].methods, ["GET", "HEAD"]);
        assert_eq!(docs.rules[0].paths, ["*"]);
        assert!(docs.rules[0].except.is_empty());
        assert_eq!(report.upstreams.len(), 1);
        assert!(report.upstreams[0].token_sent);
        assert_eq!(report.upstreams[0].url, "http://127.0.0.1:8787");
    }
}
