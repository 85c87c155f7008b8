//! Tokenizing and BM25 ranking for the documentation search.
//!
//! Hand-written rather than a search crate: the corpus is a few hundred index lines and a few
//! pages per query, and a full engine (or a Snowball stemmer for every language) would cost more
//! component size than the whole service.

pub use crate::cloudflare::text::stem;
use std::collections::{HashMap, HashSet};

/// BM25 term-frequency saturation and length normalization, the usual values.
const K1: f64 = 1.2;
const B: f64 = 0.75;

/// Words that carry no meaning in a question about the docs.
const STOP_WORDS: &[&str] = &[
    "a", "about", "an", "and", "are", "as", "at", "be", "by", "can", "do", "does", "for", "from",
    "get", "how", "i", "if", "in", "into", "is", "it", "its", "me", "my", "of", "on", "or", "our",
    "should", "that", "the", "their", "there", "this", "to", "use", "using", "was", "what", "when",
    "where", "which", "who", "why", "will", "with", "you", "your",
];

/// Lower-cased, stemmed terms of `text`, stop words removed. `camelCase` identifiers also give
/// their parts (`dnsAnalyticsAdaptiveGroups` → dns, analytics, adaptive, group), so schema names
/// in a question match prose.
pub fn terms(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for word in text.split(|c: char| !c.is_alphanumeric()) {
        if word.is_empty() {
            continue;
        }
        let parts = camel_parts(word);
        if parts.len() > 1 {
            out.extend(parts.iter().filter_map(|p| term(p)));
        }
        out.extend(term(word));
    }
    out
}

/// Distinct query terms, in order.
pub fn query_terms(text: &str) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut terms: Vec<String> = terms(text)
        .into_iter()
        .filter(|t| seen.insert(t.clone()))
        .collect();
    if terms.is_empty() {
        // A question made only of stop words ("how to") still searches for its words.
        terms = text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(|w| stem(&w.to_lowercase()))
            .filter(|t| seen.insert(t.clone()))
            .collect();
    }
    terms
}

fn term(word: &str) -> Option<String> {
    let lower = word.to_lowercase();
    // Single letters are left-overs of "zone's" or "e.g.", not words; single digits count.
    let letter = lower.chars().count() == 1 && !lower.starts_with(|c: char| c.is_ascii_digit());
    if letter || STOP_WORDS.contains(&lower.as_str()) {
        return None;
    }
    Some(stem(&lower))
}

fn camel_parts(word: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let chars: Vec<(usize, char)> = word.char_indices().collect();
    for window in chars.windows(2) {
        let ((_, a), (i, b)) = (window[0], window[1]);
        if a.is_lowercase() && b.is_uppercase() {
            parts.push(&word[start..i]);
            start = i;
        }
    }
    parts.push(&word[start..]);
    parts
}

/// One document for BM25F: its fields' terms, each field with a weight.
pub struct FieldedDoc {
    pub fields: Vec<(f64, Vec<String>)>,
}

/// BM25F over a small collection: each field's term frequency is weighted and normalized by the
/// field's average length, then saturated once per term.
pub struct Bm25 {
    /// Per field: average length.
    average_lengths: Vec<f64>,
    /// Documents containing each term.
    document_frequency: HashMap<String, usize>,
    documents: usize,
}

impl Bm25 {
    pub fn new(docs: &[FieldedDoc]) -> Self {
        let field_count = docs.iter().map(|d| d.fields.len()).max().unwrap_or(0);
        let mut totals = vec![0usize; field_count];
        let mut document_frequency: HashMap<String, usize> = HashMap::new();
        for doc in docs {
            let mut seen = HashSet::new();
            for (i, (_, terms)) in doc.fields.iter().enumerate() {
                totals[i] += terms.len();
                for term in terms {
                    if seen.insert(term.as_str()) {
                        *document_frequency.entry(term.clone()).or_default() += 1;
                    }
                }
            }
        }
        let count = docs.len().max(1) as f64;
        Bm25 {
            average_lengths: totals
                .iter()
                .map(|&t| (t as f64 / count).max(1.0))
                .collect(),
            document_frequency,
            documents: docs.len(),
        }
    }

    /// Inverse document frequency, never negative (a term in most documents still counts a bit).
    pub fn idf(&self, term: &str) -> f64 {
        let n = self.documents as f64;
        let df = self.document_frequency.get(term).copied().unwrap_or(0) as f64;
        ((n - df + 0.5) / (df + 0.5) + 1.0).ln()
    }

    /// The score of `doc` for `query` (distinct terms), and how many query terms it matched.
    pub fn score(&self, doc: &FieldedDoc, query: &[String]) -> (f64, usize) {
        let mut score = 0.0;
        let mut matched = 0;
        for term in query {
            let mut weighted_tf = 0.0;
            for (i, (weight, terms)) in doc.fields.iter().enumerate() {
                let tf = terms.iter().filter(|t| *t == term).count() as f64;
                if tf == 0.0 {
                    continue;
                }
                let average = self.average_lengths.get(i).copied().unwrap_or(1.0);
                let norm = 1.0 - B + B * terms.len() as f64 / average;
                weighted_tf += weight * tf / norm;
            }
            if weighted_tf > 0.0 {
                matched += 1;
                score += self.idf(term) * weighted_tf * (K1 + 1.0) / (weighted_tf + K1);
            }
        }
        (score, matched)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn terms_fold_case_punctuation_stop_words_and_endings() {
        assert_eq!(
            terms("How do I create an API token?"),
            strings(&["creat", "api", "token"])
        );
        assert_eq!(
            terms("Proxied records (orange-cloud)"),
            strings(&["proxy", "record", "orang", "cloud"])
        );
        assert_eq!(terms("Proxy status"), strings(&["proxy", "status"]));
        assert_eq!(terms("zones, Zone"), strings(&["zon", "zon"]));
        assert_eq!(
            terms("caching cached cache"),
            strings(&["cach", "cach", "cach"])
        );
        assert_eq!(
            terms("DNS R2 WAF TLS"),
            strings(&["dns", "r2", "waf", "tls"])
        );
        assert_eq!(terms("querying queries"), strings(&["query", "query"]));
        assert_eq!(terms("access status"), strings(&["access", "status"]));
        assert_eq!(terms("zone's e.g. 1 2"), strings(&["zon", "1", "2"]));
    }

    #[test]
    fn camel_case_names_give_their_parts() {
        assert_eq!(
            terms("dnsAnalyticsAdaptiveGroups"),
            strings(&[
                "dns",
                "analytic",
                "adaptiv",
                "group",
                "dnsanalyticsadaptivegroup"
            ])
        );
    }

    #[test]
    fn a_question_of_stop_words_still_has_terms() {
        assert_eq!(query_terms("how to"), strings(&["how", "to"]));
        assert_eq!(query_terms("token token TOKENS"), strings(&["token"]));
    }

    #[test]
    fn bm25_prefers_rare_terms_and_title_weight() {
        let doc = |title: &str, body: &str| FieldedDoc {
            fields: vec![(3.0, terms(title)), (1.0, terms(body))],
        };
        let docs = vec![
            doc("Create API token", "Create a token in the dashboard"),
            doc(
                "API reference",
                "Every API endpoint, with tokens mentioned once",
            ),
            doc("Workers", "Build serverless applications with the API"),
        ];
        let bm25 = Bm25::new(&docs);
        let query = query_terms("create an API token");
        let scores: Vec<(f64, usize)> = docs.iter().map(|d| bm25.score(d, &query)).collect();
        assert!(
            scores[0].0 > scores[1].0 && scores[1].0 > scores[2].0,
            "{scores:?}"
        );
        assert_eq!(scores[0].1, 3);
        assert_eq!(scores[2].1, 1);
        assert!(bm25.idf("create") > bm25.idf("api"));
        assert!(bm25.idf("api") > 0.0);
    }
}
