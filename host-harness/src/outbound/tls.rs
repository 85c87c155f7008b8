//! TLS for outbound connections: the Web PKI roots, as wasmtime-wasi-http's default sender uses.

use std::sync::{Arc, OnceLock};
use wasmtime_wasi_http::Error as HttpError;

/// Web PKI roots, as the default sender uses; built once.
pub(crate) fn tls_connector() -> Result<tokio_rustls::TlsConnector, HttpError> {
    static CONFIG: OnceLock<Result<Arc<rustls::ClientConfig>, String>> = OnceLock::new();
    let config = CONFIG.get_or_init(|| {
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.into(),
        };
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map(|builder| Arc::new(builder.with_root_certificates(roots).with_no_client_auth()))
        .map_err(|e| e.to_string())
    });
    match config {
        Ok(config) => Ok(tokio_rustls::TlsConnector::from(config.clone())),
        Err(e) => Err(HttpError::InternalError(Some(format!("TLS set-up: {e}")))),
    }
}

#[cfg(test)]
mod tests {
    //! The sender's TLS path, offline: a local TLS server with a certificate for an allowed
    //! name, signed by a test CA made in-process.
    use crate::outbound::policy::API_HOST;
    use crate::outbound::pool::ConnectionPool;
    use crate::outbound::resolve::Resolver;
    use crate::outbound::test_support::{api_target, send, slot};
    use http_body_util::BodyExt;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use std::net::SocketAddr;
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use wasmtime_wasi_http::Error as HttpError;

    struct TestPki {
        ca: CertificateDer<'static>,
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    }

    /// A CA and a server certificate for `name`, made with rcgen (ECDSA P-256).
    fn test_pki(name: &str) -> TestPki {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
            KeyPair, KeyUsagePurpose,
        };
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca = CertificateParams::default();
        ca.distinguished_name
            .push(DnType::CommonName, "cf-harness test CA");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign];
        let ca_cert = ca.self_signed(&ca_key).expect("CA certificate");
        let issuer = Issuer::new(ca, ca_key);
        let key = KeyPair::generate().expect("server key");
        let mut server = CertificateParams::new(vec![name.to_string()]).expect("server name");
        server.distinguished_name.push(DnType::CommonName, name);
        server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let cert = server.signed_by(&key, &issuer).expect("server certificate");
        TestPki {
            ca: ca_cert.der().clone(),
            chain: vec![cert.der().clone()],
            key: PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        }
    }

    /// Serves one TLS connection: answers `hello` and reports the SNI name and the request head.
    async fn serve_once(
        pki: TestPki,
    ) -> (
        SocketAddr,
        tokio::task::JoinHandle<Option<(Option<String>, String)>>,
    ) {
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(pki.chain, pki.key)
        .expect("server certificate");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        let server = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.ok()?;
            let mut tls = acceptor.accept(tcp).await.ok()?;
            let sni = tls.get_ref().1.server_name().map(str::to_string);
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = tls.read(&mut buf).await.ok()?;
                if n == 0 {
                    break;
                }
                head.extend_from_slice(&buf[..n]);
            }
            tls.write_all(
                b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello",
            )
            .await
            .ok()?;
            tls.shutdown().await.ok()?;
            Some((sni, String::from_utf8_lossy(&head).into_owned()))
        });
        (address, server)
    }

    fn connector(ca: &CertificateDer<'static>) -> tokio_rustls::TlsConnector {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(ca.clone()).expect("test CA");
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
        tokio_rustls::TlsConnector::from(Arc::new(config))
    }

    #[tokio::test]
    async fn https_connects_to_the_resolved_address_and_checks_the_certificate_against_the_name() {
        let pki = test_pki(API_HOST);
        let connector = connector(&pki.ca);
        let (address, server) = serve_once(pki).await;
        let resolver = Resolver::fixed([(API_HOST, vec![address])]);
        let slot = slot();
        let pool = ConnectionPool::default();
        let response = send(
            &pool,
            &api_target(false),
            &resolver,
            1024,
            slot.clone(),
            Some(&connector),
        )
        .await
        .expect("the TLS exchange succeeds");
        assert_eq!(response.status(), 200);
        let body = response.into_body().collect().await.expect("body");
        assert_eq!(&body.to_bytes()[..], b"hello");
        let (sni, head) = server.await.expect("server task").expect("served");
        assert_eq!(sni.as_deref(), Some(API_HOST), "SNI is the name");
        assert!(head.starts_with("GET /x HTTP/1.1\r\n"), "{head}");
        assert!(
            head.to_ascii_lowercase()
                .contains("host: api.cloudflare.com\r\n")
        );
        let record = slot.log.lock().expect("log")[0].clone();
        assert_eq!(record.status, Some(200));
        assert_eq!(record.response_bytes, 5);
    }

    #[tokio::test]
    async fn a_certificate_for_another_name_is_refused() {
        let pki = test_pki("other.example");
        let connector = connector(&pki.ca);
        let (address, _server) = serve_once(pki).await;
        let resolver = Resolver::fixed([(API_HOST, vec![address])]);
        let pool = ConnectionPool::default();
        let result = send(
            &pool,
            &api_target(false),
            &resolver,
            1024,
            slot(),
            Some(&connector),
        )
        .await;
        assert!(
            matches!(result, Err(HttpError::Tls(_))),
            "{:?}",
            result.err()
        );
    }
}
