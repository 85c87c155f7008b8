//! `verify`: is the token valid, does the account match, and does the token hold every
//! permission the enabled services need? One cheap read per permission; never a write.

use crate::cloudflare::catalog::{self, SERVICES};
use crate::cloudflare::envelope::ApiReply;
use crate::cloudflare::graphql;
use crate::connection::Connection;
use crate::docs::links;
use crate::error::{HINT_RATE_LIMIT, HINT_TOKEN, message};
use crate::http::{API_HOST, DOCS_HOST, Method, Request, Transport, with_query};
use crate::time::{date_string, parse_rfc3339};
use crate::wit_connector::{
    Check, CheckStatus, Evidence, SecurityFinding, ServiceReadiness, TokenInfo, TokenState,
    VerifyReport,
};
use crate::wit_types::{ApiFailure, Error, Permission, Service};
use serde_json::{Value, json};

/// Tokens expiring sooner than this get a warning.
const EXPIRY_WARNING_DAYS: i64 = 14;
/// Cloudflare's advice: rotate tokens every 90 days.
const ROTATION_ADVICE: &str = "Cloudflare advises rotating API tokens every 90 days: set an \
expiry (TTL) when creating the token and replace it before then.";

const ZONE_ANALYTICS_PROBE: &str = "query ZoneAnalyticsPermissionProbe($zoneTag: string!, $since: Date!) { viewer { zones(filter: {zoneTag: $zoneTag}) { httpRequests1dGroups(limit: 1, filter: {date_geq: $since}) { sum { requests } } } } }";
const ACCOUNT_ANALYTICS_PROBE: &str = "query AccountAnalyticsPermissionProbe($accountTag: string!, $since: Date!) { viewer { accounts(filter: {accountTag: $accountTag}) { httpRequests1dGroups(limit: 1, filter: {date_geq: $since}) { sum { requests } } } } }";

/// Why later API requests are not sent: after a 429, an unreachable API, or a rejected token,
/// more requests would only repeat the answer (and spend the rate limit).
#[derive(Clone, Debug)]
enum Halt {
    RateLimited(Option<u32>),
    Unreachable(Error),
    TokenRejected(Error),
}

/// What one probe saw.
#[derive(Clone, Debug)]
struct Probe {
    evidence: Evidence,
    /// The REST `result` or GraphQL `data`.
    result: Value,
    error: Option<Error>,
    sent: bool,
}

impl Probe {
    fn ok(&self) -> bool {
        self.error.is_none()
    }
}

/// The outcome of a permission, shared by every service that needs it.
#[derive(Clone, Debug)]
struct Outcome {
    status: CheckStatus,
    detail: String,
    hint: Option<String>,
    evidence: Option<Evidence>,
    error: Option<Error>,
    retry_after: Option<u32>,
}

/// A zone to probe zone-scoped permissions with.
#[derive(Clone, Debug)]
struct Zone {
    id: String,
    name: String,
}

enum Zones {
    Found(Zone),
    Empty,
    Unavailable(Probe),
}

struct Verifier<'a> {
    transport: &'a dyn Transport,
    connection: &'a Connection,
    now: i64,
    halt: Option<Halt>,
    checks: Vec<Check>,
    outcomes: Vec<(Permission, Outcome)>,
    zones: Option<Zones>,
    account_probe: Option<Probe>,
    account_mismatch: Option<String>,
    token_owner: Option<&'static str>,
}

/// Runs every check for the connection. `now` is Unix seconds.
pub fn verify(connection: &Connection, transport: &dyn Transport, now: i64) -> VerifyReport {
    let mut v = Verifier {
        transport,
        connection,
        now,
        halt: None,
        checks: Vec::new(),
        outcomes: Vec::new(),
        zones: None,
        account_probe: None,
        account_mismatch: None,
        token_owner: None,
    };
    let mut token = TokenInfo {
        state: TokenState::Unknown,
        id: None,
        owner: None,
        expires_on: None,
        not_before: None,
    };
    let mut security = Vec::new();
    let mut security_reviewed = false;
    if connection.needs_token() {
        token = v.check_token();
        v.check_account();
        for service in SERVICES.into_iter().filter(|s| connection.has(*s)) {
            for &permission in catalog::required_permissions(service) {
                let outcome = v.permission(permission);
                v.push_permission_check(service, permission, outcome);
            }
        }
        if let (Some(id), TokenState::Active) = (token.id.clone(), token.state)
            && let Some(findings) = v.security_review(&id)
        {
            security = findings;
            security_reviewed = true;
        }
    }
    if connection.has(Service::Documentation) {
        v.check_docs();
    }
    let services = v.readiness();
    v.checks.iter_mut().for_each(links::link_check);
    security.iter_mut().for_each(links::link_finding);
    VerifyReport {
        ready: services.iter().all(|s| s.ready),
        account_id: connection.account_id.clone(),
        token,
        services,
        checks: v.checks,
        security,
        security_reviewed,
    }
}

/// The hint an API error carries, or a generic one: every check that is not ok says what to do.
fn failure_hint(error: &Error) -> String {
    let carried = match error {
        Error::Unauthorized(f)
        | Error::Forbidden(f)
        | Error::NotFound(f)
        | Error::PlanLimit(f)
        | Error::Upstream(f) => f.hint.clone(),
        _ => None,
    };
    carried.unwrap_or_else(|| {
        "Cloudflare answered with an error; retry later, and check www.cloudflarestatus.com if \
         it persists."
            .to_string()
    })
}

/// Whether a verify endpoint's error says the token itself is not accepted (as opposed to a
/// rate limit, an outage or a host denial, which say nothing about it).
fn rejects_token(error: Option<&Error>) -> bool {
    matches!(
        error,
        Some(Error::Unauthorized(_) | Error::Forbidden(_) | Error::NotFound(_))
    )
}

fn evidence_of(reply: &ApiReply) -> Evidence {
    Evidence {
        request: reply.request.clone(),
        status: Some(reply.status),
        codes: reply.codes(),
    }
}

impl Verifier<'_> {
    /// Sends one API request unless a halt says its answer is already known.
    fn probe(&mut self, request: Request, forbidden_hint: Option<&str>) -> Probe {
        if let Some(halt) = &self.halt {
            let error = match halt {
                Halt::RateLimited(after) => Error::RateLimited(*after),
                Halt::Unreachable(e) | Halt::TokenRejected(e) => e.clone(),
            };
            return Probe {
                evidence: Evidence {
                    request: format!("{} (not sent)", request.describe()),
                    status: None,
                    codes: Vec::new(),
                },
                result: Value::Null,
                error: Some(error),
                sent: false,
            };
        }
        let is_graphql = request.method == Method::Post;
        let probe = match self.transport.send(&request) {
            Err(error) => Probe {
                evidence: Evidence {
                    request: request.describe(),
                    status: None,
                    codes: Vec::new(),
                },
                result: Value::Null,
                error: Some(error),
                sent: true,
            },
            Ok(response) if is_graphql => {
                let status = response.status;
                let evidence = Evidence {
                    request: request.describe(),
                    status: Some(status),
                    codes: Vec::new(),
                };
                match graphql::parse(&request, response) {
                    Ok(answer) if answer.problems.is_empty() => Probe {
                        evidence,
                        result: answer.data,
                        error: None,
                        sent: true,
                    },
                    Ok(answer) => Probe {
                        evidence,
                        result: answer.data,
                        error: Some(Error::QueryRejected(answer.problems)),
                        sent: true,
                    },
                    Err(error) => Probe {
                        evidence,
                        result: Value::Null,
                        error: Some(error),
                        sent: true,
                    },
                }
            }
            Ok(response) => {
                let reply = ApiReply::from_response(&request, response);
                let evidence = evidence_of(&reply);
                let error = reply.error(forbidden_hint);
                Probe {
                    evidence,
                    result: reply.envelope.result,
                    error,
                    sent: true,
                }
            }
        };
        match &probe.error {
            Some(Error::RateLimited(after)) => self.halt = Some(Halt::RateLimited(*after)),
            Some(e @ (Error::DeniedByHost(_) | Error::Transport(_))) => {
                self.halt = Some(Halt::Unreachable(e.clone()))
            }
            _ => {}
        }
        probe
    }

    fn push(
        &mut self,
        id: String,
        service: Option<Service>,
        permission: Option<Permission>,
        title: &str,
        outcome: Outcome,
    ) {
        self.checks.push(Check {
            id,
            service,
            permission,
            title: title.to_string(),
            status: outcome.status,
            detail: outcome.detail,
            hint: outcome.hint,
            evidence: outcome.evidence,
            error: outcome.error,
            retry_after_seconds: outcome.retry_after,
        });
    }

    /// A check of the token or the account, which belong to no single service.
    fn push_general(&mut self, id: &str, title: &str, outcome: Outcome) {
        self.push(id.to_string(), None, None, title, outcome);
    }

    /// The token check: user tokens verify at `/user/tokens/verify`, account-owned tokens only at
    /// `/accounts/{id}/tokens/verify`.
    fn check_token(&mut self) -> TokenInfo {
        let mut info = TokenInfo {
            state: TokenState::Unknown,
            id: None,
            owner: None,
            expires_on: None,
            not_before: None,
        };
        let user = self.probe(Request::api_get("/user/tokens/verify"), None);
        let (probe, owner) = if rejects_token(user.error.as_ref()) {
            // Account-owned tokens fail on the user endpoint: try the account's.
            let path = format!("/accounts/{}/tokens/verify", self.connection.account_id);
            let account = self.probe(Request::api_get(&path), None);
            if rejects_token(account.error.as_ref()) {
                (user, "user")
            } else {
                (account, "account")
            }
        } else {
            (user, "user")
        };
        // A rate limit, an outage or a host denial says nothing about the token itself.
        if probe.error.is_some() && !rejects_token(probe.error.as_ref()) {
            let outcome = self.unusable_outcome(&probe, "The token could not be checked");
            self.push_general("token", "API token is valid", outcome);
            return info;
        }
        if let Some(error) = probe.error.clone() {
            info.state = TokenState::Invalid;
            let detail = format!(
                "Cloudflare does not accept the token: {} (tried the user-token and the \
                 account-token endpoints)",
                message(&error)
            );
            let hint = format!(
                "{HINT_TOKEN} For an account-owned token, also ensure the Account ID is the \
                 account the token was created in."
            );
            self.halt = Some(Halt::TokenRejected(error.clone()));
            self.push_general(
                "token",
                "API token is valid",
                Outcome {
                    status: CheckStatus::Failed,
                    detail,
                    hint: Some(hint),
                    evidence: Some(probe.evidence),
                    error: Some(error),
                    retry_after: None,
                },
            );
            return info;
        }
        let field = |name: &str| {
            probe
                .result
                .get(name)
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        info.id = field("id");
        info.owner = Some(owner.to_string());
        info.expires_on = field("expires_on");
        info.not_before = field("not_before");
        self.token_owner = Some(owner);
        info.state = match field("status").as_deref() {
            Some("active") => TokenState::Active,
            Some("disabled") => TokenState::Disabled,
            Some("expired") => TokenState::Expired,
            _ => TokenState::Unknown,
        };
        let not_yet = info
            .not_before
            .as_deref()
            .and_then(parse_rfc3339)
            .filter(|t| *t > self.now);
        let (status, detail, hint) = match (info.state, not_yet) {
            (TokenState::Active, None) => (
                CheckStatus::Ok,
                format!("The {owner}-owned token is valid and active."),
                None,
            ),
            (TokenState::Active, Some(_)) => (
                CheckStatus::Failed,
                format!(
                    "The token is not valid before {}.",
                    info.not_before.clone().unwrap_or_default()
                ),
                Some("Wait until the token's start date, or edit its TTL in My Profile → API Tokens.".to_string()),
            ),
            (TokenState::Disabled, _) => (
                CheckStatus::Failed,
                "The token is disabled (revoked).".to_string(),
                Some(format!("Re-enable it in My Profile → API Tokens, or create a new one. {HINT_TOKEN}")),
            ),
            (TokenState::Expired, _) => (
                CheckStatus::Failed,
                format!(
                    "The token expired{}.",
                    info.expires_on.as_deref().map(|d| format!(" on {d}")).unwrap_or_default()
                ),
                Some(format!("Create a new token (or extend its TTL). {ROTATION_ADVICE}")),
            ),
            _ => (
                CheckStatus::Failed,
                "Cloudflare reported an unknown token status.".to_string(),
                Some(HINT_TOKEN.to_string()),
            ),
        };
        if status == CheckStatus::Failed {
            self.halt = Some(Halt::TokenRejected(Error::Unauthorized(ApiFailure {
                status: probe.evidence.status.unwrap_or_default(),
                codes: Vec::new(),
                message: detail.clone(),
                hint: hint.clone(),
            })));
        }
        let usable = status == CheckStatus::Ok;
        self.push_general(
            "token",
            "API token is valid",
            Outcome {
                status,
                detail,
                hint,
                evidence: Some(probe.evidence),
                error: None,
                retry_after: None,
            },
        );
        if usable {
            let outcome = self.expiry_outcome(&info);
            self.push_general("token-expiry", "API token expiry", outcome);
        }
        info
    }

    fn expiry_outcome(&self, info: &TokenInfo) -> Outcome {
        let (status, detail, hint) = match info.expires_on.as_deref() {
            None => (
                CheckStatus::Warning,
                "The token has no expiry date.".to_string(),
                Some(ROTATION_ADVICE.to_string()),
            ),
            Some(date) => match parse_rfc3339(date) {
                Some(t) if (t - self.now) < EXPIRY_WARNING_DAYS * 86_400 => (
                    CheckStatus::Warning,
                    format!(
                        "The token expires on {date}, in {} day(s).",
                        (t - self.now).max(0) / 86_400
                    ),
                    Some(format!(
                        "Create a replacement token before then. {ROTATION_ADVICE}"
                    )),
                ),
                Some(t) => (
                    CheckStatus::Ok,
                    format!(
                        "The token expires on {date}, in {} days.",
                        (t - self.now) / 86_400
                    ),
                    None,
                ),
                None => (
                    CheckStatus::Warning,
                    format!("The token's expiry date {date:?} could not be read."),
                    Some(ROTATION_ADVICE.to_string()),
                ),
            },
        };
        Outcome {
            status,
            detail,
            hint,
            evidence: None,
            error: None,
            retry_after: None,
        }
    }

    /// The outcome of a probe whose answer says nothing about permissions (rate limit, host
    /// denial, network, rejected token).
    fn unusable_outcome(&self, probe: &Probe, what: &str) -> Outcome {
        let error = probe.error.clone();
        let prefix = if probe.sent {
            what.to_string()
        } else {
            format!("{what} (not sent)")
        };
        let (status, detail, hint, retry_after) = match &error {
            Some(Error::RateLimited(after)) => (
                CheckStatus::RateLimited,
                format!("{prefix}: Cloudflare's rate limit answered (HTTP 429)."),
                Some(HINT_RATE_LIMIT.to_string()),
                *after,
            ),
            Some(Error::DeniedByHost(m)) => (
                CheckStatus::Failed,
                format!("{prefix}: {m}."),
                Some(format!(
                    "The host that runs the plugin must allow HTTPS requests to {API_HOST}."
                )),
                None,
            ),
            Some(Error::Transport(m)) => (
                CheckStatus::Failed,
                format!("{prefix}: {m}."),
                Some("Check the network path from the host to Cloudflare, then retry.".to_string()),
                None,
            ),
            Some(Error::Unauthorized(f)) => (
                CheckStatus::Failed,
                format!("{prefix}: the token is not accepted ({}).", f.message),
                Some(HINT_TOKEN.to_string()),
                None,
            ),
            Some(other) => (
                CheckStatus::Failed,
                format!("{prefix}: {}.", message(other)),
                Some(failure_hint(other)),
                None,
            ),
            None => (CheckStatus::Ok, what.to_string(), None, None),
        };
        Outcome {
            status,
            detail,
            hint,
            evidence: Some(probe.evidence.clone()),
            error,
            retry_after,
        }
    }

    /// Reads the account; when refused, tells a wrong account ID apart from a missing
    /// permission by listing the accounts the token can see.
    fn check_account(&mut self) {
        let id = self.connection.account_id.clone();
        let hint = catalog::grant_hint(Permission::AccountSettingsRead);
        let probe = self.probe(Request::api_get(&format!("/accounts/{id}")), Some(&hint));
        self.account_probe = Some(probe.clone());
        let title = "Account ID matches the token";
        let outcome = match &probe.error {
            None => {
                let name = probe
                    .result
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("(unnamed)");
                Outcome {
                    status: CheckStatus::Ok,
                    detail: format!("The token reads account {id} ({name})."),
                    hint: None,
                    evidence: Some(probe.evidence.clone()),
                    error: None,
                    retry_after: None,
                }
            }
            Some(Error::Forbidden(_) | Error::NotFound(_)) => self.account_refused(&probe),
            Some(_) => self.unusable_outcome(&probe, "The account could not be read"),
        };
        self.push_general("account", title, outcome);
    }

    fn account_refused(&mut self, probe: &Probe) -> Outcome {
        let id = self.connection.account_id.clone();
        let listing = self.probe(
            Request::api_get(&with_query("/accounts", &[("per_page", "50")])),
            None,
        );
        let visible: Vec<(String, String)> = listing
            .result
            .as_array()
            .map(|accounts| {
                accounts
                    .iter()
                    .filter_map(|a| {
                        let aid = a.get("id")?.as_str()?.to_string();
                        let name = a
                            .get("name")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string();
                        Some((aid, name))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let fail = |detail: String, hint: String| Outcome {
            status: CheckStatus::Failed,
            detail,
            hint: Some(hint),
            evidence: Some(probe.evidence.clone()),
            error: probe.error.clone(),
            retry_after: None,
        };
        if listing.ok() && !visible.is_empty() && !visible.iter().any(|(a, _)| *a == id) {
            let names: Vec<String> = visible.iter().map(|(a, n)| format!("{a} ({n})")).collect();
            let detail = format!(
                "The Account ID {id} does not match the token's account: the token can access {}.",
                names.join(", ")
            );
            let hint = "Ensure the Account ID matches the account the token was created for: use \
                        the ID listed above, or create a token in the account you entered."
                .to_string();
            self.account_mismatch = Some(detail.clone());
            return fail(detail, hint);
        }
        let in_listing = visible.iter().any(|(a, _)| *a == id);
        let confirmed = in_listing || self.token_owner == Some("account");
        if confirmed {
            return Outcome {
                status: CheckStatus::Ok,
                detail: format!(
                    "The token belongs to account {id} (its settings are not readable)."
                ),
                hint: None,
                evidence: Some(probe.evidence.clone()),
                error: None,
                retry_after: None,
            };
        }
        if matches!(probe.error, Some(Error::NotFound(_))) {
            let detail = format!("No account {id} is reachable with this token.");
            self.account_mismatch = Some(detail.clone());
            return fail(
                detail,
                "Ensure the Account ID matches the account the token was created for (dashboard → Account home → Account ID).".to_string(),
            );
        }
        // Refused without proof of a mismatch: a missing Account Settings Read looks the same,
        // and that permission has its own check. Only a proven mismatch fails this one.
        Outcome {
            status: CheckStatus::Skipped,
            detail: format!(
                "Could not confirm account {id}: Cloudflare refused to read it ({}).",
                probe.error.as_ref().map(message).unwrap_or_default()
            ),
            hint: Some(
                "Ensure the Account ID matches the account the token was created for. If it \
                 does, the token lacks Account Settings Read, which only DNS Analytics needs."
                    .to_string(),
            ),
            evidence: Some(probe.evidence.clone()),
            error: None,
            retry_after: None,
        }
    }

    /// The first zone of the account, listed once.
    fn zones(&mut self) -> &Zones {
        if self.zones.is_none() {
            let path = with_query(
                "/zones",
                &[
                    ("account.id", &self.connection.account_id.clone()),
                    ("per_page", "5"),
                ],
            );
            let hint = catalog::grant_hint(Permission::ZoneRead);
            let probe = self.probe(Request::api_get(&path), Some(&hint));
            let zones = if probe.ok() {
                let list = probe.result.as_array().cloned().unwrap_or_default();
                // Prefer an active zone: analytics of a pending zone are empty.
                let pick = list
                    .iter()
                    .find(|z| z.get("status").and_then(Value::as_str) == Some("active"))
                    .or_else(|| list.first());
                match pick.and_then(|z| {
                    Some(Zone {
                        id: z.get("id")?.as_str()?.to_string(),
                        name: z.get("name")?.as_str()?.to_string(),
                    })
                }) {
                    Some(zone) => Zones::Found(zone),
                    None => Zones::Empty,
                }
            } else {
                Zones::Unavailable(probe.clone())
            };
            self.outcomes
                .push((Permission::ZoneRead, self.zone_read_outcome(&zones, &probe)));
            self.zones = Some(zones);
        }
        self.zones.as_ref().unwrap_or(&Zones::Empty)
    }

    fn zone_read_outcome(&self, zones: &Zones, probe: &Probe) -> Outcome {
        match zones {
            Zones::Found(zone) => Outcome {
                status: CheckStatus::Ok,
                detail: format!(
                    "The token lists the account's zones (for example {}).",
                    zone.name
                ),
                hint: None,
                evidence: Some(probe.evidence.clone()),
                error: None,
                retry_after: None,
            },
            Zones::Empty => Outcome {
                status: CheckStatus::Ok,
                detail: "The token may list zones, but it sees none in this account.".to_string(),
                hint: Some(
                    "If the account has zones, the token's Zone Resources exclude them: include \
                     all zones or the ones to query."
                        .to_string(),
                ),
                evidence: Some(probe.evidence.clone()),
                error: None,
                retry_after: None,
            },
            Zones::Unavailable(p) => {
                self.denied_or_unusable(Permission::ZoneRead, p, "Listing zones")
            }
        }
    }

    /// A permission's outcome from a probe that needs exactly it.
    fn denied_or_unusable(&self, permission: Permission, probe: &Probe, what: &str) -> Outcome {
        let name = catalog::dashboard_name(permission);
        match &probe.error {
            Some(Error::Forbidden(_)) => Outcome {
                status: CheckStatus::Failed,
                detail: format!("{what} was refused: the token lacks {name}."),
                hint: Some(catalog::grant_hint(permission)),
                evidence: Some(probe.evidence.clone()),
                error: probe.error.clone(),
                retry_after: None,
            },
            Some(Error::QueryRejected(problems)) => {
                let authz = problems.iter().any(|p| p.code.as_deref() == Some("authz"));
                let limited = problems
                    .iter()
                    .any(|p| matches!(p.code.as_deref(), Some("budget" | "quota")));
                let messages: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
                let (status, detail, hint) = if limited {
                    (
                        CheckStatus::RateLimited,
                        format!(
                            "{what} hit the GraphQL query budget: {}.",
                            messages.join("; ")
                        ),
                        "GraphQL Analytics allows 300 queries per 5 minutes; wait and retry."
                            .to_string(),
                    )
                } else if authz {
                    let mut hint = catalog::grant_hint(permission);
                    if let Some(mismatch) = &self.account_mismatch {
                        hint = format!("{mismatch} {hint}");
                    }
                    (
                        CheckStatus::Failed,
                        format!("{what} was refused (authz): the token lacks {name}."),
                        hint,
                    )
                } else {
                    (
                        CheckStatus::Failed,
                        format!("{what} failed: {}.", messages.join("; ")),
                        "Retry later; if it persists, Cloudflare's GraphQL API is failing for this query.".to_string(),
                    )
                };
                Outcome {
                    status,
                    detail,
                    hint: Some(hint),
                    evidence: Some(probe.evidence.clone()),
                    error: probe.error.clone(),
                    retry_after: None,
                }
            }
            None => Outcome {
                status: CheckStatus::Ok,
                detail: format!("{what} succeeded: the token has {name}."),
                hint: None,
                evidence: Some(probe.evidence.clone()),
                error: None,
                retry_after: None,
            },
            Some(_) => self.unusable_outcome(probe, what),
        }
    }

    /// Probes a permission once; later services that need it reuse the outcome.
    fn permission(&mut self, permission: Permission) -> Outcome {
        if let Some((_, o)) = self.outcomes.iter().find(|(p, _)| *p == permission) {
            return o.clone();
        }
        let outcome = match permission {
            Permission::ZoneRead => {
                self.zones();
                return self.permission(permission);
            }
            Permission::AccountSettingsRead => self.account_settings_outcome(),
            Permission::AccountAnalyticsRead => {
                let since = date_string(self.now - 86_400);
                let request = graphql::request(
                    ACCOUNT_ANALYTICS_PROBE,
                    &json!({ "accountTag": self.connection.account_id, "since": since }),
                );
                let probe = self.probe(request, None);
                self.denied_or_unusable(permission, &probe, "An account-level GraphQL query")
            }
            Permission::DnsRead | Permission::ZoneAnalyticsRead => match self.zones() {
                Zones::Found(zone) => {
                    let zone = zone.clone();
                    let (request, what) = if permission == Permission::DnsRead {
                        (
                            Request::api_get(&with_query(&format!("/zones/{}/dns_records", zone.id), &[("per_page", "5")])),
                            format!("Listing DNS records of {}", zone.name),
                        )
                    } else {
                        let since = date_string(self.now - 86_400);
                        (
                            graphql::request(ZONE_ANALYTICS_PROBE, &json!({ "zoneTag": zone.id, "since": since })),
                            format!("A zone-level GraphQL query on {}", zone.name),
                        )
                    };
                    let hint = catalog::grant_hint(permission);
                    let probe = self.probe(request, Some(&hint));
                    self.denied_or_unusable(permission, &probe, &what)
                }
                Zones::Empty => Outcome {
                    status: CheckStatus::Skipped,
                    detail: "Not checked: the token sees no zone in this account to probe with.".to_string(),
                    hint: Some(
                        "Add a zone to the account, or include it in the token's Zone Resources, \
                         then verify again. Analytics of a new zone may take up to 24 hours to appear."
                            .to_string(),
                    ),
                    evidence: None,
                    error: None,
                    retry_after: None,
                },
                Zones::Unavailable(probe) if probe.sent && matches!(probe.error, Some(Error::Forbidden(_))) => Outcome {
                    status: CheckStatus::Skipped,
                    detail: "Not checked: the token cannot list zones, so there is no zone to \
                             probe this permission with."
                        .to_string(),
                    hint: Some(format!(
                        "Grant {} (DNS Analytics needs it; with GraphQL Analytics alone it only \
                         lets verify find a zone to probe), then verify again.",
                        catalog::dashboard_name(Permission::ZoneRead)
                    )),
                    evidence: Some(probe.evidence.clone()),
                    error: None,
                    retry_after: None,
                },
                Zones::Unavailable(probe) => {
                    let probe = probe.clone();
                    self.unusable_outcome(&probe, "Not checked: zones could not be listed")
                }
            },
        };
        self.outcomes.push((permission, outcome.clone()));
        outcome
    }

    fn account_settings_outcome(&self) -> Outcome {
        let Some(probe) = self.account_probe.clone() else {
            return Outcome {
                status: CheckStatus::Skipped,
                detail: "The account was not read.".into(),
                hint: None,
                evidence: None,
                error: None,
                retry_after: None,
            };
        };
        if let Some(mismatch) = &self.account_mismatch {
            return Outcome {
                status: CheckStatus::Skipped,
                detail: format!("Not checked: {mismatch}"),
                hint: Some("Fix the Account ID first (see the account check).".to_string()),
                evidence: Some(probe.evidence),
                error: None,
                retry_after: None,
            };
        }
        let mut outcome = self.denied_or_unusable(
            Permission::AccountSettingsRead,
            &probe,
            "Reading the account",
        );
        // Only a refusal can mean a wrong account; an outage keeps its own hint.
        if matches!(probe.error, Some(Error::Forbidden(_))) {
            outcome.hint = Some(format!(
                "{} If the token already has it, check that the Account ID is the account the \
                 token was created for.",
                catalog::grant_hint(Permission::AccountSettingsRead)
            ));
        }
        outcome
    }

    fn push_permission_check(
        &mut self,
        service: Service,
        permission: Permission,
        outcome: Outcome,
    ) {
        let id = format!(
            "{}/{}",
            catalog::slug(service),
            catalog::slug_of_permission(permission)
        );
        self.push(
            id,
            Some(service),
            Some(permission),
            catalog::dashboard_name(permission),
            outcome,
        );
    }

    /// Documentation needs no permission: its check is that the docs host answers.
    fn check_docs(&mut self) {
        let request = Request {
            method: Method::Head,
            host: DOCS_HOST,
            path: "/llms.txt".to_string(),
            body: None,
        };
        let describe = format!("HEAD https://{DOCS_HOST}/llms.txt");
        let outcome = match self.transport.send(&request) {
            Ok(r) if (200..400).contains(&r.status) => Outcome {
                status: CheckStatus::Ok,
                detail: format!("{DOCS_HOST} answers (HTTP {}).", r.status),
                hint: None,
                evidence: Some(Evidence {
                    request: describe,
                    status: Some(r.status),
                    codes: Vec::new(),
                }),
                error: None,
                retry_after: None,
            },
            Ok(r) => Outcome {
                status: CheckStatus::Failed,
                detail: format!("{DOCS_HOST} answered HTTP {}.", r.status),
                hint: Some("Cloudflare's documentation site is failing; retry later.".to_string()),
                evidence: Some(Evidence {
                    request: describe,
                    status: Some(r.status),
                    codes: Vec::new(),
                }),
                error: None,
                retry_after: r.retry_after,
            },
            Err(error) => {
                let hint = match &error {
                    Error::DeniedByHost(_) => format!(
                        "The host that runs the plugin must allow HTTPS requests to {DOCS_HOST}."
                    ),
                    _ => {
                        format!("Check the network path from the host to {DOCS_HOST}, then retry.")
                    }
                };
                Outcome {
                    status: CheckStatus::Failed,
                    detail: format!("{DOCS_HOST} could not be reached: {}.", message(&error)),
                    hint: Some(hint),
                    evidence: Some(Evidence {
                        request: describe,
                        status: None,
                        codes: Vec::new(),
                    }),
                    error: Some(error),
                    retry_after: None,
                }
            }
        };
        self.push(
            "documentation/docs-host".into(),
            Some(Service::Documentation),
            None,
            "developers.cloudflare.com is reachable",
            outcome,
        );
    }

    /// Reviews the token against Cloudflare's best practices when it may read its own details
    /// ("API Tokens Read", usually absent: then `None`, quietly).
    fn security_review(&mut self, token_id: &str) -> Option<Vec<SecurityFinding>> {
        let path = match self.token_owner {
            Some("account") => {
                format!("/accounts/{}/tokens/{token_id}", self.connection.account_id)
            }
            _ => format!("/user/tokens/{token_id}"),
        };
        let probe = self.probe(Request::api_get(&path), None);
        if !probe.ok() {
            return None;
        }
        Some(review_token(&probe.result, &self.connection.services))
    }

    fn readiness(&self) -> Vec<ServiceReadiness> {
        self.connection
            .services
            .iter()
            .map(|&service| {
                let needs_token = !catalog::required_permissions(service).is_empty();
                let relevant: Vec<&Check> = self
                    .checks
                    .iter()
                    .filter(|c| c.service == Some(service) || (c.service.is_none() && needs_token))
                    .collect();
                let blocking: Vec<&str> = relevant
                    .iter()
                    .filter(|c| matches!(c.status, CheckStatus::Failed | CheckStatus::RateLimited))
                    .map(|c| c.title.as_str())
                    .collect();
                // A permission that could not be probed is not confirmed: not ready, and said so.
                let unconfirmed: Vec<&str> = relevant
                    .iter()
                    .filter(|c| c.status == CheckStatus::Skipped && c.permission.is_some())
                    .map(|c| c.title.as_str())
                    .collect();
                let summary = if !blocking.is_empty() {
                    format!("Not ready: {}.", blocking.join(", "))
                } else if !unconfirmed.is_empty() {
                    format!(
                        "Not confirmed: {} could not be checked (see the checks).",
                        unconfirmed.join(", ")
                    )
                } else {
                    "Ready.".to_string()
                };
                ServiceReadiness {
                    service,
                    ready: blocking.is_empty() && unconfirmed.is_empty(),
                    summary,
                }
            })
            .collect()
    }
}

/// Least privilege, zone and IP restrictions, expiry: Cloudflare's advice for API tokens.
pub fn review_token(token: &Value, services: &[Service]) -> Vec<SecurityFinding> {
    let mut findings = Vec::new();
    let needed: Vec<Permission> = services
        .iter()
        .flat_map(|s| catalog::required_permissions(*s).iter().copied())
        .collect();
    let is_needed = |group: &str| {
        needed.iter().any(|p| {
            catalog::permission_group_name(*p).eq_ignore_ascii_case(group)
                || catalog::permission_group_aliases(*p)
                    .iter()
                    .any(|a| a.eq_ignore_ascii_case(group))
        })
    };
    let policies = token
        .get("policies")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut extra: Vec<String> = Vec::new();
    let mut all_zones = false;
    let mut all_accounts = false;
    for policy in policies
        .iter()
        .filter(|p| p.get("effect").and_then(Value::as_str) != Some("deny"))
    {
        for group in policy
            .get("permission_groups")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(name) = group.get("name").and_then(Value::as_str)
                && !is_needed(name)
                && !extra.iter().any(|e| e == name)
            {
                extra.push(name.to_string());
            }
        }
        if let Some(resources) = policy.get("resources").and_then(Value::as_object) {
            for key in resources.keys() {
                all_zones |= key.ends_with(".zone.*");
                all_accounts |= key == "com.cloudflare.api.account.*";
            }
        }
    }
    if !extra.is_empty() {
        let needed_names: Vec<&str> = needed.iter().map(|p| catalog::dashboard_name(*p)).collect();
        findings.push(SecurityFinding {
            id: "extra-permissions".into(),
            detail: format!(
                "The token has permissions the enabled services do not need: {}.",
                extra.join(", ")
            ),
            hint: format!(
                "Follow least privilege: remove them, keeping only {}.",
                if needed_names.is_empty() {
                    "none".to_string()
                } else {
                    needed_names.join(", ")
                }
            ),
        });
    }
    if all_zones {
        findings.push(SecurityFinding {
            id: "all-zones".into(),
            detail: "The token applies to all zones.".into(),
            hint: "Limit Zone Resources to the specific zones the agent should read.".into(),
        });
    }
    if all_accounts {
        findings.push(SecurityFinding {
            id: "all-accounts".into(),
            detail: "The token applies to all accounts.".into(),
            hint: "Limit Account Resources to this account.".into(),
        });
    }
    let ip_restricted = token
        .pointer("/condition/request_ip/in")
        .and_then(Value::as_array)
        .is_some_and(|ips| !ips.is_empty());
    if !ip_restricted {
        findings.push(SecurityFinding {
            id: "no-ip-restriction".into(),
            detail: "The token can be used from any IP address.".into(),
            hint: "Add Client IP Address Filtering with the addresses of the host that runs the connector.".into(),
        });
    }
    if token.get("expires_on").and_then(Value::as_str).is_none() {
        findings.push(SecurityFinding {
            id: "no-expiry".into(),
            detail: "The token never expires.".into(),
            hint: ROTATION_ADVICE.into(),
        });
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Response;
    use std::cell::RefCell;

    /// Answers by path prefix and records what was asked.
    struct Scripted {
        routes: Vec<(&'static str, u16, String)>,
        sent: RefCell<Vec<String>>,
    }

    impl Transport for Scripted {
        fn send(&self, request: &Request) -> Result<Response, Error> {
            self.sent.borrow_mut().push(request.describe());
            let path = request.path.split('?').next().unwrap_or_default();
            let (status, body) = self
                .routes
                .iter()
                .find(|(prefix, _, _)| path.starts_with(prefix))
                .map_or(
                    (404, r#"{"success":false,"errors":[{"code":7000}]}"#),
                    |(_, status, body)| (*status, body.as_str()),
                );
            let retry_after = (status == 429).then_some(7);
            Ok(Response {
                status,
                retry_after,
                body: body.as_bytes().to_vec(),
            })
        }
    }

    const ACCOUNT: &str = "01a7362d577a6c3019a474fd6f485823";
    const NOW: i64 = 1_800_000_000;

    fn connection(services: &[Service]) -> Connection {
        Connection {
            account_id: ACCOUNT.into(),
            services: services.to_vec(),
            source: "connect",
        }
    }

    #[test]
    fn a_429_stops_all_further_requests() {
        let t = Scripted {
            routes: vec![(
                "/client/v4/",
                429,
                r#"{"success":false,"errors":[{"code":971,"message":"slow down"}]}"#.to_string(),
            )],
            sent: RefCell::new(Vec::new()),
        };
        let report = verify(&connection(&[Service::DnsAnalytics]), &t, NOW);
        assert_eq!(t.sent.borrow().len(), 1);
        assert!(
            report
                .checks
                .iter()
                .all(|c| c.status == CheckStatus::RateLimited)
        );
        assert!(
            report
                .checks
                .iter()
                .all(|c| c.retry_after_seconds == Some(7))
        );
        assert!(!report.ready);
    }

    #[test]
    fn a_token_expiring_soon_warns_and_one_far_off_does_not() {
        for (expires, status) in [
            ("2027-01-16T00:00:00Z", CheckStatus::Warning),
            ("2027-12-01T00:00:00Z", CheckStatus::Ok),
        ] {
            let body = format!(
                r#"{{"success":true,"errors":[],"result":{{"id":"t1","status":"active","expires_on":"{expires}"}}}}"#
            );
            let t = Scripted {
                routes: vec![("/client/v4/user/tokens/verify", 200, body)],
                sent: RefCell::new(Vec::new()),
            };
            let report = verify(&connection(&[Service::GraphqlAnalytics]), &t, NOW);
            let expiry = report
                .checks
                .iter()
                .find(|c| c.id == "token-expiry")
                .expect("expiry check");
            assert_eq!(expiry.status, status, "{expires}");
        }
    }

    #[test]
    fn a_rate_limited_account_token_endpoint_is_not_an_invalid_token() {
        let t = Scripted {
            routes: vec![
                (
                    "/client/v4/user/tokens/verify",
                    401,
                    r#"{"success":false,"errors":[{"code":1000,"message":"Invalid API Token"}]}"#
                        .to_string(),
                ),
                (
                    "/client/v4/accounts/",
                    429,
                    r#"{"success":false,"errors":[{"code":971}]}"#.to_string(),
                ),
            ],
            sent: RefCell::new(Vec::new()),
        };
        let report = verify(&connection(&[Service::GraphqlAnalytics]), &t, NOW);
        assert_eq!(report.token.state, TokenState::Unknown);
        assert_eq!(report.checks[0].status, CheckStatus::RateLimited);
        assert_eq!(t.sent.borrow().len(), 2, "nothing after the 429");
    }

    #[test]
    fn an_unreachable_api_keeps_the_network_hint() {
        struct Down;
        impl Transport for Down {
            fn send(&self, request: &Request) -> Result<Response, Error> {
                Err(Error::Transport(request.describe()))
            }
        }
        let report = verify(&connection(&[Service::DnsAnalytics]), &Down, NOW);
        let settings = report
            .checks
            .iter()
            .find(|c| c.id == "dns-analytics/account-settings-read")
            .expect("check");
        assert_eq!(settings.status, CheckStatus::Failed);
        assert!(matches!(settings.error, Some(Error::Transport(_))));
        assert!(
            !settings
                .hint
                .as_deref()
                .unwrap_or_default()
                .contains("Add the permission")
        );
    }

    #[test]
    fn only_documentation_sends_nothing_to_the_api() {
        let t = Scripted {
            routes: vec![("/llms.txt", 200, String::new())],
            sent: RefCell::new(Vec::new()),
        };
        let report = verify(&connection(&[Service::Documentation]), &t, NOW);
        assert_eq!(*t.sent.borrow(), ["HEAD /llms.txt"]);
        assert!(report.ready);
    }

    #[test]
    fn the_security_review_follows_cloudflares_advice() {
        let token = json!({
            "policies": [{
                "effect": "allow",
                "resources": {"com.cloudflare.api.account.zone.*": "*"},
                "permission_groups": [{"name": "Zone Read"}, {"name": "DNS Write"}]
            }],
            "condition": {"request_ip": {"in": ["192.0.2.1/32"]}},
            "expires_on": "2027-01-01T00:00:00Z"
        });
        let findings = review_token(&token, &[Service::DnsAnalytics]);
        let ids: Vec<&str> = findings.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids, ["extra-permissions", "all-zones"]);
        assert!(
            findings[0].detail.contains("DNS Write") && !findings[0].detail.contains("Zone Read")
        );
    }
}
