//! Zones and their DNS records: the six zones made from the recorded fixtures, and the
//! filters, ordering and pagination of `GET /zones` and `GET /zones/{id}/dns_records`.

use axum::response::Response;
use http::StatusCode;
use serde_json::{Value, json};

use super::ACCOUNT_NAME;
use super::envelope::{
    AUTH_ERROR_FIXTURE, QueryParams, bad_request, paginated, parse_fixture, raw_json_response,
    success, unauthorized, zone_not_found,
};
use crate::scenarios::{Permission, Scenario, permission_missing, token_account};
use crate::{
    BUSINESS_ZONE_ID, BUSINESS_ZONE_NAME, EMPTY_ZONE_NAME, ENTERPRISE_ZONE_NAME,
    IDN_ZONE_ASCII_NAME, IDN_ZONE_ID, IDN_ZONE_NAME, PENDING_ZONE_ID, PENDING_ZONE_NAME, ZONE_NAME,
};

const ZONES_FIXTURE: &str = include_str!("../../fixtures/zones_list_page_1.octodns.json");
const ZONES_PAGE_2_FIXTURE: &str = include_str!("../../fixtures/zones_list_page_2.octodns.json");
const DNS_RECORDS_FIXTURE: &str =
    include_str!("../../fixtures/dns_records_list_page_1.cloudflare-go.json");
const OCTODNS_RECORDS_FIXTURE: &str =
    include_str!("../../fixtures/dns_records_list_page_1.octodns.json");

/// A zone's plan, from `plan.legacy_id` (or `plan.name`), in increasing order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Plan {
    Free,
    Pro,
    Business,
    Enterprise,
}

pub(crate) fn zone_plan(zone: &Value) -> Plan {
    let id = zone
        .pointer("/plan/legacy_id")
        .or_else(|| zone.pointer("/plan/name"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_ascii_lowercase();
    if id.starts_with("enterprise") {
        Plan::Enterprise
    } else if id.starts_with("business") {
        Plan::Business
    } else if id.starts_with("pro") {
        Plan::Pro
    } else {
        Plan::Free
    }
}

pub(crate) fn set_plan(zone: &mut Value, plan_id: &str, name: &str, legacy_id: &str, price: u64) {
    let plan = &mut zone["plan"];
    plan["id"] = json!(plan_id);
    plan["name"] = json!(name);
    plan["legacy_id"] = json!(legacy_id);
    plan["price"] = json!(price);
}

/// The zones the token can see, each owned by the token's account, in this order:
/// github.com, github.io (both from octodns page 1), githubusercontent.com, unit.tests (page 2),
/// bücher.example and example.org (made here from github.com's entry). See the `*_ZONE_*`
/// constants.
pub(crate) fn zones(scenario: Scenario) -> Vec<Value> {
    if scenario == Scenario::NoZones {
        return Vec::new();
    }
    let mut all = Vec::new();
    for fixture in [ZONES_FIXTURE, ZONES_PAGE_2_FIXTURE] {
        let mut page = parse_fixture(fixture);
        let zones = page["result"]
            .as_array_mut()
            .expect("zones fixtures have a result array");
        all.append(zones);
    }
    for zone in all.iter_mut() {
        match zone["name"].as_str() {
            Some(ZONE_NAME) | Some(EMPTY_ZONE_NAME) => zone["status"] = json!("active"),
            Some(ENTERPRISE_ZONE_NAME) => {
                zone["status"] = json!("active");
                // Made-up plan id; the recorded fixture only has Free zones.
                set_plan(
                    zone,
                    "94f3b7b768b0458b56d2cac4fe5ec0f9",
                    "Enterprise Website",
                    "enterprise",
                    5000,
                );
            }
            // The recorded page 2 repeats github.io's id.
            Some(PENDING_ZONE_NAME) => zone["id"] = json!(PENDING_ZONE_ID),
            _ => {}
        }
    }
    let mut idn = all[0].clone();
    idn["id"] = json!(IDN_ZONE_ID);
    idn["name"] = json!(IDN_ZONE_NAME);
    idn["status"] = json!("active");
    idn["created_on"] = json!("2024-03-04T09:10:11.123456Z");
    idn["modified_on"] = json!("2024-03-04T09:15:00.654321Z");
    // Made-up plan id.
    set_plan(
        &mut idn,
        "a577b510288e82b26486fc7a6e25b9b5",
        "Pro Website",
        "pro",
        20,
    );
    let mut business = all[0].clone();
    business["id"] = json!(BUSINESS_ZONE_ID);
    business["name"] = json!(BUSINESS_ZONE_NAME);
    business["status"] = json!("active");
    business["created_on"] = json!("2021-06-07T08:09:10.111213Z");
    business["modified_on"] = json!("2021-06-07T08:20:00.141516Z");
    // Made-up plan id.
    set_plan(
        &mut business,
        "c1ba5a8c2a2c4e9f9d4c1c0f5e6f7a8b",
        "Business Website",
        "business",
        200,
    );
    all.push(idn);
    all.push(business);
    for zone in all.iter_mut() {
        zone["account"] = json!({ "id": token_account(scenario), "name": ACCOUNT_NAME });
    }
    all
}

pub(crate) fn find_zone(scenario: Scenario, zone_id: &str) -> Option<Value> {
    zones(scenario)
        .into_iter()
        .find(|zone| zone["id"].as_str() == Some(zone_id))
}

/// The ASCII form of a zone name, for the one internationalized zone.
pub(crate) fn ascii_zone_name(name: &str) -> &str {
    if name == IDN_ZONE_NAME {
        IDN_ZONE_ASCII_NAME
    } else {
        name
    }
}

/// A host name with the IDN zone's Unicode suffix in ASCII (`www.bücher.example` →
/// `www.xn--bcher-kva.example`); other names unchanged.
pub(crate) fn ascii_host_name(name: &str) -> String {
    match name.strip_suffix(IDN_ZONE_NAME) {
        Some(prefix) if prefix.is_empty() || prefix.ends_with('.') => {
            format!("{prefix}{IDN_ZONE_ASCII_NAME}")
        }
        _ => name.to_owned(),
    }
}

/// A `name` / `account.name` filter of `GET /zones`: `op:value` with Cloudflare's operators
/// (`equal` when no operator is given); case-insensitive unless `*_case_sensitive`.
pub(crate) fn name_filter_matches(filter: &str, candidates: &[&str]) -> bool {
    const OPERATORS: [&str; 8] = [
        "equal",
        "not_equal",
        "starts_with",
        "ends_with",
        "contains",
        "starts_with_case_sensitive",
        "ends_with_case_sensitive",
        "contains_case_sensitive",
    ];
    let (op, wanted) = match filter.split_once(':') {
        Some((op, wanted)) if OPERATORS.contains(&op) => (op, wanted),
        _ => ("equal", filter),
    };
    let case_sensitive = op.ends_with("_case_sensitive");
    let fold = |s: &str| {
        if case_sensitive {
            s.to_owned()
        } else {
            s.to_lowercase()
        }
    };
    let wanted = fold(wanted);
    let test = |candidate: &&str| {
        let candidate = fold(candidate);
        match op.trim_end_matches("_case_sensitive") {
            "starts_with" => candidate.starts_with(&wanted),
            "ends_with" => candidate.ends_with(&wanted),
            "contains" => candidate.contains(&wanted),
            _ => candidate == wanted,
        }
    };
    if op == "not_equal" {
        !candidates.iter().any(test)
    } else {
        candidates.iter().any(test)
    }
}

/// `GET /zones`: filters `name` (with operators, Unicode or ASCII for the IDN zone),
/// `account.name` (same operators), `status`, `account.id`, combined by `match=all|any`;
/// `order` (`name`, `status`, `account.id`, `account.name`) and `direction`; `page`, `per_page`
/// (5..50, default 20).
pub(crate) fn list_zones(scenario: Scenario, query: &QueryParams) -> Response {
    if permission_missing(scenario, Permission::ZoneRead) {
        return unauthorized();
    }
    let (page, per_page) = match query.pagination(20, 5, 50) {
        Ok(p) => p,
        Err(message) => return bad_request(&message),
    };
    let match_any = match query.get("match") {
        None | Some("all") => false,
        Some("any") => true,
        Some(other) => return bad_request(&format!("match must be all or any, not {other}")),
    };
    let field = |zone: &Value, pointer: &str| {
        zone.pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let tests = |zone: &Value| -> Vec<bool> {
        let name = field(zone, "/name");
        let mut results = Vec::new();
        if let Some(wanted) = query.get("name") {
            results.push(name_filter_matches(
                wanted,
                &[&name, ascii_zone_name(&name)],
            ));
        }
        if let Some(wanted) = query.get("account.name") {
            results.push(name_filter_matches(
                wanted,
                &[&field(zone, "/account/name")],
            ));
        }
        for (param, pointer) in [("status", "/status"), ("account.id", "/account/id")] {
            if let Some(wanted) = query.get(param) {
                results.push(field(zone, pointer).eq_ignore_ascii_case(wanted));
            }
        }
        results
    };
    let mut selected: Vec<Value> = zones(scenario)
        .into_iter()
        .filter(|zone| {
            let results = tests(zone);
            results.is_empty()
                || if match_any {
                    results.iter().any(|r| *r)
                } else {
                    results.iter().all(|r| *r)
                }
        })
        .collect();
    if let Some(order) = query.get("order") {
        let pointer = match order {
            "name" => "/name",
            "status" => "/status",
            "account.id" => "/account/id",
            "account.name" => "/account/name",
            other => return bad_request(&format!("cannot order zones by {other}")),
        };
        selected.sort_by_key(|zone| field(zone, pointer));
    }
    match query.get("direction") {
        None | Some("asc") => {}
        Some("desc") => selected.reverse(),
        Some(other) => return bad_request(&format!("direction must be asc or desc, not {other}")),
    }
    paginated(selected, page, per_page)
}

pub(crate) fn get_zone(scenario: Scenario, zone_id: &str, path: &str) -> Response {
    if permission_missing(scenario, Permission::ZoneRead) {
        return unauthorized();
    }
    match find_zone(scenario, zone_id) {
        Some(zone) => success(zone, None),
        None => zone_not_found(path),
    }
}

/// The DNS records of a zone: cloudflare-go's 3 (under example.com) then octodns' 10 (under
/// unit.tests), renamed into the zone (ASCII names for the IDN zone).
pub(crate) fn dns_records(zone_id: &str, zone_name: &str) -> Vec<Value> {
    let ascii = ascii_zone_name(zone_name);
    let mut records = Vec::new();
    for (fixture, origin) in [
        (DNS_RECORDS_FIXTURE, "example.com"),
        (OCTODNS_RECORDS_FIXTURE, "unit.tests"),
    ] {
        let mut page = parse_fixture(fixture);
        let page_records = page["result"]
            .as_array_mut()
            .expect("dns records fixtures have a result array");
        for record in page_records.iter_mut() {
            for key in ["name", "content"] {
                if let Some(text) = record[key].as_str()
                    && let Some(prefix) = text.strip_suffix(origin)
                    && (prefix.is_empty() || prefix.ends_with('.'))
                {
                    record[key] = json!(format!("{prefix}{ascii}"));
                }
            }
            record["zone_id"] = json!(zone_id);
            record["zone_name"] = json!(zone_name);
        }
        records.append(page_records);
    }
    records
}

/// `GET /zones/{id}/dns_records`: filters `type`, `name` (exact, case-insensitive), `content`
/// (exact), `proxied` (`true`/`false`); `page`, `per_page` (1..5000, default 100).
pub(crate) fn list_dns_records(
    scenario: Scenario,
    zone_id: &str,
    path: &str,
    query: &QueryParams,
) -> Response {
    if permission_missing(scenario, Permission::DnsRead) {
        // Exactly what Cloudflare sent for a token lacking the permission.
        return raw_json_response(StatusCode::FORBIDDEN, AUTH_ERROR_FIXTURE);
    }
    let Some(zone) = find_zone(scenario, zone_id) else {
        return zone_not_found(path);
    };
    let (page, per_page) = match query.pagination(100, 1, 5000) {
        Ok(p) => p,
        Err(message) => return bad_request(&message),
    };
    let zone_name = zone["name"].as_str().unwrap_or_default();
    let text = |record: &Value, key: &str| record[key].as_str().unwrap_or_default().to_owned();
    let records = dns_records(zone_id, zone_name)
        .into_iter()
        .filter(|r| {
            query
                .get("type")
                .is_none_or(|t| text(r, "type").eq_ignore_ascii_case(t))
        })
        .filter(|r| {
            query.get("name").is_none_or(|n| {
                let wanted = ascii_host_name(&n.trim_end_matches('.').to_lowercase());
                text(r, "name").to_lowercase() == wanted
            })
        })
        .filter(|r| query.get("content").is_none_or(|c| text(r, "content") == c))
        .filter(|r| {
            query
                .get("proxied")
                .is_none_or(|p| r["proxied"].as_bool().map(|b| b.to_string()).as_deref() == Some(p))
        })
        .collect();
    paginated(records, page, per_page)
}
