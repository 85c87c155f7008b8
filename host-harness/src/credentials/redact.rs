//! Finding the token in text however a body wrote it: as it is, in another case, with some or
//! all of its characters percent-encoded (`%63`, `%6A` or `%6a`) or JSON-escaped (`\u0063`), or
//! cut short to any run of [`MIN_RUN`] of its characters.
//!
//! One pass over the text: each token-alphabet character (however written) extends a run, any
//! other byte ends it, and a run is searched through the token's windows of [`MIN_RUN`]
//! characters held in a set, so the work is linear in the text.

use std::collections::HashSet;

/// Whether `c` may be part of a token. Cloudflare's tokens are `[A-Za-z0-9_-]`; `.` is allowed
/// too for dotted formats. Nothing else is: no spaces, quotes or other punctuation a copy and
/// paste could add, and nothing an HTTP header or a log line would need to escape. (Defined here,
/// where the redaction's runs are made of it, so `fuzz/` can build this file on its own.)
pub fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')
}

/// The shortest part of the token that is redacted on its own: 16 characters of a 40-character
/// token are still most of a secret, while 16 characters of ordinary text are never one by chance.
pub const MIN_RUN: usize = 16;

/// What stands in the token's place, here and in the responses the guest reads (`scrub.rs`).
pub(super) const REDACTED: &str = "[REDACTED]";

/// How much of a long run is searched at a time.
const RUN_CHUNK: usize = 64 * 1024;

pub(super) struct Redactor {
    /// The token in ASCII lowercase (matching ignores case).
    token: Vec<u8>,
    /// `MIN_RUN`, or the whole token when it is shorter.
    window: usize,
    windows: HashSet<Vec<u8>>,
    /// Bytes a window starts with: most positions are ruled out without hashing.
    first: [bool; 256],
}

impl Redactor {
    pub(super) fn new(token: &str) -> Self {
        let token = token.to_ascii_lowercase().into_bytes();
        let window = MIN_RUN.min(token.len()).max(1);
        let windows: HashSet<Vec<u8>> = token.windows(window).map(<[u8]>::to_vec).collect();
        let mut first = [false; 256];
        for w in &windows {
            first[usize::from(w[0])] = true;
        }
        Redactor {
            token,
            window,
            windows,
            first,
        }
    }

    pub(super) fn redact(&self, text: &str) -> String {
        let bytes = text.as_bytes();
        let mut spans = Vec::new();
        let mut run = Run::default();
        let mut at = 0;
        while at < bytes.len() {
            match decode_at(bytes, at) {
                Some((c, next)) => {
                    run.chars.push(c);
                    run.starts.push(at);
                    at = next;
                    // A long run is searched as it comes, keeping only a token's length of it
                    // (the longest match that can start in what is left), so memory stays flat.
                    if run.chars.len() >= RUN_CHUNK + self.token.len() {
                        let searched =
                            self.find(&run, at, run.chars.len() - self.token.len(), &mut spans);
                        run.chars.drain(..searched);
                        run.starts.drain(..searched);
                    }
                }
                None => {
                    self.find(&run, at, usize::MAX, &mut spans);
                    run.chars.clear();
                    run.starts.clear();
                    at += 1;
                }
            }
        }
        self.find(&run, bytes.len(), usize::MAX, &mut spans);
        if spans.is_empty() {
            return text.to_string();
        }
        let mut merged: Vec<(usize, usize)> = Vec::with_capacity(spans.len());
        for (start, end) in spans {
            match merged.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        let mut out = String::with_capacity(text.len());
        let mut copied = 0;
        for (start, end) in merged {
            out.push_str(&text[copied..start]);
            out.push_str(REDACTED);
            copied = end;
        }
        out.push_str(&text[copied..]);
        out
    }

    /// The parts of `run` (ending at byte `end` of the text) that are the token or a long enough
    /// piece of it, as byte spans of the text, for matches starting before `before`; returns
    /// how far it searched.
    fn find(&self, run: &Run, end: usize, before: usize, spans: &mut Vec<(usize, usize)>) -> usize {
        let w = self.window;
        let chars = &run.chars;
        let mut i = 0;
        while i + w <= chars.len() && i < before {
            if self.first[usize::from(chars[i])] && self.windows.contains(&chars[i..i + w]) {
                let len = self.longest_match(&chars[i..]);
                let stop = i + len;
                let stop_byte = run.starts.get(stop).copied().unwrap_or(end);
                spans.push((run.starts[i], stop_byte));
                i = stop;
            } else {
                i += 1;
            }
        }
        i.min(chars.len())
    }

    /// How far `chars` (whose first window is one of the token's) goes on matching the token.
    fn longest_match(&self, chars: &[u8]) -> usize {
        let w = self.window;
        (0..=self.token.len() - w)
            .filter(|&j| self.token[j..j + w] == chars[..w])
            .map(|j| {
                self.token[j..]
                    .iter()
                    .zip(chars)
                    .take_while(|(a, b)| a == b)
                    .count()
            })
            .max()
            .unwrap_or(w)
    }
}

#[derive(Default)]
struct Run {
    /// The run's characters, ASCII lowercase.
    chars: Vec<u8>,
    /// Where each is written in the text.
    starts: Vec<usize>,
}

/// The token-alphabet character written at `at` (plainly, `%XX` or `\uXXXX`), lowercased, and
/// where its writing ends.
fn decode_at(bytes: &[u8], at: usize) -> Option<(u8, usize)> {
    let (value, next) = match bytes[at] {
        b'%' => (hex_value(bytes.get(at + 1..at + 3)?)?, at + 3),
        b'\\' if bytes.get(at + 1) == Some(&b'u') => {
            (hex_value(bytes.get(at + 2..at + 6)?)?, at + 6)
        }
        b => (u32::from(b), at + 1),
    };
    let c = char::from_u32(value).filter(|c| is_token_char(*c))?;
    Some((c.to_ascii_lowercase() as u8, next))
}

fn hex_value(digits: &[u8]) -> Option<u32> {
    digits.iter().try_fold(0u32, |acc, d| {
        let digit = char::from(*d).to_digit(16)?;
        Some(acc * 16 + digit)
    })
}

/// The `redact` fuzz target (`fuzz/`), and the replay of its kept inputs: the token is planted
/// in the text the way the first byte says (whole, in capitals, percent-encoded, `\u`-escaped,
/// a 16-character piece, or not at all), and after redaction no run of [`MIN_RUN`] of its
/// characters survives, however the output writes it.
#[doc(hidden)]
pub fn fuzz_entry(data: &[u8]) {
    const TOKEN: &str = "cfut_Fake0Token0never0print0me0f3b2a9e7d4c6b1a";
    let (how, rest) = data.split_first().unwrap_or((&0, &[]));
    let text = String::from_utf8_lossy(rest);
    let at = text
        .char_indices()
        .map(|(i, _)| i)
        .nth(usize::from(how >> 3))
        .unwrap_or(text.len());
    let planted: String = match how & 7 {
        0 => String::new(),
        1 => TOKEN.to_string(),
        2 => TOKEN.to_ascii_uppercase(),
        3 => TOKEN.bytes().map(|b| format!("%{b:02x}")).collect(),
        4 => TOKEN.bytes().map(|b| format!("\\u{b:04X}")).collect(),
        5 => TOKEN[3..3 + MIN_RUN].to_string(),
        6 => TOKEN
            .bytes()
            .enumerate()
            .map(|(i, b)| {
                if i % 2 == 0 {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect(),
        _ => TOKEN[TOKEN.len() - MIN_RUN..].to_ascii_uppercase(),
    };
    let text = format!("{}{planted}{}", &text[..at], &text[at..]);
    let out = Redactor::new(TOKEN).redact(&text);
    // The output as a reader would decode it, written independently of `decode_at`.
    let bytes = out.as_bytes();
    let hex = |digits: &[u8]| {
        std::str::from_utf8(digits)
            .ok()
            .and_then(|d| u32::from_str_radix(d, 16).ok())
            .filter(|_| digits.iter().all(u8::is_ascii_hexdigit))
    };
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let (value, width) = match bytes[i] {
            b'%' => bytes
                .get(i + 1..i + 3)
                .and_then(hex)
                .map_or((None, 1), |v| (Some(v), 3)),
            b'\\' if bytes.get(i + 1) == Some(&b'u') => bytes
                .get(i + 2..i + 6)
                .and_then(hex)
                .map_or((None, 1), |v| (Some(v), 6)),
            _ => (None, 1),
        };
        decoded.push(match value {
            Some(v) => u8::try_from(v).unwrap_or(0).to_ascii_lowercase(),
            None => bytes[i].to_ascii_lowercase(),
        });
        i += width;
    }
    let token = TOKEN.to_ascii_lowercase();
    for window in token.as_bytes().windows(MIN_RUN) {
        assert!(
            !decoded.windows(MIN_RUN).any(|w| w == window),
            "a piece of the token survived in {out:?}"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY";

    fn redact(text: &str) -> String {
        Redactor::new(TOKEN).redact(text)
    }

    fn percent_encoded(text: &str, upper: bool) -> String {
        text.bytes()
            .map(|b| {
                if upper {
                    format!("%{b:02X}")
                } else {
                    format!("%{b:02x}")
                }
            })
            .collect()
    }

    #[test]
    fn the_token_as_it_is_and_in_another_case_is_redacted() {
        assert_eq!(redact(&format!("x {TOKEN} y")), "x [REDACTED] y");
        assert_eq!(
            redact(&format!("x {} y", TOKEN.to_ascii_lowercase())),
            "x [REDACTED] y"
        );
        assert_eq!(redact(&TOKEN.to_ascii_uppercase()), "[REDACTED]");
        assert_eq!(redact(&format!("{TOKEN}{TOKEN}")), "[REDACTED]");
    }

    #[test]
    fn the_token_percent_encoded_in_either_hex_case_is_redacted() {
        for upper in [false, true] {
            let encoded = percent_encoded(TOKEN, upper);
            assert_eq!(redact(&format!("q={encoded}&x=1")), "q=[REDACTED]&x=1");
        }
        // Partly encoded, as an encoder that escapes more than it must would write it.
        let mixed = format!("{}%33{}", &TOKEN[..2], &TOKEN[3..]);
        assert_eq!(redact(&mixed), "[REDACTED]");
    }

    #[test]
    fn the_token_json_escaped_is_redacted() {
        let escaped: String = TOKEN
            .chars()
            .map(|c| format!("\\u{:04x}", c as u32))
            .collect();
        let body = format!(r#"{{"echo":"{escaped}"}}"#);
        assert_eq!(redact(&body), r#"{"echo":"[REDACTED]"}"#);
        let upper: String = TOKEN
            .chars()
            .map(|c| format!("\\u{:04X}", c as u32))
            .collect();
        assert_eq!(redact(&upper), "[REDACTED]");
        // The result stays JSON.
        assert!(serde_json::from_str::<serde_json::Value>(&redact(&body)).is_ok());
    }

    #[test]
    fn a_cut_short_token_of_16_characters_or_more_is_redacted() {
        let piece = &TOKEN[7..7 + MIN_RUN];
        assert_eq!(redact(&format!("…{piece}…")), "…[REDACTED]…");
        assert_eq!(
            redact(&format!("Bearer {}", &TOKEN[..30])),
            "Bearer [REDACTED]"
        );
        // Glued to other characters, only the token's part goes.
        assert_eq!(redact(&format!("zz{}zz", &TOKEN[20..])), "zz[REDACTED]zz");
        // 15 characters are not enough.
        let short = &TOKEN[7..7 + MIN_RUN - 1];
        assert_eq!(redact(&format!("x {short} y")), format!("x {short} y"));
    }

    #[test]
    fn ordinary_text_near_the_tokens_alphabet_is_not_mangled() {
        let texts = [
            "account 01a7362d577a6c3019a474fd6f485823, zone 023e105f4ecef8ad9ca31a8372d0c353",
            "https://developers.cloudflare.com/fundamentals/api/get-started/create-token/",
            "%41%42%43 \\u0041\\u0042 percent-encoded_words.and-dots 100%",
            "Sn3lZJTBX6kk and 963GEIyGQqnFT: short pieces",
            "a trailing % and \\u, and \\u12 cut short; é, 日本語",
            "",
        ];
        for text in texts {
            assert_eq!(redact(text), text);
        }
    }

    #[test]
    fn multi_megabyte_text_is_scanned_in_one_pass() {
        // Long runs of the token's alphabet and of escapes, with the token once at the end.
        let mut text = "abcdefghij0123456789".repeat(200_000);
        text.push_str(&"%41".repeat(100_000));
        text.push(' ');
        text.push_str(TOKEN);
        let redacted = redact(&text);
        assert!(redacted.ends_with(" [REDACTED]"));
        assert_eq!(redacted.len(), text.len() - TOKEN.len() + REDACTED.len());
    }

    #[test]
    fn a_short_token_is_redacted_whole() {
        let redactor = Redactor::new("abc123");
        assert_eq!(redactor.redact("x ABC123 y"), "x [REDACTED] y");
        assert_eq!(redactor.redact("x abc12 y"), "x abc12 y");
    }
}
