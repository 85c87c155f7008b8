//! The REST endpoints over HTTP: tokens, accounts, zones and DNS records.

use serde_json::json;

use super::envelope::AUTH_ERROR_FIXTURE;
use crate::test_client::{api_get, send};
use crate::*;

#[test]
fn verify_succeeds_with_the_token() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let reply = api_get(&fake, "/user/tokens/verify");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let body = reply.json();
    assert_eq!(body["success"], json!(true));
    assert_eq!(body["result"]["id"], json!(TOKEN_ID));
    assert_eq!(body["result"]["status"], json!("active"));
}

#[test]
fn missing_dns_read_gets_the_live_403_body() {
    let fake = FakeCloudflare::spawn(Scenario::Missing(Permission::DnsRead));
    let zones = api_get(&fake, "/zones").json();
    let zone_id = zones["result"][0]["id"]
        .as_str()
        .expect("a zone id")
        .to_owned();
    let reply = api_get(&fake, &format!("/zones/{zone_id}/dns_records"));
    assert_eq!(reply.status, 403);
    assert_eq!(reply.body, AUTH_ERROR_FIXTURE);

    fake.set_scenario(Scenario::AllPermissions);
    let records = api_get(&fake, &format!("/zones/{zone_id}/dns_records")).json();
    assert_eq!(records["result"][0]["zone_id"], json!(zone_id));
    assert_eq!(
        records["result_info"]["total_count"],
        json!(DNS_RECORDS_PER_ZONE)
    );
}

#[test]
fn account_owned_token_verifies_on_the_account_endpoint() {
    let fake = FakeCloudflare::spawn(Scenario::AccountOwnedToken);
    assert_eq!(api_get(&fake, "/user/tokens/verify").status, 401);
    let reply = api_get(&fake, &format!("/accounts/{ACCOUNT_ID}/tokens/verify"));
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["result"]["id"], json!(TOKEN_ID));

    fake.set_scenario(Scenario::AllPermissions);
    let reply = api_get(&fake, &format!("/accounts/{ACCOUNT_ID}/tokens/verify"));
    assert_eq!(reply.status, 401);
}

#[test]
fn zones_filter_paginate_and_404() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let all = api_get(&fake, &format!("/zones?account.id={ACCOUNT_ID}&per_page=5")).json();
    assert_eq!(all["result_info"]["count"], json!(5));
    assert_eq!(all["result_info"]["total_count"], json!(6));
    assert_eq!(all["result_info"]["total_pages"], json!(2));
    assert_eq!(all["result"][0]["account"]["id"], json!(ACCOUNT_ID));

    let other = api_get(&fake, &format!("/zones?account.id={OTHER_ACCOUNT_ID}")).json();
    assert_eq!(other["result"], json!([]));

    assert_eq!(api_get(&fake, "/zones?per_page=51").status, 400);
    let missing = api_get(&fake, "/zones/github.com");
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["errors"][0]["code"], json!(7003));

    let post = send(
        &fake,
        "POST",
        API_HOST,
        "/client/v4/zones",
        Some(TOKEN),
        "{}",
    );
    assert_eq!(post.status, 405);
    assert_eq!(api_get(&fake, "/nothing/here").status, 404);
}

#[test]
fn token_details_only_when_readable() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    assert_eq!(
        api_get(&fake, &format!("/user/tokens/{TOKEN_ID}")).status,
        403
    );
    fake.set_scenario(Scenario::TokenDetailsReadable);
    let details = api_get(&fake, &format!("/user/tokens/{TOKEN_ID}")).json();
    assert_eq!(
        details["result"]["policies"][0]["permission_groups"][3]["name"],
        json!("DNS Write")
    );
}

#[test]
fn zones_name_operators_and_idn() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let names = |query: &str| -> Vec<String> {
        let body = api_get(&fake, &format!("/zones?per_page=50&{query}")).json();
        body["result"]
            .as_array()
            .expect("a result array")
            .iter()
            .filter_map(|z| z["name"].as_str().map(str::to_owned))
            .collect()
    };
    assert_eq!(
        names(""),
        [
            ZONE_NAME,
            ENTERPRISE_ZONE_NAME,
            PENDING_ZONE_NAME,
            EMPTY_ZONE_NAME,
            IDN_ZONE_NAME,
            BUSINESS_ZONE_NAME
        ]
    );
    assert_eq!(
        names("name=contains:GIT"),
        [ZONE_NAME, ENTERPRISE_ZONE_NAME, PENDING_ZONE_NAME]
    );
    assert!(names("name=contains_case_sensitive:GIT").is_empty());
    assert_eq!(
        names("name=starts_with:github."),
        [ZONE_NAME, ENTERPRISE_ZONE_NAME]
    );
    assert_eq!(names("name=ends_with:.tests"), [EMPTY_ZONE_NAME]);
    assert_eq!(names("name=github.com"), [ZONE_NAME]);
    assert_eq!(names("name=equal:GitHub.com"), [ZONE_NAME]);
    assert_eq!(names("name=not_equal:github.com").len(), 5);
    assert_eq!(names("name=b%C3%BCcher.example"), [IDN_ZONE_NAME]);
    assert_eq!(names("name=xn--bcher-kva.example"), [IDN_ZONE_NAME]);
    assert_eq!(names("name=contains:%C3%BC"), [IDN_ZONE_NAME]);
    assert_eq!(names("status=pending"), [PENDING_ZONE_NAME]);
    assert_eq!(names("status=active&name=contains:git").len(), 2);
    assert_eq!(names("name=ends_with:.org"), [BUSINESS_ZONE_NAME]);
    assert_eq!(names("match=any&status=pending&name=unit.tests").len(), 2);
    assert_eq!(
        names("order=name&direction=desc"),
        [
            EMPTY_ZONE_NAME,
            PENDING_ZONE_NAME,
            ENTERPRISE_ZONE_NAME,
            ZONE_NAME,
            BUSINESS_ZONE_NAME,
            IDN_ZONE_NAME
        ]
    );

    let page = api_get(&fake, "/zones?per_page=5&page=2").json();
    assert_eq!(page["result"][0]["id"], json!(BUSINESS_ZONE_ID));
    assert_eq!(
        page["result_info"],
        json!({ "page": 2, "per_page": 5, "count": 1, "total_count": 6, "total_pages": 2 })
    );
    let page = api_get(&fake, "/zones?per_page=5&page=3").json();
    assert_eq!(page["result"], json!([]));
    let business = api_get(&fake, &format!("/zones/{BUSINESS_ZONE_ID}")).json();
    assert_eq!(
        business["result"]["plan"]["name"],
        json!("Business Website")
    );
    let idn = api_get(&fake, &format!("/zones/{IDN_ZONE_ID}")).json();
    assert_eq!(idn["result"]["plan"]["name"], json!("Pro Website"));
    assert_eq!(idn["result"]["status"], json!("active"));
    let enterprise = api_get(&fake, &format!("/zones/{ENTERPRISE_ZONE_ID}")).json();
    assert_eq!(
        enterprise["result"]["plan"]["legacy_id"],
        json!("enterprise")
    );
    assert_eq!(api_get(&fake, "/zones?per_page=4").status, 400);
}

#[test]
fn dns_records_paginate_and_filter() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let list =
        |query: &str| api_get(&fake, &format!("/zones/{ZONE_ID}/dns_records?{query}")).json();
    let mut ids = Vec::new();
    for page in 1..=3 {
        let body = list(&format!("per_page=5&page={page}"));
        assert_eq!(body["result_info"]["total_pages"], json!(3));
        assert_eq!(body["result_info"]["total_count"], json!(13));
        let expected = if page < 3 { 5 } else { 3 };
        assert_eq!(body["result_info"]["count"], json!(expected));
        for record in body["result"].as_array().expect("records") {
            assert_eq!(record["zone_id"], json!(ZONE_ID));
            assert!(
                record["name"]
                    .as_str()
                    .is_some_and(|n| n.ends_with("github.com"))
            );
            for key in ["id", "type", "content", "ttl", "proxied"] {
                assert!(!record[key].is_null(), "{key}: {record}");
            }
            ids.push(record["id"].clone());
        }
    }
    assert_eq!(ids.len(), 13);

    let mx = list("type=mx");
    assert_eq!(mx["result_info"]["total_count"], json!(4));
    assert_eq!(mx["result"][0]["content"], json!("smtp-1.github.com"));
    let www = list("name=WWW.github.com");
    assert_eq!(www["result_info"]["total_count"], json!(1));
    assert_eq!(www["result"][0]["content"], json!("2.2.3.6"));
    assert_eq!(
        list("type=A&name=github.com")["result_info"]["total_count"],
        json!(3)
    );
    assert_eq!(list("proxied=true")["result_info"]["total_count"], json!(2));

    let idn = api_get(
        &fake,
        &format!("/zones/{IDN_ZONE_ID}/dns_records?name=www.b%C3%BCcher.example"),
    )
    .json();
    assert_eq!(idn["result"][0]["name"], json!("www.xn--bcher-kva.example"));
    assert_eq!(idn["result"][0]["zone_name"], json!(IDN_ZONE_NAME));
}
