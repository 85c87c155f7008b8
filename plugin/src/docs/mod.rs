//! The Documentation service: list products, search and read pages of
//! `developers.cloudflare.com`, over [`Transport`], with what was fetched kept per instance.

pub mod links;
pub mod llms;
pub mod markdown;
pub mod rank;
mod search;
pub mod target;

pub use search::search;

use crate::error::invalid;
use crate::http::{DOCS_HOST, Request, Transport};
use crate::wit_docs::{DocPage, Heading, ProductInfo, ProductList};
use crate::wit_types::{ApiFailure, Error, RateLimit, RateLimiter};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

pub const ROOT_INDEX: &str = "/llms.txt";
pub const DEFAULT_LIMIT: u32 = 5;
pub const MAX_LIMIT: u32 = 20;
pub const DEFAULT_MAX_BYTES: u32 = 32 * 1024;
pub const MIN_MAX_BYTES: u32 = 1024;
pub const MAX_MAX_BYTES: u32 = 1024 * 1024;
/// The cache keeps at most this much text; the oldest documents go first.
const CACHE_BYTES: usize = 8 * 1024 * 1024;
const SEARCH_HINT: &str = "Find the page with docs_search, or list a product's pages at \
https://developers.cloudflare.com/<product>/llms.txt (read it with docs_read).";

/// The text of indexes and pages this instance fetched, by path.
#[derive(Default)]
pub struct DocsCache {
    texts: HashMap<String, Arc<str>>,
    order: VecDeque<String>,
    bytes: usize,
}

impl DocsCache {
    fn get(&self, path: &str) -> Option<Arc<str>> {
        self.texts.get(path).cloned()
    }

    fn put(&mut self, path: &str, text: Arc<str>) {
        if text.len() > CACHE_BYTES / 2 {
            return;
        }
        self.bytes += text.len();
        if let Some(old) = self.texts.insert(path.to_string(), text) {
            self.bytes -= old.len();
        } else {
            self.order.push_back(path.to_string());
        }
        while self.bytes > CACHE_BYTES {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            if let Some(old) = self.texts.remove(&oldest) {
                self.bytes -= old.len();
            }
        }
    }
}

/// Counts what a call fetched and what it took from the cache.
#[derive(Default)]
struct Tally {
    fetched: u32,
    cached: u32,
}

/// Fetches a docs-host document, from the cache when this instance has it.
fn fetch(
    transport: &dyn Transport,
    cache: &mut DocsCache,
    tally: &mut Tally,
    path: &str,
) -> Result<Arc<str>, Error> {
    if let Some(text) = cache.get(path) {
        tally.cached += 1;
        return Ok(text);
    }
    let response = transport.send(&Request::get(DOCS_HOST, path.to_string()))?;
    let url = format!("https://{DOCS_HOST}{path}");
    let failure = |message: String, hint: &str| ApiFailure {
        status: response.status,
        codes: Vec::new(),
        message,
        hint: Some(hint.to_string()),
        permission: None,
    };
    match response.status {
        200 => {}
        404 | 410 => {
            return Err(Error::NotFound(failure(
                format!("{DOCS_HOST} has no page at {}", target::human_url(path)),
                SEARCH_HINT,
            )));
        }
        // The docs host's own limit, never worded as the API's.
        429 => {
            return Err(Error::RateLimited(RateLimit {
                limiter: RateLimiter::Docs,
                retry_after: response.retry_after,
            }));
        }
        300..=399 => {
            return Err(Error::Upstream(failure(
                format!(
                    "{url} has moved (HTTP {}); redirects are not followed",
                    response.status
                ),
                SEARCH_HINT,
            )));
        }
        status => {
            return Err(Error::Upstream(failure(
                format!("{DOCS_HOST} answered HTTP {status} for {url}"),
                "The documentation site is failing; retry later.",
            )));
        }
    }
    let text = String::from_utf8(response.body).map_err(|_| {
        Error::Upstream(ApiFailure {
            status: 200,
            codes: Vec::new(),
            message: format!("{url} is not UTF-8 text"),
            hint: Some(SEARCH_HINT.to_string()),
            permission: None,
        })
    })?;
    if markdown::looks_like_html(&text) {
        return Err(Error::Upstream(ApiFailure {
            status: 200,
            codes: Vec::new(),
            message: format!("{url} answered an HTML page, not Markdown"),
            hint: Some(SEARCH_HINT.to_string()),
            permission: None,
        }));
    }
    let text: Arc<str> = text.into();
    tally.fetched += 1;
    cache.put(path, text.clone());
    Ok(text)
}

/// The root index, parsed into products; an index with none is not what was expected.
fn products(
    transport: &dyn Transport,
    cache: &mut DocsCache,
    tally: &mut Tally,
) -> Result<Vec<llms::Product>, Error> {
    let text = fetch(transport, cache, tally, ROOT_INDEX)?;
    let products = llms::products(&llms::parse(&text));
    if products.is_empty() {
        return Err(not_an_index(ROOT_INDEX, "no product"));
    }
    Ok(products)
}

fn not_an_index(path: &str, missing: &str) -> Error {
    Error::Upstream(ApiFailure {
        status: 200,
        codes: Vec::new(),
        message: format!(
            "https://{DOCS_HOST}{path} lists {missing}: it is not the llms.txt index expected"
        ),
        hint: Some("The documentation site may be changing; retry later.".to_string()),
        permission: None,
    })
}

pub fn list_products(
    transport: &dyn Transport,
    cache: &mut DocsCache,
) -> Result<ProductList, Error> {
    let mut tally = Tally::default();
    let products = products(transport, cache, &mut tally)?;
    Ok(ProductList {
        products: products.iter().map(product_info).collect(),
        from_cache: tally.fetched == 0,
    })
}

fn product_info(product: &llms::Product) -> ProductInfo {
    ProductInfo {
        name: product.name.clone(),
        slug: product.slug.clone(),
        group: product.group.clone(),
        description: product.description.clone(),
        index_url: format!("https://{DOCS_HOST}{}", product.index_path),
    }
}

/// `product` as a slug or name (case, spaces and dashes aside).
fn find_product<'a>(products: &'a [llms::Product], wanted: &str) -> Option<&'a llms::Product> {
    let fold = |s: &str| {
        s.chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect::<String>()
    };
    let wanted = fold(wanted);
    products
        .iter()
        .find(|p| fold(&p.slug) == wanted || fold(&p.name) == wanted)
}

pub fn read(
    transport: &dyn Transport,
    cache: &mut DocsCache,
    url_or_path: &str,
    section: Option<&str>,
    max_bytes: Option<u32>,
) -> Result<DocPage, Error> {
    let max_bytes = max_bytes.unwrap_or(DEFAULT_MAX_BYTES);
    if !(MIN_MAX_BYTES..=MAX_MAX_BYTES).contains(&max_bytes) {
        return Err(invalid(
            "max_bytes",
            format!("must be between {MIN_MAX_BYTES} and {MAX_MAX_BYTES}"),
        ));
    }
    let page_target = target::page_target(url_or_path)?;
    let wanted = section
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .or(page_target.anchor.clone());

    let mut tally = Tally::default();
    let text = fetch(transport, cache, &mut tally, &page_target.fetch_path)?;
    let page = markdown::parse(&text);
    let body = markdown::clean(page.body);
    let all_headings = markdown::headings(&body);
    let (section_heading, content) = match &wanted {
        None => (None, body.as_str()),
        Some(wanted) => match markdown::section(&body, wanted) {
            Some((heading, text)) => (Some(heading.text), text),
            None => {
                let names: Vec<String> = all_headings.iter().map(|h| h.anchor.clone()).collect();
                return Err(invalid(
                    "section",
                    if names.is_empty() {
                        format!(
                            "no section {}: this page has no headings",
                            crate::input::quote(wanted)
                        )
                    } else {
                        format!(
                            "no section {} on this page; sections: {}",
                            crate::input::quote(wanted),
                            names.join(", ")
                        )
                    },
                ));
            }
        },
    };
    let (shown, truncated) = markdown::cut(content, max_bytes as usize);
    let total = content.len();
    let note = truncated.then(|| {
        format!(
            "Cut at {} of {total} bytes. Ask for one section (see headings) or a larger \
             max_bytes (up to {MAX_MAX_BYTES}) to read the rest.",
            shown.len()
        )
    });
    let markdown_text = shown.to_string();
    Ok(DocPage {
        url: page_target.url,
        title: page.title,
        description: page.description,
        section: section_heading,
        markdown: markdown_text,
        headings: all_headings
            .into_iter()
            .map(|h| Heading {
                level: h.level,
                text: h.text,
                anchor: h.anchor,
            })
            .collect(),
        total_bytes: u32::try_from(total).unwrap_or(u32::MAX),
        truncated,
        note,
        from_cache: tally.fetched == 0,
    })
}

#[cfg(test)]
mod tests {
    use super::search::{PRODUCT_HINTS, choose_products};
    use super::*;
    use crate::http::Response;
    use crate::http::testing::Queued;
    use crate::wit_types::InputProblem;

    const ROOT: &str = "# Cloudflare Developer Documentation

> Explore guides.

## Core platform

- [DNS](https://developers.cloudflare.com/dns/llms.txt): Deliver excellent performance and reliability to your domain.
- [Fundamentals](https://developers.cloudflare.com/fundamentals/llms.txt): Accounts, API tokens and the Cloudflare API.
- [Workers](https://developers.cloudflare.com/workers/llms.txt): Build serverless applications.
";
    const DNS: &str = "# DNS

> Cloudflare DNS.

## Concepts

- [Proxy status](https://developers.cloudflare.com/dns/proxy-status/index.md): Proxied and DNS-only records.
- [DNS setups](https://developers.cloudflare.com/dns/zone-setups/index.md): Full, partial and secondary setups.
";
    const PROXY_PAGE: &str = "---
title: Proxy status · Cloudflare DNS docs
description: Proxied and DNS-only records.
---

Intro.

## Proxied records

Proxied records (the orange cloud) send traffic through Cloudflare.

## DNS-only records

Grey cloud.
";

    fn status(code: u16) -> Response {
        Response {
            status: code,
            retry_after: None,
            body: b"<!DOCTYPE html><p>Not found</p>".to_vec(),
            content_type: None,
        }
    }

    fn field(result: Result<impl std::fmt::Debug, Error>) -> String {
        match result {
            Err(Error::InvalidInput(InputProblem { field, .. })) => field,
            other => panic!("expected invalid-input, got {other:?}"),
        }
    }

    #[test]
    fn a_product_search_opens_that_index_and_the_best_pages() {
        let transport = Queued::new(vec![
            Response::ok(ROOT),
            Response::ok(DNS),
            Response::ok(PROXY_PAGE),
            status(404),
        ]);
        let mut cache = DocsCache::default();
        let result = search(
            &transport,
            &mut cache,
            "proxied orange cloud dns",
            Some("DNS"),
            Some(1),
        )
        .expect("present");
        let paths: Vec<String> = transport.sent().into_iter().map(|r| r.path).collect();
        assert_eq!(
            paths,
            [
                "/llms.txt",
                "/dns/llms.txt",
                "/dns/proxy-status/index.md",
                "/dns/zone-setups/index.md"
            ]
        );
        assert!(transport.sent().iter().all(|r| r.host == DOCS_HOST));
        assert_eq!(result.products_searched, ["dns"]);
        assert_eq!(result.hits.len(), 1);
        let hit = &result.hits[0];
        assert_eq!(
            hit.url,
            "https://developers.cloudflare.com/dns/proxy-status/"
        );
        assert_eq!(hit.snippet_heading.as_deref(), Some("Proxied records"));
        assert!(hit.snippet.contains("orange cloud"));
        assert_eq!((result.fetched, result.from_cache), (3, 0));
        assert_eq!(result.notes.len(), 1, "{:?}", result.notes);
        assert!(result.notes[0].contains("/dns/zone-setups/"));

        // The same search again is answered from the cache, except the page that failed.
        let transport = Queued::new(vec![status(404)]);
        let again = search(
            &transport,
            &mut cache,
            "proxied orange cloud dns",
            Some("dns"),
            Some(1),
        )
        .expect("present");
        assert_eq!((again.fetched, again.from_cache), (0, 3));
        assert_eq!(again.hits[0].url, hit.url);
    }

    #[test]
    fn products_are_chosen_from_the_question() {
        let products = llms::products(&llms::parse(ROOT));
        let chosen = |q: &str| -> Vec<String> {
            choose_products(&products, &rank::query_terms(q))
                .into_iter()
                .map(|p| p.slug.clone())
                .collect()
        };
        assert_eq!(chosen("create an API token")[0], "fundamentals");
        assert_eq!(chosen("proxied orange cloud"), ["dns"]);
        assert_eq!(chosen("wrangler deploy")[0], "workers");
        assert!(chosen("xyzzy").is_empty());
        for (word, _) in PRODUCT_HINTS {
            assert_eq!(rank::terms(word).len(), 1, "{word} must stay one term");
        }
    }

    #[test]
    fn bad_search_input_names_the_field_before_any_request() {
        let transport = Queued::new(vec![]);
        let mut cache = DocsCache::default();
        assert_eq!(
            field(search(&transport, &mut cache, "  ", None, None)),
            "query"
        );
        let long = "x".repeat(crate::input::Text::Words.max_chars() + 1);
        assert_eq!(
            field(search(&transport, &mut cache, &long, None, None)),
            "query"
        );
        assert_eq!(
            field(search(&transport, &mut cache, "dns", None, Some(0))),
            "limit"
        );
        assert_eq!(
            field(search(&transport, &mut cache, "dns", None, Some(21))),
            "limit"
        );
        assert!(transport.sent().is_empty());

        let transport = Queued::new(vec![Response::ok(ROOT)]);
        assert_eq!(
            field(search(&transport, &mut cache, "dns", Some("nope"), None)),
            "product"
        );
    }

    #[test]
    fn an_index_that_is_not_one_is_an_upstream_error() {
        for body in ["<!DOCTYPE html><html></html>", "", "# Title only\n"] {
            let transport = Queued::new(vec![Response::ok(body)]);
            let mut cache = DocsCache::default();
            assert!(
                matches!(
                    list_products(&transport, &mut cache),
                    Err(Error::Upstream(_))
                ),
                "{body:?}"
            );
        }
        let transport = Queued::new(vec![Response::ok(ROOT), Response::ok("# DNS\n")]);
        let result = search(
            &transport,
            &mut DocsCache::default(),
            "x",
            Some("dns"),
            None,
        );
        assert!(matches!(result, Err(Error::Upstream(_))), "{result:?}");
    }

    #[test]
    fn read_doc_sections_cuts_and_caches() {
        let transport = Queued::new(vec![Response::ok(PROXY_PAGE)]);
        let mut cache = DocsCache::default();
        let page = read(&transport, &mut cache, "/dns/proxy-status/", None, None).expect("present");
        assert_eq!(page.title.as_deref(), Some("Proxy status"));
        assert_eq!(
            page.url,
            "https://developers.cloudflare.com/dns/proxy-status/"
        );
        assert!(page.markdown.starts_with("Intro."));
        assert_eq!(page.headings.len(), 2);
        assert!(!page.truncated && !page.from_cache && page.note.is_none());

        let section = read(
            &transport,
            &mut cache,
            "https://developers.cloudflare.com/dns/proxy-status/#dns-only-records",
            None,
            None,
        )
        .expect("present");
        assert!(section.from_cache);
        assert_eq!(section.section.as_deref(), Some("DNS-only records"));
        assert_eq!(section.markdown, "## DNS-only records\n\nGrey cloud.\n");
        assert_eq!(transport.sent().len(), 1);

        assert_eq!(
            field(read(
                &transport,
                &mut cache,
                "/dns/proxy-status/",
                Some("Nope"),
                None
            )),
            "section"
        );
        assert_eq!(
            field(read(
                &transport,
                &mut cache,
                "/dns/proxy-status/",
                None,
                Some(10)
            )),
            "max_bytes"
        );

        let big = format!("---\ntitle: Big\n---\n{}", "A line of text.\n".repeat(200));
        let transport = Queued::new(vec![Response::ok(&big)]);
        let page = read(&transport, &mut cache, "/big/", None, Some(1024)).expect("present");
        assert!(page.truncated);
        assert!(page.markdown.len() <= 1024 && page.markdown.ends_with('\n'));
        assert_eq!(page.total_bytes, 3200);
        assert!(page.note.expect("present").contains("of 3200 bytes"));
    }

    #[test]
    fn read_doc_maps_what_the_site_answers() {
        let mut cache = DocsCache::default();
        let transport = Queued::new(vec![status(404)]);
        assert!(matches!(
            read(&transport, &mut cache, "/dns/nope/", None, None),
            Err(Error::NotFound(f)) if f.status == 404 && f.message.contains("/dns/nope/")
        ));
        let transport = Queued::new(vec![Response::ok("<!DOCTYPE html><html>")]);
        assert!(matches!(
            read(&transport, &mut cache, "/dns/html/", None, None),
            Err(Error::Upstream(_))
        ));
        let transport = Queued::new(vec![Response {
            status: 429,
            retry_after: Some(7),
            body: Vec::new(),
            content_type: None,
        }]);
        assert!(matches!(
            read(&transport, &mut cache, "/dns/busy/", None, None),
            // The docs host's own limit, never the API's.
            Err(Error::RateLimited(RateLimit {
                limiter: RateLimiter::Docs,
                retry_after: Some(7)
            }))
        ));
        let transport = Queued::new(vec![status(503)]);
        assert!(matches!(
            read(&transport, &mut cache, "/dns/down/", None, None),
            Err(Error::Upstream(f)) if f.status == 503
        ));
        let transport = Queued::new(vec![]);
        assert_eq!(
            field(read(
                &transport,
                &mut cache,
                "https://example.com/",
                None,
                None
            )),
            "url"
        );
        assert!(transport.sent().is_empty());
        // Nothing that failed was cached.
        assert!(cache.texts.is_empty());
    }

    #[test]
    fn the_cache_is_bounded_oldest_first() {
        let mut cache = DocsCache::default();
        let chunk: Arc<str> = "x".repeat(CACHE_BYTES / 4).into();
        for i in 0..6 {
            cache.put(&format!("/p{i}"), chunk.clone());
        }
        assert!(cache.bytes <= CACHE_BYTES);
        assert!(cache.get("/p0").is_none() && cache.get("/p1").is_none());
        assert!(cache.get("/p5").is_some());
        let too_big: Arc<str> = "x".repeat(CACHE_BYTES).into();
        cache.put("/huge", too_big);
        assert!(cache.get("/huge").is_none());
    }
}
