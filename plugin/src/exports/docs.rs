//! The `documentation` exports.

use crate::Component;
use crate::docs::{self, DocsCache};
use crate::exports::service;
use crate::http::WasiTransport;
use crate::input::{self, Text};
use crate::wit_docs::{DocPage, Guest, ProductList, SearchResult};
use crate::wit_types::{Error, Service};
use std::sync::{LazyLock, Mutex};

/// Indexes and pages this instance fetched.
static CACHE: LazyLock<Mutex<(String, DocsCache)>> = LazyLock::new(Mutex::default);

fn with_service<T>(
    run: impl FnOnce(&WasiTransport, &mut DocsCache) -> Result<T, Error>,
) -> Result<T, Error> {
    service::with_state(Service::Documentation, &CACHE, |t, cache, _| run(t, cache))
}

impl Guest for Component {
    fn list_products() -> Result<ProductList, Error> {
        with_service(|t, cache| docs::list_products(t, cache))
    }

    fn search_docs(
        query: String,
        product: Option<String>,
        limit: Option<u32>,
    ) -> Result<SearchResult, Error> {
        with_service(|t, cache| {
            input::within_opt("product", &product, Text::Identifier)?;
            docs::search(t, cache, &query, product.as_deref(), limit)
        })
    }

    fn read_doc(
        url_or_path: String,
        section: Option<String>,
        max_bytes: Option<u32>,
    ) -> Result<DocPage, Error> {
        with_service(|t, cache| {
            input::within("url-or-path", &url_or_path, Text::Url)?;
            input::within_opt("section", &section, Text::Identifier)?;
            docs::read(t, cache, &url_or_path, section.as_deref(), max_bytes)
        })
    }
}
