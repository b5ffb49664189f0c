//! Fetching the chain a TLS server presents, for `squirrel pki inspect
//! https://HOST:PORT`: what `openssl s_client -showcerts` shows.
//!
//! The handshake accepts any certificate on purpose (the point is to look at
//! it, bad or good); the chain is then judged by [`crate::verify`], the same
//! engine squirrel's client uses.

use crate::error::{PkiError, Result};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme};
use std::io::Write;
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What a server showed during the handshake.
#[derive(Debug, Clone)]
pub struct PresentedChain {
    /// DER certificates, leaf first, as sent.
    pub chain: Vec<Vec<u8>>,
    pub tls_version: String,
    pub cipher_suite: String,
    pub alpn: Option<String>,
}

/// Host and port of an `https://HOST[:PORT][/...]` URL (port 443 when absent).
pub fn parse_https_url(url: &str) -> Result<(String, u16)> {
    let bad = |why: &str| {
        PkiError::invalid(
            format!("{url:?} is not a usable https:// URL ({why})"),
            "write it like https://localhost:5683",
        )
    };
    let rest = url
        .strip_prefix("https://")
        .ok_or_else(|| bad("only https:// URLs have certificates to inspect"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']').ok_or_else(|| bad("unclosed ["))?;
        let port = after.strip_prefix(':').unwrap_or("443");
        (host.to_string(), port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), p),
            None => (authority.to_string(), "443"),
        }
    };
    if host.is_empty() {
        return Err(bad("no host"));
    }
    let port = port.parse().map_err(|_| bad("the port is not a number"))?;
    Ok((host, port))
}

/// Connects to `host:port`, completes a TLS handshake with SNI `host`, and
/// returns the chain the server presented.
pub fn fetch_chain(host: &str, port: u16, timeout: Duration) -> Result<PresentedChain> {
    let net_err =
        |what: String| PkiError::invalid(what, "check the host, the port and that the server runs");
    let addr = (host, port)
        .to_socket_addrs()
        .map_err(|e| net_err(format!("cannot resolve {host}: {e}")))?
        .next()
        .ok_or_else(|| net_err(format!("{host} has no address")))?;
    let mut tcp = TcpStream::connect_timeout(&addr, timeout)
        .map_err(|e| net_err(format!("cannot connect to {host}:{port}: {e}")))?;
    tcp.set_read_timeout(Some(timeout)).ok();
    tcp.set_write_timeout(Some(timeout)).ok();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let looker = Arc::new(RecordingVerifier::new(Arc::new(AcceptAnyServerCert(
        provider.clone(),
    ))));
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| PkiError::Crypto(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(looker.clone())
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let name = ServerName::try_from(host.to_string()).map_err(|_| {
        PkiError::invalid(
            format!("{host:?} is not a valid server name"),
            "use a host name or an IP address",
        )
    })?;
    let mut conn = ClientConnection::new(Arc::new(config), name)
        .map_err(|e| PkiError::Crypto(e.to_string()))?;
    while conn.is_handshaking() {
        conn.complete_io(&mut tcp).map_err(|e| {
            let text = e.to_string();
            let hint = if text.contains("InvalidContentType") || text.contains("corrupt message") {
                " (the server does not speak TLS on this port: \"wrong version number\"; try http://)"
            } else {
                ""
            };
            net_err(format!("the TLS handshake with {host}:{port} failed: {text}{hint}"))
        })?;
    }
    let _ = tcp.flush();
    Ok(PresentedChain {
        chain: looker.seen(),
        tls_version: conn
            .protocol_version()
            .map(|v| format!("{v:?}").replace("TLSv1_", "TLS 1."))
            .unwrap_or_default(),
        cipher_suite: conn
            .negotiated_cipher_suite()
            .map(|s| format!("{:?}", s.suite()))
            .unwrap_or_default(),
        alpn: conn
            .alpn_protocol()
            .map(|p| String::from_utf8_lossy(p).into_owned()),
    })
}

/// A verifier that looks but does not judge: the handshake goes through
/// whatever the certificate, so that it can be shown (and judged after), or
/// for `squirrel get --insecure`. Handshake signatures are still checked.
#[derive(Debug)]
pub struct AcceptAnyServerCert(pub Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AcceptAnyServerCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Delegates verification to another verifier and keeps the chain the
/// server presented, so that a failure can be explained with it (and a
/// look-only handshake can show it).
#[derive(Debug)]
pub struct RecordingVerifier {
    inner: Arc<dyn ServerCertVerifier>,
    seen: Mutex<Vec<Vec<u8>>>,
}

impl RecordingVerifier {
    pub fn new(inner: Arc<dyn ServerCertVerifier>) -> Self {
        RecordingVerifier {
            inner,
            seen: Mutex::new(Vec::new()),
        }
    }

    /// The certificates presented, leaf first (empty before the handshake).
    pub fn seen(&self) -> Vec<Vec<u8>> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Ok(mut seen) = self.seen.lock() {
            *seen = std::iter::once(end_entity)
                .chain(intermediates)
                .map(|c| c.as_ref().to_vec())
                .collect();
        }
        self.inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// The system's trusted roots (Debian's /etc/ssl/certs and the like).
pub fn system_roots() -> Vec<Vec<u8>> {
    rustls_native_certs::load_native_certs()
        .certs
        .into_iter()
        .map(|c| c.as_ref().to_vec())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_split() {
        assert_eq!(
            parse_https_url("https://localhost:5683/").unwrap(),
            ("localhost".into(), 5683)
        );
        assert_eq!(
            parse_https_url("https://example.com").unwrap(),
            ("example.com".into(), 443)
        );
        assert_eq!(
            parse_https_url("https://[::1]:8443/x").unwrap(),
            ("::1".into(), 8443)
        );
        assert!(parse_https_url("http://localhost:5683").is_err());
        assert!(parse_https_url("https://localhost:port").is_err());
    }
}
