//! A fake Cloudflare: one local HTTP/1.1 server that answers for both `api.cloudflare.com`
//! (the v4 REST API and GraphQL under `/client/v4`) and `developers.cloudflare.com` (the docs
//! site in `fixtures/docs/site`, see `docs_site.rs`), chosen by the request's `Host` header. The client under test connects to
//! 127.0.0.1 but keeps the real host names, so the fake must route on `Host`, not on the address.
//!
//! Behaviour is driven by a [`Scenario`] that can be switched while the server runs, and every
//! request is recorded before it is answered so tests can check what the client sent.
//!
//! Data: six zones ([`ZONE_ID`] github.com, [`ENTERPRISE_ZONE_ID`] github.io,
//! [`PENDING_ZONE_ID`] githubusercontent.com, [`EMPTY_ZONE_ID`] unit.tests, [`IDN_ZONE_ID`]
//! bücher.example, [`BUSINESS_ZONE_ID`] example.org: two pages of 5), 13 DNS records per zone,
//! synthetic DNS analytics events (see [`dns_events`]) behind GraphQL (`dnsAnalyticsAdaptive*`)
//! and the legacy `/dns_analytics/report` endpoints, and synthetic HTTP request and firewall
//! events (see [`http_events`]) behind GraphQL (`httpRequestsAdaptive*`, `httpRequests1hGroups`,
//! `httpRequests1dGroups`, `firewallEventsAdaptive*`). Every GraphQL query is checked against
//! Cloudflare's schema (see [`validate_graphql`]); introspection is answered from it.
//!
//! Layout: [`server`] (the handle, its thread and the recorded requests), [`router`] (by host,
//! then by path), [`scenarios`], [`broken`] (answers that break off or stall), [`echo`] (answers
//! that quote the request's `Authorization` back), [`rest`] (the
//! v4 REST endpoints and the legacy DNS report),
//! [`graphql`], [`docs_site`]; the synthetic data in `analytics`, `dns_events` and
//! `http_events`; dates and times in [`calendar`] (chrono, so that the fake checks the
//! plugin's own calendar code rather than copying it).

mod analytics;
mod broken;
mod calendar;
mod dns_events;
mod docs_site;
mod echo;
mod graphql;
mod http_aggregates;
mod http_events;
mod inflation;
mod rest;
mod router;
mod scenarios;
mod server;
#[cfg(test)]
mod test_client;

pub use broken::{BROKEN_BODY_DECLARED_BYTES, BROKEN_BODY_PREFIX};
pub use calendar::{rfc3339, unix_now};
pub use dns_events::{
    DNS_EVENT_HOURS, DNS_EVENTS_PER_HOUR, HourlyDnsEvent, dns_event_times, hourly_query_count,
};
pub use echo::{ECHO_HEADER, ECHO_KEY, PIECE_BYTES, REQUEST_HEADERS_HEADER};
pub use graphql::{
    BUDGET_EXCEEDED_MESSAGE, QUOTA_EXCEEDED_MESSAGE, graphql_schema, validate_graphql,
};
pub use http_events::{
    FIREWALL_EVENTS_PER_HOUR, HTTP_LONG_TAIL, HTTP_LONG_TAIL_PATHS, HTTP_REQUESTS_PER_HOUR,
    HourlyFirewallEvents, HourlyHttpRequests, hourly_firewall_event_count, hourly_request_bytes,
    hourly_request_count, long_tail_path, long_tail_time,
};
pub use inflation::inflate_graphql_answer;
pub use rest::dns_report::RESPONSE_CACHED_PLAN_MESSAGE;
pub use router::{DOCS_RETRY_AFTER, HUGE_RESPONSE_BYTES};
pub use scenarios::{Permission, Scenario, UnknownScenario};
pub use server::{FakeCloudflare, RecordedRequest};

/// The token the fake accepts (and [`SECOND_TENANT_TOKEN`]).
pub const TOKEN: &str = "cfut_fake0token0never0print0me0f3b2a9e7d4c6b1a";
/// A second tenant's token, for the tests of a server with many tenants: it belongs to
/// [`OTHER_ACCOUNT_ID`], whatever the scenario (as [`Scenario::OtherAccount`] answers).
pub const SECOND_TENANT_TOKEN: &str = "cfut_fake1second1tenant1token1b7e2c90d41a5f38";
/// The account the token belongs to (except in [`Scenario::OtherAccount`]).
pub const ACCOUNT_ID: &str = "01a7362d577a6c3019a474fd6f485823";
/// The token's account in [`Scenario::OtherAccount`].
pub const OTHER_ACCOUNT_ID: &str = "f037e56e89293a057740de681ac9abbe";
/// The id that token verification reports for [`TOKEN`].
pub const TOKEN_ID: &str = "ed17574386854bf78a67040be0a770b0";

/// github.com: plan "Free Website", active, 20 DNS queries an hour (see [`DNS_EVENTS_PER_HOUR`]).
pub const ZONE_ID: &str = "234234243423aaabb334342aaa343433";
pub const ZONE_NAME: &str = "github.com";
/// github.io: plan "Enterprise Website" (changed from the fixture's Free), active, 8 queries an
/// hour.
pub const ENTERPRISE_ZONE_ID: &str = "234234243423aaabb334342aaa343434";
pub const ENTERPRISE_ZONE_NAME: &str = "github.io";
/// githubusercontent.com: plan "Free Website", status `pending` (as recorded), no DNS traffic.
/// The recorded page 2 repeats github.io's id for it; the fake gives it this one.
pub const PENDING_ZONE_ID: &str = "234234243423aaabb334342aaa343436";
pub const PENDING_ZONE_NAME: &str = "githubusercontent.com";
/// unit.tests: plan "Free Website", active, no DNS traffic at all (for "no data" answers).
pub const EMPTY_ZONE_ID: &str = "234234243423aaabb334342aaa343435";
pub const EMPTY_ZONE_NAME: &str = "unit.tests";
/// An internationalized zone, listed in Unicode as Cloudflare lists it: plan "Pro Website",
/// active, 5 queries an hour (query names in ASCII: `www.xn--bcher-kva.example`).
pub const IDN_ZONE_ID: &str = "5d1f0c9e8b7a46f3a2e1d0c9b8a7f6e5";
pub const IDN_ZONE_NAME: &str = "bücher.example";
/// [`IDN_ZONE_NAME`] in ASCII (punycode); `GET /zones?name=` accepts either form.
pub const IDN_ZONE_ASCII_NAME: &str = "xn--bcher-kva.example";
/// example.org: plan "Business Website", active, no DNS traffic. Made here (from github.com's
/// entry) so that the zone list spans two pages at the smallest `per_page`, 5.
pub const BUSINESS_ZONE_ID: &str = "9a7c5e3b1d2f4a6c8e0b2d4f6a8c0e2b";
pub const BUSINESS_ZONE_NAME: &str = "example.org";
/// Every zone id, in the order `GET /zones` lists them.
pub const ZONE_IDS: [&str; 6] = [
    ZONE_ID,
    ENTERPRISE_ZONE_ID,
    PENDING_ZONE_ID,
    EMPTY_ZONE_ID,
    IDN_ZONE_ID,
    BUSINESS_ZONE_ID,
];
/// DNS records per zone (3 from cloudflare-go, 10 from octodns, renamed into the zone).
pub const DNS_RECORDS_PER_ZONE: usize = 13;

const API_HOST: &str = "api.cloudflare.com";
const DOCS_HOST: &str = "developers.cloudflare.com";
const API_PREFIX: &str = "/client/v4";

/// A component `make plugin` builds (`cloudflare_connector.wasm`, `hostile_plugin.wasm`,
/// `ungranted_plugin.wasm`), for the tests that load it; panics with what to run when missing.
pub fn built_component(file: &str) -> std::path::PathBuf {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/wasm32-wasip2/release")
        .join(file);
    assert!(
        path.exists(),
        "{} is missing: run `make build` (or `make test`)",
        path.display()
    );
    path
}
