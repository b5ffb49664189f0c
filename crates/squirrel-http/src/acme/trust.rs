//! The HTTPS client that talks to the ACME CA, trusting every certificate
//! of the `--acme-ca` file: a bundle may hold the CA and its root, or the
//! old and the new CA during a rollover. (instant-acme's own
//! `Account::builder_with_root` trusts only the first certificate.)

use super::AcmeError;
use bytes::Bytes;
use hyper_rustls::HttpsConnectorBuilder;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use instant_acme::{BodyWrapper, HttpClient};
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};
use std::path::Path;
use std::sync::Arc;

/// An HTTPS client (HTTP/2 or 1.1) whose trust roots are the certificates
/// of the PEM file `bundle`.
pub fn client_trusting(bundle: &Path) -> Result<Box<dyn HttpClient>, AcmeError> {
    let roots = trust_roots(bundle)?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| AcmeError::Local(format!("TLS setup: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let mut tcp = HttpConnector::new();
    tcp.enforce_http(false);
    let https = HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_only()
        .enable_http1()
        .enable_http2()
        .wrap_connector(tcp);
    let client: Client<_, BodyWrapper<Bytes>> = Client::builder(TokioExecutor::new()).build(https);
    Ok(Box::new(client))
}

/// Every certificate of the PEM file `bundle`, as trust roots; an error
/// naming the file when it cannot be read or holds none. `serve --acme`
/// checks its `--acme-ca` with it at start, even when a saved certificate
/// means the CA is not asked until the renewal.
pub fn trust_roots(bundle: &Path) -> Result<RootCertStore, AcmeError> {
    let refuse = |problem: String| AcmeError::File {
        path: bundle.to_path_buf(),
        problem,
    };
    let text = std::fs::read(bundle).map_err(|e| refuse(format!("cannot be read ({e})")))?;
    let ders = squirrel_pki::pem_file::certificates(&text).map_err(|e| {
        refuse(format!(
            "{}; give the ACME CA's certificate (PEM) with --acme-ca",
            e.root()
        ))
    })?;
    let mut roots = RootCertStore::empty();
    for der in ders {
        roots.add(CertificateDer::from(der)).map_err(|e| {
            refuse(format!(
                "holds a certificate that cannot be a trust root ({e}); give the ACME CA's \
                 certificate (PEM) with --acme-ca"
            ))
        })?;
    }
    Ok(roots)
}
