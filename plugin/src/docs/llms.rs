//! Cloudflare's machine-readable docs indexes: the root `llms.txt` (one line per product) and
//! each product's `llms.txt` (one line per page), both Markdown lists under `## Section`
//! headings: `- [Title](https://developers.cloudflare.com/<path>): description`.
//!
//! Parsing is lenient line by line: anything that is not such a list line is skipped, and
//! links to other hosts are dropped, so a page the plugin would then fetch is always on the docs
//! host.

use crate::docs::target;

/// One list line of an index.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub title: String,
    /// The path on the docs host, for example `/dns/proxy-status/index.md` or `/dns/llms.txt`.
    pub path: String,
    pub description: String,
    /// The `## Section` the line is listed under.
    pub section: Option<String>,
}

/// A parsed index: its `# Title`, its `> summary`, and its entries.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Index {
    pub title: Option<String>,
    pub summary: Option<String>,
    pub entries: Vec<Entry>,
}

pub fn parse(text: &str) -> Index {
    let mut index = Index::default();
    let mut section = None;
    let mut in_code = false;
    for line in text.lines() {
        let line = line.trim_end();
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            continue;
        }
        if let Some(title) = line.strip_prefix("# ") {
            index.title.get_or_insert_with(|| title.trim().to_string());
        } else if let Some(heading) = line.strip_prefix("## ") {
            section = Some(heading.trim().to_string());
        } else if let Some(summary) = line.strip_prefix("> ") {
            index
                .summary
                .get_or_insert_with(|| summary.trim().to_string());
        } else if let Some((title, url, description)) = list_link(line)
            && let Some(path) = target::docs_path_of_url(&url)
        {
            index.entries.push(Entry {
                title,
                path,
                description,
                section: section.clone(),
            });
        }
    }
    index
}

/// `- [title](url): description` (the description is optional).
fn list_link(line: &str) -> Option<(String, String, String)> {
    let rest = line.trim_start().strip_prefix("- [")?;
    let (title, rest) = split_balanced(rest)?;
    let rest = rest.strip_prefix('(')?;
    let close = rest.find(')')?;
    let url = rest[..close].trim();
    let description = rest[close + 1..]
        .trim_start()
        .strip_prefix(':')
        .unwrap_or_default()
        .trim();
    let title = title.trim();
    (!title.is_empty() && !url.is_empty())
        .then(|| (title.to_string(), url.to_string(), description.to_string()))
}

/// Splits `title](rest` at the `]` that closes the link text (titles may hold brackets).
fn split_balanced(text: &str) -> Option<(&str, &str)> {
    let mut depth = 0usize;
    for (i, c) in text.char_indices() {
        match c {
            '[' => depth += 1,
            ']' if depth == 0 => return Some((&text[..i], &text[i + 1..])),
            ']' => depth -= 1,
            _ => {}
        }
    }
    None
}

/// A product of the root index.
#[derive(Clone, Debug, PartialEq)]
pub struct Product {
    pub name: String,
    /// The first path segment, for example `dns`: what the `product` filter takes.
    pub slug: String,
    pub description: String,
    pub group: Option<String>,
    /// The product's index, for example `/dns/llms.txt`.
    pub index_path: String,
}

/// The products of the root index: the entries that point at a product's `llms.txt`.
pub fn products(root: &Index) -> Vec<Product> {
    root.entries
        .iter()
        .filter_map(|entry| {
            let slug = entry.path.strip_suffix("/llms.txt")?.strip_prefix('/')?;
            (!slug.is_empty() && !slug.contains('/')).then(|| Product {
                name: entry.title.clone(),
                slug: slug.to_string(),
                description: entry.description.clone(),
                group: entry.section.clone(),
                index_path: entry.path.clone(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOT: &str = "\
# Cloudflare Developer Documentation

> Explore guides and tutorials to start building on Cloudflare's platform.

## Application performance

- [DNS](https://developers.cloudflare.com/dns/llms.txt): Deliver excellent performance and reliability to your domain.
- [Cache / CDN](https://developers.cloudflare.com/cache/llms.txt): Make websites faster.

## Elsewhere

- [Blog](https://blog.cloudflare.com/llms.txt): Not the docs host.
- [Nested](https://developers.cloudflare.com/a/b/llms.txt): Not a product index.
Some prose with [a link](https://developers.cloudflare.com/x/).
";

    #[test]
    fn the_root_index_gives_products_with_their_groups() {
        let index = parse(ROOT);
        assert_eq!(
            index.title.as_deref(),
            Some("Cloudflare Developer Documentation")
        );
        assert!(
            index
                .summary
                .expect("present")
                .starts_with("Explore guides")
        );
        let products = products(&parse(ROOT));
        assert_eq!(products.len(), 2);
        assert_eq!(products[0].slug, "dns");
        assert_eq!(products[0].index_path, "/dns/llms.txt");
        assert_eq!(
            products[0].group.as_deref(),
            Some("Application performance")
        );
        assert_eq!(products[1].name, "Cache / CDN");
    }

    #[test]
    fn a_product_index_gives_pages_under_sections() {
        let text = "\
# DNS

> Cloudflare DNS.

## Get started

- [Proxy status [orange cloud]](https://developers.cloudflare.com/dns/proxy-status/index.md): Proxied and DNS-only records.
- [No description](https://developers.cloudflare.com/dns/zone-setups/index.md)

```
- [In code](https://developers.cloudflare.com/dns/code/index.md): skipped
```
- [](https://developers.cloudflare.com/dns/empty/index.md): no title
- [Off host](https://example.com/dns/index.md): dropped
- [Bad path](https://developers.cloudflare.com/../etc/index.md): dropped
";
        let index = parse(text);
        assert_eq!(index.entries.len(), 2, "{index:?}");
        let first = &index.entries[0];
        assert_eq!(first.title, "Proxy status [orange cloud]");
        assert_eq!(first.path, "/dns/proxy-status/index.md");
        assert_eq!(first.description, "Proxied and DNS-only records.");
        assert_eq!(first.section.as_deref(), Some("Get started"));
        assert_eq!(index.entries[1].description, "");
    }

    #[test]
    fn anything_else_parses_to_nothing() {
        for text in [
            "",
            "<!DOCTYPE html><html></html>",
            "- [",
            "- [a](",
            "\u{0}\u{1}",
        ] {
            assert!(parse(text).entries.is_empty());
        }
    }
}
