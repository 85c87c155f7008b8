//! `developers.cloudflare.com`: a small copy of Cloudflare's developer documentation, in the
//! form the real site publishes for machines (see `fixtures/docs/README.md`).
//!
//! The files live in `fixtures/docs/site/`, laid out as URL paths, and are read at run time:
//!
//! - `/llms.txt` and `/<product>/llms.txt`: `text/plain`;
//! - `/<page>/index.md`: the page as Markdown with YAML front matter, `text/markdown`;
//! - `/<page>/` (the page for humans) when `<page>/index.md` exists: a small HTML document, as
//!   the real site answers HTML there;
//! - anything else, including any path with `..`, `%`, `\` or an empty segment: 404 with an
//!   HTML body. Only GET and HEAD are allowed (405 otherwise); the query string is ignored.
//!
//! Two deliberately broken routes, listed in no `llms.txt`: [`HTML_INSTEAD_PATH`] answers 200
//! with an HTML document where Markdown is expected, and [`EMPTY_LLMS_PATH`] answers 200 with an
//! empty body.

use std::path::{Path, PathBuf};

use axum::response::{IntoResponse, Response};
use http::{Method, StatusCode, header};

use crate::RecordedRequest;

/// The site's files, laid out as URL paths.
pub(crate) const SITE_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/docs/site");
/// The site's origin, as every link in the site's files spells it.
pub(crate) const SITE_ORIGIN: &str = "https://developers.cloudflare.com";
/// A "Markdown" page that answers 200 with `text/html` and an HTML document.
pub(crate) const HTML_INSTEAD_PATH: &str = "/broken/html-instead/index.md";
/// A product index that answers 200 with an empty body.
pub(crate) const EMPTY_LLMS_PATH: &str = "/broken/empty/llms.txt";

const TEXT: &str = "text/plain; charset=utf-8";
const MARKDOWN: &str = "text/markdown; charset=utf-8";
const HTML: &str = "text/html; charset=utf-8";

const NOT_FOUND_HTML: &str = "<!DOCTYPE html>
<html lang=\"en\" dir=\"ltr\">
<head>
<meta charset=\"utf-8\">
<title>404 | Cloudflare Docs</title>
</head>
<body>
<main>
<h1>404</h1>
<p>Page not found. Check the URL or go to the <a href=\"/\">documentation home page</a>.</p>
</main>
</body>
</html>
";

const HOME_HTML: &str = "<!DOCTYPE html>
<html lang=\"en\" dir=\"ltr\">
<head>
<meta charset=\"utf-8\">
<title>Cloudflare Docs</title>
<meta name=\"description\" content=\"Explore guides and tutorials to start building on Cloudflare's platform.\">
</head>
<body>
<main>
<h1>Cloudflare Docs</h1>
<p>Explore guides and tutorials to start building on Cloudflare's platform.</p>
<p>For machines: <a href=\"/llms.txt\">llms.txt</a>.</p>
</main>
</body>
</html>
";

/// Answers one request for the docs host.
pub(crate) fn route(request: &RecordedRequest) -> Response {
    let method = request.method.as_str();
    if method != Method::GET.as_str() && method != Method::HEAD.as_str() {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::CONTENT_TYPE, TEXT), (header::ALLOW, "GET, HEAD")],
            "Method Not Allowed\n",
        )
            .into_response();
    }
    // `request.path` never holds the query string: it is ignored.
    match request.path.as_str() {
        HTML_INSTEAD_PATH => return respond(HTML, html_instead_page()),
        EMPTY_LLMS_PATH => return respond(TEXT, String::new()),
        "/" => return respond(HTML, HOME_HTML.to_owned()),
        _ => {}
    }
    let Some((dirs, last)) = split_path(&request.path) else {
        return not_found();
    };
    if dirs.is_empty() && last != "llms.txt" {
        // No page lives at the root: `/index.md` and `/<file>` are unknown.
        return not_found();
    }
    match last {
        "llms.txt" => serve_file(&dirs, "llms.txt", TEXT),
        "index.md" => serve_file(&dirs, "index.md", MARKDOWN),
        "" => match read_site_file(&dirs, "index.md") {
            Some(markdown) => respond(HTML, human_page(&dirs, &markdown)),
            None => not_found(),
        },
        _ => not_found(),
    }
}

/// Splits an absolute URL path into its directory segments and its last segment (empty for a
/// path that ends with `/`). `None` for anything that is not a plain, safe path: no `..` or `.`
/// segments, no empty segments, no percent-encoding, no backslashes, only lowercase ASCII
/// letters, digits, `-`, `_` and `.` (the real site's paths use nothing else).
fn split_path(path: &str) -> Option<(Vec<&str>, &str)> {
    let rest = path.strip_prefix('/')?;
    let mut segments: Vec<&str> = rest.split('/').collect();
    let last = segments.pop()?;
    let safe = |segment: &str, may_be_empty: bool| {
        if segment.is_empty() {
            return may_be_empty;
        }
        !segment.starts_with('.')
            && segment.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.')
            })
    };
    if segments.iter().all(|s| safe(s, false)) && safe(last, true) {
        Some((segments, last))
    } else {
        None
    }
}

/// The file `SITE_DIR/<dirs>/<name>`, if it exists inside the site folder.
fn read_site_file(dirs: &[&str], name: &str) -> Option<String> {
    let site = Path::new(SITE_DIR);
    let mut file: PathBuf = site.to_path_buf();
    file.extend(dirs);
    file.push(name);
    // Belt and braces: `split_path` already refuses anything that could leave the folder.
    let canonical = file.canonicalize().ok()?;
    if !canonical.starts_with(site.canonicalize().ok()?) || !canonical.is_file() {
        return None;
    }
    std::fs::read_to_string(canonical).ok()
}

fn serve_file(dirs: &[&str], name: &str, content_type: &'static str) -> Response {
    match read_site_file(dirs, name) {
        Some(body) => respond(content_type, body),
        None => not_found(),
    }
}

/// 200 with a body. For HEAD, hyper drops the body and keeps the headers.
fn respond(content_type: &'static str, body: String) -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, HTML)],
        NOT_FOUND_HTML,
    )
        .into_response()
}

/// The page for humans at `/<dirs>/`: the real site serves the rendered page there; this is a
/// small stand-in with the page's title and description and a link to its Markdown form.
fn human_page(dirs: &[&str], markdown: &str) -> String {
    let meta = front_matter(markdown)
        .map(|(meta, _)| meta)
        .unwrap_or_default();
    let html_url = meta
        .source_html
        .unwrap_or_else(|| format!("{SITE_ORIGIN}/{}/", dirs.join("/")));
    let md_url = meta
        .source_md
        .unwrap_or_else(|| format!("{html_url}index.md"));
    let title = if meta.title.is_empty() {
        String::from("Cloudflare Docs")
    } else {
        meta.title
    };
    let description = meta.description.unwrap_or_default();
    let heading = title.split(" · ").next().unwrap_or(&title);
    let updated = meta
        .last_updated
        .map(|date| {
            format!(
                "<p>Last updated: <time datetime=\"{0}\">{0}</time></p>\n",
                escape_html(&date)
            )
        })
        .unwrap_or_default();
    format!(
        "<!DOCTYPE html>
<html lang=\"en\" dir=\"ltr\">
<head>
<meta charset=\"utf-8\">
<title>{title}</title>
<meta name=\"description\" content=\"{description}\">
<link rel=\"canonical\" href=\"{html_url}\">
<link rel=\"alternate\" type=\"text/markdown\" href=\"{md_url}\">
</head>
<body>
<a href=\"#_top\">Skip to content</a>
<main id=\"_top\">
<h1>{heading}</h1>
<p>{description}</p>
<p>This page is also available as <a href=\"{md_url}\">Markdown</a>.</p>
{updated}</main>
</body>
</html>
",
        title = escape_html(&title),
        description = escape_html(&description),
        html_url = escape_html(&html_url),
        md_url = escape_html(&md_url),
        heading = escape_html(heading),
    )
}

fn html_instead_page() -> String {
    "<!DOCTYPE html>
<html lang=\"en\" dir=\"ltr\">
<head>
<meta charset=\"utf-8\">
<title>Broken page · Cloudflare Docs</title>
</head>
<body>
<main>
<h1>Broken page</h1>
<p>This document is HTML, although its address ends in <code>index.md</code>.</p>
</main>
</body>
</html>
"
    .to_owned()
}

fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The fields of a page's YAML front matter that the fake and its tests use.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct FrontMatter {
    pub title: String,
    pub description: Option<String>,
    pub last_updated: Option<String>,
    pub source_html: Option<String>,
    pub source_md: Option<String>,
}

/// Parses the front matter the site's pages start with (`---` … `---`): plain, quoted and
/// folded (`>-`, `|`) scalars at the top level, and `source_url`'s two nested keys. Returns it
/// with the rest of the page, or `None` if the page has no front matter or no title.
pub(crate) fn front_matter(page: &str) -> Option<(FrontMatter, &str)> {
    let rest = page.strip_prefix("---\n")?;
    let end = rest.find("\n---\n")?;
    let (block, body) = (&rest[..end], &rest[end + "\n---\n".len()..]);
    let lines: Vec<&str> = block.lines().collect();
    let mut meta = FrontMatter::default();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        i += 1;
        if line.starts_with(' ') || line.trim().is_empty() {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        // The indented lines that belong to this key.
        let start = i;
        while i < lines.len() && (lines[i].starts_with(' ') || lines[i].trim().is_empty()) {
            i += 1;
        }
        let nested = &lines[start..i];
        let scalar = || yaml_scalar(value, nested);
        match key {
            "title" => meta.title = scalar(),
            "description" => meta.description = Some(scalar()),
            "lastUpdated" => meta.last_updated = Some(scalar()),
            "source_url" => {
                for entry in nested {
                    match entry.trim().split_once(':') {
                        Some(("html", url)) => meta.source_html = Some(yaml_scalar(url, &[])),
                        Some(("md", url)) => meta.source_md = Some(yaml_scalar(url, &[])),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    (!meta.title.is_empty()).then_some((meta, body))
}

fn yaml_scalar(value: &str, continuation: &[&str]) -> String {
    let value = value.trim();
    let continued = || {
        continuation
            .iter()
            .map(|l| l.trim())
            .filter(|l| !l.is_empty())
    };
    match value {
        ">" | ">-" | ">+" => continued().collect::<Vec<_>>().join(" "),
        "|" | "|-" | "|+" => continued().collect::<Vec<_>>().join("\n"),
        _ => {
            let mut text = value.to_owned();
            for line in continued() {
                text.push(' ');
                text.push_str(line);
            }
            if let Some(inner) = text.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')) {
                inner.replace("''", "'")
            } else if let Some(inner) = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
                inner.replace("\\\"", "\"").replace("\\\\", "\\")
            } else {
                text
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use regex::Regex;

    use super::*;
    use crate::test_client::{Reply, send};
    use crate::{DOCS_HOST, FakeCloudflare, Scenario};

    /// Products whose every llms.txt entry must have its page, with 10 to 20 entries each.
    const FULL_PRODUCTS: [&str; 4] = ["dns", "analytics", "fundamentals", "workers"];

    /// Pages the connector's hints link to and its tests search for.
    const REQUIRED_PAGES: &[&str] = &[
        "fundamentals/api/get-started/create-token",
        "fundamentals/api/reference/permissions",
        "fundamentals/account/find-account-and-zone-ids",
        "fundamentals/api/reference/limits",
        "fundamentals/api/how-to/restrict-tokens",
        "fundamentals/api/how-to/roll-token",
        "fundamentals/api/troubleshooting",
        "analytics/graphql-api",
        "analytics/graphql-api/getting-started/authentication/api-token-auth",
        "analytics/graphql-api/limits",
        "analytics/graphql-api/errors",
        "analytics/graphql-api/features/discovery/settings",
        "analytics/graphql-api/features/discovery/introspection",
        "analytics/graphql-api/features/data-sets",
        "analytics/graphql-api/tutorials/querying-firewall-events",
        "analytics/faq",
        "analytics/account-and-zone-analytics",
        "dns",
        "dns/zone-setups",
        "dns/zone-setups/full-setup",
        "dns/proxy-status",
        "dns/manage-dns-records",
        "dns/manage-dns-records/how-to/create-dns-records",
        "dns/additional-options/analytics",
        "dns/reference/analytics-api-properties",
        "workers",
        "workers/get-started/guide",
        "workers/platform/limits",
        "workers/observability",
    ];

    fn get(fake: &FakeCloudflare, target: &str) -> Reply {
        send(fake, "GET", DOCS_HOST, target, None, "")
    }

    fn content_type(reply: &Reply) -> Option<&str> {
        reply
            .headers
            .iter()
            .find(|(name, _)| name == "content-type")
            .map(|(_, value)| value.as_str())
    }

    /// The `(title, target, description)` of every `- [..](..): ..` line under a `## ` heading,
    /// checking that every non-empty line there is such an entry and that `target` matches
    /// `url`. Also checks the `# ` title and the `> ` summary line.
    fn entries(text: &str, url: &Regex) -> Vec<(String, String, String)> {
        let entry = Regex::new(r"^- \[([^\]]+)\]\(([^)\s]+)\): (\S.*)$").expect("entry regex");
        let mut lines = text.lines();
        let title = lines.next().unwrap_or_default();
        assert!(
            title.starts_with("# ") && title.len() > 2,
            "title line: {title:?}"
        );
        assert_eq!(lines.next(), Some(""), "a blank line after the title");
        let summary = lines.next().unwrap_or_default();
        assert!(
            summary.starts_with("> ") && summary.len() > 2,
            "summary: {summary:?}"
        );
        let mut in_section = false;
        let mut sections = 0;
        let mut found = Vec::new();
        for line in lines {
            if let Some(heading) = line.strip_prefix("## ") {
                assert!(!heading.trim().is_empty(), "empty section heading");
                in_section = true;
                sections += 1;
                continue;
            }
            if !in_section || line.trim().is_empty() {
                continue;
            }
            let captures = entry
                .captures(line)
                .unwrap_or_else(|| panic!("not an entry line: {line:?}"));
            let target = captures[2].to_owned();
            assert!(url.is_match(&target), "unexpected link target: {line:?}");
            found.push((captures[1].to_owned(), target, captures[3].to_owned()));
        }
        assert!(sections > 0, "no `## ` section");
        found
    }

    fn root_entries(fake: &FakeCloudflare) -> Vec<(String, String, String)> {
        let reply = get(fake, "/llms.txt");
        assert_eq!(reply.status, 200);
        assert_eq!(content_type(&reply), Some(TEXT));
        let product =
            Regex::new(r"^https://developers\.cloudflare\.com/[a-z0-9-]+/llms\.txt$").expect("re");
        entries(&reply.body, &product)
    }

    fn product_entries(fake: &FakeCloudflare, llms_url: &str) -> Vec<(String, String, String)> {
        let target = llms_url
            .strip_prefix(SITE_ORIGIN)
            .expect("an absolute link on the site");
        let reply = get(fake, target);
        assert_eq!(reply.status, 200, "{target}");
        assert_eq!(content_type(&reply), Some(TEXT), "{target}");
        let page = Regex::new(r"^https://developers\.cloudflare\.com/([a-z0-9_-]+/)+index\.md$")
            .expect("re");
        entries(&reply.body, &page)
    }

    #[test]
    fn root_llms_txt_lists_products_by_group() {
        let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
        let reply = get(&fake, "/llms.txt");
        assert!(
            reply
                .body
                .starts_with("# Cloudflare Developer Documentation\n\n> ")
        );
        for group in [
            "## Application performance",
            "## Application security",
            "## Core platform",
            "## Developer platform",
        ] {
            assert!(reply.body.contains(&format!("\n{group}\n")), "{group}");
        }
        let products = root_entries(&fake);
        assert!(products.len() >= 20, "{} products", products.len());
        let names: BTreeSet<&str> = products.iter().map(|(name, _, _)| name.as_str()).collect();
        for name in ["DNS", "Analytics", "Fundamentals", "Workers", "R2", "WAF"] {
            assert!(names.contains(name), "{name} missing");
        }
        assert!(
            products
                .iter()
                .all(|(_, _, description)| description.len() > 20)
        );
    }

    #[test]
    fn every_product_has_an_llms_txt_with_page_entries() {
        let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
        for (name, llms_url, _) in root_entries(&fake) {
            let pages = product_entries(&fake, &llms_url);
            let product = llms_url
                .trim_start_matches(SITE_ORIGIN)
                .trim_start_matches('/')
                .trim_end_matches("/llms.txt");
            let range = if FULL_PRODUCTS.contains(&product) {
                10..=20
            } else {
                3..=6
            };
            assert!(
                range.contains(&pages.len()),
                "{name}: {} entries",
                pages.len()
            );
            for (_, url, _) in &pages {
                assert!(
                    url.starts_with(&format!("{SITE_ORIGIN}/{product}/")),
                    "{name} lists a page of another product: {url}"
                );
            }
        }
    }

    #[test]
    fn every_entry_of_the_full_products_has_its_page() {
        let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
        let mut seen = 0;
        for product in FULL_PRODUCTS {
            let llms_url = format!("{SITE_ORIGIN}/{product}/llms.txt");
            for (title, url, _) in product_entries(&fake, &llms_url) {
                let target = url.strip_prefix(SITE_ORIGIN).expect("absolute link");
                let reply = get(&fake, target);
                assert_eq!(reply.status, 200, "{target}");
                assert_eq!(content_type(&reply), Some(MARKDOWN), "{target}");
                let (meta, body) = front_matter(&reply.body)
                    .unwrap_or_else(|| panic!("{target}: no front matter"));
                assert!(
                    meta.title.starts_with(&format!("{title} · ")) && meta.title.ends_with(" docs"),
                    "{target}: title {:?} for entry {title:?}",
                    meta.title
                );
                assert!(
                    meta.description.as_deref().is_some_and(|d| d.len() > 20),
                    "{target}: description"
                );
                assert!(
                    meta.last_updated
                        .as_deref()
                        .is_some_and(|d| d.len() == 24 && d.ends_with(".000Z")),
                    "{target}: lastUpdated"
                );
                assert_eq!(meta.source_md.as_deref(), Some(url.as_str()), "{target}");
                let html = url.trim_end_matches("index.md");
                assert_eq!(meta.source_html.as_deref(), Some(html), "{target}");
                assert!(body.trim().len() > 500, "{target}: body too short");
                seen += 1;
            }
        }
        assert!(seen >= 55, "{seen} pages");
    }

    #[test]
    fn the_pages_the_connector_links_to_exist() {
        let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
        for page in REQUIRED_PAGES {
            let reply = get(&fake, &format!("/{page}/index.md"));
            assert_eq!(reply.status, 200, "{page}");
            assert!(front_matter(&reply.body).is_some(), "{page}");
        }
        let permissions = get(&fake, "/fundamentals/api/reference/permissions/index.md");
        assert!(permissions.body.len() > 40 * 1024, "permissions page size");
        for scope in [
            "## Account permissions",
            "## Zone permissions",
            "## User permissions",
        ] {
            assert!(permissions.body.contains(scope), "{scope}");
        }
        for row in [
            "| Account Analytics Read |",
            "| Analytics Read |",
            "| DNS Read |",
            "| Zone Read |",
            "| Account Settings Read |",
        ] {
            assert!(permissions.body.contains(row), "{row}");
        }
    }

    #[test]
    fn every_page_on_disk_has_front_matter_and_no_index_lists_the_broken_routes() {
        fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
            for entry in std::fs::read_dir(dir).expect("read the site folder") {
                let path = entry.expect("a directory entry").path();
                if path.is_dir() {
                    walk(&path, files);
                } else {
                    files.push(path);
                }
            }
        }
        let mut files = Vec::new();
        walk(Path::new(SITE_DIR), &mut files);
        let mut pages = 0;
        for file in &files {
            let name = file
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            let text = std::fs::read_to_string(file).expect("a UTF-8 file");
            assert!(!text.contains("/broken/"), "{}", file.display());
            match name {
                "llms.txt" => {}
                "index.md" => {
                    let (meta, _) = front_matter(&text)
                        .unwrap_or_else(|| panic!("{}: no front matter", file.display()));
                    assert!(!meta.title.is_empty());
                    pages += 1;
                }
                other => panic!("unexpected file {other} in {}", file.display()),
            }
        }
        assert!(pages >= 65, "{pages} pages");
    }

    #[test]
    fn code_blocks_hold_comment_lines_and_one_page_has_the_reference_boilerplate() {
        let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
        let settings = get(
            &fake,
            "/analytics/graphql-api/features/discovery/settings/index.md",
        )
        .body;
        assert!(settings.contains("\n        # any dataset(s) from zones\n"));
        let token = get(&fake, "/fundamentals/api/get-started/create-token/index.md").body;
        assert!(token.contains("\n# Keep the secret out of your shell history"));
        assert!(token.contains("\n## Create a token\n") && token.contains("\n## Test the token\n"));
        let calls = get(&fake, "/fundamentals/api/how-to/make-api-calls/index.md").body;
        assert!(calls.contains("\n[Skip to content](#_top)\n"));
        assert!(calls.contains("\nCopy Markdown\n"));
    }

    #[test]
    fn the_page_for_humans_is_html() {
        let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
        let reply = get(&fake, "/dns/proxy-status/");
        assert_eq!(reply.status, 200);
        assert_eq!(content_type(&reply), Some(HTML));
        assert!(reply.body.starts_with("<!DOCTYPE html>"));
        assert!(
            reply
                .body
                .contains("<title>Proxy status · Cloudflare DNS docs</title>")
        );
        assert!(
            reply
                .body
                .contains("href=\"https://developers.cloudflare.com/dns/proxy-status/index.md\"")
        );

        let home = get(&fake, "/");
        assert_eq!(home.status, 200);
        assert_eq!(content_type(&home), Some(HTML));

        // A page's path without its slash, a folder without a page, an unknown page.
        for target in [
            "/dns/proxy-status",
            "/fundamentals/account/",
            "/nope/",
            "/nope/index.md",
            "/nope/llms.txt",
            "/index.md",
            "/dns/proxy-status/index.html",
            "/DNS/llms.txt",
        ] {
            let reply = get(&fake, target);
            assert_eq!(reply.status, 404, "{target}");
            assert_eq!(content_type(&reply), Some(HTML), "{target}");
            assert!(reply.body.starts_with("<!DOCTYPE html>"), "{target}");
            assert!(reply.body.contains("Page not found"), "{target}");
        }
    }

    #[test]
    fn the_query_string_is_ignored_and_head_works() {
        let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
        let plain = get(&fake, "/dns/proxy-status/index.md");
        let queried = get(&fake, "/dns/proxy-status/index.md?utm_source=test&x=..%2F");
        assert_eq!(queried.status, 200);
        assert_eq!(queried.body, plain.body);

        for (target, expected) in [
            ("/llms.txt", TEXT),
            ("/dns/llms.txt", TEXT),
            ("/dns/proxy-status/index.md", MARKDOWN),
            ("/dns/proxy-status/", HTML),
        ] {
            let head = send(&fake, "HEAD", DOCS_HOST, target, None, "");
            assert_eq!(head.status, 200, "{target}");
            assert_eq!(content_type(&head), Some(expected), "{target}");
            assert!(head.body.is_empty(), "{target}");
        }
    }

    #[test]
    fn other_methods_are_not_allowed() {
        let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
        for method in ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"] {
            let reply = send(&fake, method, DOCS_HOST, "/llms.txt", None, "");
            assert_eq!(reply.status, 405, "{method}");
            assert!(content_type(&reply).is_some(), "{method}");
            assert!(
                reply
                    .headers
                    .iter()
                    .any(|(name, value)| name == "allow" && value == "GET, HEAD"),
                "{method}"
            );
        }
        let reply = send(&fake, "POST", DOCS_HOST, "/nope/", None, "{}");
        assert_eq!(reply.status, 405);
    }

    fn status_of(path: &str) -> StatusCode {
        let request = RecordedRequest {
            method: "GET".to_owned(),
            host: DOCS_HOST.to_owned(),
            path: path.to_owned(),
            query: None,
            headers: Vec::new(),
            body: Vec::new(),
            peer: None,
        };
        route(&request).status()
    }

    #[test]
    fn path_traversal_is_refused() {
        assert_eq!(status_of("/dns/llms.txt"), StatusCode::OK);
        for path in [
            "/../Cargo.toml",
            "/dns/../llms.txt",
            "/dns/./llms.txt",
            "/./llms.txt",
            "/%2e%2e/llms.txt",
            "/dns/%2E%2E/llms.txt",
            "/%2E%2E%2F%2E%2E%2Fsrc/lib.rs",
            "/dns%2fllms.txt",
            "/dns\\..\\llms.txt",
            "/..\\llms.txt",
            "//llms.txt",
            "/dns//llms.txt",
            "/.hidden/llms.txt",
            "llms.txt",
            "",
            "/dns/proxy-status/index.md\0",
        ] {
            assert_eq!(status_of(path), StatusCode::NOT_FOUND, "{path:?}");
        }

        // The same over the wire, where the server does not normalize the path either.
        let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
        for target in [
            "/dns/../llms.txt",
            "/%2e%2e/%2e%2e/Cargo.toml",
            "/../../Cargo.toml",
        ] {
            let reply = get(&fake, target);
            assert_eq!(reply.status, 404, "{target}");
            assert!(reply.body.contains("Page not found"), "{target}");
        }
    }

    #[test]
    fn the_broken_routes_answer_what_they_promise() {
        let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
        let html = get(&fake, HTML_INSTEAD_PATH);
        assert_eq!(html.status, 200);
        assert_eq!(content_type(&html), Some(HTML));
        assert!(html.body.starts_with("<!DOCTYPE html>"));
        assert!(front_matter(&html.body).is_none());

        let empty = get(&fake, EMPTY_LLMS_PATH);
        assert_eq!(empty.status, 200);
        assert_eq!(content_type(&empty), Some(TEXT));
        assert!(empty.body.is_empty());

        // Nothing else lives under /broken/.
        assert_eq!(get(&fake, "/broken/").status, 404);
        assert_eq!(get(&fake, "/broken/html-instead/").status, 404);
    }

    #[test]
    fn front_matter_handles_plain_folded_and_quoted_values() {
        let page = "---\ntitle: A · B docs\ndescription: >-\n  Folded over\n  two lines.\n\
            lastUpdated: 2025-01-01T00:00:00.000Z\ntags:\n  - API\nsource_url:\n  \
            html: https://developers.cloudflare.com/a/\n  \
            md: https://developers.cloudflare.com/a/index.md\n---\n\nBody: # not a heading\n";
        let (meta, body) = front_matter(page).expect("front matter");
        assert_eq!(meta.title, "A · B docs");
        assert_eq!(meta.description.as_deref(), Some("Folded over two lines."));
        assert_eq!(
            meta.source_md.as_deref(),
            Some("https://developers.cloudflare.com/a/index.md")
        );
        assert_eq!(body, "\nBody: # not a heading\n");

        let quoted = "---\ntitle: 'It''s: quoted'\n---\n";
        assert_eq!(
            front_matter(quoted).map(|(meta, _)| meta.title),
            Some("It's: quoted".to_owned())
        );
        assert!(front_matter("# No front matter\n").is_none());
    }
}
