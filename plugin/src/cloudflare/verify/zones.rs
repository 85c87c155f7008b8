//! Zone Read: listing the account's zones, which also finds the zone the zone-scoped probes use.

use super::{Outcome, Probe, Verifier, Zone, Zones};
use crate::cloudflare::catalog;
use crate::http::{Request, with_query};
use crate::wit_connector::CheckStatus;
use crate::wit_types::Permission;
use serde_json::Value;

impl Verifier<'_> {
    /// The first zone of the account, listed once.
    pub(super) fn zones(&mut self) -> &Zones {
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

    pub(super) fn zone_read_outcome(&self, zones: &Zones, probe: &Probe) -> Outcome {
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
}
