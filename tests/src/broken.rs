//! Answers that break the way real connections do (scenarios `dropped-connection`,
//! `dropped-mid-body`, `trickled-body`): no answer at all, a body cut off after its headers,
//! a body that stops after a few bytes. The request has been read and recorded by then.
//!
//! Each is a response whose body fails: hyper, which serves the fake, then closes the
//! connection without finishing the message. What it has written by then is what the body let
//! it flush: a body that fails at once leaves even the status line unsent (the connection
//! closes with nothing written); one that yields bytes and then waits has hyper send the head
//! and those bytes first.

use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::response::Response;
use http::{HeaderValue, StatusCode, header};
use http_body::{Frame, SizeHint};

/// How the answer breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Break {
    /// The connection closes with nothing sent back: not even a status line.
    BeforeAnswer,
    /// `200`, a `Content-Length` of [`DECLARED_BYTES`], [`PREFIX`], then the connection closes.
    MidBody,
    /// `200`, a `Content-Length` of [`DECLARED_BYTES`], [`PREFIX`], then nothing for
    /// [`STALL`] (longer than any timeout a test sets), then the connection closes.
    Stall,
}

/// The first bytes of the broken body: the start of a zone list.
pub const BROKEN_BODY_PREFIX: &str = r#"{"result":[{"id":"#;
/// The length the broken body's `Content-Length` declares, more than is ever sent.
pub const BROKEN_BODY_DECLARED_BYTES: u64 = 4096;
/// How long a trickled body stalls after its first bytes.
const STALL: Duration = Duration::from_secs(600);
/// How long a body cut off mid-way waits after its first bytes, so that they are sent before
/// the connection closes.
const FLUSH: Duration = Duration::from_millis(20);

/// The response that breaks as `how` says.
pub(crate) fn response(how: Break) -> Response {
    let body = match how {
        Break::BeforeAnswer => BrokenBody {
            prefix: None,
            wait: None,
        },
        Break::MidBody => BrokenBody {
            prefix: Some(Bytes::from_static(BROKEN_BODY_PREFIX.as_bytes())),
            wait: Some(Box::pin(tokio::time::sleep(FLUSH))),
        },
        Break::Stall => BrokenBody {
            prefix: Some(Bytes::from_static(BROKEN_BODY_PREFIX.as_bytes())),
            wait: Some(Box::pin(tokio::time::sleep(STALL))),
        },
    };
    let mut response = Response::new(Body::new(body));
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(
        header::CONTENT_LENGTH,
        HeaderValue::from(BROKEN_BODY_DECLARED_BYTES),
    );
    response
}

/// A body that yields its prefix (if any), waits (if asked), then fails.
struct BrokenBody {
    prefix: Option<Bytes>,
    wait: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl http_body::Body for BrokenBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        let this = self.get_mut();
        if let Some(prefix) = this.prefix.take() {
            return Poll::Ready(Some(Ok(Frame::data(prefix))));
        }
        if let Some(wait) = &mut this.wait {
            ready!(wait.as_mut().poll(cx));
            this.wait = None;
        }
        Poll::Ready(Some(Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "the fake breaks the connection",
        ))))
    }

    fn is_end_stream(&self) -> bool {
        false
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(BROKEN_BODY_DECLARED_BYTES)
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpStream;

    use super::*;
    use crate::scenarios::Scenario;
    use crate::{FakeCloudflare, TOKEN};

    /// What the fake wrote back to one API request before it closed the connection (a test
    /// fails if it does not close it).
    /// A connection to the fake that has sent one `GET /client/v4/zones`, reads timing out
    /// after `timeout`.
    fn zones_request(fake: &FakeCloudflare, timeout: Duration) -> TcpStream {
        let mut stream = TcpStream::connect(fake.addr()).expect("connect to the fake");
        stream
            .set_read_timeout(Some(timeout))
            .expect("a read timeout");
        let request = format!(
            "GET /client/v4/zones HTTP/1.1\r\nHost: api.cloudflare.com\r\nAuthorization: \
             Bearer {TOKEN}\r\n\r\n"
        );
        stream
            .write_all(request.as_bytes())
            .expect("send the request");
        stream
    }

    fn raw_reply(fake: &FakeCloudflare) -> Vec<u8> {
        let mut stream = zones_request(fake, Duration::from_secs(5));
        let mut raw = Vec::new();
        let mut buf = [0u8; 1024];
        loop {
            match stream.read(&mut buf) {
                Ok(0) => return raw,
                Ok(n) => raw.extend_from_slice(&buf[..n]),
                // A reset is a close too; a timeout is not.
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return raw,
                Err(e) => panic!("the fake did not close the connection: {e}"),
            }
        }
    }

    #[test]
    fn a_dropped_connection_closes_with_nothing_sent_after_recording_the_request() {
        let fake = FakeCloudflare::spawn(Scenario::DroppedConnection);
        assert_eq!(raw_reply(&fake), b"");
        let requests = fake.requests();
        assert_eq!(requests.len(), 1);
        assert_eq!(requests[0].path, "/client/v4/zones");
    }

    #[test]
    fn a_body_dropped_mid_way_sends_its_head_and_fewer_bytes_than_declared() {
        let fake = FakeCloudflare::spawn(Scenario::DroppedMidBody);
        let raw = String::from_utf8(raw_reply(&fake)).expect("UTF-8");
        let (head, body) = raw.split_once("\r\n\r\n").expect("a head");
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert!(
            head.to_ascii_lowercase()
                .contains(&format!("content-length: {BROKEN_BODY_DECLARED_BYTES}")),
            "{head}"
        );
        assert_eq!(body, BROKEN_BODY_PREFIX);
        assert_eq!(fake.requests().len(), 1);
    }

    #[test]
    fn a_trickled_body_sends_its_first_bytes_then_stalls() {
        let fake = FakeCloudflare::spawn(Scenario::TrickledBody);
        // The head and the prefix come; after them, nothing (the read times out, the
        // connection stays open).
        let mut stream = zones_request(&fake, Duration::from_millis(300));
        let mut raw = Vec::new();
        let mut buf = [0u8; 1024];
        let stalled = loop {
            match stream.read(&mut buf) {
                Ok(0) => break false,
                Ok(n) => raw.extend_from_slice(&buf[..n]),
                Err(e) => {
                    break matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    );
                }
            }
        };
        assert!(stalled, "the connection stays open, silent");
        let raw = String::from_utf8(raw).expect("UTF-8");
        let (head, body) = raw.split_once("\r\n\r\n").expect("a head");
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert_eq!(body, BROKEN_BODY_PREFIX);
    }

    /// The docs host answers as usual in these scenarios: only the API breaks.
    #[test]
    fn the_docs_host_is_not_broken() {
        let fake = FakeCloudflare::spawn(Scenario::DroppedConnection);
        let reply = crate::test_client::send(
            &fake,
            "GET",
            "developers.cloudflare.com",
            "/llms.txt",
            None,
            "",
        );
        assert_eq!(reply.status, 200);
    }
}
