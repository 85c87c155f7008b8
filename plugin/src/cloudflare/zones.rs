//! Zones and DNS records: listing, one zone, and turning a zone name into its ID.

use crate::cloudflare::catalog::lacking;
use crate::cloudflare::envelope::{self, ApiReply};
use crate::error::invalid;
use crate::http::{Request, Transport, with_query};
use crate::names::name;
use crate::wit_dns::{
    DnsRecord, NameMatch, PageInfo, RecordPage, RecordQuery, Zone, ZonePage, ZoneQuery,
};
use crate::wit_types::{ApiFailure, Error, Permission, ZoneRef};
use serde_json::Value;
use std::collections::HashMap;

/// Zones already looked up by this instance, by ID; a zone's name and plan do not change
/// within a session.
#[derive(Debug, Default)]
pub struct ZoneCache {
    by_id: HashMap<String, Zone>,
}

impl ZoneCache {
    fn remember(&mut self, zone: &Zone) {
        self.by_id.insert(zone.id.clone(), zone.clone());
    }

    fn by_name(&self, name: &str) -> Option<&Zone> {
        self.by_id.values().find(|z| same_name(&z.name, name))
    }
}

/// Whether a string is a zone ID (32 hexadecimal characters) rather than a name.
pub fn is_zone_id(text: &str) -> bool {
    text.len() == 32 && text.chars().all(|c| c.is_ascii_hexdigit())
}

/// Names compare without case and without a trailing dot.
fn same_name(a: &str, b: &str) -> bool {
    a.trim_end_matches('.').to_lowercase() == b.trim_end_matches('.').to_lowercase()
}

/// A page number and size within bounds, or the field to fix.
fn page_and_size(
    page: Option<u32>,
    per_page: Option<u32>,
    default: u32,
    bounds: (u32, u32),
) -> Result<(u32, u32), Error> {
    let page = page.unwrap_or(1);
    if page == 0 {
        return Err(invalid("page", "pages are numbered from 1"));
    }
    let per_page = per_page.unwrap_or(default);
    if !(bounds.0..=bounds.1).contains(&per_page) {
        return Err(invalid(
            "per-page",
            format!("must be between {} and {}", bounds.0, bounds.1),
        ));
    }
    Ok((page, per_page))
}

fn get(transport: &dyn Transport, path: &str) -> Result<ApiReply, Error> {
    envelope::send(transport, &Request::api_get(path))
}

/// `GET /zones` for the account, filtered and paginated.
pub fn list_zones(
    transport: &dyn Transport,
    cache: &mut ZoneCache,
    account_id: &str,
    query: &ZoneQuery,
) -> Result<ZonePage, Error> {
    let (page, per_page) = page_and_size(query.page, query.per_page, 20, (5, 50))?;
    let (page_text, per_page_text) = (page.to_string(), per_page.to_string());
    let mut params = vec![
        ("account.id", account_id.to_string()),
        ("page", page_text),
        ("per_page", per_page_text),
    ];
    if let Some(name) = query
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        let name = name.trim_end_matches('.');
        let operator = match query.name_match.unwrap_or(NameMatch::Exact) {
            NameMatch::Exact => "equal",
            NameMatch::Contains => "contains",
        };
        params.push(("name", format!("{operator}:{name}")));
    }
    if let Some(status) = query.status {
        params.push(("status", name(status).to_string()));
    }
    let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let reply = get(transport, &with_query("/zones", &pairs))?;
    let info = reply.envelope.result_info.clone();
    let status = reply.status;
    let result = reply
        .into_result(None)
        .map_err(lacking(Permission::ZoneRead))?;
    let zones: Vec<Zone> = items(&result, status, "zones")?
        .iter()
        .map(zone_from)
        .collect();
    for zone in &zones {
        cache.remember(zone);
    }
    Ok(ZonePage {
        page_info: page_info(info.as_ref(), page, per_page, zones.len()),
        zones,
    })
}

/// One zone by ID or name, checked to belong to the connected account.
pub fn get_zone(
    transport: &dyn Transport,
    cache: &mut ZoneCache,
    account_id: &str,
    zone: &str,
) -> Result<Zone, Error> {
    let wanted = zone.trim();
    if wanted.is_empty() {
        return Err(invalid(
            "zone",
            "give a zone ID (32 hex characters) or a zone name",
        ));
    }
    if is_zone_id(wanted) {
        let id = wanted.to_ascii_lowercase();
        if let Some(zone) = cache.by_id.get(&id) {
            return Ok(zone.clone());
        }
        let reply = get(transport, &format!("/zones/{id}"))?;
        let status = reply.status;
        let result = reply
            .into_result(None)
            .map_err(lacking(Permission::ZoneRead))?;
        let owner = result.pointer("/account/id").and_then(Value::as_str);
        if let Some(owner) = owner.filter(|owner| !owner.eq_ignore_ascii_case(account_id)) {
            return Err(not_a_zone_of(wanted, account_id, status, Some(owner)));
        }
        let zone = zone_from(&result);
        cache.remember(&zone);
        return Ok(zone);
    }
    if let Some(zone) = cache.by_name(wanted) {
        return Ok(zone.clone());
    }
    let page = list_zones(
        transport,
        cache,
        account_id,
        &ZoneQuery {
            name: Some(wanted.to_string()),
            name_match: Some(NameMatch::Exact),
            status: None,
            page: None,
            per_page: Some(5),
        },
    )?;
    // Cloudflare's exact match also finds an internationalized zone by its ASCII (punycode)
    // form, which then differs from the Unicode name it lists: trust a single answer.
    let single = page.zones.len() == 1;
    if let Some(zone) = page
        .zones
        .into_iter()
        .find(|z| single || same_name(&z.name, wanted))
    {
        return Ok(zone);
    }
    // Not in the connected account: the token may read it in another, which the user should
    // hear rather than "no such zone".
    let elsewhere = get(
        transport,
        &with_query("/zones", &[("name", wanted), ("per_page", "5")]),
    )?;
    let status = elsewhere.status;
    let owners = elsewhere
        .into_result(None)
        .map_err(lacking(Permission::ZoneRead))?;
    let owner = owners
        .as_array()
        .into_iter()
        .flatten()
        .find(|z| z["name"].as_str().is_some_and(|n| same_name(n, wanted)))
        .and_then(|z| z.pointer("/account/id")?.as_str())
        .filter(|owner| !owner.eq_ignore_ascii_case(account_id));
    Err(not_a_zone_of(wanted, account_id, status, owner))
}

/// What a report or record list says about its zone.
pub fn zone_ref(zone: &Zone) -> ZoneRef {
    ZoneRef {
        id: zone.id.clone(),
        name: zone.name.clone(),
        plan: zone.plan.clone(),
    }
}

/// A zone the connected account does not have: `status` is what Cloudflare answered (a lookup
/// that finds nothing is a 200 with no zones), `owner` the account that has it, when the token
/// can see that.
fn not_a_zone_of(zone: &str, account_id: &str, status: u16, owner: Option<&str>) -> Error {
    let zone = crate::input::quote(zone);
    let (message, hint) = match owner {
        Some(owner) => (
            format!("{zone} belongs to account {owner}, not to the connected account {account_id}"),
            format!(
                "Connect to account {owner} to read it (connect, or CLOUDFLARE_ACCOUNT_ID), or \
                 pick a zone of account {account_id}: list-zones lists them."
            ),
        ),
        None => (
            format!("{zone} is not a zone of account {account_id} that this token can read"),
            "Check the spelling (list-zones with name-match contains finds near names), that the \
             zone is in this account, and that the token's Zone Resources include it."
                .to_string(),
        ),
    };
    Error::NotFound(ApiFailure {
        status,
        codes: Vec::new(),
        message,
        hint: Some(hint),
        permission: None,
    })
}

/// `GET /zones/{id}/dns_records`, filtered and paginated.
pub fn dns_records(
    transport: &dyn Transport,
    cache: &mut ZoneCache,
    account_id: &str,
    query: &RecordQuery,
) -> Result<RecordPage, Error> {
    let (page, per_page) = page_and_size(query.page, query.per_page, 100, (5, 5000))?;
    let zone = get_zone(transport, cache, account_id, &query.zone)?;
    let (page_text, per_page_text) = (page.to_string(), per_page.to_string());
    let mut params: Vec<(&str, String)> = vec![("page", page_text), ("per_page", per_page_text)];
    if let Some(kind) = query
        .record_type
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        if !kind.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(invalid(
                "record-type",
                "a record type such as A, AAAA, CNAME, MX or TXT",
            ));
        }
        params.push(("type", kind.to_ascii_uppercase()));
    }
    if let Some(name) = query
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        params.push(("name", name.trim_end_matches('.').to_string()));
    }
    let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let reply = get(
        transport,
        &with_query(&format!("/zones/{}/dns_records", zone.id), &pairs),
    )?;
    let info = reply.envelope.result_info.clone();
    let status = reply.status;
    let result = reply
        .into_result(None)
        .map_err(lacking(Permission::DnsRead))?;
    let records: Vec<DnsRecord> = items(&result, status, "dns_records")?
        .iter()
        .map(record_from)
        .collect();
    Ok(RecordPage {
        zone: zone_ref(&zone),
        page_info: page_info(info.as_ref(), page, per_page, records.len()),
        records,
    })
}

/// A list endpoint's `result`; anything but a list is refused rather than read as no items.
fn items<'a>(result: &'a Value, status: u16, endpoint: &str) -> Result<&'a [Value], Error> {
    result.as_array().map(Vec::as_slice).ok_or_else(|| {
        Error::Upstream(ApiFailure {
            status,
            codes: Vec::new(),
            message: format!("the {endpoint} answer's result is not a list"),
            hint: Some(
                "Cloudflare answered in a shape this connector does not know; retry, and report \
                 it if it persists."
                    .to_string(),
            ),
            permission: None,
        })
    })
}

fn text(value: &Value, pointer: &str) -> String {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn number(value: Option<&Value>) -> Option<u32> {
    value
        .and_then(Value::as_u64)
        .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
}

fn zone_from(value: &Value) -> Zone {
    Zone {
        id: text(value, "/id"),
        name: text(value, "/name"),
        status: text(value, "/status"),
        plan: value
            .pointer("/plan/name")
            .and_then(Value::as_str)
            .map(str::to_string),
        name_servers: value
            .get("name_servers")
            .and_then(Value::as_array)
            .map(|ns| {
                ns.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
        paused: value
            .get("paused")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        zone_type: value
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("full")
            .to_string(),
    }
}

fn record_from(value: &Value) -> DnsRecord {
    DnsRecord {
        id: text(value, "/id"),
        record_type: text(value, "/type"),
        name: text(value, "/name"),
        content: text(value, "/content"),
        proxied: value.get("proxied").and_then(Value::as_bool),
        proxiable: value.get("proxiable").and_then(Value::as_bool),
        ttl: number(value.get("ttl")).unwrap_or(1),
    }
}

/// `result_info` as sent, with what was asked for where a field is missing.
fn page_info(info: Option<&Value>, page: u32, per_page: u32, count: usize) -> PageInfo {
    let field = |name: &str| number(info.and_then(|i| i.get(name)));
    let count = field("count").unwrap_or(u32::try_from(count).unwrap_or(u32::MAX));
    let total_count = field("total_count").unwrap_or(count);
    let per_page = field("per_page").unwrap_or(per_page).max(1);
    PageInfo {
        page: field("page").unwrap_or(page),
        per_page,
        count,
        total_pages: field("total_pages").unwrap_or(total_count.div_ceil(per_page)),
        total_count,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{Response, testing::Queued};
    use crate::wit_dns::ZoneStatus;

    const ACCOUNT: &str = "01a7362d577a6c3019a474fd6f485823";

    fn zones_body(names: &[(&str, &str)], total: u32) -> String {
        let zones: Vec<Value> = names
            .iter()
            .map(|(id, name)| {
                serde_json::json!({"id": id, "name": name, "status": "active", "paused": false,
                    "type": "full", "name_servers": ["ns1.cloudflare.com"],
                    "plan": {"name": "Free Website"}, "account": {"id": ACCOUNT}})
            })
            .collect();
        serde_json::json!({"success": true, "errors": [], "messages": [], "result": zones,
            "result_info": {"page": 2, "per_page": 5, "count": zones.len(), "total_count": total,
                            "total_pages": total.div_ceil(5)}})
        .to_string()
    }

    /// `"result": null` (or an object) on a list endpoint is no answer, not an empty list.
    #[test]
    fn a_list_whose_result_is_not_a_list_is_an_upstream_error() {
        for result in ["null", "{}"] {
            let body = format!(r#"{{"success":true,"errors":[],"result":{result}}}"#);
            let transport = Queued::new(vec![Response::ok(&body)]);
            let query = ZoneQuery {
                name: None,
                name_match: None,
                status: None,
                page: None,
                per_page: None,
            };
            match list_zones(&transport, &mut ZoneCache::default(), ACCOUNT, &query) {
                Err(Error::Upstream(failure)) => assert_eq!(failure.status, 200),
                other => panic!("{result}: expected upstream, got {other:?}"),
            }
        }
    }

    #[test]
    fn zone_lists_keep_the_pagination_and_send_the_filters() {
        let transport = Queued::new(vec![Response::ok(&zones_body(
            &[("234234243423aaabb334342aaa343433", "bücher.example")],
            6,
        ))]);
        let page = list_zones(
            &transport,
            &mut ZoneCache::default(),
            ACCOUNT,
            &ZoneQuery {
                name: Some("bücher".into()),
                name_match: Some(NameMatch::Contains),
                status: Some(ZoneStatus::Active),
                page: Some(2),
                per_page: Some(5),
            },
        )
        .expect("page");
        assert_eq!(page.zones[0].name, "bücher.example");
        assert_eq!(page.page_info.total_pages, 2);
        assert_eq!(page.page_info.total_count, 6);
        let sent = transport.sent();
        assert!(
            sent[0].path.contains("name=contains%3Ab%C3%BCcher"),
            "{}",
            sent[0].path
        );
        assert!(sent[0].path.contains("status=active"));
        assert!(sent[0].path.contains(&format!("account.id={ACCOUNT}")));
    }

    #[test]
    fn page_sizes_outside_cloudflares_bounds_are_refused_before_sending() {
        let transport = Queued::new(vec![]);
        let query = ZoneQuery {
            name: None,
            name_match: None,
            status: None,
            page: None,
            per_page: Some(51),
        };
        let e = list_zones(&transport, &mut ZoneCache::default(), ACCOUNT, &query);
        assert!(matches!(e, Err(Error::InvalidInput(p)) if p.field == "per-page"));
        assert!(transport.sent().is_empty());
    }

    #[test]
    fn names_resolve_once_and_unknown_names_are_not_found() {
        let transport = Queued::new(vec![
            Response::ok(&zones_body(
                &[("234234243423aaabb334342aaa343433", "example.com")],
                1,
            )),
            Response::ok(&zones_body(&[], 0)),
            Response::ok(&zones_body(&[], 0)),
        ]);
        let mut cache = ZoneCache::default();
        let zone = get_zone(&transport, &mut cache, ACCOUNT, "Example.com.").expect("zone");
        assert_eq!(zone.id, "234234243423aaabb334342aaa343433");
        // The second lookup of the same name is answered from the cache.
        get_zone(&transport, &mut cache, ACCOUNT, "example.com").expect("cached");
        assert_eq!(transport.sent().len(), 1);
        let e = get_zone(&transport, &mut cache, ACCOUNT, "nope.example");
        // Cloudflare answered 200 with no zone, in the account and outside it: that status.
        assert!(
            matches!(&e, Err(Error::NotFound(f)) if f.status == 200),
            "{e:?}"
        );
        assert_eq!(transport.sent().len(), 3);
    }

    #[test]
    fn a_zone_of_another_account_names_both_accounts() {
        let other = "f037e56e89293a057740de681ac9abbe";
        let elsewhere = zones_body(&[("5d1f0c9e8b7a46f3a2e1d0c9b8a7f6e5", "theirs.example")], 1)
            .replace(ACCOUNT, other);
        let transport = Queued::new(vec![
            Response::ok(&zones_body(&[], 0)),
            Response::ok(&elsewhere),
        ]);
        let e = get_zone(
            &transport,
            &mut ZoneCache::default(),
            ACCOUNT,
            "theirs.example",
        );
        let Err(Error::NotFound(failure)) = e else {
            panic!("not-found: {e:?}");
        };
        assert_eq!(failure.status, 200);
        assert!(failure.message.contains(other), "{}", failure.message);
        assert!(failure.message.contains(ACCOUNT), "{}", failure.message);
        let sent = transport.sent();
        assert!(!sent[1].path.contains("account.id"), "{}", sent[1].path);
    }
}
