//! The validator's TLS client, used for tls-alpn-01 (RFC 8737) and for
//! http-01 redirects to `https` (RFC 8555 §8.3).
//!
//! It accepts any certificate without checking its chain or its names.
//! That is right here (and for PostgreSQL's `sslmode=require` without a
//! root, which asks for exactly that, see `store::postgres::tls`), because
//! validation is not about
//! trusting the server: in tls-alpn-01 the certificate is a self-signed
//! one the ACME client made for the challenge (RFC 8737 §3), and what
//! proves control is its acmeIdentifier extension, checked by the caller;
//! in an http-01 redirect to https the proof is the key authorization in
//! the body, and the site often has no valid certificate yet (getting one
//! is the point). Let's Encrypt's validation authority does the same.
//!
//! What is still checked: the handshake signatures, with aws-lc-rs's
//! algorithms, so the peer holds the private key of the certificate it
//! sent, and tls-alpn-01's certificate is really the one the server owns.
//! They are checked against the certificate's public key alone (as
//! rustls's `verify_tls13_signature_with_raw_key`), not through
//! `rustls::crypto::verify_tls12_signature`/`verify_tls13_signature`:
//! those parse the certificate with webpki, which rightly refuses any
//! unknown critical extension, and the acmeIdentifier extension that
//! tls-alpn-01 requires is exactly that (RFC 8737 §3).

use crate::problem::{ErrorType, Problem};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, SubjectPublicKeyInfoDer, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, SignatureScheme};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpStream;
use tokio::time::{timeout_at, Instant};
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

/// Accepts every certificate chain, but verifies the handshake signatures
/// against the presented certificate's key (see the module docs for why).
/// The PostgreSQL store uses it too, for libpq's `sslmode=require`
/// without a root: encryption, without knowing who answers.
#[derive(Debug)]
pub(crate) struct AcceptAnyCertificate {
    pub(crate) provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
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
        self.verify_signature(message, cert, dss, false)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        // rustls leaves this check to the verifier: TLS 1.3 forbids
        // PKCS#1 v1.5 and SHA-1 in CertificateVerify (RFC 8446 §4.4.3).
        if !allowed_in_tls13(dss.scheme) {
            return Err(rustls::PeerMisbehaved::SignedHandshakeWithUnadvertisedSigScheme.into());
        }
        self.verify_signature(message, cert, dss, true)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

impl AcceptAnyCertificate {
    /// Verifies `dss` over `message` with the public key of `cert`, with
    /// the algorithms the provider maps `dss.scheme` to: the first only in
    /// TLS 1.3, where a scheme names one algorithm; each in turn in TLS
    /// 1.2, where it does not (as rustls's own functions do).
    fn verify_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
        tls13: bool,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let bad_encoding = || rustls::Error::InvalidCertificate(CertificateError::BadEncoding);
        let (_, parsed) =
            x509_parser::parse_x509_certificate(cert.as_ref()).map_err(|_| bad_encoding())?;
        let spki = SubjectPublicKeyInfoDer::from(parsed.public_key().raw);
        let key = webpki::RawPublicKeyEntity::try_from(&spki).map_err(|_| bad_encoding())?;
        let candidates = self
            .provider
            .signature_verification_algorithms
            .mapping
            .iter()
            .find(|(scheme, _)| *scheme == dss.scheme)
            .map(|(_, algorithms)| *algorithms)
            .unwrap_or(&[]);
        let candidates = if tls13 {
            &candidates[..candidates.len().min(1)]
        } else {
            candidates
        };
        if candidates.is_empty() {
            return Err(rustls::PeerMisbehaved::SignedHandshakeWithUnadvertisedSigScheme.into());
        }
        for algorithm in candidates {
            if key
                .verify_signature(*algorithm, message, dss.signature())
                .is_ok()
            {
                return Ok(HandshakeSignatureValid::assertion());
            }
        }
        Err(rustls::Error::InvalidCertificate(
            CertificateError::BadSignature,
        ))
    }
}

/// The schemes a TLS 1.3 CertificateVerify may use (RFC 8446 §4.2.3),
/// as rustls's own (crate-private) `supported_in_tls13`.
fn allowed_in_tls13(scheme: SignatureScheme) -> bool {
    matches!(
        scheme,
        SignatureScheme::ECDSA_NISTP256_SHA256
            | SignatureScheme::ECDSA_NISTP384_SHA384
            | SignatureScheme::ECDSA_NISTP521_SHA512
            | SignatureScheme::RSA_PSS_SHA256
            | SignatureScheme::RSA_PSS_SHA384
            | SignatureScheme::RSA_PSS_SHA512
            | SignatureScheme::ED25519
            | SignatureScheme::ED448
    )
}

/// A client configuration for TLS 1.2 and 1.3 (RFC 8737 §4 requires at
/// least 1.2) offering exactly the protocols in `alpn`, that accepts any
/// certificate.
pub(crate) fn client_config(alpn: &[&[u8]]) -> Result<Arc<ClientConfig>, Problem> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| {
            Problem::new(
                ErrorType::ServerInternal,
                format!("the validator's TLS configuration failed: {e}"),
            )
        })?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate { provider }))
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

/// A TLS handshake over `tcp` with `server_name` (the SNI for a DNS
/// name; none for an IP address, RFC 6066 §3), bounded by `deadline`.
/// A failed handshake is a `tls` problem, one that runs out of time a
/// `connection` problem; both name `what` and the address.
pub(crate) async fn handshake(
    tcp: TcpStream,
    addr: SocketAddr,
    server_name: ServerName<'static>,
    config: Arc<ClientConfig>,
    deadline: Instant,
    what: &str,
) -> Result<TlsStream<TcpStream>, Problem> {
    let connector = TlsConnector::from(config);
    match timeout_at(deadline, connector.connect(server_name.clone(), tcp)).await {
        Ok(Ok(stream)) => Ok(stream),
        Ok(Err(e)) => Err(Problem::new(
            ErrorType::Tls,
            format!(
                "TLS handshake with {addr} for {what} (server name {}) failed: {e}",
                server_name.to_str()
            ),
        )),
        Err(_) => Err(Problem::new(
            ErrorType::Connection,
            format!("TLS handshake with {addr} for {what} timed out"),
        )),
    }
}
