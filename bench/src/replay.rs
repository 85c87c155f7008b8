//! The native client: the sandbox's recorded requests sent again with hyper, to compare with.

use anyhow::Context as _;
use bytes::Bytes;
use cf_fake::{RecordedRequest, TOKEN};
use host_harness::outbound::policy::API_HOST;
use http_body_util::{BodyExt as _, Full};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// One recorded request, ready to send again.
pub(crate) struct Replay {
    method: http::Method,
    host: String,
    path_and_query: String,
    headers: Vec<(http::HeaderName, http::HeaderValue)>,
    body: Bytes,
}

impl Replay {
    pub(crate) fn from_recorded(request: &RecordedRequest) -> anyhow::Result<Self> {
        let mut headers = Vec::new();
        if request.host == API_HOST {
            let authorization = request
                .header("authorization")
                .map_or_else(|| format!("Bearer {TOKEN}"), str::to_owned);
            headers.push((
                http::header::AUTHORIZATION,
                http::HeaderValue::from_str(&authorization)?,
            ));
        }
        if let Some(content_type) = request.header("content-type") {
            headers.push((
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_str(content_type)?,
            ));
        }
        Ok(Replay {
            method: request.method.parse()?,
            host: request.host.clone(),
            path_and_query: match &request.query {
                Some(query) => format!("{}?{query}", request.path),
                None => request.path.clone(),
            },
            headers,
            body: Bytes::from(request.body.clone()),
        })
    }

    fn request(&self) -> anyhow::Result<http::Request<Full<Bytes>>> {
        let mut builder = http::Request::builder()
            .method(self.method.clone())
            .uri(self.path_and_query.as_str())
            .header(http::header::HOST, self.host.as_str());
        for (name, value) in &self.headers {
            builder = builder.header(name, value);
        }
        Ok(builder.body(Full::new(self.body.clone()))?)
    }
}

/// `METHOD host/path`, to name a request.
pub(crate) fn request_line(request: &RecordedRequest) -> String {
    format!("{} {}{}", request.method, request.host, request.path)
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn open(address: SocketAddr) -> anyhow::Result<Sender> {
    let stream = tokio::net::TcpStream::connect(address).await?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    Ok(sender)
}

/// Sends the requests in order, each body read whole and parsed as the plugin would (JSON, or
/// UTF-8 text for the docs host). `keep_alive`: one connection to the fake, reused, as the
/// sandbox's host keeps its connections (both hosts go to the one fake, so it holds one);
/// otherwise a new connection per request.
pub(crate) async fn replay(
    address: SocketAddr,
    requests: &[Replay],
    keep_alive: bool,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let mut kept: Option<Sender> = None;
    for request in requests {
        let mut fresh;
        let sender = if keep_alive {
            match &mut kept {
                Some(sender) => sender,
                None => kept.insert(open(address).await?),
            }
        } else {
            fresh = open(address).await?;
            &mut fresh
        };
        sender.ready().await?;
        let response = sender.send_request(request.request()?).await?;
        let json = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("json"));
        let body = response.into_body().collect().await?.to_bytes();
        if json {
            serde_json::from_slice::<Value>(&body).context("a JSON answer")?;
        } else {
            std::str::from_utf8(&body).context("a text answer")?;
        }
    }
    Ok(started.elapsed())
}
