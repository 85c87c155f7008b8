//! A policy file's host rules (`--policy`): per host, the methods and path prefixes allowed.
//! They can only take away from the built-in read-only policy: a rule wider than it is refused
//! when the policy is made, never ignored and never widening what the built-in rules allow.

use super::{GRAPHQL_PATH, OutboundPolicy, canonical_host, normalized_path};
use http::Method;

/// One host's rule: requests to `host` with one of `methods` and a path under one of `paths`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostRule {
    pub host: String,
    pub methods: Vec<Method>,
    /// Path prefixes, each beginning with `/`, matched on whole segments of the normalized
    /// path (`/client/v4/zones` covers `/client/v4/zones/abc`, not `/client/v4/zonesx`).
    pub paths: Vec<String>,
}

/// A rule the built-in policy does not allow: which rule, which of its fields, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleError {
    /// Its index in the list given.
    pub rule: usize,
    /// `host`, `methods` or `paths`.
    pub field: &'static str,
    pub message: String,
}

impl OutboundPolicy {
    /// Only what `rules` allow, within the built-in rules: the hosts they name, their methods,
    /// their paths. Refuses a rule for another host, a write method, `POST` anywhere but the
    /// API host's GraphQL endpoint, and a path that is not a plain prefix.
    pub fn narrowed_by(mut self, rules: Vec<HostRule>) -> Result<Self, RuleError> {
        let mut kept = Vec::with_capacity(rules.len());
        for (index, mut rule) in rules.into_iter().enumerate() {
            let refuse = |field, message: String| RuleError {
                rule: index,
                field,
                message,
            };
            rule.host = canonical_host(&rule.host);
            if !self.allowed_hosts.contains(&rule.host) {
                return Err(refuse(
                    "host",
                    format!(
                        "{:?} is not a host the plugin may reach; the built-in policy allows {}",
                        rule.host,
                        self.allowed_hosts.join(" and ")
                    ),
                ));
            }
            if rule.methods.is_empty() {
                return Err(refuse("methods", "no method: give at least GET".into()));
            }
            if rule.paths.is_empty() {
                return Err(refuse("paths", "no path: give at least \"/\"".into()));
            }
            for path in &mut rule.paths {
                if !path.starts_with('/') || path.contains(['*', '?', '#']) {
                    return Err(refuse(
                        "paths",
                        format!(
                            "{path:?} is not a path prefix: it must begin with / and hold no \
                             wildcard, query or fragment (prefixes match whole segments)"
                        ),
                    ));
                }
                *path = normalized_path(path);
            }
            for method in &rule.methods {
                let graphql_only = rule.paths.iter().all(|p| p == GRAPHQL_PATH);
                let allowed = match *method {
                    Method::GET | Method::HEAD => true,
                    Method::POST => rule.host == self.token_host && graphql_only,
                    _ => false,
                };
                if allowed {
                    continue;
                }
                // A POST to another path is the paths' fault; any other refusal the method's.
                let field = if *method == Method::POST && rule.host == self.token_host {
                    "paths"
                } else {
                    "methods"
                };
                let message = if *method == Method::POST && rule.host == self.token_host {
                    format!(
                        "POST is allowed only to the GraphQL endpoint {GRAPHQL_PATH}: give it a \
                         rule of its own with paths = [\"{GRAPHQL_PATH}\"]"
                    )
                } else if *method == Method::POST {
                    format!(
                        "POST is allowed only to {}{GRAPHQL_PATH}: {} is read with GET and HEAD",
                        self.token_host, rule.host
                    )
                } else {
                    format!(
                        "{method} is wider than the built-in read-only rule: the plugin may only \
                         read (GET and HEAD, and POST to {}{GRAPHQL_PATH})",
                        self.token_host
                    )
                };
                return Err(refuse(field, message));
            }
            kept.push(rule);
        }
        self.allowed_hosts
            .retain(|h| kept.iter().any(|r| &r.host == h));
        self.upstreams
            .retain(|u| kept.iter().any(|r| r.host == u.host));
        self.rules = Some(kept);
        Ok(self)
    }

    /// The policy file's rules, when one narrowed this policy.
    pub fn rules(&self) -> Option<&[HostRule]> {
        self.rules.as_deref()
    }

    /// True when no rule narrows the policy, or one allows this method and path on this host.
    pub(super) fn rules_allow(&self, method: &Method, host: &str, path: &str) -> bool {
        let Some(rules) = &self.rules else {
            return true;
        };
        let path = normalized_path(path);
        rules.iter().any(|rule| {
            rule.host == host
                && rule.methods.contains(method)
                && rule.paths.iter().any(|prefix| under(prefix, &path))
        })
    }
}

/// `path` is `prefix` or below it, on segment boundaries (both normalized).
fn under(prefix: &str, path: &str) -> bool {
    prefix == "/"
        || path == prefix
        || path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbound::policy::{API_HOST, DOCS_HOST, Decision, DenyReason};

    fn rule(host: &str, methods: &[Method], paths: &[&str]) -> HostRule {
        HostRule {
            host: host.into(),
            methods: methods.to_vec(),
            paths: paths.iter().map(|p| p.to_string()).collect(),
        }
    }

    fn decide(policy: &OutboundPolicy, method: Method, url: &str) -> Decision {
        policy.decide(&method, &url.parse().expect("test URL"))
    }

    #[test]
    fn rules_allow_only_their_methods_and_paths_on_their_hosts() {
        let policy = OutboundPolicy::cloudflare()
            .narrowed_by(vec![
                rule(API_HOST, &[Method::GET], &["/client/v4/zones"]),
                rule(API_HOST, &[Method::POST], &[GRAPHQL_PATH]),
            ])
            .expect("within the built-in rules");
        assert_eq!(policy.allowed_hosts(), [API_HOST]);
        let allowed = |m, url| matches!(decide(&policy, m, url), Decision::Allow { .. });
        assert!(allowed(
            Method::GET,
            "https://api.cloudflare.com/client/v4/zones"
        ));
        assert!(allowed(
            Method::GET,
            "https://api.cloudflare.com/client/v4/zones/abc/dns_records"
        ));
        assert!(allowed(
            Method::POST,
            "https://api.cloudflare.com/client/v4/graphql"
        ));
        for (method, url) in [
            (Method::GET, "https://api.cloudflare.com/client/v4/zonesx"),
            (
                Method::GET,
                "https://api.cloudflare.com/client/v4/accounts/1",
            ),
            (
                Method::GET,
                "https://api.cloudflare.com/client/v4/zones/../accounts/1",
            ),
            (Method::HEAD, "https://api.cloudflare.com/client/v4/zones"),
        ] {
            assert!(
                matches!(
                    decide(&policy, method.clone(), url),
                    Decision::Deny(DenyReason::NotInPolicyFile { .. })
                ),
                "{method} {url}"
            );
        }
        // A host no rule names is off the allow-list altogether.
        assert!(matches!(
            decide(&policy, Method::GET, "https://developers.cloudflare.com/"),
            Decision::Deny(DenyReason::HostNotAllowed(_))
        ));
    }

    #[test]
    fn a_rule_wider_than_the_built_in_rules_is_refused_naming_its_field() {
        let cases = [
            (rule("example.com", &[Method::GET], &["/"]), "host"),
            (rule(API_HOST, &[Method::PUT], &["/"]), "methods"),
            (
                rule(API_HOST, &[Method::DELETE], &["/client/v4/zones"]),
                "methods",
            ),
            (
                rule(API_HOST, &[Method::POST], &["/client/v4/zones"]),
                "paths",
            ),
            (
                rule(API_HOST, &[Method::POST], &["/", GRAPHQL_PATH]),
                "paths",
            ),
            (rule(DOCS_HOST, &[Method::POST], &[GRAPHQL_PATH]), "methods"),
            (rule(API_HOST, &[Method::GET], &["client/v4"]), "paths"),
            (rule(API_HOST, &[Method::GET], &["/client/*"]), "paths"),
            (rule(API_HOST, &[], &["/"]), "methods"),
            (rule(API_HOST, &[Method::GET], &[]), "paths"),
        ];
        for (wide, field) in cases {
            let error = OutboundPolicy::cloudflare()
                .narrowed_by(vec![rule(DOCS_HOST, &[Method::GET], &["/"]), wide.clone()])
                .expect_err("wider than the built-in rules");
            assert_eq!(
                (error.rule, error.field),
                (1, field),
                "{wide:?}: {}",
                error.message
            );
        }
    }

    #[test]
    fn a_rule_never_allows_what_the_built_in_rules_deny() {
        // GET on the GraphQL endpoint (a query string could carry a mutation) stays denied even
        // under a rule for every path.
        let policy = OutboundPolicy::cloudflare()
            .narrowed_by(vec![rule(API_HOST, &[Method::GET, Method::HEAD], &["/"])])
            .expect("within the built-in rules");
        assert!(matches!(
            decide(
                &policy,
                Method::GET,
                "https://api.cloudflare.com/client/v4/graphql"
            ),
            Decision::Deny(DenyReason::MethodNotAllowed { .. })
        ));
        assert!(matches!(
            decide(
                &policy,
                Method::GET,
                "http://api.cloudflare.com/client/v4/zones"
            ),
            Decision::Deny(DenyReason::NotHttps)
        ));
    }
}
