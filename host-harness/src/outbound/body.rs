//! The response body the guest reads: the host's between-bytes timeout and size limit, counted
//! into the request's record; its connection goes back to the pool once read whole.

use crate::outbound::pool::{Connection, ConnectionPool, Target};
use crate::outbound::record::RecordSlot;
use bytes::Bytes;
use http_body::Frame;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use wasmtime_wasi_http::Error as HttpError;

/// A response body with the host's between-bytes timeout and size limit, counting what it
/// passes on into the request's record.
pub(crate) struct GuardedBody {
    pub(crate) incoming: hyper::body::Incoming,
    pub(crate) between_bytes: tokio::time::Interval,
    pub(crate) limit: u64,
    /// Bytes passed on to the guest.
    pub(crate) received: u64,
    pub(crate) slot: RecordSlot,
    pub(crate) finished: bool,
    /// Where the connection goes back once the body has been read to its end.
    pub(crate) reuse: Option<(ConnectionPool, Target, Connection)>,
}

impl GuardedBody {
    fn end(&mut self, error: Option<HttpError>) -> Poll<Option<Result<Frame<Bytes>, HttpError>>> {
        self.finished = true;
        let received = self.received;
        self.slot.update(|record| record.response_bytes = received);
        // A body cut short (an error, the size limit, a timeout) leaves the connection mid-
        // message: it is dropped, never reused.
        let reuse = self.reuse.take();
        match error {
            Some(error) => {
                self.slot.fail(&error);
                Poll::Ready(Some(Err(error)))
            }
            None => {
                if let Some((pool, target, connection)) = reuse {
                    pool.put(target, connection);
                }
                Poll::Ready(None)
            }
        }
    }
}

impl http_body::Body for GuardedBody {
    type Data = Bytes;
    type Error = HttpError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, HttpError>>> {
        let this = self.get_mut();
        if this.finished {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.incoming).poll_frame(cx) {
            Poll::Ready(None) => this.end(None),
            Poll::Ready(Some(Err(error))) => this.end(Some(if error.is_timeout() {
                HttpError::HttpResponseTimeout
            } else {
                HttpError::from(error)
            })),
            Poll::Ready(Some(Ok(frame))) => {
                this.between_bytes.reset();
                if let Some(data) = frame.data_ref() {
                    let total = this.received + data.len() as u64;
                    if total > this.limit {
                        // The frame past the limit is not passed on (nor counted).
                        tracing::warn!(limit = this.limit, "response body too large");
                        return this.end(Some(HttpError::HttpResponseBodySize(Some(total))));
                    }
                    this.received = total;
                    this.slot.update(|record| record.response_bytes = total);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Pending => {
                ready!(this.between_bytes.poll_tick(cx));
                this.end(Some(HttpError::ConnectionReadTimeout))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.finished || self.incoming.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.incoming.size_hint()
    }
}
