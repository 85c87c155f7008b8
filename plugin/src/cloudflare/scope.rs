//! What an analytics query covers: the connected account, and a zone of it or all of them. The
//! DNS and GraphQL services resolve it the same way and describe it the same way.

use crate::cloudflare::zones::{self, ZoneCache, zone_ref};
use crate::http::Transport;
use crate::time::{Range, rfc3339};
use crate::wit_dns::Zone;
use crate::wit_types::{Error, Permission, ReportScope};

pub struct Scope {
    pub account_id: String,
    /// `None` for the whole account.
    pub zone: Option<Zone>,
}

impl Scope {
    /// Resolves `zone` (ID or name; empty or absent for the whole account).
    pub fn resolve(
        transport: &dyn Transport,
        zones: &mut ZoneCache,
        account_id: &str,
        zone: Option<&str>,
    ) -> Result<Scope, Error> {
        let zone = match zone.map(str::trim).filter(|z| !z.is_empty()) {
            Some(z) => Some(zones::get_zone(transport, zones, account_id, z)?),
            None => None,
        };
        Ok(Scope {
            account_id: account_id.to_string(),
            zone,
        })
    }

    /// A key for what an instance caches per scope.
    pub fn key(&self) -> String {
        match &self.zone {
            Some(z) => format!("zone:{}", z.id),
            None => format!("account:{}", self.account_id),
        }
    }

    /// The GraphQL variable that names the scope, with its value.
    pub fn tag(&self) -> (&'static str, String) {
        match &self.zone {
            Some(z) => ("zoneTag", z.id.clone()),
            None => ("accountTag", self.account_id.clone()),
        }
    }

    /// The `viewer` field the scope's data comes under.
    pub fn list_name(&self) -> &'static str {
        if self.zone.is_some() {
            "zones"
        } else {
            "accounts"
        }
    }

    /// "zone example.com (plan Free Website)" or "account-level queries", for messages.
    pub fn describe(&self) -> String {
        match &self.zone {
            Some(Zone {
                name,
                plan: Some(plan),
                ..
            }) => format!("zone {name} (plan {plan})"),
            Some(z) => format!("zone {}", z.name),
            None => "account-level queries".to_string(),
        }
    }

    /// The permission a GraphQL `authz` refusal points to.
    pub fn analytics_permission(&self) -> Permission {
        if self.zone.is_some() {
            Permission::ZoneAnalyticsRead
        } else {
            Permission::AccountAnalyticsRead
        }
    }

    pub fn report_scope(&self, dataset: &str, range: &Range) -> ReportScope {
        ReportScope {
            account_id: self.account_id.clone(),
            zone: self.zone.as_ref().map(zone_ref),
            dataset: dataset.to_string(),
            since: rfc3339(range.since),
            until: rfc3339(range.until),
        }
    }
}
