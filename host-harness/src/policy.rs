//! The outbound policy: which requests leave the host, where the token goes, and where a host is
//! redirected for tests. Every decision is made on the host the guest asked for.

use http::{Method, Uri};
use std::fmt;

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

/// The policy. Hosts match exactly (case-insensitive); only HTTPS on the default port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboundPolicy {
    allowed_hosts: Vec<String>,
    token_host: String,
    upstreams: Vec<Upstream>,
}

/// What happens to one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
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
        }
    }
}

/// A bad `--upstream` value; says what form is accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpstreamError(pub String);

impl fmt::Display for UpstreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (expected HOST=URL, for example api.cloudflare.com=http://127.0.0.1:8787)",
            self.0
        )
    }
}

impl std::error::Error for UpstreamError {}

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
        }
    }

    /// Only these hosts (a subset of the defaults, for a stricter host).
    pub fn allow_only(mut self, hosts: &[&str]) -> Self {
        self.allowed_hosts
            .retain(|h| hosts.iter().any(|x| x.eq_ignore_ascii_case(h)));
        self
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
        let (host, url) = spec
            .split_once('=')
            .ok_or_else(|| UpstreamError(format!("{spec:?} has no '='")))?;
        let host = host.trim().to_ascii_lowercase();
        if !self.allowed_hosts.contains(&host) {
            return Err(UpstreamError(format!(
                "{host:?} is not an allowed host ({})",
                self.allowed_hosts.join(", ")
            )));
        }
        let uri: Uri = url
            .trim()
            .parse()
            .map_err(|e| UpstreamError(format!("{url:?} is not a URL: {e}")))?;
        let (Some(scheme), Some(authority)) = (uri.scheme().cloned(), uri.authority().cloned())
        else {
            return Err(UpstreamError(format!("{url:?} needs a scheme and a host")));
        };
        if scheme != http::uri::Scheme::HTTP && scheme != http::uri::Scheme::HTTPS {
            return Err(UpstreamError(format!("{url:?}: only http and https")));
        }
        if authority.as_str().contains('@') {
            return Err(UpstreamError(format!("{url:?}: no credentials in the URL")));
        }
        // The token may travel to an upstream: in clear text only within this machine.
        if scheme == http::uri::Scheme::HTTP && !is_loopback(authority.host()) {
            return Err(UpstreamError(format!(
                "{url:?}: plain http only to this machine (127.0.0.1, ::1, localhost); use https"
            )));
        }
        if uri.path() != "/" && !uri.path().is_empty() || uri.query().is_some() {
            return Err(UpstreamError(format!("{url:?}: give no path or query")));
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
        let host = authority.host().trim_end_matches('.').to_ascii_lowercase();
        if !self.allowed_hosts.contains(&host) {
            return Decision::Deny(DenyReason::HostNotAllowed(host));
        }
        let path = uri.path();
        let reads = *method == Method::GET || *method == Method::HEAD;
        let graphql = *method == Method::POST && host == self.token_host && path == GRAPHQL_PATH;
        if !reads && !graphql {
            return Decision::Deny(DenyReason::MethodNotAllowed {
                method: method.to_string(),
                path: path.to_string(),
            });
        }
        Decision::Allow {
            inject_token: host == self.token_host,
            upstream: self.upstreams.iter().find(|u| u.host == host).cloned(),
        }
    }
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
        assert!(matches!(
            decide(&p, Method::GET, "https://API.Cloudflare.com/x"),
            Decision::Allow { .. }
        ));
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
        let p = OutboundPolicy::cloudflare().allow_only(&[API_HOST]);
        assert!(matches!(
            decide(
                &p,
                Method::GET,
                "https://developers.cloudflare.com/llms.txt"
            ),
            Decision::Deny(DenyReason::HostNotAllowed(_))
        ));
    }
}
