//! The Documentation service's tools.

use crate::output;

output! {
    /// `docs_search`: the pages that best answer the query.
    pub struct SearchResult<'a> {
        pub hits: Vec<DocHit<'a>>,
        /// The words searched for, after stemming.
        pub query_terms: &'a [String],
        pub products_searched: &'a [String],
        /// Indexes fetched for this search.
        pub fetched: u32,
        /// Indexes read from the cache.
        pub from_cache: u32,
        pub notes: &'a [String],
    }

    /// A page that matched.
    pub struct DocHit<'a> {
        pub title: &'a str,
        /// Read it with `docs_read`.
        pub url: &'a str,
        pub product: &'a str,
        pub section: Option<&'a str>,
        pub description: &'a str,
        pub snippet_heading: Option<&'a str>,
        pub snippet: &'a str,
        pub score: f64,
    }

    /// `docs_read`: a page (or one section of it) as Markdown.
    pub struct DocPage<'a> {
        pub url: &'a str,
        pub title: Option<&'a str>,
        pub description: Option<&'a str>,
        /// The section read, when one was asked for.
        pub section: Option<&'a str>,
        pub markdown: &'a str,
        /// The page's headings, to pick a section.
        pub headings: Vec<Heading<'a>>,
        /// The whole page's size in bytes.
        pub total_bytes: u32,
        /// True when `markdown` was cut at `max_bytes`.
        pub truncated: bool,
        pub note: Option<&'a str>,
        pub from_cache: bool,
    }

    /// A heading of a page.
    pub struct Heading<'a> {
        /// 1 to 6.
        pub level: u8,
        pub text: &'a str,
        /// Pass it as `section`, or as `#anchor` in the URL.
        pub anchor: &'a str,
    }

    /// `docs_products`: the products the docs cover.
    pub struct ProductList<'a> {
        pub products: Vec<Product<'a>>,
        pub from_cache: bool,
    }

    /// A product of the docs.
    pub struct Product<'a> {
        pub name: &'a str,
        /// Pass it as `product` to `docs_search`.
        pub slug: &'a str,
        pub group: Option<&'a str>,
        pub description: &'a str,
        pub index_url: &'a str,
    }
}
