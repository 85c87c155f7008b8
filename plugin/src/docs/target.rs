//! What `read-doc` accepts (a page URL, a path, or the `index.md` URL) turned into the one path
//! the plugin fetches, on the docs host only.

use crate::error::invalid;
use crate::http::DOCS_HOST;
use crate::wit_types::Error;

/// A page to fetch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageTarget {
    /// What is fetched: `/dns/zone-setups/index.md`, or a product's `/dns/llms.txt`.
    pub fetch_path: String,
    /// The page as a person opens it: `https://developers.cloudflare.com/dns/zone-setups/`.
    pub url: String,
    /// The `#anchor` of the URL, which names a section.
    pub anchor: Option<String>,
}

/// The field name errors use.
const FIELD: &str = "url";

pub fn page_target(input: &str) -> Result<PageTarget, Error> {
    let input = input.trim();
    if input.is_empty() {
        return Err(invalid(
            FIELD,
            "give a page URL (https://developers.cloudflare.com/dns/zone-setups/) or its path \
             (/dns/zone-setups/)",
        ));
    }
    let (without_fragment, anchor) = match input.split_once('#') {
        Some((before, anchor)) => (before, Some(anchor.trim()).filter(|a| !a.is_empty())),
        None => (input, None),
    };
    let without_query = without_fragment.split('?').next().unwrap_or_default();
    let path = path_on_docs_host(without_query)?;
    check_path(&path).map_err(|why| {
        invalid(
            FIELD,
            format!("{} is not a docs path: {why}", crate::input::quote(&path)),
        )
    })?;

    let fetch_path = if path.ends_with("/llms.txt") {
        path.clone()
    } else {
        let page = path
            .strip_suffix("index.md")
            .or_else(|| path.strip_suffix("index.html"))
            .unwrap_or(&path);
        let page = page.strip_suffix(".md").unwrap_or(page);
        let page = page.trim_end_matches('/');
        format!("{page}/index.md")
    };
    // Dropping `index.md` or `.md` can leave a `.` or `..` segment (`/dns/.index.md`,
    // `/dns/...md`): the path fetched must pass the same rules as the path given.
    check_path(&fetch_path).map_err(|why| {
        invalid(
            FIELD,
            format!("{} is not a docs page: {why}", crate::input::quote(&path)),
        )
    })?;
    let url = match fetch_path.strip_suffix("index.md") {
        Some(page) => format!("https://{DOCS_HOST}{page}"),
        None => format!("https://{DOCS_HOST}{fetch_path}"),
    };
    Ok(PageTarget {
        fetch_path,
        url,
        anchor: anchor.map(str::to_string),
    })
}

/// The path part of what was given, refusing any other host or scheme.
fn path_on_docs_host(input: &str) -> Result<String, Error> {
    let lower = input.to_ascii_lowercase();
    let after_scheme = if let Some(rest) = strip_prefix_ci(input, &lower, "https://") {
        Some(rest)
    } else if let Some(rest) = strip_prefix_ci(input, &lower, "http://") {
        // The page is still fetched over HTTPS; the scheme a person pasted does not matter.
        Some(rest)
    } else if lower.contains("://") {
        return Err(invalid(
            FIELD,
            format!("only https://{DOCS_HOST}/ pages can be read"),
        ));
    } else if lower.starts_with(DOCS_HOST) {
        Some(input)
    } else {
        None
    };
    let Some(rest) = after_scheme else {
        // A bare path, with or without its leading slash.
        return Ok(if input.starts_with('/') {
            input.to_string()
        } else {
            format!("/{input}")
        });
    };
    let (authority, path) = match rest.find('/') {
        Some(slash) => (&rest[..slash], &rest[slash..]),
        None => (rest, "/"),
    };
    let host = authority
        .to_ascii_lowercase()
        .trim_end_matches(":443")
        .trim_end_matches('.')
        .to_string();
    if host != DOCS_HOST {
        return Err(invalid(
            FIELD,
            format!(
                "only pages on {DOCS_HOST} can be read, not {}; the plugin contacts no other \
                 documentation host",
                authority.split('@').next_back().unwrap_or_default()
            ),
        ));
    }
    Ok(path.to_string())
}

fn strip_prefix_ci<'a>(input: &'a str, lower: &str, prefix: &str) -> Option<&'a str> {
    lower.starts_with(prefix).then(|| &input[prefix.len()..])
}

/// Paths are plain: ASCII letters, digits, `-`, `_`, `.`, `~` between slashes, no `.` or `..`
/// segments, no empty segments, no percent-encoding.
fn check_path(path: &str) -> Result<(), &'static str> {
    if !path.starts_with('/') {
        return Err("it must start with /");
    }
    if path.len() > 512 {
        return Err("it is longer than 512 characters");
    }
    let inner = path.trim_start_matches('/').trim_end_matches('/');
    if path.starts_with("//") || inner.contains("//") {
        return Err("it has an empty segment");
    }
    for segment in inner.split('/').filter(|s| !s.is_empty()) {
        if segment == "." || segment == ".." {
            return Err("it has a . or .. segment");
        }
        if !segment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~'))
        {
            return Err("only letters, digits, -, _, . and ~ are allowed between slashes");
        }
    }
    Ok(())
}

/// The docs-host path of a URL found in an index, or `None` for any other host, scheme or an
/// unsafe path.
pub fn docs_path_of_url(url: &str) -> Option<String> {
    let rest = url.strip_prefix("https://")?;
    let (host, path) = rest.split_at(rest.find('/')?);
    let path = path.split(['?', '#']).next().unwrap_or_default();
    (host.eq_ignore_ascii_case(DOCS_HOST) && check_path(path).is_ok()).then(|| path.to_string())
}

/// The human URL of a page path from an index (`/dns/x/index.md` → `https://…/dns/x/`).
pub fn human_url(path: &str) -> String {
    let page = path.strip_suffix("index.md").unwrap_or(path);
    format!("https://{DOCS_HOST}{page}")
}

/// The product slug of a docs path: its first segment.
pub fn product_of(path: &str) -> &str {
    path.trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wit_types::InputProblem;

    fn fetch(input: &str) -> String {
        page_target(input).expect(input).fetch_path
    }

    #[test]
    fn every_form_of_a_page_gives_its_index_md() {
        for input in [
            "https://developers.cloudflare.com/dns/zone-setups/",
            "https://developers.cloudflare.com/dns/zone-setups",
            "https://developers.cloudflare.com/dns/zone-setups/index.md",
            "HTTPS://Developers.Cloudflare.com:443/dns/zone-setups/?utm=x",
            "http://developers.cloudflare.com/dns/zone-setups/",
            "developers.cloudflare.com/dns/zone-setups/",
            "/dns/zone-setups/",
            "/dns/zone-setups",
            "dns/zone-setups/",
            "/dns/zone-setups/index.md",
            " /dns/zone-setups.md ",
        ] {
            assert_eq!(fetch(input), "/dns/zone-setups/index.md", "{input}");
        }
        let target = page_target("/dns/zone-setups/#full-setup").expect("present");
        assert_eq!(
            target.url,
            "https://developers.cloudflare.com/dns/zone-setups/"
        );
        assert_eq!(target.anchor.as_deref(), Some("full-setup"));
        assert_eq!(fetch("/"), "/index.md");
        assert_eq!(
            fetch("https://developers.cloudflare.com/dns/llms.txt"),
            "/dns/llms.txt"
        );
    }

    #[test]
    fn other_hosts_schemes_and_odd_paths_are_refused_by_field() {
        for input in [
            "",
            "   ",
            "https://example.com/dns/",
            "https://developers.cloudflare.com.evil.example/dns/",
            "https://user@evil.example/developers.cloudflare.com/",
            "ftp://developers.cloudflare.com/dns/",
            "file:///etc/passwd",
            "/dns/../../etc/passwd",
            "/dns/%2e%2e/x",
            "/dns//x",
            "/dns/a b/",
            "/dns\\x",
        ] {
            match page_target(input) {
                Err(Error::InvalidInput(InputProblem { field, .. })) => {
                    assert_eq!(field, "url", "{input}")
                }
                other => panic!("{input}: {other:?}"),
            }
        }
    }

    /// Found by the `docs_target` fuzzer: `/cache/.index.md` was fetched as `/cache/./index.md`.
    #[test]
    fn dropping_index_md_never_leaves_a_dot_segment() {
        for input in [
            "https://developers.cloudflare.com/cache/.index.md",
            "/cache/..index.md",
            "/cache/...md",
            "/cache/..md",
            "/cache/..index.html",
            "/.index.md",
        ] {
            match page_target(input) {
                Err(Error::InvalidInput(InputProblem { field, message })) => {
                    assert_eq!(field, "url", "{input}");
                    assert!(message.contains(". or .. segment"), "{input}: {message}");
                }
                other => panic!("{input}: {other:?}"),
            }
        }
        // A dot inside a segment stays allowed.
        assert_eq!(fetch("/cache/a.b.md"), "/cache/a.b/index.md");
        assert_eq!(fetch("/cache/.well-known/"), "/cache/.well-known/index.md");
    }

    #[test]
    fn index_urls_only_on_the_docs_host() {
        assert_eq!(
            docs_path_of_url("https://developers.cloudflare.com/dns/x/index.md").as_deref(),
            Some("/dns/x/index.md")
        );
        assert_eq!(
            docs_path_of_url("http://developers.cloudflare.com/dns/"),
            None
        );
        assert_eq!(docs_path_of_url("https://example.com/dns/x/index.md"), None);
        assert_eq!(docs_path_of_url("https://developers.cloudflare.com"), None);
        assert_eq!(
            human_url("/dns/x/index.md"),
            "https://developers.cloudflare.com/dns/x/"
        );
        assert_eq!(product_of("/dns/x/index.md"), "dns");
    }
}
