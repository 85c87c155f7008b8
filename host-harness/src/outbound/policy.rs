//! The outbound policy: which requests leave the host, where the token goes, and where a host is
//! redirected for tests. Every decision is made on the host the guest asked for.
//!
//! Also here: which addresses a name may resolve to before the host connects
//! ([`forbidden_address`]), and the checks of host names given to the policy.

mod rules;

use crate::outbound::graphql_guard::GraphqlRefusal;
use http::{Method, Uri};
pub use rules::{HostRule, RuleError};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub const API_HOST: &str = "api.cloudflare.com";
pub const DOCS_HOST: &str = "developers.cloudflare.com";
pub const GRAPHQL_PATH: &str = "/client/v4/graphql";

/// Where requests for an allowed host are sent instead (a local fake Cloudflare).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Upstream {
    pub host: String,
    pub scheme: http::uri::Scheme,
    pub authority: http::uri::Authority,
}

/// The policy. Hosts match exactly (case-insensitive); only HTTPS on the default port; reads
/// only (`GET`, `HEAD`), and `POST` only for GraphQL queries to the API host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboundPolicy {
    allowed_hosts: Vec<String>,
    token_host: String,
    upstreams: Vec<Upstream>,
    /// A policy file's narrowing: per host, the methods and path prefixes allowed.
    rules: Option<Vec<HostRule>>,
}

/// What happens to one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Allowed. An allowed `POST` is a GraphQL request: the host still checks its body
    /// ([`crate::outbound::graphql_guard`]) before it leaves.
    Allow {
        inject_token: bool,
        upstream: Option<Upstream>,
    },
    Deny(DenyReason),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DenyReason {
    NotHttps,
    HostNotAllowed(String),
    PortNotAllowed(u16),
    UserInfoInAuthority,
    /// The plugin only reads: GET and HEAD, and POST only for GraphQL queries.
    MethodNotAllowed {
        method: String,
        path: String,
    },
    /// The GraphQL body is not a query (or cannot be read as one).
    GraphqlRefused(GraphqlRefusal),
    /// The name resolved to an address the host never connects to (loopback, private,
    /// link-local, metadata ...).
    AddressNotAllowed {
        host: String,
        address: IpAddr,
        kind: &'static str,
    },
    /// The call already made as many requests as `Limits::max_requests_per_call` allows.
    TooManyRequests {
        limit: u32,
    },
    /// The token spent its budget on this server (`serve`); the host answered 429 itself.
    OverTokenBudget(crate::outbound::budget::OverBudget),
    /// Within the built-in rules, but not the policy file's (`--policy`).
    NotInPolicyFile {
        method: String,
        host: String,
        path: String,
    },
}

impl DenyReason {
    /// A stable snake_case name for logs and audit records.
    pub fn code(&self) -> &'static str {
        match self {
            DenyReason::NotHttps => "not_https",
            DenyReason::HostNotAllowed(_) => "host_not_allowed",
            DenyReason::PortNotAllowed(_) => "port_not_allowed",
            DenyReason::UserInfoInAuthority => "user_info_in_authority",
            DenyReason::MethodNotAllowed { .. } => "method_not_allowed",
            DenyReason::GraphqlRefused(GraphqlRefusal::TooLarge { .. }) => "graphql_body_too_large",
            DenyReason::GraphqlRefused(GraphqlRefusal::OverBounds(_)) => "graphql_over_bounds",
            DenyReason::GraphqlRefused(_) => "graphql_not_a_query",
            DenyReason::AddressNotAllowed { .. } => "address_not_allowed",
            DenyReason::TooManyRequests { .. } => "too_many_requests",
            DenyReason::OverTokenBudget(_) => "over_token_budget",
            DenyReason::NotInPolicyFile { .. } => "not_in_policy_file",
        }
    }
}

impl fmt::Display for DenyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DenyReason::NotHttps => f.write_str("only HTTPS is allowed"),
            DenyReason::HostNotAllowed(h) => write!(f, "host {h:?} is not on the allow-list"),
            DenyReason::PortNotAllowed(p) => {
                write!(f, "port {p} is not allowed (HTTPS on 443 only)")
            }
            DenyReason::UserInfoInAuthority => {
                f.write_str("credentials in the URL are not allowed")
            }
            DenyReason::MethodNotAllowed { method, path } => {
                write!(
                    f,
                    "{method} {path} is not allowed: the plugin may only read"
                )
            }
            DenyReason::GraphqlRefused(why) => write!(f, "GraphQL request refused: {why}"),
            DenyReason::AddressNotAllowed {
                host,
                address,
                kind,
            } => write!(
                f,
                "{host} resolves to {address}, a {kind} address the host does not connect to"
            ),
            DenyReason::TooManyRequests { limit } => {
                write!(f, "more than {limit} requests in one call")
            }
            DenyReason::OverTokenBudget(over) => f.write_str(&over.message()),
            DenyReason::NotInPolicyFile { method, host, path } => write!(
                f,
                "{method} {host}{path} is not allowed by the policy file (--policy)"
            ),
        }
    }
}

/// A policy input in a form the policy does not implement; says what form is accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyError {
    pub message: String,
    /// The accepted form, with an example.
    pub expected: &'static str,
}

/// The error of [`OutboundPolicy::with_upstream`] (`--upstream`).
pub type UpstreamError = PolicyError;

const UPSTREAM_FORM: &str =
    "expected HOST=URL, for example api.cloudflare.com=http://127.0.0.1:8787";
const HOST_FORM: &str = "expected an exact host name, for example api.cloudflare.com";

impl PolicyError {
    fn upstream(message: String) -> Self {
        PolicyError {
            message,
            expected: UPSTREAM_FORM,
        }
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.expected)
    }
}

impl std::error::Error for PolicyError {}

/// Reads a host name given to the policy: hosts match exactly, so only a bare DNS name is
/// accepted, lowercased and without a trailing dot. Wildcards, schemes, ports, paths, user
/// names and IP addresses are refused with what was wrong.
pub fn parse_host_name(input: &str) -> Result<String, PolicyError> {
    let refuse = |why: &str| {
        Err(PolicyError {
            message: format!("{input:?}: {why}"),
            expected: HOST_FORM,
        })
    };
    let host = input.trim();
    if host.is_empty() {
        return refuse("no host name");
    }
    if host.contains('*') {
        return refuse("wildcards are not supported: hosts match exactly");
    }
    if host.contains("://") {
        return refuse("give the host alone, without a scheme");
    }
    if host.contains(['/', '?', '#']) {
        return refuse("give the host alone, without a path or query");
    }
    if host.contains('@') {
        return refuse("no user name or credentials");
    }
    if host.parse::<IpAddr>().is_ok() || host.starts_with('[') {
        return refuse("IP addresses are not supported: give a host name");
    }
    if host.contains(':') {
        return refuse("no port: the policy allows HTTPS on 443 only");
    }
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let label_ok = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    if host.len() > 253 || !host.split('.').all(label_ok) {
        return refuse("not a valid DNS name (letters, digits, '-' and '.')");
    }
    Ok(host)
}

/// Why the host never connects to this address, or `None` if it may (a public unicast
/// address). Covers loopback, private (RFC 1918), CGNAT, link-local (and with it the cloud
/// metadata address 169.254.169.254), unique-local (with AWS's fd00:ec2::254), unspecified,
/// multicast, broadcast, documentation, benchmarking and reserved ranges, and IPv4 addresses
/// carried in IPv6 (mapped, compatible, NAT64, 6to4, Teredo).
pub fn forbidden_address(address: IpAddr) -> Option<&'static str> {
    match address {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        (0, _, _) => "unspecified (0.0.0.0/8)",
        (10, _, _) => "private (10.0.0.0/8)",
        (100, 64..=127, _) => "shared CGNAT (100.64.0.0/10)",
        (127, _, _) => "loopback (127.0.0.0/8)",
        (169, 254, _) => "link-local or cloud metadata (169.254.0.0/16)",
        (172, 16..=31, _) => "private (172.16.0.0/12)",
        (192, 0, 0) => "IETF protocol (192.0.0.0/24)",
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => "documentation",
        (192, 88, 99) => "6to4 relay (192.88.99.0/24)",
        (192, 168, _) => "private (192.168.0.0/16)",
        (198, 18..=19, _) => "benchmarking (198.18.0.0/15)",
        (224..=239, _, _) => "multicast (224.0.0.0/4)",
        (240..=255, _, _) => "reserved or broadcast (240.0.0.0/4)",
        _ => return None,
    })
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<&'static str> {
    if ip.is_unspecified() {
        return Some("unspecified (::)");
    }
    if ip.is_loopback() {
        return Some("loopback (::1)");
    }
    if let Some(v4) = ip.to_ipv4_mapped() {
        return forbidden_v4(v4).map(|_| "IPv4-mapped non-public (::ffff:0:0/96)");
    }
    let s = ip.segments();
    let embedded = |hi: u16, lo: u16| Ipv4Addr::from(((hi as u32) << 16) | lo as u32);
    Some(match s {
        [0, 0, 0, 0, 0, 0, _, _] => "IPv4-compatible (::/96)",
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => {
            return forbidden_v4(embedded(hi, lo)).map(|_| "NAT64 of a non-public IPv4 address");
        }
        [0x64, 0xff9b, 1, ..] => "local-use NAT64 (64:ff9b:1::/48)",
        [0x100, 0, 0, 0, ..] => "discard (100::/64)",
        [0x2001, 0, ..] => "Teredo (2001::/32)",
        [0x2001, 0xdb8, ..] => "documentation (2001:db8::/32)",
        [0x2002, hi, lo, ..] => {
            return forbidden_v4(embedded(hi, lo)).map(|_| "6to4 of a non-public IPv4 address");
        }
        [x, ..] if x & 0xfe00 == 0xfc00 => "unique-local (fc00::/7)",
        [x, ..] if x & 0xffc0 == 0xfe80 => "link-local (fe80::/10)",
        [x, ..] if x & 0xffc0 == 0xfec0 => "site-local (fec0::/10)",
        [x, ..] if x & 0xff00 == 0xff00 => "multicast (ff00::/8)",
        _ => return None,
    })
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl Default for OutboundPolicy {
    fn default() -> Self {
        OutboundPolicy::cloudflare()
    }
}

impl OutboundPolicy {
    /// The Cloudflare API and the documentation host; the token goes to the API host only.
    pub fn cloudflare() -> Self {
        OutboundPolicy {
            allowed_hosts: vec![API_HOST.to_string(), DOCS_HOST.to_string()],
            token_host: API_HOST.to_string(),
            upstreams: Vec::new(),
            rules: None,
        }
    }

    /// Only these hosts (a subset of the defaults, for a stricter host). Each must be an exact
    /// host name ([`parse_host_name`]) already allowed: the list narrows, it never widens.
    pub fn allow_only(mut self, hosts: &[&str]) -> Result<Self, PolicyError> {
        let mut keep = Vec::new();
        for host in hosts {
            let host = parse_host_name(host)?;
            if !self.allowed_hosts.contains(&host) {
                return Err(PolicyError {
                    message: format!(
                        "{host:?} is not one of the allowed hosts ({})",
                        self.allowed_hosts.join(", ")
                    ),
                    expected: HOST_FORM,
                });
            }
            keep.push(host);
        }
        self.allowed_hosts.retain(|h| keep.contains(h));
        self.upstreams.retain(|u| keep.contains(&u.host));
        Ok(self)
    }

    pub fn allowed_hosts(&self) -> &[String] {
        &self.allowed_hosts
    }

    pub fn upstreams(&self) -> &[Upstream] {
        &self.upstreams
    }

    /// Parses `HOST=URL` and adds the redirect. HOST must be allowed; URL is scheme and
    /// authority only (the request keeps its own path and query).
    pub fn with_upstream(mut self, spec: &str) -> Result<Self, UpstreamError> {
        let err = |message: String| Err(PolicyError::upstream(message));
        let Some((host, url)) = spec.split_once('=') else {
            return err(format!("{spec:?} has no '='"));
        };
        let host = parse_host_name(host).map_err(|e| PolicyError::upstream(e.message))?;
        if !self.allowed_hosts.contains(&host) {
            return err(format!(
                "{host:?} is not an allowed host ({})",
                self.allowed_hosts.join(", ")
            ));
        }
        let url = url.trim();
        if url.contains('*') {
            return err(format!(
                "{url:?}: wildcards are not supported: give one scheme and host"
            ));
        }
        if url.contains('#') {
            return err(format!("{url:?}: give no fragment"));
        }
        let uri: Uri = match url.parse() {
            Ok(uri) => uri,
            Err(e) => return err(format!("{url:?} is not a URL: {e}")),
        };
        let (Some(scheme), Some(authority)) = (uri.scheme().cloned(), uri.authority().cloned())
        else {
            return err(format!("{url:?} needs a scheme and a host"));
        };
        if scheme != http::uri::Scheme::HTTP && scheme != http::uri::Scheme::HTTPS {
            return err(format!("{url:?}: only http and https"));
        }
        if authority.as_str().contains('@') {
            return err(format!("{url:?}: no credentials in the URL"));
        }
        if authority.host().is_empty() {
            return err(format!("{url:?} needs a host"));
        }
        // The token may travel to an upstream: in clear text only within this machine.
        if scheme == http::uri::Scheme::HTTP && !is_loopback(authority.host()) {
            return err(format!(
                "{url:?}: plain http only to this machine (127.0.0.1, the IPv6 loopback address or localhost); use https"
            ));
        }
        if uri.path() != "/" && !uri.path().is_empty() || uri.query().is_some() {
            return err(format!("{url:?}: give no path or query"));
        }
        self.upstreams.retain(|u| u.host != host);
        self.upstreams.push(Upstream {
            host,
            scheme,
            authority,
        });
        Ok(self)
    }

    /// Decides one request, by the scheme, host, method and path the guest asked for.
    pub fn decide(&self, method: &Method, uri: &Uri) -> Decision {
        if uri.scheme() != Some(&http::uri::Scheme::HTTPS) {
            return Decision::Deny(DenyReason::NotHttps);
        }
        let Some(authority) = uri.authority() else {
            return Decision::Deny(DenyReason::HostNotAllowed(String::new()));
        };
        if authority.as_str().contains('@') {
            return Decision::Deny(DenyReason::UserInfoInAuthority);
        }
        if let Some(port) = authority.port_u16().filter(|p| *p != 443) {
            return Decision::Deny(DenyReason::PortNotAllowed(port));
        }
        let host = canonical_host(authority.host());
        if !self.allowed_hosts.contains(&host) {
            return Decision::Deny(DenyReason::HostNotAllowed(host));
        }
        let path = uri.path();
        let on_token_host = host == self.token_host;
        // GraphQL is POSTed, with its body checked, to the exact path: no GET form (a query
        // string could carry a mutation), no query string beside the body, no spelling of the
        // path a server might normalise to the same endpoint.
        let graphql_endpoint = on_token_host && normalized_path(path) == GRAPHQL_PATH;
        let reads = (*method == Method::GET || *method == Method::HEAD) && !graphql_endpoint;
        let graphql = *method == Method::POST
            && on_token_host
            && path == GRAPHQL_PATH
            && uri.query().is_none();
        if !reads && !graphql {
            return Decision::Deny(DenyReason::MethodNotAllowed {
                method: method.to_string(),
                path: path.to_string(),
            });
        }
        if !self.rules_allow(method, &host, path) {
            return Decision::Deny(DenyReason::NotInPolicyFile {
                method: method.to_string(),
                host,
                path: path.to_string(),
            });
        }
        Decision::Allow {
            inject_token: on_token_host,
            upstream: self.upstreams.iter().find(|u| u.host == host).cloned(),
        }
    }
}

/// A URI's host as the policy compares it: lowercased, without a trailing dot. The host
/// resolves this name, sends it as `Host` and checks the certificate against it.
pub fn canonical_host(host: &str) -> String {
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// The path as a lenient server might route it: percent-decoded, lowercased, `.` and `..`
/// resolved, repeated and trailing slashes dropped.
fn normalized_path(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(hi), Some(lo)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            )
        {
            decoded.push((hi * 16 + lo) as u8);
            i += 3;
        } else {
            decoded.push(bytes[i]);
            i += 1;
        }
    }
    let decoded = String::from_utf8_lossy(&decoded).to_lowercase();
    let mut segments: Vec<&str> = Vec::new();
    for segment in decoded.split(['/', '\\']) {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    format!("/{}", segments.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decide(policy: &OutboundPolicy, method: Method, url: &str) -> Decision {
        policy.decide(&method, &url.parse().expect("test URL"))
    }

    #[test]
    fn token_goes_to_the_api_host_only() {
        let p = OutboundPolicy::cloudflare();
        assert_eq!(
            decide(
                &p,
                Method::GET,
                "https://api.cloudflare.com/client/v4/zones"
            ),
            Decision::Allow {
                inject_token: true,
                upstream: None
            }
        );
        assert_eq!(
            decide(
                &p,
                Method::GET,
                "https://developers.cloudflare.com/llms.txt"
            ),
            Decision::Allow {
                inject_token: false,
                upstream: None
            }
        );
    }

    #[test]
    fn hosts_match_exactly_and_case_insensitively() {
        let p = OutboundPolicy::cloudflare();
        for url in [
            "https://API.Cloudflare.com/x",
            "https://api.cloudflare.com./x",
            "https://api.cloudflare.com:443/x",
        ] {
            assert!(
                matches!(
                    decide(&p, Method::GET, url),
                    Decision::Allow {
                        inject_token: true,
                        ..
                    }
                ),
                "{url}"
            );
        }
        for url in [
            "https://api.cloudflare.com.evil.test/x",
            "https://evil.api.cloudflare.com/x",
            "https://denied.test/x",
            "https://127.0.0.1/x",
        ] {
            assert!(
                matches!(
                    decide(&p, Method::GET, url),
                    Decision::Deny(DenyReason::HostNotAllowed(_))
                ),
                "{url}"
            );
        }
    }

    #[test]
    fn only_https_on_443_without_credentials() {
        let p = OutboundPolicy::cloudflare();
        assert_eq!(
            decide(&p, Method::GET, "http://api.cloudflare.com/x"),
            Decision::Deny(DenyReason::NotHttps)
        );
        assert_eq!(
            decide(&p, Method::GET, "https://api.cloudflare.com:8443/x"),
            Decision::Deny(DenyReason::PortNotAllowed(8443))
        );
        assert_eq!(
            decide(&p, Method::GET, "https://user@api.cloudflare.com/x"),
            Decision::Deny(DenyReason::UserInfoInAuthority)
        );
    }

    #[test]
    fn only_reads_and_graphql_posts_pass() {
        let p = OutboundPolicy::cloudflare();
        assert!(matches!(
            decide(
                &p,
                Method::POST,
                "https://api.cloudflare.com/client/v4/graphql"
            ),
            Decision::Allow { .. }
        ));
        for (method, url) in [
            (Method::POST, "https://api.cloudflare.com/client/v4/zones"),
            (
                Method::DELETE,
                "https://api.cloudflare.com/client/v4/zones/abc",
            ),
            (
                Method::PUT,
                "https://api.cloudflare.com/client/v4/zones/abc/dns_records/x",
            ),
            (
                Method::PATCH,
                "https://api.cloudflare.com/client/v4/zones/abc",
            ),
            (
                Method::POST,
                "https://developers.cloudflare.com/client/v4/graphql",
            ),
            (
                Method::OPTIONS,
                "https://api.cloudflare.com/client/v4/zones",
            ),
            (Method::TRACE, "https://api.cloudflare.com/client/v4/zones"),
            (
                Method::CONNECT,
                "https://api.cloudflare.com/client/v4/zones",
            ),
            // GraphQL only as a checked POST body: no GET form, no query string beside the
            // body, no other spelling of the path.
            (
                Method::GET,
                "https://api.cloudflare.com/client/v4/graphql?query=mutation%7Ba%7D",
            ),
            (Method::HEAD, "https://api.cloudflare.com/client/v4/graphql"),
            (
                Method::GET,
                "https://api.cloudflare.com/client/v4//GraphQL/",
            ),
            (
                Method::GET,
                "https://api.cloudflare.com/client/v4/zones/../%67raphql",
            ),
            (
                Method::POST,
                "https://api.cloudflare.com/client/v4/graphql?query=mutation%7Ba%7D",
            ),
            (
                Method::POST,
                "https://api.cloudflare.com/client/v4/graphql/",
            ),
        ] {
            assert!(
                matches!(
                    decide(&p, method.clone(), url),
                    Decision::Deny(DenyReason::MethodNotAllowed { .. })
                ),
                "{method} {url}"
            );
        }
    }

    #[test]
    fn upstream_redirects_an_allowed_host_and_keeps_the_decision() {
        let p = OutboundPolicy::cloudflare()
            .with_upstream("api.cloudflare.com=http://127.0.0.1:8787")
            .expect("valid");
        let Decision::Allow {
            inject_token: true,
            upstream: Some(u),
            ..
        } = decide(
            &p,
            Method::GET,
            "https://api.cloudflare.com/client/v4/zones",
        )
        else {
            panic!("expected an allowed, redirected request");
        };
        assert_eq!(u.authority.as_str(), "127.0.0.1:8787");
        assert!(
            p.clone()
                .with_upstream("denied.test=http://127.0.0.1:1")
                .is_err()
        );
        assert!(p.clone().with_upstream("api.cloudflare.com").is_err());
        assert!(
            p.clone()
                .with_upstream("api.cloudflare.com=http://127.0.0.1:1/prefix")
                .is_err()
        );
        assert!(
            p.with_upstream("api.cloudflare.com=ftp://127.0.0.1:1")
                .is_err()
        );
    }

    #[test]
    fn allow_only_narrows_the_list() {
        let p = OutboundPolicy::cloudflare()
            .allow_only(&[API_HOST])
            .expect("a subset");
        assert!(matches!(
            decide(
                &p,
                Method::GET,
                "https://developers.cloudflare.com/llms.txt"
            ),
            Decision::Deny(DenyReason::HostNotAllowed(_))
        ));
    }

    #[test]
    fn policy_inputs_accept_exact_host_names_only() {
        assert_eq!(
            parse_host_name(" API.Cloudflare.com. ").as_deref(),
            Ok(API_HOST)
        );
        for bad in [
            "",
            "*.cloudflare.com",
            "*",
            "https://api.cloudflare.com",
            "api.cloudflare.com/client",
            "api.cloudflare.com:443",
            "user@api.cloudflare.com",
            "127.0.0.1",
            "[::1]",
            "api..cloudflare.com",
            "-api.cloudflare.com",
            "api_cloudflare.com",
        ] {
            assert!(parse_host_name(bad).is_err(), "{bad:?}");
        }
        let p = OutboundPolicy::cloudflare();
        for bad in [
            "*.cloudflare.com",
            "api.cloudflare.com:8443",
            "https://api.cloudflare.com",
            "example.com",
        ] {
            let error = p.clone().allow_only(&[bad]).expect_err(bad);
            assert!(error.to_string().contains("exact host name"), "{error}");
        }
        for bad in [
            "*.cloudflare.com=http://127.0.0.1:1",
            "api.cloudflare.com:443=http://127.0.0.1:1",
            "https://api.cloudflare.com=http://127.0.0.1:1",
            "api.cloudflare.com=http://*.local:1",
            "api.cloudflare.com=http://127.0.0.1:1/#x",
            "api.cloudflare.com=http://127.0.0.1:1?x=1",
            "api.cloudflare.com=http://user:pw@127.0.0.1:1",
            "api.cloudflare.com=http://10.0.0.1:8787",
            "api.cloudflare.com=127.0.0.1:8787",
        ] {
            let error = p.clone().with_upstream(bad).expect_err(bad);
            assert!(error.to_string().contains("expected HOST=URL"), "{error}");
        }
        assert!(
            p.clone()
                .with_upstream("API.cloudflare.com.=https://staging.example.test")
                .is_ok()
        );
        assert!(
            p.with_upstream("api.cloudflare.com=http://[::1]:8787")
                .is_ok()
        );
    }

    #[test]
    fn internal_and_special_addresses_are_forbidden() {
        for address in [
            "0.0.0.0",
            "0.1.2.3",
            "10.1.2.3",
            "100.64.0.1",
            "100.127.255.254",
            "127.0.0.1",
            "127.53.0.1",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.170",
            "192.0.2.1",
            "192.168.1.1",
            "198.18.0.1",
            "224.0.0.1",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b:1::1",
            "2001:db8::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "2002:0a00:0001::1",
            "fc00::1",
            "fd00:ec2::254",
            "fe80::1",
            "febf::1",
            "fec0::1",
            "ff02::1",
        ] {
            let ip: IpAddr = address.parse().expect("test address");
            assert!(forbidden_address(ip).is_some(), "{address}");
        }
        for address in [
            "104.16.132.229",
            "1.1.1.1",
            "100.63.255.255",
            "100.128.0.1",
            "172.15.0.1",
            "172.32.0.1",
            "169.253.1.1",
            "2606:4700::6810:84e5",
            "::ffff:104.16.132.229",
            "64:ff9b::6810:84e5",
            "2002:6810:84e5::1",
        ] {
            let ip: IpAddr = address.parse().expect("test address");
            assert_eq!(forbidden_address(ip), None, "{address}");
        }
    }

    #[test]
    fn denials_have_stable_codes() {
        assert_eq!(DenyReason::NotHttps.code(), "not_https");
        assert_eq!(
            DenyReason::TooManyRequests { limit: 64 }.code(),
            "too_many_requests"
        );
        assert_eq!(
            DenyReason::GraphqlRefused(GraphqlRefusal::NoOperation).code(),
            "graphql_not_a_query"
        );
    }
}
