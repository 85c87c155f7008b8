//! Word folding shared by the documentation search and the schema search, so both match
//! "zones" to "zone" the same way.

/// A light English stemmer: plural and verb endings only, enough for "zones"/"zone",
/// "proxied"/"proxy", "limits"/"limit", "querying"/"query". Short words (DNS, R2, WAF, TLS) are
/// left alone.
pub fn stem(word: &str) -> String {
    if word.len() <= 3 || !word.is_ascii() {
        return word.to_string();
    }
    let strip = |suffix: &str, replacement: &str| -> Option<String> {
        let stem = word.strip_suffix(suffix)?;
        (stem.len() >= 3).then(|| format!("{stem}{replacement}"))
    };
    let stemmed = strip("ies", "y")
        .or_else(|| strip("ied", "y"))
        .or_else(|| strip("sses", "ss"))
        .or_else(|| {
            if word.ends_with("ss") || word.ends_with("us") || word.ends_with("is") {
                None
            } else {
                strip("s", "")
            }
        })
        .or_else(|| strip("ing", ""))
        .or_else(|| strip("ed", ""))
        .unwrap_or_else(|| word.to_string());
    // "caching" → "cach", "cached" → "cach", "cache" → "cach": one stem for all three.
    match stemmed.strip_suffix('e') {
        Some(base) if base.len() >= 3 && !base.ends_with('e') => base.to_string(),
        _ => stemmed,
    }
}

#[cfg(test)]
mod tests {
    use super::stem;

    #[test]
    fn plural_and_verb_endings_fold_and_short_words_stay() {
        for (word, folded) in [
            ("countries", "country"),
            ("requests", "request"),
            ("zones", "zon"),
            ("zone", "zon"),
            ("proxied", "proxy"),
            ("limits", "limit"),
            ("querying", "query"),
            ("caching", "cach"),
            ("cached", "cach"),
            ("cache", "cach"),
            ("blocked", "block"),
            ("status", "status"),
            ("access", "access"),
            ("classes", "class"),
            ("dns", "dns"),
            ("waf", "waf"),
            ("müll", "müll"),
        ] {
            assert_eq!(stem(word), folded, "{word}");
        }
    }
}
