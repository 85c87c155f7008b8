//! The per-page Markdown the docs host serves at `<page>/index.md`: YAML front matter, then the
//! page. Here: the front matter's title and description, the headings (outside code fences),
//! one section by its heading, the passage that best matches a query, and cutting to a size.

use crate::docs::rank::{self, Bm25, FieldedDoc};

/// The front matter fields the connector uses, and the page without it.
#[derive(Debug, PartialEq)]
pub struct Page<'a> {
    pub title: Option<String>,
    pub description: Option<String>,
    pub body: &'a str,
}

/// One ATX heading of the page.
#[derive(Clone, Debug, PartialEq)]
pub struct Heading {
    pub level: u8,
    pub text: String,
    /// The `#anchor` the site gives it.
    pub anchor: String,
    /// Where its line starts in the body.
    start: usize,
}

/// Whether `text` is an HTML document rather than Markdown: what the site answers for a human
/// page, and what a page that is not what was expected looks like.
pub fn looks_like_html(text: &str) -> bool {
    let start: String = text
        .trim_start_matches('\u{feff}')
        .trim_start()
        .chars()
        .take(15)
        .collect::<String>()
        .to_ascii_lowercase();
    start.starts_with("<!doctype") || start.starts_with("<html") || start.starts_with("<head")
}

pub fn parse(text: &str) -> Page<'_> {
    let text = text.trim_start_matches('\u{feff}');
    let mut page = Page {
        title: None,
        description: None,
        body: text,
    };
    let Some(rest) = text
        .strip_prefix("---\n")
        .or_else(|| text.strip_prefix("---\r\n"))
    else {
        page.title = first_heading(text);
        return page;
    };
    let mut offset = text.len() - rest.len();
    // A `key: >-` (or `|`) block scalar: its indented lines that follow, joined.
    let mut block: Option<(&str, String)> = None;
    for line in rest.split_inclusive('\n') {
        offset += line.len();
        let line = line.trim_end();
        if let Some((_, value)) = &mut block
            && line.starts_with(char::is_whitespace)
        {
            if !value.is_empty() {
                value.push(' ');
            }
            value.push_str(line.trim());
            continue;
        }
        if let Some((key, value)) = block.take() {
            set_front_matter(&mut page, key, value);
        }
        if line == "---" {
            page.body = &text[offset..];
            break;
        }
        // Only top-level keys; nested ones (source_url: html/md) are indented.
        if let Some((key, value)) = line.split_once(':')
            && !key.starts_with(char::is_whitespace)
        {
            let value = value.trim();
            if matches!(value, ">" | ">-" | ">+" | "|" | "|-" | "|+") {
                block = Some((key, String::new()));
            } else {
                set_front_matter(&mut page, key, unquote(value));
            }
        }
    }
    if page.title.is_none() {
        page.title = first_heading(page.body);
    }
    page
}

fn set_front_matter(page: &mut Page<'_>, key: &str, value: String) {
    if value.is_empty() {
        return;
    }
    match key {
        "title" => {
            // "Create API token · Cloudflare Fundamentals docs" → the page's own title.
            let own = value.split(" · ").next().unwrap_or(&value).trim();
            page.title = Some(own.to_string());
        }
        "description" => page.description = Some(value),
        _ => {}
    }
}

fn unquote(value: &str) -> String {
    let quoted = (value.starts_with('"') && value.ends_with('"'))
        || (value.starts_with('\'') && value.ends_with('\''));
    if quoted && value.len() >= 2 {
        value[1..value.len() - 1].replace("\\\"", "\"")
    } else {
        value.to_string()
    }
}

fn first_heading(body: &str) -> Option<String> {
    headings(body)
        .into_iter()
        .find(|h| h.level == 1)
        .map(|h| h.text)
}

/// The lines the site adds around API reference pages, which say nothing about the page.
fn is_boilerplate(line: &str) -> bool {
    let line = line.trim();
    line == "[Skip to content](#_top)"
        || line == "Copy Markdown"
        || line.starts_with("**Copy Markdown**")
        || line.starts_with("Open in **")
}

/// The body without the site's boilerplate lines.
pub fn clean(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    for line in body.split_inclusive('\n') {
        if !is_boilerplate(line) {
            out.push_str(line);
        }
    }
    out.trim_start_matches('\n').to_string()
}

/// Every ATX heading outside fenced code.
pub fn headings(body: &str) -> Vec<Heading> {
    let mut found = Vec::new();
    let mut fence: Option<&str> = None;
    let mut offset = 0;
    for line in body.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let trimmed = line.trim();
        if let Some(open) = fence {
            if trimmed.starts_with(open) {
                fence = None;
            }
            continue;
        }
        if trimmed.starts_with("```") {
            fence = Some("```");
            continue;
        }
        if trimmed.starts_with("~~~") {
            fence = Some("~~~");
            continue;
        }
        // Headings start at the margin (up to three spaces in CommonMark).
        if line.starts_with("    ") {
            continue;
        }
        let hashes = trimmed.bytes().take_while(|&b| b == b'#').count();
        if !(1..=6).contains(&hashes) {
            continue;
        }
        let rest = &trimmed[hashes..];
        if !rest.is_empty() && !rest.starts_with(' ') {
            continue;
        }
        let text = inline_text(rest.trim().trim_end_matches('#').trim());
        if text.is_empty() {
            continue;
        }
        found.push(Heading {
            level: hashes as u8,
            anchor: anchor(&text),
            text,
            start,
        });
    }
    found
}

/// The anchor the site derives from a heading: lower case, punctuation dropped, spaces to `-`.
pub fn anchor(text: &str) -> String {
    text.to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// Inline Markdown as plain text: links keep their text, emphasis and code marks go.
///
/// A `[` opens a link when a `](` follows on the same line and a `)` after it. The searches for
/// those remember what they found, so a line of many `[` without a link is read once rather than
/// once per `[` (which made such a page quadratic).
pub fn inline_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut mids = Finder::new(text, "](");
    let mut closes = Finder::new(text, ")");
    let mut breaks = Finder::new(text, "\n");
    // `text[..copied]` is in `out` already; the next `[` is looked for from `search`.
    let (mut copied, mut search) = (0, 0);
    while let Some(open) = text[search..].find('[').map(|i| search + i) {
        let link = mids.at_or_after(open + 1).and_then(|mid| {
            let close = closes.at_or_after(mid + 2)?;
            let on_one_line = breaks.at_or_after(open + 1).is_none_or(|nl| nl > mid);
            on_one_line.then_some((mid, close))
        });
        match link {
            Some((mid, close)) => {
                out.push_str(&text[copied..open]);
                out.push_str(&text[open + 1..mid]);
                copied = close + 1;
                search = close + 1;
            }
            None => search = open + 1,
        }
    }
    out.push_str(&text[copied..]);
    out.replace("**", "")
        .replace('`', "")
        .replace("\\_", "_")
        .trim()
        .to_string()
}

/// The first `pattern` at or after a position, for positions that only grow: a search is made
/// again only once the position has passed what the last one found.
struct Finder<'a> {
    text: &'a str,
    pattern: &'a str,
    /// Where the last search started, and what it found.
    last: Option<(usize, Option<usize>)>,
}

impl<'a> Finder<'a> {
    fn new(text: &'a str, pattern: &'a str) -> Self {
        Finder {
            text,
            pattern,
            last: None,
        }
    }

    fn at_or_after(&mut self, from: usize) -> Option<usize> {
        if let Some((start, found)) = self.last
            && start <= from
            && found.is_none_or(|at| at >= from)
        {
            return found;
        }
        let found = self.text.get(from..)?.find(self.pattern).map(|i| from + i);
        self.last = Some((from, found));
        found
    }
}

/// The section under the heading that `wanted` names (its text, case and punctuation aside, or
/// its anchor), down to the next heading of the same or a higher level.
pub fn section<'a>(body: &'a str, wanted: &str) -> Option<(Heading, &'a str)> {
    let all = headings(body);
    let wanted_anchor = anchor(wanted.trim().trim_start_matches('#').trim());
    let position = all
        .iter()
        .position(|h| h.anchor == wanted_anchor)
        .or_else(|| {
            // A unique heading that contains the words asked for.
            let matching: Vec<usize> = all
                .iter()
                .enumerate()
                .filter(|(_, h)| !wanted_anchor.is_empty() && h.anchor.contains(&wanted_anchor))
                .map(|(i, _)| i)
                .collect();
            (matching.len() == 1).then(|| matching[0])
        })?;
    let heading = all[position].clone();
    let end = all[position + 1..]
        .iter()
        .find(|h| h.level <= heading.level)
        .map_or(body.len(), |h| h.start);
    Some((heading.clone(), &body[heading.start..end]))
}

/// `text` cut to at most `max` bytes at a line end (or a character boundary when one line is
/// longer), and whether it was cut.
pub fn cut(text: &str, max: usize) -> (&str, bool) {
    if text.len() <= max {
        return (text, false);
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let at_line = text[..end].rfind('\n').map(|i| i + 1).unwrap_or(0);
    // Cutting back to a line end is worth it unless it drops more than a quarter of the budget.
    let end = if at_line > end * 3 / 4 { at_line } else { end };
    (&text[..end], true)
}

/// The best-matching passage of a page for a query: the section that scores highest, and in it
/// the paragraph with the most query terms, as plain text of at most `max_chars`.
pub struct Snippet {
    pub heading: Option<String>,
    pub text: String,
    /// The section's BM25 score within the page (0 when nothing matched).
    pub score: f64,
}

pub fn snippet(body: &str, query: &[String], max_chars: usize) -> Option<Snippet> {
    let sections = split_sections(body);
    let docs: Vec<FieldedDoc> = sections
        .iter()
        .map(|(heading, text)| FieldedDoc {
            fields: vec![
                (2.0, rank::terms(heading.as_deref().unwrap_or_default())),
                (1.0, rank::terms(text)),
            ],
        })
        .collect();
    let bm25 = Bm25::new(&docs);
    let (best, score) = docs
        .iter()
        .enumerate()
        .map(|(i, d)| (i, bm25.score(d, query).0))
        .fold(None, |best: Option<(usize, f64)>, (i, s)| match best {
            Some((_, b)) if b >= s => best,
            _ => Some((i, s)),
        })?;
    let (heading, text) = &sections[best];
    let passage = best_paragraph(text, query)?;
    Some(Snippet {
        heading: heading.clone(),
        text: shorten(&passage, query, max_chars),
        score,
    })
}

/// The body split at every heading, code blocks left out (they match identifiers, not
/// questions), each section with its heading text.
fn split_sections(body: &str) -> Vec<(Option<String>, String)> {
    let heads = headings(body);
    let mut sections = Vec::new();
    let mut starts: Vec<(Option<String>, usize)> = vec![(None, 0)];
    for h in &heads {
        let line_end = body[h.start..]
            .find('\n')
            .map_or(body.len(), |i| h.start + i + 1);
        starts.push((Some(h.text.clone()), line_end));
    }
    for (i, (heading, start)) in starts.iter().enumerate() {
        let end = heads.get(i).map_or(body.len(), |h| h.start).max(*start);
        let text = without_code(&body[*start..end]);
        if heading.is_some() || !text.trim().is_empty() {
            sections.push((heading.clone(), text));
        }
    }
    sections
}

fn without_code(text: &str) -> String {
    let mut out = String::new();
    let mut in_code = false;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_code = !in_code;
            continue;
        }
        if !in_code && !is_boilerplate(line) {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// The paragraph (blank-line separated; list items and table rows count as their own) with the
/// most distinct query terms, the first one on a tie; the first paragraph when none match.
fn best_paragraph(text: &str, query: &[String]) -> Option<String> {
    let mut paragraphs: Vec<String> = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        let item = trimmed.starts_with("- ")
            || trimmed.starts_with("* ")
            || trimmed.starts_with('|')
            || trimmed.starts_with(|c: char| c.is_ascii_digit()) && trimmed.contains(". ");
        if trimmed.is_empty() || item {
            if !current.trim().is_empty() {
                paragraphs.push(std::mem::take(&mut current));
            }
            current.clear();
        }
        if !trimmed.is_empty() && !trimmed.starts_with("|-") && !trimmed.starts_with("| -") {
            current.push_str(trimmed);
            current.push(' ');
        }
    }
    if !current.trim().is_empty() {
        paragraphs.push(current);
    }
    let scored = paragraphs.iter().map(|p| {
        let terms = rank::terms(p);
        query.iter().filter(|q| terms.contains(q)).count()
    });
    let best = scored.enumerate().fold(
        (0, 0),
        |best, (i, s)| if s > best.1 { (i, s) } else { best },
    );
    paragraphs.get(best.0).map(|p| inline_text(p.trim()))
}

/// At most `max_chars` characters, starting near the first query term when the passage is long,
/// ending at a word boundary, with `…` where something was left out.
fn shorten(passage: &str, query: &[String], max_chars: usize) -> String {
    let text: String = passage.split_whitespace().collect::<Vec<_>>().join(" ");
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= max_chars {
        return text;
    }
    let words: Vec<&str> = text.split(' ').collect();
    let first_match = words
        .iter()
        .position(|w| rank::terms(w).iter().any(|t| query.contains(t)))
        .unwrap_or(0);
    // Keep a few words of context before the match.
    let start_word = first_match.saturating_sub(6);
    let mut out = String::new();
    if start_word > 0 {
        out.push('…');
    }
    for word in &words[start_word..] {
        if out.chars().count() + word.chars().count() + 2 > max_chars {
            out.push('…');
            return out;
        }
        if !out.is_empty() && !out.ends_with('…') {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = "---
title: Proxy status · Cloudflare DNS docs
description: \"Proxied records hide your origin.\"
lastUpdated: 2025-09-12T10:21:44.000Z
source_url:
  html: https://developers.cloudflare.com/dns/proxy-status/
  title: nested, ignored
---

[Skip to content](#_top)

Copy Markdown

When you add DNS records, you choose their proxy status.

## Proxied records

Proxied records (the **orange cloud**) send traffic through Cloudflare, which hides your
[origin IP](https://developers.cloudflare.com/fundamentals/concepts/how-cloudflare-works/).

```sh
# Not a heading: a comment in a shell block
curl https://api.cloudflare.com/client/v4/zones
```

### Limitations

Only A, AAAA and CNAME records can be proxied.

## DNS-only records

DNS-only records (grey cloud) answer with your origin's address.
";

    #[test]
    fn front_matter_gives_title_and_description() {
        let page = parse(PAGE);
        assert_eq!(page.title.as_deref(), Some("Proxy status"));
        assert_eq!(
            page.description.as_deref(),
            Some("Proxied records hide your origin.")
        );
        assert!(page.body.starts_with("\n[Skip to content]"));
        assert!(!clean(page.body).contains("Copy Markdown"));
        assert!(clean(page.body).starts_with("When you add"));
    }

    #[test]
    fn folded_descriptions_are_joined() {
        let page = parse(
            "---\ntitle: API token permissions · Cloudflare Fundamentals docs\ndescription: >-\n  Reference of the permissions,\n  grouped by scope.\ntags:\n  - API\n---\nBody\n",
        );
        assert_eq!(page.title.as_deref(), Some("API token permissions"));
        assert_eq!(
            page.description.as_deref(),
            Some("Reference of the permissions, grouped by scope.")
        );
        assert_eq!(page.body, "Body\n");
    }

    #[test]
    fn without_front_matter_the_first_heading_is_the_title() {
        let page = parse("# Verify Token\n\nText\n");
        assert_eq!(page.title.as_deref(), Some("Verify Token"));
        assert_eq!(page.body, "# Verify Token\n\nText\n");
        // An unterminated front matter block is all front matter: no body, no panic.
        assert_eq!(parse("---\ntitle: x\n").body, "---\ntitle: x\n");
    }

    #[test]
    fn headings_skip_code_fences_and_have_anchors() {
        let page = parse(PAGE);
        let found: Vec<(u8, String, String)> = headings(page.body)
            .into_iter()
            .map(|h| (h.level, h.text, h.anchor))
            .collect();
        assert_eq!(
            found,
            vec![
                (2, "Proxied records".into(), "proxied-records".into()),
                (3, "Limitations".into(), "limitations".into()),
                (2, "DNS-only records".into(), "dns-only-records".into()),
            ]
        );
        assert_eq!(anchor("Step 2: Test the token"), "step-2-test-the-token");
    }

    #[test]
    fn a_section_runs_to_the_next_heading_of_its_level() {
        let body = parse(PAGE).body;
        let (heading, text) = section(body, "Proxied records").expect("present");
        assert_eq!(heading.level, 2);
        assert!(text.starts_with("## Proxied records\n"));
        assert!(text.contains("### Limitations"));
        assert!(!text.contains("DNS-only records (grey"));
        assert_eq!(
            section(body, "#dns-only-records").expect("present").0.text,
            "DNS-only records"
        );
        assert_eq!(
            section(body, "limitations").expect("present").0.text,
            "Limitations"
        );
        // A unique partial match is taken; an ambiguous one is not.
        assert_eq!(
            section(body, "dns-only").expect("present").0.text,
            "DNS-only records"
        );
        assert!(section(body, "records").is_none());
        assert!(section(body, "nothing like it").is_none());
    }

    #[test]
    fn the_snippet_comes_from_the_matching_section() {
        let body = parse(PAGE).body;
        let query = rank::query_terms("grey cloud DNS only");
        let found = snippet(body, &query, 300).expect("present");
        assert_eq!(found.heading.as_deref(), Some("DNS-only records"));
        assert!(found.text.starts_with("DNS-only records (grey cloud)"));

        let query = rank::query_terms("orange cloud origin");
        let found = snippet(body, &query, 300).expect("present");
        assert_eq!(found.heading.as_deref(), Some("Proxied records"));
        assert!(found.text.contains("orange cloud"));
        assert!(
            found.text.contains("hides your origin IP"),
            "{}",
            found.text
        );
        assert!(!found.text.contains("curl"));
    }

    #[test]
    fn long_passages_are_shortened_around_the_match() {
        let long = format!(
            "{} the needle is here {}",
            "word ".repeat(200),
            "tail ".repeat(200)
        );
        let query = rank::query_terms("needle");
        let short = shorten(&long, &query, 80);
        assert!(short.chars().count() <= 80, "{short}");
        assert!(short.starts_with('…') && short.ends_with('…'));
        assert!(short.contains("needle"));
    }

    #[test]
    fn cut_prefers_a_line_end_and_respects_characters() {
        let text = "line one\nline two\nline three\n";
        assert_eq!(cut(text, 100), (text, false));
        assert_eq!(cut(text, 20), ("line one\nline two\n", true));
        let wide = "ééééé";
        let (cut_text, was_cut) = cut(wide, 5);
        assert!(was_cut);
        assert_eq!(cut_text, "éé");
    }

    #[test]
    fn inline_markdown_becomes_text() {
        assert_eq!(
            inline_text("See [the **API**](https://x/) and `code` [not a link"),
            "See the API and code [not a link"
        );
    }

    /// The `inline_text` before the searches were remembered: one scan per `[`.
    fn inline_text_by_rescanning(text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(open) = rest.find('[') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            match after.find("](").and_then(|mid| {
                let close = after[mid + 2..].find(')')?;
                Some((mid, mid + 2 + close))
            }) {
                Some((mid, close)) if !after[..mid].contains('\n') => {
                    out.push_str(&after[..mid]);
                    rest = &after[close + 1..];
                }
                _ => {
                    out.push('[');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out.replace("**", "")
            .replace('`', "")
            .replace("\\_", "_")
            .trim()
            .to_string()
    }

    #[test]
    fn inline_text_reads_links_as_it_did_on_every_short_text() {
        let alphabet = ['[', ']', '(', ')', '\n', 'a'];
        let mut text = String::new();
        for length in 0..=6u32 {
            for mut n in 0..alphabet.len().pow(length) {
                text.clear();
                for _ in 0..length {
                    text.push(alphabet[n % alphabet.len()]);
                    n /= alphabet.len();
                }
                assert_eq!(
                    inline_text(&text),
                    inline_text_by_rescanning(&text),
                    "{text:?}"
                );
            }
        }
    }

    /// Found by timing what the `docs_markdown` fuzzer runs on large inputs: a heading or a
    /// paragraph of many `[` and no link took a search to the end of the text per `[` (a 40 kB
    /// line took 3 s); now it is one pass.
    #[test]
    fn many_brackets_without_a_link_are_read_once() {
        let line = "[".repeat(200_000);
        assert_eq!(inline_text(&line), line);
        let no_close = format!("{}](x", "[a".repeat(100_000));
        assert_eq!(inline_text(&no_close), no_close);
        let lines = format!("{}](x)", "[\n".repeat(100_000));
        assert_eq!(inline_text(&lines), lines.trim());
        let page = format!("# {}\n\n{}\n", "[".repeat(100_000), "[x ".repeat(100_000));
        assert_eq!(headings(&page).len(), 1);
        assert!(snippet(&page, &rank::query_terms("x"), 300).is_some());
    }

    #[test]
    fn html_is_recognized() {
        assert!(looks_like_html("\n<!DOCTYPE html><html>"));
        assert!(looks_like_html("<html lang=en>"));
        assert!(!looks_like_html("---\ntitle: x\n---\n"));
        assert!(!looks_like_html(""));
    }
}
