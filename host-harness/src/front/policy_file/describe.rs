//! A policy file written out (`cf-harness policy init`: the effective policy as a file) and
//! described (`cf-harness audit --policy`: what a file changes against the built-in rules).

use super::PolicyFile;
use crate::front::render;
use crate::outbound::policy::OutboundPolicy;
use std::path::Path;

/// The effective policy as a file (`cf-harness policy init`): the component's digest, every
/// service, the built-in host rules, these limits, the audit log when one is set.
pub fn init_text(
    sha256: &str,
    limits: &crate::Limits,
    audit_log: Option<(&Path, Option<f64>)>,
) -> String {
    let services: Vec<String> = render::SERVICES
        .iter()
        .map(|s| format!("\"{}\"", render::slug(*s)))
        .collect();
    let secs = |d: std::time::Duration| d.as_secs_f64();
    let mib = |bytes: u64| bytes / (1024 * 1024);
    let mut out = format!(
        "# cf-harness policy: what this deployment lets the plugin do. It can only narrow the\n\
         # built-in rules (docs/policy.md). Written by `cf-harness policy init`.\n\n\
         # The services a connection may enable.\n\
         services = [{}]\n\n\
         # The one component file allowed: `cf-harness audit` shows its SHA-256.\n\
         [component]\n\
         sha256 = \"{sha256}\"\n\n\
         # Per host, the methods and path prefixes allowed (prefixes match whole segments).\n\
         [[hosts]]\n\
         host = \"{api}\"\n\
         methods = [\"GET\", \"HEAD\"]\n\
         paths = [\"/client/v4\"]\n\n\
         [[hosts]]\n\
         host = \"{api}\"\n\
         methods = [\"POST\"]\n\
         paths = [\"{graphql}\"]\n\n\
         [[hosts]]\n\
         host = \"{docs}\"\n\
         methods = [\"GET\", \"HEAD\"]\n\
         paths = [\"/\"]\n\n\
         # Ceilings: a flag above one is refused, a default above one is lowered to it.\n\
         [limits]\n\
         timeout_seconds = {}\n\
         memory_mib = {}\n\
         cpu_seconds = {:?}\n\
         read_timeout_seconds = {:?}\n\
         max_response_mib = {}\n\
         max_result_mib = {}\n\
         max_requests = {}\n",
        services.join(", "),
        limits.wall_time.as_secs(),
        (limits.memory_bytes as u64) / (1024 * 1024),
        secs(limits.cpu_time),
        secs(limits.first_byte_timeout),
        mib(limits.max_response_bytes),
        mib(limits.max_result_bytes as u64),
        limits.max_requests_per_call,
        api = crate::outbound::policy::API_HOST,
        docs = crate::outbound::policy::DOCS_HOST,
        graphql = crate::outbound::policy::GRAPHQL_PATH,
    );
    if let Some((path, max_mib)) = audit_log {
        out.push_str(&format!(
            "\n# Every call and request is written here, hash-chained (`cf-harness audit-log verify`).\n\
             [audit_log]\npath = {:?}\n",
            path.display().to_string()
        ));
        if let Some(m) = max_mib {
            out.push_str(&format!("max_mib = {m:?}\n"));
        }
    }
    out
}

/// What a file changes against the built-in rules, a line each, for `audit --policy`.
pub fn changes(file: &PolicyFile) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(d) = &file.component_sha256 {
        out.push(format!(
            "component: only the file whose SHA-256 is {} (line {})",
            d.value, d.line
        ));
    }
    if let Some(s) = &file.services {
        let removed: Vec<&str> = render::SERVICES
            .iter()
            .filter(|x| !s.value.contains(x))
            .map(|x| render::display_name(*x))
            .collect();
        out.push(if removed.is_empty() {
            format!("services: every service (line {})", s.line)
        } else {
            format!(
                "services: {} not allowed (line {})",
                removed.join(", "),
                s.line
            )
        });
    }
    if let Some(hosts) = &file.hosts {
        let named: Vec<&str> = hosts.iter().map(|h| h.value.host.as_str()).collect();
        for host in OutboundPolicy::cloudflare().allowed_hosts() {
            if !named.contains(&host.as_str()) {
                out.push(format!(
                    "hosts: {host} not reachable (no [[hosts]] rule names it)"
                ));
            }
        }
        for h in hosts {
            let methods: Vec<String> = h.value.methods.iter().map(|m| m.to_string()).collect();
            out.push(format!(
                "hosts: {} only {} under {} (line {})",
                h.value.host,
                methods.join(", "),
                h.value.paths.join(", "),
                h.line
            ));
        }
    }
    for (key, ceiling, default) in file.limits.entries() {
        if let Some((value, line)) = ceiling {
            out.push(format!(
                "limits: {key} at most {value} (built-in default {default}) (line {line})"
            ));
        }
    }
    if let Some(a) = &file.audit_log {
        out.push(format!(
            "audit log: always written to {}{} (line {})",
            a.path.value.display(),
            a.max_mib
                .as_ref()
                .map(|m| format!(", rotated past {} MiB", m.value))
                .unwrap_or_default(),
            a.path.line
        ));
    }
    if out.is_empty() {
        out.push("nothing: the file sets no rule".to_string());
    }
    out
}
