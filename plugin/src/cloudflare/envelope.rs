//! The v4 API envelope: `{success, errors, messages, result, result_info}`, read leniently
//! (some error bodies carry only `success` and `errors`).

use crate::error::classify;
use crate::http::{Request, Response, Transport};
use crate::wit_types::Error;
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

/// An HTTP answer from the API, successful or not.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiReply {
    pub request: String,
    pub status: u16,
    pub retry_after: Option<u32>,
    pub envelope: Envelope,
}

impl ApiReply {
    pub fn from_response(request: &Request, response: Response) -> ApiReply {
        // A body that is not an envelope (an HTML error page from a proxy) still has a status.
        let envelope = serde_json::from_slice::<Value>(&response.body)
            .map(Envelope::from_owned)
            .unwrap_or_default();
        ApiReply {
            request: request.describe(),
            status: response.status,
            retry_after: response.retry_after,
            envelope,
        }
    }

    /// Only `errors` signals failure: code 10000 in `messages` of a valid token is not one.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
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
            format!("HTTP {}", self.status)
        } else {
            messages.join("; ")
        }
    }

    /// The error this reply means, or `None` when it succeeded.
    pub fn error(&self, forbidden_hint: Option<&str>) -> Option<Error> {
        (!self.is_success()).then(|| {
            classify(
                self.status,
                &self.codes(),
                &self.message(),
                self.retry_after,
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
            },
        )
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

    #[test]
    fn a_non_json_body_keeps_its_status() {
        let r = reply(502, "<html>bad gateway</html>");
        assert!(matches!(r.error(None), Some(Error::Upstream(f)) if f.status == 502));
    }
}
