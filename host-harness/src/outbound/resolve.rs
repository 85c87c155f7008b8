//! The host resolves every allowed name itself (never the guest) and vets each address.

use crate::outbound::policy::{DenyReason, forbidden_address};
use crate::outbound::pool::Target;
use crate::outbound::record::RecordSlot;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use wasmtime_wasi_http::Error as HttpError;

/// Resolves host names for outbound connections: the host does it, never the guest.
pub trait Resolve: Send + Sync {
    /// The addresses to try for `host`, with `port` (the request's) unless the resolver has
    /// its own reason to say otherwise.
    fn resolve(
        &self,
        host: &str,
        port: u16,
    ) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<SocketAddr>>> + Send>>;
}

/// The resolver of an instance: the system's by default; tests give fixed answers to make an
/// allowed name point at a forbidden address.
#[derive(Clone, Default)]
pub struct Resolver(Option<Arc<dyn Resolve>>);

impl Resolver {
    /// The system resolver (`getaddrinfo`, through tokio).
    pub fn system() -> Self {
        Resolver(None)
    }

    pub fn custom(resolve: impl Resolve + 'static) -> Self {
        Resolver(Some(Arc::new(resolve)))
    }

    /// Fixed answers, used as given (their ports too); other names do not resolve. For tests.
    pub fn fixed<S: Into<String>>(answers: impl IntoIterator<Item = (S, Vec<SocketAddr>)>) -> Self {
        let answers = answers
            .into_iter()
            .map(|(name, addresses)| (name.into().to_ascii_lowercase(), addresses))
            .collect();
        Resolver::custom(FixedAnswers(answers))
    }

    pub(crate) async fn lookup(&self, host: &str, port: u16) -> std::io::Result<Vec<SocketAddr>> {
        match &self.0 {
            None => Ok(tokio::net::lookup_host((host, port)).await?.collect()),
            Some(resolve) => resolve.resolve(host, port).await,
        }
    }
}

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.0 {
            None => "Resolver::system",
            Some(_) => "Resolver::custom",
        })
    }
}

struct FixedAnswers(std::collections::HashMap<String, Vec<SocketAddr>>);

impl Resolve for FixedAnswers {
    fn resolve(
        &self,
        host: &str,
        _port: u16,
    ) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<SocketAddr>>> + Send>> {
        let answer = self
            .0
            .get(&host.to_ascii_lowercase())
            .cloned()
            .ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("{host}: no such name"),
                )
            });
        Box::pin(async move { answer })
    }
}

/// Resolves the target's name (unless it is an address) and, when it must be vetted, refuses
/// it if any address is not public: one bad answer is enough (DNS rebinding).
pub(crate) async fn resolve_and_vet(
    target: &Target,
    resolver: &Resolver,
    timeout: Duration,
    slot: &RecordSlot,
) -> Result<Vec<SocketAddr>, HttpError> {
    let addresses = match target.host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, target.port)],
        Err(_) => {
            match tokio::time::timeout(timeout, resolver.lookup(&target.host, target.port)).await {
                Err(_) => return Err(HttpError::DnsTimeout),
                Ok(Err(error)) => {
                    tracing::debug!(host = %target.host, %error, "name resolution failed");
                    return Err(HttpError::DnsError {
                        rcode: None,
                        info_code: None,
                    });
                }
                Ok(Ok(addresses)) => addresses,
            }
        }
    };
    if addresses.is_empty() {
        return Err(HttpError::DestinationNotFound);
    }
    if target.vet {
        for address in &addresses {
            if let Some(kind) = forbidden_address(address.ip()) {
                slot.deny(&DenyReason::AddressNotAllowed {
                    host: target.host.clone(),
                    address: address.ip(),
                    kind,
                });
                return Err(HttpError::DestinationIpProhibited);
            }
        }
    }
    Ok(addresses)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbound::policy::API_HOST;
    use crate::outbound::pool::ConnectionPool;
    use crate::outbound::record::Verdict;
    use crate::outbound::test_support::{api_target, send, slot};

    #[tokio::test]
    async fn vetting_refuses_internal_answers_before_connecting() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("non-blocking");
        let address = listener.local_addr().expect("address");
        let public: SocketAddr = "104.16.132.229:443".parse().expect("address");
        for answers in [vec![address], vec![public, address]] {
            let resolver = Resolver::fixed([(API_HOST, answers)]);
            let slot = slot();
            let pool = ConnectionPool::default();
            let result = send(
                &pool,
                &api_target(true),
                &resolver,
                1024,
                slot.clone(),
                None,
            )
            .await;
            assert!(
                matches!(result, Err(HttpError::DestinationIpProhibited)),
                "{:?}",
                result.err()
            );
            let record = slot.log.lock().expect("log")[0].clone();
            assert_eq!(record.decision, Verdict::Denied);
            assert_eq!(record.deny_code.as_deref(), Some("address_not_allowed"));
        }
        assert!(
            listener.accept().is_err(),
            "no connection reached the listener"
        );
    }
}
