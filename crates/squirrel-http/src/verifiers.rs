//! The server-certificate verifier of squirrel's TLS client. It keeps the
//! chain the server presented, so that a failure can be explained with it
//! (tutorial step 14), and it either judges that chain against trusted CAs
//! or only looks (for `pki inspect https://...`, which shows a chain bad or
//! good, and `get --insecure`). Handshake signatures are checked either way.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use squirrel_pki::verify::{self, AnchorPolicy, Verification};
use std::sync::{Arc, Mutex};

type Cert<'a> = CertificateDer<'a>;
type Dss = DigitallySignedStruct;
type Signature = Result<HandshakeSignatureValid, rustls::Error>;

/// Records the presented chain; judges it, or not at all.
#[derive(Debug)]
pub struct RecordingVerifier {
    judge: Judge,
    provider: Arc<CryptoProvider>,
    seen: Mutex<Vec<Vec<u8>>>,
}

/// Who judges the chain.
#[derive(Debug)]
enum Judge {
    /// Nobody: look without judging (`--insecure`, `pki inspect https://`).
    Nobody,
    /// rustls's WebPki verifier, against the system's store, as curl and
    /// browsers judge public sites.
    Rustls(Arc<WebPkiServerVerifier>),
    /// `squirrel pki verify`'s rules, against CAs the user gave: a chain
    /// `get --ca` accepts is one `pki verify --ca` accepts.
    Squirrel {
        anchors: Vec<Vec<u8>>,
        policy: AnchorPolicy,
    },
}

impl RecordingVerifier {
    /// Judges chains against exactly `anchors` (DER). Certificates webpki
    /// cannot use as anchors (a system store may hold some) are skipped;
    /// `None` when none is left.
    pub fn trusting(anchors: &[Vec<u8>]) -> Result<Option<Self>, rustls::Error> {
        let mut roots = RootCertStore::empty();
        for der in anchors {
            let _ = roots.add(CertificateDer::from(der.as_slice()).into_owned());
        }
        if roots.is_empty() {
            return Ok(None);
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let judge = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .map_err(|e| rustls::Error::General(e.to_string()))?;
        Ok(Some(Self::new(Judge::Rustls(judge), provider)))
    }

    /// Judges chains as `squirrel pki verify` does, against CAs the user
    /// gave (`get --ca`).
    pub fn strict(anchors: Vec<Vec<u8>>, policy: AnchorPolicy) -> Self {
        Self::new(
            Judge::Squirrel { anchors, policy },
            Arc::new(rustls::crypto::aws_lc_rs::default_provider()),
        )
    }

    /// Lets the handshake go through whatever the certificate.
    pub fn looking() -> Self {
        Self::new(
            Judge::Nobody,
            Arc::new(rustls::crypto::aws_lc_rs::default_provider()),
        )
    }

    fn new(judge: Judge, provider: Arc<CryptoProvider>) -> Self {
        RecordingVerifier {
            judge,
            provider,
            seen: Mutex::new(Vec::new()),
        }
    }

    /// The handshake-signature algorithms of aws-lc-rs.
    fn algorithms(&self) -> &WebPkiSupportedAlgorithms {
        &self.provider.signature_verification_algorithms
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
        match &self.judge {
            Judge::Rustls(judge) => {
                judge.verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
            }
            Judge::Squirrel { anchors, policy } => {
                let intermediates: Vec<Vec<u8>> =
                    intermediates.iter().map(|c| c.as_ref().to_vec()).collect();
                let host = server_name.to_str();
                let at = time::OffsetDateTime::from_unix_timestamp(now.as_secs() as i64)
                    .map_err(|e| rustls::Error::General(e.to_string()))?;
                let report = verify::verify(&Verification {
                    hostname: Some(&host),
                    at,
                    anchor_policy: *policy,
                    ..Verification::new(anchors, &intermediates, end_entity.as_ref())
                })
                .map_err(|e| rustls::Error::General(e.to_string()))?;
                match report.failure {
                    // The words are found again by `diagnose`, from the
                    // recorded chain.
                    Some(_) => Err(rustls::Error::InvalidCertificate(
                        CertificateError::ApplicationVerificationFailure,
                    )),
                    None => Ok(ServerCertVerified::assertion()),
                }
            }
            Judge::Nobody => Ok(ServerCertVerified::assertion()),
        }
    }

    fn verify_tls12_signature(&self, msg: &[u8], cert: &Cert<'_>, dss: &Dss) -> Signature {
        rustls::crypto::verify_tls12_signature(msg, cert, dss, self.algorithms())
    }

    fn verify_tls13_signature(&self, msg: &[u8], cert: &Cert<'_>, dss: &Dss) -> Signature {
        rustls::crypto::verify_tls13_signature(msg, cert, dss, self.algorithms())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms().supported_schemes()
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
