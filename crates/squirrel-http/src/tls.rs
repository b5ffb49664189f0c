//! The server's TLS configuration, tutorial step 13 (`uwsgi --https`) and
//! step 16 (client certificates), in the manner of rustls's examples: short
//! and correct. TLS 1.3 and 1.2 only, AEAD suites with forward secrecy
//! (rustls offers no other), ALPN h2 and http/1.1, session resumption by
//! cache and tickets that survive a reload.

use crate::error::ServeError;
use crate::live_cert::{LiveCert, ACME_TLS_ALPN};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer};
use rustls::server::danger::ClientCertVerifier;
use rustls::server::{
    ProducesTickets, ServerSessionMemoryCache, StoresServerSessions, WebPkiClientVerifier,
};
use rustls::{KeyLog, RootCertStore, ServerConfig};
use squirrel_pki::describe;
use squirrel_pki::files;
use squirrel_pki::{Passphrase, PrivateKey};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The files of an HTTPS server, re-read on every reload.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    /// Certificate, optionally followed by its chain.
    pub cert: PathBuf,
    pub key: PathBuf,
    /// Kept in memory (zeroized on drop) so a reload can decrypt the key
    /// without a terminal.
    pub key_passphrase: Option<Passphrase>,
    /// Mutual TLS: only clients with a certificate from this CA get in.
    pub client_ca: Option<PathBuf>,
    /// Revoked client certificates.
    pub crl: Option<PathBuf>,
    /// Accept a client CA without extensions, like the tutorial's, with a
    /// warning (`--legacy-ca`).
    pub legacy_client_ca: bool,
    /// `serve --acme`: the certificate comes from an ACME CA and changes in
    /// place; `cert` and `key` are then its copies in the state folder,
    /// named in messages only.
    pub live: Option<Arc<LiveCert>>,
}

/// What lives across reloads: resumption state and the key log.
pub struct TlsShared {
    provider: Arc<CryptoProvider>,
    resumption: Mutex<Resumption>,
    key_log: Option<Arc<dyn KeyLog>>,
}

/// The session cache and ticket keys, and the members' trust they were
/// made under. A resumed session skips the client certificate check: when
/// the client CA or the CRL changes (a member was revoked), the old
/// sessions must not resume, so both are made anew.
struct Resumption {
    members: Option<Vec<u8>>,
    /// Counts the changes of the members' trust.
    generation: u64,
    session_storage: Arc<dyn StoresServerSessions>,
    ticketer: Arc<dyn ProducesTickets>,
}

impl Resumption {
    fn new(members: Option<Vec<u8>>, generation: u64) -> Result<Self, ServeError> {
        Ok(Resumption {
            members,
            generation,
            session_storage: ServerSessionMemoryCache::new(16 * 1024),
            ticketer: rustls::crypto::aws_lc_rs::Ticketer::new()
                .map_err(|e| ServeError::Tls(format!("cannot create the session ticketer: {e}")))?,
        })
    }
}

/// What a server configuration resumes sessions with, and the generation
/// of the members' trust it belongs to.
type ResumptionState = (Arc<dyn StoresServerSessions>, Arc<dyn ProducesTickets>, u64);

/// The members' trust of a configuration: how to check a client
/// certificate again (a connection opened before a reload), and which
/// generation of that trust it is.
#[derive(Clone)]
pub struct Members {
    pub verifier: Arc<dyn ClientCertVerifier>,
    pub generation: u64,
}

impl TlsShared {
    pub fn new(key_log: Option<Arc<dyn KeyLog>>) -> Result<Self, ServeError> {
        Ok(TlsShared {
            provider: Arc::new(server_provider()),
            resumption: Mutex::new(Resumption::new(None, 0)?),
            key_log,
        })
    }

    /// The resumption state for a configuration whose members are trusted
    /// by `members` (client CA and CRL bytes): the same as before while it
    /// does not change, new ones when it does.
    fn resumption_for(&self, members: Option<Vec<u8>>) -> Result<ResumptionState, ServeError> {
        let mut current = self
            .resumption
            .lock()
            .map_err(|_| ServeError::Tls("the session cache lock was poisoned".into()))?;
        if current.members != members {
            *current = Resumption::new(members, current.generation + 1)?;
        }
        Ok((
            current.session_storage.clone(),
            current.ticketer.clone(),
            current.generation,
        ))
    }
}

/// aws-lc-rs with the server's cipher-suite preference: AES-128-GCM first,
/// as Mozilla's recommended configurations order them. Its SHA-256 key
/// schedule runs on the CPU's SHA instructions, where SHA-384's does not:
/// a full TLS 1.3 handshake costs a fifth less.
fn server_provider() -> CryptoProvider {
    use rustls::crypto::aws_lc_rs::{cipher_suite as cs, default_provider};
    CryptoProvider {
        cipher_suites: vec![
            cs::TLS13_AES_128_GCM_SHA256,
            cs::TLS13_AES_256_GCM_SHA384,
            cs::TLS13_CHACHA20_POLY1305_SHA256,
            cs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
            cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
            cs::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
            cs::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
            cs::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
            cs::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        ],
        ..default_provider()
    }
}

/// The facts about the server certificate that the server tells people.
#[derive(Clone, Debug)]
pub struct CertFacts {
    /// "From A to B, I am X (names) according to Y".
    pub sentence: String,
    pub holder: String,
    pub not_after: String,
    /// The first DNS name, for the URL the start-up line shows.
    pub first_dns_name: Option<String>,
}

/// A server configuration and what the server tells and checks about it.
pub struct Loaded {
    pub config: Arc<ServerConfig>,
    /// None while an ACME certificate is still being obtained.
    pub facts: Option<CertFacts>,
    /// Members only: the client verifier and its generation.
    pub members: Option<Members>,
}

/// A client CA must be fit to be a CA, as for `pki verify --ca`; the
/// tutorial's CA only with `--legacy-ca`.
fn judge_client_ca(der: &[u8], path: &Path, legacy: bool) -> Result<(), ServeError> {
    use squirrel_pki::strict::anchor::{self, AnchorVerdict};
    let cert = describe::parse_certificate(der).map_err(|e| e.in_file(path))?;
    match anchor::judge(&cert, squirrel_pki::ca::now()) {
        AnchorVerdict::Fit => Ok(()),
        AnchorVerdict::Legacy(_) if legacy => {
            if let Some(warning) = anchor::legacy_warning(der) {
                tracing::warn!("--client-ca {}: {warning}", path.display());
            }
            Ok(())
        }
        AnchorVerdict::Legacy(v) | AnchorVerdict::Unfit(v) => Err(ServeError::File {
            path: path.to_path_buf(),
            problem: format!(
                "is not a usable client CA ({}): {}",
                v.openssl_phrase, v.explanation
            ),
        }),
    }
}

/// Reads the certificate and key (and client CA, CRL) and builds a rustls
/// server configuration.
pub fn load(files: &TlsFiles, shared: &TlsShared) -> Result<Loaded, ServeError> {
    let identity = match &files.live {
        Some(live) => Identity::Live(live.clone()),
        None => Identity::Files(Box::new(read_identity(files)?)),
    };
    let facts = match &identity {
        Identity::Files(pair) => Some(cert_facts(&pair.0[0], &files.cert)?),
        Identity::Live(live) => match live.current() {
            Some(key) => Some(cert_facts(&key.cert[0], &files.cert)?),
            None => None,
        },
    };
    let builder = ServerConfig::builder_with_provider(shared.provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| ServeError::Tls(e.to_string()))?;
    let mut members_trust = None;
    let mut client_verifier = None;
    let builder = match &files.client_ca {
        Some(ca_path) => {
            let mut roots = RootCertStore::empty();
            let mut trust = Vec::new();
            for der in read_certs(ca_path, "--client-ca")? {
                judge_client_ca(&der, ca_path, files.legacy_client_ca)?;
                trust.extend_from_slice(&der);
                roots.add(CertificateDer::from(der)).map_err(|e| ServeError::File {
                    path: ca_path.clone(),
                    problem: format!("cannot be used as a client CA ({e}); give the CA certificate of the members"),
                })?;
            }
            let mut verifier = WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                shared.provider.clone(),
            );
            if let Some(crl_path) = &files.crl {
                let crls = read_crls(crl_path)?;
                for crl in &crls {
                    trust.extend_from_slice(crl);
                }
                verifier = verifier.with_crls(crls);
            }
            members_trust = Some(trust);
            let verifier = verifier
                .build()
                .map_err(|e| ServeError::Tls(format!("client verification: {e}")))?;
            client_verifier = Some(verifier.clone());
            builder.with_client_cert_verifier(verifier)
        }
        None => {
            if files.crl.is_some() {
                return Err(ServeError::invalid(
                    "--crl was given without --client-ca",
                    "a CRL revokes client certificates: add --client-ca FILE",
                ));
            }
            builder.with_no_client_auth()
        }
    };
    let mut config = match identity {
        Identity::Files(pair) => {
            let (chain, key) = *pair;
            let chain_der: Vec<CertificateDer<'static>> =
                chain.into_iter().map(CertificateDer::from).collect();
            builder
                .with_single_cert(chain_der, key.to_rustls())
                .map_err(|e| ServeError::File {
                    path: files.key.clone(),
                    problem: format!("rustls refused the certificate and key: {e}"),
                })?
        }
        Identity::Live(live) => builder.with_cert_resolver(live.resolver()),
    };
    // curl --http1.0 offers only http/1.0; nginx accepts it too.
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec(), b"http/1.0".to_vec()];
    if files.live.is_some() {
        // Offered by ACME validators alone, which no other client does.
        config.alpn_protocols.push(ACME_TLS_ALPN.to_vec());
    }
    config.ignore_client_order = true;
    let (session_storage, ticketer, generation) = shared.resumption_for(members_trust)?;
    config.session_storage = session_storage;
    config.ticketer = ticketer;
    if let Some(key_log) = &shared.key_log {
        config.key_log = key_log.clone();
    }
    Ok(Loaded {
        config: Arc::new(config),
        facts,
        members: client_verifier.map(|verifier| Members {
            verifier,
            generation,
        }),
    })
}

/// Where the server's certificate comes from.
enum Identity {
    /// `--cert` and `--key`: the chain (DER) and the key.
    Files(Box<(Vec<Vec<u8>>, PrivateKey)>),
    /// `--acme`: whatever the ACME client put there last.
    Live(Arc<LiveCert>),
}

/// Reads `--cert` and `--key` and checks that they belong together.
fn read_identity(files: &TlsFiles) -> Result<(Vec<Vec<u8>>, PrivateKey), ServeError> {
    let chain = read_certs(&files.cert, "--cert")?;
    let key_text = files::read(&files.key)?;
    let key = PrivateKey::from_pem(&key_text, files.key_passphrase.as_ref())
        .map_err(|e| e.in_file(&files.key))?;
    let leaf = describe::parse_certificate(&chain[0]).map_err(|e| e.in_file(&files.cert))?;
    if leaf.public_key().raw != key.public_key_der().as_slice() {
        return Err(ServeError::invalid(
            format!(
                "the key {} does not match the certificate {} ({})",
                files.key.display(),
                files.cert.display(),
                describe::short_name(leaf.subject())
            ),
            "give the key that was made with this certificate (squirrel pki issue writes NAME.pem and NAME-key.pem)",
        ));
    }
    Ok((chain, key))
}

/// What the server tells about its certificate `der` (read from `path`).
pub fn cert_facts(der: &[u8], path: &Path) -> Result<CertFacts, ServeError> {
    let leaf = describe::parse_certificate(der).map_err(|e| e.in_file(path))?;
    let summary = describe::summarize(der, squirrel_pki::ca::now()).map_err(|e| e.in_file(path))?;
    Ok(CertFacts {
        sentence: summary.sentence.clone(),
        holder: describe::holder_name(der).unwrap_or_else(|| describe::short_name(leaf.subject())),
        not_after: describe::human_time(leaf.validity().not_after.to_datetime()),
        first_dns_name: describe::typed_alt_names(&leaf)
            .into_iter()
            .find_map(|n| match n {
                squirrel_pki::AltName::Dns(d) if !d.starts_with('*') => Some(d),
                _ => None,
            }),
    })
}

fn read_certs(path: &Path, flag: &str) -> Result<Vec<Vec<u8>>, ServeError> {
    let text = files::read(path)?;
    squirrel_pki::pem_file::certificates(&text).map_err(|e| ServeError::File {
        path: path.to_path_buf(),
        problem: format!("{} (given as {flag})", e.root()),
    })
}

fn read_crls(path: &Path) -> Result<Vec<CertificateRevocationListDer<'static>>, ServeError> {
    let bytes = files::read(path)?;
    let ders = squirrel_pki::pem_file::crls(&bytes).map_err(|e| e.in_file(path))?;
    Ok(ders
        .into_iter()
        .map(CertificateRevocationListDer::from)
        .collect())
}

/// Words for why a TLS handshake with a client failed, for the server log.
pub fn handshake_failure(err: &std::io::Error) -> String {
    match err
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
    {
        Some(tls) => refusal(tls),
        None => err.to_string(),
    }
}

/// Words for a TLS error with a client: a refused handshake, or a member's
/// certificate checked again after a reload.
pub fn refusal(err: &rustls::Error) -> String {
    use rustls::{CertificateError, Error, PeerIncompatible};
    match err {
        Error::NoCertificatesPresented => {
            "the client presented no certificate (members only)".into()
        }
        Error::InvalidCertificate(CertificateError::UnknownIssuer) => {
            "the client's certificate is not from the members' CA (unknown CA)".into()
        }
        Error::InvalidCertificate(CertificateError::Revoked) => {
            "the client's certificate is revoked".into()
        }
        Error::InvalidCertificate(
            CertificateError::Expired | CertificateError::ExpiredContext { .. },
        ) => "the client's certificate has expired".into(),
        Error::InvalidCertificate(
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. },
        ) => "the client's certificate is not valid yet (check the clocks)".into(),
        Error::InvalidCertificate(other) => {
            format!("the client's certificate is invalid ({other:?})")
        }
        Error::InvalidMessage(_) => {
            "the client does not speak TLS (plain HTTP to an HTTPS port?)".into()
        }
        Error::NoApplicationProtocol => "no common application protocol (ALPN)".into(),
        // A TLS 1.1 (or older) hello has no signature_algorithms extension
        // and no supported_versions: rustls stops at whichever it misses.
        Error::PeerIncompatible(
            p @ (PeerIncompatible::SignatureAlgorithmsExtensionRequired
            | PeerIncompatible::SupportedVersionsExtensionRequired
            | PeerIncompatible::Tls12NotOffered
            | PeerIncompatible::Tls12NotOfferedOrEnabled),
        ) => format!(
            "unsupported protocol version: the client speaks neither TLS 1.3 nor TLS 1.2 \
             (TLS 1.1 or older) ({p:?})"
        ),
        Error::PeerIncompatible(p) => format!("the client is incompatible ({p:?})"),
        Error::AlertReceived(alert) => {
            format!("the client sent the alert {alert:?} (it did not trust us?)")
        }
        other => other.to_string(),
    }
}
