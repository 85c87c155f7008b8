//! `docs-search`: the products worth opening, BM25 over their index lines, then a rerank
//! with the pages read, and a snippet per hit.

use super::rank::{self, Bm25, FieldedDoc};
use super::{
    DEFAULT_LIMIT, DocsCache, MAX_LIMIT, Tally, fetch, find_product, llms, markdown, not_an_index,
    products, target,
};
use crate::error::invalid;
use crate::http::Transport;
use crate::input::{self, Text};
use crate::wit_docs::{DocHit, SearchResult};
use crate::wit_types::Error;

/// Products opened for one search when none is given: enough for a question that spans two
/// products ("DNS analytics GraphQL"), few enough to stay a handful of requests.
const PRODUCTS_PER_SEARCH: usize = 3;
/// A product is opened when it scores at least this share of the best product.
const PRODUCT_SCORE_SHARE: f64 = 0.35;
/// Pages read per search to rerank and take snippets from, beyond the results asked for.
const EXTRA_PAGES_READ: usize = 3;
const MAX_PAGES_READ: usize = 8;
const SNIPPET_CHARS: usize = 280;

/// Words of questions that point at a product whose name and description do not say them,
/// mapped to product slugs; a slug missing from the root index is ignored.
pub(super) const PRODUCT_HINTS: &[(&str, &str)] = &[
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

/// The products worth opening for `query`: BM25 over each product's name, slug, description
/// and the question words that point at it.
pub(super) fn choose_products<'a>(
    products: &'a [llms::Product],
    query: &[String],
) -> Vec<&'a llms::Product> {
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
    input::within("query", query_text, Text::Words)?;
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
                format!(
                    "no product {}; products: {}",
                    crate::input::quote(wanted),
                    slugs.join(", ")
                ),
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
