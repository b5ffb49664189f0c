//! TLS between a CA replica and PostgreSQL, set in the database URL with
//! libpq's own words, so that a URL that works with `psql` works here:
//!
//! - `sslmode=disable`: plain TCP.
//! - `sslmode=prefer` (the default, as libpq's): TLS when the server
//!   offers it, else plain TCP.
//! - `sslmode=require`: TLS or no connection.
//! - `sslmode=verify-ca`: TLS, and the server's certificate must chain to
//!   `sslrootcert=FILE` (a PEM bundle).
//! - `sslmode=verify-full`: as verify-ca, and the certificate must also be
//!   for the URL's host (name or IP address).
//!
//! As in libpq, `prefer` and `require` with an `sslrootcert` check the
//! chain as verify-ca does; without one they encrypt but do not know who
//! answers, which keeps a passive spy out but not a machine in the middle.
//! Between machines, use verify-full: the replicas' connection carries the
//! CA's whole state (EAB keys, the nonce key, the revocations).

use crate::validate::tls::AcceptAnyCertificate;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, Error, RootCertStore, SignatureScheme,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How much TLS a connection to PostgreSQL asks for (libpq's `sslmode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn parse(value: &str) -> Result<SslMode, String> {
        Ok(match value {
            "disable" => SslMode::Disable,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => {
                return Err(format!(
                    "sslmode={other} is not a TLS mode; use disable, prefer, require, verify-ca \
                     or verify-full"
                ))
            }
        })
    }

    /// What tokio-postgres is told: whether TLS may be skipped.
    pub fn for_tokio_postgres(self) -> tokio_postgres::config::SslMode {
        use tokio_postgres::config::SslMode as Pg;
        match self {
            SslMode::Disable => Pg::Disable,
            SslMode::Prefer => Pg::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => Pg::Require,
        }
    }
}

/// A database URL taken apart: the URL for tokio-postgres (without the
/// two settings it does not know), and the TLS settings.
#[derive(Debug, PartialEq, Eq)]
pub struct Target {
    pub url: String,
    pub mode: SslMode,
    pub root: Option<PathBuf>,
}

/// Reads `sslmode` and `sslrootcert` out of `url`, in the URL form
/// (`postgres://...?sslmode=verify-full&sslrootcert=/etc/ca.pem`, values
/// percent-encoded) or the key=value form (`host=... sslmode=...`).
pub fn split(url: &str) -> Result<Target, String> {
    let (mut mode, mut root) = (None, None);
    let mut take = |key: &str, value: String| -> Result<bool, String> {
        match key {
            "sslmode" => mode = Some(SslMode::parse(&value)?),
            "sslrootcert" => root = Some(PathBuf::from(value)),
            _ => return Ok(false),
        }
        Ok(true)
    };
    let url = if url.contains("://") {
        match url.split_once('?') {
            None => url.to_string(),
            Some((base, query)) => {
                let mut kept = Vec::new();
                for pair in query.split('&') {
                    let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                    if !take(key, percent_decode(value)?)? {
                        kept.push(pair);
                    }
                }
                if kept.is_empty() {
                    base.to_string()
                } else {
                    format!("{base}?{}", kept.join("&"))
                }
            }
        }
    } else {
        let mut kept = Vec::new();
        for pair in url.split_whitespace() {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            if !take(key, value.to_string())? {
                kept.push(pair);
            }
        }
        kept.join(" ")
    };
    let mode = mode.unwrap_or(SslMode::Prefer);
    if root.is_none() && matches!(mode, SslMode::VerifyCa | SslMode::VerifyFull) {
        let name = if mode == SslMode::VerifyCa {
            "verify-ca"
        } else {
            "verify-full"
        };
        return Err(format!(
            "sslmode={name} needs sslrootcert=FILE: the CA certificate (PEM) that signed the \
             PostgreSQL server's certificate"
        ));
    }
    Ok(Target { url, mode, root })
}

fn percent_decode(value: &str) -> Result<String, String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = value
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("{value:?} has a bad %-escape; write % as %25"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("{value:?} is not UTF-8 once decoded"))
}

/// The TLS client configuration for `target`; None for `sslmode=disable`.
pub fn client_config(target: &Target) -> Result<Option<ClientConfig>, String> {
    if target.mode == SslMode::Disable {
        return Ok(None);
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier: Arc<dyn ServerCertVerifier> = match &target.root {
        Some(path) => {
            let roots = Arc::new(trust_roots(path)?);
            let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
                .build()
                .map_err(|e| format!("sslrootcert={}: {e}", path.display()))?;
            if target.mode == SslMode::VerifyFull {
                webpki
            } else {
                Arc::new(ChainOnly(webpki))
            }
        }
        // prefer and require without a root: any certificate, as libpq
        // does; the handshake's signatures are still checked with the
        // certificate's key.
        None => Arc::new(AcceptAnyCertificate {
            provider: provider.clone(),
        }),
    };
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(Some(config))
}

fn trust_roots(path: &Path) -> Result<RootCertStore, String> {
    let shown = format!("sslrootcert={}", path.display());
    let text = std::fs::read(path).map_err(|e| format!("{shown}: cannot be read ({e})"))?;
    let ders = squirrel_pki::pem_file::certificates(&text).map_err(|e| {
        format!(
            "{shown}: {}; give the CA certificate (PEM) of the database server",
            e.root()
        )
    })?;
    let mut roots = RootCertStore::empty();
    for der in ders {
        roots
            .add(CertificateDer::from(der))
            .map_err(|e| format!("{shown}: a certificate that cannot be a trust root ({e})"))?;
    }
    Ok(roots)
}

/// verify-ca: the chain must lead to a trusted root; the name is not
/// checked (libpq's verify-ca).
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_settings_are_taken_out_of_both_url_forms() {
        let t = split(
            "postgres://u:p@db.example:5432/ca?sslmode=verify-full&sslrootcert=%2Fetc%2Fsquirrel%20ca.pem&application_name=x",
        )
        .unwrap();
        assert_eq!(
            t,
            Target {
                url: "postgres://u:p@db.example:5432/ca?application_name=x".into(),
                mode: SslMode::VerifyFull,
                root: Some("/etc/squirrel ca.pem".into()),
            }
        );
        let t = split("host=db.example sslmode=require dbname=ca").unwrap();
        assert_eq!(t.url, "host=db.example dbname=ca");
        assert_eq!((t.mode, t.root), (SslMode::Require, None));
        let t = split("postgres://u@127.0.0.1/ca").unwrap();
        assert_eq!(t.mode, SslMode::Prefer, "libpq's default");
        assert_eq!(t.url, "postgres://u@127.0.0.1/ca");
        assert_eq!(
            split("postgres://u@h/ca?sslmode=disable").unwrap().url,
            "postgres://u@h/ca"
        );
    }

    #[test]
    fn bad_tls_settings_say_the_fix() {
        let e = split("postgres://u@h/ca?sslmode=verify").unwrap_err();
        assert!(
            e.contains("sslmode=verify is not") && e.contains("verify-full"),
            "{e}"
        );
        let e = split("postgres://u@h/ca?sslmode=verify-full").unwrap_err();
        assert!(e.contains("needs sslrootcert=FILE"), "{e}");
        let e = split("host=h sslmode=verify-ca").unwrap_err();
        assert!(e.contains("sslmode=verify-ca needs sslrootcert"), "{e}");
        let e = split("postgres://u@h/ca?sslrootcert=%zz").unwrap_err();
        assert!(e.contains("%-escape"), "{e}");
        let target =
            split("postgres://u@h/ca?sslmode=verify-ca&sslrootcert=/nonexistent.pem").unwrap();
        let e = client_config(&target).unwrap_err();
        assert!(
            e.contains("sslrootcert=/nonexistent.pem: cannot be read"),
            "{e}"
        );
    }
}
