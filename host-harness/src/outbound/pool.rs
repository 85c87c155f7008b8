//! Connections: made to vetted addresses (TLS checked against the name) and kept per instance
//! for reuse.

use crate::outbound::hooks::Timeouts;
use crate::outbound::record::RecordSlot;
use crate::outbound::resolve::{Resolver, resolve_and_vet};
use crate::outbound::tls::tls_connector;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wasmtime_wasi_http::io::TokioIo;
use wasmtime_wasi_http::{Error as HttpError, WasiBody};

/// Where a request is sent; connections are pooled by it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct Target {
    pub(crate) https: bool,
    /// A name (resolved by the host) or an IP address (an upstream's).
    pub(crate) host: String,
    pub(crate) port: u16,
    /// Whether every address must be public (always, except for an explicit upstream).
    pub(crate) vet: bool,
}

trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Sync + Unpin + 'static {}
impl<T> Io for T where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Sync + Unpin + 'static
{
}

async fn connect_any(addresses: &[SocketAddr]) -> Result<tokio::net::TcpStream, HttpError> {
    let mut last = None;
    for address in addresses {
        match tokio::net::TcpStream::connect(address).await {
            Ok(stream) => return Ok(stream),
            Err(error) => last = Some(error),
        }
    }
    Err(HttpError::Connect(last.unwrap_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::NotFound, "no address")
    })))
}

/// One HTTP/1.1 connection: the handle requests are sent on, and the task driving its I/O,
/// which ends when this is dropped.
pub(crate) struct Connection {
    pub(crate) sender: hyper::client::conn::http1::SendRequest<WasiBody>,
    _io: AbortOnDrop,
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// How long an idle connection is kept: well under the keep-alive time servers allow, so a
/// request is not sent on a connection the server is closing.
const POOL_IDLE: Duration = Duration::from_secs(20);
/// Idle connections kept per target (a guest may have a few requests in flight at once).
const POOL_PER_TARGET: usize = 4;

/// An instance's idle connections, by target: the requests of a call (and of the next calls)
/// reuse one TLS connection to the API instead of a handshake each. Never shared between
/// instances, and dropped with the store, which ends their I/O. A connection goes back only
/// after its response body was read to the end without error; one the server closed is not
/// handed out.
#[derive(Clone, Default)]
pub(crate) struct ConnectionPool(
    Arc<Mutex<std::collections::HashMap<Target, Vec<IdleConnection>>>>,
);

/// A pooled connection and since when it has been idle.
type IdleConnection = (Connection, Instant);

impl ConnectionPool {
    pub(crate) fn take(&self, target: &Target) -> Option<Connection> {
        let mut pool = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let idle = pool.get_mut(target)?;
        while let Some((connection, since)) = idle.pop() {
            if !connection.sender.is_closed() && since.elapsed() < POOL_IDLE {
                return Some(connection);
            }
        }
        None
    }

    pub(crate) fn put(&self, target: Target, connection: Connection) {
        let mut pool = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let idle = pool.entry(target).or_default();
        idle.retain(|(c, since)| !c.sender.is_closed() && since.elapsed() < POOL_IDLE);
        if idle.len() < POOL_PER_TARGET {
            idle.push((connection, Instant::now()));
        }
    }
}

async fn connect(
    target: &Target,
    addresses: &[SocketAddr],
    tls: Option<&tokio_rustls::TlsConnector>,
) -> Result<Connection, HttpError> {
    let tcp = connect_any(addresses).await?;
    let stream: Box<dyn Io> = if target.https {
        // The certificate is checked against the name, not the address connected to.
        let name = rustls::pki_types::ServerName::try_from(target.host.clone())
            .map_err(|_| HttpError::HttpRequestUriInvalid)?;
        let connector = match tls {
            Some(connector) => connector.clone(),
            None => tls_connector()?,
        };
        Box::new(connector.connect(name, tcp).await.map_err(HttpError::Tls)?)
    } else {
        Box::new(tcp)
    };
    let (sender, io) = hyper::client::conn::http1::Builder::new()
        .handshake(TokioIo::new(stream))
        .await?;
    let io = tokio::spawn(async move {
        if let Err(error) = io.await {
            tracing::debug!(%error, "connection ended with an error");
        }
    });
    Ok(Connection {
        sender,
        _io: AbortOnDrop(io),
    })
}

/// An idle connection to `target` that is ready for a request, or a new one (resolved, vetted
/// and connected within the connect timeout).
pub(crate) async fn ready_connection(
    target: &Target,
    resolver: &Resolver,
    pool: &ConnectionPool,
    timeouts: Timeouts,
    slot: &RecordSlot,
    tls: Option<&tokio_rustls::TlsConnector>,
) -> Result<Connection, HttpError> {
    while let Some(mut connection) = pool.take(target) {
        // Ready at once, unless the server closed it meanwhile: then try the next.
        if let Ok(Ok(())) =
            tokio::time::timeout(Duration::from_millis(50), connection.sender.ready()).await
        {
            return Ok(connection);
        }
    }
    let addresses = resolve_and_vet(target, resolver, timeouts.connect, slot).await?;
    tokio::time::timeout(timeouts.connect, connect(target, &addresses, tls))
        .await
        .map_err(|_| HttpError::ConnectionTimeout)?
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbound::test_support::{send, slot};
    use bytes::Bytes;
    use http_body_util::BodyExt;
    use std::sync::atomic::Ordering;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    /// A plain-HTTP server on loopback answering every request with `body` (and closing the
    /// connection after each answer when `close`); counts the connections it accepted.
    async fn counting_server(
        body: &'static str,
        close: bool,
    ) -> (Target, Arc<std::sync::atomic::AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("address").port();
        let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = accepted.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut byte = [0u8; 1];
                    while stream.read(&mut byte).await.unwrap_or(0) == 1 {
                        head.push(byte[0]);
                        if !head.ends_with(b"\r\n\r\n") {
                            continue;
                        }
                        head.clear();
                        let connection = if close { "Connection: close\r\n" } else { "" };
                        let answer = format!(
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n{connection}\r\n{body}",
                            body.len()
                        );
                        if stream.write_all(answer.as_bytes()).await.is_err() || close {
                            return;
                        }
                    }
                });
            }
        });
        let target = Target {
            https: false,
            host: "127.0.0.1".into(),
            port,
            vet: false,
        };
        (target, accepted)
    }

    /// Sends a GET on `pool` and reads the whole body.
    async fn get(
        pool: &ConnectionPool,
        target: &Target,
        max_response_bytes: u64,
    ) -> Result<Bytes, HttpError> {
        let resolver = Resolver::system();
        let response = send(pool, target, &resolver, max_response_bytes, slot(), None).await?;
        Ok(response.into_body().collect().await?.to_bytes())
    }

    #[tokio::test]
    async fn a_connection_is_reused_only_after_its_body_was_read_whole() {
        let (target, accepted) = counting_server("hello", false).await;
        let pool = ConnectionPool::default();
        for _ in 0..3 {
            assert_eq!(
                &get(&pool, &target, 1024).await.expect("sent")[..],
                b"hello"
            );
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 1, "one connection, reused");
        // A body over the limit is cut: its connection is mid-message and is dropped.
        assert!(matches!(
            get(&pool, &target, 2).await,
            Err(HttpError::HttpResponseBodySize(_))
        ));
        assert_eq!(
            &get(&pool, &target, 1024).await.expect("sent")[..],
            b"hello"
        );
        assert_eq!(
            accepted.load(Ordering::SeqCst),
            2,
            "a new connection after the cut"
        );
        // Pools are per instance: another pool connects anew.
        let other = ConnectionPool::default();
        get(&other, &target, 1024).await.expect("sent");
        assert_eq!(accepted.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_connection_the_server_closed_is_not_handed_out() {
        let (target, accepted) = counting_server("bye", true).await;
        let pool = ConnectionPool::default();
        for _ in 0..3 {
            assert_eq!(&get(&pool, &target, 1024).await.expect("sent")[..], b"bye");
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 3);
    }
}
