//! Answers that quote the request's `Authorization` back (scenario `echoes-authorization`), as
//! some proxies do in error pages and debugging headers: the token the host added comes back
//! in two response headers and in the JSON body, and the token verification answer is sent in
//! small pieces, so the token straddles the chunks the client reads.

use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::response::Response;
use http::{HeaderValue, StatusCode, header};
use http_body::{Frame, SizeHint};
use serde_json::Value;

use crate::rest::envelope::text_response;

/// The header holding the request's `Authorization` as it came.
pub const ECHO_HEADER: &str = "x-echoed-authorization";
/// The header quoting some of the request's headers, `Authorization` among them.
pub const REQUEST_HEADERS_HEADER: &str = "x-request-headers";
/// The key under which a JSON body quotes the request: `{"echo": {"authorization": …}}`.
pub const ECHO_KEY: &str = "echo";
/// The size of each piece of a body sent in pieces.
pub const PIECE_BYTES: usize = 5;
/// The wait between two pieces.
const PIECE_WAIT: Duration = Duration::from_millis(1);

/// `response`, quoting `authorization` in two headers and, when its body is a JSON object, in
/// the body; `in_pieces` sends the body [`PIECE_BYTES`] at a time (its `Content-Length`
/// declared).
pub(crate) async fn echo(response: Response, authorization: &str, in_pieces: bool) -> Response {
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return text_response(StatusCode::INTERNAL_SERVER_ERROR, "unreadable answer\n");
    };
    let bytes = match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(mut map)) => {
            map.insert(
                ECHO_KEY.into(),
                serde_json::json!({ "authorization": authorization }),
            );
            serde_json::to_vec(&map).map(Bytes::from).unwrap_or(bytes)
        }
        _ => bytes,
    };
    if let Ok(value) = HeaderValue::from_str(authorization) {
        parts.headers.insert(ECHO_HEADER, value);
    }
    if let Ok(value) = HeaderValue::from_str(&format!(
        "host=api.cloudflare.com; authorization={authorization}; accept=*/*"
    )) {
        parts.headers.insert(REQUEST_HEADERS_HEADER, value);
    }
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    let body = if in_pieces {
        Body::new(InPieces {
            rest: bytes,
            wait: None,
        })
    } else {
        Body::from(bytes)
    };
    Response::from_parts(parts, body)
}

/// A body sent [`PIECE_BYTES`] at a time, [`PIECE_WAIT`] apart.
struct InPieces {
    rest: Bytes,
    wait: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl http_body::Body for InPieces {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if this.rest.is_empty() {
            return Poll::Ready(None);
        }
        if let Some(wait) = &mut this.wait {
            ready!(wait.as_mut().poll(cx));
        }
        this.wait = Some(Box::pin(tokio::time::sleep(PIECE_WAIT)));
        let piece = this.rest.split_to(PIECE_BYTES.min(this.rest.len()));
        Poll::Ready(Some(Ok(Frame::data(piece))))
    }

    fn is_end_stream(&self) -> bool {
        self.rest.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.rest.len() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenarios::Scenario;
    use crate::test_client::{api_get, send};
    use crate::{DOCS_HOST, FakeCloudflare, TOKEN};

    #[test]
    fn every_api_answer_quotes_the_authorization_in_headers_and_body() {
        let fake = FakeCloudflare::spawn(Scenario::EchoesAuthorization);
        let bearer = format!("Bearer {TOKEN}");
        for path in ["/zones", "/user/tokens/verify", "/no/such/route"] {
            let reply = api_get(&fake, path);
            assert_eq!(reply.header(ECHO_HEADER), Some(bearer.as_str()), "{path}");
            assert!(
                reply
                    .header(REQUEST_HEADERS_HEADER)
                    .is_some_and(|v| v.contains(&bearer)),
                "{path}"
            );
            assert_eq!(reply.json()[ECHO_KEY]["authorization"], bearer, "{path}");
            assert_eq!(
                reply.header("content-length"),
                Some(reply.body.len().to_string().as_str()),
                "{path}"
            );
        }
        // The answers are otherwise those of all-permissions.
        let verify = api_get(&fake, "/user/tokens/verify");
        assert_eq!(verify.status, 200);
        assert_eq!(verify.json()["result"]["status"], "active");
        // The docs host is not an echo: it never gets the token anyway.
        let docs = send(&fake, "GET", DOCS_HOST, "/llms.txt", None, "");
        assert_eq!(docs.status, 200);
        assert_eq!(docs.header(ECHO_HEADER), None);
    }
}
