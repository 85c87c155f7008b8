//! The documentation tools: search, read and list the products of Cloudflare's developer docs.

use crate::Component;
use crate::docs;
use crate::json;
use crate::tools::{Arguments, Effect, Route, args, output_schemas, schema};
use crate::wit_docs::{DocPage, Guest, ProductList, SearchResult};
use crate::wit_types::{Error, Service};
use serde_json::Value;
use tool_output as out;

const SERVICE: Option<Service> = Some(Service::Documentation);

pub const ROUTES: &[Route] = &[
    Route {
        name: "docs_search",
        title: "Search Cloudflare's docs",
        output_schema: output_schemas::SEARCH_RESULT,
        effect: Effect::Reads,
        service: SERVICE,
        description: "Search Cloudflare's developer documentation (developers.cloudflare.com) \
            for a question or keywords, e.g. \"create an API token\" or \"GraphQL rate \
            limits\". Returns ranked pages with title, URL, product and a snippet of the \
            best-matching section. Use it to find how something works, what a permission or \
            limit is, or what an error means; then docs_read the best URL for the whole page. \
            Needs no token. The products searched are chosen from the question unless \
            `product` is given.",
        schema: search_schema,
        run: search,
    },
    Route {
        name: "docs_read",
        title: "Read a Cloudflare docs page",
        output_schema: output_schemas::DOC_PAGE,
        effect: Effect::Reads,
        service: SERVICE,
        description: "Read one page of Cloudflare's developer documentation as Markdown: a URL \
            on developers.cloudflare.com (as docs_search returns), its path (/dns/zone-setups/) \
            or its index.md URL. Give `section` (a heading or its anchor) to read only that \
            part. Long pages are cut at max_bytes (default 32 KiB) and say so; the page's \
            headings are listed so the next call can ask for one section.",
        schema: read_schema,
        run: read,
    },
    Route {
        name: "docs_products",
        title: "List the documented products",
        output_schema: output_schemas::PRODUCT_LIST,
        effect: Effect::Reads,
        service: SERVICE,
        description: "List the products of Cloudflare's developer documentation with their \
            descriptions and slugs (for docs_search's `product`).",
        schema: schema::no_arguments,
        run: products,
    },
];

fn search(a: &Arguments) -> Result<String, Error> {
    <Component as Guest>::search_docs(
        args::required_string(a, "query")?,
        args::string(a, "product")?,
        args::integer(a, "limit")?,
    )
    .and_then(|r| json::text(&search_output(&r)))
}

fn read(a: &Arguments) -> Result<String, Error> {
    <Component as Guest>::read_doc(
        args::required_string(a, "url")?,
        args::string(a, "section")?,
        args::integer(a, "max_bytes")?,
    )
    .and_then(|p| json::text(&page_output(&p)))
}

fn products(_: &Arguments) -> Result<String, Error> {
    <Component as Guest>::list_products().and_then(|l| json::text(&products_output(&l)))
}

fn search_schema() -> Value {
    schema::from_text(
        r#"{
                        "type": "object",
                        "properties": {
                            "query": { "type": "string", "minLength": 1, "maxLength": "$words_chars", "description": "A question or keywords." },
                            "product": { "type": "string", "maxLength": "$identifier_chars", "description": "Only this product: its slug (dns, analytics, fundamentals, workers, ...) or name; see docs_products." },
                            "limit": { "type": "integer", "minimum": 1, "maximum": "$max", "default": "$default", "description": "How many pages to return." }
                        },
                        "required": ["query"],
                        "additionalProperties": false
                    }"#,
        &[
            ("$max", docs::MAX_LIMIT.into()),
            ("$default", docs::DEFAULT_LIMIT.into()),
        ],
    )
}

fn read_schema() -> Value {
    schema::from_text(
        r#"{
                        "type": "object",
                        "properties": {
                            "url": { "type": "string", "minLength": 1, "maxLength": "$url_chars", "description": "Page URL, path, or index.md URL on developers.cloudflare.com; a #anchor selects a section." },
                            "section": { "type": "string", "maxLength": "$identifier_chars", "description": "Only the section under this heading (its text or anchor)." },
                            "max_bytes": { "type": "integer", "minimum": "$min", "maximum": "$max", "default": "$default", "description": "Cut the Markdown above this size." }
                        },
                        "required": ["url"],
                        "additionalProperties": false
                    }"#,
        &[
            ("$min", docs::MIN_MAX_BYTES.into()),
            ("$max", docs::MAX_MAX_BYTES.into()),
            ("$default", docs::DEFAULT_MAX_BYTES.into()),
        ],
    )
}

fn search_output(r: &SearchResult) -> out::SearchResult<'_> {
    let hits = r.hits.iter().map(|h| out::DocHit {
        title: &h.title,
        url: &h.url,
        product: &h.product,
        section: h.section.as_deref(),
        description: &h.description,
        snippet_heading: h.snippet_heading.as_deref(),
        snippet: &h.snippet,
        score: h.score,
    });
    out::SearchResult {
        hits: hits.collect(),
        query_terms: &r.query_terms,
        products_searched: &r.products_searched,
        fetched: r.fetched,
        from_cache: r.from_cache,
        notes: &r.notes,
    }
}

fn page_output(p: &DocPage) -> out::DocPage<'_> {
    let headings = p.headings.iter().map(|h| out::Heading {
        level: h.level,
        text: &h.text,
        anchor: &h.anchor,
    });
    out::DocPage {
        url: &p.url,
        title: p.title.as_deref(),
        description: p.description.as_deref(),
        section: p.section.as_deref(),
        markdown: &p.markdown,
        headings: headings.collect(),
        total_bytes: p.total_bytes,
        truncated: p.truncated,
        note: p.note.as_deref(),
        from_cache: p.from_cache,
    }
}

fn products_output(l: &ProductList) -> out::ProductList<'_> {
    let products = l.products.iter().map(|p| out::Product {
        name: &p.name,
        slug: &p.slug,
        group: p.group.as_deref(),
        description: &p.description,
        index_url: &p.index_url,
    });
    out::ProductList {
        products: products.collect(),
        from_cache: l.from_cache,
    }
}
