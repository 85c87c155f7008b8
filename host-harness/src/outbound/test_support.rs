//! What the outbound unit tests share: a record slot, a request to the API host, one send.

use crate::outbound::hooks::{Timeouts, send_vetted};
use crate::outbound::policy::API_HOST;
use crate::outbound::pool::{ConnectionPool, Target};
use crate::outbound::record::{OutboundRecord, RecordSlot, Verdict};
use crate::outbound::resolve::Resolver;
use bytes::Bytes;
use http_body_util::BodyExt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wasmtime_wasi_http::{Error as HttpError, WasiBody};

pub(crate) fn slot() -> RecordSlot {
    let record = OutboundRecord {
        method: "GET".into(),
        url: "https://api.cloudflare.com/x".into(),
        host: "api.cloudflare.com".into(),
        path: "/x".into(),
        query: None,
        decision: Verdict::Allowed,
        denied: None,
        deny_code: None,
        upstream: None,
        token_injected: false,
        token_echoed: 0,
        status: None,
        response_bytes: 0,
        duration_ms: 0,
        error: None,
    };
    RecordSlot {
        log: Arc::new(Mutex::new(vec![record])),
        index: 0,
        started: Instant::now(),
    }
}

pub(crate) fn request() -> http::Request<WasiBody> {
    http::Request::get("https://api.cloudflare.com/x")
        .header(http::header::HOST, "api.cloudflare.com")
        .body(
            http_body_util::Empty::<Bytes>::new()
                .map_err(|never| match never {})
                .boxed_unsync(),
        )
        .expect("request")
}

pub(crate) const TIMEOUTS: Timeouts = Timeouts {
    connect: Duration::from_secs(5),
    first_byte: Duration::from_secs(5),
    between_bytes: Duration::from_secs(5),
};

/// The API host on 443; `vet: false` for test servers on loopback, which vetting refuses.
pub(crate) fn api_target(vet: bool) -> Target {
    Target {
        https: true,
        host: API_HOST.into(),
        port: 443,
        vet,
    }
}

/// `GET /x` through `send_vetted` with the test timeouts.
pub(crate) async fn send(
    pool: &ConnectionPool,
    target: &Target,
    resolver: &Resolver,
    max_response_bytes: u64,
    slot: RecordSlot,
    tls: Option<&tokio_rustls::TlsConnector>,
) -> Result<http::Response<WasiBody>, HttpError> {
    send_vetted(
        request(),
        target.clone(),
        resolver,
        pool,
        TIMEOUTS,
        max_response_bytes,
        slot,
        tls,
        None,
    )
    .await
}
