//! The response body the guest reads: the host's between-bytes timeout and size limit, counted
//! into the request's record; the token taken out of it as it streams (answers to requests that
//! carried it); its connection goes back to the pool once read whole.

use crate::credentials::ResponseScrub;
use crate::outbound::pool::{Connection, ConnectionPool, Target};
use crate::outbound::record::RecordSlot;
use bytes::Bytes;
use http_body::Frame;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use wasmtime_wasi_http::Error as HttpError;

/// A response body with the host's between-bytes timeout and size limit, counting what it
/// passes on into the request's record, and, when it answers a request that carried the token,
/// taking the token out as it streams. `B` is hyper's body but in unit tests.
pub(crate) struct GuardedBody<B = hyper::body::Incoming> {
    pub(crate) incoming: B,
    pub(crate) between_bytes: tokio::time::Interval,
    /// Bytes passed on to the guest, at most.
    pub(crate) limit: u64,
    /// Bytes passed on to the guest (after the scrub).
    pub(crate) received: u64,
    pub(crate) slot: RecordSlot,
    pub(crate) finished: bool,
    /// Where the connection goes back once the body has been read to its end.
    pub(crate) reuse: Option<(ConnectionPool, Target, Connection)>,
    /// Takes the token out of the body (and its trailers) before the guest reads it.
    pub(crate) scrub: Option<ResponseScrub>,
    /// Trailers waiting for the bytes the scrub kept back to be passed on first.
    pub(crate) trailers: Option<http::HeaderMap>,
}

type Polled = Poll<Option<Result<Frame<Bytes>, HttpError>>>;

impl<B> GuardedBody<B> {
    fn end(&mut self, error: Option<HttpError>) -> Polled {
        self.close();
        match error {
            Some(error) => {
                // A body cut short (an error, the size limit, a timeout) leaves the connection
                // mid-message: it is dropped, never reused.
                self.reuse = None;
                self.slot.fail(&error);
                Poll::Ready(Some(Err(error)))
            }
            None => {
                if let Some((pool, target, connection)) = self.reuse.take() {
                    pool.put(target, connection);
                }
                Poll::Ready(None)
            }
        }
    }

    /// The body is over (read whole, or failed): its last counts go into the record.
    fn close(&mut self) {
        self.finished = true;
        let received = self.received;
        let echoed = self.scrub.as_ref().map_or(0, ResponseScrub::found);
        self.slot.update(|record| {
            record.response_bytes = received;
            record.token_echoed = echoed;
            if echoed > 0 {
                // Never the token: how often it came back, and from where.
                tracing::warn!(
                    url = %record.url,
                    times = echoed,
                    "the answer held the API token; it was replaced before the plugin read it"
                );
            }
        });
    }

    /// `data` is about to be passed on: counted, unless it takes the body past the limit.
    fn count(&mut self, data: &Bytes) -> Result<(), HttpError> {
        let total = self.received + data.len() as u64;
        if total > self.limit {
            // The bytes past the limit are not passed on (nor counted).
            tracing::warn!(limit = self.limit, "response body too large");
            return Err(HttpError::HttpResponseBodySize(Some(total)));
        }
        self.received = total;
        let echoed = self.scrub.as_ref().map_or(0, ResponseScrub::found);
        self.slot.update(|record| {
            record.response_bytes = total;
            record.token_echoed = echoed;
        });
        Ok(())
    }

    /// Passes `data` on, counted; an empty chunk is not passed on (`None`).
    fn pass(&mut self, data: Bytes) -> Option<Polled> {
        if data.is_empty() {
            return None;
        }
        Some(match self.count(&data) {
            Ok(()) => Poll::Ready(Some(Ok(Frame::data(data)))),
            Err(error) => self.end(Some(error)),
        })
    }
}

impl<B> http_body::Body for GuardedBody<B>
where
    B: http_body::Body<Data = Bytes, Error = hyper::Error> + Unpin,
{
    type Data = Bytes;
    type Error = HttpError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Polled {
        let this = self.get_mut();
        if this.finished {
            return Poll::Ready(None);
        }
        if let Some(trailers) = this.trailers.take() {
            return Poll::Ready(Some(Ok(Frame::trailers(trailers))));
        }
        loop {
            match Pin::new(&mut this.incoming).poll_frame(cx) {
                Poll::Ready(None) => {
                    // What the scrub kept back was not the token: it goes last.
                    let rest = this.scrub.as_mut().map(ResponseScrub::finish);
                    if let Some(polled) = rest.and_then(|rest| this.pass(rest)) {
                        if !this.finished {
                            // Read whole: the next poll ends the body.
                            let _ = this.end(None);
                        }
                        return polled;
                    }
                    return this.end(None);
                }
                Poll::Ready(Some(Err(error))) => {
                    return this.end(Some(if error.is_timeout() {
                        HttpError::HttpResponseTimeout
                    } else {
                        HttpError::from(error)
                    }));
                }
                Poll::Ready(Some(Ok(frame))) => {
                    this.between_bytes.reset();
                    let frame = match frame.into_data() {
                        Ok(data) => {
                            let data = match &mut this.scrub {
                                Some(scrub) => scrub.push(data),
                                None => data,
                            };
                            match this.pass(data) {
                                Some(polled) => return polled,
                                // All of it kept back (or an empty frame): read on.
                                None => continue,
                            }
                        }
                        Err(frame) => frame,
                    };
                    let Some(scrub) = &mut this.scrub else {
                        return Poll::Ready(Some(Ok(frame)));
                    };
                    let mut trailers = match frame.into_trailers() {
                        Ok(trailers) => trailers,
                        Err(other) => return Poll::Ready(Some(Ok(other))),
                    };
                    scrub.headers(&mut trailers);
                    let rest = scrub.finish();
                    if rest.is_empty() {
                        return Poll::Ready(Some(Ok(Frame::trailers(trailers))));
                    }
                    this.trailers = Some(trailers);
                    if let Some(polled) = this.pass(rest) {
                        return polled;
                    }
                }
                Poll::Pending => {
                    ready!(this.between_bytes.poll_tick(cx));
                    return this.end(Some(HttpError::ConnectionReadTimeout));
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.finished
            || (self.trailers.is_none()
                && self.incoming.is_end_stream()
                && !self.scrub.as_ref().is_some_and(ResponseScrub::holding))
    }

    fn size_hint(&self) -> http_body::SizeHint {
        // A scrubbed body keeps its length: the marker is as long as the token.
        self.incoming.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::ApiToken;
    use crate::outbound::test_support::slot;
    use http_body_util::BodyExt;
    use std::collections::VecDeque;
    use std::time::Duration;

    const TOKEN: &str = "cfut_Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFT";

    /// Frames as an upstream sent them, ready at once.
    struct Frames(VecDeque<Frame<Bytes>>);

    impl http_body::Body for Frames {
        type Data = Bytes;
        type Error = hyper::Error;

        fn poll_frame(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
            Poll::Ready(self.get_mut().0.pop_front().map(Ok))
        }

        fn is_end_stream(&self) -> bool {
            self.0.is_empty()
        }
    }

    fn guarded(frames: Vec<Frame<Bytes>>, limit: u64, scrub: bool) -> GuardedBody<Frames> {
        let token = ApiToken::new(TOKEN, "test").expect("valid");
        GuardedBody {
            incoming: Frames(frames.into()),
            between_bytes: tokio::time::interval(Duration::from_secs(5)),
            limit,
            received: 0,
            slot: slot(),
            finished: false,
            reuse: None,
            scrub: scrub.then(|| token.response_scrub()),
            trailers: None,
        }
    }

    fn one_byte_frames(body: &str) -> Vec<Frame<Bytes>> {
        body.bytes()
            .map(|b| Frame::data(Bytes::copy_from_slice(&[b])))
            .collect()
    }

    /// What the guest reads: every data frame (none empty), then the trailers, or the error.
    async fn read(
        mut body: GuardedBody<Frames>,
    ) -> (
        Vec<u8>,
        Option<http::HeaderMap>,
        Option<HttpError>,
        RecordSlot,
    ) {
        let mut data = Vec::new();
        let mut trailers = None;
        let mut error = None;
        while let Some(frame) = body.frame().await {
            match frame {
                Ok(frame) => match frame.into_data() {
                    Ok(chunk) => {
                        assert!(!chunk.is_empty(), "no empty frame is passed on");
                        assert!(trailers.is_none(), "no data after the trailers");
                        data.extend_from_slice(&chunk);
                    }
                    Err(frame) => trailers = frame.into_trailers().ok(),
                },
                Err(e) => {
                    error = Some(e);
                    break;
                }
            }
        }
        (data, trailers, error, body.slot.clone())
    }

    #[tokio::test]
    async fn the_token_in_one_byte_frames_and_the_trailers_never_reaches_the_guest() {
        let mut frames = one_byte_frames(&format!(r#"{{"echo":"Bearer {TOKEN}","tail":"cfut_"}}"#));
        let mut trailers = http::HeaderMap::new();
        trailers.insert("x-echo", format!("Bearer {TOKEN}").parse().expect("value"));
        frames.push(Frame::trailers(trailers));
        let body = guarded(frames, 1 << 20, true);
        let (data, trailers, error, slot) = read(body).await;
        assert!(error.is_none(), "{error:?}");
        let marker =
            String::from_utf8(crate::credentials::body_marker(TOKEN.len())).expect("ASCII");
        let expected = format!(r#"{{"echo":"Bearer {marker}","tail":"cfut_"}}"#);
        assert_eq!(String::from_utf8_lossy(&data), expected);
        let trailers = trailers.expect("the trailers, after the data");
        assert_eq!(trailers["x-echo"], "Bearer [REDACTED]");
        let log = slot.log.lock().expect("log");
        assert_eq!(log[0].token_echoed, 2);
        assert_eq!(log[0].response_bytes, expected.len() as u64);
    }

    #[tokio::test]
    async fn the_size_limit_counts_the_bytes_passed_to_the_guest() {
        // The marker is as long as the token: the limit counts the same bytes either way.
        let length = TOKEN.len();
        let frames = || vec![Frame::data(Bytes::from_static(TOKEN.as_bytes()))];
        let (data, _, error, slot) = read(guarded(frames(), length as u64, true)).await;
        assert!(error.is_none(), "{error:?}");
        assert_eq!(data, crate::credentials::body_marker(length));
        assert_eq!(
            slot.log.lock().expect("log")[0].response_bytes,
            length as u64
        );
        let (data, _, error, _) = read(guarded(frames(), length as u64 - 1, true)).await;
        assert!(data.is_empty());
        assert!(
            matches!(error, Some(HttpError::HttpResponseBodySize(Some(n))) if n == length as u64),
            "{error:?}"
        );
        // Kept back, then passed on at the end: still counted against the limit.
        let (_, _, error, _) = read(guarded(one_byte_frames("ab cfut_Sn3l"), 5, true)).await;
        assert!(
            matches!(error, Some(HttpError::HttpResponseBodySize(Some(12)))),
            "{error:?}"
        );
        // Not scrubbed: the upstream's bytes, as they came.
        let (data, _, error, slot) = read(guarded(frames(), 41, false)).await;
        assert!(error.is_none());
        assert_eq!(data, TOKEN.as_bytes());
        assert_eq!(slot.log.lock().expect("log")[0].token_echoed, 0);
    }

    #[tokio::test]
    async fn a_body_without_the_token_passes_unchanged_and_ends() {
        let text = "cfut_ and cfut_Sn3 and {\"result\":[1,2,3]} and cfut_Sn3lZJ";
        let (data, trailers, error, slot) =
            read(guarded(one_byte_frames(text), 1 << 20, true)).await;
        assert!(error.is_none() && trailers.is_none());
        assert_eq!(data, text.as_bytes());
        assert_eq!(slot.log.lock().expect("log")[0].token_echoed, 0);
        let (data, _, error, _) = read(guarded(Vec::new(), 1 << 20, true)).await;
        assert!(data.is_empty() && error.is_none());
    }
}
