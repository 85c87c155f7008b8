//! The Documentation service: list products, search and read pages of
//! `developers.cloudflare.com`, over [`Transport`], with what was fetched kept per instance.

pub mod links;
pub mod llms;
pub mod markdown;
pub mod rank;
pub mod target;

use crate::error::invalid;
use crate::http::{DOCS_HOST, Request, Transport};
use crate::wit_docs::{DocHit, DocPage, Heading, ProductInfo, ProductList, SearchResult};
use crate::wit_types::{ApiFailure, Error};
use rank::{Bm25, FieldedDoc};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

pub const ROOT_INDEX: &str = "/llms.txt";
pub const DEFAULT_LIMIT: u32 = 5;
pub const MAX_LIMIT: u32 = 20;
pub const DEFAULT_MAX_BYTES: u32 = 32 * 1024;
pub const MIN_MAX_BYTES: u32 = 1024;
pub const MAX_MAX_BYTES: u32 = 1024 * 1024;
const MAX_QUERY_CHARS: usize = 500;
/// Products opened for one search when none is given: enough for a question that spans two
/// products ("DNS analytics GraphQL"), few enough to stay a handful of requests.
const PRODUCTS_PER_SEARCH: usize = 3;
/// A product is opened when it scores at least this share of the best product.
const PRODUCT_SCORE_SHARE: f64 = 0.35;
/// Pages read per search to rerank and take snippets from, beyond the results asked for.
const EXTRA_PAGES_READ: usize = 3;
const MAX_PAGES_READ: usize = 8;
const SNIPPET_CHARS: usize = 280;
/// The cache keeps at most this much text; the oldest documents go first.
const CACHE_BYTES: usize = 8 * 1024 * 1024;
const SEARCH_HINT: &str = "Find the page with docs_search, or list a product's pages at \
https://developers.cloudflare.com/<product>/llms.txt (read it with docs_read).";

/// Words of questions that point at a product whose name and description do not say them,
/// mapped to product slugs; a slug missing from the root index is ignored.
const PRODUCT_HINTS: &[(&str, &str)] = &[
    ("token", "fundamentals"),
    ("permission", "fundamentals"),
    ("account", "fundamentals"),
    ("api", "fundamentals"),
    ("graphql", "analytics"),
    ("dataset", "analytics"),
    ("traffic", "analytics"),
    ("proxy", "dns"),
    ("orange", "dns"),
    ("record", "dns"),
    ("nameserver", "dns"),
    ("dnssec", "dns"),
    ("cname", "dns"),
    ("zone", "dns"),
    ("worker", "workers"),
    ("wrangler", "workers"),
    ("serverless", "workers"),
    ("firewall", "waf"),
    ("bucket", "r2"),
    ("certificate", "ssl"),
    ("tls", "ssl"),
    ("https", "ssl"),
    ("purge", "cache"),
    ("cdn", "cache"),
    ("tunnel", "cloudflare-one"),
];

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
    };
    match response.status {
        200 => {}
        404 | 410 => {
            return Err(Error::NotFound(failure(
                format!("{DOCS_HOST} has no page at {}", target::human_url(path)),
                SEARCH_HINT,
            )));
        }
        429 => return Err(Error::RateLimited(response.retry_after)),
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
        })
    })?;
    if markdown::looks_like_html(&text) {
        return Err(Error::Upstream(ApiFailure {
            status: 200,
            codes: Vec::new(),
            message: format!("{url} answered an HTML page, not Markdown"),
            hint: Some(SEARCH_HINT.to_string()),
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

/// The products worth opening for `query`: BM25 over each product's name, slug, description
/// and the question words that point at it.
fn choose_products<'a>(products: &'a [llms::Product], query: &[String]) -> Vec<&'a llms::Product> {
    let docs: Vec<FieldedDoc> = products
        .iter()
        .map(|p| {
            let hints: Vec<String> = PRODUCT_HINTS
                .iter()
                .filter(|(_, slug)| *slug == p.slug)
                .map(|(word, _)| rank::stem(word))
                .collect();
            FieldedDoc {
                fields: vec![
                    (3.0, rank::terms(&p.name)),
                    (3.0, rank::terms(&p.slug)),
                    (1.0, rank::terms(&p.description)),
                    (2.0, hints),
                ],
            }
        })
        .collect();
    let bm25 = Bm25::new(&docs);
    let mut scored: Vec<(usize, f64)> = docs
        .iter()
        .enumerate()
        .map(|(i, d)| (i, bm25.score(d, query).0))
        .filter(|(_, s)| *s > 0.0)
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1));
    let best = scored.first().map_or(0.0, |s| s.1);
    scored
        .into_iter()
        .filter(|(_, s)| *s >= best * PRODUCT_SCORE_SHARE)
        .take(PRODUCTS_PER_SEARCH)
        .map(|(i, _)| &products[i])
        .collect()
}

/// A page of a product index, with its ranking so far.
struct Candidate {
    product: String,
    entry: llms::Entry,
    score: f64,
    snippet: Option<markdown::Snippet>,
}

pub fn search(
    transport: &dyn Transport,
    cache: &mut DocsCache,
    query: &str,
    product: Option<&str>,
    limit: Option<u32>,
) -> Result<SearchResult, Error> {
    let query_text = query.trim();
    if query_text.is_empty() {
        return Err(invalid(
            "query",
            "give a question or keywords, for example \"create an API token\"",
        ));
    }
    if query_text.chars().count() > MAX_QUERY_CHARS {
        return Err(invalid(
            "query",
            format!("at most {MAX_QUERY_CHARS} characters"),
        ));
    }
    let terms = rank::query_terms(query_text);
    if terms.is_empty() {
        return Err(invalid("query", "give words or numbers to search for"));
    }
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(invalid(
            "limit",
            format!("must be between 1 and {MAX_LIMIT}"),
        ));
    }

    let mut tally = Tally::default();
    let mut notes = Vec::new();
    let all = products(transport, cache, &mut tally)?;
    let chosen: Vec<&llms::Product> = match product {
        Some(wanted) => vec![find_product(&all, wanted).ok_or_else(|| {
            let slugs: Vec<&str> = all.iter().map(|p| p.slug.as_str()).collect();
            invalid(
                "product",
                format!("no product {wanted:?}; products: {}", slugs.join(", ")),
            )
        })?],
        None => {
            let chosen = choose_products(&all, &terms);
            if chosen.is_empty() {
                notes.push(
                    "No product name or description matches the query; searched the general \
                     Fundamentals docs. Give `product` to search another."
                        .to_string(),
                );
                all.iter().filter(|p| p.slug == "fundamentals").collect()
            } else {
                chosen
            }
        }
    };

    let mut candidates = Vec::new();
    for opened in &chosen {
        match fetch(transport, cache, &mut tally, &opened.index_path) {
            Ok(text) => {
                let index = llms::parse(&text);
                if index.entries.is_empty() && product.is_some() {
                    return Err(not_an_index(&opened.index_path, "no page"));
                }
                if index.entries.is_empty() {
                    notes.push(format!(
                        "The {} index lists no pages; skipped.",
                        opened.name
                    ));
                }
                candidates.extend(index.entries.into_iter().map(|entry| Candidate {
                    product: opened.slug.clone(),
                    entry,
                    score: 0.0,
                    snippet: None,
                }));
            }
            // With one product asked for, its index failing is the answer.
            Err(error) if product.is_some() => return Err(error),
            Err(error) => notes.push(format!(
                "The {} index could not be read ({}); skipped.",
                opened.name,
                crate::error::message(&error)
            )),
        }
    }

    rank_entries(&mut candidates, &terms);
    let reading = (limit as usize + EXTRA_PAGES_READ).min(MAX_PAGES_READ);
    candidates.truncate(reading);
    rerank_with_pages(
        transport,
        cache,
        &mut tally,
        &mut candidates,
        &terms,
        &mut notes,
    );

    let hits = candidates
        .into_iter()
        .take(limit as usize)
        .map(|c| {
            let (snippet_heading, snippet) = match c.snippet {
                Some(s) => (s.heading, s.text),
                None => (None, c.entry.description.clone()),
            };
            DocHit {
                title: c.entry.title,
                url: target::human_url(&c.entry.path),
                product: c.product,
                section: c.entry.section,
                description: c.entry.description,
                snippet_heading,
                snippet,
                score: (c.score * 1000.0).round() / 1000.0,
            }
        })
        .collect();
    Ok(SearchResult {
        query_terms: terms,
        hits,
        products_searched: chosen.iter().map(|p| p.slug.clone()).collect(),
        fetched: tally.fetched,
        from_cache: tally.cached,
        notes,
    })
}

/// BM25F over the index lines (title, description, section, path), times the share of query
/// terms matched, so a page that answers every word outranks one that repeats a rare word.
/// Keeps only matches, best first.
fn rank_entries(candidates: &mut Vec<Candidate>, terms: &[String]) {
    let docs: Vec<FieldedDoc> = candidates
        .iter()
        .map(|c| FieldedDoc {
            fields: vec![
                (3.0, rank::terms(&c.entry.title)),
                (1.5, rank::terms(&c.entry.description)),
                (
                    1.0,
                    rank::terms(c.entry.section.as_deref().unwrap_or_default()),
                ),
                (1.5, rank::terms(&c.entry.path.replace("index.md", ""))),
            ],
        })
        .collect();
    let bm25 = Bm25::new(&docs);
    for (candidate, doc) in candidates.iter_mut().zip(&docs) {
        let (score, matched) = bm25.score(doc, terms);
        candidate.score = score * coverage(matched, terms.len());
    }
    candidates.retain(|c| c.score > 0.0);
    candidates.sort_by(|a, b| b.score.total_cmp(&a.score));
}

fn coverage(matched: usize, total: usize) -> f64 {
    if total == 0 {
        return 0.0;
    }
    let share = matched as f64 / total as f64;
    share * share
}

/// Reads the best candidates' pages: the page text adds to the score (BM25 over the pages
/// read, so rarer words count more) and gives each hit its snippet. A page that cannot be read
/// keeps its index score and its description as the snippet.
fn rerank_with_pages(
    transport: &dyn Transport,
    cache: &mut DocsCache,
    tally: &mut Tally,
    candidates: &mut [Candidate],
    terms: &[String],
    notes: &mut Vec<String>,
) {
    let mut bodies: Vec<Option<String>> = Vec::with_capacity(candidates.len());
    for candidate in candidates.iter() {
        match fetch(transport, cache, tally, &candidate.entry.path) {
            Ok(text) => bodies.push(Some(markdown::clean(markdown::parse(&text).body))),
            Err(error) => {
                notes.push(format!(
                    "{} could not be read ({}); its description stands in for the snippet.",
                    target::human_url(&candidate.entry.path),
                    crate::error::message(&error)
                ));
                bodies.push(None);
            }
        }
    }
    let docs: Vec<FieldedDoc> = bodies
        .iter()
        .map(|body| FieldedDoc {
            fields: vec![(1.0, body.as_deref().map(rank::terms).unwrap_or_default())],
        })
        .collect();
    let bm25 = Bm25::new(&docs);
    let best_index = candidates.iter().map(|c| c.score).fold(0.0, f64::max);
    let page_scores: Vec<f64> = docs.iter().map(|d| bm25.score(d, terms).0).collect();
    let best_page = page_scores.iter().copied().fold(0.0, f64::max);
    for ((candidate, body), page_score) in candidates.iter_mut().zip(&bodies).zip(page_scores) {
        let index_part = if best_index > 0.0 {
            candidate.score / best_index
        } else {
            0.0
        };
        let page_part = if best_page > 0.0 {
            page_score / best_page
        } else {
            0.0
        };
        candidate.score = index_part + 0.5 * page_part;
        candidate.snippet = body
            .as_deref()
            .and_then(|b| markdown::snippet(b, terms, SNIPPET_CHARS));
    }
    candidates.sort_by(|a, b| b.score.total_cmp(&a.score));
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
                        format!("no section {wanted:?}: this page has no headings")
                    } else {
                        format!(
                            "no section {wanted:?} on this page; sections: {}",
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
        let long = "x".repeat(MAX_QUERY_CHARS + 1);
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
        }]);
        assert!(matches!(
            read(&transport, &mut cache, "/dns/busy/", None, None),
            Err(Error::RateLimited(Some(7)))
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
