//! `--policy FILE`: a reviewed TOML file that pins the component and narrows what the built-in
//! rules allow: the services, per host the methods and path prefixes, the limits (as ceilings)
//! and where the audit log goes. It can only narrow: a rule wider than the built-in read-only
//! policy is refused at start with the line that asked for it, and an unknown key is refused
//! rather than ignored. `docs/policy.md` documents it field by field.

use super::render;
use crate::Service;
use crate::outbound::policy::{HostRule, OutboundPolicy};
use crate::sandbox::limit_defaults as defaults;
use serde::Deserialize;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use toml::Spanned;

mod describe;

pub use describe::{changes, init_text};

/// A value from the file and the line it is on.
#[derive(Clone, Debug, PartialEq)]
pub struct Pinned<T> {
    pub value: T,
    pub line: usize,
}

/// The limits a file caps. A flag above its ceiling is refused; a default above it is lowered.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Ceilings {
    pub timeout_seconds: Option<Pinned<u64>>,
    pub memory_mib: Option<Pinned<u64>>,
    pub cpu_seconds: Option<Pinned<f64>>,
    pub read_timeout_seconds: Option<Pinned<f64>>,
    pub max_response_mib: Option<Pinned<u64>>,
    pub max_result_mib: Option<Pinned<u64>>,
    pub max_requests: Option<Pinned<u32>>,
}

/// A limit as `audit --policy` shows it: its key, its ceiling and line when the file sets one,
/// and the built-in default.
type CeilingEntry = (&'static str, Option<(String, usize)>, String);

impl Ceilings {
    fn entries(&self) -> [CeilingEntry; 7] {
        fn set<T: fmt::Display>(c: &Option<Pinned<T>>) -> Option<(String, usize)> {
            c.as_ref().map(|c| (c.value.to_string(), c.line))
        }
        [
            (
                "timeout_seconds",
                set(&self.timeout_seconds),
                defaults::TIMEOUT_SECONDS.to_string(),
            ),
            (
                "memory_mib",
                set(&self.memory_mib),
                defaults::MEMORY_MIB.to_string(),
            ),
            (
                "cpu_seconds",
                set(&self.cpu_seconds),
                defaults::CPU_SECONDS.to_string(),
            ),
            (
                "read_timeout_seconds",
                set(&self.read_timeout_seconds),
                defaults::READ_TIMEOUT_SECONDS.to_string(),
            ),
            (
                "max_response_mib",
                set(&self.max_response_mib),
                defaults::MAX_RESPONSE_MIB.to_string(),
            ),
            (
                "max_result_mib",
                set(&self.max_result_mib),
                defaults::MAX_RESULT_MIB.to_string(),
            ),
            (
                "max_requests",
                set(&self.max_requests),
                defaults::MAX_REQUESTS.to_string(),
            ),
        ]
    }
}

/// Where the audit log goes, and its rotation.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditLogRule {
    pub path: Pinned<PathBuf>,
    pub max_mib: Option<Pinned<f64>>,
}

/// A policy file, read and checked against the built-in rules.
#[derive(Clone, Debug)]
pub struct PolicyFile {
    /// Where it was read from, for messages.
    pub source: PathBuf,
    /// The one component it allows: its SHA-256, lowercase hex.
    pub component_sha256: Option<Pinned<String>>,
    pub services: Option<Pinned<Vec<Service>>>,
    /// The host rules, each with its `[[hosts]]` line; `None`: the built-in rules as they are.
    pub hosts: Option<Vec<Pinned<HostRule>>>,
    pub limits: Ceilings,
    pub audit_log: Option<AuditLogRule>,
}

/// A file that cannot be used, and where: words a reviewer reads, with the line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyFileError {
    pub source: PathBuf,
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for PolicyFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{} line {line}: {}", self.source.display(), self.message),
            None => write!(f, "{}: {}", self.source.display(), self.message),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Text {
    component: Option<ComponentText>,
    services: Option<Spanned<Vec<Spanned<String>>>>,
    hosts: Option<Vec<Spanned<HostText>>>,
    limits: Option<LimitsText>,
    audit_log: Option<AuditLogText>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ComponentText {
    sha256: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HostText {
    host: Spanned<String>,
    methods: Spanned<Vec<Spanned<String>>>,
    paths: Spanned<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsText {
    timeout_seconds: Option<Spanned<u64>>,
    memory_mib: Option<Spanned<u64>>,
    cpu_seconds: Option<Spanned<f64>>,
    read_timeout_seconds: Option<Spanned<f64>>,
    max_response_mib: Option<Spanned<u64>>,
    max_result_mib: Option<Spanned<u64>>,
    max_requests: Option<Spanned<u32>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditLogText {
    path: Spanned<String>,
    max_mib: Option<Spanned<f64>>,
}

/// 1-based line of a byte offset.
fn line_of(text: &str, span: &Range<usize>) -> usize {
    text[..span.start.min(text.len())].matches('\n').count() + 1
}

impl PolicyFile {
    /// Reads and checks `path`.
    pub fn read(path: &Path) -> Result<PolicyFile, PolicyFileError> {
        let text = std::fs::read_to_string(path).map_err(|e| PolicyFileError {
            source: path.to_path_buf(),
            line: None,
            message: format!("cannot read it: {e}"),
        })?;
        PolicyFile::parse(path, &text)
    }

    /// Checks the file's text (`source` names it in messages).
    pub fn parse(source: &Path, text: &str) -> Result<PolicyFile, PolicyFileError> {
        let refuse = |span: Option<&Range<usize>>, message: String| PolicyFileError {
            source: source.to_path_buf(),
            line: span.map(|s| line_of(text, s)),
            message,
        };
        let parsed: Text = toml::from_str(text).map_err(|e| {
            // toml's message holds the offending line quoted; the first line is the reason.
            let reason = e
                .message()
                .lines()
                .next()
                .unwrap_or("not valid TOML")
                .to_string();
            refuse(e.span().as_ref(), reason)
        })?;
        let pin = |span: &Range<usize>| line_of(text, span);

        let component_sha256 = match parsed.component {
            Some(c) => {
                let digest = c.sha256.get_ref().trim().to_ascii_lowercase();
                if digest.len() != 64 || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(refuse(
                        Some(&c.sha256.span()),
                        format!(
                            "component.sha256 must be 64 hexadecimal characters (what `cf-harness \
                             audit` shows as the component's SHA-256), not {:?}",
                            c.sha256.get_ref()
                        ),
                    ));
                }
                Some(Pinned {
                    value: digest,
                    line: pin(&c.sha256.span()),
                })
            }
            None => None,
        };

        let services = match parsed.services {
            Some(list) => {
                let mut services = Vec::new();
                for name in list.get_ref() {
                    let Some(service) = render::parse_service(name.get_ref()) else {
                        return Err(refuse(
                            Some(&name.span()),
                            format!(
                                "unknown service {:?}; accepted: {}",
                                name.get_ref(),
                                render::accepted_services()
                            ),
                        ));
                    };
                    if !services.contains(&service) {
                        services.push(service);
                    }
                }
                if services.is_empty() {
                    return Err(refuse(
                        Some(&list.span()),
                        "services is empty: name at least one, or leave the key out to allow \
                         them all"
                            .into(),
                    ));
                }
                Some(Pinned {
                    value: services,
                    line: pin(&list.span()),
                })
            }
            None => None,
        };

        let hosts = match parsed.hosts {
            Some(entries) => {
                let mut rules = Vec::new();
                let mut spans = Vec::new();
                for entry in &entries {
                    let h = entry.get_ref();
                    let mut methods = Vec::new();
                    for m in h.methods.get_ref() {
                        let name = m.get_ref().trim().to_ascii_uppercase();
                        match http::Method::from_bytes(name.as_bytes()) {
                            Ok(method) if !name.is_empty() => methods.push(method),
                            _ => {
                                return Err(refuse(
                                    Some(&m.span()),
                                    format!("{:?} is not an HTTP method", m.get_ref()),
                                ));
                            }
                        }
                    }
                    rules.push(HostRule {
                        host: h.host.get_ref().trim().to_string(),
                        methods,
                        paths: h.paths.get_ref().clone(),
                    });
                    spans.push((h.host.span(), h.methods.span(), h.paths.span()));
                }
                // The built-in rules judge each rule; a refusal names the line of its field.
                if let Err(e) = OutboundPolicy::cloudflare().narrowed_by(rules.clone()) {
                    let (host, methods, paths) = &spans[e.rule];
                    let span = match e.field {
                        "host" => host,
                        "methods" => methods,
                        _ => paths,
                    };
                    return Err(refuse(Some(span), e.message));
                }
                Some(
                    rules
                        .into_iter()
                        .zip(&entries)
                        .map(|(value, entry)| Pinned {
                            value,
                            line: pin(&entry.span()),
                        })
                        .collect(),
                )
            }
            None => None,
        };

        let mut limits = Ceilings::default();
        if let Some(l) = parsed.limits {
            fn positive<T: Copy + PartialOrd + Default + fmt::Display>(
                key: &str,
                value: Option<Spanned<T>>,
                text: &str,
                refuse: &dyn Fn(Option<&Range<usize>>, String) -> PolicyFileError,
            ) -> Result<Option<Pinned<T>>, PolicyFileError> {
                match value {
                    Some(v) if *v.get_ref() > T::default() => Ok(Some(Pinned {
                        value: *v.get_ref(),
                        line: line_of(text, &v.span()),
                    })),
                    Some(v) => Err(refuse(
                        Some(&v.span()),
                        format!("limits.{key} must be above 0, not {}", v.get_ref()),
                    )),
                    None => Ok(None),
                }
            }
            limits = Ceilings {
                timeout_seconds: positive("timeout_seconds", l.timeout_seconds, text, &refuse)?,
                memory_mib: positive("memory_mib", l.memory_mib, text, &refuse)?,
                cpu_seconds: positive("cpu_seconds", l.cpu_seconds, text, &refuse)?,
                read_timeout_seconds: positive(
                    "read_timeout_seconds",
                    l.read_timeout_seconds,
                    text,
                    &refuse,
                )?,
                max_response_mib: positive("max_response_mib", l.max_response_mib, text, &refuse)?,
                max_result_mib: positive("max_result_mib", l.max_result_mib, text, &refuse)?,
                max_requests: positive("max_requests", l.max_requests, text, &refuse)?,
            };
        }

        let audit_log = match parsed.audit_log {
            Some(a) => {
                if a.path.get_ref().trim().is_empty() {
                    return Err(refuse(
                        Some(&a.path.span()),
                        "audit_log.path is empty".into(),
                    ));
                }
                let max_mib = match a.max_mib {
                    Some(m) if m.get_ref().is_finite() && *m.get_ref() > 0.0 => Some(Pinned {
                        value: *m.get_ref(),
                        line: pin(&m.span()),
                    }),
                    Some(m) => {
                        return Err(refuse(
                            Some(&m.span()),
                            format!("audit_log.max_mib must be above 0, not {}", m.get_ref()),
                        ));
                    }
                    None => None,
                };
                Some(AuditLogRule {
                    path: Pinned {
                        value: PathBuf::from(a.path.get_ref()),
                        line: pin(&a.path.span()),
                    },
                    max_mib,
                })
            }
            None => None,
        };

        Ok(PolicyFile {
            source: source.to_path_buf(),
            component_sha256,
            services,
            hosts,
            limits,
            audit_log,
        })
    }

    /// An error at one of this file's lines.
    pub fn error(&self, line: usize, message: String) -> PolicyFileError {
        PolicyFileError {
            source: self.source.clone(),
            line: Some(line),
            message,
        }
    }

    /// Refuses a component whose SHA-256 is not the pinned one, naming both.
    pub fn check_component(&self, sha256: &str) -> Result<(), PolicyFileError> {
        match &self.component_sha256 {
            Some(pinned) if pinned.value != sha256 => Err(self.error(
                pinned.line,
                format!(
                    "the component's SHA-256 is {sha256}, the policy allows only {}: refused",
                    pinned.value
                ),
            )),
            _ => Ok(()),
        }
    }

    /// Refuses a connection enabling a service the file does not allow.
    pub fn check_services(&self, services: &[Service]) -> Result<(), PolicyFileError> {
        let Some(allowed) = &self.services else {
            return Ok(());
        };
        match services.iter().find(|s| !allowed.value.contains(s)) {
            Some(service) => Err(self.error(
                allowed.line,
                format!(
                    "the service {} is not allowed here; the policy allows {}",
                    render::display_name(*service),
                    allowed
                        .value
                        .iter()
                        .map(|s| render::display_name(*s))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
            None => Ok(()),
        }
    }

    /// The services rule the sandbox holds connections to, when the file sets one.
    pub fn service_rule(&self) -> Option<crate::ServiceRule> {
        self.services.as_ref().map(|s| crate::ServiceRule {
            services: s.value.clone(),
            source: format!("{} line {}", self.source.display(), s.line),
        })
    }

    /// The built-in outbound policy narrowed by the file's host rules.
    pub fn narrow(&self, policy: OutboundPolicy) -> Result<OutboundPolicy, PolicyFileError> {
        let Some(hosts) = &self.hosts else {
            return Ok(policy);
        };
        let rules = hosts.iter().map(|h| h.value.clone()).collect();
        policy
            .narrowed_by(rules)
            .map_err(|e| self.error(hosts[e.rule].line, e.message))
    }
}

/// A limit under a ceiling: the flag's value when it was given (refused above the ceiling),
/// else the lower of the default and the ceiling.
pub fn capped<T: PartialOrd + Copy + fmt::Display>(
    file: &PolicyFile,
    flag: &str,
    key: &str,
    value: T,
    given: bool,
    ceiling: &Option<Pinned<T>>,
) -> Result<T, PolicyFileError> {
    match ceiling {
        Some(c) if value > c.value && given => Err(file.error(
            c.line,
            format!(
                "--{flag} {value} is above the policy's limits.{key} = {}",
                c.value
            ),
        )),
        Some(c) if value > c.value => Ok(c.value),
        _ => Ok(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<PolicyFile, PolicyFileError> {
        PolicyFile::parse(Path::new("policy.toml"), text)
    }

    #[test]
    fn each_refusal_names_the_line_that_asked_for_it() {
        let cases = [
            (
                "services = [\"documentation\"]\n[component]\nsha256 = \"abc\"\n",
                3,
            ),
            ("\n\nservices = [\"workers\"]\n", 3),
            ("services = []\n", 1),
            ("[limits]\nmemory_mib = 0\n", 2),
            ("[limits]\nmemory_mib = \"lots\"\n", 2),
            ("[audit_log]\npath = \"\"\n", 2),
            ("services = [\"documentation\"\n", 1),
            (
                "[[hosts]]\nhost = \"api.cloudflare.com\"\nmethods = [\"G E T\"]\npaths = [\"/\"]\n",
                3,
            ),
        ];
        for (text, line) in cases {
            let error = parse(text).expect_err(text);
            assert_eq!(error.line, Some(line), "{text:?}: {error}");
            assert!(
                !error.message.contains("Spanned"),
                "words, not types: {error}"
            );
        }
    }

    #[test]
    fn an_empty_file_narrows_nothing() {
        let file = parse("").expect("an empty file is a policy");
        assert!(file.component_sha256.is_none() && file.services.is_none() && file.hosts.is_none());
        let policy = file.narrow(OutboundPolicy::cloudflare()).expect("narrows");
        assert_eq!(policy, OutboundPolicy::cloudflare());
        assert_eq!(changes(&file), ["nothing: the file sets no rule"]);
    }

    #[test]
    fn the_digest_is_compared_lowercase_and_a_ceiling_lowers_a_default() {
        let digest = "AB".repeat(32);
        let file = parse(&format!(
            "[component]\nsha256 = \"{digest}\"\n[limits]\ntimeout_seconds = 10\n"
        ))
        .expect("valid");
        assert!(file.check_component(&digest.to_ascii_lowercase()).is_ok());
        let other = file
            .check_component(&"0".repeat(64))
            .expect_err("another digest");
        assert_eq!(other.line, Some(2));
        let c = &file.limits.timeout_seconds;
        assert_eq!(
            capped(&file, "timeout", "timeout_seconds", 60, false, c),
            Ok(10)
        );
        assert_eq!(
            capped(&file, "timeout", "timeout_seconds", 5, true, c),
            Ok(5)
        );
        assert!(capped(&file, "timeout", "timeout_seconds", 20, true, c).is_err());
    }
}
