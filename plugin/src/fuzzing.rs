//! Entry points of the fuzz targets in `fuzz/` (run with `make fuzz`), one per parser of
//! untrusted input, each taking the raw bytes a target receives. The regression test below feeds
//! them every file kept in `fuzz/regressions/<target>/`, so `cargo test` replays what the fuzzers
//! found through the very same functions.
//!
//! Each entry runs its parser the way the plugin does and then asserts the properties that must
//! hold for any input (a path on the docs host never has a `..` segment, a cut text fits its
//! budget, …): a panic here, as in the parser, is a bug.

use crate::cloudflare::envelope::ApiReply;
use crate::cloudflare::graphql::Keep;
use crate::cloudflare::{graphql, graphql_query, settings};
use crate::docs::{llms, markdown, rank, target};
use crate::error;
use crate::http::{DOCS_HOST, Request, Response};
use crate::tools::{self, args, schema};
use crate::wit_types::Error;
use serde_json::{Map, Value, json};
use std::sync::LazyLock;

/// A fuzz target's entry: it panics when the input breaks a property.
pub type Entry = fn(&[u8]);

/// The fuzz targets by name (the name of their `fuzz/fuzz_targets/<name>.rs` and of their
/// directory under `fuzz/regressions/`).
pub const TARGETS: &[(&str, Entry)] = &[
    ("envelope", envelope),
    ("graphql_response", graphql_response),
    ("graphql_document", graphql_document),
    ("docs_index", docs_index),
    ("docs_markdown", docs_markdown),
    ("docs_target", docs_target),
    ("tool_arguments", tool_arguments),
];

/// The statuses every response body is read with: success, each one the classification treats
/// apart, and a server error.
const STATUSES: &[u16] = &[200, 400, 401, 403, 404, 429, 502];

fn text(data: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(data)
}

/// `data` split at its first NUL bytes: the main input, then optional extra inputs (a section
/// name, an operation name, variables), so plain files stay valid seeds.
fn parts(data: &[u8]) -> Vec<std::borrow::Cow<'_, str>> {
    data.splitn(3, |&b| b == 0).map(text).collect()
}

fn response(status: u16, data: &[u8]) -> Response {
    Response {
        status,
        retry_after: Some(30),
        content_type: None,
        body: data.to_vec(),
    }
}

fn describe(error: &Error) {
    assert!(!error::kind(error).is_empty());
    let _ = error::message(error);
}

/// A REST v4 body: the envelope, its codes and message, and the error it is classified as.
pub fn envelope(data: &[u8]) {
    let request = Request::api_get("/fuzz");
    // The usual statuses, and one from the input (0, 1xx, 3xx and 65535 included).
    let odd = u16::from_le_bytes([
        data.first().copied().unwrap_or(0),
        data.get(1).copied().unwrap_or(0),
    ]);
    for &status in STATUSES.iter().chain([&odd]) {
        let reply = ApiReply::from_response(&request, response(status, data));
        let expected: usize = reply
            .envelope
            .errors
            .iter()
            .map(|e| 1 + e.error_chain.len())
            .sum();
        assert_eq!(reply.codes().len(), expected);
        assert!(!reply.message().is_empty());
        let error = reply.error(Some("add the permission"));
        assert_eq!(error.is_none(), reply.is_success());
        if let Some(e) = &error {
            describe(e);
            if status == 429 {
                assert_eq!(
                    *e,
                    Error::RateLimited(crate::wit_types::RateLimit {
                        limiter: crate::wit_types::RateLimiter::Api,
                        retry_after: Some(30),
                    })
                );
            }
        }
        assert_eq!(reply.into_result(None).is_ok(), error.is_none());
    }
}

/// A `POST /client/v4/graphql` answer, then what the query tool does with its data: cut it to a
/// size, and read a dataset's limits from a `settings` node.
pub fn graphql_response(data: &[u8]) {
    let request = graphql::request("{ viewer { budget } }", &json!({}));
    for &status in STATUSES {
        let parsed = graphql::parse(&request, response(status, data));
        // Capping arrays changes what is kept, never whether the answer reads.
        let capped = graphql::parse_kept(&request, response(status, data), Keep::FirstItems(1));
        assert_eq!(capped.is_ok(), parsed.is_ok());
        // So does cutting `data` to a size while it is read; a cut keeps no more than it got.
        let whole = parsed.as_ref().map_or(0, |a| a.data.to_string().len());
        for max_bytes in [whole / 2, 64, 0] {
            let cut = graphql::parse_kept(
                &request,
                response(status, data),
                Keep::DataFitting(max_bytes),
            );
            assert_eq!(cut.is_ok(), parsed.is_ok());
            for list in cut.iter().flat_map(|a| &a.cuts) {
                assert!(list.kept < list.received, "{list:?}");
            }
        }
        match parsed {
            Ok(answer) => {
                assert!((200..300).contains(&status) || !answer.data.is_null());
                for problem in &answer.problems {
                    let _ = (&problem.message, &problem.path, &problem.code);
                }
                if status == 200 {
                    read_data(answer.data);
                }
            }
            Err(e) => describe(&e),
        }
    }
}

fn read_data(data: Value) {
    for node in [
        data.pointer("/viewer/zones/0"),
        data.pointer("/viewer/accounts/0"),
        Some(&data),
    ]
    .into_iter()
    .flatten()
    {
        let datasets: Vec<&String> = node
            .get("settings")
            .and_then(Value::as_object)
            .map(|s| s.keys().take(8).collect())
            .unwrap_or_default();
        for dataset in datasets {
            if let Some(limits) = settings::read(node, dataset, 10_000) {
                assert!((1..=10_000).contains(&limits.max_page_size));
            }
        }
    }
}

/// A user's GraphQL document for the query tool: `document[\0operation name[\0variables]]`.
pub fn graphql_document(data: &[u8]) {
    let parts = parts(data);
    let document = &parts[0];
    let operation = parts.get(1).map(|s| s.as_ref()).filter(|s| !s.is_empty());
    let variables: Map<String, Value> = parts
        .get(2)
        .and_then(|v| serde_json::from_str(v).ok())
        .unwrap_or_default();
    match graphql_query::check(document, operation, &variables) {
        Ok(checked) => {
            assert!(document.len() <= graphql_bounds::Bound::Size.limit());
            for used in &checked.datasets {
                assert!(!used.dataset.starts_with("__"));
                assert_ne!(used.dataset, "settings");
            }
        }
        Err(e) => describe(&e),
    }
}

/// A docs index (`llms.txt`, the root's or a product's).
pub fn docs_index(data: &[u8]) {
    let index = llms::parse(&text(data));
    for entry in &index.entries {
        assert!(!entry.title.is_empty());
        assert_docs_path(&entry.path);
        let _ = target::human_url(&entry.path);
        let _ = target::product_of(&entry.path);
    }
    for product in llms::products(&index) {
        assert!(!product.slug.is_empty() && !product.slug.contains('/'));
        assert_eq!(product.index_path, format!("/{}/llms.txt", product.slug));
    }
}

/// A page's Markdown, read as `read-doc` and `search-docs` do: `page[\0section or query]`.
pub fn docs_markdown(data: &[u8]) {
    let parts = parts(data);
    let page_text = &parts[0];
    let _ = markdown::looks_like_html(page_text);
    let page = markdown::parse(page_text);
    assert!(
        within(page_text, page.body),
        "the body is a slice of the page"
    );
    let body = markdown::clean(page.body);
    let headings = markdown::headings(&body);

    let mut wanted: Vec<String> = headings.iter().take(4).map(|h| h.text.clone()).collect();
    wanted.extend(headings.iter().take(4).map(|h| format!("#{}", h.anchor)));
    wanted.extend(parts.get(1).map(|s| s.to_string()));
    for name in &wanted {
        if let Some((heading, section)) = markdown::section(&body, name) {
            assert!(within(&body, section), "a section is a slice of the body");
            assert!(headings.contains(&heading));
        }
    }

    let query = rank::query_terms(
        parts
            .get(1)
            .map(|s| s.as_ref())
            .or(page.title.as_deref())
            .unwrap_or("dns"),
    );
    // One budget per input (a snippet ranks the whole page): the search's, or a small one.
    let max_chars = if data.len().is_multiple_of(2) {
        300
    } else {
        3 + data.len() % 64
    };
    if let Some(found) = markdown::snippet(&body, &query, max_chars) {
        assert!(found.score.is_finite());
        assert!(
            found.text.chars().count() <= max_chars,
            "{max_chars}: {:?}",
            found.text
        );
    }

    for max in [0, 1, 3, body.len() / 2, body.len().saturating_sub(1), 4096] {
        let (shown, was_cut) = markdown::cut(&body, max);
        assert!(shown.len() <= max || !was_cut);
        assert_eq!(was_cut, body.len() > max);
        assert!(body.starts_with(shown));
    }
}

/// What `read-doc` takes as `url`: a page URL or path, refused unless on the docs host.
pub fn docs_target(data: &[u8]) {
    let input = text(data);
    if let Ok(page) = target::page_target(&input) {
        assert_docs_path(&page.fetch_path);
        assert!(
            page.fetch_path.ends_with("/index.md") || page.fetch_path.ends_with("/llms.txt"),
            "{:?}",
            page.fetch_path
        );
        let page_part = page
            .url
            .strip_prefix(&format!("https://{DOCS_HOST}"))
            .unwrap_or_else(|| panic!("{:?} is not on the docs host", page.url));
        assert!(page_part.starts_with('/') && !page_part.starts_with("//"));
        assert!(!page_part.split('/').any(|s| s == ".."));
    }
    if let Some(path) = target::docs_path_of_url(&input) {
        assert_docs_path(&path);
    }
}

/// The `arguments` JSON of `call-tool`, checked against every tool's schema, then read by the
/// parser of each service tool whose schema it passes.
pub fn tool_arguments(data: &[u8]) {
    static SCHEMAS: LazyLock<Vec<(&'static str, Value, bool)>> = LazyLock::new(|| {
        tools::routes()
            .map(|route| (route.name, (route.schema)(), route.service.is_some()))
            .collect()
    });
    let arguments = match args::parse(&text(data)) {
        Ok(arguments) => arguments,
        Err(e) => {
            assert!(matches!(&e, Error::InvalidInput(p) if p.field == "arguments"));
            return;
        }
    };
    for (name, tool_schema, of_a_service) in SCHEMAS.iter() {
        let known: Vec<&str> = tool_schema["properties"]
            .as_object()
            .map(|p| p.keys().map(String::as_str).collect())
            .unwrap_or_default();
        match schema::validate(tool_schema, &arguments) {
            Ok(()) => {
                assert!(args::only(&arguments, &known).is_ok(), "{name}");
                // What `call-tool` does next: the tool's parser reads the arguments into its
                // request; with no connection (never made here: `connect` is not run) the
                // service then answers `not-connected` before any request.
                if *of_a_service {
                    match tools::run_service_tool(name, &arguments) {
                        Some(Err(Error::NotConnected(_) | Error::InvalidInput(_))) => {}
                        other => panic!("{name}: {other:?}"),
                    }
                }
            }
            Err(e) => {
                assert!(matches!(&e, Error::InvalidInput(_)), "{name}: {e:?}");
            }
        }
    }
    for field in arguments.keys().take(8) {
        let _ = args::fold(field);
        let _ = args::required_string(&arguments, field);
        let _ = args::string(&arguments, field);
        let _ = args::integer(&arguments, field);
        let _ = args::strings(&arguments, field);
    }
}

/// Whether `part` lies within `whole` (is a sub-slice of it, not a copy).
fn within(whole: &str, part: &str) -> bool {
    let range = whole.as_bytes().as_ptr_range();
    let start = part.as_ptr();
    start >= range.start && start.wrapping_add(part.len()) <= range.end
}

/// A path the plugin may fetch from the docs host: absolute, no empty, `.` or `..` segment,
/// only unreserved ASCII, so it cannot leave the host or the docs tree.
fn assert_docs_path(path: &str) {
    assert!(path.starts_with('/') && !path.starts_with("//"), "{path:?}");
    assert!(path.len() <= 512 + "/index.md".len(), "{path:?}");
    let inner = path.trim_start_matches('/').trim_end_matches('/');
    for segment in inner.split('/') {
        assert!(
            !segment.is_empty() || inner.is_empty(),
            "empty segment in {path:?}"
        );
        assert!(segment != "." && segment != "..", "{path:?}");
        assert!(
            segment
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~')),
            "{path:?}"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// Every file kept under `fuzz/regressions/<target>/` (crashes found and fixed, and a small
    /// corpus per target) goes through its target again.
    #[test]
    fn the_kept_fuzz_inputs_pass() {
        let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../fuzz/regressions"));
        for (name, run) in TARGETS {
            let dir = root.join(name);
            let mut files: Vec<_> = std::fs::read_dir(&dir)
                .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .map(|entry| entry.expect("a directory entry").path())
                .filter(|path| path.is_file())
                .collect();
            files.sort();
            assert!(!files.is_empty(), "no inputs in {}", dir.display());
            for file in files {
                let data = std::fs::read(&file).expect("readable");
                let outcome = std::panic::catch_unwind(|| run(&data));
                assert!(outcome.is_ok(), "{name}: {} panics", file.display());
            }
        }
    }

    #[test]
    fn the_entries_take_empty_and_odd_input() {
        for (_, run) in TARGETS {
            for data in [
                &b""[..],
                b"\0",
                b"\0\0\0",
                b"\xff\xfe",
                b"{}",
                b"[]",
                b"null",
            ] {
                run(data);
            }
        }
    }
}
