//! The client side of one TLS handshake, shared by `squirrel get` (which
//! then sends a request) and `squirrel pki inspect https://...` (which only
//! looks at what the server presents), and the one value that says what
//! was negotiated.

use crate::diagnose::{Failure, FailureKind};
use crate::target::Target;
use crate::verifiers::RecordingVerifier;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, ProtocolVersion, StreamOwned};
use std::fmt;
use std::net::TcpStream;
use std::sync::Arc;

/// A TLS protocol version squirrel speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsVersion {
    Tls12,
    Tls13,
}

impl TlsVersion {
    pub fn from_rustls(version: ProtocolVersion) -> Option<TlsVersion> {
        match version {
            ProtocolVersion::TLSv1_2 => Some(TlsVersion::Tls12),
            ProtocolVersion::TLSv1_3 => Some(TlsVersion::Tls13),
            _ => None,
        }
    }

    /// OpenSSL's spelling (`TLSv1.3`), as nginx's `$ssl_protocol` logs it.
    pub fn openssl_name(self) -> &'static str {
        match self {
            TlsVersion::Tls12 => "TLSv1.2",
            TlsVersion::Tls13 => "TLSv1.3",
        }
    }
}

/// People's spelling: `TLS 1.3`.
impl fmt::Display for TlsVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TlsVersion::Tls12 => "TLS 1.2",
            TlsVersion::Tls13 => "TLS 1.3",
        })
    }
}

/// What a TLS handshake settled, and what the server presented.
#[derive(Clone, Debug)]
pub struct TlsInfo {
    pub version: TlsVersion,
    /// rustls's name of the suite, e.g. `TLS13_AES_128_GCM_SHA256`.
    pub cipher_suite: String,
    pub alpn: Option<String>,
    /// The certificates the server presented, leaf first, DER.
    pub chain: Vec<Vec<u8>>,
}

impl TlsInfo {
    fn of(conn: &ClientConnection, chain: Vec<Vec<u8>>) -> Option<TlsInfo> {
        Some(TlsInfo {
            version: TlsVersion::from_rustls(conn.protocol_version()?)?,
            cipher_suite: format!("{:?}", conn.negotiated_cipher_suite()?.suite()),
            alpn: conn
                .alpn_protocol()
                .map(|p| String::from_utf8_lossy(p).into_owned()),
            chain,
        })
    }
}

/// A client certificate chain (DER, leaf first) and its key, for mutual TLS.
pub type Identity = (Vec<Vec<u8>>, PrivateKeyDer<'static>);

/// The client configuration: TLS 1.3 and 1.2 with aws-lc-rs, the given
/// verifier, an optional client certificate, ALPN, and the key log named
/// by SSLKEYLOGFILE (as curl and browsers do).
pub fn client_config(
    verifier: Arc<RecordingVerifier>,
    identity: Option<&Identity>,
    alpn: &[&[u8]],
) -> Result<ClientConfig, Failure> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Failure::new(FailureKind::Tls, e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut config = match identity {
        Some((chain, key)) => builder
            .with_client_auth_cert(
                chain.iter().cloned().map(CertificateDer::from).collect(),
                key.clone_key(),
            )
            .map_err(|e| {
                Failure::new(
                    FailureKind::Input,
                    format!("the client certificate and key cannot be used: {e}"),
                )
            })?,
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    config.key_log = Arc::new(rustls::KeyLogFile::new());
    Ok(config)
}

/// Completes a TLS handshake with `target` over `tcp` (SNI: its host).
/// `explain` turns an I/O error of the handshake into a [`Failure`].
pub fn handshake(
    tcp: TcpStream,
    config: ClientConfig,
    target: &Target,
    verifier: &RecordingVerifier,
    explain: impl Fn(&std::io::Error) -> Failure,
) -> Result<(StreamOwned<ClientConnection, TcpStream>, TlsInfo), Failure> {
    let name = ServerName::try_from(target.host.clone()).map_err(|_| {
        Failure::new(
            FailureKind::Input,
            format!("{:?} is not a valid host name", target.host),
        )
    })?;
    let conn = ClientConnection::new(Arc::new(config), name)
        .map_err(|e| Failure::new(FailureKind::Tls, e.to_string()))?;
    let mut tls = StreamOwned::new(conn, tcp);
    while tls.conn.is_handshaking() {
        tls.conn
            .complete_io(&mut tls.sock)
            .map_err(|e| explain(&e))?;
    }
    let info = TlsInfo::of(&tls.conn, verifier.seen()).ok_or_else(|| {
        Failure::new(
            FailureKind::Tls,
            format!(
                "the TLS handshake with {} ended without a version or cipher suite",
                target.authority()
            ),
        )
    })?;
    Ok((tls, info))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_spelled_for_people_and_for_logs() {
        let v13 = TlsVersion::from_rustls(ProtocolVersion::TLSv1_3).unwrap();
        assert_eq!(
            (v13.to_string().as_str(), v13.openssl_name()),
            ("TLS 1.3", "TLSv1.3")
        );
        let v12 = TlsVersion::from_rustls(ProtocolVersion::TLSv1_2).unwrap();
        assert_eq!(
            (v12.to_string().as_str(), v12.openssl_name()),
            ("TLS 1.2", "TLSv1.2")
        );
        assert_eq!(TlsVersion::from_rustls(ProtocolVersion::TLSv1_1), None);
    }
}
