//! The v4 API envelope: `{success, errors, messages, result, result_info}`, read leniently
//! (some error bodies carry only `success` and `errors`).

use crate::error::classify;
use crate::http::{Request, Response, Transport};
use crate::wit_types::{ApiFailure, Error, RateLimit};
use serde_json::Value;

/// One entry of `errors` or `messages`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ApiMessage {
    pub code: u32,
    pub message: String,
    pub error_chain: Vec<ApiMessage>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Envelope {
    /// `None` when the body did not say.
    pub success: Option<bool>,
    pub errors: Vec<ApiMessage>,
    pub messages: Vec<ApiMessage>,
    pub result: Value,
    pub result_info: Option<Value>,
}

impl Envelope {
    /// Reads an envelope field by field, so that a `null`, a string code or a missing key in
    /// one place does not lose the rest. `result` is taken out of `value`, not copied.
    pub fn from_owned(mut value: Value) -> Envelope {
        Envelope {
            success: value.get("success").and_then(Value::as_bool),
            errors: messages(value.get("errors")),
            messages: messages(value.get("messages")),
            result: value
                .get_mut("result")
                .map(Value::take)
                .unwrap_or(Value::Null),
            result_info: value.get("result_info").filter(|v| !v.is_null()).cloned(),
        }
    }
}

fn messages(list: Option<&Value>) -> Vec<ApiMessage> {
    list.and_then(Value::as_array)
        .map(|items| items.iter().map(message).collect())
        .unwrap_or_default()
}

fn message(item: &Value) -> ApiMessage {
    let code = match item.get("code") {
        Some(Value::Number(n)) => n.as_u64().and_then(|c| u32::try_from(c).ok()),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    };
    ApiMessage {
        code: code.unwrap_or_default(),
        message: item
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        error_chain: messages(item.get("error_chain")),
    }
}

/// What to do when something else answered for the API.
const NOT_AN_ENVELOPE_HINT: &str = "Something between this host and Cloudflare (a proxy, a \
captive portal or a firewall) may have answered instead of the API: check the network path, or \
the host's --upstream setting, then retry.";

/// The `upstream` error for a success status over something that is no answer.
pub(crate) fn not_an_answer(status: u16, message: String) -> Error {
    Error::Upstream(ApiFailure {
        status,
        codes: Vec::new(),
        message,
        hint: Some(NOT_AN_ENVELOPE_HINT.to_string()),
        permission: None,
    })
}

/// Characters of an unexpected body quoted in an error.
const EXCERPT_CHARS: usize = 80;

/// A body that is not an envelope, in words: its content type and how it begins.
pub(crate) fn what_came_back(host: &str, response: &Response) -> String {
    let content_type = response
        .content_type
        .as_deref()
        .unwrap_or("no content type");
    let begins = match std::str::from_utf8(&response.body) {
        _ if response.body.is_empty() => "an empty body".to_string(),
        Err(_) => format!("{} bytes that are not UTF-8 text", response.body.len()),
        Ok(text) => {
            let words: Vec<&str> = text.split_whitespace().collect();
            let line = words.join(" ");
            let excerpt: String = line.chars().take(EXCERPT_CHARS).collect();
            let more = if line.chars().count() > EXCERPT_CHARS {
                "…"
            } else {
                ""
            };
            format!("a body that begins \u{201c}{excerpt}{more}\u{201d}")
        }
    };
    format!("{host} answered with {content_type}, not Cloudflare's JSON envelope: {begins}")
}

/// An HTTP answer from the API, successful or not.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiReply {
    pub request: String,
    pub status: u16,
    /// Whose limit a 429 is, and its `Retry-After`.
    pub rate_limit: RateLimit,
    pub envelope: Envelope,
    /// What came back instead, in words, when the body is not an envelope (an HTML page from a
    /// proxy, a cut-off or non-UTF-8 body).
    pub not_an_envelope: Option<String>,
}

impl ApiReply {
    pub fn from_response(request: &Request, response: Response) -> ApiReply {
        // A body that is not an envelope (an HTML error page from a proxy) still has a status.
        let parsed = serde_json::from_slice::<Value>(&response.body)
            .ok()
            .filter(|v| v.get("success").is_some() || v.get("result").is_some());
        let not_an_envelope = parsed
            .is_none()
            .then(|| what_came_back(request.host, &response));
        ApiReply {
            request: request.describe(),
            status: response.status,
            rate_limit: request.rate_limit(response.retry_after),
            envelope: parsed.map(Envelope::from_owned).unwrap_or_default(),
            not_an_envelope,
        }
    }

    /// Only `errors` signals failure: code 10000 in `messages` of a valid token is not one.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
            && self.not_an_envelope.is_none()
            && self.envelope.errors.is_empty()
            && self.envelope.success != Some(false)
    }

    /// Every code in `errors`, including those in `error_chain`.
    pub fn codes(&self) -> Vec<u32> {
        let mut codes = Vec::new();
        for e in &self.envelope.errors {
            codes.push(e.code);
            codes.extend(e.error_chain.iter().map(|c| c.code));
        }
        codes
    }

    pub fn message(&self) -> String {
        let messages: Vec<&str> = self
            .envelope
            .errors
            .iter()
            .map(|e| e.message.as_str())
            .filter(|m| !m.is_empty())
            .collect();
        if messages.is_empty() {
            // The status is shown beside the message: say what the body was instead.
            match &self.not_an_envelope {
                Some(what) => format!("{}: {what}", self.request),
                None => format!("{}: the answer gave no error message", self.request),
            }
        } else {
            messages.join("; ")
        }
    }

    /// The error this reply means, or `None` when it succeeded.
    pub fn error(&self, forbidden_hint: Option<&str>) -> Option<Error> {
        // A success status over something else is no answer at all, not an empty one.
        if let (true, Some(what)) = ((200..300).contains(&self.status), &self.not_an_envelope) {
            return Some(not_an_answer(
                self.status,
                format!("{}: {what}", self.request),
            ));
        }
        (!self.is_success()).then(|| {
            classify(
                self.status,
                &self.codes(),
                &self.message(),
                self.rate_limit,
                forbidden_hint,
            )
        })
    }

    /// The `result`, or the classified error.
    pub fn into_result(self, forbidden_hint: Option<&str>) -> Result<Value, Error> {
        match self.error(forbidden_hint) {
            Some(e) => Err(e),
            None => Ok(self.envelope.result),
        }
    }
}

/// Sends a request to the API and reads the envelope; `Err` only when no response came.
pub fn send(transport: &dyn Transport, request: &Request) -> Result<ApiReply, Error> {
    let response = transport.send(request)?;
    Ok(ApiReply::from_response(request, response))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: u16, body: &str) -> ApiReply {
        ApiReply::from_response(
            &Request::api_get("/x"),
            Response {
                status,
                retry_after: None,
                body: body.as_bytes().to_vec(),
                content_type: None,
            },
        )
    }

    fn answer(content_type: &str, body: &[u8]) -> ApiReply {
        ApiReply::from_response(
            &Request::api_get("/zones"),
            Response {
                status: 200,
                retry_after: None,
                content_type: Some(content_type.to_string()),
                body: body.to_vec(),
            },
        )
    }

    /// A 200 over an HTML page, a cut-off JSON body, non-UTF-8 bytes or JSON that is no
    /// envelope is an `upstream` error saying what came back, never an empty success.
    #[test]
    fn a_success_status_over_anything_but_an_envelope_is_an_upstream_error() {
        let html = b"<!DOCTYPE html>\n<html><head><title>Attention Required! | Cloudflare</title>";
        let cases: [(&str, &[u8], &str); 5] = [
            ("text/html", html, "text/html"),
            ("application/json", br#"{"result":[{"id":"#, "begins"),
            ("application/octet-stream", &[0xff, 0xfe, 0x00], "not UTF-8"),
            ("application/json", br#"[1, 2]"#, "begins"),
            ("text/plain", b"", "an empty body"),
        ];
        for (content_type, body, said) in cases {
            let reply = answer(content_type, body);
            assert!(!reply.is_success(), "{content_type}");
            match reply.into_result(None) {
                Err(Error::Upstream(failure)) => {
                    assert_eq!(failure.status, 200);
                    assert!(
                        failure.message.contains(content_type),
                        "{}",
                        failure.message
                    );
                    assert!(failure.message.contains(said), "{}", failure.message);
                    assert!(failure.hint.is_some());
                }
                other => panic!("{content_type}: expected upstream, got {other:?}"),
            }
        }
        // A quoted page is cut short.
        let long = "x".repeat(10_000);
        match answer("text/html", long.as_bytes()).into_result(None) {
            Err(Error::Upstream(failure)) => assert!(failure.message.len() < 300),
            other => panic!("expected upstream, got {other:?}"),
        }
        let envelope = answer("application/json", br#"{"success":true,"result":[]}"#);
        assert_eq!(envelope.into_result(None), Ok(Value::Array(Vec::new())));
    }

    #[test]
    fn code_10000_in_messages_of_a_valid_token_is_not_an_error() {
        let r = reply(
            200,
            r#"{"result":{"id":"a","status":"active"},"success":true,"errors":[],
               "messages":[{"code":10000,"message":"This API Token is valid and active","type":null}]}"#,
        );
        assert!(r.is_success());
        assert_eq!(r.error(None), None);
    }

    #[test]
    fn error_bodies_without_result_or_messages_parse() {
        let r = reply(
            403,
            r#"{"success":false,"errors":[{"code":10000,"message":"Authentication error"}]}"#,
        );
        assert!(!r.is_success());
        assert_eq!(r.codes(), vec![10000]);
        assert!(matches!(r.error(None), Some(Error::Forbidden(_))));
    }

    #[test]
    fn error_chain_codes_are_kept() {
        let r = reply(
            400,
            r#"{"success":false,"errors":[{"code":6003,"message":"Invalid request headers",
               "error_chain":[{"code":6111,"message":"Invalid format for Authorization header"}]}],
               "messages":[],"result":null}"#,
        );
        assert_eq!(r.codes(), vec![6003, 6111]);
        assert!(matches!(r.error(None), Some(Error::Unauthorized(_))));
    }

    #[test]
    fn nulls_and_string_codes_do_not_lose_the_rest() {
        let r = reply(
            403,
            r#"{"success":false,"errors":[{"code":"9109","message":null,"error_chain":null},
               {"code":10000,"message":"Authentication error"}],"messages":null,"result":null}"#,
        );
        assert_eq!(r.codes(), vec![9109, 10000]);
        assert_eq!(r.message(), "Authentication error");
        assert!(matches!(r.error(None), Some(Error::Forbidden(_))));
    }

    #[test]
    fn success_false_without_errors_is_a_failure() {
        let r = reply(200, r#"{"success":false,"errors":[],"result":null}"#);
        assert!(!r.is_success());
        assert!(r.error(None).is_some());
    }

    /// A 502 HTML page is an upstream failure that says what came back (never "HTTP 502: HTTP
    /// 502") and to retry.
    #[test]
    fn a_non_json_body_keeps_its_status_and_says_what_came_back() {
        let r = reply(502, "<html>bad gateway</html>");
        match r.error(None) {
            Some(Error::Upstream(f)) => {
                assert_eq!(f.status, 502);
                assert!(f.message.contains("bad gateway"), "{}", f.message);
                assert!(!f.message.contains("HTTP 502"), "{}", f.message);
                assert!(f.hint.is_some());
            }
            other => panic!("expected upstream, got {other:?}"),
        }
    }
}
