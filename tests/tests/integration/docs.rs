//! The Documentation service end to end: the real component in the harness, against the fake
//! docs site (`tests/fixtures/docs/site`, Cloudflare's published llms.txt and index.md format).

use crate::common::{connected, sandbox, tool};
use cf_fake::{FakeCloudflare, Permission, RecordedRequest, Scenario};
use host_harness::docs::{DocPage, SearchResult};
use host_harness::outbound::policy::DOCS_HOST;
use host_harness::{CheckStatus, PluginError, Service};
use host_harness::{PluginInstance, SandboxConfig};
use serde_json::json;

const BASE: &str = "https://developers.cloudflare.com";

async fn instance(fake: &FakeCloudflare) -> PluginInstance {
    connected(&sandbox(fake), &[Service::Documentation]).await
}

async fn search(
    instance: &mut PluginInstance,
    query: &str,
    product: Option<&str>,
    limit: Option<u32>,
) -> Result<SearchResult, PluginError> {
    instance
        .search_docs(query, product, limit)
        .await
        .expect("no trap")
}

async fn read(
    instance: &mut PluginInstance,
    target: &str,
    section: Option<&str>,
    max_bytes: Option<u32>,
) -> Result<DocPage, PluginError> {
    instance
        .read_doc(target, section, max_bytes)
        .await
        .expect("no trap")
}

fn docs_requests(fake: &FakeCloudflare) -> Vec<RecordedRequest> {
    fake.requests()
        .into_iter()
        .filter(|r| r.host == DOCS_HOST)
        .collect()
}

#[tokio::test]
async fn questions_find_the_page_that_answers_them_first() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut instance = instance(&fake).await;
    let expected = [
        (
            "create an API token",
            "/fundamentals/api/get-started/create-token/",
        ),
        (
            "DNS analytics GraphQL",
            "/dns/additional-options/analytics/",
        ),
        ("GraphQL rate limits", "/analytics/graphql-api/limits/"),
        ("proxied orange cloud", "/dns/proxy-status/"),
        ("analytics data delay for new zones", "/analytics/faq/"),
        (
            "how do I query firewall events with GraphQL?",
            "/analytics/graphql-api/tutorials/querying-firewall-events/",
        ),
        (
            "find my account ID",
            "/fundamentals/account/find-account-and-zone-ids/",
        ),
        ("Workers CPU time limits", "/workers/platform/limits/"),
    ];
    let mut misses = Vec::new();
    for (question, path) in expected {
        let result = search(&mut instance, question, None, None)
            .await
            .unwrap_or_else(|e| panic!("{question}: {e:?}"));
        let first = result.hits.first().map(|h| h.url.clone());
        if first.as_deref() != Some(&format!("{BASE}{path}")) {
            let top: Vec<(String, f64)> = result
                .hits
                .iter()
                .map(|h| (h.url.replace(BASE, ""), h.score))
                .collect();
            misses.push(format!(
                "{question:?}: expected {path}, got {top:?} (searched {:?})",
                result.products_searched
            ));
        }
        assert!(
            result.products_searched.len() <= 3,
            "{question}: opened {:?}",
            result.products_searched
        );
        for hit in &result.hits {
            assert!(
                hit.url.starts_with(BASE) && hit.url.ends_with('/'),
                "{hit:?}"
            );
            assert!(!hit.title.is_empty() && !hit.snippet.is_empty(), "{hit:?}");
        }
    }
    assert!(misses.is_empty(), "{}", misses.join("\n"));
}

#[tokio::test]
async fn products_are_picked_from_the_root_index_not_all_fetched() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut instance = instance(&fake).await;
    let result = search(&mut instance, "proxied orange cloud", None, Some(3))
        .await
        .expect("hits");
    assert_eq!(result.products_searched, ["dns"]);
    let indexes: Vec<String> = docs_requests(&fake)
        .into_iter()
        .map(|r| r.path)
        .filter(|p| p.ends_with("llms.txt"))
        .collect();
    assert_eq!(indexes, ["/llms.txt", "/dns/llms.txt"]);
    // The root index lists about 20 products; a search reads a handful of pages, not all.
    let pages = docs_requests(&fake).len() - indexes.len();
    assert!((1..=6).contains(&pages), "{pages} pages read");
}

#[tokio::test]
async fn the_product_filter_keeps_to_one_product() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut instance = instance(&fake).await;
    let result = search(&mut instance, "limits", Some("Workers"), Some(10))
        .await
        .expect("hits");
    assert_eq!(result.products_searched, ["workers"]);
    assert!(!result.hits.is_empty());
    assert!(
        result.hits.iter().all(|h| h.product == "workers"),
        "{:?}",
        result.hits
    );
    assert_eq!(
        result.hits[0].url,
        format!("{BASE}/workers/platform/limits/")
    );

    let e = search(&mut instance, "limits", Some("no-such-product"), None)
        .await
        .expect_err("unknown product");
    assert!(
        matches!(&e, PluginError::InvalidInput(p) if p.field == "product" && p.message.contains("workers")),
        "{e:?}"
    );
}

#[tokio::test]
async fn the_snippet_comes_from_the_matching_section() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut instance = instance(&fake).await;
    let result = search(&mut instance, "GraphQL rate limits", None, Some(1))
        .await
        .expect("hits");
    let hit = &result.hits[0];
    assert_eq!(
        hit.snippet_heading.as_deref(),
        Some("User limits"),
        "{hit:?}"
    );
    assert!(hit.snippet.contains("300"), "{}", hit.snippet);

    let result = search(
        &mut instance,
        "analytics data delay for new zones",
        None,
        Some(1),
    )
    .await
    .expect("hits");
    let heading = result.hits[0].snippet_heading.clone().unwrap_or_default();
    assert!(heading.contains("new zone"), "{heading}");
}

#[tokio::test]
async fn a_second_search_is_answered_from_the_cache() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut instance = instance(&fake).await;
    let first = search(&mut instance, "create an API token", None, None)
        .await
        .expect("hits");
    assert!(
        first.fetched >= 3,
        "root, a product index and pages: {first:?}"
    );
    assert_eq!(first.from_cache, 0);
    let sent = docs_requests(&fake).len();

    let second = search(&mut instance, "create an API token", None, None)
        .await
        .expect("hits");
    assert_eq!(second.fetched, 0);
    assert_eq!(second.from_cache, first.fetched);
    let urls = |r: &SearchResult| r.hits.iter().map(|h| h.url.clone()).collect::<Vec<_>>();
    assert_eq!(urls(&second), urls(&first));
    assert_eq!(docs_requests(&fake).len(), sent, "nothing fetched again");

    // A page read after the search comes from the cache too.
    let page = read(&mut instance, &first.hits[0].url, None, None)
        .await
        .expect("page");
    assert!(page.from_cache);
    let products = instance
        .list_products()
        .await
        .expect("no trap")
        .expect("products");
    assert!(products.from_cache);
    assert_eq!(docs_requests(&fake).len(), sent);
}

#[tokio::test]
async fn a_page_reads_the_same_by_url_path_and_index_md_url() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut instance = instance(&fake).await;
    let by_url = read(
        &mut instance,
        &format!("{BASE}/dns/zone-setups/"),
        None,
        None,
    )
    .await
    .expect("by URL");
    assert_eq!(by_url.url, format!("{BASE}/dns/zone-setups/"));
    assert_eq!(by_url.title.as_deref(), Some("DNS setups"));
    assert!(
        !by_url.markdown.starts_with("---"),
        "front matter is removed"
    );
    assert!(!by_url.truncated);
    assert!(!by_url.headings.is_empty());
    for target in [
        "/dns/zone-setups/",
        "dns/zone-setups",
        "https://developers.cloudflare.com/dns/zone-setups/index.md",
    ] {
        let page = read(&mut instance, target, None, None).await.expect(target);
        assert_eq!(page.markdown, by_url.markdown, "{target}");
        assert_eq!(page.url, by_url.url);
    }
    let fetched: Vec<String> = docs_requests(&fake).into_iter().map(|r| r.path).collect();
    assert_eq!(
        fetched,
        ["/dns/zone-setups/index.md"],
        "one fetch, then the cache"
    );
}

#[tokio::test]
async fn a_section_is_read_by_heading_or_anchor() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut instance = instance(&fake).await;
    let whole = read(&mut instance, "/analytics/graphql-api/limits/", None, None)
        .await
        .expect("page");
    let heading = whole
        .headings
        .iter()
        .find(|h| h.text == "User limits")
        .expect("a User limits heading");
    assert_eq!(heading.anchor, "user-limits");

    for (target, section) in [
        ("/analytics/graphql-api/limits/", Some("User limits")),
        ("/analytics/graphql-api/limits/", Some("user-limits")),
        ("/analytics/graphql-api/limits/#user-limits", None),
    ] {
        let part = read(&mut instance, target, section, None)
            .await
            .expect(target);
        assert_eq!(part.section.as_deref(), Some("User limits"));
        assert!(
            part.markdown.starts_with("## User limits"),
            "{}",
            part.markdown
        );
        assert!(part.markdown.contains("300"));
        assert!(
            !part.markdown.contains("## Node limits"),
            "stops at the next section"
        );
        assert!(part.markdown.len() < whole.markdown.len());
        assert_eq!(
            part.headings.len(),
            whole.headings.len(),
            "all headings are listed"
        );
    }

    let e = read(
        &mut instance,
        "/analytics/graphql-api/limits/",
        Some("Pricing"),
        None,
    )
    .await
    .expect_err("no such section");
    assert!(
        matches!(&e, PluginError::InvalidInput(p) if p.field == "section" && p.message.contains("user-limits")),
        "{e:?}"
    );
}

#[tokio::test]
async fn a_long_page_is_cut_and_says_so() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut instance = instance(&fake).await;
    let path = "/fundamentals/api/reference/permissions/";
    let page = read(&mut instance, path, None, None).await.expect("page");
    assert_eq!(page.title.as_deref(), Some("API token permissions"));
    assert!(
        page.description
            .as_deref()
            .is_some_and(|d| d.starts_with("Reference of the permissions")),
        "a folded front matter description: {:?}",
        page.description
    );
    assert!(page.truncated);
    assert!(page.markdown.len() <= 32 * 1024);
    assert!(page.total_bytes as usize > 40 * 1024);
    let note = page.note.expect("a note");
    assert!(
        note.contains("section") && note.contains(&page.total_bytes.to_string()),
        "{note}"
    );

    let whole = read(&mut instance, path, None, Some(1024 * 1024))
        .await
        .expect("page");
    assert!(!whole.truncated && whole.note.is_none());
    assert_eq!(whole.markdown.len(), whole.total_bytes as usize);
    assert!(whole.markdown.starts_with(&page.markdown));

    let small = read(&mut instance, path, None, Some(2048))
        .await
        .expect("page");
    assert!(small.truncated && small.markdown.len() <= 2048);

    let e = read(&mut instance, path, None, Some(10))
        .await
        .expect_err("too small");
    assert!(
        matches!(&e, PluginError::InvalidInput(p) if p.field == "max_bytes"),
        "{e:?}"
    );
}

#[tokio::test]
async fn missing_pages_other_hosts_and_odd_answers_are_typed_errors() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut instance = instance(&fake).await;

    let e = read(&mut instance, "/dns/no-such-page/", None, None)
        .await
        .expect_err("404");
    assert!(
        matches!(&e, PluginError::NotFound(f) if f.status == 404 && f.message.contains("/dns/no-such-page/")),
        "{e:?}"
    );

    let before = fake.requests().len();
    for target in [
        "https://example.com/dns/",
        "https://developers.cloudflare.com.evil.example/dns/",
        "ftp://developers.cloudflare.com/dns/",
        "/dns/../../etc/passwd",
        "",
    ] {
        let e = read(&mut instance, target, None, None)
            .await
            .expect_err(target);
        assert!(
            matches!(&e, PluginError::InvalidInput(p) if p.field == "url"),
            "{target}: {e:?}"
        );
    }
    assert_eq!(
        fake.requests().len(),
        before,
        "nothing was sent for refused input"
    );

    let e = read(&mut instance, "/broken/html-instead/", None, None)
        .await
        .expect_err("HTML");
    assert!(
        matches!(&e, PluginError::Upstream(f) if f.message.contains("HTML")),
        "{e:?}"
    );

    let e = read(&mut instance, "/broken/empty/llms.txt", None, None).await;
    // An empty text is a page with nothing in it, not an error: it says so by being empty.
    assert!(matches!(&e, Ok(page) if page.markdown.is_empty()), "{e:?}");

    let e = search(&mut instance, "  ", None, None)
        .await
        .expect_err("empty");
    assert!(
        matches!(&e, PluginError::InvalidInput(p) if p.field == "query"),
        "{e:?}"
    );
}

#[tokio::test]
async fn the_docs_host_never_receives_the_token() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let config = sandbox(&fake);
    assert!(config.token.is_some(), "the sandbox holds a token");
    let mut instance = connected(&config, &crate::common::ALL_SERVICES).await;
    search(&mut instance, "create an API token", None, None)
        .await
        .expect("hits");
    read(&mut instance, "/dns/proxy-status/", None, None)
        .await
        .expect("page");
    instance.verify().await.expect("no trap").expect("report");

    let requests = fake.requests();
    let docs: Vec<&RecordedRequest> = requests.iter().filter(|r| r.host == DOCS_HOST).collect();
    assert!(docs.len() >= 4);
    for request in &docs {
        assert_eq!(request.header("authorization"), None, "{}", request.path);
        assert!(
            matches!(request.method.as_str(), "GET" | "HEAD"),
            "{}",
            request.method
        );
    }
    // The token did go where it belongs.
    assert!(
        requests
            .iter()
            .filter(|r| r.host != DOCS_HOST)
            .all(|r| r.header("authorization").is_some())
    );
}

#[tokio::test]
async fn documentation_works_without_any_token() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let config = SandboxConfig {
        token: None,
        ..sandbox(&fake)
    };
    let mut instance = connected(&config, &[Service::Documentation]).await;
    let result = search(&mut instance, "DNS analytics GraphQL", None, None)
        .await
        .expect("hits");
    assert!(!result.hits.is_empty());
    let report = instance.verify().await.expect("no trap").expect("report");
    assert!(report.ready, "{report:?}");
}

#[tokio::test]
async fn the_service_must_be_enabled() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut instance = connected(&sandbox(&fake), &[Service::DnsAnalytics]).await;
    let e = search(&mut instance, "tokens", None, None)
        .await
        .expect_err("disabled");
    assert!(
        matches!(e, PluginError::ServiceDisabled(Service::Documentation)),
        "{e:?}"
    );
}

#[tokio::test]
async fn the_tools_take_json_and_name_bad_fields() {
    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut instance = instance(&fake).await;
    let products = tool(&mut instance, "docs_products", json!({}))
        .await
        .expect("products");
    let list = products["products"].as_array().expect("a list");
    assert!(list.len() >= 15);
    assert!(
        list.iter()
            .any(|p| p["slug"] == "dns" && p["index_url"] == format!("{BASE}/dns/llms.txt"))
    );

    let result = tool(
        &mut instance,
        "docs_search",
        json!({ "query": "proxied orange cloud", "limit": 2 }),
    )
    .await
    .expect("hits");
    assert_eq!(
        result["hits"][0]["url"],
        format!("{BASE}/dns/proxy-status/")
    );
    assert!(
        result["hits"]
            .as_array()
            .is_some_and(|hits| hits.len() <= 2)
    );

    let page = tool(
        &mut instance,
        "docs_read",
        json!({ "url": "/dns/proxy-status/", "max_bytes": 1024 }),
    )
    .await
    .expect("page");
    assert_eq!(page["url"], format!("{BASE}/dns/proxy-status/"));
    assert!(page["markdown"].as_str().is_some_and(|md| md.len() <= 1024));

    for (name, args, field) in [
        ("docs_search", json!({ "query": "x", "limit": 0 }), "limit"),
        ("docs_search", json!({ "query": 5 }), "query"),
        ("docs_search", json!({}), "query"),
        ("docs_search", json!({ "query": "x", "zone": "y" }), "zone"),
        ("docs_read", json!({ "url": "https://example.com/" }), "url"),
        ("docs_read", json!({ "path": "/dns/" }), "path"),
        ("docs_products", json!({ "x": 1 }), "x"),
    ] {
        let e = tool(&mut instance, name, args.clone())
            .await
            .expect_err(name);
        assert!(
            matches!(&e, PluginError::InvalidInput(p) if p.field == field),
            "{name} {args}: {e:?}"
        );
    }
}

/// Every hint verify gives ends with a docs link, and each linked page can be read.
#[tokio::test]
async fn verify_hints_link_pages_that_read_doc_can_open() {
    let mut links = std::collections::BTreeSet::new();
    for scenario in [
        Scenario::InvalidToken,
        Scenario::ExpiredToken,
        Scenario::Missing(Permission::ZoneRead),
        Scenario::Missing(Permission::DnsRead),
        Scenario::Missing(Permission::AccountAnalyticsRead),
        Scenario::OtherAccount,
        Scenario::RateLimited,
        Scenario::TokenDetailsReadable,
    ] {
        let fake = FakeCloudflare::spawn(scenario);
        let mut instance = connected(&sandbox(&fake), &crate::common::ALL_SERVICES).await;
        let report = instance.verify().await.expect("no trap").expect("report");
        for check in report.checks.iter().filter(|c| c.status != CheckStatus::Ok) {
            if check.id == "documentation/docs-host" {
                continue;
            }
            let hint = check.hint.as_deref().unwrap_or_default();
            let last = hint.rsplit(' ').next().unwrap_or_default();
            assert!(last.starts_with(BASE), "{scenario:?} {}: {hint}", check.id);
            links.insert(last.to_string());
        }
        for finding in &report.security {
            let last = finding.hint.rsplit(' ').next().unwrap_or_default();
            assert!(last.starts_with(BASE), "{}: {}", finding.id, finding.hint);
            links.insert(last.to_string());
        }
    }
    assert!(links.len() >= 4, "{links:?}");

    let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
    let mut instance = instance(&fake).await;
    for link in &links {
        let page = read(&mut instance, link, None, None).await;
        assert!(page.is_ok(), "{link}: {page:?}");
    }
}
