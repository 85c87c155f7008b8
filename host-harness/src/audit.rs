//! `cf-harness audit`: what a component asks of the host and what the host gives it.
//!
//! Everything about the component is read from its own type information (wasmtime's component
//! types), never from this project's sources: each import and export by its full name, with the
//! functions the component imports or exports. Each import is classified against what the
//! harness links and configures (see `link_grants`, which `Harness::load` uses too, and
//! `Harness::instantiate`'s `WasiCtx`): **granted** (linked and usable), **stubbed** (linked but
//! empty) or **denied** (refused at load). The outbound policy is described by asking it
//! ([`OutboundPolicy::decide`]) about representative requests, so the report says what the
//! policy does rather than what a comment says it does.
//!
//! [`ungranted_imports`] is the load-time check: `Harness::load` refuses a component that
//! imports anything denied here, naming each such import ([`UngrantedImports`]).

use crate::compile_cache::CompileCache;
use crate::policy::{Decision, GRAPHQL_PATH, OutboundPolicy};
use crate::runtime::{ConnectorPluginPre, Limits, PluginState, engine_config};
use anyhow::Context as _;
use http::{Method, Uri};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::fmt::{self, Write as _};
use std::path::Path;
use wasmtime::Engine;
use wasmtime::component::types::{ComponentFunc, ComponentInstance, ComponentItem};
use wasmtime::component::{Component, Linker, ResourceType, Type};

/// What the harness does with one import.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    /// Linked and usable (within the policy and limits).
    Granted,
    /// Linked, but there is nothing behind it (no directory, empty stdin, discarded output).
    Stubbed,
    /// Not granted: a component importing it is refused at load.
    Denied,
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Access::Granted => "granted",
            Access::Stubbed => "stubbed",
            Access::Denied => "denied",
        })
    }
}

/// One function of an interface, with its WIT-like signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Function {
    pub name: String,
    /// e.g. `func(request: outgoing-request, options: option<request-options>) -> result<…>`.
    pub signature: String,
}

/// What one import or export holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Item {
    /// The full name, e.g. `wasi:http/outgoing-handler@0.2.4`.
    pub name: String,
    /// `interface` (an instance), `function`, `resource`, `type`, `component`, `module`.
    pub kind: &'static str,
    /// The functions the component imports from (or exports in) the interface.
    pub functions: Vec<Function>,
    /// The resources (handle types) of the interface.
    pub resources: Vec<String>,
}

/// An import, with what the harness does with it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Import {
    #[serde(flatten)]
    pub item: Item,
    pub access: Access,
    /// Why: what the harness links behind it, or why it is refused.
    pub reason: String,
}

/// An import `Harness::load` refuses, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RefusedImport {
    pub name: String,
    pub reason: String,
}

/// `Harness::load`'s error when the component imports an interface the harness does not grant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UngrantedImports(pub Vec<RefusedImport>);

impl fmt::Display for UngrantedImports {
    /// Each refused import by name; imports refused for the same reason share it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the component imports what this harness does not grant: ")?;
        let mut reasons: Vec<&str> = Vec::new();
        for import in &self.0 {
            if !reasons.contains(&import.reason.as_str()) {
                reasons.push(&import.reason);
            }
        }
        for (i, reason) in reasons.iter().enumerate() {
            let names: Vec<&str> = self
                .0
                .iter()
                .filter(|r| r.reason == *reason)
                .map(|r| r.name.as_str())
                .collect();
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{} ({reason})", names.join(", "))?;
        }
        f.write_str(". Run `cf-harness audit` on the component to see every import")
    }
}

impl std::error::Error for UngrantedImports {}

/// The component file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ComponentFile {
    /// As given, when read from a file.
    pub path: Option<String>,
    pub size_bytes: u64,
    /// Lowercase hexadecimal SHA-256 of the file's bytes.
    pub sha256: String,
}

/// Requests of one method set to one host that the policy lets through.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MethodRule {
    pub methods: Vec<String>,
    /// `["*"]`: any path (but those in `except`); else only these paths.
    pub paths: Vec<String>,
    /// Paths refused even though `paths` is `["*"]`.
    pub except: Vec<String>,
    /// Further conditions: on the query string, on the body.
    pub conditions: Vec<String>,
}

/// What the policy lets through to one allowed host.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HostRules {
    pub host: String,
    pub rules: Vec<MethodRule>,
    /// Whether the host adds `Authorization: Bearer <token>` to this host's requests.
    pub token_injected: bool,
    /// Where this host's requests are really sent (`--upstream`), if redirected.
    pub upstream: Option<String>,
}

/// A `--upstream` redirect in effect.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UpstreamReport {
    pub host: String,
    pub url: String,
    /// Whether the token travels to `url` (it does when the redirected host gets the token).
    pub token_sent: bool,
}

/// The outbound policy, as the policy itself answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OutboundReport {
    /// The only way out.
    pub through: &'static str,
    pub schemes: Vec<String>,
    pub ports: Vec<u16>,
    pub credentials_in_url: bool,
    pub hosts: Vec<HostRules>,
    /// Hosts that get the token (before any redirect).
    pub token_sent_to: Vec<String>,
    /// Allowed hosts that never get it; hosts off the list get nothing at all.
    pub token_never_sent_to: Vec<String>,
    /// What becomes of an `Authorization` header the guest sets.
    pub guest_authorization: &'static str,
    pub upstreams: Vec<UpstreamReport>,
    /// What is denied before leaving the host.
    pub denied: Vec<String>,
}

/// Per-call limits, in bytes, counts and milliseconds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LimitsReport {
    pub memory_bytes: u64,
    pub max_memories: u32,
    pub max_tables: u32,
    pub max_table_elements: u64,
    pub max_instances: u32,
    pub cpu_time_ms: u64,
    /// The granularity of the CPU limit (epoch ticks while guest code runs).
    pub cpu_tick_ms: u64,
    pub wall_clock_ms: u64,
    pub connect_timeout_ms: u64,
    pub first_byte_timeout_ms: u64,
    pub between_bytes_timeout_ms: u64,
    /// Bytes of one response body.
    pub max_response_bytes: u64,
    /// Outbound requests in one call.
    pub max_requests_per_call: u32,
    /// Bytes of one tool call's result.
    pub max_result_bytes: u64,
}

/// The whole audit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditReport {
    pub component: ComponentFile,
    /// Whether `Harness::load` accepts the component.
    pub loads: bool,
    /// Why not, when it does not.
    pub load_error: Option<String>,
    /// Imports refused at load (the denied ones).
    pub refused_imports: Vec<RefusedImport>,
    pub imports: Vec<Import>,
    pub exports: Vec<Item>,
    pub outbound: OutboundReport,
    /// The environment variables the host may give the guest (names only; never the token).
    pub guest_environment: Vec<String>,
    pub limits: LimitsReport,
}

/// What the host grants besides the component: the policy, limits and guest environment.
#[derive(Clone, Copy, Debug)]
pub struct HostSetup<'a> {
    pub policy: &'a OutboundPolicy,
    pub limits: &'a Limits,
    /// Names of the variables the host may pass to the guest.
    pub guest_env: &'a [&'a str],
}

use crate::runtime::{EPOCH_TICK, MAX_INSTANCES, MAX_MEMORIES, MAX_TABLE_ELEMENTS, MAX_TABLES};

/// Links what the harness grants or stubs: WASI 0.2 (its `WasiCtx`, set up in
/// `Harness::instantiate`, decides what is behind each interface) and WASI HTTP's outgoing side.
/// `Harness::load` and the audit both use it, so the audit describes what is really linked.
pub(crate) fn link_grants(linker: &mut Linker<PluginState>) -> anyhow::Result<()> {
    wasmtime_wasi::p2::add_to_linker_async(linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(linker)?;
    Ok(())
}

/// What `Harness::load` does after compiling: refuse ungranted imports, link, and type-check
/// the exports against the `connector-plugin` world.
fn prepare(engine: &Engine, component: &Component) -> anyhow::Result<()> {
    let refused = ungranted_imports(engine, component);
    if !refused.is_empty() {
        return Err(UngrantedImports(refused).into());
    }
    let mut linker = Linker::<PluginState>::new(engine);
    link_grants(&mut linker)?;
    ConnectorPluginPre::new(linker.instantiate_pre(component)?)?;
    Ok(())
}

/// The imports the harness refuses: everything [`classify`] denies.
pub fn ungranted_imports(engine: &Engine, component: &Component) -> Vec<RefusedImport> {
    let ty = component.component_type();
    ty.imports(engine)
        .filter_map(|(name, ext)| {
            let (access, reason) = classify(name, &ext.ty, engine, &[]);
            (access == Access::Denied).then(|| RefusedImport {
                name: name.to_string(),
                reason,
            })
        })
        .collect()
}

/// `wasi:http/outgoing-handler@0.2.4` → (`wasi:http`, `outgoing-handler`, `0.2.4`).
fn split_name(name: &str) -> (&str, &str, &str) {
    let (path, version) = name.split_once('@').unwrap_or((name, ""));
    let (package, interface) = path.split_once('/').unwrap_or((path, ""));
    (package, interface, version)
}

/// What the harness does with one import, and why. Only WASI 0.2.x is linked.
pub fn classify(
    name: &str,
    ty: &ComponentItem,
    engine: &Engine,
    guest_env: &[&str],
) -> (Access, String) {
    use Access::*;
    let (package, interface, version) = split_name(name);
    let ComponentItem::ComponentInstance(instance) = ty else {
        return (
            Denied,
            "not an interface: the harness links no top-level function, resource or component"
                .into(),
        );
    };
    if !package.starts_with("wasi:") {
        // An interface that only defines types (the contract's own `types`) gives nothing
        // to call: it needs no grant. Anything callable from another package is not linked.
        let callable = instance.exports(engine).any(|(_, e)| {
            matches!(
                e.ty,
                ComponentItem::ComponentFunc(_)
                    | ComponentItem::CoreFunc(_)
                    | ComponentItem::Resource(_)
                    | ComponentItem::ComponentInstance(_)
                    | ComponentItem::Component(_)
                    | ComponentItem::Module(_)
            )
        });
        return if callable {
            (
                Denied,
                "not linked: the harness provides no such interface".into(),
            )
        } else {
            (Granted, "types only: nothing to call".into())
        };
    }
    if !version.starts_with("0.2.") {
        return (
            Denied,
            format!("not linked: the harness links WASI 0.2.x, not {version:?}"),
        );
    }
    let env = if guest_env.is_empty() {
        "no variable".to_string()
    } else {
        guest_env.join(" and ")
    };
    let (access, reason): (Access, String) = match (package, interface) {
        ("wasi:http", "outgoing-handler") => (
            Granted,
            "every request is decided by the outbound policy below; the host drops the guest's \
             Authorization and adds the token itself, and enforces its own timeouts"
                .into(),
        ),
        ("wasi:http", "types") => (
            Granted,
            "requests, responses, headers and bodies for the outgoing handler; nothing can be \
             served (wasi:http/incoming-handler is not linked)"
                .into(),
        ),
        ("wasi:io", "error" | "poll" | "streams") => (
            Granted,
            "streams and polling: HTTP bodies, timers and the stubbed stdio; no stream of its \
             own"
            .into(),
        ),
        ("wasi:clocks", "wall-clock" | "monotonic-clock") => {
            (Granted, "the host's clocks, read-only".into())
        }
        ("wasi:random", "random" | "insecure" | "insecure-seed") => {
            (Granted, "random numbers from the host's generators".into())
        }
        ("wasi:cli", "environment") => (
            Granted,
            format!(
                "get-environment returns only what the host chooses ({env}); never the token; \
                 no arguments, no working directory"
            ),
        ),
        ("wasi:cli", "exit") => (
            Granted,
            "the guest may end its own call: the host sees a trap and the instance is \
             poisoned"
                .into(),
        ),
        ("wasi:cli", "stdin") => (Stubbed, "closed: reads end at once".into()),
        ("wasi:cli", "stdout" | "stderr") => (Stubbed, "output is discarded".into()),
        (
            "wasi:cli",
            "terminal-input" | "terminal-output" | "terminal-stdin" | "terminal-stdout"
            | "terminal-stderr",
        ) => (Stubbed, "no terminal".into()),
        ("wasi:filesystem", _) => (
            Denied,
            "no files: the connector reads nothing from disk, and a plugin that could open \
             files could read the host's secrets"
                .into(),
        ),
        ("wasi:sockets", _) => (
            Denied,
            "no sockets and no name lookups: the plugin reaches the network only through \
             wasi:http/outgoing-handler"
                .into(),
        ),
        _ => (Denied, "not linked by this harness".into()),
    };
    (access, reason)
}

/// Type and resource names collected from the component's interfaces, to write signatures the
/// way WIT does (`connect-options` rather than the record's fields).
#[derive(Default)]
struct Names {
    types: Vec<(Type, String)>,
    resources: Vec<(ResourceType, String)>,
}

impl Names {
    fn collect(&mut self, engine: &Engine, instance: &ComponentInstance) {
        for (name, e) in instance.exports(engine) {
            // The first name of a type wins (an interface that `use`s it exports it again).
            match e.ty {
                ComponentItem::Type(
                    ty @ (Type::Record(_) | Type::Variant(_) | Type::Enum(_) | Type::Flags(_)),
                ) if !self.types.iter().any(|(t, _)| *t == ty) => {
                    self.types.push((ty, name.to_string()));
                }
                ComponentItem::Resource(r) if !self.resources.iter().any(|(t, _)| *t == r) => {
                    self.resources.push((r, name.to_string()));
                }
                _ => {}
            }
        }
    }

    fn resource(&self, r: &ResourceType) -> String {
        self.resources
            .iter()
            .find(|(t, _)| t == r)
            .map_or_else(|| "resource".to_string(), |(_, n)| n.clone())
    }

    fn ty(&self, ty: &Type) -> String {
        if matches!(
            ty,
            Type::Record(_) | Type::Variant(_) | Type::Enum(_) | Type::Flags(_)
        ) && let Some((_, name)) = self.types.iter().find(|(t, _)| t == ty)
        {
            return name.clone();
        }
        match ty {
            Type::List(l) => format!("list<{}>", self.ty(&l.ty())),
            Type::FixedLengthList(l) => format!("list<{}, {}>", self.ty(&l.ty()), l.len()),
            Type::Map(m) => format!("map<{}, {}>", self.ty(&m.key()), self.ty(&m.value())),
            Type::Option(o) => format!("option<{}>", self.ty(&o.ty())),
            Type::Result(r) => match (r.ok(), r.err()) {
                (None, None) => "result".to_string(),
                (Some(ok), None) => format!("result<{}>", self.ty(&ok)),
                (None, Some(err)) => format!("result<_, {}>", self.ty(&err)),
                (Some(ok), Some(err)) => format!("result<{}, {}>", self.ty(&ok), self.ty(&err)),
            },
            Type::Tuple(t) => format!(
                "tuple<{}>",
                t.types()
                    .map(|t| self.ty(&t))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Type::Own(r) => self.resource(r),
            Type::Borrow(r) => format!("borrow<{}>", self.resource(r)),
            Type::Future(f) => f
                .ty()
                .map_or_else(|| "future".into(), |t| format!("future<{}>", self.ty(&t))),
            Type::Stream(s) => s
                .ty()
                .map_or_else(|| "stream".into(), |t| format!("stream<{}>", self.ty(&t))),
            Type::Record(r) => format!(
                "record {{ {} }}",
                r.fields()
                    .map(|f| format!("{}: {}", f.name, self.ty(&f.ty)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Type::Variant(v) => format!(
                "variant {{ {} }}",
                v.cases()
                    .map(|c| match c.ty {
                        Some(t) => format!("{}({})", c.name, self.ty(&t)),
                        None => c.name.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Type::Enum(e) => format!("enum {{ {} }}", e.names().collect::<Vec<_>>().join(", ")),
            Type::Flags(f) => format!("flags {{ {} }}", f.names().collect::<Vec<_>>().join(", ")),
            Type::Bool => "bool".into(),
            Type::S8 => "s8".into(),
            Type::U8 => "u8".into(),
            Type::S16 => "s16".into(),
            Type::U16 => "u16".into(),
            Type::S32 => "s32".into(),
            Type::U32 => "u32".into(),
            Type::S64 => "s64".into(),
            Type::U64 => "u64".into(),
            Type::Float32 => "f32".into(),
            Type::Float64 => "f64".into(),
            Type::Char => "char".into(),
            Type::String => "string".into(),
            Type::ErrorContext => "error-context".into(),
        }
    }

    fn signature(&self, func: &ComponentFunc) -> String {
        let params = func
            .params()
            .map(|(name, ty)| format!("{name}: {}", self.ty(&ty)))
            .collect::<Vec<_>>()
            .join(", ");
        let results = func.results().map(|t| self.ty(&t)).collect::<Vec<_>>();
        let prefix = if func.async_() { "async func" } else { "func" };
        match results.as_slice() {
            [] => format!("{prefix}({params})"),
            [one] => format!("{prefix}({params}) -> {one}"),
            many => format!("{prefix}({params}) -> ({})", many.join(", ")),
        }
    }
}

fn kind(ty: &ComponentItem) -> &'static str {
    match ty {
        ComponentItem::ComponentInstance(_) => "interface",
        ComponentItem::ComponentFunc(_) | ComponentItem::CoreFunc(_) => "function",
        ComponentItem::Resource(_) => "resource",
        ComponentItem::Type(_) => "type",
        ComponentItem::Component(_) => "component",
        ComponentItem::Module(_) => "module",
    }
}

fn item(engine: &Engine, names: &Names, name: &str, ty: &ComponentItem) -> Item {
    let mut functions = Vec::new();
    let mut resources = Vec::new();
    match ty {
        ComponentItem::ComponentInstance(instance) => {
            for (fname, e) in instance.exports(engine) {
                match &e.ty {
                    ComponentItem::ComponentFunc(f) => functions.push(Function {
                        name: fname.to_string(),
                        signature: names.signature(f),
                    }),
                    ComponentItem::Resource(_) => resources.push(fname.to_string()),
                    _ => {}
                }
            }
        }
        ComponentItem::ComponentFunc(f) => functions.push(Function {
            name: name.to_string(),
            signature: names.signature(f),
        }),
        _ => {}
    }
    Item {
        name: name.to_string(),
        kind: kind(ty),
        functions,
        resources,
    }
}

/// Lowercase hexadecimal SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .fold(String::with_capacity(64), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

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
        .unwrap_or_else(|| crate::policy::API_HOST.to_string());
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
        .all(|a| crate::policy::forbidden_address(a).is_some());
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
        upstreams,
        denied,
    }
}

/// The body rule of GraphQL `POST`s, as the host's guard answers: it must pass a query and
/// refuse a mutation, else there is no body rule to report.
fn graphql_body_rule() -> Option<String> {
    use crate::graphql_guard::{MAX_BODY_BYTES, check_body};
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

/// The audit of a compiled component. `bytes` are the file it was compiled from (for the
/// hash and size).
pub fn audit(
    engine: &Engine,
    component: &Component,
    bytes: &[u8],
    setup: &HostSetup<'_>,
) -> AuditReport {
    let ty = component.component_type();
    let mut names = Names::default();
    for (_, ext) in ty.imports(engine).chain(ty.exports(engine)) {
        if let ComponentItem::ComponentInstance(instance) = &ext.ty {
            names.collect(engine, instance);
        }
    }
    let imports: Vec<Import> = ty
        .imports(engine)
        .map(|(name, ext)| {
            let (access, reason) = classify(name, &ext.ty, engine, setup.guest_env);
            Import {
                item: item(engine, &names, name, &ext.ty),
                access,
                reason,
            }
        })
        .collect();
    let exports = ty
        .exports(engine)
        .map(|(name, ext)| item(engine, &names, name, &ext.ty))
        .collect();
    let refused_imports = ungranted_imports(engine, component);
    let load_error = prepare(engine, component).err().map(|e| format!("{e:#}"));
    AuditReport {
        component: ComponentFile {
            path: None,
            size_bytes: bytes.len() as u64,
            sha256: sha256_hex(bytes),
        },
        loads: load_error.is_none(),
        load_error,
        refused_imports,
        imports,
        exports,
        outbound: describe_policy(setup.policy),
        guest_environment: setup.guest_env.iter().map(|s| s.to_string()).collect(),
        limits: describe_limits(setup.limits),
    }
}

/// Reads, compiles (or takes from `cache`, as `Harness::load_with` does) and audits a
/// component file, on the engine the harness runs plugins on.
pub fn audit_file(
    path: &Path,
    setup: &HostSetup<'_>,
    cache: Option<&CompileCache>,
) -> anyhow::Result<AuditReport> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let engine = Engine::new(&engine_config())?;
    let (component, source) = CompileCache::load_or_compile(cache, &engine, &bytes)
        .with_context(|| format!("{} is not a valid component", path.display()))?;
    tracing::debug!(?source, plugin = %path.display(), "component loaded for the audit");
    let mut report = audit(&engine, &component, &bytes, setup);
    report.component.path = Some(path.display().to_string());
    Ok(report)
}

fn duration(ms: u64) -> String {
    if ms.is_multiple_of(1000) {
        format!("{} s", ms / 1000)
    } else {
        format!("{ms} ms")
    }
}

fn bytes(n: u64) -> String {
    if n >= 1024 * 1024 && n.is_multiple_of(1024 * 1024) {
        format!("{} MiB ({n} bytes)", n / (1024 * 1024))
    } else {
        format!("{n} bytes")
    }
}

/// Text wrapped at `width` columns, continuation lines indented by `indent` spaces (the first
/// line is taken to start there too).
fn wrap_text(text: &str, indent: usize, width: usize) -> String {
    let mut out = String::new();
    let mut column = indent;
    for word in text.split_whitespace() {
        if column > indent && column + 1 + word.len() > width {
            out.push('\n');
            out.push_str(&" ".repeat(indent));
            column = indent;
        } else if column > indent {
            out.push(' ');
            column += 1;
        }
        out.push_str(word);
        column += word.len();
    }
    out
}

/// Words wrapped at `width`, each line after the first indented by `indent`.
fn wrap(words: &[String], indent: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = 0;
    for (i, w) in words.iter().enumerate() {
        let sep = if i + 1 < words.len() { "," } else { "" };
        if line > 0 && line + w.len() + 2 > width {
            out.push('\n');
            out.push_str(indent);
            line = 0;
        } else if line > 0 {
            out.push(' ');
            line += 1;
        }
        out.push_str(w);
        out.push_str(sep);
        line += w.len() + sep.len();
    }
    out
}

/// The readable form.
pub fn render(report: &AuditReport) -> String {
    let mut s = String::new();
    let c = &report.component;
    let _ = writeln!(
        s,
        "Component {}",
        c.path.as_deref().unwrap_or("(from memory)")
    );
    let _ = writeln!(s, "  size    {} bytes", c.size_bytes);
    let _ = writeln!(s, "  sha256  {}", c.sha256);
    if report.loads {
        let _ = writeln!(
            s,
            "  verdict loads: every import is granted or stubbed, the exports match the world"
        );
    } else if !report.refused_imports.is_empty() {
        let names: Vec<&str> = report
            .refused_imports
            .iter()
            .map(|r| r.name.as_str())
            .collect();
        let text = format!("REFUSED: imports {}", names.join(", "));
        let _ = writeln!(s, "  verdict {}", wrap_text(&text, 10, 96));
    } else {
        let _ = writeln!(
            s,
            "  verdict REFUSED: {}",
            report.load_error.as_deref().unwrap_or("cannot be loaded")
        );
    }

    let _ = writeln!(
        s,
        "\nImports ({}): what the component asks of the host",
        report.imports.len()
    );
    for import in &report.imports {
        let _ = writeln!(s, "  {:<7} {}", import.access, import.item.name);
        let _ = writeln!(s, "          {}", wrap_text(&import.reason, 10, 96));
        let mut members: Vec<String> = import
            .item
            .resources
            .iter()
            .map(|r| format!("resource {r}"))
            .collect();
        members.extend(import.item.functions.iter().map(|f| f.name.clone()));
        if !members.is_empty() {
            let _ = writeln!(
                s,
                "          uses: {}",
                wrap(&members, "                ", 80)
            );
        }
    }

    let _ = writeln!(
        s,
        "\nExports ({}): what the host may call",
        report.exports.len()
    );
    for export in &report.exports {
        let _ = writeln!(s, "  {}", export.name);
        for r in &export.resources {
            let _ = writeln!(s, "    resource {r}");
        }
        for f in &export.functions {
            let _ = writeln!(s, "    {}: {}", f.name, f.signature);
        }
    }

    let o = &report.outbound;
    let _ = writeln!(s, "\nOutbound requests (only through {})", o.through);
    let _ = writeln!(
        s,
        "  schemes {}; ports {}; credentials in the URL {}",
        o.schemes.join(", "),
        o.ports
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        if o.credentials_in_url {
            "allowed"
        } else {
            "refused"
        }
    );
    for h in &o.hosts {
        let _ = writeln!(s, "  {}", h.host);
        for rule in &h.rules {
            let paths = match (rule.paths == ["*"], rule.except.is_empty()) {
                (true, true) => "any path".to_string(),
                (true, false) => format!("any path except {}", rule.except.join(", ")),
                (false, _) => format!("{} only", rule.paths.join(", ")),
            };
            let _ = writeln!(s, "    {:<10} {paths}", rule.methods.join(", "));
            for condition in &rule.conditions {
                let _ = writeln!(s, "    {:<10} {}", "", wrap_text(condition, 15, 96));
            }
        }
        let token = if h.token_injected {
            "injected by the host"
        } else {
            "never sent"
        };
        let _ = writeln!(s, "    {:<10} {token}", "token");
        if let Some(up) = &h.upstream {
            let _ = writeln!(s, "    {:<10} redirected to {up}", "upstream");
        }
    }
    let _ = writeln!(s, "  token: sent only to {}", o.token_sent_to.join(", "));
    let _ = writeln!(
        s,
        "  guest's Authorization header: {}",
        o.guest_authorization
    );
    if o.upstreams.is_empty() {
        let _ = writeln!(
            s,
            "  --upstream: none (requests go to the hosts themselves)"
        );
    }
    for u in &o.upstreams {
        let _ = writeln!(
            s,
            "  --upstream: {} -> {}{}",
            u.host,
            u.url,
            if u.token_sent {
                " (the token goes there)"
            } else {
                ""
            }
        );
    }
    let _ = writeln!(s, "  denied before leaving the host:");
    for d in &o.denied {
        let _ = writeln!(s, "    - {}", wrap_text(d, 6, 96));
    }

    let env = if report.guest_environment.is_empty() {
        "none".to_string()
    } else {
        report.guest_environment.join(", ")
    };
    let _ = writeln!(
        s,
        "\nGuest environment: {env} (when given; never the token)"
    );

    let l = &report.limits;
    let _ = writeln!(
        s,
        "\nLimits (per call: memory, CPU time and the wall clock stop the call and poison its \
         instance; the network limits fail the request the guest made; a larger tool result \
         is refused)"
    );
    let _ = writeln!(
        s,
        "  memory          {} of linear memory, at most {} memories",
        bytes(l.memory_bytes),
        l.max_memories
    );
    let _ = writeln!(
        s,
        "  tables          at most {} of {} elements; at most {} instances",
        l.max_tables, l.max_table_elements, l.max_instances
    );
    let _ = writeln!(
        s,
        "  CPU time        {} of guest code ({} ms ticks)",
        duration(l.cpu_time_ms),
        l.cpu_tick_ms
    );
    let _ = writeln!(s, "  wall clock      {}", duration(l.wall_clock_ms));
    let _ = writeln!(s, "  connect         {}", duration(l.connect_timeout_ms));
    let _ = writeln!(s, "  first byte      {}", duration(l.first_byte_timeout_ms));
    let _ = writeln!(
        s,
        "  between bytes   {}",
        duration(l.between_bytes_timeout_ms)
    );
    let _ = writeln!(s, "  response body   {}", bytes(l.max_response_bytes));
    let _ = writeln!(s, "  requests        {} per call", l.max_requests_per_call);
    let _ = writeln!(s, "  tool result     {}", bytes(l.max_result_bytes));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_a_known_input() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn names_split_into_package_interface_version() {
        assert_eq!(
            split_name("wasi:http/outgoing-handler@0.2.4"),
            ("wasi:http", "outgoing-handler", "0.2.4")
        );
        assert_eq!(split_name("plain"), ("plain", "", ""));
    }

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
        assert_eq!(report.token_sent_to, [crate::policy::API_HOST]);
        assert_eq!(report.token_never_sent_to, [crate::policy::DOCS_HOST]);
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
