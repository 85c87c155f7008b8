//! The token taken out of an answer before the guest reads it: an upstream that echoes the
//! request (a proxy quoting `Authorization` in an error page or a header) would otherwise hand
//! the guest the token the host added.
//!
//! A body is scrubbed as it streams, never buffered whole: [`BodyScrubber`] replaces each
//! occurrence of the token, in any ASCII case, by a marker of the token's own length
//! ([`body_marker`], `[REDACTED***…]`), so the answer's `Content-Length` stays true and the guest
//! can size its buffer from it; it keeps back between chunks
//! only the end of what came that could begin the token (fewer bytes than the token), so a token
//! split across chunks is still caught; the rest is passed on at the end. The scan is `memmem`
//! over a lowercased copy of each chunk: linear in the body, whatever it holds.
//!
//! Header values are short and whole, so they get the redaction of logs (`redact.rs`): the token
//! in any case, percent-encoded or `\u`-escaped, and any piece of it of
//! [`MIN_RUN`](super::redact::MIN_RUN) characters or more. A header whose *name* holds the token
//! is removed (a name cannot hold the marker).

use super::redact::{REDACTED, Redactor};
use bytes::{Bytes, BytesMut};
use memchr::memmem;
use std::sync::Arc;

/// What stands for the token in a body: `[REDACTED` and `]` around `*`s, as long as the token
/// (only `*`s for a token shorter than `[REDACTED]`), so the body keeps its length.
pub fn body_marker(length: usize) -> Vec<u8> {
    let tag = REDACTED.as_bytes();
    if length < tag.len() {
        return vec![b'*'; length];
    }
    let mut marker = tag[..tag.len() - 1].to_vec();
    marker.resize(length - 1, b'*');
    marker.push(b']');
    marker
}

/// Replaces the token, in any ASCII case, by [`body_marker`] in a body read as a stream of
/// chunks.
pub(super) struct BodyScrubber {
    /// Finds the token, lowercased.
    finder: memmem::Finder<'static>,
    /// What replaces it: as long as the token.
    marker: Vec<u8>,
    /// The end of what came so far that could begin the token: fewer bytes than the token.
    held: Vec<u8>,
    /// The bytes being searched, lowercased (kept to reuse its allocation).
    lower: Vec<u8>,
    /// Occurrences replaced so far.
    found: u64,
}

impl BodyScrubber {
    /// `token` is not empty (an [`ApiToken`](super::ApiToken) never is).
    pub(super) fn new(token: &str) -> Self {
        let token = token.to_ascii_lowercase();
        BodyScrubber::with(memmem::Finder::new(token.as_bytes()).into_owned())
    }

    fn with(finder: memmem::Finder<'static>) -> Self {
        BodyScrubber {
            marker: body_marker(finder.needle().len()),
            finder,
            held: Vec::new(),
            lower: Vec::new(),
            found: 0,
        }
    }

    fn token(&self) -> &[u8] {
        self.finder.needle()
    }

    /// The next chunk of the body; returns what may be passed on now (possibly nothing, when
    /// all of it could be the start of the token).
    pub(super) fn push(&mut self, chunk: Bytes) -> Bytes {
        if self.held.is_empty() {
            return self.scan(chunk);
        }
        let mut joined = Vec::with_capacity(self.held.len() + chunk.len());
        joined.append(&mut self.held);
        joined.extend_from_slice(&chunk);
        self.scan(Bytes::from(joined))
    }

    /// The body has ended: what was kept back was not the token, and is passed on as it came.
    pub(super) fn finish(&mut self) -> Bytes {
        Bytes::from(std::mem::take(&mut self.held))
    }

    /// Whether bytes are kept back, waiting for the next chunk or the end.
    pub(super) fn holding(&self) -> bool {
        !self.held.is_empty()
    }

    fn scan(&mut self, data: Bytes) -> Bytes {
        let length = self.token().len();
        self.lower.clear();
        self.lower
            .extend(data.iter().map(|b| b.to_ascii_lowercase()));
        let mut out: Option<BytesMut> = None;
        let mut copied = 0;
        for at in self.finder.find_iter(&self.lower) {
            let out = out.get_or_insert_with(|| BytesMut::with_capacity(data.len()));
            out.extend_from_slice(&data[copied..at]);
            out.extend_from_slice(&self.marker);
            copied = at + length;
            self.found += 1;
        }
        let end = data.len() - self.partial_token_at_end(copied);
        self.held.extend_from_slice(&data[end..]);
        match out {
            None => data.slice(copied..end),
            Some(mut out) => {
                out.extend_from_slice(&data[copied..end]);
                out.freeze()
            }
        }
    }

    /// How many of the last bytes searched (none before `from`) are the token's first bytes:
    /// the longest such end, shorter than the token.
    fn partial_token_at_end(&self, from: usize) -> usize {
        let lower = &self.lower;
        let token = self.token();
        let longest = (token.len() - 1).min(lower.len() - from);
        (1..=longest)
            .rev()
            .find(|&k| lower[lower.len() - k..] == token[..k])
            .unwrap_or(0)
    }
}

/// The token taken out of one response, its headers and its body, before the guest reads it;
/// made by [`ApiToken::response_scrub`](super::ApiToken::response_scrub). It never shows the
/// token: it has no `Debug`, and [`ResponseScrub::found`] is a count.
pub struct ResponseScrub {
    redactor: Arc<Redactor>,
    body: BodyScrubber,
    /// Header names and values changed or removed so far.
    headers: u64,
}

impl ResponseScrub {
    pub(super) fn new(token: &str, redactor: Arc<Redactor>) -> Self {
        ResponseScrub {
            redactor,
            body: BodyScrubber::new(token),
            headers: 0,
        }
    }

    /// Takes the token out of `headers` (the response's, or its trailers): a value holding it
    /// has it replaced by `[REDACTED]`; a header whose name holds it is removed. Returns how
    /// many headers were changed or removed.
    pub fn headers(&mut self, headers: &mut http::HeaderMap) -> u64 {
        let named: Vec<http::HeaderName> = headers
            .keys()
            .filter(|name| self.redactor.redact(name.as_str()) != name.as_str())
            .cloned()
            .collect();
        let mut changed = 0;
        for name in named {
            changed += headers.get_all(&name).iter().count() as u64;
            headers.remove(&name);
        }
        for (_, value) in headers.iter_mut() {
            if let Some(clean) = self.clean_value(value.as_bytes()) {
                *value = clean;
                changed += 1;
            }
        }
        self.headers += changed;
        changed
    }

    /// A header value without the token, or `None` when it holds none.
    fn clean_value(&self, value: &[u8]) -> Option<http::HeaderValue> {
        let cleaned = match std::str::from_utf8(value) {
            Ok(text) => {
                let redacted = self.redactor.redact(text);
                if redacted == text {
                    return None;
                }
                redacted.into_bytes()
            }
            // Bytes outside UTF-8 (obs-text): the body's scan, on the value alone.
            Err(_) => {
                let mut one = BodyScrubber::with(self.body.finder.clone());
                let mut out = one.push(Bytes::copy_from_slice(value)).to_vec();
                out.extend_from_slice(&one.finish());
                if one.found == 0 {
                    return None;
                }
                out
            }
        };
        // The redaction only adds ASCII to what was a valid value; should the value still be
        // refused, none of it is kept.
        let mut clean = http::HeaderValue::from_bytes(&cleaned)
            .unwrap_or_else(|_| http::HeaderValue::from_static(REDACTED));
        clean.set_sensitive(true);
        Some(clean)
    }

    /// The next chunk of the body; returns what the guest may read now (possibly nothing).
    pub fn push(&mut self, chunk: Bytes) -> Bytes {
        self.body.push(chunk)
    }

    /// The body has ended: the bytes kept back, which were not the token.
    pub fn finish(&mut self) -> Bytes {
        self.body.finish()
    }

    /// Whether body bytes are kept back, waiting for the next chunk or the end.
    pub fn holding(&self) -> bool {
        self.body.holding()
    }

    /// How often the token was taken out: headers changed or removed, and occurrences in the
    /// body.
    pub fn found(&self) -> u64 {
        self.headers + self.body.found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "cfut_Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFT";

    /// The body cut at `cuts` (positions, ascending), through one scrubber: what the guest
    /// reads, and how many occurrences were replaced. No chunk passed on is empty but the end.
    fn scrub(body: &[u8], cuts: &[usize]) -> (Vec<u8>, u64) {
        let mut scrubber = BodyScrubber::new(TOKEN);
        let mut out = Vec::new();
        let mut from = 0;
        for &cut in cuts.iter().chain([body.len()].iter()) {
            out.extend_from_slice(&scrubber.push(Bytes::copy_from_slice(&body[from..cut])));
            assert!(
                scrubber.held.len() < TOKEN.len(),
                "keeps back less than the token"
            );
            from = cut;
        }
        out.extend_from_slice(&scrubber.finish());
        assert!(!scrubber.holding());
        (out, scrubber.found)
    }

    fn whole(body: &[u8]) -> (Vec<u8>, u64) {
        scrub(body, &[])
    }

    fn bytes_one_by_one(body: &[u8]) -> (Vec<u8>, u64) {
        let cuts: Vec<usize> = (1..body.len()).collect();
        scrub(body, &cuts)
    }

    /// What the body gets in place of [`TOKEN`].
    fn marker() -> String {
        String::from_utf8(body_marker(TOKEN.len())).expect("ASCII")
    }

    #[test]
    fn the_marker_is_as_long_as_the_token_so_the_length_stays_true() {
        for length in [1, 5, 9, 10, 11, 40, 64] {
            assert_eq!(body_marker(length).len(), length);
        }
        assert_eq!(body_marker(10), b"[REDACTED]");
        assert_eq!(body_marker(12), b"[REDACTED**]");
        assert_eq!(body_marker(3), b"***");
        let body = format!("a {TOKEN} b");
        assert_eq!(whole(body.as_bytes()).0.len(), body.len());
    }

    fn text(out: (Vec<u8>, u64)) -> (String, u64) {
        (String::from_utf8(out.0).expect("UTF-8"), out.1)
    }

    #[test]
    fn the_token_whole_in_one_chunk_is_replaced() {
        let body = format!(r#"{{"echo":"Bearer {TOKEN}","ok":true}}"#);
        assert_eq!(
            text(whole(body.as_bytes())),
            (format!(r#"{{"echo":"Bearer {}","ok":true}}"#, marker()), 1)
        );
        assert_eq!(text(whole(TOKEN.as_bytes())), (marker(), 1));
    }

    #[test]
    fn the_token_split_across_two_chunks_is_replaced_wherever_the_cut() {
        let body = format!("x {TOKEN} y");
        for cut in 0..=body.len() {
            assert_eq!(
                text(scrub(body.as_bytes(), &[cut])),
                (format!("x {} y", marker()), 1),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn the_token_in_one_byte_chunks_is_replaced() {
        let body = format!("Authorization: Bearer {TOKEN}\r\n");
        assert_eq!(
            text(bytes_one_by_one(body.as_bytes())),
            (format!("Authorization: Bearer {}\r\n", marker()), 1)
        );
    }

    #[test]
    fn several_occurrences_and_any_case_are_replaced() {
        let upper = TOKEN.to_ascii_uppercase();
        let lower = TOKEN.to_ascii_lowercase();
        let body = format!("{TOKEN}{TOKEN} a {upper} b {lower}");
        let m = marker();
        let expected = format!("{m}{m} a {m} b {m}");
        assert_eq!(text(whole(body.as_bytes())), (expected.clone(), 4));
        assert_eq!(
            text(bytes_one_by_one(body.as_bytes())),
            (expected.clone(), 4)
        );
        // Cut every 7 bytes.
        let cuts: Vec<usize> = (7..body.len()).step_by(7).collect();
        assert_eq!(text(scrub(body.as_bytes(), &cuts)), (expected, 4));
    }

    #[test]
    fn a_prefix_of_the_token_at_the_end_of_the_body_is_passed_on_unchanged() {
        for keep in 1..TOKEN.len() {
            let body = format!("abc {}", &TOKEN[..keep]);
            assert_eq!(text(whole(body.as_bytes())), (body.clone(), 0), "{keep}");
            assert_eq!(text(bytes_one_by_one(body.as_bytes())), (body.clone(), 0));
        }
        // The token's start twice, then the token: only the token goes.
        let body = format!("{}{}{TOKEN}", &TOKEN[..10], &TOKEN[..30]);
        let expected = format!("{}{}{}", &TOKEN[..10], &TOKEN[..30], marker());
        assert_eq!(text(bytes_one_by_one(body.as_bytes())), (expected, 1));
    }

    #[test]
    fn a_body_without_the_token_is_passed_on_byte_for_byte() {
        // Every byte value, and text near the token's alphabet.
        let mut body: Vec<u8> = (0..=255).collect();
        body.extend_from_slice(b"cfut_ cfut_Sn3l account 01a7362d577a6c3019a474fd6f485823");
        assert_eq!(whole(&body), (body.clone(), 0));
        assert_eq!(bytes_one_by_one(&body), (body.clone(), 0));
        // Passed on as it came, without a copy, when nothing needs keeping back.
        let mut scrubber = BodyScrubber::new(TOKEN);
        let chunk = Bytes::from_static(b"{\"result\":[]}");
        let out = scrubber.push(chunk.clone());
        assert_eq!(out.as_ptr(), chunk.as_ptr());
    }

    #[test]
    fn an_empty_body_stays_empty() {
        assert_eq!(whole(b""), (Vec::new(), 0));
        let mut scrubber = BodyScrubber::new(TOKEN);
        assert!(scrubber.push(Bytes::new()).is_empty());
        assert!(scrubber.finish().is_empty());
    }

    #[test]
    fn any_cuts_give_what_one_chunk_gives() {
        // A deterministic spread of cuts over a body with tokens, pieces and near misses.
        let body = format!(
            "{}{TOKEN}--{}{}x{TOKEN}{}",
            &TOKEN[..5],
            &TOKEN[..39],
            &TOKEN[..40].to_ascii_uppercase(),
            &TOKEN[..20]
        );
        let expected = whole(body.as_bytes());
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..500 {
            let mut cuts = Vec::new();
            let mut at = 0;
            loop {
                seed = seed
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                at += (seed >> 59) as usize;
                if at >= body.len() {
                    break;
                }
                cuts.push(at);
            }
            assert_eq!(scrub(body.as_bytes(), &cuts), expected, "cuts {cuts:?}");
        }
        assert_eq!(expected.1, 2);
    }

    #[test]
    fn a_one_character_token_keeps_nothing_back() {
        let mut scrubber = BodyScrubber::new("q");
        assert_eq!(&scrubber.push(Bytes::from_static(b"aqQb"))[..], b"a**b");
        assert!(!scrubber.holding());
    }

    fn response_scrub() -> ResponseScrub {
        ResponseScrub::new(TOKEN, Arc::new(Redactor::new(TOKEN)))
    }

    #[test]
    fn header_values_holding_the_token_have_it_replaced_and_others_are_untouched() {
        let mut headers = http::HeaderMap::new();
        headers.insert("x-echo", format!("Bearer {TOKEN}").parse().expect("value"));
        headers.insert(
            "x-request-headers",
            format!("host=api.cloudflare.com; authorization=Bearer {TOKEN}; accept=*/*")
                .parse()
                .expect("value"),
        );
        headers.append(
            "x-echo",
            format!("bearer {}", TOKEN.to_ascii_lowercase())
                .parse()
                .expect("value"),
        );
        headers.insert("content-type", "application/json".parse().expect("value"));
        let mut bytes = b"caf\xe9 ".to_vec();
        bytes.extend_from_slice(TOKEN.as_bytes());
        headers.insert(
            "x-latin1",
            http::HeaderValue::from_bytes(&bytes).expect("obs-text"),
        );
        let mut scrub = response_scrub();
        assert_eq!(scrub.headers(&mut headers), 4);
        let values: Vec<&[u8]> = headers
            .get_all("x-echo")
            .iter()
            .map(|v| v.as_bytes())
            .collect();
        assert_eq!(values, [&b"Bearer [REDACTED]"[..], b"bearer [REDACTED]"]);
        assert_eq!(
            headers["x-request-headers"],
            "host=api.cloudflare.com; authorization=Bearer [REDACTED]; accept=*/*"
        );
        // A value that is not UTF-8 is scanned as bytes, as a body is.
        let mut latin1 = b"caf\xe9 ".to_vec();
        latin1.extend(body_marker(TOKEN.len()));
        assert_eq!(headers["x-latin1"].as_bytes(), &latin1[..]);
        assert!(headers["x-echo"].is_sensitive());
        assert_eq!(headers["content-type"], "application/json");
        assert_eq!(scrub.found(), 4);
    }

    #[test]
    fn a_header_named_after_the_token_is_removed() {
        let mut headers = http::HeaderMap::new();
        let name = http::HeaderName::from_bytes(TOKEN.as_bytes()).expect("a valid name");
        headers.insert(name, "1".parse().expect("value"));
        headers.insert("x-ok", "fine".parse().expect("value"));
        let mut scrub = response_scrub();
        assert_eq!(scrub.headers(&mut headers), 1);
        assert_eq!(headers.len(), 1);
        assert_eq!(headers["x-ok"], "fine");
    }

    #[test]
    fn the_count_adds_headers_and_body_occurrences() {
        let mut scrub = response_scrub();
        let mut headers = http::HeaderMap::new();
        headers.insert("x-echo", TOKEN.parse().expect("value"));
        scrub.headers(&mut headers);
        let mut out = scrub
            .push(Bytes::from(format!("{TOKEN} {}", &TOKEN[..9])))
            .to_vec();
        assert!(scrub.holding());
        out.extend_from_slice(&scrub.push(Bytes::from(TOKEN[9..].to_string())));
        out.extend_from_slice(&scrub.finish());
        assert_eq!(out, format!("{m} {m}", m = marker()).as_bytes());
        assert_eq!(scrub.found(), 3);
    }
}
