//! The permission probes: one cheap read per permission, probed once and shared by every
//! service that needs it.

use super::{Outcome, Probe, Verifier, Zone, Zones};
use crate::cloudflare::{catalog, graphql};
use crate::http::{Request, with_query};
use crate::time::date_string;
use crate::wit_connector::CheckStatus;
use crate::wit_types::{Error, Permission};
use serde_json::json;

const ZONE_ANALYTICS_PROBE: &str = "query ZoneAnalyticsPermissionProbe($zoneTag: string!, $since: Date!) { viewer { zones(filter: {zoneTag: $zoneTag}) { httpRequests1dGroups(limit: 1, filter: {date_geq: $since}) { sum { requests } } } } }";
const ACCOUNT_ANALYTICS_PROBE: &str = "query AccountAnalyticsPermissionProbe($accountTag: string!, $since: Date!) { viewer { accounts(filter: {accountTag: $accountTag}) { httpRequests1dGroups(limit: 1, filter: {date_geq: $since}) { sum { requests } } } } }";

impl Verifier<'_> {
    /// A permission's outcome from a probe that needs exactly it.
    pub(super) fn denied_or_unusable(
        &self,
        permission: Permission,
        probe: &Probe,
        what: &str,
    ) -> Outcome {
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
    pub(super) fn permission(&mut self, permission: Permission) -> Outcome {
        if let Some((_, o)) = self.outcomes.iter().find(|(p, _)| *p == permission) {
            return o.clone();
        }
        let outcome = match permission {
            Permission::ZoneRead => {
                self.zones();
                return self.permission(permission);
            }
            Permission::AccountSettingsRead => self.account_settings_outcome(),
            Permission::AccountAnalyticsRead => self.account_analytics_outcome(),
            Permission::DnsRead | Permission::ZoneAnalyticsRead => self.zone_scoped(permission),
        };
        self.outcomes.push((permission, outcome.clone()));
        outcome
    }

    /// Account Analytics Read: an account-level GraphQL query.
    fn account_analytics_outcome(&mut self) -> Outcome {
        let since = date_string(self.now - 86_400);
        let request = graphql::request(
            ACCOUNT_ANALYTICS_PROBE,
            &json!({ "accountTag": self.connection.account_id, "since": since }),
        );
        let probe = self.probe(request, None);
        self.denied_or_unusable(
            Permission::AccountAnalyticsRead,
            &probe,
            "An account-level GraphQL query",
        )
    }

    /// DNS Read and Zone Analytics Read, probed on a zone of the account (when there is one).
    fn zone_scoped(&mut self, permission: Permission) -> Outcome {
        match self.zones() {
            Zones::Found(zone) => {
                let zone = zone.clone();
                let (request, what) = if permission == Permission::DnsRead {
                    dns_read_probe(&zone)
                } else {
                    zone_analytics_probe(&zone, self.now)
                };
                let hint = catalog::grant_hint(permission);
                let probe = self.probe(request, Some(&hint));
                self.denied_or_unusable(permission, &probe, &what)
            }
            Zones::Empty => Outcome {
                status: CheckStatus::Skipped,
                detail: "Not checked: the token sees no zone in this account to probe with."
                    .to_string(),
                hint: Some(
                    "Add a zone to the account, or include it in the token's Zone Resources, \
                     then verify again. Analytics of a new zone may take up to 24 hours to appear."
                        .to_string(),
                ),
                evidence: None,
                error: None,
                retry_after: None,
            },
            Zones::Unavailable(probe)
                if probe.sent && matches!(probe.error, Some(Error::Forbidden(_))) =>
            {
                Outcome {
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
                }
            }
            Zones::Unavailable(probe) => {
                let probe = probe.clone();
                self.unusable_outcome(&probe, "Not checked: zones could not be listed")
            }
        }
    }
}

/// DNS Read: list a few of the zone's DNS records.
fn dns_read_probe(zone: &Zone) -> (Request, String) {
    (
        Request::api_get(&with_query(
            &format!("/zones/{}/dns_records", zone.id),
            &[("per_page", "5")],
        )),
        format!("Listing DNS records of {}", zone.name),
    )
}

/// Zone Analytics Read: a zone-level GraphQL query over the last day.
fn zone_analytics_probe(zone: &Zone, now: i64) -> (Request, String) {
    let since = date_string(now - 86_400);
    (
        graphql::request(
            ZONE_ANALYTICS_PROBE,
            &json!({ "zoneTag": zone.id, "since": since }),
        ),
        format!("A zone-level GraphQL query on {}", zone.name),
    )
}
