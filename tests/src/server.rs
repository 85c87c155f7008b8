//! The server handle: [`FakeCloudflare`] runs the router on its own thread and runtime and
//! keeps every request it received ([`RecordedRequest`]).

use std::future::IntoFuture;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use axum::Router;
use serde_json::Value;

use crate::graphql::graphql_schema;
use crate::router::handle;
use crate::scenarios::Scenario;

/// One request as the fake received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedRequest {
    pub method: String,
    /// From the `Host` header, lowercased, without `:port`.
    pub host: String,
    pub path: String,
    pub query: Option<String>,
    /// Names lowercased, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The client's address: requests from one address came over one connection.
    pub peer: Option<SocketAddr>,
}

impl RecordedRequest {
    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The `query` of a GraphQL request body (`{"query": …}`), if the body is one.
    pub fn graphql_query(&self) -> Option<String> {
        let body: Value = serde_json::from_slice(&self.body).ok()?;
        body.get("query")?.as_str().map(str::to_owned)
    }

    /// Whether this is a GraphQL request whose operations select `__schema` or `__type` at
    /// their root (a schema introspection query).
    pub fn is_graphql_introspection(&self) -> bool {
        let Some(query) = self.graphql_query() else {
            return false;
        };
        let Ok(document) = apollo_compiler::ast::Document::parse(query, "query.graphql") else {
            return false;
        };
        document.definitions.iter().any(|definition| {
            matches!(
                definition,
                apollo_compiler::ast::Definition::OperationDefinition(operation)
                    if operation.selection_set.iter().any(|selection| matches!(
                        selection,
                        apollo_compiler::ast::Selection::Field(field)
                            if field.name == "__schema" || field.name == "__type"
                    ))
            )
        })
    }
}

pub(crate) struct Shared {
    pub(crate) scenario: Mutex<Scenario>,
    pub(crate) requests: Mutex<Vec<RecordedRequest>>,
    /// How long every answer waits: for tests of the host's timeouts.
    pub(crate) delay: Mutex<std::time::Duration>,
    /// When set, GraphQL data answers are grown to at least this many bytes (benchmarks; see
    /// [`FakeCloudflare::set_graphql_inflation`]).
    pub(crate) graphql_inflation: Mutex<Option<usize>>,
}

impl Shared {
    pub(crate) fn scenario(&self) -> Scenario {
        // A panicking test must not take the fake down with it: ignore poisoning.
        *self.scenario.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn record(&self, request: RecordedRequest) {
        self.requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(request);
    }
}

/// A running fake server. It has its own thread and tokio runtime, so it works from plain
/// `#[test]`s and from inside `#[tokio::test]` alike. Dropping it stops the server.
pub struct FakeCloudflare {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl FakeCloudflare {
    /// Starts the fake on `127.0.0.1` with an ephemeral port.
    pub fn spawn(scenario: Scenario) -> FakeCloudflare {
        FakeCloudflare::spawn_on_port(scenario, 0).expect("start the fake Cloudflare server")
    }

    /// Starts the fake on `127.0.0.1:port` (0 picks a free port).
    pub fn spawn_on_port(scenario: Scenario, port: u16) -> std::io::Result<FakeCloudflare> {
        let shared = Arc::new(Shared {
            scenario: Mutex::new(scenario),
            requests: Mutex::new(Vec::new()),
            delay: Mutex::new(std::time::Duration::ZERO),
            graphql_inflation: Mutex::new(None),
        });
        // Building the GraphQL schema takes about a second in debug builds: start it now, off
        // the server's threads, so the first GraphQL request does not wait as long.
        std::thread::Builder::new()
            .name("fake-cloudflare-schema".to_owned())
            .spawn(|| {
                graphql_schema();
            })?;
        let std_listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port))?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;

        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&shared));
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<std::io::Result<()>>();

        // The runtime is built and dropped on this thread only: tokio panics when a runtime is
        // dropped inside another runtime's async context, which is where callers may be.
        let thread = std::thread::Builder::new()
            .name("fake-cloudflare".to_owned())
            .spawn(move || {
                let started = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name("fake-cloudflare-worker")
                    .enable_all()
                    .build()
                    .and_then(|runtime| {
                        let listener = {
                            let _context = runtime.enter();
                            tokio::net::TcpListener::from_std(std_listener)?
                        };
                        Ok((runtime, listener))
                    });
                let (runtime, listener) = match started {
                    Ok(started) => {
                        let _ = ready_tx.send(Ok(()));
                        started
                    }
                    Err(error) => {
                        let _ = ready_tx.send(Err(error));
                        return;
                    }
                };
                runtime.block_on(async move {
                    tokio::select! {
                        result = axum::serve(
                            listener,
                            app.into_make_service_with_connect_info::<SocketAddr>(),
                        )
                        .into_future() => {
                            if let Err(error) = result {
                                eprintln!("fake-cloudflare: server stopped: {error}");
                            }
                        }
                        _ = stop_rx => {}
                    }
                });
                // Dropping the runtime here also ends connections the client kept open.
            })?;
        ready_rx.recv().map_err(|_| {
            std::io::Error::other("the fake Cloudflare thread died while starting")
        })??;

        Ok(FakeCloudflare {
            addr,
            shared,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn scenario(&self) -> Scenario {
        self.shared.scenario()
    }

    /// Makes every later answer wait this long before it is sent (zero to stop).
    pub fn set_delay(&self, delay: std::time::Duration) {
        *self
            .shared
            .delay
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = delay;
    }

    /// BENCHMARKS ONLY (Cloudflare does no such thing): with `Some(bytes)`, every successful
    /// GraphQL data answer is grown, after the query ran as usual, until its body is at least
    /// `bytes` long: the largest array under `data` gets copies of its own items, in turn (see
    /// [`inflate_graphql_answer`]). `settings` lookups and introspection are left as they are.
    /// `None` (the default) restores the normal answers.
    pub fn set_graphql_inflation(&self, target_bytes: Option<usize>) {
        *self
            .shared
            .graphql_inflation
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = target_bytes;
    }

    pub fn set_scenario(&self, scenario: Scenario) {
        *self
            .shared
            .scenario
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = scenario;
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// How many GraphQL introspection queries (`__schema` / `__type`) were received so far.
    pub fn introspection_requests(&self) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.path == "/client/v4/graphql" && r.is_graphql_introspection())
            .count()
    }

    pub fn clear_requests(&self) {
        self.shared
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

impl Drop for FakeCloudflare {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            // The server may already be gone; nothing to do then.
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TOKEN;
    use crate::test_client::send;

    #[test]
    fn requests_are_recorded_with_host_and_headers() {
        let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
        send(
            &fake,
            "GET",
            "api.cloudflare.com:443",
            "/client/v4/zones?per_page=5",
            Some(TOKEN),
            "",
        );
        let unknown = send(&fake, "GET", "example.org", "/", None, "");
        assert_eq!(unknown.status, 404);

        let requests = fake.requests();
        assert_eq!(requests.len(), 2);
        let first = &requests[0];
        assert_eq!(first.method, "GET");
        assert_eq!(first.host, "api.cloudflare.com");
        assert_eq!(first.path, "/client/v4/zones");
        assert_eq!(first.query.as_deref(), Some("per_page=5"));
        assert_eq!(
            first.header("Authorization"),
            Some(format!("Bearer {TOKEN}").as_str())
        );
        assert_eq!(first.header("user-agent"), Some("cf-fake-test"));
        assert_eq!(requests[1].host, "example.org");

        fake.clear_requests();
        assert!(fake.requests().is_empty());
    }

    #[tokio::test]
    async fn works_inside_a_runtime_and_stops_with_a_connection_open() {
        let fake = FakeCloudflare::spawn(Scenario::AllPermissions);
        let addr = fake.addr();
        // A keep-alive connection that stays open must not keep the drop waiting.
        let mut idle = tokio::net::TcpStream::connect(addr)
            .await
            .expect("connect to the fake");
        let request = "GET /llms.txt HTTP/1.1\r\nHost: developers.cloudflare.com\r\n\r\n";
        tokio::io::AsyncWriteExt::write_all(&mut idle, request.as_bytes())
            .await
            .expect("send the request");
        let mut buf = [0u8; 64];
        let n = tokio::io::AsyncReadExt::read(&mut idle, &mut buf)
            .await
            .expect("read the reply");
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
        drop(fake);
        assert!(std::net::TcpStream::connect(addr).is_err());
    }
}
